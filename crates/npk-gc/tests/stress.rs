//! Stress: millions of short-lived objects allocated around a long-lived linked structure
//! that is built, mutated and partly replaced through many nursery and full collections.
//! At the end every node is intact and in order, and the footprint stayed bounded.
//!
//! CI: 2 million short-lived objects; `NPK_GC_SOAK=1`: 40 million.

use npk_gc::{Config, Heap};

const NODES: usize = 5_000;

/// A node is refs[2] = [next, payload]; payload is ints[2] = [index, index * 7 + 1].
fn node(heap: &mut Heap, index: i64, keep: &mut [usize; 2]) {
    // keep[0]: list head (rooted); keep[1]: scratch (rooted).
    keep[1] = heap.alloc_ints(2).expect("payload");
    heap.set_int(keep[1], 0, index).expect("set");
    heap.set_int(keep[1], 1, index * 7 + 1).expect("set");
    let n = heap.alloc_refs(2).expect("node"); // may move keep[0] and keep[1]
    heap.set_ref(n, 0, keep[0]).expect("next");
    heap.set_ref(n, 1, keep[1]).expect("payload");
    keep[0] = n;
    keep[1] = 0;
}

#[test]
fn a_long_lived_list_survives_millions_of_short_lived_objects_in_bounded_memory() {
    let soak = std::env::var_os("NPK_GC_SOAK").is_some();
    let garbage: usize = if soak { 40_000_000 } else { 2_000_000 };
    let config = Config {
        nursery_bytes: 256 << 10,
        max_heap_bytes: 64 << 20,
        promote_age: 1,
        min_major_bytes: 2 << 20,
    };
    let mut heap = Heap::new(config).expect("heap");
    let mut keep = Box::new([0usize; 2]);
    // SAFETY: `keep` is boxed and outlives the frame, popped before it is dropped.
    unsafe { heap.push_frame(keep.as_mut_ptr(), 2) }.expect("frame");
    let per_node = garbage / NODES;
    let mut sink = 0i64;
    for i in 0..NODES {
        node(&mut heap, i as i64, &mut keep);
        for g in 0..per_node {
            let tmp = if g % 3 == 0 {
                heap.alloc_refs(2).expect("garbage")
            } else {
                heap.alloc_ints((g % 4) as i64).expect("garbage")
            };
            if g % 3 != 0 && g % 4 != 0 {
                heap.set_int(tmp, 0, g as i64).expect("set");
                sink = sink.wrapping_add(heap.get_int(tmp, 0).expect("get"));
            }
        }
        if i % 1000 == 999 {
            heap.collect();
        }
    }
    assert!(sink != 0);
    // Walk: NODES nodes, indices descending, payloads intact.
    let mut n = keep[0];
    for expected in (0..NODES as i64).rev() {
        assert!(heap.is_object(n), "node {expected} lost");
        let payload = heap.get_ref(n, 1).expect("payload");
        assert_eq!(heap.get_int(payload, 0), Ok(expected));
        assert_eq!(heap.get_int(payload, 1), Ok(expected * 7 + 1));
        n = heap.get_ref(n, 0).expect("next");
    }
    assert_eq!(n, 0, "list ends after {NODES} nodes");
    let s = heap.stats();
    eprintln!(
        "stress: {} objects, {} minor / {} major collections, peak {} KiB, live {} KiB, max pause {} us",
        s.allocated_objects,
        s.minor_collections,
        s.major_collections,
        s.peak_bytes >> 10,
        s.live_bytes >> 10,
        s.max_pause_ns / 1000
    );
    assert!(s.allocated_objects as usize >= garbage);
    assert!(s.minor_collections >= 50, "{s:?}");
    assert!(s.major_collections >= 5, "{s:?}");
    // The list is 5000 * (24 + 24) bytes = 234 KiB live; nursery 2 x 256 KiB; the old space
    // is collected at 2 MiB or twice its live size.
    assert!(s.peak_bytes <= 4 << 20, "peak {} bytes", s.peak_bytes);
    heap.pop_frame(keep.as_mut_ptr()).expect("frame");
    heap.collect();
    assert_eq!(heap.stats().live_bytes, 0);
}
