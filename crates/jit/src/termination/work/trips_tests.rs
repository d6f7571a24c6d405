//! [`super::trips`] (plain data answered inline, 64-bit equality tests of
//! numbers in `u64`) against [`super::trips_by_views`] (the signed and unsigned views) on
//! pseudo-random head states (numbers, plain data, an undefined register,
//! a pointer), steps, conditions, flag kinds, widths and
//! bounds: the same bound every time.

use iced_x86::ConditionCode as CC;

use super::{Test, trips, trips_by_views};
use crate::num::Num;
use crate::scalar::Scalar;
use crate::state::{Flagged, State, Val};
use crate::termination::Bound;
use crate::test_rng::Rng;

fn value(rng: &mut Rng) -> u64 {
    let edges = [
        0,
        1,
        2,
        5,
        0x7f,
        0x8000_0000,
        0xffff_ffff,
        i64::MAX as u64,
        i64::MIN as u64,
        u64::MAX,
        u64::MAX - 1,
        (-5i64) as u64,
    ];
    match rng.below(3) {
        0 => edges[rng.below(edges.len())],
        1 => rng.below(1000) as u64,
        _ => rng.next(),
    }
}

fn scalar(rng: &mut Rng) -> Scalar {
    let (x, y) = (value(rng), value(rng));
    match rng.below(5) {
        0 => Scalar::range_u(x.min(y), x.max(y)),
        1 => Scalar::range_s((x as i64).min(y as i64), (x as i64).max(y as i64)),
        2 => Num::constant(x).s,
        3 => Num::constant(x).s.join(Num::constant(y).s),
        _ => Scalar::range_u(x.min(y), x.max(y)).join(Num::constant(value(rng)).s),
    }
}

#[test]
fn equality_tests_of_numbers_bound_trips_as_the_views_do() {
    let conds: Vec<CC> = CC::values().collect();
    let kinds = [Flagged::Sub, Flagged::Logic, Flagged::Result, Flagged::Mask];
    let mut rng = Rng(0x2f0c_93a1_6b5d_e477);
    // How many comparisons took the `u64` path, and how many bounds below
    // the fallback it gave (so narrow ranges were counted).
    let (mut fast, mut narrow) = (0, 0);
    for round in 0..200_000 {
        let mut head = State::empty();
        head.set_num(3, Num::scalar(scalar(&mut rng)));
        head.set_num(5, Num::scalar(scalar(&mut rng)));
        // Plain data, and a pointer with an offset range.
        head.set_num(9, Num::unknown());
        head.set_reg(10, Val::Ptr(0, Num::scalar(scalar(&mut rng))));
        let c = match rng.below(4) {
            0 => [1i64, -1, 2, -2, 8, -8, 4096][rng.below(7)],
            1 => 1 << rng.below(31),
            2 => -(1 << rng.below(31)),
            _ => (rng.next() % (1 << 31)) as i64 - (1 << 30),
        };
        if c == 0 {
            continue;
        }
        let kinds_drawn = if rng.below(2) == 0 { 1 } else { 4 };
        let t = Test {
            cc: conds[rng.below(conds.len())],
            kind: kinds[rng.below(kinds_drawn)],
            c,
            at_test: [0, c, -c, 3][rng.below(4)],
            width: [8, 8, 4][rng.below(3)],
            bound: if rng.below(2) == 0 {
                Bound::Imm(value(&mut rng) as i64)
            } else {
                Bound::Reg(5)
            },
        };
        let r = [3, 3, 3, 5, 7, 9, 10][rng.below(7)];
        let got = trips(&t, &head, r);
        assert_eq!(
            got,
            trips_by_views(&t, &head, r),
            "round {round}: c {c}, cc {:?}, kind {:?}, width {}, register {r}: {:?}",
            t.cc,
            t.kind,
            t.width,
            head.reg_num(r)
                .map(|n| (n.s.smin(), n.s.smax(), n.s.umin(), n.s.umax()))
        );
        if t.width == 8 && super::ordered(&t).is_none() && head.reg_num(r).is_some() {
            fast += 1;
            narrow += usize::from(got < 1 << 40);
        }
    }
    assert!(
        fast > 20_000 && narrow > 5_000,
        "u64 path {fast}, narrow {narrow}"
    );
}
