//! Builds a C test program from `tests/c/` against the freshly built `libnpk_runtime.a`
//! (with `cc`, or `$CC`), strict warnings on.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "staticlib.rs"]
mod staticlib;

/// Compiles `tests/c/<name>.c` into `$CARGO_TARGET_TMPDIR/<name>` and returns its path.
///
/// # Panics
/// If `cc` cannot be run or the program does not compile (with the compiler's output).
pub fn build(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let build = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-I"])
        .arg(dir.join("include"))
        .arg(dir.join("tests/c").join(format!("{name}.c")))
        .arg(staticlib::static_lib())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .output()
        .expect("run cc");
    assert!(
        build.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    exe
}
