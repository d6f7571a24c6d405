//! The transfer function: the effect of one instruction on a [`State`].
//!
//! In: the state before a reachable instruction, the instruction and iced's
//! [`InstructionInfo`] for it (registers and memory it reads and writes, flags).
//! Out: the state after it, or the rule it breaks on this path. iced supplies
//! *which* locations are touched; this module supplies *what* they hold:
//! moves of 64-bit values keep pointers and saved callee-saved values intact,
//! `add/sub/lea` with constants move pointers, everything else yields data.

use iced_x86::{Code, Instruction, Mnemonic, OpAccess, OpKind, Register, UsedMemory, UsedRegister};

use crate::access::{load_range, moved, stack_range};
use crate::num::{Num, Rel, Syms};
use crate::policy::PointerAccess;
use crate::scalar::Scalar;
use crate::signature::Param;
use crate::state::{ARITH_FLAGS, Load, RSP, State, Val};
use crate::{Policy, SigType, Signature, ViolationKind as K};

/// SysV integer argument registers, as register-file indices.
pub(crate) const ARG_REGS: [usize; 6] = [7, 6, 2, 1, 8, 9];
/// Callee-saved registers (rbx rbp r12-r15).
const CALLEE_SAVED: [usize; 6] = [3, 5, 12, 13, 14, 15];
/// Registers a SysV call may clobber.
pub(crate) const CALLER_SAVED: [usize; 9] = [0, 1, 2, 6, 7, 8, 9, 10, 11];
/// Size of the SysV red zone.
const RED_ZONE: i64 = 128;
/// The guard below a thread's stack is at least one page: a stack access
/// (or `rsp`) at most this far below the deepest byte already touched lands
/// in mapped stack or in the guard, never beyond it (stack clash).
pub(crate) const PAGE: i64 = 4096;

/// Fixed facts for one validation.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) policy: &'a Policy,
    pub(crate) sig: &'a Signature,
    pub(crate) red_zone: i64,
    pub(crate) max_frame: i64,
    /// Bit `r` set if general-purpose register `r` is reserved by policy.
    pub(crate) reserved: u16,
    /// Length of the code: `rip`-relative loads inside it read constants.
    pub(crate) code_len: u64,
    /// What the caller promises about each extent parameter: a reference
    /// (to [`Ctx::entry_syms_of`]'s result, or to the constant
    /// [`crate::num::NO_SYMS`] without buffers), so no validation copies the
    /// table into the context.
    pub(crate) entry_syms: &'a Syms,
    /// The helper each `uses` name resolves to in the policy (`None`: the
    /// policy has no helper of that name).
    pub(crate) imports: Imports<'a>,
    /// Whether the signature has a buffer parameter.
    pub(crate) has_buffer: bool,
    /// Whether the value domain runs (ranges, relations, comparisons): only
    /// for code that needs it (buffers, indexed memory operands, division);
    /// other code is proven exactly as before, at the old speed.
    pub(crate) rich: bool,
}

impl<'a> Ctx<'a> {
    /// The context of one validation; `entry_syms` is
    /// [`Ctx::entry_syms_of`]`(policy, sig)` (or the constant it equals).
    // Inlined, so the context is built where it lives, not in a temporary
    // copied there.
    #[inline(always)]
    pub(crate) fn new(
        policy: &'a Policy,
        sig: &'a Signature,
        code_len: usize,
        entry_syms: &'a Syms,
    ) -> Ctx<'a> {
        let has_buffer = sig.has_buffer();
        // No imports at first, resolved after for a signature with `uses`:
        // chosen inside the literal, the whole import array was written to a
        // temporary and copied in (the tag alone is written this way).
        let mut ctx = Ctx {
            code_len: code_len as u64,
            entry_syms,
            imports: Imports::default(),
            has_buffer,
            rich: true,
            policy,
            sig,
            red_zone: if policy.allow_red_zone { RED_ZONE } else { 0 },
            max_frame: i64::from(policy.max_frame.min(crate::policy::MAX_FRAME_LIMIT)),
            // A reserved register that is not a GPR never matches a GPR.
            reserved: policy
                .reserved
                .iter()
                .filter(|r| r.is_gpr())
                .fold(0, |m, &r| m | 1 << gpr(r)),
        };
        if sig.has_uses() {
            ctx.imports = Imports::resolve(sig, policy);
        }
        ctx
    }

    /// The symbol facts [`Ctx::new`] takes for `sig` under `policy`: only
    /// buffers with extent parameters give any, so without a buffer this is
    /// [`crate::num::NO_SYMS`] (which callers may borrow instead).
    pub(crate) fn entry_syms_of(policy: &Policy, sig: &Signature) -> Syms {
        if !sig.has_buffer() {
            return crate::num::NO_SYMS;
        }
        let mut syms = Ctx::entry_syms(sig);
        if policy.assumed_args.is_some() {
            Ctx::assume_extents(sig, policy, &mut syms);
        }
        syms
    }

    /// Overwrites `st` with the state at the first instruction (reusing its
    /// slot buffer).
    pub(crate) fn entry_state_into(&self, st: &mut State) {
        st.clear_regs();
        st.set_reg(RSP, Val::Stack(0));
        for r in CALLEE_SAVED {
            st.set_reg(r, Val::Entry(r as u8));
        }
        for (i, p) in self.sig.full_params().enumerate() {
            let r = ARG_REGS[i];
            match p {
                Param::Scalar(SigType::Pointer) => st.set_reg(r, Val::Param(i as u8, 0)),
                Param::Buffer(_) => st.set_reg(r, Val::Ptr(i as u8, Num::constant(0))),
                Param::Scalar(t) => match self.entry_syms[i] {
                    // An extent parameter: exactly its symbol.
                    Some((lo, hi)) => st.set_reg(
                        r,
                        Val::Num(Num {
                            s: Scalar::range_s(lo, hi),
                            rel: Rel::exact(i as u8, 0, 0),
                            id: crate::num::NO_ID,
                        }),
                    ),
                    None => st.set_reg(r, Val::Data(t.width())),
                },
            }
        }
        if self.policy.assumed_args.is_some() {
            self.assume_args(st);
        }
        st.cmp = None;
        if self.has_buffer {
            st.set_syms(self.entry_syms);
        } else {
            // Extent parameters come with buffers: no symbol facts.
            debug_assert!(*self.entry_syms == crate::num::NO_SYMS);
            st.clear_syms();
        }
        // A state reused from an earlier validation may say `rdx` holds
        // `rax`'s sign extension (every write of `rax` clears it, so it was
        // never read before `rax` was written, but the entry state is exact).
        st.sext = 0;
        st.flags = 0;
        st.touched = 0;
        st.slots.clear();
    }
}

/// [`Ctx::imports`]: the helper of each `uses` name, in a fixed array (no
/// allocation per validation); reads as a slice of its names' entries.
/// Empty (`None`) for a signature without `uses`: then building the
/// context writes a tag, not the whole array.
#[derive(Debug, Default)]
pub(crate) struct Imports<'a>(Option<Resolved<'a>>);

#[derive(Debug)]
struct Resolved<'a> {
    helpers: [Option<&'a crate::Helper>; crate::MAX_USES],
    len: usize,
}

impl<'a> Imports<'a> {
    #[cold]
    fn resolve(sig: &Signature, policy: &'a Policy) -> Imports<'a> {
        let mut r = Resolved {
            helpers: [None; crate::MAX_USES],
            len: 0,
        };
        for (slot, name) in r.helpers.iter_mut().zip(sig.uses()) {
            *slot = policy.helpers.iter().find(|h| h.name == name);
            r.len += 1;
        }
        Imports(Some(r))
    }
}

impl<'a> std::ops::Deref for Imports<'a> {
    type Target = [Option<&'a crate::Helper>];
    fn deref(&self) -> &Self::Target {
        self.0.as_ref().map_or(&[], |r| &r.helpers[..r.len])
    }
}

impl Ctx<'_> {
    /// The scalar parameters (not extents) [`crate::Policy::assumed_args`]
    /// gives values, as those constants.
    #[cold]
    fn assume_args(&self, st: &mut State) {
        for (i, p) in self.sig.full_params().enumerate() {
            if let (Param::Scalar(t), None) = (p, self.entry_syms[i])
                && let Some(v) = self.policy.assumed(i, t)
            {
                st.set_reg(ARG_REGS[i], Val::Num(Num::constant(v)));
            }
        }
    }
}

/// Register-file index of a general-purpose register.
pub(crate) fn gpr(r: Register) -> usize {
    r.full_register().number() & 15
}

fn is_high_byte(r: Register) -> bool {
    matches!(r, Register::AH | Register::CH | Register::DH | Register::BH)
}

/// Bytes that must be defined to read `r`.
pub(crate) fn read_width(r: Register) -> u8 {
    if is_high_byte(r) { 2 } else { r.size() as u8 }
}

/// The value of a register after a plain (data) write through `r`.
pub(crate) fn data_write(old: Val, r: Register) -> Val {
    let w = r.size() as u8;
    if w >= 4 {
        // 32-bit writes zero-extend; iced reports them as the 64-bit register.
        return Val::Data(8);
    }
    let old_def = match old {
        Val::Stack(_) | Val::Param(..) => 8,
        v => v.defined_bytes(),
    };
    if is_high_byte(r) {
        if old_def >= 1 {
            Val::Data(old_def.max(2))
        } else {
            Val::Undef
        }
    } else {
        Val::Data(old_def.max(w))
    }
}

fn is_read(a: OpAccess) -> bool {
    matches!(
        a,
        OpAccess::Read | OpAccess::CondRead | OpAccess::ReadWrite | OpAccess::ReadCondWrite
    )
}

pub(crate) fn is_write(a: OpAccess) -> bool {
    matches!(
        a,
        OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
    )
}

pub(crate) fn is_cond_write(a: OpAccess) -> bool {
    matches!(a, OpAccess::CondWrite | OpAccess::ReadCondWrite)
}

fn reg64(ins: &Instruction, op: u32) -> Option<usize> {
    (ins.op_kind(op) == OpKind::Register && ins.op_register(op).is_gpr64())
        .then(|| gpr(ins.op_register(op)))
}

pub(crate) fn imm(ins: &Instruction, op: u32) -> Option<i64> {
    match ins.op_kind(op) {
        OpKind::Immediate8to64
        | OpKind::Immediate32to64
        | OpKind::Immediate8to32
        | OpKind::Immediate8
        | OpKind::Immediate32 => Some(ins.immediate(op) as i64),
        _ => None,
    }
}

/// Where a memory operand points.
pub(crate) enum Place {
    /// Entry-rsp-relative stack offset.
    Stack(i64),
    /// Inside a pointer parameter's window.
    Param,
    /// Inside the code itself (a `rip`-relative load of a constant).
    Code,
    /// Inside a buffer parameter (proven in bounds).
    Buffer,
    /// Somewhere in `[lo, hi)` of the stack frame (an indexed access).
    StackRange(i64, i64),
}

/// Whether `m` is a `cmovcc` (reads flags, conditionally writes its destination).
pub(crate) fn is_cmovcc(m: Mnemonic) -> bool {
    use Mnemonic as M;
    matches!(
        m,
        M::Cmovo
            | M::Cmovno
            | M::Cmovb
            | M::Cmovae
            | M::Cmove
            | M::Cmovne
            | M::Cmovbe
            | M::Cmova
            | M::Cmovs
            | M::Cmovns
            | M::Cmovp
            | M::Cmovnp
            | M::Cmovl
            | M::Cmovge
            | M::Cmovle
            | M::Cmovg
    )
}

/// Whether `m` is a `setcc` (reads flags, writes a byte).
pub(crate) fn is_setcc(m: Mnemonic) -> bool {
    use Mnemonic as M;
    matches!(
        m,
        M::Seto
            | M::Setno
            | M::Setb
            | M::Setae
            | M::Sete
            | M::Setne
            | M::Setbe
            | M::Seta
            | M::Sets
            | M::Setns
            | M::Setp
            | M::Setnp
            | M::Setl
            | M::Setge
            | M::Setle
            | M::Setg
    )
}

/// Whether `m` is `jmp` or a `jcc` (not `loop`/`jrcxz`, which read `rcx`).
/// Reaching the interpreter, such an instruction is a direct near branch.
pub(crate) fn is_direct_jump(m: Mnemonic) -> bool {
    use Mnemonic as M;
    matches!(
        m,
        M::Jmp
            | M::Jo
            | M::Jno
            | M::Jb
            | M::Jae
            | M::Je
            | M::Jne
            | M::Jbe
            | M::Ja
            | M::Js
            | M::Jns
            | M::Jp
            | M::Jnp
            | M::Jl
            | M::Jge
            | M::Jle
            | M::Jg
    )
}

/// The effect of one reachable instruction (not `ret`/`call`, see below).
pub(crate) fn step(
    ctx: &Ctx<'_>,
    st: &mut State,
    ins: &Instruction,
    regs: &[UsedRegister],
    mems: &[UsedMemory],
    flags: Flags,
) -> Result<(), K> {
    // A load through an index (a stack array, a buffer) has a shorter way.
    match crate::access::indexed_load(ctx, st, ins, regs, mems, flags) {
        Some(result) => result,
        None => generic(ctx, st, ins, regs, mems, flags),
    }
}

/// [`step`] by the rules for every instruction.
pub(crate) fn generic(
    ctx: &Ctx<'_>,
    st: &mut State,
    ins: &Instruction,
    regs: &[UsedRegister],
    mems: &[UsedMemory],
    flags: Flags,
) -> Result<(), K> {
    use Mnemonic as M;
    let m = ins.mnemonic();
    if crate::classify::is_string(ins) {
        // Only `rep` with 64-bit addresses and no segment override.
        return match crate::classify::rep_string_width(ins) {
            Some(w) => crate::calls::rep_string(ctx, st, ins, w),
            None => Err(K::Unsupported),
        };
    }
    check_registers(ctx, regs)?;
    if flags.read & !st.flags != 0 {
        return Err(K::UndefinedFlagsRead {
            flags: flags.read & !st.flags,
        });
    }
    // Instructions stepped by hand are matched on their exact `Code` (the
    // classifier admits no other `Code` of these mnemonics).
    let code = ins.code();
    match code {
        Code::Retnq => return check_ret(ctx, st),
        Code::Call_rel32_64 => return crate::calls::call(ctx, st, ins),
        Code::Call_rm64 => return crate::calls::import_call(ctx, st, ins),
        Code::Leaveq => return leave(ctx, st),
        _ => {}
    }
    // Pure 64-bit moves may carry a saved callee-saved value around.
    let is_move = match code {
        Code::Mov_r64_rm64 | Code::Mov_rm64_r64 => true,
        Code::Push_r64 | Code::Pop_r64 => true,
        Code::Pop_rm64 => ins.op0_kind() == OpKind::Register,
        Code::Xchg_r64_RAX | Code::Xchg_rm64_r64 => {
            reg64(ins, 0).is_some() && reg64(ins, 1).is_some()
        }
        _ => false,
    };
    // `sbb r, r` depends only on CF, `or r, -1` and `and r, 0` on nothing
    // (iced reports the register as read).
    let idiom = (ins.op_kind(0) == OpKind::Register
        && ((m == M::Sbb
            && ins.op_kind(1) == OpKind::Register
            && ins.op0_register() == ins.op1_register())
            || (matches!(m, M::Or | M::And) && is_constant_result(ins))))
    .then(|| ins.op0_register());
    check_reads(st, regs, is_move, idiom)?;

    if is_probe(ins) {
        return probe(ctx, st, mems, flags);
    }
    let rsp0 = st.rsp();
    let pushes_or_pops = matches!(
        code,
        Code::Push_r64
            | Code::Pushq_imm8
            | Code::Pushq_imm32
            | Code::Push_rm64
            | Code::Pop_r64
            | Code::Pop_rm64
    );
    let rsp1 = if pushes_or_pops {
        rsp0 + i64::from(ins.stack_pointer_increment())
    } else {
        rsp0
    };
    let lo = rsp0.min(rsp1) - ctx.red_zone;

    // Memory reads (all against the state before the instruction).
    let mut loaded = None;
    for mem in mems.iter().filter(|mem| is_read(mem.access())) {
        loaded = Some(load(ctx, st, ins, mem, lo, is_move)?);
    }

    // Value-tracking special cases: the register (if any) they define.
    let mut special: Option<(usize, Val)> = None;
    let mut stored: Option<Val> = None;
    match code {
        Code::Mov_r64_rm64 | Code::Mov_rm64_r64 => match (reg64(ins, 0), reg64(ins, 1)) {
            (Some(d), Some(s)) if ctx.rich && d != RSP => {
                special = Some((d, st.copy_reg(s, ins.ip())));
            }
            (Some(d), Some(s)) => special = Some((d, st.reg(s))),
            (Some(d), None) if ins.op1_kind() == OpKind::Memory => {
                special = Some((d, loaded.unwrap_or(Val::Data(8))));
            }
            (None, Some(s)) => stored = Some(st.reg(s)),
            _ => {}
        },
        Code::Push_r64 => {
            if let Some(s) = reg64(ins, 0) {
                stored = Some(st.reg(s));
            }
        }
        Code::Pop_r64 | Code::Pop_rm64 => {
            if let Some(d) = reg64(ins, 0) {
                if d == RSP {
                    return Err(K::StackPointerUnknown);
                }
                special = Some((d, loaded.unwrap_or(Val::Data(8))));
            }
        }
        Code::Lea_r64_m => {
            if let Some(d) = reg64(ins, 0) {
                let base = ins.memory_base();
                let v = if ins.memory_index() == Register::None && base.is_gpr64() {
                    offset_by(st.reg(gpr(base)), ins.memory_displacement64() as i64)
                } else {
                    Val::Data(8)
                };
                special = Some((d, v));
            }
        }
        Code::Add_rm64_imm8
        | Code::Add_rm64_imm32
        | Code::Add_RAX_imm32
        | Code::Sub_rm64_imm8
        | Code::Sub_rm64_imm32
        | Code::Sub_RAX_imm32 => {
            if let (Some(d), Some(k)) = (reg64(ins, 0), imm(ins, 1)) {
                let k = if m == M::Sub {
                    k.checked_neg()
                } else {
                    Some(k)
                };
                let v = match k {
                    Some(k) => offset_by(st.reg(d), k),
                    None => Val::Data(8),
                };
                special = Some((d, v));
            }
        }
        Code::Xchg_r64_RAX | Code::Xchg_rm64_r64 if is_move => {
            if let (Some(a), Some(b)) = (reg64(ins, 0), reg64(ins, 1)) {
                if a == RSP || b == RSP {
                    return Err(K::StackPointerUnknown);
                }
                let (va, vb) = (st.reg(a), st.reg(b));
                st.set_reg(a, vb);
                st.set_reg(b, va);
                st.cmp = None;
                st.sext = 0;
                update_flags(st, ins, flags);
                return Ok(());
            }
        }
        _ => {}
    }

    // `values::computed` has no rule for 64-bit moves (they are above).
    if ctx.rich
        && !is_move
        && let Some(v) = crate::values::computed(st, ins, loaded.as_ref())
    {
        special = Some(v);
    }
    // Division the policy does not allow to trap must be proven not to.
    let divided = if matches!(m, M::Div | M::Idiv) && !ctx.policy.allow_division {
        Some(crate::values::division(st, ins).map_err(|risk| K::DivisionUnproven { risk })?)
    } else {
        None
    };
    // A `cmov` after a comparison: each operand narrowed by its condition.
    let exact_cmov = is_cmovcc(m)
        && match crate::refine::cmov(ctx, st, ins) {
            Some(v) => {
                special = Some(v);
                true
            }
            None => false,
        };

    // Memory writes.
    for mem in mems {
        if !is_write(mem.access()) {
            continue;
        }
        let size = mem_size(mem)?;
        match place(ctx, st, mem, lo, size, true, false)? {
            Place::Stack(off) => {
                if is_cond_write(mem.access()) {
                    st.forget(off, off + i64::from(size));
                } else {
                    st.store(off, size, stored.unwrap_or(Val::Data(size)));
                }
                st.touched = st.touched.min(off);
            }
            // The caller could read a callee-saved entry value back as data.
            Place::Param | Place::Buffer if matches!(stored, Some(Val::Entry(_))) => {
                return Err(K::EntryValueEscapes);
            }
            Place::Param | Place::Code | Place::Buffer => {}
            Place::StackRange(lo, hi) => {
                st.demote_range(lo, hi);
                st.touched = st.touched.min(hi - i64::from(size));
            }
        }
    }

    // Register writes.
    let mut new_rsp = rsp1;
    let mut writes_rax_or_rdx = false;
    for u in regs {
        if !is_write(u.access()) {
            continue;
        }
        let r = u.register();
        let idx = gpr(r);
        writes_rax_or_rdx |= matches!(idx, 0 | 2);
        if idx == RSP {
            match (m, special) {
                (M::Push | M::Pop, _) => {}
                (_, Some((RSP, Val::Stack(k)))) if r == Register::RSP => new_rsp = k,
                _ => return Err(K::StackPointerUnknown),
            }
            continue;
        }
        let new = match special {
            Some((d, v)) if d == idx && r.is_gpr64() => v,
            _ => data_write(st.reg(idx), r),
        };
        let v = if is_cond_write(u.access()) && !exact_cmov {
            st.reg(idx).join(new)
        } else {
            new
        };
        st.set_reg(idx, v);
    }
    if let Some((quotient, remainder)) = divided {
        st.set_reg(0, quotient);
        st.set_reg(2, remainder);
    }
    // `rsp` left where it was needs no check: it passed them when it was
    // set, and the stack touched since only moved down (which no check
    // rejects).
    if new_rsp != rsp0 {
        set_rsp(ctx, st, new_rsp)?;
    }
    update_flags(st, ins, flags);
    track_comparison(ctx, st, ins, regs, flags);
    // `rdx` as the sign extension of `rax` (what `idiv` needs).
    st.sext = match code {
        Code::Cqo => 8,
        Code::Cdq => 4,
        _ if writes_rax_or_rdx => 0,
        _ => st.sext,
    };
    Ok(())
}

/// Keeps [`State::cmp`] true: a flag write replaces it (by the comparison
/// if the instruction is one), a write to a compared register drops it.
pub(crate) fn track_comparison(
    ctx: &Ctx<'_>,
    st: &mut State,
    ins: &Instruction,
    regs: &[UsedRegister],
    flags: Flags,
) {
    if (flags.modified | flags.undefined) != 0 {
        st.cmp = if ctx.rich {
            crate::values::comparison(ins)
        } else {
            None
        };
    } else if let Some(c) = st.cmp {
        let hit = regs.iter().any(|u| {
            is_write(u.access()) && {
                let r = gpr(u.register()) as u8;
                r == c.a || r == c.b
            }
        });
        if hit {
            st.cmp = None;
        }
    }
}

/// The first register rules: only general-purpose registers, none that
/// the policy reserves.
#[inline]
pub(crate) fn check_registers(ctx: &Ctx<'_>, regs: &[UsedRegister]) -> Result<(), K> {
    for u in regs {
        let r = u.register();
        if !r.is_gpr() {
            return Err(K::Unsupported);
        }
        if ctx.reserved & 1 << gpr(r) != 0 {
            return Err(K::ReservedRegister { register: r });
        }
    }
    Ok(())
}

/// Every register read holds defined bytes, except `idiom` (read only in
/// name) and, for a 64-bit move (`is_move`), a saved callee-saved value.
#[inline]
pub(crate) fn check_reads(
    st: &State,
    regs: &[UsedRegister],
    is_move: bool,
    idiom: Option<Register>,
) -> Result<(), K> {
    for u in regs {
        if !is_read(u.access()) || Some(u.register()) == idiom {
            continue;
        }
        let r = u.register();
        let v = &st.reg(gpr(r));
        if is_move && r.is_gpr64() && matches!(v, Val::Entry(_)) {
            continue;
        }
        if v.defined_bytes() < read_width(r) {
            return Err(K::UndefinedRegisterRead { register: r });
        }
    }
    Ok(())
}

/// What memory read `mem` loads (`lo`: the lowest stack offset the
/// instruction may touch; a 64-bit move, `is_move`, may load a saved
/// callee-saved value), recording the stack it touches.
#[inline]
pub(crate) fn load(
    ctx: &Ctx<'_>,
    st: &mut State,
    ins: &Instruction,
    mem: &UsedMemory,
    lo: i64,
    is_move: bool,
) -> Result<Val, K> {
    let size = mem_size(mem)?;
    Ok(
        match place(
            ctx,
            st,
            mem,
            lo,
            size,
            false,
            ins.is_ip_rel_memory_operand(),
        )? {
            Place::Stack(off) => {
                let v = match st.load(off, size) {
                    Load::Missing(at) => return Err(K::UninitializedStackRead { offset: at }),
                    Load::Value(Val::Entry(_)) if !is_move => {
                        return Err(K::UninitializedStackRead { offset: off });
                    }
                    Load::Value(v) => v,
                };
                st.touched = st.touched.min(off);
                v
            }
            Place::Param | Place::Code | Place::Buffer => Val::Data(size),
            Place::StackRange(lo, hi) => {
                let v = load_range(st, lo, hi)?;
                st.touched = st.touched.min(hi - i64::from(size));
                v
            }
        },
    )
}

pub(crate) fn offset_by(v: Val, k: i64) -> Val {
    match v {
        // Without a relation or an identity, `Num::add` of a constant at 64
        // bits is the scalar sum alone (`offset_by_is_num_add` checks it).
        Val::Num(n) if !n.rel.is_some() => Val::num(Num::scalar(
            n.s.add(crate::scalar::Scalar::constant(k as u64)),
        )),
        Val::Num(n) => Val::num(n.add(Num::constant(k as u64), 8)),
        Val::Ptr(i, n) => Val::Ptr(i, n.add(Num::constant(k as u64), 8)),
        Val::Stack(o) => o.checked_add(k).map_or(Val::Data(8), Val::Stack),
        Val::Param(i, o) => o.checked_add(k).map_or(Val::Data(8), |o| Val::Param(i, o)),
        v if v.defined_bytes() == 8 => Val::Data(8),
        _ => Val::Undef,
    }
}

fn mem_size(mem: &UsedMemory) -> Result<u8, K> {
    match mem.memory_size().size() {
        s @ 1..=8 => Ok(s as u8),
        _ => Err(K::Unsupported),
    }
}

/// Resolves a memory operand to a stack or pointer-parameter location and
/// checks it is inside the frame (`[lo, 0)`) or the pointer window.
#[allow(clippy::too_many_arguments)]
fn place(
    ctx: &Ctx<'_>,
    st: &State,
    mem: &UsedMemory,
    lo: i64,
    size: u8,
    write: bool,
    rip_relative: bool,
) -> Result<Place, K> {
    let base = mem.base();
    // `[eip+d]` (a `67` prefix) wraps at 4 GiB: it does not address the code.
    if rip_relative && mem.address_size() != iced_x86::CodeSize::Code64 {
        return Err(K::MemoryOutsideFrame);
    }
    // iced reports a `rip`-relative operand as an absolute address (the code
    // starts at 0). Loads from inside the code read its bytes: constants.
    if rip_relative && mem.index() == Register::None {
        let start = mem.displacement();
        let inside = start
            .checked_add(u64::from(size))
            .is_some_and(|end| end <= ctx.code_len);
        return if inside && !write {
            Ok(Place::Code)
        } else {
            Err(K::MemoryOutsideFrame)
        };
    }
    if mem.address_size() != iced_x86::CodeSize::Code64 {
        return Err(K::MemoryOutsideFrame);
    }
    let index = mem.index();
    if index == Register::None {
        if !base.is_gpr64() {
            return Err(K::MemoryOutsideFrame);
        }
        return place_at(
            ctx,
            st,
            gpr(base),
            mem.displacement() as i64,
            lo,
            size,
            write,
        );
    }
    if !index.is_gpr64() {
        return Err(K::MemoryOutsideFrame);
    }
    let base = if base.is_gpr64() {
        Some(gpr(base))
    } else if base == Register::None {
        None
    } else {
        return Err(K::MemoryOutsideFrame);
    };
    let disp = mem.displacement() as i64;
    place_indexed(
        ctx,
        st,
        base,
        gpr(index),
        mem.scale(),
        disp,
        lo,
        size,
        write,
    )
}

/// Where `[base + index * scale + disp]` points (`base` and `index` are
/// register-file indices of 64-bit registers; no base: `None`): a buffer
/// access proven in bounds, or the stack bytes an index into the frame may
/// touch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn place_indexed(
    ctx: &Ctx<'_>,
    st: &State,
    base: Option<usize>,
    index: usize,
    scale: u32,
    disp: i64,
    lo: i64,
    size: u8,
    write: bool,
) -> Result<Place, K> {
    let iv = &st.reg(index);
    let bv = base.map(|b| st.reg(b));
    match (bv.as_ref(), iv) {
        (Some(&Val::Ptr(i, off)), ix) => {
            let ix = ix.as_num(8).ok_or(K::MemoryOutsideFrame)?;
            ctx.check_buffer(
                i,
                &moved(off, Some(ix), scale, disp),
                size,
                write,
                st.syms(),
            )
        }
        // `[index + base]` with the pointer as the index (scale 1).
        (b, &Val::Ptr(i, off)) if scale == 1 => {
            let bn = match b {
                Some(v) => Some(v.as_num(8).ok_or(K::MemoryOutsideFrame)?),
                None => None,
            };
            ctx.check_buffer(i, &moved(off, bn, 1, disp), size, write, st.syms())
        }
        (Some(&Val::Stack(k)), ix) => {
            let ix = ix.as_num(8).ok_or(K::MemoryOutsideFrame)?;
            stack_range(
                ctx,
                st,
                k,
                (ix.s.smin(), ix.s.smax()),
                scale,
                disp,
                lo,
                size,
            )
        }
        _ => Err(K::MemoryOutsideFrame),
    }
}

/// [`place`] for `[base + disp]` with a 64-bit base (its register-file
/// index), no index and 64-bit addressing (the checks `place` makes first).
#[inline]
pub(crate) fn place_at(
    ctx: &Ctx<'_>,
    st: &State,
    base: usize,
    disp: i64,
    lo: i64,
    size: u8,
    write: bool,
) -> Result<Place, K> {
    match st.reg(base & 15) {
        Val::Stack(k) => stack_place(ctx, st, k, disp, lo, size),
        Val::Param(_, k) => {
            let size = i64::from(size);
            let allowed = match ctx.policy.pointer_access {
                PointerAccess::Forbidden => false,
                PointerAccess::Read => !write,
                PointerAccess::ReadWrite => true,
            };
            let off = k.checked_add(disp).ok_or(K::MemoryOutsideFrame)?;
            if !allowed || off < 0 || off + size > i64::from(ctx.policy.pointer_window) {
                return Err(K::MemoryOutsideFrame);
            }
            Ok(Place::Param)
        }
        Val::Ptr(i, off) => ctx.check_buffer(i, &moved(off, None, 1, disp), size, write, st.syms()),
        _ => Err(K::MemoryOutsideFrame),
    }
}

/// [`place_at`] where the base is the stack pointer `k` (entry `rsp` + k).
#[inline]
pub(crate) fn stack_place(
    ctx: &Ctx<'_>,
    st: &State,
    k: i64,
    disp: i64,
    lo: i64,
    size: u8,
) -> Result<Place, K> {
    let off = k.checked_add(disp).ok_or(K::MemoryOutsideFrame)?;
    if off < lo || off + i64::from(size) > 0 || off < -(ctx.max_frame + ctx.red_zone) {
        return Err(K::MemoryOutsideFrame);
    }
    if off < st.touched - PAGE {
        return Err(clash(off, st.touched));
    }
    Ok(Place::Stack(off))
}

/// Moves `rsp`, checking the frame bound, and forgets the stack below the
/// part that survives signals (the red zone, if allowed).
pub(crate) fn set_rsp(ctx: &Ctx<'_>, st: &mut State, k: i64) -> Result<(), K> {
    if k > 0 || k < -ctx.max_frame {
        return Err(K::StackPointerOutOfFrame { offset: k });
    }
    // A signal frame is written just below `rsp` (and the red zone): `rsp`
    // itself stays within a page of the touched stack.
    if k < st.touched - PAGE {
        return Err(clash(k, st.touched));
    }
    let old = st.rsp();
    st.set_reg(RSP, Val::Stack(k));
    if k != old {
        st.forget(i64::MIN / 2, k - ctx.red_zone);
    }
    Ok(())
}

/// `or r, -1` and `and r, 0` (immediate forms): the result is a constant.
fn is_constant_result(ins: &Instruction) -> bool {
    use Code as C;
    let is_or = matches!(
        ins.code(),
        C::Or_rm8_imm8
            | C::Or_rm16_imm8
            | C::Or_rm16_imm16
            | C::Or_rm32_imm8
            | C::Or_rm32_imm32
            | C::Or_rm64_imm8
            | C::Or_rm64_imm32
    );
    let is_and = matches!(
        ins.code(),
        C::And_rm8_imm8
            | C::And_rm16_imm8
            | C::And_rm16_imm16
            | C::And_rm32_imm8
            | C::And_rm32_imm32
            | C::And_rm64_imm8
            | C::And_rm64_imm32
    );
    if !(is_or || is_and) || ins.op0_kind() != OpKind::Register {
        return false;
    }
    // The immediate as the operation sees it, at the register's width.
    let bits = ins.op0_register().size() as u32 * 8;
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let value = ins.immediate(1) & mask;
    (is_or && value == mask) || (is_and && value == 0)
}

/// A stack probe, `or qword/dword ptr [mem], 0` (what gcc's
/// `-fstack-clash-protection` emits): it rewrites the bytes with their own
/// value, so it neither reads them as data nor changes what is written.
fn is_probe(ins: &Instruction) -> bool {
    use Code as C;
    matches!(
        ins.code(),
        C::Or_rm64_imm8 | C::Or_rm64_imm32 | C::Or_rm32_imm8 | C::Or_rm32_imm32
    ) && ins.op0_kind() == OpKind::Memory
        && imm(ins, 1) == Some(0)
}

/// The effect of a probe: the access is checked and touches the stack; the
/// flags it sets depend on bytes that may be unwritten, so they become
/// undefined.
fn probe(ctx: &Ctx<'_>, st: &mut State, mems: &[UsedMemory], flags: Flags) -> Result<(), K> {
    let lo = st.rsp() - ctx.red_zone;
    for mem in mems {
        let size = mem_size(mem)?;
        if let Place::Stack(off) = place(ctx, st, mem, lo, size, true, false)? {
            st.touched = st.touched.min(off);
        }
    }
    st.flags &= !(flags.modified | flags.undefined);
    st.cmp = None;
    Ok(())
}

/// The stack-clash violation (offsets are bounded by the frame limit, so
/// they fit in 32 bits).
#[cold]
pub(crate) fn clash(offset: i64, touched: i64) -> K {
    let narrow = |v: i64| i32::try_from(v).unwrap_or(i32::MIN);
    K::StackClash {
        offset: narrow(offset),
        touched: narrow(touched),
    }
}

/// Records an access at `off` (entry-`rsp` relative) after checking the
/// stack-clash rule for it.
pub(crate) fn touch(st: &mut State, off: i64) -> Result<(), K> {
    if off < st.touched - PAGE {
        return Err(clash(off, st.touched));
    }
    st.touched = st.touched.min(off);
    Ok(())
}

/// The arithmetic flags one instruction reads, modifies and leaves
/// undefined (iced's `rflags_*` masked to [`ARITH_FLAGS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flags {
    pub(crate) read: u32,
    pub(crate) modified: u32,
    pub(crate) undefined: u32,
}

impl Flags {
    pub(crate) fn of(ins: &Instruction) -> Flags {
        Flags {
            read: ins.rflags_read() & ARITH_FLAGS,
            modified: ins.rflags_modified() & ARITH_FLAGS,
            undefined: ins.rflags_undefined() & ARITH_FLAGS,
        }
    }
}

pub(crate) fn is_shift(m: Mnemonic) -> bool {
    use Mnemonic as M;
    matches!(
        m,
        M::Shl | M::Sal | M::Shr | M::Sar | M::Rol | M::Ror | M::Rcl | M::Rcr | M::Shld | M::Shrd
    )
}

fn update_flags(st: &mut State, ins: &Instruction, flags: Flags) {
    let Flags {
        modified,
        undefined,
        ..
    } = flags;
    let count_may_be_zero = is_shift(ins.mnemonic())
        && !matches!(ins.mnemonic(), Mnemonic::Sal)
        && (0..ins.op_count())
            .any(|i| ins.op_kind(i) == OpKind::Register && ins.op_register(i) == Register::CL);
    st.flags = if count_may_be_zero {
        // A zero count leaves the flags alone: only already-defined ones stay.
        st.flags & !undefined
    } else {
        (st.flags | modified) & !undefined
    };
}

fn leave(ctx: &Ctx<'_>, st: &mut State) -> Result<(), K> {
    let k = match st.reg(5) {
        Val::Stack(k) => k,
        _ => return Err(K::StackPointerUnknown),
    };
    if k > -8 || k < -ctx.max_frame {
        return Err(K::StackPointerOutOfFrame { offset: k });
    }
    touch(st, k)?;
    let v = match st.load(k, 8) {
        Load::Value(v) => v,
        Load::Missing(at) => return Err(K::UninitializedStackRead { offset: at }),
    };
    st.set_reg(5, v);
    if st.cmp.is_some_and(|c| c.a == 5 || c.b == 5) {
        st.cmp = None;
    }
    set_rsp(ctx, st, k + 8)
}

/// Whether [`check_ret`] accepts `st`, as one inline test for the fast
/// `ret` (called out of line, the check and its 48-byte result cost ~50
/// instructions per validation; the generic step names the violation).
#[inline(always)]
pub(crate) fn ret_ok(ctx: &Ctx<'_>, st: &State) -> bool {
    st.rsp() == 0 && st.callee_saved_at_entry() && st.reg_defined_bytes(0) >= ctx.sig.ret().width()
}

pub(crate) fn check_ret(ctx: &Ctx<'_>, st: &State) -> Result<(), K> {
    let k = st.rsp();
    if k != 0 {
        return Err(K::StackNotRestored { offset: k });
    }
    // One test of all six; the first one changed is named out of line.
    if !st.callee_saved_at_entry() {
        return Err(clobbered_callee_saved(st));
    }
    if st.reg_defined_bytes(0) < ctx.sig.ret().width() {
        return Err(K::ReturnValueUndefined);
    }
    Ok(())
}

/// The violation of the first callee-saved register not holding its entry
/// value (one of them does not: [`State::callee_saved_at_entry`]).
#[cold]
fn clobbered_callee_saved(st: &State) -> K {
    let r = CALLEE_SAVED
        .into_iter()
        .find(|&r| st.reg(r) != Val::Entry(r as u8))
        .expect("a callee-saved register was changed");
    K::CalleeSavedClobbered {
        register: reg_of(r),
    }
}

pub(crate) fn reg_of(idx: usize) -> Register {
    const R: [Register; 16] = [
        Register::RAX,
        Register::RCX,
        Register::RDX,
        Register::RBX,
        Register::RSP,
        Register::RBP,
        Register::RSI,
        Register::RDI,
        Register::R8,
        Register::R9,
        Register::R10,
        Register::R11,
        Register::R12,
        Register::R13,
        Register::R14,
        Register::R15,
    ];
    R[idx & 15]
}
