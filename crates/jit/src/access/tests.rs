//! The shorter way of an indexed load ([`indexed_load`]) against the rules
//! for every instruction ([`crate::interp::generic`]): every ModRM/SIB form
//! of `mov r64, [base + index * scale + disp]` on random states and
//! policies gives the same result, and on success the same state. The
//! fast form of that load ([`crate::fast::Form::LoadIndexed`]), where it
//! steps, gives that state too, and leaves the state alone where it does not.

use super::*;
use crate::interp::generic;
use crate::scalar::Scalar;
use crate::state::{ARITH_FLAGS, CMP_IMM, Cmp, Flagged};
use crate::{Policy, Signature};
use iced_x86::{Decoder, DecoderOptions};
use proptest::prelude::Rng as _;
use proptest::test_runner::{RngAlgorithm, TestRng};

/// A deterministic generator (proptest's, seeded the same every run).
struct Rng(TestRng);

impl Rng {
    fn new() -> Rng {
        Rng(TestRng::deterministic_rng(RngAlgorithm::XorShift))
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A number: small ranges (indices), constants, or any value, some with a
/// relation to the extent `n` (parameter 1).
fn random_num(rng: &mut Rng) -> Num {
    let lo = rng.below(24) as i64 - 4;
    let mut n = match rng.below(4) {
        0 => Num::constant(rng.below(12)),
        1 => Num::unknown(),
        _ => Num::scalar(Scalar::range_s(lo, lo + rng.below(16) as i64)),
    };
    if rng.below(3) == 0 {
        n.rel = Rel {
            sym: 1,
            shift: rng.below(4) as u8,
            lo: -(rng.below(32) as i64) - 8,
            hi: -(rng.below(8) as i64),
        };
    }
    n
}

fn random_val(rng: &mut Rng) -> Val {
    match rng.below(9) {
        0 => Val::Undef,
        1 => Val::Data(1 + rng.below(8) as u8),
        2 => Val::Entry(rng.below(16) as u8),
        3 => Val::Stack(-(rng.below(17) as i64) * 8),
        4 => Val::Param(0, rng.below(16) as i64),
        5 | 6 => Val::num(random_num(rng)),
        7 => Val::Ptr(0, random_num(rng)),
        _ => Val::Data(8),
    }
}

/// Every `mov r64, [base + index * scale + disp]` encoding with a SIB byte
/// (all REX.RXB, all SIB bytes, no, 8- and 32-bit displacements), some
/// behind a `67` (32-bit addresses) or segment prefix, and a few loads
/// without an index (which are not this form).
fn loads() -> Vec<(Instruction, bool)> {
    let mut codes: Vec<Vec<u8>> = Vec::new();
    for rex in 0x48..=0x4fu8 {
        for reg in [0u8, 2, 4, 6, 7] {
            for sib in 0..=0xffu8 {
                for (mode, disp) in [
                    (0x00u8, &[][..]),
                    (0x40, &[0xf8]),
                    (0x80, &[0xe0, 0xff, 0xff, 0xff]),
                ] {
                    let mut b = vec![rex, 0x8b, mode | reg << 3 | 4, sib];
                    b.extend_from_slice(disp);
                    if mode == 0 && sib & 7 == 5 {
                        b.extend_from_slice(&[0xd8, 0xff, 0xff, 0xff]);
                    }
                    codes.push(b);
                }
            }
        }
    }
    for prefix in [0x67u8, 0x64, 0x2e] {
        codes.push(vec![prefix, 0x48, 0x8b, 0x74, 0xd7, 0xf8]);
    }
    codes.push(vec![0x48, 0x8b, 0x47, 0xf8]);
    codes.push(vec![0x48, 0x8b, 0x04, 0x24]);
    // Each with whether its first byte is not a legacy prefix.
    codes
        .iter()
        .map(|b| {
            let ins = Decoder::with_ip(64, b, 0, DecoderOptions::NONE).decode();
            (ins, !crate::classify::is_legacy_prefix(b[0]))
        })
        .filter(|(ins, _)| !ins.is_invalid())
        .collect()
}

#[test]
fn an_indexed_load_steps_as_the_general_rules_step_it() {
    let sig: Signature = "int64(int64* xs[n], int64 n)".parse().expect("signature");
    let policies = [
        Policy::default(),
        Policy {
            allow_red_zone: true,
            ..Policy::default()
        },
        Policy {
            reserved: vec![iced_x86::Register::RDX],
            allow_red_zone: true,
            ..Policy::default()
        },
        Policy {
            max_frame: 32,
            ..Policy::default()
        },
    ];
    let mut uses = crate::uses::Uses::new();
    let mut rng = Rng::new();
    let mut records = crate::record::Records::new();
    let (mut shorter, mut accepted, mut refused, mut fast) = (0, 0, 0, 0);
    for (ins, no_prefix) in loads() {
        let (regs, mems) = uses.of(&ins, ins.mnemonic(), no_prefix);
        let key = crate::record::Records::key(&ins);
        let rec = records.get(key, &ins);
        let op = records.lower(key, rec, &ins, no_prefix);
        let flags = Flags::of(&ins);
        for round in 0..8 {
            let policy = &policies[round % policies.len()];
            let syms = Ctx::entry_syms_of(policy, &sig);
            let ctx = Ctx::new(policy, &sig, 64, &syms);
            let mut st = State::empty();
            ctx.entry_state_into(&mut st);
            for r in 0..16 {
                if r != RSP && rng.below(3) != 0 {
                    st.set_reg(r, random_val(&mut rng));
                }
            }
            // Often a base and an index that make a proven access: a stack
            // array or a buffer, indexed by a small range.
            if rng.below(3) != 0 {
                let (base, index) = (ins.memory_base(), ins.memory_index());
                if base.is_gpr64() {
                    let v = if rng.below(3) == 0 {
                        Val::Ptr(0, Num::constant(0))
                    } else {
                        Val::Stack(-(rng.below(4) as i64) * 64 - 64)
                    };
                    st.set_reg(gpr(base), v);
                }
                if index.is_gpr64() {
                    let top = rng.below(8) as i64;
                    st.set_reg(gpr(index), Val::num(Num::scalar(Scalar::range_s(0, top))));
                }
            }
            let rsp = -(rng.below(4) as i64) * 64;
            st.set_reg(RSP, Val::Stack(rsp.max(-ctx.max_frame)));
            // Written stack bytes: often the whole frame, plus values.
            if rng.below(3) != 0 {
                for off in (-320..0).step_by(8) {
                    st.store(off, 8, Val::Data(8));
                }
            }
            for _ in 0..rng.below(4) {
                let off = -(rng.below(16) as i64) * 8 - 8;
                st.store(off, 8, random_val(&mut rng));
            }
            st.touched = -(rng.below(200) as i64);
            st.flags = (rng.next() as u32) & ARITH_FLAGS;
            st.sext = [0, 4, 8][rng.below(3) as usize];
            if rng.below(2) == 0 {
                st.cmp = Some(Cmp {
                    a: rng.below(16) as u8,
                    b: if rng.below(2) == 0 {
                        CMP_IMM
                    } else {
                        rng.below(16) as u8
                    },
                    imm: 5,
                    width: 8,
                    kind: Flagged::Sub,
                });
            }
            let mut a = st.clone();
            let Some(ra) = indexed_load(&ctx, &mut a, &ins, regs, mems, flags) else {
                continue;
            };
            let mut b = st.clone();
            let rb = generic(&ctx, &mut b, &ins, regs, mems, flags);
            assert_eq!(ra, rb, "{ins} from {st:?}");
            if op.form == crate::fast::Form::LoadIndexed {
                let mut c = st.clone();
                if crate::fast::exec::<false>(&ctx, &mut c, &op, &ins).is_ok() {
                    assert!(rb.is_ok(), "{ins} from {st:?}: {rb:?}");
                    assert_eq!(c, b, "{ins} from {st:?}");
                    fast += 1;
                } else {
                    assert_eq!(c, st, "{ins} changed the state");
                }
            }
            if rb.is_ok() {
                assert_eq!(a, b, "{ins} from {st:?}");
                accepted += 1;
            } else {
                refused += 1;
            }
            shorter += 1;
        }
    }
    // Both ways are exercised, and most of the forms take the shorter way.
    assert!(
        shorter > 50_000,
        "only {shorter} loads took the shorter way"
    );
    assert!(
        accepted > 10_000 && refused > 10_000,
        "{accepted} stepped, {refused} refused"
    );
    assert!(fast > 10_000, "only {fast} loads took the fast form");
}

/// The 64-bit bounds of a stack range are the clamped 128-bit ones,
/// near every overflow too.
#[test]
fn range_bounds_are_the_wide_bounds() {
    use crate::test_rng::Rng;
    let mut rng = Rng(0x5ca1_ab1e_0000_0003);
    let edges = [
        0i64,
        1,
        -1,
        8,
        -40,
        i64::MIN,
        i64::MAX,
        i64::MIN + 7,
        i64::MAX - 7,
        i64::MAX / 8,
        i64::MIN / 8,
        i64::MAX / 8 + 1,
    ];
    let pick = |rng: &mut Rng| {
        if rng.next() & 1 == 0 {
            edges[(rng.next() % edges.len() as u64) as usize]
        } else {
            (rng.next() % 200) as i64 - 100
        }
    };
    let (mut narrow, mut wide) = (0, 0);
    for _ in 0..50_000 {
        let (k, disp) = (pick(&mut rng), pick(&mut rng));
        let (a, b) = (pick(&mut rng), pick(&mut rng));
        let index = (a.min(b), a.max(b));
        let scale = [1u32, 2, 4, 8][(rng.next() % 4) as usize];
        let size = [1u8, 4, 8][(rng.next() % 3) as usize];
        let want = wide_range(k, index, scale, disp, size);
        assert_eq!(range_bounds(k, index, scale, disp, size), want);
        let fits = |v: i64| v != i64::MIN && v != i64::MAX;
        if fits(want.0) && fits(want.1) {
            narrow += 1;
        } else {
            wide += 1;
        }
    }
    assert!(narrow > 5_000 && wide > 5_000, "{narrow} {wide}");
}

/// [`range_readable`] as it was: a binary search for the first slot
/// ending after `lo`, then the walk from there.
fn range_readable_searched(st: &State, lo: i64, hi: i64) -> bool {
    let mut at = lo;
    let i = st.slots.partition_point(|s| s.off + i64::from(s.len) <= lo);
    for s in &st.slots[i..] {
        if at >= hi {
            break;
        }
        if s.off > at || matches!(s.val, Val::Entry(_)) {
            return false;
        }
        at = s.off + i64::from(s.len);
    }
    at >= hi
}

/// The walk from the first slot answers what the search gives, on slot
/// lists of every kind (runs of data, saved registers, pointers, numbers,
/// holes) and ranges before, inside, across and after them.
#[test]
fn range_readable_walk_is_the_searched_walk() {
    let mut rng = Rng::new();
    let (mut yes, mut no) = (0, 0);
    for _ in 0..20_000 {
        let mut st = State::empty();
        for _ in 0..rng.below(16) {
            let len = [1u8, 2, 4, 8][rng.below(4) as usize];
            let off = -(rng.below(40) as i64) - i64::from(len);
            let v = match rng.below(4) {
                0 => Val::Entry(3),
                1 => random_val(&mut rng),
                _ => Val::Data(len),
            };
            st.store(off, len, v);
        }
        let lo = -(rng.below(56) as i64);
        let hi = lo + rng.below(20) as i64;
        let want = range_readable_searched(&st, lo, hi);
        assert_eq!(
            range_readable(&st, lo, hi),
            want,
            "[{lo}, {hi}) in {:?}",
            st.slots
        );
        if want { yes += 1 } else { no += 1 }
    }
    assert!(yes > 2_000 && no > 2_000, "{yes} readable, {no} not");
}
