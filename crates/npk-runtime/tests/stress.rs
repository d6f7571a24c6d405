//! Multi-threaded stress: several threads run thousands of full cycles (alloc, install, seal,
//! checked call, free) plus racing double frees on shared pages; afterwards the statistics
//! are back to zero. Its own test binary, so the process-wide statistics are exact.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

use npk_runtime::*;

const THREADS: usize = 4;
const CYCLES: usize = 1500;

#[test]
fn threads_cycle_pages_and_statistics_return_to_zero() {
    let before = wildx::stats();
    let shared = AtomicUsize::new(0);
    let double_frees_refused = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let shared = &shared;
            let refused = &double_frees_refused;
            s.spawn(move || {
                for i in 0..CYCLES {
                    let p = npk_wildx_alloc(1 + (i % 3) * 4096);
                    assert!(!p.is_null());
                    // SAFETY: test code; p is ours; the runtime checks every call.
                    unsafe {
                        assert_eq!(npk_jit_install_add_i32(p), 0);
                        assert_eq!(npk_wildx_seal(p), 0);
                        let mut status = -1;
                        let a = i32::try_from(i).expect("small");
                        let t32 = i32::try_from(t).expect("small");
                        assert_eq!(npk_jit_try_call_i32_i32(p, a, t32, &mut status), a + t32);
                        assert_eq!(status, 0);
                    }
                    // Every 16th page is handed to another thread's free race instead.
                    if i % 16 == 0 {
                        let other = shared.swap(p as usize, Ordering::AcqRel);
                        if other != 0 {
                            // Two threads may race to free `other`: exactly one wins.
                            // SAFETY: test code; the runtime checks the pointer.
                            let r = unsafe { npk_wildx_free(other as *mut c_void) };
                            assert_eq!(r, 0, "only this thread frees `other`");
                            // SAFETY: test code; as above; this second free must be refused.
                            let again = unsafe { npk_wildx_free(other as *mut c_void) };
                            assert_eq!(again, -1);
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    } else {
                        // SAFETY: test code; our page.
                        assert_eq!(unsafe { npk_wildx_free(p) }, 0);
                    }
                }
            });
        }
    });
    let last = shared.swap(0, Ordering::AcqRel);
    // SAFETY: test code; the last shared page is ours.
    assert_eq!(unsafe { npk_wildx_free(last as *mut c_void) }, 0);
    let after = wildx::stats();
    assert_eq!(after.live_allocations, 0);
    assert_eq!(after.mapped_bytes, 0);
    let made = (THREADS * CYCLES) as u64;
    assert_eq!(after.total_allocations - before.total_allocations, made);
    assert_eq!(after.total_frees - before.total_frees, made);
    assert!(after.peak_bytes >= 4096);
    assert!(double_frees_refused.load(Ordering::Relaxed) > 0);
    assert_eq!(npk_wildx_stat_live_allocations(), 0);
}
