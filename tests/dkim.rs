//! DKIM: every signature bulletin makes, RSA and Ed25519, one or both on
//! a message (RFC 8463), checked by dkimpy, an independent verifier, over
//! relaxed/relaxed with the List-Unsubscribe pair signed; and a private
//! key others may read is refused.

use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::common::aiosmtpd::dkimpy;
use crate::common::mail::project;
use crate::common::sink::Sink;
use crate::common::{Project, chmod, repo};

const SUBSCRIBERS: &str = "email,name,organisation,organisation_type,country,newsletters,consent_date\n\
    jane@example.de,Jane Doe,Acme,company,DE,eu-japan-news;about-japan,2025-01-01\n\
    taro@example.jp,Taro,,individual,JP,eu-japan-news,2025-01-01\n";

fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl").args(args).output().expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A new RSA-2048 key as PKCS#1 PEM at `path`, and its DNS record.
fn rsa_key(path: &Path) -> String {
    let path = path.to_str().unwrap();
    openssl(&["genrsa", "-traditional", "-out", path, "2048"]);
    let public = openssl(&["rsa", "-in", path, "-pubout", "-outform", "DER"]);
    format!("v=DKIM1; k=rsa; p={}", STANDARD.encode(public))
}

/// A new Ed25519 key at `path`, as its base64 seed, and its DNS record.
fn ed25519_key(path: &Path) -> String {
    let pem = path.with_extension("pem");
    let pem = pem.to_str().unwrap();
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", pem]);
    let private = openssl(&["pkey", "-in", pem, "-outform", "DER"]);
    let public = openssl(&["pkey", "-in", pem, "-pubout", "-outform", "DER"]);
    std::fs::write(path, STANDARD.encode(&private[private.len() - 32..]) + "\n").unwrap();
    format!(
        "v=DKIM1; k=ed25519; p={}",
        STANDARD.encode(&public[public.len() - 32..])
    )
}

/// Runs dkimpy over every message the sink took; its lines, one per signature.
fn verified(project: &Project, sink: &Sink, records: &[(&str, String)]) -> Vec<String> {
    let Some(python) = dkimpy() else { return Vec::new() };
    let records: serde_json::Map<String, serde_json::Value> = records
        .iter()
        .map(|(selector, record)| {
            (
                format!("{selector}._domainkey.eu-japan.eu"),
                record.clone().into(),
            )
        })
        .collect();
    std::fs::write(
        project.path("records.json"),
        serde_json::Value::Object(records).to_string(),
    )
    .unwrap();
    let mut files: Vec<_> = std::fs::read_dir(sink.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "messages arrived");
    let output = Command::new(python)
        .arg(repo().join("tests/smtp/dkim_verify.py"))
        .arg(project.path("records.json"))
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "dkimpy verifies every signature: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().map(str::to_string).collect()
}

#[track_caller]
fn signed_over_relaxed_with_the_unsubscribe_headers(line: &str) {
    assert!(
        line.starts_with("ok ") && line.contains("c=relaxed/relaxed"),
        "{line}"
    );
    let names: Vec<String> = line
        .split("h=")
        .nth(1)
        .unwrap()
        .split(':')
        .map(str::to_lowercase)
        .collect();
    for name in [
        "from",
        "subject",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} is signed: {line}");
    }
}

#[test]
fn rsa_and_ed25519_signatures_both_verify_with_dkimpy() {
    let Some(sink) = Sink::start(&[]) else { return };
    let dkim = "\n[[mail.dkim]]\nselector = \"rsa2026\"\nkey_path = \"rsa.key\"\nalgorithm = \"rsa\"\n\n\
                [[mail.dkim]]\nselector = \"ed2026\"\nkey_path = \"ed.key\"\nalgorithm = \"ed25519\"\n";
    let project = project(sink.port, dkim, SUBSCRIBERS);
    let rsa = rsa_key(&project.path("rsa.key"));
    let ed = ed25519_key(&project.path("ed.key"));
    chmod(&project.path("rsa.key"), 0o600);
    chmod(&project.path("ed.key"), 0o600);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    let lines = verified(&project, &sink, &[("rsa2026", rsa), ("ed2026", ed)]);
    if lines.is_empty() {
        return;
    }
    let messages = sink.messages().len();
    assert_eq!(
        lines.len(),
        2 * messages,
        "two signatures on each message: {lines:?}"
    );
    for algorithm in ["a=rsa-sha256", "a=ed25519-sha256"] {
        assert_eq!(
            lines.iter().filter(|l| l.contains(algorithm)).count(),
            messages,
            "{lines:?}"
        );
    }
    for line in &lines {
        signed_over_relaxed_with_the_unsubscribe_headers(line);
    }
}

#[test]
fn an_rsa_key_in_pkcs8_alone_signs_what_dkimpy_verifies() {
    let Some(sink) = Sink::start(&[]) else { return };
    let dkim = "\n[mail.dkim]\nselector = \"news2026\"\nkey_path = \"dkim.key\"\n";
    let project = project(sink.port, dkim, SUBSCRIBERS);
    let path = project.path("dkim.key");
    let record = rsa_key(&path);
    let pkcs8 = openssl(&["pkey", "-in", path.to_str().unwrap()]);
    std::fs::write(&path, pkcs8).unwrap();
    chmod(&path, 0o600);
    project.run(&["run", "--date", "2026-11-23"]).assert_code(0);
    for line in verified(&project, &sink, &[("news2026", record)]) {
        assert!(line.contains("a=rsa-sha256"), "{line}");
        signed_over_relaxed_with_the_unsubscribe_headers(&line);
    }
}

#[test]
fn a_dkim_key_others_may_read_is_refused_before_anything_is_sent() {
    let Some(sink) = Sink::start(&[]) else { return };
    let dkim = "\n[mail.dkim]\nselector = \"news2026\"\nkey_path = \"dkim.key\"\nalgorithm = \"ed25519\"\n";
    let project = project(sink.port, dkim, SUBSCRIBERS);
    ed25519_key(&project.path("dkim.key"));
    chmod(&project.path("dkim.key"), 0o644);
    project
        .run(&["run", "--date", "2026-11-23"])
        .assert_code(1)
        .assert_stderr_has("chmod 600");
    assert!(sink.messages().is_empty());
}

#[test]
fn two_dkim_keys_of_one_algorithm_are_refused() {
    let Some(sink) = Sink::start(&[]) else { return };
    let dkim = "\n[[mail.dkim]]\nselector = \"a\"\nkey_path = \"a.key\"\n\n[[mail.dkim]]\nselector = \"b\"\nkey_path = \"b.key\"\n";
    let project = project(sink.port, "", SUBSCRIBERS);
    let config = project.read("config.toml");
    project.write("config.toml", &(config + dkim));
    project
        .run(&["check"])
        .assert_code(1)
        .assert_stderr_has("one \"rsa\" and one \"ed25519\"");
}
