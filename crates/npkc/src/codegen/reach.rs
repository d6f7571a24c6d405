//! Which functions the executable needs: those reachable through calls from
//! `main` and `failsafe`. Unreachable functions (most of an imported stdlib
//! module, typically) are not compiled, so neither they nor the externs only
//! they call cost compile time, object size or link-time symbols.
//!
//! [`bottom_up`] orders the reachable functions callees first, so a small
//! callee is built (and can be inlined) before its callers.

use crate::hir::{FuncId, Program};

/// The reachable functions, each after its callees (except along recursion).
pub(super) fn bottom_up(program: &Program) -> Vec<FuncId> {
    program.callee_first(program.main.into_iter().chain(program.failsafe))
}

/// `reachable[i]` says whether `program.funcs[i]` must be compiled.
pub(super) fn reachable(program: &Program) -> Vec<bool> {
    let mut live = vec![false; program.funcs.len()];
    for id in bottom_up(program) {
        if let Some(slot) = live.get_mut(id.0 as usize) {
            *slot = true;
        }
    }
    live
}
