//! The runtime semantics of SPEC §4 through the C ABI, in one process. Other tests in this
//! binary run concurrently and share the registry, so assertions use deltas and own pages;
//! anything depending on options or crashing runs in a child process.

#[path = "common/child.rs"]
mod child;

use std::ffi::c_void;
use std::sync::{Arc, Barrier};

use npk_runtime::*;

const ADD: [u8; 5] = [0x89, 0xf8, 0x01, 0xf0, 0xc3];

fn alloc(n: usize) -> *mut c_void {
    let p = npk_wildx_alloc(n);
    assert!(!p.is_null(), "alloc({n}) failed");
    p
}

fn add_page() -> *mut c_void {
    let p = alloc(1);
    // SAFETY: test code; p is a fresh writable page of ours.
    unsafe {
        assert_eq!(npk_jit_install_add_i32(p), 0);
        assert_eq!(npk_wildx_seal(p), 0);
    }
    p
}

fn try_call(p: *mut c_void, a: i32, b: i32) -> (i32, i32) {
    let mut status = -1;
    // SAFETY: test code; the runtime checks p; status is a valid i32.
    let v = unsafe { npk_jit_try_call_i32_i32(p, a, b, &mut status) };
    (v, status)
}

#[test]
fn concurrent_seals_of_one_page_give_exactly_one_success() {
    for _ in 0..200 {
        let p = alloc(1) as usize;
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    // SAFETY: test code; the runtime checks the pointer.
                    unsafe { npk_wildx_seal(p as *mut c_void) }
                })
            })
            .collect();
        let results: Vec<i32> = threads
            .into_iter()
            .map(|t| t.join().expect("seal thread"))
            .collect();
        assert_eq!(
            results.iter().filter(|&&r| r == 0).count(),
            1,
            "{results:?}"
        );
        assert_eq!(
            results.iter().filter(|&&r| r == -1).count(),
            3,
            "{results:?}"
        );
        // SAFETY: test code; our page.
        assert_eq!(unsafe { npk_wildx_free(p as *mut c_void) }, 0);
    }
}

#[test]
fn seal_install_and_call_racing_free_never_touch_freed_memory() {
    for round in 0..300 {
        let p = alloc(1) as usize;
        let barrier = Arc::new(Barrier::new(3));
        let b1 = barrier.clone();
        let sealer = std::thread::spawn(move || {
            b1.wait();
            // SAFETY: test code; the runtime checks the pointer.
            unsafe {
                let installed = npk_jit_install_add_i32(p as *mut c_void);
                (installed, npk_wildx_seal(p as *mut c_void))
            }
        });
        let b2 = barrier.clone();
        let freer = std::thread::spawn(move || {
            b2.wait();
            if round % 2 == 0 {
                std::thread::yield_now();
            }
            // SAFETY: test code; the runtime checks the pointer.
            unsafe { npk_wildx_free(p as *mut c_void) }
        });
        barrier.wait();
        let (installed, sealed) = sealer.join().expect("sealer");
        assert_eq!(freer.join().expect("freer"), 0, "the one free must succeed");
        assert!(installed == 0 || installed == -1);
        assert!(sealed == 0 || sealed == -1);
        assert_eq!(wildx::page_state(p as *const u8), wildx::PageState::Freed);
        assert_eq!(
            try_call(p as *mut c_void, 1, 2),
            (0, 4),
            "a freed page is never callable"
        );
    }
}

#[test]
fn stale_pointer_is_not_mistaken_for_a_newer_page() {
    // In a child process: the quarantine counts every free of a size, so one-page frees of
    // tests running alongside would use up the slack below and let the address be reused.
    const NAME: &str = "stale_pointer_is_not_mistaken_for_a_newer_page";
    if !child::is_child(NAME) {
        let out = child::run(NAME, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("child ok"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let stale = alloc(1);
    // SAFETY: test code; our page, freed once.
    assert_eq!(unsafe { npk_wildx_free(stale) }, 0);
    let cycles = wildx::QUARANTINE - 96;
    let mut live = std::ptr::null_mut();
    for i in 0..cycles {
        let p = add_page();
        assert_ne!(p, stale, "address reused after {i} cycles");
        if i + 1 == cycles {
            live = p;
        } else {
            // SAFETY: test code; our page.
            assert_eq!(unsafe { npk_wildx_free(p) }, 0);
        }
    }
    // SAFETY: test code; the runtime checks the pointer.
    let again = unsafe { npk_wildx_free(stale) };
    assert_eq!(again, -1, "double free after {cycles} cycles");
    assert_eq!(try_call(stale, 1, 2), (0, 4));
    assert_eq!(
        try_call(live, 40, 2),
        (42, 0),
        "the newest page is untouched"
    );
    // SAFETY: test code; our page.
    assert_eq!(unsafe { npk_wildx_free(live) }, 0);
    println!("child ok");
}

#[test]
fn install_writes_only_into_a_writable_page_of_ours() {
    let mut foreign = [0u8; 64];
    let fp = foreign.as_mut_ptr().cast::<c_void>();
    let two = alloc(4097);
    // SAFETY: test code; the runtime checks every pointer; `two` is a 2-page run of ours.
    unsafe {
        assert_eq!(npk_jit_install_add_i32(std::ptr::null_mut()), -1);
        assert_eq!(npk_jit_install_add_i32(fp), -1);
        assert_eq!(
            npk_jit_install_add_i32(two.cast::<u8>().add(4096).cast()),
            -1,
            "interior page"
        );
        assert_eq!(
            npk_jit_install_add_i32(two.cast::<u8>().add(1).cast()),
            -1,
            "unaligned"
        );
        assert_eq!(*two.cast::<u8>().add(4096), 0);
        assert_eq!(npk_jit_install_add_i32(two), 0);
        assert_eq!(
            std::slice::from_raw_parts(two.cast::<u8>(), 6),
            &[0x89, 0xf8, 0x01, 0xf0, 0xc3, 0]
        );
        assert_eq!(npk_wildx_seal(two), 0);
        assert_eq!(npk_jit_install_add_i32(two), -1, "sealed");
        assert_eq!(npk_wildx_free(two), 0);
        assert_eq!(npk_jit_install_add_i32(two), -1, "freed");
    }
    assert!(foreign.iter().all(|&b| b == 0));
}

#[test]
fn call_refuses_unsealed_freed_foreign_and_mismatched_pages() {
    let w = alloc(1);
    // SAFETY: test code; our writable page.
    assert_eq!(unsafe { npk_jit_install_add_i32(w) }, 0);
    assert_eq!(try_call(w, 1, 2), (0, 3), "not sealed");
    // SAFETY: test code; the runtime checks the pointer.
    assert_eq!(unsafe { npk_jit_call_i32_i32(w, 1, 2) }, 0);
    let local = 5u64;
    assert_eq!(
        try_call((&raw const local).cast_mut().cast(), 1, 2),
        (0, 2),
        "not ours"
    );
    assert_eq!(try_call(std::ptr::null_mut(), 1, 2), (0, 1), "null");

    // A page sealed with another signature (int64(int64,int64) = 0x2222) is refused.
    let mut page = wildx::WritablePage::new(1).expect("page");
    page.as_mut_slice()[..5].copy_from_slice(&ADD);
    let other = page
        .seal_with_tag(0x2222)
        .expect("seal")
        .into_raw()
        .as_ptr()
        .cast::<c_void>();
    assert_eq!(try_call(other, 1, 2), (0, 5), "signature mismatch");

    // A page sealed by hand (tag 0) is called on the caller's word (not strict here).
    let hand = alloc(1);
    // SAFETY: test code; our writable page; then sealed and freed through the ABI.
    unsafe {
        std::ptr::copy_nonoverlapping(ADD.as_ptr(), hand.cast::<u8>(), 5);
        assert_eq!(npk_wildx_seal(hand), 0);
        assert_eq!(npk_wildx_seal(w), 0);
    }
    assert_eq!(try_call(hand, 20, 22), (42, 0));
    assert_eq!(try_call(w, 7, 35), (42, 0));
    for p in [w, other, hand] {
        // SAFETY: test code; our pages.
        assert_eq!(unsafe { npk_wildx_free(p) }, 0);
        assert_eq!(try_call(p, 1, 2), (0, 4), "freed");
    }
}

#[test]
fn handle_owned_pages_cannot_be_changed_through_the_c_abi() {
    let page = wildx::WritablePage::new(1).expect("page");
    let p = page.as_ptr().cast_mut().cast::<c_void>();
    // SAFETY: test code; the runtime checks the pointer.
    unsafe {
        assert_eq!(npk_wildx_seal(p), -1);
        assert_eq!(npk_jit_install_add_i32(p), -1);
        assert_eq!(npk_wildx_free(p), -1);
    }
    assert_eq!(wildx::page_state(p.cast()), wildx::PageState::Writable);
    drop(page);
    assert_eq!(wildx::page_state(p.cast()), wildx::PageState::Freed);
}

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
    let writable = alloc(3 * 4096);
    let sealed = add_page();
    let freed = add_page();
    // SAFETY: test code; our page.
    assert_eq!(unsafe { npk_wildx_free(freed) }, 0);
    let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
    let perms_at = |p: *mut c_void| {
        let a = p as usize;
        maps.lines()
            .find_map(|l| {
                let (range, rest) = l.split_once(' ')?;
                let (lo, hi) = range.split_once('-')?;
                let (lo, hi) = (
                    usize::from_str_radix(lo, 16).ok()?,
                    usize::from_str_radix(hi, 16).ok()?,
                );
                (lo <= a && a < hi).then(|| rest[..4].to_string())
            })
            .expect("address mapped")
    };
    assert_eq!(perms_at(writable), "rw-p");
    assert_eq!(perms_at(sealed), "r-xp");
    assert_eq!(
        perms_at(freed),
        "rw-p",
        "freed pages are kept read+write, never executable"
    );
    assert_eq!(writable_and_executable_mappings(), Vec::<String>::new());
    // SAFETY: test code; our pages.
    unsafe {
        assert_eq!(npk_wildx_free(writable), 0);
        assert_eq!(npk_wildx_free(sealed), 0);
    }
}

#[test]
fn writing_a_sealed_page_dies_with_sigsegv() {
    const NAME: &str = "writing_a_sealed_page_dies_with_sigsegv";
    if child::is_child(NAME) {
        let p = add_page();
        eprintln!("about to write");
        // SAFETY: deliberately not: this write must fault (the page is read+execute).
        unsafe { std::ptr::write_volatile(p.cast::<u8>(), 0x90) };
        eprintln!("write did not fault");
        std::process::exit(3);
    }
    let out = child::run(NAME, &[]);
    use std::os::unix::process::ExitStatusExt;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("about to write"), "{stderr}");
    assert_eq!(out.status.signal(), Some(libc::SIGSEGV), "{stderr}");
}

#[test]
fn rejections_print_one_line_each() {
    const NAME: &str = "rejections_print_one_line_each";
    if child::is_child(NAME) {
        let p = add_page();
        // SAFETY: test code; the runtime checks every pointer.
        unsafe {
            npk_wildx_seal(p);
            npk_wildx_free(p);
            npk_wildx_free(p);
            npk_jit_call_i32_i32(p, 1, 2);
            npk_wildx_alloc(0);
            npk_jit_install_add_i32(std::ptr::null_mut());
        }
        return;
    }
    let out = child::run(NAME, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("wildx: "))
        .collect();
    let shape: Vec<String> = lines
        .iter()
        .map(|l| {
            let (op, rest) = l["wildx: ".len()..].split_once('(').expect("op(");
            let (_, reason) = rest.split_once(") rejected: ").expect("rejected");
            format!("{op}: {reason}")
        })
        .collect();
    assert_eq!(
        shape,
        [
            "seal: page already sealed",
            "free: page was freed",
            "call: page was freed",
            "alloc: zero size",
            "install: null pointer"
        ],
        "{stderr}"
    );
    assert!(out.status.success(), "{stderr}");
}

#[test]
fn audit_prints_one_line_per_operation() {
    const NAME: &str = "audit_prints_one_line_per_operation";
    if child::is_child(NAME) {
        let p = add_page();
        assert_eq!(try_call(p, 7, 35), (42, 0));
        // SAFETY: test code; our page.
        assert_eq!(unsafe { npk_wildx_free(p) }, 0);
        return;
    }
    let out = child::run(NAME, &[("NPK_WILDX_AUDIT", "1")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ops: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("wildx: "))
        .map(|l| l.split('(').next().unwrap_or(""))
        .collect();
    assert_eq!(
        ops,
        ["alloc", "install", "seal", "call", "free"],
        "{stderr}"
    );
    assert!(stderr.contains("tag=0x1121"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
}

#[test]
fn guard_pages_surround_each_allocation_and_count_in_the_quota() {
    const NAME: &str = "guard_pages_surround_each_allocation_and_count_in_the_quota";
    if child::is_child(NAME) {
        assert!(wildx::options().guard_pages);
        let p = alloc(1) as usize;
        assert_eq!(npk_wildx_stat_mapped_bytes(), 3 * 4096);
        let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
        let perms_at = |a: usize| {
            maps.lines()
                .find_map(|l| {
                    let (range, rest) = l.split_once(' ')?;
                    let (lo, hi) = range.split_once('-')?;
                    let lo = usize::from_str_radix(lo, 16).ok()?;
                    let hi = usize::from_str_radix(hi, 16).ok()?;
                    (lo <= a && a < hi).then(|| rest[..4].to_string())
                })
                .expect("mapped")
        };
        assert_eq!(perms_at(p - 4096), "---p");
        assert_eq!(perms_at(p), "rw-p");
        assert_eq!(perms_at(p + 4096), "---p");
        npk_wildx_set_quota(3 * 4096);
        assert!(
            npk_wildx_alloc(1).is_null(),
            "guard pages count against the quota"
        );
        // SAFETY: test code; our page.
        assert_eq!(unsafe { npk_wildx_free(p as *mut c_void) }, 0);
        assert!(!npk_wildx_alloc(1).is_null());
        println!("child ok");
        return;
    }
    let out = child::run(NAME, &[("NPK_WILDX_GUARD_PAGES", "1")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child ok"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Rewrites the first byte of sealed page `p` behind the registry's back.
fn tamper(p: *mut c_void) {
    // SAFETY: test code; p is a sealed page of ours; we make it writable, patch, and restore RX.
    unsafe {
        assert_eq!(
            libc::mprotect(p, 4096, libc::PROT_READ | libc::PROT_WRITE),
            0
        );
        *p.cast::<u8>().add(5) = 0x90;
        assert_eq!(
            libc::mprotect(p, 4096, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
    }
}

#[test]
fn verify_refuses_code_changed_after_seal() {
    const NAME: &str = "verify_refuses_code_changed_after_seal";
    if child::is_child(NAME) {
        let p = add_page();
        assert_eq!(try_call(p, 7, 35), (42, 0));
        tamper(p);
        assert_eq!(try_call(p, 7, 35), (0, 7), "tampered page refused");
        // SAFETY: test code; our page.
        assert_eq!(unsafe { npk_wildx_free(p) }, 0);
        println!("child ok");
        return;
    }
    let out = child::run(NAME, &[("NPK_WILDX_VERIFY", "1")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("child ok"),
        "{stdout}{stderr}"
    );
    assert!(stderr.contains("rejected: code hash differs"), "{stderr}");
}

#[test]
fn without_verify_a_tampered_page_is_not_rehashed() {
    let p = add_page();
    tamper(p);
    assert_eq!(try_call(p, 7, 35), (42, 0));
    // SAFETY: test code; our page.
    assert_eq!(unsafe { npk_wildx_free(p) }, 0);
}

#[test]
fn strict_refuses_unsigned_pages_and_options_are_read_once() {
    const NAME: &str = "strict_refuses_unsigned_pages_and_options_are_read_once";
    if child::is_child(NAME) {
        let hand = alloc(1);
        // SAFETY: test code; our writable page, then sealed.
        unsafe {
            std::ptr::copy_nonoverlapping(ADD.as_ptr(), hand.cast::<u8>(), 5);
            assert_eq!(npk_wildx_seal(hand), 0);
        }
        assert_eq!(try_call(hand, 1, 2), (0, 6), "unsigned page refused");
        let signed = add_page();
        assert_eq!(try_call(signed, 1, 2), (3, 0));
        // SAFETY: test code; single-threaded child; the runtime must ignore this change.
        unsafe { std::env::remove_var("NPK_JIT_STRICT") };
        assert_eq!(try_call(hand, 1, 2), (0, 6), "options are cached");
        println!("child ok");
        return;
    }
    let out = child::run(NAME, &[("NPK_JIT_STRICT", "1")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child ok"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_page_changed_between_install_and_seal_loses_its_proven_signature() {
    let untouched = add_page();
    let changed = alloc(1);
    // SAFETY: test code; `changed` is a fresh writable page of ours, installed here and
    // written (byte 2: `add` becomes `sub`) before it is sealed.
    unsafe {
        assert_eq!(npk_jit_install_add_i32(changed), 0);
        *changed.cast::<u8>().add(2) = 0x29;
        assert_eq!(npk_wildx_seal(changed), 0);
    }
    let tag_of = |p: *mut c_void| wildx::lookup(p.cast::<u8>()).expect("sealed page").tag();
    assert_eq!(
        tag_of(untouched),
        0x1121,
        "installed and sealed as is: proven"
    );
    assert_eq!(
        tag_of(changed),
        0,
        "written after install: sealed without a signature"
    );
    // SAFETY: test code; both pages are ours and sealed.
    unsafe {
        assert_eq!(npk_wildx_free(untouched), 0);
        assert_eq!(npk_wildx_free(changed), 0);
    }
}
