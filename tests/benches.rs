//! Every script under `benches/` runs in its quick mode (`QUICK=1`: tiny
//! sizes, one run, a debug build, no figure asserted), and the criterion
//! benchmarks once each: a bench that breaks fails here, not on the day
//! someone needs its figures (compare.sh once failed for months).

use std::process::Command;

use crate::common::repo;

/// Runs `benches/SCRIPT` with `QUICK=1`; its output, after asserting it succeeded.
fn quick(script: &str) -> String {
    let output = Command::new("bash")
        .arg(repo().join("benches").join(script))
        .env("QUICK", "1")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "benches/{script} failed in quick mode:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// compare.sh installs Postfix, nginx and rss2email itself, as root: on a
/// developer's machine without them it skips, under CI it runs.
fn can_install_peers() -> bool {
    let present = ["/usr/sbin/smtp-source", "/usr/sbin/nginx", "/usr/bin/time"]
        .iter()
        .all(|p| std::path::Path::new(p).exists());
    if present || std::env::var_os("CI").is_some() {
        return true;
    }
    eprintln!(
        "\n*** SKIPPED: benches/compare.sh needs smtp-source, nginx and time (tests/run.sh installs them) ***\n"
    );
    false
}

#[test]
fn compare_sh_runs_every_comparison_in_quick_mode() {
    if !can_install_peers() {
        return;
    }
    let stdout = quick("compare.sh");
    for ratio in [
        "RATIO ingest items/s",
        "RATIO send msg/s, unsigned",
        "RATIO send msg/s, RSA-2048",
        "RATIO send msg/s, Ed25519",
        "RATIO failover send msg/s",
        "RATIO peak RSS",
        "RATIO second ÷ first fetch",
    ] {
        assert!(stdout.contains(ratio), "{ratio} is measured:\n{stdout}");
    }
}

#[test]
fn serve_sh_runs_in_quick_mode() {
    let stdout = quick("serve.sh");
    assert!(stdout.contains("serve stopped on SIGTERM, exit 0"), "{stdout}");
}

#[test]
fn desk_search_sh_runs_in_quick_mode() {
    let stdout = quick("desk-search.sh");
    for searched in ["q=reader", "100 match", "q=%C3%89LODIE"] {
        assert!(stdout.contains(searched), "{searched} in:\n{stdout}");
    }
}

#[test]
fn hostile_bounces_sh_runs_in_quick_mode() {
    let stdout = quick("hostile-bounces.sh");
    assert!(stdout.contains("final-recipient-blocks"), "{stdout}");
}

#[test]
fn the_criterion_benchmarks_run_once_each() {
    let output = Command::new(env!("CARGO"))
        .args(["test", "--locked", "--quiet", "--bench", "stages"])
        .current_dir(repo())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "benches/stages.rs:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
