//! Branch refinement: what a conditional jump proves on each of its edges.
//!
//! In: the state at a `jcc` whose flags come from a `cmp`/`test` recorded in
//! [`State::cmp`], the jump's condition and the edge (taken or not). Out:
//! the state narrowed to the executions that take that edge, or `false`
//! when none can (the edge is dead and its target gets nothing from it).
//! Numbers are narrowed by their ranges ([`Scalar::refine`]) and relations
//! ([`refine_rel`]); a register that is exactly an extent parameter narrows
//! the symbol too. Comparisons of two pointers into one buffer narrow their
//! offsets: for `==`/`!=` always (equal addresses are equal offsets), for
//! the order conditions only when both offsets are proven inside
//! `[0, end]`, where the buffer is real memory and addresses cannot wrap.

use iced_x86::ConditionCode as CC;

use crate::interp::Ctx;
use crate::num::{Num, Rel, Syms, refine_rel};
use crate::scalar::{Cond, Scalar};
use crate::state::{CMP_IMM, State, Val};

/// The comparison `cmp a, b` that a condition tests, or for `test a, a` the
/// comparison of `a` with 0.
fn cond_of(cc: CC, test: bool, taken: bool) -> Option<Cond> {
    let cc = if taken { cc } else { negate(cc)? };
    Some(match (cc, test) {
        (CC::e, _) => Cond::Eq,
        (CC::ne, _) => Cond::Ne,
        (CC::b, false) => Cond::Ult,
        (CC::ae, false) => Cond::Uge,
        (CC::be, false) => Cond::Ule,
        (CC::a, false) => Cond::Ugt,
        // After `test`, CF and OF are 0.
        (CC::be, true) => Cond::Eq,
        (CC::a, true) => Cond::Ne,
        (CC::l | CC::s, _) if test || cc == CC::l => Cond::Slt,
        (CC::ge | CC::ns, _) if test || cc == CC::ge => Cond::Sge,
        (CC::le, _) => Cond::Sle,
        (CC::g, _) => Cond::Sgt,
        _ => return None,
    })
}

fn negate(cc: CC) -> Option<CC> {
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

/// Narrows `st` to the executions taking this edge; `false` if none can.
pub(crate) fn refine_edge(ctx: &Ctx<'_>, st: &mut State, cc: CC, taken: bool) -> bool {
    let Some(cmp) = st.cmp else { return true };
    let self_test = cmp.test && cmp.b == cmp.a;
    if cmp.test && !self_test {
        return true;
    }
    let Some(cond) = cond_of(cc, cmp.test, taken) else {
        return true;
    };
    let a = st.regs[usize::from(cmp.a)];
    let b = if self_test {
        Val::Num(Num::constant(0))
    } else if cmp.b == CMP_IMM {
        Val::Num(Num::constant(cmp.imm as u64))
    } else {
        st.regs[usize::from(cmp.b)]
    };
    let b_reg = (!self_test && cmp.b != CMP_IMM).then_some(usize::from(cmp.b));
    match (a, b) {
        (Val::Ptr(i, x), Val::Ptr(j, y)) if i == j && cmp.width == 8 => {
            let order = !matches!(cond, Cond::Eq | Cond::Ne);
            if order && !(ctx.within_buffer(i, &x, &st.syms) && ctx.within_buffer(i, &y, &st.syms))
            {
                return true;
            }
            let Some((x, y)) = refine_nums(x, y, cond, &st.syms) else {
                return false;
            };
            st.regs[usize::from(cmp.a)] = Val::Ptr(i, x);
            if let Some(r) = b_reg {
                st.regs[r] = Val::Ptr(i, y);
            }
            true
        }
        _ => {
            let (Some(x), Some(y)) = (a.as_num(8), b.as_num(8)) else {
                return true;
            };
            if cmp.width == 4 && !(small(&x) && small(&y)) {
                return true;
            }
            let Some((x, y)) = refine_nums(x, y, cond, &st.syms) else {
                return false;
            };
            if !learn(&mut st.syms, &x) || !learn(&mut st.syms, &y) {
                return false;
            }
            st.regs[usize::from(cmp.a)] = Val::num(x);
            if let Some(r) = b_reg {
                st.regs[r] = Val::num(y);
            }
            true
        }
    }
}

/// In `[0, 2^31)`: a 32-bit comparison of it is the 64-bit one.
fn small(n: &Num) -> bool {
    n.s.smin() >= 0 && n.s.smax() < 1 << 31
}

fn refine_nums(x: Num, y: Num, cond: Cond, syms: &Syms) -> Option<(Num, Num)> {
    let (sx, sy) = Scalar::refine(x.s, y.s, cond)?;
    let (x, y) = refine_rel(Num { s: sx, ..x }, Num { s: sy, ..y }, cond, syms);
    Some((x.reduce(syms)?, y.reduce(syms)?))
}

/// A number that is exactly a symbol plus a constant narrows the symbol.
fn learn(syms: &mut Syms, n: &Num) -> bool {
    let Rel { sym, shift, lo, hi } = n.rel;
    if !n.rel.is_some() || shift != 0 || lo != hi {
        return true;
    }
    let Some(Some((slo, shi))) = syms.get(usize::from(sym)).copied() else {
        return true;
    };
    let (Some(nlo), Some(nhi)) = (n.s.smin().checked_sub(lo), n.s.smax().checked_sub(lo)) else {
        return true;
    };
    let (l, h) = (slo.max(nlo), shi.min(nhi));
    if l > h {
        return false;
    }
    syms[usize::from(sym)] = Some((l, h));
    true
}
