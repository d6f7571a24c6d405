//! `npk-asm`: Intel-syntax x86-64 text, as `objdump -M intel` prints it, to
//! machine code for the Nitpick JIT — untrusted: its output is validated by
//! `npk-jit` like any other bytes before it may run.
//!
//! [`assemble`] takes the text and the names of the imported helpers (the
//! signature's `uses` list, in order) and returns an [`Assembly`]: the code,
//! and for every instruction its offset, length and source line/column, so a
//! validator rejection at an offset can name the line ([`Assembly::source_at`]).
//! Errors are data ([`Error`]: line, column, [`ErrorKind`]); no input panics.
//!
//! # Syntax
//! - One instruction per line or separated by `;`; `#` starts a comment.
//! - Labels `name:` (case-sensitive) and GNU local labels `1:` used as `1f`/`1b`.
//! - Operands: general-purpose registers (`rax` .. `r15b`, `ah` ..), numbers
//!   (`42`, `-8`, `0x2a`, `0b101`), memory `[base + index*scale + disp]` with
//!   an optional `byte/word/dword/qword ptr` and segment (`fs:[rax]`),
//!   `[rip + disp]` (relative to the next instruction, as objdump prints it),
//!   `[rip + label + disp]`.
//! - `jmp`/`jcc`/`call`/`loop`/`jrcxz` to a label, or to a number (a byte
//!   offset from the start of the code, as objdump prints `jmp 0x12 <f+0x12>`;
//!   the `<...>` annotation is skipped). The 8-bit form is used where it
//!   reaches, else the 32-bit one.
//! - `call NAME` for the k-th imported helper emits `call qword ptr [rip+d]`
//!   addressing slot k of the import table, which the runtime places directly
//!   after the code at the next 8-byte boundary (SPEC §8.3).
//! - Prefix words `lock`, `rep`/`repe`/`repz`, `repne`/`repnz`, objdump's
//!   `rex.W` (`rex.W nop`), and a segment word before the mnemonic (`cs nop ...`).
//! - Mnemonics: every legacy-encoded 64-bit instruction iced knows, with GNU's
//!   aliases (`jz`, `setnae`, `cmovnle`, `sal`, `movabs`, `imul r, imm`,
//!   `movsxd r16, r32`) and objdump's size suffixes (`pushw 0x14`, `leavew`,
//!   `pushq`). SIMD/x87 registers, string instructions, 32-bit addresses and
//!   absolute `moffs` forms are not supported. Refused on purpose: `retw`,
//!   `callw`, `jmpw` (Intel CPUs ignore their `66` prefix, AMD CPUs honour it)
//!   and `bswap r16` (undefined result; GNU `as` refuses it too).
//! - Encodings equal GNU `as --64 -msyntax=intel -mnaked-reg` (shortest form,
//!   ties in opcode order); `tests/gas_differential.rs` checks every form the
//!   validator models on a grid of registers and addresses, and
//!   `tests/objdump_round_trip.rs` every iced encoding the validator's first
//!   pass accepts (476 codes, 2724 instances) as objdump prints it. A memory
//!   operand whose size the registers do not fix needs a size keyword; an
//!   immediate that fits no form is an error, never truncated.
//!
//! # Engine: why our own parser on iced, not `asm-rs`
//! `asm-rs` 0.2.0 (crates.io, pure Rust, builds on rustc 1.95 in ~3 s with only
//! its `x86_64` feature) was tried on 40 objdump-style lines against GNU `as`.
//! It handles labels (including `1f`), `[rip+label]`, `#` comments and gives
//! line:column for syntax errors, but: it rewrites `mov rax, 1` to `mov eax, 1`
//! even at `OptLevel::None` (not the bytes `as` gives); it refuses objdump's
//! `nop DWORD PTR [rax+rax*1+0x0]`; it silently truncates immediates
//! (`mov al, 300` gives `b0 2c`, `mov rax, 0x1ffffffffffffffff` is accepted);
//! it accepts `mov [rdi], 1` without a size (GNU `as`: ambiguous); undefined
//! labels are reported at `0:0`; it has no notion of an import table, and no
//! offset-to-line map (only a text listing). It is 54 k lines for six
//! architectures, maintained by one author at 0.2. Our parser is about 2 k
//! lines with docs on iced-x86, which the validator already depends on (only
//! its `encoder` and `op_code_info` features are added), so the assembler and
//! the validator agree on one instruction model, every encoding is decoded back
//! before it is accepted, and `tests/gas_differential.rs` holds it to GNU `as`
//! byte for byte (28 875 lines: all identical but for `xchg ax, ax`, an equal
//! instruction in another encoding, and `xchg rax, rax`, which `as` turns into `nop`).
//!
//! Cost (`cargo bench -p npk-asm --bench small`, callgrind): a 10-instruction
//! function takes about 27 k instructions to assemble (the arena bench's
//! straight-line text, and the same with labels and branches), ~2.2 µs on an
//! idle core, where it took 70–72 k (~6 µs) before the hot path lost its
//! per-statement allocations and per-candidate decoding; `asm-rs` took about
//! 45 k. An instruction seen before on the thread reuses its form choice
//! (`src/memo.rs`); a function whose immediates are all new to the thread
//! costs about 45 k (82 k before). The first
//! call in a process also pays once for iced's encoder and decoder tables and
//! our form index (~7 M instructions, ~2 ms; the form table is generated from
//! iced's `OpCodeInfo`, whose own table would cost 19 M more). In
//! `Jit.assemble` the assembly is a minor part next to the page's system calls
//! (`cargo bench -p npk-runtime --bench assemble`).
//!
//! ```
//! let asm = npk_asm::assemble("lea rax, [rdi+rsi]\nret", &[]).expect("assembles");
//! assert_eq!(asm.code(), [0x48, 0x8d, 0x04, 0x37, 0xc3]);
//! assert_eq!(asm.source_at(4).map(|p| p.line()), Some(2));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod forms;
mod layout;
mod memo;
mod parse;

use std::ops::Range;

pub use error::{Error, ErrorKind};

/// Largest code [`assemble`] produces, in bytes (the runtime's limit too).
pub const MAX_CODE_LEN: usize = 1 << 20;

/// Assembles `text`; `imports` are the helper names `call NAME` may use, in
/// import-table order (the signature's `uses` list).
///
/// # Errors
/// The first problem in the text, as an [`Error`] with line and column; or a
/// [`ErrorKind::BadImport`] for an import name that is not an identifier or repeats.
pub fn assemble(text: &str, imports: &[&str]) -> Result<Assembly, Error> {
    for (i, name) in imports.iter().enumerate() {
        let ident = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident || imports[..i].contains(name) {
            return Err(Error::nowhere(ErrorKind::BadImport {
                name: (*name).to_string(),
            }));
        }
    }
    let program = parse::parse(text)?;
    layout::assemble(text, &program, imports)
}

/// Assembled code and where each instruction came from.
///
/// ```
/// let text = "mov rax, rdi\ncall print_i64\nret";
/// let asm = npk_asm::assemble(text, &["print_i64"]).expect("assembles");
/// // `call qword ptr [rip+d]` to slot 0 of the table after the code.
/// assert_eq!(asm.code()[3..5], [0xff, 0x15]);
/// assert_eq!((asm.import_table_offset(), asm.image_len()), (16, 24));
/// let call = asm.source_at(5).expect("an instruction");
/// assert_eq!((call.line(), &text[call.text_range()]), (2, "call print_i64"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembly {
    code: Vec<u8>,
    placed: Vec<Placed>,
    imports: usize,
}

/// One instruction of an [`Assembly`]: its bytes' place and its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    offset: u32,
    len: u8,
    line: u32,
    column: u32,
    text: Range<usize>,
}

impl Placed {
    /// Byte offset of the instruction in the code.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset as usize
    }

    /// Its length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always false: an instruction has at least one byte.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// 1-based source line.
    #[must_use]
    pub fn line(&self) -> u32 {
        self.line
    }

    /// 1-based source column (characters) of the instruction's first word.
    #[must_use]
    pub fn column(&self) -> u32 {
        self.column
    }

    /// Byte range of the instruction in the source text (without labels or comment).
    #[must_use]
    pub fn text_range(&self) -> Range<usize> {
        self.text.clone()
    }
}

impl Assembly {
    /// The machine code (without the import table).
    #[must_use]
    pub fn code(&self) -> &[u8] {
        &self.code
    }

    /// Every instruction in code order.
    #[must_use]
    pub fn instructions(&self) -> &[Placed] {
        &self.placed
    }

    /// The instruction whose bytes include `offset`, if any.
    #[must_use]
    pub fn source_at(&self, offset: usize) -> Option<&Placed> {
        let i = self
            .placed
            .partition_point(|p| p.offset() + p.len() <= offset);
        self.placed.get(i).filter(|p| p.offset() <= offset)
    }

    /// Number of import-table slots the code addresses.
    #[must_use]
    pub fn import_count(&self) -> usize {
        self.imports
    }

    /// Offset of the import table: the end of the code rounded up to 8.
    #[must_use]
    pub fn import_table_offset(&self) -> usize {
        self.code.len().next_multiple_of(8)
    }

    /// Bytes the page needs: the code, or the code plus padding and 8 bytes
    /// per import when there are imports.
    #[must_use]
    pub fn image_len(&self) -> usize {
        if self.imports == 0 {
            self.code.len()
        } else {
            self.import_table_offset() + 8 * self.imports
        }
    }
}
