//! Builds `tests/c/abi_smoke.c` with `cc` against the freshly built `libnpk_runtime.a` and
//! runs it: the C ABI works from C, stdout is flushed at exit, `npk_exit` masks the status.

#[path = "common/cprog.rs"]
mod cprog;

use std::process::Command;

#[test]
fn c_program_links_the_static_library_and_passes() {
    let exe = cprog::build("abi_smoke");
    let run = Command::new(&exe)
        .env_remove("NPK_WILDX_QUOTA")
        .output()
        .expect("run abi_smoke");
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
