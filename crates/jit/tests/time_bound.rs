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
use npk_jit::{Policy, Signature, validate};
use oracle::{Counted, Observed, Plan, Rng};

fn sig(text: &str) -> Signature {
    text.parse().expect("valid signature")
}

/// A plan for `code` whose every call passes `args` (in parameter order).
fn plan_with<'a>(code: &'a [u8], sig: Signature, policy: &'a Policy, args: &[u64]) -> Plan<'a> {
    let mut plan = Plan::new(&mut Rng::new(7), code, sig, policy);
    for (i, &a) in args.iter().enumerate() {
        oracle::set_arg(&mut plan, i, a);
    }
    plan
}

/// `xor eax,eax; mov rcx,rdi; top: add rax,rcx; dec rcx; jnz top; ret`:
/// `n` rounds for `n > 0`, 2^64 for `n = 0`.
const SUM_DOWN: [u8; 14] = [
    0x31, 0xc0, 0x48, 0x89, 0xf9, 0x48, 0x01, 0xc8, 0x48, 0xff, 0xc9, 0x75, 0xf8, 0xc3,
];

#[test]
fn max_steps_is_the_reachable_count_without_loops_and_unknown_without_proofs() {
    // mov rax, rdi; test rdi, rdi; jz done; add rax, rax; done: ret
    let code = [
        0x48, 0x89, 0xf8, 0x48, 0x85, 0xff, 0x74, 0x03, 0x48, 0x01, 0xc0, 0xc3,
    ];
    let r = validate(&code, &sig("int64(int64)"), &Policy::default()).expect("accepted");
    assert_eq!(r.max_steps(), Some(5));
    // The same loop with and without termination proofs.
    let loops = Policy {
        allow_loops: true,
        ..Policy::default()
    };
    let r = validate(&SUM_DOWN, &sig("int64(int64 n)"), &loops).expect("accepted");
    assert_eq!(r.max_steps(), None);
    let told = Policy {
        assumed_args: Some(vec![7]),
        ..Policy::runtime()
    };
    let r = validate(&SUM_DOWN, &sig("int64(int64 n)"), &told).expect("accepted");
    let bound = r.max_steps().expect("bounded for a known count");
    assert!((3 + 3 * 7..=3 + 3 * 9).contains(&bound), "{bound}");
}

#[test]
fn nested_loops_multiply_their_trips() {
    // xor eax,eax; xor ecx,ecx; outer: xor edx,edx; inner: inc rdx;
    // add rax,rdx; cmp rdx,5; jl inner; inc rcx; cmp rcx,7; jl outer; ret
    let code = [
        0x31, 0xc0, 0x31, 0xc9, 0x31, 0xd2, 0x48, 0xff, 0xc2, 0x48, 0x01, 0xd0, 0x48, 0x83, 0xfa,
        0x05, 0x7c, 0xf4, 0x48, 0xff, 0xc1, 0x48, 0x83, 0xf9, 0x07, 0x7c, 0xe9, 0xc3,
    ];
    let policy = Policy::runtime();
    let plan = plan_with(&code, sig("int64()"), &policy, &[]);
    let bound = oracle::bound(&plan).expect("bounded");
    let (o, steps) = oracle::count_steps(&plan);
    assert_eq!(o, Observed::Returned);
    // 2 + 7 * (1 + 5 * 4 + 3) + 1 instructions.
    assert_eq!(steps, [171; 2]);
    assert!((171..=2 * 171).contains(&bound), "{bound}");
}

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
fn a_run_longer_than_the_bound_is_a_counter_example() {
    let s = sig("int64(int64 n)");
    let lying = Policy {
        assumed_args: Some(vec![10]),
        ..Policy::runtime()
    };
    let plan = plan_with(&SUM_DOWN, s, &lying, &[1000]);
    let seen = oracle::steps_within_bound(&plan);
    assert!(
        matches!(&seen, Counted::Broken(why) if why.contains("executed 3003 instructions in one call, more than the validator's bound")),
        "{seen:?}"
    );
    let honest = Policy::runtime();
    let plan = plan_with(&SUM_DOWN, s, &honest, &[1000]);
    assert!(
        matches!(oracle::steps_within_bound(&plan), Counted::Within { steps: 3003, bound } if bound < 4000)
    );
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
                if !oracle::small_args(&mut rng, &mut plan) {
                    continue;
                }
                match oracle::steps_within_bound(&plan) {
                    Counted::Skipped => {}
                    Counted::Within { steps, .. } => {
                        counted += 1;
                        most = most.max(steps);
                    }
                    Counted::Broken(why) => {
                        failures.push(format!("{} | {s} | {}: {why}", f.hex, f.policy));
                    }
                }
            }
        }
    }
    eprintln!(
        "max_steps: {lines} lines accepted with loops allowed, {counted} runs counted, at most {most} steps"
    );
    assert!(
        lines > 100 && counted > 200,
        "{lines} lines, {counted} runs"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
