//! Interprocedural summaries: what a call of each function does to ownership.
//!
//! A [`Summary`] says whether a function returns a newly owned pointer (and
//! of which [`ResourceKind`]) and which parameters it releases on every path.
//! Summaries are inferred from bodies (see `flow`), never from names. They
//! are computed callee-first ([`callee_first_order`]) and iterated to a
//! fixpoint so that recursion converges.

use crate::hir::{self, Block, Expr, ExprKind, FuncId, PlaceKind, StmtKind, TemplatePart};

use super::state::ResourceKind;

/// What a call of one function does to ownership.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `Some(kind)` when the function returns a pointer its caller must release.
    pub returns_owned: Option<ResourceKind>,
    /// Per parameter: `Some(kind)` when the function releases it on every
    /// path that returns, with a deallocator for `kind`.
    pub releases: Vec<Option<ResourceKind>>,
}

impl Summary {
    /// Whether parameter `index` is released by every call, and with which kind.
    #[must_use]
    pub fn releases_param(&self, index: usize) -> Option<ResourceKind> {
        self.releases.get(index).copied().flatten()
    }
}

/// The summary of every function of a program, indexed by [`FuncId`].
#[derive(Debug, Clone, Default)]
pub struct Summaries {
    pub(crate) funcs: Vec<Summary>,
}

static NO_SUMMARY: Summary = Summary {
    returns_owned: None,
    releases: Vec::new(),
};

impl Summaries {
    /// The starting point of inference: no function returns an owned
    /// pointer (grown as bodies show otherwise), and every function releases
    /// every pointer parameter (shrunk as bodies show otherwise). "Releases
    /// on every path" is a must-property, so it starts optimistic: a
    /// recursive function that releases on its base case and passes the
    /// pointer on to itself otherwise then releases on every path.
    pub(crate) fn initial(program: &hir::Program) -> Summaries {
        Summaries {
            funcs: program
                .funcs
                .iter()
                .map(|f| Summary {
                    returns_owned: None,
                    releases: f
                        .params
                        .iter()
                        .map(|p| {
                            let is_ptr = f
                                .locals
                                .get(p.0 as usize)
                                .is_some_and(|l| l.ty.is_pointer());
                            is_ptr.then_some(ResourceKind::Mixed)
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The summary of `func` (an empty one for an unknown id).
    #[must_use]
    pub fn get(&self, func: FuncId) -> &Summary {
        self.funcs.get(func.0 as usize).unwrap_or(&NO_SUMMARY)
    }
}

/// Every function, callees before callers (depth-first post-order over the
/// call graph; members of a cycle in some order).
pub(crate) fn callee_first_order(program: &hir::Program) -> Vec<FuncId> {
    let n = program.funcs.len();
    let callees: Vec<Vec<FuncId>> = program
        .funcs
        .iter()
        .map(|f| {
            let mut out = Vec::new();
            calls_in_block(&f.body, &mut out);
            out.retain(|c| (c.0 as usize) < n);
            out
        })
        .collect();
    let mut visited = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for root in 0..n {
        if visited[root] {
            continue;
        }
        visited[root] = true;
        // Iterative DFS: (node, index of the next callee to visit).
        let mut stack = vec![(root, 0usize)];
        while let Some((node, next)) = stack.last_mut() {
            if let Some(callee) = callees[*node].get(*next) {
                *next += 1;
                let c = callee.0 as usize;
                if !visited[c] {
                    visited[c] = true;
                    stack.push((c, 0));
                }
            } else {
                order.push(FuncId(
                    u32::try_from(*node).expect("function count fits u32"),
                ));
                stack.pop();
            }
        }
    }
    order
}

fn calls_in_block(block: &Block, out: &mut Vec<FuncId>) {
    for stmt in &block.stmts {
        match &stmt.kind {
            StmtKind::Let { init, .. } => calls_in_expr(init, out),
            StmtKind::Assign { place, value, .. } => {
                match &place.kind {
                    PlaceKind::Local(_) => {}
                    PlaceKind::Index { base, index } => {
                        calls_in_expr(base, out);
                        calls_in_expr(index, out);
                    }
                    PlaceKind::Deref(e) => calls_in_expr(e, out),
                }
                calls_in_expr(value, out);
            }
            StmtKind::Expr(e) | StmtKind::Fail(e) | StmtKind::Exit(e) => calls_in_expr(e, out),
            StmtKind::Pass(e) => {
                if let Some(e) = e {
                    calls_in_expr(e, out);
                }
            }
            StmtKind::If {
                cond,
                then_block,
                else_block,
            } => {
                calls_in_expr(cond, out);
                calls_in_block(then_block, out);
                if let Some(b) = else_block {
                    calls_in_block(b, out);
                }
            }
            StmtKind::While { cond, body, step } => {
                calls_in_expr(cond, out);
                calls_in_block(body, out);
                if let Some(b) = step {
                    calls_in_block(b, out);
                }
            }
            StmtKind::Loop {
                start,
                limit,
                step,
                body,
                ..
            } => {
                calls_in_expr(start, out);
                calls_in_expr(limit, out);
                calls_in_expr(step, out);
                calls_in_block(body, out);
            }
            StmtKind::Block(b) | StmtKind::Defer(b) => calls_in_block(b, out),
            StmtKind::Break | StmtKind::Continue => {}
        }
    }
}

fn calls_in_expr(e: &Expr, out: &mut Vec<FuncId>) {
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Str(_)
        | ExprKind::Local(_)
        | ExprKind::AddrOf(_) => {}
        ExprKind::Template(parts) => {
            for p in parts {
                if let TemplatePart::Expr(e) = p {
                    calls_in_expr(e, out);
                }
            }
        }
        ExprKind::Load(place) => match &place.kind {
            PlaceKind::Local(_) => {}
            PlaceKind::Index { base, index } => {
                calls_in_expr(base, out);
                calls_in_expr(index, out);
            }
            PlaceKind::Deref(e) => calls_in_expr(e, out),
        },
        ExprKind::Unary { expr, .. }
        | ExprKind::Raw(expr)
        | ExprKind::Drop(expr)
        | ExprKind::ResultField { expr, .. }
        | ExprKind::Cast(expr) => calls_in_expr(expr, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            calls_in_expr(lhs, out);
            calls_in_expr(rhs, out);
        }
        ExprKind::Cond {
            cond,
            then_expr,
            else_expr,
        } => {
            calls_in_expr(cond, out);
            calls_in_expr(then_expr, out);
            calls_in_expr(else_expr, out);
        }
        ExprKind::Call { func, args } => {
            out.push(*func);
            for a in args {
                calls_in_expr(a, out);
            }
        }
        ExprKind::CallExtern { args, .. } | ExprKind::Builtin { args, .. } => {
            for a in args {
                calls_in_expr(a, out);
            }
        }
        ExprKind::OrElse { expr, default } => {
            calls_in_expr(expr, out);
            calls_in_expr(default, out);
        }
    }
}
