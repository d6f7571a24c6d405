//! Interprocedural summaries: what a call of each function does to ownership.
//!
//! A [`Summary`] says whether a function returns a newly owned pointer (and
//! of which [`ResourceKind`]) and which parameters it releases on every path.
//! Summaries are inferred from bodies (see `flow`), never from names. They
//! are computed one call cycle (strongly connected component of the call
//! graph, [`CallGraph`]) at a time, callees' cycles first; inside a cycle a
//! worklist re-analyses the callers of every function whose summary
//! changed, until none does: a true fixpoint for cycles of any length.
//! Summaries start at the bottom ([`Summaries::initial`]: no path returns,
//! nothing is released or returned) and only grow: the least fixpoint.

use crate::hir::{self, FuncId};

use super::state::ResourceKind;

/// What a call of one function does to ownership.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `Some(kind)` when the function returns a pointer its caller must release.
    pub returns_owned: Option<ResourceKind>,
    /// Per parameter: `Some(kind)` when the function releases it on every
    /// path that returns, with a deallocator for `kind`.
    pub releases: Vec<Option<ResourceKind>>,
    /// Per parameter: whether some path returns it (or a borrow of it). A
    /// call then yields the argument itself on those paths, not a fresh
    /// allocation: binding the result moves (or borrows) the argument.
    pub returns: Vec<bool>,
    /// Per parameter: some path returns an address computed *inside* it
    /// (`(p => int64) + k => T->`, e.g. a function in a code arena): the
    /// result is a borrow of the argument, valid while the argument's owner
    /// is; it is never owned, never released on its own, never a leak.
    pub returns_borrow: Vec<bool>,
    /// Per parameter: the function releases it on some paths only
    /// (`NPK-402`, reported there). A caller passing it on is not blamed
    /// again, and its own argument is not reported as leaked.
    pub partial: Vec<bool>,
    /// Some path of the function returns (`pass`, `fail`, or its end). A
    /// call of a function none of whose paths returns ends the caller's
    /// path, like `exit`.
    pub may_return: bool,
    /// The function's analysis ran out of budget (`NPK-405`): nothing is
    /// known about it, so callers treat its arguments as escaping.
    pub opaque: bool,
}

impl Summary {
    /// Whether parameter `index` is released by every call, and with which kind.
    #[must_use]
    pub fn releases_param(&self, index: usize) -> Option<ResourceKind> {
        self.releases.get(index).copied().flatten()
    }

    /// Whether the function releases parameter `index` on some paths only.
    #[must_use]
    pub fn partially_releases(&self, index: usize) -> bool {
        self.partial.get(index).copied().unwrap_or(false)
    }

    /// Whether some path of the function returns a borrow of parameter `index`.
    #[must_use]
    pub fn returns_borrow_of(&self, index: usize) -> bool {
        self.returns_borrow.get(index).copied().unwrap_or(false)
    }

    /// Whether some path of the function returns parameter `index`.
    #[must_use]
    pub fn returns_param(&self, index: usize) -> bool {
        self.returns.get(index).copied().unwrap_or(false)
    }
}

/// The summary of every function of a program, indexed by [`FuncId`].
#[derive(Debug, Clone, Default)]
pub struct Summaries {
    pub(crate) funcs: Vec<Summary>,
    /// Per function (`drop.npk`): the `wildx` bindings released at every
    /// scope end, for `drop_lower`.
    pub(crate) scope_released: Vec<Vec<hir::LocalId>>,
}

static NO_SUMMARY: Summary = Summary {
    returns_owned: None,
    releases: Vec::new(),
    returns: Vec::new(),
    returns_borrow: Vec::new(),
    partial: Vec::new(),
    may_return: true,
    opaque: true,
};

impl Summaries {
    /// The starting point of inference, the bottom of every property: no
    /// path returns, nothing is returned, nothing is released or kept.
    /// Summaries only grow from here (a least fixpoint): a recursive
    /// function that releases on its base case and passes the pointer on to
    /// itself otherwise is seen to return first through its base case, and
    /// then to release on every path.
    pub(crate) fn initial(program: &hir::Program) -> Summaries {
        Summaries {
            funcs: program
                .funcs
                .iter()
                .map(|f| Summary {
                    returns_owned: None,
                    releases: vec![None; f.params.len()],
                    returns: vec![false; f.params.len()],
                    returns_borrow: vec![false; f.params.len()],
                    partial: vec![false; f.params.len()],
                    may_return: false,
                    opaque: false,
                })
                .collect(),
            scope_released: vec![Vec::new(); program.funcs.len()],
        }
    }

    /// The `wildx` bindings of `func` released at every scope end (`drop.npk`).
    #[must_use]
    pub fn scope_released(&self, func: FuncId) -> &[hir::LocalId] {
        self.scope_released
            .get(func.0 as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// The summary of `func` (an empty one for an unknown id).
    #[must_use]
    pub fn get(&self, func: FuncId) -> &Summary {
        self.funcs.get(func.0 as usize).unwrap_or(&NO_SUMMARY)
    }
}

/// The call graph's strongly connected components (call cycles), callees'
/// components before their callers', with each function's distinct callees.
/// Iterative Tarjan, so a cycle of any length cannot overflow the stack.
pub(crate) struct CallGraph {
    pub callees: Vec<Vec<usize>>,
    pub sccs: Vec<Vec<usize>>,
}

impl CallGraph {
    pub(crate) fn new(program: &hir::Program) -> CallGraph {
        let n = program.funcs.len();
        let callees: Vec<Vec<usize>> = program
            .funcs
            .iter()
            .map(|f| {
                let mut c: Vec<usize> = f
                    .callees()
                    .into_iter()
                    .map(|FuncId(i)| i as usize)
                    .filter(|&i| i < n)
                    .collect();
                c.sort_unstable();
                c.dedup();
                c
            })
            .collect();
        const UNSEEN: usize = usize::MAX;
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut sccs = Vec::new();
        let mut next = 0usize;
        // (function, how many of its callees were visited)
        let mut work: Vec<(usize, usize)> = Vec::new();
        for root in 0..n {
            if index[root] != UNSEEN {
                continue;
            }
            work.push((root, 0));
            while let Some(&(v, k)) = work.last() {
                if k == 0 && index[v] == UNSEEN {
                    index[v] = next;
                    low[v] = next;
                    next += 1;
                    stack.push(v);
                    on_stack[v] = true;
                }
                if let Some(&w) = callees[v].get(k) {
                    if let Some(top) = work.last_mut() {
                        top.1 += 1;
                    }
                    if index[w] == UNSEEN {
                        work.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut scc = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        scc.push(w);
                        if w == v {
                            break;
                        }
                    }
                    scc.reverse();
                    sccs.push(scc);
                }
            }
        }
        CallGraph { callees, sccs }
    }
}
