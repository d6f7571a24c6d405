//! Code arenas: every state transition and size edge of the typed and raw APIs, stale and
//! interior function pointers, racing seal/free/call, and no W+X mapping. Tests share the
//! process-wide registry, so they only look at their own arenas.

use std::sync::atomic::{AtomicUsize, Ordering};

use wildx::{CodeArena, ErrorKind, FN_ALIGN, PageState};

/// `mov eax, edi; add eax, esi; ret`: `int32(int32, int32)`.
const ADD: [u8; 5] = [0x89, 0xf8, 0x01, 0xf0, 0xc3];
const TAG: u32 = 0x1121;

fn kind<T>(r: Result<T, wildx::Error>) -> Option<ErrorKind> {
    r.err().map(|e| e.kind())
}

/// Calls `p` as `int32(int32, int32)` after the registry's check for `TAG`.
fn checked_add(p: *const u8, a: i32, b: i32) -> Result<i32, ErrorKind> {
    let entry = wildx::checked_entry(p, TAG).map_err(|e| e.kind())?;
    // SAFETY: `checked_entry` vouched for a sealed function recorded as int32(int32, int32);
    // the tests keep its arena alive across the call.
    let f: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(entry.ptr()) };
    Ok(f(a, b))
}

/// What a `prove` hook may answer besides the registry's own errors.
#[derive(Debug)]
enum Refusal {
    Unproven,
    #[allow(dead_code, reason = "holds the registry's error for Debug output")]
    Wildx(wildx::Error),
}

impl From<wildx::Error> for Refusal {
    fn from(e: wildx::Error) -> Self {
        Refusal::Wildx(e)
    }
}

fn at(base: *const u8, offset: usize) -> *const u8 {
    base.wrapping_add(offset)
}

#[test]
fn sizes_round_to_whole_pages_and_edges_are_refused() {
    assert_eq!(kind(CodeArena::new(0)), Some(ErrorKind::ZeroSize));
    assert_eq!(
        kind(CodeArena::new(usize::MAX)),
        Some(ErrorKind::SizeOverflow)
    );
    assert_eq!(kind(wildx::arena_create_raw(0)), Some(ErrorKind::ZeroSize));
    for (n, cap) in [(1, 4096), (4096, 4096), (4097, 8192)] {
        let arena = CodeArena::new(n).expect("arena");
        assert_eq!(
            (arena.capacity(), arena.used(), arena.fn_count()),
            (cap, 0, 0)
        );
        assert_eq!(arena.as_ptr() as usize % 4096, 0, "page-aligned");
    }
}

#[test]
fn functions_start_at_64_byte_boundaries() {
    let mut arena = CodeArena::new(4096).expect("arena");
    assert_eq!(kind(arena.add(&[], TAG)), Some(ErrorKind::ZeroSize));
    let mut offsets = Vec::new();
    for len in [1, 63, 64, 65, 5] {
        let mut code = vec![0x90; len];
        code[len - 1] = 0xc3;
        offsets.push(arena.add(&code, 0).expect("add").offset());
    }
    assert_eq!(offsets, [0, 64, 128, 192, 320]);
    assert_eq!(arena.used(), 384);
    assert_eq!(FN_ALIGN, 64);
}

#[test]
fn exactly_full_and_one_byte_over() {
    let mut arena = CodeArena::new(4096).expect("arena");
    assert_eq!(
        kind(arena.add(&[0xc3; 4097], 0)),
        Some(ErrorKind::ArenaFull {
            needed: 4097,
            available: 4096
        })
    );
    assert_eq!(arena.fn_count(), 0, "a refused add adds nothing");
    arena.add(&[0xc3; 4032], 0).expect("fits");
    let last = arena.add(&[0xc3; 64], 0).expect("exactly fills");
    assert_eq!((last.offset(), arena.used()), (4032, 4096));
    assert_eq!(
        kind(arena.add(&[0xc3], 0)),
        Some(ErrorKind::ArenaFull {
            needed: 1,
            available: 0
        })
    );
    let code = arena.seal().expect("seal");
    assert_eq!(code.fn_count(), 2);
    assert!(!code.as_slice().contains(&0xcc), "no gap in a full arena");
}

#[test]
fn writable_seal_executable_free() {
    let mut arena = CodeArena::new(100).expect("arena");
    let base = arena.as_ptr();
    let one = arena.add(&ADD, TAG).expect("add");
    let two = arena.add(&[0x8d, 0x04, 0x77, 0xc3], TAG).expect("add"); // lea eax,[rdi+rsi*2]
    assert_eq!(wildx::page_state(base), PageState::Writable);
    for f in [at(base, 0), at(base, 64)] {
        assert_eq!(checked_add(f, 1, 2), Err(ErrorKind::NotSealed));
    }
    let code = arena.seal().expect("seal");
    assert_eq!(wildx::page_state(base), PageState::Executable);
    let (f1, f2) = (code.get(one).expect("one"), code.get(two).expect("two"));
    assert_eq!((f1.entry(), f2.entry()), (at(base, 0), at(base, 64)));
    assert_eq!((f1.tag(), f1.len(), f1.as_slice()), (TAG, 5, &ADD[..]));
    assert_eq!(f1.hash(), wildx::code_hash(&ADD));
    assert_eq!(code.fns().map(|f| f.id()).collect::<Vec<_>>(), [one, two]);
    assert_eq!(checked_add(f1.entry(), 7, 35), Ok(42));
    assert_eq!(checked_add(f2.entry(), 2, 20), Ok(42));
    assert_eq!(
        kind(wildx::checked_entry(f1.entry(), 0x2222)),
        Some(ErrorKind::SignatureMismatch {
            expected: 0x2222,
            found: TAG
        })
    );
    // Gaps and the unused tail are int3.
    let body = code.as_slice();
    assert!(body[5..64].iter().chain(&body[68..]).all(|&b| b == 0xcc));
    code.free().expect("free");
    assert_eq!(wildx::page_state(base), PageState::Freed);
    for f in [at(base, 0), at(base, 64)] {
        assert_eq!(checked_add(f, 1, 2), Err(ErrorKind::Freed));
    }
}

#[test]
fn dropping_either_state_frees_the_arena() {
    let arena = CodeArena::new(1).expect("arena");
    let base = arena.as_ptr();
    drop(arena);
    assert_eq!(wildx::page_state(base), PageState::Freed);

    let mut arena = CodeArena::new(1).expect("arena");
    let base = arena.as_ptr();
    arena.add(&ADD, TAG).expect("add");
    let code = arena.seal().expect("seal");
    assert_eq!(checked_add(base, 1, 1), Ok(2));
    drop(code);
    assert_eq!(checked_add(base, 1, 1), Err(ErrorKind::Freed));

    let arena = CodeArena::new(1).expect("arena");
    let base = arena.as_ptr();
    arena.free().expect("free writable");
    assert_eq!(wildx::page_state(base), PageState::Freed);
}

#[test]
fn ids_of_another_arena_are_not_found() {
    let mut a = CodeArena::new(64).expect("arena");
    let mut b = CodeArena::new(64).expect("arena");
    let ida = a.add(&ADD, TAG).expect("add");
    let idb = b.add(&ADD, TAG).expect("add");
    let (a, b) = (a.seal().expect("seal"), b.seal().expect("seal"));
    assert!(a.get(idb).is_none() && b.get(ida).is_none());
    assert!(a.get(ida).is_some() && b.get(idb).is_some());
}

#[test]
fn raw_api_follows_the_same_state_machine() {
    let ar = wildx::arena_create_raw(4096)
        .expect("arena")
        .as_ptr()
        .cast_const();
    let mut seen = 0u64;
    let f = wildx::arena_add_raw(ar, &ADD, |addr| {
        seen = addr;
        Ok::<u32, wildx::Error>(TAG)
    })
    .expect("add")
    .as_ptr()
    .cast_const();
    assert_eq!((f, seen), (ar, ar as u64), "prove sees the final address");
    // A refused add adds nothing: the next function takes the same place.
    let refused = wildx::arena_add_raw(ar, &ADD, |_| Err(Refusal::Unproven));
    assert!(matches!(refused, Err(Refusal::Unproven)));
    let g = wildx::arena_add_raw(ar, &ADD, |addr| {
        seen = addr;
        Ok::<u32, wildx::Error>(TAG)
    })
    .expect("add")
    .as_ptr()
    .cast_const();
    assert_eq!((g, seen), (at(ar, 64), ar as u64 + 64));
    assert_eq!(checked_add(g, 1, 2), Err(ErrorKind::NotSealed));
    assert_eq!(
        kind(wildx::install_raw(ar, &ADD, TAG)),
        Some(ErrorKind::IsArena)
    );
    wildx::arena_seal_raw(ar).expect("seal");
    assert_eq!(
        kind(wildx::arena_seal_raw(ar)),
        Some(ErrorKind::AlreadySealed)
    );
    assert_eq!(kind(wildx::seal_raw(ar)), Some(ErrorKind::AlreadySealed));
    assert_eq!(
        kind(wildx::arena_add_raw(ar, &ADD, |_| Ok::<u32, wildx::Error>(
            TAG
        ))),
        Some(ErrorKind::AlreadySealed)
    );
    assert_eq!(
        (checked_add(f, 40, 2), checked_add(g, 1, 2)),
        (Ok(42), Ok(3))
    );
    assert_eq!(wildx::lookup(g).expect("sealed").tag(), TAG);
    wildx::arena_free_raw(ar).expect("free");
    assert_eq!(kind(wildx::arena_free_raw(ar)), Some(ErrorKind::Freed));
    assert_eq!(kind(wildx::free_raw(ar)), Some(ErrorKind::Freed));
    assert_eq!(checked_add(g, 1, 2), Err(ErrorKind::Freed));

    // The page operations accept an arena's base, the arena ones refuse a page.
    let ar = wildx::arena_create_raw(1)
        .expect("arena")
        .as_ptr()
        .cast_const();
    wildx::seal_raw(ar).expect("seal_raw seals an arena");
    wildx::free_raw(ar).expect("free_raw frees an arena");
    let page = wildx::alloc_raw(1).expect("page").as_ptr().cast_const();
    assert_eq!(
        kind(wildx::arena_seal_raw(page)),
        Some(ErrorKind::NotAnArena)
    );
    assert_eq!(
        kind(wildx::arena_free_raw(page)),
        Some(ErrorKind::NotAnArena)
    );
    assert_eq!(
        kind(wildx::arena_add_raw(
            page,
            &ADD,
            |_| Ok::<u32, wildx::Error>(0)
        )),
        Some(ErrorKind::NotAnArena)
    );
    wildx::free_raw(page).expect("free page");
}

#[test]
fn interior_foreign_and_null_pointers_are_refused() {
    let mut arena = CodeArena::new(8192).expect("arena");
    let base = arena.as_ptr();
    arena.add(&[0x90; 100], 0).expect("add"); // spans granules 0 and 1
    arena.add(&ADD, TAG).expect("add"); // at 128
    let code = arena.seal().expect("seal");
    let local = [0u8; 8];
    for (p, want) in [
        (std::ptr::null(), ErrorKind::Null),
        (local.as_ptr(), ErrorKind::NotOurs),
        (at(base, 1), ErrorKind::NotOurs),    // inside a function
        (at(base, 64), ErrorKind::NotOurs),   // a granule inside a function
        (at(base, 192), ErrorKind::NotOurs),  // int3 after the last function
        (at(base, 4096), ErrorKind::NotOurs), // second page, no function
        (at(base, 8192), ErrorKind::NotOurs), // past the arena
    ] {
        assert_eq!(kind(wildx::checked_entry(p, TAG)), Some(want), "{p:p}");
    }
    assert_eq!(checked_add(at(base, 128), 1, 2), Ok(3));
    drop(code);
}

#[test]
fn handle_owned_arenas_cannot_be_changed_through_the_raw_api() {
    let arena = CodeArena::new(1).expect("arena");
    let p = arena.as_ptr();
    let add = wildx::arena_add_raw(p, &ADD, |_| Ok::<u32, wildx::Error>(0));
    assert_eq!(kind(add), Some(ErrorKind::OwnedByHandle));
    assert_eq!(
        kind(wildx::arena_seal_raw(p)),
        Some(ErrorKind::OwnedByHandle)
    );
    assert_eq!(
        kind(wildx::arena_free_raw(p)),
        Some(ErrorKind::OwnedByHandle)
    );
    let code = arena.seal().expect("typed seal still works");
    assert_eq!(kind(wildx::free_raw(p)), Some(ErrorKind::OwnedByHandle));
    code.free().expect("free");
}

#[test]
fn bytes_changed_between_add_and_seal_lose_their_signature() {
    let ar = wildx::arena_create_raw(1).expect("arena").as_ptr();
    let f = wildx::arena_add_raw(ar, &ADD, |_| Ok::<u32, wildx::Error>(TAG)).expect("add");
    let g = wildx::arena_add_raw(ar, &ADD, |_| Ok::<u32, wildx::Error>(TAG)).expect("add");
    // SAFETY: test code; the raw arena is writable and ours; byte 1 of `g` is inside it.
    unsafe { g.as_ptr().add(1).write(0xc0) }; // mov eax, edi -> mov eax, eax
    // SAFETY: as above; a byte in the gap after `f`.
    unsafe { f.as_ptr().add(20).write(0x90) };
    wildx::arena_seal_raw(ar).expect("seal");
    assert_eq!(wildx::lookup(f.as_ptr()).expect("sealed").tag(), TAG);
    assert_eq!(wildx::lookup(g.as_ptr()).expect("sealed").tag(), 0);
    // SAFETY: test code; the arena is sealed, so readable.
    let gap = unsafe { f.as_ptr().add(20).read() };
    assert_eq!(gap, 0xcc, "seal refills gaps with int3");
    wildx::arena_free_raw(ar).expect("free");
}

#[test]
fn stale_function_pointers_stay_refused_after_many_later_frees() {
    // Runs of five pages: no other test here uses that size, so only this loop advances
    // that size's quarantine and reuses the run (as a page or an empty arena).
    const SIZE: usize = 5 * 4096;
    let mut arena = CodeArena::new(SIZE).expect("arena");
    let base = arena.as_ptr();
    arena.add(&ADD, TAG).expect("add");
    arena.add(&ADD, TAG).expect("add");
    let code = arena.seal().expect("seal");
    assert_eq!(checked_add(at(base, 64), 1, 1), Ok(2));
    code.free().expect("free");
    // Past the quarantine: the run is reused by this loop, then freed again.
    let mut reused = false;
    for i in 0..wildx::QUARANTINE + 300 {
        if i % 2 == 0 {
            let a = CodeArena::new(SIZE).expect("arena");
            reused |= a.as_ptr() == base;
        } else {
            let p = wildx::alloc_raw(SIZE).expect("page").as_ptr();
            reused |= p.cast_const() == base;
            wildx::free_raw(p).expect("free");
        }
        if i % 1024 == 0 {
            assert_eq!(
                checked_add(at(base, 64), 1, 1),
                Err(ErrorKind::Freed),
                "{i}"
            );
        }
    }
    assert!(reused, "the run was handed out again");
    assert_eq!(checked_add(at(base, 0), 1, 1), Err(ErrorKind::Freed));
    assert_eq!(checked_add(at(base, 64), 1, 1), Err(ErrorKind::Freed));
}

#[test]
fn concurrent_seals_of_one_arena_give_exactly_one_success() {
    for _ in 0..50 {
        let ar = wildx::arena_create_raw(1).expect("arena").as_ptr() as usize;
        wildx::arena_add_raw(ar as *const u8, &ADD, |_| Ok::<u32, wildx::Error>(TAG)).expect("add");
        let wins = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    if wildx::arena_seal_raw(ar as *const u8).is_ok() {
                        wins.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(wins.load(Ordering::Relaxed), 1);
        assert_eq!(checked_add(ar as *const u8, 2, 3), Ok(5));
        wildx::arena_free_raw(ar as *const u8).expect("free");
    }
}

#[test]
fn adds_to_one_arena_from_several_threads_are_serialised() {
    let ar = wildx::arena_create_raw(4 * 64 * 64)
        .expect("arena")
        .as_ptr() as usize;
    let fns: Vec<usize> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..64)
                        .map(|_| {
                            wildx::arena_add_raw(ar as *const u8, &ADD, |addr| {
                                assert_eq!(addr % 64, 0);
                                Ok::<u32, wildx::Error>(TAG)
                            })
                            .expect("room for every add")
                            .as_ptr() as usize
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("adder"))
            .collect()
    });
    let mut offsets: Vec<usize> = fns.iter().map(|f| f - ar).collect();
    offsets.sort_unstable();
    assert_eq!(offsets, (0..256).map(|i| i * 64).collect::<Vec<_>>());
    wildx::arena_seal_raw(ar as *const u8).expect("seal");
    for (i, &f) in fns.iter().enumerate() {
        let i = i as i32;
        assert_eq!(checked_add(f as *const u8, i, 1), Ok(i + 1));
    }
    wildx::arena_free_raw(ar as *const u8).expect("free");
}

#[test]
fn seal_add_and_call_racing_free_never_touch_freed_memory() {
    for round in 0..200 {
        let ar = wildx::arena_create_raw(4096).expect("arena").as_ptr() as usize;
        let f = wildx::arena_add_raw(ar as *const u8, &ADD, |_| Ok::<u32, wildx::Error>(TAG))
            .expect("add")
            .as_ptr() as usize;
        let freed = AtomicUsize::new(0);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _ =
                    wildx::arena_add_raw(ar as *const u8, &ADD, |_| Ok::<u32, wildx::Error>(TAG));
                let _ = wildx::arena_seal_raw(ar as *const u8);
            });
            s.spawn(|| {
                if round % 2 == 0 {
                    std::thread::yield_now();
                }
                wildx::arena_free_raw(ar as *const u8).expect("exactly one free");
                freed.store(1, Ordering::Release);
            });
            s.spawn(|| {
                // Looked up while racing: any answer but a crash; once the free is seen,
                // always refused as freed. (Calling while racing a free would be the
                // caller's use-after-free, so this thread only looks.)
                for _ in 0..50 {
                    let seen_free = freed.load(Ordering::Acquire) == 1;
                    let r = kind(wildx::checked_entry(f as *const u8, TAG));
                    if seen_free {
                        assert_eq!(r, Some(ErrorKind::Freed));
                    }
                }
            });
        });
        assert_eq!(
            kind(wildx::checked_entry(f as *const u8, TAG)),
            Some(ErrorKind::Freed)
        );
        assert_eq!(
            kind(wildx::arena_seal_raw(ar as *const u8)),
            Some(ErrorKind::Freed)
        );
    }
}

/// Lines of /proc/self/maps that are both writable and executable.
fn writable_and_executable_mappings() -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    maps.lines()
        .filter(|l| {
            let perms = l.split_whitespace().nth(1).unwrap_or("");
            perms.contains('w') && perms.contains('x')
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn no_mapping_is_ever_writable_and_executable() {
    let mut writable = CodeArena::new(3 * 4096).expect("arena");
    writable.add(&ADD, TAG).expect("add");
    let mut sealed = CodeArena::new(64).expect("arena");
    sealed.add(&ADD, TAG).expect("add");
    let sealed = sealed.seal().expect("seal");
    let freed = CodeArena::new(64).expect("arena").seal().expect("seal");
    freed.free().expect("free");
    assert_eq!(writable_and_executable_mappings(), Vec::<String>::new());
    let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
    let start = format!("{:x}-", sealed.as_ptr() as usize);
    let line = maps
        .lines()
        .find(|l| l.starts_with(&start))
        .expect("the sealed arena is its own mapping");
    assert!(line.contains(" r-xp "), "{line}");
    let start = format!("{:x}-", writable.as_ptr() as usize);
    let line = maps
        .lines()
        .find(|l| l.starts_with(&start))
        .expect("mapped");
    assert!(line.contains(" rw-p "), "{line}");
    drop((writable, sealed));
}
