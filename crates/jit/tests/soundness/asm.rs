//! A tiny x86-64 encoder for the soundness generator.
//!
//! In: a list of [`Item`]s (encoded instructions, branches to labels, calls to
//! absolute addresses, labels). Out: bytes, with branch displacements resolved
//! after any prefix mutation. Registers are iced numbers (0 = rax … 15 = r15);
//! sizes are operand bytes (1, 2, 4, 8). Memory operands are `[base + disp]`.

/// One instruction (or label) of a generated function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A complete instruction; `prefix` is inserted by mutations only.
    Ins { prefix: Vec<u8>, bytes: Vec<u8> },
    /// `jmp` (cond `None`) or `jcc` to a label; `long` picks rel32.
    Jump {
        prefix: Vec<u8>,
        cond: Option<u8>,
        label: usize,
        long: bool,
    },
    /// `loop`/`loope`/`loopne`/`jrcxz` (opcode e0..e3) to a label.
    Loop {
        prefix: Vec<u8>,
        opcode: u8,
        label: usize,
    },
    /// `call rel32` to an absolute address.
    Call { prefix: Vec<u8>, target: u64 },
    /// An instruction with a `[rip + disp32]` operand addressing `label +
    /// addend`: `bytes` ends with the ModRM byte, `imm` follows the disp32.
    Rip {
        prefix: Vec<u8>,
        bytes: Vec<u8>,
        label: usize,
        addend: i32,
        imm: Vec<u8>,
    },
    /// A branch target.
    Label(usize),
}

impl Item {
    pub fn ins(bytes: Vec<u8>) -> Item {
        Item::Ins {
            prefix: Vec::new(),
            bytes,
        }
    }

    /// The prefix bytes a mutation may extend (labels have none).
    pub fn prefix_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Item::Ins { prefix, .. }
            | Item::Jump { prefix, .. }
            | Item::Loop { prefix, .. }
            | Item::Call { prefix, .. }
            | Item::Rip { prefix, .. } => Some(prefix),
            Item::Label(_) => None,
        }
    }
}

fn size_of(item: &Item) -> usize {
    match item {
        Item::Ins { prefix, bytes } => prefix.len() + bytes.len(),
        Item::Jump {
            prefix, cond, long, ..
        } => {
            prefix.len()
                + match (cond, long) {
                    (_, false) => 2,
                    (None, true) => 5,
                    (Some(_), true) => 6,
                }
        }
        Item::Loop { prefix, .. } => prefix.len() + 2,
        Item::Call { prefix, .. } => prefix.len() + 5,
        Item::Rip {
            prefix, bytes, imm, ..
        } => prefix.len() + bytes.len() + 4 + imm.len(),
        Item::Label(_) => 0,
    }
}

/// Encodes `items` to run at `base`; short jumps out of range become long.
pub fn assemble(items: &[Item], base: u64) -> Vec<u8> {
    let mut items = items.to_vec();
    loop {
        let mut at = Vec::with_capacity(items.len());
        let mut labels = std::collections::HashMap::new();
        let mut pos = 0usize;
        for it in &items {
            at.push(pos);
            if let Item::Label(l) = it {
                labels.insert(*l, pos);
            }
            pos += size_of(it);
        }
        let mut out = Vec::with_capacity(pos);
        let mut grew = false;
        for (i, it) in items.iter_mut().enumerate() {
            let end = (at[i] + size_of(it)) as i64;
            let rel = |l: &usize| labels.get(l).map_or(0, |&t| t as i64 - end);
            match it {
                Item::Ins { prefix, bytes } => {
                    out.extend_from_slice(prefix);
                    out.extend_from_slice(bytes);
                }
                Item::Jump {
                    prefix,
                    cond,
                    label,
                    long,
                } => {
                    out.extend_from_slice(prefix);
                    let d = rel(label);
                    if *long {
                        match cond {
                            None => out.push(0xe9),
                            Some(c) => out.extend_from_slice(&[0x0f, 0x80 | *c]),
                        }
                        out.extend_from_slice(&(d as i32).to_le_bytes());
                    } else if i8::try_from(d).is_ok() {
                        out.push(cond.map_or(0xeb, |c| 0x70 | c));
                        out.push(d as u8);
                    } else {
                        *long = true;
                        grew = true;
                    }
                }
                Item::Loop {
                    prefix,
                    opcode,
                    label,
                } => {
                    out.extend_from_slice(prefix);
                    out.push(*opcode);
                    out.push(i8::try_from(rel(label)).unwrap_or(-2) as u8);
                }
                Item::Call { prefix, target } => {
                    out.extend_from_slice(prefix);
                    out.push(0xe8);
                    let d = target.wrapping_sub(base + end as u64) as i64;
                    out.extend_from_slice(&(d as i32).to_le_bytes());
                }
                Item::Rip {
                    prefix,
                    bytes,
                    label,
                    addend,
                    imm,
                } => {
                    out.extend_from_slice(prefix);
                    out.extend_from_slice(bytes);
                    out.extend_from_slice(
                        &((rel(label) + i64::from(*addend)) as i32).to_le_bytes(),
                    );
                    out.extend_from_slice(imm);
                }
                Item::Label(_) => {}
            }
        }
        if !grew {
            return out;
        }
    }
}

/// REX byte if needed (`force` for 8-bit access to spl/bpl/sil/dil).
fn rex(w: bool, r: usize, x: usize, b: usize, force: bool) -> Option<u8> {
    let v = 0x40
        | (u8::from(w) << 3)
        | (((r >> 3) & 1) as u8) << 2
        | (((x >> 3) & 1) as u8) << 1
        | ((b >> 3) & 1) as u8;
    (v != 0x40 || force).then_some(v)
}

/// Prefixes for an operand size: 66 for 16-bit, REX.W for 64-bit.
fn sized(size: u8, reg: usize, rm: usize, byte_regs: bool, x: usize) -> Vec<u8> {
    let mut out = Vec::new();
    if size == 2 {
        out.push(0x66);
    }
    let force = byte_regs && size == 1 && ((4..8).contains(&reg) || (4..8).contains(&rm));
    out.extend(rex(size == 8, reg, x, rm, force));
    out
}

/// `op reg/modrm` with a register r/m operand: `op rm, reg` style.
/// `op8` is the opcode for 8-bit operands (usually `op - 1`).
pub fn rr(op: &[u8], op8: &[u8], size: u8, reg: usize, rm: usize) -> Vec<u8> {
    let mut out = sized(size, reg, rm, true, 0);
    out.extend_from_slice(if size == 1 { op8 } else { op });
    out.push(0xc0 | ((reg as u8 & 7) << 3) | (rm as u8 & 7));
    out
}

/// ModRM (+SIB, disp) for `[base + disp]` with `reg` field `reg`.
fn mem_operand(reg: usize, base: usize, disp: i32) -> Vec<u8> {
    let r = (reg as u8 & 7) << 3;
    let b = base as u8 & 7;
    let (mode, d): (u8, Vec<u8>) = if disp == 0 && b != 5 {
        (0, vec![])
    } else if let Ok(d8) = i8::try_from(disp) {
        (0x40, vec![d8 as u8])
    } else {
        (0x80, disp.to_le_bytes().to_vec())
    };
    let mut out = vec![mode | r | b];
    if b == 4 {
        out.push(0x24);
    }
    out.extend(d);
    out
}

/// `op` with a memory operand `[base + disp]` and register `reg`.
pub fn rm(op: &[u8], op8: &[u8], size: u8, reg: usize, base: usize, disp: i32) -> Vec<u8> {
    let mut out = sized(size, reg, base, false, 0);
    if size == 1 && (4..8).contains(&reg) && !out.iter().any(|b| b & 0xf0 == 0x40) {
        out.push(0x40);
    }
    out.extend_from_slice(if size == 1 { op8 } else { op });
    out.extend(mem_operand(reg, base, disp));
    out
}

/// Group opcode with `/ext` on a register, plus immediate bytes.
pub fn grp_r(op: &[u8], op8: &[u8], size: u8, ext: u8, reg: usize, imm: &[u8]) -> Vec<u8> {
    let mut out = rr(op, op8, size, ext as usize, reg);
    out.extend_from_slice(imm);
    out
}

/// Group opcode with `/ext` on `[base + disp]`, plus immediate bytes.
pub fn grp_m(
    op: &[u8],
    op8: &[u8],
    size: u8,
    ext: u8,
    base: usize,
    disp: i32,
    imm: &[u8],
) -> Vec<u8> {
    let mut out = rm(op, op8, size, ext as usize, base, disp);
    out.extend_from_slice(imm);
    out
}

pub fn push(r: usize) -> Vec<u8> {
    let mut out: Vec<u8> = rex(false, 0, 0, r, false).into_iter().collect();
    out.push(0x50 + (r as u8 & 7));
    out
}

pub fn pop(r: usize) -> Vec<u8> {
    let mut out: Vec<u8> = rex(false, 0, 0, r, false).into_iter().collect();
    out.push(0x58 + (r as u8 & 7));
    out
}

/// `mov r, imm` (32-bit zero-extending, or 64-bit `movabs`).
pub fn mov_imm(size: u8, r: usize, imm: u64) -> Vec<u8> {
    let mut out: Vec<u8> = rex(size == 8, 0, 0, r, false).into_iter().collect();
    out.push(0xb8 + (r as u8 & 7));
    if size == 8 {
        out.extend_from_slice(&imm.to_le_bytes());
    } else {
        out.extend_from_slice(&(imm as u32).to_le_bytes());
    }
    out
}

/// `sub rsp, n` / `add rsp, n` (`add` when `n` is negative).
pub fn adjust_rsp(n: i32) -> Vec<u8> {
    let (ext, v) = if n >= 0 { (5, n) } else { (0, -n) };
    if let Ok(b) = i8::try_from(v) {
        grp_r(&[0x83], &[0x80], 8, ext, 4, &[b as u8])
    } else {
        grp_r(&[0x81], &[0x80], 8, ext, 4, &v.to_le_bytes())
    }
}

/// `lea dst, [base + disp]` (64-bit).
pub fn lea(dst: usize, base: usize, disp: i32) -> Vec<u8> {
    rm(&[0x8d], &[0x8d], 8, dst, base, disp)
}

/// `op reg, [rip + disp32]` up to and including the ModRM byte.
pub fn rip(op: &[u8], size: u8, reg: usize) -> Vec<u8> {
    let mut out = sized(size, reg, 0, false, 0);
    if size == 1 && (4..8).contains(&reg) && out.is_empty() {
        out.push(0x40);
    }
    out.extend_from_slice(op);
    out.push(((reg as u8 & 7) << 3) | 5);
    out
}

/// A memory operand `[base + index*scale + disp]` (iced register numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mem {
    pub base: usize,
    /// Index register (not rsp) and scale (1, 2, 4 or 8).
    pub index: Option<(usize, u8)>,
    pub disp: i32,
}

impl Mem {
    pub fn at(base: usize, disp: i32) -> Mem {
        Mem {
            base,
            index: None,
            disp,
        }
    }
    pub fn indexed(base: usize, index: usize, scale: u8, disp: i32) -> Mem {
        Mem {
            base,
            index: Some((index, scale)),
            disp,
        }
    }
}

/// `op` with operand size `size` (1, 2, 4, 8: 66 for 16-bit, REX.W for
/// 64-bit), ModRM `reg` field `reg` (a register, or an opcode extension
/// when `ext`) and memory operand `m` with any base, index and scale.
pub fn op_mem(size: u8, op: &[u8], reg: usize, m: Mem, ext: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if size == 2 {
        out.push(0x66);
    }
    let (x, scale_bits, index_low) = match m.index {
        Some((i, s)) => (i >> 3 & 1, s.trailing_zeros() as u8, i as u8 & 7),
        None => (0, 0, 4),
    };
    let rex = 0x40
        | u8::from(size == 8) << 3
        | ((reg >> 3 & 1) as u8) << 2
        | (x as u8) << 1
        | (m.base >> 3 & 1) as u8;
    if rex != 0x40 || (size == 1 && !ext && (4..8).contains(&reg)) {
        out.push(rex);
    }
    out.extend_from_slice(op);
    let b = m.base as u8 & 7;
    let mode: u8 = if m.disp == 0 && b != 5 {
        0
    } else if i8::try_from(m.disp).is_ok() {
        0x40
    } else {
        0x80
    };
    let r = (reg as u8 & 7) << 3;
    if m.index.is_some() || b == 4 {
        out.push(mode | r | 4);
        out.push(scale_bits << 6 | index_low << 3 | b);
    } else {
        out.push(mode | r | b);
    }
    match mode {
        0x40 => out.push(m.disp as u8),
        0x80 => out.extend_from_slice(&m.disp.to_le_bytes()),
        _ => {}
    }
    out
}
