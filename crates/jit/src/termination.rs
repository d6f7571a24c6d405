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
//! 2. **The exit test is on it**: a conditional jump at the end of the head,
//!    of the single back-edge source, or of any body block every iteration
//!    passes (removing it cuts the head from every back-edge source; each
//!    try walks the body, so only the body's first 16 conditional blocks
//!    are tried: a loop with thousands of exits stays linear), one
//!    edge leaving the loop, after a `cmp r, B` (or `test r, r` and logic
//!    results, which compare `r` with 0, or flags of the step itself) with
//!    `B` an immediate or a register the body never writes; or the jump is
//!    `loop`/`loope`/`loopne`, which decrements `rcx` and continues only
//!    while it is not zero; and
//! 3. **The step meets the bound**: the loop continues while `r != B` and
//!    the step is one (it meets every bound, from the far side after
//!    wrapping around: at most `2^bits` steps), or a power of two that
//!    divides `B - r` (known low zero bits) with `r` proven on the bound's
//!    near side (ranges, or relations to one symbol: counts and pointer
//!    walks); or it continues while `r < B` (`<=`, signed or unsigned) with
//!    `c > 0` and no wrap before the bound (`c = 1` and `<`, or the bound's
//!    range leaves room), and the mirror cases for `c < 0`.
//!
//! Three more shapes end without a fixed bound:
//! - **Two registers closing in**: `B` is itself an induction register, and
//!   the loop continues while `r < B` (strict, signed or unsigned) with `r`
//!   going up by one and `B` down by one per iteration (or the mirror):
//!   `B - r >= 1` shrinks by two, and neither step can wrap while `r < B`.
//! - **Pointer walks with an order test** (`while (p < end)`, `jb`/`jbe`, or
//!   down with `ja`/`jae`): `r` and `B` point into the same buffer, the
//!   buffer is non-empty on entry and `B` lies in it or one past its end.
//!   Non-empty buffers are real memory, so their addresses are below 2^56
//!   (x86-64 user space) and at least 4096 (the first page is never
//!   mapped); a walk up by at most 2^32 or down by at most 4096 per step
//!   therefore cannot wrap around before it passes `B`. (For an empty
//!   buffer the pointer may be anything, and a walk near 2^64 could wrap
//!   past an end forever; such loops are not proven.)
//! - **A counter tested at every value** (`tested_counter`, the interleaved
//!   loops compilers make of `argmax`-like scans, with no single exit
//!   test): in the component of the head, every write of `r` steps it by one
//!   (all up or all down, one width), each step is followed in its block by
//!   an exit test of `r` against one invariant bound (`!=`, or `<` counting
//!   up, `>` counting down), and every cycle of the component passes a step.
//!   The rule depends on the component only, so it is proven once per
//!   component, not once per head.
//!
//! An exit test is a `jcc` after the comparison (besides `loop` in `rcx`
//! above): `loope`/`loopne` counting in `ecx` and `jecxz`/`jrcxz` also leave
//! or stay by `ecx`, whatever the flags say, so they are no flag test.
//!
//! The number of iterations is then at most `2^64 / |c|`; in practice the
//! distance to the bound over the step.
//!
//! **The work bound** ([`crate::Report::max_steps`], issue 12): each proven
//! loop also gets a bound on the back edges one *stay* in it takes (entered
//! from outside its body until it leaves; [`trips`]). The head values of
//! the induction register in a stay step by `c` modulo `2^bits` and lie in
//! the head state's range; the values the test continues with are those
//! moved by the change to the test and, for an order test, on the near side
//! of the bound's range. In an interval shorter than `2^bits - |c|` such a
//! progression is an exact integer one, so it has at most `span / |c| + 1`
//! terms; otherwise the head values are still distinct (a repeated one would
//! repeat every test forever), at most `2^(bits - tz(c))`. Plus one for a
//! stay entered past the head. [`loop_steps`] then bounds a call: a block
//! runs once plus once per back edge of each loop holding it, a loop's back
//! edges are its stays times its trips, and its stays are the runs of the
//! blocks with an edge into it (outer loops first). Without the value
//! domain, or with unknown arguments, ranges are wide and bounds near
//! `2^bits`; with exact arguments (the oracle's `Policy::assumed_args`) they
//! are close to the real count. A loop whose head is also entered from a
//! body block below it (no back edge: that block reaches a back-edge source
//! without passing the head) gets no trip bound, and the call none: such an
//! entry restarts the head values within one stay.

use iced_x86::{Code, ConditionCode as CC, Instruction, Mnemonic, OpKind, Register};

use crate::fast::{Form, Op};
use crate::interp::{Ctx, gpr, imm, is_direct_jump};
use crate::record::Flow;
use crate::refine::negate;
use crate::state::{CMP_IMM, Flagged, State, Val};
use crate::values::comparison;

mod work;
pub(crate) use work::loop_steps;
use work::{Test, WorkScratch, trips, trips_closing_in};

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
    /// The lowered instructions: their flow, a jump's target (`Op::k`), and
    /// the registers a fast form writes.
    pub(crate) ops: &'a [Op],
    /// First instruction of each block.
    pub(crate) start: &'a [u32],
    /// Block of each instruction.
    pub(crate) block_of: &'a [u32],
    /// Per block: bit [`crate::validate::VISITED`] set if the fixpoint reached it.
    pub(crate) mark: &'a [u8],
    pub(crate) states: &'a [State],
    /// The signature's buffers (pointer walks to an end pointer).
    pub(crate) ctx: &'a Ctx<'a>,
}

impl Blocks<'_> {
    fn visited(&self, b: usize) -> bool {
        self.mark[b] & crate::validate::VISITED != 0
    }

    fn end(&self, b: usize) -> usize {
        self.start
            .get(b + 1)
            .map_or(self.instrs.len(), |&s| s as usize)
    }

    /// Successor blocks of `b` (its last instruction's targets), or
    /// [`NO_BLOCK`].
    #[inline]
    fn succs(&self, b: usize) -> [u32; 2] {
        let last = self.end(b) - 1;
        let next = if last + 1 < self.instrs.len() {
            self.block_of[last + 1]
        } else {
            NO_BLOCK
        };
        let op = &self.ops[last];
        let target = || {
            usize::try_from(op.k)
                .ok()
                .and_then(|t| self.block_of.get(t))
                .copied()
                .unwrap_or(NO_BLOCK)
        };
        match op.flow {
            Flow::Return => [NO_BLOCK; 2],
            Flow::Jump => [target(), NO_BLOCK],
            Flow::CondJump => [target(), next],
            Flow::Call | Flow::Next => [next, NO_BLOCK],
        }
    }
}

/// The proof's working memory, kept by the [`crate::Validator`] between
/// calls so that a proof allocates only when a function is larger than any
/// before it: the control-flow graph of the visited blocks (successor and
/// predecessor lists, strongly connected components), the registers each
/// instruction in a cycle writes, and one loop's body and induction deltas.
#[derive(Default)]
pub(crate) struct Scratch {
    edges: Vec<(u32, u32)>,
    /// Targets of edges to a block not after their source (candidate loop
    /// heads), sorted.
    heads: Vec<u32>,
    succ: Adjacency,
    pred: Adjacency,
    /// A graph of at most 64 blocks as bit masks: successors, predecessors
    /// and the blocks each reaches in one or more steps.
    succ_bits: Vec<u64>,
    pred_bits: Vec<u64>,
    reach: Vec<u64>,
    scc: Vec<u32>,
    /// `identity[b] == b`: the components when every cycle is a block
    /// jumping to itself (grown, never cleared).
    identity: Vec<u32>,
    order: Vec<u32>,
    dfs: Vec<(u32, u32)>,
    stack: Vec<u32>,
    /// Whether an edge goes to an earlier block (else the only cycles are
    /// blocks jumping to themselves).
    backward: bool,
    /// Bit `r` set if instruction `i` writes general-purpose register `r`
    /// (only filled for instructions in a cycle).
    writes: Vec<u16>,
    back: Vec<usize>,
    body: Vec<usize>,
    /// `pos[b]`: `b`'s index in `body` plus one, or 0 (reset after each loop).
    pos: Vec<u32>,
    entry: Vec<Option<Option<i64>>>,
    exit: Vec<Option<i64>>,
    info: Option<iced_x86::InstructionInfoFactory>,
    /// The members of each component, for [`tested_counter`].
    comps: Components,
    /// Marks and stacks of the searches inside one loop or component.
    walk: Walk,
    /// The proven loops' trip bounds, for [`loop_steps`].
    work: WorkScratch,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

/// Zeroes the first `n` entries of `v`, growing it if needed (entries past
/// `n` are left as they are: nothing reads them).
fn zeroed<T: Copy + Default>(v: &mut Vec<T>, n: usize) {
    if v.len() < n {
        v.resize(n, T::default());
    }
    v[..n].fill(T::default());
}

/// Successor and predecessor links of the graph [`Scratch::build`] made
/// (bit masks for at most 64 blocks).
fn links<'a>(
    n: usize,
    lists: (&'a Adjacency, &'a Adjacency),
    bits: (&'a [u64], &'a [u64]),
) -> (Links<'a>, Links<'a>) {
    if n <= 64 {
        (Links::Bits(bits.0), Links::Bits(bits.1))
    } else {
        (Links::Lists(lists.0), Links::Lists(lists.1))
    }
}

/// The graph part of [`Scratch`], borrowed apart from the per-loop buffers.
struct Graph<'s> {
    succ: Links<'s>,
    pred: Links<'s>,
    scc: &'s [u32],
    writes: &'s [u16],
    /// The last [`flag_test`] [`prove_at`] read: block, continue edge,
    /// answer (the component rule asks again for it).
    last_test: std::cell::Cell<Option<(usize, bool, FlagTest)>>,
}

/// What [`flag_test`] answers.
type FlagTest = Result<(usize, crate::state::Cmp, CC), TerminationGap>;

impl Graph<'_> {

    /// Whether instruction `i` (in a cycle) writes register `r`.
    fn writes(&self, i: usize, r: usize) -> bool {
        self.writes[i] >> r & 1 != 0
    }
}

/// No block (in [`Blocks::succs`]).
const NO_BLOCK: u32 = u32::MAX;

/// Successors or predecessors: lists, or bit masks for small graphs.
#[derive(Clone, Copy)]
enum Links<'s> {
    Lists(&'s Adjacency),
    Bits(&'s [u64]),
}

impl<'s> Links<'s> {
    fn of(self, b: usize) -> LinkIter<'s> {
        match self {
            Links::Lists(a) => {
                LinkIter::List(a.list[a.first[b] as usize..a.first[b + 1] as usize].iter())
            }
            Links::Bits(m) => LinkIter::Bits(m[b]),
        }
    }
}

/// Where a walk over one block's links is (a [`LinkIter`] without the
/// borrow, for stacks kept between calls).
#[derive(Clone, Copy)]
enum Cursor {
    List(u32, u32),
    Bits(u64),
}

impl Links<'_> {
    fn cursor(self, b: usize) -> Cursor {
        match self {
            Links::Lists(a) => Cursor::List(a.first[b], a.first[b + 1]),
            Links::Bits(m) => Cursor::Bits(m[b]),
        }
    }

    /// The next block of a [`Links::cursor`], in increasing order.
    fn advance(self, at: &mut Cursor) -> Option<usize> {
        match (self, at) {
            (Links::Lists(a), Cursor::List(i, end)) => {
                if *i == *end {
                    return None;
                }
                *i += 1;
                Some(a.list[*i as usize - 1] as usize)
            }
            (_, Cursor::Bits(m)) => {
                if *m == 0 {
                    return None;
                }
                let b = m.trailing_zeros() as usize;
                *m &= *m - 1;
                Some(b)
            }
            (Links::Bits(_), Cursor::List(..)) => None,
        }
    }
}

/// The blocks of one [`Links::of`], in increasing order.
enum LinkIter<'s> {
    List(std::slice::Iter<'s, u32>),
    Bits(u64),
}

impl Iterator for LinkIter<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        match self {
            LinkIter::List(it) => it.next().map(|&x| x as usize),
            LinkIter::Bits(m) => {
                if *m == 0 {
                    return None;
                }
                let b = m.trailing_zeros() as usize;
                *m &= *m - 1;
                Some(b)
            }
        }
    }
}

/// Adjacency lists in one array (`list[first[b]..first[b + 1]]`).
#[derive(Default)]
struct Adjacency {
    first: Vec<u32>,
    list: Vec<u32>,
    fill: Vec<u32>,
}

impl Adjacency {
    /// The lists of `edges` (`(a, b)`, or `(b, a)` with `reverse`).
    fn fill_from(&mut self, n: usize, edges: &[(u32, u32)], reverse: bool) {
        let ends = |&(a, b): &(u32, u32)| if reverse { (b, a) } else { (a, b) };
        self.first.clear();
        self.first.resize(n + 1, 0);
        for e in edges {
            self.first[ends(e).0 as usize + 1] += 1;
        }
        for i in 0..n {
            self.first[i + 1] += self.first[i];
        }
        self.fill.clear();
        self.fill.extend_from_slice(&self.first);
        self.list.clear();
        self.list.resize(edges.len(), 0);
        for e in edges {
            let (a, b) = ends(e);
            self.list[self.fill[a as usize] as usize] = b;
            self.fill[a as usize] += 1;
        }
    }
}

impl Scratch {
    /// Builds the graph of the visited blocks, their components and the
    /// write masks of the instructions in cycles.
    fn build(&mut self, blocks: &Blocks<'_>) {
        let n = blocks.start.len();
        let small = n <= 64;
        self.edges.clear();
        self.heads.clear();
        if small {
            zeroed(&mut self.succ_bits, n);
            zeroed(&mut self.pred_bits, n);
        }
        let mut backward = false;
        for b in 0..n {
            if !blocks.visited(b) {
                continue;
            }
            for s in blocks.succs(b) {
                if s == NO_BLOCK || !blocks.visited(s as usize) {
                    continue;
                }
                if small {
                    self.succ_bits[b] |= 1 << s;
                    self.pred_bits[s as usize] |= 1 << b;
                } else {
                    self.edges.push((b as u32, s));
                }
                if s as usize <= b {
                    self.heads.push(s);
                    backward |= (s as usize) < b;
                }
            }
        }
        self.heads.sort_unstable();
        self.heads.dedup();
        self.backward = backward;
        if !small {
            self.succ.fill_from(n, &self.edges, false);
            self.pred.fill_from(n, &self.edges, true);
        }
        if !backward {
            // Every other edge goes forward: the only cycles are blocks
            // jumping to themselves, and every component is one block.
            if self.identity.len() < n {
                self.identity.extend(self.identity.len() as u32..n as u32);
            }
        } else if small {
            self.components_small(n);
        } else {
            self.components(n);
        }
        zeroed(&mut self.writes, blocks.instrs.len());
        let (succ, _) = links(
            n,
            (&self.succ, &self.pred),
            (&self.succ_bits, &self.pred_bits),
        );
        let scc = &self.scc;
        let mut fill = |b: usize| {
            let at = blocks.start[b] as usize..blocks.end(b);
            let (ops, instrs) = (&blocks.ops[at.clone()], &blocks.instrs[at.clone()]);
            for ((w, op), ins) in self.writes[at].iter_mut().zip(ops).zip(instrs) {
                *w = match fast_writes(op).or_else(|| plain_writes(ins)) {
                    Some(mask) => mask,
                    None => write_mask(
                        self.info
                            .get_or_insert_with(iced_x86::InstructionInfoFactory::new),
                        ins,
                    ),
                };
            }
        };
        if backward {
            // A block is in a cycle when a successor shares its component
            // (in a component of two or more blocks every block has one).
            for b in (0..n).filter(|&b| succ.of(b).any(|s| scc[s] == scc[b])) {
                fill(b);
            }
        } else {
            // The only cycles are the heads jumping to themselves.
            for &h in &self.heads {
                fill(h as usize);
            }
        }
    }

    /// Strongly connected components of a graph of at most 64 blocks, from
    /// its reachability masks: `x` and `b` share a component when each
    /// reaches the other; a component is named by its least block.
    fn components_small(&mut self, n: usize) {
        self.reach.clear();
        self.reach.extend_from_slice(&self.succ_bits[..n]);
        // Transitive closure; blocks are mostly in order, so backward
        // sweeps settle in a few rounds (at most `n`).
        let mut changed = true;
        while changed {
            changed = false;
            for b in (0..n).rev() {
                let mut r = self.reach[b];
                let mut m = self.reach[b];
                while m != 0 {
                    let s = m.trailing_zeros() as usize;
                    m &= m - 1;
                    r |= self.reach[s];
                }
                if r != self.reach[b] {
                    self.reach[b] = r;
                    changed = true;
                }
            }
        }
        self.scc.clear();
        for b in 0..n {
            let mut mates = 1u64 << b;
            let mut m = self.reach[b];
            while m != 0 {
                let x = m.trailing_zeros() as usize;
                m &= m - 1;
                if self.reach[x] >> b & 1 != 0 {
                    mates |= 1 << x;
                }
            }
            self.scc.push(mates.trailing_zeros());
        }
    }

    /// Strongly connected components (Kosaraju, iterative) into `scc`.
    fn components(&mut self, n: usize) {
        let (succ, pred) = (&self.succ, &self.pred);
        // `scc` first marks the blocks the forward pass has seen.
        const UNSEEN: u32 = u32::MAX;
        const SEEN: u32 = u32::MAX - 1;
        self.scc.clear();
        self.scc.resize(n, UNSEEN);
        self.order.clear();
        for root in 0..n {
            if self.scc[root] != UNSEEN {
                continue;
            }
            self.scc[root] = SEEN;
            self.dfs.clear();
            self.dfs.push((root as u32, succ.first[root]));
            while let Some(&mut (b, ref mut i)) = self.dfs.last_mut() {
                if *i < succ.first[b as usize + 1] {
                    let s = succ.list[*i as usize];
                    *i += 1;
                    if self.scc[s as usize] == UNSEEN {
                        self.scc[s as usize] = SEEN;
                        self.dfs.push((s, succ.first[s as usize]));
                    }
                } else {
                    self.order.push(b);
                    self.dfs.pop();
                }
            }
        }
        for s in &mut self.scc {
            *s = UNSEEN;
        }
        for (id, &root) in self.order.iter().rev().enumerate() {
            if self.scc[root as usize] != UNSEEN {
                continue;
            }
            self.scc[root as usize] = id as u32;
            self.stack.clear();
            self.stack.push(root);
            while let Some(b) = self.stack.pop() {
                for p in Links::Lists(pred).of(b as usize) {
                    if self.scc[p] == UNSEEN {
                        self.scc[p] = id as u32;
                        self.stack.push(p as u32);
                    }
                }
            }
        }
    }
}

/// The registers a fast form writes (its template, checked against iced's
/// lists when the form was chosen); `None` for the generic form.
fn fast_writes(op: &Op) -> Option<u16> {
    Some(match op.form {
        Form::Generic => return None,
        Form::Jump | Form::Nop | Form::Compare | Form::Store => 0,
        Form::Ret => 1 << crate::state::RSP,
        // `rax` and `rdx`.
        Form::Divide => 0b101,
        _ => 1 << (op.r0 & 15),
    })
}

/// Checks every loop; `Err((head instruction, gap))` for the first one not
/// proven to end. Work is bounded by `budget` units (block visits);
/// beyond it the loop is not proven.
pub(crate) fn check(
    blocks: &Blocks<'_>,
    scratch: &mut Scratch,
    budget: u64,
) -> Result<(), (usize, TerminationGap)> {
    let n = blocks.start.len();
    scratch.build(blocks);
    zeroed(&mut scratch.pos, n);
    let Scratch {
        succ,
        pred,
        succ_bits,
        pred_bits,
        scc,
        identity,
        writes,
        heads,
        back,
        body,
        pos,
        entry,
        exit,
        comps,
        walk,
        backward,
        work: bounds,
        ..
    } = scratch;
    bounds.clear();
    let (succ, pred) = links(n, (succ, pred), (succ_bits, pred_bits));
    let scc = if *backward { &scc[..] } else { &identity[..n] };
    let g = Graph {
        succ,
        pred,
        scc,
        writes,
        last_test: std::cell::Cell::new(None),
    };
    let mut work = 0u64;
    let mut comps_listed = false;
    for &h in heads.iter() {
        let h = h as usize;
        // Back edges: from a block not before `h` in its component (a jump
        // back to shared exit code is no loop).
        back.clear();
        if *backward {
            back.extend(g.pred.of(h).filter(|&u| u >= h && g.scc[u] == g.scc[h]));
            if back.is_empty() {
                continue;
            }
            body_of(&g, h, back, body, pos);
        } else {
            // A block jumping to itself, and no other cycle.
            back.push(h);
            body.clear();
            body.push(h);
            pos[h] = 1;
        }
        work += body.len() as u64 * 8;
        let result = if work > budget {
            Err(TerminationGap::TooComplex)
        } else {
            let written = body.iter().fold(0, |m, &b| {
                (blocks.start[b] as usize..blocks.end(b)).fold(m, |m, i| m | g.writes[i])
            });
            let lp = Loop {
                h,
                back,
                body,
                pos,
                written,
            };
            match prove(blocks, &g, &lp, entry, exit, walk) {
                Ok(trips) => Ok(trips),
                // The component-wide rule, with the members of every
                // component listed once per check (linear in the blocks).
                // A component proven once is not proven again for its
                // other heads (the rule depends on the component only).
                // Without backward edges but self-loops, `h` alone is its
                // component, and no other head shares it.
                Err(gap) if !*backward => {
                    work += 8;
                    if work <= budget && tested_counter(blocks, &g, h, &[h], walk) {
                        Ok(u64::MAX)
                    } else {
                        Err(gap)
                    }
                }
                Err(gap) => {
                    if !comps_listed {
                        comps.list_members(blocks, g.scc);
                        comps_listed = true;
                    }
                    let c = g.scc[h] as usize;
                    let proven = comps.proven[c] || {
                        let members = comps.of(c);
                        work += members.len() as u64 * 8;
                        work <= budget && tested_counter(blocks, &g, h, members, walk)
                    };
                    if proven {
                        comps.proven[c] = true;
                        // Up to `2^bits` steps, none bounded by the head's
                        // facts: no useful trip bound.
                        Ok(u64::MAX)
                    } else {
                        Err(gap)
                    }
                }
            }
        };
        // A body block below the head with an edge into it (it reaches a
        // back-edge source without passing the head, so it is in the body)
        // re-enters the head without a back edge: the head values of one
        // stay are then no single progression, and `trips` bounds nothing
        // (the loop still ends: such a cycle is a lower head's loop).
        let reentered = g.pred.of(h).any(|p| p < h && pos[p] != 0);
        for &b in body.iter() {
            pos[b] = 0;
        }
        let trips = result.map_err(|gap| (blocks.start[h] as usize, gap))?;
        let trips = if reentered { u64::MAX } else { trips };
        bounds.push(blocks, body, trips);
    }
    Ok(())
}

/// One loop: its head, back-edge sources and body (sorted), each body
/// block's index in `body` plus one (`pos`, 0 outside), and the registers
/// the body writes.
struct Loop<'l> {
    h: usize,
    back: &'l [usize],
    body: &'l [usize],
    pos: &'l [u32],
    written: u16,
}

impl Loop<'_> {
    fn contains(&self, b: usize) -> bool {
        self.pos[b] != 0
    }

    fn index(&self, b: usize) -> Option<usize> {
        self.pos[b].checked_sub(1).map(|i| i as usize)
    }
}

/// The blocks of `h`'s component that reach a back-edge source without
/// passing `h`, and `h`, in block order, into `body`; `pos` numbers them.
fn body_of(g: &Graph<'_>, h: usize, back: &[usize], body: &mut Vec<usize>, pos: &mut [u32]) {
    body.clear();
    body.push(h);
    pos[h] = 1;
    let mut at = 0;
    // `body` doubles as the work stack: entries past `at` are unexpanded.
    for &u in back {
        if pos[u] == 0 {
            pos[u] = 1;
            body.push(u);
        }
    }
    at += 1;
    while at < body.len() {
        let b = body[at];
        at += 1;
        for p in g.pred.of(b) {
            if g.scc[p] == g.scc[h] && pos[p] == 0 {
                pos[p] = 1;
                body.push(p);
            }
        }
    }
    body.sort_unstable();
    for (i, &b) in body.iter().enumerate() {
        pos[b] = i as u32 + 1;
    }
}

/// How many conditional blocks of a loop body (in block order) are tried as
/// its exit test, after the head's and the back edge's.
const MIDDLE_TESTS: usize = 16;

fn prove(
    blocks: &Blocks<'_>,
    g: &Graph<'_>,
    lp: &Loop<'_>,
    entry: &mut Vec<Option<Option<i64>>>,
    exit: &mut Vec<Option<i64>>,
    walk: &mut Walk,
) -> Result<u64, TerminationGap> {
    // Candidate tests: the head's and a single back-edge source's, then
    // any other body block every iteration passes (early exits in the
    // middle of a loop, such as a count checked before a search test).
    let second = (lp.back.len() == 1 && lp.back[0] != lp.h).then(|| lp.back[0]);
    let mut gap = TerminationGap::NoExitTest;
    for t in std::iter::once(lp.h).chain(second) {
        match prove_at(blocks, g, lp, t, entry, exit) {
            Ok(trips) => return Ok(trips),
            Err(e) if gap == TerminationGap::NoExitTest => gap = e,
            Err(_) => {}
        }
    }
    // Each try walks the body (`on_every_iteration`, then `induction`):
    // only the first few conditional blocks are tried, so the work stays
    // linear in the body.
    let conditional = |t: usize| blocks.ops[blocks.end(t) - 1].flow == Flow::CondJump;
    let tries = lp
        .body
        .iter()
        .copied()
        .filter(|&t| t != lp.h && Some(t) != second && conditional(t))
        .take(MIDDLE_TESTS);
    for t in tries {
        if !on_every_iteration(g, lp, t, walk) {
            continue;
        }
        match prove_at(blocks, g, lp, t, entry, exit) {
            Ok(trips) => return Ok(trips),
            Err(e) if gap == TerminationGap::NoExitTest => gap = e,
            Err(_) => {}
        }
    }
    Err(gap)
}

/// The visited blocks of each component, in block order
/// (`list[first[c]..first[c + 1]]` for component id `c`), and whether
/// [`tested_counter`] proved it.
#[derive(Default)]
struct Components {
    first: Vec<u32>,
    fill: Vec<u32>,
    list: Vec<usize>,
    proven: Vec<bool>,
}

impl Components {
    fn of(&self, c: usize) -> &[usize] {
        &self.list[self.first[c] as usize..self.first[c + 1] as usize]
    }

    /// Lists the members of every component (component ids are below the
    /// number of blocks).
    fn list_members(&mut self, blocks: &Blocks<'_>, scc: &[u32]) {
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

/// The marks and stacks of [`on_every_iteration`] and
/// [`counts_every_value`], kept between calls.
#[derive(Default)]
struct Walk {
    seen: Vec<u8>,
    stepping: Vec<bool>,
    stack: Vec<usize>,
    dfs: Vec<(usize, Cursor)>,
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
fn tested_counter(
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
        let answer = match g.last_test.get() {
            Some((at, taken, answer)) if at == t && taken == continue_taken => answer,
            _ => flag_test(blocks, g, t, continue_taken),
        };
        let (setter, cmp, cc) = answer.ok()?;
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
        (blocks.start[m] as usize..blocks.end(m)).fold(acc, |acc, i| acc | g.writes[i])
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
            let c = match step(&blocks.instrs[i], g.writes[i], r, width, Some(0)) {
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

/// Whether every path from the head to a back-edge source passes block
/// `t` (so every iteration runs its test): with `t` removed, no back-edge
/// source is reachable from the head inside the body.
fn on_every_iteration(g: &Graph<'_>, lp: &Loop<'_>, t: usize, walk: &mut Walk) -> bool {
    let (seen, stack) = (&mut walk.seen, &mut walk.stack);
    seen.clear();
    seen.resize(lp.body.len(), 0);
    stack.clear();
    stack.push(lp.h);
    if let Some(i) = lp.index(lp.h) {
        seen[i] = 1;
    }
    while let Some(b) = stack.pop() {
        if lp.back.contains(&b) {
            return false;
        }
        for s in g.succ.of(b) {
            if s == t || s == lp.h {
                continue;
            }
            if let Some(i) = lp.index(s)
                && seen[i] == 0
            {
                seen[i] = 1;
                stack.push(s);
            }
        }
    }
    true
}

/// The proof with the exit test at the end of block `t`; its trip bound
/// ([`trips`]) when proven.
fn prove_at(
    blocks: &Blocks<'_>,
    g: &Graph<'_>,
    lp: &Loop<'_>,
    t: usize,
    entry: &mut Vec<Option<Option<i64>>>,
    exit: &mut Vec<Option<i64>>,
) -> Result<u64, TerminationGap> {
    let last = blocks.end(t) - 1;
    let jcc = &blocks.instrs[last];
    if blocks.ops[last].flow != Flow::CondJump || jcc.mnemonic() == Mnemonic::Jmp {
        return Err(TerminationGap::NoExitTest);
    }
    let [taken, fall] = blocks.succs(t);
    if taken == NO_BLOCK || fall == NO_BLOCK {
        return Err(TerminationGap::NoExitTest);
    }
    let (taken, fall) = (taken as usize, fall as usize);
    // The edge that stays in the loop decides the continue condition.
    let continue_taken = match (lp.contains(taken), lp.contains(fall)) {
        (true, false) => true,
        (false, true) => false,
        _ => return Err(TerminationGap::NoExitTest),
    };
    // `loop` (also `loope`/`loopne`) decrements `rcx` and continues only
    // while it is not zero: `rcx` is the induction register, compared with
    // 0 after its step (the jump itself).
    if is_loop_rcx(jcc) {
        if !continue_taken {
            return Err(TerminationGap::UnknownTest);
        }
        let (c, at_test) = induction(blocks, g, lp, t, last, 1, 8, entry, exit)?;
        let head = &blocks.states[lp.h];
        let test = Test {
            cc: CC::ne,
            kind: Flagged::Sub,
            c,
            at_test,
            width: 8,
            bound: Bound::Imm(0),
        };
        return if meets(
            blocks.ctx, test.cc, test.kind, c, at_test, 8, test.bound, head, 1,
        ) {
            Ok(trips(&test, head, 1))
        } else {
            Err(TerminationGap::StepMissesBound)
        };
    }
    let answer = flag_test(blocks, g, t, continue_taken);
    g.last_test.set(Some((t, continue_taken, answer)));
    let (setter, cmp, cc) = answer?;
    let width = cmp.width;
    // The induction register is one operand; the bound the other (an
    // immediate, or a register the body never writes). Try both orders.
    let mut gap = TerminationGap::NoInductionStep;
    let mut orders: [Option<(usize, Bound, CC)>; 2] = [None, None];
    if cmp.kind == Flagged::Sub && cmp.b != CMP_IMM {
        let (a, b) = (usize::from(cmp.a), usize::from(cmp.b));
        orders[0] = Some((a, Bound::Reg(b), cc));
        orders[1] = swap(cc).map(|sw| (b, Bound::Reg(a), sw));
    } else if cmp.kind == Flagged::Sub {
        orders[0] = Some((usize::from(cmp.a), Bound::Imm(cmp.imm), cc));
    } else {
        // `test r, r` or the step's own flags: `r` compared with 0.
        orders[0] = Some((usize::from(cmp.a), Bound::Imm(0), cc));
    }
    for (r, bound, cc) in orders.into_iter().flatten() {
        match induction(blocks, g, lp, t, setter, r, width, entry, exit) {
            Ok((c, at_test)) => {
                if let Bound::Reg(b) = bound
                    && (b == r || lp.written >> b & 1 != 0)
                {
                    // Two registers stepping toward each other by one.
                    if b != r
                        && let Ok((cb, _)) =
                            induction(blocks, g, lp, t, setter, b, width, entry, exit)
                        && converges(cc, c, cb)
                    {
                        let head = &blocks.states[lp.h];
                        return Ok(trips_closing_in(head, width, (r, c), (b, cb)));
                    }
                    gap = TerminationGap::BoundChanges;
                    continue;
                }
                let head = &blocks.states[lp.h];
                if meets(blocks.ctx, cc, cmp.kind, c, at_test, width, bound, head, r) {
                    let test = Test {
                        cc,
                        kind: cmp.kind,
                        c,
                        at_test,
                        width,
                        bound,
                    };
                    return Ok(trips(&test, head, r));
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

/// The test a block's final conditional jump makes: the instruction that
/// set its flags (the block's last flag writer, a comparison whose operands
/// nothing writes before the jump) and the condition under which the jump
/// goes the way that stays in the loop.
fn flag_test(blocks: &Blocks<'_>, g: &Graph<'_>, t: usize, continue_taken: bool) -> FlagTest {
    let first = blocks.start[t] as usize;
    let last = blocks.end(t) - 1;
    // Only a `jcc` tests the flags alone: `loope`/`loopne` counting in
    // `ecx` (prefix `67`) also leave or stay when `ecx` reaches 0, so the
    // negation of their condition code is not what their other edge means
    // (and `jecxz` has no condition code).
    if !is_direct_jump(blocks.instrs[last].mnemonic()) {
        return Err(TerminationGap::UnknownTest);
    }
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
    let cc = blocks.instrs[last].condition_code();
    let cc = if continue_taken { Some(cc) } else { negate(cc) };
    Ok((setter, cmp, cc.ok_or(TerminationGap::UnknownTest)?))
}

/// The per-iteration step of `r` (the same non-zero constant on every back
/// edge) and its change from the head's entry to the test at `setter`.
#[allow(clippy::too_many_arguments)]
fn induction(
    blocks: &Blocks<'_>,
    g: &Graph<'_>,
    lp: &Loop<'_>,
    t: usize,
    setter: usize,
    r: usize,
    width: u8,
    entry: &mut Vec<Option<Option<i64>>>,
    exit: &mut Vec<Option<i64>>,
) -> Result<(i64, i64), TerminationGap> {
    // Never written: no change on any back edge.
    if lp.written >> r & 1 == 0 {
        return Err(TerminationGap::NoInductionStep);
    }
    // A loop of one block (the head, its own back-edge source and test):
    // one walk gives both changes.
    if let [b] = *lp.body {
        let first = blocks.start[b] as usize;
        let walk = |from: usize, to: usize, mut d: Option<i64>| {
            for (i, &w) in (from..to).zip(&g.writes[from..to]) {
                if w >> r & 1 != 0 {
                    d = step(&blocks.instrs[i], w, r, width, d);
                }
            }
            d
        };
        let at_test = walk(first, setter + 1, Some(0));
        let c = walk(setter + 1, blocks.end(b), at_test).filter(|&c| c != 0);
        return match (c, at_test) {
            (Some(c), Some(at_test)) => Ok((c, at_test)),
            _ => Err(TerminationGap::NoInductionStep),
        };
    }
    deltas(blocks, g, lp, r, width, entry, exit);
    let mut step_c = None;
    for &u in lp.back {
        match (lp.index(u).and_then(|i| exit[i]), step_c) {
            (Some(c), None) if c != 0 => step_c = Some(c),
            (Some(c), Some(s)) if c == s => {}
            _ => return Err(TerminationGap::NoInductionStep),
        }
    }
    let c = step_c.ok_or(TerminationGap::NoInductionStep)?;
    let mut d = lp.index(t).and_then(|i| entry[i].flatten());
    for i in blocks.start[t] as usize..=setter {
        d = step(&blocks.instrs[i], g.writes[i], r, width, d);
    }
    Ok((c, d.ok_or(TerminationGap::NoInductionStep)?))
}

/// Whether the known low bits of `r` and of the bound say something about
/// their difference: both numbers, or both pointers into one buffer (its
/// base cancels). A pointer's offset says nothing of its address's low
/// bits (a byte buffer may start at an odd address), so a pointer against
/// a number or an immediate, or a number against a pointer, is not.
fn comparable(head: &State, r: usize, bound: Bound) -> bool {
    match (head.regs[r], bound) {
        (Val::Ptr(i, _), Bound::Reg(b)) => matches!(head.regs[b], Val::Ptr(j, _) if j == i),
        (Val::Ptr(..), Bound::Imm(_)) => false,
        (_, Bound::Reg(b)) => !matches!(head.regs[b], Val::Ptr(..)),
        (_, Bound::Imm(_)) => true,
    }
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

/// Whether continuing while `r cc B`, with `r` stepping by `c` and `B` by
/// `cb` per iteration, must stop: a strict `<` (signed or unsigned) with
/// `r` going up by one and `B` down by one (or the mirror). While the loop
/// continues, `r < B`, so neither step wraps (`r + 1 <= B`, `B - 1 >= r`),
/// and `B - r >= 1` shrinks by two per iteration.
fn converges(cc: CC, c: i64, cb: i64) -> bool {
    match cc {
        CC::l | CC::b => c == 1 && cb == -1,
        CC::g | CC::a => c == -1 && cb == 1,
        _ => false,
    }
}

/// Whether a pointer into buffer `i` stepping by `c` while it is below
/// (`b`, `be`) or above (`a`, `ae`) the pointer `end` of the same buffer
/// must stop. The buffer must be non-empty on entry (then it is real
/// memory: user-space addresses are below 2^56, and the lowest pages are
/// never mapped, so it starts at 4096 or above) and `end` inside it or one
/// past it. Going up by `0 < c <= 2^32` while `p <= end`: `p + c` stays below
/// 2^57, no wrap, so `p` passes `end`. Going down by `0 < -c <= 4096` while
/// `p >= end >= 4096`: `p + c >= 0`, no wrap.
fn walk_ends(ctx: &Ctx<'_>, head: &State, i: u8, end: &crate::num::Num, cc: CC, c: i64) -> bool {
    let first_byte = crate::num::Num::constant(0);
    let nonempty = ctx
        .check_buffer(i, &first_byte, 1, false, &head.syms)
        .is_ok();
    let step_ok = match cc {
        CC::b | CC::be => (1..=1 << 32).contains(&c),
        _ => (-4096..0).contains(&c),
    };
    nonempty && step_ok && ctx.within_buffer(i, end, &head.syms)
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
    ctx: &Ctx<'_>,
    cc: CC,
    kind: Flagged,
    c: i64,
    at_test: i64,
    width: u8,
    bound: Bound,
    head: &State,
    r: usize,
) -> bool {
    // `test r, r` and logic results write ZF and SF of `r` and clear CF and
    // OF: the signed conditions and (in)equality compare `r` with 0 (the
    // bound is then the immediate 0), `a` is `!= 0` and `be` is `== 0`.
    let (cc, kind) = match (kind, cc) {
        (Flagged::Logic, CC::l | CC::le | CC::g | CC::ge | CC::e | CC::ne) => (cc, Flagged::Sub),
        (Flagged::Logic, CC::a) => (CC::ne, Flagged::Sub),
        (Flagged::Logic, CC::be) => (CC::e, Flagged::Sub),
        _ => (cc, kind),
    };
    // Flags of an ALU result: only a `!= 0` test.
    if kind != Flagged::Sub && cc != CC::ne {
        return false;
    }
    // A pointer walked toward an end pointer of the same buffer.
    if let (Val::Ptr(i, _), Bound::Reg(b)) = (head.regs[r], bound)
        && let Val::Ptr(j, end) = head.regs[b]
        && i == j
        && width == 8
        && matches!(cc, CC::b | CC::be | CC::a | CC::ae)
    {
        return walk_ends(ctx, head, i, &end, cc, c);
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
            divides && comparable(head, r, bound) && toward(head, r, bound, c, at_test, width)
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

/// The registers an instruction of the generic form writes, without iced's
/// register lists, when it writes exactly its register operand 0 and no
/// other general-purpose register: moves and loads, the ALU operations,
/// shifts and rotates, `lea`, `imul` with two or three operands. `None`
/// for anything else ([`write_mask`] asks iced). Checked against
/// [`write_mask`] on many encodings in the tests.
fn plain_writes(ins: &Instruction) -> Option<u16> {
    use Mnemonic as M;
    if ins.op0_kind() != OpKind::Register {
        return None;
    }
    let r = ins.op0_register();
    let plain = match ins.mnemonic() {
        M::Mov
        | M::Movzx
        | M::Movsx
        | M::Movsxd
        | M::Lea
        | M::Add
        | M::Sub
        | M::And
        | M::Or
        | M::Xor
        | M::Adc
        | M::Sbb
        | M::Shl
        | M::Shr
        | M::Sar
        | M::Rol
        | M::Ror
        | M::Not
        | M::Neg
        | M::Inc
        | M::Dec => true,
        M::Imul => ins.op_count() >= 2,
        _ => false,
    };
    (plain && r.is_gpr()).then(|| 1 << gpr(r))
}

/// The general-purpose registers an instruction writes, as a bit mask
/// (calls: the caller-saved ones).
fn write_mask(info: &mut iced_x86::InstructionInfoFactory, ins: &Instruction) -> u16 {
    let mut mask = 0u16;
    // Only the registers: the memory locations are not needed.
    let info = info.info_options(ins, iced_x86::InstructionInfoOptions::NO_MEMORY_USAGE);
    for u in info.used_registers() {
        if crate::interp::is_write(u.access()) && u.register().is_gpr() {
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

/// The change of `r` since the head's entry, at the start (`entry`: `None`
/// no path yet, `Some(None)` not one constant) and at the end (`exit`) of
/// each body block (indexed like `body`), stepping only
/// `add`/`sub`/`inc`/`dec`/`lea` of `r` itself at `width`; edges back into
/// the head are not followed. Everything unknown if it does not settle.
fn deltas(
    blocks: &Blocks<'_>,
    g: &Graph<'_>,
    lp: &Loop<'_>,
    r: usize,
    width: u8,
    entry: &mut Vec<Option<Option<i64>>>,
    exit: &mut Vec<Option<i64>>,
) {
    let n = lp.body.len();
    entry.clear();
    entry.resize(n, None);
    exit.clear();
    exit.resize(n, None);
    if let Some(i) = lp.index(lp.h) {
        entry[i] = Some(Some(0));
    }
    for _ in 0..64 {
        let mut changed = false;
        for (i, &b) in lp.body.iter().enumerate() {
            let Some(mut d) = entry[i] else { continue };
            for k in blocks.start[b] as usize..blocks.end(b) {
                d = step(&blocks.instrs[k], g.writes[k], r, width, d);
            }
            exit[i] = d;
            for s in g.succ.of(b) {
                let Some(j) = lp.index(s).filter(|_| s != lp.h) else {
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
            return;
        }
    }
    entry.fill(Some(None));
    exit.fill(None);
}

/// Whether `ins` is `loop`, `loope` or `loopne` counting in `rcx`.
fn is_loop_rcx(ins: &Instruction) -> bool {
    matches!(
        ins.code(),
        Code::Loop_rel8_64_RCX | Code::Loope_rel8_64_RCX | Code::Loopne_rel8_64_RCX
    )
}

/// `r`'s change after `ins` (which writes the registers in `writes`),
/// given its change before.
#[inline]
fn step(ins: &Instruction, writes: u16, r: usize, width: u8, d: Option<i64>) -> Option<i64> {
    if writes >> r & 1 == 0 {
        return d;
    }
    let d = d?;
    if is_loop_rcx(ins) {
        return if r == 1 && width == 8 {
            d.checked_sub(1).filter(|v| v.unsigned_abs() < 1 << 31)
        } else {
            None
        };
    }
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

#[cfg(test)]
mod mask_tests;
#[cfg(test)]
mod scc_tests;
