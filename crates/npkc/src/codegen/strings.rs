//! Template strings as `string` values, and the regions that release them.
//!
//! A template string outside `print` is built at run time (`npk_str_begin`,
//! `npk_str_push_*`, `npk_str_finish`) into storage the runtime keeps per
//! thread, tagged with a *region* id (`npk_str_scope`; ids increase, and
//! `npk_str_release(r)` frees everything tagged `r` or later). Regions here:
//! - the function's own region `f0`, opened at entry; it is the region of the
//!   body block and is released on every return (`pass`, `fail`, falling off);
//! - a block region for each other block that declares a `string` (or
//!   `Result<string>`) binding, released at every exit of the block (its end,
//!   `break`/`continue`, `pass`/`fail`/`exit`) right after its defers;
//! - a statement region around each other full expression that can create a
//!   string (an expression statement, an assignment through a pointer, the
//!   condition of `if`/`while` on each evaluation, loop operands), released
//!   as soon as its value is used.
//!
//! A binding keeps its string for its block: the initialiser of a `string`
//! binding is built in its block's region, and the value is retagged into it
//! (a call's result arrives in the callee's region); an assignment retags into
//! the region of the binding's declaring block. `pass` of a string retags it to
//! `f0 - 1`, which every region of the caller's current statement covers. Only
//! functions that can create strings (a template outside `print`, or a call of
//! a Nitpick function returning `string`) open regions at all.

use cranelift_codegen::ir::{self, InstBuilder, types};

use super::CodegenError;
use super::func::{FnLower, Val};
use crate::hir::{self, Builtin, Expr, ExprKind, LocalId, StmtKind, TemplatePart, Ty};

/// Whether `ty` holds a string the runtime may own (`string`, `Result<string>`).
pub(super) fn holds_string(ty: &Ty) -> bool {
    match ty {
        Ty::Str => true,
        Ty::Result(inner) => **inner == Ty::Str,
        _ => false,
    }
}

/// Whether evaluating `e` can create a template string: a template outside
/// `print`/`println` (their direct template arguments are streamed), or a
/// call of a Nitpick function returning `string`.
pub(super) fn makes_strings(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Template(_) => true,
        ExprKind::Call { .. } if holds_string(&e.ty) => true,
        ExprKind::Builtin {
            builtin: Builtin::Print | Builtin::Println,
            args,
        } => args.iter().any(printed_makes_strings),
        _ => {
            let mut any = false;
            e.for_each_child(&mut |x| any = any || makes_strings(x));
            any
        }
    }
}

/// [`makes_strings`] for an argument of `print`, whose templates are streamed.
fn printed_makes_strings(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Template(parts) => parts.iter().any(|p| match p {
            TemplatePart::Text(_) => false,
            TemplatePart::Expr(x) => printed_makes_strings(x),
        }),
        _ => makes_strings(e),
    }
}

/// Whether any statement of `b` (nested blocks included) can create a string.
pub(super) fn block_makes_strings(b: &hir::Block) -> bool {
    b.stmts.iter().any(|st| {
        let mut any = false;
        st.for_each_expr(&mut |e| any = any || makes_strings(e));
        st.for_each_block(&mut |b| any = any || block_makes_strings(b));
        any
    })
}

/// Whether `b` itself declares a binding that holds a string.
pub(super) fn declares_strings(f: &hir::Func, b: &hir::Block) -> bool {
    b.stmts.iter().any(
        |st| matches!(&st.kind, StmtKind::Let { local, .. } if holds_string(&f.local(*local).ty)),
    )
}

/// The function-wide string state of one [`FnLower`].
#[derive(Debug, Default)]
pub(super) struct Regions {
    /// `f0` and `f0 - 1`, when the function can create strings.
    pub(super) func: Option<(ir::Value, ir::Value)>,
    /// The region templates are built in right now.
    pub(super) current: Option<ir::Value>,
    /// The region of the block that declares each string binding.
    pub(super) of_local: std::collections::HashMap<LocalId, ir::Value>,
}

impl<'a> FnLower<'a, '_, '_> {
    /// Opens a new region (`npk_str_scope`).
    pub(super) fn open_region(&mut self) -> Result<ir::Value, CodegenError> {
        Ok(self.call_runtime("npk_str_scope", &[])?[0])
    }

    /// Frees the strings of `region` and every later one.
    pub(super) fn release_region(&mut self, region: ir::Value) -> Result<(), CodegenError> {
        self.call_runtime("npk_str_release", &[region])?;
        Ok(())
    }

    /// Moves the runtime-owned string in `v` (if any) into `region`.
    pub(super) fn retag(&mut self, v: Val, region: ir::Value) -> Result<(), CodegenError> {
        let p = match v {
            Val::One(p) => p,
            Val::Res { value: Some(p), .. } => p,
            _ => return Ok(()),
        };
        self.call_runtime("npk_str_retag", &[p, region])?;
        Ok(())
    }

    /// Runs `eval` with templates built in `region`, restoring the previous one.
    pub(super) fn in_region<T>(
        &mut self,
        region: ir::Value,
        eval: impl FnOnce(&mut Self) -> Result<T, CodegenError>,
    ) -> Result<T, CodegenError> {
        let saved = self.strings.current.replace(region);
        let r = eval(self);
        self.strings.current = saved;
        r
    }

    /// Evaluates the full expression(s) in `eval` in a statement region of its
    /// own when `exprs` can create strings, releasing it afterwards.
    pub(super) fn statement_region<T>(
        &mut self,
        exprs: &[&'a Expr],
        eval: impl FnOnce(&mut Self) -> Result<T, CodegenError>,
    ) -> Result<T, CodegenError> {
        if self.strings.func.is_none() || !exprs.iter().any(|e| makes_strings(e)) {
            return eval(self);
        }
        let region = self.open_region()?;
        let r = self.in_region(region, eval)?;
        if !self.dead {
            self.release_region(region)?;
        }
        Ok(r)
    }

    /// A template string as a value: every part is evaluated first, then the
    /// string is built in the current region.
    pub(super) fn template_value(&mut self, e: &'a Expr) -> Result<ir::Value, CodegenError> {
        let mut pieces = Vec::new();
        self.pieces(e, &mut pieces)?;
        let region = match (self.strings.current, self.strings.func) {
            (Some(r), _) | (None, Some((r, _))) => r,
            (None, None) => {
                return Err(super::unsupported(
                    "a template string in a function without string regions",
                    e.span,
                ));
            }
        };
        let b = self.call_runtime("npk_str_begin", &[])?[0];
        for piece in pieces {
            match piece {
                super::expr::Piece::Text(t) => {
                    let p = self.string_ptr(t)?;
                    self.call_runtime("npk_str_push_cstr", &[b, p])?;
                }
                super::expr::Piece::Value(v, ty) => {
                    let (name, arg) = match ty {
                        Ty::Str => ("npk_str_push_cstr", v),
                        Ty::Bool => ("npk_str_push_bool", self.b.ins().uextend(types::I32, v)),
                        Ty::Int(t) if t.signed() => {
                            ("npk_str_push_i64", self.coerce(v, ty, types::I64))
                        }
                        _ => ("npk_str_push_u64", self.coerce(v, ty, types::I64)),
                    };
                    self.call_runtime(name, &[b, arg])?;
                }
            }
        }
        Ok(self.call_runtime("npk_str_finish", &[b, region])?[0])
    }
}
