//! Red-team cases for the loop termination proofs (issue 12, branch
//! `redterm`): code written to make the validator accept, under the
//! runtime's terminating policy, a loop that never ends.
//!
//! - [`HANGS`]: code the validator accepted before the fixes (the same
//!   lines are in `corpus/termination.txt`). Each is run natively here (no
//!   validator) on arguments its signature allows and must still be running
//!   when its CPU-time limit ends it; then it must be rejected.
//! - [`SAFE_TWINS`]: their closest neighbours that do end (a plain `jcc`
//!   instead of `loope` counting in `ecx`, a pointer walked toward a
//!   pointer of its own buffer instead of a number): accepted, and they
//!   return on the same arguments, so the runner's timeout is the hole's.
//!
//! Each case is `(signature, hex, assembly, arguments, buffer)`; a buffer
//! parameter's register is set by the runner to memory it maps, at the
//! given misalignment from a page start (a byte buffer may start anywhere).

use npk_jit::{Policy, Signature, validate};

#[path = "common/forked.rs"]
mod forked;

#[path = "common/corpus_format.rs"]
mod corpus_format;

const PAGE: usize = 4096;
/// CPU time a run may take: the loops here end within microseconds or never.
const CPU_LIMIT_MS: i64 = 300;
const EXIT_RETURNED: i32 = 0;
const EXIT_SETUP: i32 = 78;

/// A byte buffer for parameter `param` (its register set to the mapping
/// plus `misalign`), of `bytes` bytes.
#[derive(Clone, Copy)]
struct Buffer {
    param: usize,
    bytes: usize,
    misalign: usize,
}

/// `(signature, hex, assembly, arguments, buffer, why it never ends)`.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    [u64; 6],
    Option<Buffer>,
    &'static str,
);

const HANGS: [Case; 2] = [
    (
        "int64()",
        "31 c0 48 ff c0 b9 01 00 00 00 48 83 f8 0a 67 e1 02 eb ef c3",
        "xor eax, eax; 1: inc rax; mov ecx, 1; cmp rax, 10; addr32 loope 2f; jmp 1b; 2: ret",
        [0; 6],
        None,
        "`loope` counting in `ecx` was read as `je` leaving the loop (continue while rax != 10); \
         it also falls through when ecx reaches 0, so at rax == 10 it stays, forever",
    ),
    (
        "int64(uint8* s[n], int64 n)",
        "31 c9 39 f9 74 05 83 e9 02 eb f7 31 c0 c3",
        "xor ecx, ecx; 1: cmp ecx, edi; je 2f; sub ecx, 2; jmp 1b; 2: xor eax, eax; ret",
        [0, 16, 0, 0, 0, 0],
        Some(Buffer {
            param: 0,
            bytes: 16,
            misalign: 1,
        }),
        "an even count stepping by -2 toward the low half of a byte pointer: the proof took the \
         pointer's offset (0) for its low bits; at an odd address the two never meet",
    ),
];

const SAFE_TWINS: [Case; 2] = [
    (
        "int64()",
        "31 c0 48 ff c0 48 83 f8 0a 74 02 eb f5 c3",
        "xor eax, eax; 1: inc rax; cmp rax, 10; je 2f; jmp 1b; 2: ret",
        [0; 6],
        None,
        "",
    ),
    (
        "int64(uint8* s[n], int64 n)",
        "31 c0 48 85 f6 7e 10 48 8d 14 77 48 ff c0 48 83 c7 02 48 39 d7 75 f4 c3",
        "xor eax, eax; test rsi, rsi; jle 2f; lea rdx, [rdi+rsi*2]; 1: inc rax; add rdi, 2; \
         cmp rdi, rdx; jne 1b; 2: ret",
        [0, 3, 0, 0, 0, 0],
        Some(Buffer {
            param: 0,
            bytes: 16,
            misalign: 1,
        }),
        "",
    ),
];

fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` ends the process without running any Rust code.
    unsafe { libc::_exit(code) }
}

/// Maps memory for the child, or ends it.
fn map(len: usize, prot: libc::c_int) -> *mut u8 {
    forked::map(len, prot, libc::MAP_PRIVATE).unwrap_or_else(|| exit_now(EXIT_SETUP))
}

/// How a native run ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Returned(u64),
    /// Still running when its CPU time ran out.
    TimedOut,
    Signal(i32),
}

/// What the child reports: the function's result once it returned.
#[derive(Clone, Copy)]
#[repr(C)]
struct Report {
    returned: u64,
    value: u64,
}

/// Runs `code` natively (no validator) in a forked child with
/// [`CPU_LIMIT_MS`] of CPU time, on `args` and a fresh buffer.
fn run(code: &[u8], args: [u64; 6], buffer: Option<Buffer>) -> Ended {
    // SAFETY: the child only maps memory, sets a timer and calls the code.
    let (status, report) = forked::fork_with_shared(|shared: *mut Report| unsafe {
        let text = map(PAGE, libc::PROT_READ | libc::PROT_WRITE);
        std::ptr::copy_nonoverlapping(code.as_ptr(), text, code.len());
        if libc::mprotect(text.cast(), PAGE, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            exit_now(EXIT_SETUP);
        }
        let mut a = args;
        if let Some(b) = buffer {
            let len = (b.bytes + b.misalign).div_ceil(PAGE) * PAGE;
            let data = map(len, libc::PROT_READ | libc::PROT_WRITE);
            a[b.param] = data as u64 + b.misalign as u64;
        }
        let limit = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: CPU_LIMIT_MS / 1000,
                tv_usec: (CPU_LIMIT_MS % 1000) * 1000,
            },
        };
        // SIGVTALRM's default action ends the child.
        if libc::setitimer(libc::ITIMER_VIRTUAL, &limit, std::ptr::null_mut()) != 0 {
            exit_now(EXIT_SETUP);
        }
        let f: extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64 = std::mem::transmute(text);
        let value = f(a[0], a[1], a[2], a[3], a[4], a[5]);
        (*shared).value = value;
        (*shared).returned = 1;
        exit_now(EXIT_RETURNED);
    });
    if libc::WIFSIGNALED(status) {
        return match libc::WTERMSIG(status) {
            libc::SIGVTALRM => Ended::TimedOut,
            sig => Ended::Signal(sig),
        };
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == EXIT_RETURNED,
        "child ended with status {status:#x}"
    );
    assert_eq!(report.returned, 1, "the child exited without returning");
    Ended::Returned(report.value)
}

/// The corpus's terminating policy and the runtime's: both must agree.
fn policies() -> [(&'static str, Policy); 2] {
    [
        ("terminate", corpus_format::parse_policy("terminate")),
        ("Policy::runtime()", Policy::runtime()),
    ]
}

#[test]
fn termination_holes_hang_natively_and_are_rejected() {
    for (sig, code, asm, args, buffer, why) in HANGS {
        let code = corpus_format::parse_hex(code);
        let sig: Signature = sig.parse().expect("signature");
        assert_eq!(
            run(&code, args, buffer),
            Ended::TimedOut,
            "`{asm}` was expected to run forever: {why}"
        );
        for (name, policy) in policies() {
            assert!(
                validate(&code, &sig, &policy).is_err(),
                "`{asm}` never ends ({why}) but is accepted under {name}"
            );
        }
    }
}

#[test]
fn safe_twins_of_the_holes_are_accepted_and_return() {
    for (sig, code, asm, args, buffer, _) in SAFE_TWINS {
        let code = corpus_format::parse_hex(code);
        let sig: Signature = sig.parse().expect("signature");
        for (name, policy) in policies() {
            if let Err(v) = validate(&code, &sig, &policy) {
                panic!("`{asm}` rejected under {name}: {v}");
            }
        }
        let ended = run(&code, args, buffer);
        assert!(
            matches!(ended, Ended::Returned(_)),
            "`{asm}` did not return: {ended:?}"
        );
    }
}
