//! How the oracle judges a call that ran out of CPU time (issue 12).
//!
//! In: the [`Plan`] of a run whose child's CPU-time limit ran out (with no
//! other violation seen). Out: a violation when the validator itself says
//! the two calls finish well within the limit, else [`Observed::Timeout`]
//! ("long, inconclusive"). The validator's bound comes from validating the
//! plan's code again under the plan's policy with the run's scalar
//! arguments and extents assumed ([`npk_jit::Policy::assumed_args`], the
//! test hook), so ranges are exact and `Report::max_steps` is the bound of
//! this call, not of every call. The bound counts instructions, the limit
//! is CPU time: [`MIN_INSTRUCTIONS_PER_SEC`] converts, and the calls must
//! be predicted to need at most a [`MARGIN`]th of the limit.
//! `NPK_ORACLE_SHOW_LONG=1` prints every time-out judged, with its bound.

use npk_jit::{Param, SigType};

use super::{Observed, Plan, Rng, call_regs};

/// The fewest instructions per second of user CPU time the oracle assumes
/// accepted code runs at: 100 ns an instruction. The slowest instructions
/// the validator accepts are 64-bit `div`/`idiv` (up to about 100 cycles)
/// and loads that miss the caches (the code's memory is its stack, at most
/// 64 KiB, and the oracle's buffers, at most 32 KiB each, so a miss is rare,
/// and about 300 cycles at worst); at 1 GHz or more that is under 100 ns.
/// String instructions, system calls and I/O are never accepted, page
/// faults are kernel time, and calls to helpers are not judged here.
pub const MIN_INSTRUCTIONS_PER_SEC: u64 = 10_000_000;

/// The calls' predicted time may be at most this fraction of the limit
/// before a time-out counts as a violation (the rest covers the child's
/// own setup, which the CPU timer also counts, and its tick granularity).
pub const MARGIN: u64 = 4;

/// The instructions one call may take so that a time-out of the plan's two
/// calls is a violation.
pub fn budget(plan: &Plan) -> u64 {
    plan.cpu_limit_ms * (MIN_INSTRUCTIONS_PER_SEC / 1000) / MARGIN / 2
}

/// The validator's bound on one call of the plan's code with the plan's
/// arguments, if it accepts the code with them assumed.
pub fn bound(plan: &Plan) -> Option<u64> {
    // Calls run code the bound does not count.
    if !plan.policy.allowed_calls.is_empty() || !plan.sig.uses().is_empty() {
        return None;
    }
    let mut policy = plan.policy.clone();
    // A policy that already assumes arguments keeps them (self-tests use
    // this to make the oracle judge by a wrong assumption).
    if policy.assumed_args.is_none() {
        let regs = call_regs(plan)[0];
        policy.assumed_args = Some(
            (0..plan.sig.param_count())
                .map(|i| regs[super::ARG_REGS[i]])
                .collect(),
        );
    }
    npk_jit::validate(plan.code, &plan.sig, &policy)
        .ok()?
        .max_steps()
}

/// The verdict on call `call` having run out of CPU time at code offset
/// `at` (no other violation seen).
pub fn judge_timeout(plan: &Plan, call: usize, at: u64) -> Observed {
    let bound = bound(plan);
    if std::env::var_os("NPK_ORACLE_SHOW_LONG").is_some() {
        let hex: Vec<String> = plan.code.iter().map(|b| format!("{b:02x}")).collect();
        let regs = call_regs(plan)[0];
        let args: Vec<String> = (0..plan.sig.param_count())
            .map(|i| format!("{:#x}", regs[super::ARG_REGS[i]]))
            .collect();
        eprintln!(
            "time-out: {} | {} | args {} | at code+{at:#x}, bound {bound:?}, budget {}",
            hex.join(" "),
            plan.sig,
            args.join(", "),
            budget(plan)
        );
    }
    match bound {
        Some(b) if b <= budget(plan) => Observed::Violation(format!(
            "call {call} ran out of CPU time ({} ms for both calls, at code+{at:#x}) although \
             the validator bounds a call with these arguments by {b} instructions",
            plan.cpu_limit_ms
        )),
        _ => Observed::Timeout,
    }
}

/// Most instructions [`steps_within_bound`] single-steps (about 1.5 µs
/// each).
pub const COUNT_MAX: u64 = 20_000;

/// What [`steps_within_bound`] saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Counted {
    /// No bound of at most [`COUNT_MAX`] for these arguments (or the code
    /// calls out): not run.
    Skipped,
    /// Both calls ran; the most instructions one executed, and the bound.
    Within { steps: u64, bound: u64 },
    /// A call executed more instructions than the bound, or the counted run
    /// showed another violation: a counter-example, described.
    Broken(String),
}

/// Runs the plan single-stepped ([`super::count_steps`]) if the validator
/// bounds a call with its arguments by at most [`COUNT_MAX`] instructions,
/// and checks that neither call executes more.
pub fn steps_within_bound(plan: &Plan) -> Counted {
    let Some(bound) = bound(plan).filter(|&b| b <= COUNT_MAX) else {
        return Counted::Skipped;
    };
    let mut plan = plan.clone();
    // Single steps are slow; the bound is small.
    plan.cpu_limit_ms = plan.cpu_limit_ms.max(2000);
    let (o, steps) = super::count_steps(&plan);
    let most = steps[0].max(steps[1]);
    match o {
        Observed::Violation(why) => Counted::Broken(why),
        Observed::Timeout => Counted::Broken(format!(
            "single-stepped, ran out of CPU time although the validator bounds a call with \
             these arguments by {bound} instructions"
        )),
        _ if most > bound => Counted::Broken(format!(
            "executed {most} instructions in one call, more than the validator's bound of \
             {bound} for these arguments"
        )),
        _ => Counted::Within { steps: most, bound },
    }
}

/// Sets scalar argument `i` of both calls to `a` (only the low half of a
/// 32-bit one: the upper halves stay different, as undefined inputs; an
/// extent parameter is set from its buffer's count when the plan runs).
pub fn set_arg(plan: &mut Plan, i: usize, a: u64) {
    let mask = match plan.sig.param(i).map(Param::ty) {
        Some(SigType::Int32 | SigType::Uint32) => 0xffff_ffff,
        Some(SigType::Int64 | SigType::Uint64) => u64::MAX,
        _ => return,
    };
    for call in &mut plan.regs {
        let r = &mut call[super::ARG_REGS[i]];
        *r = (*r & !mask) | (a & mask);
    }
}

/// Gives every scalar argument a small value (0 to 100, or -1 or -5 for a
/// signed one) and every buffer a small count (also as the value of an
/// extent parameter), so loops to arguments have small bounds. `false` if
/// the oracle cannot lay out such buffers.
pub fn small_args(rng: &mut Rng, plan: &mut Plan) -> bool {
    let sig = plan.sig;
    let mut counts = [0i64; 6];
    for (i, p) in sig.full_params().enumerate() {
        let v = match p {
            Param::Scalar(SigType::Pointer) | Param::Buffer(_) => continue,
            Param::Scalar(SigType::Uint64 | SigType::Uint32) => {
                *rng.pick(&[0u64, 1, 2, 3, 7, 16, 100])
            }
            _ => *rng.pick(&[0u64, 1, 2, 3, 7, 16, 100, (-1i64) as u64, (-5i64) as u64]),
        };
        counts[i] = v as i64;
        set_arg(plan, i, v);
    }
    match super::buffers_with(rng, &sig, &counts) {
        Ok(b) => {
            plan.buffers = b;
            true
        }
        Err(_) => false,
    }
}
