//! The `npkc` command line as users call it: exit statuses, `--explain`,
//! `--error-format=json`, `jit-check`, usage errors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn npkc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npkc"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("npkc starts")
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn jit_check_accepts_proven_bytes_with_a_summary() {
    let out = npkc(&[
        "jit-check",
        "--sig",
        "int64(int64,int64)",
        "48",
        "8d",
        "04",
        "37",
        "c3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("accepted as int64(int64,int64)"));
}

#[test]
fn jit_check_rejects_with_offset_instruction_and_rule() {
    let out = npkc(&["jit-check", "--sig", "int64(int64)", "90 0f05 c3"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("offset 0x1") && err.contains("syscall"),
        "{err}"
    );
}

#[test]
fn jit_check_bad_input_is_a_usage_error() {
    assert_eq!(
        npkc(&["jit-check", "--sig", "int64(", "c3"]).status.code(),
        Some(2)
    );
    assert_eq!(
        npkc(&["jit-check", "--sig", "int64()", "zz"]).status.code(),
        Some(2)
    );
}

#[test]
fn jit_check_reads_a_64k_function_from_stdin() {
    use std::io::Write;
    use std::process::Stdio;
    // mov eax, edi; then 16-byte nops up to 64 KiB; ret.
    let mut code = vec![0x89, 0xf8];
    while code.len() + 16 < 65536 {
        code.extend([
            0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0x90,
        ]);
    }
    code.push(0xc3);
    let mut child = Command::new(env!("CARGO_BIN_EXE_npkc"))
        .args(["jit-check", "--sig", "int32(int32)", "--file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("npkc starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&code)
        .expect("write code");
    let out = child.wait_with_output().expect("npkc ends");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("{} bytes", code.len())),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn explain_knows_every_ownership_code_and_refuses_unknown_ones() {
    for code in [
        "ARIA-014", "ARIA-015", "ARIA-022", "NPK-401", "NPK-111", "NPK-290",
    ] {
        let out = npkc(&["--explain", code]);
        assert_eq!(out.status.code(), Some(0), "{code}");
        assert!(
            text(&out.stdout).len() > 100,
            "{code} has a long explanation"
        );
    }
    let out = npkc(&["--explain", "ARIA-999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("known codes"));
}

#[test]
fn check_exit_status_and_json_diagnostics() {
    let out = npkc(&[
        "check",
        "tests/ui/ownership/double-free.npk",
        "--error-format=json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let line = text(&out.stderr);
    let first = line.lines().next().expect("one diagnostic");
    let v: serde_json::Value = serde_json::from_str(first).expect("json");
    assert_eq!(v["code"], "ARIA-022");
    assert!(v["primary"]["line"].as_u64().is_some_and(|l| l > 0));
    let ok = npkc(&["check", "examples/jit_add.npk"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(ok.stderr.is_empty());
}

#[test]
fn usage_errors_exit_2_and_missing_files_exit_1() {
    assert_eq!(npkc(&[]).status.code(), Some(2));
    assert_eq!(npkc(&["--no-such-flag"]).status.code(), Some(2));
    let out = npkc(&["check", "does/not/exist.npk"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read"));
}

#[test]
fn every_example_checks_clean() {
    let dir = workspace().join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/ exists").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "npk") {
            let rel = format!("examples/{}", entry.file_name().to_string_lossy());
            let out = npkc(&["check", &rel]);
            assert_eq!(out.status.code(), Some(0), "{rel}:\n{}", text(&out.stderr));
            seen += 1;
        }
    }
    assert!(seen >= 2, "examples found: {seen}");
}
