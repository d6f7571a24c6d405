//! The C header `include/npk_runtime.h` declares exactly the runtime's exports, with the
//! same number of parameters. Exports are found in the sources (every
//! `#[unsafe(no_mangle)]` function under `src/`), so a new file's exports are covered too.

use std::collections::BTreeMap;
use std::path::Path;

fn header_decls() -> BTreeMap<String, usize> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(dir.join("include/npk_runtime.h")).expect("header");
    let mut out = BTreeMap::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("npk_") {
        let tail = &rest[at..];
        let name_len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..name_len];
        let after = tail[name_len..].trim_start();
        let preceded_by_type = rest[..at].ends_with([' ', '*']);
        if after.starts_with('(') && preceded_by_type && !rest[..at].ends_with("define ") {
            let close = after.find(')').expect("closing paren");
            let params = after[1..close].trim();
            let count = if params == "void" || params.is_empty() {
                0
            } else {
                params.split(',').count()
            };
            assert!(
                out.insert(name.to_string(), count).is_none(),
                "{name} declared twice"
            );
            rest = &after[close..];
        } else {
            rest = &tail[name_len..];
        }
    }
    out
}

fn rust_exports() -> BTreeMap<String, usize> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .expect("src dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
    {
        let text = std::fs::read_to_string(&file).expect("source");
        for chunk in text.split("\n#[unsafe(no_mangle)]\n").skip(1) {
            let fn_at = chunk.find("fn ").expect("fn after no_mangle");
            let sig = &chunk[fn_at + 3..];
            let open = sig.find('(').expect("params");
            let name = sig[..open].trim().to_string();
            let close = sig.find(')').expect("params end");
            let params = sig[open + 1..close].trim().trim_end_matches(',');
            let count = if params.is_empty() {
                0
            } else {
                params.split(',').count()
            };
            assert!(
                out.insert(name.clone(), count).is_none(),
                "{name} exported twice"
            );
        }
    }
    out
}

#[test]
fn header_declares_exactly_the_exports_with_the_same_arity() {
    let header = header_decls();
    let exports = rust_exports();
    assert!(exports.len() >= 20, "found only {exports:?}");
    assert_eq!(
        header, exports,
        "header (left) and #[unsafe(no_mangle)] exports (right) differ"
    );
}

#[test]
fn static_library_exports_every_declared_symbol() {
    let lib = static_lib();
    let Ok(out) = std::process::Command::new("nm")
        .arg("-g")
        .arg("--defined-only")
        .arg(&lib)
        .output()
    else {
        eprintln!("nm not available; skipped");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    for name in header_decls().keys() {
        assert!(
            text.lines().any(|l| l.ends_with(&format!(" T {name}"))),
            "{name} not exported by {}",
            lib.display()
        );
    }
}

#[path = "common/staticlib.rs"]
mod staticlib;
use staticlib::static_lib;
