//! Unit tests of the collector, one behaviour each, through the public `Heap` API.

use crate::{Config, ErrorKind, Heap, Kind};

fn small() -> Heap {
    Heap::new(Config {
        nursery_bytes: 64 << 10,
        max_heap_bytes: 64 << 20,
        promote_age: 1,
        min_major_bytes: 1 << 20,
    })
    .expect("heap")
}

fn err<T: std::fmt::Debug>(r: crate::Result<T>) -> ErrorKind {
    r.expect_err("refused").kind()
}

#[test]
fn new_int_array_is_zero_filled_with_its_length_and_kind() {
    let mut h = small();
    let a = h.alloc_ints(5).expect("alloc");
    assert_eq!(h.len(a), Ok(5));
    assert_eq!(h.kind(a), Ok(Kind::Ints));
    assert!((0..5).all(|i| h.get_int(a, i) == Ok(0)));
    assert_eq!(a % 8, 0);
}

#[test]
fn new_ref_array_holds_nulls() {
    let mut h = small();
    let a = h.alloc_refs(3).expect("alloc");
    assert_eq!(h.kind(a), Ok(Kind::Refs));
    assert!((0..3).all(|i| h.get_ref(a, i) == Ok(0)));
}

#[test]
fn reused_nursery_memory_is_zero_again() {
    let mut h = small();
    let a = h.alloc_ints(4).expect("alloc");
    for i in 0..4 {
        h.set_int(a, i, -1).expect("set");
    }
    h.collect();
    h.collect();
    let b = h.alloc_ints(4).expect("alloc");
    assert_eq!(
        a, b,
        "two flips later the nursery restarts at the same base"
    );
    assert!((0..4).all(|i| h.get_int(b, i) == Ok(0)));
}

#[test]
fn zero_length_arrays_are_objects() {
    let mut h = small();
    let a = h.alloc_ints(0).expect("alloc");
    let b = h.alloc_refs(0).expect("alloc");
    assert_ne!(a, b);
    assert!(h.is_object(a) && h.is_object(b));
    assert_eq!(err(h.get_int(a, 0)), ErrorKind::OutOfBounds);
}

#[test]
fn negative_and_oversized_counts_are_refused() {
    let mut h = small();
    assert_eq!(err(h.alloc_ints(-1)), ErrorKind::BadSize);
    assert_eq!(err(h.alloc_refs(i64::MIN)), ErrorKind::BadSize);
    assert_eq!(err(h.alloc_ints(1 << 40)), ErrorKind::BadSize);
    assert_eq!(err(h.alloc_ints(u32::MAX as i64)), ErrorKind::OutOfMemory);
}

#[test]
fn element_access_is_bounds_checked_both_ways() {
    let mut h = small();
    let a = h.alloc_ints(2).expect("alloc");
    assert_eq!(err(h.get_int(a, 2)), ErrorKind::OutOfBounds);
    assert_eq!(err(h.get_int(a, -1)), ErrorKind::OutOfBounds);
    assert_eq!(err(h.set_int(a, i64::MAX, 1)), ErrorKind::OutOfBounds);
    h.set_int(a, 1, 7).expect("in bounds");
    assert_eq!(h.get_int(a, 1), Ok(7));
}

#[test]
fn access_of_the_wrong_kind_is_refused() {
    let mut h = small();
    let ints = h.alloc_ints(1).expect("alloc");
    let refs = h.alloc_refs(1).expect("alloc");
    assert_eq!(err(h.get_ref(ints, 0)), ErrorKind::WrongKind);
    assert_eq!(err(h.set_ref(ints, 0, refs)), ErrorKind::WrongKind);
    assert_eq!(err(h.get_int(refs, 0)), ErrorKind::WrongKind);
    assert_eq!(err(h.set_int(refs, 0, 5)), ErrorKind::WrongKind);
}

#[test]
fn interior_null_and_foreign_pointers_are_not_objects() {
    let mut h = small();
    let a = h.alloc_ints(4).expect("alloc");
    let local = 0u64;
    for p in [
        0,
        a + 8,
        a + 4,
        &local as *const u64 as usize,
        usize::MAX & !7,
    ] {
        assert!(!h.is_object(p), "{p:#x}");
        assert_eq!(err(h.len(p)), ErrorKind::NotAnObject);
    }
}

#[test]
fn storing_a_non_object_into_a_ref_array_is_refused() {
    let mut h = small();
    let r = h.alloc_refs(1).expect("alloc");
    let a = h.alloc_ints(2).expect("alloc");
    assert_eq!(err(h.set_ref(r, 0, a + 8)), ErrorKind::NotAReference);
    assert_eq!(err(h.set_ref(r, 0, 0x1000)), ErrorKind::NotAReference);
    h.set_ref(r, 0, a).expect("object");
    h.set_ref(r, 0, 0).expect("null");
    assert_eq!(h.get_ref(r, 0), Ok(0));
}

#[test]
fn a_rooted_nursery_object_moves_and_its_slot_is_rewritten() {
    let mut h = small();
    let a = h.alloc_ints(3).expect("alloc");
    h.set_int(a, 0, 11).expect("set");
    let mut slot = a;
    // SAFETY: `slot` lives until the end of the test, after remove_root.
    unsafe { h.add_root(&mut slot) }.expect("root");
    h.collect_nursery();
    assert_ne!(slot, a);
    assert!(h.is_object(slot) && !h.is_object(a));
    assert_eq!(h.get_int(slot, 0), Ok(11));
    h.remove_root(&mut slot).expect("registered");
}

#[test]
fn an_unrooted_object_is_no_heap_pointer_after_a_collection() {
    let mut h = small();
    let a = h.alloc_ints(3).expect("alloc");
    assert!(h.is_object(a));
    h.collect_nursery();
    assert!(!h.is_object(a));
    assert_eq!(err(h.get_int(a, 0)), ErrorKind::NotAnObject);
}

#[test]
fn a_survivor_is_promoted_after_promote_age_plus_one_collections_and_stops_moving() {
    let mut h = small();
    let mut slot = h.alloc_ints(1).expect("alloc");
    // SAFETY: `slot` outlives its registration.
    unsafe { h.add_root(&mut slot) }.expect("root");
    h.collect_nursery();
    assert!(h.is_young(slot), "first survival stays in the nursery");
    h.collect_nursery();
    assert!(
        !h.is_young(slot) && h.is_object(slot),
        "second survival promotes"
    );
    let promoted = slot;
    h.collect_nursery();
    h.collect();
    assert_eq!(slot, promoted, "old objects do not move");
    assert_eq!(h.stats().promoted_objects, 1);
    h.remove_root(&mut slot).expect("registered");
}

#[test]
fn the_write_barrier_keeps_a_nursery_object_reachable_only_from_an_old_one() {
    let mut h = small();
    let mut holder = h.alloc_refs(1).expect("alloc");
    // SAFETY: `holder` outlives its registration.
    unsafe { h.add_root(&mut holder) }.expect("root");
    h.collect(); // holder is old now
    assert!(!h.is_young(holder));
    let young = h.alloc_ints(1).expect("alloc");
    h.set_int(young, 0, 99).expect("set");
    h.set_ref(holder, 0, young).expect("store");
    h.collect_nursery();
    let moved = h.get_ref(holder, 0).expect("field");
    assert_ne!(moved, young, "the field was rewritten");
    assert_eq!(h.get_int(moved, 0), Ok(99));
    h.collect_nursery(); // promoted now, field rewritten again
    let promoted = h.get_ref(holder, 0).expect("field");
    assert!(!h.is_young(promoted));
    assert_eq!(h.get_int(promoted, 0), Ok(99));
    h.remove_root(&mut holder).expect("registered");
}

#[test]
fn a_full_collection_frees_unreachable_old_objects_and_cycles() {
    let mut h = small();
    let mut a = h.alloc_refs(1).expect("alloc");
    // SAFETY: `a` outlives its registration.
    unsafe { h.add_root(&mut a) }.expect("root");
    let b = h.alloc_refs(1).expect("alloc");
    h.set_ref(a, 0, b).expect("a -> b");
    h.set_ref(b, 0, a).expect("b -> a");
    h.collect();
    assert_eq!(h.old_objects(), 2);
    h.remove_root(&mut a).expect("registered");
    h.collect();
    assert_eq!(h.old_objects(), 0);
    assert_eq!(h.stats().live_bytes, 0);
}

#[test]
fn roots_registered_twice_or_removed_unregistered_are_refused() {
    let mut h = small();
    let mut slot = 0usize;
    let p: *mut usize = &mut slot;
    // SAFETY: `slot` outlives its registration.
    unsafe { h.add_root(p) }.expect("first");
    // SAFETY: as above.
    assert_eq!(err(unsafe { h.add_root(p) }), ErrorKind::AlreadyRooted);
    h.remove_root(p).expect("registered");
    assert_eq!(err(h.remove_root(p)), ErrorKind::NotRooted);
    assert_eq!(err(h.remove_root(std::ptr::null_mut())), ErrorKind::Null);
    // SAFETY: refused before any use.
    let misaligned = unsafe { h.add_root((p as usize + 1) as *mut usize) };
    assert_eq!(err(misaligned), ErrorKind::Misaligned);
    assert_eq!(h.registered_roots(), 0);
}

#[test]
fn root_slots_holding_non_objects_are_left_untouched() {
    let mut h = small();
    let a = h.alloc_ints(2).expect("alloc");
    let mut slots = [a + 8, 12345 * 8, 0, usize::MAX & !7];
    let before = slots;
    for s in &mut slots {
        // SAFETY: `slots` outlives the registrations.
        unsafe { h.add_root(s) }.expect("root");
    }
    h.collect_nursery();
    h.collect();
    assert_eq!(slots, before);
    for s in &mut slots {
        h.remove_root(s).expect("registered");
    }
}

#[test]
fn shadow_stack_frames_are_roots_and_pop_in_order_only() {
    let mut h = small();
    let mut outer = [0usize; 2];
    let mut inner = [0usize; 1];
    // SAFETY: both arrays outlive their frames (popped below).
    unsafe { h.push_frame(outer.as_mut_ptr(), 2) }.expect("push");
    outer[1] = h.alloc_ints(1).expect("alloc");
    h.set_int(outer[1], 0, 5).expect("set");
    // SAFETY: as above.
    unsafe { h.push_frame(inner.as_mut_ptr(), 1) }.expect("push");
    inner[0] = h.alloc_refs(1).expect("alloc");
    h.set_ref(inner[0], 0, outer[1]).expect("store");
    let old_outer = outer[1];
    h.collect_nursery();
    assert_ne!(outer[1], old_outer);
    assert_eq!(h.get_ref(inner[0], 0), Ok(outer[1]), "field and slot agree");
    assert_eq!(h.get_int(outer[1], 0), Ok(5));
    assert_eq!(
        err(h.pop_frame(outer.as_mut_ptr())),
        ErrorKind::FrameMismatch
    );
    h.pop_frame(inner.as_mut_ptr()).expect("top");
    h.pop_frame(outer.as_mut_ptr()).expect("top");
    assert_eq!(
        err(h.pop_frame(outer.as_mut_ptr())),
        ErrorKind::FrameMismatch
    );
    assert_eq!(h.frame_depth(), 0);
}

#[test]
fn bad_frames_are_refused() {
    let mut h = small();
    let mut s = [0usize; 1];
    // SAFETY: refused before any use.
    unsafe {
        assert_eq!(err(h.push_frame(s.as_mut_ptr(), -1)), ErrorKind::BadSize);
        assert_eq!(err(h.push_frame(std::ptr::null_mut(), 1)), ErrorKind::Null);
        let odd = (s.as_mut_ptr() as usize + 4) as *mut usize;
        assert_eq!(err(h.push_frame(odd, 1)), ErrorKind::Misaligned);
        assert_eq!(
            err(h.push_frame(s.as_mut_ptr(), 1 << 40)),
            ErrorKind::BadSize
        );
    }
    assert_eq!(h.frame_depth(), 0);
}

#[test]
fn allocation_pressure_triggers_nursery_collections() {
    let mut h = small();
    for _ in 0..10_000 {
        h.alloc_ints(4).expect("alloc");
    }
    let s = h.stats();
    assert!(s.minor_collections >= 4, "{s:?}");
    assert_eq!(s.allocated_objects, 10_000);
    assert_eq!(s.allocated_bytes, 10_000 * 40);
}

#[test]
fn large_arrays_go_straight_to_the_old_space() {
    let mut h = small();
    let big = h.alloc_ints(10_000).expect("alloc");
    assert!(h.is_object(big) && !h.is_young(big));
    h.set_int(big, 9_999, 3).expect("set");
    assert_eq!(h.get_int(big, 9_999), Ok(3));
    h.collect();
    assert!(!h.is_object(big), "unrooted large object freed");
}

#[test]
fn the_heap_limit_refuses_allocation_and_the_heap_stays_usable() {
    let mut h = Heap::new(Config {
        nursery_bytes: 64 << 10,
        max_heap_bytes: 1 << 20,
        promote_age: 0,
        min_major_bytes: 1 << 20,
    })
    .expect("heap");
    let mut keep = h.alloc_refs(64).expect("alloc");
    // SAFETY: `keep` outlives its registration.
    unsafe { h.add_root(&mut keep) }.expect("root");
    let mut refused = None;
    for i in 0..64 {
        match h.alloc_ints(2000) {
            Ok(a) => h.set_ref(keep, i, a).expect("store"),
            Err(e) => {
                refused = Some(e.kind());
                break;
            }
        }
    }
    assert_eq!(refused, Some(ErrorKind::OutOfMemory));
    for i in 0..64 {
        h.set_ref(keep, i, 0).expect("clear");
    }
    h.alloc_ints(2000)
        .expect("usable again after the live set shrank");
    // The limit is checked before allocating; a collection may promote at most one
    // semispace of survivors beyond it.
    let peak = h.stats().peak_bytes;
    assert!(peak <= (1 << 20) + (64 << 10), "{peak}");
    h.remove_root(&mut keep).expect("registered");
}

#[test]
fn a_safepoint_runs_a_requested_collection_once() {
    let mut h = small();
    assert!(!h.safepoint());
    h.request_collection();
    assert!(h.safepoint());
    assert!(!h.safepoint());
    assert_eq!(h.stats().major_collections, 1);
}

#[test]
fn a_requested_collection_replaces_the_next_allocation_triggered_one() {
    let mut h = small();
    h.request_collection();
    while h.stats().minor_collections == 0 {
        h.alloc_ints(8).expect("alloc");
    }
    assert_eq!(h.stats().major_collections, 1);
    assert!(!h.safepoint(), "the request was consumed");
}

#[test]
fn absurd_nursery_sizes_are_refused_not_a_panic() {
    for nursery_bytes in [usize::MAX, usize::MAX / 2, 1 << 62] {
        let config = Config {
            nursery_bytes,
            max_heap_bytes: usize::MAX,
            ..Config::default()
        };
        assert_eq!(err(Heap::new(config)), ErrorKind::OutOfMemory);
    }
}

#[test]
fn error_codes_are_distinct_and_nonzero() {
    let mut codes: Vec<i32> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
    assert!(codes.iter().all(|&c| c > 0));
    codes.dedup();
    assert_eq!(codes.len(), ErrorKind::ALL.len());
    assert_eq!(codes, (1..=ErrorKind::ALL.len() as i32).collect::<Vec<_>>());
}
