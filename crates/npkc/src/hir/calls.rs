//! The call graph of a [`Program`]: each function's direct callees, and a
//! callee-first (post-order) walk from chosen roots. Used by `ownership`
//! (summaries are inferred callees first) and `codegen` (only reachable
//! functions are built, callees first so small ones can be inlined).

use super::{Block, Expr, ExprKind, Func, FuncId, Program};

impl Func {
    /// The Nitpick functions this body calls directly, in source order (with
    /// repeats). Externs and builtins are not included.
    #[must_use]
    pub fn callees(&self) -> Vec<FuncId> {
        let mut out = Vec::new();
        block(&self.body, &mut out);
        out
    }
}

impl Program {
    /// The functions reachable from `roots`, each after the functions it
    /// calls, except along a cycle (recursion), where the order is that of
    /// the depth-first walk. Iterative, so a deep call chain cannot overflow
    /// the compiler's stack; ids outside the program are ignored.
    #[must_use]
    pub fn callee_first(&self, roots: impl IntoIterator<Item = FuncId>) -> Vec<FuncId> {
        let mut seen = vec![false; self.funcs.len()];
        let mut order = Vec::new();
        // (function, its direct callees, how many of them were visited)
        let mut stack: Vec<(FuncId, Vec<FuncId>, usize)> = Vec::new();
        for root in roots {
            self.push_unseen(root, &mut seen, &mut stack);
            while let Some((id, callees, next)) = stack.last_mut() {
                if let Some(&c) = callees.get(*next) {
                    *next += 1;
                    self.push_unseen(c, &mut seen, &mut stack);
                } else {
                    order.push(*id);
                    stack.pop();
                }
            }
        }
        order
    }

    fn push_unseen(
        &self,
        id: FuncId,
        seen: &mut [bool],
        stack: &mut Vec<(FuncId, Vec<FuncId>, usize)>,
    ) {
        let Some(slot) = seen.get_mut(id.0 as usize) else {
            return;
        };
        if *slot {
            return;
        }
        *slot = true;
        stack.push((id, self.func(id).callees(), 0));
    }
}

fn block(b: &Block, out: &mut Vec<FuncId>) {
    for st in &b.stmts {
        st.for_each_expr(&mut |e| expr(e, out));
        st.for_each_block(&mut |b| block(b, out));
    }
}

fn expr(e: &Expr, out: &mut Vec<FuncId>) {
    if let ExprKind::Call { func, .. } = &e.kind {
        out.push(*func);
    }
    e.for_each_child(&mut |x| expr(x, out));
}
