//! The work bound (issue 12): how many instructions one call can execute.
//!
//! In: each loop [`super::check`] proved, its exit test and head state.
//! Out: per loop a bound on the back edges one stay in it takes
//! ([`trips`]), and over all loops the instructions a call executes beyond
//! running each visited block once ([`loop_steps`]); see the parent
//! module's docs for the argument. Everything saturates at `u64::MAX`.

use iced_x86::ConditionCode as CC;

use super::{Blocks, Bound, Scratch};
use crate::state::{Flagged, State};
/// A proven loop's exit test, as [`trips`] reads it: the loop continues
/// while `r cc B` (flags of `kind`), `r` steps by `c` per iteration and by
/// `at_test` from the head to the test, at `width` bytes.
pub(super) struct Test {
    pub(super) cc: CC,
    pub(super) kind: Flagged,
    pub(super) c: i64,
    pub(super) at_test: i64,
    pub(super) width: u8,
    pub(super) bound: Bound,
}

/// An interval of integers `[lo, hi]` inside the domain `[dlo, dhi]` of
/// one reading of a `bits`-wide value (signed or unsigned).
#[derive(Clone, Copy)]
struct View {
    lo: i128,
    hi: i128,
    dlo: i128,
    dhi: i128,
}

impl View {
    fn full(dlo: i128, dhi: i128) -> View {
        View {
            lo: dlo,
            hi: dhi,
            dlo,
            dhi,
        }
    }

    /// The signed and the unsigned reading of `n` (a number as
    /// [`crate::state::Val::as_num`] gives it at the width: below 64 bits zero-extended).
    fn of(n: &crate::num::Num, bits: u32) -> [View; 2] {
        let (lo, hi) = (i128::from(n.s.smin()), i128::from(n.s.smax()));
        if bits >= 64 {
            return [
                View {
                    lo,
                    hi,
                    ..View::full(i128::from(i64::MIN), i128::from(i64::MAX))
                },
                View {
                    lo: i128::from(n.s.umin()),
                    hi: i128::from(n.s.umax()),
                    ..View::full(0, i128::from(u64::MAX))
                },
            ];
        }
        let size = 1i128 << bits;
        let half = size >> 1;
        let unsigned = View::full(0, size - 1);
        let signed = View::full(-half, half - 1);
        if lo < 0 || hi >= size {
            return [signed, unsigned];
        }
        let signed = if hi < half {
            View { lo, hi, ..signed }
        } else if lo >= half {
            View {
                lo: lo - size,
                hi: hi - size,
                ..signed
            }
        } else {
            signed
        };
        [signed, View { lo, hi, ..unsigned }]
    }

    /// The constant `k` (an immediate, sign-extended to 64 bits) at `bits`.
    fn constant(k: i64, bits: u32) -> [View; 2] {
        let (s, u) = if bits >= 64 {
            (i128::from(k), i128::from(k as u64))
        } else {
            let u = i128::from(k as u64) & ((1i128 << bits) - 1);
            let half = 1i128 << (bits - 1);
            (if u >= half { u - (1i128 << bits) } else { u }, u)
        };
        let [sv, uv] = View::of(&crate::num::Num::constant(0), bits);
        [View { lo: s, hi: s, ..sv }, View { lo: u, hi: u, ..uv }]
    }

    /// Every value moved by `d` (the domain unchanged; everything if the
    /// move may leave it).
    fn shifted(self, d: i64) -> View {
        let (lo, hi) = (self.lo + i128::from(d), self.hi + i128::from(d));
        if lo < self.dlo || hi > self.dhi {
            View::full(self.dlo, self.dhi)
        } else {
            View { lo, hi, ..self }
        }
    }

    /// How many terms of a progression with step `a`, whose consecutive
    /// terms differ by `a` modulo `2^bits`, lie in the interval: if the
    /// interval is shorter than `2^bits - a`, consecutive terms inside it
    /// differ by exactly `a` as integers, so at most `(hi - lo) / a + 1`.
    fn terms(self, a: u64, bits: u32) -> Option<u64> {
        if self.lo > self.hi {
            return Some(0);
        }
        // Inside a `bits`-wide domain, so below 2^64.
        let span = (self.hi - self.lo) as u64;
        let short = if bits >= 64 {
            span.checked_add(a).is_some()
        } else {
            span + a < 1 << bits
        };
        short.then(|| span / a + 1)
    }
}

/// A bound on the back edges one stay in a proven loop takes (a stay: the
/// loop's body entered from outside it, until it is left). The head values
/// of `r` in a stay form a progression `v + k·c` modulo `2^bits`, all in the
/// head state's range of `r`; the tests that continue the loop see them
/// moved by `at_test`, and also satisfy the continue condition against the
/// bound's range. If one of these intervals (signed or unsigned reading)
/// is shorter than `2^bits - |c|`, the continuing values are an exact
/// integer progression in it. Otherwise the head values of a stay are still
/// distinct (a repeated one would repeat every test forever, which the
/// termination proof excludes), and the progression has `2^(bits - tz(c))`
/// of them. Plus one back edge: a stay entered at the back-edge source
/// tests once before its first head visit. Saturating.
#[inline]
pub(super) fn trips(t: &Test, head: &State, r: usize) -> u64 {
    // Neither a number nor a pointer (plain data: code checked without
    // the value domain): only the fallback, inline.
    if head.reg_num(r).is_none() && head.reg_ptr(r).is_none() {
        let bits = (u32::from(t.width) * 8).clamp(8, 64);
        let a = t.c.unsigned_abs();
        return 1u64
            .checked_shl(bits - a.trailing_zeros().min(bits))
            .unwrap_or(u64::MAX)
            .saturating_add(1);
    }
    trips_of_values(t, head, r)
}

/// [`trips`] of a number or a pointer.
#[inline(never)]
fn trips_of_values(t: &Test, head: &State, r: usize) -> u64 {
    // An equality test (or flags of no comparison) of a 64-bit number:
    // the head values alone, both readings counted in `u64`.
    if t.width >= 8
        && ordered(t).is_none()
        && let Some(n) = head.reg_num(r)
    {
        let a = t.c.unsigned_abs();
        let fallback = 1u64
            .checked_shl(64 - a.trailing_zeros().min(64))
            .unwrap_or(u64::MAX);
        let terms = |lo: u64, hi: u64, empty: bool| {
            let span = hi.wrapping_sub(lo);
            match span.checked_add(a) {
                _ if empty => 0,
                Some(_) => span / a + 1,
                None => fallback,
            }
        };
        let (smin, smax) = (n.s.smin(), n.s.smax());
        let (umin, umax) = (n.s.umin(), n.s.umax());
        let best = terms(smin as u64, smax as u64, smin > smax).min(terms(umin, umax, umin > umax));
        return best.saturating_add(1);
    }
    trips_by_views(t, head, r)
}

/// The reading an order test narrows (0 signed, 1 unsigned), if any.
fn ordered(t: &Test) -> Option<usize> {
    match t.cc {
        _ if t.kind != Flagged::Sub => None,
        CC::l | CC::le | CC::g | CC::ge => Some(0),
        CC::b | CC::be | CC::a | CC::ae => Some(1),
        _ => None,
    }
}

/// [`trips`] by the signed and unsigned views of the values (the general
/// rule; [`trips`] answers plain data and 64-bit equality tests of numbers
/// itself, with the same result: `trips_tests.rs`).
fn trips_by_views(t: &Test, head: &State, r: usize) -> u64 {
    let bits = (u32::from(t.width) * 8).clamp(8, 64);
    let a = t.c.unsigned_abs();
    // 2^(bits - tz(c)) distinct values, saturating.
    let fallback = 1u64
        .checked_shl(bits - a.trailing_zeros().min(bits))
        .unwrap_or(u64::MAX);
    let terms = |v: View| v.terms(a, bits).unwrap_or(fallback);
    // The register's number is read in place (what
    // [`crate::state::Val::as_num`] gives, without building the value).
    let views_of = |n: &crate::num::Num| {
        if t.width >= 8 {
            View::of(n, bits)
        } else {
            View::of(&n.at_width(t.width), bits)
        }
    };
    let best = match head.reg_num(r) {
        // A pointer's offsets (its base is fixed): the head values alone.
        // Plain data is nothing known beyond its width (code checked
        // without the value domain), and neither a narrow pointer nor any
        // other value is a number: only the fallback.
        None => match head.reg_ptr(r) {
            Some((_, off)) if bits == 64 => terms(View::of(off, 64)[0]),
            _ => fallback,
        },
        Some(n) => {
            let views = views_of(n);
            let ordered = ordered(t);
            // Every continuing test sees a head value: counting the head
            // values in a reading bounds them too.
            let mut best = terms(views[0]).min(terms(views[1]));
            let bound = match (ordered, t.bound) {
                (None, _) => None,
                (Some(i), Bound::Imm(k)) => Some((i, View::constant(k, bits)[i])),
                (Some(i), Bound::Reg(b)) => head
                    .reg(b)
                    .as_num(t.width)
                    .map(|n| (i, View::of(&n, bits)[i])),
            };
            if let Some((i, b)) = bound {
                let mut pass = views[i].shifted(t.at_test);
                match t.cc {
                    CC::l | CC::b => pass.hi = pass.hi.min(b.hi - 1),
                    CC::le | CC::be => pass.hi = pass.hi.min(b.hi),
                    CC::g | CC::a => pass.lo = pass.lo.max(b.lo + 1),
                    _ => pass.lo = pass.lo.max(b.lo),
                }
                best = best.min(terms(pass));
            }
            best
        }
    };
    best.saturating_add(1)
}

/// [`trips`] for two registers closing in (`r` and `b`, each with its
/// step): both have as many head values per stay as there are iterations,
/// so the smaller count of either's head range bounds them.
pub(super) fn trips_closing_in(
    head: &State,
    width: u8,
    (r, c): (usize, i64),
    (b, cb): (usize, i64),
) -> u64 {
    // `!=` narrows nothing: each register's head range alone.
    let alone = |c| Test {
        cc: CC::ne,
        kind: Flagged::Sub,
        c,
        at_test: 0,
        width,
        bound: Bound::Imm(0),
    };
    trips(&alone(c), head, r).min(trips(&alone(cb), head, b))
}

/// The proven loops of the last [`super::check`] and the working memory of
/// [`loop_steps`].
#[derive(Default)]
pub(crate) struct WorkScratch {
    /// Per loop: its body's blocks at `bodies[first..end]`, its bound on
    /// back edges per stay ([`trips`]) and its body's instruction count, in
    /// the order [`super::check`] proved them.
    loops: Vec<(u32, u32, u64, u64)>,
    bodies: Vec<u32>,
    /// Back edges each loop takes in one call, once known.
    back_edges: Vec<Option<u64>>,
    /// Per block: the back edges of the loops holding it counted so far,
    /// how many of those loops are still unknown, and a mark (`2s`: inside
    /// the body of attempt `s`, `2s + 1`: an entry to it already counted).
    /// Kept between calls: only body blocks' counts are reset, and attempts
    /// keep counting up, so old marks never match.
    blocks: Vec<(u64, u32, u32)>,
    stamp: u32,
    /// Some loop has no trip bound ([`trips`] saturated): then neither has
    /// the call, and nothing more is recorded.
    unbounded: bool,
}

impl WorkScratch {
    pub(super) fn clear(&mut self) {
        self.loops.clear();
        self.bodies.clear();
        self.unbounded = false;
    }

    pub(super) fn push(&mut self, blocks: &Blocks<'_>, body: &[usize], trips: u64) {
        // A reachable loop is entered at least once, so its back edges and
        // the call's total saturate with it.
        self.unbounded |= trips == u64::MAX;
        if self.unbounded {
            return;
        }
        let first = self.bodies.len() as u32;
        self.bodies.extend(body.iter().map(|&b| b as u32));
        let len = body
            .iter()
            .map(|&b| (blocks.end(b) - blocks.start[b] as usize) as u64)
            .sum();
        self.loops
            .push((first, self.bodies.len() as u32, trips, len));
    }

    /// A fresh attempt number (marks of `2s` and `2s + 1`).
    fn next_stamp(&mut self) -> u32 {
        if self.stamp >= u32::MAX / 2 - 1 {
            self.stamp = 0;
            for b in &mut self.blocks {
                b.2 = 0;
            }
        }
        self.stamp += 1;
        self.stamp
    }
}

/// Rounds of [`loop_steps`] over loops whose entries wait on other loops.
const WORK_ROUNDS: usize = 4;

/// After [`super::check`] proved every loop (with the same `blocks` and
/// `scratch`): how many instructions one call can execute beyond running
/// each visited block once, so the reachable instruction count plus this
/// bounds a call (the sum over visited blocks of their length times how
/// often they can run). A block runs once, plus once per back edge taken
/// of a loop holding it (between two runs of `b` the path is a cycle
/// through `b`; its lowest block is a loop head with the whole cycle in its
/// body, and the cycle's edge into it is one of that loop's back edges), so
/// the excess is the sum over loops of their back edges times their body's
/// length. A loop's back edges in one call are at most its stays (the
/// function's entry inside its body, plus the runs of each block outside it
/// with an edge into it) times its [`trips`]. Loops whose entries wait on a
/// loop not yet counted are taken again, a few rounds at most; `None` if
/// one is still unknown then. Saturating; costs about as much as listing
/// the loops' bodies and their entries.
pub(super) fn loop_steps(blocks: &Blocks<'_>, scratch: &mut Scratch) -> Option<u64> {
    let n = blocks.start.len();
    let Scratch {
        succ,
        pred,
        succ_bits,
        pred_bits,
        work: w,
        ..
    } = scratch;
    if w.unbounded {
        return None;
    }
    // The graph `check` built (bit masks for small ones).
    let (_, pred) = super::links(n, (succ, pred), (succ_bits, pred_bits));
    // One loop (the common case): every block outside it runs at most once,
    // so its stays are at most the edges into it (plus the entry).
    if let [(first, end, trips, len)] = w.loops[..] {
        let body = &w.bodies[first as usize..end as usize];
        let inside = |b: usize| body.binary_search(&(b as u32)).is_ok();
        let mut stays = u64::from(inside(0));
        for &y in body {
            stays += pred.of(y as usize).filter(|&x| !inside(x)).count() as u64;
        }
        return Some(stays.saturating_mul(trips).saturating_mul(len));
    }
    if w.blocks.len() < n {
        w.blocks.resize(n, (0, 0, 0));
    }
    for &b in &w.bodies {
        w.blocks[b as usize].1 += 1;
    }
    w.back_edges.clear();
    w.back_edges.resize(w.loops.len(), None);
    let mut excess = Some(0u64);
    for round in 0..WORK_ROUNDS {
        let mut waiting = false;
        for l in 0..w.loops.len() {
            if w.back_edges[l].is_some() {
                continue;
            }
            let stamp = w.next_stamp();
            let (inside, counted) = (2 * stamp, 2 * stamp + 1);
            let (first, end, trips, len) = w.loops[l];
            let body = &w.bodies[first as usize..end as usize];
            for &b in body {
                w.blocks[b as usize].2 = inside;
            }
            let mut stays = u64::from(w.blocks[0].2 == inside);
            let mut known = true;
            'entries: for &y in body {
                for x in pred.of(y as usize) {
                    let (runs, unknown, mark) = &mut w.blocks[x];
                    if *mark == inside || *mark == counted {
                        continue;
                    }
                    *mark = counted;
                    if *unknown > 0 {
                        known = false;
                        break 'entries;
                    }
                    stays = stays.saturating_add(runs.saturating_add(1));
                }
            }
            if !known {
                waiting = true;
                continue;
            }
            let back = stays.saturating_mul(trips);
            w.back_edges[l] = Some(back);
            excess = excess.map(|e| e.saturating_add(back.saturating_mul(len)));
            for &b in body {
                let (runs, unknown, _) = &mut w.blocks[b as usize];
                *runs = runs.saturating_add(back);
                *unknown -= 1;
            }
        }
        if !waiting {
            break;
        }
        if round + 1 == WORK_ROUNDS {
            excess = None;
        }
    }
    for &b in &w.bodies {
        w.blocks[b as usize] = (0, 0, w.blocks[b as usize].2);
    }
    excess
}

#[cfg(test)]
mod trips_tests;
