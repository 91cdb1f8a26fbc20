//! Crash and resume: `bulletin run` SIGKILLed again and again, during fetch,
//! build and send, each time resumed by the next run; then the invariants a
//! user relies on: one copy of each edition per eligible subscriber, no item
//! in two editions of a newsletter, a sound database.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::common::Project;
use crate::common::http::{FEED, Reply, serve};
use crate::common::mail::{project, readers};
use crate::common::sink::Sink;

const FOR_EVERYONE: [&str; 3] = ["eu-japan-news", "industry-policy", "tech-transfer"];
const FOR_EU_ORGANISATIONS: [&str; 2] = ["about-japan", "tax-procurement"];

/// Reader `i`, subscribed to all five: an individual in France, a company
/// in Japan or one in Germany.
fn reader(i: usize) -> &'static str {
    match i % 3 {
        0 => "individual,FR,eu-japan-news;industry-policy;about-japan;tax-procurement;tech-transfer",
        1 => "company,JP,eu-japan-news;industry-policy;about-japan;tax-procurement;tech-transfer",
        _ => "company,DE,eu-japan-news;industry-policy;about-japan;tax-procurement;tech-transfer",
    }
}

/// (address, newsletter) of every copy that must arrive, by the audiences
/// in the bundled config: three newsletters for everyone, two for EU
/// companies and organisations only.
fn eligible(count: usize) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for i in 0..count {
        let email = format!("reader{i:04}@example.eu");
        let eu_company = reader(i).starts_with("company,DE");
        for newsletter in FOR_EVERYONE
            .iter()
            .chain(FOR_EU_ORGANISATIONS.iter().filter(|_| eu_company))
        {
            pairs.insert((email.clone(), newsletter.to_string()));
        }
    }
    pairs
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Fetch,
    Build,
    Send,
}

impl Phase {
    /// The line `run` writes on stderr as this phase begins, when
    /// `BULLETIN_PHASES` is set: a stable, machine-readable marker.
    fn begins(self) -> &'static str {
        match self {
            Phase::Fetch => "phase: fetch",
            Phase::Build => "phase: build",
            Phase::Send => "phase: send",
        }
    }

    /// The line that shows this phase was over: the next one's.
    fn ended_by(self) -> &'static str {
        match self {
            Phase::Fetch => "phase: build",
            Phase::Build => "phase: send",
            Phase::Send => "phase: done",
        }
    }
}

/// Starts `run`, waits until `phase` has begun, lets it go on for `delay`
/// and kills it. Returns whether the kill landed in that phase: the process
/// was still running and had not announced the next phase.
fn kill_during(project: &Project, phase: Phase, delay: Duration) -> bool {
    let mut child = project
        .command(&["run", "--date", "2026-11-23"])
        .env("BULLETIN_PHASES", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, printed) = mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    // A generous bound that only catches a hang: the phase begins in well under a second.
    while let Ok(line) = printed.recv_timeout(Duration::from_secs(30)) {
        let started = line == phase.begins();
        seen.push(line);
        if started {
            break;
        }
    }
    assert!(
        seen.iter().any(|line| line == phase.begins()),
        "`run` never announced {:?}: {seen:?}",
        phase.begins()
    );
    std::thread::sleep(delay);
    let alive = child.try_wait().unwrap().is_none();
    let _ = child.kill(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(printed.try_iter());
    // Everything written before the kill is in the pipe: the next phase's line means this one ended first.
    alive && !seen.iter().any(|line| line == phase.ended_by())
}

fn open_store(project: &Project) -> rusqlite::Connection {
    rusqlite::Connection::open(project.path("bulletin.sqlite")).unwrap()
}

/// Messages the killed run left `sending`: each may have reached the server.
/// The delivery log is the store's `deliveries` table and, after a kill
/// during a send, the journal beside it with the rows written since its
/// last fold (the next send folds it): a row there is newer.
fn in_flight(project: &Project) -> Vec<(String, String)> {
    if !project.path("bulletin.sqlite").exists() {
        return Vec::new();
    }
    let db = open_store(project);
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let mut status: BTreeMap<(String, String), String> = BTreeMap::new();
    if let Ok(mut query) = db.prepare("SELECT email, newsletter, status FROM deliveries") {
        let rows = query
            .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
            .unwrap();
        status.extend(rows.map(Result::unwrap));
    } // else killed before the schema was written
    // Lossy: a kill may have cut the last line inside a character; that line is left out anyway.
    if let Ok(journal) = std::fs::read(project.path("bulletin.sqlite.sending")) {
        let journal = String::from_utf8_lossy(&journal);
        let mut lines = journal.split_inclusive('\n').filter(|line| line.ends_with('\n'));
        let header: serde_json::Value = lines
            .next()
            .map_or(serde_json::Value::Null, |l| serde_json::from_str(l).unwrap());
        for line in lines {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let key = (
                row["email"].as_str().unwrap().to_string(),
                header["newsletter"].as_str().unwrap().to_string(),
            );
            status.insert(key, row["status"].as_str().unwrap().to_string());
        }
    }
    status
        .into_iter()
        .filter(|(_, status)| status == "sending")
        .map(|(pair, _)| pair)
        .collect()
}

#[test]
fn runs_killed_during_fetch_build_and_send_leave_one_copy_each() {
    let Some(sink) = Sink::start(&[]) else { return };
    const READERS: usize = 200;
    let project = project(
        sink.port,
        "rate_per_second = 150.0\nconcurrency = 4",
        &readers(READERS, reader),
    );
    // A feed that answers after 400 ms, with no validators: every fetch
    // lasts that long, so kills during it land there on any machine.
    let server = serve(vec![(
        "/slow.xml",
        Reply::Late(
            Duration::from_millis(400),
            Box::new(Reply::Body("application/rss+xml", FEED.to_string())),
        ),
    )]);
    project.edit_config(
        "[[source]]",
        &format!(
            "[[source]]\nname = \"Slow\"\nfeed = \"{}\"\n\n[[source]]",
            server.url("/slow.xml")
        ),
    );

    let mut landed: BTreeMap<Phase, usize> = BTreeMap::new();
    let mut found_sending: BTreeMap<(String, String), usize> = BTreeMap::new();
    for round in 0..8u64 {
        for phase in [Phase::Fetch, Phase::Build, Phase::Send] {
            let delay = match phase {
                Phase::Fetch => Duration::from_millis(round * 40),
                Phase::Build => Duration::from_millis(round),
                Phase::Send => Duration::from_millis(50 + round * 40),
            };
            if kill_during(&project, phase, delay) {
                *landed.entry(phase).or_default() += 1;
            }
            for pair in in_flight(&project) {
                *found_sending.entry(pair).or_default() += 1;
            }
        }
    }
    assert!(
        landed.values().sum::<usize>() >= 20 && landed.values().all(|kills| *kills >= 4) && landed.len() == 3,
        "at least 20 kills, in every phase: {landed:?}"
    );

    let last = project.run(&["run", "--date", "2026-11-23"]);
    last.assert_code(0);
    assert!(
        last.stdout.contains("sent ") && !last.stdout.contains(": sent 0, already sent 0"),
        "the kills left sending to finish: {}",
        last.stdout
    );

    let mut copies: BTreeMap<(String, String), usize> = BTreeMap::new();
    for pair in sink.deliveries() {
        *copies.entry(pair).or_default() += 1;
    }
    let expected = eligible(READERS);
    let received: BTreeSet<_> = copies.keys().cloned().collect();
    assert_eq!(
        received.difference(&expected).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "nobody got what is not theirs"
    );
    assert_eq!(
        expected.difference(&received).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "nobody lost"
    );
    for (pair, count) in &copies {
        let window = found_sending.get(pair).copied().unwrap_or(0);
        assert!(
            *count <= 1 + window,
            "{pair:?} arrived {count} times, but was in flight at only {window} kills"
        );
    }

    let db = open_store(&project);
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let twice: u32 = db
        .query_row(
            "SELECT count(*) FROM (SELECT item_id FROM edition_items GROUP BY newsletter, item_id HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(twice, 0, "no item in two editions of a newsletter");
    let editions: Vec<(String, u32, String)> = db
        .prepare("SELECT newsletter, number, date FROM editions ORDER BY newsletter")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(editions.len(), 5, "one edition per newsletter: {editions:?}");
    assert!(
        editions
            .iter()
            .all(|(_, number, date)| *number == 1 && date == "2026-11-23")
    );
}
