//! The transfer function for common forms, on a lowered [`Op`].
//!
//! In: an instruction lowered by [`crate::record::Records::lower`] into a
//! fast form: `add sub and or xor imul` (read-modify-write), `cmp test` (read
//! only), `xor/sub r, r` (zero idioms), `shl shr sar r, imm/cl`, `mov r, r`,
//! `mov r, imm`, `cmovcc r, r`, `lea r64, [base64 + disp]`, 64-bit `mov` to
//! and from `[base64 + disp]`, the load
//! `mov r64, [base64 + index64 * scale + disp]`, `nop`, direct `jmp`/`jcc`
//! and `ret` on 32- or 64-bit registers without legacy prefixes (`nop` and
//! jumps with any).
//! Out: exactly the state [`crate::interp::step`] computes for it, or
//! `Err(())` — with the state untouched — where `step` reports a violation;
//! the driver then asks `step` for the violation itself, so the rule text
//! has one source.
//!
//! The register lists these forms would produce are written down here as
//! templates ([`Form::template`]); a form is used only where iced's own lists
//! equal them (checked once per key in [`crate::record`]). Given the lists,
//! [`exec`] follows `step`: reserved registers, flags read, register reads,
//! the value the destination gets (pointer arithmetic for `add/sub r64, imm`
//! and `lea`, value moves for 64-bit `mov`), the `rsp` rule, flags written.
//! A unit test runs every ModRM/SIB/REX form of these opcodes on random
//! states and policies against `step`.

use iced_x86::{Code, OpAccess, Register};

use crate::access::stack_range;
use crate::interp::{Ctx, Place, offset_by, place_at, place_indexed, ret_ok, set_rsp, stack_place};
use iced_x86::Instruction;

use crate::record::Flow;
use crate::state::{CMP_IMM, Cmp, Flagged, Load, RSP, State, Val};
use crate::values;

/// What a lowered instruction does with its operands. `Generic`, `Jump`
/// and `Nop` come first ([`exec`] tests for the three at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Form {
    /// Not a fast form: the driver runs the generic `step`.
    #[default]
    Generic,
    /// `jmp` or `jcc`: only the flags it reads must be defined.
    Jump,
    /// A `nop` of any encoding: no effect.
    Nop,
    /// Reads operands 0 and 1 (if a register), writes operand 0.
    Alu,
    /// A shift by an immediate count: as [`Form::Alu`], but its flags depend
    /// on the count, so they are taken per instruction, never cached.
    Shift,
    /// A shift by `cl` (`r1`): also reads `cl`; a zero count leaves the flags
    /// alone, so only flags already defined and not made undefined stay.
    ShiftCl,
    /// `add r64, imm`: moves a pointer by `k`.
    AddImm,
    /// `sub r64, imm`: moves a pointer by `k` (the immediate negated).
    SubImm,
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
    /// `mov [base64 + k], r64` (`r0` the source, `r1` the base).
    Store,
    /// `mov r64, [base64 + k]` (`r0` the destination, `r1` the base).
    Load,
    /// `mov r64, [base64 + index64 * scale + k]` (`r0` the destination,
    /// `r1` the base; the index and scale are the instruction's; three
    /// distinct registers): [`crate::access::indexed_load`]'s rules.
    LoadIndexed,
    /// `lea r64, [base64 + k]`: operand 0 gets the base moved by `k`.
    Lea,
    /// `lea r64, [base64 + index64 * scale + disp]` (`k` the index's
    /// register-file index; three distinct registers): data.
    LeaIndexed,
    /// `movzx`/`movsx`/`movsxd` from register `r1` (read at `width` bytes,
    /// 2 for `ah`-`bh`): operand 0 gets data.
    Widen,
    /// `cqo`/`cdq`: reads `rax`/`eax` (`width`), writes `rdx`.
    SignExtendAcc,
    /// `div`/`idiv` by register `r1`: reads it, `rax` and `rdx` at `width`,
    /// writes `rax` and `rdx`.
    Divide,
    /// `ret`: the return checks.
    Ret,
}

/// `r1` of a form without a second register.
pub(crate) const NO_REG: u8 = 16;

/// The part of an [`Op`] its key fixes (8 bytes): the record keeps one
/// ([`crate::record::Rec`]), and lowering copies it whole and fills in the
/// registers, instead of writing each byte from its own register.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub(crate) struct Head {
    pub(crate) form: Form,
    pub(crate) flow: Flow,
    /// Operand width in bytes (4 or 8) of a register form.
    pub(crate) width: u8,
    /// Register-file index of operand 0 (see [`Form`] for memory forms).
    pub(crate) r0: u8,
    /// Register-file index of operand 1, the memory base, or [`NO_REG`].
    pub(crate) r1: u8,
    /// Arithmetic flags read, modified and made undefined.
    pub(crate) flags: [u8; 3],
}

/// One instruction as the fixpoint sees it (16 bytes): its [`Head`] (read
/// through `Deref`: `op.form`, `op.r0`, ...) and the immediate or
/// displacement. In declaration order (`repr(C)`).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub(crate) struct Op {
    pub(crate) head: Head,
    /// The immediate (pointer forms) or displacement.
    pub(crate) k: i64,
}

const _: () = assert!(size_of::<Head>() == 8 && size_of::<Op>() == 16);

impl std::ops::Deref for Op {
    type Target = Head;
    #[inline(always)]
    fn deref(&self) -> &Head {
        &self.head
    }
}

impl std::ops::DerefMut for Op {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Head {
        &mut self.head
    }
}

impl Form {
    /// The register list iced is expected to report, in its order.
    pub(crate) fn template(
        self,
        width: u8,
        r0: Register,
        r1: Option<Register>,
        r2: Option<Register>,
    ) -> ([iced_x86::UsedRegister; 5], usize) {
        use iced_x86::UsedRegister as U;
        let full = r0.full_register();
        let mut t = [U::default(); 5];
        let mut n = 0;
        let mut push = |r, a| {
            t[n] = U::new(r, a);
            n += 1;
        };
        match self {
            Form::Generic | Form::Jump | Form::Nop => {}
            Form::Alu | Form::AddImm | Form::SubImm | Form::Shift | Form::ShiftCl => {
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
            Form::Move
            | Form::Lea
            | Form::Load
            | Form::LoadIndexed
            | Form::LeaIndexed
            | Form::Widen => {
                push(full, OpAccess::Write);
                for r in [r1, r2].into_iter().flatten() {
                    push(r, OpAccess::Read);
                }
            }
            Form::SignExtendAcc => {
                if let Some(r1) = r1 {
                    push(r1, OpAccess::Read);
                }
                push(full, OpAccess::Write);
            }
            Form::Divide => {
                if let Some(r1) = r1 {
                    push(r1, OpAccess::Read);
                }
                if width == 8 {
                    push(Register::RAX, OpAccess::ReadWrite);
                    push(Register::RDX, OpAccess::ReadWrite);
                } else {
                    push(Register::EAX, OpAccess::Read);
                    push(Register::RAX, OpAccess::Write);
                    push(Register::EDX, OpAccess::Read);
                    push(Register::RDX, OpAccess::Write);
                }
            }
        }
        (t, n)
    }
}

/// Whether register `r` (an index, or [`NO_REG`]) is reserved by policy.
#[inline]
fn reserved(ctx: &Ctx<'_>, r: u8) -> bool {
    u32::from(ctx.reserved) >> r & 1 != 0
}

/// Whether a run may step with [`exec`]`::<true>`: without the value
/// domain (so no state holds a comparison or a number it computes) and
/// with no reserved register.
pub(crate) fn plain_run(ctx: &Ctx<'_>) -> bool {
    !ctx.rich && ctx.reserved == 0
}

/// The effect of a fast-form `op` on `st`: `Ok` with exactly `step`'s state,
/// or `Err(())` with `st` untouched where `step` reports a violation.
/// `PLAIN` only where [`plain_run`] holds: its tests of the value domain
/// and of reserved registers are then constants (the fast-path test runs
/// both versions on such runs).
#[inline]
pub(crate) fn exec<const PLAIN: bool>(
    ctx: &Ctx<'_>,
    st: &mut State,
    op: &Op,
    ins: &Instruction,
) -> Result<(), ()> {
    debug_assert!(!PLAIN || plain_run(ctx));
    let read = u32::from(op.flags[0]);
    // Only a conditional jump and a `cmov` read flags: the tests of both
    // are behind one test of the flags read.
    if read != 0 {
        if read & !st.flags != 0 {
            return Err(());
        }
        // A `cmov` after a comparison is narrowed by `step`
        // (`refine::cmov`). `cmovcc` lowers to `CondMove` (64-bit) or
        // `Alu` (32-bit) only.
        if !PLAIN
            && st.cmp.is_some()
            && matches!(op.form, Form::CondMove | Form::Alu)
            && crate::interp::is_cmovcc(ins.mnemonic())
        {
            return Err(());
        }
    }
    // `Generic`, `Jump` and `Nop` (the first three forms) in one test.
    if op.form as u8 <= Form::Nop as u8 {
        return if op.form == Form::Generic {
            Err(())
        } else {
            Ok(())
        };
    }
    // (Most policies reserve no register.)
    if !PLAIN && ctx.reserved != 0 && (reserved(ctx, op.r0) || reserved(ctx, op.r1)) {
        return Err(());
    }
    let result = exec_form::<PLAIN>(ctx, st, op, ins);
    if result.is_ok() {
        // `rdx` as the sign extension of `rax` (what `idiv` needs); nothing
        // to do while it is not (the common case).
        if op.form == Form::SignExtendAcc {
            st.sext = op.width;
        } else if st.sext != 0 {
            let writes = !matches!(
                op.form,
                Form::Compare | Form::Store | Form::Jump | Form::Nop | Form::Ret
            );
            if op.form == Form::Divide || (writes && matches!(op.r0, 0 | 2)) {
                st.sext = 0;
            }
        }
        // Without the value domain no state holds a comparison (`step`
        // and the joins keep none): nothing to track.
        debug_assert!(ctx.rich || st.cmp.is_none());
        if !PLAIN && ctx.rich {
            if op.flags[1] | op.flags[2] != 0 {
                set_comparison(st, op, ins);
            } else if let Some(c) = st.cmp
                && op.form != Form::Store
                && (c.a == op.r0 || c.b == op.r0)
            {
                st.cmp = None;
            }
        }
    }
    result
}

/// What the flags say after a fast form that writes them:
/// [`values::comparison`] (the one rule, which `step` uses) read off the
/// lowered operands, without matching every `Code` (the fast-path test
/// checks that both agree on every form).
///
/// Written into `st.cmp` in place: a `Cmp` returned through memory and
/// copied was read back with a wider load than its byte stores (a
/// store-forwarding stall on every flag-writing step).
#[inline(never)]
fn set_comparison(st: &mut State, op: &Op, ins: &Instruction) {
    use iced_x86::Mnemonic as M;
    // The form first: `add`/`sub r64, imm` need no mnemonic.
    let (b, kind) = match op.form {
        Form::AddImm | Form::SubImm => (CMP_IMM, Flagged::Result),
        Form::Compare => match ins.mnemonic() {
            M::Cmp if op.r1 != NO_REG => (op.r1, Flagged::Sub),
            // `test a, a`: the flags of `a` itself (`test a, b` says nothing).
            M::Test if op.r1 == op.r0 => (CMP_IMM, Flagged::Logic),
            _ => return set_comparison_rest(st, op, ins),
        },
        Form::Alu | Form::Zero => match ins.mnemonic() {
            M::And | M::Or | M::Xor => (CMP_IMM, Flagged::Logic),
            M::Add | M::Sub => (CMP_IMM, Flagged::Result),
            M::Imul if op.form == Form::Alu => {
                st.cmp = None;
                return;
            }
            _ => return set_comparison_rest(st, op, ins),
        },
        Form::ShiftCl | Form::Divide => {
            st.cmp = None;
            return;
        }
        // The rest calls out: kept apart so that this part saves no
        // registers (measured: ~10 instructions per flag-writing step).
        _ => return set_comparison_rest(st, op, ins),
    };
    st.cmp = Some(Cmp {
        a: op.r0,
        b,
        imm: 0,
        width: op.width,
        kind,
    });
}

/// [`set_comparison`] for a comparison with an immediate, `test` of two
/// registers and every other form (through [`values::comparison`]).
#[inline(never)]
fn set_comparison_rest(st: &mut State, op: &Op, ins: &Instruction) {
    use iced_x86::Mnemonic as M;
    let width = op.width;
    let (imm, kind) = match (op.form, ins.mnemonic()) {
        (Form::Compare, M::Test) if op.r1 != NO_REG => {
            st.cmp = None;
            return;
        }
        // With an immediate: a 32-bit one compares against its 32-bit value
        // (a mask: its zero-extended bits).
        (Form::Compare, m @ (M::Cmp | M::Test)) => {
            let Some(k) = crate::interp::imm(ins, 1) else {
                st.cmp = None;
                return;
            };
            match (width, m) {
                (4, M::Test) => (i64::from(k as u32), Flagged::Mask),
                (4, _) => (i64::from(k as i32), Flagged::Sub),
                (_, M::Test) => (k, Flagged::Mask),
                _ => (k, Flagged::Sub),
            }
        }
        _ => {
            st.cmp = values::comparison(ins);
            return;
        }
    };
    st.cmp = Some(Cmp {
        a: op.r0,
        b: CMP_IMM,
        imm,
        width,
        kind,
    });
}

/// The value a form's destination gets: what the value domain computes
/// (`values.rs`, the one source shared with `step`), else plain data (the
/// generic rule for a 32- or 64-bit write).
fn computed(ctx: &Ctx<'_>, st: &State, ins: &Instruction) -> Val {
    if !ctx.rich {
        return Val::Data(8);
    }
    values::computed(st, ins, None).map_or(Val::Data(8), |(_, v)| v)
}

/// For a 64-bit `add`/`sub`/`xor`/`imul` of two registers, one of them any
/// value (plain data) and both defined, or an `and`/`or` of two such where
/// one is plain data and the other any value: the value [`values::computed`]
/// gives where its shortcuts for any value apply (any value; a frame pointer
/// is left to `step`, which writes data), without reading the operands back
/// from the instruction. `None` where the general rule must run (pointer
/// arithmetic, relations, an even factor). The fast-path test compares the
/// two on random states.
#[inline(never)]
fn beside_any_value(ctx: &Ctx<'_>, st: &State, op: &Op, ins: &Instruction) -> Option<Val> {
    use iced_x86::Mnemonic as M;
    let (d, s) = (usize::from(op.r0), usize::from(op.r1));
    if !ctx.rich || op.width != 8 || s == usize::from(NO_REG) || d == s {
        return None;
    }
    let other = if st.reg_is_data(d) {
        s
    } else if st.reg_is_data(s) {
        d
    } else {
        return None;
    };
    // Read off the registers' kinds (no value built).
    let frame = |r: usize| st.reg_is_frame(r);
    let ptr = |r: usize| st.reg_ptr(r).is_some();
    let rel = || st.reg_num(other).is_some_and(|n| n.rel.is_some());
    let any = Some(Val::Data(8));
    match ins.mnemonic() {
        M::Xor => any,
        // Both any value (the other one may carry a value identity, which
        // no operation reads): the known bits and ranges of the result are
        // any value's.
        M::And | M::Or if st.reg_is_any_value(other) => any,
        M::Imul => match st.reg_num(other) {
            Some(n) if !n.s.may_be_odd() => None,
            _ => any,
        },
        M::Add | M::Sub if frame(d) || frame(s) => any,
        M::Add if ptr(d) || ptr(s) || rel() => None,
        M::Sub if ptr(d) || rel() => None,
        M::Add | M::Sub => any,
        _ => None,
    }
}

/// [`offset_by`] of a `Num` register `d` without a relation, written in
/// place (the scalar sum alone, as `offset_by` computes it: the number is
/// neither copied out nor moved back through a `Val`). `false`, with `st`
/// untouched, for any other register. The fast-path test compares it with
/// `offset_by`.
#[inline(never)]
fn add_to_num_in_place(st: &mut State, d: usize, k: i64) -> bool {
    match st.reg_num(d) {
        Some(n) if !n.rel.is_some() => {
            let plain = n.rel == crate::num::Rel::NONE && n.id == crate::num::NO_ID;
            let s = n.s.add(crate::scalar::Scalar::constant(k as u64));
            if plain {
                // Already `Num::scalar` of its range: only the range moves.
                st.set_num_scalar(d, s);
            } else {
                st.set_num(d, crate::num::Num::scalar(s));
            }
            true
        }
        _ => false,
    }
}

/// [`exec`] after the checks that send a form to the generic step.
/// Inlined into the driver's loop (measured: a call costs more per step
/// than the larger loop does); the heavier forms stay out of line.
#[inline(always)]
fn exec_form<const PLAIN: bool>(
    ctx: &Ctx<'_>,
    st: &mut State,
    op: &Op,
    ins: &Instruction,
) -> Result<(), ()> {
    // (A constant in a plain run; read where it is used.)
    let rich = || !PLAIN && ctx.rich;
    let (d, s) = (usize::from(op.r0), usize::from(op.r1));
    let width = op.width;
    let defined = |st: &State, r: usize| st.reg_has_bytes(r, width);
    let new = match op.form {
        Form::Ret => return if ret_ok(ctx, st) { Ok(()) } else { Err(()) },
        Form::Store => return exec_store(ctx, st, op),
        Form::Load => return exec_load(ctx, st, op),
        Form::LoadIndexed => return exec_indexed_load(ctx, st, op, ins),
        Form::ShiftCl => {
            if !defined(st, d) || !st.reg_has_bytes(s, 1) || d == RSP {
                return Err(());
            }
            st.set_reg(d, Val::Data(8));
            // The count may be zero: no flag becomes defined.
            st.flags &= !u32::from(op.flags[2]);
            return Ok(());
        }
        Form::Compare => {
            if !defined(st, d) || (s != usize::from(NO_REG) && !defined(st, s)) {
                return Err(());
            }
            None
        }
        Form::Alu | Form::Shift => {
            if !defined(st, d) || (s != usize::from(NO_REG) && !defined(st, s)) {
                return Err(());
            }
            // Without the value domain every result is plain data
            // (`computed`'s answer, and `beside_any_value` declines).
            if !rich() {
                return write_data(st, d, op);
            }
            // Two registers of plain data: plain data at the width (what
            // `values.rs` computes for every operation on unknowns).
            let plain = |r: usize| st.reg_is_data(r);
            if s == usize::from(NO_REG) {
                // (`beside_any_value` declines an immediate.)
                Some(computed(ctx, st, ins))
            } else if op.form == Form::Alu && plain(d) && plain(s) {
                if width == 8 {
                    return write_data(st, d, op);
                }
                Some(Val::num(crate::num::Num::unknown().at_width(4)))
            } else if let Some(v) = beside_any_value(ctx, st, op, ins) {
                Some(v)
            } else {
                Some(computed(ctx, st, ins))
            }
        }
        Form::AddImm | Form::SubImm => {
            if !defined(st, d) {
                return Err(());
            }
            // Plain data moved is plain data (`offset_by`).
            if st.reg_is_data(d) {
                return write_data(st, d, op);
            }
            if rich() && add_to_num_in_place(st, d, op.k) {
                None
            } else {
                Some(offset_by(st.reg(d), op.k))
            }
        }
        Form::Lea => {
            if !defined(st, s) {
                return Err(());
            }
            if st.reg_is_data(s) {
                return write_data(st, d, op);
            }
            Some(offset_by(st.reg(s), op.k))
        }
        Form::LeaIndexed => {
            let index = op.k as u8 & 15;
            if (!PLAIN && reserved(ctx, index))
                || !defined(st, s)
                || !defined(st, usize::from(index))
            {
                return Err(());
            }
            if !rich() {
                return write_data(st, d, op);
            }
            Some(computed(ctx, st, ins))
        }
        // `width` is the source's read width here.
        Form::Widen | Form::SignExtendAcc => {
            if !defined(st, s) {
                return Err(());
            }
            if !rich() {
                return write_data(st, d, op);
            }
            Some(computed(ctx, st, ins))
        }
        Form::Divide => {
            const RAX: usize = 0;
            const RDX: usize = 2;
            // Division the policy does not allow to trap is proven by `step`.
            if !ctx.policy.allow_division
                || (!PLAIN && reserved(ctx, RDX as u8))
                || !defined(st, s)
                || !defined(st, RAX)
                || !defined(st, RDX)
            {
                return Err(());
            }
            st.set_reg(RAX, Val::Data(8));
            st.set_reg(RDX, Val::Data(8));
            None
        }
        Form::CondMove => {
            if !defined(st, s) {
                return Err(());
            }
            // `st.reg(d).join(Val::Data(8))`: the old value's defined
            // bytes as data, nothing if it had none.
            let v = match st.reg_defined_bytes(d) {
                0 => Val::Undef,
                n => Val::Data(n),
            };
            return write_plain(st, d, v, op);
        }
        Form::Move => {
            // A 64-bit move may carry a saved callee-saved value.
            let moved_entry = width == 8 && st.reg_is_entry(s);
            if !moved_entry && !st.reg_has_bytes(s, width) {
                return Err(());
            }
            if width == 8 && d != RSP {
                if rich() {
                    st.move_reg(d, s, ins.ip());
                } else {
                    // The value as it is, each part copied in place.
                    st.copy_reg_to(d, s);
                }
                None
            } else if width == 8 {
                Some(st.reg(s))
            } else if !rich() {
                return write_data(st, d, op);
            } else {
                Some(computed(ctx, st, ins))
            }
        }
        // The constants `values.rs` gives, without reading the operands
        // back: 0 (a `sub` of a frame pointer from itself stays with the
        // generic rule: data), the immediate at the width (a 64-bit one is
        // beyond its rules: data).
        Form::Zero if rich() => Some(
            if ins.mnemonic() == iced_x86::Mnemonic::Sub
                && matches!(st.reg(d), Val::Stack(_) | Val::Param(..))
            {
                Val::Data(8)
            } else {
                Val::Num(crate::num::Num::constant(0))
            },
        ),
        Form::MoveImm if rich() => Some(match crate::interp::imm(ins, 1) {
            Some(k) if width == 4 => Val::Num(crate::num::Num::constant(k as u64 & 0xffff_ffff)),
            Some(k) => Val::Num(crate::num::Num::constant(k as u64)),
            None => Val::Data(8),
        }),
        Form::Zero | Form::MoveImm => return write_data(st, d, op),
        // The driver never executes these.
        Form::Generic | Form::Jump | Form::Nop => return Err(()),
    };
    if let Some(v) = new {
        if d == RSP {
            // Only a 64-bit pointer update of `rsp` itself keeps it known
            // (these forms at width 8 name the 64-bit register).
            let pointer_update = matches!(
                op.form,
                Form::AddImm | Form::SubImm | Form::Move | Form::Lea
            ) && width == 8;
            match v {
                Val::Stack(k) if pointer_update => {
                    // Setting `rsp` to its current value changes nothing and
                    // cannot fail: every state's `rsp` was checked when set.
                    if k != st.rsp() {
                        set_rsp(ctx, st, k).map_err(drop)?;
                    }
                }
                _ => return Err(()),
            }
        } else {
            st.set_reg_inline(d, v);
        }
    }
    write_flags(st, op);
    Ok(())
}

/// The flags `op` writes: those it modifies become defined, those it
/// leaves undefined are not.
#[inline(always)]
fn write_flags(st: &mut State, op: &Op) {
    st.flags = (st.flags | u32::from(op.flags[1])) & !u32::from(op.flags[2]);
}

/// Register `d` becomes plain data and the flags are written: the end of
/// [`exec_form`] for `Some(Val::Data(8))` (`rsp` never becomes data: the
/// generic step names the rule), without the value passed through.
#[inline(always)]
fn write_data(st: &mut State, d: usize, op: &Op) -> Result<(), ()> {
    write_plain(st, d, Val::Data(8), op)
}

/// [`write_data`] of `v`, data or undefined.
#[inline(always)]
fn write_plain(st: &mut State, d: usize, v: Val, op: &Op) -> Result<(), ()> {
    debug_assert!(matches!(v, Val::Data(_) | Val::Undef));
    if d == RSP {
        return Err(());
    }
    st.set_reg_inline(d, v);
    write_flags(st, op);
    Ok(())
}

/// [`exec`] for the 64-bit load `mov r0, [r1 + k]`. Like every 64-bit
/// move it may carry pointers and saved callee-saved values.
#[inline(never)]
fn exec_load(ctx: &Ctx<'_>, st: &mut State, op: &Op) -> Result<(), ()> {
    let [_, modified, undefined] = op.flags.map(u32::from);
    let (reg, base) = (usize::from(op.r0), usize::from(op.r1));
    // The base is read; a saved callee-saved value may be moved, so it is
    // not an undefined read.
    if !(st.reg_is_entry(base) || st.reg_defined_bytes(base) >= 8) {
        return Err(());
    }
    let lo = st.rsp() - ctx.red_zone;
    let place = place_at(ctx, st, base, op.k, lo, 8, false).map_err(drop)?;
    let loaded = match place {
        Place::Stack(off) => match st.load(off, 8) {
            Load::Missing(_) => return Err(()),
            Load::Value(v) => v,
        },
        Place::Param | Place::Code | Place::Buffer => Val::Data(8),
        Place::StackRange(..) => return Err(()),
    };
    if reg == RSP {
        match loaded {
            Val::Stack(k) => {
                // `rsp` is checked against the stack touched by the load.
                let before = st.touched;
                if let Place::Stack(off) = place {
                    st.touched = st.touched.min(off);
                }
                if set_rsp(ctx, st, k).is_err() {
                    st.touched = before;
                    return Err(());
                }
            }
            _ => return Err(()),
        }
    } else {
        st.set_reg(reg, loaded);
    }
    if let Place::Stack(off) = place {
        st.touched = st.touched.min(off);
    }
    st.flags = (st.flags | modified) & !undefined;
    Ok(())
}

/// [`exec`] for the 64-bit store `mov [r1 + k], r0`, the frame addressed
/// through a stack pointer without building the base's value (the
/// `Stack` arm of [`place_at`]). Like every 64-bit move it may carry
/// pointers and saved callee-saved values.
#[inline(never)]
fn exec_store(ctx: &Ctx<'_>, st: &mut State, op: &Op) -> Result<(), ()> {
    let (reg, base) = (usize::from(op.r0), usize::from(op.r1));
    // The usual spill: 8 defined bytes that memory keeps as plain data,
    // through a stack pointer (read defined). Everything else goes out of
    // line.
    let (Some(k), true) = (
        st.reg_stack(base),
        st.reg_stores_as_data(reg) && st.reg_defined_bytes(reg) >= 8,
    ) else {
        return exec_store_rest(ctx, st, op);
    };
    let lo = st.rsp() - ctx.red_zone;
    let Ok(Place::Stack(off)) = stack_place(ctx, st, k, op.k, lo, 8) else {
        return Err(());
    };
    st.store_data(off, 8);
    st.touched = st.touched.min(off);
    // (The form is a 64-bit `mov`: it writes no flag.)
    debug_assert_eq!(op.flags[1] | op.flags[2], 0);
    Ok(())
}

/// [`exec_store`] of any other register or through any other base.
#[inline(never)]
fn exec_store_rest(ctx: &Ctx<'_>, st: &mut State, op: &Op) -> Result<(), ()> {
    let [_, modified, undefined] = op.flags.map(u32::from);
    let (reg, base) = (usize::from(op.r0), usize::from(op.r1));
    let readable = |r: usize| st.reg_is_entry(r) || st.reg_defined_bytes(r) >= 8;
    if !readable(base) || !readable(reg) {
        return Err(());
    }
    let lo = st.rsp() - ctx.red_zone;
    let place = match st.reg_stack(base) {
        Some(k) => stack_place(ctx, st, k, op.k, lo, 8),
        None => place_at(ctx, st, base, op.k, lo, 8, true),
    };
    match place.map_err(drop)? {
        Place::Stack(off) => {
            // Plain data is stored without building its value.
            if st.reg_stores_as_data(reg) {
                st.store_data(off, 8);
            } else {
                st.store(off, 8, st.reg(reg));
            }
            st.touched = st.touched.min(off);
        }
        // An entry value must not leave the frame (`step` names the rule).
        Place::Param | Place::Buffer if st.reg_is_entry(reg) => return Err(()),
        Place::Param | Place::Code | Place::Buffer => {}
        Place::StackRange(..) => return Err(()),
    }
    st.flags = (st.flags | modified) & !undefined;
    Ok(())
}

/// [`exec`] for `mov r64, [r1 + index * scale + k]` into `r0`: the rules
/// of [`crate::access::indexed_load`] (the registers read defined, the
/// access placed in a buffer or the frame, every stack byte it may read
/// written and none a saved register), without iced's lists. It reads and
/// writes no flags.
#[inline(never)]
fn exec_indexed_load(ctx: &Ctx<'_>, st: &mut State, op: &Op, ins: &Instruction) -> Result<(), ()> {
    let (d, base) = (usize::from(op.r0), usize::from(op.r1));
    // The index is a 64-bit register (the form is lowered only then):
    // `interp::gpr` without its table, iced numbering `rax..r15` in order.
    let index = (ins.memory_index() as usize).wrapping_sub(iced_x86::Register::RAX as usize) & 15;
    debug_assert_eq!(index, crate::interp::gpr(ins.memory_index()));
    if d == RSP || reserved(ctx, index as u8) {
        return Err(());
    }
    let lo = st.rsp() - ctx.red_zone;
    let scale = ins.memory_index_scale();
    // A stack array indexed by a number (both read defined; what
    // `place_indexed` does for these without building either value): the
    // bytes its signed range may reach. Every other base or index goes
    // out of line.
    let (Some(k), Some(n)) = (st.reg_stack(base), st.reg_num(index)) else {
        return indexed_load_rest(ctx, st, op, index, scale, lo);
    };
    let range = (n.s.smin(), n.s.smax());
    load_stack_array(ctx, st, op, d, k, range, scale, lo)
}

/// [`exec_indexed_load`] for a base that is no stack pointer or an index
/// that is no number.
#[inline(never)]
fn indexed_load_rest(
    ctx: &Ctx<'_>,
    st: &mut State,
    op: &Op,
    index: usize,
    scale: u32,
    lo: i64,
) -> Result<(), ()> {
    let (d, base) = (usize::from(op.r0), usize::from(op.r1));
    // A saved callee-saved value may be moved, but never addresses memory:
    // `step` reports it.
    if st.reg_defined_bytes(base) < 8 || st.reg_defined_bytes(index) < 8 {
        return Err(());
    }
    let Some(k) = st.reg_stack(base) else {
        return indexed_place_loaded(ctx, st, op, index, scale, lo);
    };
    // A stack array: an index that is no number is not allowed.
    let range = if st.reg_is_data(index) {
        (i64::MIN, i64::MAX)
    } else if scale == 1 && st.reg_ptr(index).is_some() {
        return indexed_place_loaded(ctx, st, op, index, scale, lo);
    } else {
        return Err(());
    };
    load_stack_array(ctx, st, op, d, k, range, scale, lo)
}

/// The end of a fast indexed load from a stack array at stack offset `k`
/// with an index in `range`: every byte the range may reach is in the
/// frame and written, then `d` holds plain data (what `load_range`
/// gives). Shared by both paths of [`exec_indexed_load`], inline in each.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn load_stack_array(
    ctx: &Ctx<'_>,
    st: &mut State,
    op: &Op,
    d: usize,
    k: i64,
    range: (i64, i64),
    scale: u32,
    lo: i64,
) -> Result<(), ()> {
    let Ok(Place::StackRange(lo, hi)) = stack_range(ctx, st, k, range, scale, op.k, lo, 8) else {
        return Err(());
    };
    if !crate::access::range_readable(st, lo, hi) {
        return Err(());
    }
    st.touched = st.touched.min(hi - 8);
    st.set_reg(d, Val::Data(8));
    Ok(())
}

/// [`exec_indexed_load`] through [`place_indexed`] (a buffer pointer as
/// the base or the index, or a base that is neither a stack nor a buffer
/// pointer, which it rejects).
#[inline(never)]
fn indexed_place_loaded(
    ctx: &Ctx<'_>,
    st: &mut State,
    op: &Op,
    index: usize,
    scale: u32,
    lo: i64,
) -> Result<(), ()> {
    let (d, base) = (usize::from(op.r0), usize::from(op.r1));
    let place = place_indexed(ctx, st, Some(base), index, scale, op.k, lo, 8, false);
    let loaded = match place.map_err(drop)? {
        Place::Param | Place::Code | Place::Buffer => Val::Data(8),
        Place::StackRange(lo, hi) => {
            let v = crate::access::load_range(st, lo, hi).map_err(drop)?;
            st.touched = st.touched.min(hi - 8);
            v
        }
        Place::Stack(_) => return Err(()),
    };
    st.set_reg(d, loaded);
    Ok(())
}

/// The form, operand width and whether operand 1 is a register, for the
/// handled `Code`s (operand 0 must still be checked to be a register).
pub(crate) fn form_of(c: Code) -> Option<(Form, u8, bool)> {
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
        C::Movzx_r32_rm8
        | C::Movzx_r64_rm8
        | C::Movzx_r32_rm16
        | C::Movzx_r64_rm16
        | C::Movsx_r32_rm8
        | C::Movsx_r64_rm8
        | C::Movsx_r32_rm16
        | C::Movsx_r64_rm16
        | C::Movsxd_r64_rm32 => (Form::Widen, 0, true),
        C::Cqo => (Form::SignExtendAcc, 8, false),
        C::Cdq => (Form::SignExtendAcc, 4, false),
        C::Div_rm64 | C::Idiv_rm64 => (Form::Divide, 8, true),
        C::Div_rm32 | C::Idiv_rm32 => (Form::Divide, 4, true),
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
        C::Nopw | C::Nopd | C::Nopq | C::Nop_rm16 | C::Nop_rm32 | C::Nop_rm64 => {
            (Form::Nop, 0, false)
        }
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::{Flags, step};
    use crate::record::Records;
    use crate::{Policy, Signature};
    use iced_x86::{Decoder, DecoderOptions};

    use crate::test_rng::Rng;

    fn random_num(rng: &mut Rng) -> crate::num::Num {
        use crate::num::{Num, Rel};
        let a = (rng.next() % 64) as i64 - 8;
        let b = a + (rng.next() % 64) as i64;
        let mut n = Num::scalar(crate::scalar::Scalar::range_s(a, b));
        if rng.next() & 1 == 0 {
            n.rel = Rel {
                sym: 1,
                shift: (rng.next() % 4) as u8,
                lo: -((rng.next() % 32) as i64) - 8,
                hi: -((rng.next() % 8) as i64),
            };
        }
        if rng.next().is_multiple_of(4) {
            n = Num::constant(rng.next() % 300);
        }
        n
    }

    fn random_val(rng: &mut Rng) -> Val {
        match rng.next() % 8 {
            0 => Val::Undef,
            1 => Val::Data(1 + (rng.next() % 8) as u8),
            2 => Val::Entry((rng.next() % 16) as u8),
            3 => Val::Stack(-((rng.next() % 64) as i64)),
            4 => Val::Param(0, (rng.next() % 16) as i64),
            5 => Val::num(random_num(rng)),
            6 => Val::Ptr(0, random_num(rng)),
            // Any value with a value identity (a `mov` copy of data).
            7 if rng.next().is_multiple_of(3) => Val::Num(crate::num::Num {
                id: 1 + (rng.next() % 2) as u32,
                ..crate::num::Num::unknown()
            }),
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
        let ops: [&[u8]; 31] = [
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
            &[0x0f, 0xb6],
            &[0x0f, 0xb7],
            &[0x0f, 0xbe],
            &[0x0f, 0xbf],
            &[0x63],
            &[0xf7],
            &[0x99],
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
                for sib in [0x24u8, 0x37, 0x25, 0x65, 0xb7, 0x88, 0x3c, 0xc1, 0x4e] {
                    for op in [0x8du8, 0x89, 0x8b] {
                        for disp in [0xf8u8, 0x08, 0x00, 0xf0] {
                            singles.push(vec![rex, op, modrm, sib, disp, 0xff, 0xff, 0xff]);
                        }
                    }
                }
            }
        }
        // Every `nop` encoding, behind legacy, segment and REX prefixes.
        for prefix in [
            &[][..],
            &[0x66],
            &[0x66, 0x2e],
            &[0x2e, 0x66, 0x48],
            &[0x67],
            &[0xf2],
            &[0x64],
            &[0x41],
            &[0x48],
            &[0x66, 0x66, 0x2e],
        ] {
            for body in [&[0x90u8][..], &[0x0f, 0x1f], &[0x0f, 0x1e]] {
                for modrm in (0..=0xffu8).step_by(if body.len() == 1 { 256 } else { 1 }) {
                    let mut b = prefix.to_vec();
                    b.extend_from_slice(body);
                    if body.len() > 1 {
                        b.extend_from_slice(&[modrm, 0x24, 0x44, 0x33, 0x22, 0x11, 0x00]);
                    }
                    singles.push(b);
                }
            }
        }
        // (instruction, its first byte is not a legacy prefix)
        let mut all: Vec<(iced_x86::Instruction, bool)> =
            Decoder::with_ip(64, &bytes, 0, DecoderOptions::NONE)
                .into_iter()
                .map(|ins| (ins, true))
                .collect();
        all.extend(singles.iter().map(|b| {
            let ins = Decoder::with_ip(64, b, 0, DecoderOptions::NONE).decode();
            (ins, !crate::classify::is_legacy_prefix(b[0]))
        }));
        let mut uses = crate::uses::Uses::new();
        let mut records = Records::new();
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let sig: Signature = "int64(mut int64* xs[n], int64 n)"
            .parse()
            .expect("signature");
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
        let (mut handled, mut total, mut nops) = (0, 0, 0);
        let mut forms = std::collections::BTreeMap::new();
        // Per form, the steps the fast path took itself.
        let mut stepped = std::collections::BTreeMap::new();
        for (ins, no_prefix) in all {
            if ins.is_invalid() {
                continue;
            }
            total += 1;
            let key = Records::key(&ins);
            let rec = records.get(key, &ins);
            let op = records.lower(key, rec, &ins, no_prefix);
            if matches!(op.form, Form::Generic | Form::Jump) {
                continue;
            }
            nops += usize::from(op.form == Form::Nop);
            *forms.entry(format!("{:?}", op.form)).or_insert(0usize) += 1;
            let [read, modified, undefined] = op.flags.map(u32::from);
            let flags = Flags {
                read,
                modified,
                undefined,
            };
            // The flags' meaning read off the lowered form is the rule's.
            if (modified | undefined) != 0 {
                let mut flagged = State::empty();
                set_comparison(&mut flagged, &op, &ins);
                assert_eq!(flagged.cmp, values::comparison(&ins), "{ins}");
            }
            for round in 0..24 {
                let policy = &policies[round % policies.len()];
                let syms = Ctx::entry_syms_of(policy, &sig);
                let mut ctx = Ctx::new(policy, &sig, 64, &syms);
                // Both with the value domain and without it.
                ctx.rich = round % 3 != 0;
                let mut st = State::empty();
                ctx.entry_state_into(&mut st);
                for r in 0..16 {
                    if r != RSP && rng.next() & 1 == 0 {
                        st.set_reg(r, random_val(&mut rng));
                    }
                }
                // Every reachable state has `rsp` inside the frame.
                let rsp = -((rng.next() % 4) as i64 * 8);
                st.set_reg(RSP, Val::Stack(rsp.max(-ctx.max_frame)));
                st.flags = (rng.next() as u32) & crate::state::ARITH_FLAGS;
                st.sext = [0, 4, 8][(rng.next() % 3) as usize];
                // Often flags from a comparison (a `cmov` then goes to
                // `step`; a store keeps it, as `step` does). Only with the
                // value domain: without it no state holds one (`exec`
                // relies on that).
                if ctx.rich && rng.next().is_multiple_of(3) {
                    let b = (rng.next() % 17) as u8;
                    st.cmp = Some(crate::state::Cmp {
                        a: (rng.next() % 16) as u8,
                        b,
                        imm: if b == crate::state::CMP_IMM { 5 } else { 0 },
                        width: [4, 8][(rng.next() % 2) as usize],
                        kind: crate::state::Flagged::Sub,
                    });
                }
                // Some written stack bytes, of every kind of value.
                for _ in 0..rng.next() % 5 {
                    let off = -((rng.next() % 40) as i64);
                    let len = [1u8, 2, 4, 8][(rng.next() % 4) as usize];
                    let v = random_val(&mut rng);
                    st.store(off - i64::from(len), len, v);
                }
                let mut a = st.clone();
                let ra = exec::<false>(&ctx, &mut a, &op, &ins);
                // A plain run's version steps the same.
                if plain_run(&ctx) {
                    let mut p = st.clone();
                    let rp = exec::<true>(&ctx, &mut p, &op, &ins);
                    assert_eq!(rp, ra, "{ins}: plain version");
                    assert_eq!(p, a, "{ins}: plain version");
                }
                let mut b = st.clone();
                let (regs, mems) = uses.of(&ins, ins.mnemonic(), no_prefix);
                let rb = step(&ctx, &mut b, &ins, regs, mems, flags);
                // A fast form may leave a case to the generic step (the
                // value domain's forms, numbers and buffer pointers); what
                // it does step must be exactly what `step` does.
                if ra.is_ok() {
                    *stepped.entry(format!("{:?}", op.form)).or_insert(0usize) += 1;
                    assert!(rb.is_ok(), "{ins} ({:?}) from {st:?}: {rb:?}", ins.code());
                    assert_eq!(a, b, "{ins} ({:?}) from {st:?}", ins.code());
                    // The driver tracks the deepest `rsp` after a fast step
                    // only where operand 0 is `rsp`.
                    if usize::from(op.r0) != RSP {
                        assert_eq!(a.rsp(), st.rsp(), "{ins} ({:?}) moved rsp", ins.code());
                    }
                } else {
                    // A refused step leaves the state for `step` to report on.
                    assert_eq!(a, st, "{ins} ({:?}) changed the state", ins.code());
                }
                if round == 0 {
                    handled += 1;
                }
            }
        }
        assert!(handled > 3000, "only {handled} of {total} handled");
        assert!(nops > 300, "only {nops} nops handled");
        // Every form the fast path has is exercised.
        for form in [
            "Alu",
            "Shift",
            "ShiftCl",
            "AddImm",
            "SubImm",
            "Compare",
            "Zero",
            "Move",
            "MoveImm",
            "CondMove",
            "Store",
            "Load",
            "LoadIndexed",
            "Lea",
            "LeaIndexed",
            "Widen",
            "SignExtendAcc",
            "Divide",
            "Ret",
        ] {
            assert!(forms.get(form).is_some_and(|&n| n > 5), "{form}: {forms:?}");
            // The fast path steps each of them itself somewhere (division
            // and `ret` need states the random ones rarely are).
            let stepped = stepped.get(form).copied().unwrap_or(0);
            assert!(stepped > 5 || matches!(form, "Divide" | "Ret"), "{form}");
        }
    }

    /// One instruction (`bytes`), lowered as the driver lowers it, run in
    /// the value domain from the entry state changed by `setup`: its form,
    /// and the state after it through the fast path (`None` where the fast
    /// path leaves it to `step`, which it must do without touching the
    /// state) and through `step` (`None` for a violation).
    fn both_ways(
        bytes: &[u8],
        setup: impl FnOnce(&mut State),
    ) -> (Form, Option<State>, Option<State>) {
        let sig: Signature = "int64(mut int64* xs[n], int64 n)"
            .parse()
            .expect("signature");
        let policy = Policy::default();
        let ins = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE).decode();
        let mut records = Records::new();
        let key = Records::key(&ins);
        let rec = records.get(key, &ins);
        let op = records.lower(key, rec, &ins, true);
        let [read, modified, undefined] = op.flags.map(u32::from);
        let flags = Flags {
            read,
            modified,
            undefined,
        };
        let syms = Ctx::entry_syms_of(&policy, &sig);
        let mut ctx = Ctx::new(&policy, &sig, 64, &syms);
        ctx.rich = true;
        let mut st = State::empty();
        ctx.entry_state_into(&mut st);
        setup(&mut st);
        let mut fast = st.clone();
        let fast = match exec::<false>(&ctx, &mut fast, &op, &ins) {
            Ok(()) => Some(fast),
            Err(()) => {
                assert_eq!(fast, st, "{ins}: a refused step changed the state");
                None
            }
        };
        let mut generic = st.clone();
        let mut uses = crate::uses::Uses::new();
        let (regs, mems) = uses.of(&ins, ins.mnemonic(), true);
        let generic = step(&ctx, &mut generic, &ins, regs, mems, flags)
            .ok()
            .map(|()| generic);
        (op.form, fast, generic)
    }

    /// The shortcuts for 64-bit register operations beside any value (and
    /// the flags' meaning read off the form) on every pair of value kinds
    /// they distinguish, and the constants: the same state as `step`.
    #[test]
    fn any_value_shortcuts_equal_the_value_domain() {
        use crate::num::{Num, Rel};
        use crate::scalar::Scalar;
        let rel = Num {
            rel: Rel::exact(1, 3, 0),
            ..Num::scalar(Scalar::range_s(0, 64))
        };
        let vals = [
            Val::Data(8),
            Val::Stack(-8),
            Val::Param(0, 0),
            Val::num(Num::constant(6)),
            Val::num(Num::constant(7)),
            Val::num(Num::scalar(Scalar::range_s(-3, 9))),
            Val::num(Num::scalar(
                Scalar::range_u(0, 64).shl(Scalar::constant(3), 64),
            )),
            Val::num(rel),
            Val::Ptr(0, Num::constant(8)),
            Val::Ptr(0, rel),
        ];
        // add, sub, xor, imul, and, or, cmp, test: `op rax, rcx`; then
        // the constants: zero idioms and moves of immediates.
        let codes: [&[u8]; 17] = [
            &[0x48, 0x01, 0xc8],
            &[0x48, 0x29, 0xc8],
            &[0x48, 0x31, 0xc8],
            &[0x48, 0x0f, 0xaf, 0xc1],
            &[0x48, 0x21, 0xc8],
            &[0x48, 0x09, 0xc8],
            &[0x48, 0x39, 0xc8],
            &[0x48, 0x85, 0xc8],
            &[0x48, 0x83, 0xf8, 0xfb],
            &[0x48, 0x31, 0xc0],
            &[0x48, 0x29, 0xc0],
            &[0x29, 0xc0],
            &[0xb8, 0xff, 0xff, 0xff, 0xff],
            &[0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff],
            &[0xc7, 0xc0, 0x05, 0, 0, 0x80],
            &[0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8],
            &[0x83, 0xf8, 0xfb],
        ];
        let mut answered = 0;
        for bytes in codes {
            for (a, b) in vals.iter().flat_map(|a| vals.iter().map(move |b| (*a, *b))) {
                let (form, fast, generic) = both_ways(bytes, |st| {
                    st.set_reg(0, a);
                    st.set_reg(1, b);
                });
                assert!(
                    matches!(form, Form::Alu | Form::Compare | Form::Zero | Form::MoveImm),
                    "{bytes:x?}: {form:?}"
                );
                if fast.is_some() {
                    answered += 1;
                    assert_eq!(fast, generic, "{bytes:x?} on {a:?}, {b:?}");
                }
            }
        }
        assert!(
            answered > 1200,
            "only {answered} steps taken by the fast path"
        );
    }

    /// `offset_by`'s way for numbers without a relation gives what
    /// `Num::add` gives (the rule `step` and the pointer forms share), on
    /// ranges near every wrap and on random numbers.
    /// `State::move_reg` (the 64-bit `mov` in the value domain) gives what
    /// `set_reg(d, copy_reg(s, ip))` gives, names included.
    #[test]
    fn move_reg_is_set_reg_of_copy_reg() {
        let mut rng = Rng(0x0e0e_c0de_0000_0007);
        let mut tagged = 0;
        for _ in 0..5000 {
            let mut st = State::empty();
            for r in 0..16 {
                st.set_reg(r, random_val(&mut rng));
            }
            let (d, s) = ((rng.next() % 16) as usize, (rng.next() % 16) as usize);
            // Addresses 0-3: names 1 and 2 are also `random_val`'s.
            let ip = rng.next() % 4;
            let mut want = st.clone();
            let v = want.copy_reg(s, ip);
            want.set_reg(d, v);
            let before = format!("{st:?}");
            st.move_reg(d, s, ip);
            assert_eq!(st, want, "mov {d}, {s} at {ip} in {before}");
            assert_eq!(format!("{st:?}"), format!("{want:?}"));
            tagged += usize::from(before != format!("{want:?}") && d == s);
        }
        assert!(tagged > 20, "{tagged}");
    }

    /// `add_to_num_in_place` gives what `offset_by` of the register's value
    /// gives, and leaves every other register (and value kind) alone.
    #[test]
    fn add_in_place_is_offset_by() {
        use crate::interp::offset_by;
        let mut rng = Rng(0x0add_1e55_0000_0001);
        let ks = [0i64, 1, -1, 8, -8, 4096, i64::MAX, i64::MIN, 1 << 40];
        let (mut hits, mut misses) = (0, 0);
        for _ in 0..3000 {
            let mut st = State::empty();
            for r in 0..16 {
                st.set_reg(r, random_val(&mut rng));
            }
            let d = (rng.next() % 16) as usize;
            let k = ks[(rng.next() % ks.len() as u64) as usize];
            let mut want = st.clone();
            want.set_reg(d, offset_by(st.reg(d), k));
            let before = st.clone();
            if add_to_num_in_place(&mut st, d, k) {
                hits += 1;
                assert_eq!(st, want, "{:?} + {k}", before.reg(d));
            } else {
                misses += 1;
                assert_eq!(st, before);
                assert!(!matches!(st.reg(d), Val::Num(n) if !n.rel.is_some()));
            }
        }
        assert!(hits > 100 && misses > 100, "{hits} {misses}");
    }

    #[test]
    fn offset_by_is_num_add() {
        use crate::interp::offset_by;
        use crate::num::Num;
        use crate::scalar::Scalar;
        let mut nums = vec![
            Num::unknown(),
            Num::constant(0),
            Num::constant(u64::MAX),
            Num::constant(i64::MAX as u64),
            Num::scalar(Scalar::range_s(i64::MAX - 3, i64::MAX)),
            Num::scalar(Scalar::range_s(i64::MIN, i64::MIN + 3)),
            Num::scalar(Scalar::range_u(u64::MAX - 3, u64::MAX)),
            Num::scalar(Scalar::range_u(0, 5)),
            Num::scalar(Scalar::range_s(-3, 9)),
            Num::scalar(Scalar::range_u(0, 64).shl(Scalar::constant(3), 64)),
            Num {
                id: 7,
                ..Num::scalar(Scalar::range_s(1, 4))
            },
        ];
        let mut rng = Rng(0x5eed_0ff5_e7b1_0000);
        nums.extend((0..300).map(|_| random_num(&mut rng)));
        let ks = [0i64, 1, -1, 8, -8, 4096, i64::MAX, i64::MIN, 1 << 40];
        for n in nums {
            for k in ks {
                let want = Val::num(n.add(Num::constant(k as u64), 8));
                assert_eq!(offset_by(Val::Num(n), k), want, "{n:?} + {k}");
            }
        }
    }

    /// `mov rsi, [rdi + rdx * 8 - 8]` with `rdi` a stack pointer (or
    /// another value) and every kind of index: the same state as `step`
    /// wherever the fast path answers, and it answers for numbered indexes
    /// into written stack bytes.
    #[test]
    fn stack_array_loads_equal_the_generic_step() {
        use crate::num::{Num, Rel};
        use crate::scalar::Scalar;
        let index = [
            Val::Data(8),
            Val::Data(4),
            Val::Stack(-8),
            Val::Param(0, 0),
            Val::num(Num::constant(2)),
            Val::num(Num::scalar(Scalar::range_s(1, 4))),
            Val::num(Num::scalar(Scalar::range_s(1, 5))),
            Val::num(Num::scalar(Scalar::range_s(0, 9))),
            Val::num(Num::scalar(Scalar::range_s(-3, 2))),
            Val::Ptr(0, Num::constant(0)),
            Val::Ptr(
                0,
                Num {
                    rel: Rel::exact(1, 3, 0),
                    ..Num::scalar(Scalar::range_s(0, 64))
                },
            ),
        ];
        let bases = [
            Val::Stack(-40),
            Val::Stack(-48),
            Val::Data(8),
            Val::Ptr(0, Num::constant(0)),
        ];
        // `mov rsi, [rdi + rdx * 8 - 8]` and `[rdi + rdx - 8]`.
        let loads = [
            [0x48, 0x8b, 0x74, 0xd7, 0xf8],
            [0x48, 0x8b, 0x74, 0x17, 0xf8],
        ];
        let mut answered = 0;
        for (base, ix) in bases
            .iter()
            .flat_map(|b| index.iter().map(move |i| (*b, *i)))
        {
            for (written, load) in [8, 16, 40]
                .into_iter()
                .flat_map(|w| loads.iter().map(move |l| (w, l)))
            {
                let (form, fast, generic) = both_ways(load, |st| {
                    st.set_reg(RSP, Val::Stack(-48));
                    st.store(-written, 8, Val::Data(8));
                    st.store(-40, 32, Val::Data(8));
                    st.set_reg(7, base);
                    st.set_reg(2, ix);
                });
                assert_eq!(form, Form::LoadIndexed);
                if fast.is_some() {
                    answered += 1;
                    assert_eq!(fast, generic, "{base:?}[{ix:?}]");
                }
            }
        }
        assert!(answered >= 9, "only {answered} loads answered");
    }
}
