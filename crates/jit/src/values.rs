//! What common instructions compute: ranges, relations and pointer offsets.
//!
//! In: the state before an instruction, the instruction and the value its
//! memory operand loaded (if any). Out: the value its destination register
//! gets, when the domain knows more than "defined data"; `None` leaves the
//! generic rules of [`crate::interp::step`] in charge (which iced's
//! instruction info drives). Only register destinations are computed here;
//! every case is a plain function of its operands' values:
//! - constants (`mov r, imm`, the zero idioms), moves at 32 bits, `movzx`,
//!   `movsx`, `movsxd` (ranges of the source's low bytes);
//! - `add`/`sub`/`inc`/`dec`/`neg`, `and`/`or`/`xor`, shifts and `imul` by
//!   constants, `lea` with an index: [`Num`] arithmetic (relations kept only
//!   where the result is exact), and on pointers into a buffer the offset
//!   arithmetic (`ptr ± n`, `ptr - ptr` in one buffer is a number).
//!
//! A 32-bit result is the low half zero-extended, as the CPU writes it.

use iced_x86::{Code, Instruction, OpKind, Register};

use crate::access::moved;
use crate::interp::{gpr, imm};
use crate::num::Num;
use crate::scalar::Scalar;
use crate::state::{CMP_IMM, Cmp, Flagged, State, Val};

/// The value of operand `op` (register, immediate or the loaded memory
/// operand) read as a `width`-byte number.
fn operand(st: &State, ins: &Instruction, op: u32, width: u8, loaded: Option<&Val>) -> Option<Num> {
    match ins.op_kind(op) {
        OpKind::Register => {
            let r = ins.op_register(op);
            if matches!(r, Register::AH | Register::CH | Register::DH | Register::BH) {
                return None;
            }
            // A pointer read as a number is some defined number.
            match &st.reg(gpr(r)) {
                Val::Num(n) => Some(n.at_width(width)),
                v => (v.defined_bytes() >= width).then(Num::unknown),
            }
        }
        OpKind::Memory => Some(match loaded? {
            &Val::Num(n) => n.at_width(width),
            _ => Num::scalar(Scalar::zext_unknown(width)),
        }),
        _ => imm(ins, op).map(|k| Num::constant(k as u64).at_width(width)),
    }
}

/// For a 64-bit operation on operands 0 and 1 where one is a register
/// holding any value (plain data): the other, as [`operand`] reads it. The
/// operations' shortcuts for any value then give any value without
/// building both numbers.
fn beside_any_value(st: &State, ins: &Instruction, loaded: Option<&Val>) -> Option<Num> {
    let any = |op| {
        ins.op_kind(op) == OpKind::Register
            && matches!(st.reg(gpr(ins.op_register(op))), Val::Data(8))
    };
    if any(0) {
        operand(st, ins, 1, 8, loaded)
    } else if any(1) {
        operand(st, ins, 0, 8, None)
    } else {
        None
    }
}

/// The register operand 0 writes (as a register-file index) and its width.
fn dest(ins: &Instruction) -> Option<(usize, u8)> {
    if ins.op0_kind() != OpKind::Register {
        return None;
    }
    let r = ins.op0_register();
    if r.is_gpr64() {
        Some((gpr(r), 8))
    } else if r.is_gpr32() {
        Some((gpr(r), 4))
    } else {
        None
    }
}

/// A pointer operand (register operand `op` holding a buffer pointer).
fn pointer(st: &State, ins: &Instruction, op: u32) -> Option<(u8, Num)> {
    if ins.op_kind(op) != OpKind::Register || !ins.op_register(op).is_gpr64() {
        return None;
    }
    match st.reg(gpr(ins.op_register(op))) {
        Val::Ptr(i, n) => Some((i, n)),
        _ => None,
    }
}

/// Whether register operand 0 or 1 holds a stack or pointer-window
/// pointer: `add`/`sub`/`inc`/`dec`/`lea` on one stay with `step`
/// (constants only).
fn frame_pointer(st: &State, ins: &Instruction) -> bool {
    (0..ins.op_count().min(2)).any(|op| {
        ins.op_kind(op) == OpKind::Register
            && matches!(
                st.reg(gpr(ins.op_register(op)) & 15),
                Val::Stack(_) | Val::Param(..)
            )
    })
}

/// See the module docs. `loaded` is the value read from memory, if any.
pub(crate) fn computed(
    st: &State,
    ins: &Instruction,
    loaded: Option<&Val>,
) -> Option<(usize, Val)> {
    use Code as C;
    let (d, w) = dest(ins)?;
    let num = |n: Num| Some((d, Val::num(n.at_width(w))));
    let code = ins.code();
    match code {
        C::Mov_r32_imm32 | C::Mov_rm32_imm32 | C::Mov_r64_imm64 | C::Mov_rm64_imm32 => {
            num(operand(st, ins, 1, w, None)?)
        }
        C::Mov_r32_rm32 | C::Mov_rm32_r32 => num(operand(st, ins, 1, 4, loaded)?),
        C::Movzx_r32_rm8 | C::Movzx_r64_rm8 => num(operand(st, ins, 1, 1, loaded)?),
        C::Movzx_r32_rm16 | C::Movzx_r64_rm16 => num(operand(st, ins, 1, 2, loaded)?),
        C::Movsx_r32_rm8 | C::Movsx_r64_rm8 => sign_extend(st, ins, d, w, 1, loaded),
        C::Movsx_r32_rm16 | C::Movsx_r64_rm16 => sign_extend(st, ins, d, w, 2, loaded),
        C::Movsxd_r64_rm32 => sign_extend(st, ins, d, w, 4, loaded),
        C::Xor_rm64_r64
        | C::Xor_r64_rm64
        | C::Xor_rm32_r32
        | C::Xor_r32_rm32
        | C::Sub_rm64_r64
        | C::Sub_r64_rm64
        | C::Sub_rm32_r32
        | C::Sub_r32_rm32
            if ins.op1_kind() == OpKind::Register && ins.op0_register() == ins.op1_register() =>
        {
            if ins.mnemonic() == iced_x86::Mnemonic::Sub && frame_pointer(st, ins) {
                return None;
            }
            num(Num::constant(0))
        }
        C::Add_rm64_r64
        | C::Add_r64_rm64
        | C::Add_rm32_r32
        | C::Add_r32_rm32
        | C::Add_rm64_imm8
        | C::Add_rm64_imm32
        | C::Add_rm32_imm8
        | C::Add_rm32_imm32
        | C::Add_RAX_imm32
        | C::Add_EAX_imm32 => {
            if frame_pointer(st, ins) {
                return None;
            }
            if w == 8 {
                if let Some((i, p)) = pointer(st, ins, 0) {
                    let n = operand(st, ins, 1, 8, loaded)?;
                    return Some((d, Val::Ptr(i, p.add(n, 8))));
                }
                if let Some((i, p)) = pointer(st, ins, 1) {
                    let n = operand(st, ins, 0, 8, None)?;
                    return Some((d, Val::Ptr(i, p.add(n, 8))));
                }
                // Any value plus a number without a relation (`Num::add`).
                if beside_any_value(st, ins, loaded).is_some_and(|n| !n.rel.is_some()) {
                    return Some((d, Val::Data(8)));
                }
            }
            let a = operand(st, ins, 0, w, None)?;
            let b = operand(st, ins, 1, w, loaded)?;
            num(a.add(b, w))
        }
        C::Sub_rm64_r64
        | C::Sub_r64_rm64
        | C::Sub_rm32_r32
        | C::Sub_r32_rm32
        | C::Sub_rm64_imm8
        | C::Sub_rm64_imm32
        | C::Sub_rm32_imm8
        | C::Sub_rm32_imm32
        | C::Sub_RAX_imm32
        | C::Sub_EAX_imm32 => {
            if frame_pointer(st, ins) {
                return None;
            }
            if w == 8
                && let Some((i, p)) = pointer(st, ins, 0)
            {
                if let Some((j, q)) = pointer(st, ins, 1) {
                    return (i == j).then(|| (d, Val::num(p.sub(q, 8))));
                }
                let n = operand(st, ins, 1, 8, loaded)?;
                return Some((d, Val::Ptr(i, p.sub(n, 8))));
            }
            // A difference with any value, from a number without a
            // relation (`Num::sub`).
            if w == 8 && beside_any_value(st, ins, loaded).is_some_and(|n| !n.rel.is_some()) {
                return Some((d, Val::Data(8)));
            }
            let a = operand(st, ins, 0, w, None)?;
            let b = operand(st, ins, 1, w, loaded)?;
            num(a.sub(b, w))
        }
        C::Inc_rm64 | C::Inc_rm32 | C::Dec_rm64 | C::Dec_rm32 => {
            if frame_pointer(st, ins) {
                return None;
            }
            let one = Num::constant(1);
            let up = matches!(code, C::Inc_rm64 | C::Inc_rm32);
            if w == 8
                && let Some((i, p)) = pointer(st, ins, 0)
            {
                let p = if up { p.add(one, 8) } else { p.sub(one, 8) };
                return Some((d, Val::Ptr(i, p)));
            }
            let a = operand(st, ins, 0, w, None)?;
            num(if up { a.add(one, w) } else { a.sub(one, w) })
        }
        C::Neg_rm64 | C::Neg_rm32 => num(Num::constant(0).sub(operand(st, ins, 0, w, None)?, w)),
        C::And_rm64_r64
        | C::And_r64_rm64
        | C::And_rm32_r32
        | C::And_r32_rm32
        | C::And_rm64_imm8
        | C::And_rm64_imm32
        | C::And_rm32_imm8
        | C::And_rm32_imm32
        | C::And_RAX_imm32
        | C::And_EAX_imm32 => {
            let a = operand(st, ins, 0, w, None)?;
            let b = operand(st, ins, 1, w, loaded)?;
            num(Num::scalar(a.s.and(b.s)))
        }
        C::Or_rm64_r64
        | C::Or_r64_rm64
        | C::Or_rm32_r32
        | C::Or_r32_rm32
        | C::Or_rm64_imm8
        | C::Or_rm64_imm32
        | C::Or_rm32_imm8
        | C::Or_rm32_imm32
        | C::Or_RAX_imm32
        | C::Or_EAX_imm32 => {
            let a = operand(st, ins, 0, w, None)?;
            let b = operand(st, ins, 1, w, loaded)?;
            num(Num::scalar(a.s.or(b.s)))
        }
        C::Xor_rm64_r64
        | C::Xor_r64_rm64
        | C::Xor_rm32_r32
        | C::Xor_r32_rm32
        | C::Xor_rm64_imm8
        | C::Xor_rm64_imm32
        | C::Xor_rm32_imm8
        | C::Xor_rm32_imm32
        | C::Xor_RAX_imm32
        | C::Xor_EAX_imm32 => {
            // Any value flipped by anything is any value (`Scalar::xor`).
            if w == 8 && beside_any_value(st, ins, loaded).is_some() {
                return Some((d, Val::Data(8)));
            }
            let a = operand(st, ins, 0, w, None)?;
            let b = operand(st, ins, 1, w, loaded)?;
            num(Num::scalar(a.s.xor(b.s)))
        }
        C::Shl_rm64_imm8 | C::Shl_rm32_imm8 | C::Shl_rm64_1 | C::Shl_rm32_1 => {
            let k = shift_count(ins)?;
            num(operand(st, ins, 0, w, None)?.shl(k, w))
        }
        C::Shr_rm64_imm8 | C::Shr_rm32_imm8 | C::Shr_rm64_1 | C::Shr_rm32_1 => {
            let k = shift_count(ins)?;
            let a = operand(st, ins, 0, w, None)?;
            num(Num::scalar(
                a.s.shr(Scalar::constant(u64::from(k)), u32::from(w) * 8),
            ))
        }
        C::Sar_rm64_imm8 | C::Sar_rm32_imm8 | C::Sar_rm64_1 | C::Sar_rm32_1 if w == 8 => {
            let k = shift_count(ins)?;
            let a = operand(st, ins, 0, w, None)?;
            num(Num::scalar(a.s.sar(Scalar::constant(u64::from(k)), 64)))
        }
        C::Imul_r64_rm64_imm8
        | C::Imul_r64_rm64_imm32
        | C::Imul_r32_rm32_imm8
        | C::Imul_r32_rm32_imm32 => {
            let a = operand(st, ins, 1, w, loaded)?;
            let k = imm(ins, 2)?;
            if k > 0 && (k as u64).is_power_of_two() {
                return num(a.shl(k.trailing_zeros(), w));
            }
            num(Num::scalar(a.s.mul(Num::constant(k as u64).at_width(w).s)))
        }
        C::Imul_r64_rm64 | C::Imul_r32_rm32 => {
            // Any value times a number that may be odd (`Scalar::mul`).
            if w == 8 && beside_any_value(st, ins, loaded).is_some_and(|n| n.s.may_be_odd()) {
                return Some((d, Val::Data(8)));
            }
            let a = operand(st, ins, 0, w, None)?;
            let b = operand(st, ins, 1, w, loaded)?;
            num(Num::scalar(a.s.mul(b.s)))
        }
        C::Lea_r64_m | C::Lea_r32_m if frame_pointer(st, ins) => None,
        C::Lea_r64_m | C::Lea_r32_m => lea(st, ins, d, w),
        // A 32-bit `cmov` writes its destination (zero-extended) either way.
        _ if w == 4 && crate::interp::is_cmovcc(ins.mnemonic()) => num(Num::unknown()),
        _ => None,
    }
}

fn shift_count(ins: &Instruction) -> Option<u32> {
    match ins.op1_kind() {
        OpKind::Immediate8 => Some(u32::from(ins.immediate8())),
        // The `_1` forms name the count as an immediate 1 in iced.
        _ => imm(ins, 1).map(|k| k as u32),
    }
}

fn sign_extend(
    st: &State,
    ins: &Instruction,
    d: usize,
    w: u8,
    from: u8,
    loaded: Option<&Val>,
) -> Option<(usize, Val)> {
    let v = operand(st, ins, 1, from, loaded)?;
    let half = 1i64 << (u32::from(from) * 8 - 1);
    // A source whose low bytes are non-negative extends to itself.
    let n = if v.s.smax() < half {
        v
    } else if w == 8 {
        Num::scalar(Scalar::range_s(-half, half - 1))
    } else {
        Num::scalar(Scalar::zext_unknown(4))
    };
    Some((d, Val::num(n.at_width(w))))
}

/// `lea` with an index (the form without one moves pointers in `step`).
fn lea(st: &State, ins: &Instruction, d: usize, w: u8) -> Option<(usize, Val)> {
    let index = ins.memory_index();
    if index == Register::None || !index.is_gpr64() {
        return None;
    }
    let base = ins.memory_base();
    let disp = ins.memory_displacement64() as i64;
    let scale = ins.memory_index_scale();
    let iv = st.reg(gpr(index));
    let bv = if base.is_gpr64() {
        Some(st.reg(gpr(base)))
    } else if base == Register::None {
        None
    } else {
        return None;
    };
    let v = match (bv, iv) {
        (Some(Val::Ptr(i, off)), ix) if w == 8 => {
            Val::Ptr(i, moved(off, Some(ix.as_num(8)?), scale, disp))
        }
        (b, Val::Ptr(i, off)) if w == 8 && scale == 1 => {
            let b = match b {
                Some(v) => Some(v.as_num(8)?),
                None => None,
            };
            Val::Ptr(i, moved(off, b, 1, disp))
        }
        (b, ix) => {
            let base = match b {
                Some(v) => v.as_num(8)?,
                None => Num::constant(0),
            };
            Val::num(moved(base, Some(ix.as_num(8)?), scale, disp).at_width(w))
        }
    };
    Some((d, v))
}

/// What the flags say after an instruction, if it is a `cmp` of registers
/// (or a register and an immediate), a `test` of a register with itself,
/// or an ALU operation writing a register whose ZF and SF describe it.
pub(crate) fn comparison(ins: &Instruction) -> Option<Cmp> {
    use Code as C;
    use Flagged as F;
    let code = ins.code();
    let (kind, width) = match code {
        C::Cmp_rm64_r64
        | C::Cmp_r64_rm64
        | C::Cmp_rm64_imm8
        | C::Cmp_rm64_imm32
        | C::Cmp_RAX_imm32 => (F::Sub, 8),
        C::Cmp_rm32_r32
        | C::Cmp_r32_rm32
        | C::Cmp_rm32_imm8
        | C::Cmp_rm32_imm32
        | C::Cmp_EAX_imm32 => (F::Sub, 4),
        C::Test_rm64_r64 => (F::Logic, 8),
        C::Test_rm32_r32 => (F::Logic, 4),
        C::Test_rm64_imm32 | C::Test_RAX_imm32 => (F::Mask, 8),
        C::Test_rm32_imm32 | C::Test_EAX_imm32 => (F::Mask, 4),
        _ => return result_flags(ins),
    };
    if ins.op0_kind() != OpKind::Register {
        return None;
    }
    let a = gpr(ins.op0_register()) as u8;
    let (b, k) = match ins.op1_kind() {
        OpKind::Register => (gpr(ins.op1_register()) as u8, 0),
        _ => (CMP_IMM, imm(ins, 1)?),
    };
    if kind == F::Logic && b != a {
        return None;
    }
    // A 32-bit immediate compares against its 32-bit value (a mask: its
    // zero-extended bits).
    let k = match (width, kind) {
        (4, F::Mask) => i64::from(k as u32),
        (4, _) => i64::from(k as i32),
        _ => k,
    };
    let b = if kind == F::Logic { CMP_IMM } else { b };
    Some(Cmp {
        a,
        b,
        imm: k,
        width,
        kind,
    })
}

/// [`comparison`] for ALU instructions: the flags describe the register
/// they wrote (compared with 0).
fn result_flags(ins: &Instruction) -> Option<Cmp> {
    use Flagged as F;
    use iced_x86::Mnemonic as M;
    let (d, width) = dest(ins)?;
    let kind = match ins.mnemonic() {
        M::And | M::Or | M::Xor => F::Logic,
        M::Add | M::Sub | M::Inc | M::Dec | M::Neg => F::Result,
        // A zero count leaves the flags alone.
        M::Shl | M::Shr | M::Sar => {
            let k = u32::from(ins.immediate8()) & if width == 8 { 63 } else { 31 };
            if !matches!(ins.op1_kind(), OpKind::Immediate8 | OpKind::Immediate8_2nd) || k == 0 {
                return None;
            }
            F::Result
        }
        _ => return None,
    };
    Some(Cmp {
        a: d as u8,
        b: CMP_IMM,
        imm: 0,
        width,
        kind,
    })
}

/// What a `div`/`idiv` could not be proven to avoid (SPEC §8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DivisionRisk {
    /// The divisor may be zero.
    ZeroDivisor,
    /// `div`: `rdx` (the high half of the dividend) may not be below the
    /// divisor, so the quotient may not fit.
    QuotientTooLarge,
    /// `idiv`: `rdx` is not known to be the sign extension of `rax` (`cqo`
    /// or `cdq` just before, with neither register written since).
    NotSignExtended,
    /// `idiv`: the dividend may be the minimum and the divisor -1.
    MinByMinusOne,
    /// Only 32- and 64-bit division by a register is proven.
    Unsupported,
}

impl std::fmt::Display for DivisionRisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DivisionRisk::ZeroDivisor => "the divisor may be zero",
            DivisionRisk::QuotientTooLarge => {
                "the high half of the dividend (rdx) may not be below the divisor, so the quotient may not fit"
            }
            DivisionRisk::NotSignExtended => {
                "rdx is not known to be the sign extension of rax (cqo/cdq right before)"
            }
            DivisionRisk::MinByMinusOne => "the dividend may be the minimum and the divisor -1",
            DivisionRisk::Unsupported => {
                "only 32- and 64-bit division by a register is proven (the policy does not allow traps)"
            }
        })
    }
}

/// Proves a `div`/`idiv` cannot trap; returns the values of `rax`
/// (quotient) and `rdx` (remainder: for `div`, below the divisor, with its
/// relation).
pub(crate) fn division(st: &State, ins: &Instruction) -> Result<(Val, Val), DivisionRisk> {
    use Code as C;
    let (signed, w) = match ins.code() {
        C::Div_rm64 => (false, 8u8),
        C::Div_rm32 => (false, 4),
        C::Idiv_rm64 => (true, 8),
        C::Idiv_rm32 => (true, 4),
        _ => return Err(DivisionRisk::Unsupported),
    };
    if ins.op0_kind() != OpKind::Register {
        return Err(DivisionRisk::Unsupported);
    }
    let divisor = st
        .reg(gpr(ins.op0_register()))
        .as_num(w)
        .ok_or(DivisionRisk::ZeroDivisor)?;
    if !divisor.s.is_nonzero() {
        return Err(DivisionRisk::ZeroDivisor);
    }
    let unknown = Val::num(Num::unknown().at_width(w));
    if signed {
        if st.sext != w {
            return Err(DivisionRisk::NotSignExtended);
        }
        // -1 and the minimum at this width, as the zero-extended view.
        let (minus_one, min) = if w == 8 {
            (-1i64, i64::MIN)
        } else {
            (i64::from(u32::MAX), 1i64 << 31)
        };
        let rax = st.reg(0).as_num(w).ok_or(DivisionRisk::MinByMinusOne)?;
        let may_be = |n: &Num, v: i64| n.s.smin() <= v && v <= n.s.smax();
        if may_be(&divisor, minus_one) && may_be(&rax, min) {
            return Err(DivisionRisk::MinByMinusOne);
        }
        return Ok((unknown, unknown));
    }
    let rdx = st.reg(2).as_num(w).ok_or(DivisionRisk::QuotientTooLarge)?;
    // `div` is unsigned: the high half must be below the divisor.
    if rdx.s.umax() >= divisor.s.umin() {
        return Err(DivisionRisk::QuotientTooLarge);
    }
    // The remainder is below the divisor: its range, and its relation.
    let mut rem = Num::scalar(crate::scalar::Scalar::range_u(0, divisor.s.umax() - 1));
    if divisor.rel.is_some()
        && divisor.rel.hi != crate::num::POS_INF
        && let Some(hi) = divisor.rel.hi.checked_sub(1)
    {
        rem.rel = crate::num::Rel {
            lo: crate::num::NEG_INF,
            hi,
            ..divisor.rel
        };
    }
    Ok((unknown, Val::num(rem)))
}
