//! The component rule of the termination proof ([`tested_counter`]): a
//! component of the control-flow graph ends when one register counts
//! through it one value at a time and every value is tested, the
//! interleaved loops compilers make of `argmax`-like scans. Tried when a
//! loop's own proof fails, once per component.

use iced_x86::{ConditionCode as CC, Mnemonic};

use super::{Blocks, Bound, Graph, NO_BLOCK, Walk, flag_test, is_loop_rcx, step, swap};
use crate::record::Flow;
use crate::state::{CMP_IMM, Flagged};

/// The visited blocks of each component, in block order
/// (`list[first[c]..first[c + 1]]` for component id `c`), and whether
/// [`tested_counter`] proved it.
#[derive(Default)]
pub(super) struct Components {
    first: Vec<u32>,
    fill: Vec<u32>,
    list: Vec<usize>,
    pub(super) proven: Vec<bool>,
}

impl Components {
    pub(super) fn of(&self, c: usize) -> &[usize] {
        &self.list[self.first[c] as usize..self.first[c + 1] as usize]
    }

    /// Lists the members of every component (component ids are below the
    /// number of blocks).
    pub(super) fn list_members(&mut self, blocks: &Blocks<'_>, scc: &[u32]) {
        let n = blocks.start.len();
        self.first.clear();
        self.first.resize(n + 1, 0);
        for b in (0..n).filter(|&b| blocks.visited(b)) {
            self.first[scc[b] as usize + 1] += 1;
        }
        for c in 0..n {
            self.first[c + 1] += self.first[c];
        }
        self.fill.clear();
        self.fill.extend_from_slice(&self.first);
        self.list.clear();
        self.list.resize(self.first[n] as usize, 0);
        for b in (0..n).filter(|&b| blocks.visited(b)) {
            let c = scc[b] as usize;
            self.list[self.fill[c] as usize] = b;
            self.fill[c] += 1;
        }
        self.proven.clear();
        self.proven.resize(n, false);
    }
}

/// The component of `h` (every block on a cycle through it) ends if one
/// register `r` counts through it one value at a time and every value is
/// tested: every write of `r` in the component steps it by one, all up or
/// all down, at one width; each step is followed in its block by an exit
/// test of `r` against an immediate or a register the component never
/// writes, which continues only while `r != B` (or `r < B` counting up, `r >
/// B` counting down) and otherwise leaves the component; and every cycle of
/// the component passes a step. Then `r` takes consecutive values, each
/// tested before the next step, so it meets `B` (or passes it without
/// wrapping) within `2^bits` steps, and a path that stayed in the
/// component forever would step forever. This proves the interleaved loops
/// compilers make of `argmax`-like scans, which have no single exit test.
pub(super) fn tested_counter(
    blocks: &Blocks<'_>,
    g: &Graph<'_>,
    h: usize,
    members: &[usize],
    walk: &mut Walk,
) -> bool {
    let comp = g.scc[h];
    let inside = |b: usize| g.scc[b] == comp;
    // The test at the end of block `t`: (setter, r, bound, continue cc).
    let test = |t: usize| -> Option<(usize, usize, Bound, CC, u8)> {
        let last = blocks.end(t) - 1;
        let jcc = &blocks.instrs[last];
        if blocks.ops[last].flow != Flow::CondJump
            || jcc.mnemonic() == Mnemonic::Jmp
            || is_loop_rcx(jcc)
        {
            return None;
        }
        let [taken, fall] = blocks.succs(t);
        if taken == NO_BLOCK || fall == NO_BLOCK {
            return None;
        }
        let (taken, fall) = (taken as usize, fall as usize);
        let continue_taken = match (inside(taken), inside(fall)) {
            (true, false) => true,
            (false, true) => false,
            _ => return None,
        };
        // (Asked again for the test the loop's own proof read: the rule
        // runs only where that proof failed, and reads every member's test.)
        let (setter, cmp, cc) = flag_test(blocks, g, t, continue_taken).ok()?;
        let cc = match (cmp.kind, cc) {
            (Flagged::Sub, _) => cc,
            (Flagged::Logic, CC::l | CC::g | CC::ne) => cc,
            (Flagged::Logic, CC::a) => CC::ne,
            (Flagged::Result, CC::ne) => cc,
            _ => return None,
        };
        let bound = if cmp.kind == Flagged::Sub && cmp.b != CMP_IMM {
            Bound::Reg(usize::from(cmp.b))
        } else if cmp.kind == Flagged::Sub {
            Bound::Imm(cmp.imm)
        } else {
            Bound::Imm(0)
        };
        Some((setter, usize::from(cmp.a), bound, cc, cmp.width))
    };
    // The registers the component writes (one pass, not one per candidate).
    let written = members.iter().fold(0u16, |acc, &m| {
        let at = blocks.start[m] as usize..blocks.end(m);
        g.writes[at].iter().fold(acc, |acc, &w| acc | w)
    });
    // Candidate counters: the registers of the component's exit tests, each
    // tried once per width (so the work stays linear in the component).
    let mut tried = [0u16; 2];
    for &t in members {
        let Some((_, a, bound, cc, width)) = test(t) else {
            continue;
        };
        let second = match bound {
            Bound::Reg(b) if swap(cc).is_some() => Some(b),
            _ => None,
        };
        for r in std::iter::once(a).chain(second) {
            let seen = &mut tried[usize::from(width == 8)];
            if *seen >> r & 1 != 0 {
                continue;
            }
            *seen |= 1 << r;
            if counts_every_value(blocks, g, (members, written), r, width, &test, walk) {
                return true;
            }
        }
    }
    false
}

/// A block test `(setter, a, bound, cc, width)` seen from register `r`: the
/// bound `r` is compared with and the condition with `r` on the left.
fn seen_from((_, a, bound, cc, _): (usize, usize, Bound, CC, u8), r: usize) -> Option<(Bound, CC)> {
    if a == r {
        return Some((bound, cc));
    }
    match bound {
        Bound::Reg(b) if b == r => Some((Bound::Reg(a), swap(cc)?)),
        _ => None,
    }
}

/// The conditions of [`tested_counter`] for counter `r` and bound `bound`.
fn counts_every_value(
    blocks: &Blocks<'_>,
    g: &Graph<'_>,
    (members, written): (&[usize], u16),
    r: usize,
    width: u8,
    test: &dyn Fn(usize) -> Option<(usize, usize, Bound, CC, u8)>,
    walk: &mut Walk,
) -> bool {
    let writes_in = |reg: usize| written >> reg & 1 != 0;
    // A counter the component never steps.
    if !writes_in(r) {
        return false;
    }
    // The bound every step's test uses (the first one seen).
    let mut bound: Option<Bound> = None;
    let mut dir = 0i64;
    let stepping = &mut walk.stepping;
    stepping.clear();
    stepping.resize(members.len(), false);
    for (k, &m) in members.iter().enumerate() {
        for i in blocks.start[m] as usize..blocks.end(m) {
            if !g.writes(i, r) {
                continue;
            }
            let c = match step(blocks.at(i), g.writes[i], r, width, Some(0)) {
                Some(c @ (1 | -1)) if dir == 0 || dir == c => c,
                _ => return false,
            };
            dir = c;
            stepping[k] = true;
            // The block's own exit test follows the step and tests `r`
            // against a bound the component never writes.
            let Some(found) = test(m) else {
                return false;
            };
            let (setter, tw) = (found.0, found.4);
            let Some((tb, cc)) = seen_from(found, r) else {
                return false;
            };
            if let Bound::Reg(b) = tb
                && (b == r || writes_in(b))
            {
                return false;
            }
            let same_bound = match (tb, *bound.get_or_insert(tb)) {
                (Bound::Imm(x), Bound::Imm(y)) => x == y,
                (Bound::Reg(x), Bound::Reg(y)) => x == y,
                _ => false,
            };
            let continues_short = match cc {
                CC::ne => true,
                CC::l | CC::b => c == 1,
                CC::g | CC::a => c == -1,
                _ => false,
            };
            let later_writes = (i + 1..setter).any(|j| g.writes(j, r));
            if setter <= i || !same_bound || tw != width || !continues_short || later_writes {
                return false;
            }
        }
    }
    if dir == 0 {
        return false;
    }
    // Every cycle passes a step: the component without its stepping blocks
    // has no cycle (depth-first search over the remaining members).
    let index = |b: usize| members.binary_search(&b).ok();
    let color = &mut walk.seen;
    color.clear();
    color.resize(members.len(), 0);
    let stack = &mut walk.dfs;
    for root in 0..members.len() {
        if stepping[root] || color[root] != 0 {
            continue;
        }
        stack.clear();
        stack.push((root, g.succ.cursor(members[root])));
        color[root] = 1;
        while let Some((k, at)) = stack.last_mut() {
            let k = *k;
            match g.succ.advance(at) {
                Some(s) => {
                    let Some(j) = index(s) else { continue };
                    if stepping[j] {
                        continue;
                    }
                    match color[j] {
                        0 => {
                            color[j] = 1;
                            stack.push((j, g.succ.cursor(members[j])));
                        }
                        1 => return false,
                        _ => {}
                    }
                }
                None => {
                    color[k] = 2;
                    stack.pop();
                }
            }
        }
    }
    true
}
