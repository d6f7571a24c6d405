//! Choosing the encoding of one instruction: mnemonic and operands to an iced
//! [`Instruction`].
//!
//! In: a mnemonic and parsed operands. Out: the candidate iced `Code`s whose
//! operand kinds (iced's `OpCodeInfo`) fit, built into `Instruction`s. The
//! assembler then keeps the shortest encoding, and among equally short ones
//! the first in iced's `Code` order, which is opcode order: `add eax, esi` is
//! `01 f0` (the `rm, r` form) as GNU `as` emits it, `and eax, 0xffffffff` is
//! the sign-extended `imm8` form. Every chosen encoding is decoded again and
//! must give back the same instruction (else the next best is tried) (so no candidate that the CPU reads
//! differently, like `xchg eax, eax` as `90`, is ever emitted).
//! Aliases: `jz`/`setz`/`cmovz` and the other GNU condition names, `sal`
//! (= `shl`), `movabs` (= `mov r64, imm64`), two-operand `imul r, imm`.

use std::borrow::Cow;
use std::sync::OnceLock;

use iced_x86::{
    Code, Decoder, DecoderOptions, Encoder, Instruction, OpCodeOperandKind as K, OpKind, Register,
};

use crate::parse::{Mem, NameMap, Operand};

mod table;
#[cfg(test)]
mod tests;

/// One encoding of a mnemonic, with what choosing it needs from iced's
/// `OpCodeInfo` looked up once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Form {
    pub code: Code,
    kinds: &'static [K],
    /// Memory operand size in bytes (0: none or unsized, as for `lea`).
    mem_size: usize,
    /// Needs the `66` operand-size prefix.
    op16: bool,
    /// Has REX.W (or is 64-bit by default).
    pub op64: bool,
    /// Uses 32-bit addressing (`67` prefix: `loop` with `ecx`).
    addr32: bool,
    /// Bytes of immediate, and whether it is sign-extended.
    imm_bytes: usize,
    imm_sign_extended: bool,
    /// For each operand, the [`class`] bits it accepts (see [`fits`]).
    accepts: [u16; 4],
}

/// Operand class bits: what a form's operand kind accepts, and what an operand
/// is, so that most forms are rejected by one `&` per operand.
const R8: u16 = 1;
const R16: u16 = 1 << 1;
const R32: u16 = 1 << 2;
const R64: u16 = 1 << 3;
const AL: u16 = 1 << 4;
const CL: u16 = 1 << 5;
const AX: u16 = 1 << 6;
const DX: u16 = 1 << 7;
const EAX: u16 = 1 << 8;
const RAX: u16 = 1 << 9;
const IMM: u16 = 1 << 10;
const MEM: u16 = 1 << 11;

/// The classes an operand kind accepts (as [`reg_fits`], [`imm_fits`] and
/// [`fits`] read it; immediates and memory sizes are checked further).
fn accepts(kind: K) -> u16 {
    match kind {
        K::r8_or_mem => R8 | MEM,
        K::r16_or_mem => R16 | MEM,
        K::r32_or_mem => R32 | MEM,
        K::r64_or_mem => R64 | MEM,
        K::r8_reg | K::r8_opcode => R8,
        K::r16_reg | K::r16_rm | K::r16_opcode => R16,
        K::r32_reg | K::r32_rm | K::r32_opcode => R32,
        K::r64_reg | K::r64_rm | K::r64_opcode => R64,
        K::al => AL,
        K::cl => CL,
        K::ax => AX,
        K::dx => DX,
        K::eax => EAX,
        K::rax => RAX,
        K::mem => MEM,
        K::imm8
        | K::imm8_const_1
        | K::imm8sex16
        | K::imm8sex32
        | K::imm8sex64
        | K::imm16
        | K::imm32
        | K::imm32sex64
        | K::imm64 => IMM,
        _ => 0,
    }
}

/// The class bits of an operand.
fn class(op: &Operand) -> u16 {
    match op {
        Operand::Reg(r) => {
            let r = *r;
            let bit = |yes: bool, b: u16| if yes { b } else { 0 };
            bit(r.is_gpr8(), R8)
                | bit(r.is_gpr16(), R16)
                | bit(r.is_gpr32(), R32)
                | bit(r.is_gpr64(), R64)
                | bit(r == Register::AL, AL)
                | bit(r == Register::CL, CL)
                | bit(r == Register::AX, AX)
                | bit(r == Register::DX, DX)
                | bit(r == Register::EAX, EAX)
                | bit(r == Register::RAX, RAX)
        }
        Operand::Imm(_) => IMM,
        Operand::Mem(_) => MEM,
        Operand::Label(_) => 0,
    }
}

impl Form {
    fn new(&(_, code, kinds, mem_size, operand_size, address_size): &table::Row) -> Form {
        let imm_bytes = kinds
            .iter()
            .map(|k| match k {
                K::imm8 | K::imm8sex16 | K::imm8sex32 | K::imm8sex64 => 1,
                K::imm16 => 2,
                K::imm32 | K::imm32sex64 => 4,
                K::imm64 => 8,
                _ => 0,
            })
            .sum();
        let mut accepts_ = [0; 4];
        for (a, &k) in accepts_.iter_mut().zip(kinds) {
            *a = accepts(k);
        }
        Form {
            accepts: accepts_,
            code,
            kinds,
            mem_size: usize::from(mem_size),
            op16: operand_size == 16,
            op64: operand_size == 64,
            addr32: address_size == 32,
            imm_bytes,
            imm_sign_extended: kinds.iter().any(|k| {
                matches!(
                    k,
                    K::imm8sex16 | K::imm8sex32 | K::imm8sex64 | K::imm32sex64
                )
            }),
        }
    }

    /// The widest immediate field: bits, and whether it is sign-extended.
    pub(crate) fn immediate_field(&self) -> (u32, bool) {
        (8 * self.imm_bytes as u32, self.imm_sign_extended)
    }
}

/// The legacy-encoded 64-bit-mode forms of each mnemonic, by lowercase name;
/// `moffs` forms (absolute 64-bit addresses) are left out.
fn index() -> &'static NameMap<Vec<Form>> {
    static INDEX: OnceLock<NameMap<Vec<Form>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map: NameMap<Vec<Form>> = NameMap::default();
        for row in table::ROWS {
            let (name, code, kinds, ..) = *row;
            // `bswap r16` leaves an undefined result (Intel SDM); GNU `as` refuses it too.
            if kinds.contains(&K::mem_offs) || code == Code::Bswap_r16 {
                continue;
            }
            map.entry(name.to_string())
                .or_default()
                .push(Form::new(row));
        }
        // objdump's size-suffixed names for the forms whose size no operand shows:
        // `pushw 0x14`, `leavew` (`66` prefix) and their `q` (64-bit) twins. (`retw`,
        // `callw`, `jmpw` are refused in `layout`: their meaning depends on the CPU.)
        for base in ["push", "pop", "ret", "leave", "call", "jmp"] {
            let Some(forms) = map.get(base) else { continue };
            let (w, q): (Vec<Form>, Vec<Form>) = forms.iter().partition(|f| f.op16);
            let cpu_dependent = matches!(base, "ret" | "call" | "jmp");
            for (suffix, forms) in [("w", w), ("q", q)] {
                if !forms.is_empty() && (suffix == "q" || !cpu_dependent) {
                    map.insert(format!("{base}{suffix}"), forms);
                }
            }
        }
        map
    })
}

/// GNU's other names for condition codes, as `(alias, iced name)` suffixes.
const CONDITION_ALIASES: &[(&str, &str)] = &[
    ("z", "e"),
    ("nz", "ne"),
    ("c", "b"),
    ("nae", "b"),
    ("nc", "ae"),
    ("nb", "ae"),
    ("na", "be"),
    ("nbe", "a"),
    ("nge", "l"),
    ("nl", "ge"),
    ("ng", "le"),
    ("nle", "g"),
    ("pe", "p"),
    ("po", "np"),
];

/// The canonical (iced) mnemonic for a written (lowercase) one.
fn canonical(mnemonic: &str) -> Cow<'_, str> {
    match mnemonic {
        "sal" => return Cow::Borrowed("shl"),
        "movabs" => return Cow::Borrowed("mov"),
        _ => {}
    }
    for stem in ["j", "set", "cmov"] {
        if let Some(cond) = mnemonic.strip_prefix(stem)
            && let Some((_, to)) = CONDITION_ALIASES.iter().find(|(from, _)| *from == cond)
        {
            return Cow::Owned(format!("{stem}{to}"));
        }
    }
    Cow::Borrowed(mnemonic)
}

/// The forms of a (lowercase) mnemonic; `None` if it is unknown.
pub(crate) fn forms_of(mnemonic: &str) -> Option<&'static [Form]> {
    let forms = index().get(canonical(mnemonic).as_ref())?;
    if mnemonic == "movabs" {
        let at = forms.iter().position(|f| f.code == Code::Mov_r64_imm64)?;
        return forms.get(at..=at);
    }
    Some(forms)
}

/// Whether the mnemonic is a relative branch (some form takes a `rel8`/`rel32`).
pub(crate) fn is_relative_branch(forms: &[Form]) -> bool {
    forms
        .iter()
        .any(|f| matches!(f.kinds, [K::br64_1 | K::br64_4]))
}

/// The `rel8` and `rel32` forms of a branch mnemonic.
pub(crate) fn branch_forms(forms: &[Form]) -> (Option<Code>, Option<Code>) {
    let pick = |k| {
        forms
            .iter()
            .filter(|f| f.kinds == [k])
            // `loop`/`jrcxz` also have forms with a 67 prefix (ecx); the plain one is first.
            .min_by_key(|f| f.addr32)
            .map(|f| f.code)
    };
    (pick(K::br64_1), pick(K::br64_4))
}

fn imm_fits(kind: K, v: i128) -> bool {
    let sext8 = (-128..=127).contains(&v);
    match kind {
        K::imm8 => (-128..=255).contains(&v),
        K::imm8_const_1 => v == 1,
        K::imm8sex16 => sext8 || (0xff80..=0xffff).contains(&v),
        K::imm8sex32 => sext8 || (0xffff_ff80..=0xffff_ffff).contains(&v),
        K::imm8sex64 => sext8 || ((1 << 64) - 128..(1 << 64)).contains(&v),
        K::imm16 => (-0x8000..=0xffff).contains(&v),
        K::imm32 => (-(1 << 31)..(1 << 32)).contains(&v),
        K::imm32sex64 => {
            (-(1 << 31)..(1 << 31)).contains(&v) || ((1 << 64) - (1 << 31)..(1 << 64)).contains(&v)
        }
        K::imm64 => true,
        _ => false,
    }
}

fn imm_op_kind(kind: K, second: bool) -> OpKind {
    match kind {
        K::imm8 if second => OpKind::Immediate8_2nd,
        K::imm8sex16 => OpKind::Immediate8to16,
        K::imm8sex32 => OpKind::Immediate8to32,
        K::imm8sex64 => OpKind::Immediate8to64,
        K::imm16 => OpKind::Immediate16,
        K::imm32 => OpKind::Immediate32,
        K::imm32sex64 => OpKind::Immediate32to64,
        K::imm64 => OpKind::Immediate64,
        _ => OpKind::Immediate8,
    }
}

/// Whether a form's operands accept `ops`, whose [`class`] bits are `classes`.
fn fits(form: &Form, ops: &[Operand], classes: &[u16; 4]) -> bool {
    form.kinds.len() == ops.len()
        && form.accepts[..ops.len()]
            .iter()
            .zip(classes)
            .all(|(a, c)| a & c != 0)
        && form.kinds.iter().zip(ops).all(|(&k, op)| match op {
            // Fully decided by the class bits.
            Operand::Reg(_) => true,
            Operand::Imm(v) => imm_fits(k, *v),
            Operand::Mem(m) => m
                .size
                .is_none_or(|s| form.mem_size == 0 || form.mem_size == s as usize),
            Operand::Label(_) => false,
        })
}

/// Builds the instruction `form ops`; a `rip`-relative memory operand
/// addresses `rip_target` (absolute, the code starting at 0).
fn build(form: &Form, ops: &[Operand], rip_target: u64, prefix_lock: bool) -> Instruction {
    let mut ins = Instruction::default();
    ins.set_code(form.code);
    let kinds = form.kinds;
    for (i, (op, &k)) in ops.iter().zip(kinds).enumerate() {
        let i = i as u32;
        match op {
            Operand::Reg(r) => {
                ins.set_op_kind(i, OpKind::Register);
                ins.set_op_register(i, *r);
            }
            Operand::Imm(v) => {
                let second = i > 0 && matches!(kinds[i as usize - 1], K::imm8 | K::imm16);
                ins.set_op_kind(i, imm_op_kind(k, second));
                // In range by `imm_fits`; the cast keeps the low bits the form stores.
                let _ = ins.try_set_immediate_u64(i, *v as u64);
            }
            Operand::Mem(m) => set_memory(&mut ins, i, m, rip_target),
            Operand::Label(_) => {}
        }
    }
    ins.set_has_lock_prefix(prefix_lock);
    ins
}

fn set_memory(ins: &mut Instruction, i: u32, m: &Mem, rip_target: u64) {
    ins.set_op_kind(i, OpKind::Memory);
    ins.set_memory_base(m.base);
    ins.set_memory_index(m.index);
    ins.set_memory_index_scale(m.scale);
    // A segment that is the default for the base is no prefix (GNU `as` and
    // objdump's `ds:0x1000`).
    let stack_base = matches!(m.base, Register::RSP | Register::RBP);
    let default = if stack_base {
        Register::SS
    } else {
        Register::DS
    };
    ins.set_segment_prefix(if m.segment == default {
        Register::None
    } else {
        m.segment
    });
    if m.base == Register::RIP {
        ins.set_memory_displacement64(rip_target);
        ins.set_memory_displ_size(8);
    } else {
        ins.set_memory_displacement64(m.disp as u64);
        ins.set_memory_displ_size(u32::from(m.disp != 0));
    }
}

/// The bytes of one encoded instruction (at most 15).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Encoded {
    bytes: [u8; 16],
    len: u8,
}

impl Encoded {
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.len)
    }
}

/// Encodes `ins` at `ip` and checks that the bytes decode to the same
/// instruction; the bytes, or `None` if iced refuses or reads them back differently.
pub(crate) fn encode_checked(enc: &mut Encoder, ins: &Instruction, ip: u64) -> Option<Encoded> {
    encode(enc, ins, ip).filter(|bytes| decodes_to(bytes, ins, ip))
}

/// Encodes `ins` at `ip` without decoding it back; `None` if iced refuses.
pub(crate) fn encode(enc: &mut Encoder, ins: &Instruction, ip: u64) -> Option<Encoded> {
    let result = enc.encode(ins, ip);
    let mut buffer = enc.take_buffer();
    let mut out = None;
    if result.is_ok() && buffer.len() <= 15 {
        let mut e = Encoded {
            len: buffer.len() as u8,
            ..Encoded::default()
        };
        e.bytes[..buffer.len()].copy_from_slice(&buffer);
        out = Some(e);
    }
    buffer.clear();
    enc.set_buffer(buffer);
    out
}

/// Whether `code`, decoded from address 0, is exactly `instructions`.
pub(crate) fn decodes_all(code: &[u8], instructions: &[Instruction]) -> bool {
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    instructions.iter().all(|ins| {
        let at = decoder.position();
        let back = decoder.decode();
        let len = decoder.position() - at;
        !back.is_invalid() && back.len() == len && same(&back, ins)
    }) && !decoder.can_decode()
}

/// Whether `bytes`, decoded at `ip`, are exactly `ins`.
fn decodes_to(bytes: &Encoded, ins: &Instruction, ip: u64) -> bool {
    let back = Decoder::with_ip(64, bytes.as_slice(), ip, DecoderOptions::NONE).decode();
    !back.is_invalid() && back.len() == bytes.len() && same(&back, ins)
}

/// Whether two instructions have the same code, operands and prefixes
/// (iced's `==` also compares how an immediate is stored internally).
fn same(a: &Instruction, b: &Instruction) -> bool {
    let operand = |i: u32| {
        let kind = a.op_kind(i);
        kind == b.op_kind(i)
            && match kind {
                OpKind::Register => a.op_register(i) == b.op_register(i),
                OpKind::Memory => {
                    a.memory_base() == b.memory_base()
                        && a.memory_index() == b.memory_index()
                        && (a.memory_index() == Register::None
                            || a.memory_index_scale() == b.memory_index_scale())
                        && a.memory_displacement64() == b.memory_displacement64()
                        && a.segment_prefix() == b.segment_prefix()
                }
                OpKind::NearBranch64 => a.near_branch64() == b.near_branch64(),
                _ => a.try_immediate(i).ok() == b.try_immediate(i).ok(),
            }
    };
    a.code() == b.code()
        && a.op_count() == b.op_count()
        && (0..a.op_count()).all(operand)
        && a.has_lock_prefix() == b.has_lock_prefix()
        && a.has_rep_prefix() == b.has_rep_prefix()
        && a.has_repne_prefix() == b.has_repne_prefix()
}

/// The operand kinds as text, for "no form taking `r32, imm`" errors.
pub(crate) fn describe(ops: &[Operand]) -> String {
    ops.iter()
        .map(|op| match op {
            Operand::Reg(r) => format!("r{}", r.size() * 8),
            Operand::Imm(_) => "imm".to_string(),
            Operand::Mem(m) => match m.size {
                Some(s) => format!("m{}", s * 8),
                None => "m".to_string(),
            },
            Operand::Label(_) => "label".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The 16-bit register with the number of a 32-bit one (`r8d` -> `r8w`).
fn gpr16_of(r: Register) -> Register {
    let n = r.number();
    Register::values()
        .filter(|r| r.is_gpr16())
        .nth(n)
        .unwrap_or(Register::None)
}

/// Whether an operand makes the operation 16-bit (a 16-bit register or
/// `word ptr`); otherwise forms with a `66` operand-size prefix come last, so
/// `push 128` is `push imm32` (64-bit), not `pushw`.
fn sized16(ops: &[Operand]) -> bool {
    ops.iter().any(|op| match op {
        Operand::Reg(r) => r.is_gpr16(),
        Operand::Mem(m) => m.size == Some(2),
        _ => false,
    })
}

/// How a candidate ranks: `66` prefix unasked for, length, immediate bytes (lowest wins).
type Rank = (bool, usize, usize);

/// When a chosen encoding is decoded back to check that it is the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Every candidate before it may be chosen (the next best is taken if not).
    Each,
    /// Not here: the caller checks the chosen encoding, and chooses again with
    /// `Each` if it fails.
    Later,
}

/// The outcome of choosing a form for a non-branch instruction.
pub(crate) enum Choice {
    /// The instruction (built for `rip_target`) and its bytes.
    Chosen(Instruction, Encoded),
    /// Forms with different memory sizes fit an unsized memory operand.
    Ambiguous,
    NoForm,
}

/// Chooses the shortest fitting form of `forms` for `ops` (`xchg` and `test`
/// also in swapped operand order, as GNU `as` accepts).
pub(crate) fn choose(
    enc: &mut Encoder,
    mnemonic: &str,
    forms: &[Form],
    ops: &[Operand],
    rip_target: u64,
    lock: bool,
    check: Check,
) -> Choice {
    // No alias (`canonical`) names or is named `xchg`, `test`, `imul` or `movsxd`.
    let canon = mnemonic;
    let swapped;
    let imul3;
    let mut orders: [Option<&[Operand]>; 2] = [Some(ops), None];
    if matches!(canon, "xchg" | "test") && ops.len() == 2 {
        swapped = [ops[1], ops[0]];
        orders[1] = Some(&swapped);
    }
    if canon == "imul"
        && let [Operand::Reg(r), imm @ Operand::Imm(_)] = ops
    {
        imul3 = [Operand::Reg(*r), Operand::Reg(*r), *imm];
        orders[0] = Some(&imul3);
    }
    // `movsxd r16, r32/m32` (GNU `as`, objdump) is iced's `Movsxd_r16_rm16`.
    let movsxd16;
    if canon == "movsxd"
        && let [Operand::Reg(dst), src] = ops
        && dst.is_gpr16()
    {
        let src = match src {
            Operand::Reg(r) if r.is_gpr32() => Some(Operand::Reg(gpr16_of(*r))),
            Operand::Mem(m) if m.size.is_none_or(|s| s == 4) => Some(Operand::Mem(Mem {
                size: Some(2),
                ..*m
            })),
            _ => None,
        };
        if let Some(src) = src {
            movsxd16 = [Operand::Reg(*dst), src];
            orders[0] = Some(&movsxd16);
        } else {
            return Choice::NoForm;
        }
    }
    // Only the winner is decoded back (`decodes_to`); should it read back
    // differently, it is set aside and the choice is made again without it, which
    // picks what checking every candidate would. With an unsized memory operand
    // every candidate is checked, as the ambiguity test counts the sizes of those
    // that pass. With `Check::Later` nothing is decoded here: if the winner is
    // good, it is what `Check::Each` chooses (it ranks first among a superset);
    // if the encodable candidates disagree on an unsized operand's size, the
    // choice is made with `Check::Each`.
    let now = check == Check::Each;
    let mut rejected: Vec<(usize, Code)> = Vec::new();
    loop {
        // The best candidate: instruction, bytes, rank, operand order.
        let mut best: Option<(Instruction, Encoded, Rank, usize)> = None;
        let mut mem_sizes = [usize::MAX; 2];
        for (o, order) in orders.into_iter().flatten().enumerate() {
            let mut classes = [0; 4];
            for (c, op) in classes.iter_mut().zip(order) {
                *c = class(op);
            }
            let unsized_mem = order
                .iter()
                .any(|o| matches!(o, Operand::Mem(m) if m.size.is_none()));
            for form in forms {
                if !fits(form, order, &classes) || rejected.contains(&(o, form.code)) {
                    continue;
                }
                let ins = build(form, order, rip_target, lock);
                let encoded = if unsized_mem && now {
                    encode_checked(enc, &ins, 0)
                } else {
                    encode(enc, &ins, 0)
                };
                let Some(bytes) = encoded else {
                    continue;
                };
                if unsized_mem {
                    if mem_sizes[0] == usize::MAX {
                        mem_sizes[0] = form.mem_size;
                    } else if mem_sizes[0] != form.mem_size {
                        mem_sizes[1] = form.mem_size;
                    }
                }
                // A `66`-prefixed form only if the operands are 16-bit (or no
                // other form fits: `cwd`); then the shortest; among equally short
                // forms a sign-extended `imm8` before a wider immediate (`add ax, 1`
                // is `66 83 c0 01`); then iced's order.
                let unasked16 = form.op16 && !sized16(order);
                let rank = (unasked16, bytes.len(), form.imm_bytes);
                if best.as_ref().is_none_or(|(_, _, r, _)| rank < *r) {
                    best = Some((ins, bytes, rank, o));
                }
            }
        }
        if mem_sizes[1] != usize::MAX {
            if !now {
                return choose(enc, mnemonic, forms, ops, rip_target, lock, Check::Each);
            }
            return Choice::Ambiguous;
        }
        let Some((ins, bytes, _, o)) = best else {
            return Choice::NoForm;
        };
        if !now || decodes_to(&bytes, &ins, 0) {
            return Choice::Chosen(ins, bytes);
        }
        rejected.push((o, ins.code()));
    }
}
