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
//! - [`OVERRUN`]: an accepted loop whose claimed work bound
//!   ([`npk_jit::Report::max_steps`]) was 28,033 instructions while it
//!   runs millions: a block below a loop's head, inside its body, jumped
//!   back into the head without a back edge, restarting the head values
//!   the per-stay trip bound counts. It still ends; its bound is now none.
//!
//! Each case is `(signature, hex, assembly, arguments, buffer)`; a buffer
//! parameter's register is set by the runner to memory it maps, at the
//! given misalignment from a page start (a byte buffer may start anywhere).

use npk_jit::{Policy, Signature, validate};

#[path = "common/forked.rs"]
mod forked;

#[path = "common/corpus_format.rs"]
mod corpus_format;

#[path = "common/native.rs"]
mod native;

use native::Ended;

const PAGE: usize = 4096;
/// CPU time a run may take: the loops here end within microseconds or never.
const CPU_LIMIT_MS: i64 = 300;

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

/// `(signature, hex, assembly, arguments, buffer, why)`; the function
/// returns how often its head block `H` (3 instructions) ran.
const OVERRUN: Case = (
    "int64(int64* xs[n], int64 n)",
    "31 c0 b9 e8 03 00 00 ba e8 03 00 00 45 31 c9 48 83 fa 00 7e 34 48 ff ca \
     48 81 e9 e7 03 00 00 4d 85 c9 75 13 48 ff c0 48 81 f9 e8 03 00 00 73 19 \
     48 81 e9 e6 03 00 00 48 81 c1 e7 03 00 00 48 81 f9 e8 03 00 00 72 dd eb c6 c3",
    "xor eax, eax; mov ecx, 1000; mov edx, 1000; xor r9d, r9d; \
     P1: cmp rdx, 0; jle OUT; P2: dec rdx; sub rcx, 999; test r9, r9; jnz U; \
     H: inc rax; cmp rcx, 1000; jae OUT; H2: sub rcx, 998; \
     U: add rcx, 999; cmp rcx, 1000; jb H; U2: jmp P1; OUT: ret",
    [0, 2, 0, 0, 0, 0],
    Some(Buffer {
        param: 0,
        bytes: 16,
        misalign: 0,
    }),
    "P2 (below the head H, in its body: it reaches U without passing H) jumps into H \
     and rewinds rcx by 998: H's loop (rcx < 1000, +1 per back edge) counted 1,001 \
     trips per stay, but one stay of the outer loop takes 998 of them 1,000 times",
);

/// Runs `code` natively (no validator) with [`CPU_LIMIT_MS`] of CPU time,
/// on `args` and a fresh buffer.
fn run(code: &[u8], args: [u64; 6], buffer: Option<Buffer>) -> Ended {
    native::run_limited(code, CPU_LIMIT_MS, || {
        let mut a = args;
        if let Some(b) = buffer {
            let len = (b.bytes + b.misalign).div_ceil(PAGE) * PAGE;
            let data = native::map(len, libc::PROT_READ | libc::PROT_WRITE);
            a[b.param] = data as u64 + b.misalign as u64;
        }
        a
    })
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

#[test]
fn a_loop_reentered_below_its_head_claims_no_work_bound_it_exceeds() {
    let (sig, code, asm, args, buffer, why) = OVERRUN;
    let code = corpus_format::parse_hex(code);
    let sig: Signature = sig.parse().expect("signature");
    let Ended::Returned(head_runs) = run(&code, args, buffer) else {
        panic!("`{asm}` did not return");
    };
    assert_eq!(head_runs, 999_000, "`{asm}`: runs of its head block");
    // Three instructions per run of the head block alone.
    let executed_at_least = head_runs * 3;
    for (name, policy) in policies() {
        let report = validate(&code, &sig, &policy)
            .unwrap_or_else(|v| panic!("`{asm}` rejected under {name}: {v}"));
        if let Some(bound) = report.max_steps() {
            assert!(
                bound >= executed_at_least,
                "`{asm}` executes at least {executed_at_least} instructions but claims at \
                 most {bound} under {name}: {why}"
            );
        }
    }
}
