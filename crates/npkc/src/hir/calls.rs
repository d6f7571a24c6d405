//! The call graph of a [`Program`]: each function's direct callees, and a
//! callee-first (post-order) walk from chosen roots. Used by `ownership`
//! (summaries are inferred callees first) and `codegen` (only reachable
//! functions are built, callees first so small ones can be inlined).

use super::{Block, Expr, ExprKind, Func, FuncId, PlaceKind, Program, StmtKind, TemplatePart};

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
        match &st.kind {
            StmtKind::Let { init, .. } => expr(init, out),
            StmtKind::Assign { place, value, .. } => {
                match &place.kind {
                    PlaceKind::Local(_) => {}
                    PlaceKind::Index { base, index } => {
                        expr(base, out);
                        expr(index, out);
                    }
                    PlaceKind::Deref(p) => expr(p, out),
                }
                expr(value, out);
            }
            StmtKind::Expr(e) | StmtKind::Fail(e) | StmtKind::Exit(e) => expr(e, out),
            StmtKind::Pass(e) => {
                if let Some(e) = e {
                    expr(e, out);
                }
            }
            StmtKind::If {
                cond,
                then_block,
                else_block,
            } => {
                expr(cond, out);
                block(then_block, out);
                if let Some(b) = else_block {
                    block(b, out);
                }
            }
            StmtKind::While { cond, body, step } => {
                expr(cond, out);
                block(body, out);
                if let Some(s) = step {
                    block(s, out);
                }
            }
            StmtKind::Loop {
                start,
                limit,
                step,
                body,
                ..
            } => {
                expr(start, out);
                expr(limit, out);
                expr(step, out);
                block(body, out);
            }
            StmtKind::Block(b) | StmtKind::Defer(b) => block(b, out),
            StmtKind::Break | StmtKind::Continue => {}
        }
    }
}

fn expr(e: &Expr, out: &mut Vec<FuncId>) {
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Str(_)
        | ExprKind::Local(_)
        | ExprKind::Take(_)
        | ExprKind::AddrOf(_) => {}
        ExprKind::Template(parts) => {
            for p in parts {
                if let TemplatePart::Expr(x) = p {
                    expr(x, out);
                }
            }
        }
        ExprKind::Load(place) => match &place.kind {
            PlaceKind::Local(_) => {}
            PlaceKind::Index { base, index } => {
                expr(base, out);
                expr(index, out);
            }
            PlaceKind::Deref(p) => expr(p, out),
        },
        ExprKind::Unary { expr: x, .. }
        | ExprKind::Raw(x)
        | ExprKind::Drop(x)
        | ExprKind::ResultField { expr: x, .. }
        | ExprKind::Cast(x) => expr(x, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            expr(lhs, out);
            expr(rhs, out);
        }
        ExprKind::Cond {
            cond,
            then_expr,
            else_expr,
        } => {
            expr(cond, out);
            expr(then_expr, out);
            expr(else_expr, out);
        }
        ExprKind::Call { func, args } => {
            out.push(*func);
            args.iter().for_each(|a| expr(a, out));
        }
        ExprKind::CallExtern { args, .. } | ExprKind::Builtin { args, .. } => {
            args.iter().for_each(|a| expr(a, out));
        }
        ExprKind::OrElse { expr: x, default } => {
            expr(x, out);
            expr(default, out);
        }
    }
}
