//! The typed, resolved program the `types` pass produces and both
//! `ownership` and `codegen` consume.
//!
//! Differences from `ast`: every name is resolved (locals to [`LocalId`],
//! functions to [`FuncId`], externs to [`ExternId`], builtins to
//! [`Builtin`]); every expression has a [`Ty`]; integer literals carry their
//! final type; `else if` is nested blocks; `for` is a block holding its init
//! and a [`StmtKind::While`] with a `step`; `till` is a [`StmtKind::Loop`]
//! starting at 0; compound assignment keeps its operator; `e => T` and
//! `@cast<T>(e)` are [`ExprKind::Cast`]. Spans point into the original
//! source for diagnostics.

mod calls;
mod walk;

use crate::ast::{BinOp, IntTy, Region, UnOp};
use crate::source::{FileId, Span};

/// Index into [`Program::funcs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId(pub u32);
/// Index into [`Program::externs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternId(pub u32);
/// Index into [`Func::locals`] of the enclosing function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);

/// A resolved type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    Int(IntTy),
    Bool,
    /// A string: at run time a pointer to NUL-terminated bytes.
    Str,
    /// No value.
    Nil,
    /// `T->` / `T*`; the pointee decides the element size of `p[i]`.
    Ptr(Box<Ty>),
    /// `?->` / `?*`: a pointer with no pointee (cannot be indexed or dereferenced).
    Erased,
    /// `Result<T>`: what every call of a Nitpick function yields.
    Result(Box<Ty>),
    /// The type of `NULL` before it meets a pointer type.
    Null,
    /// A reference to an object of the garbage-collected heap (or `NULL`),
    /// held only by `gc` bindings, parameters and results (`docs/language.md`).
    Gc(GcKind),
}

/// What a `gc` reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GcKind {
    /// `gc int64->`: an array of `int64`.
    Ints,
    /// `gc ?->->`: an array of `gc ?->` references.
    Refs,
    /// `gc ?->`: either kind (an element of a reference array).
    Any,
}

impl Ty {
    /// Whether this is a pointer type (`T->`, `?->` or `NULL`).
    #[must_use]
    pub fn is_pointer(&self) -> bool {
        matches!(self, Ty::Ptr(_) | Ty::Erased | Ty::Null)
    }
}

/// The page identity a `Jit.call` checks (`npk_jit::Signature::identity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JitIdentity {
    /// A scalar signature: its tag, a compile-time constant.
    Tag(u32),
    /// A signature with buffers, by its canonical text: the runtime interns it
    /// (`npk_jit_sig_identity`) once per run.
    Interned(String),
}

/// The whole program: every function of every module (stdlib included).
#[derive(Debug, Clone)]
pub struct Program {
    pub funcs: Vec<Func>,
    pub externs: Vec<Extern>,
    /// `main` of the root module (`None` when checking a library module).
    pub main: Option<FuncId>,
    /// `failsafe` of the root module (required whenever `main` exists).
    pub failsafe: Option<FuncId>,
    /// Modules that `use "drop.npk"`: their functions release owned `wildx`
    /// bindings at every scope end (the checker plans it, `drop_lower` emits it).
    pub auto_release: Vec<FileId>,
}

impl Program {
    /// Whether `func`'s module imports `drop.npk` (scope-end release).
    #[must_use]
    pub fn auto_releases(&self, func: &Func) -> bool {
        self.auto_release.contains(&func.module)
    }

    #[must_use]
    pub fn func(&self, id: FuncId) -> &Func {
        &self.funcs[id.0 as usize]
    }

    #[must_use]
    pub fn extern_(&self, id: ExternId) -> &Extern {
        &self.externs[id.0 as usize]
    }
}

/// A Nitpick function (top level or in a `Type:` namespace).
#[derive(Debug, Clone)]
pub struct Func {
    /// Qualified name: `main`, `Jit.free`.
    pub name: String,
    /// Span of the name in `func:name`.
    pub name_span: Span,
    /// Span of the whole declaration.
    pub span: Span,
    pub module: FileId,
    /// The first `params.len()` entries of `locals`, in order.
    pub params: Vec<LocalId>,
    pub ret: Ty,
    pub locals: Vec<Local>,
    pub body: Block,
}

impl Func {
    #[must_use]
    pub fn local(&self, id: LocalId) -> &Local {
        &self.locals[id.0 as usize]
    }
}

/// A parameter, a `let` binding, or a `loop`/`till` counter.
#[derive(Debug, Clone)]
pub struct Local {
    pub name: String,
    pub ty: Ty,
    pub region: Option<Region>,
    pub fixed: bool,
    /// Whether `@name` appears (codegen gives it a stack slot).
    pub address_taken: bool,
    pub kind: LocalKind,
    /// Span of the name where it is declared.
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    Param,
    Let,
    /// The `$` of a `loop`/`till`.
    LoopCounter,
}

/// An `extern func:` declaration (C ABI, returns a plain value).
#[derive(Debug, Clone)]
pub struct Extern {
    /// The C symbol name.
    pub name: String,
    pub span: Span,
    pub params: Vec<ExternParam>,
    /// `Ty::Nil` for `void`/`NIL`.
    pub ret: Ty,
}

#[derive(Debug, Clone)]
pub struct ExternParam {
    pub name: String,
    pub ty: Ty,
    pub region: Option<Region>,
}

#[derive(Debug, Clone)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum StmtKind {
    /// A declaration; `local` is fresh here.
    Let {
        local: LocalId,
        init: Expr,
    },
    /// `place = value` or `place op= value`.
    Assign {
        place: Place,
        op: Option<BinOp>,
        value: Expr,
    },
    /// An expression statement whose value is not a `Result` (checked).
    Expr(Expr),
    If {
        cond: Expr,
        then_block: Block,
        else_block: Option<Block>,
    },
    /// `while`; for a lowered `for`, `step` runs after the body and on `continue`.
    While {
        cond: Expr,
        body: Block,
        step: Option<Block>,
    },
    /// `loop(start, limit, step)`: `counter` from `start`, while
    /// `counter < limit` (step > 0) or `counter > limit` (step < 0; a zero
    /// step runs no iteration), adding `step` after each iteration and on
    /// `continue`. `start`, `limit`, `step` are evaluated once, in that
    /// order, before the first iteration; all three have the counter's type.
    Loop {
        counter: LocalId,
        start: Expr,
        limit: Expr,
        step: Expr,
        body: Block,
    },
    Break,
    Continue,
    Block(Block),
    /// Runs when the enclosing block is left, LIFO.
    Defer(Block),
    Pass(Option<Expr>),
    Fail(Expr),
    Exit(Expr),
}

/// Something that can be assigned to.
#[derive(Debug, Clone)]
pub struct Place {
    pub kind: PlaceKind,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum PlaceKind {
    Local(LocalId),
    /// `base[index]`: `base` is a `Ptr(elem)`, `index` any integer; or
    /// `base` is a `Gc(Ints)` (element `int64`) or `Gc(Refs)` (element
    /// `Gc(Any)`), bounds-checked at run time.
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// `<-ptr`
    Deref(Box<Expr>),
}

/// Which field of a `Result<T>` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultField {
    /// `r.is_error`: bool
    IsError,
    /// `r.value`: T (zero value on error)
    Value,
    /// `r.error`: int32 (0 when not an error)
    Error,
}

/// Built-in functions (plain values, not `Result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    Alloc,
    Free,
    WildxAlloc,
    WildxSeal,
    WildxFree,
    Print,
    Println,
    /// `gc_ints(n)`: a zero-filled `gc int64->` array of `n` elements.
    GcInts,
    /// `gc_refs(n)`: a `gc ?->->` array of `n` NULL references.
    GcRefs,
    /// `len(g)`: the element count of a `gc` array, as `int64`.
    Len,
}

impl Builtin {
    /// Every builtin.
    pub const ALL: [Builtin; 10] = [
        Builtin::Alloc,
        Builtin::Free,
        Builtin::WildxAlloc,
        Builtin::WildxSeal,
        Builtin::WildxFree,
        Builtin::Print,
        Builtin::Println,
        Builtin::GcInts,
        Builtin::GcRefs,
        Builtin::Len,
    ];

    /// The name the builtin is called by in source.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Alloc => "alloc",
            Builtin::Free => "free",
            Builtin::WildxAlloc => "wildx_alloc",
            Builtin::WildxSeal => "wildx_seal",
            Builtin::WildxFree => "wildx_free",
            Builtin::Print => "print",
            Builtin::Println => "println",
            Builtin::GcInts => "gc_ints",
            Builtin::GcRefs => "gc_refs",
            Builtin::Len => "len",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub span: Span,
}

/// A piece of a template string; only `print`/`println` take templates.
#[derive(Debug, Clone)]
pub enum TemplatePart {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    /// Bits of the value, already truncated to the width of `ty` (sign
    /// information is in `ty`): `-1i32` is `Unary(Neg, Int(1))`, but the
    /// types pass may fold it to `Int(0xffff_ffff)`.
    Int(u64),
    Bool(bool),
    Null,
    Str(String),
    Template(Vec<TemplatePart>),
    Local(LocalId),
    /// Reads a pointer local and sets it to `NULL`: how an explicit release
    /// or move of a binding released at scope end (`drop.npk`) ends its
    /// ownership at run time. Made only by `drop_lower`, after checking.
    Take(LocalId),
    /// Read through a pointer: `p[i]` or `<-p`.
    Load(Box<Place>),
    /// `@local`
    AddrOf(LocalId),
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    /// Both operands have the same type; for comparisons `ty` is `Bool`;
    /// `And`/`Or` short-circuit.
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Cond {
        cond: Box<Expr>,
        then_expr: Box<Expr>,
        else_expr: Box<Expr>,
    },
    /// Call of a Nitpick function; `ty` is `Result<ret>`.
    Call {
        func: FuncId,
        args: Vec<Expr>,
    },
    /// Call of an extern; `ty` is its return type.
    CallExtern {
        ext: ExternId,
        args: Vec<Expr>,
    },
    Builtin {
        builtin: Builtin,
        args: Vec<Expr>,
    },
    /// `Jit.call(page, "sig", args...)`: `ty` is `Result<ret>`. The signature
    /// literal was parsed at compile time; `identity` says how to get its page
    /// identity and `params` are the types of `args` (already converted to
    /// them): integers, or a pointer for a buffer.
    JitCall {
        page: Box<Expr>,
        identity: JitIdentity,
        params: Vec<Ty>,
        args: Vec<Expr>,
    },
    /// `raw e` where `e: Result<T>`; `ty` is T.
    Raw(Box<Expr>),
    /// `e ? default` where `e: Result<T>`, `default: T`.
    OrElse {
        expr: Box<Expr>,
        default: Box<Expr>,
    },
    /// `drop e`; `ty` is `Nil`.
    Drop(Box<Expr>),
    /// `r.is_error` / `r.value` / `r.error` where `r: Result<T>`.
    ResultField {
        expr: Box<Expr>,
        field: ResultField,
    },
    /// Integer/pointer/bool conversion to `ty` (wrap, truncate, or extend by
    /// the source's signedness).
    Cast(Box<Expr>),
}
