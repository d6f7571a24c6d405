//! Type errors (`NPK-3xx`): a data-only enum, its conversion to a
//! [`Diagnostic`], and the long explanations for `npkc --explain`.
//!
//! Variants hold spans, names and [`Ty`]s; messages are formatted only in
//! [`Error::to_diagnostic`].

use crate::ast::BinOp;
use crate::diagnostic::Diagnostic;
use crate::hir::{GcKind, Ty};
use crate::source::Span;

use super::ty::show;

/// The four ways to consume a result, shown in every `NPK-305` help.
const CONSUME_HELP: &str = "consume the result: `raw e` (its value, zero on error), \
`e ? default`, `drop e;`, or bind it with `Result<T>:r = e;` and read `r.is_error`, \
`r.value`, `r.error`";

/// Which control-flow statement is misplaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Break,
    Continue,
    Pass,
    Fail,
    Exit,
}

impl Keyword {
    fn name(self) -> &'static str {
        match self {
            Keyword::Break => "break",
            Keyword::Continue => "continue",
            Keyword::Pass => "pass",
            Keyword::Fail => "fail",
            Keyword::Exit => "exit",
        }
    }
}

/// Why a use of `gc` is refused (`NPK-326`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcRefusal {
    /// `gc T` for a `T` (as written) other than `int64->`, `?->->`, `?->`.
    Type(String),
    /// `gc` in an `extern` declaration.
    Extern,
    /// `@` of a `gc` binding.
    AddressOf,
}

/// Where a type was written, for `NPK-321`/`NPK-322`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypePlace {
    /// A local binding's type.
    Binding,
    /// A parameter's type.
    Param,
    /// A return type.
    Return,
    /// Behind `->`/`*`.
    Pointee,
    /// Inside `Result<...>`.
    ResultArg,
    /// In `@cast<T>` / `=> T`.
    Cast,
}

/// What is wrong with the signature of a `Jit.call` (`NPK-327`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JitSigProblem {
    /// Fewer than two arguments: no page or no signature.
    Missing,
    /// The signature is not a string literal.
    NotALiteral,
    /// `npk-jit`'s parser refused it (its message).
    Malformed(String),
    /// A pointer parameter without an extent, or a pointer result.
    Pointer,
}

/// A type error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Binary operands of different types.
    MismatchedOperands {
        op: BinOp,
        lhs: Ty,
        rhs: Ty,
        span: Span,
        lhs_span: Span,
        rhs_span: Span,
        /// The right operand's name when it is a bare name (for the help).
        rhs_name: Option<String>,
    },
    /// A value of the wrong type where `expected` is needed.
    MismatchedTypes {
        expected: Ty,
        found: Ty,
        span: Span,
        /// The value's name when it is a bare name (for the help).
        found_name: Option<String>,
    },
    /// An integer literal that does not fit its type.
    LiteralOutOfRange { value: i128, ty: Ty, span: Span },
    /// `if`/`while`/`for`/`is`/`&&`/`||`/`!` operand that is not `bool`.
    NonBoolCondition { found: Ty, span: Span },
    /// A `Result` that is discarded or used as a plain value.
    UnconsumedResult { ty: Ty, span: Span },
    /// A non-`NIL` function whose end is reachable.
    MissingPass {
        name: String,
        ret: Ty,
        span: Span,
        ret_span: Span,
    },
    /// Call with the wrong number of arguments.
    WrongArgCount {
        callee: String,
        expected: usize,
        found: usize,
        span: Span,
        decl: Option<Span>,
    },
    /// `Jit.call` without a usable signature literal.
    BadJitSignature { problem: JitSigProblem, span: Span },
    /// Call of something that is not a function.
    NotCallable { what: String, span: Span },
    /// `e.name` / `e->name` that does not exist.
    UnknownField {
        ty: Ty,
        name: String,
        span: Span,
        suggestion: Option<String>,
    },
    /// A `gc` binding, parameter or return type this subset does not support.
    GcUnsupported { what: GcRefusal, span: Span },
    /// Assignment to a `fixed` binding (or a loop counter).
    AssignToFixed {
        name: String,
        span: Span,
        decl: Span,
    },
    /// `break`/`continue` outside a loop, `pass`/`fail`/`exit` where not allowed.
    MisplacedKeyword {
        kw: Keyword,
        span: Span,
        reason: &'static str,
    },
    /// `$` outside `loop`/`till`.
    DollarOutsideLoop { span: Span },
    /// `main` or `failsafe` with the wrong signature.
    BadEntrySignature {
        name: &'static str,
        expected: &'static str,
        span: Span,
    },
    /// An operator applied to a type it does not support.
    InvalidOperand {
        op: &'static str,
        ty: Ty,
        span: Span,
    },
    /// `@e` where `e` is not a local binding.
    AddrOfNonLocal { span: Span },
    /// `<-p` / `p[i]` where `p` is not a pointer with a sized pointee.
    NotIndexable { ty: Ty, span: Span, deref: bool },
    /// A cast between types that do not convert.
    InvalidCast { from: Ty, to: Ty, span: Span },
    /// `T*`, `?*` or `void` outside an `extern` declaration.
    CTypeOutsideExtern { written: &'static str, span: Span },
    /// A type that is not allowed where it is written (`NIL` binding, `Result` parameter ...).
    TypeNotAllowed {
        ty: String,
        place: TypePlace,
        span: Span,
    },
    /// A function or namespace used as a value, or a `NIL` expression used as one.
    NotAValue { what: String, span: Span },
    /// Assignment to something that is not a local, `p[i]` or `<-p`.
    NotAssignable { span: Span },
    /// `pass e;` in a `NIL` function, or `pass;` in a function returning a value.
    PassValue {
        ret: Ty,
        span: Span,
        has_value: bool,
    },
    /// `print` of a value that cannot be printed.
    NotPrintable { ty: Ty, span: Span },
    /// `raw`, `?` or `drop` applied to something that is not a `Result`.
    ExpectedResult {
        op: &'static str,
        found: Ty,
        span: Span,
    },
}

impl Error {
    /// The rendered form of this error.
    #[must_use]
    #[allow(clippy::too_many_lines)]
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            Error::MismatchedOperands {
                op,
                lhs,
                rhs,
                span,
                lhs_span,
                rhs_span,
                rhs_name,
            } => {
                let d = Diagnostic::error(
                    "NPK-301",
                    format!(
                        "mismatched operand types for `{}`: `{}` and `{}`",
                        op.symbol(),
                        show(lhs),
                        show(rhs)
                    ),
                    *span,
                )
                .with_secondary(*lhs_span, format!("this is `{}`", show(lhs)))
                .with_secondary(*rhs_span, format!("this is `{}`", show(rhs)));
                match (lhs, rhs) {
                    (Ty::Int(_), Ty::Int(_)) => d.with_help(format!(
                        "there is no implicit integer conversion; convert one side, e.g. \
                         `@cast<{l}>({e})` or `{e} => {l}`",
                        l = show(lhs),
                        e = rhs_name.as_deref().unwrap_or("e")
                    )),
                    _ => d,
                }
            }
            Error::MismatchedTypes {
                expected,
                found,
                span,
                found_name,
            } => {
                let e = found_name.as_deref().unwrap_or("e");
                let d = Diagnostic::error(
                    "NPK-302",
                    format!(
                        "mismatched types: expected `{}`, found `{}`",
                        show(expected),
                        show(found)
                    ),
                    *span,
                )
                .with_label(format!("expected `{}`", show(expected)));
                match (expected, found) {
                    (Ty::Int(_), Ty::Int(_) | Ty::Bool) => d.with_help(format!(
                        "there is no implicit integer conversion; write `@cast<{t}>({e})` or `{e} => {t}`",
                        t = show(expected)
                    )),
                    (Ty::Result(_), _) => {
                        d.with_help("a `Result` binding is initialised by a call of a Nitpick function")
                    }
                    (Ty::Ptr(_) | Ty::Erased, Ty::Ptr(_) | Ty::Erased) => d.with_help(format!(
                        "convert the pointer explicitly: `{e} => {}`",
                        show(expected)
                    )),
                    _ => d,
                }
            }
            Error::LiteralOutOfRange { value, ty, span } => Diagnostic::error(
                "NPK-303",
                format!("literal `{value}` does not fit in `{}`", show(ty)),
                *span,
            )
            .with_label(format!("out of range for `{}`", show(ty)))
            .with_help(literal_help(*value, ty)),
            Error::NonBoolCondition { found, span } => {
                let d = Diagnostic::error(
                    "NPK-304",
                    format!("expected `bool`, found `{}`", show(found)),
                    *span,
                )
                .with_label("not a `bool`");
                match found {
                    Ty::Int(_) => d.with_help("there is no truthiness; compare explicitly, e.g. `x != 0`"),
                    Ty::Ptr(_) | Ty::Erased => {
                        d.with_help("there is no truthiness; compare explicitly, e.g. `p != NULL`")
                    }
                    _ => d,
                }
            }
            Error::UnconsumedResult { ty, span } => Diagnostic::error(
                "NPK-305",
                format!("unconsumed result of type `{}`", show(ty)),
                *span,
            )
            .with_label("this call may fail and its result must be consumed")
            .with_help(CONSUME_HELP),
            Error::MissingPass {
                name,
                ret,
                span,
                ret_span,
            } => Diagnostic::error(
                "NPK-306",
                format!("function `{name}` can reach its end without `pass` or `fail`"),
                *span,
            )
            .with_label("control reaches the end here")
            .with_secondary(*ret_span, format!("`{name}` returns `{}`", show(ret)))
            .with_help("end every path with `pass value;` or `fail code;`"),
            Error::WrongArgCount {
                callee,
                expected,
                found,
                span,
                decl,
            } => {
                let d = Diagnostic::error(
                    "NPK-307",
                    format!(
                        "`{callee}` takes {expected} argument{}, but {found} {} given",
                        plural(*expected),
                        if *found == 1 { "was" } else { "were" }
                    ),
                    *span,
                );
                match decl {
                    Some(s) => d.with_secondary(*s, "declared here"),
                    None => d,
                }
            }
            Error::BadJitSignature { problem, span } => {
                let d = Diagnostic::error("NPK-327", "unusable `Jit.call` signature", *span);
                match problem {
                    JitSigProblem::Missing => d
                        .with_label("needs a page and a signature")
                        .with_help("write `Jit.call(f, \"int32(int32,int32)\", a, b)`"),
                    JitSigProblem::NotALiteral => d
                        .with_label("not a string literal")
                        .with_help("the signature is checked at compile time: write it as a literal such as \"int64(int64)\""),
                    JitSigProblem::Malformed(msg) => d.with_label(msg.clone()),
                    JitSigProblem::Pointer => d
                        .with_label("a pointer without an extent is not callable")
                        .with_note("`Jit.call` takes int32, int64, uint32 and uint64 parameters and results, and buffers with an extent")
                        .with_help("give the pointer a name and an extent: `int64(int64* xs[n], int64 n)`"),
                }
            }
            Error::NotCallable { what, span } => {
                Diagnostic::error("NPK-308", format!("{what} is not a function"), *span)
                    .with_label("called here")
            }
            Error::UnknownField {
                ty,
                name,
                span,
                suggestion,
            } => {
                let d = Diagnostic::error(
                    "NPK-309",
                    format!("type `{}` has no field `{name}`", show(ty)),
                    *span,
                )
                .with_label("unknown field");
                match (suggestion, ty) {
                    (Some(s), _) => d.with_help(format!("did you mean `{s}`?")),
                    (None, Ty::Result(_)) => {
                        d.with_help("a `Result` has the fields `is_error`, `value` and `error`")
                    }
                    (None, _) => d.with_note("only `Result` values have fields in this subset"),
                }
            }
            Error::GcUnsupported { what, span } => match what {
                GcRefusal::Type(written) => Diagnostic::error(
                    "NPK-326",
                    format!("`gc {written}` is not a garbage-collected type"),
                    *span,
                )
                .with_label("not an array the collector knows")
                .with_note(
                    "a `gc` binding holds `int64->` (an array of int64), `?->->` (an array of gc \
                     references) or `?->` (either kind)",
                )
                .with_help("allocate with `gc_ints(n)` or `gc_refs(n)`; for other memory use `wild` with `alloc`/`free`"),
                GcRefusal::Extern => Diagnostic::error(
                    "NPK-326",
                    "`gc` values cannot cross into C",
                    *span,
                )
                .with_label("`gc` in an `extern` declaration")
                .with_note("the collector moves objects: C code would keep a stale address")
                .with_help(
                    "pass the address as an integer (`g => int64`) and keep the object alive in a \
                     rooted slot (`npk_shadow_stack_add_root`)",
                ),
                GcRefusal::AddressOf => Diagnostic::error(
                    "NPK-326",
                    "cannot take the address of a `gc` binding",
                    *span,
                )
                .with_label("its slot belongs to the collector's shadow stack")
                .with_help(
                    "to give C or JIT code a slot, store the address in `wild` memory and root it \
                     with `npk_shadow_stack_add_root`",
                ),
            },
            Error::AssignToFixed { name, span, decl } => Diagnostic::error(
                "NPK-310",
                format!("cannot assign to `{name}`, which cannot be reassigned"),
                *span,
            )
            .with_label("assignment here")
            .with_secondary(*decl, "declared here")
            .with_help("remove `fixed` from the declaration, or use a new binding"),
            Error::MisplacedKeyword { kw, span, reason } => Diagnostic::error(
                "NPK-311",
                format!("`{}` {reason}", kw.name()),
                *span,
            ),
            Error::DollarOutsideLoop { span } => {
                Diagnostic::error("NPK-312", "`$` outside of `loop` or `till`", *span)
                    .with_help("`$` is the counter of the innermost `loop(...)` or `till(...)`")
            }
            Error::BadEntrySignature {
                name,
                expected,
                span,
            } => Diagnostic::error(
                "NPK-313",
                format!("`{name}` has the wrong signature"),
                *span,
            )
            .with_help(format!("declare it as `func:{name} = {expected} {{ ... }};`")),
            Error::InvalidOperand { op, ty, span } => Diagnostic::error(
                "NPK-315",
                format!("`{op}` cannot be applied to `{}`", show(ty)),
                *span,
            ),
            Error::AddrOfNonLocal { span } => {
                Diagnostic::error("NPK-316", "`@` can only take the address of a local binding", *span)
            }
            Error::NotIndexable { ty, span, deref } => {
                let what = if *deref { "dereferenced" } else { "indexed" };
                let d = Diagnostic::error(
                    "NPK-317",
                    format!("a value of type `{}` cannot be {what}", show(ty)),
                    *span,
                );
                match ty {
                    Ty::Erased => d.with_help("convert it to a typed pointer first, e.g. `p => uint8->`"),
                    Ty::Gc(GcKind::Any) => d.with_help(
                        "convert it to the array kind it holds first (checked at run time): \
                         `g => int64->` or `g => ?->->`",
                    ),
                    Ty::Gc(_) => d.with_help("read a `gc` array's elements with `g[i]`"),
                    _ => d.with_note("only pointers `T->` to a sized type can be indexed or dereferenced"),
                }
            }
            Error::InvalidCast { from, to, span } if matches!(from, Ty::Gc(_)) => Diagnostic::error(
                "NPK-318",
                format!("cannot convert `{}` to `{}`", show(from), show(to)),
                *span,
            )
            .with_note(
                "a gc reference converts to another gc kind (`=> int64->`, `=> ?->->`, `=> ?->`; \
                 checked at run time) or to its address as `int64`/`uint64`, which is no root",
            ),
            Error::InvalidCast { from, to, span } => Diagnostic::error(
                "NPK-318",
                format!("cannot convert `{}` to `{}`", show(from), show(to)),
                *span,
            )
            .with_note(
                "casts convert between integer types, from `bool` to integers, between pointers, \
                 and between pointers and 64-bit integers",
            ),
            Error::CTypeOutsideExtern { written, span } => Diagnostic::error(
                "NPK-319",
                format!("`{written}` is only allowed in `extern` declarations"),
                *span,
            )
            .with_help(match *written {
                "void" => "use `NIL` for a function that returns no value",
                "?*" => "use the erased pointer `?->`",
                _ => "use a Nitpick pointer `T->`",
            }),
            Error::TypeNotAllowed { ty, place, span } => {
                let where_ = match place {
                    TypePlace::Binding => "as the type of a binding",
                    TypePlace::Param => "as a parameter type",
                    TypePlace::Return => "as a return type",
                    TypePlace::Pointee => "behind a pointer",
                    TypePlace::ResultArg => "inside `Result<...>`",
                    TypePlace::Cast => "as a cast target",
                };
                let d = Diagnostic::error("NPK-320", format!("`{ty}` is not allowed {where_}"), *span);
                if ty.starts_with("Result") {
                    d.with_help("`Result<T>` is only the type of a local binding that holds a call's result")
                } else {
                    d
                }
            }
            Error::NotAValue { what, span } => {
                Diagnostic::error("NPK-321", format!("{what} is not a value"), *span)
                    .with_label("used as a value here")
            }
            Error::NotAssignable { span } => Diagnostic::error("NPK-322", "cannot assign to this expression", *span)
                .with_help("assign to a local binding, `p[i]` or `<-p`"),
            Error::PassValue {
                ret,
                span,
                has_value,
            } => {
                if *has_value {
                    Diagnostic::error("NPK-323", "`pass` with a value in a function that returns `NIL`", *span)
                        .with_help("write `pass;`")
                } else {
                    Diagnostic::error(
                        "NPK-323",
                        format!("`pass` without a value in a function that returns `{}`", show(ret)),
                        *span,
                    )
                    .with_help("write `pass value;`")
                }
            }
            Error::NotPrintable { ty, span } => {
                let d = Diagnostic::error(
                    "NPK-324",
                    format!("a value of type `{}` cannot be printed", show(ty)),
                    *span,
                )
                .with_note("`print`/`println` take strings, template strings, integers and bools");
                if matches!(ty, Ty::Ptr(_) | Ty::Erased) {
                    d.with_help("to print the address, convert it: `&{p => uint64}`")
                } else {
                    d
                }
            }
            Error::ExpectedResult { op, found, span } => Diagnostic::error(
                "NPK-325",
                format!("`{op}` needs a `Result`, found `{}`", show(found)),
                *span,
            )
            .with_note("only calls of Nitpick functions yield a `Result`; builtins and externs return plain values"),
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(e: Error) -> Diagnostic {
        e.to_diagnostic()
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Long explanations of the `NPK-3xx` codes.
pub const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "NPK-301",
        "The two operands of a binary operator have different types. Nitpick has no implicit integer conversion.\n\n```\nint64:a = 1;\nint32:b = 2;\nint64:c = a + b;                // error\nint64:d = a + @cast<int64>(b);  // fine\nint64:e = a + (b => int64);     // fine\n```\n\nUnsuffixed literals take the type of the other operand: `a + 1` is `int64`.",
    ),
    (
        "NPK-302",
        "A value of one type is used where another is expected: a binding's initialiser, an assignment, an argument, `pass`, `fail`, `exit`.\n\n```\nint64:x = 5i32;   // error: expected `int64`, found `int32`\n```\n\n`NULL` converts to every pointer; the result of `alloc`/`wildx_alloc` initialises any pointer type; every pointer converts to an erased `?->`/`?*` parameter. Anything else needs `@cast<T>(e)` or `e => T`.",
    ),
    (
        "NPK-303",
        "An integer literal does not fit in the type it gets from its suffix or its context.\n\n```\nuint8:x = 256;    // error\nint8:y = -128;    // fine\n```",
    ),
    (
        "NPK-304",
        "Conditions (`if`, `while`, `for`, `is`) and the operands of `!`, `&&`, `||` must be `bool`; there is no truthiness.\n\n```\nif (n) { }        // error\nif (n != 0) { }   // fine\n```",
    ),
    (
        "NPK-305",
        "Every call of a Nitpick function yields `Result<T>`, because the function may `fail`. The result must be consumed in one of four ways:\n\n```\nint32:a = raw f();            // the value; zero on error, no check\nint32:b = f() ? -1;           // the value, or -1 on error\ndrop f();                     // ignore it explicitly\nResult<int32>:r = f();        // inspect r.is_error, r.value, r.error\n```\n\nDiscarding it (`f();`) or using it as a plain value (`f() + 1`) is an error. Builtins and `extern` functions return plain values.",
    ),
    (
        "NPK-306",
        "A function that returns a value can reach the end of its body without `pass` or `fail`, so the caller would get no value.\n\n```\nfunc:sign = int32(int32:x) {\n    if (x < 0) { pass -1; }\n};   // error: nothing passed when x >= 0\n```\n\nA `NIL` function may fall off its end; `main` falling off its end exits with 0.",
    ),
    (
        "NPK-307",
        "A function is called with the wrong number of arguments.",
    ),
    (
        "NPK-308",
        "Something that is not a function (a local binding, a namespace, a field) is called.\n\n```\nint32:x = 1;\nx();   // error\n```",
    ),
    (
        "NPK-309",
        "A field that does not exist is read. In this subset only `Result<T>` values have fields: `is_error` (bool), `value` (T, zero on error) and `error` (int32, zero when not an error).",
    ),
    (
        "NPK-310",
        "A `fixed` binding (or the counter `$` of a loop) is assigned after its declaration.\n\n```\nfixed int32:x = 1;\nx = 2;   // error\n```",
    ),
    (
        "NPK-311",
        "A control-flow statement is used where it has no meaning: `break`/`continue` outside a loop, `exit` outside `main` and `failsafe`, `pass`/`fail` in `main` (which ends with `exit`), or `break`/`continue`/`pass`/`fail`/`exit` leaving a `defer` block (a defer runs while a scope is left and cannot itself leave it).",
    ),
    (
        "NPK-312",
        "`$` is the counter of the innermost `loop(start, limit, step)` or `till(limit, step)`; outside them it means nothing.",
    ),
    (
        "NPK-313",
        "`main` must be `int32()` and `failsafe` must be `int32(tbb32:err)`.\n\n```\nfunc:main = int32() { exit 0; };\nfunc:failsafe = int32(tbb32:err) { exit 1; };\n```",
    ),
    (
        "NPK-314",
        "Retired: template strings were once allowed only as the argument of `print` or `println`. A template string `` `x = &{x}` `` is now a `string` value wherever one is expected; the compiler owns its storage (see docs/language.md). This code is no longer emitted.",
    ),
    (
        "NPK-315",
        "An operator is applied to a type it does not work on: arithmetic and bitwise operators take integers, `!`, `&&`, `||` take `bool`, `<`/`>` take integers, `==`/`!=` take integers, bools and pointers.",
    ),
    (
        "NPK-316",
        "`@x` takes the address of a local binding; it cannot take the address of an expression, a function or `$`.",
    ),
    (
        "NPK-317",
        "`p[i]` and `<-p` need `p` to be a pointer `T->` whose pointee has a size. An erased pointer `?->` has no pointee: convert it first, e.g. `(p => uint8->)[0]`.",
    ),
    (
        "NPK-318",
        "A cast converts between integer types (wrapping, truncating or extending by the source's signedness), from `bool` to an integer, between pointer types, from `string` to a pointer, and between pointers and `int64`/`uint64`. Other conversions do not exist; compare instead (`x != 0` for a bool).",
    ),
    (
        "NPK-319",
        "The C types `T*`, `?*` and `void` describe C functions and are only written in `extern func:` declarations. In Nitpick code write `T->`, `?->` and `NIL`.",
    ),
    (
        "NPK-320",
        "A type is written where it cannot be used: `NIL` is not a value type (only a return type), `Result<T>` is only the type of a local binding holding a call's result (not a parameter, return or pointee type, and not nested), and a cast target must be an integer, `bool` or pointer type.",
    ),
    (
        "NPK-321",
        "A function, a namespace or an expression of type `NIL` is used where a value is needed.\n\n```\nint32:x = print(1);   // error: `print` returns no value\n```",
    ),
    (
        "NPK-322",
        "Only a local binding, an element `p[i]` or a pointee `<-p` can be assigned to.",
    ),
    (
        "NPK-323",
        "`pass e;` passes a value to the caller: a `NIL` function writes `pass;` and a function with a return type writes `pass value;`.",
    ),
    (
        "NPK-324",
        "`print` and `println` print strings, template strings, integers and bools.",
    ),
    (
        "NPK-326",
        "`gc` bindings, parameters and return types hold references to objects of the garbage-collected heap: `gc int64->` (an array of int64, from `gc_ints(n)`), `gc ?->->` (an array of gc references, from `gc_refs(n)`) and `gc ?->` (either; what an element of a reference array is). Any other `gc T` is refused, as is `gc` in an `extern` declaration (the collector moves objects, C would keep stale addresses) and `@` of a `gc` binding (its slot belongs to the shadow stack). See docs/language.md.\n\n```\ngc int64->:xs = gc_ints(8);   // fine\ngc int8->:g = alloc(8);       // error[NPK-326]: not a garbage-collected type\n```",
    ),
    (
        "NPK-327",
        "`Jit.call(f, \"sig\", args...)` calls the JIT page `f` as a function of the signature `sig`, which must be a string literal: the compiler parses it (as `npk-jit` does, e.g. `int64(int64,uint32)`: int32, int64, uint32, uint64, a NIL result; at most 6 parameters), checks each argument against its parameter and gives the call the type `Result<ret>`. At run time the call is made only if the page is sealed, live and proven for exactly that signature; otherwise it is an error result whose code says why (the `NPK_JIT_ERR_*` codes, see stdlib/jit.npk). A buffer parameter `T* xs[n]` (`mut T*` if the code may store into it) takes a pointer `T->` (or untyped bytes from `alloc`, `NULL`, or a `string` for int8/uint8 buffers); its extent argument is passed as written: the caller promises the buffer holds that many elements, as in C. A pointer without an extent (`int64*`, `ptr`) and pointer results are refused.\n\n```\nint32:s = Jit.call(f, \"int32(int32,int32)\", 40, 2) ? -1;\nint64:t = Jit.call(g, \"int64(int64\", 1) ? -1;   // error[NPK-327]: missing closing `)`\n```",
    ),
    (
        "NPK-325",
        "`raw e`, `e ? default` and `drop e` consume a `Result`, the value of a call of a Nitpick function. Builtins and externs return plain values, which need none of these.",
    ),
];

/// The help of NPK-303. A non-negative literal that fits the unsigned type of a
/// signed type's width is a bit pattern (`0x90i8`): the fix is a wrapping cast
/// of the unsigned literal, not a wider type.
fn literal_help(value: i128, ty: &Ty) -> String {
    if let Ty::Int(it) = ty
        && it.signed()
        && value >= 0
        && value < (1i128 << it.bits())
    {
        let wrapped = if value >= 1i128 << (it.bits() - 1) {
            value - (1i128 << it.bits())
        } else {
            value
        };
        return format!(
            "to use the bit pattern, write `{value:#x}u{bits} => {name}` (a wrapping cast, the value {wrapped}); for the number {value}, use a wider type",
            bits = it.bits(),
            name = it.name()
        );
    }
    "use a wider type, or a suffix such as `i64`/`u64` on the literal".to_string()
}
