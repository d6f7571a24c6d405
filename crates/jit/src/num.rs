//! Numbers with ranges and facts relative to extent parameters.
//!
//! A [`Num`] is a fully defined 64-bit register value: a [`Scalar`] (the set
//! of values the register may hold, as the CPU sees them) and an optional
//! [`Rel`], an exact integer fact `v - (S << shift) ∈ [lo, hi]` between the
//! value `v` (read as a signed 64-bit integer) and the entry value `S` of an
//! extent parameter (`rcx < n` is `rcx - n ∈ [-inf, -1]`; the end pointer
//! `xs + 8n` has offset `8n + [0, 0]`). Relations are integer facts, never
//! modular ones: an operation keeps a relation only when the scalar ranges
//! prove the CPU's wrapping result equals the integer result
//! ([`exact`]). What is known about each symbol `S` itself (its range, from
//! the caller's promise and from branches) lives in the state as
//! [`Syms`]; joins and proofs use it to turn scalars into relations and back.

use crate::scalar::{Cond, Scalar};

/// `lo`/`hi` of a relation with no bound on that side.
pub(crate) const NEG_INF: i64 = i64::MIN;
/// See [`NEG_INF`].
pub(crate) const POS_INF: i64 = i64::MAX;
/// `Rel::sym` of a number without a relation.
pub(crate) const NO_SYM: u8 = 0xff;

/// `v - (S << shift) ∈ [lo, hi]` for symbol `sym` (a parameter index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rel {
    pub(crate) sym: u8,
    pub(crate) shift: u8,
    pub(crate) lo: i64,
    pub(crate) hi: i64,
}

impl Rel {
    pub(crate) const NONE: Rel = Rel {
        sym: NO_SYM,
        shift: 0,
        lo: NEG_INF,
        hi: POS_INF,
    };

    pub(crate) fn is_some(&self) -> bool {
        self.sym != NO_SYM
    }

    fn same_base(&self, o: &Rel) -> bool {
        self.sym == o.sym && self.shift == o.shift
    }

    /// The exact relation `v = S << shift` plus `d`.
    pub(crate) fn exact(sym: u8, shift: u8, d: i64) -> Rel {
        Rel {
            sym,
            shift,
            lo: d,
            hi: d,
        }
    }
}

/// A lower bound plus the least value `b` of an added range. `NEG_INF` on
/// either side is unbounded (for `b` it may be the finite `i64::MIN`: then
/// the result is merely weaker); otherwise the sum saturates, and a sum
/// above `i64::MAX` is still bounded below by it.
fn add_lo(a: i64, b: i64) -> i64 {
    if a == NEG_INF || b == NEG_INF {
        NEG_INF
    } else {
        a.saturating_add(b)
    }
}

/// An upper bound plus the greatest value `b` of an added range: `POS_INF`
/// on either side is unbounded. Never treats `NEG_INF` as minus infinity:
/// as an upper bound or as the greatest value of a range it is the finite
/// `i64::MIN`, and a sum below that is still bounded above by it (the range
/// `[i64::MIN, i64::MIN]` added to `hi = 0` gives `i64::MIN`, and adding a
/// positive number to that moves it up again).
fn add_hi(a: i64, b: i64) -> i64 {
    if a == POS_INF || b == POS_INF {
        POS_INF
    } else {
        a.saturating_add(b)
    }
}

fn bshl(a: i64, k: u32) -> i64 {
    if a == NEG_INF || a == POS_INF {
        return a;
    }
    a.checked_mul(1i64 << k)
        .filter(|v| *v != NEG_INF && *v != POS_INF)
        .unwrap_or(if a < 0 { NEG_INF } else { POS_INF })
}

/// What is known about each symbol. `ranges[k]` is a signed range (`None`
/// for parameters that are not symbols): entries `0..MAX_PARAMS` are the
/// extent parameters' entry values, entry [`BOUND`] is the bound symbol `B`
/// (the value a `cmov` chose between two registers bounded by different
/// symbols, such as `min(n, m)`: see [`crate::refine::cmov`]).
/// `bounds[k]` is `b` of `B - S_k <= b` ([`POS_INF`]: nothing known).
/// Indexing reads and writes `ranges`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Syms {
    pub(crate) ranges: [Option<(i64, i64)>; crate::MAX_PARAMS + 1],
    pub(crate) bounds: [i64; crate::MAX_PARAMS],
}

impl std::ops::Index<usize> for Syms {
    type Output = Option<(i64, i64)>;
    fn index(&self, k: usize) -> &Option<(i64, i64)> {
        &self.ranges[k]
    }
}

impl std::ops::IndexMut<usize> for Syms {
    fn index_mut(&mut self, k: usize) -> &mut Option<(i64, i64)> {
        &mut self.ranges[k]
    }
}

impl Syms {
    /// The range of symbol `k`, if `k` is a symbol index.
    pub(crate) fn get(&self, k: usize) -> Option<&Option<(i64, i64)>> {
        self.ranges.get(k)
    }
}

/// The bound symbol's index in [`Syms::ranges`] (and in [`Rel::sym`]).
pub(crate) const BOUND: u8 = crate::MAX_PARAMS as u8;

/// `b` of `B - S_k <= b` for the bound symbol `B` and parameter `k`.
pub(crate) fn bound_of(syms: &Syms, k: u8) -> Option<i64> {
    let b = *syms.bounds.get(usize::from(k))?;
    (b != POS_INF).then_some(b)
}

/// Empty symbol facts.
pub(crate) const NO_SYMS: Syms = Syms {
    ranges: [None; crate::MAX_PARAMS + 1],
    bounds: [POS_INF; crate::MAX_PARAMS],
};

/// A defined 64-bit value with a range and an optional relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Num {
    pub(crate) s: Scalar,
    pub(crate) rel: Rel,
    /// A value identity ([`NO_ID`]: none): in one state, every register
    /// holding a number with the same non-zero `id` holds the same 64-bit
    /// value, so what a branch proves about one holds for all
    /// ([`crate::state::State::copy_reg`] makes them, nothing else does:
    /// every computed number starts without one). An identity only one
    /// register holds is not dead: a copy of that register shares it again
    /// (a copy keeps a name it finds), and joins compare names, so dropping
    /// it on one path loses a name the other path keeps (the state test
    /// `a_name_only_one_register_holds_is_shared_again_by_a_copy`).
    pub(crate) id: u32,
}

/// `Num::id` of a number without a value identity.
pub(crate) const NO_ID: u32 = 0;

/// Whether the integer results of combining every member of `a` and `b`
/// with `f` (an operation whose extremes are at the range ends) all fit in
/// `i64`, so the CPU's wrapping result equals the integer one.
pub(crate) fn exact(lo: i128, hi: i128) -> bool {
    lo >= i128::from(i64::MIN) && hi <= i128::from(i64::MAX)
}

impl Num {
    pub(crate) fn unknown() -> Num {
        Num {
            s: Scalar::unknown(),
            rel: Rel::NONE,
            id: NO_ID,
        }
    }

    pub(crate) fn constant(v: u64) -> Num {
        Num {
            s: Scalar::constant(v),
            rel: Rel::NONE,
            id: NO_ID,
        }
    }

    pub(crate) fn scalar(s: Scalar) -> Num {
        Num {
            s,
            rel: Rel::NONE,
            id: NO_ID,
        }
    }

    /// Whether nothing at all is known (the same as plain data).
    pub(crate) fn is_unknown(&self) -> bool {
        !self.rel.is_some() && self.s.is_unknown() && self.id == NO_ID
    }

    /// The relation of this number to `(sym, shift)`: its own if it has one
    /// on that base, else one derived from its range and the symbol's.
    pub(crate) fn rel_on(&self, sym: u8, shift: u8, syms: &Syms) -> Rel {
        if self.rel.sym == sym && self.rel.shift == shift {
            return self.rel;
        }
        let Some(Some((slo, shi))) = syms.get(usize::from(sym)).copied() else {
            return Rel::NONE;
        };
        // v - (S << shift) for v in [smin, smax], S in [slo, shi].
        let (slo, shi) = (i128::from(slo) << shift, i128::from(shi) << shift);
        let lo = i128::from(self.s.smin()) - shi;
        let hi = i128::from(self.s.smax()) - slo;
        let clamp = |v: i128, inf: i64| {
            if exact(v, v) && v != i128::from(NEG_INF) && v != i128::from(POS_INF) {
                v as i64
            } else {
                inf
            }
        };
        let (lo, hi) = (clamp(lo, NEG_INF), clamp(hi, POS_INF));
        if lo == NEG_INF && hi == POS_INF {
            return Rel::NONE;
        }
        Rel { sym, shift, lo, hi }
    }

    /// Narrows the range with what the relation and the symbol's range imply.
    /// `None`: no value is possible (a contradiction on this path).
    pub(crate) fn reduce(mut self, syms: &Syms) -> Option<Num> {
        if !self.rel.is_some() {
            return Some(self);
        }
        let Some(Some((slo, shi))) = syms.get(usize::from(self.rel.sym)).copied() else {
            return Some(self);
        };
        let sh = u32::from(self.rel.shift);
        let lo = if self.rel.lo == NEG_INF {
            i128::from(i64::MIN)
        } else {
            (i128::from(slo) << sh) + i128::from(self.rel.lo)
        };
        let hi = if self.rel.hi == POS_INF {
            i128::from(i64::MAX)
        } else {
            (i128::from(shi) << sh) + i128::from(self.rel.hi)
        };
        let lo = lo.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        let hi = hi.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        if lo > hi {
            return None;
        }
        self.s = self.s.meet(Scalar::range_s(lo, hi))?;
        Some(self)
    }

    /// The sum, at 64 bits (`width` 8) or 32 (`width` 4, zero-extended).
    pub(crate) fn add(self, o: Num, width: u8) -> Num {
        // Without relations at 64 bits, two constants (an induction register
        // on its first pass plus its step) give the wrapped sum, and any
        // value on either side gives any value, as the general rule finds.
        if width == 8 && !self.rel.is_some() && !o.rel.is_some() {
            if let (Some(x), Some(y)) = (self.s.as_const(), o.s.as_const()) {
                return Num::constant(x.wrapping_add(y));
            }
            if self.s.is_unknown() || o.s.is_unknown() {
                return Num::unknown();
            }
        }
        self.add_general(o, width)
    }

    /// [`Num::add`] without its shortcuts (the tests check that they give
    /// what this gives).
    fn add_general(self, o: Num, width: u8) -> Num {
        let (a, b) = (self.at_width(width), o.at_width(width));
        let mut s = a.s.add(b.s);
        let lo = i128::from(a.s.smin()) + i128::from(b.s.smin());
        let hi = i128::from(a.s.smax()) + i128::from(b.s.smax());
        let mut rel = Rel::NONE;
        if exact(lo, hi) {
            rel = match (a.rel.is_some(), b.rel.is_some()) {
                (true, false) => shift_rel(a.rel, b.s),
                (false, true) => shift_rel(b.rel, a.s),
                // Either relation moved by the other's range is true; keep
                // the one bounded above, moved by the narrower range.
                (true, true) => {
                    let (ra, rb) = (shift_rel(a.rel, b.s), shift_rel(b.rel, a.s));
                    let width = |s: Scalar| i128::from(s.smax()) - i128::from(s.smin());
                    match (ra.hi != POS_INF, rb.hi != POS_INF) {
                        (true, false) => ra,
                        (false, true) => rb,
                        _ if width(b.s) <= width(a.s) => ra,
                        _ => rb,
                    }
                }
                (false, false) => Rel::NONE,
            };
        }
        if width == 4 {
            let fits = exact(lo, hi) && lo >= 0 && hi <= i128::from(u32::MAX);
            if !fits {
                rel = Rel::NONE;
            }
            s = s.zext(32);
        }
        Num { s, rel, id: NO_ID }
    }

    /// The difference `self - o`; two relations on the same base cancel
    /// into a plain range.
    pub(crate) fn sub(self, o: Num, width: u8) -> Num {
        // Any value on either side, at 64 bits and without a relation on
        // the left: any value (the rules below keep none).
        if width == 8 && !self.rel.is_some() && (self.s.is_unknown() || o.s.is_unknown()) {
            return Num::unknown();
        }
        self.sub_general(o, width)
    }

    /// [`Num::sub`] without its shortcut.
    fn sub_general(self, o: Num, width: u8) -> Num {
        let (a, b) = (self.at_width(width), o.at_width(width));
        let mut s = a.s.sub(b.s);
        let lo = i128::from(a.s.smin()) - i128::from(b.s.smax());
        let hi = i128::from(a.s.smax()) - i128::from(b.s.smin());
        let mut rel = Rel::NONE;
        if exact(lo, hi) {
            if a.rel.is_some() && !b.rel.is_some() {
                rel = shift_rel(a.rel, neg(b.s));
            } else if a.rel.is_some() && a.rel.same_base(&b.rel) && width == 8 {
                // (S<<k + da) - (S<<k + db) = da - db.
                let dlo = if a.rel.lo == NEG_INF || b.rel.hi == POS_INF {
                    NEG_INF
                } else {
                    add_lo(a.rel.lo, b.rel.hi.checked_neg().unwrap_or(NEG_INF))
                };
                let dhi = if a.rel.hi == POS_INF || b.rel.lo == NEG_INF {
                    POS_INF
                } else {
                    add_hi(a.rel.hi, b.rel.lo.checked_neg().unwrap_or(POS_INF))
                };
                if let Some(m) = s.meet(Scalar::range_s(dlo, dhi)) {
                    s = m;
                }
            }
        }
        if width == 4 {
            if !(exact(lo, hi) && lo >= 0 && hi <= i128::from(u32::MAX)) {
                rel = Rel::NONE;
            }
            s = s.zext(32);
        }
        Num { s, rel, id: NO_ID }
    }

    /// `self << k` (also multiplication by `1 << k`).
    pub(crate) fn shl(self, k: u32, width: u8) -> Num {
        let a = self.at_width(width);
        let bits = u32::from(width) * 8;
        let k = k & (bits - 1);
        let mut s = a.s.shl(Scalar::constant(u64::from(k)), bits);
        let lo = i128::from(a.s.smin()) << k;
        let hi = i128::from(a.s.smax()) << k;
        let mut rel = Rel::NONE;
        if exact(lo, hi) && a.rel.is_some() && u32::from(a.rel.shift) + k <= 62 {
            rel = Rel {
                sym: a.rel.sym,
                shift: a.rel.shift + k as u8,
                lo: bshl(a.rel.lo, k),
                hi: bshl(a.rel.hi, k),
            };
        }
        if width == 4 {
            if !(exact(lo, hi) && lo >= 0 && hi <= i128::from(u32::MAX)) {
                rel = Rel::NONE;
            }
            s = s.zext(32);
        }
        Num { s, rel, id: NO_ID }
    }

    /// The value as a `width`-byte operand sees it (the low 32 bits
    /// zero-extended for `width` 4; a relation survives only if the value
    /// is known to fit).
    pub(crate) fn at_width(self, width: u8) -> Num {
        if width >= 8 {
            return self;
        }
        let bits = u32::from(width) * 8;
        let max = (1i64 << bits) - 1;
        if self.s.smin() >= 0 && self.s.smax() <= max {
            return self;
        }
        Num::scalar(self.s.zext(bits))
    }
}

fn neg(s: Scalar) -> Scalar {
    Scalar::constant(0).sub(s)
}

/// A relation moved by an added range `[s.smin, s.smax]`.
fn shift_rel(r: Rel, s: Scalar) -> Rel {
    let lo = add_lo(r.lo, s.smin());
    let hi = add_hi(r.hi, s.smax());
    if lo == NEG_INF && hi == POS_INF {
        return Rel::NONE;
    }
    Rel { lo, hi, ..r }
}

/// Joins two relations (over both paths' symbol facts).
pub(crate) fn join_rel(a: &Num, sa: &Syms, b: &Num, sb: &Syms) -> Rel {
    // Prefer a base one side has; derive the other side's from its range.
    let base = if a.rel.is_some() { a.rel } else { b.rel };
    if !base.is_some() {
        return Rel::NONE;
    }
    let ra = a.rel_on(base.sym, base.shift, sa);
    let rb = b.rel_on(base.sym, base.shift, sb);
    if !ra.is_some() || !rb.is_some() {
        return Rel::NONE;
    }
    let r = Rel {
        sym: base.sym,
        shift: base.shift,
        lo: ra.lo.min(rb.lo),
        hi: ra.hi.max(rb.hi),
    };
    if r.lo == NEG_INF && r.hi == POS_INF {
        Rel::NONE
    } else {
        r
    }
}

/// Widening of a relation: a bound that moved goes to infinity.
pub(crate) fn widen_rel(old: Rel, new: Rel) -> Rel {
    if !old.is_some() || !old.same_base(&new) {
        return Rel::NONE;
    }
    let lo = if new.lo < old.lo { NEG_INF } else { old.lo };
    let hi = if new.hi > old.hi { POS_INF } else { old.hi };
    if lo == NEG_INF && hi == POS_INF {
        Rel::NONE
    } else {
        Rel { lo, hi, ..old }
    }
}

/// `a cond b` refined on relations: where the integer comparison holds
/// (signed conditions, or unsigned ones between non-negative values), the
/// relation of one side bounds the other. Returns the refined pair.
pub(crate) fn refine_rel(a: Num, b: Num, cond: Cond, syms: &Syms) -> (Num, Num) {
    let nonneg = a.s.smin() >= 0 && b.s.smin() >= 0;
    let (lt, le, gt, ge) = match cond {
        Cond::Slt => (true, false, false, false),
        Cond::Sle => (false, true, false, false),
        Cond::Sgt => (false, false, true, false),
        Cond::Sge => (false, false, false, true),
        Cond::Ult if nonneg => (true, false, false, false),
        Cond::Ule if nonneg => (false, true, false, false),
        Cond::Ugt if nonneg => (false, false, true, false),
        Cond::Uge if nonneg => (false, false, false, true),
        Cond::Eq => (false, true, false, true),
        Cond::Ne => return refine_ne(a, b, syms),
        _ => return (a, b),
    };
    let (mut a, mut b) = (a, b);
    // a <= b + k (k = -1 for <, 0 for <=): a's upper bound from b's.
    if lt || le {
        let k = if lt { -1 } else { 0 };
        a = bound_above(a, b, k, syms);
        b = bound_below(b, a, -k, syms);
    }
    if gt || ge {
        let k = if gt { 1 } else { 0 };
        a = bound_below(a, b, k, syms);
        b = bound_above(b, a, -k, syms);
    }
    (a, b)
}

/// `x <= y + k`: tightens `x`'s relation on `y`'s base.
fn bound_above(x: Num, y: Num, k: i64, syms: &Syms) -> Num {
    if !y.rel.is_some() || y.rel.hi == POS_INF {
        return x;
    }
    let mut r = x.rel_on(y.rel.sym, y.rel.shift, syms);
    if !r.is_some() {
        r = Rel {
            sym: y.rel.sym,
            shift: y.rel.shift,
            lo: NEG_INF,
            hi: POS_INF,
        };
    }
    r.hi = r.hi.min(add_hi(y.rel.hi, k));
    adopt(x, r)
}

/// `x >= y + k`: tightens `x`'s relation on `y`'s base.
fn bound_below(x: Num, y: Num, k: i64, syms: &Syms) -> Num {
    if !y.rel.is_some() || y.rel.lo == NEG_INF {
        return x;
    }
    let mut r = x.rel_on(y.rel.sym, y.rel.shift, syms);
    if !r.is_some() {
        r = Rel {
            sym: y.rel.sym,
            shift: y.rel.shift,
            lo: NEG_INF,
            hi: POS_INF,
        };
    }
    r.lo = r.lo.max(add_lo(y.rel.lo, k));
    adopt(x, r)
}

/// Rounds a relation's bounds to the multiple of `2^t` that
/// `x - (S << shift)` must be: `x`'s known low zero bits and the shift.
fn aligned(x: &Num, mut r: Rel) -> Rel {
    let t = x.s.trailing_zeros().min(u32::from(r.shift)).min(62);
    if t == 0 {
        return r;
    }
    let m = 1i64 << t;
    if r.hi != POS_INF {
        r.hi = r.hi.div_euclid(m) * m;
    }
    if r.lo != NEG_INF {
        r.lo =
            r.lo.checked_add(m - 1)
                .map_or(r.lo, |v| v.div_euclid(m) * m);
    }
    r
}

/// Gives `x` the relation `r` unless it already has one on another base
/// that bounds it above (kept: the access proofs want upper bounds).
fn adopt(mut x: Num, r: Rel) -> Num {
    if r.lo == NEG_INF && r.hi == POS_INF {
        return x;
    }
    let r = aligned(&x, r);
    if !x.rel.is_some() || x.rel.same_base(&r) || x.rel.hi == POS_INF {
        x.rel = r;
    }
    x
}

/// `a != b`: where `b` is exactly `(S << shift) + d` and `a`'s relation
/// ends at `d`, the end moves by the common alignment.
fn refine_ne(a: Num, b: Num, syms: &Syms) -> (Num, Num) {
    let step = |x: Num, y: Num| -> Num {
        if !y.rel.is_some() || y.rel.lo != y.rel.hi {
            return x;
        }
        let d = y.rel.lo;
        let r = x.rel_on(y.rel.sym, y.rel.shift, syms);
        if !r.is_some() {
            return x;
        }
        // x - (S << shift) is a multiple of 2^t: x's known low zero bits,
        // the symbol's shift and d's low zero bits.
        let t =
            x.s.trailing_zeros()
                .min(u32::from(y.rel.shift))
                .min(if d == 0 { 64 } else { d.trailing_zeros() })
                .min(62);
        let a = 1i64 << t;
        let mut r2 = r;
        if r.hi == d {
            r2.hi = d.checked_sub(a).unwrap_or(r.hi);
        }
        if r.lo == d {
            r2.lo = d.checked_add(a).unwrap_or(r.lo);
        }
        if r2 != r { adopt(x, r2) } else { x }
    };
    (step(a, b), step(b, a))
}

/// Widening with thresholds: a bound that grew stops at the nearest
/// constant the code compares with (`thresholds`, sorted) before it jumps
/// to its limit, so a loop to a constant keeps its bound.
pub(crate) fn widen_scalar(old: Scalar, joined: Scalar, thresholds: &[i64]) -> Scalar {
    // Nothing grew (a loop head at its fixpoint): `widen` gives `old`, no
    // bound moved, and meeting with the full range keeps it.
    if old == joined {
        return old;
    }
    // A counter's first widening (a constant and the next values above it):
    // one reduction ([`Scalar::widen_counter`]; a test compares it with the
    // rule below).
    if let Some(w) = old.widen_counter(joined, |v| stop_above(thresholds, v)) {
        return w;
    }
    widen_scalar_general(old, joined, thresholds)
}

/// [`widen_scalar`] of `old` and its join with `new`; a counter's first
/// two values ([`Scalar::widen_constants`]) skip the join.
#[inline]
pub(crate) fn widen_join(old: Scalar, new: Scalar, thresholds: &[i64]) -> Scalar {
    if let Some(w) = old.widen_constants(new, |v| stop_above(thresholds, v)) {
        return w;
    }
    widen_scalar(old, old.join(new), thresholds)
}

/// The threshold an upper bound that grew beyond `v` stops at: the least
/// one at or above `v`, `i64::MAX` when there is none.
fn stop_above(thresholds: &[i64], v: i64) -> i64 {
    let i = thresholds.partition_point(|&t| t < v);
    thresholds.get(i).copied().unwrap_or(i64::MAX)
}

/// [`widen_scalar`] without its shortcuts, for `old != joined`.
fn widen_scalar_general(old: Scalar, joined: Scalar, thresholds: &[i64]) -> Scalar {
    let w = Scalar::widen(old, joined);
    let mut lo = i64::MIN;
    let mut hi = i64::MAX;
    if w.smax() > joined.smax() {
        hi = stop_above(thresholds, joined.smax());
    }
    if w.smin() < joined.smin() {
        let i = thresholds.partition_point(|&t| t <= joined.smin());
        if let Some(&t) = i.checked_sub(1).and_then(|i| thresholds.get(i)) {
            lo = t;
        }
    }
    w.meet_signed(lo, hi).unwrap_or(w)
}

/// The widening thresholds (sorted, see [`add_thresholds`]) and the
/// constant and alignment recorded last: each pass of a loop records the
/// same ones again, and a repeat of the last call adds nothing (the set
/// only grows, and that call added whatever was missing), so it returns
/// at once instead of searching the set.
#[derive(Clone, Debug)]
pub(crate) struct Thresholds {
    vals: Vec<i64>,
    last: (i64, u32),
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds::from(Vec::new())
    }
}

impl From<Vec<i64>> for Thresholds {
    /// A set of thresholds (sorted, no duplicates) with no call recorded.
    fn from(vals: Vec<i64>) -> Self {
        Thresholds {
            vals,
            last: (0, u32::MAX),
        }
    }
}

impl Thresholds {
    /// The thresholds, sorted.
    pub(crate) fn as_slice(&self) -> &[i64] {
        &self.vals
    }

    pub(crate) fn clear(&mut self) {
        self.vals.clear();
        self.last = (0, u32::MAX);
    }

    /// [`add_thresholds`], at once where it repeats the last call.
    #[inline]
    pub(crate) fn add(&mut self, c: i64, align: u32) {
        if self.last != (c, align) {
            self.last = (c, align);
            add_thresholds(&mut self.vals, c, align);
        }
    }
}

/// Records `c` and its neighbours as widening thresholds (kept sorted).
pub(crate) fn add_thresholds(thresholds: &mut Vec<i64>, c: i64, align: u32) {
    // Each pass of a loop records the same constants again: when `c - 1`,
    // `c` and `c + 1` are there already (and the aligned step, if any),
    // nothing is added.
    let aligned = (1..=12).contains(&align);
    if let (Some(below), Some(above)) = (c.checked_sub(1), c.checked_add(1)) {
        let i = thresholds.partition_point(|&t| t < below);
        if thresholds.get(i..i + 3) == Some(&[below, c, above][..])
            && (!aligned
                || c.checked_sub(1 << align)
                    .is_none_or(|v| thresholds.binary_search(&v).is_ok()))
        {
            return;
        }
    }
    // Added in increasing order, so that a value above every threshold
    // (the first constants of a function) is a push.
    let mut add = |v: Option<i64>| {
        let Some(v) = v else { return };
        if thresholds.last().is_none_or(|&last| last < v) {
            thresholds.push(v);
        } else if let Err(i) = thresholds.binary_search(&v) {
            thresholds.insert(i, v);
        }
    };
    if aligned {
        add(c.checked_sub(1 << align));
    }
    add(c.checked_sub(1));
    add(Some(c));
    add(c.checked_add(1));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Numbers of every kind the shortcuts look at: constants, ranges, any
    /// value, each with or without a relation.
    fn num() -> impl Strategy<Value = Num> {
        let scalar = prop_oneof![
            any::<u64>().prop_map(Scalar::constant),
            (0u64..20).prop_map(Scalar::constant),
            (-50i64..50, 0i64..100).prop_map(|(lo, len)| Scalar::range_s(lo, lo + len)),
            (any::<i64>(), any::<i64>()).prop_map(|(a, b)| Scalar::range_s(a.min(b), a.max(b))),
            Just(Scalar::unknown()),
        ];
        let rel = prop_oneof![
            Just(Rel::NONE),
            (0u8..2, 0u8..4, -20i64..0, -5i64..5).prop_map(|(sym, shift, lo, d)| Rel {
                sym,
                shift,
                lo,
                hi: lo.saturating_add(d.abs()),
            }),
            (0u8..2, -8i64..8).prop_map(|(sym, d)| Rel::exact(sym, 0, d)),
        ];
        (scalar, rel).prop_map(|(s, rel)| Num { s, rel, id: NO_ID })
    }

    /// Scalars of every kind widening meets: constants, signed and
    /// unsigned ranges, known bits, any value.
    fn scalar() -> impl Strategy<Value = Scalar> {
        prop_oneof![
            any::<u64>().prop_map(Scalar::constant),
            (-20i64..20).prop_map(|c| Scalar::constant(c as u64)),
            (-50i64..50, 0i64..100).prop_map(|(lo, len)| Scalar::range_s(lo, lo + len)),
            (any::<i64>(), any::<i64>()).prop_map(|(a, b)| Scalar::range_s(a.min(b), a.max(b))),
            (any::<u64>(), any::<u64>()).prop_map(|(a, b)| Scalar::range_u(a.min(b), a.max(b))),
            (any::<u64>(), any::<u64>())
                .prop_map(|(v, m)| Scalar::from_bits(crate::tnum::Tnum::new(v, m))),
            Just(Scalar::unknown()),
        ]
    }

    /// A bound of a signed range: the limits, small numbers, anything.
    fn bound() -> impl Strategy<Value = i64> {
        prop_oneof![Just(i64::MIN), Just(i64::MAX), -40i64..40, any::<i64>(),]
    }

    #[test]
    fn a_counter_from_one_to_two_widens_in_one_step_to_the_threshold() {
        let (old, joined) = (
            Scalar::constant(1),
            Scalar::constant(1).join(Scalar::constant(2)),
        );
        let fast = old.widen_counter(joined, |v| stop_above(&[4, 5, 6], v));
        assert_eq!(fast, Some(Scalar::range_s(1, 4)));
        assert_eq!(fast, Some(widen_scalar_general(old, joined, &[4, 5, 6])));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn thresholds_stay_the_sorted_set_of_every_constant_recorded_and_its_neighbours(
            start in prop::collection::btree_set(-40i64..40, 0..6),
            recorded in prop::collection::vec(
                (
                    prop_oneof![-3i64..3, -40i64..40, Just(i64::MIN), Just(i64::MAX)],
                    prop_oneof![0u32..3, 0u32..14],
                    1usize..3,
                ),
                1..6,
            ),
        ) {
            // `Thresholds::add` (which skips a repeat of its last call)
            // keeps the same set: each constant is recorded once or twice
            // in a row, as a loop's passes record it.
            let mut thresholds: Vec<i64> = start.iter().copied().collect();
            let mut memo = Thresholds::from(thresholds.clone());
            let mut set = start;
            for (c, align, times) in recorded {
                add_thresholds(&mut thresholds, c, align);
                for _ in 0..times {
                    memo.add(c, align);
                }
                set.extend([c.checked_sub(1), Some(c), c.checked_add(1)].into_iter().flatten());
                if (1..=12).contains(&align) {
                    set.extend(c.checked_sub(1 << align));
                }
                prop_assert_eq!(&thresholds, &set.iter().copied().collect::<Vec<i64>>());
                prop_assert_eq!(memo.as_slice(), &thresholds[..]);
            }
        }

        #[test]
        fn widening_a_counter_from_a_constant_gives_what_the_general_rule_gives(
            c in prop_oneof![0u64..40, any::<u64>(), (0u32..64).prop_map(|k| (1u64 << k) - 1)],
            news in prop::collection::vec(prop_oneof![
                (0u64..50).prop_map(Scalar::constant),
                (0u64..50, 0u64..50).prop_map(|(d, len)| Scalar::range_u(d, d + len)),
                scalar(),
            ], 1..3),
            shift in 0u64..=1,
            thresholds in prop::collection::btree_set(
                prop_oneof![-5i64..60, bound()], 0..6),
        ) {
            let thresholds: Vec<i64> = thresholds.into_iter().collect();
            let old = Scalar::constant(c);
            // What the loop made of the counter: values near it, above it,
            // or anything (the general rule answers those).
            let joined = news.iter().fold(old, |j, n| {
                let moved = if shift == 1 { n.add(Scalar::constant(c)) } else { *n };
                j.join(moved)
            });
            if old != joined {
                prop_assert_eq!(
                    widen_scalar(old, joined, &thresholds),
                    widen_scalar_general(old, joined, &thresholds)
                );
            }
        }

        #[test]
        fn widening_two_constants_gives_what_widening_their_join_gives(
            old in prop_oneof![
                (0u64..40).prop_map(Scalar::constant),
                any::<u64>().prop_map(Scalar::constant),
                (0u32..64).prop_map(|k| Scalar::constant((1u64 << k) - 1)),
                scalar(),
            ],
            new in prop_oneof![
                (0u64..80).prop_map(Scalar::constant),
                any::<u64>().prop_map(Scalar::constant),
                (0u32..64).prop_map(|k| Scalar::constant(1u64 << k)),
                scalar(),
            ],
            thresholds in prop::collection::btree_set(
                prop_oneof![-5i64..90, bound()], 0..6),
        ) {
            let thresholds: Vec<i64> = thresholds.into_iter().collect();
            let joined = old.join(new);
            let general = if old == joined {
                old
            } else {
                widen_scalar_general(old, joined, &thresholds)
            };
            prop_assert_eq!(widen_join(old, new, &thresholds), general);
        }

        #[test]
        fn meeting_a_signed_range_gives_what_meeting_the_built_range_gives(
            s in scalar(),
            lo in bound(),
            hi in bound(),
        ) {
            prop_assert_eq!(s.meet_signed(lo, hi), s.meet(Scalar::range_s(lo, hi)));
        }

        #[test]
        fn shortcuts_of_sums_and_differences_give_what_the_general_rules_give(
            a in num(),
            b in num(),
            width in prop::sample::select(vec![4u8, 8]),
        ) {
            prop_assert_eq!(a.add(b, width), a.add_general(b, width));
            prop_assert_eq!(a.sub(b, width), a.sub_general(b, width));
        }
    }
}
