//! `Jit.call(f, "sig", args...)`: the signature literal is parsed at compile
//! time with `npk-jit`'s parser, each argument is checked against (and
//! converted to) its parameter's type, and the call has type `Result<ret>`
//! (SPEC §9.2). A buffer parameter `T* xs[n]` takes a `T->` (or untyped bytes,
//! `NULL`, or for bytes a `string`); its extent argument is passed as written,
//! the caller's promise as in C. Codegen asks the runtime for the entry point
//! of a page proven for exactly that signature, then calls it directly.
//!
//! `Jit.call` is recognised only where `Jit` is the namespace of `jit.npk`
//! (or any namespace named `Jit` without a member `call`).

use npk_jit::{Elem, Param, SigType, Signature};

use crate::ast::{self, IntTy};
use crate::hir::{self, ExprKind, JitIdentity, Ty};
use crate::resolve::{ItemRef, Lookup};
use crate::source::Span;

use super::FnCx;
use super::error::{Error, JitSigProblem};
use super::expr::mk;

/// The Nitpick type of a scalar signature type (`NIL` only as a result);
/// `None` for an unsized pointer (`ptr`, `int64*` without an extent), which
/// `Jit.call` refuses.
fn scalar_ty(t: SigType) -> Option<Ty> {
    match t {
        SigType::Int32 => Some(Ty::Int(IntTy::I32)),
        SigType::Int64 => Some(Ty::Int(IntTy::I64)),
        SigType::Uint32 => Some(Ty::Int(IntTy::U32)),
        SigType::Uint64 => Some(Ty::Int(IntTy::U64)),
        SigType::Nil => Some(Ty::Nil),
        SigType::Pointer => None,
    }
}

/// The Nitpick integer type of a buffer's elements.
fn elem_ty(e: Elem) -> IntTy {
    match e {
        Elem::Int8 => IntTy::I8,
        Elem::Uint8 => IntTy::U8,
        Elem::Int16 => IntTy::I16,
        Elem::Uint16 => IntTy::U16,
        Elem::Int32 => IntTy::I32,
        Elem::Uint32 => IntTy::U32,
        Elem::Int64 => IntTy::I64,
        Elem::Uint64 => IntTy::U64,
    }
}

/// The type a `Jit.call` argument must have for parameter `p`: an integer, or
/// `E->` for a buffer of `E`; `None` for an unsized pointer.
fn param_ty(p: Param) -> Option<Ty> {
    match p {
        Param::Scalar(t) => scalar_ty(t),
        Param::Buffer(b) => Some(Ty::Ptr(Box::new(Ty::Int(elem_ty(b.elem))))),
    }
}

/// The signature as the program wrote it (names and all), for messages.
fn written(literal: &ast::Expr, sig: &Signature) -> String {
    match &literal.kind {
        ast::ExprKind::Str(text) => text.clone(),
        _ => sig.to_string(),
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
                callee: format!("Jit.call(f, \"{}\", ...)", written(sig_arg, &sig)),
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
            let x = if matches!(t, Ty::Ptr(_)) {
                self.buffer_arg(a, t)
            } else {
                self.coerce(a, t, false)
            };
            match (&mut out, x) {
                (Some(v), Some(x)) => v.push(x),
                _ => out = None,
            }
        }
        let identity = if sig.has_buffer() {
            JitIdentity::Interned(sig.canonical())
        } else {
            JitIdentity::Tag(sig.tag())
        };
        mk(
            ExprKind::JitCall {
                page: Box::new(page?),
                identity,
                params,
                args: out?,
            },
            Ty::Result(Box::new(ret)),
            span,
        )
    }

    /// Checks the argument `a` of a buffer parameter: a pointer to the buffer's
    /// element type (`int64->` for `int64* xs[n]`), untyped bytes (`?->`, what
    /// `alloc` returns), `NULL`, or for `int8`/`uint8` elements a `string`.
    fn buffer_arg(&mut self, a: &ast::Expr, target: &Ty) -> Option<hir::Expr> {
        let mut x = self.value(a, Some(target))?;
        if x.ty == Ty::Erased || self.convert(&mut x, target, true) {
            return Some(x);
        }
        self.err(Error::MismatchedTypes {
            expected: target.clone(),
            found: x.ty.clone(),
            span: a.span,
            found_name: super::expr::bare_name(a),
        });
        None
    }

    /// The parsed signature literal, its return type and parameter types.
    fn jit_signature(&mut self, e: &ast::Expr) -> Option<(Signature, Ty, Vec<Ty>)> {
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
        let ret = scalar_ty(sig.ret());
        let params: Option<Vec<Ty>> = sig.full_params().map(param_ty).collect();
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
