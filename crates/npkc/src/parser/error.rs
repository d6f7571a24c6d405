//! Lexer and parser problems (`NPK-1xx`): a data-only enum, its conversion
//! to a [`Diagnostic`], and the long explanations for `npkc --explain`.
//!
//! Codes: 101 unterminated comment, 102 unexpected character, 103
//! unterminated literal, 104 bad escape, 105 integer too large, 106 malformed
//! integer, 107 bad character literal, 110 unexpected token, 111 missing `;`,
//! 112 unclosed delimiter, 113 invalid assignment target, 114 nesting too
//! deep, 115 expected expression, 116 expected type, 117 expected item, 118
//! bad qualifiers, 119 empty interpolation. Never reuse a retired code.

use crate::diagnostic::Diagnostic;
use crate::lexer::literal::EscapeProblem;
use crate::source::Span;

/// One lexer or parser problem. Fields are data; messages are made in
/// [`ParseError::into_diagnostic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    UnterminatedComment {
        span: Span,
    },
    UnexpectedChar {
        ch: char,
        span: Span,
    },
    Unterminated {
        what: &'static str,
        span: Span,
    },
    BadEscape {
        kind: EscapeProblem,
        span: Span,
    },
    IntTooLarge {
        span: Span,
    },
    BadIntSuffix {
        suffix: String,
        /// `Some(radix)` when the "suffix" starts with a digit that is not
        /// valid in that base (`0b102`).
        bad_digit_for_radix: Option<u32>,
        span: Span,
    },
    NoDigits {
        span: Span,
    },
    CharLiteralLength {
        count: usize,
        span: Span,
    },
    CharNotOneByte {
        ch: char,
        span: Span,
    },
    /// `expected` (e.g. "`)`") was needed `context` (e.g. "to close the
    /// condition"); `found` describes the token at `span`.
    Expected {
        expected: &'static str,
        context: &'static str,
        found: String,
        span: Span,
        /// The opening delimiter this token should have closed.
        opener: Option<Span>,
        help: Option<&'static str>,
    },
    /// `span` is empty, just after the previous token.
    MissingSemi {
        after: &'static str,
        span: Span,
    },
    /// A `{` never closed; `span` is where the `}` is missing.
    Unclosed {
        what: &'static str,
        open: Span,
        span: Span,
    },
    BadAssignTarget {
        span: Span,
    },
    TooDeep {
        span: Span,
    },
    ExpectedExpr {
        found: String,
        span: Span,
    },
    ExpectedType {
        found: String,
        span: Span,
    },
    ExpectedItem {
        found: String,
        span: Span,
        looks_like_statement: bool,
    },
    DuplicateQual {
        qual: &'static str,
        first: Span,
        span: Span,
    },
    ConflictingRegion {
        first: Span,
        span: Span,
    },
    EmptyInterpolation {
        span: Span,
    },
    ElseWithoutIf {
        span: Span,
    },
}

impl ParseError {
    /// The diagnostic for this problem.
    pub(crate) fn into_diagnostic(self) -> Diagnostic {
        match self {
            ParseError::UnterminatedComment { span } => {
                Diagnostic::error("NPK-101", "unterminated block comment", span)
                    .with_label("this comment is never closed")
                    .with_help("add `*/` where the comment should end")
                    .with_note("block comments do not nest")
            }
            ParseError::UnexpectedChar { ch, span } => Diagnostic::error(
                "NPK-102",
                format!("unexpected character `{}`", ch.escape_debug()),
                span,
            )
            .with_label("not part of the language")
            .with_help("remove it; identifiers use only ASCII letters, digits and `_`"),
            ParseError::Unterminated { what, span } => {
                let close = match what {
                    "string literal" => "`\"`",
                    "character literal" => "`'`",
                    "template string" => "`` ` ``",
                    _ => "`}`",
                };
                Diagnostic::error("NPK-103", format!("unterminated {what}"), span)
                    .with_label("starts here")
                    .with_help(format!("add the closing {close}"))
            }
            ParseError::BadEscape { kind, span } => {
                let (message, help) = match kind {
                    EscapeProblem::Unknown(c) => (
                        format!("unknown escape sequence `\\{}`", c.escape_debug()),
                        "valid escapes are \\n \\t \\r \\\\ \\\" \\' \\0 \\xNN and \\u{...}; write `\\\\` for a backslash",
                    ),
                    EscapeProblem::HexDigits => (
                        "`\\x` must be followed by exactly two hex digits".to_string(),
                        "write e.g. `\\x41`",
                    ),
                    EscapeProblem::UnicodeBrace => (
                        "malformed unicode escape".to_string(),
                        "write `\\u{` then 1 to 6 hex digits then `}`, e.g. `\\u{e9}`",
                    ),
                    EscapeProblem::UnicodeValue => (
                        "invalid unicode escape".to_string(),
                        "use 1 to 6 hex digits naming a unicode scalar value, e.g. `\\u{e9}`",
                    ),
                    EscapeProblem::HexNotAscii => (
                        "`\\x` escapes above `\\x7f` are not allowed in strings".to_string(),
                        "strings are UTF-8: write the character as `\\u{...}` instead",
                    ),
                };
                Diagnostic::error("NPK-104", message, span).with_help(help)
            }
            ParseError::IntTooLarge { span } => {
                Diagnostic::error("NPK-105", "integer literal is too large", span)
                    .with_label("does not fit in 64 bits")
                    .with_help("the largest literal is 18446744073709551615 (0xffff_ffff_ffff_ffff)")
            }
            ParseError::BadIntSuffix {
                suffix,
                bad_digit_for_radix: Some(radix),
                span,
            } => Diagnostic::error(
                "NPK-106",
                format!(
                    "invalid digit for a base-{radix} literal: `{}`",
                    suffix.chars().next().unwrap_or('?')
                ),
                span,
            )
            .with_help(format!("a base-{radix} literal uses only the digits of that base")),
            ParseError::BadIntSuffix {
                suffix,
                bad_digit_for_radix: None,
                span,
            } => Diagnostic::error(
                "NPK-106",
                format!("invalid suffix `{suffix}` on an integer literal"),
                span,
            )
            .with_help("valid suffixes are i8 i16 i32 i64 u8 u16 u32 u64 tbb32, e.g. `7i32`"),
            ParseError::NoDigits { span } => {
                Diagnostic::error("NPK-106", "integer literal has no digits", span)
                    .with_help("write at least one digit after the base prefix, e.g. `0x1f`")
            }
            ParseError::CharLiteralLength { count: 0, span } => {
                Diagnostic::error("NPK-107", "empty character literal", span)
                    .with_help("write one character between the quotes, e.g. `'a'`")
            }
            ParseError::CharLiteralLength { span, .. } => Diagnostic::error(
                "NPK-107",
                "character literal holds more than one character",
                span,
            )
            .with_help("a character literal is one byte; use a string `\"...\"` for text"),
            ParseError::CharNotOneByte { ch, span } => Diagnostic::error(
                "NPK-107",
                format!("character `{ch}` does not fit in one byte"),
                span,
            )
            .with_help("a character literal is one ASCII character or a `\\xNN` byte; use a string for other text"),
            ParseError::Expected {
                expected,
                context,
                found,
                span,
                opener,
                help,
            } => {
                let message = if context.is_empty() {
                    format!("expected {expected}, found {found}")
                } else {
                    format!("expected {expected} {context}, found {found}")
                };
                let mut d = Diagnostic::error("NPK-110", message, span)
                    .with_label(format!("expected {expected}"));
                if let Some(open) = opener {
                    d = d.with_secondary(open, "opened here");
                }
                if let Some(h) = help {
                    d = d.with_help(h);
                }
                d
            }
            ParseError::MissingSemi { after, span } => Diagnostic::error(
                "NPK-111",
                format!("expected `;` after {after}"),
                span,
            )
            .with_label("`;` missing here")
            .with_help("add `;` here"),
            ParseError::Unclosed { what, open, span } => Diagnostic::error(
                "NPK-112",
                format!("expected `}}` to close {what}"),
                span,
            )
            .with_label("`}` missing here")
            .with_secondary(open, "this `{` is never closed")
            .with_help("add `}` where the block should end"),
            ParseError::BadAssignTarget { span } => {
                Diagnostic::error("NPK-113", "cannot assign to this expression", span)
                    .with_label("not a variable, `p[i]` or `<-p`")
                    .with_help("assign to a name (`x = 1;`), an element (`p[i] = 1;`) or through a pointer (`<-p = 1;`)")
            }
            ParseError::TooDeep { span } => {
                Diagnostic::error("NPK-114", "code is nested too deeply", span)
                    .with_label("nesting limit reached here")
                    .with_help("split the code into smaller functions or use intermediate variables")
            }
            ParseError::ExpectedExpr { found, span } => Diagnostic::error(
                "NPK-115",
                format!("expected an expression, found {found}"),
                span,
            )
            .with_label("expected an expression"),
            ParseError::ExpectedType { found, span } => Diagnostic::error(
                "NPK-116",
                format!("expected a type, found {found}"),
                span,
            )
            .with_label("expected a type")
            .with_help("types are int8..int64, uint8..uint64, bool, string, NIL, `T->`, `?->` and `Result<T>`"),
            ParseError::ExpectedItem {
                found,
                span,
                looks_like_statement,
            } => {
                let d = Diagnostic::error(
                    "NPK-117",
                    format!("expected `func`, `extern func`, `Type:` or `use`, found {found}"),
                    span,
                );
                if looks_like_statement {
                    d.with_label("statements are not allowed at the top level")
                        .with_help("put statements inside a function, e.g. `func:main = int32() { ... };`")
                } else {
                    d.with_label("expected an item")
                }
            }
            ParseError::DuplicateQual { qual, first, span } => Diagnostic::error(
                "NPK-118",
                format!("`{qual}` is written twice"),
                span,
            )
            .with_secondary(first, "first written here")
            .with_help("remove the second one"),
            ParseError::ConflictingRegion { first, span } => Diagnostic::error(
                "NPK-118",
                "a binding has at most one region",
                span,
            )
            .with_label("second region")
            .with_secondary(first, "first region")
            .with_help("keep one of `stack`, `wild`, `wildx`, `gc`"),
            ParseError::EmptyInterpolation { span } => {
                Diagnostic::error("NPK-119", "empty interpolation in a template string", span)
                    .with_help("write an expression between the braces, e.g. `&{x}`, or `\\&` for a literal `&`")
            }
            ParseError::ElseWithoutIf { span } => Diagnostic::error(
                "NPK-110",
                "`else` without a preceding `if`",
                span,
            )
            .with_help("remove the `;` or `}` that ends the `if` before this `else`, or remove the `else`"),
        }
    }
}

/// Long explanations, one per code, for `npkc --explain`.
pub const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "NPK-101",
        "A block comment `/* ... */` was opened but never closed.\n\nBlock comments do not nest: the first `*/` ends the comment.\n\n    /* this comment never ends\n    func:main = int32() { exit 0; };\n\nAdd `*/` where the comment should end.",
    ),
    (
        "NPK-102",
        "The source contains a character that is not part of any token.\n\nIdentifiers are ASCII (`[A-Za-z_][A-Za-z0-9_]*`); other characters may only\nappear inside strings and comments.\n\n    int32:x = 3 # 4;   // `#` is not an operator",
    ),
    (
        "NPK-103",
        "A string `\"...\"`, character `'a'`, template string `` `...` `` or template\ninterpolation `&{...}` was opened but not closed.\n\n    string:s = \"hello;\n\nAdd the closing quote.",
    ),
    (
        "NPK-104",
        "An escape sequence in a string, character or template literal is not valid.\n\nValid escapes: `\\n \\t \\r \\\\ \\\" \\' \\0 \\xNN \\u{...}`, and in templates also\n`` \\` `` and `\\&`. Strings are UTF-8, so `\\xNN` above `\\x7f` is refused there\n(write `\\u{...}`); in a character literal `\\xNN` is any byte.\n\n    string:s = \"C:\\dir\";   // write \"C:\\\\dir\"",
    ),
    (
        "NPK-105",
        "An integer literal does not fit in 64 bits, whatever its suffix.\n\n    uint64:x = 18446744073709551616;   // one too many\n\nWhether a smaller literal fits its type (e.g. `300u8`) is checked later\n(NPK-3xx).",
    ),
    (
        "NPK-106",
        "An integer literal is malformed: an unknown suffix, a digit that is not\nvalid in its base, or a base prefix with no digits.\n\n    int32:a = 7i31;    // suffixes: i8 i16 i32 i64 u8 u16 u32 u64 tbb32\n    int32:b = 0b102;   // `2` is not a binary digit\n    int32:c = 0x;      // no digits",
    ),
    (
        "NPK-107",
        "A character literal must hold exactly one byte: one ASCII character or one\nescape such as `'\\n'` or `'\\xff'`.\n\n    uint8:c = 'ab';   // use a string for text\n    uint8:d = '';",
    ),
    (
        "NPK-110",
        "The parser needed a particular token here and found another one.\n\n    if x > 0 { }            // expected `(` after `if`\n    func:f = int32(int32 a) // expected `:` between the type and the name\n\nThe message names what was expected; the help line shows the usual fix.",
    ),
    (
        "NPK-111",
        "Declarations, assignments, expression statements, `pass`, `fail`, `exit`,\n`break`, `continue` and items (`func:...{ };`) end with `;`.\n\n    int32:x = 5     // <- `;` missing here\n    int32:y = 6;\n\nThe error points just after the token where the `;` belongs.",
    ),
    (
        "NPK-112",
        "A block `{` was never closed: the file ended, or a new `func`/`extern`/\n`Type:`/`use` item began, before its `}`.\n\n    func:main = int32() {\n        exit 0;\n    // `}` missing\n    func:failsafe = int32(tbb32:err) { exit 1; };",
    ),
    (
        "NPK-113",
        "Only a variable, an element `p[i]` or a pointer target `<-p` can be assigned.\n\n    f() = 3;      // a call is not a place\n    x + 1 = 3;",
    ),
    (
        "NPK-114",
        "The code nests blocks, parentheses or operators more deeply than the\ncompiler accepts (about 100 levels, or 256 operators in one chain, or 500\n`else if` arms in one chain). Split\nthe code into functions or intermediate variables.",
    ),
    (
        "NPK-115",
        "An expression was needed here.\n\n    int32:x = ;\n    int32:y = 3 + ;",
    ),
    (
        "NPK-116",
        "A type was needed here. Types: `int8 int16 int32 int64 uint8 uint16 uint32\nuint64 bool string tbb32 NIL`, pointers `T->` and `?->`, `Result<T>`, and in\n`extern` declarations `T*`, `?*` and `void`.\n\n    func:f = (int32:a) { };   // missing return type: `int32(int32:a)`",
    ),
    (
        "NPK-117",
        "At the top level of a file only items are allowed: `func:name = ...;`,\n`extern func:name = ...;`, `Type:Name = { ... };` and `use \"file.npk\".*;`.\nStatements belong inside a function body.\n\n    int32:x = 5;   // not inside a function",
    ),
    (
        "NPK-118",
        "Qualifiers come before the type: `fixed` at most once, and at most one\nregion (`stack`, `wild`, `wildx`, `gc`).\n\n    wild wildx int8->:p = alloc(8);   // two regions",
    ),
    (
        "NPK-119",
        "A template string interpolation `&{}` must contain an expression. To write a\nliteral `&` before `{`, escape it: `` `\\&{` ``.\n\n    println(`x = &{}`);",
    ),
];
