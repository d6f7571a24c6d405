//! Runs machine code natively in a forked child under a CPU-time limit,
//! for the red-team tests of loops that must end
//! (`red_team_termination.rs`, `red_team_counter.rs`). In: the code, the
//! limit and a closure that makes the six integer arguments inside the
//! child (mapping any memory they point to). The child maps the code
//! read-execute, sets `ITIMER_VIRTUAL` (whose `SIGVTALRM` ends it) and
//! calls the code as a System V function. Out: how the run ended
//! ([`Ended`]). The test crate declares `mod forked` (`common/forked.rs`).

#![allow(dead_code)]

use crate::forked;

const PAGE: usize = 4096;
/// The child's exit status when its setup (a mapping, the timer) failed.
const EXIT_SETUP: i32 = 78;

/// How a native run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Returned(u64),
    /// Still running when its CPU time ran out.
    TimedOut,
    Signal(i32),
}

/// What the child reports once the function returned.
#[derive(Clone, Copy)]
#[repr(C)]
struct Report {
    returned: u64,
    value: u64,
}

fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` ends the process without running any Rust code.
    unsafe { libc::_exit(code) }
}

/// Maps `len` bytes of private memory in the child, or ends it.
pub fn map(len: usize, prot: libc::c_int) -> *mut u8 {
    forked::map(len, prot, libc::MAP_PRIVATE).unwrap_or_else(|| exit_now(EXIT_SETUP))
}

/// Runs `code` (at most a page) on the arguments `args` makes in the child,
/// with `cpu_limit_ms` of CPU time.
///
/// # Panics
/// If the child's setup failed or it exited without returning.
pub fn run_limited(code: &[u8], cpu_limit_ms: i64, args: impl FnOnce() -> [u64; 6]) -> Ended {
    assert!(code.len() <= PAGE, "code larger than a page");
    // SAFETY: the child only maps memory, sets a timer and calls the code,
    // which the tests write for the System V calling convention.
    let (status, report) = forked::fork_with_shared(|shared: *mut Report| unsafe {
        let text = map(PAGE, libc::PROT_READ | libc::PROT_WRITE);
        std::ptr::copy_nonoverlapping(code.as_ptr(), text, code.len());
        if libc::mprotect(text.cast(), PAGE, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            exit_now(EXIT_SETUP);
        }
        let a = args();
        let limit = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: cpu_limit_ms / 1000,
                tv_usec: (cpu_limit_ms % 1000) * 1000,
            },
        };
        if libc::setitimer(libc::ITIMER_VIRTUAL, &limit, std::ptr::null_mut()) != 0 {
            exit_now(EXIT_SETUP);
        }
        type Entry = extern "sysv64" fn(u64, u64, u64, u64, u64, u64) -> u64;
        let f: Entry = std::mem::transmute(text);
        let value = f(a[0], a[1], a[2], a[3], a[4], a[5]);
        shared.write(Report { returned: 1, value });
    });
    if libc::WIFSIGNALED(status) {
        return match libc::WTERMSIG(status) {
            libc::SIGVTALRM => Ended::TimedOut,
            s => Ended::Signal(s),
        };
    }
    assert_eq!(libc::WEXITSTATUS(status), 0, "the child's setup failed");
    assert_eq!(report.returned, 1, "the child exited without a report");
    Ended::Returned(report.value)
}
