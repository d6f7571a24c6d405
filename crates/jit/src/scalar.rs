//! Interim scalar domain (signed bounds only); replaced by the known-bits +
//! signed/unsigned bounds domain.

/// A comparison condition between two values (`cmp a, b` then `jcc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cond {
    Eq,
    Ne,
    Ult,
    Ule,
    Ugt,
    Uge,
    Slt,
    Sle,
    Sgt,
    Sge,
}

/// A set of 64-bit values: `[smin, smax]` signed, all multiples of `2^tz`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scalar {
    smin: i64,
    smax: i64,
    tz: u8,
}

impl Scalar {
    pub(crate) fn constant(v: u64) -> Scalar {
        Scalar {
            smin: v as i64,
            smax: v as i64,
            tz: v.trailing_zeros().min(63) as u8,
        }
    }
    pub(crate) fn unknown() -> Scalar {
        Scalar {
            smin: i64::MIN,
            smax: i64::MAX,
            tz: 0,
        }
    }
    pub(crate) fn range_s(lo: i64, hi: i64) -> Scalar {
        Scalar {
            smin: lo,
            smax: hi,
            tz: 0,
        }
    }
    fn with_tz(mut self, tz: u32) -> Scalar {
        self.tz = tz.min(63) as u8;
        if let Some(c) = self.as_const() {
            self.tz = c.trailing_zeros().min(63) as u8;
        }
        self.norm()
    }
    /// Rounds the bounds inward to multiples of `2^tz`.
    fn norm(mut self) -> Scalar {
        if self.tz == 0 || self.tz >= 62 || self.as_const().is_some() {
            return self;
        }
        let m = 1i64 << self.tz;
        if self.smin != i64::MIN {
            self.smin = self
                .smin
                .checked_add(m - 1)
                .map_or(self.smin, |v| v.div_euclid(m) * m);
        }
        if self.smax != i64::MAX {
            self.smax = self.smax.div_euclid(m) * m;
        }
        if self.smin > self.smax {
            // Cannot happen for a non-empty set; stay conservative.
            return Scalar::unknown();
        }
        self
    }
    pub(crate) fn zext_unknown(bytes: u8) -> Scalar {
        if bytes >= 8 {
            Scalar::unknown()
        } else {
            Scalar::range_s(0, (1i64 << (8 * bytes)) - 1)
        }
    }
    pub(crate) fn as_const(&self) -> Option<u64> {
        (self.smin == self.smax).then_some(self.smin as u64)
    }
    pub(crate) fn smin(&self) -> i64 {
        self.smin
    }
    pub(crate) fn smax(&self) -> i64 {
        self.smax
    }
    pub(crate) fn is_unknown(&self) -> bool {
        *self == Scalar::unknown()
    }
    pub(crate) fn trailing_zeros(&self) -> u32 {
        match self.as_const() {
            Some(0) => 64,
            Some(v) => v.trailing_zeros(),
            None => u32::from(self.tz),
        }
    }
    fn from_i128(lo: i128, hi: i128) -> Scalar {
        if lo < i128::from(i64::MIN) || hi > i128::from(i64::MAX) {
            Scalar::unknown()
        } else {
            Scalar::range_s(lo as i64, hi as i64)
        }
    }
    pub(crate) fn add(self, o: Scalar) -> Scalar {
        Scalar::from_i128(
            i128::from(self.smin) + i128::from(o.smin),
            i128::from(self.smax) + i128::from(o.smax),
        )
        .with_tz(self.trailing_zeros().min(o.trailing_zeros()))
    }
    pub(crate) fn sub(self, o: Scalar) -> Scalar {
        Scalar::from_i128(
            i128::from(self.smin) - i128::from(o.smax),
            i128::from(self.smax) - i128::from(o.smin),
        )
        .with_tz(self.trailing_zeros().min(o.trailing_zeros()))
    }
    pub(crate) fn mul(self, o: Scalar) -> Scalar {
        let c = [
            i128::from(self.smin) * i128::from(o.smin),
            i128::from(self.smin) * i128::from(o.smax),
            i128::from(self.smax) * i128::from(o.smin),
            i128::from(self.smax) * i128::from(o.smax),
        ];
        Scalar::from_i128(
            c.into_iter().min().unwrap_or(0),
            c.into_iter().max().unwrap_or(0),
        )
        .with_tz(self.trailing_zeros() + o.trailing_zeros())
    }
    pub(crate) fn and(self, o: Scalar) -> Scalar {
        match (self.smin >= 0, o.smin >= 0) {
            (true, true) => Scalar::range_s(0, self.smax.min(o.smax)),
            (true, false) => Scalar::range_s(0, self.smax),
            (false, true) => Scalar::range_s(0, o.smax),
            _ => Scalar::unknown(),
        }
    }
    pub(crate) fn or(self, o: Scalar) -> Scalar {
        match (self.as_const(), o.as_const()) {
            (Some(a), Some(b)) => Scalar::constant(a | b),
            _ => Scalar::unknown(),
        }
    }
    pub(crate) fn xor(self, o: Scalar) -> Scalar {
        match (self.as_const(), o.as_const()) {
            (Some(a), Some(b)) => Scalar::constant(a ^ b),
            _ => Scalar::unknown(),
        }
    }
    pub(crate) fn shl(self, amount: Scalar, width_bits: u32) -> Scalar {
        match amount.as_const() {
            Some(k) => {
                let k = (k as u32) & (width_bits - 1);
                self.mul(Scalar::constant(1u64 << k))
            }
            None => Scalar::unknown(),
        }
    }
    pub(crate) fn shr(self, amount: Scalar, width_bits: u32) -> Scalar {
        match amount.as_const() {
            Some(k) if self.smin >= 0 => {
                let k = (k as u32) & (width_bits - 1);
                Scalar::range_s(self.smin >> k, self.smax >> k)
            }
            Some(k) if k as u32 & (width_bits - 1) > 0 && width_bits == 64 => {
                let k = (k as u32) & 63;
                Scalar::range_s(0, (u64::MAX >> k) as i64)
            }
            _ => Scalar::unknown(),
        }
    }
    pub(crate) fn sar(self, amount: Scalar, width_bits: u32) -> Scalar {
        match amount.as_const() {
            Some(k) => {
                let k = (k as u32) & (width_bits - 1);
                Scalar::range_s(self.smin >> k, self.smax >> k)
            }
            None => Scalar::unknown(),
        }
    }
    pub(crate) fn zext(self, bits: u32) -> Scalar {
        let max = (1i64 << bits) - 1;
        if self.smin >= 0 && self.smax <= max {
            self
        } else {
            Scalar::range_s(0, max)
        }
    }
    pub(crate) fn sext(self, bits: u32) -> Scalar {
        let half = 1i64 << (bits - 1);
        if self.smin >= -half && self.smax < half {
            self
        } else {
            Scalar::range_s(-half, half - 1)
        }
    }
    pub(crate) fn join(self, o: Scalar) -> Scalar {
        Scalar::range_s(self.smin.min(o.smin), self.smax.max(o.smax))
            .with_tz(self.trailing_zeros().min(o.trailing_zeros()))
    }
    pub(crate) fn widen(old: Scalar, new: Scalar) -> Scalar {
        let lo = if new.smin < old.smin {
            i64::MIN
        } else {
            old.smin
        };
        let hi = if new.smax > old.smax {
            i64::MAX
        } else {
            old.smax
        };
        Scalar::range_s(lo, hi).with_tz(old.trailing_zeros().min(new.trailing_zeros()))
    }
    pub(crate) fn meet(self, o: Scalar) -> Option<Scalar> {
        let lo = self.smin.max(o.smin);
        let hi = self.smax.min(o.smax);
        (lo <= hi)
            .then(|| Scalar::range_s(lo, hi).with_tz(self.trailing_zeros().max(o.trailing_zeros())))
    }
    pub(crate) fn refine(a: Scalar, b: Scalar, cond: Cond) -> Option<(Scalar, Scalar)> {
        let nonneg = a.smin >= 0 && b.smin >= 0;
        let (a2, b2) = match cond {
            Cond::Eq => {
                let m = a.meet(b)?;
                (m, m)
            }
            Cond::Ne => {
                let mut a2 = a;
                let mut b2 = b;
                if let Some(c) = b.as_const().map(|c| c as i64) {
                    if a.smin == c {
                        a2.smin = c.checked_add(1)?;
                    }
                    if a.smax == c {
                        a2.smax = c.checked_sub(1)?;
                    }
                }
                if let Some(c) = a.as_const().map(|c| c as i64) {
                    if b.smin == c {
                        b2.smin = c.checked_add(1)?;
                    }
                    if b.smax == c {
                        b2.smax = c.checked_sub(1)?;
                    }
                }
                (a2, b2)
            }
            Cond::Slt => (
                a.meet(Scalar::range_s(i64::MIN, b.smax.checked_sub(1)?))?,
                b.meet(Scalar::range_s(a.smin.checked_add(1)?, i64::MAX))?,
            ),
            Cond::Sle => (
                a.meet(Scalar::range_s(i64::MIN, b.smax))?,
                b.meet(Scalar::range_s(a.smin, i64::MAX))?,
            ),
            Cond::Sgt => {
                let (b2, a2) = Scalar::refine(b, a, Cond::Slt)?;
                (a2, b2)
            }
            Cond::Sge => {
                let (b2, a2) = Scalar::refine(b, a, Cond::Sle)?;
                (a2, b2)
            }
            Cond::Ult | Cond::Ule | Cond::Ugt | Cond::Uge if nonneg => {
                let s = match cond {
                    Cond::Ult => Cond::Slt,
                    Cond::Ule => Cond::Sle,
                    Cond::Ugt => Cond::Sgt,
                    _ => Cond::Sge,
                };
                Scalar::refine(a, b, s)?
            }
            Cond::Ult if b.smin >= 0 => (a.meet(Scalar::range_s(0, b.smax.checked_sub(1)?))?, b),
            Cond::Ule if b.smin >= 0 => (a.meet(Scalar::range_s(0, b.smax))?, b),
            Cond::Ugt if a.smin >= 0 => (a, b.meet(Scalar::range_s(0, a.smax.checked_sub(1)?))?),
            Cond::Uge if a.smin >= 0 => (a, b.meet(Scalar::range_s(0, a.smax))?),
            _ => (a, b),
        };
        let (a2, b2) = (a2.norm(), b2.norm());
        Some((a2, b2))
    }
}
