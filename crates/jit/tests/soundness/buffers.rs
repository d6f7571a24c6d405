//! The buffer half of the soundness harness: buffer kernels
//! (`kernels.rs`) and their mutants through `validate`, every accepted one
//! through the oracle's buffer sweep (`common/oracle/buffers.rs`: both
//! layouts, element counts 0 to 300 and negative, indices on the bounds).
//!
//! In: an [`Rng`] per case. Out: [`BufferStats`] and counter-examples as
//! corpus lines, `HEX | SIG | reject [| POLICY]  # origin: observed`,
//! ready for `tests/corpus/soundness.src`. Mutants of an accepted kernel:
//! one instruction deleted or duplicated (branches re-resolved), one
//! comparison swapped (`jl`/`jle`, `jb`/`jl`, ...), a compared register
//! changed between the `cmp` and its `jcc`, prefix, byte and wild mutants
//! (`mutate.rs`). Flawed kernels are candidates like
//! any other: the validator must reject them, and if it does not the
//! oracle shows why. A timeout is inconclusive (accepted code may loop
//! until issue 12 proves termination) unless the code wrote out of bounds
//! before it (the oracle checks its canaries when the CPU time runs out).

use npk_jit::{Policy, Signature, validate};

use crate::asm::{self, Item};
use crate::kernels::{self, Kernel, SHAPES};
use crate::lift;
use crate::mutate;
use crate::oracle::{self, CODE_BASE, CODE_MAX, COUNTS, Rng};

/// What the buffer harness did.
#[derive(Default, Debug)]
pub struct BufferStats {
    pub cases: u64,
    pub candidates: u64,
    pub accepted: u64,
    /// Kernels generated with a flaw that the validator accepted.
    pub accepted_flawed: u64,
    pub runs: u64,
    /// Time-outs the validator's bound for the run's arguments does not
    /// call short: long, inconclusive (`oracle/time_bound.rs`).
    pub timeouts: u64,
    /// Runs single-stepped against the validator's bound, and the most
    /// instructions one of them executed.
    pub counted: u64,
    pub most_counted: u64,
    /// Accepted code with a dead end the control-flow graph alone cannot
    /// rule out (`oracle::no_exit`); the runs decide.
    pub no_exit_suspects: u64,
    /// Generated and accepted kernels per shape (in [`SHAPES`] order).
    pub per_shape: [(u64, u64); SHAPES.len()],
}

/// The policies buffer candidates are validated under: `Jit.compile`'s, and
/// the strict one with loops.
pub fn policies() -> [Policy; 2] {
    [
        Policy::runtime(),
        Policy {
            allow_loops: true,
            ..Policy::default()
        },
    ]
}

/// A counter-example as a corpus line.
pub fn corpus_line(code: &[u8], sig: Signature, policy: &Policy, note: &str) -> String {
    let p = crate::policy_text(policy);
    let p = if p.is_empty() {
        String::new()
    } else {
        format!(" | {p}")
    };
    format!("{} | {sig} | reject{p}  # {note}", crate::hex(code))
}

/// Validates `code`; if accepted, checks it statically and sweeps it
/// through the oracle (`rounds` count choices, both layouts). `Err` is a
/// counter-example line.
pub fn check(
    rng: &mut Rng,
    code: &[u8],
    sig: Signature,
    policy: &Policy,
    origin: &str,
    rounds: usize,
    stats: &mut BufferStats,
) -> Result<bool, String> {
    stats.candidates += 1;
    if code.is_empty() || code.len() > CODE_MAX || validate(code, &sig, policy).is_err() {
        return Ok(false);
    }
    stats.accepted += 1;
    let fail = |why: String| corpus_line(code, sig, policy, &format!("{origin}: {why}"));
    if let Some(why) = oracle::decode_mismatch(code) {
        return Err(fail(why));
    }
    stats.no_exit_suspects += u64::from(oracle::no_exit(code).is_some());
    let seen = oracle::sweep(rng, code, sig, policy, rounds);
    stats.runs += u64::from(seen.runs);
    stats.timeouts += u64::from(seen.timeouts);
    if let Some(why) = seen.violation {
        return Err(fail(why));
    }
    // One run with small counts single-stepped: no call may execute more
    // instructions than the validator's bound for its arguments.
    let mut plan = oracle::Plan::new(rng, code, sig, policy);
    plan.stack.pages = Some(2);
    if oracle::small_args(rng, &mut plan) {
        match oracle::steps_within_bound(&plan) {
            oracle::Counted::Skipped => {}
            oracle::Counted::Within { steps, .. } => {
                stats.counted += 1;
                stats.most_counted = stats.most_counted.max(steps);
            }
            oracle::Counted::Broken(why) => return Err(fail(why)),
        }
    }
    Ok(true)
}

/// A kernel's name in reports: shape and flaw.
pub fn origin(k: &Kernel) -> String {
    match k.flaw {
        Some(f) => format!("{} kernel with flaw {f:?}", k.shape),
        None => format!("{} kernel", k.shape),
    }
}

/// One case: a random kernel and, if accepted, six mutants of it.
pub fn case(rng: &mut Rng, stats: &mut BufferStats, failures: &mut Vec<String>) {
    stats.cases += 1;
    let k = kernels::random(rng);
    let policy = rng.pick(&policies()).clone();
    let code = asm::assemble(&k.items, CODE_BASE);
    let shape = SHAPES.iter().position(|s| *s == k.shape).unwrap_or(0);
    stats.per_shape[shape].0 += 1;
    let name = origin(&k);
    match check(rng, &code, k.sig, &policy, &name, COUNTS.len(), stats) {
        Err(line) => failures.push(line),
        Ok(false) => {}
        Ok(true) => {
            stats.per_shape[shape].1 += 1;
            stats.accepted_flawed += u64::from(k.flaw.is_some());
            for _ in 0..6 {
                let (mutant, how) = mutant(rng, &k.items, &code);
                let origin = format!("{how} of a {name}");
                if let Err(line) = check(rng, &mutant, k.sig, &policy, &origin, 4, stats) {
                    failures.push(line);
                }
            }
        }
    }
}

/// Condition-code pairs a comparison mutant swaps: one off (`jl`/`jle`,
/// `jb`/`jbe`, `jae`/`ja`, `jge`/`jg`) and signedness (`jb`/`jl`, `jae`/
/// `jge`, `jbe`/`jle`, `ja`/`jg`).
const CONDITION_PAIRS: [(u8, u8); 8] = [
    (0xc, 0xe),
    (0x2, 0x6),
    (0x3, 0x7),
    (0xd, 0xf),
    (0x2, 0xc),
    (0x3, 0xd),
    (0x6, 0xe),
    (0x7, 0xf),
];

/// `items` with one conditional jump's condition swapped for its pair in
/// [`CONDITION_PAIRS`] (or negated when it has none), if there is one.
pub fn swap_condition(rng: &mut Rng, items: &[Item]) -> Vec<Item> {
    let mut out = items.to_vec();
    let jumps: Vec<usize> = (0..out.len())
        .filter(|&i| matches!(out[i], Item::Jump { cond: Some(_), .. }))
        .collect();
    if jumps.is_empty() {
        return out;
    }
    if let Item::Jump { cond: Some(c), .. } = &mut out[*rng.pick(&jumps)] {
        let pairs: Vec<u8> = CONDITION_PAIRS
            .iter()
            .filter_map(|&(a, b)| (a == *c).then_some(b).or((b == *c).then_some(a)))
            .collect();
        *c = if pairs.is_empty() {
            *c ^ 1
        } else {
            *rng.pick(&pairs)
        };
    }
    out
}

/// `items` with a register of the `cmp`/`test` before a conditional jump
/// changed between the two by an instruction that keeps the flags (`mov r,
/// imm32`, `lea r, [r+1]`, `xchg r, s`, `mov r8, s8`): the jump then tests
/// values the register no longer holds. The items unchanged if no
/// conditional jump follows a comparison.
pub fn clobber_compared(rng: &mut Rng, items: &[Item]) -> Vec<Item> {
    use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind};
    let mut out = items.to_vec();
    let sites: Vec<(usize, Vec<usize>)> = (1..out.len())
        .filter(|&i| matches!(out[i], Item::Jump { cond: Some(_), .. }))
        .filter_map(|i| {
            let Item::Ins { bytes, .. } = &out[i - 1] else {
                return None;
            };
            let ins = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE).decode();
            if !matches!(ins.mnemonic(), Mnemonic::Cmp | Mnemonic::Test) {
                return None;
            }
            let regs: Vec<usize> = (0..ins.op_count())
                .filter(|&k| ins.op_kind(k) == OpKind::Register)
                .map(|k| ins.op_register(k).full_register().number())
                .filter(|&r| r != 4)
                .collect();
            (!regs.is_empty()).then_some((i, regs))
        })
        .collect();
    if sites.is_empty() {
        return out;
    }
    let (at, regs) = rng.pick(&sites).clone();
    let r = *rng.pick(&regs);
    let other = *rng.pick(&[0, 1, 2, 6, 7, 8, 9, 10, 11]);
    let bytes = match rng.below(4) {
        0 => asm::mov_imm(4, r, rng.below(1 << 16)),
        1 => asm::lea(r, r, 1),
        2 => asm::rr(&[0x87], &[0x86], 8, other, r),
        _ => asm::rr(&[0x89], &[0x88], 1, other, r),
    };
    out.insert(at, Item::ins(bytes));
    out
}

/// A random mutant of `items` (encoded as `code`).
fn mutant(rng: &mut Rng, items: &[Item], code: &[u8]) -> (Vec<u8>, &'static str) {
    let slots = lift::instruction_slots(items);
    let i = *rng.pick(&slots);
    match rng.below(7) {
        6 => (
            asm::assemble(&clobber_compared(rng, items), CODE_BASE),
            "compare-clobber mutant",
        ),
        5 => (
            asm::assemble(&swap_condition(rng, items), CODE_BASE),
            "comparison mutant",
        ),
        0 => (
            asm::assemble(&lift::delete(items, i), CODE_BASE),
            "deletion mutant",
        ),
        1 => (
            asm::assemble(&lift::duplicate(items, i), CODE_BASE),
            "duplication mutant",
        ),
        2 => (
            asm::assemble(&mutate::items(rng, items), CODE_BASE),
            "prefix mutant",
        ),
        3 => (
            asm::assemble(&mutate::wild(rng, items), CODE_BASE),
            "wild mutant",
        ),
        _ => (mutate::bytes(rng, code), "byte mutant"),
    }
}

/// Validates `items` with every single instruction deleted and every one
/// duplicated (branches re-resolved), under `policy`; sweeps every accepted
/// variant through the oracle (`rounds` count choices). Returns the
/// counter-example lines and how many variants were accepted.
pub fn single_instruction_mutants(
    rng: &mut Rng,
    items: &[Item],
    sig: Signature,
    policy: &Policy,
    name: &str,
    rounds: usize,
    stats: &mut BufferStats,
) -> Vec<String> {
    let mut failures = Vec::new();
    for i in lift::instruction_slots(items) {
        for (variant, how) in [
            (lift::delete(items, i), "deleted"),
            (lift::duplicate(items, i), "duplicated"),
        ] {
            let code = asm::assemble(&variant, CODE_BASE);
            let origin = format!("{name} with item {i} {how}");
            if let Err(line) = check(rng, &code, sig, policy, &origin, rounds, stats) {
                failures.push(line);
            }
        }
    }
    failures
}

/// A line of `tests/corpus/buffers.txt`: code, signature, policy, and
/// whether its verdict is `safe`.
pub type CorpusLine = (Vec<u8>, Signature, Policy, bool);

/// The lines of `tests/corpus/buffers.txt` (gcc-compiled buffer functions,
/// `safe` or `unsafe ...`) and `tests/corpus/buffers-hand.txt` (hand-written,
/// `accept` or `reject ...`), where they exist; `safe`/`accept` lines are
/// the ones whose mutants are tried. Without a policy field a line is
/// validated under `Policy::runtime()` (loops allowed).
pub fn buffer_corpus() -> Vec<CorpusLine> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    ["buffers.txt", "buffers-hand.txt"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(corpus_line_fields)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One corpus line as code, signature, policy and whether it is safe.
fn corpus_line_fields(line: &str) -> Option<CorpusLine> {
    let line = line.split('#').next().unwrap_or("");
    let fields: Vec<&str> = line.split('|').map(str::trim).collect();
    let verdict = *fields.get(2)?;
    let safe = match verdict.split_whitespace().next()? {
        "safe" | "accept" => true,
        "unsafe" | "reject" => false,
        _ => return None,
    };
    let sig = fields[1].parse().ok()?;
    let policy = match fields.get(3) {
        Some(p) if !p.is_empty() => crate::corpus_format::parse_policy(p),
        _ => Policy::runtime(),
    };
    Some((
        crate::corpus_format::parse_hex(fields[0]),
        sig,
        policy,
        safe,
    ))
}
