//! Parser unit tests: one `#[test]` per behaviour, grouped by topic in
//! `tests/`. Helpers print expressions as S-expressions so precedence is
//! easy to read in assertions.

use super::parse_module;
use crate::ast::{
    ElseBranch, Expr, ExprKind, FuncDecl, Item, Module, Stmt, StmtKind, TemplatePart, TypeExpr,
    TypeExprKind, UnOp,
};
use crate::diagnostic::{Diagnostic, Problems};
use crate::source::FileId;

mod errors;
mod exprs;
mod fuzz;
mod items;
mod stmts;
mod ui;

pub(crate) fn parse(src: &str) -> (Module, Problems) {
    let mut problems = Problems::new();
    let m = parse_module(FileId(0), src, &mut problems);
    (m, problems)
}

/// Parses `src` and fails the test, printing them, if there are problems.
pub(crate) fn parse_ok(src: &str) -> Module {
    let (m, p) = parse(src);
    assert!(
        p.errors.is_empty(),
        "unexpected errors for {src:?}:\n{}",
        p.errors
            .iter()
            .map(|d| format!(
                "{} {} at {}..{}",
                d.code, d.message, d.primary.span.start, d.primary.span.end
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    m
}

/// The errors for `src`.
pub(crate) fn errors(src: &str) -> Vec<Diagnostic> {
    parse(src).1.errors
}

/// `(code, 1-based line, message)` for each error, in report order.
pub(crate) fn error_summary(src: &str) -> Vec<(&'static str, usize, String)> {
    errors(src)
        .into_iter()
        .map(|d| {
            let line = src[..(d.primary.span.start as usize).min(src.len())]
                .matches('\n')
                .count()
                + 1;
            (d.code, line, d.message)
        })
        .collect()
}

/// The text the primary span of the only error covers, and the error.
pub(crate) fn single_error(src: &str) -> (Diagnostic, String) {
    let errs = errors(src);
    assert_eq!(
        errs.len(),
        1,
        "expected one error for {src:?}, got {errs:#?}"
    );
    let d = errs.into_iter().next().expect("one error");
    let text = src[d.primary.span.start as usize..d.primary.span.end as usize].to_string();
    (d, text)
}

/// Wraps statements in `func:main = int32() { ... };`.
pub(crate) fn in_main(stmts: &str) -> String {
    format!("func:main = int32() {{\n{stmts}\n}};\n")
}

/// The statements of `main` after parsing `in_main(stmts)` without errors.
pub(crate) fn stmts(src: &str) -> Vec<Stmt> {
    let m = parse_ok(&in_main(src));
    func(&m, 0).body.stmts.clone()
}

pub(crate) fn func(m: &Module, i: usize) -> &FuncDecl {
    match &m.items[i] {
        Item::Func(f) => f,
        other => panic!("item {i} is not a function: {other:?}"),
    }
}

/// The expression of `int32:x = <src>;`, as an S-expression.
pub(crate) fn sexpr_of(src: &str) -> String {
    let s = stmts(&format!("int32:x = {src};"));
    match &s[0].kind {
        StmtKind::Let { init, .. } => sexpr(init),
        other => panic!("not a declaration: {other:?}"),
    }
}

pub(crate) fn ty(t: &TypeExpr) -> String {
    match &t.kind {
        TypeExprKind::Int(i) => i.name().to_string(),
        TypeExprKind::Tbb32 => "tbb32".into(),
        TypeExprKind::Bool => "bool".into(),
        TypeExprKind::String => "string".into(),
        TypeExprKind::Nil => "NIL".into(),
        TypeExprKind::Void => "void".into(),
        TypeExprKind::Ptr(t) => format!("{}->", ty(t)),
        TypeExprKind::CPtr(t) => format!("{}*", ty(t)),
        TypeExprKind::Erased => "?->".into(),
        TypeExprKind::CErased => "?*".into(),
        TypeExprKind::Result(t) => format!("Result<{}>", ty(t)),
        TypeExprKind::Named(i) => format!("#{}", i.name),
    }
}

pub(crate) fn sexpr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int { value, suffix } => match suffix {
            None => value.to_string(),
            Some(s) => format!("{value}{s:?}"),
        },
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Null => "NULL".into(),
        ExprKind::Char(c) => format!("'{c}'"),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Template(parts) => {
            let p: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    TemplatePart::Text(t) => format!("{t:?}"),
                    TemplatePart::Expr(e) => sexpr(e),
                })
                .collect();
            format!("(tpl {})", p.join(" "))
        }
        ExprKind::Name(i) => i.name.clone(),
        ExprKind::Dollar => "$".into(),
        ExprKind::Unary { op, expr } => {
            let o = match op {
                UnOp::Neg => "-",
                UnOp::Not => "!",
                UnOp::BitNot => "~",
            };
            format!("({o} {})", sexpr(expr))
        }
        ExprKind::AddrOf(e) => format!("(@ {})", sexpr(e)),
        ExprKind::Deref(e) => format!("(<- {})", sexpr(e)),
        ExprKind::Raw(e) => format!("(raw {})", sexpr(e)),
        ExprKind::Drop(e) => format!("(drop {})", sexpr(e)),
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.symbol(), sexpr(lhs), sexpr(rhs))
        }
        ExprKind::Cond {
            cond,
            then_expr,
            else_expr,
        } => format!(
            "(is {} {} {})",
            sexpr(cond),
            sexpr(then_expr),
            sexpr(else_expr)
        ),
        ExprKind::OrElse { expr, default } => format!("(? {} {})", sexpr(expr), sexpr(default)),
        ExprKind::Call { callee, args } => {
            let a: Vec<String> = args.iter().map(sexpr).collect();
            if a.is_empty() {
                format!("(call {})", sexpr(callee))
            } else {
                format!("(call {} {})", sexpr(callee), a.join(" "))
            }
        }
        ExprKind::Index { base, index } => format!("(index {} {})", sexpr(base), sexpr(index)),
        ExprKind::Field { base, name } => format!("(. {} {})", sexpr(base), name.name),
        ExprKind::Arrow { base, name } => format!("(-> {} {})", sexpr(base), name.name),
        ExprKind::Cast { ty: t, expr } => format!("(cast {} {})", ty(t), sexpr(expr)),
    }
}

/// A short description of a statement's shape.
pub(crate) fn stmt_shape(s: &Stmt) -> String {
    match &s.kind {
        StmtKind::Let {
            quals,
            ty: t,
            name,
            init,
        } => format!(
            "let {}{}{}:{} = {}",
            if quals.fixed { "fixed " } else { "" },
            quals
                .region
                .map_or(String::new(), |r| format!("{r:?} ").to_lowercase()),
            ty(t),
            name.name,
            sexpr(init)
        ),
        StmtKind::Assign { target, op, value } => format!(
            "{} {}= {}",
            sexpr(target),
            op.map_or("", |o| o.symbol()),
            sexpr(value)
        ),
        StmtKind::Expr(e) => sexpr(e),
        StmtKind::If {
            cond,
            then_block,
            else_branch,
        } => {
            let e = match else_branch.as_deref() {
                None => String::new(),
                Some(ElseBranch::If(s)) => format!(" else {}", stmt_shape(s)),
                Some(ElseBranch::Block(b)) => format!(" else [{}]", b.stmts.len()),
            };
            format!("if {} [{}]{e}", sexpr(cond), then_block.stmts.len())
        }
        StmtKind::While { cond, body } => format!("while {} [{}]", sexpr(cond), body.stmts.len()),
        StmtKind::For {
            init,
            cond,
            step,
            body,
        } => format!(
            "for ({}; {}; {}) [{}]",
            init.as_deref().map_or(String::new(), stmt_shape),
            cond.as_ref().map_or(String::new(), sexpr),
            step.as_deref().map_or(String::new(), stmt_shape),
            body.stmts.len()
        ),
        StmtKind::Loop {
            start,
            limit,
            step,
            body,
        } => format!(
            "loop({}, {}, {}) [{}]",
            sexpr(start),
            sexpr(limit),
            sexpr(step),
            body.stmts.len()
        ),
        StmtKind::Till { limit, step, body } => {
            format!(
                "till({}, {}) [{}]",
                sexpr(limit),
                sexpr(step),
                body.stmts.len()
            )
        }
        StmtKind::Break => "break".into(),
        StmtKind::Continue => "continue".into(),
        StmtKind::Block(b) => format!("block [{}]", b.stmts.len()),
        StmtKind::Defer(b) => format!("defer [{}]", b.stmts.len()),
        StmtKind::Pass(e) => format!("pass {}", e.as_ref().map_or(String::new(), sexpr)),
        StmtKind::Fail(e) => format!("fail {}", sexpr(e)),
        StmtKind::Exit(e) => format!("exit {}", sexpr(e)),
    }
}
