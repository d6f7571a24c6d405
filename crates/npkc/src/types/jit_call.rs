//! `Jit.call(f, "sig", args...)`: the signature literal is parsed at compile
//! time with `npk-jit`'s parser, each argument is checked against (and
//! converted to) its parameter's type, and the call has type `Result<ret>`
//! (SPEC §9.2). Codegen asks the runtime for the entry point of a page proven
//! for exactly that signature, then calls it directly.
//!
//! `Jit.call` is recognised only where `Jit` is the namespace of `jit.npk`
//! (or any namespace named `Jit` without a member `call`).

use npk_jit::{SigType, Signature};

use crate::ast::{self, IntTy};
use crate::hir::{self, ExprKind, Ty};
use crate::resolve::{ItemRef, Lookup};
use crate::source::Span;

use super::FnCx;
use super::error::{Error, JitSigProblem};
use super::expr::mk;

/// The Nitpick integer type of a scalar signature type; `None` for pointers
/// (buffer signatures arrive with issue 11).
fn int_ty(t: SigType) -> Option<IntTy> {
    match t {
        SigType::Int32 => Some(IntTy::I32),
        SigType::Int64 => Some(IntTy::I64),
        SigType::Uint32 => Some(IntTy::U32),
        SigType::Uint64 => Some(IntTy::U64),
        _ => None,
    }
}

/// The span of byte `at` of a string literal's text (its closing quote past
/// the end), or the whole literal when escapes make source and text differ.
fn byte_span(literal: Span, text: &str, at: usize) -> Span {
    let inner = literal.end.saturating_sub(literal.start).saturating_sub(2);
    match u32::try_from(at) {
        Ok(at) if inner as usize == text.len() && at <= inner => Span {
            file: literal.file,
            start: literal.start + 1 + at,
            end: literal.start + 2 + at,
        },
        _ => literal,
    }
}

impl FnCx<'_, '_> {
    /// Whether `callee` is the `Jit.call` intrinsic.
    pub(super) fn is_jit_call(&self, callee: &ast::Expr) -> bool {
        let ast::ExprKind::Field { base, name } = &callee.kind else {
            return false;
        };
        let ast::ExprKind::Name(id) = &base.kind else {
            return false;
        };
        if name.name != "call" || id.name != "Jit" || self.lookup_local(&id.name).is_some() {
            return false;
        }
        match self.g.items.lookup(self.module, None, &id.name) {
            Lookup::Found(ItemRef::Namespace(ns)) => {
                !self.g.items.namespace(ns).members.contains_key("call")
            }
            _ => false,
        }
    }

    /// Checks `Jit.call(page, "sig", args...)`.
    pub(super) fn jit_call(&mut self, args: &[ast::Expr], span: Span) -> Option<hir::Expr> {
        let (Some(page), Some(sig_arg)) = (args.first(), args.get(1)) else {
            self.err(Error::BadJitSignature {
                problem: JitSigProblem::Missing,
                span,
            });
            args.iter().for_each(|a| drop(self.orphan(a)));
            return None;
        };
        let rest = &args[2..];
        let sig = self.jit_signature(sig_arg);
        let page_ty = Ty::Ptr(Box::new(Ty::Int(IntTy::I8)));
        let page = self.coerce(page, &page_ty, false);
        let Some((sig, ret, params)) = sig else {
            rest.iter().for_each(|a| drop(self.orphan(a)));
            return None;
        };
        if rest.len() != params.len() {
            self.err(Error::WrongArgCount {
                callee: format!("Jit.call(f, \"{sig}\", ...)"),
                expected: params.len() + 2,
                found: args.len(),
                span,
                decl: None,
            });
            rest.iter().for_each(|a| drop(self.orphan(a)));
            return None;
        }
        let mut out = Some(Vec::with_capacity(rest.len()));
        for (a, t) in rest.iter().zip(&params) {
            match (&mut out, self.coerce(a, &Ty::Int(*t), false)) {
                (Some(v), Some(x)) => v.push(x),
                _ => out = None,
            }
        }
        mk(
            ExprKind::JitCall {
                page: Box::new(page?),
                tag: sig.tag(),
                params,
                args: out?,
            },
            Ty::Result(Box::new(Ty::Int(ret))),
            span,
        )
    }

    /// The parsed signature literal, its return type and parameter types.
    fn jit_signature(&mut self, e: &ast::Expr) -> Option<(Signature, IntTy, Vec<IntTy>)> {
        let ast::ExprKind::Str(text) = &e.kind else {
            drop(self.orphan(e));
            self.err(Error::BadJitSignature {
                problem: JitSigProblem::NotALiteral,
                span: e.span,
            });
            return None;
        };
        let sig: Signature = match text.parse() {
            Ok(sig) => sig,
            Err(err) => {
                let err: npk_jit::SignatureError = err;
                self.err(Error::BadJitSignature {
                    problem: JitSigProblem::Malformed(err.to_string()),
                    span: byte_span(e.span, text, err.offset()),
                });
                return None;
            }
        };
        let ret = int_ty(sig.ret());
        let params: Option<Vec<IntTy>> = sig.params().map(int_ty).collect();
        match (ret, params) {
            (Some(ret), Some(params)) => Some((sig, ret, params)),
            _ => {
                self.err(Error::BadJitSignature {
                    problem: JitSigProblem::Pointer,
                    span: e.span,
                });
                None
            }
        }
    }
}
