//! Ownership checking of `wild`/`wildx` pointers: leaks (`ARIA-014`), use
//! after release or move (`ARIA-015`), double free (`ARIA-022`), mismatched
//! deallocators (`NPK-401`), and the interprocedural problems `NPK-402`/`403`.
//!
//! In: a typed [`hir::Program`] (every function of every module, stdlib and
//! `Type:` namespaces included). Out: problems in the [`Problems`] sink, and
//! the [`Summaries`] inferred for every function. Pieces: `summary` (what a
//! call does, inferred callee-first and iterated to a fixpoint), `flow` (the
//! flow-sensitive analysis of one body), `state` (the abstract state),
//! `error` (problems as data, and `npkc --explain` texts).
//!
//! Decision on `exit`: a path ending in `exit` runs its pending defers (so a
//! double free or use after release there is still reported) but reports no
//! leak, because the process ends there. Falling off the end of `main` is
//! the end of its body's scope, and leaks are reported there.

mod error;
mod flow;
mod state;
mod summary;
#[cfg(test)]
mod tests;

pub use error::EXPLANATIONS;
pub use state::ResourceKind;
pub use summary::{Summaries, Summary};

use crate::diagnostic::Problems;
use crate::hir;

/// Rounds of summary inference before settling for what was found (the
/// usual program converges in two: one to compute, one to confirm).
const MAX_SUMMARY_ROUNDS: usize = 16;

/// Checks every function of `program`, pushing problems into `problems`,
/// and returns the summaries inferred for its functions.
pub fn check(program: &hir::Program, problems: &mut Problems) -> Summaries {
    let order = summary::callee_first_order(program);
    let mut summaries = Summaries::initial(program);
    let mut errors = Vec::new();
    for round in 0..MAX_SUMMARY_ROUNDS {
        let mut changed = false;
        let mut round_errors = Vec::new();
        for &f in &order {
            let result = flow::analyze(program, f, &summaries);
            round_errors.extend(result.errors);
            if let Some(slot) = summaries.funcs.get_mut(f.0 as usize)
                && *slot != result.summary
            {
                *slot = result.summary;
                changed = true;
            }
        }
        errors = round_errors;
        // A round that changed nothing analysed every body with the final
        // summaries, so its problems are the answer.
        if !changed || round + 1 == MAX_SUMMARY_ROUNDS {
            break;
        }
    }
    for e in errors {
        problems.push(e.to_diagnostic());
    }
    summaries
}
