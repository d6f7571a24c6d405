//! Branch refinement: what a conditional jump proves on each of its edges.
//!
//! In: the state at a `jcc` whose flags come from a `cmp`/`test` recorded in
//! [`State::cmp`], the jump's condition and the edge (taken or not). Out:
//! the state narrowed to the executions that take that edge, or `false`
//! when none can (the edge is dead and its target gets nothing from it).
//! Numbers are narrowed by their ranges ([`Scalar::refine`]) and relations
//! ([`refine_rel`]); a register that is exactly an extent parameter narrows
//! the symbol too, and copies of a narrowed number (the same value
//! identity, [`Num::id`]) are narrowed with it. Comparisons of two pointers into one buffer narrow their
//! offsets: for `==`/`!=` always (equal addresses are equal offsets), for
//! the order conditions only when both offsets are proven inside
//! `[0, end]`, where the buffer is real memory and addresses cannot wrap.

use iced_x86::ConditionCode as CC;

use crate::interp::Ctx;
use crate::num::{BOUND, NO_ID, Num, POS_INF, Rel, Syms, Thresholds, refine_rel};
use crate::scalar::{Cond, Scalar};
use crate::state::{CMP_IMM, Cmp, Flagged, State, Val};

/// The comparison `cmp a, b` a condition tests (for a [`Flagged::Logic`]
/// or [`Flagged::Result`] value, the comparison of `a` with 0).
#[inline(always)]
fn cond_of(cc: CC, kind: Flagged, taken: bool) -> Option<Cond> {
    use Flagged as F;
    let cc = if taken { cc } else { negate(cc)? };
    Some(match (cc, kind) {
        (CC::e, _) => Cond::Eq,
        (CC::ne, _) => Cond::Ne,
        (CC::s, F::Logic | F::Result) => Cond::Slt,
        (CC::ns, F::Logic | F::Result) => Cond::Sge,
        (CC::b, F::Sub) => Cond::Ult,
        (CC::ae, F::Sub) => Cond::Uge,
        (CC::be, F::Sub) => Cond::Ule,
        (CC::a, F::Sub) => Cond::Ugt,
        (CC::l, F::Sub | F::Logic) => Cond::Slt,
        (CC::ge, F::Sub | F::Logic) => Cond::Sge,
        (CC::le, F::Sub | F::Logic) => Cond::Sle,
        (CC::g, F::Sub | F::Logic) => Cond::Sgt,
        // After a logic operation CF and OF are 0.
        (CC::be, F::Logic) => Cond::Eq,
        (CC::a, F::Logic) => Cond::Ne,
        _ => return None,
    })
}

/// The condition that holds exactly when `cc` does not.
pub(crate) fn negate(cc: CC) -> Option<CC> {
    Some(match cc {
        CC::e => CC::ne,
        CC::ne => CC::e,
        CC::b => CC::ae,
        CC::ae => CC::b,
        CC::be => CC::a,
        CC::a => CC::be,
        CC::l => CC::ge,
        CC::ge => CC::l,
        CC::le => CC::g,
        CC::g => CC::le,
        CC::s => CC::ns,
        CC::ns => CC::s,
        _ => return None,
    })
}

/// Whether the comparison in the flags can narrow anything: one side is a
/// number with something known, a buffer pointer or a constant (two
/// unknown registers compared teach nothing worth the work).
pub(crate) fn informative(st: &State) -> bool {
    let Some(c) = st.cmp else { return false };
    c.b == CMP_IMM || st.reg_has_num(usize::from(c.a)) || st.reg_has_num(usize::from(c.b) & 15)
}

/// Narrows `st` to the executions taking this edge; `false` if none can.
/// Widening thresholds are recorded on the taken edge only: the validator
/// refines it first, in a copy of the state the other edge then refines,
/// so recording them again there would add nothing (the two conditions
/// pass the early returns alike: each is the other's negation).
pub(crate) fn refine_edge(
    ctx: &Ctx<'_>,
    st: &mut State,
    cc: CC,
    taken: bool,
    thresholds: &mut Thresholds,
) -> bool {
    match imm_edge(st, cc, taken, thresholds) {
        Some(live) => live,
        None => refine_edge_general(ctx, st, cc, taken, thresholds),
    }
}

/// [`refine_edge`] for the common case, a plain number (no relation, no
/// value identity) compared at 64 bits with an immediate (a loop counter
/// against its bound): the thresholds the general rule records and its
/// scalar narrowed by [`Scalar::refine_const`], without the general
/// rule's checks for pointers and 32-bit flags. `None` for anything else
/// (a proptest compares it with [`refine_edge_general`]).
#[inline]
fn imm_edge(st: &mut State, cc: CC, taken: bool, thresholds: &mut Thresholds) -> Option<bool> {
    let (cmp, a, x) = imm_compared(st)?;
    if x.rel.is_some() || x.id != NO_ID {
        return None;
    }
    let Some(cond) = cond_of(cc, cmp.kind, taken) else {
        return Some(true);
    };
    if taken {
        record_threshold(Some(&x), cmp.imm, thresholds);
    }
    // Not `refine_against_imm` itself: calling it (which reads the
    // register again) cost shape 3 +76 instructions.
    Some(narrow_to(st, a, x.s, cmp.imm as u64, cond))
}

/// Narrows register `a`'s number, whose range is `x`, to the values that
/// meet `cond` against `c` (written only if it changes); `false` if none
/// does (the edge is dead). The common tail of [`imm_edge`],
/// [`taken_in_place`] and [`refine_against_imm`], inline in each.
#[inline(always)]
fn narrow_to(st: &mut State, a: usize, x: Scalar, c: u64, cond: Cond) -> bool {
    match Scalar::refine_const(x, c, cond) {
        None => false,
        Some(s) => {
            if s != x {
                st.set_num_scalar(a, s);
            }
            true
        }
    }
}

/// The flags' comparison when it is a 64-bit `cmp` or flag-setting result
/// against an immediate (not a `test` mask) and its register holds a
/// number: the comparison, the register and its number (what
/// [`imm_edge`] and [`taken_in_place`] start from).
#[inline(always)]
fn imm_compared(st: &State) -> Option<(Cmp, usize, Num)> {
    let cmp = st.cmp?;
    if cmp.b != CMP_IMM || cmp.width != 8 || cmp.kind == Flagged::Mask {
        return None;
    }
    let a = usize::from(cmp.a);
    Some((cmp, a, *st.reg_num(a)?))
}

/// What the taken edge's call found out about the other edge of a
/// conditional jump: nothing, the other edge narrowed by the general rule
/// ([`refine_edge`]).
pub(crate) const NEXT_REFINE: u8 = 0;
/// The other edge is dead.
pub(crate) const NEXT_DEAD: u8 = 1;
/// The other edge is live and leaves the state unchanged.
pub(crate) const NEXT_LIVE: u8 = 2;
/// The other edge is live, and the compared register is the plain number
/// with the range [`taken_in_place`] gave.
pub(crate) const NEXT_RANGE: u8 = 3;
/// The other edge is dead, and the compared register is put back to the
/// plain number with the range [`taken_in_place`] gave (its range before
/// the taken edge narrowed it).
pub(crate) const NEXT_DEAD_AT: u8 = 4;

/// [`refine_edge`] of a taken edge in `st` itself, where that is
/// [`imm_edge`]'s case (a plain number, not every value, against an
/// immediate; its relation exactly [`Rel::NONE`], so that the plain number
/// [`Num::scalar`] builds is the register's number with another range):
/// it changes only that register's range, so the other
/// edge's call puts back the register the other edge needs, the plain
/// number with range `next_s`: what [`refine_edge`] of the other edge
/// gives the state before this narrowing ([`NEXT_RANGE`]), or the range
/// before it where the other edge is dead ([`NEXT_DEAD_AT`]); the other
/// edge records no threshold. No copy of the state for the taken edge.
/// `None` (and `next` left alone) for anything else. A test compares both
/// edges with [`refine_edge`] on copies.
pub(crate) fn taken_in_place(
    st: &mut State,
    cc: CC,
    thresholds: &mut Thresholds,
    next: &mut u8,
    next_s: &mut Scalar,
) -> Option<bool> {
    let (cmp, a, x) = imm_compared(st)?;
    if x.rel != Rel::NONE || x.id != NO_ID || x.s.is_unknown() {
        return None;
    }
    let (Some(cond), Some(other)) = (cond_of(cc, cmp.kind, true), cond_of(cc, cmp.kind, false))
    else {
        return None;
    };
    record_threshold(Some(&x), cmp.imm, thresholds);
    let c = cmp.imm as u64;
    (*next, *next_s) = match Scalar::refine_const(x.s, c, other) {
        None => (NEXT_DEAD_AT, x.s),
        Some(s) => (NEXT_RANGE, s),
    };
    Some(narrow_to(st, a, x.s, c, cond))
}

/// [`refine_edge`]'s general rule (out of line: its frame and saved
/// registers stay off [`imm_edge`]'s path).
#[inline(never)]
fn refine_edge_general(
    ctx: &Ctx<'_>,
    st: &mut State,
    cc: CC,
    taken: bool,
    thresholds: &mut Thresholds,
) -> bool {
    let Some(cmp) = st.cmp else { return true };
    if cmp.kind == Flagged::Mask {
        return refine_mask(st, cmp.a, cmp.imm as u64, cmp.width, cc, taken);
    }
    let Some(cond) = cond_of(cc, cmp.kind, taken) else {
        return true;
    };
    let b_reg = (cmp.b != CMP_IMM).then_some(usize::from(cmp.b));
    // The sign flag of a 32-bit result is bit 31, not the register's sign.
    let zero_only = cmp.width == 4 && cmp.kind != Flagged::Sub;
    if zero_only && !matches!(cond, Cond::Eq | Cond::Ne) {
        return true;
    }
    // Widening stops at compared immediates, and at the constant offsets of
    // two pointers into one buffer (a walk to an end pointer). A number in
    // a register that happens to be constant on the first pass (an
    // induction register before the loop has run) gives none: its values
    // would be thresholds the loop head then creeps through one iteration
    // at a time.
    let a = usize::from(cmp.a);
    if taken {
        match b_reg {
            None => record_threshold(st.reg_number(a), cmp.imm, thresholds),
            Some(rb) => {
                if let (Some((i, x)), Some((j, y))) = (st.reg_ptr(a), st.reg_ptr(rb))
                    && i == j
                {
                    for (v, c) in [(x, y), (y, x)] {
                        if let Some(c) = c.s.as_const() {
                            record_threshold(Some(v), c as i64, thresholds);
                        }
                    }
                }
            }
        }
    }
    // Two pointers into one buffer: their offsets are compared.
    let pointers = match (st.reg_ptr(a), b_reg.and_then(|r| st.reg_ptr(r))) {
        (Some((i, x)), Some((j, y))) if i == j && cmp.width == 8 => Some((i, *x, *y)),
        _ => None,
    };
    match pointers {
        Some((i, mut x, mut y)) => {
            let order = !matches!(cond, Cond::Eq | Cond::Ne);
            if order
                && !(ctx.within_buffer(i, &x, st.syms()) && ctx.within_buffer(i, &y, st.syms()))
            {
                return true;
            }
            if !refine_nums(&mut x, &mut y, cond, st.syms()) {
                return false;
            }
            // An offset that is exactly a multiple of a symbol narrows it.
            if !learn(st, &x) || !learn(st, &y) {
                return false;
            }
            st.set_ptr(a, i, x);
            if let Some(r) = b_reg {
                st.set_ptr(r, i, y);
            }
            true
        }
        None => {
            if let Some(holds) = decided(st, cmp.width, a, b_reg, cmp.imm, cond) {
                return holds;
            }
            if b_reg.is_none()
                && cmp.width == 8
                && let Some(live) = refine_against_imm(st, a, cmp.imm, cond)
            {
                return live;
            }
            refine_numbers(st, a, b_reg, cmp.imm, cmp.width, zero_only, cond)
        }
    }
}

/// [`refine_edge`] of a taken edge when it would leave `st` unchanged: two
/// plain constants compared at 64 bits (see [`decided`]). Records the
/// thresholds `refine_edge` records and says whether the edge is live;
/// `None` where the general rule must run on a copy. The driver then joins
/// from the state itself, without copying it for the edge (a test compares
/// this with `refine_edge`).
#[inline]
pub(crate) fn taken_unchanged(st: &State, cc: CC, thresholds: &mut Thresholds) -> Option<bool> {
    let cmp = st.cmp?;
    if cmp.width != 8 || cmp.kind == Flagged::Mask {
        return None;
    }
    let cond = cond_of(cc, cmp.kind, true)?;
    let a = usize::from(cmp.a);
    let b_reg = (cmp.b != CMP_IMM).then_some(usize::from(cmp.b));
    let holds = decided(st, 8, a, b_reg, cmp.imm, cond)?;
    // Two plain numbers are no pointers: only an immediate gives thresholds.
    if b_reg.is_none() {
        record_threshold(st.reg_number(a), cmp.imm, thresholds);
    }
    Some(holds)
}

/// Two plain constants compared at 64 bits (a counter on a loop's first
/// pass against its bound): whether `cond` holds decides the edge, and the
/// general rule ([`refine_numbers`]) would change nothing on a live edge
/// (refining two constants that satisfy a condition gives them back, and
/// without a relation or a value identity nothing else is narrowed; a
/// test compares both). `None` for anything else.
#[inline]
fn decided(
    st: &State,
    width: u8,
    a: usize,
    b_reg: Option<usize>,
    imm: i64,
    cond: Cond,
) -> Option<bool> {
    let plain_const = |r: usize| {
        st.reg_num(r)
            .filter(|n| !n.rel.is_some() && n.id == NO_ID)
            .and_then(|n| n.s.as_const())
    };
    if width != 8 {
        return None;
    }
    let x = plain_const(a)?;
    let y = match b_reg {
        None => imm as u64,
        Some(r) => plain_const(r)?,
    };
    Some(cond.holds(x, y))
}

/// A plain number (no relation, no value identity) compared at 64 bits
/// with an immediate (a loop counter against its bound): its scalar
/// narrowed where it is, what [`refine_numbers`] gives without copying
/// the numbers out and back (nothing else is narrowed: the immediate has
/// no relation, neither side an identity; a test compares both). `None`
/// for anything else.
#[inline]
fn refine_against_imm(st: &mut State, a: usize, imm: i64, cond: Cond) -> Option<bool> {
    let x = st.reg_num(a)?;
    if x.rel.is_some() || x.id != NO_ID {
        return None;
    }
    Some(narrow_to(st, a, x.s, imm as u64, cond))
}

/// [`refine_edge`] for a comparison of numbers (not two pointers into one
/// buffer): `a` against register `b_reg` or the immediate `imm`.
fn refine_numbers(
    st: &mut State,
    a: usize,
    b_reg: Option<usize>,
    imm: i64,
    width: u8,
    zero_only: bool,
    cond: Cond,
) -> bool {
    let y = match b_reg {
        None => Some(Num::constant(imm as u64)),
        Some(r) => st.reg_as_num64(r),
    };
    let (Some(mut x), Some(mut y)) = (st.reg_as_num64(a), y) else {
        return true;
    };
    // A 32-bit flag result describes the low halves only: they are
    // the registers' values only where the upper halves are known
    // to be zero (`test ecx, ecx` does not write `rcx`).
    let low_halves = if zero_only {
        fits_u32(&x)
    } else {
        small(&x) && small(&y)
    };
    if width == 4 && !low_halves {
        return true;
    }
    if !refine_nums(&mut x, &mut y, cond, st.syms()) {
        return false;
    }
    if !learn(st, &x) || !learn(st, &y) {
        return false;
    }
    st.set_num(a, x);
    if let Some(r) = b_reg {
        st.set_num(r, y);
    }
    share(st, &x) && share(st, &y)
}

/// Copies of a narrowed number (registers with its value identity) hold
/// the same value, so they are narrowed alike: their range meets its range
/// (`false`: they cannot meet, the edge is dead) and its relation replaces
/// theirs when it has one.
#[inline]
fn share(st: &mut State, n: &Num) -> bool {
    n.id == NO_ID || share_id(st, n)
}

/// [`share`] for a number with a value identity.
#[inline(never)]
fn share_id(st: &mut State, n: &Num) -> bool {
    for r in 0..16 {
        if let Some(&m) = st.reg_num(r)
            && m.id == n.id
            && m != *n
        {
            let Some(s) = m.s.meet(n.s) else {
                return false;
            };
            let rel = if n.rel.is_some() { n.rel } else { m.rel };
            st.set_reg(r, Val::Num(Num { s, rel, id: n.id }));
        }
    }
    true
}

/// `test a, mask` then `je`/`jne`: on each edge `a & mask` is zero or not.
/// At 32 bits only a register known to fit in 32 bits is narrowed.
fn refine_mask(st: &mut State, a: u8, mask: u64, width: u8, cc: CC, taken: bool) -> bool {
    let zero = match (cc, taken) {
        (CC::e, true) | (CC::ne, false) => true,
        (CC::ne, true) | (CC::e, false) => false,
        _ => return true,
    };
    // A pointer is not narrowed (`as_num` is `None` for it).
    let Some(n) = st.reg(usize::from(a)).as_num(8) else {
        return true;
    };
    narrow_mask(st, a, n, mask, width, zero)
}

fn narrow_mask(st: &mut State, a: u8, n: Num, mask: u64, width: u8, zero: bool) -> bool {
    if width == 4 && n.s.umax() > u64::from(u32::MAX) {
        return true;
    }
    match n.s.refine_test(mask, zero) {
        None => false,
        Some(s) => {
            st.set_reg(usize::from(a), Val::num(Num { s, ..n }));
            true
        }
    }
}

/// A constant `c` compared with a value in `a` (an immediate, or the
/// constant offset of the other pointer of a walk) is a likely loop bound:
/// it and its neighbours become widening thresholds.
fn record_threshold(a: Option<&Num>, c: i64, thresholds: &mut Thresholds) {
    let Some(x) = a else { return };
    // The register's alignment (a pointer or index stepping by a power of
    // two stops one step before `c`); a constant's says nothing of a step.
    let align = if x.s.as_const().is_some() {
        0
    } else {
        x.s.trailing_zeros()
    };
    thresholds.add(c, align);
}

/// In `[0, 2^32)`: its low half is the whole value.
fn fits_u32(n: &Num) -> bool {
    n.s.smin() >= 0 && n.s.smax() <= i64::from(u32::MAX)
}

/// In `[0, 2^31)`: a 32-bit comparison of it is the 64-bit one.
fn small(n: &Num) -> bool {
    n.s.smin() >= 0 && n.s.smax() < 1 << 31
}

/// Narrows `x` and `y` in place to the pairs for which `x cond y` holds;
/// `false` when none does (the edge is dead).
fn refine_nums(x: &mut Num, y: &mut Num, cond: Cond, syms: &Syms) -> bool {
    let Some((sx, sy)) = Scalar::refine(x.s, y.s, cond) else {
        return false;
    };
    x.s = sx;
    y.s = sy;
    // Without a relation on either side `refine_rel` and `reduce` change
    // nothing (every rule there starts from one side's relation).
    if !x.rel.is_some() && !y.rel.is_some() {
        return true;
    }
    let (a, b) = refine_rel(*x, *y, cond, syms);
    let Some(a) = a.reduce(syms) else {
        return false;
    };
    let Some(b) = b.reduce(syms) else {
        return false;
    };
    (*x, *y) = (a, b);
    true
}

/// A number that is exactly a symbol plus a constant narrows the symbol.
#[inline]
fn learn(st: &mut State, n: &Num) -> bool {
    !n.rel.is_some() || n.rel.lo != n.rel.hi || learn_exact(st, n)
}

/// [`learn`] for a number with an exact relation.
#[inline(never)]
fn learn_exact(st: &mut State, n: &Num) -> bool {
    let Rel { sym, shift, lo, .. } = n.rel;
    let Some(Some((slo, shi))) = st.syms().get(usize::from(sym)).copied() else {
        return true;
    };
    // v = (S << shift) + d exactly, so S = (v - d) / 2^shift.
    let m = 1i128 << shift;
    let nlo = -((-(i128::from(n.s.smin()) - i128::from(lo))).div_euclid(m));
    let nhi = (i128::from(n.s.smax()) - i128::from(lo)).div_euclid(m);
    let l = i128::from(slo).max(nlo);
    let h = i128::from(shi).min(nhi);
    if l > h {
        return false;
    }
    // Both within the symbol's old range, so they fit. Facts left as they
    // were are not written (symbol facts never written stay marked empty).
    let range = Some((l as i64, h as i64));
    if st.syms()[usize::from(sym)] != range {
        st.syms_mut()[usize::from(sym)] = range;
    }
    true
}

/// `cmovcc d, s` after a comparison: the value `d` gets is `s` narrowed by
/// the condition joined with the old `d` narrowed by its negation (either
/// alone when the other cannot happen). `None` when the flags are not a
/// known comparison or the source is not a register.
///
/// When the value chosen is bounded above by two or more extent parameters
/// (`min(n, m)`: `cmp rcx, rsi; cmovg rcx, rsi`), `d` becomes exactly the bound symbol `B`
/// ([`crate::num::BOUND`]), a new symbol whose range is the value's and
/// whose upper bounds against each parameter go to `st.syms()`; relations
/// to an earlier `B` are dropped first (it named another value). An index
/// compared with `d` is then related to `B`, and an access proof goes
/// through `B`'s bound on the buffer's extent.
pub(crate) fn cmov(
    ctx: &Ctx<'_>,
    st: &mut State,
    ins: &iced_x86::Instruction,
) -> Option<(usize, Val)> {
    use iced_x86::OpKind;
    st.cmp?;
    if ins.op0_kind() != OpKind::Register || ins.op1_kind() != OpKind::Register {
        return None;
    }
    let (d, s) = (ins.op0_register(), ins.op1_register());
    let width = if d.is_gpr64() { 8 } else { 4 };
    let (d, s) = (crate::interp::gpr(d), crate::interp::gpr(s));
    let cc = ins.condition_code();
    // Only registers, symbols and the comparison matter to `refine_edge`.
    let narrowed = |taken: bool| {
        let mut t = State::empty();
        t.copy_regs_from(st);
        t.cmp = st.cmp;
        t.set_syms(st.syms());
        refine_edge(ctx, &mut t, cc, taken, &mut Thresholds::default()).then_some(t)
    };
    let at_width = |v: Val| {
        if width == 8 {
            v
        } else {
            v.as_num(4).map_or(Val::Data(8), Val::num)
        }
    };
    let v = match (narrowed(true), narrowed(false)) {
        (Some(t), Some(f)) => {
            at_width(f.reg(d)).join_with(at_width(t.reg(s)), f.syms(), t.syms(), None)
        }
        (Some(t), None) => at_width(t.reg(s)),
        (None, Some(f)) => at_width(f.reg(d)),
        (None, None) => return None,
    };
    if let Val::Num(n) = v
        && width == 8
        && let Some(bounds) = bounds_of_choice(ctx, st, cc, d, s)
    {
        return Some((d, Val::Num(new_bound(st, n, &bounds))));
    }
    Some((d, v))
}

/// For `cmovcc d, s` at 64 bits after `cmp a, b` of two registers: each
/// extent parameter `S_k` that bounds the chosen value above on every edge
/// the condition allows, with the bound `b` of `value - S_k <= b` (true
/// whatever `d` and `s` are: each edge's value is narrowed as the `cmov`
/// itself narrows it; it bounds something when they are `a` and `b` or
/// copies of them).
/// `None` unless at least two do (one is what the value's own relation
/// keeps). Each parameter is tried on its own: both registers' relations
/// are moved onto it first (a number keeps one relation, and the
/// comparison's other side is what bounds the chosen one on it).
fn bounds_of_choice(
    ctx: &Ctx<'_>,
    st: &State,
    cc: CC,
    d: usize,
    s: usize,
) -> Option<[Option<i64>; crate::MAX_PARAMS]> {
    let cmp = st.cmp?;
    if cmp.kind != Flagged::Sub || cmp.width != 8 || cmp.b == CMP_IMM {
        return None;
    }
    let (a, b) = (usize::from(cmp.a), usize::from(cmp.b));
    let (Val::Num(x), Val::Num(y)) = (st.reg(a), st.reg(b)) else {
        return None;
    };
    // Copies of the compared registers (`mov r9, rdx; cmp rcx, rdx; cmovl
    // r9, rcx`) are narrowed with them, so they are moved onto `S_k` too.
    let copy = |v: Val| match v {
        Val::Num(n) if n.id != NO_ID && (n.id == x.id || n.id == y.id) => Some(n),
        _ => None,
    };
    let mut bounds = [None; crate::MAX_PARAMS];
    let mut count = 0;
    for (k, bound) in bounds.iter_mut().enumerate() {
        if st.syms()[k].is_none() {
            continue;
        }
        let sym = k as u8;
        let on_k = |n: Num| Num {
            rel: n.rel_on(sym, 0, st.syms()),
            ..n
        };
        let mut hi = None;
        for taken in [true, false] {
            let mut t = State::empty();
            t.copy_regs_from(st);
            for r in 0..16 {
                if let Some(n) = copy(t.reg(r)) {
                    t.set_reg(r, Val::num(on_k(n)));
                }
            }
            t.set_reg(a, Val::num(on_k(x)));
            t.set_reg(b, Val::num(on_k(y)));
            t.cmp = st.cmp;
            t.set_syms(st.syms());
            if !refine_edge(ctx, &mut t, cc, taken, &mut Thresholds::default()) {
                continue;
            }
            let chosen = if taken { s } else { d };
            let r = t
                .reg(chosen)
                .as_num(8)
                .map_or(Rel::NONE, |n| n.rel_on(sym, 0, t.syms()));
            if !r.is_some() || r.hi == POS_INF {
                hi = None;
                break;
            }
            hi = Some(hi.map_or(r.hi, |h: i64| h.max(r.hi)));
        }
        if hi.is_some() {
            *bound = hi;
            count += 1;
        }
    }
    (count >= 2).then_some(bounds)
}

/// Makes `n` (a value `cmov` chose) the new bound symbol: relations to the
/// old one are dropped everywhere (stack slots never hold them), its range
/// and `bounds` are recorded, and `n` becomes exactly `B`.
fn new_bound(st: &mut State, n: Num, bounds: &[Option<i64>; crate::MAX_PARAMS]) -> Num {
    for r in 0..16 {
        match st.reg(r) {
            Val::Num(m) if m.rel.sym == BOUND => st.set_reg(
                r,
                Val::num(Num {
                    rel: Rel::NONE,
                    ..m
                }),
            ),
            Val::Ptr(i, m) if m.rel.sym == BOUND => st.set_reg(
                r,
                Val::Ptr(
                    i,
                    Num {
                        rel: Rel::NONE,
                        ..m
                    },
                ),
            ),
            _ => {}
        }
    }
    let at = usize::from(BOUND);
    st.syms_mut()[at] = Some((n.s.smin(), n.s.smax()));
    for (k, b) in bounds.iter().enumerate() {
        st.syms_mut().bounds[k] = b.unwrap_or(POS_INF);
    }
    Num {
        s: n.s,
        rel: Rel::exact(BOUND, 0, 0),
        id: NO_ID,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CONDS: [Cond; 10] = Cond::ALL;

    fn value() -> impl Strategy<Value = u64> {
        prop_oneof![
            prop::sample::select(vec![0u64, 1, 5, i64::MAX as u64, 1 << 63, u64::MAX]),
            0u64..8,
            any::<u64>(),
        ]
    }

    /// A register value: a plain constant (what the shortcut takes), a
    /// constant with a value identity or a relation, a range, plain data.
    fn reg_val() -> impl Strategy<Value = Val> {
        (value(), value(), 0u8..6).prop_map(|(x, y, k)| match k {
            0 | 1 => Val::Num(Num::constant(x)),
            2 => Val::Num(Num {
                id: 7,
                ..Num::constant(x)
            }),
            3 => Val::Num(Num {
                rel: Rel::exact(0, 0, x as i64),
                ..Num::constant(x)
            }),
            4 => Val::num(Num::scalar(Scalar::range_u(x.min(y), x.max(y)))),
            _ => Val::Data(8),
        })
    }

    /// Every condition code, indexed by the proptests' draws.
    const CCS: [CC; 16] = [
        CC::o,
        CC::no,
        CC::b,
        CC::ae,
        CC::e,
        CC::ne,
        CC::be,
        CC::a,
        CC::s,
        CC::ns,
        CC::p,
        CC::np,
        CC::l,
        CC::ge,
        CC::le,
        CC::g,
    ];
    /// Every kind of flag setter, indexed by the proptests' draws.
    const KINDS: [Flagged; 4] = [Flagged::Sub, Flagged::Logic, Flagged::Result, Flagged::Mask];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn decided_constants_give_what_the_general_rule_gives(
            va in reg_val(),
            vb in reg_val(),
            copy in reg_val(),
            imm in value(),
            with_reg in any::<bool>(),
            k in 0..CONDS.len(),
        ) {
            let cond = CONDS[k];
            let mut st = State::empty();
            st.set_reg(0, va);
            st.set_reg(1, vb);
            st.set_reg(3, copy);
            let mut syms = crate::num::NO_SYMS;
            syms[0] = Some((0, 1 << 40));
            st.set_syms(&syms);
            let b_reg = with_reg.then_some(1);
            let imm = imm as i64;
            let mut general = st.clone();
            let live = refine_numbers(&mut general, 0, b_reg, imm, 8, false, cond);
            if let Some(holds) = decided(&st, 8, 0, b_reg, imm, cond) {
                prop_assert_eq!(holds, live);
                if live {
                    prop_assert_eq!(&general, &st);
                }
            }
            if b_reg.is_none() {
                let mut fast = st.clone();
                if let Some(fast_live) = refine_against_imm(&mut fast, 0, imm, cond) {
                    prop_assert_eq!(fast_live, live);
                    if live {
                        prop_assert_eq!(&general, &fast);
                    }
                }
            }
            // 32-bit comparisons are never decided here.
            prop_assert_eq!(decided(&st, 4, 0, b_reg, imm, cond), None);
        }

        #[test]
        fn immediate_edges_are_what_the_general_rule_gives(
            va in reg_val(),
            imm in value(),
            wide in any::<bool>(),
            kind in 0usize..4,
            c in 0usize..16,
            taken in any::<bool>(),
        ) {
            use crate::state::Cmp;
            let policy = crate::Policy::default();
            let sig: crate::Signature = "int64(int64,int64,int64)"
                .parse()
                .expect("a valid signature");
            let ctx = Ctx::new(&policy, &sig, 64, &crate::num::NO_SYMS);
            let mut st = State::empty();
            st.set_reg(0, va);
            st.cmp = Some(Cmp {
                a: 0,
                b: CMP_IMM,
                imm: imm as i64,
                width: if wide { 8 } else { 4 },
                kind: KINDS[kind],
            });
            let cc = CCS[c];
            let (mut fast_thr, mut general_thr) = (Thresholds::from(vec![3]), Thresholds::from(vec![3]));
            let mut general = st.clone();
            let live = refine_edge_general(&ctx, &mut general, cc, taken, &mut general_thr);
            let mut fast = st.clone();
            if let Some(fast_live) = imm_edge(&mut fast, cc, taken, &mut fast_thr) {
                prop_assert_eq!(fast_live, live);
                prop_assert_eq!(fast_thr.as_slice(), general_thr.as_slice());
                if live {
                    prop_assert_eq!(&general, &fast);
                }
            } else {
                prop_assert_eq!(&fast, &st);
                prop_assert!(fast_thr.as_slice() == [3]);
            }
        }

        #[test]
        fn unchanged_taken_edges_are_what_refine_edge_gives(
            va in reg_val(),
            vb in reg_val(),
            imm in value(),
            with_reg in any::<bool>(),
            wide in any::<bool>(),
            kind in 0usize..4,
            c in 0usize..16,
        ) {
            use crate::state::Cmp;
            let policy = crate::Policy::default();
            let sig: crate::Signature = "int64(int64,int64,int64)"
                .parse()
                .expect("a valid signature");
            let ctx = Ctx::new(&policy, &sig, 64, &crate::num::NO_SYMS);
            let mut st = State::empty();
            st.set_reg(0, va);
            st.set_reg(1, vb);
            st.cmp = Some(Cmp {
                a: 0,
                b: if with_reg { 1 } else { CMP_IMM },
                imm: imm as i64,
                width: if wide { 8 } else { 4 },
                kind: KINDS[kind],
            });
            let cc = CCS[c];
            let (mut fast_thr, mut general_thr) = (Thresholds::from(vec![3]), Thresholds::from(vec![3]));
            let mut general = st.clone();
            let live = refine_edge(&ctx, &mut general, cc, true, &mut general_thr);
            if let Some(fast_live) = taken_unchanged(&st, cc, &mut fast_thr) {
                prop_assert_eq!(fast_live, live);
                prop_assert_eq!(fast_thr.as_slice(), general_thr.as_slice());
                if live {
                    prop_assert_eq!(&general, &st);
                }
            } else {
                // Only what `decided` takes is answered.
                prop_assert!(
                    !wide
                        || KINDS[kind] == Flagged::Mask
                        || cond_of(cc, KINDS[kind], true).is_none()
                        || st.reg_num(0).is_none_or(|n| n.s.as_const().is_none()
                            || n.rel.is_some() || n.id != NO_ID)
                        || (with_reg && st.reg_num(1).is_none_or(|n| n.s.as_const().is_none()
                            || n.rel.is_some() || n.id != NO_ID))
                );
            }
        }
    }
}
