//! Checks the `tests/ui/parse/*.npk` files against the parser alone, with
//! the annotation rules of the lead's UI harness: `//@ check-pass` files
//! parse cleanly; otherwise every error matches a `//~ ERROR CODE [text]`
//! annotation on the line its primary span starts on, and vice versa.

use super::*;
use std::path::PathBuf;

/// `(line, code, message substring)` of every annotation in `src`.
fn annotations(src: &str) -> Vec<(usize, String, String)> {
    let mut out: Vec<(usize, String, String)> = Vec::new();
    for (i, line) in src.lines().enumerate() {
        let Some(at) = line.find("//~") else { continue };
        let rest = &line[at + 3..];
        let (target, rest) = if let Some(r) = rest.strip_prefix('|') {
            (out.last().map_or(i + 1, |a| a.0), r)
        } else {
            let ups = rest.chars().take_while(|&c| c == '^').count();
            (i + 1 - ups, &rest[ups..])
        };
        let rest = rest.trim_start();
        let rest = rest
            .strip_prefix("ERROR")
            .expect("annotation kind")
            .trim_start();
        let (code, msg) = rest.split_once(' ').unwrap_or((rest, ""));
        out.push((target, code.to_string(), msg.trim().to_string()));
    }
    out
}

fn ui_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui/parse")
}

#[test]
fn ui_parse_files_match_their_annotations() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(ui_dir())
        .expect("tests/ui/parse exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "npk"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "ui files missing: {files:?}");
    let mut failures = Vec::new();
    for path in files {
        let src = std::fs::read_to_string(&path).expect("readable ui file");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut expected = annotations(&src);
        let got = error_summary(&src);
        if src.starts_with("//@ check-pass") && !got.is_empty() {
            failures.push(format!("{name}: expected no errors, got {got:?}"));
            continue;
        }
        for (code, line, message) in &got {
            let found = expected
                .iter()
                .position(|(l, c, m)| l == line && c == code && message.contains(m.as_str()));
            match found {
                Some(i) => {
                    expected.remove(i);
                }
                None => failures.push(format!("{name}:{line}: unexpected {code} {message}")),
            }
        }
        for (line, code, message) in expected {
            failures.push(format!("{name}:{line}: missing {code} {message}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
