//! `cargo bench -p npk-gc`: the collector against `malloc`/`free`, side by side in one run.
//!
//! 1. Throughput of small short-lived objects (1, 2, 4, 8 elements + header): `Heap::alloc_ints`
//!    (nursery bump allocation, collections included), the same through the process heap
//!    (`global::with_heap`, the C ABI's path minus `catch_unwind`), and `malloc` of the same
//!    byte size followed by `free` (immediately, and with the last 1024 objects kept alive).
//! 2. Nursery pause for a given live set (a young linked list of 24-byte nodes with 16-byte
//!    payloads, all reachable) versus `malloc` of the same objects and `free` of them.
//!
//! Each figure is the median of interleaved rounds, with the min..max spread, because the
//! machine is shared. `NPK_BENCH_ROUNDS=n` changes the round count (default 7).

use std::hint::black_box;
use std::time::Instant;

use npk_gc::{Config, Heap, global};

const OBJECTS: usize = 2_000_000;

fn rounds() -> usize {
    std::env::var("NPK_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
}

/// (median, min, max) of `xs`.
fn summary(xs: &mut [f64]) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn heap() -> Heap {
    Heap::new(Config {
        nursery_bytes: 4 << 20,
        ..Config::default()
    })
    .expect("heap")
}

/// ns per object for `OBJECTS` allocations of `n` elements on a fresh heap.
fn gc_alloc(n: i64) -> f64 {
    let mut h = heap();
    let start = Instant::now();
    for i in 0..OBJECTS {
        let p = h.alloc_ints(n).expect("alloc");
        h.set_int(p, 0, i as i64).expect("set");
        black_box(p);
    }
    start.elapsed().as_nanos() as f64 / OBJECTS as f64
}

fn gc_alloc_global(n: i64) -> f64 {
    let start = Instant::now();
    for i in 0..OBJECTS {
        let p = global::with_heap(|h| h.alloc_ints(n))
            .expect("mutator")
            .expect("alloc");
        global::with_heap(|h| h.set_int(p, 0, i as i64))
            .expect("mutator")
            .expect("set");
        black_box(p);
    }
    start.elapsed().as_nanos() as f64 / OBJECTS as f64
}

/// malloc + header/element writes + free, `keep` objects alive in a ring (0: free at once).
fn malloc_free(n: i64, keep: usize) -> f64 {
    let bytes = 8 + 8 * n as usize;
    let mut ring = vec![std::ptr::null_mut::<u64>(); keep.max(1)];
    let start = Instant::now();
    for i in 0..OBJECTS {
        // SAFETY: malloc of a non-zero size, checked; each block is written within its size
        // and freed exactly once (here or when replaced in the ring, or at the end).
        unsafe {
            let p = libc::malloc(bytes).cast::<u64>();
            assert!(!p.is_null());
            p.write(n as u64);
            p.add(1).write(i as u64);
            black_box(p);
            if keep == 0 {
                libc::free(p.cast());
            } else {
                let slot = &mut ring[i % keep];
                libc::free(slot.cast());
                *slot = p;
            }
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / OBJECTS as f64;
    for p in ring {
        // SAFETY: blocks from malloc above (or NULL), freed once.
        unsafe { libc::free(p.cast()) };
    }
    ns
}

/// (nursery pause µs, malloc µs, free µs) for a live list of `nodes` nodes (48 bytes each).
fn pause(nodes: usize) -> (f64, f64, f64) {
    let mut h = heap();
    let mut root = [0usize; 2];
    // SAFETY: `root` outlives the frame, popped below.
    unsafe { h.push_frame(root.as_mut_ptr(), 2) }.expect("frame");
    for i in 0..nodes {
        root[1] = h.alloc_ints(1).expect("payload");
        h.set_int(root[1], 0, i as i64).expect("set");
        let n = h.alloc_refs(2).expect("node");
        h.set_ref(n, 0, root[0]).expect("next");
        h.set_ref(n, 1, root[1]).expect("payload");
        root[0] = n;
    }
    let collections = h.stats().minor_collections;
    let start = Instant::now();
    h.collect_nursery();
    let gc = start.elapsed().as_nanos() as f64 / 1e3;
    assert_eq!(h.stats().minor_collections, collections + 1);
    assert!(h.stats().live_bytes >= (nodes * 40) as u64);
    h.pop_frame(root.as_mut_ptr()).expect("frame");

    let mut blocks = Vec::with_capacity(2 * nodes);
    let start = Instant::now();
    for i in 0..nodes {
        // SAFETY: checked malloc results, written within their size, freed once below.
        unsafe {
            let payload = libc::malloc(16).cast::<u64>();
            let node = libc::malloc(24).cast::<u64>();
            assert!(!payload.is_null() && !node.is_null());
            payload.add(1).write(i as u64);
            node.add(2).write(payload as u64);
            blocks.push(payload);
            blocks.push(node);
        }
    }
    let malloc = start.elapsed().as_nanos() as f64 / 1e3;
    let start = Instant::now();
    for p in blocks {
        // SAFETY: each block from malloc above, freed once.
        unsafe { libc::free(p.cast()) };
    }
    let free = start.elapsed().as_nanos() as f64 / 1e3;
    (gc, malloc, free)
}

/// ns per push + pop of a 4-slot shadow-stack frame (`Heap`, then the process heap).
fn frames() -> (f64, f64) {
    const N: usize = 5_000_000;
    let mut h = heap();
    let mut slots = [0usize; 4];
    let p = slots.as_mut_ptr();
    let start = Instant::now();
    for _ in 0..N {
        // SAFETY: `slots` outlives the frame, popped right away.
        unsafe { h.push_frame(black_box(p), 4) }.expect("push");
        h.pop_frame(black_box(p)).expect("pop");
    }
    let local = start.elapsed().as_nanos() as f64 / N as f64;
    let start = Instant::now();
    for _ in 0..N {
        // SAFETY: as above.
        global::with_heap(|h| unsafe { h.push_frame(black_box(p), 4) })
            .expect("mutator")
            .expect("push");
        global::with_heap(|h| h.pop_frame(black_box(p)))
            .expect("mutator")
            .expect("pop");
    }
    (local, start.elapsed().as_nanos() as f64 / N as f64)
}

fn main() {
    let rounds = rounds();
    let (mut local, mut process): (Vec<f64>, Vec<f64>) = (0..rounds).map(|_| frames()).unzip();
    let (l, p) = (summary(&mut local), summary(&mut process));
    println!(
        "shadow-stack frame push+pop, ns: Heap {:.2} ({:.2}..{:.2}), process heap {:.2} ({:.2}..{:.2})",
        l.0, l.1, l.2, p.0, p.1, p.2
    );
    println!();
    println!(
        "small-object allocation, ns/object (median of {rounds} rounds, min..max), {OBJECTS} objects"
    );
    println!(
        "{:>9} {:>22} {:>22} {:>22} {:>22} {:>8}",
        "elements", "gc Heap", "gc process heap", "malloc+free", "malloc, 1024 live", "gc/m+f"
    );
    for n in [1i64, 2, 4, 8] {
        let mut cols: [Vec<f64>; 4] = Default::default();
        for _ in 0..rounds {
            cols[0].push(gc_alloc(n));
            cols[1].push(gc_alloc_global(n));
            cols[2].push(malloc_free(n, 0));
            cols[3].push(malloc_free(n, 1024));
        }
        let s: Vec<_> = cols.iter_mut().map(|c| summary(c)).collect();
        let cell = |(m, lo, hi): (f64, f64, f64)| format!("{m:6.2} ({lo:5.2}..{hi:5.2})");
        println!(
            "{n:>9} {:>22} {:>22} {:>22} {:>22} {:>7.2}x",
            cell(s[0]),
            cell(s[1]),
            cell(s[2]),
            cell(s[3]),
            s[0].0 / s[2].0
        );
    }
    println!();
    println!(
        "nursery pause for a live set, µs (median, min..max) vs malloc and free of the same objects"
    );
    println!(
        "{:>10} {:>8} {:>24} {:>24} {:>24} {:>9}",
        "live KiB", "objects", "nursery collection", "malloc", "free", "gc/free"
    );
    for nodes in [0usize, 512, 2048, 8192, 21_000] {
        let mut cols: [Vec<f64>; 3] = Default::default();
        for _ in 0..rounds {
            let (g, m, f) = pause(nodes);
            cols[0].push(g);
            cols[1].push(m);
            cols[2].push(f);
        }
        let s: Vec<_> = cols.iter_mut().map(|c| summary(c)).collect();
        let cell = |(m, lo, hi): (f64, f64, f64)| format!("{m:8.1} ({lo:7.1}..{hi:7.1})");
        println!(
            "{:>10} {:>8} {:>24} {:>24} {:>24} {:>8.2}x",
            nodes * 40 / 1024,
            2 * nodes,
            cell(s[0]),
            cell(s[1]),
            cell(s[2]),
            s[0].0 / s[2].0.max(0.001)
        );
    }
}
