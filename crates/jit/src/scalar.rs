//! The scalar value domain: what the validator knows about a 64-bit integer.
//!
//! A [`Scalar`] is the set of 64-bit values that lie in its known bits
//! ([`Tnum`]), its unsigned range `[umin, umax]` and its signed range
//! `[smin, smax]` at once, as in the eBPF verifier. Every constructor and
//! operation returns a *reduced* value: each component is tightened by the
//! others (bits -> exact nearest members for the bounds, bounds -> the bits
//! they share, unsigned <-> signed wherever one range lies in one half of the
//! other's number line), so equal sets mostly compare equal and precision
//! found by one component reaches all. A `Scalar` is never empty; operations
//! that can produce an empty set (`meet`, branch refinement) return `None`.
//!
//! Soundness: each operation computes every component as a superset of the
//! concrete results (per-rule arguments next to the code), and reduction only
//! intersects sound supersets, so the result holds every concrete result.
//! The tests (`scalar/tests.rs`) check this by sampling members. Arithmetic
//! wraps at 64 bits as the CPU does; the domain knows nothing of x86 beyond
//! the shift-count masking that shifts take a width for.

use std::fmt;
use std::ops::Neg;

use crate::tnum::{Tnum, low_bits};

mod branch;
#[cfg(test)]
mod tests;

pub(crate) use branch::Cond;
use branch::exclude;

/// A set of 64-bit values: known bits plus unsigned and signed bounds, kept
/// mutually reduced (see the module docs). `Copy`, no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Scalar {
    bits: Tnum,
    umin: u64,
    umax: u64,
    smin: i64,
    smax: i64,
}

/// At most this many rounds of reduction; each round only intersects, so
/// stopping early is sound. Sampled values (the tests) never need a third.
const REDUCE_ROUNDS: u32 = 4;

/// `2^64`, the modulus of the unsigned number line.
const WRAP: u128 = 1 << 64;

/// The unsigned range of wrapped values of the integers `[lo, hi]` (an
/// over-approximation of a set of exact results): exact when `lo` and `hi`
/// lie in the same `2^64` block, since then every integer between them
/// wraps by the same amount; otherwise the full range.
const fn unsigned_window(lo: u128, hi: u128) -> (u64, u64) {
    if lo >> 64 == hi >> 64 {
        (lo as u64, hi as u64)
    } else {
        (0, u64::MAX)
    }
}

/// The signed range of wrapped values of the integers `[lo, hi]`: exact
/// when both lie in the same block `[k*2^64 - 2^63, k*2^64 + 2^63)`.
const fn signed_window(lo: i128, hi: i128) -> (i64, i64) {
    const HALF: i128 = 1 << 63;
    if (lo + HALF) >> 64 == (hi + HALF) >> 64 {
        (lo as i64, hi as i64)
    } else {
        (i64::MIN, i64::MAX)
    }
}

/// The least and greatest of four values.
fn min_max4(v: [i128; 4]) -> (i128, i128) {
    let lo = v[0].min(v[1]).min(v[2].min(v[3]));
    let hi = v[0].max(v[1]).max(v[2].max(v[3]));
    (lo, hi)
}

/// `x` with its low `bits` bits (1..=63) sign-extended.
const fn sext_value(x: u64, bits: u32) -> i64 {
    ((x << (64 - bits)) as i64) >> (64 - bits)
}

impl Scalar {
    /// Every 64-bit value.
    pub(crate) const fn unknown() -> Scalar {
        Scalar {
            bits: Tnum::unknown(),
            umin: 0,
            umax: u64::MAX,
            smin: i64::MIN,
            smax: i64::MAX,
        }
    }

    /// Exactly `value`.
    pub(crate) const fn constant(value: u64) -> Scalar {
        Scalar {
            bits: Tnum::constant(value),
            umin: value,
            umax: value,
            smin: value as i64,
            smax: value as i64,
        }
    }

    /// Every value of the unsigned range `[lo, hi]` (any value if `lo > hi`).
    pub(crate) fn range_u(lo: u64, hi: u64) -> Scalar {
        if lo > hi {
            return Scalar::unknown();
        }
        Scalar::make(Tnum::range(lo, hi), lo, hi, i64::MIN, i64::MAX)
    }

    /// Every value of the signed range `[lo, hi]` (any value if `lo > hi`).
    pub(crate) fn range_s(lo: i64, hi: i64) -> Scalar {
        if lo > hi {
            return Scalar::unknown();
        }
        Scalar::make(Tnum::unknown(), 0, u64::MAX, lo, hi)
    }

    /// Every member of `bits`.
    pub(crate) fn from_bits(bits: Tnum) -> Scalar {
        Scalar::make(bits, 0, u64::MAX, i64::MIN, i64::MAX)
    }

    /// Any value of the low `bytes` bytes, zero-extended: `[0, 2^(8*bytes) - 1]`
    /// (what `movzx` of a loaded byte or word holds; `bytes >= 8` is any value).
    pub(crate) fn zext_unknown(bytes: u8) -> Scalar {
        Scalar::range_u(0, low_bits(u32::from(bytes) * 8))
    }

    /// Any value of the low `bytes` bytes, sign-extended (`movsx` of a load):
    /// `[-2^(8*bytes-1), 2^(8*bytes-1) - 1]`; `bytes == 0` is 0, `bytes >= 8`
    /// any value.
    pub(crate) fn sext_unknown(bytes: u8) -> Scalar {
        match bytes {
            0 => Scalar::constant(0),
            1..=7 => {
                let half = 1i64 << (u32::from(bytes) * 8 - 1);
                Scalar::range_s(-half, half - 1)
            }
            _ => Scalar::unknown(),
        }
    }

    /// Reduce raw components that are known to hold every concrete result.
    /// They cannot be contradictory then; if they are, an operation is
    /// wrong, and the full set is the safe answer (release builds).
    fn make(bits: Tnum, umin: u64, umax: u64, smin: i64, smax: i64) -> Scalar {
        let raw = Scalar {
            bits,
            umin,
            umax,
            smin,
            smax,
        };
        // Constants are the common case (immediates); known bits say it all.
        if let Some(value) = bits.as_const() {
            debug_assert!(
                raw.contains(value),
                "an operation lost its only member: {raw:?}"
            );
            return Scalar::constant(value);
        }
        // So is "any value" (data from the caller or from memory).
        if raw == Scalar::unknown() {
            return raw;
        }
        let reduced = raw.reduced();
        debug_assert!(reduced.is_some(), "an operation lost every member: {raw:?}");
        reduced.unwrap_or(Scalar::unknown())
    }

    /// Tighten every component by the others, `None` if they share no value.
    ///
    /// A round: the two ranges bound each other, the known bits take those
    /// of the unsigned range, and the four bounds move to the nearest
    /// members of the known bits. If that last step moves no bound, the next
    /// round would change nothing (the sign deduction is idempotent and the
    /// bits already hold the range's), so the value is reduced.
    ///
    /// Most values lie in one sign half once the two ranges have bounded
    /// each other; then the two ranges are the same interval and every round
    /// keeps them so (the bits know the sign bit, so signed and unsigned
    /// order agree on the members), and [`Scalar::reduced_in_one_half`] runs
    /// the same rounds on the one interval. Other values take every round in
    /// full ([`Scalar::reduced_by_rounds`]); the tests compare both.
    fn reduced(self) -> Option<Scalar> {
        // Ranges that agree in one sign half, with known bits that hold every
        // member of the range (a counter narrowed by its loop test): the
        // sign deduction changes nothing, the first round's intersection
        // gives the range's own bits and the ends are members of those, so no
        // bound moves and the rounds end there.
        if self.umin <= self.umax
            && self.in_one_half()
            && self.bits.includes(Tnum::range(self.umin, self.umax))
        {
            return Some(Scalar {
                bits: Tnum::range(self.umin, self.umax),
                ..self
            });
        }
        // Any value cut by a signed bound on each side of -1 and 0 (a signed
        // test of any value): the ranges bound nothing of each other and
        // there are no known bits, so every round leaves it as it is.
        if self.bits == Tnum::unknown()
            && (self.umin, self.umax) == (0, u64::MAX)
            && self.smin < 0
            && self.smax >= 0
        {
            return Some(self);
        }
        let mut signs = self;
        signs.deduce_signs()?;
        if (signs.umin as i64) <= (signs.umax as i64)
            && signs.smin == signs.umin as i64
            && signs.smax == signs.umax as i64
        {
            return signs.reduced_in_one_half();
        }
        self.reduced_by_rounds()
    }

    /// The rounds of [`Scalar::reduced`] for a value whose ranges agree and
    /// lie in one sign half (after the sign deduction, which each later
    /// round would leave alone): a round intersects the bits with the
    /// range's and moves the two ends to the nearest members; the signed ends
    /// move the same way, since every member shares the known sign bit.
    /// The range `[lo, hi]` (`lo <= hi`, both in one sign half) with the
    /// known bits its ends share: already reduced, as every member has
    /// those bits and the ends are members.
    #[inline]
    fn one_half_range(lo: u64, hi: u64) -> Scalar {
        Scalar {
            bits: Tnum::range(lo, hi),
            umin: lo,
            umax: hi,
            smin: lo as i64,
            smax: hi as i64,
        }
    }

    #[inline]
    fn reduced_in_one_half(self) -> Option<Scalar> {
        let (lo, hi) = (self.umin, self.umax);
        // Known bits that hold every member of the range: the first round
        // gives the range's own bits and moves no end (see `reduced`).
        if lo <= hi && self.bits.includes(Tnum::range(lo, hi)) {
            return Some(Scalar::one_half_range(lo, hi));
        }
        self.one_half_rounds()
    }

    /// The rounds of [`Scalar::reduced_in_one_half`] (out of line).
    #[inline(never)]
    fn one_half_rounds(self) -> Option<Scalar> {
        let Scalar {
            mut bits,
            umin: mut lo,
            umax: mut hi,
            ..
        } = self;
        for _ in 0..REDUCE_ROUNDS {
            bits = bits.intersect(Tnum::range(lo, hi))?;
            let (new_lo, new_hi) = (bits.min_ge(lo)?, bits.max_le(hi)?);
            if new_lo > new_hi {
                return None;
            }
            let moved = (new_lo, new_hi) != (lo, hi);
            (lo, hi) = (new_lo, new_hi);
            if !moved {
                break;
            }
        }
        Some(Scalar {
            bits,
            umin: lo,
            umax: hi,
            smin: lo as i64,
            smax: hi as i64,
        })
    }

    /// Every round of [`Scalar::reduced`] in full, for any value (out of
    /// line: the one-half case is the common one and stays small).
    #[inline(never)]
    fn reduced_by_rounds(mut self) -> Option<Scalar> {
        for _ in 0..REDUCE_ROUNDS {
            self.deduce_signs()?;
            self.bits = self.bits.intersect(Tnum::range(self.umin, self.umax))?;
            let before = (self.umin, self.umax, self.smin, self.smax);
            self.umin = self.bits.min_ge(self.umin)?;
            self.umax = self.bits.max_le(self.umax)?;
            self.smin = self.bits.smin_ge(self.smin)?;
            self.smax = self.bits.smax_le(self.smax)?;
            if self.umin > self.umax || self.smin > self.smax {
                return None;
            }
            if before == (self.umin, self.umax, self.smin, self.smax) {
                break;
            }
        }
        Some(self)
    }

    /// Intersect the unsigned and the signed range where one is an interval
    /// of the other's number line; where both cross (the unsigned range holds
    /// `2^63 - 1` and `2^63`, the signed one `-1` and `0`) their intersection
    /// is two pieces, one in each half, and a piece that is empty lets the
    /// other one bound both. The signed range is narrowed again at the end,
    /// so the two agree afterwards and a second call changes nothing.
    fn deduce_signs(&mut self) -> Option<()> {
        self.signed_from_unsigned()?;
        if (self.smin as u64) <= (self.smax as u64) {
            // The signed range does not hold both -1 and 0: an unsigned interval.
            self.umin = self.umin.max(self.smin as u64);
            self.umax = self.umax.min(self.smax as u64);
            if self.umin > self.umax {
                return None;
            }
        } else if (self.umin as i64) > (self.umax as i64) {
            let low_piece = self.umin <= self.smax as u64;
            let high_piece = self.smin as u64 <= self.umax;
            match (low_piece, high_piece) {
                (false, false) => return None,
                (true, false) => {
                    self.umax = self.smax as u64;
                    self.smin = self.umin as i64;
                }
                (false, true) => {
                    self.umin = self.smin as u64;
                    self.smax = self.umax as i64;
                }
                (true, true) => {}
            }
        }
        self.signed_from_unsigned()
    }

    /// Where the unsigned range lies in one sign half it is a signed
    /// interval: narrow the signed range to it.
    fn signed_from_unsigned(&mut self) -> Option<()> {
        if (self.umin as i64) <= (self.umax as i64) {
            self.smin = self.smin.max(self.umin as i64);
            self.smax = self.smax.min(self.umax as i64);
            if self.smin > self.smax {
                return None;
            }
        }
        Some(())
    }

    /// The value, when the set has exactly one.
    #[must_use]
    pub(crate) const fn as_const(self) -> Option<u64> {
        if self.umin == self.umax {
            Some(self.umin)
        } else {
            None
        }
    }

    /// The least member, unsigned.
    #[must_use]
    pub(crate) const fn umin(self) -> u64 {
        self.umin
    }

    /// The greatest member, unsigned.
    #[must_use]
    pub(crate) const fn umax(self) -> u64 {
        self.umax
    }

    /// The least member, signed.
    #[must_use]
    pub(crate) const fn smin(self) -> i64 {
        self.smin
    }

    /// The greatest member, signed.
    #[must_use]
    pub(crate) const fn smax(self) -> i64 {
        self.smax
    }

    /// The known bits.
    #[must_use]
    pub(crate) const fn bits(self) -> Tnum {
        self.bits
    }

    /// Whether `x` is in the set (inside every component).
    #[must_use]
    pub(crate) const fn contains(self, x: u64) -> bool {
        self.bits.contains(x)
            && self.umin <= x
            && x <= self.umax
            && self.smin <= x as i64
            && x as i64 <= self.smax
    }

    /// Whether the set is every value.
    #[must_use]
    pub(crate) fn is_unknown(self) -> bool {
        self == Scalar::unknown()
    }

    /// How many low bits are known to be 0 in every member (64 for the
    /// constant 0): the alignment the set guarantees.
    #[must_use]
    pub(crate) const fn trailing_zeros(self) -> u32 {
        (self.bits.value() | self.bits.mask()).trailing_zeros()
    }

    /// Whether 0 is outside the set.
    #[must_use]
    pub(crate) const fn is_nonzero(self) -> bool {
        !self.contains(0)
    }

    /// `a + b`, wrapping. Bounds: the exact integer sums lie in
    /// `[min + min, max + max]`, kept when that does not straddle a wrap.
    #[must_use]
    pub(crate) fn add(self, b: Scalar) -> Scalar {
        // Two constants (a constant offset of a constant address or index):
        // the known bits of the sum are all known, so the general rule ends
        // at this constant too.
        if let (Some(x), Some(y)) = (self.as_const(), b.as_const()) {
            return Scalar::constant(x.wrapping_add(y));
        }
        // Any value plus anything is any value (the windows below span a
        // wrap and the known bits take every unknown bit of either side).
        if self.is_unknown() || b.is_unknown() {
            return Scalar::unknown();
        }
        // A constant added to a value in one sign half (an index stepping
        // on): where the sum stays in one half too, both windows are the
        // range moved by the constant, and `make`'s sign deduction leaves
        // such ranges alone, so only the one-half rounds remain.
        if let Some(c) = b.as_const()
            && self.in_one_half()
            && let Some(sum) = self.add_in_one_half(c)
        {
            return sum;
        }
        self.add_general(b)
    }

    /// `self + c` where both lie in one sign half (`None` where the sum
    /// does not).
    fn add_in_one_half(self, c: u64) -> Option<Scalar> {
        let (lo, hi) = (self.umin.wrapping_add(c), self.umax.wrapping_add(c));
        if lo > hi || (lo as i64) > (hi as i64) {
            return None;
        }
        // Known bits that are only those the range implies (its ends' common
        // high bits: a counter's range) hold every member of the range, so the
        // sum's known bits hold every member of the moved range, and the
        // reduction ends at the moved range's own bits with the ends
        // unmoved (they agree with those bits).
        if self.bits == Tnum::range(self.umin, self.umax) {
            return Some(Scalar::one_half_range(lo, hi));
        }
        let raw = Scalar {
            bits: self.bits.add(Tnum::constant(c)),
            umin: lo,
            umax: hi,
            smin: lo as i64,
            smax: hi as i64,
        };
        Some(raw.reduced_in_one_half().unwrap_or(Scalar::unknown()))
    }

    /// Whether the two ranges are one interval in one sign half.
    #[inline]
    fn in_one_half(self) -> bool {
        (self.umin as i64) <= (self.umax as i64)
            && self.smin == self.umin as i64
            && self.smax == self.umax as i64
    }

    /// [`Scalar::add`] without its shortcut (the tests check that the
    /// shortcut gives what this gives). Out of line: inlined, it gave `add`
    /// a frame and six saved registers on the shortcut's path too.
    #[inline(never)]
    fn add_general(self, b: Scalar) -> Scalar {
        let (umin, umax) = unsigned_window(
            u128::from(self.umin) + u128::from(b.umin),
            u128::from(self.umax) + u128::from(b.umax),
        );
        let (smin, smax) = signed_window(
            i128::from(self.smin) + i128::from(b.smin),
            i128::from(self.smax) + i128::from(b.smax),
        );
        Scalar::make(self.bits.add(b.bits), umin, umax, smin, smax)
    }

    /// `a - b`, wrapping: the integer differences lie in
    /// `[a.min - b.max, a.max - b.min]` (shifted up by `2^64` to stay
    /// unsigned, which changes no wrapped value).
    #[must_use]
    pub(crate) fn sub(self, b: Scalar) -> Scalar {
        // As for `add`: two constants give their difference, and a
        // difference with any value is any value.
        if let (Some(x), Some(y)) = (self.as_const(), b.as_const()) {
            return Scalar::constant(x.wrapping_sub(y));
        }
        if self.is_unknown() || b.is_unknown() {
            return Scalar::unknown();
        }
        self.sub_general(b)
    }

    /// [`Scalar::sub`] without its shortcut.
    fn sub_general(self, b: Scalar) -> Scalar {
        let (umin, umax) = unsigned_window(
            u128::from(self.umin) + WRAP - u128::from(b.umax),
            u128::from(self.umax) + WRAP - u128::from(b.umin),
        );
        let (smin, smax) = signed_window(
            i128::from(self.smin) - i128::from(b.smax),
            i128::from(self.smax) - i128::from(b.smin),
        );
        Scalar::make(self.bits.sub(b.bits), umin, umax, smin, smax)
    }

    /// `-a`, wrapping (`neg`).
    #[must_use]
    pub(crate) fn neg(self) -> Scalar {
        Scalar::constant(0).sub(self)
    }

    /// `!a` (`not`): exact, `!x` reverses both orders.
    #[must_use]
    pub(crate) fn not(self) -> Scalar {
        Scalar::make(
            self.bits.not(),
            !self.umax,
            !self.umin,
            !self.smax,
            !self.smin,
        )
    }

    /// `a * b`, wrapping (the low 64 bits of `imul`/`mul`). A constant power
    /// of two is a shift (exact bits). Unsigned products are monotone in
    /// both operands; signed ones take their extremes at the corners.
    #[must_use]
    pub(crate) fn mul(self, b: Scalar) -> Scalar {
        // Any value times a set that may hold an odd number is any value: no
        // low bit stays known, the unsigned product reaches past `2^64` (or
        // is `[0, u64::MAX]` for a factor at most 1) and a signed corner
        // reaches `i64::MIN` or below while another reaches `i64::MAX` or
        // above (a constant power of two gives the same through `shl_const`).
        if (self.is_unknown() && b.may_be_odd()) || (b.is_unknown() && self.may_be_odd()) {
            return Scalar::unknown();
        }
        self.mul_general(b)
    }

    /// Whether the set may hold an odd number (its low bit is not known 0).
    pub(crate) const fn may_be_odd(self) -> bool {
        (self.bits.value() | self.bits.mask()) & 1 != 0
    }

    /// [`Scalar::mul`] without its shortcut.
    fn mul_general(self, b: Scalar) -> Scalar {
        for (x, y) in [(self, b), (b, self)] {
            if let Some(c) = y.as_const()
                && c.is_power_of_two()
            {
                return x.shl_const(c.trailing_zeros());
            }
        }
        let (umin, umax) = unsigned_window(
            u128::from(self.umin) * u128::from(b.umin),
            u128::from(self.umax) * u128::from(b.umax),
        );
        let (lo, hi) = min_max4([
            i128::from(self.smin) * i128::from(b.smin),
            i128::from(self.smin) * i128::from(b.smax),
            i128::from(self.smax) * i128::from(b.smin),
            i128::from(self.smax) * i128::from(b.smax),
        ]);
        let (smin, smax) = signed_window(lo, hi);
        Scalar::make(self.bits.mul(b.bits), umin, umax, smin, smax)
    }

    /// `a & b`: never above either operand unsigned (`x & y <= y`); the
    /// known bits give the rest, and signed bounds follow from those.
    #[must_use]
    pub(crate) fn and(self, b: Scalar) -> Scalar {
        // Every value below `2^n` masked by the constant `2^m - 1` (`and
        // ecx, 1Fh` of a register nothing is known of): every value below
        // `2^min(n, m)`, reduced as built (a test compares it with the
        // general rule for every pair).
        if let Some(n) = self.low_bits_set()
            && let Some(m) = b.low_mask()
        {
            return Scalar::below_power(n.min(m));
        }
        if let Some(n) = b.low_bits_set()
            && let Some(m) = self.low_mask()
        {
            return Scalar::below_power(n.min(m));
        }
        self.and_general(b)
    }

    /// [`Scalar::and`] without its shortcut.
    fn and_general(self, b: Scalar) -> Scalar {
        let umax = self.umax.min(b.umax);
        Scalar::make(self.bits.and(b.bits), 0, umax, i64::MIN, i64::MAX)
    }

    /// Every value below `2^n` (`1 <= n <= 64`), reduced.
    fn below_power(n: u32) -> Scalar {
        if n >= 64 {
            return Scalar::unknown();
        }
        let keep = low_bits(n);
        Scalar {
            bits: Tnum::new(0, keep),
            umin: 0,
            umax: keep,
            smin: 0,
            smax: keep as i64,
        }
    }

    /// `n` when the set is every value below `2^n` (`1 <= n <= 64`), as
    /// [`Scalar::below_power`] builds it.
    fn low_bits_set(self) -> Option<u32> {
        let n = 64 - self.umax.leading_zeros();
        (n > 0 && self == Scalar::below_power(n)).then_some(n)
    }

    /// `m` when the set is the single constant `2^m - 1` (`1 <= m <= 64`).
    fn low_mask(self) -> Option<u32> {
        let k = self.as_const()?;
        (k != 0 && k & k.wrapping_add(1) == 0).then(|| 64 - k.leading_zeros())
    }

    /// `a | b`: never below either operand unsigned (`x | y >= y`), never
    /// above their sum (`x | y` is `x + y` without the carries).
    #[must_use]
    pub(crate) fn or(self, b: Scalar) -> Scalar {
        let umin = self.umin.max(b.umin);
        let umax = self.umax.saturating_add(b.umax);
        Scalar::make(self.bits.or(b.bits), umin, umax, i64::MIN, i64::MAX)
    }

    /// `a ^ b`: never above the sum (`x ^ y = x + y - 2(x & y)`); the known
    /// bits say the rest.
    #[must_use]
    pub(crate) fn xor(self, b: Scalar) -> Scalar {
        let umax = self.umax.saturating_add(b.umax);
        Scalar::make(self.bits.xor(b.bits), 0, umax, i64::MIN, i64::MAX)
    }

    /// A division-like operation on the executions that do not trap: a
    /// zero divisor raises `#DE` and ends the path, so it adds no result
    /// (when 0 is `b`'s only value no execution continues, and the answer is
    /// any value). Two constants give `exact`'s value; otherwise `general`
    /// gets `b` without 0 where 0 is an end of one of its ranges.
    fn divide(
        self,
        b: Scalar,
        exact: fn(u64, u64) -> Option<u64>,
        general: impl FnOnce(Scalar, Scalar) -> Scalar,
    ) -> Scalar {
        if let (Some(x), Some(y)) = (self.as_const(), b.as_const())
            && let Some(z) = exact(x, y)
        {
            return Scalar::constant(z);
        }
        match exclude(b, Scalar::constant(0)) {
            Some(divisor) => general(self, divisor),
            None => Scalar::unknown(),
        }
    }

    /// `a / b` unsigned (the quotient of `div`), for the executions that do
    /// not trap (see `divide`): it grows with `a` and shrinks with `b`.
    #[must_use]
    pub(crate) fn udiv(self, b: Scalar) -> Scalar {
        self.divide(b, u64::checked_div, |a, b| {
            let (lo, hi) = (a.umin / b.umax.max(1), a.umax / b.umin.max(1));
            Scalar::make(Tnum::unknown(), lo, hi, i64::MIN, i64::MAX)
        })
    }

    /// `a % b` unsigned (the remainder of `div`), for the executions that do
    /// not trap: below the divisor and never above `a`; `a` itself when it
    /// is always below `b`; `a & (c - 1)` for a power of two `c`.
    #[must_use]
    pub(crate) fn urem(self, b: Scalar) -> Scalar {
        self.divide(b, u64::checked_rem, |a, b| {
            if a.umax < b.umin {
                return a;
            }
            if let Some(c) = b.as_const()
                && c.is_power_of_two()
            {
                return a.and(Scalar::constant(c - 1));
            }
            let hi = a.umax.min(b.umax.saturating_sub(1));
            Scalar::make(Tnum::unknown(), 0, hi, i64::MIN, i64::MAX)
        })
    }

    /// `a / b` signed (the quotient of `idiv`, truncated toward zero), for
    /// the executions that do not trap. On each sign piece of the divisor
    /// (`[smin, -1]`, `[1, smax]`) the quotient is monotone in `a` and in
    /// `b`, so its extremes are at the corners. The trapping `MIN / -1` is
    /// counted as `2^63`, which only widens the answer.
    #[must_use]
    pub(crate) fn sdiv(self, b: Scalar) -> Scalar {
        let exact = |x: u64, y: u64| (x as i64).checked_div(y as i64).map(|q| q as u64);
        self.divide(b, exact, |a, b| {
            let (a_lo, a_hi) = (i128::from(a.smin), i128::from(a.smax));
            let (mut lo, mut hi) = (i128::MAX, i128::MIN);
            let pieces = [
                (b.smin <= -1).then(|| (b.smin, b.smax.min(-1))),
                (b.smax >= 1).then(|| (b.smin.max(1), b.smax)),
            ];
            for (d_lo, d_hi) in pieces.into_iter().flatten() {
                let (d_lo, d_hi) = (i128::from(d_lo), i128::from(d_hi));
                let (l, h) = min_max4([a_lo / d_lo, a_lo / d_hi, a_hi / d_lo, a_hi / d_hi]);
                (lo, hi) = (lo.min(l), hi.max(h));
            }
            if lo > hi {
                return Scalar::unknown(); // no piece: only 0 was left
            }
            let (smin, smax) = signed_window(lo, hi);
            Scalar::make(Tnum::unknown(), 0, u64::MAX, smin, smax)
        })
    }

    /// `a % b` signed (the remainder of `idiv`), for the executions that do
    /// not trap: it has the sign of `a` (or is 0), is smaller than `|b|` in
    /// magnitude and never larger than `a` is.
    #[must_use]
    pub(crate) fn srem(self, b: Scalar) -> Scalar {
        let exact = |x: u64, y: u64| (x as i64).checked_rem(y as i64).map(|r| r as u64);
        self.divide(b, exact, |a, b| {
            let largest = i128::from(b.smin).abs().max(i128::from(b.smax).abs()) - 1;
            let lo = if a.smin >= 0 {
                0
            } else {
                largest.neg().max(i128::from(a.smin))
            };
            let hi = if a.smax <= 0 {
                0
            } else {
                largest.min(i128::from(a.smax))
            };
            Scalar::make(Tnum::unknown(), 0, u64::MAX, lo as i64, hi as i64)
        })
    }

    /// `shl` of a `width`-bit operand (8, 16, 32 or 64) by `amount`: the
    /// count is masked as x86 does (to 6 bits for 64-bit operands, else 5)
    /// and the result is the operand's new low `width` bits, zero-extended.
    #[must_use]
    pub(crate) fn shl(self, amount: Scalar, width: u32) -> Scalar {
        let (lo, hi) = shift_count(amount, width);
        let x = self.zext(width);
        let shifted = if lo == hi {
            x.shl_const(lo)
        } else {
            x.shl_range(lo, hi)
        };
        shifted.zext(width)
    }

    /// `shr` (logical) of a `width`-bit operand, as [`Scalar::shl`].
    #[must_use]
    pub(crate) fn shr(self, amount: Scalar, width: u32) -> Scalar {
        let (lo, hi) = shift_count(amount, width);
        self.zext(width).lshr_range(lo, hi).zext(width)
    }

    /// `sar` (arithmetic) of a `width`-bit operand, as [`Scalar::shl`]: the
    /// operand's sign is its bit `width - 1`.
    #[must_use]
    pub(crate) fn sar(self, amount: Scalar, width: u32) -> Scalar {
        let (lo, hi) = shift_count(amount, width);
        self.sext(width).ashr_range(lo, hi).zext(width)
    }

    /// `a << c` for a constant `c < 64`: multiplication by `2^c`, so the
    /// integer results lie in `[min << c, max << c]`.
    fn shl_const(self, c: u32) -> Scalar {
        let (umin, umax) = unsigned_window(u128::from(self.umin) << c, u128::from(self.umax) << c);
        let (smin, smax) = signed_window(i128::from(self.smin) << c, i128::from(self.smax) << c);
        Scalar::make(self.bits.shl(c), umin, umax, smin, smax)
    }

    /// `a << c` for any `c` in `[lo, hi]` (`lo < hi < 64`): monotone in `a`,
    /// and in `c` away from zero, so the extremes are at the corners.
    fn shl_range(self, lo: u32, hi: u32) -> Scalar {
        let (umin, umax) =
            unsigned_window(u128::from(self.umin) << lo, u128::from(self.umax) << hi);
        let (smin, smax) = min_max4([
            i128::from(self.smin) << lo,
            i128::from(self.smin) << hi,
            i128::from(self.smax) << lo,
            i128::from(self.smax) << hi,
        ]);
        let (smin, smax) = signed_window(smin, smax);
        Scalar::make(self.bits.shl_range(lo, hi), umin, umax, smin, smax)
    }

    /// `a >> c` (logical) for any `c` in `[lo, hi]` (`hi < 64`): monotone,
    /// up in `a` and down in `c`.
    fn lshr_range(self, lo: u32, hi: u32) -> Scalar {
        let bits = self.bits.lshr_range(lo, hi);
        Scalar::make(bits, self.umin >> hi, self.umax >> lo, i64::MIN, i64::MAX)
    }

    /// `a >> c` (arithmetic) for any `c` in `[lo, hi]` (`hi < 64`): monotone
    /// up in `a`; in `c` it moves toward 0 or -1, so the extremes are at the
    /// corners. With the sign known the bits are those of a logical shift
    /// (of `!a` for negatives); otherwise the bounds decide them.
    fn ashr_range(self, lo: u32, hi: u32) -> Scalar {
        let (smin, smax) = min_max4([
            i128::from(self.smin >> lo),
            i128::from(self.smin >> hi),
            i128::from(self.smax >> lo),
            i128::from(self.smax >> hi),
        ]);
        let bits = if lo == hi {
            self.bits.ashr(lo)
        } else if self.smin >= 0 {
            self.bits.lshr_range(lo, hi)
        } else if self.smax < 0 {
            self.bits.not().lshr_range(lo, hi).not()
        } else {
            Tnum::unknown()
        };
        Scalar::make(bits, 0, u64::MAX, smin as i64, smax as i64)
    }

    /// Truncate to the low `bits` bits and zero-extend (a 32-bit register
    /// write, `movzx`). A range whose members share the bits above `bits`
    /// keeps its low ends; a range that crosses a multiple of `2^bits` wraps
    /// inside the truncation and becomes all of `[0, 2^bits - 1]`. Both the
    /// unsigned and the signed range are tried.
    #[must_use]
    pub(crate) fn zext(self, bits: u32) -> Scalar {
        if bits >= 64 {
            return self;
        }
        // Any value (a 32-bit operation on a register nothing is known of):
        // every value below `2^bits`, reduced as built (the tests compare
        // it with the general rule for every width).
        if self.is_unknown() && bits > 0 {
            let keep = low_bits(bits);
            return Scalar {
                bits: Tnum::new(0, keep),
                umin: 0,
                umax: keep,
                smin: 0,
                smax: keep as i64,
            };
        }
        self.zext_general(bits)
    }

    /// [`Scalar::zext`] without its shortcut, for `bits < 64`.
    fn zext_general(self, bits: u32) -> Scalar {
        let keep = low_bits(bits);
        let (mut umin, mut umax) = (0, keep);
        if self.umin >> bits == self.umax >> bits {
            umin = self.umin & keep;
            umax = self.umax & keep;
        }
        if self.smin >> bits == self.smax >> bits {
            umin = umin.max(self.smin as u64 & keep);
            umax = umax.min(self.smax as u64 & keep);
        }
        Scalar::make(self.bits.cast(bits), umin, umax, i64::MIN, i64::MAX)
    }

    /// Sign-extend the low `bits` bits (`movsx`, `movsxd`, `cdqe`). Sign
    /// extension is monotone inside each block `[k*2^bits - 2^(bits-1),
    /// k*2^bits + 2^(bits-1))`, so a range inside one block keeps its ends.
    /// `bits == 0` gives 0.
    #[must_use]
    pub(crate) fn sext(self, bits: u32) -> Scalar {
        if bits >= 64 {
            return self;
        }
        if bits == 0 {
            return Scalar::constant(0);
        }
        let half = 1i128 << (bits - 1);
        let block = |x: i128| (x + half) >> bits;
        let (mut smin, mut smax) = (-half as i64, (half - 1) as i64);
        if block(i128::from(self.smin)) == block(i128::from(self.smax)) {
            smin = sext_value(self.smin as u64, bits);
            smax = sext_value(self.smax as u64, bits);
        }
        if block(i128::from(self.umin)) == block(i128::from(self.umax)) {
            smin = smin.max(sext_value(self.umin, bits));
            smax = smax.min(sext_value(self.umax, bits));
        }
        Scalar::make(self.bits.sext(bits), 0, u64::MAX, smin, smax)
    }

    /// The least scalar holding both sets (control-flow join).
    #[must_use]
    pub(crate) fn join(self, b: Scalar) -> Scalar {
        // At a fixpoint most joins add nothing: skip the reduction then.
        if self.includes(b) {
            return self;
        }
        if b.includes(self) {
            return b;
        }
        // Two constants in one sign half (a counter's first two values at a
        // loop head): the hull is reduced as built. Both orders agree on
        // them, so the ranges are `[lo, hi]` twice; the joined bits know
        // every bit above the highest one where `lo` and `hi` differ, as the
        // range's bits do, so intersecting them changes nothing, and `lo`
        // and `hi` are members, so no bound moves (a test compares both).
        if let (Some(x), Some(y)) = (self.as_const(), b.as_const())
            && (x as i64 >= 0) == (y as i64 >= 0)
        {
            let (lo, hi) = (x.min(y), x.max(y));
            return Scalar {
                bits: self.bits.join(b.bits),
                umin: lo,
                umax: hi,
                smin: lo as i64,
                smax: hi as i64,
            };
        }
        self.join_general(b)
    }

    /// [`Scalar::join`] without its shortcuts (out of line, as
    /// [`Scalar::add_general`]).
    #[inline(never)]
    fn join_general(self, b: Scalar) -> Scalar {
        Scalar::make(
            self.bits.join(b.bits),
            self.umin.min(b.umin),
            self.umax.max(b.umax),
            self.smin.min(b.smin),
            self.smax.max(b.smax),
        )
    }

    /// Widening at a loop head: `old` joined with `new`, where every bound
    /// that grew jumps to its type's limit and, if any known bit changed,
    /// that bit and every bit above it become unknown (counters grow
    /// upward; the low bits that stay known keep alignment such as `i*8`).
    /// Each bound can jump once and the lowest changed bit only moves down,
    /// so repeated widening stops after a few steps. A non-negative counter
    /// widens to `[0, i64::MAX]`, not `[0, u64::MAX]`: its signed bound did
    /// not move, and that keeps `cmp i, n; jl` proving `0 <= i < n`.
    #[must_use]
    pub(crate) fn widen(self, new: Scalar) -> Scalar {
        if self.includes(new) {
            return self;
        }
        let joined = self.join(new);
        let changed =
            (self.bits.mask() ^ joined.bits.mask()) | (self.bits.value() ^ joined.bits.value());
        let bits = if changed == 0 {
            joined.bits
        } else {
            let from = changed.trailing_zeros();
            Tnum::new(joined.bits.value(), joined.bits.mask() | !low_bits(from))
        };
        // A joined bound is the old one or beyond it.
        let jump = |old, joined, limit| if joined == old { old } else { limit };
        let umin = jump(self.umin, joined.umin, 0);
        let umax = jump(self.umax, joined.umax, u64::MAX);
        let smin = jump(self.smin as u64, joined.smin as u64, i64::MIN as u64) as i64;
        let smax = jump(self.smax as u64, joined.smax as u64, i64::MAX as u64) as i64;
        Scalar::make(bits, umin, umax, smin, smax)
    }

    /// What [`crate::num::widen_scalar`] gives for a counter's first
    /// widening at a loop head, with one reduction instead of three: `self`
    /// a constant `c` in the non-negative half and `joined` (reduced) its
    /// join with the loop's values, from `c` upward and still non-negative,
    /// with known bits that hold `c`. `stop(v)` is the threshold the widened
    /// upper bound stops at beyond `v` (`i64::MAX`: none). `None` for any
    /// other pair: the general rule answers then.
    ///
    /// Why one reduction is enough: [`Scalar::widen`] keeps `c` as both lower
    /// bounds, moves both upper ones to their limits and keeps the bits below
    /// the lowest changed one; its reduction moves the unsigned upper bound to
    /// `i64::MAX` and leaves the value in one sign half, and the stop then
    /// meets the signed upper bound with the threshold above `joined`'s, where
    /// the result is reduced again. In one sign half a reduction ends at the
    /// greatest value below its start that no round changes (each round only
    /// narrows, by a rule monotone in its input), so reducing the widened value and
    /// then its meet with `[c, stop]` ends where reducing the meet of the
    /// unreduced parts does; and where the widened value's greatest member
    /// is `joined`'s, the stop lies at or above it and narrows nothing. A
    /// proptest compares this with the general rule.
    #[must_use]
    pub(crate) fn widen_counter(
        self,
        joined: Scalar,
        stop: impl FnOnce(i64) -> i64,
    ) -> Option<Scalar> {
        let c = self.as_const()?;
        if (c as i64) < 0
            || joined.umin != c
            || joined.smin != c as i64
            || joined.umax <= c
            || (joined.umax as i64) < 0
            || joined.smax != joined.umax as i64
            || !joined.bits.includes(self.bits)
        {
            return None;
        }
        // `Scalar::widen`'s known bits: those below the lowest bit where the
        // constant and the join differ (`joined` holds `c`, so its inner
        // join is `joined` itself).
        let changed = joined.bits.mask() | (c ^ joined.bits.value());
        let from = changed.trailing_zeros();
        let bits = Tnum::new(joined.bits.value(), joined.bits.mask() | !low_bits(from));
        let hi = stop(joined.smax);
        Scalar {
            bits,
            umin: c,
            umax: hi as u64,
            smin: c as i64,
            smax: hi,
        }
        .reduced_in_one_half()
    }

    /// What [`Scalar::widen_counter`] gives for `self` joined with `new`
    /// where both are constants `c < d` in the non-negative half (a
    /// counter's first two values at a loop head), without building the
    /// join: it is `[c, d]` with the bits `c` and `d` share, so the lowest
    /// bit where the constant and the join differ is the lowest where `c`
    /// and `d` do, and the widened bits are `c`'s below it. `None` for any
    /// other pair. A test compares it with [`crate::num::widen_scalar`] of
    /// the join.
    #[must_use]
    #[inline]
    pub(crate) fn widen_constants(
        self,
        new: Scalar,
        stop: impl FnOnce(i64) -> i64,
    ) -> Option<Scalar> {
        let (c, d) = (self.as_const()?, new.as_const()?);
        if c >= d || (d as i64) < 0 {
            return None;
        }
        let from = (c ^ d).trailing_zeros();
        let hi = stop(d as i64);
        Scalar {
            bits: Tnum::new(c, !low_bits(from)),
            umin: c,
            umax: hi as u64,
            smin: c as i64,
            smax: hi,
        }
        .reduced_in_one_half()
    }

    /// Whether every member of `b` is a member of `self` (each component of
    /// `self` holds the same component of `b`): the fixpoint test, cheaper
    /// than comparing `self.join(b)` with `self`. It can miss an inclusion
    /// that only the intersection of components shows, never claim a false
    /// one.
    #[must_use]
    pub(crate) const fn includes(self, b: Scalar) -> bool {
        self.bits.includes(b.bits)
            && self.umin <= b.umin
            && b.umax <= self.umax
            && self.smin <= b.smin
            && b.smax <= self.smax
    }

    /// The values in both sets, `None` when there are none.
    #[must_use]
    pub(crate) fn meet(self, b: Scalar) -> Option<Scalar> {
        if self.includes(b) {
            return Some(b);
        }
        if b.includes(self) {
            return Some(self);
        }
        Scalar {
            bits: self.bits.intersect(b.bits)?,
            umin: self.umin.max(b.umin),
            umax: self.umax.min(b.umax),
            smin: self.smin.max(b.smin),
            smax: self.smax.min(b.smax),
        }
        .checked()
    }

    /// `self.meet(Scalar::range_s(lo, hi))` (the stop at widening
    /// thresholds) without reducing the range first where it is reduced as
    /// built: `[i64::MIN, hi]` with `hi >= 0` and `[lo, i64::MAX]` with
    /// `lo < 0` hold every bit pattern and every unsigned value, so no
    /// component tightens another (the tests check that the answer is
    /// `meet`'s).
    #[must_use]
    pub(crate) fn meet_signed(self, lo: i64, hi: i64) -> Option<Scalar> {
        let range = if (lo == i64::MIN && hi >= 0) || (hi == i64::MAX && lo < 0) {
            Scalar {
                smin: lo,
                smax: hi,
                ..Scalar::unknown()
            }
        } else {
            Scalar::range_s(lo, hi)
        };
        self.meet(range)
    }

    /// Reduce components that may contradict each other (`meet`, refinement).
    fn checked(self) -> Option<Scalar> {
        if self.umin > self.umax || self.smin > self.smax {
            return None;
        }
        self.reduced()
    }

    /// [`Scalar::checked`] for `from` (a reduced value) with some bounds
    /// narrowed: when none moved, `from` is already the answer.
    fn narrowed_from(self, from: Scalar) -> Option<Scalar> {
        if self == from {
            Some(from)
        } else {
            self.checked()
        }
    }
}

/// A number in a diagnostic: decimal below `2^32` in magnitude, else hex.
struct Num(i128);

/// A range in a diagnostic, both ends in hex if either needs it.
struct Range(i128, i128);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_num(f, self.0, self.0.unsigned_abs() >= 1 << 32)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.0.unsigned_abs().max(self.1.unsigned_abs()) >= 1 << 32;
        f.write_str("[")?;
        write_num(f, self.0, hex)?;
        f.write_str(", ")?;
        write_num(f, self.1, hex)?;
        f.write_str("]")
    }
}

fn write_num(f: &mut fmt::Formatter<'_>, x: i128, hex: bool) -> fmt::Result {
    let sign = if x < 0 { "-" } else { "" };
    if hex {
        write!(f, "{sign}{:#x}", x.unsigned_abs())
    } else {
        write!(f, "{sign}{}", x.unsigned_abs())
    }
}

/// What a rejection says a value is: `5`, `[0, 99]`, `[-8, 7]`,
/// `[0, 2040], multiple of 8`, `[0x80000000, 0xffffffffffffffff] unsigned`,
/// `any value`. A range that lies in one sign half is shown as its members'
/// ordinary values (negative numbers below 0); otherwise the signed range,
/// the unsigned one (marked) where it says more, and then what the known
/// low bits add.
impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (umin, umax) = (i128::from(self.umin), i128::from(self.umax));
        let (smin, smax) = (i128::from(self.smin), i128::from(self.smax));
        if let Some(c) = self.as_const() {
            let shown = if self.smin < 0 { smin } else { i128::from(c) };
            return write!(f, "{}", Num(shown));
        }
        let full_signed = self.smin == i64::MIN && self.smax == i64::MAX;
        let full_unsigned = self.umin == 0 && self.umax == u64::MAX;
        if self.smin >= 0 {
            write!(f, "{}", Range(umin, umax))?;
        } else if self.umin >= 1 << 63 || !full_signed {
            write!(f, "{}", Range(smin, smax))?;
            if !full_unsigned && (self.umin as i64) > (self.umax as i64) {
                write!(f, " and {} unsigned", Range(umin, umax))?;
            }
        } else if !full_unsigned {
            write!(f, "{} unsigned", Range(umin, umax))?;
        } else {
            write!(f, "any value")?;
        }
        let known_low = self.bits.mask().trailing_zeros();
        if known_low > 0 {
            let modulus = 1u128 << known_low;
            let rest = self.bits.value() & low_bits(known_low);
            if rest == 0 {
                write!(f, ", multiple of {}", Num(modulus as i128))?;
            } else {
                write!(f, ", {} mod {}", Num(rest.into()), Num(modulus as i128))?;
            }
        }
        Ok(())
    }
}

/// The range of a shift count after x86's masking: `amount & 63` for a
/// 64-bit operand, `amount & 31` otherwise.
fn shift_count(amount: Scalar, width: u32) -> (u32, u32) {
    let mask = if width >= 64 { 63 } else { 31 };
    let count = amount.and(Scalar::constant(mask));
    // `and` bounds the count by `mask`, so it fits in `u32`.
    (count.umin as u32, count.umax as u32)
}
