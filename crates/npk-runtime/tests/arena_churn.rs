//! A code cache churning through the C ABI: threads create arenas, fill them with validated
//! functions, seal, call every function, and free them, over and over; afterwards the live
//! allocations and mapped bytes are back at their baseline and the peak never held more
//! than one arena per thread. Its own test binary, so the process-wide statistics are
//! exact. Sized for CI; `NPK_ARENA_CHURN_ROUNDS=<n>` runs longer.

use std::ffi::{CStr, c_void};

use npk_runtime::*;

/// `lea rax, [rdi+rsi]; add rax, imm8; ret` with a per-function constant.
fn function(k: u8) -> [u8; 9] {
    [0x48, 0x8d, 0x04, 0x37, 0x48, 0x83, 0xc0, k & 0x7f, 0xc3]
}

const SIG: &CStr = c"int64(int64,int64)";
const THREADS: usize = 2;
const ARENA_BYTES: usize = 16 << 10;
const FNS: usize = 64;

fn churn(rounds: usize, t: usize) {
    for round in 0..rounds {
        let ar = npk_wildx_arena_create(ARENA_BYTES);
        assert!(!ar.is_null());
        let fns: Vec<*mut c_void> = (0..FNS)
            .map(|i| {
                let code = function(i as u8);
                // SAFETY: test code; `code` is readable, `SIG` NUL-terminated.
                let f = unsafe {
                    npk_jit_arena_add(ar, code.as_ptr().cast(), code.len() as i64, SIG.as_ptr())
                };
                assert!(!f.is_null(), "add {i} to arena {round} of thread {t}");
                f
            })
            .collect();
        // SAFETY: test code; our arena.
        assert_eq!(unsafe { npk_wildx_arena_seal(ar) }, 0);
        for (i, &f) in fns.iter().enumerate() {
            let mut status = -1;
            // SAFETY: test code; the runtime checks `f`.
            let v = unsafe { npk_jit_try_call_i64_i64_i64(f, round as i64, 1, &mut status) };
            assert_eq!((v, status), (round as i64 + 1 + i as i64, 0));
        }
        // SAFETY: test code; our arena, freed once.
        assert_eq!(unsafe { npk_wildx_arena_free(ar) }, 0);
        let mut status = -1;
        // SAFETY: test code; the runtime refuses the stale function.
        let v = unsafe { npk_jit_try_call_i64_i64_i64(fns[1], 1, 1, &mut status) };
        assert_eq!((v, status), (0, 4));
    }
}

#[test]
fn a_churning_code_cache_returns_to_its_baseline() {
    let rounds = std::env::var("NPK_ARENA_CHURN_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let before = wildx::stats();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || churn(rounds, t));
        }
    });
    let after = wildx::stats();
    assert_eq!(after.live_allocations, before.live_allocations);
    assert_eq!(after.mapped_bytes, before.mapped_bytes);
    let made = (THREADS * rounds) as u64;
    assert_eq!(after.total_allocations - before.total_allocations, made);
    assert_eq!(after.total_frees - before.total_frees, made);
    assert!(
        after.peak_bytes <= before.mapped_bytes + (THREADS * ARENA_BYTES) as u64,
        "at most one arena per thread was ever live: peak {}",
        after.peak_bytes
    );
    assert_eq!(npk_wildx_stat_live_allocations(), 0);
}
