//! Execution oracle: everything the validator accepts must behave when run.
//!
//! Random, piece-built and mutated byte strings go through `validate`; each
//! accepted one runs in a forked child under seccomp strict mode (any system
//! call kills it), on a one-page stack with `PROT_NONE` pages right below the
//! deepest byte the policy allows and right above the return address, with
//! random values in every register. It must return within a time limit (or,
//! with `allow_division`, raise `SIGFPE`; with `allow_loops`, it may run
//! forever), with `rsp` back, callee-saved registers intact and DF clear.
//! Any counter-example is a soundness bug: add it to `tests/corpus`.

#![allow(unsafe_code)]
#![allow(clippy::undocumented_unsafe_blocks)]

use std::arch::global_asm;
use std::time::{Duration, Instant};

use npk_jit::{Policy, Signature, validate};

/// Register values loaded before the call, in iced order (rax rcx rdx rbx rsp
/// rbp rsi rdi r8..r15); rsp is ignored.
static mut ORACLE_IN: [u64; 16] = [0; 16];
/// Registers after the call, then rflags.
static mut ORACLE_OUT: [u64; 17] = [0; 17];
static mut ORACLE_TARGET: u64 = 0;
static mut ORACLE_HOST_RSP: u64 = 0;

global_asm!(
    ".globl npk_oracle_enter",
    "npk_oracle_enter:",
    "push rbx", "push rbp", "push r12", "push r13", "push r14", "push r15",
    "mov qword ptr [rip + {host}], rsp",
    "mov rsp, rdi",
    "mov rax, qword ptr [rip + {inp}]",
    "mov rcx, qword ptr [rip + {inp} + 8]",
    "mov rdx, qword ptr [rip + {inp} + 16]",
    "mov rbx, qword ptr [rip + {inp} + 24]",
    "mov rbp, qword ptr [rip + {inp} + 40]",
    "mov rsi, qword ptr [rip + {inp} + 48]",
    "mov rdi, qword ptr [rip + {inp} + 56]",
    "mov r8, qword ptr [rip + {inp} + 64]",
    "mov r9, qword ptr [rip + {inp} + 72]",
    "mov r10, qword ptr [rip + {inp} + 80]",
    "mov r11, qword ptr [rip + {inp} + 88]",
    "mov r12, qword ptr [rip + {inp} + 96]",
    "mov r13, qword ptr [rip + {inp} + 104]",
    "mov r14, qword ptr [rip + {inp} + 112]",
    "mov r15, qword ptr [rip + {inp} + 120]",
    "call qword ptr [rip + {target}]",
    "mov qword ptr [rip + {out}], rax",
    "mov qword ptr [rip + {out} + 8], rcx",
    "mov qword ptr [rip + {out} + 16], rdx",
    "mov qword ptr [rip + {out} + 24], rbx",
    "mov qword ptr [rip + {out} + 32], rsp",
    "mov qword ptr [rip + {out} + 40], rbp",
    "mov qword ptr [rip + {out} + 48], rsi",
    "mov qword ptr [rip + {out} + 56], rdi",
    "mov qword ptr [rip + {out} + 64], r8",
    "mov qword ptr [rip + {out} + 72], r9",
    "mov qword ptr [rip + {out} + 80], r10",
    "mov qword ptr [rip + {out} + 88], r11",
    "mov qword ptr [rip + {out} + 96], r12",
    "mov qword ptr [rip + {out} + 104], r13",
    "mov qword ptr [rip + {out} + 112], r14",
    "mov qword ptr [rip + {out} + 120], r15",
    "mov rsp, qword ptr [rip + {host}]",
    "pushfq",
    "pop rax",
    "mov qword ptr [rip + {out} + 128], rax",
    "cld",
    "pop r15", "pop r14", "pop r13", "pop r12", "pop rbp", "pop rbx",
    "ret",
    host = sym ORACLE_HOST_RSP,
    inp = sym ORACLE_IN,
    out = sym ORACLE_OUT,
    target = sym ORACLE_TARGET,
);

unsafe extern "C" {
    fn npk_oracle_enter(stack_top: u64);
}

const PAGE: usize = 4096;
/// Policy frame + red zone is exactly one page minus the return address.
const FRAME_SPAN: u32 = (PAGE - 8) as u32;

/// Child exit codes.
const RSP_WRONG: i32 = 10;
const CALLEE_SAVED_WRONG: i32 = 11;
const DF_SET: i32 = 12;
const SETUP_FAILED: i32 = 13;

#[derive(Debug, PartialEq)]
enum Outcome {
    Returned,
    Exit(i32),
    Signal(i32),
    Timeout,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// How long a child may run before it counts as hung. Loop-free code finishes
/// in microseconds; a timeout of loop-free code is re-run with
/// [`PATIENT_LIMIT`] before it counts, so a loaded machine is not a failure.
const HANG_LIMIT: Duration = Duration::from_millis(300);
const PATIENT_LIMIT: Duration = Duration::from_secs(5);

/// Runs `code` in a child with [`HANG_LIMIT`]; see the module docs.
fn run(code: &[u8], regs: [u64; 16]) -> Outcome {
    run_with_limit(code, regs, HANG_LIMIT)
}

/// Runs `code` in a child that is killed after `limit`.
fn run_with_limit(code: &[u8], regs: [u64; 16], limit: Duration) -> Outcome {
    // SAFETY: fork in a test process; the child only makes raw syscalls and
    // runs the harness, then leaves with SYS_exit, never returning to Rust.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: child process; see child().
        unsafe { child(code, regs) }
    }
    let start = Instant::now();
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if start.elapsed() > limit {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Outcome::Timeout;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            0 => Outcome::Returned,
            c => Outcome::Exit(c),
        }
    } else {
        Outcome::Signal(libc::WTERMSIG(status))
    }
}

unsafe fn exit_now(code: i32) -> ! {
    loop {
        // SAFETY: SYS_exit ends this (single-threaded) child; allowed by seccomp strict.
        unsafe { libc::syscall(libc::SYS_exit, code) };
    }
}

unsafe fn child(code: &[u8], regs: [u64; 16]) -> ! {
    unsafe {
        let none = libc::PROT_NONE;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        let stack = libc::mmap(std::ptr::null_mut(), 3 * PAGE, none, flags, -1, 0);
        let text = libc::mmap(std::ptr::null_mut(), 2 * PAGE, none, flags, -1, 0);
        if stack == libc::MAP_FAILED || text == libc::MAP_FAILED || code.len() > PAGE {
            exit_now(SETUP_FAILED);
        }
        let mid = stack.cast::<u8>().add(PAGE);
        if libc::mprotect(mid.cast(), PAGE, libc::PROT_READ | libc::PROT_WRITE) != 0
            || libc::mprotect(text, PAGE, libc::PROT_READ | libc::PROT_WRITE) != 0
        {
            exit_now(SETUP_FAILED);
        }
        std::ptr::copy_nonoverlapping(code.as_ptr(), text.cast::<u8>(), code.len());
        if libc::mprotect(text, PAGE, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            exit_now(SETUP_FAILED);
        }
        let stack_top = mid as u64 + PAGE as u64;
        // std's stack-overflow handler would make syscalls; report faults plainly.
        for sig in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGTRAP,
        ] {
            libc::signal(sig, libc::SIG_DFL);
        }
        ORACLE_IN = regs;
        ORACLE_TARGET = text as u64;
        if libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_STRICT as libc::c_ulong,
        ) != 0
        {
            exit_now(SETUP_FAILED);
        }
        npk_oracle_enter(stack_top);
        let out = ORACLE_OUT;
        if out[4] != stack_top {
            exit_now(RSP_WRONG);
        }
        if [3, 5, 12, 13, 14, 15].iter().any(|&r| out[r] != regs[r]) {
            exit_now(CALLEE_SAVED_WRONG);
        }
        if out[16] & 0x400 != 0 {
            exit_now(DF_SET);
        }
        exit_now(0)
    }
}

/// Byte pieces for building plausible functions.
const PIECES: &[&[u8]] = &[
    &[0x48, 0x89, 0xf8],
    &[0x89, 0xf8],
    &[0x01, 0xf0],
    &[0x48, 0x01, 0xf8],
    &[0x31, 0xc0],
    &[0x29, 0xc0],
    &[0x48, 0x8d, 0x04, 0x37],
    &[0x8d, 0x04, 0x37],
    &[0x48, 0x0f, 0xaf, 0xc6],
    &[0x48, 0xf7, 0xe6],
    &[0x53],
    &[0x5b],
    &[0x55],
    &[0x5d],
    &[0x41, 0x54],
    &[0x41, 0x5c],
    &[0x57],
    &[0x58],
    &[0x56],
    &[0x5a],
    &[0x48, 0x83, 0xec, 0x08],
    &[0x48, 0x83, 0xc4, 0x08],
    &[0x48, 0x83, 0xec, 0x20],
    &[0x48, 0x83, 0xc4, 0x20],
    &[0x48, 0x89, 0xe5],
    &[0xc9],
    &[0x48, 0x89, 0xec],
    &[0x85, 0xff],
    &[0x48, 0x39, 0xf7],
    &[0x39, 0xf7],
    &[0x74, 0x02],
    &[0x75, 0x03],
    &[0x7c, 0x01],
    &[0x75, 0xf8],
    &[0xeb, 0x02],
    &[0xeb, 0xfa],
    &[0xe2, 0xfc],
    &[0x48, 0x8b, 0x04, 0x24],
    &[0x48, 0x89, 0x3c, 0x24],
    &[0x48, 0x8b, 0x44, 0x24, 0xf8],
    &[0x48, 0x89, 0x7c, 0x24, 0xf8],
    &[0x48, 0x89, 0x5c, 0x24, 0xf0],
    &[0x48, 0x8b, 0x5c, 0x24, 0xf0],
    &[0x8b, 0x44, 0x24, 0x04],
    &[0x89, 0x74, 0x24, 0x10],
    &[0x48, 0x8b, 0x45, 0xf8],
    &[0x48, 0x89, 0x7d, 0xf8],
    &[0x0f, 0x4c, 0xc7],
    &[0x48, 0x0f, 0x4c, 0xc7],
    &[0x0f, 0x9c, 0xc0],
    &[0x0f, 0xb6, 0xc0],
    &[0xd3, 0xe0],
    &[0x89, 0xf1],
    &[0x48, 0x99],
    &[0x99],
    &[0xf7, 0xfe],
    &[0x48, 0xf7, 0xf6],
    &[0x48, 0x87, 0xdf],
    &[0x48, 0x87, 0xf7],
    &[0x48, 0x89, 0xd8],
    &[0x48, 0x89, 0xc3],
    &[0x49, 0x89, 0xdc],
    &[0x4c, 0x89, 0xe3],
    &[0x90],
    &[0x66, 0x89, 0xf8],
    &[0x88, 0xf8],
    &[0x48, 0x19, 0xc0],
    &[0x48, 0xff, 0xce],
    &[0x48, 0xf7, 0xd8],
    &[0x48, 0xc1, 0xe0, 0x03],
    &[0x48, 0xd3, 0xf8],
    &[0x0f, 0xc8],
    &[0x48, 0x0f, 0xbd, 0xc7],
    &[0xc3],
    &[0x48, 0x8d, 0x44, 0x24, 0xf0],
    &[0x48, 0x8b, 0x00],
    &[0x48, 0x8d, 0x64, 0x24, 0xf8],
    &[0x48, 0x8d, 0x64, 0x24, 0x08],
    &[0x4d, 0x31, 0xd2],
    &[0x4c, 0x01, 0xd0],
    &[0x44, 0x01, 0xc0],
    &[0x48, 0x81, 0xec, 0x00, 0x01, 0x00, 0x00],
    &[0x48, 0x81, 0xc4, 0x00, 0x01, 0x00, 0x00],
];

fn piece_program(rng: &mut Rng) -> Vec<u8> {
    let mut code = Vec::new();
    for _ in 0..rng.below(14) {
        code.extend_from_slice(PIECES[rng.below(PIECES.len())]);
    }
    code.push(0xc3);
    code
}

/// A function shaped like compiler output: save some callee-saved registers,
/// define rax, run random body pieces, restore, return.
fn shaped_program(rng: &mut Rng) -> Vec<u8> {
    const SAVES: &[(&[u8], &[u8])] = &[
        (&[0x53], &[0x5b]),
        (&[0x55], &[0x5d]),
        (&[0x41, 0x54], &[0x41, 0x5c]),
        (&[0x41, 0x55], &[0x41, 0x5d]),
        (&[0x41, 0x56], &[0x41, 0x5e]),
        (&[0x41, 0x57], &[0x41, 0x5f]),
    ];
    let saved: Vec<_> = (0..rng.below(4))
        .map(|_| SAVES[rng.below(SAVES.len())])
        .collect();
    let mut code = Vec::new();
    for (push, _) in &saved {
        code.extend_from_slice(push);
    }
    code.extend_from_slice(if rng.below(2) == 0 {
        &[0x48, 0x89, 0xf8]
    } else {
        &[0x31, 0xc0]
    });
    for _ in 0..rng.below(10) {
        code.extend_from_slice(PIECES[rng.below(PIECES.len())]);
    }
    for (_, pop) in saved.iter().rev() {
        code.extend_from_slice(pop);
    }
    code.push(0xc3);
    code
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut code = seed.to_vec();
    for _ in 0..1 + rng.below(3) {
        let n = code.len().max(1);
        match rng.below(4) {
            0 if !code.is_empty() => code[rng.below(n)] ^= 1 << rng.below(8),
            1 if !code.is_empty() => code[rng.below(n)] = rng.next() as u8,
            2 => code.insert(rng.below(n + 1).min(code.len()), rng.next() as u8),
            _ if code.len() > 1 => {
                code.remove(rng.below(n));
            }
            _ => {}
        }
    }
    code
}

fn corpus_seeds() -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/accept.txt");
    let text = std::fs::read_to_string(path).expect("accept corpus");
    text.lines()
        .filter_map(|l| l.split('#').next())
        .filter(|l| l.contains('|'))
        .map(|l| {
            let hex: String = l
                .split('|')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect()
        })
        .collect()
}

fn policies() -> Vec<(&'static str, Policy)> {
    let strict = Policy {
        max_frame: FRAME_SPAN,
        ..Policy::default()
    };
    let redzone = Policy {
        max_frame: FRAME_SPAN - 128,
        allow_red_zone: true,
        ..Policy::default()
    };
    let loose = Policy {
        allow_loops: true,
        allow_division: true,
        ..redzone.clone()
    };
    vec![
        ("strict", strict),
        ("redzone", redzone),
        ("loops+division", loose),
    ]
}

#[test]
fn accepted_code_behaves_when_run() {
    let sigs: Vec<Signature> = [
        "int64(int64,int64)",
        "int32(int32,int32)",
        "int64(int64,int64,int64,int64)",
        "int64()",
        "uint32(uint32)",
    ]
    .iter()
    .map(|s| s.parse().expect("sig"))
    .collect();
    let seeds = corpus_seeds();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut tried, mut ran) = (0, 0);
    let mut vtime = Duration::ZERO;
    let mut failures = Vec::new();
    let budget = Instant::now();
    // Stop after enough accepted samples; the time cap only guards a very slow machine.
    while tried < 12_000 && ran < 600 && budget.elapsed() < Duration::from_secs(60) {
        tried += 1;
        let code = match rng.below(10) {
            0..=2 => piece_program(&mut rng),
            3..=5 => shaped_program(&mut rng),
            6..=8 => {
                let seed = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, seed)
            }
            _ => (0..rng.below(24)).map(|_| rng.next() as u8).collect(),
        };
        let sig = sigs[rng.below(sigs.len())];
        for (name, policy) in policies() {
            let t0 = Instant::now();
            let verdict = validate(&code, &sig, &policy);
            vtime += t0.elapsed();
            if verdict.is_err() {
                continue;
            }
            ran += 1;
            let mut regs = [0u64; 16];
            for r in &mut regs {
                *r = rng.next();
            }
            let mut outcome = run(&code, regs);
            if outcome == Outcome::Timeout && !policy.allow_loops {
                outcome = run_with_limit(&code, regs, PATIENT_LIMIT);
            }
            let fine = match outcome {
                Outcome::Returned => true,
                Outcome::Signal(libc::SIGFPE) => policy.allow_division,
                Outcome::Timeout => policy.allow_loops,
                _ => false,
            };
            if !fine {
                let hex: Vec<String> = code.iter().map(|b| format!("{b:02x}")).collect();
                failures.push(format!(
                    "{} | {sig} | policy {name}: {outcome:?}",
                    hex.join(" ")
                ));
            }
            break; // the strictest accepting policy is enough per sample
        }
    }
    eprintln!("oracle: {tried} candidates, {ran} accepted and run; {vtime:?} validating");
    assert!(
        ran > 300,
        "too few accepted samples ({ran}) to mean anything"
    );
    assert!(
        failures.is_empty(),
        "soundness counter-examples:\n{}",
        failures.join("\n")
    );
}

#[test]
fn oracle_detects_misbehaviour() {
    let mut regs = [0u64; 16];
    for (i, r) in regs.iter_mut().enumerate() {
        *r = 0x1111_2222_3333_0000 + i as u64;
    }
    // mov eax, edi; ret
    assert_eq!(run(&[0x89, 0xf8, 0xc3], regs), Outcome::Returned);
    // mov rbx, rdi; ret
    assert_eq!(
        run(&[0x48, 0x89, 0xfb, 0xc3], regs),
        Outcome::Exit(CALLEE_SAVED_WRONG)
    );
    // std; ret
    assert_eq!(run(&[0xfd, 0xc3], regs), Outcome::Exit(DF_SET));
    // syscall (getpid): seccomp strict kills the child
    assert_eq!(
        run(&[0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xc3], regs),
        Outcome::Signal(libc::SIGKILL)
    );
    // write below the one-page frame: guard page
    assert_eq!(
        run(
            &[0x48, 0x89, 0xbc, 0x24, 0x00, 0xf0, 0xff, 0xff, 0xc3],
            regs
        ),
        Outcome::Signal(libc::SIGSEGV)
    );
    // read above the return address: guard page
    assert_eq!(
        run(&[0x48, 0x8b, 0x44, 0x24, 0x08, 0xc3], regs),
        Outcome::Signal(libc::SIGSEGV)
    );
    // jmp $
    assert_eq!(run(&[0xeb, 0xfe], regs), Outcome::Timeout);
    // pop rax; push rax; push rax; ret -> returns with rsp 8 lower... into the return address again
    assert_ne!(
        run(&[0x48, 0x83, 0xec, 0x08, 0xc3], regs),
        Outcome::Returned
    );
}
