//! Type checking: `modules::Loaded` to `hir::Program`.
//!
//! [`check`] first lets `resolve` build the item tables, then resolves every
//! signature (functions and externs), checks `main`/`failsafe`, and finally
//! checks each function body with a [`FnCx`] (expressions in `types/expr.rs`,
//! statements in `types/stmt.rs`), lowering it to HIR on the way. Errors are
//! collected (`NPK-2xx` from `resolve`, `NPK-3xx` from `types/error.rs`);
//! an expression that failed to check yields `None`, which silences every
//! error that would only follow from it.
//!
//! Scoping: parameters and the top-level statements of a body share one
//! scope; each block opens a new one. Redeclaring a name in the same scope is
//! `NPK-207`; an inner block may shadow an outer name. A binding is in scope
//! after its declaration (its own initialiser sees the outer name).

mod call;
mod error;
mod expr;
mod jit_call;
mod stmt;
mod ty;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests;

use std::collections::HashMap;

pub use error::{EXPLANATIONS, Error};

use crate::ast::{self, IntTy, Region, TypeExprKind};
use crate::diagnostic::{Diagnostic, Problems};
use crate::hir::{self, ExternId, FuncId, LocalId, LocalKind, Ty};
use crate::modules::Loaded;
use crate::resolve::{self, Items, NsId};
use crate::source::{FileId, Span};

use error::TypePlace;

/// Resolves and type-checks every loaded module. Returns `None` when errors
/// were reported (by this or any earlier phase).
pub fn check(loaded: &Loaded, problems: &mut Problems) -> Option<hir::Program> {
    let items = resolve::collect(loaded, problems);
    let func_sigs: Vec<Sig> = items
        .funcs
        .iter()
        .map(|f| func_sig(f.decl, problems))
        .collect();
    let extern_sigs: Vec<Sig> = items
        .externs
        .iter()
        .map(|x| extern_sig(&x.decls, problems))
        .collect();
    let g = Globals {
        items,
        func_sigs,
        extern_sigs,
    };
    check_entry_points(&g, problems);

    let mut funcs = Vec::with_capacity(g.items.funcs.len());
    for i in 0..g.items.funcs.len() {
        let id = FuncId(u32::try_from(i).expect("fewer than 4 billion functions"));
        funcs.push(FnCx::new(&g, problems, id).run(id));
    }
    let externs = g
        .items
        .externs
        .iter()
        .zip(&g.extern_sigs)
        .filter_map(|(x, sig)| {
            let first = x.decls.first()?;
            Some(hir::Extern {
                name: first.name.name.clone(),
                span: first.span,
                params: sig
                    .params
                    .iter()
                    .map(|p| hir::ExternParam {
                        name: p.name.clone(),
                        ty: p.ty.clone().unwrap_or(Ty::Nil),
                        region: p.region,
                    })
                    .collect(),
                ret: sig.ret.clone().unwrap_or(Ty::Nil),
            })
        })
        .collect();
    if problems.has_errors() {
        return None;
    }
    Some(hir::Program {
        funcs,
        externs,
        main: g.items.main,
        failsafe: g.items.failsafe,
        auto_release: loaded
            .drop_stdlib
            .map(|d| {
                (0..loaded.modules.len())
                    .filter_map(|i| u32::try_from(i).ok().map(crate::source::FileId))
                    .filter(|&m| loaded.module(m).imports.contains(&d))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// A resolved signature; `None` types were reported as errors.
#[derive(Debug, Clone)]
struct Sig {
    params: Vec<ParamSig>,
    ret: Option<Ty>,
}

#[derive(Debug, Clone)]
struct ParamSig {
    name: String,
    ty: Option<Ty>,
    region: Option<Region>,
    fixed: bool,
    span: Span,
}

/// Everything shared by the checks of all function bodies.
#[derive(Debug)]
struct Globals<'a> {
    items: Items<'a>,
    func_sigs: Vec<Sig>,
    extern_sigs: Vec<Sig>,
}

fn push_all(problems: &mut Problems, errors: Vec<Diagnostic>) {
    for e in errors {
        problems.push(e);
    }
}

fn lower_params(params: &[ast::Param], in_extern: bool, problems: &mut Problems) -> Vec<ParamSig> {
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let out = params
        .iter()
        .map(|p| {
            if let Some(&first) = seen.get(p.name.name.as_str()) {
                problems.push(
                    resolve::Error::DuplicateDefinition {
                        name: p.name.name.clone(),
                        span: p.name.span,
                        first,
                    }
                    .into(),
                );
            } else {
                seen.insert(&p.name.name, p.name.span);
            }
            ParamSig {
                name: p.name.name.clone(),
                ty: lower_qualified(p.quals, &p.ty, TypePlace::Param, in_extern, &mut errors),
                region: p.quals.region,
                fixed: p.quals.fixed,
                span: p.name.span,
            }
        })
        .collect();
    push_all(problems, errors);
    out
}

/// Lowers `[quals] T` at `place`: `gc T` is a [`Ty::Gc`] (`NPK-326` for a
/// `T` the collector does not know, or inside an `extern`), anything else
/// is [`ty::lower`].
pub(crate) fn lower_qualified(
    quals: ast::Quals,
    t: &ast::TypeExpr,
    place: TypePlace,
    in_extern: bool,
    errors: &mut Vec<Diagnostic>,
) -> Option<Ty> {
    if quals.region != Some(Region::Gc) {
        return ty::lower(t, place, in_extern, errors);
    }
    let what = if in_extern {
        error::GcRefusal::Extern
    } else {
        match ty::gc_kind(t) {
            Some(kind) => return Some(Ty::Gc(kind)),
            None => error::GcRefusal::Type(ty::written_type(t)),
        }
    };
    errors.push(
        Error::GcUnsupported {
            what,
            span: quals.span.to(t.span),
        }
        .into(),
    );
    None
}

fn func_sig(decl: &ast::FuncDecl, problems: &mut Problems) -> Sig {
    let params = lower_params(&decl.params, false, problems);
    let mut errors = Vec::new();
    let ret = lower_qualified(
        decl.ret_quals,
        &decl.ret,
        TypePlace::Return,
        false,
        &mut errors,
    );
    push_all(problems, errors);
    Sig { params, ret }
}

/// The signature of an extern from its first declaration; later
/// declarations of the same C symbol must agree (`NPK-206`).
fn extern_sig(decls: &[&ast::ExternDecl], problems: &mut Problems) -> Sig {
    let lower = |d: &ast::ExternDecl, problems: &mut Problems| {
        let params = lower_params(&d.params, true, problems);
        let mut errors = Vec::new();
        let ret = lower_qualified(d.ret_quals, &d.ret, TypePlace::Return, true, &mut errors);
        push_all(problems, errors);
        Sig { params, ret }
    };
    let Some((first, rest)) = decls.split_first() else {
        return Sig {
            params: Vec::new(),
            ret: None,
        };
    };
    let sig = lower(first, problems);
    for d in rest {
        let other = lower(d, problems);
        let same = other.ret == sig.ret
            && other.params.len() == sig.params.len()
            && other
                .params
                .iter()
                .zip(&sig.params)
                .all(|(a, b)| a.ty == b.ty);
        if !same {
            problems.push(
                resolve::Error::ConflictingExtern {
                    name: d.name.name.clone(),
                    span: d.name.span,
                    first: first.name.span,
                }
                .into(),
            );
        }
    }
    sig
}

/// `main` must be `int32()`, `failsafe` `int32(tbb32:err)` (`NPK-313`).
fn check_entry_points(g: &Globals<'_>, problems: &mut Problems) {
    let sig_span = |d: &ast::FuncDecl| match d.params.last() {
        Some(p) => d.ret.span.to(p.span),
        None => d.ret.span,
    };
    let is_i32 =
        |t: &ast::TypeExpr| matches!(t.kind, TypeExprKind::Int(IntTy::I32) | TypeExprKind::Tbb32);
    if let Some(main) = g.items.main {
        let d = g.items.func(main).decl;
        if !is_i32(&d.ret) || !d.params.is_empty() {
            problems.push(
                Error::BadEntrySignature {
                    name: "main",
                    expected: "int32()",
                    span: sig_span(d),
                }
                .into(),
            );
        }
    }
    if let Some(fs) = g.items.failsafe {
        let d = g.items.func(fs).decl;
        if !is_i32(&d.ret) || d.params.len() != 1 || !d.params.iter().all(|p| is_i32(&p.ty)) {
            problems.push(
                Error::BadEntrySignature {
                    name: "failsafe",
                    expected: "int32(tbb32:err)",
                    span: sig_span(d),
                }
                .into(),
            );
        }
    }
}

/// Which rules about `pass`/`fail`/`exit` apply to a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FnKind {
    /// The root module's `main`: `exit`, no `pass`/`fail`, may fall off its end.
    Main,
    /// The root module's `failsafe`: `exit` allowed, otherwise ordinary.
    Failsafe,
    Normal,
}

/// The state of checking one function body.
#[derive(Debug)]
struct FnCx<'g, 'a> {
    g: &'g Globals<'a>,
    problems: &'g mut Problems,
    module: FileId,
    ns: Option<NsId>,
    ret: Option<Ty>,
    kind: FnKind,
    locals: Vec<hir::Local>,
    /// Locals whose declared type failed to resolve (uses are silenced).
    poisoned: Vec<bool>,
    /// Innermost last; name → local.
    scopes: Vec<HashMap<String, LocalId>>,
    /// Loops enclosing the current statement (reset inside `defer`).
    loops: u32,
    /// Counters of the enclosing `loop`/`till`, innermost last.
    counters: Vec<LocalId>,
    in_defer: bool,
}

impl<'g, 'a> FnCx<'g, 'a> {
    fn new(g: &'g Globals<'a>, problems: &'g mut Problems, id: FuncId) -> FnCx<'g, 'a> {
        let f = g.items.func(id);
        let kind = if Some(id) == g.items.main {
            FnKind::Main
        } else if Some(id) == g.items.failsafe {
            FnKind::Failsafe
        } else {
            FnKind::Normal
        };
        FnCx {
            g,
            problems,
            module: f.module,
            ns: f.namespace,
            ret: g.func_sigs[id.0 as usize].ret.clone(),
            kind,
            locals: Vec::new(),
            poisoned: Vec::new(),
            scopes: Vec::new(),
            loops: 0,
            counters: Vec::new(),
            in_defer: false,
        }
    }

    fn run(mut self, id: FuncId) -> hir::Func {
        let g = self.g;
        let decl = g.items.func(id).decl;
        let sig = &g.func_sigs[id.0 as usize];
        self.scopes.push(HashMap::new());
        let params = sig
            .params
            .iter()
            .map(|p| {
                let l = self.new_local(
                    &p.name,
                    p.ty.clone(),
                    p.region,
                    p.fixed,
                    LocalKind::Param,
                    p.span,
                );
                self.scopes
                    .last_mut()
                    .expect("function scope pushed above")
                    .entry(p.name.clone())
                    .or_insert(l);
                l
            })
            .collect();
        let mut stmts = Vec::new();
        for s in &decl.body.stmts {
            self.stmt(s, &mut stmts);
        }
        self.scopes.pop();
        if let Some(ret) = &self.ret
            && *ret != Ty::Nil
            && self.kind != FnKind::Main
            && !stmt::block_ends(&decl.body)
        {
            let end = decl.body.span.end;
            self.err(Error::MissingPass {
                name: g.items.func_name(id),
                ret: ret.clone(),
                span: Span::new(
                    decl.body.span.file,
                    end.saturating_sub(1).max(decl.body.span.start),
                    end,
                ),
                ret_span: decl.ret.span,
            });
        }
        hir::Func {
            name: g.items.func_name(id),
            name_span: decl.name.span,
            span: decl.span,
            module: self.module,
            params,
            ret: self.ret.unwrap_or(Ty::Nil),
            locals: self.locals,
            body: hir::Block {
                stmts,
                span: decl.body.span,
            },
        }
    }

    fn err(&mut self, e: impl Into<Diagnostic>) {
        self.problems.push(e.into());
    }

    fn new_local(
        &mut self,
        name: &str,
        ty: Option<Ty>,
        region: Option<Region>,
        fixed: bool,
        kind: LocalKind,
        span: Span,
    ) -> LocalId {
        let id = LocalId(u32::try_from(self.locals.len()).expect("fewer than 4 billion locals"));
        self.poisoned.push(ty.is_none());
        self.locals.push(hir::Local {
            name: name.to_string(),
            ty: ty.unwrap_or(Ty::Nil),
            region,
            fixed,
            address_taken: false,
            kind,
            span,
        });
        id
    }

    /// Declares a named local in the innermost scope (`NPK-207` if the name
    /// is already declared there; the new binding wins either way).
    fn declare(&mut self, name: &ast::Ident, ty: Option<Ty>, quals: ast::Quals) -> LocalId {
        let l = self.new_local(
            &name.name,
            ty,
            quals.region,
            quals.fixed,
            LocalKind::Let,
            name.span,
        );
        let scope = self
            .scopes
            .last_mut()
            .expect("a scope is open inside a body");
        if let Some(first) = scope.insert(name.name.clone(), l) {
            let first = self.locals[first.0 as usize].span;
            self.err(resolve::Error::DuplicateLocal {
                name: name.name.clone(),
                span: name.span,
                first,
            });
        }
        l
    }

    fn lookup_local(&self, name: &str) -> Option<LocalId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// Local names in scope, for "did you mean".
    fn local_names(&self) -> Vec<&str> {
        self.scopes
            .iter()
            .flat_map(|s| s.keys().map(String::as_str))
            .collect()
    }

    fn extern_decl_span(&self, id: ExternId) -> Option<Span> {
        self.g.items.externs[id.0 as usize]
            .decls
            .first()
            .map(|d| d.name.span)
    }
}
