//! The work bound (`Report::max_steps`, issue 12) against real runs.
//!
//! Code accepted under a terminating policy gets a bound on the
//! instructions one call executes; the oracle (`common/oracle.rs`,
//! `oracle/time_bound.rs`) counts a CPU time-out as a violation when the
//! bound for the run's own arguments says the calls finish well within the
//! limit, and as long (inconclusive) otherwise. Here: the rule fails when
//! the bound is wrong (an assumed count of 10, a run with 2^40), a long but
//! proven loop is long, and single-stepped runs (`oracle::count_steps`) of
//! every accepted loop in the corpus execute no more instructions than the
//! bound for their arguments.

#[path = "common/corpus_format.rs"]
mod corpus_format;
#[path = "common/oracle.rs"]
mod oracle;

use corpus_format::{parse_hex, parse_policy, split_line};
use npk_jit::{Param, Policy, SigType, Signature, validate};
use oracle::{ARG_REGS, Observed, Plan, Rng};

fn sig(text: &str) -> Signature {
    text.parse().expect("valid signature")
}

/// Sets scalar argument `i` of both calls to `a` (only the low half of a
/// 32-bit one: the upper halves stay different, as undefined inputs).
fn set_arg(plan: &mut Plan, i: usize, a: u64) {
    let mask = match plan.sig.param(i).map(Param::ty) {
        Some(SigType::Int32 | SigType::Uint32) => 0xffff_ffff,
        Some(SigType::Int64 | SigType::Uint64) => u64::MAX,
        _ => return,
    };
    for call in &mut plan.regs {
        let r = &mut call[ARG_REGS[i]];
        *r = (*r & !mask) | (a & mask);
    }
}

/// A plan for `code` whose every call passes `args` (in parameter order).
fn plan_with<'a>(code: &'a [u8], sig: Signature, policy: &'a Policy, args: &[u64]) -> Plan<'a> {
    let mut plan = Plan::new(&mut Rng::new(7), code, sig, policy);
    for (i, &a) in args.iter().enumerate() {
        set_arg(&mut plan, i, a);
    }
    plan
}

/// `xor eax,eax; mov rcx,rdi; top: add rax,rcx; dec rcx; jnz top; ret`:
/// `n` rounds for `n > 0`, 2^64 for `n = 0`.
const SUM_DOWN: [u8; 14] = [
    0x31, 0xc0, 0x48, 0x89, 0xf9, 0x48, 0x01, 0xc8, 0x48, 0xff, 0xc9, 0x75, 0xf8, 0xc3,
];

#[test]
fn single_steps_count_every_instruction_of_a_call() {
    let policy = Policy::runtime();
    let s = sig("int64(int64 n)");
    for n in [1u64, 2, 10, 100] {
        let plan = plan_with(&SUM_DOWN, s, &policy, &[n]);
        let (o, steps) = oracle::count_steps(&plan);
        assert_eq!(o, Observed::Returned);
        // Two instructions, three per round, the `ret`.
        assert_eq!(steps, [3 + 3 * n; 2], "n = {n}");
        let bound = oracle::bound(&plan).expect("a bound for a known count");
        assert!(bound >= steps[0], "{bound} < {}", steps[0]);
        assert!(bound <= 2 * steps[0] + 16, "loose bound {bound} for {n}");
    }
}

#[test]
fn a_time_out_within_the_bound_for_the_arguments_is_a_violation() {
    let s = sig("int64(int64 n)");
    // The validator is told the count is 10; the run passes 2^40: a bound
    // that does not hold for the run, which the oracle must report.
    let lying = Policy {
        assumed_args: Some(vec![10]),
        ..Policy::runtime()
    };
    let plan = plan_with(&SUM_DOWN, s, &lying, &[1 << 40]);
    assert!(oracle::bound(&plan).is_some_and(|b| b < 100));
    let o = oracle::run(&plan);
    assert!(
        matches!(&o, Observed::Violation(why) if why.contains("although the validator bounds a call with these arguments by")),
        "{o}"
    );
    // Told the truth, the same run is long: inconclusive.
    let honest = Policy::runtime();
    let plan = plan_with(&SUM_DOWN, s, &honest, &[1 << 40]);
    let bound = oracle::bound(&plan).expect("a bound");
    assert!(bound > oracle::budget(&plan), "{bound}");
    assert_eq!(oracle::run(&plan), Observed::Timeout);
    // And a count the bound allows returns.
    let plan = plan_with(&SUM_DOWN, s, &honest, &[1000]);
    assert!(oracle::bound(&plan).is_some_and(|b| b <= oracle::budget(&plan)));
    assert_eq!(oracle::run(&plan), Observed::Returned);
}

#[test]
fn a_long_proven_loop_is_long_not_a_violation() {
    // mov ecx, 0x90000012; top: dec rcx; jnz top; mov eax, ecx; ret
    let code = [
        0xb9, 0x12, 0x00, 0x00, 0x90, 0x48, 0xff, 0xc9, 0x75, 0xfb, 0x89, 0xc8, 0xc3,
    ];
    let policy = Policy::runtime();
    let s = sig("int64()");
    validate(&code, &s, &policy).expect("a proven countdown");
    let plan = plan_with(&code, s, &policy, &[]);
    let bound = oracle::bound(&plan).expect("a bound");
    assert!(
        (2 * 0x9000_0012..=4 * 0x9000_0012).contains(&bound),
        "{bound}"
    );
    assert_eq!(oracle::run(&plan), Observed::Timeout);
}

/// Small argument values: counts near the buffers' sizes and loop bounds,
/// negative ones, zero.
fn small_args(rng: &mut Rng, sig: &Signature) -> Vec<u64> {
    sig.full_params()
        .map(|p| match p {
            Param::Scalar(SigType::Pointer) | Param::Buffer(_) => 0,
            Param::Scalar(SigType::Uint64) => *rng.pick(&[0u64, 1, 2, 3, 7, 16, 100]),
            _ => *rng.pick(&[0u64, 1, 2, 3, 7, 16, 100, (-1i64) as u64, (-5i64) as u64]),
        })
        .collect()
}

#[test]
fn max_steps_covers_every_instruction_of_the_corpus_loops() {
    let mut rng = Rng::new(0x5_7e95);
    let (mut lines, mut counted, mut most) = (0, 0, 0u64);
    let mut failures = Vec::new();
    for file in [
        "termination.txt",
        "buffers-hand.txt",
        "buffers.txt",
        "accept.txt",
        "division.txt",
    ] {
        let path = format!("{}/tests/corpus/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("read corpus");
        for raw in text.lines() {
            let Some(f) = split_line(raw) else { continue };
            let code = parse_hex(f.hex);
            let Ok(s) = f.sig.parse::<Signature>() else {
                continue;
            };
            let mut policy = parse_policy(f.policy);
            policy.allow_loops = true;
            policy.require_termination = true;
            if code.len() > oracle::CODE_MAX
                || !policy.allowed_calls.is_empty()
                || !s.uses().is_empty()
                || validate(&code, &s, &policy).is_err()
            {
                continue;
            }
            lines += 1;
            for _ in 0..3 {
                let mut plan = Plan::new(&mut rng, &code, s, &policy);
                let args = small_args(&mut rng, &s);
                let mut counts = [0i64; 6];
                for (c, &a) in counts.iter_mut().zip(&args) {
                    *c = a as i64;
                }
                let Ok(buffers) = oracle::buffers_with(&mut rng, &s, &counts) else {
                    continue;
                };
                plan.buffers = buffers;
                for (i, &a) in args.iter().enumerate() {
                    set_arg(&mut plan, i, a);
                }
                plan.cpu_limit_ms = 2000;
                let Some(bound) = oracle::bound(&plan).filter(|&b| b <= 20_000) else {
                    continue;
                };
                let (o, steps) = oracle::count_steps(&plan);
                counted += 1;
                most = most.max(steps[0]);
                let over = steps.iter().any(|&n| n > bound);
                if over || matches!(o, Observed::Violation(_) | Observed::Timeout) {
                    failures.push(format!(
                        "{} | {s} | args {args:?}: {o}, {steps:?} steps, bound {bound}",
                        f.hex
                    ));
                }
            }
        }
    }
    eprintln!("max_steps: {lines} lines accepted with loops allowed, {counted} runs counted, at most {most} steps");
    assert!(lines > 100 && counted > 200, "{lines} lines, {counted} runs");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
