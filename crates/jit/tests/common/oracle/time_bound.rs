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

use super::{Observed, Plan, call_regs};

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
    match bound(plan) {
        Some(b) if b <= budget(plan) => Observed::Violation(format!(
            "call {call} ran out of CPU time ({} ms for both calls, at code+{at:#x}) although \
             the validator bounds a call with these arguments by {b} instructions",
            plan.cpu_limit_ms
        )),
        _ => Observed::Timeout,
    }
}
