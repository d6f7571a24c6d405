//! Structural walks over the HIR: the direct subexpressions of an expression
//! and the expressions and blocks directly inside a statement, in source
//! order. Analyses (the call graph, codegen's string regions) recurse with
//! these instead of each matching every variant.

use super::Block;
use super::{Expr, ExprKind, Place, PlaceKind, Stmt, StmtKind, TemplatePart};

impl Expr {
    /// Calls `f` on each direct subexpression, in evaluation order
    /// (template parts and the operands of a load's place included).
    pub fn for_each_child<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        match &self.kind {
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
                        f(x);
                    }
                }
            }
            ExprKind::Load(place) => place.for_each_operand(f),
            ExprKind::Unary { expr: x, .. }
            | ExprKind::Raw(x)
            | ExprKind::Drop(x)
            | ExprKind::ResultField { expr: x, .. }
            | ExprKind::Cast(x) => f(x),
            ExprKind::Binary { lhs, rhs, .. } => {
                f(lhs);
                f(rhs);
            }
            ExprKind::Cond {
                cond,
                then_expr,
                else_expr,
            } => {
                f(cond);
                f(then_expr);
                f(else_expr);
            }
            ExprKind::Call { args, .. }
            | ExprKind::CallExtern { args, .. }
            | ExprKind::Builtin { args, .. } => args.iter().for_each(f),
            ExprKind::JitCall { page, args, .. } => {
                f(page);
                args.iter().for_each(f);
            }
            ExprKind::OrElse { expr: x, default } => {
                f(x);
                f(default);
            }
        }
    }
}

impl Expr {
    /// [`Expr::for_each_child`] for rewriting passes (`drop_lower`): the same
    /// children in the same order, mutably.
    pub fn for_each_child_mut(&mut self, f: &mut impl FnMut(&mut Expr)) {
        let mut children: Vec<&mut Expr> = Vec::new();
        match &mut self.kind {
            ExprKind::Template(parts) => {
                children.extend(parts.iter_mut().filter_map(|p| match p {
                    TemplatePart::Expr(x) => Some(x),
                    TemplatePart::Text(_) => None,
                }))
            }
            ExprKind::Load(place) => match &mut place.kind {
                PlaceKind::Local(_) => {}
                PlaceKind::Index { base, index } => children.extend([&mut **base, &mut **index]),
                PlaceKind::Deref(p) => children.push(p),
            },
            ExprKind::Unary { expr: x, .. }
            | ExprKind::Raw(x)
            | ExprKind::Drop(x)
            | ExprKind::ResultField { expr: x, .. }
            | ExprKind::Cast(x) => children.push(x),
            ExprKind::Binary { lhs: a, rhs: b, .. }
            | ExprKind::OrElse {
                expr: a,
                default: b,
            } => children.extend([&mut **a, &mut **b]),
            ExprKind::Cond {
                cond,
                then_expr,
                else_expr,
            } => children.extend([&mut **cond, &mut **then_expr, &mut **else_expr]),
            ExprKind::Call { args, .. }
            | ExprKind::CallExtern { args, .. }
            | ExprKind::Builtin { args, .. } => children.extend(args.iter_mut()),
            ExprKind::JitCall { page, args, .. } => {
                children.push(page);
                children.extend(args.iter_mut());
            }
            ExprKind::Int(_)
            | ExprKind::Bool(_)
            | ExprKind::Null
            | ExprKind::Str(_)
            | ExprKind::Local(_)
            | ExprKind::Take(_)
            | ExprKind::AddrOf(_) => {}
        }
        for c in children {
            f(c);
        }
    }
}

impl Place {
    /// Calls `f` on the expressions that compute the address (none for a local).
    pub fn for_each_operand<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        match &self.kind {
            PlaceKind::Local(_) => {}
            PlaceKind::Index { base, index } => {
                f(base);
                f(index);
            }
            PlaceKind::Deref(p) => f(p),
        }
    }
}

impl Stmt {
    /// Calls `f` on each expression directly in this statement (not those
    /// inside its blocks).
    pub fn for_each_expr<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        match &self.kind {
            StmtKind::Let { init, .. } => f(init),
            StmtKind::Assign { place, value, .. } => {
                place.for_each_operand(f);
                f(value);
            }
            StmtKind::Expr(e) | StmtKind::Fail(e) | StmtKind::Exit(e) => f(e),
            StmtKind::Pass(e) => e.iter().for_each(f),
            StmtKind::If { cond, .. } | StmtKind::While { cond, .. } => f(cond),
            StmtKind::Loop {
                start, limit, step, ..
            } => {
                f(start);
                f(limit);
                f(step);
            }
            StmtKind::Block(_) | StmtKind::Defer(_) | StmtKind::Break | StmtKind::Continue => {}
        }
    }

    /// Calls `f` on each block directly inside this statement.
    pub fn for_each_block<'a>(&'a self, f: &mut impl FnMut(&'a Block)) {
        match &self.kind {
            StmtKind::If {
                then_block,
                else_block,
                ..
            } => {
                f(then_block);
                else_block.iter().for_each(f);
            }
            StmtKind::While { body, step, .. } => {
                f(body);
                step.iter().for_each(f);
            }
            StmtKind::Loop { body, .. } | StmtKind::Block(body) | StmtKind::Defer(body) => f(body),
            _ => {}
        }
    }
}
