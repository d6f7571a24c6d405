//! Termination proofs for loops (SPEC §8.4), when the policy asks for them.
//!
//! In: the visited blocks after the fixpoint, their instructions and entry
//! states. Out: `Ok` when every loop is proven to end, else the loop's head
//! and why not. A loop is a head block `h` with back edges `u → h` (`u` not
//! before `h`); its body is every visited block that reaches a back-edge
//! source without passing `h`. It is proven to end when:
//! 1. **An induction register**: some register `r` changes by the same
//!    non-zero constant `c` on every path from the head around the loop
//!    (only `add`/`sub`/`inc`/`dec`/`lea r, [r+k]` of `r` itself write it in
//!    the body, all at one width), and
//! 2. **The exit test is on it**: a conditional jump at the end of the head
//!    or of the single back-edge source, one edge leaving the loop, after a
//!    `cmp r, B` (or `test r, r`, or flags of the step itself) with `B` an
//!    immediate or a register the body never writes; and
//! 3. **The step meets the bound**: the loop continues while `r != B` and
//!    the step is one (it meets every bound, from the far side after
//!    wrapping around: at most `2^bits` steps), or a power of two that
//!    divides `B - r` (known low zero bits) with `r` proven on the bound's
//!    near side (ranges, or relations to one symbol: counts and pointer
//!    walks); or it continues while `r < B` (`<=`, signed or unsigned) with
//!    `c > 0` and no wrap before the bound (`c = 1` and `<`, or the bound's
//!    range leaves room), and the mirror cases for `c < 0`.
//!
//! The number of iterations is then at most `2^64 / |c|`; in practice the
//! distance to the bound over the step.

use iced_x86::{Code, ConditionCode as CC, Instruction, Mnemonic, OpKind, Register};

use crate::interp::{gpr, imm};
use crate::record::Flow;
use crate::refine::negate;
use crate::state::{CMP_IMM, Flagged, State, Val};
use crate::values::comparison;

/// Why a loop is not proven to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminationGap {
    /// No conditional jump at the head or the back edge leaves the loop.
    NoExitTest,
    /// The exit test's flags are not a comparison of a register.
    UnknownTest,
    /// The compared register does not change by one constant per iteration.
    NoInductionStep,
    /// The bound is written inside the loop.
    BoundChanges,
    /// The step moves away from the bound, skips over it, or may wrap.
    StepMissesBound,
    /// The loops are too many or too deeply nested for the proof's budget.
    TooComplex,
}

impl std::fmt::Display for TerminationGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TerminationGap::NoExitTest => {
                "no conditional jump at its head or its back edge leaves it"
            }
            TerminationGap::UnknownTest => "its exit test is not a comparison of a register",
            TerminationGap::NoInductionStep => {
                "the register its exit test compares does not change by one non-zero constant on every iteration"
            }
            TerminationGap::BoundChanges => "the bound its exit test compares with changes inside it",
            TerminationGap::StepMissesBound => {
                "its induction step moves away from the bound, may skip it, or may wrap around"
            }
            TerminationGap::TooComplex => {
                "the loops are too many or too deeply nested for the termination proof's budget"
            }
        })
    }
}

/// What the driver knows about the blocks.
pub(crate) struct Blocks<'a> {
    pub(crate) instrs: &'a [Instruction],
    pub(crate) flows: &'a [Flow],
    /// The target instruction of each jump (`Op::k`).
    pub(crate) targets: &'a [u32],
    /// First instruction of each block.
    pub(crate) start: &'a [u32],
    /// Block of each instruction.
    pub(crate) block_of: &'a [u32],
    pub(crate) visited: &'a dyn Fn(usize) -> bool,
    pub(crate) states: &'a [State],
}

impl Blocks<'_> {
    fn end(&self, b: usize) -> usize {
        self.start
            .get(b + 1)
            .map_or(self.instrs.len(), |&s| s as usize)
    }

    /// Successor blocks of `b` (its last instruction's targets).
    fn succs(&self, b: usize) -> [Option<usize>; 2] {
        let last = self.end(b) - 1;
        let next = (last + 1 < self.instrs.len()).then(|| self.block_of[last + 1] as usize);
        let target = self
            .targets
            .get(last)
            .and_then(|&t| self.block_of.get(t as usize))
            .map(|&b| b as usize);
        match self.flows[last] {
            Flow::Return => [None, None],
            Flow::Jump => [target, None],
            Flow::CondJump => [target, next],
            Flow::Call | Flow::Next => [next, None],
        }
    }
}

/// The control-flow graph of the visited blocks, computed once: successor
/// and predecessor lists, strongly connected components, and the registers
/// each instruction writes.
struct Graph {
    succ: Adjacency,
    pred: Adjacency,
    scc: Vec<usize>,
    /// Bit `r` set if instruction `i` writes general-purpose register `r`
    /// (only filled for instructions in a cycle).
    writes: Vec<u16>,
}

/// Adjacency lists in one array (`list[first[b]..first[b + 1]]`).
struct Adjacency {
    first: Vec<u32>,
    list: Vec<u32>,
}

impl Adjacency {
    fn from_edges(n: usize, edges: &[(u32, u32)]) -> Adjacency {
        let mut first = vec![0u32; n + 1];
        for &(a, _) in edges {
            first[a as usize + 1] += 1;
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut fill = first.clone();
        let mut list = vec![0u32; edges.len()];
        for &(a, b) in edges {
            list[fill[a as usize] as usize] = b;
            fill[a as usize] += 1;
        }
        Adjacency { first, list }
    }

    fn of(&self, b: usize) -> impl Iterator<Item = usize> + '_ {
        self.list[self.first[b] as usize..self.first[b + 1] as usize]
            .iter()
            .map(|&x| x as usize)
    }
}

impl Graph {
    fn new(blocks: &Blocks<'_>) -> Graph {
        let n = blocks.start.len();
        let mut edges = Vec::new();
        for b in (0..n).filter(|&b| (blocks.visited)(b)) {
            for s in blocks.succs(b).into_iter().flatten() {
                if (blocks.visited)(s) {
                    edges.push((b as u32, s as u32));
                }
            }
        }
        let succ = Adjacency::from_edges(n, &edges);
        let reversed: Vec<(u32, u32)> = edges.iter().map(|&(a, b)| (b, a)).collect();
        let pred = Adjacency::from_edges(n, &reversed);
        let scc = components(&succ, &pred, n);
        // Write masks only for instructions in a cycle (loop bodies).
        thread_local! {
            static INFO: std::cell::RefCell<iced_x86::InstructionInfoFactory> =
                std::cell::RefCell::new(iced_x86::InstructionInfoFactory::new());
        }
        let mut writes = vec![0u16; blocks.instrs.len()];
        INFO.with(|info| {
            let mut fresh = None;
            let mut borrowed = info.try_borrow_mut().ok();
            let info = match borrowed.as_deref_mut() {
                Some(i) => i,
                None => fresh.insert(iced_x86::InstructionInfoFactory::new()),
            };
            for b in 0..n {
                if succ.of(b).any(|s| scc[s] == scc[b]) || pred.of(b).any(|p| scc[p] == scc[b]) {
                    let range = blocks.start[b] as usize..blocks.end(b);
                    for (w, ins) in writes[range.clone()].iter_mut().zip(&blocks.instrs[range]) {
                        *w = write_mask(info, ins);
                    }
                }
            }
        });
        Graph {
            succ,
            pred,
            scc,
            writes,
        }
    }
}

/// Strongly connected components (Kosaraju, iterative): `scc[b]`.
fn components(succ: &Adjacency, pred: &Adjacency, n: usize) -> Vec<usize> {
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    for root in 0..n {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        let mut stack = vec![(root, succ.first[root] as usize)];
        while let Some(&mut (b, ref mut i)) = stack.last_mut() {
            if *i < succ.first[b + 1] as usize {
                let s = succ.list[*i] as usize;
                *i += 1;
                if !seen[s] {
                    seen[s] = true;
                    stack.push((s, succ.first[s] as usize));
                }
            } else {
                order.push(b);
                stack.pop();
            }
        }
    }
    let mut scc = vec![usize::MAX; n];
    for (id, &root) in order.iter().rev().enumerate() {
        if scc[root] != usize::MAX {
            continue;
        }
        scc[root] = id;
        let mut stack = vec![root];
        while let Some(b) = stack.pop() {
            for p in pred.of(b) {
                if scc[p] == usize::MAX {
                    scc[p] = id;
                    stack.push(p);
                }
            }
        }
    }
    scc
}

/// Checks every loop; `Err((head instruction, gap))` for the first one not
/// proven to end. Work is bounded by `budget` units (block visits);
/// beyond it the loop is not proven.
pub(crate) fn check(blocks: &Blocks<'_>, budget: u64) -> Result<(), (usize, TerminationGap)> {
    let n = blocks.start.len();
    let g = Graph::new(blocks);
    let mut work = 0u64;
    for h in (0..n).filter(|&h| (blocks.visited)(h)) {
        // Back edges: from a block not before `h` in its component (a jump
        // back to shared exit code is no loop).
        let back: Vec<usize> = g
            .pred
            .of(h)
            .filter(|&u| u >= h && g.scc[u] == g.scc[h])
            .collect();
        if back.is_empty() {
            continue;
        }
        let body = body_of(&g, h, &back);
        work += body.len() as u64 * 8;
        if work > budget {
            return Err((blocks.start[h] as usize, TerminationGap::TooComplex));
        }
        prove(blocks, &g, h, &back, &body).map_err(|gap| (blocks.start[h] as usize, gap))?;
    }
    Ok(())
}

/// The blocks of `h`'s component that reach a back-edge source without
/// passing `h`, and `h`, in block order.
fn body_of(g: &Graph, h: usize, back: &[usize]) -> Vec<usize> {
    let mut seen = std::collections::HashSet::from([h]);
    let mut body = vec![h];
    let mut stack: Vec<usize> = back.to_vec();
    while let Some(b) = stack.pop() {
        if !seen.insert(b) {
            continue;
        }
        body.push(b);
        stack.extend(g.pred.of(b).filter(|&p| g.scc[p] == g.scc[h]));
    }
    body.sort_unstable();
    body
}

fn prove(
    blocks: &Blocks<'_>,
    g: &Graph,
    h: usize,
    back: &[usize],
    body: &[usize],
) -> Result<(), TerminationGap> {
    // Candidate tests: the head's and a single back-edge source's.
    let mut candidates = vec![h];
    if back.len() == 1 && back[0] != h {
        candidates.push(back[0]);
    }
    let mut gap = TerminationGap::NoExitTest;
    for t in candidates {
        match prove_at(blocks, g, h, back, body, t) {
            Ok(()) => return Ok(()),
            Err(e) if gap == TerminationGap::NoExitTest => gap = e,
            Err(_) => {}
        }
    }
    Err(gap)
}

fn in_body(body: &[usize], b: usize) -> bool {
    body.binary_search(&b).is_ok()
}

/// The proof with the exit test at the end of block `t`.
fn prove_at(
    blocks: &Blocks<'_>,
    g: &Graph,
    h: usize,
    back: &[usize],
    body: &[usize],
    t: usize,
) -> Result<(), TerminationGap> {
    let last = blocks.end(t) - 1;
    let jcc = &blocks.instrs[last];
    if blocks.flows[last] != Flow::CondJump || jcc.mnemonic() == Mnemonic::Jmp {
        return Err(TerminationGap::NoExitTest);
    }
    let [Some(taken), Some(fall)] = blocks.succs(t) else {
        return Err(TerminationGap::NoExitTest);
    };
    // The edge that stays in the loop decides the continue condition.
    let continue_taken = match (in_body(body, taken), in_body(body, fall)) {
        (true, false) => true,
        (false, true) => false,
        _ => return Err(TerminationGap::NoExitTest),
    };
    // The flags: the last flag-writing instruction of the block.
    let first = blocks.start[t] as usize;
    let setter = (first..last)
        .rev()
        .find(|&i| blocks.instrs[i].rflags_modified() != 0)
        .ok_or(TerminationGap::UnknownTest)?;
    let cmp = comparison(&blocks.instrs[setter]).ok_or(TerminationGap::UnknownTest)?;
    // Nothing between the setter and the jump may write the operands.
    let operands = 1u16 << (cmp.a & 15)
        | if cmp.b == CMP_IMM {
            0
        } else {
            1 << (cmp.b & 15)
        };
    if (setter + 1..last).any(|i| g.writes[i] & operands != 0) {
        return Err(TerminationGap::UnknownTest);
    }
    let cc = jcc.condition_code();
    let cc = if continue_taken { Some(cc) } else { negate(cc) };
    let cc = cc.ok_or(TerminationGap::UnknownTest)?;
    let width = cmp.width;
    // The induction register is one operand; the bound the other (an
    // immediate, or a register the body never writes). Try both orders.
    let mut gap = TerminationGap::NoInductionStep;
    let orders: Vec<(usize, Bound, CC)> = if cmp.kind == Flagged::Sub && cmp.b != CMP_IMM {
        let (a, b) = (usize::from(cmp.a), usize::from(cmp.b));
        match swap(cc) {
            Some(sw) => vec![(a, Bound::Reg(b), cc), (b, Bound::Reg(a), sw)],
            None => vec![(a, Bound::Reg(b), cc)],
        }
    } else if cmp.kind == Flagged::Sub {
        vec![(usize::from(cmp.a), Bound::Imm(cmp.imm), cc)]
    } else {
        // `test r, r` or the step's own flags: `r` compared with 0.
        vec![(usize::from(cmp.a), Bound::Imm(0), cc)]
    };
    for (r, bound, cc) in orders {
        match induction(blocks, g, h, back, body, t, setter, r, width) {
            Ok((c, at_test)) => {
                if let Bound::Reg(b) = bound
                    && (b == r || body_writes(blocks, g, body, b))
                {
                    gap = TerminationGap::BoundChanges;
                    continue;
                }
                let head = &blocks.states[h];
                if meets(cc, cmp.kind, c, at_test, width, bound, head, r) {
                    return Ok(());
                }
                gap = TerminationGap::StepMissesBound;
            }
            Err(e) => {
                if gap == TerminationGap::NoInductionStep {
                    gap = e;
                }
            }
        }
    }
    Err(gap)
}

/// The per-iteration step of `r` (the same non-zero constant on every back
/// edge) and its change from the head's entry to the test at `setter`.
#[allow(clippy::too_many_arguments)]
fn induction(
    blocks: &Blocks<'_>,
    g: &Graph,
    h: usize,
    back: &[usize],
    body: &[usize],
    t: usize,
    setter: usize,
    r: usize,
    width: u8,
) -> Result<(i64, i64), TerminationGap> {
    let (entry, exit) = deltas(blocks, g, h, body, r, width);
    let pos = |b: usize| body.binary_search(&b).ok();
    let mut step_c = None;
    for &u in back {
        match (pos(u).and_then(|i| exit[i]), step_c) {
            (Some(c), None) if c != 0 => step_c = Some(c),
            (Some(c), Some(s)) if c == s => {}
            _ => return Err(TerminationGap::NoInductionStep),
        }
    }
    let c = step_c.ok_or(TerminationGap::NoInductionStep)?;
    let mut d = pos(t).and_then(|i| entry[i]);
    for i in blocks.start[t] as usize..=setter {
        d = step(&blocks.instrs[i], g.writes[i], r, width, d);
    }
    Ok((c, d.ok_or(TerminationGap::NoInductionStep)?))
}

/// Whether `r` at the test is on the side of the bound its step moves
/// toward (`r <= B` for a step up, `r >= B` for a step down), as integers
/// at the width: then stepping reaches the bound without wrapping around.
/// By ranges, or by relations to one symbol (counts and pointer walks).
fn toward(head: &State, r: usize, bound: Bound, c: i64, at_test: i64, width: u8) -> bool {
    let num = |v: Val| match v {
        Val::Ptr(_, off) => Some(off),
        v => v.as_num(width),
    };
    let Some(rv) = num(head.regs[r]) else {
        return false;
    };
    // Same pointer base needed for a pointer against a pointer.
    if let (Val::Ptr(i, _), Bound::Reg(b)) = (head.regs[r], bound)
        && !matches!(head.regs[b], Val::Ptr(j, _) if j == i)
    {
        return false;
    }
    let bv = match bound {
        Bound::Imm(k) => {
            let k = if width == 4 { i64::from(k as u32) } else { k };
            crate::num::Num::constant(k as u64)
        }
        Bound::Reg(b) => match num(head.regs[b]) {
            Some(n) => n,
            None => return false,
        },
    };
    let (r_lo, r_hi) = (
        i128::from(rv.s.smin()) + i128::from(at_test),
        i128::from(rv.s.smax()) + i128::from(at_test),
    );
    let by_ranges = if c > 0 {
        r_hi <= i128::from(bv.s.smin())
    } else {
        r_lo >= i128::from(bv.s.smax())
    };
    if by_ranges {
        return true;
    }
    // Relations: r - (S << k) in [lo, hi], B exactly (S << k) + d.
    let (rr, br) = (rv.rel, bv.rel);
    if !rr.is_some() || rr.sym != br.sym || rr.shift != br.shift || br.lo != br.hi {
        return false;
    }
    let inf = |v: i64| v == crate::num::NEG_INF || v == crate::num::POS_INF;
    if c > 0 {
        !inf(rr.hi) && i128::from(rr.hi) + i128::from(at_test) <= i128::from(br.lo)
    } else {
        !inf(rr.lo) && i128::from(rr.lo) + i128::from(at_test) >= i128::from(br.lo)
    }
}

/// The condition with its operands swapped.
fn swap(cc: CC) -> Option<CC> {
    Some(match cc {
        CC::e => CC::e,
        CC::ne => CC::ne,
        CC::b => CC::a,
        CC::a => CC::b,
        CC::ae => CC::be,
        CC::be => CC::ae,
        CC::l => CC::g,
        CC::g => CC::l,
        CC::ge => CC::le,
        CC::le => CC::ge,
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum Bound {
    Imm(i64),
    Reg(usize),
}

/// Whether continuing while `cc` holds, stepping `r` by `c` per iteration
/// (`at_test`: its change from the head's entry to the test), must stop.
#[allow(clippy::too_many_arguments)]
fn meets(
    cc: CC,
    kind: Flagged,
    c: i64,
    at_test: i64,
    width: u8,
    bound: Bound,
    head: &State,
    r: usize,
) -> bool {
    // Flags of `test`/logic or an ALU result: only a `!= 0` test.
    if kind != Flagged::Sub && cc != CC::ne {
        return false;
    }
    let a = c.unsigned_abs();
    // The bound's range as the head state knows it (signed and unsigned at
    // the width; a 32-bit signed bound only when it is a non-negative i32).
    let (smin, smax, umin, umax, tz) = match bound {
        Bound::Imm(k) => {
            let s = if width == 4 { i64::from(k as i32) } else { k };
            let u = if width == 4 {
                u64::from(k as u32)
            } else {
                k as u64
            };
            (s, s, u, u, if u == 0 { 64 } else { u.trailing_zeros() })
        }
        // A pointer bound for a pointer walk: only `!=` needs its offset.
        Bound::Reg(b) if cc == CC::ne && matches!(head.regs[b], Val::Ptr(..)) => match head.regs[b]
        {
            Val::Ptr(_, off) => (i64::MIN, i64::MAX, 0, u64::MAX, off.s.trailing_zeros()),
            _ => (i64::MIN, i64::MAX, 0, u64::MAX, 0),
        },
        Bound::Reg(b) => match head.regs[b].as_num(width) {
            Some(n) if width == 8 || n.s.smax() <= i64::from(i32::MAX) => (
                n.s.smin(),
                n.s.smax(),
                n.s.umin(),
                n.s.umax(),
                n.s.trailing_zeros(),
            ),
            Some(n) => (
                i64::MIN,
                i64::MAX,
                n.s.umin(),
                n.s.umax(),
                n.s.trailing_zeros(),
            ),
            None => (i64::MIN, i64::MAX, 0, u64::MAX, 0),
        },
    };
    let (smin_t, smax_t, umax_t) = if width == 4 {
        (
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            u64::from(u32::MAX),
        )
    } else {
        (i64::MIN, i64::MAX, u64::MAX)
    };
    let signed_ok = smin >= smin_t && smax <= smax_t;
    match cc {
        // `r != B`: reached when B - r (at the test) is a multiple of the
        // step's power-of-two part; its odd part is invertible mod 2^bits.
        CC::ne => {
            let k = a.trailing_zeros();
            let r_tz = match head.regs[r] {
                Val::Ptr(_, off) => off.s.trailing_zeros(),
                v => v.as_num(width).map_or(0, |n| n.s.trailing_zeros()),
            };
            let d_tz = if at_test == 0 {
                64
            } else {
                at_test.trailing_zeros()
            };
            // A step of one meets every bound (from the far side after
            // wrapping around, at most 2^bits steps). A larger one must be a
            // power of two that divides the distance, moving toward the
            // bound without wrapping.
            if a == 1 {
                return true;
            }
            let divides = a.is_power_of_two() && r_tz.min(tz).min(d_tz) >= k;
            divides && toward(head, r, bound, c, at_test, width)
        }
        // Signed `<` / `<=` with c > 0 (and mirrors): no wrap before the bound.
        CC::l if c > 0 => signed_ok && smax <= smax_t - (c - 1),
        CC::le if c > 0 => signed_ok && smax <= smax_t - c,
        CC::g if c < 0 => signed_ok && smin >= smin_t + (a as i64 - 1),
        CC::ge if c < 0 => signed_ok && smin >= smin_t + a as i64,
        // Unsigned.
        CC::b if c > 0 => umax <= umax_t - (a - 1),
        CC::be if c > 0 => umax <= umax_t - a,
        CC::a if c < 0 => umin >= a - 1,
        CC::ae if c < 0 => umin >= a,
        _ => false,
    }
}

/// The general-purpose registers an instruction writes, as a bit mask
/// (calls: the caller-saved ones).
fn write_mask(info: &mut iced_x86::InstructionInfoFactory, ins: &Instruction) -> u16 {
    let mut mask = 0u16;
    for u in info.info(ins).used_registers() {
        let w = matches!(
            u.access(),
            iced_x86::OpAccess::Write
                | iced_x86::OpAccess::CondWrite
                | iced_x86::OpAccess::ReadWrite
                | iced_x86::OpAccess::ReadCondWrite
        );
        if w && u.register().is_gpr() {
            mask |= 1 << gpr(u.register());
        }
    }
    if matches!(ins.code(), Code::Call_rel32_64 | Code::Call_rm64) {
        for r in [0, 1, 2, 6, 7, 8, 9, 10, 11] {
            mask |= 1 << r;
        }
    }
    mask
}

fn body_writes(blocks: &Blocks<'_>, g: &Graph, body: &[usize], r: usize) -> bool {
    body.iter()
        .any(|&b| (blocks.start[b] as usize..blocks.end(b)).any(|i| g.writes[i] >> r & 1 != 0))
}

/// The change of `r` since the head's entry, at the start and at the end of
/// each body block (indexed like `body`; `None`: not one constant, or not
/// reached), stepping only `add`/`sub`/`inc`/`dec`/`lea` of `r` itself at
/// `width`; edges back into the head are not followed.
fn deltas(
    blocks: &Blocks<'_>,
    g: &Graph,
    h: usize,
    body: &[usize],
    r: usize,
    width: u8,
) -> (Vec<Option<i64>>, Vec<Option<i64>>) {
    let n = body.len();
    let pos = |b: usize| body.binary_search(&b).ok();
    // `entry[i]`: None = no path yet, Some(None) = unknown, Some(Some(c)).
    let mut entry: Vec<Option<Option<i64>>> = vec![None; n];
    if let Some(i) = pos(h) {
        entry[i] = Some(Some(0));
    }
    let mut exit: Vec<Option<i64>> = vec![None; n];
    for _ in 0..64 {
        let mut changed = false;
        for (i, &b) in body.iter().enumerate() {
            let Some(mut d) = entry[i] else { continue };
            for k in blocks.start[b] as usize..blocks.end(b) {
                d = step(&blocks.instrs[k], g.writes[k], r, width, d);
            }
            exit[i] = d;
            for s in g.succ.of(b) {
                let Some(j) = pos(s).filter(|_| s != h) else {
                    continue;
                };
                let joined = match entry[j] {
                    None => Some(d),
                    Some(old) if old == d => Some(old),
                    Some(_) => Some(None),
                };
                if joined != entry[j] {
                    entry[j] = joined;
                    changed = true;
                }
            }
        }
        if !changed {
            return (entry.into_iter().map(Option::flatten).collect(), exit);
        }
    }
    (vec![None; n], vec![None; n])
}

/// `r`'s change after `ins` (which writes the registers in `writes`),
/// given its change before.
fn step(ins: &Instruction, writes: u16, r: usize, width: u8, d: Option<i64>) -> Option<i64> {
    if writes >> r & 1 == 0 {
        return d;
    }
    let d = d?;
    let dest = ins.op0_kind() == OpKind::Register && gpr(ins.op0_register()) == r;
    let reg_width = if dest {
        ins.op0_register().size() as u8
    } else {
        0
    };
    if !dest || reg_width != width {
        return None;
    }
    let k = match ins.mnemonic() {
        Mnemonic::Inc => 1,
        Mnemonic::Dec => -1,
        Mnemonic::Add => imm(ins, 1)?,
        Mnemonic::Sub => imm(ins, 1)?.checked_neg()?,
        Mnemonic::Lea
            if ins.memory_index() == Register::None
                && ins.memory_base() != Register::RIP
                && ins.memory_base().is_gpr64()
                && gpr(ins.memory_base()) == r =>
        {
            ins.memory_displacement64() as i64
        }
        _ => return None,
    };
    d.checked_add(k).filter(|v| v.unsigned_abs() < 1 << 31)
}
