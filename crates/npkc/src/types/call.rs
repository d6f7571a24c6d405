//! Calls: resolving the callee (builtin, namespace sibling, module item,
//! import, `Ns.f`), checking arguments against the signature, and the
//! builtins of SPEC §3.6. A call of a Nitpick function has type
//! `Result<ret>`; externs and builtins return plain values.

use crate::ast::{self, IntTy};
use crate::hir::{self, Builtin, ExprKind, GcKind, Ty};
use crate::resolve::{self, ItemRef, Lookup};
use crate::source::Span;

use super::FnCx;
use super::error::Error;
use super::expr::{builtin, is_pointer, mk};

/// What a call resolves to.
enum Callee {
    Func(hir::FuncId),
    Extern(hir::ExternId),
    Builtin(Builtin),
}

impl FnCx<'_, '_> {
    pub(super) fn call(
        &mut self,
        callee: &ast::Expr,
        args: &[ast::Expr],
        span: Span,
    ) -> Option<hir::Expr> {
        if self.is_jit_call(callee) {
            return self.jit_call(args, span);
        }
        let Some(target) = self.callee(callee) else {
            for a in args {
                self.orphan(a);
            }
            return None;
        };
        match target {
            Callee::Func(f) => {
                let g = self.g;
                let sig = &g.func_sigs[f.0 as usize];
                let tys: Vec<Option<Ty>> = sig.params.iter().map(|p| p.ty.clone()).collect();
                let decl = g.items.func(f).decl.name.span;
                let args = self.args(args, &tys, false, &g.items.func_name(f), span, Some(decl))?;
                let ret = sig.ret.clone()?;
                mk(
                    ExprKind::Call { func: f, args },
                    Ty::Result(Box::new(ret)),
                    span,
                )
            }
            Callee::Extern(x) => {
                let g = self.g;
                let sig = &g.extern_sigs[x.0 as usize];
                let tys: Vec<Option<Ty>> = sig.params.iter().map(|p| p.ty.clone()).collect();
                let name = g.items.externs[x.0 as usize]
                    .decls
                    .first()
                    .map_or_else(String::new, |d| d.name.name.clone());
                let decl = self.extern_decl_span(x);
                let args = self.args(args, &tys, true, &name, span, decl)?;
                let ret = sig.ret.clone()?;
                mk(ExprKind::CallExtern { ext: x, args }, ret, span)
            }
            Callee::Builtin(b) => self.builtin_call(b, args, span),
        }
    }

    /// Checks call arguments against parameter types (`NPK-307` on count).
    fn args(
        &mut self,
        args: &[ast::Expr],
        tys: &[Option<Ty>],
        extern_arg: bool,
        name: &str,
        span: Span,
        decl: Option<Span>,
    ) -> Option<Vec<hir::Expr>> {
        let count_ok = args.len() == tys.len();
        if !count_ok {
            self.err(Error::WrongArgCount {
                callee: name.to_string(),
                expected: tys.len(),
                found: args.len(),
                span,
                decl,
            });
        }
        let mut out = Some(Vec::with_capacity(args.len()));
        for (i, a) in args.iter().enumerate() {
            let x = match tys.get(i) {
                Some(Some(t)) => self.coerce(a, t, extern_arg),
                _ => self.orphan(a),
            };
            match (&mut out, x) {
                (Some(v), Some(x)) => v.push(x),
                _ => out = None,
            }
        }
        if count_ok { out } else { None }
    }

    fn callee(&mut self, callee: &ast::Expr) -> Option<Callee> {
        match &callee.kind {
            ast::ExprKind::Name(id) => {
                if self.lookup_local(&id.name).is_some() {
                    self.err(Error::NotCallable {
                        what: format!("local binding `{}`", id.name),
                        span: callee.span,
                    });
                    return None;
                }
                if let Some(b) = builtin(&id.name) {
                    return Some(Callee::Builtin(b));
                }
                match self.g.items.lookup(self.module, self.ns, &id.name) {
                    Lookup::Found(ItemRef::Func(f)) => Some(Callee::Func(f)),
                    Lookup::Found(ItemRef::Extern(x)) => Some(Callee::Extern(x)),
                    Lookup::Found(ItemRef::Namespace(_)) => {
                        self.err(Error::NotCallable {
                            what: format!("namespace `{}`", id.name),
                            span: callee.span,
                        });
                        None
                    }
                    other => {
                        self.unresolved(id, &other);
                        None
                    }
                }
            }
            ast::ExprKind::Field { base, name } => {
                if let ast::ExprKind::Name(id) = &base.kind
                    && self.lookup_local(&id.name).is_none()
                    && builtin(&id.name).is_none()
                {
                    return match self.g.items.lookup(self.module, None, &id.name) {
                        Lookup::Found(ItemRef::Namespace(ns)) => {
                            let n = self.g.items.namespace(ns);
                            if let Some(&f) = n.members.get(&name.name) {
                                Some(Callee::Func(f))
                            } else {
                                self.unknown_member(&n.name.clone(), ns, name);
                                None
                            }
                        }
                        Lookup::Found(_) => {
                            self.err(resolve::Error::NotANamespace {
                                name: id.name.clone(),
                                span: id.span,
                            });
                            None
                        }
                        other => {
                            self.unresolved(id, &other);
                            None
                        }
                    };
                }
                self.not_callable(callee)
            }
            _ => self.not_callable(callee),
        }
    }

    fn not_callable(&mut self, callee: &ast::Expr) -> Option<Callee> {
        if self.expr(callee, None).is_some() {
            self.err(Error::NotCallable {
                what: "this expression".to_string(),
                span: callee.span,
            });
        }
        None
    }

    fn builtin_call(&mut self, b: Builtin, args: &[ast::Expr], span: Span) -> Option<hir::Expr> {
        let name = b.name();
        let max = 1;
        let min = usize::from(b != Builtin::Println);
        if args.len() < min || args.len() > max {
            self.err(Error::WrongArgCount {
                callee: name.to_string(),
                expected: max,
                found: args.len(),
                span,
                decl: None,
            });
            for a in args {
                self.orphan(a);
            }
            return None;
        }
        let mut out = Vec::new();
        let ret = match b {
            Builtin::Alloc | Builtin::WildxAlloc | Builtin::GcInts | Builtin::GcRefs => {
                let a = &args[0];
                let x = self.value(a, Some(&Ty::Int(IntTy::I64)))?;
                if !matches!(x.ty, Ty::Int(_)) {
                    self.err(Error::MismatchedTypes {
                        expected: Ty::Int(IntTy::I64),
                        found: x.ty,
                        span: a.span,
                        found_name: None,
                    });
                    return None;
                }
                out.push(x);
                match b {
                    Builtin::GcInts => Ty::Gc(GcKind::Ints),
                    Builtin::GcRefs => Ty::Gc(GcKind::Refs),
                    _ => Ty::Ptr(Box::new(Ty::Int(IntTy::I8))),
                }
            }
            Builtin::Len => {
                let a = &args[0];
                let x = self.value(a, None)?;
                if !matches!(x.ty, Ty::Gc(_)) {
                    self.err(Error::MismatchedTypes {
                        expected: Ty::Gc(GcKind::Any),
                        found: x.ty,
                        span: a.span,
                        found_name: None,
                    });
                    return None;
                }
                out.push(x);
                Ty::Int(IntTy::I64)
            }
            Builtin::Free | Builtin::WildxSeal | Builtin::WildxFree => {
                let a = &args[0];
                let x = self.value(a, None)?;
                if !is_pointer(&x.ty) {
                    self.err(Error::MismatchedTypes {
                        expected: Ty::Erased,
                        found: x.ty,
                        span: a.span,
                        found_name: None,
                    });
                    return None;
                }
                out.push(x);
                if b == Builtin::Free {
                    Ty::Nil
                } else {
                    Ty::Int(IntTy::I32)
                }
            }
            Builtin::Print | Builtin::Println => {
                if let Some(a) = args.first() {
                    out.push(self.printable(a)?);
                }
                Ty::Nil
            }
        };
        mk(
            ExprKind::Builtin {
                builtin: b,
                args: out,
            },
            ret,
            span,
        )
    }
}
