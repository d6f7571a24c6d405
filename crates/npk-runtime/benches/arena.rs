//! `cargo bench -p npk-runtime --bench arena`: code arenas against one page per function.
//!
//! 1. Build 20,000 small functions (10 instructions, 31 bytes each), (a) registry only
//!    (`wildx`): one `CodeArena` (add x 20,000, one seal) vs 20,000 `WritablePage`s (alloc,
//!    copy, seal each); (b) through the C ABI with the validator: `npk_jit_arena_add` x
//!    20,000 + one `npk_wildx_arena_seal` vs `npk_jit_compile` x 20,000. Prints µs per function, the ratio (target <= 0.5x) and mapped bytes per function, and
//!    the time to free everything; (c) the same functions as assembly text, the way
//!    `Jit.arena_assemble` and `Jit.assemble` build them: `npk_jit_arena_assemble` x 20,000
//!    + one seal vs `npk_jit_assemble_size` + `npk_wildx_alloc` + `npk_jit_assemble_install`
//!    + `npk_wildx_seal` x 20,000.
//! 2. A checked call into an arena function vs into a page.
//! 3. Code-cache churn: arenas created, filled, sealed, called and freed in a loop; prints
//!    mapped bytes, live allocations and resident memory over time (should stay flat).
//!
//! Each build measurement runs in interleaved rounds and reports the median and the range,
//! because the machine is shared. `NPK_BENCH_ROUNDS` / `NPK_BENCH_CHURN` change the sizes.

use std::ffi::{CStr, c_void};
use std::hint::black_box;
use std::time::Instant;

use npk_runtime::*;

const FUNCTIONS: usize = 20_000;
const SIG: &CStr = c"int64(int64,int64)";
const TAG: u32 = 0x2222; // int64(int64,int64)

/// Ten instructions: `mov rax,rdi; add rax,rsi; imul rax,rax; mov rcx,rsi; sub rax,rcx;
/// lea rax,[rax+rdi*2]; shl rax,1; add rax,k; xor rax,rsi; ret`.
fn function(k: usize) -> [u8; 31] {
    let k = (k % 100) as u8;
    [
        0x48, 0x89, 0xf8, 0x48, 0x01, 0xf0, 0x48, 0x0f, 0xaf, 0xc0, 0x48, 0x89, 0xf1, 0x48, 0x29,
        0xc8, 0x48, 0x8d, 0x04, 0x78, 0x48, 0xd1, 0xe0, 0x48, 0x83, 0xc0, k, 0x48, 0x31, 0xf0,
        0xc3,
    ]
}

fn expected(k: usize, a: i64, b: i64) -> i64 {
    let mut r = a.wrapping_add(b);
    r = r.wrapping_mul(r).wrapping_sub(b);
    r = r.wrapping_add(a.wrapping_mul(2)).wrapping_shl(1);
    (r + (k % 100) as i64) ^ b
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median_range(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn secs(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// One round of 1a: returns (build seconds, free seconds, mapped bytes) per variant.
fn registry_round(codes: &[[u8; 31]]) -> ((f64, f64, u64), (f64, f64, u64)) {
    let base = wildx::stats().mapped_bytes;
    let t = Instant::now();
    let mut arena = wildx::CodeArena::new(FUNCTIONS * wildx::FN_ALIGN).expect("arena");
    let ids: Vec<_> = codes
        .iter()
        .map(|c| arena.add(c, TAG).expect("add"))
        .collect();
    let sealed = arena.seal().expect("seal");
    let arena_build = secs(t);
    let arena_bytes = wildx::stats().mapped_bytes - base;
    let f = sealed.get(ids[FUNCTIONS - 1]).expect("ours");
    // SAFETY: a sealed function of exactly this signature; `sealed` outlives the call.
    let call: extern "C" fn(i64, i64) -> i64 = unsafe { std::mem::transmute(f.entry()) };
    assert_eq!(call(3, 4), expected(FUNCTIONS - 1, 3, 4));
    let t = Instant::now();
    sealed.free().expect("free");
    let arena_free = secs(t);

    let t = Instant::now();
    let pages: Vec<_> = codes
        .iter()
        .map(|c| {
            let mut p = wildx::WritablePage::new(c.len()).expect("page");
            p.as_mut_slice()[..c.len()].copy_from_slice(c);
            p.seal_with_tag(TAG).expect("seal")
        })
        .collect();
    let page_build = secs(t);
    let page_bytes = wildx::stats().mapped_bytes - base;
    let t = Instant::now();
    drop(pages);
    let page_free = secs(t);
    (
        (arena_build, arena_free, arena_bytes),
        (page_build, page_free, page_bytes),
    )
}

/// One round of 1b (validated, C ABI): (arena build, page build) seconds.
fn validated_round(codes: &[[u8; 31]]) -> (f64, f64) {
    let t = Instant::now();
    let ar = npk_wildx_arena_create(FUNCTIONS * wildx::FN_ALIGN);
    assert!(!ar.is_null());
    for c in codes {
        // SAFETY: `c` is readable for its length; `SIG` is NUL-terminated.
        let f = unsafe { npk_jit_arena_add(ar, c.as_ptr().cast(), c.len() as i64, SIG.as_ptr()) };
        assert!(!f.is_null());
    }
    // SAFETY: our arena.
    assert_eq!(unsafe { npk_wildx_arena_seal(ar) }, 0);
    let arena = secs(t);
    // SAFETY: our arena, freed once.
    assert_eq!(unsafe { npk_wildx_arena_free(ar) }, 0);

    let t = Instant::now();
    let pages: Vec<*mut c_void> = codes
        .iter()
        .map(|c| {
            // SAFETY: as above.
            let p = unsafe { npk_jit_compile(c.as_ptr().cast(), c.len() as i64, SIG.as_ptr()) };
            assert!(!p.is_null());
            p
        })
        .collect();
    let page = secs(t);
    for p in pages {
        // SAFETY: our pages, each freed once.
        assert_eq!(unsafe { npk_wildx_free(p) }, 0);
    }
    (arena, page)
}

/// The text of [`function`]`(k)`, NUL-terminated.
fn function_text(k: usize) -> std::ffi::CString {
    let text = format!(
        "mov rax, rdi\nadd rax, rsi\nimul rax, rax\nmov rcx, rsi\nsub rax, rcx\nlea rax, [rax+rdi*2]\nshl rax, 1\nadd rax, {}\nxor rax, rsi\nret",
        k % 100
    );
    std::ffi::CString::new(text).expect("no NUL in the text")
}

/// One round of 1c (assembled text, C ABI): (arena build, page build) seconds.
fn assembled_round(texts: &[std::ffi::CString]) -> (f64, f64) {
    let t = Instant::now();
    let ar = npk_wildx_arena_create(FUNCTIONS * wildx::FN_ALIGN);
    assert!(!ar.is_null());
    for text in texts {
        // SAFETY: `text` and `SIG` are NUL-terminated; `ar` is our writable arena.
        let f = unsafe { npk_jit_arena_assemble(ar, text.as_ptr(), SIG.as_ptr()) };
        assert!(!f.is_null());
    }
    // SAFETY: our arena.
    assert_eq!(unsafe { npk_wildx_arena_seal(ar) }, 0);
    let arena = secs(t);
    // SAFETY: our arena, freed once.
    assert_eq!(unsafe { npk_wildx_arena_free(ar) }, 0);

    let t = Instant::now();
    let pages: Vec<*mut c_void> = texts
        .iter()
        .map(|text| {
            // SAFETY: NUL-terminated strings; the page is ours and writable until sealed.
            unsafe {
                let n = npk_jit_assemble_size(text.as_ptr(), SIG.as_ptr());
                assert!(n > 0);
                let p = npk_wildx_alloc(n as usize);
                assert!(!p.is_null());
                assert_eq!(npk_jit_assemble_install(p, text.as_ptr(), SIG.as_ptr()), 0);
                assert_eq!(npk_wildx_seal(p), 0);
                p
            }
        })
        .collect();
    let page = secs(t);
    for p in pages {
        // SAFETY: our pages, each freed once.
        assert_eq!(unsafe { npk_wildx_free(p) }, 0);
    }
    (arena, page)
}

fn report_build(title: &str, arena: Vec<f64>, pages: Vec<f64>) {
    let per = |s: f64| s * 1e6 / FUNCTIONS as f64;
    let ratios: Vec<f64> = arena.iter().zip(&pages).map(|(a, p)| a / p).collect();
    let (a, a_lo, a_hi) = median_range(arena);
    let (p, p_lo, p_hi) = median_range(pages);
    let (r, r_lo, r_hi) = median_range(ratios);
    println!("{title}");
    println!(
        "  one arena, one seal     {:7.3} µs/function  (range {:.3}-{:.3})",
        per(a),
        per(a_lo),
        per(a_hi)
    );
    println!(
        "  one page per function   {:7.3} µs/function  (range {:.3}-{:.3})",
        per(p),
        per(p_lo),
        per(p_hi)
    );
    println!("  ratio arena/pages       {r:7.3}x  (range {r_lo:.3}-{r_hi:.3}; target <= 0.5x)");
}

fn calls() {
    const CALLS: usize = 2_000_000;
    let ar = npk_wildx_arena_create(4096);
    let code = function(7);
    // SAFETY: readable code, NUL-terminated signature; our arena.
    let f = unsafe {
        let f = npk_jit_arena_add(ar, code.as_ptr().cast(), 31, SIG.as_ptr());
        assert_eq!(npk_wildx_arena_seal(ar), 0);
        f
    };
    // SAFETY: as above.
    let p = unsafe { npk_jit_compile(code.as_ptr().cast(), 31, SIG.as_ptr()) };
    assert!(!f.is_null() && !p.is_null());
    let time = |target: *mut c_void| {
        let t = Instant::now();
        let mut acc = 0i64;
        for i in 0..CALLS {
            // SAFETY: the runtime checks `target` before calling it.
            acc ^= unsafe { npk_jit_call_i64_i64_i64(black_box(target), i as i64, 1) };
        }
        black_box(acc);
        t.elapsed().as_nanos() as f64 / CALLS as f64
    };
    let (mut in_arena, mut in_page) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        in_arena.push(time(f));
        in_page.push(time(p));
    }
    let (a, _, _) = median_range(in_arena);
    let (q, _, _) = median_range(in_page);
    println!("checked call npk_jit_call_i64_i64_i64");
    println!("  into an arena function  {a:7.2} ns/call");
    println!("  into a page             {q:7.2} ns/call");
    // SAFETY: ours, freed once each.
    unsafe {
        assert_eq!(npk_wildx_arena_free(ar), 0);
        assert_eq!(npk_wildx_free(p), 0);
    }
}

/// Resident set size in KiB (`/proc/self/statm`), 0 if unavailable.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

fn churn(iterations: usize) {
    const ARENA: usize = 16 << 10;
    const PER_ARENA: usize = 256;
    let codes: Vec<_> = (0..PER_ARENA).map(function).collect();
    println!(
        "code-cache churn: {iterations} arenas of {} KiB, {PER_ARENA} validated functions each",
        ARENA >> 10
    );
    println!("  (mapped bytes and live allocations sampled while one arena is live)");
    println!("  arenas  mapped bytes  live allocs  RSS KiB  µs/arena");
    let mut t = Instant::now();
    for i in 1..=iterations {
        let ar = npk_wildx_arena_create(ARENA);
        assert!(!ar.is_null());
        let fns: Vec<*mut c_void> = codes
            .iter()
            .map(|c| {
                // SAFETY: readable code, NUL-terminated signature.
                unsafe { npk_jit_arena_add(ar, c.as_ptr().cast(), 31, SIG.as_ptr()) }
            })
            .collect();
        // SAFETY: our arena.
        assert_eq!(unsafe { npk_wildx_arena_seal(ar) }, 0);
        for (k, &f) in fns.iter().enumerate() {
            // SAFETY: the runtime checks `f`.
            let v = unsafe { npk_jit_call_i64_i64_i64(f, 2, 3) };
            assert_eq!(v, expected(k, 2, 3));
        }
        let live = wildx::stats();
        // SAFETY: our arena, freed once.
        assert_eq!(unsafe { npk_wildx_arena_free(ar) }, 0);
        if i % (iterations / 10).max(1) == 0 {
            let per = t.elapsed().as_secs_f64() * 1e6 / (iterations / 10).max(1) as f64;
            println!(
                "  {i:6}  {:12}  {:11}  {:7}  {per:8.1}",
                live.mapped_bytes,
                live.live_allocations,
                rss_kib()
            );
            t = Instant::now();
        }
    }
}

fn main() {
    wildx::set_quota(1 << 30); // 20,000 pages need more than the 64 MiB default
    let rounds = env("NPK_BENCH_ROUNDS", 5);
    let codes: Vec<_> = (0..FUNCTIONS).map(function).collect();
    registry_round(&codes); // warm-up: maps the address range once

    let (mut a, mut p, mut a_free, mut p_free) = (vec![], vec![], vec![], vec![]);
    let mut bytes = (0, 0);
    for _ in 0..rounds {
        let ((ab, af, am), (pb, pf, pm)) = registry_round(&codes);
        a.push(ab);
        p.push(pb);
        a_free.push(af);
        p_free.push(pf);
        bytes = (am, pm);
    }
    report_build(
        &format!("build {FUNCTIONS} functions of 10 instructions (registry: alloc + copy + seal)"),
        a,
        p,
    );
    let n = FUNCTIONS as f64;
    println!(
        "  mapped bytes/function   arena {:.1}, pages {:.1}",
        bytes.0 as f64 / n,
        bytes.1 as f64 / n
    );
    let (af, _, _) = median_range(a_free);
    let (pf, _, _) = median_range(p_free);
    println!(
        "  free everything         arena {:.1} µs total, pages {:.1} µs total",
        af * 1e6,
        pf * 1e6
    );

    let (mut a, mut p) = (vec![], vec![]);
    for _ in 0..rounds {
        let (ab, pb) = validated_round(&codes);
        a.push(ab);
        p.push(pb);
    }
    report_build(
        &format!(
            "build {FUNCTIONS} functions through the C ABI, validated (npk_jit_arena_add vs npk_jit_compile)"
        ),
        a,
        p,
    );

    let texts: Vec<_> = (0..FUNCTIONS).map(function_text).collect();
    let (mut a, mut p) = (vec![], vec![]);
    for _ in 0..rounds {
        let (ab, pb) = assembled_round(&texts);
        a.push(ab);
        p.push(pb);
    }
    report_build(
        &format!(
            "build {FUNCTIONS} functions from assembly text (npk_jit_arena_assemble vs Jit.assemble's size/alloc/install/seal)"
        ),
        a,
        p,
    );

    calls();
    churn(env("NPK_BENCH_CHURN", 6000));
}
