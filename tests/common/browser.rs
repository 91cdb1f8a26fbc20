//! Debian's Chromium, headless, driven by playwright-core from the node
//! scripts of `tests/browser/`: whether it can run here, and a run of one.

use std::process::Command;

use super::repo;

/// What the browser check needs, or why it cannot run: it skips loudly on a
/// developer's machine and fails under CI, where `tests/run.sh` (and so `.ci/run`) installs it all.
pub(crate) fn browser_tools() -> bool {
    let missing = [
        ("/usr/bin/chromium", "apt-get install chromium"),
        (
            "tests/browser/node_modules/playwright-core",
            "cd tests/browser && npm ci",
        ),
        (
            "tests/browser/node_modules/axe-core",
            "cd tests/browser && npm ci",
        ),
    ]
    .into_iter()
    .find(|(path, _)| !repo().join(path).exists());
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let why = match (missing, node) {
        (Some((path, fix)), _) => format!("{path} is missing ({fix})"),
        (None, false) => "node is missing".to_string(),
        (None, true) => return true,
    };
    if std::env::var_os("CI").is_some() {
        panic!("the browser test cannot run: {why}; tests/run.sh installs it");
    }
    eprintln!("\n*** SKIPPED: the browser test cannot run: {why} ***\n");
    false
}

/// Runs `tests/browser/<script>` with node and reads the JSON it prints.
pub(crate) fn node(script: &str, args: &[&str]) -> serde_json::Value {
    let output = Command::new("node")
        .arg(repo().join("tests/browser").join(script))
        .args(args)
        .current_dir(repo().join("tests/browser"))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Asserts that axe-core found nothing serious or critical on any page of
/// its `results`.
#[track_caller]
pub(crate) fn assert_no_serious_violations(results: &[serde_json::Value]) {
    let serious: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r["serious"] != serde_json::json!([]))
        .collect();
    assert!(
        serious.is_empty(),
        "serious or critical violations:\n{serious:#?}"
    );
}
