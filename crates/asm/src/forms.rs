//! Choosing the encoding of one instruction: mnemonic and operands to an iced
//! [`Instruction`].
//!
//! In: a mnemonic and parsed operands. Out: the candidate iced `Code`s whose
//! operand kinds (iced's `OpCodeInfo`) fit, built into `Instruction`s. The
//! assembler then keeps the shortest encoding, and among equally short ones
//! the first in iced's `Code` order, which is opcode order: `add eax, esi` is
//! `01 f0` (the `rm, r` form) as GNU `as` emits it, `and eax, 0xffffffff` is
//! the sign-extended `imm8` form. Every chosen encoding is decoded again and
//! must give back the same instruction (so no candidate that the CPU reads
//! differently, like `xchg eax, eax` as `90`, is ever emitted).
//! Aliases: `jz`/`setz`/`cmovz` and the other GNU condition names, `sal`
//! (= `shl`), `movabs` (= `mov r64, imm64`), two-operand `imul r, imm`.

use std::collections::HashMap;
use std::sync::OnceLock;

use iced_x86::{
    Code, Decoder, DecoderOptions, Encoder, EncodingKind, Instruction, OpCodeOperandKind as K,
    OpKind, Register,
};

use crate::parse::{Mem, Operand};

/// The legacy-encoded 64-bit-mode `Code`s of each mnemonic, by lowercase name.
fn index() -> &'static HashMap<String, Vec<Code>> {
    static INDEX: OnceLock<HashMap<String, Vec<Code>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map: HashMap<String, Vec<Code>> = HashMap::new();
        for code in Code::values() {
            let op = code.op_code();
            if !op.is_instruction() || !op.mode64() || op.encoding() != EncodingKind::Legacy {
                continue;
            }
            let name = format!("{:?}", code.mnemonic()).to_ascii_lowercase();
            map.entry(name).or_default().push(code);
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

/// The canonical (iced) mnemonic for a written one.
fn canonical(mnemonic: &str) -> String {
    if mnemonic == "sal" {
        return "shl".into();
    }
    if mnemonic == "movabs" {
        return "mov".into();
    }
    for stem in ["j", "set", "cmov"] {
        if let Some(cond) = mnemonic.strip_prefix(stem)
            && let Some((_, to)) = CONDITION_ALIASES.iter().find(|(from, _)| *from == cond)
        {
            return format!("{stem}{to}");
        }
    }
    mnemonic.to_string()
}

/// The candidate codes of a mnemonic; `None` if it is unknown.
pub(crate) fn codes_of(mnemonic: &str) -> Option<&'static [Code]> {
    index().get(&canonical(mnemonic)).map(Vec::as_slice)
}

/// Whether the mnemonic is a relative branch (some form takes a `rel8`/`rel32`).
pub(crate) fn is_relative_branch(codes: &[Code]) -> bool {
    codes
        .iter()
        .any(|c| matches!(c.op_code().op_kinds(), [K::br64_1 | K::br64_4]))
}

/// The `rel8` and `rel32` forms of a branch mnemonic.
pub(crate) fn branch_forms(codes: &[Code]) -> (Option<Code>, Option<Code>) {
    let pick = |k| {
        codes
            .iter()
            .copied()
            .filter(|c| c.op_code().op_kinds() == [k])
            // `loop`/`jrcxz` also have forms with a 67 prefix (ecx); the plain one is first.
            .min_by_key(|c| c.op_code().address_size() != 0 && c.op_code().address_size() != 64)
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

fn reg_fits(kind: K, r: Register) -> bool {
    match kind {
        K::r8_or_mem | K::r8_reg | K::r8_opcode => r.is_gpr8(),
        K::r16_or_mem | K::r16_reg | K::r16_rm | K::r16_opcode => r.is_gpr16(),
        K::r32_or_mem | K::r32_reg | K::r32_rm | K::r32_opcode => r.is_gpr32(),
        K::r64_or_mem | K::r64_reg | K::r64_rm | K::r64_opcode => r.is_gpr64(),
        K::al => r == Register::AL,
        K::cl => r == Register::CL,
        K::ax => r == Register::AX,
        K::dx => r == Register::DX,
        K::eax => r == Register::EAX,
        K::rax => r == Register::RAX,
        _ => false,
    }
}

/// Whether `code`'s operands accept `ops` (memory sizes are checked by the caller).
fn fits(code: Code, ops: &[Operand]) -> bool {
    let kinds = code.op_code().op_kinds();
    kinds.len() == ops.len()
        && kinds.iter().zip(ops).all(|(&k, op)| match op {
            Operand::Reg(r) => reg_fits(k, *r),
            Operand::Imm(v) => imm_fits(k, *v),
            Operand::Mem(m) => {
                matches!(
                    k,
                    K::r8_or_mem | K::r16_or_mem | K::r32_or_mem | K::r64_or_mem | K::mem
                ) && m.size.is_none_or(|s| {
                    let want = code.op_code().memory_size().size();
                    want == 0 || want == s as usize
                })
            }
            Operand::Label(_) => false,
        })
}

/// Builds the instruction `code ops` at `ip`; a `rip`-relative memory operand
/// addresses `rip_target` (absolute, the code starting at 0).
pub(crate) fn build(
    code: Code,
    ops: &[Operand],
    rip_target: u64,
    prefix_lock: bool,
) -> Instruction {
    let mut ins = Instruction::default();
    ins.set_code(code);
    let kinds = code.op_code().op_kinds();
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

/// Encodes `ins` at `ip` and checks that the bytes decode to the same
/// instruction; the bytes, or `None` if iced refuses or reads them back differently.
pub(crate) fn encode_checked(enc: &mut Encoder, ins: &Instruction, ip: u64) -> Option<Vec<u8>> {
    enc.encode(ins, ip).ok()?;
    let bytes = enc.take_buffer();
    let mut decoder = Decoder::with_ip(64, &bytes, ip, DecoderOptions::NONE);
    let back = decoder.decode();
    if back.is_invalid() || back.len() != bytes.len() {
        return None;
    }
    same(&back, ins).then_some(bytes)
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

/// The widest immediate field of a form: bits, and whether it is sign-extended.
pub(crate) fn immediate_field(code: Code) -> (u32, bool) {
    let kinds = code.op_code().op_kinds();
    let sign_extended = kinds.iter().any(|k| {
        matches!(
            k,
            K::imm8sex16 | K::imm8sex32 | K::imm8sex64 | K::imm32sex64
        )
    });
    (8 * immediate_bytes(code) as u32, sign_extended)
}

/// Bytes of immediate a form takes.
fn immediate_bytes(code: Code) -> usize {
    code.op_code()
        .op_kinds()
        .iter()
        .map(|k| match k {
            K::imm8 | K::imm8sex16 | K::imm8sex32 | K::imm8sex64 => 1,
            K::imm16 => 2,
            K::imm32 | K::imm32sex64 => 4,
            K::imm64 => 8,
            _ => 0,
        })
        .sum()
}

/// The outcome of choosing a form for a non-branch instruction.
pub(crate) enum Choice {
    /// The instruction (built for `rip_target`) and its encoded length.
    Chosen(Instruction, usize),
    /// Forms with different memory sizes fit an unsized memory operand.
    Ambiguous,
    NoForm,
}

/// Chooses the shortest fitting form of `codes` for `ops` (`xchg` and `test`
/// also in swapped operand order, as GNU `as` accepts).
pub(crate) fn choose(
    enc: &mut Encoder,
    mnemonic: &str,
    codes: &[Code],
    ops: &[Operand],
    rip_target: u64,
    lock: bool,
) -> Choice {
    let movabs = mnemonic == "movabs";
    let mut orders: Vec<Vec<Operand>> = vec![ops.to_vec()];
    let swappable = matches!(canonical(mnemonic).as_str(), "xchg" | "test");
    if swappable && ops.len() == 2 {
        orders.push(vec![ops[1].clone(), ops[0].clone()]);
    }
    if canonical(mnemonic) == "imul"
        && let [Operand::Reg(r), imm @ Operand::Imm(_)] = ops
    {
        orders = vec![vec![Operand::Reg(*r), Operand::Reg(*r), imm.clone()]];
    }
    let mut best: Option<(Instruction, (bool, usize, usize))> = None;
    let mut mem_sizes = Vec::new();
    for order in &orders {
        let unsized_mem = order
            .iter()
            .any(|o| matches!(o, Operand::Mem(m) if m.size.is_none()));
        for &code in codes {
            // `moffs` forms (absolute 64-bit addresses) are not offered.
            if code.op_code().op_kinds().contains(&K::mem_offs)
                || (movabs && code != Code::Mov_r64_imm64)
            {
                continue;
            }
            if !fits(code, order) {
                continue;
            }
            let ins = build(code, order, rip_target, lock);
            let Some(bytes) = encode_checked(enc, &ins, 0) else {
                continue;
            };
            if unsized_mem {
                let size = code.op_code().memory_size().size();
                if !mem_sizes.contains(&size) {
                    mem_sizes.push(size);
                }
            }
            // A `66`-prefixed form only if the operands are 16-bit (or no
            // other form fits: `cwd`); then the shortest; among equally short
            // forms a sign-extended `imm8` before a wider immediate (`add ax, 1`
            // is `66 83 c0 01`); then iced's order.
            let unasked16 = code.op_code().operand_size() == 16 && !sized16(order);
            let rank = (unasked16, bytes.len(), immediate_bytes(code));
            if best.as_ref().is_none_or(|(_, r)| rank < *r) {
                best = Some((ins, rank));
            }
        }
    }
    if mem_sizes.len() > 1 {
        return Choice::Ambiguous;
    }
    match best {
        Some((ins, (_, len, _))) => Choice::Chosen(ins, len),
        None => Choice::NoForm,
    }
}
