//! `cargo bench -p npk-runtime`: the runtime against the bare system-call floor.
//!
//! 1. Full cycle through the C ABI (alloc -> install -> seal -> checked call -> free) versus
//!    the floor written here (mmap RW -> memcpy 5 bytes -> mprotect RX -> call -> munmap).
//! 2. `npk_jit_call_i32_i32` versus a raw function-pointer call into the same page.
//!
//! Each measurement runs in several interleaved rounds and reports the median, because the
//! machine is shared. Targets: cycle <= 1.0x the floor, checked call <= 1.25x the raw call.

use std::hint::black_box;
use std::time::Instant;

use npk_runtime::*;

const ADD: [u8; 5] = [0x89, 0xf8, 0x01, 0xf0, 0xc3];
const ROUNDS: usize = 7;
const CYCLES: usize = 4000;
const CALLS: usize = 5_000_000;

fn runtime_cycle(i: i32) -> i32 {
    let p = npk_wildx_alloc(5);
    // SAFETY: p comes from the runtime, which checks every pointer anyway.
    unsafe {
        npk_jit_install_add_i32(p);
        npk_wildx_seal(p);
        let r = npk_jit_call_i32_i32(p, i, 1);
        npk_wildx_free(p);
        r
    }
}

fn floor_cycle(i: i32) -> i32 {
    // SAFETY: a fresh private anonymous mapping, written while RW, called while RX, unmapped.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        std::ptr::copy_nonoverlapping(ADD.as_ptr(), p.cast::<u8>(), ADD.len());
        assert_eq!(
            libc::mprotect(p, 4096, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
        let f: extern "C" fn(i32, i32) -> i32 = std::mem::transmute(p);
        let r = f(i, 1);
        assert_eq!(libc::munmap(p, 4096), 0);
        r
    }
}

/// Nanoseconds per iteration of `f` over `n` iterations.
fn time(n: usize, mut f: impl FnMut(i32) -> i32) -> f64 {
    let start = Instant::now();
    let mut acc = 0i32;
    for i in 0..n {
        acc = acc.wrapping_add(f(black_box(i as i32)));
    }
    black_box(acc);
    start.elapsed().as_nanos() as f64 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // Warm up past the quarantine so the runtime is in its steady state (reusing runs).
    time(wildx::QUARANTINE + 1000, runtime_cycle);
    time(1000, floor_cycle);

    let calls_before = wildx::os_calls();
    let (mut rt, mut fl) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        rt.push(time(CYCLES, runtime_cycle));
        fl.push(time(CYCLES, floor_cycle));
    }
    let syscalls = (wildx::os_calls() - calls_before) as f64 / (ROUNDS * CYCLES) as f64;
    let (rt, fl) = (median(rt), median(fl));
    println!("full cycle (alloc, install, seal, call, free)");
    println!("  npk runtime (C ABI)   {rt:9.0} ns/cycle  ({syscalls:.2} syscalls/cycle)");
    println!("  syscall floor         {fl:9.0} ns/cycle  (3 syscalls/cycle)");
    println!(
        "  ratio runtime/floor   {:9.2}x  (target <= 1.00x)",
        rt / fl
    );

    let p = npk_wildx_alloc(5);
    // SAFETY: p is a fresh writable page of ours.
    unsafe {
        assert_eq!(npk_jit_install_add_i32(p), 0);
        assert_eq!(npk_wildx_seal(p), 0);
    }
    // SAFETY: p is sealed and holds a complete int32(int32, int32) function.
    let raw: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(p) };
    let page = black_box(p);
    let (mut checked, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        // SAFETY: the runtime checks `page` before calling it.
        checked.push(time(CALLS, |i| unsafe {
            npk_jit_call_i32_i32(black_box(page), i, 1)
        }));
        let f = black_box(raw);
        direct.push(time(CALLS, |i| black_box(f)(i, 1)));
    }
    let (checked, direct) = (median(checked), median(direct));
    println!("call into a sealed page");
    println!("  npk_jit_call_i32_i32  {checked:9.2} ns/call");
    println!("  raw function pointer  {direct:9.2} ns/call");
    println!(
        "  ratio checked/raw     {:9.2}x  (target <= 1.25x)",
        checked / direct
    );
    // SAFETY: our page, freed once.
    assert_eq!(unsafe { npk_wildx_free(page) }, 0);
}
