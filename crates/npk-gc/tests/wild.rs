//! Wild pointers are never followed: addresses of a `PROT_NONE` page (any read of it
//! would crash the test with SIGSEGV) stored in an integer array, in registered root slots,
//! in shadow-stack frame slots and right next to root slots survive every kind of
//! collection untouched, are not heap pointers, and cannot be stored as references.
//! Registered slots that live in foreign (mmap'd, "wild") memory are rewritten in place.

use npk_gc::{Config, ErrorKind, Heap};

struct Mapping {
    at: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn new(len: usize, prot: i32) -> Mapping {
        // SAFETY: a fresh private anonymous mapping; checked below.
        let at = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(at, libc::MAP_FAILED);
        Mapping { at, len }
    }

    fn addr(&self) -> usize {
        self.at as usize
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once.
        unsafe { libc::munmap(self.at, self.len) };
    }
}

#[test]
fn pointers_to_a_prot_none_page_are_never_followed_or_rewritten() {
    let trap = Mapping::new(4096, libc::PROT_NONE);
    let wild = [trap.addr(), trap.addr() + 8, trap.addr() + 4088];
    let mut heap = Heap::new(Config {
        nursery_bytes: 16 << 10,
        ..Config::default()
    })
    .expect("heap");

    // Wild values inside an integer array (which the marker never traces).
    let mut ints = heap.alloc_ints(3).expect("alloc");
    for (i, &w) in wild.iter().enumerate() {
        heap.set_int(ints, i as i64, w as i64).expect("set");
    }
    // Roots: slot 1 holds the array; slots 0 and 2 (its neighbours) and 3 hold wild values.
    let mut slots = Box::new([wild[0], ints, wild[1], wild[2]]);
    for s in slots.iter_mut() {
        // SAFETY: `slots` is boxed and outlives the registrations.
        unsafe { heap.add_root(s) }.expect("root");
    }
    // A frame whose slots hold wild values around a real object.
    let refs = heap.alloc_refs(1).expect("alloc");
    let mut frame = Box::new([wild[2], refs, wild[0]]);
    // SAFETY: `frame` is boxed and outlives the frame (popped below).
    unsafe { heap.push_frame(frame.as_mut_ptr(), 3) }.expect("frame");
    // A reference field cannot be made to hold a wild pointer.
    for &w in &wild {
        assert_eq!(
            heap.set_ref(frame[1], 0, w).map_err(|e| e.kind()),
            Err(ErrorKind::NotAReference)
        );
        assert!(!heap.is_object(w));
    }
    heap.set_ref(frame[1], 0, slots[1]).expect("real object");

    for round in 0..6 {
        if round % 2 == 0 {
            heap.collect_nursery();
        } else {
            heap.collect();
        }
        // Garbage around, so collections copy and sweep something.
        for _ in 0..500 {
            heap.alloc_refs(3).expect("alloc");
        }
        assert_eq!([slots[0], slots[2], slots[3]], [wild[0], wild[1], wild[2]]);
        assert_eq!([frame[0], frame[2]], [wild[2], wild[0]]);
        ints = slots[1];
        assert_eq!(
            heap.get_ref(frame[1], 0),
            Ok(ints),
            "field rewritten with the slot"
        );
        for (i, &w) in wild.iter().enumerate() {
            assert_eq!(heap.get_int(ints, i as i64), Ok(w as i64));
        }
    }
    for s in slots.iter_mut() {
        heap.remove_root(s).expect("registered");
    }
    heap.pop_frame(frame.as_mut_ptr()).expect("frame");
}

#[test]
fn a_root_slot_in_foreign_memory_is_rewritten_in_place() {
    let page = Mapping::new(4096, libc::PROT_READ | libc::PROT_WRITE);
    let mut heap = Heap::new(Config::default()).expect("heap");
    let slot = (page.addr() + 64) as *mut usize;
    let obj = heap.alloc_ints(1).expect("alloc");
    heap.set_int(obj, 0, 4242).expect("set");
    // SAFETY: the page is ours, RW, and outlives the registration.
    unsafe {
        slot.write(obj);
        heap.add_root(slot).expect("root");
    }
    heap.collect();
    // SAFETY: as above.
    let moved = unsafe { slot.read() };
    assert_ne!(moved, obj);
    assert_eq!(heap.get_int(moved, 0), Ok(4242));
    heap.remove_root(slot).expect("registered");
}
