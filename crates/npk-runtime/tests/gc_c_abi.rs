//! The garbage collector through the C ABI: builds `tests/c/gc_smoke.c` against the fresh
//! `libnpk_runtime.a` and runs it (roots rewritten, stale pointers refused, a PROT_NONE
//! pointer never followed, JIT code calling `npk_gc_collect_helper`, the thread model), and
//! checks that the header's `NPK_GC_ERR_*` table is `npk_gc::ErrorKind::code`.

#[path = "common/cprog.rs"]
mod cprog;

use std::path::Path;
use std::process::Command;

#[test]
fn c_program_uses_the_collector_through_the_header() {
    let exe = cprog::build("gc_smoke");
    let run = Command::new(&exe)
        .env_remove("NPK_JIT_STRICT")
        .env("NPK_GC_NURSERY_BYTES", "65536")
        .output()
        .expect("run gc_smoke");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    eprintln!("{stderr}");
    assert_eq!(
        run.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(stdout, "peak=1 failures=0\n");
}

#[test]
fn header_status_codes_are_the_collectors_error_codes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(dir.join("include/npk_runtime.h")).expect("header");
    let mut defined = Vec::new();
    for line in header.lines() {
        if let Some(rest) = line.strip_prefix("#define NPK_GC_ERR_") {
            let mut words = rest.split_whitespace();
            let name = words.next().expect("name");
            let code: i32 = words.next().expect("value").parse().expect("number");
            defined.push((name.to_string(), code));
        }
    }
    let codes: Vec<i32> = npk_gc::ErrorKind::ALL.iter().map(|k| k.code()).collect();
    assert_eq!(
        defined.iter().map(|d| d.1).collect::<Vec<_>>(),
        codes,
        "{defined:?}"
    );
    let names: Vec<&str> = defined.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "NOT_OBJECT",
            "WRONG_KIND",
            "BOUNDS",
            "WRONG_THREAD",
            "NULL",
            "MISALIGNED",
            "ALREADY_ROOTED",
            "NOT_ROOTED",
            "NOT_REFERENCE",
            "OUT_OF_MEMORY",
            "FRAME",
            "BAD_SIZE",
            "BUSY",
            "FRAMES"
        ]
    );
}
