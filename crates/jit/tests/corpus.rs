//! Runs every case in `tests/corpus/*.txt` through the validator.
//!
//! A line is `HEX | SIGNATURE | VERDICT [| POLICY]`; `#` starts a comment.
//! VERDICT is `accept` or `reject Kind [@offset]` where `Kind` is the
//! `ViolationKind` variant name, or a bare `reject` (any rule; used by
//! `soundness.txt`, the soundness harness's counter-examples, which has its
//! own test so a regression there is named as such). POLICY is a comma-separated list of
//! `loops redzone division ptr-read=N ptr-rw=N frame=N reserve=REG steps=N
//! base=ADDR call=ADDR:SIG`. Adding a case needs no Rust.

#[path = "common/corpus_format.rs"]
mod corpus_format;

use corpus_format::{parse_hex, parse_num, parse_policy};
use npk_jit::{Signature, validate};

/// Checks every case of `file`; returns the case count and the failures.
fn check_file(file: &std::path::Path) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(file).expect("read corpus file");
    let (mut cases, mut failures) = (0, Vec::new());
    for (lineno, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!(
            fields.len() >= 3,
            "{}:{}: need HEX | SIG | VERDICT",
            file.display(),
            lineno + 1
        );
        let code = parse_hex(fields[0]);
        let sig: Signature = fields[1].parse().expect("signature");
        let policy = parse_policy(fields.get(3).copied().unwrap_or(""));
        cases += 1;
        let got = validate(&code, &sig, &policy);
        let verdict = fields[2];
        let ok = if verdict == "accept" {
            got.is_ok()
        } else {
            let mut words = verdict
                .strip_prefix("reject")
                .expect("accept or reject")
                .split_whitespace();
            let kind = words.next();
            let at = words
                .next()
                .map(|w| parse_num(w.trim_start_matches('@')) as usize);
            match &got {
                Err(v) => {
                    let name = format!("{:?}", v.kind());
                    let name = name.split([' ', '{', '(']).next().unwrap_or("");
                    kind.is_none_or(|k| k == name) && at.is_none_or(|a| a == v.offset())
                }
                Ok(_) => false,
            }
        };
        if !ok {
            let got = match got {
                Ok(r) => format!("accepted: {r}"),
                Err(v) => format!("rejected {:?}: {v}", v.kind()),
            };
            failures.push(format!(
                "{}:{}: {raw}\n    expected {verdict}, got {got}",
                file.display(),
                lineno + 1
            ));
        }
    }
    (cases, failures)
}

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The harness's counter-examples (see `tests/soundness.rs`).
const SOUNDNESS: &str = "soundness.txt";

#[test]
fn corpus_cases_match_their_expected_verdicts() {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .filter(|p| !p.ends_with(SOUNDNESS))
        .collect();
    files.sort();
    let (mut cases, mut failures) = (0, Vec::new());
    for file in &files {
        let (n, f) = check_file(file);
        cases += n;
        failures.extend(f);
    }
    assert!(cases > 150, "corpus too small: {cases}");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn soundness_counter_examples_are_rejected() {
    let (cases, failures) = check_file(&corpus_dir().join(SOUNDNESS));
    assert!(cases >= 10, "soundness corpus too small: {cases}");
    assert!(
        failures.is_empty(),
        "{} of {cases} soundness counter-examples are not rejected:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
