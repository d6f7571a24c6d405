//! Runs the UI tests of `tests/ui/types` and `tests/ui/names` through the
//! library (parse + `types::check`), checking the `//~ ERROR` annotations in
//! both directions. The lead's harness runs the same files through the
//! `npkc` binary; this keeps them honest while that harness is elsewhere.
//! Files with a `use` declaration need the module loader and are skipped.

use std::path::Path;

use crate::diagnostic::Problems;
use crate::modules::{Loaded, LoadedModule};
use crate::parser::parse_module;
use crate::source::FileId;

/// An expected diagnostic: 1-based line, code, message substring.
type Expected = (usize, String, String);

fn annotations(src: &str) -> Vec<Expected> {
    let mut out: Vec<Expected> = Vec::new();
    for (i, line) in src.lines().enumerate() {
        let Some(pos) = line.find("//~") else {
            continue;
        };
        let rest = &line[pos + 3..];
        let (target, rest) = if let Some(r) = rest.strip_prefix('|') {
            (out.last().map_or(i + 1, |e| e.0), r)
        } else {
            let ups = rest.chars().take_while(|&c| c == '^').count();
            (i + 1 - ups, &rest[ups..])
        };
        let rest = rest
            .trim_start()
            .strip_prefix("ERROR")
            .expect("annotation is `//~ ERROR CODE [msg]`");
        let mut words = rest.trim().splitn(2, ' ');
        let code = words.next().unwrap_or_default().to_string();
        let msg = words.next().unwrap_or_default().trim().to_string();
        out.push((target, code, msg));
    }
    out
}

fn check_file(path: &Path) -> Result<(), String> {
    let src = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    if src.lines().any(|l| l.trim_start().starts_with("use ")) {
        return Ok(());
    }
    let mut problems = Problems::new();
    let module = parse_module(FileId(0), &src, &mut problems);
    let loaded = Loaded {
        drop_stdlib: None,
        root: FileId(0),
        modules: vec![LoadedModule {
            module,
            imports: Vec::new(),
            is_stdlib: false,
        }],
    };
    let _ = super::super::check(&loaded, &mut problems);
    let mut expected = annotations(&src);
    let pass = src.starts_with("//@ check-pass") || src.starts_with("//@ run-");
    if pass != expected.is_empty() {
        return Err("a passing test has no annotations and a failing one has some".into());
    }
    let mut unexpected = Vec::new();
    for d in problems.errors.iter().chain(&problems.warnings) {
        let line = src[..d.primary.span.start as usize].matches('\n').count() + 1;
        match expected
            .iter()
            .position(|(l, c, m)| *l == line && c == d.code && d.message.contains(m.as_str()))
        {
            Some(i) => {
                expected.remove(i);
            }
            None => unexpected.push(format!("line {line}: {} {}", d.code, d.message)),
        }
    }
    if unexpected.is_empty() && expected.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "unexpected: {unexpected:#?}\nmissing: {expected:#?}"
        ))
    }
}

#[test]
fn ui_files_match_their_annotations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui");
    let mut failures = Vec::new();
    let mut count = 0;
    for topic in ["types", "names"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(topic))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "npk"))
            .collect();
        files.sort();
        for f in files {
            count += 1;
            if let Err(e) = check_file(&f) {
                failures.push(format!("{}:\n{e}", f.display()));
            }
        }
    }
    assert!(count > 0, "no UI files found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
