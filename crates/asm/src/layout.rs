//! From statements to bytes: label resolution, branch sizing, final encoding.
//!
//! In: a parsed [`Program`] and the import names. Out: an [`Assembly`].
//! Every instruction but a relative branch has one encoding whose length does
//! not depend on where it lands (`rip`-relative operands always take a 32-bit
//! displacement), so it is chosen once. A branch to a label starts in its
//! 8-bit form and grows to the 32-bit form while its target is out of reach;
//! sizes only grow, so this ends (as GNU `as` relaxes). The code starts at
//! address 0 and is position-independent: the only addresses in it are
//! relative (branches, `[rip+...]`, import slots).

use std::collections::HashMap;

use crate::parse::FnvMap;

use iced_x86::{Code, Encoder, Instruction, Register};

use crate::error::{Error, ErrorKind};
use crate::forms::{self, Check, Choice};
use crate::parse::{LabelName, LabelRef, Operand, Program, RefName, Stmt};
use crate::{Assembly, MAX_CODE_LEN, Placed};

/// Where a `rip`-relative operand points.
#[derive(Clone, Copy, Debug)]
enum RipTarget {
    /// Instruction index of a label, plus a displacement.
    Label(usize, i64),
    /// Import table slot k.
    Import(usize),
    /// objdump's `[rip+0x10]`: the end of this instruction plus the displacement.
    NextIp(i64),
}

/// Where a branch goes.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// Instruction index of a label.
    Label(usize),
    /// A byte offset from the start of the code (objdump prints `jmp 0x12`).
    Offset(u64),
}

#[derive(Debug)]
enum Item {
    Fixed {
        ins: Instruction,
        len: usize,
        /// The final bytes, when they do not depend on the address.
        bytes: Option<forms::Encoded>,
        rip: Option<RipTarget>,
    },
    Branch {
        /// The 8-bit and 32-bit forms with their lengths.
        short: Option<(Code, usize)>,
        near: Option<(Code, usize)>,
        use_near: bool,
        target: Target,
        lock: bool,
    },
}

/// Bound on relaxation passes; past it every growable branch takes its long form.
const MAX_PASSES: usize = 32;

/// Named labels and GNU local labels, each with the instruction index it names.
struct Labels<'t> {
    named: FnvMap<&'t str, (usize, usize)>,
    local: HashMap<u64, Vec<usize>>,
}

fn collect_labels<'t>(
    text: &str,
    program: &Program<'t>,
    imports: &[&str],
) -> Result<Labels<'t>, Error> {
    let mut labels = Labels {
        named: FnvMap::default(),
        local: HashMap::new(),
    };
    for def in &program.labels {
        match &def.name {
            &LabelName::Named(name) => {
                if crate::parse::register_named(name).is_some()
                    || name.eq_ignore_ascii_case("rip")
                    || imports.contains(&name)
                {
                    return Err(Error::at(
                        text,
                        def.at,
                        ErrorKind::ReservedLabel {
                            name: name.to_string(),
                        },
                    ));
                }
                if let Some(&(_, first_at)) = labels.named.get(name) {
                    return Err(Error::at(
                        text,
                        def.at,
                        ErrorKind::DuplicateLabel {
                            name: name.to_string(),
                            first_line: crate::error::line_column(text, first_at).0,
                        },
                    ));
                }
                labels.named.insert(name, (def.index, def.at));
            }
            LabelName::Local(n) => labels.local.entry(*n).or_default().push(def.index),
        }
    }
    Ok(labels)
}

impl Labels<'_> {
    /// The instruction index `r` names, seen from instruction `here`.
    fn resolve(&self, r: &RefName, here: usize) -> Option<usize> {
        match r {
            RefName::Named(name) => self.named.get(name).map(|&(i, _)| i),
            RefName::Forward(n) => self.local.get(n)?.iter().copied().find(|&i| i > here),
            RefName::Backward(n) => self.local.get(n)?.iter().copied().rfind(|&i| i <= here),
        }
    }
}

fn undefined(text: &str, r: &LabelRef) -> Error {
    let name = match &r.name {
        RefName::Named(n) => (*n).to_string(),
        RefName::Forward(n) => format!("{n}f"),
        RefName::Backward(n) => format!("{n}b"),
    };
    Error::at(text, r.at, ErrorKind::UndefinedLabel { name })
}

thread_local! {
    /// One encoder per thread, reused: creating one costs more than encoding a
    /// small function's instructions. Its buffer is emptied after every use.
    static ENCODER: std::cell::RefCell<Encoder> = std::cell::RefCell::new(Encoder::new(64));
}

/// Assembles a parsed program.
pub(crate) fn assemble(text: &str, program: &Program, imports: &[&str]) -> Result<Assembly, Error> {
    ENCODER.with(|enc| match enc.try_borrow_mut() {
        Ok(mut enc) => assemble_checked(text, program, imports, &mut enc),
        // Not reentrant today; a nested call would get its own encoder.
        Err(_) => assemble_checked(text, program, imports, &mut Encoder::new(64)),
    })
}

/// First with [`Check::Later`]: only the chosen encodings are decoded back,
/// all at once at the end. If one reads back differently, or the text has an
/// error, again with [`Check::Each`], whose result the first try equals
/// whenever it succeeds (see [`forms::choose`]).
fn assemble_checked(
    text: &str,
    program: &Program,
    imports: &[&str],
    enc: &mut Encoder,
) -> Result<Assembly, Error> {
    match assemble_with(text, program, imports, enc, Check::Later) {
        Ok((asm, true)) => Ok(asm),
        _ => assemble_with(text, program, imports, enc, Check::Each).map(|(asm, _)| asm),
    }
}

/// The assembly, and whether every encoding in it is known to decode back to
/// its instruction (always with [`Check::Each`]).
fn assemble_with(
    text: &str,
    program: &Program,
    imports: &[&str],
    enc: &mut Encoder,
    check: Check,
) -> Result<(Assembly, bool), Error> {
    let labels = collect_labels(text, program, imports)?;
    let mut items = Vec::with_capacity(program.stmts.len());
    for (here, stmt) in program.stmts.iter().enumerate() {
        items.push(resolve(
            text, program, stmt, here, &labels, imports, enc, check,
        )?);
    }
    let offsets = relax(text, program, &mut items)?;
    let code_len = *offsets
        .last()
        .expect("one offset per instruction plus the end");
    if code_len > MAX_CODE_LEN {
        return Err(Error::nowhere(ErrorKind::TooLarge));
    }
    let table = code_len.next_multiple_of(8);
    let mut code = Vec::with_capacity(code_len);
    let mut placed = Vec::with_capacity(items.len());
    let mut cursor = LineCursor::default();
    // With `Check::Later`: every instruction as placed, to decode the code against.
    let mut finals = Vec::with_capacity(if check == Check::Later {
        items.len()
    } else {
        0
    });
    for (i, (item, stmt)) in items.iter().zip(&program.stmts).enumerate() {
        let ip = offsets[i] as u64;
        let ins = match item {
            Item::Fixed {
                ins,
                bytes: Some(bytes),
                ..
            } => {
                if check == Check::Later {
                    finals.push(*ins);
                }
                Err(*bytes)
            }
            Item::Fixed { ins, len, rip, .. } => {
                let mut ins = *ins;
                if let Some(rip) = rip {
                    let target = match *rip {
                        RipTarget::Label(index, disp) => offsets[index] as i64 + disp,
                        RipTarget::Import(k) => (table + 8 * k) as i64,
                        RipTarget::NextIp(disp) => (offsets[i] + len) as i64 + disp,
                    };
                    ins.set_memory_displacement64(target as u64);
                }
                Ok(ins)
            }
            Item::Branch {
                short,
                near,
                use_near,
                target,
                lock,
            } => {
                let (code, _) =
                    if *use_near { *near } else { *short }.expect("relax keeps a form that exists");
                let mut ins = Instruction::with_branch(code, target_offset(*target, &offsets))
                    .map_err(|_| out_of_range(text, stmt))?;
                ins.set_has_lock_prefix(*lock);
                Ok(ins)
            }
        };
        // `Err` holds bytes already final; an instruction is encoded at its address.
        let bytes = match ins {
            Err(bytes) => bytes,
            Ok(ins) => {
                let bytes = if check == Check::Later {
                    finals.push(ins);
                    forms::encode(enc, &ins, ip)
                } else {
                    forms::encode_checked(enc, &ins, ip)
                };
                // Only a branch can fail here: its reach is checked in `relax`, and a
                // `rip` displacement of code under 1 MiB always fits.
                bytes.ok_or_else(|| out_of_range(text, stmt))?
            }
        };
        let (line, column) = cursor.advance(text, stmt.start);
        placed.push(Placed {
            offset: offsets[i] as u32,
            len: bytes.len() as u8,
            line,
            column,
            text: stmt.start..stmt.end,
        });
        code.extend_from_slice(bytes.as_slice());
    }
    debug_assert_eq!(code.len(), code_len);
    let verified = check == Check::Each || forms::decodes_all(&code, &finals);
    let asm = Assembly {
        code,
        placed,
        imports: imports.len(),
    };
    Ok((asm, verified))
}

fn out_of_range(text: &str, stmt: &Stmt) -> Error {
    Error::at(
        text,
        stmt.mnemonic_at,
        ErrorKind::BranchOutOfRange {
            mnemonic: stmt.mnemonic.to_string(),
        },
    )
}

fn target_offset(target: Target, offsets: &[usize]) -> u64 {
    match target {
        Target::Label(index) => offsets[index] as u64,
        Target::Offset(n) => n,
    }
}

/// Chooses each statement's form (branches keep both sizes).
#[allow(clippy::too_many_arguments)]
fn resolve(
    text: &str,
    program: &Program,
    stmt: &Stmt,
    here: usize,
    labels: &Labels,
    imports: &[&str],
    enc: &mut Encoder,
    check: Check,
) -> Result<Item, Error> {
    if matches!(stmt.mnemonic.as_ref(), "retw" | "callw" | "jmpw") {
        return Err(Error::at(
            text,
            stmt.mnemonic_at,
            ErrorKind::CpuDependent {
                mnemonic: stmt.mnemonic.to_string(),
            },
        ));
    }
    let Some(forms) = forms::forms_of(&stmt.mnemonic) else {
        return Err(Error::at(
            text,
            stmt.mnemonic_at,
            ErrorKind::UnknownMnemonic {
                name: stmt.mnemonic.to_string(),
            },
        ));
    };
    let ops = &program.operands[stmt.operands.clone()];
    let ops_at = &program.operand_at[stmt.operands.clone()];
    let lock = stmt.prefix.lock;
    // `call NAME` of an imported helper: `call qword ptr [rip + slot]`.
    if let [Operand::Label(r)] = ops
        && stmt.mnemonic == "call"
        && let Some(k) = import_slot(r, imports)
    {
        let mut ins = Instruction::default();
        ins.set_code(Code::Call_rm64);
        ins.set_op0_kind(iced_x86::OpKind::Memory);
        ins.set_memory_base(Register::RIP);
        ins.set_memory_displ_size(8);
        return Ok(Item::Fixed {
            ins,
            len: 6,
            bytes: None,
            rip: Some(RipTarget::Import(k)),
        });
    }
    // A relative branch to a label or to an offset.
    if forms::is_relative_branch(forms) {
        let target = match (ops, ops_at) {
            ([Operand::Label(r)], _) => Some(Target::Label(
                not_import(text, r, imports).and_then(|()| {
                    labels
                        .resolve(&r.name, here)
                        .ok_or_else(|| undefined(text, r))
                })?,
            )),
            ([Operand::Imm(v)], [at]) => Some(Target::Offset(
                u64::try_from(*v)
                    .ok()
                    .filter(|&n| n <= MAX_CODE_LEN as u64)
                    .ok_or_else(|| {
                        Error::at(
                            text,
                            *at,
                            ErrorKind::NumberOutOfRange {
                                text: text[*at..stmt.end].trim().to_string(),
                            },
                        )
                    })?,
            )),
            _ => None,
        };
        if let Some(target) = target {
            let (short, near) = forms::branch_forms(forms);
            let (short, near) = (with_len(enc, short), with_len(enc, near));
            return Ok(Item::Branch {
                short,
                near,
                use_near: short.is_none(),
                target,
                lock,
            });
        }
    }
    // Everything else: at most one operand may be a `rip`-relative memory operand.
    let mut rip = None;
    for (op, at) in ops.iter().zip(ops_at) {
        match op {
            Operand::Label(r) => {
                not_import(text, r, imports)?;
                return Err(Error::at(
                    text,
                    *at,
                    ErrorKind::Expected {
                        expected: "a register, number or memory operand",
                        found: text[*at..]
                            .split([',', ';', '\n', '#'])
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_string(),
                    },
                ));
            }
            Operand::Mem(m) if m.base == Register::RIP => {
                rip = Some(match &m.label {
                    Some(r) => {
                        not_import(text, r, imports)?;
                        RipTarget::Label(
                            labels
                                .resolve(&r.name, here)
                                .ok_or_else(|| undefined(text, r))?,
                            m.disp,
                        )
                    }
                    None => RipTarget::NextIp(m.disp),
                });
            }
            _ => {}
        }
    }
    let mut ops = std::borrow::Cow::Borrowed(ops);
    if let Some(seg) = stmt.prefix.segment {
        for op in ops.to_mut() {
            if let Operand::Mem(m) = op {
                m.segment = seg;
            }
        }
    }
    // `rex.W`: only the REX.W forms.
    let wide: Vec<forms::Form>;
    let forms = if stmt.prefix.rex_w {
        wide = forms.iter().filter(|f| f.op64).copied().collect();
        &wide[..]
    } else {
        forms
    };
    // Build with a placeholder `rip` target; the real one is set at its final address.
    let rex_w = stmt.prefix.rex_w;
    match crate::memo::choose(enc, &stmt.mnemonic, rex_w, forms, &ops, lock, check) {
        Choice::Chosen(mut ins, mut bytes) => {
            if stmt.prefix.rep || stmt.prefix.repne {
                ins.set_has_rep_prefix(stmt.prefix.rep);
                ins.set_has_repne_prefix(stmt.prefix.repne);
                bytes =
                    forms::encode_checked(enc, &ins, 0).ok_or_else(|| no_form(text, stmt, &ops))?;
            }
            Ok(Item::Fixed {
                ins,
                len: bytes.len(),
                // Without `rip` the bytes do not depend on the address.
                bytes: rip.is_none().then_some(bytes),
                rip,
            })
        }
        Choice::Ambiguous => Err(Error::at(
            text,
            stmt.mnemonic_at,
            ErrorKind::AmbiguousSize {
                mnemonic: stmt.mnemonic.to_string(),
            },
        )),
        Choice::NoForm => Err(immediate_too_large(text, stmt, &ops, ops_at, forms, enc)
            .unwrap_or_else(|| no_form(text, stmt, &ops))),
    }
}

/// If the operands fit once the immediate is 0, the immediate is the problem:
/// an error naming it and the widest immediate field the instruction offers.
fn immediate_too_large(
    text: &str,
    stmt: &Stmt,
    ops: &[Operand],
    ops_at: &[usize],
    forms: &[forms::Form],
    enc: &mut Encoder,
) -> Option<Error> {
    let k = ops.iter().position(|op| matches!(op, Operand::Imm(_)))?;
    let mut zeroed = ops.to_vec();
    zeroed[k] = Operand::Imm(0);
    let widest = forms
        .iter()
        .filter(|form| {
            matches!(
                forms::choose(
                    enc,
                    &stmt.mnemonic,
                    std::slice::from_ref(*form),
                    &zeroed,
                    0,
                    false,
                    Check::Each,
                ),
                Choice::Chosen(..)
            )
        })
        .map(forms::Form::immediate_field)
        .max()?;
    let at = *ops_at.get(k)?;
    let written = text[at..stmt.end].split(',').next().unwrap_or("").trim();
    Some(Error::at(
        text,
        at,
        ErrorKind::ImmediateTooLarge {
            text: written.to_string(),
            bits: widest.0,
            sign_extended: widest.1,
        },
    ))
}

/// The import-table slot a reference names, if it names an import.
fn import_slot(r: &LabelRef, imports: &[&str]) -> Option<usize> {
    match &r.name {
        RefName::Named(name) => imports.iter().position(|i| i == name),
        _ => None,
    }
}

/// An import used other than by `call NAME` is an error.
fn not_import(text: &str, r: &LabelRef, imports: &[&str]) -> Result<(), Error> {
    match (import_slot(r, imports), &r.name) {
        (Some(_), RefName::Named(name)) => Err(Error::at(
            text,
            r.at,
            ErrorKind::ImportMisuse {
                name: (*name).to_string(),
            },
        )),
        _ => Ok(()),
    }
}

fn no_form(text: &str, stmt: &Stmt, ops: &[Operand]) -> Error {
    Error::at(
        text,
        stmt.mnemonic_at,
        ErrorKind::NoMatchingForm {
            mnemonic: stmt.mnemonic.to_string(),
            operands: forms::describe(ops),
        },
    )
}

/// A branch form with its length in bytes (remembered per thread: it depends
/// on the form only).
fn with_len(enc: &mut Encoder, code: Option<Code>) -> Option<(Code, usize)> {
    thread_local! {
        static LENGTHS: std::cell::RefCell<FnvMap<Code, Option<usize>>> =
            std::cell::RefCell::new(FnvMap::default());
    }
    let code = code?;
    let known = LENGTHS.with(|m| m.try_borrow().ok()?.get(&code).copied());
    let len = known.unwrap_or_else(|| {
        let ins = Instruction::with_branch(code, 0).ok();
        let len = ins.and_then(|ins| forms::encode_checked(enc, &ins, 0).map(|b| b.len()));
        LENGTHS.with(|m| m.try_borrow_mut().map(|mut m| m.insert(code, len)).ok());
        len
    });
    Some((code, len?))
}

fn branch_len(form: Option<(Code, usize)>) -> usize {
    form.map_or(0, |(_, len)| len)
}

/// Sizes every branch; returns the offset of each instruction and the end.
fn relax(text: &str, program: &Program, items: &mut [Item]) -> Result<Vec<usize>, Error> {
    let mut passes = 0;
    loop {
        let mut offsets = Vec::with_capacity(items.len() + 1);
        let mut at = 0usize;
        for item in items.iter() {
            offsets.push(at);
            at += match item {
                Item::Fixed { len, .. } => *len,
                Item::Branch {
                    short,
                    near,
                    use_near,
                    ..
                } => branch_len(if *use_near { *near } else { *short }),
            };
        }
        offsets.push(at);
        if at > MAX_CODE_LEN {
            return Err(Error::nowhere(ErrorKind::TooLarge));
        }
        passes += 1;
        let mut grew = false;
        for (i, item) in items.iter_mut().enumerate() {
            let Item::Branch {
                short,
                near,
                use_near,
                target,
                ..
            } = item
            else {
                continue;
            };
            if *use_near {
                continue;
            }
            let end = offsets[i] + branch_len(*short);
            let rel = target_offset(*target, &offsets) as i64 - end as i64;
            if (-128..=127).contains(&rel) && passes <= MAX_PASSES {
                continue;
            }
            if near.is_some() {
                *use_near = true;
                grew = true;
            } else if !(-128..=127).contains(&rel) {
                return Err(out_of_range(text, &program.stmts[i]));
            }
        }
        if !grew {
            return Ok(offsets);
        }
    }
}

/// Computes line/column of increasing offsets in one pass over the text.
#[derive(Default)]
struct LineCursor {
    at: usize,
    line: u32,
    line_start: usize,
}

impl LineCursor {
    fn advance(&mut self, text: &str, to: usize) -> (u32, u32) {
        if self.line == 0 {
            self.line = 1;
        }
        for (i, b) in text.as_bytes()[self.at..to].iter().enumerate() {
            if *b == b'\n' {
                self.line += 1;
                self.line_start = self.at + i + 1;
            }
        }
        self.at = to;
        let column = text[self.line_start..to].chars().count() + 1;
        (self.line, column as u32)
    }
}
