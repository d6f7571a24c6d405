//! Branch refinement: what `cmp a, b` / `test a, mask` + `jcc` teach about
//! the operands on each edge.
//!
//! [`Scalar::refine`] restricts two scalars to the pairs for which a
//! [`Cond`] holds (`None`: no pair does, the edge is dead);
//! [`Scalar::refine_width`] does it for 8/16/32-bit compares; [`Scalar::refine_test`] for `test` with a constant
//! mask. Sound because each rule only removes values that cannot satisfy
//! the condition (argued per rule below) and reduction only intersects.
//! The other edge of a branch is `cond.negate()`; `cmp b, a` is `cond.swap()`.

use super::Scalar;
use crate::tnum::{Tnum, low_bits};

/// A comparison `a cond b` as `cmp a, b` + `jcc` decides it: `U*` compare
/// unsigned, `S*` signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Cond {
    /// `a == b` (`je`).
    Eq,
    /// `a != b` (`jne`).
    Ne,
    /// `a < b` unsigned (`jb`).
    Ult,
    /// `a <= b` unsigned (`jbe`).
    Ule,
    /// `a > b` unsigned (`ja`).
    Ugt,
    /// `a >= b` unsigned (`jae`).
    Uge,
    /// `a < b` signed (`jl`).
    Slt,
    /// `a <= b` signed (`jle`).
    Sle,
    /// `a > b` signed (`jg`).
    Sgt,
    /// `a >= b` signed (`jge`).
    Sge,
}

#[cfg(test)]
impl Cond {
    /// Every condition, for tests that try each.
    pub(crate) const ALL: [Cond; 10] = [
        Cond::Eq,
        Cond::Ne,
        Cond::Ult,
        Cond::Ule,
        Cond::Ugt,
        Cond::Uge,
        Cond::Slt,
        Cond::Sle,
        Cond::Sgt,
        Cond::Sge,
    ];
}

impl Cond {
    /// The condition that holds exactly when this one does not (the other
    /// edge of the branch).
    #[must_use]
    pub(crate) const fn negate(self) -> Cond {
        match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::Ult => Cond::Uge,
            Cond::Uge => Cond::Ult,
            Cond::Ule => Cond::Ugt,
            Cond::Ugt => Cond::Ule,
            Cond::Slt => Cond::Sge,
            Cond::Sge => Cond::Slt,
            Cond::Sle => Cond::Sgt,
            Cond::Sgt => Cond::Sle,
        }
    }

    /// The condition with its operands swapped: `a cond b` is `b swap a`.
    #[must_use]
    pub(crate) const fn swap(self) -> Cond {
        match self {
            Cond::Eq | Cond::Ne => self,
            Cond::Ult => Cond::Ugt,
            Cond::Ugt => Cond::Ult,
            Cond::Ule => Cond::Uge,
            Cond::Uge => Cond::Ule,
            Cond::Slt => Cond::Sgt,
            Cond::Sgt => Cond::Slt,
            Cond::Sle => Cond::Sge,
            Cond::Sge => Cond::Sle,
        }
    }

    /// Whether `a cond b` holds for these concrete values.
    #[must_use]
    pub(crate) const fn holds(self, a: u64, b: u64) -> bool {
        let (sa, sb) = (a as i64, b as i64);
        match self {
            Cond::Eq => a == b,
            Cond::Ne => a != b,
            Cond::Ult => a < b,
            Cond::Ule => a <= b,
            Cond::Ugt => a > b,
            Cond::Uge => a >= b,
            Cond::Slt => sa < sb,
            Cond::Sle => sa <= sb,
            Cond::Sgt => sa > sb,
            Cond::Sge => sa >= sb,
        }
    }
}

/// `a` without the value of `b` when `b` is a constant at an end of one of
/// `a`'s ranges; `None` when `a` is that constant.
pub(super) fn exclude(a: Scalar, b: Scalar) -> Option<Scalar> {
    let Some(c) = b.as_const() else {
        return Some(a);
    };
    if a.as_const() == Some(c) {
        return None;
    }
    let mut out = a;
    if a.umin == c {
        out.umin = c.wrapping_add(1);
    }
    if a.umax == c {
        out.umax = c.wrapping_sub(1);
    }
    if a.smin == c as i64 {
        out.smin = a.smin.wrapping_add(1);
    }
    if a.smax == c as i64 {
        out.smax = a.smax.wrapping_sub(1);
    }
    out.narrowed_from(a)
}

impl Scalar {
    /// Restrict `a` and `b` to the pairs where `cmp a, b` makes `cond` true:
    /// `None` when no pair does. Orders move each side's bound past the other's
    /// (for `a < b`: `a <= b.max - 1`, `b >= a.min + 1`); `Eq` meets both;
    /// `Ne` can only drop a constant `b` that is an end of `a`'s range (and the
    /// reverse), as eBPF does.
    #[must_use]
    #[inline]
    pub(crate) fn refine(a: Scalar, b: Scalar, cond: Cond) -> Option<(Scalar, Scalar)> {
        match cond {
            Cond::Eq => {
                let both = a.meet(b)?;
                Some((both, both))
            }
            Cond::Ne => Some((exclude(a, b)?, exclude(b, a)?)),
            Cond::Ult | Cond::Ule => {
                let strict = u64::from(cond == Cond::Ult);
                let umax = a.umax.min(b.umax.checked_sub(strict)?);
                let umin = b.umin.max(a.umin.checked_add(strict)?);
                Some((
                    Scalar { umax, ..a }.narrowed_from(a)?,
                    Scalar { umin, ..b }.narrowed_from(b)?,
                ))
            }
            Cond::Slt | Cond::Sle => {
                let strict = i64::from(cond == Cond::Slt);
                let smax = a.smax.min(b.smax.checked_sub(strict)?);
                let smin = b.smin.max(a.smin.checked_add(strict)?);
                Some((
                    Scalar { smax, ..a }.narrowed_from(a)?,
                    Scalar { smin, ..b }.narrowed_from(b)?,
                ))
            }
            Cond::Ugt | Cond::Uge | Cond::Sgt | Cond::Sge => {
                let (b2, a2) = Scalar::refine(b, a, cond.swap())?;
                Some((a2, b2))
            }
        }
    }

    /// `Scalar::refine(a, Scalar::constant(c), cond)`'s first half, without
    /// the constant's side: narrowing a constant to the pairs that satisfy
    /// `cond` either keeps it or leaves no pair, and then `a`'s side has
    /// none either (its bound moves past its other bound), so `a`'s side
    /// alone is the answer (a proptest compares both).
    #[must_use]
    pub(crate) fn refine_const(a: Scalar, c: u64, cond: Cond) -> Option<Scalar> {
        match cond {
            Cond::Eq => a.contains(c).then_some(Scalar::constant(c)),
            Cond::Ne => exclude(a, Scalar::constant(c)),
            Cond::Ult | Cond::Ule => {
                let strict = u64::from(cond == Cond::Ult);
                let umax = a.umax.min(c.checked_sub(strict)?);
                Scalar { umax, ..a }.narrowed_from(a)
            }
            Cond::Ugt | Cond::Uge => {
                let strict = u64::from(cond == Cond::Ugt);
                let umin = a.umin.max(c.checked_add(strict)?);
                Scalar { umin, ..a }.narrowed_from(a)
            }
            Cond::Slt | Cond::Sle => {
                let strict = i64::from(cond == Cond::Slt);
                let smax = a.smax.min((c as i64).checked_sub(strict)?);
                Scalar { smax, ..a }.narrowed_from(a)
            }
            Cond::Sgt | Cond::Sge => {
                let strict = i64::from(cond == Cond::Sgt);
                let smin = a.smin.max((c as i64).checked_add(strict)?);
                Scalar { smin, ..a }.narrowed_from(a)
            }
        }
    }

    /// [`Scalar::refine`] for `cmp` on `width`-bit operands (8, 16, 32; 64 is
    /// [`Scalar::refine`]): the flags compare the low `width` bits (sign-extended from
    /// bit `width - 1` for the signed conditions). The low parts are refined,
    /// then each full value is narrowed where its high bits are all known (a
    /// 32-bit register write leaves them zero), and kept as it is otherwise.
    /// `None` when no pair of low parts satisfies `cond`.
    #[must_use]
    pub(crate) fn refine_width(
        a: Scalar,
        b: Scalar,
        cond: Cond,
        width: u32,
    ) -> Option<(Scalar, Scalar)> {
        if width >= 64 {
            return Scalar::refine(a, b, cond);
        }
        let (low_a, low_b) = (a.zext(width), b.zext(width));
        let (ra, rb) = match cond {
            Cond::Slt | Cond::Sle | Cond::Sgt | Cond::Sge => {
                let (ra, rb) = Scalar::refine(low_a.sext(width), low_b.sext(width), cond)?;
                (ra.zext(width), rb.zext(width))
            }
            _ => Scalar::refine(low_a, low_b, cond)?,
        };
        Some((a.with_low(ra, width)?, b.with_low(rb, width)?))
    }

    /// `test a, mask` with a constant `mask`, on the edge where `a & mask`
    /// is zero (`zero`) or not: `None` when no member takes that edge. Zero
    /// makes every bit of `mask` known 0. Nonzero sets a single-bit mask's
    /// bit, and in any case puts `a` at or above the mask's lowest bit.
    #[must_use]
    pub(crate) fn refine_test(self, mask: u64, zero: bool) -> Option<Scalar> {
        if zero {
            return self.meet(Scalar::from_bits(Tnum::new(0, !mask)));
        }
        if mask == 0 || (self.bits.value() | self.bits.mask()) & mask == 0 {
            return None;
        }
        let bits = if mask.is_power_of_two() {
            self.bits.intersect(Tnum::new(mask, !mask))?
        } else {
            self.bits
        };
        let least = 1u64 << mask.trailing_zeros();
        Scalar {
            bits,
            umin: self.umin.max(least),
            ..self
        }
        .checked()
    }

    /// The members whose low `width` bits are in `low` (a set of values
    /// below `2^width`), when the bits above are known; otherwise `self`.
    fn with_low(self, low: Scalar, width: u32) -> Option<Scalar> {
        let high = !low_bits(width);
        if self.bits.mask() & high != 0 {
            return Some(self);
        }
        // `low + high part` cannot carry: `low` is below `2^width`.
        self.meet(low.add(Scalar::constant(self.bits.value() & high)))
    }
}
