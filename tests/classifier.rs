//! The classifier as an editor meets it: `bulletin classify eval` on
//! labelled items, the miss classes of issue 18, and `items --explain`.

use crate::common::{Project, repo};

fn fixture(name: &str) -> String {
    repo()
        .join("tests/fixtures/classify")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn eval_figures_on_a_small_fixed_file_are_exact() {
    let project = Project::bundled();
    let small = fixture("small.jsonl");
    let run = project.run(&["classify", "eval", &small, "--rules-only"]);
    run.assert_code(0);
    let expected = "\
NEWSLETTER         PRECISION RECALL     F1    TP   FP   FN
eu-japan-news          1.000  1.000  1.000     1    0    0
industry-policy        1.000  0.500  0.667     1    0    1
about-japan            0.000  0.000  0.000     0    1    0
tax-procurement        1.000  1.000  1.000     1    0    0
tech-transfer          1.000  0.500  0.667     1    0    1
accuracy (newsletters exactly as labelled): 4/6 = 0.667

confusion (rows: labelled, columns: placed; - = no newsletter):
                   eu-japan industry about-ja tax-proc tech-tra        -
eu-japan-news             1        0        0        0        0        0
industry-policy           0        1        1        0        0        0
about-japan               0        0        0        0        0        0
tax-procurement           0        0        0        1        0        0
tech-transfer             1        0        0        0        1        0
-                         0        0        0        0        0        1

wrong (2):
  Germany and Japan sign hydrogen agreement
    expected eu-japan-news,tech-transfer, placed eu-japan-news
      eu-japan-news: title has \"Germany\" (+4); title has \"agreement\" (+2)
      tech-transfer: title has \"hydrogen\" (+2); below the threshold of 3
  Wine consumers in Japan
    expected industry-policy, placed about-japan
      about-japan: title has \"consumers\" (+2); title has \"wine\" (+2)
";
    assert_eq!(run.stdout.trim_end(), expected.trim_end());
    let json = project.run(&["classify", "eval", &small, "--rules-only", "--format", "json"]);
    json.assert_code(0);
    let figures = |id: &str, [tp, fp, fn_]: [u32; 3], precision: f64, recall: f64, f1: f64| {
        serde_json::json!({"id": id, "true_positives": tp, "false_positives": fp, "false_negatives": fn_,
            "precision": precision, "recall": recall, "f1": f1})
    };
    let names = [
        "eu-japan-news",
        "industry-policy",
        "about-japan",
        "tax-procurement",
        "tech-transfer",
        "(none)",
    ];
    let confusion: Vec<serde_json::Value> = [
        [1, 0, 0, 0, 0, 0],
        [0, 1, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [1, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 1],
    ]
    .iter()
    .zip(names)
    .map(|(row, labelled)| {
        let placed: serde_json::Map<String, serde_json::Value> = names
            .iter()
            .zip(row)
            .map(|(n, c)| (n.to_string(), (*c).into()))
            .collect();
        serde_json::json!({"labelled": labelled, "placed": placed})
    })
    .collect();
    let two_thirds = 2.0 / 3.0;
    let expected = serde_json::json!({
        "newsletters": [
            figures("eu-japan-news", [1, 0, 0], 1.0, 1.0, 1.0),
            figures("industry-policy", [1, 0, 1], 1.0, 0.5, two_thirds),
            figures("about-japan", [0, 1, 0], 0.0, 0.0, 0.0),
            figures("tax-procurement", [1, 0, 0], 1.0, 1.0, 1.0),
            figures("tech-transfer", [1, 0, 1], 1.0, 0.5, two_thirds),
        ],
        "accuracy": two_thirds,
        "correct": 4,
        "total": 6,
        "confusion": confusion,
        "wrong": [
            {
                "title": "Germany and Japan sign hydrogen agreement",
                "expected": ["eu-japan-news", "tech-transfer"],
                "placed": ["eu-japan-news"],
                "reasons": [
                    "eu-japan-news: title has \"Germany\" (+4); title has \"agreement\" (+2)",
                    "tech-transfer: title has \"hydrogen\" (+2); below the threshold of 3"
                ]
            },
            {
                "title": "Wine consumers in Japan",
                "expected": ["industry-policy"],
                "placed": ["about-japan"],
                "reasons": ["about-japan: title has \"consumers\" (+2); title has \"wine\" (+2)"]
            }
        ]
    });
    assert_eq!(json.json(), expected);
    // The order of the confusion's columns is the config's, as in the table.
    let placed = json.stdout.find("\"placed\": {").unwrap();
    let columns: Vec<usize> = names
        .iter()
        .map(|n| json.stdout[placed..].find(n).unwrap())
        .collect();
    assert!(columns.is_sorted(), "{columns:?}");
    let strict = project.run(&[
        "classify",
        "eval",
        &small,
        "--rules-only",
        "--min-accuracy",
        "0.7",
    ]);
    strict
        .assert_code(1)
        .assert_stderr_has("accuracy 0.667 is below --min-accuracy 0.7");
}

#[test]
fn eval_names_the_line_of_an_unknown_label() {
    let project = Project::bundled();
    project.write(
        "labelled.jsonl",
        "{\"title\": \"A\", \"labels\": []}\n{\"title\": \"B\", \"labels\": [\"tech-tranfser\"]}\n",
    );
    let run = project.run(&["classify", "eval", "labelled.jsonl"]);
    run.assert_code(1).assert_stderr_has(
        "labelled.jsonl:2: labels: unknown newsletter \"tech-tranfser\"; expected one of: eu-japan-news,",
    );
}

/// One unseen item per miss class of issue 18: member states with Japan,
/// Japanese policy in other words, the centre's programmes and market
/// guides, tenders with research words and research with tender words, a
/// job advert worded like a notice, and Japanese items. Each reaches every
/// newsletter it is labelled with and the job advert none; one may reach
/// one newsletter more (with twenty-seven authors' sets bundled, "Three
/// Japanese carmakers team up on solid-state battery supply" is also Tech
/// Transfer, as a battery joint venture is to some of them).
#[test]
fn unseen_paraphrases_of_each_miss_class_land_right() {
    let project = Project::bundled();
    let run = project.run(&[
        "classify",
        "eval",
        &fixture("paraphrases.jsonl"),
        "--format",
        "json",
    ]);
    run.assert_code(0);
    let json = run.json();
    let wrong = json["wrong"].as_array().unwrap();
    for item in wrong {
        let set = |key: &str| -> Vec<String> {
            item[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        let (expected, placed) = (set("expected"), set("placed"));
        assert!(!expected.is_empty(), "an off-topic item placed: {item:#}");
        assert!(expected.iter().all(|e| placed.contains(e)), "a miss: {item:#}");
    }
    assert!(wrong.len() <= 1, "{json:#}");
    assert!(json["total"].as_u64().unwrap() >= 14);
}

#[test]
fn the_held_out_split_shares_no_item_with_the_bundled_set() {
    let read = |name: &str| std::fs::read_to_string(repo().join("data/labelled").join(name)).unwrap();
    let titles = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["title"].to_string())
            .collect()
    };
    let train = titles(&read("train.jsonl"));
    let held = titles(&read("held-out.jsonl"));
    assert!(
        train.len() >= 400 && held.len() >= 100,
        "{} {}",
        train.len(),
        held.len()
    );
    let shared: Vec<&String> = held.iter().filter(|t| train.contains(t)).collect();
    assert!(shared.is_empty(), "{shared:?}");
}

#[test]
fn explain_shows_the_models_score_and_words_beside_the_rules() {
    let project = Project::bundled();
    project.run(&["fetch"]).assert_code(0);
    let run = project.run(&["items", "--newsletter", "industry-policy", "--explain"]);
    run.assert_code(0);
    let line = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("model: "))
        .unwrap_or_else(|| panic!("no model line:\n{}", run.stdout));
    assert!(line.contains(" from \""), "{line}");
    assert!(run.stdout.contains("title has "), "the rules are there too");
}

/// The stored model's bytes and the keys of what it has learned, sorted.
fn model_state(project: &Project) -> (Vec<u8>, Vec<String>) {
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    let state: Vec<u8> = store
        .query_row("SELECT state FROM model WHERE id = 1", [], |row| row.get(0))
        .unwrap();
    let mut keys: Vec<String> = store
        .prepare("SELECT item_id FROM model_learned")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    keys.sort();
    (state, keys)
}

fn count(store: &rusqlite::Connection, sql: &str) -> usize {
    store
        .query_row(sql, [], |row| row.get::<_, i64>(0))
        .unwrap()
        .try_into()
        .unwrap()
}

/// No training step: a run keeps the model in the store (the bundled one
/// at first), the next one learns each item of the editions published
/// since, once per newsletter (belonging where an edition carried it, not
/// belonging elsewhere); a store of the first model, which kept one key
/// per item, is taken over without learning anything twice; a store from
/// before the model opens.
#[test]
fn the_model_lives_in_the_store_and_learns_each_published_item_once() {
    let project = Project::bundled();
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let (bundled, learned) = model_state(&project);
    assert!(learned.is_empty(), "learned at the next run: {learned:?}");
    let store = rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap();
    let carried = count(&store, "SELECT count(*) FROM edition_items");
    let items = count(&store, "SELECT count(DISTINCT item_id) FROM edition_items");
    project.run(&["build", "--date", "2026-11-23"]).assert_code(0);
    let (state, learned) = model_state(&project);
    let belongs = learned.iter().filter(|k| k.starts_with("in ")).count();
    let not = learned.iter().filter(|k| k.starts_with("out ")).count();
    assert!(items > 10 && belongs == carried, "{belongs} of {carried}");
    assert_eq!(not, items * 5 - carried);
    assert_eq!(learned.len(), belongs + not);
    assert_ne!(state, bundled);
    project.run(&["build", "--date", "2026-11-23"]).assert_code(0);
    assert_eq!(
        model_state(&project),
        (state.clone(), learned.clone()),
        "nothing new, nothing learned"
    );
    // The first model's keys: one per item.
    store
        .execute_batch(
            "DELETE FROM model_learned;
             INSERT INTO model_learned SELECT DISTINCT item_id FROM edition_items;",
        )
        .unwrap();
    project.run(&["build", "--date", "2026-11-23"]).assert_code(0);
    let (taken_over, keys) = model_state(&project);
    assert!(taken_over == state, "nothing learned twice");
    let without_source = |keys: &[String]| -> Vec<String> {
        let mut keys: Vec<String> = keys
            .iter()
            .map(|k| k.rsplit_once(' ').unwrap().0.to_string())
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(without_source(&keys), without_source(&learned));
    // The store as the bulletin before the model left it.
    store
        .execute_batch("DROP TABLE model; DROP TABLE model_learned; PRAGMA user_version = 6;")
        .unwrap();
    drop(store);
    project.run(&["build", "--date", "2026-11-23"]).assert_code(0);
    assert_eq!(model_state(&project), (state, learned));
}

/// The bundled project as shipped (drafts wait for the editor), with a
/// wire of local news items that no source rule routes.
fn with_wire() -> Project {
    let project = Project::bundled_as_shipped();
    project.edit_config(
        "# ---------------------------------------------------------------- mail",
        "[[source]]\nname = \"Wire\"\nlocal = \"feeds/local/wire/*\"\nkind = \"news\"\n\n# --- mail",
    );
    project
}

/// A news item of the wire, published on `date`.
fn wire_item(project: &Project, name: &str, date: &str, title: &str, text: &str) {
    project.write(
        &format!("feeds/local/wire/{name}.md"),
        &format!(
            "+++\ntitle = \"{title}\"\nlink = \"https://wire.example/{name}\"\npublished = {date}\n+++\n{text}\n"
        ),
    );
}

/// Each stored item with that title: its id, and the newsletters that
/// place it, with their scores.
fn placed(project: &Project, title: &str) -> (String, Vec<(String, f64)>) {
    let items = project.run(&["items", "--format", "json"]);
    items.assert_code(0);
    let json = items.json();
    let item = json
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == title)
        .unwrap_or_else(|| panic!("no item {title:?}"));
    let newsletters = item["newsletters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap().to_string(),
                n["score"].as_f64().unwrap(),
            )
        })
        .collect();
    (item["id"].as_str().unwrap().to_string(), newsletters)
}

fn ids(placements: &[(String, f64)]) -> Vec<&str> {
    placements.iter().map(|(id, _)| id.as_str()).collect()
}

/// Approves then builds each of `newsletters` for `date`, all succeeding.
#[track_caller]
fn approve_and_build(project: &Project, newsletters: &[&str], date: &str) {
    for newsletter in newsletters {
        project
            .run(&["approve", "--newsletter", newsletter])
            .assert_code(0);
        project
            .run(&["build", "--newsletter", newsletter, "--date", date])
            .assert_code(0);
    }
}

/// Issue 18: "an editor's correction changes the next similar item's
/// placement". An item no rule places, added to Tech Transfer, takes the
/// next hackathon there; an item the model helped into Industry and
/// Policy, dropped from it, keeps the next farmers' plea out. Both in the
/// next edition too.
#[test]
fn an_editors_correction_changes_the_next_similar_items_placement() {
    let project = with_wire();
    let pitch = "Weekend hackathon: coders build apps for shopping streets";
    let plea = "Rice farmers' union asks Tokyo for help as fertiliser costs climb";
    wire_item(
        &project,
        "kyushu",
        "2026-11-20",
        pitch,
        "Coders spend two days building apps for the town's shopping arcades.",
    );
    wire_item(
        &project,
        "rice",
        "2026-11-21",
        plea,
        "The national farmers' union asked lawmakers for emergency support as fertiliser and energy prices rose for a third year, squeezing the farming industry.",
    );
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let (pitch_id, pitch_placed) = placed(&project, pitch);
    let (plea_id, plea_placed) = placed(&project, plea);
    assert!(pitch_placed.is_empty(), "{pitch_placed:?}");
    // Farm costs are industry policy (some authors' "About Japan" too).
    assert!(ids(&plea_placed).contains(&"industry-policy"), "{plea_placed:?}");

    // A week later, two similar items.
    let next_pitch = "Kansai hackathon weekend: coders build apps for shopping streets";
    let next_plea = "Wheat farmers' union asks Tokyo for help as feed costs climb";
    wire_item(
        &project,
        "kansai",
        "2026-11-27",
        next_pitch,
        "Forty coders spend two days building apps for neighbourhood shopping arcades.",
    );
    wire_item(
        &project,
        "wheat",
        "2026-11-27",
        next_plea,
        "The national farmers' union asked lawmakers for emergency support as feed and energy prices rose for a second year, squeezing the farming industry.",
    );
    project.run(&["fetch"]).assert_code(0);
    let (_, before) = placed(&project, next_pitch);
    assert!(before.is_empty(), "no rule, no model: {before:?}");
    let (_, before) = placed(&project, next_plea);
    assert!(ids(&before).contains(&"industry-policy"), "{before:?}");

    let edit = |newsletter: &str, action: &str, item: &str| {
        project
            .run(&["edit", "--newsletter", newsletter, action, item])
            .assert_code(0);
    };
    edit("tech-transfer", "add", &pitch_id);
    edit("industry-policy", "drop", &plea_id);
    let (_, after) = placed(&project, next_pitch);
    assert_eq!(ids(&after), ["tech-transfer"]);
    let (_, after) = placed(&project, next_plea);
    assert!(!ids(&after).contains(&"industry-policy"), "{after:?}");

    approve_and_build(&project, &["tech-transfer", "industry-policy"], "2026-11-30");
    assert!(
        project
            .read("out/drafts/tech-transfer/2026-11-30.html")
            .contains("Kansai hackathon weekend")
    );
    // With the plea left out, Industry and Policy has nothing new: no edition.
    let policy = std::fs::read_to_string(project.path("out/drafts/industry-policy/2026-11-30.html"));
    assert!(!policy.unwrap_or_default().contains("Wheat farmers"));
}

/// Whatever an editor adds where, the audience rules win: an item no rule
/// counted for never reaches an EU-only newsletter on the model's word
/// (unless the model is sure it is on topic, which a football derby never
/// is), while a newsletter for everyone takes it.
#[test]
fn corrections_never_bring_a_non_business_item_into_an_eu_only_newsletter() {
    let project = with_wire();
    let derby = |team: &str| format!("{team} win the derby in extra time");
    for (i, team) in ["Urawa", "Kashima"].iter().enumerate() {
        wire_item(
            &project,
            team,
            &format!("2026-11-2{i}"),
            &derby(team),
            "A late header decided the match in front of a sold-out stadium.",
        );
    }
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    for (team, newsletters) in [
        ("Urawa", &["about-japan", "tax-procurement", "tech-transfer"][..]),
        // Taken into Tech Transfer by the model once Urawa's add is learned.
        ("Kashima", &["about-japan", "tax-procurement"][..]),
    ] {
        let (id, _) = placed(&project, &derby(team));
        for newsletter in newsletters {
            project
                .run(&["edit", "--newsletter", newsletter, "add", &id])
                .assert_code(0);
        }
    }
    wire_item(
        &project,
        "sendai",
        "2026-11-27",
        &derby("Sendai"),
        "A late header decided the match in front of a sold-out stadium.",
    );
    project.run(&["fetch"]).assert_code(0);
    approve_and_build(
        &project,
        &["about-japan", "tax-procurement", "tech-transfer"],
        "2026-11-30",
    );
    let (_, landed) = placed(&project, &derby("Sendai"));
    assert_eq!(ids(&landed), ["tech-transfer"], "the model learned");
    assert!(
        project
            .read("out/drafts/tech-transfer/2026-11-30.html")
            .contains("Sendai")
    );
    for newsletter in ["about-japan", "tax-procurement"] {
        // No draft at all (nothing due) holds no derby either.
        let draft = format!("out/drafts/{newsletter}/2026-11-30.html");
        if project.path(&draft).exists() {
            assert!(!project.read(&draft).contains("Sendai"), "{newsletter}");
        }
    }
}

/// Issue 29: `classify learn FILE` teaches the store's model an
/// organisation's own placements as an editor's corrections. A held item
/// (stored, in no edition yet) that no newsletter takes lands in Tech
/// Transfer after the archive says such items go there, in `items` and in
/// the draft `run` makes; learning the same file again changes nothing.
#[test]
fn classify_learn_is_idempotent_and_changes_where_run_places_a_held_item() {
    let project = with_wire();
    let held = "Kansai hackathon weekend: coders build apps for shopping streets";
    wire_item(
        &project,
        "kansai",
        "2026-11-27",
        held,
        "Forty coders spend two days building apps for neighbourhood shopping arcades.",
    );
    project.run(&["fetch"]).assert_code(0);
    let (_, before) = placed(&project, held);
    assert!(!ids(&before).contains(&"tech-transfer"), "{before:?}");

    let archive: String = ["Kyushu", "Tohoku", "Chubu", "Shikoku", "Hokuriku", "Chugoku"]
        .iter()
        .map(|region| {
            format!(
                "{{\"title\": \"{region} hackathon weekend: coders build apps for shopping streets\", \"summary\": \"Coders spend two days building apps for shopping arcades.\", \"labels\": [\"tech-transfer\"]}}\n"
            )
        })
        .collect();
    // A file with a bad label teaches nothing, not even its good lines.
    project.write(
        "typo.jsonl",
        &format!("{archive}{{\"title\": \"Kanto hackathon weekend\", \"labels\": [\"tech-tranfser\"]}}\n"),
    );
    project
        .run(&["classify", "learn", "typo.jsonl"])
        .assert_code(1)
        .assert_stderr_has("typo.jsonl:7: labels: unknown newsletter \"tech-tranfser\"");
    project.write("archive.jsonl", &archive);
    project
        .run(&["classify", "learn", "archive.jsonl"])
        .assert_code(0)
        .assert_stdout_has("learned 6 new items, 0 already learned");
    let learned = model_state(&project);
    assert!(
        learned.1.iter().filter(|k| k.starts_with("taught ")).count() == 6,
        "{:?}",
        learned.1
    );
    project
        .run(&["classify", "learn", "archive.jsonl"])
        .assert_code(0)
        .assert_stdout_has("learned 0 new items, 6 already learned");
    assert_eq!(
        model_state(&project),
        learned,
        "the same file twice changes nothing"
    );

    let (_, after) = placed(&project, held);
    assert!(ids(&after).contains(&"tech-transfer"), "{after:?}");
    project.run(&["run", "--date", "2026-11-30"]).assert_code(0);
    assert!(
        project
            .read("out/drafts/tech-transfer/2026-11-30.html")
            .contains("Kansai hackathon weekend")
    );
    // `classify eval` measures the model `run` uses, unless told otherwise.
    project.write("held.jsonl", &format!("{{\"title\": \"{held}\", \"summary\": \"Forty coders spend two days building apps for neighbourhood shopping arcades.\", \"labels\": [\"tech-transfer\"]}}\n"));
    project
        .run(&["classify", "eval", "held.jsonl", "--min-accuracy", "1"])
        .assert_code(0);
    project
        .run(&[
            "classify",
            "eval",
            "held.jsonl",
            "--bundled",
            "--min-accuracy",
            "1",
        ])
        .assert_code(1);
}

/// Issue 29: `classify eval --leave-one-out DIR` classifies each author's
/// set with a model of the other sets, and reports per set the F1 of each
/// newsletter, the exact share, the learning curve and the off-topic items
/// that reached an EU-only newsletter: fewer than 2 in 100 of the items
/// labelled with none (31 of 1,940 with twenty-seven authors, each listed
/// in docs/classification.md: a retail gold price, a European trade fair, a
/// city's bid results; many an editor could place either way).
#[test]
fn leave_one_out_reports_every_author_and_hardly_an_off_topic_item_reaches_an_eu_only_newsletter() {
    let project = Project::bundled();
    let authors = repo().join("data/labelled/authors").display().to_string();
    let run = project.run(&[
        "classify",
        "eval",
        "--leave-one-out",
        &authors,
        "--format",
        "json",
    ]);
    run.assert_code(0);
    let json = run.json();
    let sets = json["sets"].as_array().unwrap();
    let names: Vec<&str> = sets.iter().map(|s| s["name"].as_str().unwrap()).collect();
    let mut files: Vec<String> = std::fs::read_dir(&authors)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".jsonl").map(str::to_string)
        })
        .collect();
    files.sort();
    assert_eq!(names, files);
    assert!(names.len() >= 5, "{names:?}");
    let leaked: usize = sets
        .iter()
        .map(|set| set["off_topic_in_eu_only"].as_array().unwrap().len())
        .sum();
    let off_topic = std::fs::read_dir(&authors)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            text.lines()
                .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
                .filter(|item| item["labels"].as_array().is_some_and(Vec::is_empty))
                .collect::<Vec<_>>()
        })
        .count();
    assert!(off_topic >= 1_000, "{off_topic}");
    assert!(leaked * 50 < off_topic, "{leaked} of {off_topic}: {json:#}");
    for set in sets {
        let name = &set["name"];
        assert_eq!(
            set["evaluation"]["newsletters"].as_array().unwrap().len(),
            5,
            "{name}"
        );
        let curve: Vec<u64> = set["curve"]
            .as_array()
            .unwrap()
            .iter()
            .map(|point| point[0].as_u64().unwrap())
            .collect();
        assert_eq!(curve, [0, 25, 50, 100], "{name}");
    }
    assert!(json["all"]["total"].as_u64().unwrap() >= 1_500);
    let table = project.run(&["classify", "eval", "--leave-one-out", &authors]);
    table.assert_code(0).assert_stdout_has("the worst set, ");
}
