//! The transfer function for common register-only instructions, without
//! operand lists.
//!
//! In: a decoded instruction without legacy prefixes whose operands are 32-
//! or 64-bit general-purpose registers and at most one immediate: `add sub
//! and or xor imul` (read-modify-write), `cmp test` (read only), `xor/sub r, r`
//! (zero idioms), `shl shr sar r, imm/cl`, `mov r, r`, `mov r, imm`, `cmovcc r, r`,
//! `lea r64, [base64 + disp]` and `ret`. Out: exactly what
//! [`crate::interp::step`] computes from iced's register list for it (same
//! state, same error), or `None` for every other instruction, which then takes
//! the generic path.
//!
//! The register lists these forms would produce are written down here as
//! templates ([`Form::template`]). Soundness does not rest on them being
//! right: the first instruction of each key (its `Code` and whether its two
//! register operands are the same) is compared with iced's
//! [`InstructionInfoFactory`] (same registers, same accesses, same order, no
//! memory), and the key is handled here only if they are identical. Given the
//! list, the steps below follow `step` in its order: reserved registers,
//! flags read, register reads, the value the destination gets (pointer
//! arithmetic for `add/sub r64, imm`, value moves for `mov r64, r64`), the
//! `rsp` rule, flags written.

use iced_x86::{Code, Instruction, InstructionInfoFactory, OpAccess, OpKind, Register};

use crate::ViolationKind as K;
use crate::interp::{Ctx, Flags, Place, check_ret, imm, offset_by, place_at, set_rsp};
use crate::state::{Load, RSP, State, Val};

/// What a handled instruction does with its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// Reads operands 0 and 1 (if a register), writes operand 0.
    Alu,
    /// A shift by an immediate count: as [`Form::Alu`], but its flags depend
    /// on the count, so they are computed per instruction, never cached.
    Shift,
    /// A shift by `cl` (`r1`): also reads `cl`; a zero count leaves the flags
    /// alone, so only flags already defined and not made undefined stay.
    ShiftCl,
    /// `add`/`sub` of an immediate to a 64-bit register (moves pointers).
    AddSubImm { negate: bool },
    /// Reads both operands, writes nothing.
    Compare,
    /// `xor`/`sub` of a register with itself: writes it, reads nothing.
    Zero,
    /// Writes operand 0 with the value of register operand 1.
    Move,
    /// Writes operand 0 with data.
    MoveImm,
    /// `cmovcc r64, r64`: reads operand 1, may write operand 0 with data.
    CondMove,
    /// `mov [base64 + disp], r64` (`r0` the source, `r1` the base).
    Store,
    /// `mov r64, [base64 + disp]` (`r0` the destination, `r1` the base).
    Load,
    /// `lea r64, [base64 + disp]`: operand 0 gets the base moved by `disp`.
    Lea,
    /// `ret`: the return checks.
    Ret,
}

/// `checked` entry of a key not seen yet; [`NO`] of a key whose template
/// differs from the factory; otherwise `FIRST + i` where `flags[i]` are the
/// key's arithmetic flags (what [`crate::interp::FlagCache`] gives for the same
/// key: no handled form is a shift, and the key includes the zero idioms).
const UNKNOWN: u8 = 0;
const NO: u8 = 1;
const FIRST: u8 = 2;

/// Register-only instruction forms, checked against iced once per key.
pub(crate) struct Fast {
    factory: InstructionInfoFactory,
    /// Index `2 * code + same` (one byte each, so the table stays small).
    checked: Vec<u8>,
    flags: Vec<Flags>,
}

impl Fast {
    pub(crate) fn new() -> Fast {
        Fast {
            factory: InstructionInfoFactory::new(),
            checked: Vec::new(),
            flags: Vec::new(),
        }
    }

    /// The effect of `ins` on `st` if it is a handled form (see the module
    /// documentation); `no_legacy_prefix` as for [`crate::uses::Uses::of`].
    pub(crate) fn step(
        &mut self,
        ctx: &Ctx<'_>,
        st: &mut State,
        ins: &Instruction,
        no_legacy_prefix: bool,
    ) -> Option<Result<(), K>> {
        if !no_legacy_prefix {
            return None;
        }
        let (form, width, op1_reg) = form_of(ins.code())?;
        let mem_ok = |ins: &Instruction| {
            ins.memory_index() == Register::None && ins.memory_base().is_gpr64()
        };
        let (form, r0, r1) = match form {
            Form::Ret => (form, Register::RSP, None),
            Form::Move
                if width == 8
                    && ins.op0_kind() == OpKind::Memory
                    && ins.op1_kind() == OpKind::Register =>
            {
                if !mem_ok(ins) {
                    return None;
                }
                (Form::Store, ins.op1_register(), Some(ins.memory_base()))
            }
            Form::Move
                if width == 8
                    && ins.op0_kind() == OpKind::Register
                    && ins.op1_kind() == OpKind::Memory =>
            {
                if !mem_ok(ins) {
                    return None;
                }
                (Form::Load, ins.op0_register(), Some(ins.memory_base()))
            }
            _ if ins.op0_kind() != OpKind::Register => return None,
            Form::Lea => {
                let base = ins.memory_base();
                if ins.memory_index() != Register::None || !base.is_gpr64() {
                    return None;
                }
                (form, ins.op0_register(), Some(base))
            }
            _ if op1_reg => {
                if ins.op1_kind() != OpKind::Register {
                    return None;
                }
                (form, ins.op0_register(), Some(ins.op1_register()))
            }
            _ => (form, ins.op0_register(), None),
        };
        let r1_ok = |r: Register| is_gpr32_or_64(r) || (form == Form::ShiftCl && r == Register::CL);
        if !is_gpr32_or_64(r0) || r1.is_some_and(|r| !r1_ok(r)) {
            return None;
        }
        let same = r1 == Some(r0);
        let form = match form {
            Form::Alu if same && is_xor_or_sub(ins.code()) => Form::Zero,
            Form::Alu if !op1_reg && width == 8 && is_add(ins.code()) => {
                Form::AddSubImm { negate: false }
            }
            Form::Alu if !op1_reg && width == 8 && is_sub(ins.code()) => {
                Form::AddSubImm { negate: true }
            }
            f => f,
        };
        let is_mem = matches!(form, Form::Store | Form::Load);
        let key = (ins.code() as usize * 2 + usize::from(same)) * 2 + usize::from(is_mem);
        if key >= self.checked.len() {
            self.checked.resize(key + 2, UNKNOWN);
        }
        if self.checked[key] == UNKNOWN {
            let info = self.factory.info(ins);
            let (t, n) = form.template(width, r0, r1);
            // `step` ignores the memory `ret` reads (it only checks the state).
            let mems_ok = match form {
                Form::Ret => true,
                Form::Store | Form::Load => {
                    let access = if form == Form::Store {
                        OpAccess::Write
                    } else {
                        OpAccess::Read
                    };
                    matches!(info.used_memory(), [m] if m.base() == ins.memory_base()
                        && m.index() == Register::None
                        && m.displacement() == ins.memory_displacement64()
                        && m.memory_size().size() == 8
                        && m.access() == access
                        && m.address_size() == iced_x86::CodeSize::Code64)
                }
                _ => info.used_memory().is_empty(),
            };
            let ok = mems_ok && info.used_registers() == &t[..n];
            self.checked[key] = match u8::try_from(self.flags.len() + usize::from(FIRST)) {
                Ok(at) if ok => {
                    self.flags.push(Flags::of(ins));
                    at
                }
                _ => NO,
            };
        }
        let at = self.checked[key];
        if at < FIRST {
            return None;
        }
        let flags = if matches!(form, Form::Shift | Form::ShiftCl) {
            Flags::of(ins)
        } else {
            self.flags[usize::from(at - FIRST)]
        };
        if let (Form::ShiftCl, Some(Register::CL)) = (form, r1) {
            return Some(shift_cl(ctx, st, r0, width, flags));
        }
        if let (true, Some(base)) = (is_mem, r1) {
            return Some(apply_mem(
                ctx,
                st,
                ins,
                form == Form::Store,
                r0,
                base,
                flags,
            ));
        }
        Some(apply(ctx, st, ins, form, width, r0, r1, flags))
    }
}

impl Form {
    /// The register list iced is expected to report, in its order.
    fn template(
        self,
        width: u8,
        r0: Register,
        r1: Option<Register>,
    ) -> ([iced_x86::UsedRegister; 3], usize) {
        use iced_x86::UsedRegister as U;
        let full = r0.full_register();
        let mut t = [U::default(); 3];
        let mut n = 0;
        let mut push = |r, a| {
            t[n] = U::new(r, a);
            n += 1;
        };
        match self {
            Form::Alu | Form::AddSubImm { .. } | Form::Shift | Form::ShiftCl => {
                if width == 8 {
                    push(r0, OpAccess::ReadWrite);
                } else {
                    push(r0, OpAccess::Read);
                    push(full, OpAccess::Write);
                }
                if let Some(r1) = r1 {
                    push(r1, OpAccess::Read);
                }
            }
            Form::Compare => {
                push(r0, OpAccess::Read);
                if let Some(r1) = r1 {
                    push(r1, OpAccess::Read);
                }
            }
            Form::Zero | Form::MoveImm => push(full, OpAccess::Write),
            Form::Ret => push(Register::RSP, OpAccess::ReadWrite),
            Form::Store => {
                if let Some(r1) = r1 {
                    push(r1, OpAccess::Read);
                }
                push(r0, OpAccess::Read);
            }
            Form::CondMove => {
                push(r0, OpAccess::CondWrite);
                if let Some(r1) = r1 {
                    push(r1, OpAccess::Read);
                }
            }
            Form::Move | Form::Lea | Form::Load => {
                push(full, OpAccess::Write);
                if let Some(r1) = r1 {
                    push(r1, OpAccess::Read);
                }
            }
        }
        (t, n)
    }
}

/// `step` for a handled form, given that iced's list is its template.
#[allow(clippy::too_many_arguments)]
fn apply(
    ctx: &Ctx<'_>,
    st: &mut State,
    ins: &Instruction,
    form: Form,
    width: u8,
    r0: Register,
    r1: Option<Register>,
    flags: Flags,
) -> Result<(), K> {
    let d = gpr(r0);
    // Reserved registers, in list order: the first entry names operand 0
    // (at its own width, or the full register if that comes first).
    if ctx.reserved & 1 << d != 0 {
        let named = match form {
            Form::Zero | Form::Move | Form::MoveImm | Form::Lea | Form::Ret | Form::CondMove => {
                r0.full_register()
            }
            _ => r0,
        };
        return Err(K::ReservedRegister { register: named });
    }
    if let Some(r1) = r1
        && ctx.reserved & 1 << gpr(r1) != 0
    {
        return Err(K::ReservedRegister { register: r1 });
    }
    if flags.read & !st.flags != 0 {
        return Err(K::UndefinedFlagsRead);
    }
    if matches!(form, Form::Ret) {
        return check_ret(ctx, st);
    }
    // Register reads.
    let read = |r: Register| -> Result<(), K> {
        if st.regs[gpr(r)].defined_bytes() < width {
            return Err(K::UndefinedRegisterRead { register: r });
        }
        Ok(())
    };
    match form {
        Form::Lea | Form::CondMove => {
            if let Some(r1) = r1 {
                read(r1)?;
            }
        }
        Form::Alu | Form::AddSubImm { .. } | Form::Compare | Form::Shift | Form::ShiftCl => {
            read(r0)?;
            if let Some(r1) = r1 {
                read(r1)?;
            }
        }
        Form::Move => {
            if let Some(r1) = r1 {
                // A 64-bit move may carry a saved callee-saved value.
                let moved_entry = width == 8 && matches!(st.regs[gpr(r1)], Val::Entry(_));
                if !moved_entry {
                    read(r1)?;
                }
            }
        }
        // Memory forms go through `apply_mem` instead.
        Form::Zero | Form::MoveImm | Form::Ret | Form::Store | Form::Load => {}
    }
    // The destination's new value.
    let new = match form {
        Form::Compare | Form::Ret | Form::Store | Form::Load => None,
        Form::Lea => r1.map(|b| offset_by(st.regs[gpr(b)], ins.memory_displacement64() as i64)),
        Form::AddSubImm { negate } => {
            let k = imm(ins, 1).and_then(|k| if negate { k.checked_neg() } else { Some(k) });
            Some(match k {
                Some(k) => offset_by(st.regs[d], k),
                None => Val::Data(8),
            })
        }
        Form::Move if width == 8 => r1.map(|r1| st.regs[gpr(r1)]),
        Form::Alu | Form::Shift | Form::ShiftCl | Form::Zero | Form::Move | Form::MoveImm => {
            Some(Val::Data(8))
        }
        // Written or not: what is certain on both outcomes.
        Form::CondMove => Some(st.regs[d].join(Val::Data(8))),
    };
    let rsp0 = st.rsp();
    let mut new_rsp = rsp0;
    if let Some(v) = new {
        if d == RSP {
            // Only a 64-bit pointer update of `rsp` itself keeps it known.
            let pointer_update = matches!(form, Form::AddSubImm { .. } | Form::Move | Form::Lea)
                && width == 8
                && r0 == Register::RSP;
            match v {
                Val::Stack(k) if pointer_update => new_rsp = k,
                _ => return Err(K::StackPointerUnknown),
            }
        } else {
            st.regs[d] = v;
        }
    }
    if new_rsp != rsp0 {
        // Setting `rsp` to its current value changes nothing and cannot
        // fail: every state's `rsp` was checked against the frame when set.
        set_rsp(ctx, st, new_rsp)?;
    }
    st.flags = (st.flags | flags.modified) & !flags.undefined;
    Ok(())
}

/// Register-file index of a 32- or 64-bit general-purpose register.
/// `step` for `shl/shr/sar r, cl` (list: `r` read and written, `cl` read).
fn shift_cl(ctx: &Ctx<'_>, st: &mut State, r: Register, width: u8, flags: Flags) -> Result<(), K> {
    let d = gpr(r);
    if ctx.reserved & 1 << d != 0 {
        return Err(K::ReservedRegister { register: r });
    }
    // `cl` is part of `rcx`.
    const RCX: usize = 1;
    if ctx.reserved & 1 << RCX != 0 {
        return Err(K::ReservedRegister {
            register: Register::CL,
        });
    }
    if flags.read & !st.flags != 0 {
        return Err(K::UndefinedFlagsRead);
    }
    if st.regs[d].defined_bytes() < width {
        return Err(K::UndefinedRegisterRead { register: r });
    }
    if st.regs[RCX].defined_bytes() < 1 {
        return Err(K::UndefinedRegisterRead {
            register: Register::CL,
        });
    }
    if d == RSP {
        return Err(K::StackPointerUnknown);
    }
    st.regs[d] = Val::Data(8);
    // The count may be zero: no flag becomes defined.
    st.flags &= !flags.undefined;
    Ok(())
}

/// `step` for a 64-bit `mov` between register `reg` and `[base + disp]`
/// (a store if `store`), given that iced's lists are its template. Like every
/// 64-bit move it may carry pointers and saved callee-saved values.
fn apply_mem(
    ctx: &Ctx<'_>,
    st: &mut State,
    ins: &Instruction,
    store: bool,
    reg: Register,
    base: Register,
    flags: Flags,
) -> Result<(), K> {
    // Reserved registers in list order: a store lists the base first, a
    // load the destination.
    let order = if store { [base, reg] } else { [reg, base] };
    for r in order {
        if ctx.reserved & 1 << gpr(r) != 0 {
            return Err(K::ReservedRegister { register: r });
        }
    }
    if flags.read & !st.flags != 0 {
        return Err(K::UndefinedFlagsRead);
    }
    // Register reads: the base, then a store's source; a saved
    // callee-saved value may be moved, so it is not an undefined read.
    let reads: &[Register] = if store { &[base, reg] } else { &[base] };
    for &r in reads {
        let v = st.regs[gpr(r)];
        if !matches!(v, Val::Entry(_)) && v.defined_bytes() < 8 {
            return Err(K::UndefinedRegisterRead { register: r });
        }
    }
    let rsp0 = st.rsp();
    let lo = rsp0 - ctx.red_zone;
    let disp = ins.memory_displacement64() as i64;
    if store {
        let stored = st.regs[gpr(reg)];
        if let Place::Stack(off) = place_at(ctx, st, base, disp, lo, 8, true)? {
            st.store(off, 8, stored);
        }
    } else {
        let loaded = match place_at(ctx, st, base, disp, lo, 8, false)? {
            Place::Stack(off) => match st.load(off, 8) {
                Load::Missing(at) => return Err(K::UninitializedStackRead { offset: at }),
                Load::Value(v) => v,
            },
            Place::Param => Val::Data(8),
        };
        let d = gpr(reg);
        if d == RSP {
            match loaded {
                Val::Stack(k) if reg == Register::RSP => set_rsp(ctx, st, k)?,
                _ => return Err(K::StackPointerUnknown),
            }
        } else {
            st.regs[d] = loaded;
        }
    }
    st.flags = (st.flags | flags.modified) & !flags.undefined;
    Ok(())
}

fn gpr(r: Register) -> usize {
    (r as usize).wrapping_sub(Register::EAX as usize) & 15
}

// `gpr` relies on iced numbering `eax..r15d` then `rax..r15` contiguously.
const _: () = assert!(
    Register::R15D as usize == Register::EAX as usize + 15
        && Register::RAX as usize == Register::EAX as usize + 16
        && Register::R15 as usize == Register::EAX as usize + 31
        && Register::ESP as usize == Register::EAX as usize + RSP
);

fn is_gpr32_or_64(r: Register) -> bool {
    r.is_gpr32() || r.is_gpr64()
}

fn is_xor_or_sub(c: Code) -> bool {
    matches!(
        c,
        Code::Xor_rm64_r64
            | Code::Xor_r64_rm64
            | Code::Xor_rm32_r32
            | Code::Xor_r32_rm32
            | Code::Sub_rm64_r64
            | Code::Sub_r64_rm64
            | Code::Sub_rm32_r32
            | Code::Sub_r32_rm32
    )
}

fn is_add(c: Code) -> bool {
    matches!(c, Code::Add_rm64_imm8 | Code::Add_rm64_imm32)
}

fn is_sub(c: Code) -> bool {
    matches!(c, Code::Sub_rm64_imm8 | Code::Sub_rm64_imm32)
}

/// The form, operand width and whether operand 1 is a register, for the
/// handled `Code`s (operand 0 must still be checked to be a register).
fn form_of(c: Code) -> Option<(Form, u8, bool)> {
    use Code as C;
    let r = match c {
        C::Add_rm64_r64
        | C::Add_r64_rm64
        | C::Sub_rm64_r64
        | C::Sub_r64_rm64
        | C::And_rm64_r64
        | C::And_r64_rm64
        | C::Or_rm64_r64
        | C::Or_r64_rm64
        | C::Xor_rm64_r64
        | C::Xor_r64_rm64
        | C::Imul_r64_rm64 => (Form::Alu, 8, true),
        C::Add_rm32_r32
        | C::Add_r32_rm32
        | C::Sub_rm32_r32
        | C::Sub_r32_rm32
        | C::And_rm32_r32
        | C::And_r32_rm32
        | C::Or_rm32_r32
        | C::Or_r32_rm32
        | C::Xor_rm32_r32
        | C::Xor_r32_rm32
        | C::Imul_r32_rm32 => (Form::Alu, 4, true),
        C::Add_rm64_imm8
        | C::Add_rm64_imm32
        | C::Sub_rm64_imm8
        | C::Sub_rm64_imm32
        | C::And_rm64_imm8
        | C::And_rm64_imm32
        | C::Or_rm64_imm8
        | C::Or_rm64_imm32
        | C::Xor_rm64_imm8
        | C::Xor_rm64_imm32 => (Form::Alu, 8, false),
        C::Add_rm32_imm8
        | C::Add_rm32_imm32
        | C::Sub_rm32_imm8
        | C::Sub_rm32_imm32
        | C::And_rm32_imm8
        | C::And_rm32_imm32
        | C::Or_rm32_imm8
        | C::Or_rm32_imm32
        | C::Xor_rm32_imm8
        | C::Xor_rm32_imm32 => (Form::Alu, 4, false),
        C::Cmp_rm64_r64 | C::Cmp_r64_rm64 | C::Test_rm64_r64 => (Form::Compare, 8, true),
        C::Cmp_rm32_r32 | C::Cmp_r32_rm32 | C::Test_rm32_r32 => (Form::Compare, 4, true),
        C::Cmp_rm64_imm8 | C::Cmp_rm64_imm32 | C::Test_rm64_imm32 => (Form::Compare, 8, false),
        C::Cmp_rm32_imm8 | C::Cmp_rm32_imm32 | C::Test_rm32_imm32 => (Form::Compare, 4, false),
        C::Mov_rm64_r64 | C::Mov_r64_rm64 => (Form::Move, 8, true),
        C::Mov_rm32_r32 | C::Mov_r32_rm32 => (Form::Move, 4, true),
        C::Mov_r32_imm32 | C::Mov_rm32_imm32 => (Form::MoveImm, 4, false),
        C::Mov_rm64_imm32 | C::Mov_r64_imm64 => (Form::MoveImm, 8, false),
        C::Lea_r64_m => (Form::Lea, 8, false),
        C::Shl_rm64_imm8
        | C::Shr_rm64_imm8
        | C::Sar_rm64_imm8
        | C::Shl_rm64_1
        | C::Shr_rm64_1
        | C::Sar_rm64_1 => (Form::Shift, 8, false),
        C::Shl_rm32_imm8
        | C::Shr_rm32_imm8
        | C::Sar_rm32_imm8
        | C::Shl_rm32_1
        | C::Shr_rm32_1
        | C::Sar_rm32_1 => (Form::Shift, 4, false),
        C::Shl_rm64_CL | C::Shr_rm64_CL | C::Sar_rm64_CL => (Form::ShiftCl, 8, true),
        C::Shl_rm32_CL | C::Shr_rm32_CL | C::Sar_rm32_CL => (Form::ShiftCl, 4, true),
        C::Cmovo_r64_rm64
        | C::Cmovno_r64_rm64
        | C::Cmovb_r64_rm64
        | C::Cmovae_r64_rm64
        | C::Cmove_r64_rm64
        | C::Cmovne_r64_rm64
        | C::Cmovbe_r64_rm64
        | C::Cmova_r64_rm64
        | C::Cmovs_r64_rm64
        | C::Cmovns_r64_rm64
        | C::Cmovp_r64_rm64
        | C::Cmovnp_r64_rm64
        | C::Cmovl_r64_rm64
        | C::Cmovge_r64_rm64
        | C::Cmovle_r64_rm64
        | C::Cmovg_r64_rm64 => (Form::CondMove, 8, true),
        C::Cmovo_r32_rm32
        | C::Cmovno_r32_rm32
        | C::Cmovb_r32_rm32
        | C::Cmovae_r32_rm32
        | C::Cmove_r32_rm32
        | C::Cmovne_r32_rm32
        | C::Cmovbe_r32_rm32
        | C::Cmova_r32_rm32
        | C::Cmovs_r32_rm32
        | C::Cmovns_r32_rm32
        | C::Cmovp_r32_rm32
        | C::Cmovnp_r32_rm32
        | C::Cmovl_r32_rm32
        | C::Cmovge_r32_rm32
        | C::Cmovle_r32_rm32
        | C::Cmovg_r32_rm32 => (Form::Alu, 4, true),
        C::Retnq => (Form::Ret, 8, false),
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::{FlagCache, step};
    use crate::{Policy, Signature};
    use iced_x86::{Decoder, DecoderOptions};

    /// Small xorshift generator (deterministic).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn random_val(rng: &mut Rng) -> Val {
        match rng.next() % 6 {
            0 => Val::Undef,
            1 => Val::Data(1 + (rng.next() % 8) as u8),
            2 => Val::Entry((rng.next() % 16) as u8),
            3 => Val::Stack(-((rng.next() % 64) as i64)),
            4 => Val::Param(0, (rng.next() % 16) as i64),
            _ => Val::Data(8),
        }
    }

    /// Every register-only instruction of the handled opcodes (all REX
    /// forms, all register pairs), on random states and policies: the fast
    /// path, where it answers, gives the same result and state as `step`
    /// with iced's lists, and it answers for the common forms.
    #[test]
    fn fast_path_equals_generic_step() {
        let mut bytes = Vec::new();
        let rexes: [&[u8]; 6] = [&[], &[0x40], &[0x41], &[0x44], &[0x48], &[0x4d]];
        let ops: [&[u8]; 24] = [
            &[0xd3],
            &[0x0f, 0x44],
            &[0x0f, 0x4f],
            &[0x0f, 0x42],
            &[0x0f, 0x48],
            &[0x01],
            &[0x03],
            &[0x09],
            &[0x0b],
            &[0x21],
            &[0x23],
            &[0x29],
            &[0x2b],
            &[0x31],
            &[0x33],
            &[0x39],
            &[0x3b],
            &[0x85],
            &[0x89],
            &[0x8b],
            &[0x0f, 0xaf],
            &[0x11],
            &[0x87],
            &[0x8d],
        ];
        for rex in rexes {
            for op in ops {
                for modrm in 0xc0..=0xffu8 {
                    bytes.extend_from_slice(rex);
                    bytes.extend_from_slice(op);
                    bytes.push(modrm);
                }
            }
            for modrm in 0xc0..=0xffu8 {
                for (op, imm) in [
                    (0xc1u8, &[0x03u8][..]),
                    (0xc1, &[0x00]),
                    (0xc1, &[0x41]),
                    (0xd1, &[]),
                    (0x83, &[0x08]),
                    (0x81, &[0xf0, 0xff, 0xff, 0xff]),
                    (0xc7, &[0x10, 0, 0, 0]),
                    (0xf7, &[1, 0, 0, 0]),
                ] {
                    bytes.extend_from_slice(rex);
                    bytes.extend_from_slice(&[op, modrm]);
                    bytes.extend_from_slice(imm);
                }
            }
            for r in 0xb8..=0xbfu8 {
                bytes.extend_from_slice(rex);
                bytes.push(r);
                bytes.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0]);
            }
        }
        // `lea` with every ModRM/SIB memory form, and `ret`, one at a time.
        let mut singles: Vec<Vec<u8>> = vec![vec![0xc3]];
        for rex in [0x48u8, 0x4c, 0x49, 0x4d, 0x4a] {
            for modrm in 0x00..0xc0u8 {
                for sib in [0x24u8, 0x37, 0x25, 0x65] {
                    for op in [0x8du8, 0x89, 0x8b] {
                        for disp in [0xf8u8, 0x08, 0x00, 0xf0] {
                            singles.push(vec![rex, op, modrm, sib, disp, 0xff, 0xff, 0xff]);
                        }
                    }
                }
            }
        }
        let mut all: Vec<iced_x86::Instruction> =
            Decoder::with_ip(64, &bytes, 0, DecoderOptions::NONE)
                .into_iter()
                .collect();
        all.extend(
            singles
                .iter()
                .map(|b| Decoder::with_ip(64, b, 0, DecoderOptions::NONE).decode()),
        );
        let mut uses = crate::uses::Uses::new();
        let mut flag_cache = FlagCache::default();
        let mut fast = Fast::new();
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let sig: Signature = "int64(int64,int64)".parse().expect("signature");
        let policies = [
            Policy::default(),
            Policy {
                pointer_access: crate::PointerAccess::Read,
                pointer_window: 16,
                allow_red_zone: true,
                ..Policy::default()
            },
            Policy {
                pointer_access: crate::PointerAccess::ReadWrite,
                pointer_window: 64,
                reserved: vec![Register::RSI],
                ..Policy::default()
            },
            Policy {
                reserved: vec![Register::RDX, Register::RAX],
                ..Policy::default()
            },
            Policy {
                reserved: vec![Register::R11, Register::RBX],
                ..Policy::default()
            },
            Policy {
                max_frame: 16,
                allow_red_zone: true,
                ..Policy::default()
            },
        ];
        let (mut handled, mut total) = (0, 0);
        for ins in all {
            if ins.is_invalid() {
                continue;
            }
            total += 1;
            let flags = flag_cache.of(&ins, ins.mnemonic());
            for round in 0..24 {
                let policy = &policies[round % policies.len()];
                let ctx = Ctx::new(policy, &sig);
                let mut st = State::empty();
                ctx.entry_state_into(&mut st);
                for r in 0..16 {
                    if r != RSP && rng.next() & 1 == 0 {
                        st.regs[r] = random_val(&mut rng);
                    }
                }
                // Every reachable state has `rsp` inside the frame.
                let rsp = -((rng.next() % 4) as i64 * 8);
                st.regs[RSP] = Val::Stack(rsp.max(-ctx.max_frame));
                st.flags = (rng.next() as u32) & crate::state::ARITH_FLAGS;
                // Some written stack bytes, of every kind of value.
                for _ in 0..rng.next() % 5 {
                    let off = -((rng.next() % 40) as i64);
                    let len = [1u8, 2, 4, 8][(rng.next() % 4) as usize];
                    let v = random_val(&mut rng);
                    st.store(off - i64::from(len), len, v);
                }
                let mut a = st.clone();
                let Some(ra) = fast.step(&ctx, &mut a, &ins, true) else {
                    continue;
                };
                let mut b = st.clone();
                let (regs, mems) = uses.of(&ins, ins.mnemonic(), true);
                let rb = step(&ctx, &mut b, &ins, regs, mems, flags);
                assert_eq!(ra, rb, "{ins} ({:?}) from {st:?}", ins.code());
                if ra.is_ok() {
                    assert_eq!(a, b, "{ins} ({:?}) from {st:?}", ins.code());
                }
                if round == 0 {
                    handled += 1;
                }
            }
        }
        assert!(handled > 3000, "only {handled} of {total} handled");
    }
}
