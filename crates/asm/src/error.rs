//! Assembly errors as data: where (line, column, 1-based) and what.
//!
//! [`Error`] is built only inside the crate (`Error::at`), from a byte offset
//! into the source; the line and column are computed there (columns count
//! characters, so a multi-byte character is one column). `Display` renders
//! `line L, column C: <message>` in lowercase without a final period.

use std::fmt;

/// Why a text did not assemble, and where.
///
/// ```
/// let e = npk_asm::assemble("ret\nmov rax,", &[]).expect_err("incomplete");
/// assert_eq!((e.line(), e.column()), (2, 9));
/// assert_eq!(e.to_string(), "line 2, column 9: expected an operand, found the end of the statement");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    line: u32,
    column: u32,
    kind: ErrorKind,
}

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A token other than the one the grammar needs here.
    Expected {
        /// What would have been accepted (`"an operand"`, "`]`", ...).
        expected: &'static str,
        /// The text found instead (empty at the end of a statement).
        found: String,
    },
    /// The mnemonic is not an x86-64 instruction this assembler knows.
    UnknownMnemonic {
        /// The mnemonic as written.
        name: String,
    },
    /// A register other than a general-purpose one (`xmm0`, `cr0`, `es`, ...).
    UnsupportedRegister {
        /// The register as written.
        name: String,
    },
    /// A number that does not fit in 64 bits, or a displacement outside `i32`.
    NumberOutOfRange {
        /// The number as written.
        text: String,
    },
    /// The instruction exists, but not with these operands (wrong widths,
    /// an immediate too large for every form, a register pair no encoding has).
    NoMatchingForm {
        /// The mnemonic.
        mnemonic: String,
        /// The operand kinds, e.g. `r32, imm`.
        operands: String,
    },
    /// An immediate too large for every form of the instruction (never truncated).
    ImmediateTooLarge {
        /// The immediate as written.
        text: String,
        /// Width of the widest immediate field the instruction has here.
        bits: u32,
        /// Whether that field is sign-extended to the operand size.
        sign_extended: bool,
    },
    /// A memory operand whose size the operands do not determine.
    AmbiguousSize {
        /// The mnemonic.
        mnemonic: String,
    },
    /// A memory operand no x86-64 addressing mode expresses.
    BadAddress {
        /// Why, in words.
        reason: &'static str,
    },
    /// A name used as a target that is neither a label nor an imported helper.
    UndefinedLabel {
        /// The name.
        name: String,
    },
    /// A label defined twice.
    DuplicateLabel {
        /// The label.
        name: String,
        /// Line of the first definition.
        first_line: u32,
    },
    /// A label with the name of an imported helper or of a register.
    ReservedLabel {
        /// The label.
        name: String,
    },
    /// An imported helper used other than as `call NAME`.
    ImportMisuse {
        /// The helper's name.
        name: String,
    },
    /// A branch whose only form (`loop`, `jrcxz`: 8-bit) cannot reach its target.
    BranchOutOfRange {
        /// The mnemonic.
        mnemonic: String,
    },
    /// A `66`-prefixed near return, call or jump (`retw`): Intel CPUs ignore the
    /// prefix, AMD CPUs honour it, so its meaning depends on the CPU.
    CpuDependent {
        /// The mnemonic.
        mnemonic: String,
    },
    /// The code would exceed [`crate::MAX_CODE_LEN`] bytes.
    TooLarge,
    /// An imported helper name that is empty, repeated or not an identifier.
    BadImport {
        /// The name as given.
        name: String,
    },
}

impl Error {
    /// Builds an error at byte offset `at` of `text`.
    pub(crate) fn at(text: &str, at: usize, kind: ErrorKind) -> Error {
        let (line, column) = line_column(text, at);
        Error { line, column, kind }
    }

    /// An error not tied to a place in the text (line and column 0).
    pub(crate) fn nowhere(kind: ErrorKind) -> Error {
        Error {
            line: 0,
            column: 0,
            kind,
        }
    }

    /// 1-based line of the problem (0 when it is not in the text, e.g. a bad import name).
    #[must_use]
    pub fn line(&self) -> u32 {
        self.line
    }

    /// 1-based column (in characters) of the problem (0 when not in the text).
    #[must_use]
    pub fn column(&self) -> u32 {
        self.column
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

/// 1-based line and character column of byte offset `at` (clamped to the text).
pub(crate) fn line_column(text: &str, at: usize) -> (u32, u32) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind as K;
        match self {
            K::Expected { expected, found } if found.is_empty() => {
                write!(f, "expected {expected}, found the end of the statement")
            }
            K::Expected { expected, found } => write!(f, "expected {expected}, found `{found}`"),
            K::UnknownMnemonic { name } => write!(f, "unknown instruction `{name}`"),
            K::UnsupportedRegister { name } => write!(
                f,
                "register `{name}` is not supported; only general-purpose registers are"
            ),
            K::NumberOutOfRange { text } => write!(f, "number `{text}` is out of range"),
            K::NoMatchingForm { mnemonic, operands } => {
                write!(f, "`{mnemonic}` has no form taking `{operands}`")
            }
            K::ImmediateTooLarge {
                text,
                bits,
                sign_extended,
            } => write!(
                f,
                "immediate `{text}` does not fit in {bits} bits{}",
                if *sign_extended {
                    " (sign-extended)"
                } else {
                    ""
                }
            ),
            K::AmbiguousSize { mnemonic } => write!(
                f,
                "operand size of `{mnemonic}` is ambiguous; write byte, word, dword or qword ptr"
            ),
            K::BadAddress { reason } => write!(f, "invalid memory operand: {reason}"),
            K::UndefinedLabel { name } => write!(
                f,
                "`{name}` is neither a label nor an imported helper (name it in the signature's `uses`)"
            ),
            K::DuplicateLabel { name, first_line } => {
                write!(f, "label `{name}` is already defined on line {first_line}")
            }
            K::ReservedLabel { name } => write!(
                f,
                "label `{name}` has the name of a register or of an imported helper"
            ),
            K::ImportMisuse { name } => write!(
                f,
                "imported helper `{name}` can only be called: write `call {name}`"
            ),
            K::BranchOutOfRange { mnemonic } => {
                write!(f, "the target of `{mnemonic}` is out of its 8-bit range")
            }
            K::CpuDependent { mnemonic } => write!(
                f,
                "`{mnemonic}` (a 16-bit near return, call or jump) behaves differently on Intel and AMD CPUs"
            ),
            K::TooLarge => write!(f, "the code exceeds {} bytes", crate::MAX_CODE_LEN),
            K::BadImport { name } => write!(
                f,
                "imported helper name `{name}` is empty, repeated or not an identifier"
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.kind)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.kind
            )
        }
    }
}

impl std::error::Error for Error {}
