//! Name-resolution errors (`NPK-2xx`): a data-only enum, its conversion to a
//! [`Diagnostic`], and the long explanations for `npkc --explain`.
//!
//! Variants hold spans and names only; messages are formatted here, in
//! [`Error::to_diagnostic`], and nowhere else.

use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// A problem with names: definitions, lookups, the program's entry points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Two items, two namespace members or two parameters with one name.
    DuplicateDefinition {
        name: String,
        span: Span,
        first: Span,
    },
    /// A name that is neither a local, a builtin nor a visible item.
    UnknownName {
        name: String,
        span: Span,
        suggestion: Option<String>,
    },
    /// A type name that is not one of the language's types.
    UnknownType {
        name: String,
        span: Span,
        suggestion: Option<String>,
    },
    /// A name that two imported modules both define.
    AmbiguousName {
        name: String,
        span: Span,
        candidates: Vec<Span>,
    },
    /// A top-level item named like a builtin function.
    ReservedName { name: String, span: Span },
    /// Two `extern` declarations of one C symbol with different signatures.
    ConflictingExtern {
        name: String,
        span: Span,
        first: Span,
    },
    /// A local declared twice in the same block.
    DuplicateLocal {
        name: String,
        span: Span,
        first: Span,
    },
    /// `main` exists but `failsafe` does not.
    MissingFailsafe { main: Span },
    /// `Ns.name` where the namespace has no such member.
    UnknownMember {
        namespace: String,
        name: String,
        span: Span,
        suggestion: Option<String>,
    },
    /// `X.name(...)` where `X` is not a namespace.
    NotANamespace { name: String, span: Span },
}

impl Error {
    /// The rendered form of this error.
    #[must_use]
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            Error::DuplicateDefinition { name, span, first } => Diagnostic::error(
                "NPK-201",
                format!("`{name}` is defined more than once"),
                *span,
            )
            .with_label("redefined here")
            .with_secondary(*first, "first defined here")
            .with_help("rename one of the definitions"),
            Error::UnknownName {
                name,
                span,
                suggestion,
            } => with_suggestion(
                Diagnostic::error("NPK-202", format!("cannot find `{name}` in this scope"), *span)
                    .with_label("not found"),
                suggestion.as_deref(),
            ),
            Error::UnknownType {
                name,
                span,
                suggestion,
            } => {
                let d = Diagnostic::error("NPK-203", format!("unknown type `{name}`"), *span)
                    .with_label("not a type");
                match suggestion {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_note(
                        "the types are int8 int16 int32 int64 uint8 uint16 uint32 uint64 tbb32 \
                         bool string NIL, pointers `T->` `?->` and `Result<T>`",
                    ),
                }
            }
            Error::AmbiguousName {
                name,
                span,
                candidates,
            } => {
                let mut d = Diagnostic::error(
                    "NPK-204",
                    format!("`{name}` is defined by more than one imported module"),
                    *span,
                )
                .with_label("ambiguous name")
                .with_help(format!(
                    "define `{name}` in this module, or import only one of the modules"
                ));
                for c in candidates {
                    d = d.with_secondary(*c, "one definition is here");
                }
                d
            }
            Error::ReservedName { name, span } => Diagnostic::error(
                "NPK-205",
                format!("`{name}` is the name of a builtin function"),
                *span,
            )
            .with_label("reserved name")
            .with_help("choose another name, or put the function in a `Type:` namespace"),
            Error::ConflictingExtern { name, span, first } => Diagnostic::error(
                "NPK-206",
                format!("conflicting declarations of extern `{name}`"),
                *span,
            )
            .with_label("this signature differs")
            .with_secondary(*first, "first declared here")
            .with_help("declare a C symbol with the same signature everywhere"),
            Error::DuplicateLocal { name, span, first } => Diagnostic::error(
                "NPK-207",
                format!("`{name}` is already declared in this block"),
                *span,
            )
            .with_label("declared again here")
            .with_secondary(*first, "first declared here")
            .with_help("rename it, or assign to the existing binding with `name = value;`"),
            Error::MissingFailsafe { main } => Diagnostic::error(
                "NPK-208",
                "a program with `main` needs a `failsafe` function",
                *main,
            )
            .with_label("`main` is defined here")
            .with_help("add `func:failsafe = int32(tbb32:err) { exit 1; };`"),
            Error::UnknownMember {
                namespace,
                name,
                span,
                suggestion,
            } => with_suggestion(
                Diagnostic::error(
                    "NPK-209",
                    format!("namespace `{namespace}` has no function `{name}`"),
                    *span,
                )
                .with_label("not found"),
                suggestion.as_deref(),
            ),
            Error::NotANamespace { name, span } => {
                Diagnostic::error("NPK-210", format!("`{name}` is not a namespace"), *span)
                    .with_label("not a `Type:` namespace")
                    .with_help("only `Type:` namespaces have members to call")
            }
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(e: Error) -> Diagnostic {
        e.to_diagnostic()
    }
}

fn with_suggestion(d: Diagnostic, suggestion: Option<&str>) -> Diagnostic {
    match suggestion {
        Some(s) => d.with_help(format!("a name that exists is similar: `{s}`")),
        None => d,
    }
}

/// Long explanations of the `NPK-2xx` codes.
pub const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "NPK-201",
        "An item is defined twice.\n\nIn one module, top-level functions, `extern` declarations and \
         `Type:` namespaces share one set of names; the functions of a namespace share another; \
         the parameters of a function another.\n\n```\nfunc:f = int32() { pass 1; };\nfunc:f = int32() { pass 2; };   // error\n```\n\nRename one of them.",
    ),
    (
        "NPK-202",
        "A name was used that is not a local binding in scope, a builtin, a function of this \
         module, or a function of a module imported with `use`.\n\n```\nint32:total = 1;\nprintln(totl);   // error: did you mean `total`?\n```\n\nImports are not transitive: a module sees only its own items and those of the modules it \
         names in `use` itself.",
    ),
    (
        "NPK-203",
        "A type was written that does not exist in Nitpick.\n\nThe types are `int8 int16 int32 \
         int64 uint8 uint16 uint32 uint64 tbb32 bool string NIL`, pointers `T->` and `?->`, \
         and `Result<T>`; in `extern` declarations also `T*`, `?*` and `void`.\n\n```\nInt32:x = 1;   // error: did you mean `int32`?\n```",
    ),
    (
        "NPK-204",
        "Two modules imported by the same module both define the name, so it is unclear which \
         one is meant.\n\nA module's own items take precedence over imported ones, so defining \
         the name locally resolves the ambiguity; otherwise import only one of the modules.",
    ),
    (
        "NPK-205",
        "`alloc`, `free`, `wildx_alloc`, `wildx_seal`, `wildx_free`, `print` and `println` are \
         builtin functions. A top-level function or extern with one of these names could never \
         be called, so it is refused.\n\n```\nfunc:free = NIL(int8->:p) { };   // error\n```\n\nInside a `Type:` namespace such a name is fine because it is always called \
         qualified (`Jit.free(f)`); an unqualified `free(p)` inside the namespace still means \
         the builtin.",
    ),
    (
        "NPK-206",
        "Two `extern func:` declarations (possibly in different modules) name the same C symbol \
         but disagree on parameter or return types. A C symbol has one signature.\n\n```\nextern func:npk_wildx_seal = int32(?*:p);\nextern func:npk_wildx_seal = int64(?*:p);   // error\n```",
    ),
    (
        "NPK-207",
        "A local binding is declared twice in the same block (parameters count as declared in \
         the function's outermost block). An inner block may shadow a name of an outer one.\n\n```\nint32:x = 1;\nint32:x = 2;        // error\n{ int32:x = 3; }    // fine: inner block\n```\n\nTo change the value, assign: `x = 2;`.",
    ),
    (
        "NPK-208",
        "A program (a root module with `main`) must define `failsafe`, the function the runtime \
         calls on a run-time error (division by zero, ...):\n\n```\nfunc:failsafe = int32(tbb32:err) { exit 1; };\n```",
    ),
    (
        "NPK-209",
        "`Ns.name(...)` calls a function of the `Type:` namespace `Ns`, but `Ns` has no function \
         with that name.\n\n```\nType:Jit = { func:free = int32(wildx int8->:f) { pass wildx_free(f); }; };\nJit.fre(f);   // error: did you mean `free`?\n```",
    ),
    (
        "NPK-210",
        "`X.name(...)` is a call of a namespace member, but `X` is a function or extern, not a \
         `Type:` namespace.",
    ),
];
