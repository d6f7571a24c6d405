//! Code arenas through the runtime: the validated Rust API (`JitArena`), and the C ABI's
//! checked calls into arena functions under races and under every option that changes the
//! call policy (verify, strict, audit, guard pages; those run in a child process).

#[path = "common/child.rs"]
mod child;

use std::ffi::{CStr, c_void};
use std::sync::{Arc, Barrier};

use npk_runtime::*;

/// `lea rax, [rdi+rsi]; ret`: `int64(int64,int64)`.
const LEA: [u8; 5] = [0x48, 0x8d, 0x04, 0x37, 0xc3];
const I64_2: &CStr = c"int64(int64,int64)";

fn arena(n: usize) -> *mut c_void {
    let p = npk_wildx_arena_create(n);
    assert!(!p.is_null(), "arena_create({n}) failed");
    p
}

fn add(ar: *mut c_void, code: &[u8]) -> *mut c_void {
    // SAFETY: test code; `code` is readable for its length, the signature is NUL-terminated.
    unsafe { npk_jit_arena_add(ar, code.as_ptr().cast(), code.len() as i64, I64_2.as_ptr()) }
}

fn try_call(f: *mut c_void, a: i64, b: i64) -> (i64, i32) {
    let mut status = -1;
    // SAFETY: test code; the runtime checks `f`; `status` is a valid i32.
    let v = unsafe { npk_jit_try_call_i64_i64_i64(f, a, b, &mut status) };
    (v, status)
}

fn seal(ar: *mut c_void) -> i32 {
    // SAFETY: test code; the runtime checks the pointer.
    unsafe { npk_wildx_arena_seal(ar) }
}

fn free(ar: *mut c_void) -> i32 {
    // SAFETY: test code; the runtime checks the pointer.
    unsafe { npk_wildx_arena_free(ar) }
}

#[test]
fn rust_arena_takes_only_validated_code_and_types_calls_by_the_proven_signature() {
    let mut jit = JitArena::new(4096).expect("arena");
    let lea = jit.compile(&LEA, "int64(int64,int64)").expect("valid");
    // mov eax, edi; add eax, esi; ret
    let add32 = jit
        .compile(&[0x89, 0xf8, 0x01, 0xf0, 0xc3], "int32(int32,int32)")
        .expect("valid");
    assert!(matches!(
        jit.compile(&[0x0f, 0x05, 0xc3], "int64(int64,int64)"),
        Err(CompileError::Rejected(_))
    ));
    assert!(matches!(
        jit.compile(&LEA, "int64("),
        Err(CompileError::Signature(_))
    ));
    assert!(matches!(
        jit.compile(&[], "int64(int64)"),
        Err(CompileError::Length(0))
    ));
    assert_eq!(jit.arena().fn_count(), 2, "refused code is not added");
    let code = jit.seal().expect("seal");
    let f = code
        .typed::<extern "C" fn(i64, i64) -> i64>(lea)
        .expect("proven int64(int64,int64)");
    assert_eq!(f.call(40, 2), 42);
    let g = code
        .typed::<extern "C" fn(i32, i32) -> i32>(add32)
        .expect("proven int32(int32,int32)");
    assert_eq!(g.call(-5, 3), -2);
    assert!(code.typed::<extern "C" fn(i64) -> i64>(lea).is_none());
    assert!(
        code.typed::<extern "C" fn(i64, i64) -> i64>(add32)
            .is_none()
    );
    // The same function through the C ABI's checked call.
    let p = code
        .arena()
        .get(lea)
        .expect("ours")
        .entry()
        .cast_mut()
        .cast();
    assert_eq!(try_call(p, 1, 2), (3, 0));
    code.free().expect("free");
    assert_eq!(try_call(p, 1, 2), (0, 4));
}

#[test]
fn a_full_rust_arena_refuses_the_next_function() {
    let mut jit = JitArena::new(64).expect("arena");
    let mut code = vec![0x90; 4096 - 4];
    code.extend([0x48, 0x89, 0xf8, 0xc3]); // mov rax, rdi; ret
    jit.compile(&code, "int64(int64)").expect("exactly fills");
    let err = jit.compile(&LEA, "int64(int64,int64)").expect_err("full");
    assert_eq!(
        err.to_string(),
        "code arena: code arena full (5 bytes needed, 0 left)"
    );
}

#[test]
fn concurrent_seals_of_one_arena_give_exactly_one_success() {
    for _ in 0..100 {
        let ar = arena(1);
        assert!(!add(ar, &LEA).is_null());
        let barrier = Barrier::new(4);
        let ar = ar as usize;
        let results: Vec<i32> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        seal(ar as *mut c_void)
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("seal"))
                .collect()
        });
        assert_eq!(
            results.iter().filter(|&&r| r == 0).count(),
            1,
            "{results:?}"
        );
        assert_eq!(try_call(ar as *mut c_void, 2, 3), (5, 0));
        assert_eq!(free(ar as *mut c_void), 0);
    }
}

#[test]
fn add_seal_and_call_racing_free_never_touch_freed_memory() {
    for round in 0..200 {
        let ar = arena(4096);
        let f = add(ar, &LEA) as usize;
        let ar = ar as usize;
        let barrier = Arc::new(Barrier::new(2));
        std::thread::scope(|s| {
            let b = barrier.clone();
            s.spawn(move || {
                b.wait();
                let g = add(ar as *mut c_void, &LEA);
                let sealed = seal(ar as *mut c_void);
                assert!(sealed == 0 || sealed == -1);
                // NULL if the free came first; else a function of this arena.
                assert!(g.is_null() || g as usize == ar + 64);
            });
            barrier.wait();
            if round % 2 == 0 {
                std::thread::yield_now();
            }
            assert_eq!(free(ar as *mut c_void), 0, "the one free must succeed");
        });
        assert_eq!(
            try_call(f as *mut c_void, 1, 2),
            (0, 4),
            "never callable after free"
        );
        assert_eq!(seal(ar as *mut c_void), -1);
    }
}

#[test]
fn calls_racing_a_seal_are_refused_or_correct() {
    for _ in 0..100 {
        let ar = arena(4096);
        let fns: Vec<usize> = (0..8).map(|_| add(ar, &LEA) as usize).collect();
        let ar = ar as usize;
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(seal(ar as *mut c_void), 0));
            s.spawn(|| {
                for (i, &f) in fns.iter().cycle().take(64).enumerate() {
                    let i = i as i64;
                    let r = try_call(f as *mut c_void, i, 1);
                    assert!(r == (i + 1, 0) || r == (0, 3), "{r:?}");
                }
            });
        });
        assert_eq!(try_call(fns[7] as *mut c_void, 1, 1), (2, 0));
        assert_eq!(free(ar as *mut c_void), 0);
    }
}

/// Rewrites byte `at` of the sealed arena `ar` behind the registry's back.
fn tamper(ar: *mut c_void, at: usize) {
    // SAFETY: test code; `ar` is a sealed one-page arena of ours; we make it writable, patch
    // one byte and restore read+execute.
    unsafe {
        assert_eq!(
            libc::mprotect(ar, 4096, libc::PROT_READ | libc::PROT_WRITE),
            0
        );
        *ar.cast::<u8>().add(at) = 0x90;
        assert_eq!(
            libc::mprotect(ar, 4096, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
    }
}

fn run_child(name: &str, envs: &[(&str, &str)]) -> String {
    let out = child::run(name, envs);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("child ok"),
        "{stdout}{stderr}"
    );
    stderr.into_owned()
}

#[test]
fn verify_refuses_an_arena_function_changed_after_seal() {
    const NAME: &str = "verify_refuses_an_arena_function_changed_after_seal";
    if child::is_child(NAME) {
        let ar = arena(1);
        let (f, g) = (add(ar, &LEA), add(ar, &LEA));
        assert_eq!(seal(ar), 0);
        assert_eq!(try_call(g, 40, 2), (42, 0));
        tamper(ar, 64 + 4); // g's `ret`
        assert_eq!(try_call(g, 40, 2), (0, 7), "tampered function refused");
        assert_eq!(try_call(f, 40, 2), (42, 0), "its neighbour is untouched");
        tamper(ar, 100); // a gap: no function changed
        assert_eq!(try_call(f, 40, 2), (42, 0));
        assert_eq!(free(ar), 0);
        println!("child ok");
        return;
    }
    let stderr = run_child(NAME, &[("NPK_WILDX_VERIFY", "1")]);
    assert!(stderr.contains("rejected: code hash differs"), "{stderr}");
}

#[test]
fn strict_refuses_unsigned_arena_functions() {
    const NAME: &str = "strict_refuses_unsigned_arena_functions";
    if child::is_child(NAME) {
        let ar = arena(1);
        let proven = add(ar, &LEA);
        let unsigned = wildx::arena_add_raw(ar.cast(), &LEA, |_| Ok::<u32, wildx::Error>(0))
            .expect("add without a signature");
        assert_eq!(seal(ar), 0);
        assert_eq!(try_call(unsigned.as_ptr().cast(), 1, 2), (0, 6));
        assert_eq!(try_call(proven, 1, 2), (3, 0));
        assert_eq!(free(ar), 0);
        println!("child ok");
        return;
    }
    run_child(NAME, &[("NPK_JIT_STRICT", "1")]);
}

#[test]
fn audit_and_guard_pages_cover_arenas() {
    const NAME: &str = "audit_and_guard_pages_cover_arenas";
    if child::is_child(NAME) {
        let before = wildx::stats();
        let ar = arena(1);
        assert_eq!(
            wildx::stats().mapped_bytes - before.mapped_bytes,
            3 * 4096,
            "one page and its two guard pages"
        );
        let f = add(ar, &LEA);
        assert_eq!(seal(ar), 0);
        assert_eq!(try_call(f, 1, 2), (3, 0));
        assert_eq!(free(ar), 0);
        assert_eq!(wildx::stats().mapped_bytes, before.mapped_bytes);
        println!("child ok");
        return;
    }
    let stderr = run_child(
        NAME,
        &[("NPK_WILDX_AUDIT", "1"), ("NPK_WILDX_GUARD_PAGES", "1")],
    );
    for want in [
        "wildx: arena(1) = 0x",
        "bytes at 0x",
        "wildx: seal(0x",
        "wildx: call(0x",
        "wildx: free(0x",
    ] {
        assert!(stderr.contains(want), "{want:?} missing in:\n{stderr}");
    }
}
