//! Builds a C test program from `tests/c/<name>.c` against the fresh `libnpk_runtime.a`
//! (`-std=c11 -Wall -Werror`, compiler from `$CC`, default `cc`). The including test also
//! declares `mod staticlib` (`common/staticlib.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The path of the built executable; panics with the compiler's output if the build fails.
pub fn build_c_program(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let build = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-I"])
        .arg(dir.join("include"))
        .arg(dir.join(format!("tests/c/{name}.c")))
        .arg(crate::staticlib::static_lib())
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
