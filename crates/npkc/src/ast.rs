//! The untyped syntax tree the parser produces, one [`Module`] per file.
//!
//! Every node carries a [`Span`]. Nothing here is resolved: names are plain
//! strings, literal types are whatever suffix was written, and `Type:`
//! namespaces, `use` paths and `=>` casts are kept as written. The `resolve`
//! and `types` passes turn this into `hir`.
//!
//! Precedence (low to high), as the parser builds it: `is (c) : a : b`,
//! `e ? d`, `||`, `&&`, `|`, `^`, `&`, `== !=`, `< <= > >=`, `<< >>`, `+ -`,
//! `* / %`, `e => T` (binds like Rust's `as`), unary (`- ! ~ @x <-p raw
//! drop`), postfix (call, `p[i]`, `.name`, `->name`).

use crate::source::{FileId, Span};

/// A name as written, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// Integer types of the language (`tbb32` is kept apart in [`TypeExprKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntTy {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl IntTy {
    /// Width in bits.
    #[must_use]
    pub fn bits(self) -> u32 {
        match self {
            IntTy::I8 | IntTy::U8 => 8,
            IntTy::I16 | IntTy::U16 => 16,
            IntTy::I32 | IntTy::U32 => 32,
            IntTy::I64 | IntTy::U64 => 64,
        }
    }

    /// Whether the type is signed.
    #[must_use]
    pub fn signed(self) -> bool {
        matches!(self, IntTy::I8 | IntTy::I16 | IntTy::I32 | IntTy::I64)
    }

    /// The source spelling, e.g. `int32`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            IntTy::I8 => "int8",
            IntTy::I16 => "int16",
            IntTy::I32 => "int32",
            IntTy::I64 => "int64",
            IntTy::U8 => "uint8",
            IntTy::U16 => "uint16",
            IntTy::U32 => "uint32",
            IntTy::U64 => "uint64",
        }
    }
}

/// A literal suffix: `7i32`, `72u8`, `3tbb32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntSuffix {
    Int(IntTy),
    Tbb32,
}

/// Memory region qualifier of a binding or parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    Stack,
    Wild,
    Wildx,
    Gc,
}

/// Qualifiers written before a type: `fixed`, and at most one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quals {
    pub fixed: bool,
    pub region: Option<Region>,
    /// Span of all qualifier keywords (empty span at the type if none).
    pub span: Span,
}

/// A type as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExprKind {
    Int(IntTy),
    Tbb32,
    Bool,
    String,
    /// `NIL`: no value (return type).
    Nil,
    /// `void` (extern return type only).
    Void,
    /// `T->`
    Ptr(Box<TypeExpr>),
    /// `T*` (extern declarations only)
    CPtr(Box<TypeExpr>),
    /// `?->`
    Erased,
    /// `?*` (extern declarations only)
    CErased,
    /// `Result<T>`
    Result(Box<TypeExpr>),
    /// Any other identifier in type position (an error in this subset).
    Named(Ident),
}

/// One parsed file.
#[derive(Debug, Clone)]
pub struct Module {
    pub file: FileId,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone)]
pub enum Item {
    Use(UseDecl),
    Func(FuncDecl),
    Extern(ExternDecl),
    Namespace(NamespaceDecl),
}

/// `use "jit.npk".*;`
#[derive(Debug, Clone)]
pub struct UseDecl {
    /// The path string as written (escapes processed).
    pub path: String,
    pub path_span: Span,
    pub span: Span,
}

/// `func:name = Ret(params) { body };`
#[derive(Debug, Clone)]
pub struct FuncDecl {
    pub name: Ident,
    /// Qualifiers written before the return type (`func:f = wildx int8->() ...`).
    pub ret_quals: Quals,
    pub ret: TypeExpr,
    pub params: Vec<Param>,
    pub body: Block,
    pub span: Span,
}

/// `extern func:name = Ret(params);`
#[derive(Debug, Clone)]
pub struct ExternDecl {
    pub name: Ident,
    /// Qualifiers written before the return type.
    pub ret_quals: Quals,
    pub ret: TypeExpr,
    pub params: Vec<Param>,
    pub span: Span,
}

/// `[quals] Type:name` in a parameter list.
#[derive(Debug, Clone)]
pub struct Param {
    pub quals: Quals,
    pub ty: TypeExpr,
    pub name: Ident,
    pub span: Span,
}

/// `Type:Name = { func:a = ...; func:b = ...; };`
#[derive(Debug, Clone)]
pub struct NamespaceDecl {
    pub name: Ident,
    pub funcs: Vec<FuncDecl>,
    pub span: Span,
}

/// `{ stmts }`
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
    /// `[quals] Type:name = init;`
    Let {
        quals: Quals,
        ty: TypeExpr,
        name: Ident,
        init: Expr,
    },
    /// `target = value;` or `target op= value;` (`op` is `Some` for compound).
    Assign {
        target: Expr,
        op: Option<BinOp>,
        value: Expr,
    },
    /// `expr;`
    Expr(Expr),
    /// `if (cond) { } else if ... else { }`
    If {
        cond: Expr,
        then_block: Block,
        else_branch: Option<Box<ElseBranch>>,
    },
    While {
        cond: Expr,
        body: Block,
    },
    /// `for (init; cond; step) { }`; each part may be absent.
    For {
        init: Option<Box<Stmt>>,
        cond: Option<Expr>,
        step: Option<Box<Stmt>>,
        body: Block,
    },
    /// `loop(start, limit, step) { }`
    Loop {
        start: Expr,
        limit: Expr,
        step: Expr,
        body: Block,
    },
    /// `till(limit, step) { }`
    Till {
        limit: Expr,
        step: Expr,
        body: Block,
    },
    Break,
    Continue,
    Block(Block),
    Defer(Block),
    /// `pass;` or `pass expr;`
    Pass(Option<Expr>),
    Fail(Expr),
    Exit(Expr),
}

/// What follows `else`.
#[derive(Debug, Clone)]
pub enum ElseBranch {
    /// `else if ...` (the statement is always a [`StmtKind::If`]).
    If(Stmt),
    Block(Block),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `&&` (short-circuit)
    And,
    /// `||` (short-circuit)
    Or,
}

impl BinOp {
    /// The operator as written.
    #[must_use]
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-e`
    Neg,
    /// `!e`
    Not,
    /// `~e`
    BitNot,
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// A piece of a template string `` `x = &{x}` ``.
#[derive(Debug, Clone)]
pub enum TemplatePart {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    /// Integer literal; `value` is the magnitude as written (fits in u64, else
    /// the lexer reported an error).
    Int {
        value: u64,
        suffix: Option<IntSuffix>,
    },
    Bool(bool),
    /// `NULL`
    Null,
    /// `'a'`: its byte value.
    Char(u8),
    /// `"..."` with escapes processed (UTF-8 bytes).
    Str(String),
    /// `` `...&{e}...` ``
    Template(Vec<TemplatePart>),
    /// A bare name.
    Name(Ident),
    /// `$`, the counter of the innermost `loop`/`till`.
    Dollar,
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    /// `@e`
    AddrOf(Box<Expr>),
    /// `<-e`
    Deref(Box<Expr>),
    /// `raw e`
    Raw(Box<Expr>),
    /// `drop e`
    Drop(Box<Expr>),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `is (cond) : then_expr : else_expr`
    Cond {
        cond: Box<Expr>,
        then_expr: Box<Expr>,
        else_expr: Box<Expr>,
    },
    /// `expr ? default`
    OrElse {
        expr: Box<Expr>,
        default: Box<Expr>,
    },
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    /// `base[index]`
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// `base.name` (also `Jit.free` before a call)
    Field {
        base: Box<Expr>,
        name: Ident,
    },
    /// `base->name`
    Arrow {
        base: Box<Expr>,
        name: Ident,
    },
    /// `@cast<T>(e)` or `e => T`
    Cast {
        ty: TypeExpr,
        expr: Box<Expr>,
    },
}
