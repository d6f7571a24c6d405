//! Red-team cases for the termination rule "a counter tested at every
//! value" (`tested_counter` in `src/termination.rs`, issue 12, branch
//! `redcount`): code written to make the validator accept, under the
//! runtime's terminating policy, a loop that never ends.
//!
//! - [`HANGS`]: code the validator accepted before the fix (the same lines
//!   are in `corpus/termination.txt`). Each is run natively here (no
//!   validator) on arguments its signature allows and must still be running
//!   when its CPU-time limit ends it; then it must be rejected.
//! - [`SAFE_TWINS`]: their neighbours with a plain `jcc` as the exit test:
//!   accepted, and they return on the same arguments, so the runner's
//!   timeout is the hole's.
//! - `the_graph_path_does_not_change_verdicts`: every `terminate` line of
//!   the corpus gets the same verdict with 64 unreachable blocks appended,
//!   which moves the proof from the bit-mask graph (at most 64 blocks) to
//!   the list graph.

use npk_jit::{Policy, Signature, ViolationKind, validate};

#[path = "common/forked.rs"]
mod forked;

#[path = "common/corpus_format.rs"]
mod corpus_format;

#[path = "common/native.rs"]
mod native;

use native::Ended;

/// CPU time a run may take: the loops here end within microseconds or never.
const CPU_LIMIT_MS: i64 = 300;

/// `(signature, hex, assembly, arguments, why it never ends)`.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    [u64; 6],
    &'static str,
);

const HANGS: [Case; 2] = [
    (
        "int64(int64 a, int64 n)",
        "31 c0 45 31 c0 48 c7 c2 ff ff ff ff eb 03 4c 89 c2 49 83 c0 01 4c 39 c6 b9 01 00 00 00 \
         67 e1 0c 48 85 d2 78 e9 4c 39 c0 73 e7 eb e2 48 89 d0 c3",
        "xor eax, eax; xor r8d, r8d; mov rdx, -1; jmp 2f; 1: mov rdx, r8; 2: add r8, 1; \
         cmp rsi, r8; mov ecx, 1; addr32 loope 3f; test rdx, rdx; js 1b; cmp rax, r8; jae 2b; \
         jmp 1b; 3: mov rax, rdx; ret",
        [0, 5, 0, 0, 0, 0],
        "the argmax-like interleaved loops (only the counter rule proves them) with the exit \
         test `loope` counting in `ecx`: read as `je` leaving the component when r8 == n, but \
         it leaves only when ecx, decremented from 1, is not 0, so it never leaves",
    ),
    (
        "int64(int64 a, int64 n)",
        "31 c0 31 d2 ff c2 39 f2 b9 01 00 00 00 67 e1 02 eb f2 c3",
        "xor eax, eax; xor edx, edx; 1: inc edx; cmp edx, esi; mov ecx, 1; addr32 loope 2f; \
         jmp 1b; 2: ret",
        [0, 5, 0, 0, 0, 0],
        "a single loop of the same shape: once the single-test proof refuses `loope` in `ecx` \
         (branch redterm), the counter rule still took it for `je`",
    ),
];

const SAFE_TWINS: [(Case, u64); 2] = [
    (
        (
            "int64(int64 a, int64 n)",
            "31 c0 45 31 c0 48 c7 c2 ff ff ff ff eb 03 4c 89 c2 49 83 c0 01 4c 39 c6 b9 01 00 00 \
             00 74 0c 48 85 d2 78 ea 4c 39 c0 73 e8 eb e3 48 89 d0 c3",
            "xor eax, eax; xor r8d, r8d; mov rdx, -1; jmp 2f; 1: mov rdx, r8; 2: add r8, 1; \
             cmp rsi, r8; mov ecx, 1; je 3f; test rdx, rdx; js 1b; cmp rax, r8; jae 2b; \
             jmp 1b; 3: mov rax, rdx; ret",
            [0, 5, 0, 0, 0, 0],
            "",
        ),
        4,
    ),
    (
        (
            "int64(int64 a, int64 n)",
            "31 c0 31 d2 ff c2 39 f2 b9 01 00 00 00 74 02 eb f3 c3",
            "xor eax, eax; xor edx, edx; 1: inc edx; cmp edx, esi; mov ecx, 1; je 2f; jmp 1b; \
             2: ret",
            [0, 5, 0, 0, 0, 0],
            "",
        ),
        0,
    ),
];

/// Runs `code` natively (no validator) with [`CPU_LIMIT_MS`] of CPU time,
/// on `args`.
fn run(code: &[u8], args: [u64; 6]) -> Ended {
    native::run_limited(code, CPU_LIMIT_MS, || args)
}

fn code_of(hex: &str) -> Vec<u8> {
    corpus_format::parse_hex(hex)
}

#[test]
fn loops_the_counter_rule_accepted_run_forever_and_are_rejected() {
    for (sig, hex, asm, args, why) in HANGS {
        let code = code_of(hex);
        assert_eq!(
            run(&code, args),
            Ended::TimedOut,
            "{asm}: did not hang ({why})"
        );
        let sig: Signature = sig.parse().expect("signature");
        match validate(&code, &sig, &Policy::runtime()) {
            Err(v) => assert!(
                matches!(v.kind(), ViolationKind::LoopNotProven { .. }),
                "{asm}: rejected for another reason: {v}"
            ),
            Ok(r) => panic!("{asm}: accepted ({r}) but never returns: {why}"),
        }
    }
}

#[test]
fn their_twins_with_a_plain_jcc_are_accepted_and_return() {
    for ((sig, hex, asm, args, _), want) in SAFE_TWINS {
        let code = code_of(hex);
        let sig: Signature = sig.parse().expect("signature");
        if let Err(v) = validate(&code, &sig, &Policy::runtime()) {
            panic!("{asm}: rejected: {v}");
        }
        assert_eq!(run(&code, args), Ended::Returned(want), "{asm}");
    }
}

/// `n` unreachable `ret` blocks after the code.
fn padded(code: &[u8], n: usize) -> Vec<u8> {
    let mut out = code.to_vec();
    out.resize(code.len() + n, 0xc3);
    out
}

#[test]
fn the_graph_path_does_not_change_verdicts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let text = std::fs::read_to_string(dir.join("termination.txt")).expect("read corpus");
    let (mut compared, mut proven) = (0, 0);
    for raw in text.lines() {
        let Some(f) = corpus_format::split_line(raw) else {
            continue;
        };
        if !f.policy.split(',').any(|o| o.trim() == "terminate") {
            continue;
        }
        let code = code_of(f.hex);
        let sig: Signature = f.sig.parse().expect("signature");
        let policy = corpus_format::parse_policy(f.policy);
        let small = validate(&code, &sig, &policy);
        // Only verdicts the termination proof gives: the padding must not
        // matter to the rest (code falling off its end, say).
        let termination_verdict = match &small {
            Ok(_) => true,
            Err(v) => matches!(v.kind(), ViolationKind::LoopNotProven { .. }),
        };
        if !termination_verdict {
            continue;
        }
        let large = validate(&padded(&code, 64), &sig, &policy);
        let large_report = large.as_ref().map(|r| r.blocks());
        assert!(
            large_report.is_err() || large_report.is_ok_and(|b| b > 64),
            "the padding must make more than 64 blocks"
        );
        match (&small, &large) {
            (Ok(_), Ok(_)) => proven += 1,
            (Err(a), Err(b)) => assert_eq!(
                (a.kind(), a.offset()),
                (b.kind(), b.offset()),
                "{}: different rejections",
                f.hex
            ),
            _ => panic!(
                "{}: {:?} with at most 64 blocks, {:?} with more",
                f.hex,
                small.map(|r| r.to_string()).map_err(|e| e.to_string()),
                large.map(|r| r.to_string()).map_err(|e| e.to_string())
            ),
        }
        compared += 1;
    }
    assert!(
        compared >= 40 && proven >= 20,
        "{compared} compared, {proven} accepted"
    );
}
