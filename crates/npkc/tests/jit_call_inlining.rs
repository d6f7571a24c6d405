//! A `Jit.call` with a buffer signature inside a function that codegen's inliner copies
//! into its callers: the copy keeps the module's identity cache and signature text (both
//! module-local data, like strings), so inlined and out-of-line calls behave the same.
//! `npkc build` inlines only functions of up to 40 instructions, which such a wrapper
//! exceeds, so this test raises the limit through the library API.

#[path = "common/runtime.rs"]
mod runtime;

use std::path::PathBuf;
use std::process::Command;

const PROGRAM: &str = r#"use "jit.npk".*;

func:failsafe = int32(tbb32:err) {
    exit 70;
};

func:count_of = int64(wildx int8->:f, int64->:xs, int64:n) {
    pass Jit.call(f, "int64(int64* xs[n], int64 n)", xs, n) ? -1;
};

func:wrong = int32(wildx int8->:f, uint64->:xs) {
    Result<int64>:r = Jit.call(f, "int64(uint64* xs[n], int64 n)", xs, 1);
    pass r.error;
};

func:main = int32() {
    wildx int8->:f = raw Jit.assemble("mov rax, rsi\nret", "int64(int64* xs[n], int64 n)");
    defer {
        drop Jit.free(f);
    }
    wild int64->:xs = alloc(64);
    if (xs == NULL) {
        exit 2;
    }
    int64:total = 0;
    loop(0, 100, 1) {
        total = total + (count_of(f, xs, 8) ? -1);
    }
    println(`total = &{total}`);
    println(`inlined mismatch: &{wrong(f, xs => uint64->) ? -1}`);
    free(xs);
    exit 0;
};
"#;

fn build_and_run(inline_limit: usize, dir: &std::path::Path) -> (String, usize) {
    let src = dir.join("inline.npk");
    std::fs::write(&src, PROGRAM).expect("write the program");
    let checked = npkc::driver::check_file(&src, &npkc::driver::Options::default())
        .expect("the program is readable");
    let program = checked
        .program
        .unwrap_or_else(|| panic!("the program checks: {:?}", checked.problems));
    let (object, stats) =
        npkc::codegen::compile_with(&program, &npkc::codegen::Options { inline_limit })
            .expect("codegen");
    let exe = dir.join(format!("inline-{inline_limit}"));
    let runtime = runtime::runtime_archive().expect("the runtime archive");
    npkc::link::link(&object, &exe, &runtime).expect("link");
    let out = Command::new(&exe)
        .env("NPK_WILDX_QUIET", "1")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stats.inlined_calls,
    )
}

#[test]
fn an_inlined_buffer_jit_call_keeps_its_identity_cache() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("jit_call_inlining");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let (inlined, n) = build_and_run(10_000, &dir);
    let (plain, none) = build_and_run(0, &dir);
    assert!(n >= 2, "both wrappers are inlined ({n} call sites)");
    assert_eq!(none, 0);
    assert_eq!(inlined, "total = 800\ninlined mismatch: 5\n");
    assert_eq!(inlined, plain);
}
