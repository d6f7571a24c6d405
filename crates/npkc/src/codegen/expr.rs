//! Lowering of expressions: arithmetic, comparisons, casts, short-circuit
//! logic, conditionals, pointers, calls (Nitpick, extern, builtin) and the
//! consumers of `Result<T>` (`raw`, `?`, `drop`, `.is_error/.value/.error`).
//!
//! Division and remainder check the divisor for zero (branch to the cold
//! fault block, which calls `failsafe(1)`) and map a divisor of -1 to a
//! negation / zero so that `MIN / -1` wraps instead of trapping.

use cranelift_codegen::ir::{self, BlockArg, InstBuilder, condcodes::IntCC, types};
use cranelift_module::Module;

use super::func::{FnLower, Val};
use super::{CodegenError, clif_ty, resize, unsupported, width_mask};
use crate::ast::BinOp;
use crate::hir::{Builtin, Expr, ExprKind, ResultField, TemplatePart, Ty};
use crate::source::Span;

fn block_args(vs: &[ir::Value]) -> Vec<BlockArg> {
    vs.iter().map(|v| BlockArg::Value(*v)).collect()
}

fn is_signed(ty: &Ty) -> bool {
    matches!(ty, Ty::Int(t) if t.signed())
}

/// The Cranelift types a value of `ty` occupies, in order.
fn flat_types(ty: &Ty) -> Vec<ir::Type> {
    match ty {
        Ty::Result(inner) => clif_ty(inner)
            .into_iter()
            .chain(std::iter::once(types::I64))
            .collect(),
        other => clif_ty(other).into_iter().collect(),
    }
}

fn flatten(v: Val) -> Vec<ir::Value> {
    match v {
        Val::Unit => Vec::new(),
        Val::One(v) => vec![v],
        Val::Res { value, status } => value.into_iter().chain(std::iter::once(status)).collect(),
    }
}

fn unflatten(ty: &Ty, vs: &[ir::Value]) -> Val {
    match (ty, vs) {
        (Ty::Result(_), [value, status]) => Val::Res {
            value: Some(*value),
            status: *status,
        },
        (Ty::Result(_), [status]) => Val::Res {
            value: None,
            status: *status,
        },
        (_, [v]) => Val::One(*v),
        _ => Val::Unit,
    }
}

impl<'a> FnLower<'a, '_, '_> {
    /// Lowers `e`, which must produce exactly one value.
    pub(super) fn value(&mut self, e: &'a Expr) -> Result<ir::Value, CodegenError> {
        match self.expr(e)? {
            Val::One(v) => Ok(v),
            _ => Err(unsupported(
                "an expression without a plain value here",
                e.span,
            )),
        }
    }

    pub(super) fn expr(&mut self, e: &'a Expr) -> Result<Val, CodegenError> {
        Ok(match &e.kind {
            ExprKind::Int(bits) => {
                let ty = clif_ty(&e.ty)
                    .ok_or_else(|| unsupported("an integer literal of this type", e.span))?;
                let v = (*bits & width_mask(ty.bits())) as i64;
                Val::One(self.b.ins().iconst(ty, v))
            }
            ExprKind::Bool(b) => Val::One(self.b.ins().iconst(types::I8, i64::from(*b))),
            ExprKind::Null => Val::One(self.zero(types::I64)),
            ExprKind::Str(s) => Val::One(self.string_ptr(s)?),
            ExprKind::Template(_) => Val::One(self.template_value(e)?),
            ExprKind::Local(id) => self.read_local(*id),
            ExprKind::Take(id) => {
                let v = self.read_local(*id);
                let null = self.zero(types::I64);
                self.write_local(*id, Val::One(null))?;
                v
            }
            ExprKind::Load(place) => {
                if let crate::hir::PlaceKind::Index { base, index } = &place.kind
                    && matches!(base.ty, Ty::Gc(_))
                {
                    return self.gc_access(base, index, None);
                }
                let (addr, ty) = self.place_addr(place)?;
                Val::One(self.b.ins().load(ty, ir::MemFlagsData::new(), addr, 0))
            }
            ExprKind::AddrOf(id) => Val::One(self.local_addr(*id, e.span)?),
            ExprKind::Unary { op, expr } => {
                let v = self.value(expr)?;
                Val::One(match op {
                    crate::ast::UnOp::Neg => self.b.ins().ineg(v),
                    crate::ast::UnOp::Not => self.b.ins().icmp_imm_u(IntCC::Equal, v, 0),
                    crate::ast::UnOp::BitNot => self.b.ins().bnot(v),
                })
            }
            ExprKind::Binary { op, lhs, rhs } => match op {
                BinOp::And | BinOp::Or => Val::One(self.short_circuit(*op, lhs, rhs)?),
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    let mark = self.gc_mark();
                    let l = self.value(lhs)?;
                    let held = self.gc_hold(lhs, l);
                    let r = self.value(rhs)?;
                    let l = self.gc_reload(held)?;
                    self.gc_release(mark);
                    let signed = is_signed(&lhs.ty);
                    Val::One(self.b.ins().icmp(int_cc(*op, signed), l, r))
                }
                _ => {
                    let l = self.value(lhs)?;
                    let r = self.value(rhs)?;
                    Val::One(self.arith(*op, l, r, &lhs.ty, e.span)?)
                }
            },
            ExprKind::Cond {
                cond,
                then_expr,
                else_expr,
            } => {
                let c = self.value(cond)?;
                let then_b = self.b.create_block();
                let else_b = self.b.create_block();
                let merge = self.b.create_block();
                for t in flat_types(&e.ty) {
                    self.b.append_block_param(merge, t);
                }
                self.branch(c, then_b, else_b);
                for (block, arm) in [(then_b, then_expr), (else_b, else_expr)] {
                    self.switch(block);
                    let v = self.expr(arm)?;
                    self.jump(merge, &flatten(v));
                }
                self.switch(merge);
                let params = self.b.block_params(merge).to_vec();
                unflatten(&e.ty, &params)
            }
            ExprKind::Call { func, args } => {
                let callee = self.cx.program.func(*func);
                let mark = self.gc_mark();
                let mut held = Vec::with_capacity(args.len());
                for (arg, p) in args.iter().zip(&callee.params) {
                    let v = self.value(arg)?;
                    let want = clif_ty(&callee.local(*p).ty).unwrap_or(types::I64);
                    let v = self.coerce(v, &arg.ty, want);
                    // Later arguments may collect: keep references rooted.
                    held.push(self.gc_hold(arg, v));
                }
                let mut vals = Vec::with_capacity(held.len());
                for h in held {
                    vals.push(self.gc_reload(h)?);
                }
                self.gc_release(mark);
                let id = self.cx.nitpick_func(*func, e.span)?;
                let r = self.func_ref(id);
                let call = self.b.ins().call(r, &vals);
                let results = self.b.inst_results(call).to_vec();
                unflatten(&e.ty, &results)
            }
            ExprKind::CallExtern { ext, args } => {
                let decl = self.cx.program.extern_(*ext);
                let mut vals = Vec::with_capacity(args.len());
                for (arg, p) in args.iter().zip(&decl.params) {
                    let v = self.value(arg)?;
                    let want = clif_ty(&p.ty).unwrap_or(types::I64);
                    vals.push(self.coerce(v, &arg.ty, want));
                }
                let id = self.cx.extern_func(ext.0 as usize)?;
                let r = self.func_ref(id);
                let call = self.b.ins().call(r, &vals);
                match self.b.inst_results(call) {
                    [v] => Val::One(*v),
                    _ => Val::Unit,
                }
            }
            ExprKind::Builtin { builtin, args } => self.builtin(*builtin, args, e.span)?,
            ExprKind::JitCall {
                page,
                identity,
                params,
                args,
            } => self.jit_call(page, identity, params, args, &e.ty)?,
            ExprKind::Raw(inner) => match self.expr(inner)? {
                Val::Res { value: Some(v), .. } => Val::One(v),
                Val::Res { value: None, .. } => Val::Unit,
                _ => return Err(unsupported("`raw` of a non-result", e.span)),
            },
            ExprKind::OrElse { expr, default } => self.or_else(expr, default, e.span)?,
            ExprKind::Drop(inner) => {
                self.expr(inner)?;
                Val::Unit
            }
            ExprKind::ResultField { expr, field } => {
                let Val::Res { value, status } = self.expr(expr)? else {
                    return Err(unsupported("a field of a non-result", e.span));
                };
                match field {
                    ResultField::IsError => {
                        Val::One(self.b.ins().icmp_imm_u(IntCC::NotEqual, status, 0))
                    }
                    ResultField::Error => Val::One(self.b.ins().ireduce(types::I32, status)),
                    ResultField::Value => value.map_or(Val::Unit, Val::One),
                }
            }
            ExprKind::Cast(inner) => {
                let v = self.value(inner)?;
                match (&inner.ty, &e.ty) {
                    (Ty::Gc(from), Ty::Gc(to)) => Val::One(self.gc_convert(v, *from, *to)?),
                    (Ty::Bool, Ty::Bool) => Val::One(v),
                    (_, Ty::Bool) => Val::One(self.b.ins().icmp_imm_u(IntCC::NotEqual, v, 0)),
                    (src, dst) => {
                        let to = clif_ty(dst)
                            .ok_or_else(|| unsupported("a cast to this type", e.span))?;
                        Val::One(self.coerce(v, src, to))
                    }
                }
            }
        })
    }

    /// Converts `v` (of HIR type `src`) to Cranelift type `to`, extending by
    /// the source's signedness or truncating.
    pub(super) fn coerce(&mut self, v: ir::Value, src: &Ty, to: ir::Type) -> ir::Value {
        let from = self.b.func.dfg.value_type(v);
        resize(&mut self.b, v, from, to, is_signed(src))
    }

    /// The address of the rodata copy of `s` (NUL-terminated).
    pub(super) fn string_ptr(&mut self, s: &str) -> Result<ir::Value, CodegenError> {
        let id = self.cx.string_data(s)?;
        let gv = self.cx.module.declare_data_in_func(id, self.b.func);
        Ok(self.b.ins().symbol_value(types::I64, gv))
    }

    /// The address `place` denotes and the type stored there.
    pub(super) fn place_addr(
        &mut self,
        place: &'a crate::hir::Place,
    ) -> Result<(ir::Value, ir::Type), CodegenError> {
        let ty = clif_ty(&place.ty)
            .ok_or_else(|| unsupported("a pointer to a value of this type", place.span))?;
        match &place.kind {
            crate::hir::PlaceKind::Deref(p) => Ok((self.value(p)?, ty)),
            crate::hir::PlaceKind::Index { base, index } => {
                let base_v = self.value(base)?;
                let idx = self.value(index)?;
                let idx = self.coerce(idx, &index.ty, types::I64);
                let offset = self.b.ins().imul_imm_u(idx, i64::from(ty.bytes()));
                Ok((self.b.ins().iadd(base_v, offset), ty))
            }
            crate::hir::PlaceKind::Local(_) => {
                Err(unsupported("a local used as a memory place", place.span))
            }
        }
    }

    /// Wrapping arithmetic, bit operations and shifts on operands of `ty`.
    pub(super) fn arith(
        &mut self,
        op: BinOp,
        l: ir::Value,
        r: ir::Value,
        ty: &Ty,
        span: Span,
    ) -> Result<ir::Value, CodegenError> {
        let signed = is_signed(ty);
        let ins = self.b.ins();
        Ok(match op {
            BinOp::Add => ins.iadd(l, r),
            BinOp::Sub => ins.isub(l, r),
            BinOp::Mul => ins.imul(l, r),
            BinOp::BitAnd => ins.band(l, r),
            BinOp::BitOr => ins.bor(l, r),
            BinOp::BitXor => ins.bxor(l, r),
            // Cranelift takes the shift count modulo the operand width.
            BinOp::Shl => ins.ishl(l, r),
            BinOp::Shr if signed => ins.sshr(l, r),
            BinOp::Shr => ins.ushr(l, r),
            BinOp::Div | BinOp::Rem => return Ok(self.divide(op == BinOp::Div, l, r, signed)),
            _ => {
                return Err(unsupported(
                    format!("operator `{}` here", op.symbol()),
                    span,
                ));
            }
        })
    }

    /// Checked division: zero divisor → failsafe; `MIN / -1` wraps.
    fn divide(&mut self, div: bool, l: ir::Value, r: ir::Value, signed: bool) -> ir::Value {
        let fault = self.fault_block(super::FAULT_DIVISION_BY_ZERO);
        let ok = self.b.create_block();
        let is_zero = self.b.ins().icmp_imm_u(IntCC::Equal, r, 0);
        self.b.ins().brif(is_zero, fault, &[], ok, &[]);
        self.switch(ok);
        if !signed {
            return if div {
                self.b.ins().udiv(l, r)
            } else {
                self.b.ins().urem(l, r)
            };
        }
        let ty = self.b.func.dfg.value_type(r);
        let minus_one = self.b.ins().iconst(ty, width_mask(ty.bits()) as i64);
        let one = self.b.ins().iconst(ty, 1);
        let is_m1 = self.b.ins().icmp(IntCC::Equal, r, minus_one);
        let safe = self.b.ins().select(is_m1, one, r);
        if div {
            let q = self.b.ins().sdiv(l, safe);
            let neg = self.b.ins().ineg(l);
            self.b.ins().select(is_m1, neg, q)
        } else {
            self.b.ins().srem(l, safe)
        }
    }

    fn short_circuit(
        &mut self,
        op: BinOp,
        lhs: &'a Expr,
        rhs: &'a Expr,
    ) -> Result<ir::Value, CodegenError> {
        let l = self.value(lhs)?;
        let rhs_b = self.b.create_block();
        let merge = self.b.create_block();
        self.b.append_block_param(merge, types::I8);
        let short = block_args(&[l]);
        if op == BinOp::And {
            self.b.ins().brif(l, rhs_b, &[], merge, &short);
        } else {
            self.b.ins().brif(l, merge, &short, rhs_b, &[]);
        }
        self.switch(rhs_b);
        let r = self.value(rhs)?;
        self.jump(merge, &[r]);
        self.switch(merge);
        Ok(self.b.block_params(merge)[0])
    }

    /// `e ? d`: the value of `e`, or `d` (evaluated only then) on error.
    fn or_else(&mut self, e: &'a Expr, d: &'a Expr, span: Span) -> Result<Val, CodegenError> {
        let Val::Res { value, status } = self.expr(e)? else {
            return Err(unsupported("`?` on a non-result", span));
        };
        let is_err = self.b.ins().icmp_imm_u(IntCC::NotEqual, status, 0);
        let dflt = self.b.create_block();
        // The default is the error path: laid out after the hot code.
        self.b.set_cold_block(dflt);
        let merge = self.b.create_block();
        let ok_args: Vec<ir::Value> = value.into_iter().collect();
        if let Some(v) = value {
            let t = self.b.func.dfg.value_type(v);
            self.b.append_block_param(merge, t);
        }
        let args = block_args(&ok_args);
        self.b.ins().brif(is_err, dflt, &[], merge, &args);
        self.switch(dflt);
        let dv = self.expr(d)?;
        let dvals: Vec<ir::Value> = match dv {
            Val::One(v) if value.is_some() => vec![v],
            _ => Vec::new(),
        };
        self.jump(merge, &dvals);
        self.switch(merge);
        Ok(match self.b.block_params(merge) {
            [v] => Val::One(*v),
            _ => Val::Unit,
        })
    }

    fn builtin(
        &mut self,
        builtin: Builtin,
        args: &'a [Expr],
        span: Span,
    ) -> Result<Val, CodegenError> {
        let name = match builtin {
            Builtin::Print | Builtin::Println => {
                for a in args {
                    self.print(a)?;
                }
                if builtin == Builtin::Println {
                    let nl = self.string_ptr("\n")?;
                    self.call_runtime("npk_print_cstr", &[nl])?;
                }
                return Ok(Val::Unit);
            }
            Builtin::Len => {
                let [arg] = args else {
                    return Err(unsupported("`len` with this many arguments", span));
                };
                let v = self.value(arg)?;
                return Ok(Val::One(self.gc_len(v)));
            }
            Builtin::GcInts => "npk_gc_alloc_ints",
            Builtin::GcRefs => "npk_gc_alloc_refs",
            Builtin::Alloc => "npk_alloc",
            Builtin::Free => "npk_free",
            Builtin::WildxAlloc => "npk_wildx_alloc",
            Builtin::WildxSeal => "npk_wildx_seal",
            Builtin::WildxFree => "npk_wildx_free",
        };
        let [arg] = args else {
            return Err(unsupported("a builtin call with this many arguments", span));
        };
        let v = self.value(arg)?;
        let v = self.coerce(v, &arg.ty, types::I64);
        Ok(match self.call_runtime(name, &[v])?.as_slice() {
            [r] => Val::One(*r),
            _ => Val::Unit,
        })
    }

    /// Prints one argument of `print`/`println`. Every interpolated
    /// expression of a template is evaluated before anything is printed.
    fn print(&mut self, a: &'a Expr) -> Result<(), CodegenError> {
        let mut pieces = Vec::new();
        self.pieces(a, &mut pieces)?;
        for piece in pieces {
            match piece {
                Piece::Text(t) => {
                    let p = self.string_ptr(t)?;
                    self.call_runtime("npk_print_cstr", &[p])?;
                }
                Piece::Value(v, ty) => self.print_value(v, ty, a.span)?,
            }
        }
        Ok(())
    }

    /// Evaluates `a` into the pieces it prints as: a template (nested ones
    /// flattened) gives its text and one value per interpolation.
    pub(super) fn pieces(
        &mut self,
        a: &'a Expr,
        out: &mut Vec<Piece<'a>>,
    ) -> Result<(), CodegenError> {
        if let ExprKind::Template(parts) = &a.kind {
            for part in parts {
                match part {
                    TemplatePart::Text(t) if t.is_empty() => {}
                    TemplatePart::Text(t) => out.push(Piece::Text(t)),
                    TemplatePart::Expr(x) => self.pieces(x, out)?,
                }
            }
        } else {
            let v = self.value(a)?;
            out.push(Piece::Value(v, &a.ty));
        }
        Ok(())
    }

    fn print_value(&mut self, v: ir::Value, ty: &Ty, span: Span) -> Result<(), CodegenError> {
        match ty {
            Ty::Str => {
                self.call_runtime("npk_print_cstr", &[v])?;
            }
            Ty::Bool => {
                let w = self.b.ins().uextend(types::I32, v);
                self.call_runtime("npk_print_bool", &[w])?;
            }
            Ty::Int(t) if t.signed() => {
                let w = self.coerce(v, ty, types::I64);
                self.call_runtime("npk_print_i64", &[w])?;
            }
            Ty::Int(_) | Ty::Ptr(_) | Ty::Erased | Ty::Null => {
                let w = self.coerce(v, ty, types::I64);
                self.call_runtime("npk_print_u64", &[w])?;
            }
            _ => return Err(unsupported("printing a value of this type", span)),
        }
        Ok(())
    }
}

/// One thing to print (or append to a template string), in order.
pub(super) enum Piece<'a> {
    Text(&'a str),
    Value(ir::Value, &'a Ty),
}

fn int_cc(op: BinOp, signed: bool) -> IntCC {
    match (op, signed) {
        (BinOp::Eq, _) => IntCC::Equal,
        (BinOp::Ne, _) => IntCC::NotEqual,
        (BinOp::Lt, true) => IntCC::SignedLessThan,
        (BinOp::Lt, false) => IntCC::UnsignedLessThan,
        (BinOp::Le, true) => IntCC::SignedLessThanOrEqual,
        (BinOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
        (BinOp::Gt, true) => IntCC::SignedGreaterThan,
        (BinOp::Gt, false) => IntCC::UnsignedGreaterThan,
        (BinOp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
        _ => IntCC::UnsignedGreaterThanOrEqual,
    }
}
