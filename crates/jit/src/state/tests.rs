//! The stack slot list's canonical form and joins, and the join of numbers
//! in place against the general rule for values.

use super::*;
use crate::num::POS_INF;

fn written(st: &State) -> Vec<(i64, u32, bool)> {
    st.slots
        .iter()
        .map(|s| (s.off, s.len, s.is_data()))
        .collect()
}

#[test]
fn bytes_written_one_at_a_time_form_one_run() {
    let mut st = State::empty();
    for off in (-64..0).rev() {
        st.store(off, 1, Val::Data(1));
    }
    assert_eq!(written(&st), [(-64, 64, true)]);
    // Writing in the other order and in the middle gives the same list.
    let mut other = State::empty();
    for off in (-64..0).step_by(2) {
        other.store(off, 1, Val::Data(1));
    }
    for off in (-63..0).step_by(2) {
        other.store(off, 1, Val::Data(1));
    }
    assert_eq!(other.slots, st.slots);
}

#[test]
fn a_partly_overwritten_entry_value_is_not_readable() {
    let mut st = State::empty();
    st.store(-8, 8, Val::Entry(12));
    st.store(-8, 4, Val::Data(4));
    assert_eq!(st.load(-8, 4), Load::Value(Val::Data(4)));
    assert_eq!(st.load(-4, 4), Load::Missing(-4));
    // A split pointer stays readable as data.
    st.store(-16, 8, Val::Stack(-16));
    st.store(-16, 2, Val::Data(2));
    assert_eq!(st.load(-14, 6), Load::Value(Val::Data(6)));
}

use proptest::test_runner::{RngAlgorithm, TestRng};

/// A number in `[lo, hi)` from proptest's deterministic generator.
fn pick(rng: &mut TestRng, lo: i64, hi: i64) -> i64 {
    use proptest::prelude::Rng as _;
    lo + (rng.next_u64() % (hi - lo) as u64) as i64
}

/// Numbers and buffer offsets of a few kinds: constants, ranges, with
/// and without a relation to symbol 1 or a value identity.
fn random_num(rng: &mut TestRng) -> Num {
    let lo = pick(rng, -8, 40);
    let mut n = Num::scalar(crate::scalar::Scalar::range_s(lo, lo + pick(rng, 0, 40)));
    if pick(rng, 0, 4) == 0 {
        n = Num::constant(pick(rng, 0, 50) as u64);
    }
    if pick(rng, 0, 2) == 0 {
        n.rel = Rel {
            sym: 1,
            shift: pick(rng, 0, 4) as u8,
            lo: -pick(rng, 1, 40),
            hi: [POS_INF, -pick(rng, 0, 8)][pick(rng, 0, 2) as usize],
        };
    }
    n.id = pick(rng, 0, 3) as u32;
    n
}

/// Register `r` of `a` joined with `b` by the general rule:
/// [`Val::join_with`] on the two values, then the reduction by the joined
/// symbol facts.
fn general_join(a: &State, b: &State, r: usize, widen: Option<(&Syms, &[i64])>) -> Val {
    let facts = join_syms(&a.syms, &b.syms, widen.map(|w| w.0));
    let want = a
        .reg(r)
        .join_with(b.reg(r), &a.syms, &b.syms, widen.map(|w| w.1));
    match want {
        Val::Num(n) => n.reduce(&facts).map_or(want, Val::num),
        Val::Ptr(i, n) => Val::Ptr(i, n.reduce(&facts).unwrap_or(n)),
        v => v,
    }
}

/// Joining numbers in place ([`State::join_num_at`]) gives what the
/// general rule gives: [`Val::join_with`] on the two values, then the
/// reduction by the joined symbol facts; with and without widening.
#[test]
fn numbers_join_as_the_general_rule_joins_them() {
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let thresholds = [-1i64, 0, 1, 4, 5, 6, 31, 32, 33];
    let (mut numbers, mut changed) = (0, 0);
    for round in 0..4000 {
        let mut syms = [crate::num::NO_SYMS; 2];
        for s in &mut syms {
            s.ranges[1] = Some((pick(&mut rng, 0, 4), pick(&mut rng, 4, 64)));
        }
        let (mut a, mut b) = (State::empty(), State::empty());
        a.set_syms(&syms[0]);
        b.set_syms(&syms[1]);
        for r in 0..16 {
            // Often a value `a` holds already (a loop head at its
            // fixpoint): one of `a`'s numbers narrowed to its least.
            if pick(&mut rng, 0, 3) == 0 {
                let n = random_num(&mut rng);
                let least = Num {
                    s: crate::scalar::Scalar::constant(n.s.smin() as u64),
                    ..n
                };
                a.set_reg(r, Val::num(n));
                b.set_reg(r, Val::num(least));
                continue;
            }
            for st in [&mut a, &mut b] {
                let v = match pick(&mut rng, 0, 5) {
                    0 => Val::Data(8),
                    1 | 2 => Val::num(random_num(&mut rng)),
                    _ => Val::Ptr(pick(&mut rng, 0, 2) as u8, random_num(&mut rng)),
                };
                st.set_reg(r, v);
            }
        }
        let entry = crate::num::NO_SYMS;
        let widen = (round % 2 == 0).then_some((&entry, &thresholds[..]));
        let mut j = a.clone();
        let c = j.join_from(&b, &mut Vec::new(), widen);
        assert_eq!(c, j != a, "{a:?} and {b:?}");
        for r in 0..16 {
            let (x, want) = (a.reg(r), general_join(&a, &b, r, widen));
            if matches!(want, Val::Num(_) | Val::Ptr(..)) {
                numbers += 1;
                changed += usize::from(want != x);
            }
            assert_eq!(j.reg(r), want, "register {r} of {a:?} and {b:?}");
        }
    }
    assert!(
        numbers > 20_000 && changed > 3_000,
        "{numbers} numbers, {changed} changed"
    );
}

#[test]
fn join_keeps_bytes_written_on_both_paths() {
    let mut a = State::empty();
    a.store(-16, 8, Val::Data(8));
    a.store(-8, 8, Val::Entry(3));
    a.store(-24, 8, Val::Stack(-8));
    let mut b = State::empty();
    for off in -24..-8 {
        b.store(off, 1, Val::Data(1));
    }
    b.store(-8, 8, Val::Entry(3));
    let mut j = a.clone();
    assert!(j.join_from(&b, &mut Vec::new(), None));
    // [-24, -8) is data on both paths (the pointer becomes data), the
    // entry value is kept where both paths hold it exactly.
    assert_eq!(written(&j), [(-24, 16, true), (-8, 8, false)]);
    assert_eq!(j.load(-8, 8), Load::Value(Val::Entry(3)));
    // An entry value against data is dropped.
    let mut c = State::empty();
    c.store(-8, 8, Val::Data(8));
    let mut k = a.clone();
    k.join_from(&c, &mut Vec::new(), None);
    assert_eq!(k.load(-8, 1), Load::Missing(-8));
    assert_eq!(k.touched, 0);
}

/// [`State::store`] as it was before it skipped the forgetting for fresh
/// bytes: forget what the bytes held, then insert.
fn store_by_forgetting(st: &mut State, off: i64, len: u8, val: Val) {
    let val = for_memory(val);
    let hi = off + i64::from(len);
    st.forget(off, hi);
    let idx = st.slots.partition_point(|s| s.off < off);
    match val {
        v if v.is_special() && len == 8 => st.slots.insert(idx, Slot { off, len: 8, val }),
        _ => st.insert_data(idx, off, hi),
    }
}

/// Stores of every width and kind of value, into fresh and into written
/// bytes, give the slots that forgetting first gives.
#[test]
fn a_store_gives_the_slots_forgetting_first_gives() {
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let (mut fresh, mut over) = (0, 0);
    for _ in 0..2000 {
        let (mut a, mut b) = (State::empty(), State::empty());
        for _ in 0..pick(&mut rng, 1, 12) {
            let len = [1u8, 2, 4, 8][pick(&mut rng, 0, 4) as usize];
            let off = -pick(&mut rng, 1, 64) - i64::from(len);
            let v = match pick(&mut rng, 0, 5) {
                0 => Val::Data(len),
                1 => Val::Entry(3),
                2 => Val::Stack(-8),
                3 => Val::num(random_num(&mut rng)),
                _ => Val::Ptr(0, random_num(&mut rng)),
            };
            let hi = off + i64::from(len);
            if a.slots.iter().any(|s| s.off < hi && s.end() > off) {
                over += 1;
            } else {
                fresh += 1;
            }
            a.store(off, len, v);
            store_by_forgetting(&mut b, off, len, v);
            assert_eq!(a.slots, b.slots, "store of {v:?} at {off}+{len}");
        }
    }
    assert!(fresh > 2_000 && over > 2_000, "{fresh} fresh, {over} over");
}

/// Whether `a` and `b` describe the same state, read through the
/// accessors only (each register's whole value, the symbol facts as they
/// are): what [`State`]'s `PartialEq` must agree with.
fn same_state(a: &State, b: &State) -> bool {
    (0..16).all(|r| a.reg(r) == b.reg(r))
        && a.syms == b.syms
        && a.cmp == b.cmp
        && a.sext == b.sext
        && a.flags == b.flags
        && a.touched == b.touched
        && a.slots == b.slots
}

/// `st` built afresh from what it describes: no stale numbers beside its
/// registers, its symbol facts' flag computed from them.
fn rebuilt(st: &State) -> State {
    let mut fresh = State::empty();
    for r in 0..16 {
        fresh.set_reg(r, st.reg(r));
    }
    fresh.set_syms(&st.syms);
    fresh.cmp = st.cmp;
    fresh.sext = st.sext;
    fresh.flags = st.flags;
    fresh.touched = st.touched;
    fresh.slots = st.slots.clone();
    fresh
}

/// What the representation promises: a number is kept exactly where a
/// register holds one, and facts marked empty are empty.
fn assert_consistent(st: &State, what: &str) {
    for r in 0..16 {
        let holds = matches!(st.head(r), Head::Num | Head::Ptr(_));
        assert_eq!(st.with_num >> r & 1 != 0, holds, "{what}: register {r}");
        let offset = matches!(st.head(r), Head::Stack(_) | Head::Param(..));
        assert!(offset || st.offs[r] == 0, "{what}: stale offset in {r}");
    }
    assert!(
        !st.syms_plain || st.syms == crate::num::NO_SYMS,
        "{what}: facts marked empty are {:?}",
        st.syms
    );
}

/// A register value of any kind (numbers and buffer offsets from
/// [`random_num`], often one number shared by several registers).
fn random_val(rng: &mut TestRng, shared: Num) -> Val {
    match pick(rng, 0, 9) {
        0 => Val::Undef,
        1 => Val::Data([1u8, 4, 8][pick(rng, 0, 3) as usize]),
        2 => Val::Entry(3),
        3 => Val::Stack(-8 * pick(rng, 0, 3)),
        4 => Val::Param(0, 8),
        5 => Val::num(random_num(rng)),
        6 => Val::Num(shared),
        7 => Val::Ptr(pick(rng, 0, 2) as u8, shared),
        _ => Val::Ptr(0, random_num(rng)),
    }
}

/// Symbol facts: often empty, else a range for symbol 1 and sometimes a
/// bound.
fn random_syms(rng: &mut TestRng) -> Syms {
    let mut s = crate::num::NO_SYMS;
    if pick(rng, 0, 3) != 0 {
        let lo = pick(rng, 0, 20);
        s.ranges[1] = Some((lo, lo + pick(rng, 0, 40)));
    }
    if pick(rng, 0, 4) == 0 {
        s.bounds[1] = pick(rng, 0, 30);
    }
    s
}

/// Red team of the register heads and the symbol facts' flag: a pool of
/// states reused as the validator reuses its states (copied over, joined
/// into, cleared, rewritten) never reads a stale number, never keeps stale
/// facts, compares equal exactly when the values are equal, and joins
/// (with its "changed" answer) exactly as the same states built afresh do.
#[test]
fn reused_states_behave_as_states_built_afresh() {
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let thresholds = [-1i64, 0, 1, 8, 31, 32];
    let mut pool: Vec<State> = (0..4).map(|_| State::empty()).collect();
    let mut scratch = Vec::new();
    let (mut joins, mut unchanged, mut equal) = (0, 0, 0);
    for step in 0..60_000 {
        let (i, j) = (pick(&mut rng, 0, 4) as usize, pick(&mut rng, 0, 4) as usize);
        let shared = random_num(&mut rng);
        match pick(&mut rng, 0, 14) {
            0..=2 => {
                let v = random_val(&mut rng, shared);
                pool[i].set_reg(pick(&mut rng, 0, 16) as usize, v);
            }
            3 => {
                let s = random_syms(&mut rng);
                pool[i].set_syms(&s);
            }
            4 => {
                let lo = pick(&mut rng, 0, 10);
                pool[i].syms_mut()[1] = Some((lo, lo + 5));
            }
            5 => pool[i].clear_syms(),
            6 => pool[i].clear_regs(),
            7 => {
                let src = pool[j].clone();
                pool[i].copy_regs_from(&src);
            }
            8 => {
                let src = pool[j].clone();
                pool[i].clone_from(&src);
                assert!(same_state(&pool[i], &src), "step {step}: clone_from");
            }
            9 => {
                let r = pick(&mut rng, 0, 16) as usize;
                pool[i].copy_reg(r, pick(&mut rng, 1, 4) as u64);
            }
            10 => {
                let v = random_val(&mut rng, shared);
                pool[i].store(-8 * pick(&mut rng, 1, 4), 8, v);
                pool[i].flags = (pick(&mut rng, 0, 4) as u32) << 6;
                pool[i].touched = -8 * pick(&mut rng, 0, 4);
            }
            _ => {
                let other = pool[j].clone();
                // A loop head's entry facts hold every range drawn here.
                let mut widen_syms = crate::num::NO_SYMS;
                widen_syms.ranges[1] = Some((0, 100));
                let widen = (pick(&mut rng, 0, 3) == 0).then_some((&widen_syms, &thresholds[..]));
                let before = rebuilt(&pool[i]);
                let mut fresh = rebuilt(&pool[i]);
                let fresh_changed = fresh.join_from(&rebuilt(&other), &mut scratch, widen);
                let changed = pool[i].join_from(&other, &mut scratch, widen);
                joins += 1;
                unchanged += usize::from(!changed);
                assert!(
                    same_state(&pool[i], &fresh),
                    "step {step}: join of reused states\n{:?}\nvs afresh\n{fresh:?}",
                    pool[i]
                );
                assert_eq!(changed, fresh_changed, "step {step}: join's answer");
                for r in 0..16 {
                    // Equal values join to themselves (unreduced).
                    let want = if before.reg(r) == other.reg(r) {
                        before.reg(r)
                    } else {
                        general_join(&before, &other, r, widen)
                    };
                    assert_eq!(pool[i].reg(r), want, "step {step}: register {r}");
                }
                assert_eq!(
                    changed,
                    !same_state(&before, &pool[i]),
                    "step {step}: join says {changed}: {before:?} -> {:?}",
                    pool[i]
                );
            }
        }
        assert_consistent(&pool[i], &format!("step {step}"));
        for k in 0..4 {
            let (a, b) = (&pool[i], &pool[k]);
            assert_eq!(a == b, same_state(a, b), "step {step}: {a:?} == {b:?}");
            assert!(a == &rebuilt(a), "step {step}: {a:?} vs rebuilt");
            equal += usize::from(k != i && a == b);
        }
    }
    assert!(
        joins > 10_000 && unchanged > 500 && equal > 500,
        "{joins} joins, {unchanged} unchanged, {equal} equal"
    );
}

/// A register [`State::reg_stores_as_data`] picks is stored as
/// [`State::store`] stores its value: plain data over any slots.
#[test]
fn registers_stored_as_data_store_what_their_values_store() {
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut picked = 0;
    for _ in 0..3000 {
        let mut n = random_num(&mut rng);
        if pick(&mut rng, 0, 2) == 0 {
            n.s = crate::scalar::Scalar::unknown();
        }
        if pick(&mut rng, 0, 3) == 0 {
            n.rel.sym = BOUND;
        }
        let v = match pick(&mut rng, 0, 6) {
            0 => Val::Data(pick(&mut rng, 1, 9) as u8),
            1 => Val::Ptr(0, n),
            2 => Val::Stack(-8),
            _ => Val::num(n),
        };
        let mut st = State::empty();
        st.set_reg(3, v);
        for _ in 0..pick(&mut rng, 0, 4) {
            let off = -8 * pick(&mut rng, 1, 6);
            st.store(
                off,
                8,
                [Val::Data(8), Val::Stack(-16), Val::Entry(3)][pick(&mut rng, 0, 3) as usize],
            );
        }
        let off = -4 * pick(&mut rng, 1, 10);
        let mut general = st.clone();
        general.store(off, 8, st.reg(3));
        if st.reg_stores_as_data(3) {
            picked += 1;
            let mut data = st.clone();
            data.store_data(off, 8);
            assert_eq!(data, general, "{v:?} at {off}");
        }
    }
    assert!(picked > 500, "{picked} picked");
}

/// Two paths that each copy `rax` into `rcx` after `mov rax, rdi`; on one
/// of them `rdi` was overwritten first, so `rax` is the only register
/// still holding the name when it is copied:
///
/// ```text
///     mov [rsp-28h..rsp-10h], rdi   ; a 4-entry stack array
///     mov rax, rdi                  ; rax, rdi: one name
///     test rsi, rsi
///     je L
///     xor edi, edi                  ; rax alone holds the name
///     mov rcx, rax                  ; rcx shares it
///     jmp M
/// L:  mov rcx, rax                  ; rcx shares it
/// M:  cmp rax, 3                    ; joined: rax and rcx keep the name
///     ja out
///     mov rax, [rsp + rcx*8 - 28h]  ; rcx <= 3 through rax's name
///     ret
/// out: xor eax, eax
///     ret
/// ```
///
/// An identity no other register holds any more is not dead: a copy of
/// its holder shares it again, and a join keeps it only where both paths
/// name the value alike. Dropping it where `rdi` is overwritten (session
/// 11's first lead) gives the copy a fresh name on that path only, the
/// join then loses the name and the load is rejected. This program must
/// stay accepted; with `mov rcx, rdx` on the first path (no shared name)
/// it is rejected, so the acceptance rests on the name.
#[test]
fn a_name_only_one_register_holds_is_shared_again_by_a_copy() {
    const CODE: [u8; 53] = [
        0x48, 0x89, 0x7c, 0x24, 0xd8, 0x48, 0x89, 0x7c, 0x24, 0xe0, 0x48, 0x89, 0x7c, 0x24, 0xe8,
        0x48, 0x89, 0x7c, 0x24, 0xf0, 0x48, 0x89, 0xf8, 0x48, 0x85, 0xf6, 0x74, 0x07, 0x31, 0xff,
        0x48, 0x89, 0xc1, 0xeb, 0x03, 0x48, 0x89, 0xc1, 0x48, 0x83, 0xf8, 0x03, 0x77, 0x06, 0x48,
        0x8b, 0x44, 0xcc, 0xd8, 0xc3, 0x31, 0xc0, 0xc3,
    ];
    let sig = "int64(int64,int64,int64)".parse().expect("valid signature");
    let policy = crate::Policy::runtime();
    let report = crate::validate(&CODE, &sig, &policy).expect("accepted through rax's name");
    assert_eq!(report.instructions(), 17);
    let mut other = CODE;
    // `mov rcx, rax` -> `mov rcx, rdx` on the first path.
    assert_eq!(other[0x20], 0xc1);
    other[0x20] = 0xd1;
    let err = crate::validate(&other, &sig, &policy).expect_err("rcx is unbounded");
    assert!(
        matches!(err.kind(), crate::ViolationKind::IndexedStackAccess { .. }),
        "{err:?}"
    );
}

#[test]
fn one_compare_of_the_kind_gives_the_defined_bytes_test() {
    // Every kind with every small field a value can carry.
    let n = Num::constant(5);
    let mut vals = vec![Val::Undef, Val::Num(n)];
    for small in 0..=16u8 {
        vals.extend([
            Val::Data(small.min(8)),
            Val::Entry(small),
            Val::Ptr(small, n),
            Val::Param(small, -8),
        ]);
    }
    vals.extend([Val::Stack(-16), Val::Stack(0), Val::Param(0, i64::MIN)]);
    let mut st = State::empty();
    for v in vals {
        st.set_reg(7, v);
        for w in 1..=8 {
            assert_eq!(
                st.reg_has_bytes(7, w),
                st.reg_defined_bytes(7) >= w,
                "{v:?} at {w} bytes"
            );
        }
    }
}
