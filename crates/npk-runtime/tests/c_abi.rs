//! Builds the C programs in `tests/c/` with `cc` against the freshly built
//! `libnpk_runtime.a` and runs them: the C ABI works from C (`abi_smoke.c`: pages, printing,
//! exit status; `arena_smoke.c`: code arenas), stdout is flushed at exit, `npk_exit` masks
//! the status.

#[path = "common/cprog.rs"]
mod cprog;

use std::process::Command;

/// Compiles `tests/c/<name>.c` against the header and the static library, runs it.
fn build_and_run(name: &str) -> std::process::Output {
    Command::new(cprog::build(name))
        .env_remove("NPK_WILDX_QUOTA")
        .env_remove("NPK_WILDX_GUARD_PAGES")
        .output()
        .expect("run the C program")
}

#[test]
fn c_program_links_the_static_library_and_passes() {
    let run = build_and_run("abi_smoke");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        run.status.code(),
        Some(44),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(
        stdout,
        "sum=-42 18446744073709551615 true false\n(null)\nfailures=0\nunterminated"
    );
    // Every refusal printed exactly one well-formed line.
    for line in stderr.lines() {
        assert!(
            line.starts_with("wildx: ") && line.contains(") rejected: "),
            "odd line {line:?}"
        );
    }
    assert!(
        stderr.contains("wildx: alloc(0) rejected: zero size"),
        "{stderr}"
    );
    assert!(stderr.contains("rejected: page already sealed"), "{stderr}");
    assert!(stderr.contains("rejected: page was freed"), "{stderr}");
    assert!(
        stderr.contains("free((nil)) rejected: null pointer")
            || stderr.contains("free(0x0) rejected: null pointer"),
        "{stderr}"
    );
    assert!(stderr.contains("rejected: quota exceeded"), "{stderr}");
}

#[test]
fn c_program_uses_code_arenas_through_the_header() {
    let run = build_and_run("arena_smoke");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        (run.status.code(), stdout.as_ref()),
        (Some(0), "arena failures=0\n"),
        "stderr:\n{stderr}"
    );
    for want in [
        "jit: arena_add(",
        "rejected: code arena: code arena full",
        "rejected: code arena: page already sealed",
        "wildx: arena_seal(",
        "rejected: not a code arena",
        "wildx: arena_create(0) rejected: zero size",
    ] {
        assert!(stderr.contains(want), "{want:?} missing in:\n{stderr}");
    }
}
