//! Red team of the state reuse inside one [`Validator`] (the register heads
//! and numbers, the symbol facts' "certainly empty" flag, the entry state of
//! signatures with and without buffers): every corpus line validated by one
//! validator, in shuffled orders that interleave buffer and scalar
//! signatures, value-domain retries and rejections, gives exactly the
//! result (report or violation) a fresh validator gives it.

#[path = "common/corpus_format.rs"]
mod corpus_format;

use corpus_format::{parse_hex, parse_policy, split_line};
use npk_jit::{Policy, Report, Signature, Validator, Violation};

/// One corpus case.
struct Case {
    code: Vec<u8>,
    sig: Signature,
    policy: Policy,
    line: String,
}

/// Every line of `tests/corpus/*.txt`.
fn corpus() -> Vec<Case> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read corpus file");
        for raw in text.lines() {
            let Some(f) = split_line(raw) else { continue };
            cases.push(Case {
                code: parse_hex(f.hex),
                sig: f.sig.parse().expect("corpus signatures parse"),
                policy: parse_policy(f.policy),
                line: raw.to_string(),
            });
        }
    }
    cases
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// Passes over the corpus: file order, then shuffles.
const ROUNDS: usize = 6;

#[test]
fn verdicts_do_not_depend_on_what_the_validator_validated_before() {
    let cases = corpus();
    let fresh: Vec<Result<Report, Violation>> = cases
        .iter()
        .map(|c| Validator::new().validate(&c.code, &c.sig, &c.policy))
        .collect();
    let with_buffers = cases.iter().filter(|c| c.sig.has_buffer()).count();
    assert!(
        cases.len() > 800 && with_buffers > 350 && cases.len() - with_buffers > 400,
        "{} cases, {with_buffers} with buffers",
        cases.len()
    );
    // In file order, then shuffled (a buffer case is followed by a scalar
    // one about every other time).
    let mut v = Validator::new();
    let mut order: Vec<usize> = (0..cases.len()).collect();
    let mut rng = Rng(0x5eed_57a7e);
    let mut checked = 0;
    for round in 0..ROUNDS {
        if round > 0 {
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
        }
        for &i in &order {
            let c = &cases[i];
            let got = v.validate(&c.code, &c.sig, &c.policy);
            assert_eq!(got, fresh[i], "round {round}: {}", c.line);
            checked += 1;
        }
    }
    assert_eq!(checked, ROUNDS * cases.len());
}

/// Hand-written: a scalar signature validated right after a buffer one
/// whose branches narrowed its extent (symbol facts written), and after a
/// rejected buffer loop, gets the fresh validator's verdict.
#[test]
fn a_scalar_function_after_narrowed_buffer_facts_is_judged_afresh() {
    let sig = |s: &str| -> Signature { s.parse().expect("valid signature") };
    let bounded = sig("int64(int64* xs[n], uint64 n, int64 i)");
    let scalar = sig("int64(int64, int64)");
    let no_args = sig("int64()");
    let loops = parse_policy("loops");
    // xor eax,eax; cmp rdx,rsi; jae 1f; mov rax,[rdi+rdx*8]; 1: ret
    let narrowed = parse_hex("31 c0 48 39 f2 73 04 48 8b 04 d7 c3");
    // xor eax,eax; xor ecx,ecx; 1: add rax,[rdi+rcx*8]; inc rcx; cmp rcx,rsi; jb 1b; ret
    let unchecked = parse_hex("31 c0 31 c9 48 03 04 cf 48 ff c1 48 39 f1 72 f4 c3");
    // The same index through a scalar: no buffer, so a load is refused.
    let scalar_load = parse_hex("31 c0 48 39 f2 73 04 48 8b 04 d7 c3");
    // xor eax,eax; 1: add rax,2; cmp rax,10; jne 1b; ret (the retry).
    let step_two = parse_hex("31 c0 48 83 c0 02 48 83 f8 0a 75 f6 c3");
    let fresh_scalar = Validator::new().validate(&scalar_load, &scalar, &loops);
    let fresh_step = Validator::new().validate(&step_two, &no_args, &loops);
    assert!(fresh_scalar.is_err() && fresh_step.is_ok());
    let mut v = Validator::new();
    for _ in 0..3 {
        assert!(v.validate(&narrowed, &bounded, &loops).is_ok());
        assert_eq!(v.validate(&scalar_load, &scalar, &loops), fresh_scalar);
        assert!(v.validate(&unchecked, &bounded, &loops).is_err());
        assert_eq!(v.validate(&step_two, &no_args, &loops), fresh_step);
        assert!(v.validate(&narrowed, &bounded, &loops).is_ok());
    }
}

/// Mutants of corpus lines (bytes replaced, inserted or dropped, halves of
/// two lines spliced, signatures and policies swapped between lines): the
/// reused validator's result equals a fresh one's on each, so reuse adds no
/// acceptance the oracle campaigns of fresh verdicts did not see.
/// `NPK_RED_STATE_MUTANTS` sets the count (default 20,000).
#[test]
fn mutants_are_judged_as_a_fresh_validator_judges_them() {
    let cases = corpus();
    let count: usize = std::env::var("NPK_RED_STATE_MUTANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    // Mostly mutants of accepted lines: their neighbours reach deep into
    // the fixpoint.
    let good: Vec<&Case> = cases
        .iter()
        .filter(|c| {
            Validator::new()
                .validate(&c.code, &c.sig, &c.policy)
                .is_ok()
        })
        .collect();
    let mut rng = Rng(0x0dd_5eed);
    let mut v = Validator::new();
    let (mut accepted, mut rich_sigs) = (0, 0);
    for n in 0..count {
        let a = if rng.below(4) == 0 {
            &cases[rng.below(cases.len())]
        } else {
            good[rng.below(good.len())]
        };
        let b = &cases[rng.below(cases.len())];
        let mut code = a.code.clone();
        if code.is_empty() {
            // The corpus's empty-code line.
            code.push(0xc3);
        }
        match rng.below(6) {
            // One bit: often another register, immediate or condition.
            0 | 1 => {
                let i = rng.below(code.len());
                code[i] ^= 1 << rng.below(8);
            }
            2 => {
                let i = rng.below(code.len());
                code[i] = rng.below(256) as u8;
            }
            3 => {
                let i = rng.below(code.len() + 1);
                code.insert(i, rng.below(256) as u8);
            }
            4 if code.len() > 1 => {
                code.remove(rng.below(code.len()));
            }
            _ => {
                let cut = rng.below(code.len() + 1);
                code.truncate(cut);
                code.extend_from_slice(&b.code[rng.below(b.code.len() + 1)..]);
            }
        }
        let sig = if rng.below(6) == 0 { &b.sig } else { &a.sig };
        let policy = if rng.below(6) == 0 {
            &b.policy
        } else {
            &a.policy
        };
        rich_sigs += usize::from(sig.has_buffer());
        let got = v.validate(&code, sig, policy);
        let fresh = Validator::new().validate(&code, sig, policy);
        accepted += usize::from(fresh.is_ok());
        assert_eq!(
            got,
            fresh,
            "mutant {n}: {} | {sig} (from `{}`)",
            code.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
            a.line
        );
    }
    assert!(
        accepted * 20 > count && rich_sigs * 4 > count,
        "{accepted} accepted, {rich_sigs} with buffers of {count}"
    );
}

/// Hand-written: assumed arguments (constants in registers, an extent's
/// exact range among the symbol facts) do not outlive the validation that
/// assumed them: the same code without them gets the fresh verdict.
#[test]
fn assumed_arguments_do_not_leak_into_the_next_validation() {
    let sig = |s: &str| -> Signature { s.parse().expect("valid signature") };
    let bounded = sig("int64(int64* xs[n], int64 n, int64 i)");
    let scalar = sig("int64(int64, int64)");
    // mov rax, [rdi+rdx*8]; ret: in bounds only when i < n is assumed.
    let load = parse_hex("48 8b 04 d7 c3");
    // xor eax,eax; 1: add rax,2; sub rdi,2; jnz 1b; ret: ends only for an even rdi.
    let even = parse_hex("31 c0 48 83 c0 02 48 83 ef 02 75 f6 c3");
    let plain = parse_policy("loops, terminate");
    let assume = |args: &[u64]| Policy {
        assumed_args: Some(args.to_vec()),
        ..parse_policy("loops, terminate")
    };
    let cases = [
        (&load, &bounded, assume(&[0, 8, 3])),
        (&load, &bounded, plain.clone()),
        (&even, &scalar, assume(&[6, 0])),
        (&even, &scalar, plain.clone()),
        (&load, &bounded, assume(&[0, 2, 5])),
        (&even, &scalar, assume(&[7, 0])),
    ];
    let fresh: Vec<_> = cases
        .iter()
        .map(|(code, sig, policy)| Validator::new().validate(code, sig, policy))
        .collect();
    // The assumptions matter: with them the load and the even walk pass.
    assert!(fresh[0].is_ok() && fresh[1].is_err() && fresh[4].is_err());
    assert!(fresh[2].is_ok() && fresh[3].is_err() && fresh[5].is_err());
    let mut v = Validator::new();
    let mut rng = Rng(0x000a_550e);
    for _ in 0..200 {
        let i = rng.below(cases.len());
        let (code, sig, policy) = &cases[i];
        assert_eq!(v.validate(code, sig, policy), fresh[i], "case {i}");
    }
}
