//! Text to statements: labels, prefixes, a mnemonic and its operands.
//!
//! In: the source text. Out: a [`Program`] (one [`Stmt`] per instruction and
//! the label definitions, each with the index of the instruction it names) or
//! the first [`Error`]. Statements end at a newline or `;`, comments run from
//! `#` to the end of the line. Names are case-insensitive for mnemonics,
//! registers and keywords, case-sensitive for labels. Every position is a byte
//! offset into the text, turned into line/column only for errors.
//! Naming: `parse_x` may find nothing (`Option`), `expect_x` must find an `x`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use iced_x86::Register;

use crate::error::{Error, ErrorKind};

/// A parsed source text.
#[derive(Debug, Default)]
pub(crate) struct Program<'t> {
    pub stmts: Vec<Stmt<'t>>,
    pub labels: Vec<LabelDef<'t>>,
    /// Every statement's operands, in order ([`Stmt::operands`] is its range),
    /// and where each starts: one vector for all, not one per statement.
    pub operands: Vec<Operand<'t>>,
    pub operand_at: Vec<usize>,
}

/// One instruction.
#[derive(Debug)]
pub(crate) struct Stmt<'t> {
    /// Byte range of the instruction text (prefixes to last operand).
    pub start: usize,
    pub end: usize,
    /// Lowercase mnemonic (borrowed from the text when it is written in
    /// lowercase) and where it starts.
    pub mnemonic: Cow<'t, str>,
    pub mnemonic_at: usize,
    pub prefix: Prefix,
    /// Its range of [`Program::operands`].
    pub operands: Range<usize>,
}

/// Prefix words before the mnemonic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Prefix {
    pub lock: bool,
    pub rep: bool,
    pub repne: bool,
    /// objdump's `rex.W` before an instruction whose operands do not show it (`rex.W nop`).
    pub rex_w: bool,
    /// A segment word (`cs nop ...`, as objdump prints), applied to the memory operand.
    pub segment: Option<Register>,
}

/// A label definition.
#[derive(Debug)]
pub(crate) struct LabelDef<'t> {
    pub name: LabelName<'t>,
    pub at: usize,
    /// Index of the instruction the label names (`stmts.len()` at the end).
    pub index: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum LabelName<'t> {
    Named(&'t str),
    /// GNU local label `1:`, referenced as `1f`/`1b`.
    Local(u64),
}

/// A reference to a label from an operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LabelRef<'t> {
    pub name: RefName<'t>,
    pub at: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefName<'t> {
    Named(&'t str),
    Forward(u64),
    Backward(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operand<'t> {
    Reg(Register),
    /// An integer in `[-2^63, 2^64)`.
    Imm(i128),
    Mem(Mem<'t>),
    /// A label used as a branch target (or as `call NAME` for an import).
    Label(LabelRef<'t>),
}

/// A memory operand `[size ptr] [seg:] [base + index*scale + disp]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mem<'t> {
    /// Explicit size in bytes (`byte ptr` = 1 ...).
    pub size: Option<u32>,
    pub segment: Register,
    /// `Register::RIP` for `[rip + ...]`.
    pub base: Register,
    pub index: Register,
    pub scale: u32,
    pub disp: i64,
    /// `[rip + label + disp]`: the address of the label plus `disp`.
    pub label: Option<LabelRef<'t>>,
}

/// A token: a slice of the text, or one punctuation character.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok<'t> {
    Ident(&'t str),
    Num(&'t str),
    Punct(char),
}

/// FNV-1a: the name tables are looked up once per token, where SipHash's
/// flood resistance buys nothing (the keys are fixed) and costs a tenth of the time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A `HashMap` hashed with [`Fnv`].
pub(crate) type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// A `HashMap` keyed by fixed names, hashed with [`Fnv`].
pub(crate) type NameMap<V> = FnvMap<String, V>;

/// A name of at most 16 bytes as one integer, ASCII lowercased (`None` if longer).
pub(crate) fn name_key(name: &str) -> Option<u128> {
    if name.len() > 16 {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..name.len()].copy_from_slice(name.as_bytes());
    buf.make_ascii_lowercase();
    Some(u128::from_le_bytes(buf))
}

/// Slots of the register name table: a power of two, about four per register.
const REGISTER_SLOTS: usize = 1024;

/// The first slot to probe for a name key.
fn register_slot(key: u128) -> usize {
    let h =
        ((key as u64) ^ ((key >> 64) as u64).rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 54) as usize % REGISTER_SLOTS
}

/// Registers by lowercase name (all of iced's, plus GNU's `r8b`..`r15b`).
pub(crate) fn register_named(name: &str) -> Option<Register> {
    // An open-addressing table of name keys: one multiply and usually one probe.
    static TABLE: OnceLock<Vec<(u128, Register)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = vec![(0u128, Register::None); REGISTER_SLOTS];
        let mut add = |name: &str, r| {
            let Some(key) = name_key(name) else { return };
            let mut i = register_slot(key);
            while t[i].0 != 0 {
                i = (i + 1) % REGISTER_SLOTS;
            }
            t[i] = (key, r);
        };
        for r in Register::values() {
            if r != Register::None {
                add(&format!("{r:?}"), r);
            }
        }
        for (i, r) in [
            Register::R8L,
            Register::R9L,
            Register::R10L,
            Register::R11L,
            Register::R12L,
            Register::R13L,
            Register::R14L,
            Register::R15L,
        ]
        .into_iter()
        .enumerate()
        {
            add(&format!("r{}b", i + 8), r);
        }
        t
    });
    let key = name_key(name).filter(|&k| k != 0)?;
    let mut i = register_slot(key);
    loop {
        let (k, r) = table[i];
        if k == key {
            return Some(r);
        }
        if k == 0 {
            return None;
        }
        i = (i + 1) % REGISTER_SLOTS;
    }
}

fn segment_named(name: &str) -> Option<Register> {
    // `es`, `cs`, `ss`, `ds`, `fs`, `gs`: skip the lookup for every other word.
    if name.len() != 2 {
        return None;
    }
    register_named(name).filter(|r| r.is_segment_register())
}

fn size_keyword(name: &str) -> Option<Option<u32>> {
    const SIZES: [(&str, Option<u32>); 10] = [
        ("byte", Some(1)),
        ("word", Some(2)),
        ("dword", Some(4)),
        ("qword", Some(8)),
        ("fword", None),
        ("tbyte", None),
        ("oword", None),
        ("xmmword", None),
        ("ymmword", None),
        ("zmmword", None),
    ];
    SIZES
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|&(_, size)| size)
}

/// Parses the whole text.
pub(crate) fn parse(text: &str) -> Result<Program<'_>, Error> {
    let bytes = text.as_bytes();
    // Room for a statement per line and two operands each, so the vectors
    // rarely grow; one token buffer for every statement.
    let lines = 1 + bytes.iter().filter(|&&b| b == b'\n').count();
    let mut program = Program {
        stmts: Vec::with_capacity(lines),
        labels: Vec::new(),
        operands: Vec::with_capacity(2 * lines),
        operand_at: Vec::with_capacity(2 * lines),
    };
    let mut toks = Vec::with_capacity(16);
    let mut stmt_start = 0;
    loop {
        // A statement ends at `;`, a newline, a comment's `#` or the end.
        let end = lex(text, stmt_start, &mut toks)?;
        Parser {
            text,
            toks: &toks,
            pos: 0,
            end,
        }
        .statement(&mut program)?;
        match bytes.get(end) {
            None => return Ok(program),
            Some(b'#') => match bytes[end..].iter().position(|&b| b == b'\n') {
                Some(n) => stmt_start = end + n + 1,
                None => return Ok(program),
            },
            Some(_) => stmt_start = end + 1,
        }
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || matches!(c, b'_' | b'.' | b'$' | b'@' | b'?')
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'$' | b'@' | b'?')
}

/// Tokens of the statement starting at `start` into `out` (emptied first);
/// returns where it ends (the `;`, newline or `#` after it, or the end).
fn lex<'t>(text: &'t str, start: usize, out: &mut Vec<(Tok<'t>, usize)>) -> Result<usize, Error> {
    out.clear();
    let bytes = text.as_bytes();
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' | b';' | b'#' => return Ok(i),
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => i += 1,
            b',' | b'[' | b']' | b'+' | b'-' | b'*' | b':' | b'<' | b'>' | b'(' | b')' => {
                out.push((Tok::Punct(char::from(b)), i));
                i += 1;
            }
            _ if is_ident_start(b) || b.is_ascii_digit() => {
                let len = bytes[i..]
                    .iter()
                    .position(|&c| !is_ident_char(c))
                    .unwrap_or(bytes.len() - i);
                let word = &text[i..i + len];
                out.push((
                    if b.is_ascii_digit() {
                        Tok::Num(word)
                    } else {
                        Tok::Ident(word)
                    },
                    i,
                ));
                i += len;
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or_default();
                if !c.is_whitespace() {
                    return Err(Error::at(
                        text,
                        i,
                        ErrorKind::Expected {
                            expected: "an instruction, label or operand",
                            found: c.to_string(),
                        },
                    ));
                }
                i += c.len_utf8();
            }
        }
    }
    Ok(i)
}

/// The value of a number token: `0x` hex, `0b` binary, `0o` octal or decimal;
/// `Err(true)` if its digits are valid but the value exceeds `u128`, `Err(false)`
/// if it is not a number.
fn number_value(word: &str) -> Result<u128, bool> {
    let bytes = word.as_bytes();
    let (digits, radix) = match bytes {
        [b'0', b'x' | b'X', rest @ ..] => (rest, 16),
        [b'0', b'b' | b'B', rest @ ..] => (rest, 2),
        [b'0', b'o' | b'O', rest @ ..] => (rest, 8),
        _ => (bytes, 10),
    };
    // `_` separates digits anywhere; there must be at least one digit.
    let mut value: Option<u128> = Some(0);
    let mut any = false;
    for &b in digits.iter().filter(|&&b| b != b'_') {
        let d = char::from(b).to_digit(radix).ok_or(false)?;
        any = true;
        value = value
            .and_then(|v| v.checked_mul(u128::from(radix)))
            .and_then(|v| v.checked_add(u128::from(d)));
    }
    if !any {
        return Err(false);
    }
    value.ok_or(true)
}

/// `1f` / `1b`: a GNU local label reference.
fn local_ref(word: &str) -> Option<RefName<'static>> {
    let (digits, dir) = word.split_at(word.len().checked_sub(1)?);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    match dir {
        "f" | "F" => Some(RefName::Forward(n)),
        "b" | "B" => Some(RefName::Backward(n)),
        _ => None,
    }
}

struct Parser<'a, 't> {
    text: &'t str,
    toks: &'a [(Tok<'t>, usize)],
    pos: usize,
    /// Byte offset of the statement's end (for "found the end" errors).
    end: usize,
}

impl<'t> Parser<'_, 't> {
    fn peek(&self) -> Option<Tok<'t>> {
        self.toks.get(self.pos).map(|(t, _)| *t)
    }

    fn peek_at(&self, k: usize) -> Option<Tok<'t>> {
        self.toks.get(self.pos + k).map(|(t, _)| *t)
    }

    fn here(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, at)| *at)
    }

    fn found(&self) -> String {
        match self.peek() {
            None => String::new(),
            Some(Tok::Ident(s) | Tok::Num(s)) => s.to_string(),
            Some(Tok::Punct(c)) => c.to_string(),
        }
    }

    fn error(&self, expected: &'static str) -> Error {
        Error::at(
            self.text,
            self.here(),
            ErrorKind::Expected {
                expected,
                found: self.found(),
            },
        )
    }

    fn maybe_punct(&mut self, c: char) -> bool {
        if self.peek() == Some(Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn statement(mut self, program: &mut Program<'t>) -> Result<(), Error> {
        // Labels: `name:` or `1:`.
        while self.peek_at(1) == Some(Tok::Punct(':')) {
            let at = self.here();
            let name = match self.peek() {
                Some(Tok::Ident(s)) => LabelName::Named(s),
                Some(Tok::Num(s)) => match s.parse::<u64>() {
                    Ok(n) => LabelName::Local(n),
                    Err(_) => return Err(self.error("a label name")),
                },
                _ => return Err(self.error("a label name")),
            };
            program.labels.push(LabelDef {
                name,
                at,
                index: program.stmts.len(),
            });
            self.pos += 2;
        }
        let Some(first) = self.peek() else {
            return Ok(());
        };
        let start = self.here();
        if !matches!(first, Tok::Ident(_)) {
            return Err(self.error("an instruction or a label"));
        }
        let mut prefix = Prefix::default();
        let (mnemonic, mnemonic_at) = loop {
            let at = self.here();
            let Some(Tok::Ident(word)) = self.peek() else {
                return Err(self.error("an instruction"));
            };
            self.pos += 1;
            let more = matches!(self.peek(), Some(Tok::Ident(_)));
            let is = |names: &[&str]| more && names.iter().any(|n| n.eq_ignore_ascii_case(word));
            if is(&["lock"]) {
                prefix.lock = true;
            } else if is(&["rex.w"]) {
                prefix.rex_w = true;
            } else if is(&["rep", "repe", "repz"]) {
                prefix.rep = true;
            } else if is(&["repne", "repnz"]) {
                prefix.repne = true;
            } else if more && let Some(seg) = segment_named(word) {
                prefix.segment = Some(seg);
            } else if word.bytes().any(|b| b.is_ascii_uppercase()) {
                break (Cow::Owned(word.to_ascii_lowercase()), at);
            } else {
                break (Cow::Borrowed(word), at);
            }
        };
        let first_operand = program.operands.len();
        if self.peek().is_some() {
            loop {
                let at = self.here();
                let operand = self.expect_operand()?;
                program.operands.push(operand);
                program.operand_at.push(at);
                if !self.maybe_punct(',') {
                    break;
                }
            }
        }
        if self.peek().is_some() {
            return Err(self.error("`,` or the end of the statement"));
        }
        let end = self.toks.last().map_or(start, |(t, at)| {
            at + match t {
                Tok::Ident(s) | Tok::Num(s) => s.len(),
                Tok::Punct(c) => c.len_utf8(),
            }
        });
        program.stmts.push(Stmt {
            start,
            end,
            mnemonic,
            mnemonic_at,
            prefix,
            operands: first_operand..program.operands.len(),
        });
        Ok(())
    }

    fn expect_operand(&mut self) -> Result<Operand<'t>, Error> {
        let at = self.here();
        let op = match self.peek() {
            Some(Tok::Ident(word)) => {
                if let Some(size) = size_keyword(word) {
                    self.pos += 1;
                    let Some(size) = size else {
                        return Err(Error::at(
                            self.text,
                            at,
                            ErrorKind::Expected {
                                expected: "byte, word, dword or qword",
                                found: word.to_string(),
                            },
                        ));
                    };
                    if matches!(self.peek(), Some(Tok::Ident(p)) if p.eq_ignore_ascii_case("ptr")) {
                        self.pos += 1;
                    }
                    return self.expect_memory(Some(size)).map(Operand::Mem);
                }
                let reg = register_named(word);
                if reg.is_some_and(Register::is_segment_register)
                    && self.peek_at(1) == Some(Tok::Punct(':'))
                {
                    return self.expect_memory(None).map(Operand::Mem);
                }
                if let Some(reg) = reg {
                    self.pos += 1;
                    if !reg.is_gpr() {
                        return Err(Error::at(
                            self.text,
                            at,
                            ErrorKind::UnsupportedRegister {
                                name: word.to_string(),
                            },
                        ));
                    }
                    Operand::Reg(reg)
                } else if word.eq_ignore_ascii_case("rip") {
                    return Err(self.error("`rip` only inside `[...]`"));
                } else {
                    self.pos += 1;
                    Operand::Label(LabelRef {
                        name: RefName::Named(word),
                        at,
                    })
                }
            }
            Some(Tok::Num(word)) if local_ref(word).is_some() => {
                self.pos += 1;
                Operand::Label(LabelRef {
                    name: local_ref(word).expect("checked in the guard"),
                    at,
                })
            }
            Some(Tok::Num(_) | Tok::Punct('-' | '+')) => Operand::Imm(self.expect_number()?),
            Some(Tok::Punct('[')) => return self.expect_memory(None).map(Operand::Mem),
            _ => return Err(self.error("an operand")),
        };
        // objdump's `<symbol+0x12>` annotation after a branch target.
        if self.peek() == Some(Tok::Punct('<')) {
            while let Some(t) = self.peek() {
                self.pos += 1;
                if t == Tok::Punct('>') {
                    return Ok(op);
                }
            }
            return Err(self.error("`>`"));
        }
        Ok(op)
    }

    /// `[-|+] number` in `[-2^63, 2^64)`.
    fn expect_number(&mut self) -> Result<i128, Error> {
        let negative = if self.maybe_punct('-') {
            true
        } else {
            self.maybe_punct('+');
            false
        };
        let at = self.here();
        let Some(Tok::Num(word)) = self.peek() else {
            return Err(self.error("a number"));
        };
        self.pos += 1;
        let out_of_range = || {
            Error::at(
                self.text,
                at,
                ErrorKind::NumberOutOfRange {
                    text: word.to_string(),
                },
            )
        };
        let v = match number_value(word) {
            Ok(v) => v,
            Err(true) => return Err(out_of_range()),
            Err(false) => {
                return Err(Error::at(
                    self.text,
                    at,
                    ErrorKind::Expected {
                        expected: "a number",
                        found: word.to_string(),
                    },
                ));
            }
        };
        let v = i128::try_from(v).map_err(|_| out_of_range())?;
        let v = if negative { -v } else { v };
        if !(-(1i128 << 63)..(1i128 << 64)).contains(&v) {
            return Err(out_of_range());
        }
        Ok(v)
    }

    /// `[seg:] [ ... ]` or `seg:number`.
    fn expect_memory(&mut self, size: Option<u32>) -> Result<Mem<'t>, Error> {
        let mut mem = Mem {
            size,
            segment: Register::None,
            base: Register::None,
            index: Register::None,
            scale: 1,
            disp: 0,
            label: None,
        };
        if let Some(Tok::Ident(word)) = self.peek()
            && let Some(seg) = segment_named(word)
            && self.peek_at(1) == Some(Tok::Punct(':'))
        {
            mem.segment = seg;
            self.pos += 2;
            if !matches!(self.peek(), Some(Tok::Punct('['))) {
                let at = self.here();
                let v = self.expect_number()?;
                mem.disp = self.displacement(v, at)?;
                return Ok(mem);
            }
        }
        let open = self.here();
        if !self.maybe_punct('[') {
            return Err(self.error("`[`"));
        }
        let mut disp: i128 = 0;
        let mut regs: Vec<(Register, Option<u32>, usize)> = Vec::new();
        let mut first = true;
        loop {
            let sign_at = self.here();
            let negative = if self.maybe_punct('-') {
                true
            } else if self.maybe_punct('+') || first {
                false
            } else {
                break;
            };
            first = false;
            let at = self.here();
            match self.peek() {
                Some(Tok::Ident(word)) => {
                    self.pos += 1;
                    if let Some(reg) = register_named(word) {
                        if negative {
                            return Err(Error::at(
                                self.text,
                                sign_at,
                                ErrorKind::BadAddress {
                                    reason: "a register cannot be subtracted",
                                },
                            ));
                        }
                        let scale = if self.maybe_punct('*') {
                            Some(self.expect_scale()?)
                        } else {
                            None
                        };
                        regs.push((reg, scale, at));
                    } else if word.eq_ignore_ascii_case("rip") {
                        regs.push((Register::RIP, None, at));
                    } else {
                        self.set_label(&mut mem, negative, RefName::Named(word), at)?;
                    }
                }
                Some(Tok::Num(word)) if local_ref(word).is_some() => {
                    self.pos += 1;
                    let name = local_ref(word).expect("checked in the guard");
                    self.set_label(&mut mem, negative, name, at)?;
                }
                Some(Tok::Num(_)) => {
                    let v = self.expect_number()?;
                    if self.maybe_punct('*') {
                        // `scale*index`
                        let reg_at = self.here();
                        let Some(Tok::Ident(word)) = self.peek() else {
                            return Err(self.error("an index register"));
                        };
                        let Some(reg) = register_named(word) else {
                            return Err(self.error("an index register"));
                        };
                        self.pos += 1;
                        let scale = u32::try_from(v).ok().filter(|s| matches!(s, 1 | 2 | 4 | 8));
                        let Some(scale) = scale.filter(|_| !negative) else {
                            return Err(Error::at(
                                self.text,
                                at,
                                ErrorKind::BadAddress {
                                    reason: "the scale must be 1, 2, 4 or 8",
                                },
                            ));
                        };
                        regs.push((reg, Some(scale), reg_at));
                    } else {
                        disp += if negative { -v } else { v };
                    }
                }
                _ => return Err(self.error("a register, number or label")),
            }
        }
        if !self.maybe_punct(']') {
            return Err(self.error("`+`, `-` or `]`"));
        }
        let bad = |reason| Error::at(self.text, open, ErrorKind::BadAddress { reason });
        for &(reg, _, at) in &regs {
            if reg != Register::RIP && !reg.is_gpr64() {
                return Err(Error::at(
                    self.text,
                    at,
                    ErrorKind::BadAddress {
                        reason: "addresses use 64-bit registers",
                    },
                ));
            }
        }
        match regs.as_slice() {
            [] => {}
            [(r, None, _)] => mem.base = *r,
            [(r, Some(s), _)] => {
                mem.index = *r;
                mem.scale = *s;
            }
            [(b, None, _), (i, s, _)] | [(i, s @ Some(_), _), (b, None, _)] => {
                mem.base = *b;
                mem.index = *i;
                mem.scale = s.unwrap_or(1);
            }
            _ => return Err(bad("at most a base and one scaled index register")),
        }
        if mem.index == Register::RIP {
            return Err(bad("`rip` cannot be an index"));
        }
        if mem.base == Register::RIP && mem.index != Register::None {
            return Err(bad("`rip`-relative addresses take no index"));
        }
        if mem.index == Register::RSP {
            return Err(bad("`rsp` cannot be an index"));
        }
        if mem.label.is_some() && mem.base != Register::RIP {
            return Err(bad(
                "a label is only addressable relative to `rip`: write `[rip+label]`",
            ));
        }
        mem.disp = self.displacement(disp, open)?;
        Ok(mem)
    }

    /// Records the label of `[rip + label]`: one, added.
    fn set_label(
        &self,
        mem: &mut Mem<'t>,
        negative: bool,
        name: RefName<'t>,
        at: usize,
    ) -> Result<(), Error> {
        if negative || mem.label.is_some() {
            return Err(Error::at(
                self.text,
                at,
                ErrorKind::BadAddress {
                    reason: "only one label, added, can appear in an address",
                },
            ));
        }
        mem.label = Some(LabelRef { name, at });
        Ok(())
    }

    /// A displacement: the sum taken modulo 2^64 (objdump prints `[rip-0x20]` as
    /// `[rip+0xffffffffffffffe0]`), which must fit in a sign-extended 32 bits.
    fn displacement(&self, v: i128, at: usize) -> Result<i64, Error> {
        let wrapped = v as u64 as i64;
        let in_range = (-(1i128 << 64)..(1i128 << 64)).contains(&v);
        i32::try_from(wrapped)
            .ok()
            .filter(|_| in_range)
            .map(i64::from)
            .ok_or_else(|| {
                Error::at(
                    self.text,
                    at,
                    ErrorKind::BadAddress {
                        reason: "the displacement does not fit in 32 bits (signed)",
                    },
                )
            })
    }

    fn expect_scale(&mut self) -> Result<u32, Error> {
        let at = self.here();
        let v = self.expect_number()?;
        match v {
            1 | 2 | 4 | 8 => Ok(v as u32),
            _ => Err(Error::at(
                self.text,
                at,
                ErrorKind::BadAddress {
                    reason: "the scale must be 1, 2, 4 or 8",
                },
            )),
        }
    }
}
