//! The process heap's thread model, in one test because the heap is per process: the
//! first thread to use it is the mutator; another thread is refused (`WrongThread`) for
//! every mutating call, can still read statistics and request a collection; `detach` hands
//! the heap over (refused while frames are pushed); nesting and a panic inside the heap
//! are refused with `Busy` afterwards, never undefined behaviour.

use std::panic::{AssertUnwindSafe, catch_unwind};

use npk_gc::{ErrorKind, global};

fn kind<T>(r: npk_gc::Result<T>) -> Option<ErrorKind> {
    r.err().map(|e| e.kind())
}

#[test]
fn one_mutator_thread_at_a_time_and_misuse_is_refused() {
    // Reading statistics does not make a thread the mutator.
    std::thread::spawn(|| assert_eq!(global::stats().minor_collections, 0))
        .join()
        .expect("thread");
    let mut slot = global::with_heap(|h| h.alloc_ints(1))
        .expect("this thread becomes the mutator")
        .expect("alloc");
    global::with_heap(|h| h.set_int(slot, 0, 77))
        .expect("mutator")
        .expect("set");
    let slot_ptr: *mut usize = &mut slot;
    // SAFETY: `slot` outlives its registration (removed below).
    global::with_heap(|h| unsafe { h.add_root(slot_ptr) })
        .expect("mutator")
        .expect("root");
    global::with_heap(|h| h.collect_nursery()).expect("mutator");
    assert!(global::is_mutator());

    let obj = slot;
    std::thread::spawn(move || {
        assert!(!global::is_mutator());
        assert_eq!(
            kind(global::with_heap(|h| h.alloc_ints(1))),
            Some(ErrorKind::WrongThread)
        );
        assert_eq!(
            kind(global::with_heap(|h| h.is_object(obj))),
            Some(ErrorKind::WrongThread)
        );
        assert_eq!(kind(global::detach()), Some(ErrorKind::WrongThread));
        assert!(global::stats().minor_collections >= 1, "published counters");
        global::request_collection();
    })
    .join()
    .expect("thread");

    let before = global::stats().major_collections;
    global::with_heap(|h| h.safepoint()).expect("mutator");
    assert_eq!(
        global::stats().major_collections,
        before + 1,
        "request honoured"
    );
    assert_ne!(slot, obj, "root rewritten by the requested collection");
    assert_eq!(global::with_heap(|h| h.get_int(slot, 0)), Ok(Ok(77)));

    // Detach is refused while a frame is pushed, then hands the heap to another thread.
    let mut frame = [0usize; 1];
    let frame_ptr = frame.as_mut_ptr();
    // SAFETY: `frame` outlives the frame (popped below).
    global::with_heap(|h| unsafe { h.push_frame(frame_ptr, 1) })
        .expect("mutator")
        .expect("push");
    assert_eq!(kind(global::detach()), Some(ErrorKind::FramesPushed));
    global::with_heap(|h| h.pop_frame(frame_ptr))
        .expect("mutator")
        .expect("pop");
    global::detach().expect("detach");
    let adopted = slot;
    std::thread::spawn(move || {
        assert_eq!(global::with_heap(|h| h.get_int(adopted, 0)), Ok(Ok(77)));
        global::detach().expect("hand back");
    })
    .join()
    .expect("thread");

    // Nesting is refused.
    let nested = global::with_heap(|_| kind(global::with_heap(|h| h.collect())));
    assert_eq!(nested, Ok(Some(ErrorKind::Busy)));
    global::with_heap(|h| h.remove_root(slot_ptr))
        .expect("mutator")
        .expect("registered");

    // A panic inside the heap poisons it: later calls are refused, not undefined.
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        global::with_heap(|_| panic!("injected")).ok();
    }));
    assert!(panicked.is_err());
    assert_eq!(
        kind(global::with_heap(|h| h.alloc_ints(1))),
        Some(ErrorKind::Busy)
    );
}
