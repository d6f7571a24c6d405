//! A small builder for hand-made HIR, so the analysis can be tested without
//! the parser and the types pass. Every node gets a fresh, unique span, so a
//! test can name "the span of this call" by keeping the node's span.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::ast::{BinOp, IntTy, Region};
use crate::diagnostic::Problems;
use crate::hir::{
    Block, Builtin, Expr, ExprKind, Extern, ExternId, ExternParam, Func, FuncId, Local, LocalId,
    LocalKind, Place, PlaceKind, Program, ResultField, Stmt, StmtKind, Ty,
};
use crate::source::{FileId, Span};

static NEXT: AtomicU32 = AtomicU32::new(1);

/// A fresh span, distinct from every other one made in this process.
pub fn span() -> Span {
    let start = NEXT.fetch_add(10, Ordering::Relaxed);
    Span::new(FileId(0), start, start + 5)
}

/// `int8->`
pub fn ptr() -> Ty {
    Ty::Ptr(Box::new(Ty::Int(IntTy::I8)))
}

pub fn i32t() -> Ty {
    Ty::Int(IntTy::I32)
}

/// A program under construction.
pub struct Prog {
    pub program: Program,
}

impl Prog {
    pub fn new() -> Prog {
        Prog {
            program: Program {
                funcs: Vec::new(),
                externs: Vec::new(),
                main: None,
                failsafe: None,
                auto_release: Vec::new(),
            },
        }
    }

    /// The id the next `func` call will get (for forward and recursive calls).
    pub fn next_id(&self) -> FuncId {
        FuncId(self.program.funcs.len() as u32)
    }

    /// Adds a function built by `body`; returns its id.
    pub fn func(
        &mut self,
        name: &str,
        ret: Ty,
        body: impl FnOnce(&mut Fun) -> Vec<Stmt>,
    ) -> FuncId {
        let id = self.next_id();
        let mut f = Fun {
            locals: Vec::new(),
            params: Vec::new(),
            program_funcs: self
                .program
                .funcs
                .iter()
                .map(|f| (f.name.clone(), f.ret.clone()))
                .collect(),
        };
        let stmts = body(&mut f);
        self.program.funcs.push(Func {
            name: name.to_string(),
            name_span: span(),
            span: span(),
            module: FileId(0),
            params: f.params,
            ret,
            locals: f.locals,
            body: Block {
                stmts,
                span: span(),
            },
        });
        id
    }

    /// Adds `extern func:name = ret(params)`.
    pub fn extern_(&mut self, name: &str, params: Vec<Ty>, ret: Ty) -> ExternId {
        let id = ExternId(self.program.externs.len() as u32);
        self.program.externs.push(Extern {
            name: name.to_string(),
            span: span(),
            params: params
                .into_iter()
                .enumerate()
                .map(|(i, ty)| ExternParam {
                    name: format!("a{i}"),
                    ty,
                    region: None,
                })
                .collect(),
            ret,
        });
        id
    }

    /// Runs the checker; returns `(code, primary span)` of every problem, in order.
    pub fn check(&self) -> Vec<(&'static str, Span)> {
        self.check_limited(&crate::ownership::Limits::DEFAULT)
    }

    /// Like [`Prog::check`], with explicit analysis budgets.
    pub fn check_limited(&self, limits: &crate::ownership::Limits) -> Vec<(&'static str, Span)> {
        let mut problems = Problems::new();
        let _ = super::super::check_with(&self.program, &mut problems, limits);
        problems.sort();
        problems
            .errors
            .iter()
            .map(|d| (d.code, d.primary.span))
            .collect()
    }

    pub fn problems(&self) -> Problems {
        let mut problems = Problems::new();
        let _ = super::super::check(&self.program, &mut problems);
        problems.sort();
        problems
    }
}

/// A function body under construction.
pub struct Fun {
    locals: Vec<Local>,
    params: Vec<LocalId>,
    program_funcs: Vec<(String, Ty)>,
}

fn e(kind: ExprKind, ty: Ty) -> Expr {
    Expr {
        kind,
        ty,
        span: span(),
    }
}

fn s(kind: StmtKind) -> Stmt {
    Stmt { kind, span: span() }
}

fn blk(stmts: Vec<Stmt>) -> Block {
    Block {
        stmts,
        span: span(),
    }
}

impl Fun {
    fn add_local(
        &mut self,
        name: &str,
        ty: Ty,
        region: Option<Region>,
        kind: LocalKind,
    ) -> LocalId {
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(Local {
            name: name.to_string(),
            ty,
            region,
            fixed: false,
            address_taken: false,
            kind,
            span: span(),
        });
        id
    }

    /// A parameter (declare all parameters before any other local).
    pub fn param(&mut self, name: &str, ty: Ty, region: Option<Region>) -> LocalId {
        let id = self.add_local(name, ty, region, LocalKind::Param);
        self.params.push(id);
        id
    }

    /// A `wildx int8->` parameter.
    pub fn wparam(&mut self, name: &str) -> LocalId {
        self.param(name, ptr(), Some(Region::Wildx))
    }

    /// A local binding (the `Let` is made by [`Fun::let_`]).
    pub fn local(&mut self, name: &str, ty: Ty, region: Option<Region>) -> LocalId {
        self.add_local(name, ty, region, LocalKind::Let)
    }

    /// A `wildx int8->` local.
    pub fn wlocal(&mut self, name: &str) -> LocalId {
        self.local(name, ptr(), Some(Region::Wildx))
    }

    /// A `wild int8->` local.
    pub fn hlocal(&mut self, name: &str) -> LocalId {
        self.local(name, ptr(), Some(Region::Wild))
    }

    pub fn counter(&mut self) -> LocalId {
        self.add_local("$", Ty::Int(IntTy::I64), None, LocalKind::LoopCounter)
    }

    pub fn ty_of(&self, l: LocalId) -> Ty {
        self.locals[l.0 as usize].ty.clone()
    }

    // ----- expressions

    pub fn l(&self, id: LocalId) -> Expr {
        e(ExprKind::Local(id), self.ty_of(id))
    }
    pub fn int(&self, v: u64) -> Expr {
        e(ExprKind::Int(v), i32t())
    }
    pub fn boolean(&self, b: bool) -> Expr {
        e(ExprKind::Bool(b), Ty::Bool)
    }
    pub fn null(&self) -> Expr {
        e(ExprKind::Null, Ty::Null)
    }
    fn builtin(&self, b: Builtin, args: Vec<Expr>, ty: Ty) -> Expr {
        e(ExprKind::Builtin { builtin: b, args }, ty)
    }
    pub fn alloc(&self) -> Expr {
        self.builtin(Builtin::Alloc, vec![self.int(16)], ptr())
    }
    pub fn walloc(&self) -> Expr {
        self.builtin(Builtin::WildxAlloc, vec![self.int(4096)], ptr())
    }
    pub fn free(&self, x: Expr) -> Expr {
        self.builtin(Builtin::Free, vec![x], Ty::Nil)
    }
    pub fn wfree(&self, x: Expr) -> Expr {
        self.builtin(Builtin::WildxFree, vec![x], i32t())
    }
    pub fn seal(&self, x: Expr) -> Expr {
        self.builtin(Builtin::WildxSeal, vec![x], i32t())
    }
    pub fn print(&self, x: Expr) -> Expr {
        self.builtin(Builtin::Println, vec![x], Ty::Nil)
    }
    /// A call of the Nitpick function `f` (type `Result<ret>`).
    pub fn call(&self, f: FuncId, args: Vec<Expr>) -> Expr {
        let ret = self
            .program_funcs
            .get(f.0 as usize)
            .map_or(ptr(), |(_, r)| r.clone());
        e(ExprKind::Call { func: f, args }, Ty::Result(Box::new(ret)))
    }
    /// A call of a function not yet built, returning `ret`.
    pub fn call_ret(&self, f: FuncId, args: Vec<Expr>, ret: Ty) -> Expr {
        e(ExprKind::Call { func: f, args }, Ty::Result(Box::new(ret)))
    }
    pub fn call_extern(&self, x: ExternId, args: Vec<Expr>, ret: Ty) -> Expr {
        e(ExprKind::CallExtern { ext: x, args }, ret)
    }
    pub fn raw(&self, x: Expr) -> Expr {
        let ty = match &x.ty {
            Ty::Result(t) => (**t).clone(),
            t => t.clone(),
        };
        e(ExprKind::Raw(Box::new(x)), ty)
    }
    pub fn or_else(&self, x: Expr, d: Expr) -> Expr {
        let ty = d.ty.clone();
        e(
            ExprKind::OrElse {
                expr: Box::new(x),
                default: Box::new(d),
            },
            ty,
        )
    }
    pub fn drop_(&self, x: Expr) -> Expr {
        e(ExprKind::Drop(Box::new(x)), Ty::Nil)
    }
    pub fn field(&self, x: Expr, field: ResultField) -> Expr {
        let ty = match field {
            ResultField::IsError => Ty::Bool,
            ResultField::Error => i32t(),
            ResultField::Value => match &x.ty {
                Ty::Result(t) => (**t).clone(),
                t => t.clone(),
            },
        };
        e(
            ExprKind::ResultField {
                expr: Box::new(x),
                field,
            },
            ty,
        )
    }
    pub fn bin(&self, op: BinOp, a: Expr, b: Expr) -> Expr {
        let ty = match op {
            BinOp::Eq
            | BinOp::Ne
            | BinOp::Lt
            | BinOp::Le
            | BinOp::Gt
            | BinOp::Ge
            | BinOp::And
            | BinOp::Or => Ty::Bool,
            _ => a.ty.clone(),
        };
        e(
            ExprKind::Binary {
                op,
                lhs: Box::new(a),
                rhs: Box::new(b),
            },
            ty,
        )
    }
    /// `x == NULL`
    pub fn is_null(&self, x: LocalId) -> Expr {
        self.bin(BinOp::Eq, self.l(x), self.null())
    }
    /// `x != NULL`
    pub fn not_null(&self, x: LocalId) -> Expr {
        self.bin(BinOp::Ne, self.l(x), self.null())
    }
    /// `x[0]` (a read through `x`)
    pub fn index(&self, x: LocalId) -> Expr {
        let place = Place {
            kind: PlaceKind::Index {
                base: Box::new(self.l(x)),
                index: Box::new(self.int(0)),
            },
            ty: Ty::Int(IntTy::I8),
            span: span(),
        };
        e(ExprKind::Load(Box::new(place)), Ty::Int(IntTy::I8))
    }
    /// A `bool` local read, as an unknown condition.
    pub fn unknown(&mut self) -> Expr {
        let c = self.local("c", Ty::Bool, None);
        self.l(c)
    }

    // ----- statements

    pub fn let_(&self, id: LocalId, init: Expr) -> Stmt {
        s(StmtKind::Let { local: id, init })
    }
    pub fn assign(&self, id: LocalId, value: Expr) -> Stmt {
        s(StmtKind::Assign {
            place: Place {
                kind: PlaceKind::Local(id),
                ty: self.ty_of(id),
                span: span(),
            },
            op: None,
            value,
        })
    }
    /// `x[0] = value;`
    pub fn store(&self, x: LocalId, value: Expr) -> Stmt {
        s(StmtKind::Assign {
            place: Place {
                kind: PlaceKind::Index {
                    base: Box::new(self.l(x)),
                    index: Box::new(self.int(0)),
                },
                ty: Ty::Int(IntTy::I8),
                span: span(),
            },
            op: None,
            value,
        })
    }
    pub fn expr(&self, x: Expr) -> Stmt {
        s(StmtKind::Expr(x))
    }
    pub fn if_(&self, cond: Expr, then: Vec<Stmt>, els: Option<Vec<Stmt>>) -> Stmt {
        s(StmtKind::If {
            cond,
            then_block: blk(then),
            else_block: els.map(blk),
        })
    }
    pub fn while_(&self, cond: Expr, body: Vec<Stmt>) -> Stmt {
        s(StmtKind::While {
            cond,
            body: blk(body),
            step: None,
        })
    }
    pub fn loop_(&mut self, body: Vec<Stmt>) -> Stmt {
        let counter = self.counter();
        s(StmtKind::Loop {
            counter,
            start: self.int(0),
            limit: self.int(10),
            step: self.int(1),
            body: blk(body),
        })
    }
    pub fn brk(&self) -> Stmt {
        s(StmtKind::Break)
    }
    pub fn cont(&self) -> Stmt {
        s(StmtKind::Continue)
    }
    pub fn block(&self, stmts: Vec<Stmt>) -> Stmt {
        s(StmtKind::Block(blk(stmts)))
    }
    pub fn defer(&self, stmts: Vec<Stmt>) -> Stmt {
        s(StmtKind::Defer(blk(stmts)))
    }
    pub fn pass(&self, x: Option<Expr>) -> Stmt {
        s(StmtKind::Pass(x))
    }
    pub fn fail(&self) -> Stmt {
        s(StmtKind::Fail(self.int(1)))
    }
    pub fn exit(&self) -> Stmt {
        s(StmtKind::Exit(self.int(0)))
    }
}

/// The closing-brace span the checker reports a block-end leak at.
pub fn close(b: &Block) -> Span {
    Span::new(b.span.file, b.span.end - 1, b.span.end)
}

/// The closing brace of a function's body.
pub fn body_end(p: &Prog, f: FuncId) -> Span {
    close(&p.program.funcs[f.0 as usize].body)
}

/// The closing brace of the block of an `if`/`while`/block statement (then-block for `if`).
pub fn stmt_block_end(stmt: &Stmt) -> Span {
    match &stmt.kind {
        StmtKind::If { then_block, .. } => close(then_block),
        StmtKind::While { body, .. } | StmtKind::Loop { body, .. } => close(body),
        StmtKind::Block(b) | StmtKind::Defer(b) => close(b),
        _ => stmt.span,
    }
}

/// The span of the call inside an expression statement or `let`.
pub fn stmt_expr_span(stmt: &Stmt) -> Span {
    match &stmt.kind {
        StmtKind::Expr(x) | StmtKind::Let { init: x, .. } => x.span,
        StmtKind::Assign { value, .. } => value.span,
        _ => stmt.span,
    }
}
