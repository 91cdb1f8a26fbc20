//! Each stage alone, on the generated corpus: feed parsing and normalising,
//! classification, rendering an edition, building one personalised message.
//! `cargo bench`; figures and comparisons with peers are in README.md.

#[path = "corpus.rs"]
mod corpus;

use std::hint::black_box;
use std::path::Path;

use bulletin::audience::Key;
use bulletin::classify::{Model, Weights, bundled, classify};
use bulletin::config::Config;
use bulletin::editions::assemble;
use bulletin::items::{Details, Item};
use bulletin::mail::MailTemplate;
use bulletin::render::{Reader, render_edition};
use bulletin::sources::parse_feed;
use chrono::{NaiveDate, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The allocator of the `bulletin` binary, so that each stage runs as it does there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SEED: u64 = 2026;

fn config() -> Config {
    Config::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")).expect("the bundled config")
}

fn items(feeds: usize, per_feed: usize) -> Vec<Item> {
    (0..feeds)
        .flat_map(|feed| {
            let drafts = parse_feed(corpus::rss(feed, per_feed, SEED).as_bytes(), None, None).unwrap();
            drafts
                .into_iter()
                .map(|d| d.into_item("Bench", Details::News, 100))
        })
        .collect()
}

/// As [`items`], each feed a source of its own, as in a real config: the
/// stories told by more than one source are what an edition merges.
fn items_of_many_sources(feeds: usize, per_feed: usize) -> Vec<Item> {
    (0..feeds)
        .flat_map(|feed| {
            let drafts = parse_feed(corpus::rss(feed, per_feed, SEED).as_bytes(), None, None).unwrap();
            let source = format!("Bench {feed}");
            drafts
                .into_iter()
                .map(move |d| d.into_item(&source, Details::News, 100))
        })
        .collect()
}

fn parsing(c: &mut Criterion) {
    let feed = corpus::rss(0, 100, SEED);
    let mut group = c.benchmark_group("parse+normalise");
    group.throughput(Throughput::Elements(100));
    group.bench_function("items", |b| {
        b.iter(|| {
            let drafts = parse_feed(black_box(feed.as_bytes()), None, None).unwrap();
            drafts
                .into_iter()
                .map(|d| d.into_item("Bench", Details::News, 100))
                .collect::<Vec<_>>()
        })
    });
    group.throughput(Throughput::Bytes(feed.len() as u64));
    group.bench_function("bytes", |b| {
        b.iter(|| parse_feed(black_box(feed.as_bytes()), None, None).unwrap().len())
    });
    group.finish();
}

/// The bundled model's weights, as a fresh store's first run has them.
fn weights(config: &Config) -> Weights {
    let mut model = Model::default();
    model.learn_common(config, || bundled(config));
    model.weights(config)
}

fn classification(c: &mut Criterion) {
    let config = config();
    let items = items(100, 100);
    let weights = weights(&config);
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(items.len() as u64));
    group.bench_function("items", |b| {
        b.iter(|| classify(&config, &weights, black_box(items.clone())).len())
    });
    group.bench_function("rules-only", |b| {
        b.iter(|| classify(&config, &Weights::default(), black_box(items.clone())).len())
    });
    group.finish();
}

/// Training on 5,000 labelled items of the bundled set, as the bundled
/// model is learned (its rare features left out).
fn training(c: &mut Criterion) {
    let config = config();
    let bundled: Vec<_> = bundled(&config).collect();
    let examples: Vec<_> = bundled.iter().cycle().take(5_000).cloned().collect();
    let mut group = c.benchmark_group("train");
    group.sample_size(10);
    group.throughput(Throughput::Elements(examples.len() as u64));
    group.bench_function("labelled-items", |b| {
        b.iter(|| {
            let mut model = Model::default();
            model.learn_common(&config, || black_box(&examples));
            model.weights(&config)
        })
    });
    group.finish();
}

/// Every newsletter's edition from 10,000 classified items: what is due,
/// the same story told twice merged, sections sorted and cut.
fn assembling(c: &mut Criterion) {
    let config = config();
    let classified = classify(&config, &weights(&config), items_of_many_sources(100, 100));
    let date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let mut group = c.benchmark_group("assemble");
    group.throughput(Throughput::Elements(classified.len() as u64));
    group.bench_function("items", |b| {
        b.iter(|| {
            config
                .newsletters
                .iter()
                .map(|n| assemble(n, black_box(&classified), date, 1, &Default::default()).item_count())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn rendering(c: &mut Criterion) {
    let config = config();
    let classified = classify(&config, &weights(&config), items(10, 100));
    let date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let newsletter = config.newsletter("industry-policy").unwrap();
    let edition = assemble(newsletter, &classified, date, 1, &Default::default());
    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(1));
    group.bench_function("editions", |b| {
        b.iter(|| render_edition(black_box(&edition), &config.site, Reader::Web).unwrap())
    });
    group.finish();
}

fn messages(c: &mut Criterion) {
    let config = config();
    let classified = classify(&config, &weights(&config), items(10, 100));
    let date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let newsletter = config.newsletter("eu-japan-news").unwrap();
    let edition = assemble(newsletter, &classified, date, 1, &Default::default());
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 7, 0, 0).unwrap();
    let mail = config.mail.as_ref().unwrap();
    let template = MailTemplate::new(&edition, &config.site, mail, &config.root, now).unwrap();
    let key = Key::new(b"benchmark-signing-key".to_vec()).unwrap();
    let mut group = c.benchmark_group("message");
    group.throughput(Throughput::Elements(1));
    group.bench_function("personalised", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let letter = template
                .letter(&key, &format!("reader{i}@example.eu"), "Reader Name")
                .unwrap();
            letter.bytes.len()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    parsing,
    classification,
    training,
    assembling,
    rendering,
    messages
);
criterion_main!(benches);
