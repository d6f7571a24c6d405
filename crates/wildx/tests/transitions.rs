//! Every state transition and size edge of the typed and raw APIs. Tests share the
//! process-wide registry, so they only look at their own pages.

use wildx::{ErrorKind, ExecutablePage, PageState, WritablePage};

const ADD: [u8; 5] = [0x89, 0xf8, 0x01, 0xf0, 0xc3];

fn kind<T>(r: Result<T, wildx::Error>) -> Option<ErrorKind> {
    r.err().map(|e| e.kind())
}

#[test]
fn sizes_round_to_whole_pages_and_edges_are_refused() {
    assert_eq!(kind(WritablePage::new(0)), Some(ErrorKind::ZeroSize));
    assert_eq!(
        kind(WritablePage::new(usize::MAX)),
        Some(ErrorKind::SizeOverflow)
    );
    assert_eq!(kind(wildx::alloc_raw(0)), Some(ErrorKind::ZeroSize));
    assert_eq!(
        kind(wildx::alloc_raw(usize::MAX - 100)),
        Some(ErrorKind::SizeOverflow)
    );
    for (n, len) in [(1, 4096), (4096, 4096), (4097, 8192)] {
        let page = WritablePage::new(n).expect("alloc");
        assert_eq!(page.len(), len, "size {n}");
        assert!(page.as_slice().iter().all(|&b| b == 0), "zero-filled");
        assert_eq!(page.as_ptr() as usize % 4096, 0, "page-aligned");
    }
}

#[test]
fn writable_seal_executable_free() {
    let mut page = WritablePage::new(10).expect("alloc");
    let addr = page.as_ptr();
    assert_eq!(wildx::page_state(addr), PageState::Writable);
    assert_eq!(kind(wildx::lookup(addr)), Some(ErrorKind::NotSealed));
    page.as_mut_slice()[..5].copy_from_slice(&ADD);
    let code: ExecutablePage = page.seal_with_tag(0x1121).expect("seal");
    assert_eq!(code.entry(), addr);
    assert_eq!(&code.as_slice()[..6], &[0x89, 0xf8, 0x01, 0xf0, 0xc3, 0]);
    assert_eq!(wildx::page_state(addr), PageState::Executable);
    let entry = wildx::checked_entry(addr, 0x1121).expect("callable");
    assert_eq!((entry.ptr(), entry.tag()), (addr, 0x1121));
    assert_eq!(
        kind(wildx::checked_entry(addr, 0x2222)),
        Some(ErrorKind::SignatureMismatch {
            expected: 0x2222,
            found: 0x1121
        })
    );
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the page holds a complete int32(int32, int32) function and outlives `add`.
        let add: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(code.entry()) };
        assert_eq!(add(7, 35), 42);
    }
    code.free().expect("free");
    assert_eq!(wildx::page_state(addr), PageState::Freed);
    assert_eq!(
        kind(wildx::checked_entry(addr, 0x1121)),
        Some(ErrorKind::Freed)
    );
}

#[test]
fn writable_free_and_drop_release() {
    let page = WritablePage::new(1).expect("alloc");
    let addr = page.as_ptr();
    page.free().expect("free");
    assert_eq!(wildx::page_state(addr), PageState::Freed);

    let page = WritablePage::new(1).expect("alloc");
    let addr = page.as_ptr();
    drop(page);
    assert_eq!(wildx::page_state(addr), PageState::Freed);

    let code = WritablePage::new(1).expect("alloc").seal().expect("seal");
    let addr = code.entry();
    assert_eq!(code.tag(), 0);
    drop(code);
    assert_eq!(wildx::page_state(addr), PageState::Freed);
}

#[test]
fn raw_api_follows_the_same_state_machine() {
    let p = wildx::alloc_raw(1).expect("alloc").as_ptr().cast_const();
    assert_eq!(
        kind(wildx::checked_entry(p, 0x1121)),
        Some(ErrorKind::NotSealed)
    );
    wildx::install_raw(p, &ADD, 0x1121).expect("install");
    assert_eq!(
        kind(wildx::install_raw(p, &[0; 4097], 0)),
        Some(ErrorKind::TooLong)
    );
    wildx::seal_raw(p).expect("seal");
    assert_eq!(kind(wildx::seal_raw(p)), Some(ErrorKind::AlreadySealed));
    assert_eq!(
        kind(wildx::install_raw(p, &ADD, 0)),
        Some(ErrorKind::AlreadySealed)
    );
    assert_eq!(
        wildx::lookup(p).expect("sealed").tag(),
        0x1121,
        "install's tag survives seal"
    );
    wildx::free_raw(p).expect("free");
    assert_eq!(kind(wildx::free_raw(p)), Some(ErrorKind::Freed));
    assert_eq!(kind(wildx::seal_raw(p)), Some(ErrorKind::Freed));
    assert_eq!(kind(wildx::install_raw(p, &ADD, 0)), Some(ErrorKind::Freed));
}

#[test]
fn foreign_null_and_interior_pointers_are_refused() {
    let local = [0u8; 16];
    let two = wildx::alloc_raw(8192).expect("alloc").as_ptr();
    // SAFETY: test code; offsets stay inside the 2-page run.
    let (interior, unaligned) = unsafe { (two.add(4096).cast_const(), two.add(8).cast_const()) };
    for (p, want) in [
        (std::ptr::null(), ErrorKind::Null),
        (local.as_ptr(), ErrorKind::NotOurs),
        (interior, ErrorKind::NotOurs),
        (unaligned, ErrorKind::NotOurs),
    ] {
        assert_eq!(kind(wildx::seal_raw(p)), Some(want));
        assert_eq!(kind(wildx::free_raw(p)), Some(want));
        assert_eq!(kind(wildx::install_raw(p, &ADD, 0)), Some(want));
        assert_eq!(kind(wildx::checked_entry(p, 0)), Some(want));
        assert_eq!(wildx::page_state(p), PageState::NotOurs);
    }
    wildx::free_raw(two).expect("free");
}

#[test]
fn handles_and_raw_pointers_do_not_mix_until_into_raw() {
    let page = WritablePage::new(1).expect("alloc");
    let p = page.as_ptr();
    assert_eq!(kind(wildx::seal_raw(p)), Some(ErrorKind::OwnedByHandle));
    assert_eq!(kind(wildx::free_raw(p)), Some(ErrorKind::OwnedByHandle));
    let raw = page.into_raw().as_ptr().cast_const();
    assert_eq!(raw, p);
    wildx::seal_raw(raw).expect("raw seal after into_raw");
    wildx::free_raw(raw).expect("raw free");

    let code = WritablePage::new(1)
        .expect("alloc")
        .seal_with_tag(7)
        .expect("seal");
    let raw = code.into_raw().as_ptr().cast_const();
    assert_eq!(wildx::lookup(raw).expect("sealed").tag(), 7);
    wildx::free_raw(raw).expect("raw free");
}

#[test]
fn statistics_track_live_pages() {
    let page = WritablePage::new(4097).expect("alloc");
    let s = wildx::stats();
    assert!(s.mapped_bytes >= 8192 && s.live_allocations >= 1);
    assert!(s.peak_bytes >= s.mapped_bytes);
    assert!(s.total_allocations >= s.total_frees + s.live_allocations);
    drop(page);
    assert!(wildx::stats().total_frees > s.total_frees);
}
