//! `cargo bench -p npk-runtime --bench assemble`: `Jit.assemble` of a 10-instruction function
//! (size (assembles) -> alloc -> install (validates) -> seal -> free, through the C ABI)
//! versus the bare floor (mmap RW -> memcpy -> mprotect RX -> munmap), and the parts: one
//! `npk_asm::assemble` and one `npk_jit::validate` of the same code.
//!
//! Interleaved rounds, median reported (the machine is shared). Target (issue 13): <= 2x the
//! floor. `NPK_BENCH_ROUNDS=n` changes the round count.

use std::ffi::c_void;
use std::hint::black_box;
use std::time::Instant;

use npk_runtime::*;

/// Ten instructions: a loop summing 1..n with a frame, as a user would write it.
const TEXT: &str = "push rbp\nmov rbp, rsp\nxor eax, eax\ntest rdi, rdi\njle done\n\
                    top: add rax, rdi\ndec rdi\njnz top\ndone: pop rbp\nret\0";
const SIG: &str = "int64(int64)\0";
const CYCLES: usize = 2000;

fn assemble_cycle() -> i64 {
    let (text, sig) = (TEXT.as_ptr().cast(), SIG.as_ptr().cast());
    // SAFETY: NUL-terminated strings; the page comes from the runtime, which checks it.
    unsafe {
        let n = npk_jit_assemble_size(text, sig);
        let p = npk_wildx_alloc(n as usize);
        let rc = npk_jit_assemble_install(p, text, sig);
        let sealed = npk_wildx_seal(p);
        npk_wildx_free(p);
        n + i64::from(rc) + i64::from(sealed)
    }
}

fn floor_cycle(code: &[u8]) -> i64 {
    // SAFETY: a fresh private anonymous mapping, written while RW, protected RX, unmapped.
    unsafe {
        let p: *mut c_void = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        std::ptr::copy_nonoverlapping(code.as_ptr(), p.cast::<u8>(), code.len());
        assert_eq!(
            libc::mprotect(p, 4096, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
        assert_eq!(libc::munmap(p, 4096), 0);
        code.len() as i64
    }
}

/// Nanoseconds per iteration of `f`.
fn time(n: usize, mut f: impl FnMut() -> i64) -> f64 {
    let start = Instant::now();
    let mut acc = 0i64;
    for _ in 0..n {
        acc = acc.wrapping_add(f());
    }
    black_box(acc);
    start.elapsed().as_nanos() as f64 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("NPK_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let text = TEXT.trim_end_matches('\0');
    let asm = npk_asm::assemble(text, &[]).expect("the bench text assembles");
    let code = asm.code().to_vec();
    let sig: npk_jit::Signature = "int64(int64)".parse().expect("signature");
    let policy = npk_jit::Policy::runtime();
    assert_eq!(assemble_cycle(), code.len() as i64, "{:?}", unsafe {
        // SAFETY: always valid to read.
        std::ffi::CStr::from_ptr(npk_jit_last_error())
    });
    // Warm up past the quarantine so the runtime reuses its runs.
    time(wildx::QUARANTINE + 500, assemble_cycle);
    let (mut cyc, mut fl, mut asm_t, mut val) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        cyc.push(time(CYCLES, assemble_cycle));
        fl.push(time(CYCLES, || floor_cycle(&code)));
        asm_t.push(time(CYCLES, || {
            npk_asm::assemble(black_box(text), &[]).map_or(0, |a| a.code().len() as i64)
        }));
        val.push(time(CYCLES, || {
            npk_jit::validate(black_box(&code), &sig, &policy)
                .map_or(0, |r| r.instructions() as i64)
        }));
    }
    let spread = |v: &[f64]| {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
        format!("{lo:.0}..{hi:.0}")
    };
    let (c, f) = (median(cyc.clone()), median(fl.clone()));
    println!(
        "assemble cycle, 10 instructions ({} bytes), median of {rounds} rounds:",
        code.len()
    );
    println!(
        "  Jit.assemble (size+alloc+install+seal+free): {c:8.0} ns  (spread {})",
        spread(&cyc)
    );
    println!(
        "  floor (mmap+memcpy+mprotect+munmap):          {f:8.0} ns  (spread {})",
        spread(&fl)
    );
    println!("  ratio: {:.2}x  (target <= 2x)", c / f);
    println!(
        "  parts: npk_asm::assemble {:.0} ns (once per cycle: install reuses the size call's), npk_jit::validate {:.0} ns",
        median(asm_t),
        median(val)
    );
}
