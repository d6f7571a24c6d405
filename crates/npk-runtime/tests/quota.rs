//! Quota and size edges. Its own test binary (one test, run serially) because the quota
//! and the statistics are process-wide.

use std::ffi::c_void;

use npk_runtime::*;

fn free(p: *mut c_void) {
    // SAFETY: test code; the runtime checks the pointer.
    assert_eq!(unsafe { npk_wildx_free(p) }, 0);
}

#[test]
fn quota_and_size_edges() {
    // Size edges are refused before any system call (the registry is not even created).
    let calls = wildx::os_calls();
    assert!(npk_wildx_alloc(0).is_null());
    assert!(npk_wildx_alloc(usize::MAX).is_null());
    assert!(
        npk_wildx_alloc(usize::MAX - 4094).is_null(),
        "overflows when page-rounded"
    );
    assert_eq!(
        wildx::os_calls(),
        calls,
        "no mmap/mprotect for impossible sizes"
    );

    assert_eq!(npk_wildx_get_quota(), 64 << 20, "default quota");
    // One page, one page, one page plus one byte.
    let one = npk_wildx_alloc(1);
    let page = npk_wildx_alloc(4096);
    let more = npk_wildx_alloc(4097);
    assert!(!one.is_null() && !page.is_null() && !more.is_null());
    assert_eq!(npk_wildx_stat_mapped_bytes(), 4 * 4096);
    assert_eq!(npk_wildx_stat_live_allocations(), 3);

    // Exactly at the quota succeeds; one byte over fails.
    npk_wildx_set_quota(5 * 4096);
    let fits = npk_wildx_alloc(4096);
    assert!(!fits.is_null());
    assert!(npk_wildx_alloc(1).is_null());
    free(fits);

    // Huge quotas cannot overflow the arithmetic.
    npk_wildx_set_quota(usize::MAX);
    assert!(
        npk_wildx_alloc(usize::MAX / 2).is_null(),
        "larger than the reserved range"
    );
    assert!(npk_wildx_alloc(usize::MAX - 2 * 4096).is_null());
    let p = npk_wildx_alloc(8192);
    assert!(!p.is_null());
    free(p);

    // A quota below what is mapped frees nothing; new allocations fail until pages are freed.
    npk_wildx_set_quota(4096);
    assert!(npk_wildx_alloc(1).is_null());
    for p in [one, page, more] {
        free(p);
    }
    let again = npk_wildx_alloc(1);
    assert!(!again.is_null());
    free(again);
    npk_wildx_set_quota(0);
    assert!(npk_wildx_alloc(1).is_null());

    let s = wildx::stats();
    assert_eq!((s.mapped_bytes, s.live_allocations), (0, 0));
    assert_eq!(s.peak_bytes, 6 * 4096);
    assert_eq!(s.total_allocations, s.total_frees);
    assert_eq!(s.total_allocations, 6);
}

#[test]
fn quota_from_the_environment() {
    if std::env::var("NPK_QUOTA_CHILD").is_ok() {
        assert_eq!(npk_wildx_get_quota(), 8192);
        let a = npk_wildx_alloc(4096);
        let b = npk_wildx_alloc(4096);
        assert!(!a.is_null() && !b.is_null());
        assert!(npk_wildx_alloc(1).is_null());
        println!("child ok");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "quota_from_the_environment", "--nocapture"])
        .env("NPK_QUOTA_CHILD", "1")
        .env("NPK_WILDX_QUOTA", "8192")
        .env_remove("NPK_WILDX_GUARD_PAGES")
        .output()
        .expect("child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child ok"),
        "{stdout}"
    );
}
