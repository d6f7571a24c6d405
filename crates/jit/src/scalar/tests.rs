//! Soundness of the scalar domain by sampling, and the precision the
//! validator relies on.
//!
//! A `Sample` is an abstract value together with concrete values known to be
//! in it by construction (witnesses): constants, ranges, tnums, the
//! `*_unknown` constructors, and joins and operations of those, whose
//! witnesses are the joined sets or the operation applied to witness pairs.
//! Each test applies an operation to the abstract values and requires the
//! concrete result of every witness (plus every bound and bit pattern that
//! `contains` admits) to be in the abstract result.

use super::*;
use proptest::prelude::*;

/// Values where wrap-around, sign and truncation rules change.
const EDGES: [u64; 17] = [
    0,
    1,
    2,
    7,
    8,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 32,
    i64::MAX as u64,
    1 << 63,
    u64::MAX - 1,
    u64::MAX,
];

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::sample::select(EDGES.to_vec()),
        (prop::sample::select(EDGES.to_vec()), -3i64..=3)
            .prop_map(|(e, d)| e.wrapping_add_signed(d)),
        0u64..300,
        any::<u64>(),
    ]
}

#[derive(Clone, Debug)]
struct Sample {
    abs: Scalar,
    xs: Vec<u64>,
}

/// A value in `[lo, hi]` chosen by `r`.
fn pick(lo: u64, hi: u64, r: u64) -> u64 {
    match (hi - lo).checked_add(1) {
        Some(len) => lo + r % len,
        None => r,
    }
}

fn leaf() -> impl Strategy<Value = Sample> {
    prop_oneof![
        value().prop_map(|c| Sample {
            abs: Scalar::constant(c),
            xs: vec![c],
        }),
        (value(), value(), any::<[u64; 2]>()).prop_map(|(a, b, r)| {
            let (lo, hi) = (a.min(b), a.max(b));
            Sample {
                abs: Scalar::range_u(lo, hi),
                xs: vec![lo, hi, pick(lo, hi, r[0]), pick(lo, hi, r[1])],
            }
        }),
        (value(), value(), any::<[u64; 2]>()).prop_map(|(a, b, r)| {
            let (lo, hi) = ((a as i64).min(b as i64), (a as i64).max(b as i64));
            let shift = |x: i64| (x as u64) ^ (1 << 63);
            let unshift = |x: u64| x ^ (1 << 63);
            let within = |r| unshift(pick(shift(lo), shift(hi), r));
            Sample {
                abs: Scalar::range_s(lo, hi),
                xs: vec![lo as u64, hi as u64, within(r[0]), within(r[1])],
            }
        }),
        (value(), value(), any::<[u64; 2]>()).prop_map(|(v, m, r)| {
            let bits = Tnum::new(v, m);
            let member = |r: u64| bits.value() | (r & bits.mask());
            Sample {
                abs: Scalar::from_bits(bits),
                xs: vec![member(0), member(u64::MAX), member(r[0]), member(r[1])],
            }
        }),
        (0u8..=9, any::<u64>(), any::<bool>()).prop_map(|(bytes, r, signed)| {
            let bits = (u32::from(bytes) * 8).min(64);
            if signed {
                let ext = |x: u64| match bits {
                    0 => 0,
                    64 => x,
                    _ => sext_value(x, bits) as u64,
                };
                Sample {
                    abs: Scalar::sext_unknown(bytes),
                    xs: vec![ext(r), ext(u64::MAX), ext(low_bits(bits) >> 1), ext(0)],
                }
            } else {
                Sample {
                    abs: Scalar::zext_unknown(bytes),
                    xs: vec![r & low_bits(bits), low_bits(bits), 0],
                }
            }
        }),
    ]
}

type Binary = (
    &'static str,
    fn(Scalar, Scalar) -> Scalar,
    fn(u64, u64) -> u64,
);

const BINARY: [Binary; 6] = [
    ("add", Scalar::add, u64::wrapping_add),
    ("sub", Scalar::sub, u64::wrapping_sub),
    ("mul", Scalar::mul, u64::wrapping_mul),
    ("and", Scalar::and, |x, y| x & y),
    ("or", Scalar::or, |x, y| x | y),
    ("xor", Scalar::xor, |x, y| x ^ y),
];

/// Samples built from leaves by joins and binary operations (witnesses:
/// the union, or the operation on the first few witness pairs).
fn sample() -> impl Strategy<Value = Sample> {
    leaf().prop_recursive(2, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Sample {
                abs: a.abs.join(b.abs),
                xs: a.xs.iter().chain(&b.xs).copied().collect(),
            }),
            (inner.clone(), inner, 0..BINARY.len()).prop_map(|(a, b, k)| {
                let (_, op, f) = BINARY[k];
                let xs =
                    a.xs.iter()
                        .flat_map(|&x| b.xs.iter().map(move |&y| f(x, y)));
                Sample {
                    abs: op(a.abs, b.abs),
                    xs: xs.take(12).collect(),
                }
            }),
        ]
    })
}

/// The witnesses plus every bound and bit pattern of `s` that is a member.
fn members(s: &Scalar, xs: &[u64]) -> Vec<u64> {
    let b = s.bits();
    let candidates = [
        s.umin(),
        s.umax(),
        s.smin() as u64,
        s.smax() as u64,
        b.value(),
        b.value() | b.mask(),
        0,
        u64::MAX,
        1 << 63,
    ];
    // The members next to each bound (the known bits decide which).
    let next = [
        b.min_ge(s.umin().wrapping_add(1)),
        b.max_le(s.umax().wrapping_sub(1)),
        b.smin_ge(s.smin().wrapping_add(1)).map(|x| x as u64),
        b.smax_le(s.smax().wrapping_sub(1)).map(|x| x as u64),
    ];
    let mut out: Vec<u64> = xs.to_vec();
    out.extend(
        candidates
            .into_iter()
            .chain(next.into_iter().flatten())
            .filter(|&x| s.contains(x)),
    );
    out
}

fn all(s: &Sample) -> Vec<u64> {
    members(&s.abs, &s.xs)
}

/// What x86 leaves in the low `width` bits (zero-extended) after a shift.
fn x86_shift(kind: &str, x: u64, count: u64, width: u32) -> u64 {
    let c = (count & if width == 64 { 63 } else { 31 }) as u32;
    let keep = low_bits(width);
    let r = match kind {
        "shl" => (x & keep) << c,
        "shr" => (x & keep) >> c,
        _ => {
            let signed = if width == 64 {
                x as i64
            } else {
                sext_value(x, width)
            };
            (signed >> c) as u64
        }
    };
    r & keep
}

type Shift = (&'static str, fn(Scalar, Scalar, u32) -> Scalar);

const SHIFTS: [Shift; 3] = [
    ("shl", Scalar::shl),
    ("shr", Scalar::shr),
    ("sar", Scalar::sar),
];

/// Every shift of every member of `a` by every count in `counts` (members
/// of `amount`) is in the abstract shift's result.
fn check_shifts(a: &Sample, amount: Scalar, counts: &[u64], width: u32) {
    for (name, op) in SHIFTS {
        let r = op(a.abs, amount, width);
        assert_reduced(r);
        for x in all(a) {
            for &c in counts {
                let z = x86_shift(name, x, c, width);
                assert!(
                    r.contains(z),
                    "{name}{width} {:?} by {amount:?} = {r:?} lacks {x:#x},{c} -> {z:#x}",
                    a.abs
                );
            }
        }
    }
}

fn extend(kind: &str, x: u64, bits: u32) -> u64 {
    match (kind, bits) {
        (_, 64..) => x,
        (_, 0) => 0,
        ("zext", _) => x & low_bits(bits),
        _ => sext_value(x, bits) as u64,
    }
}

const CONDS: [Cond; 10] = Cond::ALL;

/// Unreduced components as operations hand them to reduction: ordered
/// ranges and known bits from edge values, small and random values, and
/// any value with a signed range alone.
fn raw_scalar() -> impl Strategy<Value = Scalar> {
    let mask = prop_oneof![
        Just(0u64),
        (0u32..=64).prop_map(low_bits),
        (0u32..=64, 0u32..64).prop_map(|(n, at)| low_bits(n) << at),
        value(),
    ];
    let parts = (
        value(),
        mask,
        [value(), value(), value(), value()],
        0..3usize,
    );
    let parts = parts.prop_map(|(v, m, [a, b, c, d], from)| {
        // Known bits often taken from a bound, so that they agree with it.
        let v = [v, a, c][from];
        let (c, d) = (c as i64, d as i64);
        Scalar {
            bits: Tnum::new(v, m),
            umin: a.min(b),
            umax: a.max(b),
            smin: c.min(d),
            smax: c.max(d),
        }
    });
    // Any value with a signed range alone, as a signed test leaves it.
    let signed = [value(), value()].prop_map(|[c, d]| {
        let (c, d) = (c as i64, d as i64);
        Scalar {
            smin: c.min(d),
            smax: c.max(d),
            ..Scalar::unknown()
        }
    });
    prop_oneof![parts, signed]
}

/// Whether `s` is a well-formed, reduced value: ordered bounds that are
/// members, and reduction leaves it as it is.
fn assert_reduced(s: Scalar) {
    assert!(s.umin() <= s.umax() && s.smin() <= s.smax(), "{s:?}");
    for end in [s.umin(), s.umax(), s.smin() as u64, s.smax() as u64] {
        assert!(s.contains(end), "{s:?} lacks its own bound {end:#x}");
    }
    assert_eq!(s.reduced(), Some(s), "not reduced");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn reduction_shortcuts_give_what_every_round_gives(s in raw_scalar()) {
        prop_assert_eq!(s.reduced(), s.reduced_by_rounds());
    }

    #[test]
    fn reducing_a_range_in_one_half_gives_what_every_round_gives(
        a in value(),
        b in value(),
        v in value(),
        n in 0u32..=64,
        at in 0u32..64,
        from in 0..3usize,
    ) {
        // One-half ranges (the half of the lower end) with known bits that
        // often know only what the range implies, less, or more.
        let (lo, hi) = (a.min(b), a.max(b));
        let hi = if (lo as i64 >= 0) == (hi as i64 >= 0) { hi } else { lo | (i64::MAX as u64 >> 1) };
        let hi = hi.max(lo);
        let range = Tnum::range(lo, hi);
        let bits = [
            range,
            Tnum::new(v, range.mask() | (low_bits(n) << at)),
            Tnum::new(lo, low_bits(n)),
        ][from];
        let s = Scalar { bits, umin: lo, umax: hi, smin: lo as i64, smax: hi as i64 };
        prop_assert_eq!(s.reduced(), s.reduced_by_rounds());
    }

    #[test]
    fn joining_two_constants_gives_what_the_general_rule_gives(
        x in prop_oneof![value(), 0u64..64],
        y in prop_oneof![value(), 0u64..64],
    ) {
        let (a, b) = (Scalar::constant(x), Scalar::constant(y));
        prop_assert_eq!(a.join(b), a.join_general(b));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_sample_holds_its_witnesses_and_is_reduced(s in sample()) {
        assert_reduced(s.abs);
        for &x in &s.xs {
            prop_assert!(s.abs.contains(x), "{:?} lacks witness {x:#x}", s.abs);
        }
    }

    #[test]
    fn binary_operations_hold_every_concrete_result(a in sample(), b in sample()) {
        let (xa, xb) = (all(&a), all(&b));
        for (name, op, f) in BINARY {
            let r = op(a.abs, b.abs);
            assert_reduced(r);
            for &x in &xa {
                for &y in &xb {
                    prop_assert!(r.contains(f(x, y)), "{name} {:?} {:?} = {r:?} lacks {x:#x},{y:#x}", a.abs, b.abs);
                }
            }
        }
    }

    #[test]
    fn divisions_hold_every_result_that_does_not_trap(a in sample(), b in sample()) {
        let (xa, xb) = (all(&a), all(&b));
        let results = [a.abs.udiv(b.abs), a.abs.urem(b.abs), a.abs.sdiv(b.abs), a.abs.srem(b.abs)];
        for r in results {
            assert_reduced(r);
        }
        let [udiv, urem, sdiv, srem] = results;
        for &x in &xa {
            for &y in xb.iter().filter(|&&y| y != 0) {
                prop_assert!(udiv.contains(x / y), "udiv {:?} {:?} = {udiv:?} lacks {x:#x},{y:#x}", a.abs, b.abs);
                prop_assert!(urem.contains(x % y), "urem {:?} {:?} = {urem:?} lacks {x:#x},{y:#x}", a.abs, b.abs);
                let (sx, sy) = (x as i64, y as i64);
                if let (Some(q), Some(r)) = (sx.checked_div(sy), sx.checked_rem(sy)) {
                    prop_assert!(sdiv.contains(q as u64), "sdiv {:?} {:?} = {sdiv:?} lacks {x:#x},{y:#x}", a.abs, b.abs);
                    prop_assert!(srem.contains(r as u64), "srem {:?} {:?} = {srem:?} lacks {x:#x},{y:#x}", a.abs, b.abs);
                }
            }
        }
    }

    #[test]
    fn unary_operations_and_extensions_hold_every_concrete_result(a in sample(), bits in prop::sample::select(vec![0u32, 1, 7, 8, 16, 31, 32, 33, 63, 64])) {
        let (neg, not) = (a.abs.neg(), a.abs.not());
        let (zext, sext) = (a.abs.zext(bits), a.abs.sext(bits));
        for r in [neg, not, zext, sext] {
            assert_reduced(r);
        }
        for x in all(&a) {
            prop_assert!(neg.contains(x.wrapping_neg()));
            prop_assert!(not.contains(!x));
            prop_assert!(zext.contains(extend("zext", x, bits)), "zext {bits} {:?} = {zext:?} lacks {x:#x}", a.abs);
            prop_assert!(sext.contains(extend("sext", x, bits)), "sext {bits} {:?} = {sext:?} lacks {x:#x}", a.abs);
        }
    }

    #[test]
    fn shifts_hold_every_concrete_result(a in sample(), amount in sample(), width in prop::sample::select(vec![8u32, 16, 32, 64])) {
        check_shifts(&a, amount.abs, &all(&amount), width);
    }

    #[test]
    fn shifts_by_small_ranges_hold_every_count(a in sample(), lo in 0u64..64, span in 0u64..6, width in prop::sample::select(vec![8u32, 16, 32, 64])) {
        let counts: Vec<u64> = (lo..=lo + span).collect();
        check_shifts(&a, Scalar::range_u(lo, lo + span), &counts, width);
    }

    #[test]
    fn shortcuts_for_any_value_give_what_the_general_rules_give(a in sample()) {
        let any = Scalar::unknown();
        for (x, y) in [(any, a.abs), (a.abs, any)] {
            prop_assert_eq!(x.add(y), x.add_general(y));
            prop_assert_eq!(x.sub(y), x.sub_general(y));
            prop_assert_eq!(x.mul(y), x.mul_general(y));
        }
    }

    #[test]
    fn a_constant_plus_a_value_gives_what_the_general_rule_gives(a in sample(), c in value(), lo in value(), span in 0u64..1000) {
        let k = Scalar::constant(c);
        // Sampled values, and ranges in one sign half near every edge.
        let range = Scalar::range_u(lo, lo.saturating_add(span));
        for x in [a.abs, range] {
            prop_assert_eq!(x.add(k), x.add_general(k));
            prop_assert_eq!(k.add(x), k.add_general(x));
        }
    }

    #[test]
    fn shortcuts_for_two_constants_give_what_the_general_rules_give(a in value(), b in value()) {
        let (x, y) = (Scalar::constant(a), Scalar::constant(b));
        prop_assert_eq!(x.add(y), x.add_general(y));
        prop_assert_eq!(x.sub(y), x.sub_general(y));
    }

    #[test]
    fn join_widen_and_meet_are_sound(a in sample(), b in sample()) {
        let (xa, xb) = (all(&a), all(&b));
        let join = a.abs.join(b.abs);
        let widen = a.abs.widen(b.abs);
        assert_reduced(join);
        assert_reduced(widen);
        let meet = a.abs.meet(b.abs);
        for &x in xa.iter().chain(&xb) {
            prop_assert!(join.contains(x));
            prop_assert!(widen.contains(x));
            if a.abs.contains(x) && b.abs.contains(x) {
                prop_assert!(meet.is_some_and(|m| m.contains(x)), "meet {:?} {:?} = {meet:?} lacks {x:#x}", a.abs, b.abs);
            }
        }
        if let Some(m) = meet {
            assert_reduced(m);
            prop_assert!(a.abs.includes(m) && b.abs.includes(m));
        }
        prop_assert!(join.includes(a.abs) && join.includes(b.abs) && widen.includes(join));
        if a.abs.includes(b.abs) {
            for &x in &xb {
                prop_assert!(a.abs.contains(x));
            }
            prop_assert_eq!(a.abs.join(b.abs), a.abs);
        }
        // Widening a value by itself or a subset changes nothing.
        prop_assert_eq!(widen.widen(a.abs), widen);
        prop_assert_eq!(widen.widen(join.meet(widen).unwrap_or(widen)), widen);
    }

    #[test]
    fn refinement_keeps_every_pair_that_takes_the_edge(a in sample(), b in sample()) {
        let (xa, xb) = (all(&a), all(&b));
        for cond in CONDS {
            let refined = Scalar::refine(a.abs, b.abs, cond);
            if let Some((ra, rb)) = refined {
                assert_reduced(ra);
                assert_reduced(rb);
                prop_assert!(ra.umin() >= a.abs.umin() && ra.umax() <= a.abs.umax());
                prop_assert!(rb.smin() >= b.abs.smin() && rb.smax() <= b.abs.smax());
            }
            for &x in &xa {
                for &y in &xb {
                    if cond.holds(x, y) {
                        prop_assert!(refined.is_some_and(|(ra, rb)| ra.contains(x) && rb.contains(y)),
                            "{cond:?} {:?} {:?} = {refined:?} lacks {x:#x},{y:#x}", a.abs, b.abs);
                    }
                }
            }
        }
    }

    #[test]
    fn refining_against_a_constant_is_the_general_rule_s_first_half(
        a in sample(),
        pick in 0usize..6,
        delta in -2i64..=2,
        any in any::<u64>(),
    ) {
        // Constants at and beside each end of `a`'s ranges, a member, or any.
        let s = a.abs;
        let base = [s.umin(), s.umax(), s.smin() as u64, s.smax() as u64, a.xs[0], any][pick];
        let c = base.wrapping_add(delta as u64);
        for cond in CONDS {
            let general = Scalar::refine(s, Scalar::constant(c), cond).map(|(ra, _)| ra);
            prop_assert_eq!(Scalar::refine_const(s, c, cond), general, "{:?} {:?} {:#x}", cond, s, c);
        }
    }

    #[test]
    fn narrow_refinement_keeps_every_pair_whose_low_parts_take_the_edge(a in sample(), b in sample(), width in prop::sample::select(vec![8u32, 16, 32, 64])) {
        let (xa, xb) = (all(&a), all(&b));
        for cond in CONDS {
            let refined = Scalar::refine_width(a.abs, b.abs, cond, width);
            for &x in &xa {
                for &y in &xb {
                    let (lx, ly) = (extend("zext", x, width), extend("zext", y, width));
                    let holds = match cond {
                        Cond::Slt | Cond::Sle | Cond::Sgt | Cond::Sge => {
                            cond.holds(extend("sext", lx, width), extend("sext", ly, width))
                        }
                        _ => cond.holds(lx, ly),
                    };
                    if holds {
                        prop_assert!(refined.is_some_and(|(ra, rb)| ra.contains(x) && rb.contains(y)),
                            "{cond:?}/{width} {:?} {:?} = {refined:?} lacks {x:#x},{y:#x}", a.abs, b.abs);
                    }
                }
            }
        }
    }

    #[test]
    fn refinement_against_an_end_constant_keeps_every_pair(a in sample(), end in 0usize..4, step in -1i64..=1) {
        // Ne and the orders are most interesting right at a range's ends.
        let ends = [a.abs.umin(), a.abs.umax(), a.abs.smin() as u64, a.abs.smax() as u64];
        let c = ends[end].wrapping_add_signed(step);
        for cond in CONDS {
            let refined = Scalar::refine(a.abs, Scalar::constant(c), cond);
            for x in all(&a) {
                if cond.holds(x, c) {
                    prop_assert!(refined.is_some_and(|(ra, rb)| ra.contains(x) && rb.contains(c)),
                        "{cond:?} {:?} {c:#x} = {refined:?} lacks {x:#x}", a.abs);
                }
            }
        }
    }

    #[test]
    fn test_refinement_keeps_every_value_that_takes_the_edge(a in sample(), mask in value(), zero in any::<bool>()) {
        let refined = a.abs.refine_test(mask, zero);
        for x in all(&a) {
            if (x & mask == 0) == zero {
                prop_assert!(refined.is_some_and(|r| r.contains(x)), "test {:?} {mask:#x} {zero} = {refined:?} lacks {x:#x}", a.abs);
            }
        }
    }

    #[test]
    fn repeated_widening_reaches_a_fixpoint_in_a_few_steps(a in sample(), b in sample(), k in 0..BINARY.len()) {
        // A loop body `x = x op b` from the entry value `a`.
        let (_, op, _) = BINARY[k];
        let mut head = a.abs;
        let mut steps = 0;
        loop {
            let next = head.widen(op(head, b.abs));
            if next == head {
                break;
            }
            head = next;
            steps += 1;
            prop_assert!(steps <= 6, "no fixpoint after 6 widenings: {head:?}");
        }
    }
}

#[test]
fn conditions_negate_and_swap_consistently() {
    for cond in CONDS {
        assert_eq!(cond.negate().negate(), cond);
        assert_eq!(cond.swap().swap(), cond);
        for (x, y) in [(0, 1), (1, 0), (5, 5), (u64::MAX, 0), (0, u64::MAX)] {
            assert_eq!(cond.negate().holds(x, y), !cond.holds(x, y));
            assert_eq!(cond.swap().holds(y, x), cond.holds(x, y));
        }
    }
}

#[test]
fn incrementing_an_index_below_n_stays_bounded() {
    let n = 100;
    let i = Scalar::range_u(0, n - 1).add(Scalar::constant(1));
    assert_eq!(
        (i.umin(), i.umax(), i.smin(), i.smax()),
        (1, n, 1, n as i64)
    );
}

#[test]
fn masking_with_seven_gives_zero_to_seven_for_any_value() {
    for x in [
        Scalar::unknown(),
        Scalar::range_s(-5, -1),
        Scalar::range_u(1 << 63, u64::MAX),
    ] {
        let r = x.and(Scalar::constant(7));
        assert_eq!((r.umin(), r.umax(), r.smin(), r.smax()), (0, 7, 0, 7));
    }
}

#[test]
fn movzx_of_a_byte_is_zero_to_255() {
    for r in [Scalar::unknown().zext(8), Scalar::zext_unknown(1)] {
        assert_eq!((r.umin(), r.umax(), r.smin(), r.smax()), (0, 255, 0, 255));
        assert_eq!(r.bits(), Tnum::new(0, 0xff));
    }
    let r = Scalar::sext_unknown(1);
    assert_eq!((r.smin(), r.smax()), (-128, 127));
}

#[test]
fn scaling_a_byte_by_eight_keeps_bounds_and_alignment() {
    let byte = Scalar::unknown().and(Scalar::constant(0xff));
    for r in [
        byte.shl(Scalar::constant(3), 64),
        byte.mul(Scalar::constant(8)),
    ] {
        assert_eq!((r.umin(), r.umax(), r.smin(), r.smax()), (0, 2040, 0, 2040));
        assert_eq!(r.bits(), Tnum::new(0, 0x7f8), "low three bits known zero");
    }
}

#[test]
fn refining_any_value_with_unsigned_below_100_gives_0_to_99() {
    let (a, b) =
        Scalar::refine(Scalar::unknown(), Scalar::constant(100), Cond::Ult).expect("feasible");
    assert_eq!((a.umin(), a.umax(), a.smin(), a.smax()), (0, 99, 0, 99));
    assert_eq!(b.as_const(), Some(100));
    // The other edge of the same branch.
    let (a, _) = Scalar::refine(Scalar::unknown(), Scalar::constant(100), Cond::Ult.negate())
        .expect("feasible");
    assert_eq!((a.umin(), a.umax()), (100, u64::MAX));
}

#[test]
fn signed_nonnegative_and_below_ten_is_0_to_9_in_both_views() {
    let zero = Scalar::constant(0);
    let (a, _) = Scalar::refine(Scalar::unknown(), zero, Cond::Sge).expect("feasible");
    let (a, _) = Scalar::refine(a, Scalar::constant(10), Cond::Slt).expect("feasible");
    assert_eq!((a.umin(), a.umax(), a.smin(), a.smax()), (0, 9, 0, 9));
    assert_eq!(a.bits(), Tnum::new(0, 0xf));
}

#[test]
fn widening_a_counter_reaches_the_nonnegative_range_in_one_step_and_stays() {
    let widened = Scalar::range_u(0, 1).widen(Scalar::range_u(0, 2));
    assert_eq!(
        (
            widened.umin(),
            widened.umax(),
            widened.smin(),
            widened.smax()
        ),
        (0, i64::MAX as u64, 0, i64::MAX)
    );
    // The loop body `i += 1` under `cmp i, n; jl` (n unknown) keeps it.
    let (guarded, _) = Scalar::refine(widened, Scalar::unknown(), Cond::Slt).expect("feasible");
    let body = guarded.add(Scalar::constant(1));
    assert_eq!(widened.widen(body), widened);
    // Without any guard the counter may wrap: one more step reaches everything.
    let wrapped = widened.widen(widened.add(Scalar::constant(1)));
    assert_eq!(wrapped, Scalar::unknown());
    assert_eq!(wrapped.widen(wrapped.add(Scalar::constant(1))), wrapped);
}

#[test]
fn widening_keeps_the_alignment_of_a_strided_counter() {
    let widened = Scalar::range_u(0, 8)
        .and(Scalar::constant(!7))
        .widen(Scalar::range_u(0, 16).and(Scalar::constant(!7)));
    assert_eq!(widened.bits().mask() & 7, 0);
    assert_eq!(widened.bits().value() & 7, 0);
    assert_eq!(widened.umax(), i64::MAX as u64 & !7);
}

#[test]
fn a_32_bit_write_keeps_small_ranges_and_wraps_crossing_ones() {
    let r = Scalar::range_u(0, 10).zext(32);
    assert_eq!((r.umin(), r.umax()), (0, 10));
    let r = Scalar::range_s(-1, 1).zext(32);
    assert_eq!((r.umin(), r.umax()), (0, 0xffff_ffff));
    let r = Scalar::range_s(-3, -1).zext(32);
    assert_eq!((r.umin(), r.umax()), (0xffff_fffd, 0xffff_ffff));
    // 32-bit arithmetic is a 64-bit operation and then `zext(32)`.
    let r = Scalar::constant(0xffff_ffff)
        .add(Scalar::constant(1))
        .zext(32);
    assert_eq!(r.as_const(), Some(0));
}

#[test]
fn sign_extension_of_a_dword_keeps_its_signed_range() {
    let r = Scalar::range_u(0xffff_fff0, 0xffff_ffff).sext(32);
    assert_eq!((r.smin(), r.smax()), (-16, -1));
    let r = Scalar::range_u(0, 0x7fff_ffff).sext(32);
    assert_eq!((r.smin(), r.smax()), (0, 0x7fff_ffff));
}

#[test]
fn zero_extending_any_value_gives_what_the_general_rule_gives() {
    for bits in 0..64 {
        assert_eq!(
            Scalar::unknown().zext(bits),
            Scalar::unknown().zext_general(bits),
            "{bits} bits"
        );
    }
}

#[test]
fn masking_every_value_below_a_power_gives_what_the_general_rule_gives() {
    let mut hit = 0;
    for n in 1..=64 {
        let low = Scalar::range_u(0, low_bits(n));
        for m in 0..=64 {
            for mask in [low_bits(m), low_bits(m) ^ 1, low_bits(m) << 1] {
                let k = Scalar::constant(mask);
                hit += usize::from(low.low_bits_set().is_some() && k.low_mask().is_some());
                assert_eq!(low.and(k), low.and_general(k), "2^{n} & {mask:#x}");
                assert_eq!(k.and(low), k.and_general(low), "{mask:#x} & 2^{n}");
            }
        }
    }
    assert!(hit > 4000, "{hit} shortcuts taken");
}

#[test]
fn ne_drops_a_constant_at_either_end() {
    let a = Scalar::range_u(0, 10);
    let (r, _) = Scalar::refine(a, Scalar::constant(0), Cond::Ne).expect("feasible");
    assert_eq!((r.umin(), r.umax()), (1, 10));
    let (r, _) = Scalar::refine(a, Scalar::constant(10), Cond::Ne).expect("feasible");
    assert_eq!((r.umin(), r.umax()), (0, 9));
    let (r, _) = Scalar::refine(a, Scalar::constant(5), Cond::Ne).expect("feasible");
    assert_eq!(r, a);
    assert_eq!(
        Scalar::refine(Scalar::constant(3), Scalar::constant(3), Cond::Ne),
        None
    );
    assert!(Scalar::range_u(1, 5).is_nonzero());
}

#[test]
fn impossible_edges_are_none() {
    let small = Scalar::range_u(0, 10);
    let big = Scalar::range_u(20, 30);
    assert_eq!(Scalar::refine(big, small, Cond::Ult), None);
    assert_eq!(Scalar::refine(small, big, Cond::Eq), None);
    assert_eq!(
        Scalar::refine(Scalar::unknown(), Scalar::constant(0), Cond::Ult),
        None
    );
    assert_eq!(
        Scalar::refine(
            Scalar::constant(i64::MAX as u64),
            Scalar::unknown(),
            Cond::Sgt
        )
        .map(|(a, _)| a.smax()),
        Some(i64::MAX)
    );
    assert_eq!(Scalar::constant(8).refine_test(7, false), None);
    assert_eq!(Scalar::constant(8).refine_test(0, false), None);
}

#[test]
fn test_refinement_learns_bits_and_a_lower_bound() {
    let r = Scalar::unknown().refine_test(7, true).expect("feasible");
    assert_eq!(r.bits().mask() & 7, 0);
    let r = Scalar::range_u(0, 100)
        .refine_test(0x30, false)
        .expect("feasible");
    assert_eq!(r.umin(), 16);
    let r = Scalar::range_u(0, 100)
        .refine_test(0x40, false)
        .expect("feasible");
    assert_eq!((r.umin(), r.umax()), (64, 100));
}

#[test]
fn diagnostics_show_the_range_in_the_view_that_says_most() {
    let shown = |s: Scalar| s.to_string();
    assert_eq!(shown(Scalar::constant(5)), "5");
    assert_eq!(shown(Scalar::constant(-3i64 as u64)), "-3");
    assert_eq!(shown(Scalar::constant(1 << 40)), "0x10000000000");
    assert_eq!(shown(Scalar::range_u(0, 99)), "[0, 99]");
    assert_eq!(shown(Scalar::range_s(-8, 7)), "[-8, 7]");
    assert_eq!(shown(Scalar::range_s(-8, -2)), "[-8, -2]");
    let scaled = Scalar::zext_unknown(1).shl(Scalar::constant(3), 64);
    assert_eq!(shown(scaled), "[0, 2040], multiple of 8");
    let odd = Scalar::range_u(0, 100).or(Scalar::constant(1));
    assert_eq!(shown(odd), "[1, 101], 1 mod 2");
    assert_eq!(
        shown(Scalar::range_u(0x8000_0000, u64::MAX)),
        "[0x80000000, 0xffffffffffffffff] unsigned"
    );
    // Both ranges cross a boundary of the other's view: both are shown.
    let both = Scalar::range_u(0x8000_0000, u64::MAX).or(Scalar::constant(0x8000_0000));
    assert_eq!(
        shown(both),
        "[-0x7fffffff80000000, 0x7fffffffffffffff] and [0x80000000, 0xffffffffffffffff] unsigned"
    );
    assert_eq!(shown(Scalar::unknown()), "any value");
    assert_eq!(
        shown(Scalar::range_s(i64::MIN, -1)),
        "[-0x8000000000000000, -0x1]"
    );
}

#[test]
fn a_32_bit_signed_loop_test_bounds_a_zero_extended_index() {
    // `mov ecx, ...` (32-bit write) then `cmp ecx, 10; jl`, on the taken edge.
    let index = Scalar::zext_unknown(4);
    let (i, _) =
        Scalar::refine_width(index, Scalar::constant(10), Cond::Slt, 32).expect("feasible");
    // Below 10 as a signed 32-bit value: 0..=9 or 0x80000000..=0xffffffff,
    // two pieces that the 64-bit views can only hold together.
    assert_eq!((i.umin(), i.umax()), (0, 0xffff_ffff));
    // With `cmp ecx, 0; jge` first, it is 0..=9.
    let (i, _) = Scalar::refine_width(index, Scalar::constant(0), Cond::Sge, 32).expect("feasible");
    let (i, _) = Scalar::refine_width(i, Scalar::constant(10), Cond::Slt, 32).expect("feasible");
    assert_eq!((i.umin(), i.umax(), i.smin(), i.smax()), (0, 9, 0, 9));
    // The unsigned idiom `cmp ecx, 10; jb` does it in one step.
    let (i, _) =
        Scalar::refine_width(index, Scalar::constant(10), Cond::Ult, 32).expect("feasible");
    assert_eq!((i.umin(), i.umax()), (0, 9));
    // Unknown high bits: the low compare says nothing about the register.
    let (i, _) = Scalar::refine_width(Scalar::unknown(), Scalar::constant(10), Cond::Ult, 32)
        .expect("feasible");
    assert_eq!(i, Scalar::unknown());
}

#[test]
fn a_remainder_is_below_the_divisor() {
    let hash = Scalar::unknown();
    let r = hash.urem(Scalar::range_u(1, 64));
    assert_eq!((r.umin(), r.umax()), (0, 63));
    let r = hash.urem(Scalar::constant(8));
    assert_eq!((r.umin(), r.umax(), r.bits()), (0, 7, Tnum::new(0, 7)));
    let small = Scalar::range_u(0, 5);
    assert_eq!(small.urem(Scalar::range_u(6, 10)), small);
    // Equal to the divisor's least value: the remainder can be 0.
    assert!(
        Scalar::range_u(3, 6)
            .urem(Scalar::range_u(6, 9))
            .contains(0)
    );
    assert_eq!(
        Scalar::constant(9).urem(Scalar::constant(9)).as_const(),
        Some(0)
    );
    let r = Scalar::range_s(-100, 100).srem(Scalar::constant(10));
    assert_eq!((r.smin(), r.smax()), (-9, 9));
    let q = Scalar::range_u(0, 1000).udiv(Scalar::range_u(0, 10));
    assert_eq!((q.umin(), q.umax()), (0, 1000));
    let q = Scalar::range_s(-1000, 1000).sdiv(Scalar::range_s(-10, 10));
    assert_eq!((q.smin(), q.smax()), (-1000, 1000));
    assert_eq!(
        Scalar::range_u(0, 1000).udiv(Scalar::constant(0)),
        Scalar::unknown()
    );
}

#[test]
fn alignment_is_the_count_of_known_zero_low_bits() {
    assert_eq!(Scalar::constant(0).trailing_zeros(), 64);
    assert_eq!(Scalar::constant(24).trailing_zeros(), 3);
    let scaled = Scalar::zext_unknown(1).shl(Scalar::constant(3), 64);
    assert_eq!(scaled.trailing_zeros(), 3);
    assert_eq!(Scalar::unknown().trailing_zeros(), 0);
    assert!(Scalar::unknown().is_unknown() && !scaled.is_unknown());
}
