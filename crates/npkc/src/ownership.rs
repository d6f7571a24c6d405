//! Ownership checking of `wild`/`wildx` pointers: leaks (`ARIA-014`), use
//! after release or move (`ARIA-015`), double free (`ARIA-022`), mismatched
//! deallocators (`NPK-401`), and the interprocedural problems `NPK-402`/`403`.
//!
//! In: a typed [`hir::Program`] (every function of every module, stdlib and
//! `Type:` namespaces included). Out: problems in the [`Problems`] sink, and
//! the [`Summaries`] inferred for every function. Pieces: `summary` (what a
//! call does, and the call graph's cycles), `flow` (the
//! flow-sensitive analysis of one body), `state` (the abstract state),
//! `roots` (registered gc roots as resources: NPK-407..410),
//! `error` (problems as data, and `npkc --explain` texts).
//!
//! Decision on `exit`: a path ending in `exit` runs its pending defers (so a
//! double free or use after release there is still reported), then every
//! binding that still owns an allocation is a leak reported at the `exit`
//! (the seed's bug248: each page is paired with a release, even when the
//! process ends). The path ends there: nothing after it sees its state. A
//! path where the pointer is known `NULL` (or the `Result` holding it is an
//! error, `r.is_error`) owns nothing.

mod error;
mod flow;
mod roots;
mod state;
mod summary;
#[cfg(test)]
mod tests;

pub use error::EXPLANATIONS;
pub use roots::EXPLANATIONS as ROOT_EXPLANATIONS;
pub use state::ResourceKind;
pub use summary::{Summaries, Summary};

use crate::diagnostic::Problems;
use crate::hir;

/// The analysis budgets. Exceeding any is `NPK-405` for the function, never
/// a changed verdict.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Statements one function's analysis may interpret: `fuel_base`, plus
    /// `fuel_per_byte` per byte of the function's source (linear in length).
    pub fuel_base: u64,
    pub fuel_per_byte: u64,
    /// Iterations of one loop before its state must be stable (the lattice
    /// is finite and small: real loops settle in two or three).
    pub loop_iterations: usize,
    /// Re-analyses of one function while its call cycle settles: a base plus an
    /// allowance per distinct callee (each callee's summary changes only a
    /// few times, and each change re-queues its callers once).
    pub rounds_base: usize,
    pub rounds_per_callee: usize,
}

impl Limits {
    pub(crate) const DEFAULT: Limits = Limits {
        fuel_base: 200_000,
        fuel_per_byte: 8,
        loop_iterations: 64,
        rounds_base: 16,
        rounds_per_callee: 8,
    };
}

/// Checks every function of `program`, pushing problems into `problems`,
/// and returns the summaries inferred for its functions.
pub fn check(program: &hir::Program, problems: &mut Problems) -> Summaries {
    check_with(program, problems, &Limits::DEFAULT)
}

/// [`check`] with explicit budgets.
pub(crate) fn check_with(
    program: &hir::Program,
    problems: &mut Problems,
    limits: &Limits,
) -> Summaries {
    let graph = summary::CallGraph::new(program);
    let n = program.funcs.len();
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (f, cs) in graph.callees.iter().enumerate() {
        for &c in cs {
            callers[c].push(f);
        }
    }
    let mut summaries = Summaries::initial(program);
    let mut errors: Vec<Vec<error::OwnershipError>> = vec![Vec::new(); n];
    let mut scc_of = vec![usize::MAX; n];
    let mut rounds = vec![0usize; n];
    let mut queued = vec![false; n];
    for (k, scc) in graph.sccs.iter().enumerate() {
        for &f in scc {
            scc_of[f] = k;
        }
        // Every member once, callees first; then the callers (inside the
        // cycle) of each function whose summary changed, until none does.
        // Each analysis of `f` sees the current summaries of its callees,
        // and any later change re-queues it, so the last analysis of every
        // function used the final summaries: its problems are the answer.
        let mut work: std::collections::VecDeque<usize> = scc.iter().copied().collect();
        for &f in scc {
            queued[f] = true;
        }
        while let Some(f) = work.pop_front() {
            queued[f] = false;
            let Ok(id) = u32::try_from(f).map(hir::FuncId) else {
                continue;
            };
            rounds[f] += 1;
            // The first analysis is free; the budget counts re-analyses.
            let limit = 1 + limits.rounds_base + limits.rounds_per_callee * graph.callees[f].len();
            let (errs, summary) = if rounds[f] > limit {
                let func = program.func(id);
                let err = error::OwnershipError::BudgetExceeded {
                    func: func.name.clone(),
                    at: func.name_span,
                    what: error::Budget::SummaryRounds,
                };
                let opaque = Summary {
                    opaque: true,
                    ..Summary::default()
                };
                (vec![err], opaque)
            } else {
                let result = flow::analyze(program, id, &summaries, limits);
                if let Some(s) = summaries.scope_released.get_mut(f) {
                    *s = result.scope_released;
                }
                (result.errors, result.summary)
            };
            errors[f] = errs;
            let Some(slot) = summaries.funcs.get_mut(f) else {
                continue;
            };
            if *slot == summary {
                continue;
            }
            *slot = summary;
            for &c in &callers[f] {
                if scc_of[c] == k && !queued[c] {
                    queued[c] = true;
                    work.push_back(c);
                }
            }
        }
    }
    for e in errors.into_iter().flatten() {
        problems.push(e.to_diagnostic());
    }
    for e in roots::check(program) {
        problems.push(e.to_diagnostic());
    }
    summaries
}
