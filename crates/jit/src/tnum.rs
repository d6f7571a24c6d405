//! Tristate numbers: what is known about the individual bits of a 64-bit value.
//!
//! A [`Tnum`] `{ value, mask }` stands for the set of every `x` with
//! `x & !mask == value`: bits set in `mask` are unknown, every other bit is
//! known and equal to that bit of `value` (invariant: `value & mask == 0`).
//! This is the known-bits half of the scalar domain (`scalar.rs`), the same
//! lattice as the Linux eBPF verifier's `tnum`; the code here is our own.
//!
//! Soundness contract: every operation returns a tnum containing the result
//! of the concrete operation for every choice of members of its inputs
//! (checked by exhaustive enumeration of small tnums in the tests). Each
//! operation is a closed formula (no loop over bits), so all are O(1).
//! Naming: `a`/`b` are operands, `v`/`m` a value/mask pair, `lo`/`hi` the
//! least and greatest of a range of shift amounts.

/// Known bits of a 64-bit value: bits in `mask` unknown, others equal `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Tnum {
    value: u64,
    mask: u64,
}

/// The sign bit of a 64-bit value.
const SIGN: u64 = 1 << 63;

/// The low `bits` bits set (all 64 for `bits >= 64`).
pub(crate) const fn low_bits(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Every bit at position `from` and above (none for `from >= 64`).
const fn bits_from(from: u32) -> u64 {
    !low_bits(from)
}

impl Tnum {
    /// Exactly `value`.
    pub(crate) const fn constant(value: u64) -> Tnum {
        Tnum { value, mask: 0 }
    }

    /// Any 64-bit value.
    pub(crate) const fn unknown() -> Tnum {
        Tnum {
            value: 0,
            mask: u64::MAX,
        }
    }

    /// The tnum with these known bits and these unknown bits; bits of `value`
    /// that are also in `mask` are dropped (they are unknown).
    pub(crate) const fn new(value: u64, mask: u64) -> Tnum {
        Tnum {
            value: value & !mask,
            mask,
        }
    }

    /// The least tnum holding every value of `[min, max]`: the bits above the
    /// highest bit where `min` and `max` differ are shared by the whole range.
    /// `min > max` (no range) gives any value, the safe answer.
    pub(crate) const fn range(min: u64, max: u64) -> Tnum {
        if min > max {
            return Tnum::unknown();
        }
        let differing = 64 - (min ^ max).leading_zeros();
        let mask = low_bits(differing);
        Tnum::new(min, mask)
    }

    /// The known bits' values (unknown bits read as 0).
    pub(crate) const fn value(self) -> u64 {
        self.value
    }

    /// The unknown bits.
    pub(crate) const fn mask(self) -> u64 {
        self.mask
    }

    /// `Some(v)` when every bit is known.
    pub(crate) const fn as_const(self) -> Option<u64> {
        if self.mask == 0 {
            Some(self.value)
        } else {
            None
        }
    }

    /// Whether `x` is a member.
    pub(crate) const fn contains(self, x: u64) -> bool {
        x & !self.mask == self.value
    }

    /// How many low bits are known (trailing zeros of the mask).
    const fn known_low(self) -> u32 {
        self.mask.trailing_zeros()
    }

    /// How many low bits are known to be zero.
    const fn zero_low(self) -> u32 {
        (self.value | self.mask).trailing_zeros()
    }

    /// How many high bits are known to be zero.
    const fn zero_high(self) -> u32 {
        (self.value | self.mask).leading_zeros()
    }

    /// `a + b` (wrapping). The carries out of the known parts are computed
    /// twice, with every unknown bit 0 and with every unknown bit 1; a bit
    /// where the two sums differ, or that is unknown in an input, is unknown.
    /// Every other bit sees the same carry-in for all members (carries are
    /// monotone in the inputs), so it is exact.
    pub(crate) const fn add(self, b: Tnum) -> Tnum {
        let low = self.value.wrapping_add(b.value);
        let high = low.wrapping_add(self.mask).wrapping_add(b.mask);
        let mask = (low ^ high) | self.mask | b.mask;
        Tnum::new(low, mask)
    }

    /// `a - b` (wrapping): the borrows are bounded by the extremes
    /// `a_min - b_max` and `a_max - b_min` as for [`Tnum::add`].
    pub(crate) const fn sub(self, b: Tnum) -> Tnum {
        let mid = self.value.wrapping_sub(b.value);
        let high = mid.wrapping_add(self.mask);
        let low = mid.wrapping_sub(b.mask);
        let mask = (high ^ low) | self.mask | b.mask;
        Tnum::new(mid, mask)
    }

    /// `-a` (wrapping).
    pub(crate) const fn neg(self) -> Tnum {
        Tnum::constant(0).sub(self)
    }

    /// `!a`: known bits flip, unknown bits stay unknown.
    pub(crate) const fn not(self) -> Tnum {
        Tnum::new(!self.value, self.mask)
    }

    /// `a & b`: a bit is known 1 when known 1 in both, known 0 when known 0
    /// in either.
    pub(crate) const fn and(self, b: Tnum) -> Tnum {
        let may_a = self.value | self.mask;
        let may_b = b.value | b.mask;
        let ones = self.value & b.value;
        Tnum::new(ones, may_a & may_b & !ones)
    }

    /// `a | b`: known 1 when known 1 in either, known 0 when known 0 in both.
    pub(crate) const fn or(self, b: Tnum) -> Tnum {
        let ones = self.value | b.value;
        Tnum::new(ones, (self.mask | b.mask) & !ones)
    }

    /// `a ^ b`: known where known in both.
    pub(crate) const fn xor(self, b: Tnum) -> Tnum {
        Tnum::new(self.value ^ b.value, self.mask | b.mask)
    }

    /// `a * b` (wrapping). Write each operand as its known value plus an
    /// unknown part: `a = av + au` with `au` a multiple of `2^ka` (`ka` known
    /// low bits) and `av` a multiple of `2^za` (`za` known-zero low bits).
    /// Then `a*b - av*bv = av*bu + au*bv + au*bu` is a multiple of
    /// `2^min(za + kb, ka + zb)`, so that many low bits of `av*bv` are exact;
    /// the rest are unknown (the scalar bounds recover the high zeros).
    pub(crate) const fn mul(self, b: Tnum) -> Tnum {
        let via_b = self.zero_low().saturating_add(b.known_low());
        let via_a = self.known_low().saturating_add(b.zero_low());
        let known = if via_a < via_b { via_a } else { via_b };
        Tnum::new(self.value.wrapping_mul(b.value), bits_from(known))
    }

    /// `a << s` for a constant `s` (`s >= 64` gives 0).
    pub(crate) const fn shl(self, s: u32) -> Tnum {
        if s >= 64 {
            return Tnum::constant(0);
        }
        Tnum::new(self.value << s, self.mask << s)
    }

    /// `a >> s` (logical) for a constant `s` (`s >= 64` gives 0).
    pub(crate) const fn lshr(self, s: u32) -> Tnum {
        if s >= 64 {
            return Tnum::constant(0);
        }
        Tnum::new(self.value >> s, self.mask >> s)
    }

    /// `a >> s` (arithmetic) for a constant `s` (clamped to 63): the sign
    /// bit, known or not, is copied into the vacated bits.
    pub(crate) const fn ashr(self, s: u32) -> Tnum {
        let s = if s > 63 { 63 } else { s };
        Tnum::new(
            ((self.value as i64) >> s) as u64,
            ((self.mask as i64) >> s) as u64,
        )
    }

    /// `a << s` for any `s` in `[lo, hi]`: bit `j` of the result is bit
    /// `j - s` of `a`, so it is 0 below `zero_low + lo` and at or above
    /// `64 - zero_high + hi`; bits in between are unknown.
    pub(crate) const fn shl_range(self, lo: u32, hi: u32) -> Tnum {
        if lo >= hi {
            return self.shl(lo);
        }
        let from = self.zero_low().saturating_add(lo);
        let below = (64 - self.zero_high()).saturating_add(hi);
        Tnum::new(0, bits_from(from) & low_bits(below))
    }

    /// `a >> s` (logical) for any `s` in `[lo, hi]`: bit `j` of the result
    /// is bit `j + s` of `a`, so it is 0 at or above `64 - zero_high - lo`
    /// and below `zero_low - hi`; bits in between are unknown.
    pub(crate) const fn lshr_range(self, lo: u32, hi: u32) -> Tnum {
        if lo >= hi {
            return self.lshr(lo);
        }
        let from = self.zero_low().saturating_sub(hi);
        let below = (64 - self.zero_high()).saturating_sub(lo);
        Tnum::new(0, bits_from(from) & low_bits(below))
    }

    /// Truncate to the low `bits` bits and zero-extend.
    pub(crate) const fn cast(self, bits: u32) -> Tnum {
        let keep = low_bits(bits);
        Tnum::new(self.value & keep, self.mask & keep)
    }

    /// Sign-extend the low `bits` bits (`bits` 1..=64; 0 gives 0).
    pub(crate) const fn sext(self, bits: u32) -> Tnum {
        if bits == 0 {
            return Tnum::constant(0);
        }
        if bits >= 64 {
            return self;
        }
        self.shl(64 - bits).ashr(64 - bits)
    }

    /// The least tnum holding every member of both (union): a bit stays
    /// known where both know it with the same value.
    pub(crate) const fn join(self, b: Tnum) -> Tnum {
        let mask = self.mask | b.mask | (self.value ^ b.value);
        Tnum::new(self.value, mask)
    }

    /// Whether every member of `b` is a member of `self`: `self` knows no
    /// bit that `b` leaves unknown or knows differently.
    pub(crate) const fn includes(self, b: Tnum) -> bool {
        b.mask & !self.mask == 0 && b.value & !self.mask == self.value
    }

    /// The members of both (meet), `None` when a bit is known to differ.
    pub(crate) const fn intersect(self, b: Tnum) -> Option<Tnum> {
        if (self.value ^ b.value) & !self.mask & !b.mask != 0 {
            return None;
        }
        Some(Tnum::new(self.value | b.value, self.mask & b.mask))
    }

    /// The least member `>= x`, `None` when every member is below `x`.
    ///
    /// If `x` agrees with every known bit, it is a member. Otherwise let `h`
    /// be the highest known bit where `x` disagrees. If the tnum has a 1
    /// there, keep `x` above `h`, set `h` and take the least bits below.
    /// If it has a 0 there, no member shares `x`'s bits from `h` up, so the
    /// unknown bits above `h`, read as a counter, must grow by one: add 1 to
    /// them with every other bit set so the carry ripples through the rest.
    pub(crate) const fn min_ge(self, x: u64) -> Option<u64> {
        let wrong = (x ^ self.value) & !self.mask;
        if wrong == 0 {
            return Some(x);
        }
        let h = 63 - wrong.leading_zeros();
        let above = bits_from(h + 1);
        if self.value & (1 << h) != 0 {
            return Some((x & above) | (1 << h) | (self.value & low_bits(h)));
        }
        let free = self.mask & above;
        let counter = ((x & free) | !free).wrapping_add(1) & free;
        if counter == 0 {
            None
        } else {
            Some(self.value | counter)
        }
    }

    /// The greatest member `<= x`, `None` when every member is above `x`:
    /// [`Tnum::min_ge`] on the complemented tnum (`!y` is the least member
    /// `>= !x` exactly when `y` is the greatest `<= x`).
    pub(crate) const fn max_le(self, x: u64) -> Option<u64> {
        match self.not().min_ge(!x) {
            Some(y) => Some(!y),
            None => None,
        }
    }

    /// The tnum of the members with their sign bit flipped: the signed order
    /// of members is the unsigned order of the flipped ones.
    const fn flip_sign(self) -> Tnum {
        Tnum::new(self.value ^ SIGN, self.mask)
    }

    /// The least member `>= x` in signed order.
    pub(crate) const fn smin_ge(self, x: i64) -> Option<i64> {
        match self.flip_sign().min_ge(x as u64 ^ SIGN) {
            Some(y) => Some((y ^ SIGN) as i64),
            None => None,
        }
    }

    /// The greatest member `<= x` in signed order.
    pub(crate) const fn smax_le(self, x: i64) -> Option<i64> {
        match self.flip_sign().max_le(x as u64 ^ SIGN) {
            Some(y) => Some((y ^ SIGN) as i64),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Each operation is checked against every member of small tnums (at
    //! most 5 unknown bits each, placed anywhere, plus edge patterns).
    use super::*;
    use proptest::prelude::*;

    /// Every member of `t` (callers keep `t.mask` to a few bits).
    fn members(t: Tnum) -> Vec<u64> {
        let mut out = Vec::new();
        let mut sub = 0u64;
        loop {
            out.push(t.value | sub);
            sub = sub.wrapping_sub(t.mask) & t.mask;
            if sub == 0 {
                return out;
            }
        }
    }

    /// A tnum with at most five unknown bits: random positions, or runs
    /// next to the edges (low bits, the sign bit, bit 31/32).
    fn small_tnum() -> impl Strategy<Value = Tnum> {
        let edge = prop_oneof![
            Just(0u64),
            Just(1),
            Just(u64::MAX),
            Just(SIGN),
            Just(i64::MAX as u64),
            Just(0xffff_ffff),
            Just(1 << 32),
            any::<u64>(),
        ];
        let positions = prop::collection::vec(0u32..64, 0..=5);
        let runs = (0u32..60, 0u32..=5)
            .prop_map(|(at, n)| (0..n).map(|i| (at + i).min(63)).collect::<Vec<_>>());
        let top = (0u32..=5).prop_map(|n| (0..n).map(|i| 63 - i).collect::<Vec<_>>());
        (edge, prop_oneof![positions, runs, top]).prop_map(|(value, bits)| {
            let mask = bits.iter().fold(0u64, |m, b| m | 1 << b);
            Tnum::new(value, mask)
        })
    }

    /// A pair whose members number at most 2^8 together.
    fn small_pair() -> impl Strategy<Value = (Tnum, Tnum)> {
        (small_tnum(), small_tnum()).prop_filter("small", |(a, b)| {
            a.mask.count_ones() + b.mask.count_ones() <= 8
        })
    }

    fn check_binary(a: Tnum, b: Tnum, op: fn(Tnum, Tnum) -> Tnum, f: fn(u64, u64) -> u64) {
        let r = op(a, b);
        assert_eq!(r.value & r.mask, 0, "{r:?} breaks value & mask == 0");
        for x in members(a) {
            for y in members(b) {
                let z = f(x, y);
                assert!(
                    r.contains(z),
                    "{a:?} op {b:?} = {r:?} lacks {x:#x},{y:#x} -> {z:#x}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn binary_operations_hold_every_concrete_result((a, b) in small_pair()) {
            check_binary(a, b, Tnum::add, u64::wrapping_add);
            check_binary(a, b, Tnum::sub, u64::wrapping_sub);
            check_binary(a, b, Tnum::mul, u64::wrapping_mul);
            check_binary(a, b, Tnum::and, |x, y| x & y);
            check_binary(a, b, Tnum::or, |x, y| x | y);
            check_binary(a, b, Tnum::xor, |x, y| x ^ y);
        }

        #[test]
        fn unary_operations_hold_every_concrete_result(a in small_tnum(), s in 0u32..70, lo in 0u32..64, span in 0u32..64) {
            let hi = (lo + span).min(63);
            for x in members(a) {
                prop_assert!(a.neg().contains(x.wrapping_neg()));
                prop_assert!(a.not().contains(!x));
                let shl = if s >= 64 { 0 } else { x << s };
                let lshr = if s >= 64 { 0 } else { x >> s };
                prop_assert!(a.shl(s).contains(shl));
                prop_assert!(a.lshr(s).contains(lshr));
                prop_assert!(a.ashr(s).contains(((x as i64) >> s.min(63)) as u64));
                prop_assert!(a.cast(s).contains(x & low_bits(s)));
                for c in lo..=hi {
                    prop_assert!(a.shl_range(lo, hi).contains(x << c), "{a:?} << [{lo},{hi}] lacks {x:#x} << {c}");
                    prop_assert!(a.lshr_range(lo, hi).contains(x >> c), "{a:?} >> [{lo},{hi}] lacks {x:#x} >> {c}");
                }
            }
        }

        #[test]
        fn join_and_intersect_are_exact_on_members((a, b) in small_pair(), probe in any::<u64>()) {
            let j = a.join(b);
            for x in members(a).into_iter().chain(members(b)) {
                prop_assert!(j.contains(x));
            }
            prop_assert!(j.includes(a) && j.includes(b));
            prop_assert_eq!(a.includes(b), members(b).iter().all(|&x| a.contains(x)));
            match a.intersect(b) {
                Some(m) => {
                    for x in members(m) {
                        prop_assert!(a.contains(x) && b.contains(x));
                    }
                    prop_assert_eq!(m.contains(probe), a.contains(probe) && b.contains(probe));
                }
                None => prop_assert!(members(a).iter().all(|&x| !b.contains(x))),
            }
        }

        #[test]
        fn nearest_members_are_the_exact_extremes(a in small_tnum(), x in any::<u64>(), pick in any::<prop::sample::Index>()) {
            let all = members(a);
            // Probe both at a random point and right next to a member.
            let near = all[pick.index(all.len())];
            for probe in [x, near, near.wrapping_add(1), near.wrapping_sub(1)] {
                prop_assert_eq!(a.min_ge(probe), all.iter().copied().filter(|&y| y >= probe).min());
                prop_assert_eq!(a.max_le(probe), all.iter().copied().filter(|&y| y <= probe).max());
                let sp = probe as i64;
                let signed = all.iter().map(|&y| y as i64);
                prop_assert_eq!(a.smin_ge(sp), signed.clone().filter(|&y| y >= sp).min());
                prop_assert_eq!(a.smax_le(sp), signed.filter(|&y| y <= sp).max());
            }
        }

        #[test]
        fn a_range_tnum_holds_the_whole_range(lo in any::<u64>(), len in 0u64..300) {
            let hi = lo.saturating_add(len);
            let t = Tnum::range(lo, hi);
            for x in lo..=hi {
                prop_assert!(t.contains(x));
            }
        }
    }

    #[test]
    fn sign_extension_copies_the_sign_bit() {
        assert_eq!(
            Tnum::constant(0x80).sext(8),
            Tnum::constant(u64::MAX - 0x7f)
        );
        assert_eq!(Tnum::constant(0x7f).sext(8), Tnum::constant(0x7f));
        assert_eq!(Tnum::new(0, 0x7f).sext(8), Tnum::new(0, 0x7f));
        assert_eq!(Tnum::new(0x80, 0x7f).sext(8), Tnum::new(!0x7f, 0x7f));
        // An unknown sign bit makes every bit above it unknown.
        assert_eq!(Tnum::new(0, 0xff).sext(8), Tnum::unknown());
    }

    #[test]
    fn multiplying_by_a_scale_keeps_the_low_bits_known_zero() {
        let byte = Tnum::new(0, 0xff);
        let scaled = byte.mul(Tnum::constant(8));
        assert_eq!((scaled.value() | scaled.mask()) & 7, 0);
        assert_eq!(Tnum::constant(6).mul(Tnum::constant(7)), Tnum::constant(42));
    }

    #[test]
    fn range_of_a_byte_is_the_low_eight_bits() {
        assert_eq!(Tnum::range(0, 255), Tnum::new(0, 0xff));
        assert_eq!(Tnum::range(16, 31), Tnum::new(16, 15));
        assert_eq!(Tnum::range(0, u64::MAX), Tnum::unknown());
        assert_eq!(Tnum::range(5, 4), Tnum::unknown());
    }
}
