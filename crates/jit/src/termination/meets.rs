//! Whether a loop's step meets its exit test's bound (rule 3 of the parent
//! module's docs): the step's size and direction against the condition,
//! the bound's range and known low bits, the induction register's side of
//! the bound, two registers closing in, and pointer walks to an end pointer
//! of the same buffer.

use iced_x86::ConditionCode as CC;

use super::Bound;
use crate::interp::Ctx;
use crate::state::{Flagged, State, Val};

/// Whether the known low bits of `r` and of the bound say something about
/// their difference: both numbers, or both pointers into one buffer (its
/// base cancels). A pointer's offset says nothing of its address's low
/// bits (a byte buffer may start at an odd address), so a pointer against
/// a number or an immediate, or a number against a pointer, is not.
fn comparable(head: &State, r: usize, bound: Bound) -> bool {
    match (head.reg(r), bound) {
        (Val::Ptr(i, _), Bound::Reg(b)) => matches!(head.reg(b), Val::Ptr(j, _) if j == i),
        (Val::Ptr(..), Bound::Imm(_)) => false,
        (_, Bound::Reg(b)) => !matches!(head.reg(b), Val::Ptr(..)),
        (_, Bound::Imm(_)) => true,
    }
}

/// Whether `r` at the test is on the side of the bound its step moves
/// toward (`r <= B` for a step up, `r >= B` for a step down), as integers
/// at the width: then stepping reaches the bound without wrapping around.
/// By ranges, or by relations to one symbol (counts and pointer walks).
fn toward(head: &State, r: usize, bound: Bound, c: i64, at_test: i64, width: u8) -> bool {
    let num = |v: Val| match v {
        Val::Ptr(_, off) => Some(off),
        v => v.as_num(width),
    };
    let Some(rv) = num(head.reg(r)) else {
        return false;
    };
    // Same pointer base needed for a pointer against a pointer.
    if let (Val::Ptr(i, _), Bound::Reg(b)) = (head.reg(r), bound)
        && !matches!(head.reg(b), Val::Ptr(j, _) if j == i)
    {
        return false;
    }
    let bv = match bound {
        Bound::Imm(k) => {
            let k = if width == 4 { i64::from(k as u32) } else { k };
            crate::num::Num::constant(k as u64)
        }
        Bound::Reg(b) => match num(head.reg(b)) {
            Some(n) => n,
            None => return false,
        },
    };
    let (r_lo, r_hi) = (
        i128::from(rv.s.smin()) + i128::from(at_test),
        i128::from(rv.s.smax()) + i128::from(at_test),
    );
    let by_ranges = if c > 0 {
        r_hi <= i128::from(bv.s.smin())
    } else {
        r_lo >= i128::from(bv.s.smax())
    };
    if by_ranges {
        return true;
    }
    // Relations: r - (S << k) in [lo, hi], B exactly (S << k) + d.
    let (rr, br) = (rv.rel, bv.rel);
    if !rr.is_some() || rr.sym != br.sym || rr.shift != br.shift || br.lo != br.hi {
        return false;
    }
    let inf = |v: i64| v == crate::num::NEG_INF || v == crate::num::POS_INF;
    if c > 0 {
        !inf(rr.hi) && i128::from(rr.hi) + i128::from(at_test) <= i128::from(br.lo)
    } else {
        !inf(rr.lo) && i128::from(rr.lo) + i128::from(at_test) >= i128::from(br.lo)
    }
}

/// Whether continuing while `r cc B`, with `r` stepping by `c` and `B` by
/// `cb` per iteration, must stop: a strict `<` (signed or unsigned) with
/// `r` going up by one and `B` down by one (or the mirror). While the loop
/// continues, `r < B`, so neither step wraps (`r + 1 <= B`, `B - 1 >= r`),
/// and `B - r >= 1` shrinks by two per iteration.
pub(super) fn converges(cc: CC, c: i64, cb: i64) -> bool {
    match cc {
        CC::l | CC::b => c == 1 && cb == -1,
        CC::g | CC::a => c == -1 && cb == 1,
        _ => false,
    }
}

/// Whether a pointer into buffer `i` stepping by `c` while it is below
/// (`b`, `be`) or above (`a`, `ae`) the pointer `end` of the same buffer
/// must stop. The buffer must be non-empty on entry (then it is real
/// memory: user-space addresses are below 2^56, and the lowest pages are
/// never mapped, so it starts at 4096 or above) and `end` inside it or one
/// past it. Going up by `0 < c <= 2^32` while `p <= end`: `p + c` stays below
/// 2^57, no wrap, so `p` passes `end`. Going down by `0 < -c <= 4096` while
/// `p >= end >= 4096`: `p + c >= 0`, no wrap.
fn walk_ends(ctx: &Ctx<'_>, head: &State, i: u8, end: &crate::num::Num, cc: CC, c: i64) -> bool {
    let first_byte = crate::num::Num::constant(0);
    let nonempty = ctx
        .check_buffer(i, &first_byte, 1, false, head.syms())
        .is_ok();
    let step_ok = match cc {
        CC::b | CC::be => (1..=1 << 32).contains(&c),
        _ => (-4096..0).contains(&c),
    };
    nonempty && step_ok && ctx.within_buffer(i, end, head.syms())
}

/// Whether continuing while `cc` holds, stepping `r` by `c` per iteration
/// (`at_test`: its change from the head's entry to the test), must stop.
#[allow(clippy::too_many_arguments)]
pub(super) fn meets(
    ctx: &Ctx<'_>,
    cc: CC,
    kind: Flagged,
    c: i64,
    at_test: i64,
    width: u8,
    bound: Bound,
    head: &State,
    r: usize,
) -> bool {
    // `test r, r` and logic results write ZF and SF of `r` and clear CF and
    // OF: the signed conditions and (in)equality compare `r` with 0 (the
    // bound is then the immediate 0), `a` is `!= 0` and `be` is `== 0`.
    let (cc, kind) = match (kind, cc) {
        (Flagged::Logic, CC::l | CC::le | CC::g | CC::ge | CC::e | CC::ne) => (cc, Flagged::Sub),
        (Flagged::Logic, CC::a) => (CC::ne, Flagged::Sub),
        (Flagged::Logic, CC::be) => (CC::e, Flagged::Sub),
        _ => (cc, kind),
    };
    // Flags of an ALU result: only a `!= 0` test.
    if kind != Flagged::Sub && cc != CC::ne {
        return false;
    }
    // A pointer walked toward an end pointer of the same buffer.
    if matches!(cc, CC::b | CC::be | CC::a | CC::ae)
        && width == 8
        && let (Val::Ptr(i, _), Bound::Reg(b)) = (head.reg(r), bound)
        && let Val::Ptr(j, end) = head.reg(b)
        && i == j
    {
        return walk_ends(ctx, head, i, &end, cc, c);
    }
    let a = c.unsigned_abs();
    // A step of one meets every bound it continues `!=` to (below).
    if cc == CC::ne && a == 1 {
        return true;
    }
    // The bound's range as the head state knows it (signed and unsigned at
    // the width; a 32-bit signed bound only when it is a non-negative i32).
    let (smin, smax, umin, umax, tz) = match bound {
        Bound::Imm(k) => {
            let s = if width == 4 { i64::from(k as i32) } else { k };
            let u = if width == 4 {
                u64::from(k as u32)
            } else {
                k as u64
            };
            (s, s, u, u, if u == 0 { 64 } else { u.trailing_zeros() })
        }
        // A pointer bound for a pointer walk: only `!=` needs its offset.
        Bound::Reg(b) if cc == CC::ne && matches!(head.reg(b), Val::Ptr(..)) => match head.reg(b) {
            Val::Ptr(_, off) => (i64::MIN, i64::MAX, 0, u64::MAX, off.s.trailing_zeros()),
            _ => (i64::MIN, i64::MAX, 0, u64::MAX, 0),
        },
        Bound::Reg(b) => match head.reg(b).as_num(width) {
            Some(n) if width == 8 || n.s.smax() <= i64::from(i32::MAX) => (
                n.s.smin(),
                n.s.smax(),
                n.s.umin(),
                n.s.umax(),
                n.s.trailing_zeros(),
            ),
            Some(n) => (
                i64::MIN,
                i64::MAX,
                n.s.umin(),
                n.s.umax(),
                n.s.trailing_zeros(),
            ),
            None => (i64::MIN, i64::MAX, 0, u64::MAX, 0),
        },
    };
    let (smin_t, smax_t, umax_t) = if width == 4 {
        (
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            u64::from(u32::MAX),
        )
    } else {
        (i64::MIN, i64::MAX, u64::MAX)
    };
    let signed_ok = smin >= smin_t && smax <= smax_t;
    match cc {
        // `r != B`: reached when B - r (at the test) is a multiple of the
        // step's power-of-two part; its odd part is invertible mod 2^bits.
        CC::ne => {
            let k = a.trailing_zeros();
            let r_tz = match head.reg(r) {
                Val::Ptr(_, off) => off.s.trailing_zeros(),
                v => v.as_num(width).map_or(0, |n| n.s.trailing_zeros()),
            };
            let d_tz = if at_test == 0 {
                64
            } else {
                at_test.trailing_zeros()
            };
            // A step of one meets every bound (from the far side after
            // wrapping around, at most 2^bits steps). A larger one must be a
            // power of two that divides the distance, moving toward the
            // bound without wrapping.
            if a == 1 {
                return true;
            }
            let divides = a.is_power_of_two() && r_tz.min(tz).min(d_tz) >= k;
            divides && comparable(head, r, bound) && toward(head, r, bound, c, at_test, width)
        }
        // Signed `<` / `<=` with c > 0 (and mirrors): no wrap before the bound.
        CC::l if c > 0 => signed_ok && smax <= smax_t - (c - 1),
        CC::le if c > 0 => signed_ok && smax <= smax_t - c,
        CC::g if c < 0 => signed_ok && smin >= smin_t + (a as i64 - 1),
        CC::ge if c < 0 => signed_ok && smin >= smin_t + a as i64,
        // Unsigned.
        CC::b if c > 0 => umax <= umax_t - (a - 1),
        CC::be if c > 0 => umax <= umax_t - a,
        CC::a if c < 0 => umin >= a - 1,
        CC::ae if c < 0 => umin >= a,
        _ => false,
    }
}
