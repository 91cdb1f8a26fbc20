//! Writes the benchmark corpus to disk:
//! `cargo run --release --example corpus -- DIR FEEDS ITEMS SUBSCRIBERS [SEED]`
//! gives `DIR/feeds/feed-NNN.xml`, `DIR/local/{events,tenders}/`, `DIR/subscribers.csv`.

#[path = "../benches/corpus.rs"]
mod corpus;

use std::io::Write;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let dir = Path::new(args.first().map_or("bench-corpus", String::as_str));
    let (feeds, items, subscribers) = (number(1, 100), number(2, 100), number(3, 20_000));
    let seed = number(4, 2026) as u64;
    std::fs::create_dir_all(dir.join("feeds"))?;
    std::fs::create_dir_all(dir.join("local/events"))?;
    std::fs::create_dir_all(dir.join("local/tenders"))?;
    for feed in 0..feeds {
        std::fs::write(
            dir.join(format!("feeds/feed-{feed:03}.xml")),
            corpus::rss(feed, items, seed),
        )?;
    }
    for i in 0..(feeds / 4).max(1) {
        std::fs::write(
            dir.join(format!("local/events/event-{i:03}.md")),
            corpus::event(i, seed),
        )?;
        std::fs::write(
            dir.join(format!("local/tenders/tender-{i:03}.toml")),
            corpus::tender(i, seed),
        )?;
    }
    let mut csv = std::io::BufWriter::new(std::fs::File::create(dir.join("subscribers.csv"))?);
    for line in corpus::subscribers(subscribers, seed) {
        writeln!(csv, "{line}")?;
    }
    csv.flush()?;
    println!(
        "{feeds} feeds × {items} items, {subscribers} subscribers in {}",
        dir.display()
    );
    Ok(())
}
