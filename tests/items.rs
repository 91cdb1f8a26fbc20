//! `bulletin items`: every item with its newsletters, sections and reasons.

use serde_json::Value;

use crate::common::{Project, repo};

fn fetched() -> Project {
    let project = Project::bundled();
    project.run(&["fetch"]).assert_code(0);
    project
}

fn items() -> Vec<Value> {
    let project = fetched();
    let run = project.run(&["items", "--format", "json"]);
    run.assert_code(0);
    run.json().as_array().expect("a JSON array").clone()
}

fn by_title<'a>(items: &'a [Value], title: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["title"].as_str().unwrap().contains(title))
        .unwrap_or_else(|| panic!("no item {title:?}"))
}

fn newsletters(item: &Value) -> Vec<(&str, &str)> {
    item["newsletters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n["section"].as_str().unwrap()))
        .collect()
}

#[test]
fn lists_every_local_item_once() {
    let items = items();
    let local = std::fs::read_dir(repo().join("feeds/local"))
        .unwrap()
        .flat_map(|kind| std::fs::read_dir(kind.unwrap().path()).unwrap());
    let mut count = 0;
    for file in local {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        let title_line = text.lines().find(|l| l.starts_with("title = ")).unwrap();
        let title: String = toml::from_str::<toml::Table>(title_line).unwrap()["title"]
            .as_str()
            .unwrap()
            .to_string();
        let matching = items.iter().filter(|i| i["title"] == title.as_str()).count();
        assert_eq!(matching, 1, "{title:?}");
        count += 1;
    }
    assert!(count >= 15, "the sample has local items of every kind");
    assert!(items.len() >= 50, "at least 50 sample items, got {}", items.len());
    let mut ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), items.len(), "ids are unique");
}

#[test]
fn each_item_carries_its_newsletters_and_reasons() {
    let items = items();
    let estonia = by_title(&items, "Japan and Estonia review digital cooperation");
    assert!(newsletters(estonia).contains(&("eu-japan-news", "news")));
    let reasons = &estonia["newsletters"][0]["reasons"];
    assert!(reasons.as_array().is_some_and(|r| !r.is_empty()), "{estonia}");
    let tender = by_title(&items, "気象観測装置の調達");
    assert_eq!(newsletters(tender), [("tax-procurement", "tenders")]);
    assert_eq!(tender["kind"], "tender");
    assert!(tender["details"]["deadline"].is_string());
    let event = by_title(&items, "Get Ready for Japan 2027 – business training programme");
    assert_eq!(event["details"]["place"], "Online and in Japan");
    let japanese = by_title(&items, "経済産業省、「半導体・デジタル産業戦略」");
    let reasons = japanese["newsletters"][0]["reasons"].to_string();
    assert!(reasons.contains("半導体"), "a Japanese term matched: {reasons}");
}

#[test]
fn unrelated_items_are_listed_with_no_newsletter() {
    let items = items();
    let anime = by_title(&items, "Anime film passes");
    assert!(newsletters(anime).is_empty(), "{anime}");
    let project = fetched();
    let run = project.run(&["items", "--unplaced", "--explain"]);
    run.assert_code(0).assert_stdout_has("Anime film passes");
    assert!(
        !run.stdout.contains("Japan and Estonia review"),
        "placed items are not in --unplaced"
    );
}

#[test]
fn duplicates_across_feeds_are_merged() {
    let items = items();
    let copies = items
        .iter()
        .filter(|i| i["link"].as_str().unwrap().contains("agri-food"))
        .count();
    let agri = by_title(&items, "agri-food exports to Japan");
    assert_eq!(copies, 1, "{agri}");
    assert_eq!(agri["also_in"], serde_json::json!(["Japan Business Wire"]));
}

#[test]
fn explain_shows_the_rules_that_counted() {
    let project = fetched();
    let run = project.run(&["items", "--newsletter", "tax-procurement", "--explain"]);
    run.assert_code(0).assert_stdout_has("kind is tender (+5)");
    run.assert_stdout_has("tax-procurement = ");
    assert!(!run.stdout.contains("Anime film"), "only the newsletter's items");
}

#[test]
fn items_are_listed_newest_first_and_editions_in_the_configs_order() {
    let project = Project::bundled();
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let run = project.run(&["items", "--format", "json"]);
    let listed: Vec<Option<String>> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["published"].as_str().map(str::to_string))
        .collect();
    let mut newest_first = listed.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(listed, newest_first, "dated items newest first, undated last");
    let editions = project.run(&["editions"]).assert_code(0).stdout.clone();
    let order: Vec<&str> = editions
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        order,
        [
            "eu-japan-news",
            "industry-policy",
            "about-japan",
            "tax-procurement",
            "tech-transfer"
        ],
        "{editions}"
    );
}

#[test]
fn feeds_says_its_times_are_utc() {
    let project = fetched();
    let feeds = project.run(&["feeds"]).assert_code(0).stdout.clone();
    let rows: Vec<&str> = feeds.lines().skip(1).collect();
    assert!(!rows.is_empty(), "{feeds}");
    for row in rows {
        let time = row.get(33..58).unwrap_or_default().trim();
        assert!(
            time.len() == 20 && time.ends_with(" UTC"),
            "a time to the minute in UTC, saying so: {row:?}"
        );
    }
}
