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
//!
//! **Cost** (the proof runs after the fixpoint of every function with a
//! backward branch): the graph, its components and the write masks are
//! built once per check into the [`Scratch`] the [`crate::Validator`] keeps
//! (`termination/graph.rs`), with no allocation once it has seen a function as large;
//! when every backward edge is a block jumping to itself (a compiled
//! counted loop), the heads and their predecessors are read off the
//! driver's list of jumps (no pass over every block's successors), there is
//! no component pass and no body search, and the
//! component rule (`termination/counter.rs`) takes the block alone. A
//! self-loop ending in `cmp` and a `jcc` back is answered in one walk of
//! its block ([`direct_self_loop`]: no write masks kept), and a function
//! whose only loop is one gets its work bound there too. Per loop, the
//! registers its body writes are listed once: a register it never writes
//! is no induction step and a bound it never writes is invariant without a
//! walk; a one-block loop's induction is one walk of its block, stopped at
//! the first write that is no step. A self-loop whose compared registers
//! have no induction step skips the component rule (its counter would be
//! one of them, with a step). The exit test and the steps are read from
//! the lowered fast forms where they say enough (`cmp` of a register,
//! `add`/`sub r64, imm`, forms that never step; `termination/form_tests.rs`
//! checks them against the instructions), else from the instruction.
//! Whether the step meets the bound is `termination/meets.rs`; the work
//! bound is `termination/work.rs`.

use iced_x86::{Code, ConditionCode as CC, Instruction, Mnemonic, OpKind, Register};

use crate::fast::Op;
use crate::interp::{Ctx, gpr, imm, is_direct_jump};
use crate::record::Flow;
use crate::refine::negate;
use crate::state::{CMP_IMM, Flagged, State};
use crate::values::comparison;

mod counter;
mod graph;
mod meets;
mod work;
use counter::{Components, tested_counter};
use graph::{Adjacency, Cursor, Links, NO_BLOCK, fill_writes, links};
use meets::{converges, meets};
use work::loop_steps;
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
    /// The block number at each leader instruction (the first of a block);
    /// entries at other instructions are stale and never read.
    pub(crate) block_of: &'a [u32],
    /// Per block: bit [`crate::validate::VISITED`] set if the fixpoint reached it.
    pub(crate) mark: &'a [u8],
    pub(crate) states: &'a [State],
    /// The signature's buffers (pointer walks to an end pointer).
    pub(crate) ctx: &'a Ctx<'a>,
    /// The branches, calls and returns, in order (every edge to a block not
    /// after its source is a jump among them).
    pub(crate) transfers: &'a [u32],
}

impl Blocks<'_> {
    #[inline]
    fn visited(&self, b: usize) -> bool {
        self.mark[b] & crate::validate::VISITED != 0
    }

    #[inline]
    fn end(&self, b: usize) -> usize {
        self.start
            .get(b + 1)
            .map_or(self.instrs.len(), |&s| s as usize)
    }

    /// Instruction `i` lowered and decoded.
    #[inline]
    fn at(&self, i: usize) -> (&Op, &Instruction) {
        (&self.ops[i], &self.instrs[i])
    }

    /// The block jump (or other transfer) `j` ends: the one before the
    /// block starting right after it, or the last block.
    #[inline]
    fn block_ending(&self, j: usize) -> usize {
        if j + 1 < self.instrs.len() {
            self.block_of[j + 1] as usize - 1
        } else {
            self.start.len() - 1
        }
    }

    /// Successor blocks of `b` (its last instruction's targets), or
    /// [`NO_BLOCK`].
    #[inline]
    fn succs(&self, b: usize) -> [u32; 2] {
        let last = self.end(b) - 1;
        // The block starting right after `b` is `b + 1` (blocks are
        // numbered in order of their first instruction).
        let next = if last + 1 < self.instrs.len() {
            debug_assert_eq!(self.block_of[last + 1] as usize, b + 1);
            b as u32 + 1
        } else {
            NO_BLOCK
        };
        let target = || self.jump_target(last);
        match self.ops[last].flow {
            Flow::Return => [NO_BLOCK; 2],
            Flow::Jump => [target(), NO_BLOCK],
            Flow::CondJump => [target(), next],
            Flow::Call | Flow::Next => [next, NO_BLOCK],
        }
    }

    /// The block jump `j` goes to, or [`NO_BLOCK`].
    #[inline]
    fn jump_target(&self, j: usize) -> u32 {
        usize::try_from(self.ops[j].k)
            .ok()
            .and_then(|t| self.block_of.get(t))
            .copied()
            .unwrap_or(NO_BLOCK)
    }
}

/// The proof's working memory, kept by the [`crate::Validator`] between
/// calls so that a proof allocates only when a function is larger than any
/// before it: the control-flow graph of the visited blocks (successor and
/// predecessor lists, strongly connected components), the registers each
/// instruction in a cycle writes, and one loop's body and induction deltas.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Set by the driver before [`check`] ([`crate::Validator`]'s
    /// `mark_spanned`, which meets every backward jump): with at most 64
    /// blocks and every jump to a block not after its own a jump to its
    /// own block, the blocks those jumps end (visited or not), else `None`.
    pub(crate) self_heads: Option<u64>,
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

/// The graph part of [`Scratch`], borrowed apart from the per-loop buffers.
struct Graph<'s> {
    succ: Links<'s>,
    pred: Links<'s>,
    scc: &'s [u32],
    writes: &'s [u16],
    /// Whether an [`induction`] of the current loop found a step (reset
    /// per loop): if none did, a self-loop's component rule cannot hold.
    stepped: std::cell::Cell<bool>,
}

/// What [`flag_test`] answers.
type FlagTest = Result<(usize, crate::state::Cmp, CC), TerminationGap>;

impl Graph<'_> {
    /// Whether instruction `i` (in a cycle) writes register `r`.
    fn writes(&self, i: usize, r: usize) -> bool {
        self.writes[i] >> r & 1 != 0
    }
}

/// Checks every loop; `Err((head instruction, gap))` for the first one not
/// proven to end, else [`loop_steps`]' bound on what the loops repeat.
/// Work is bounded by `budget` units (block visits); beyond it the loop is
/// not proven.
pub(crate) fn check(
    blocks: &Blocks<'_>,
    scratch: &mut Scratch,
    budget: u64,
) -> Result<Option<u64>, (usize, TerminationGap)> {
    // One visited self-loop and no other cycle (the usual compiled loop):
    // its head is the driver's, and [`direct_self_loop`] answers it
    // without the graph.
    if let Some(h) = scratch.self_heads.and_then(|m| one_visited(blocks, m))
        && !general_only()
        && let Some(result) = one_self_loop(blocks, h, &mut scratch.info, budget)
    {
        return result;
    }
    check_graph(blocks, scratch, budget)
}

/// The one block of mask `heads` the fixpoint visited, if exactly one is.
#[inline]
fn one_visited(blocks: &Blocks<'_>, heads: u64) -> Option<usize> {
    let mut m = heads;
    let mut found = None;
    while m != 0 {
        let b = m.trailing_zeros() as usize;
        m &= m - 1;
        if blocks.visited(b) {
            if found.is_some() {
                return None;
            }
            found = Some(b);
        }
    }
    found
}

/// [`check`] of a function whose only cycle is the visited self-loop `h`
/// (a block jumping to itself), as the graph walk answers it with `h` its
/// only head: [`direct_self_loop`], then the one-loop work bound (the
/// stays are the function's entry and the edges into `h` from other
/// visited blocks: the jumps to it, and the block before when that falls
/// into `h`). `None` where the direct rule leaves the loop to the general
/// one. Compared with the graph walk in `termination/direct_tests.rs`.
#[inline]
fn one_self_loop(
    blocks: &Blocks<'_>,
    h: usize,
    info: &mut Option<iced_x86::InstructionInfoFactory>,
    budget: u64,
) -> Option<Result<Option<u64>, (usize, TerminationGap)>> {
    let at = blocks.start[h] as usize;
    // The graph walk's work for its first head.
    if 8 > budget {
        return Some(Err((at, TerminationGap::TooComplex)));
    }
    let result = direct_self_loop(blocks, h, info)?;
    #[cfg(test)]
    DIRECT.with(|d| {
        let mut n = d.get();
        n[usize::from(result.is_err())] += 1;
        n[2] += 1;
        d.set(n);
    });
    let trips = match result {
        Ok(trips) => trips,
        Err(gap) => return Some(Err((at, gap))),
    };
    if trips == u64::MAX {
        return Some(Ok(None));
    }
    // A jump's `Op::k` is its target instruction: `h`'s first one.
    let mut from = graph::falls_into(blocks, h).map_or(0, |p| 1u64 << p);
    for &j in blocks.transfers {
        let j = j as usize;
        let op = &blocks.ops[j];
        if op.k == at as i64 && matches!(op.flow, Flow::Jump | Flow::CondJump) {
            let b = blocks.block_ending(j);
            if b != h && blocks.visited(b) {
                from |= 1 << b;
            }
        }
    }
    // Counted bit by bit: usually one (no `popcnt` in the base target).
    let mut stays = u64::from(h == 0);
    while from != 0 {
        from &= from - 1;
        stays += 1;
    }
    let len = (blocks.end(h) - at) as u64;
    Some(Ok(Some(stays.saturating_mul(trips).saturating_mul(len))))
}

/// [`check`] on the control-flow graph: the heads of self-loops, or of
/// any cycles ([`check_cycles`]).
#[inline(never)]
fn check_graph(
    blocks: &Blocks<'_>,
    scratch: &mut Scratch,
    budget: u64,
) -> Result<Option<u64>, (usize, TerminationGap)> {
    let n = blocks.start.len();

    scratch.build(blocks);
    // Every loop resets the marks it set, so `pos` is all zero here: only
    // grown.
    if scratch.pos.len() < n {
        scratch.pos.resize(n, 0);
    }
    debug_assert!(scratch.pos[..n].iter().all(|&p| p == 0));
    scratch.work.clear();
    if scratch.backward {
        check_cycles(blocks, scratch, budget)?;
        return Ok(loop_steps(blocks, scratch));
    }
    let mut work = 0u64;
    let direct = !general_only();
    // Every cycle a block jumping to itself: each head's loop is its
    // block alone. The usual shape is answered by [`direct_self_loop`],
    // any other by [`self_loop_general`].
    for k in 0..scratch.heads.len() {
        let h = scratch.heads[k] as usize;
        work += 8;
        let result = if work > budget {
            Err(TerminationGap::TooComplex)
        } else if let Some(result) = direct
            .then(|| direct_self_loop_apart(blocks, h, &mut scratch.info))
            .flatten()
        {
            #[cfg(test)]
            DIRECT.with(|d| {
                let mut n = d.get();
                n[usize::from(result.is_err())] += 1;
                d.set(n);
            });
            result
        } else {
            self_loop_general(blocks, scratch, h, &mut work, budget)
        };
        let trips = result.map_err(|gap| (blocks.start[h] as usize, gap))?;
        if direct && scratch.heads.len() == 1 {
            // One loop: [`loop_steps`]' answer for it, without listing
            // it (a block outside the loop runs at most once, so the
            // stays are the edges into it, plus the function's entry;
            // no bound if it has none). Tested with the listed loop in
            // `termination/direct_tests.rs`.
            let (_, pred) = links(
                n,
                (&scratch.succ, &scratch.pred),
                (&scratch.succ_bits, &scratch.pred_bits),
            );
            let stays = u64::from(h == 0) + pred.of(h).count_except(h) as u64;
            let len = (blocks.end(h) - blocks.start[h] as usize) as u64;
            return Ok((trips != u64::MAX).then(|| stays.saturating_mul(trips).saturating_mul(len)));
        }
        scratch.work.push(blocks, &[h], trips);
    }
    Ok(loop_steps(blocks, scratch))
}

/// The self-loop `h` by the general rule: [`prove_at`] at the head (no
/// other back edge, no other body block), else the component rule on the
/// block; the steps of [`check_cycles`] without the body search. (A body
/// of one block is never re-entered, and only the heads' predecessor
/// links were built.) Its write masks are filled here.
#[inline(never)]
fn self_loop_general(
    blocks: &Blocks<'_>,
    scratch: &mut Scratch,
    h: usize,
    work: &mut u64,
    budget: u64,
) -> Result<u64, TerminationGap> {
    let n = blocks.start.len();
    scratch.self_loop_buffers(blocks);
    let Scratch {
        succ,
        pred,
        succ_bits,
        pred_bits,
        identity,
        writes,
        info,
        pos,
        entry,
        exit,
        walk,
        ..
    } = scratch;
    let (succ, pred) = links(n, (succ, pred), (succ_bits, pred_bits));
    let one = [h];
    let written = fill_writes(blocks, h, writes, info);
    let g = Graph {
        succ,
        pred,
        scc: &identity[..n],
        writes,
        stepped: std::cell::Cell::new(false),
    };
    pos[h] = 1;
    let lp = Loop {
        h,
        back: &one,
        body: &one,
        pos,
        written,
    };
    let result = match prove_at(blocks, &g, &lp, h, entry, exit) {
        Ok(trips) => Ok(trips),
        // The component rule; `h` alone is its component, and no other
        // head shares it. The rule's counter is one of the registers the
        // loop's exit test compares, at its width, and every write of it
        // steps by one in one direction: then `induction` found that step
        // (the same walk of `h` with the same `step`). Where no induction
        // did, it cannot hold.
        Err(gap) => {
            *work += 8;
            if *work <= budget && g.stepped.get() && tested_counter(blocks, &g, h, &one, walk) {
                Ok(u64::MAX)
            } else {
                Err(gap)
            }
        }
    };
    pos[h] = 0;
    result
}

/// Whether [`check`] leaves every self-loop to the general rule (tests
/// compare both answers).
#[cfg(test)]
fn general_only() -> bool {
    GENERAL_ONLY.with(std::cell::Cell::get)
}

#[cfg(not(test))]
#[inline(always)]
fn general_only() -> bool {
    false
}

#[cfg(test)]
thread_local! {
    static GENERAL_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// How many loops [`direct_self_loop`] proved, and rejected
    /// (and how many of those answers [`one_self_loop`] took).
    pub(crate) static DIRECT: std::cell::Cell<[usize; 3]> = const { std::cell::Cell::new([0; 3]) };
}

/// The self-loop `h` in the usual compiled shape, answered in one walk of
/// its block: it ends in a `jcc` back to itself after a `cmp` of a
/// register (the exit test at the head, [`flag_test`]'s setter the `cmp`
/// right before the jump, nothing between them), and the registers the
/// block writes and the compared registers' steps are read in that walk
/// (no write masks kept, no [`Loop`]). The answer is the general rule's
/// ([`prove_at`] at the head, then the component rule): a proven loop's
/// trip bound, or the gap when no compared register has an induction step
/// (then the component rule cannot hold either). `None` leaves every other
/// case to the general rule: no such test, a bound the block writes (two
/// registers closing in), or a step that misses the bound (the component
/// rule may still prove it). Tested against the general rule in
/// `termination/direct_tests.rs`. Inlined into [`check`]'s one-loop path;
/// the graph walk calls [`direct_self_loop_apart`].
#[inline(always)]
fn direct_self_loop(
    blocks: &Blocks<'_>,
    h: usize,
    info: &mut Option<iced_x86::InstructionInfoFactory>,
) -> Option<Result<u64, TerminationGap>> {
    use crate::fast::Form;
    let first = blocks.start[h] as usize;
    let last = blocks.end(h) - 1;
    let jcc = &blocks.ops[last];
    // A `jcc` (the jump form with a condition) whose other edge leaves:
    // `h` is a head because its last instruction jumps to `h`, so the
    // jump stays and the next block (not `h`) leaves.
    if jcc.flow != Flow::CondJump
        || jcc.form != Form::Jump
        || last == first
        || last + 1 >= blocks.instrs.len()
    {
        return None;
    }
    let setter = last - 1;
    let sop = &blocks.ops[setter];
    if sop.form != Form::Compare {
        return None;
    }
    let cmp = compared(sop, &blocks.instrs[setter])?;
    let cc = blocks.instrs[last].condition_code();
    let width = cmp.width;
    let (a, b) = (usize::from(cmp.a), usize::from(cmp.b));
    let b_reg = cmp.b != CMP_IMM;
    // One walk: the registers written, and the change of each compared
    // register (the `cmp` and the jump write none, so its change at the
    // test is its change per iteration).
    let mut written = 0u16;
    let (mut da, mut db) = (Some(0), Some(0));
    let want = 1u16 << (a & 15) | if b_reg { 1 << (b & 15) } else { 0 };
    for (i, op) in (first..).zip(&blocks.ops[first..last]) {
        let w = match op.form {
            Form::Generic => {
                let ins = &blocks.instrs[i];
                match graph::plain_writes(ins) {
                    Some(mask) => mask,
                    None => graph::write_mask(
                        info.get_or_insert_with(iced_x86::InstructionInfoFactory::new),
                        ins,
                    ),
                }
            }
            _ => graph::fast_writes(op),
        };
        written |= w;
        if w & want != 0 {
            let ins = &blocks.instrs[i];
            if w >> (a & 15) & 1 != 0 {
                da = step((op, ins), w, a, width, da);
            }
            if b_reg && w >> (b & 15) & 1 != 0 {
                db = step((op, ins), w, b, width, db);
            }
        }
    }
    let stepping = |r: usize| if r == a { da } else { db }.filter(|&c| c != 0);
    let mut orders: [Option<(usize, Bound, CC)>; 2] = [None, None];
    if cmp.kind == Flagged::Sub && b_reg {
        orders[0] = Some((a, Bound::Reg(b), cc));
        orders[1] = swap(cc).map(|sw| (b, Bound::Reg(a), sw));
    } else if cmp.kind == Flagged::Sub {
        orders[0] = Some((a, Bound::Imm(cmp.imm), cc));
    } else {
        orders[0] = Some((a, Bound::Imm(0), cc));
    }
    for (r, bound, cc) in orders.into_iter().flatten() {
        if written >> r & 1 == 0 {
            continue;
        }
        // No step: the general rule goes on to the other order.
        let Some(c) = stepping(r) else { continue };
        if let Bound::Reg(b) = bound
            && (b == r || written >> b & 1 != 0)
        {
            return None;
        }
        let head = &blocks.states[h];
        // A step of one continuing `!=` meets every bound ([`meets`]'
        // first answer for a comparison or a logic result).
        let ne_by_one = cc == CC::ne
            && c.unsigned_abs() == 1
            && matches!(cmp.kind, Flagged::Sub | Flagged::Logic);
        if !ne_by_one && !meets(blocks.ctx, cc, cmp.kind, c, c, width, bound, head, r) {
            return None;
        }
        let test = Test {
            cc,
            kind: cmp.kind,
            c,
            at_test: c,
            width,
            bound,
        };
        return Some(Ok(trips(&test, head, r)));
    }
    // No compared register steps: the general rule's gap, and no
    // component rule.
    Some(Err(TerminationGap::NoInductionStep))
}

/// [`direct_self_loop`] out of line, for the graph walk.
#[inline(never)]
fn direct_self_loop_apart(
    blocks: &Blocks<'_>,
    h: usize,
    info: &mut Option<iced_x86::InstructionInfoFactory>,
) -> Option<Result<u64, TerminationGap>> {
    direct_self_loop(blocks, h, info)
}

/// [`check`] of a graph with an edge to an earlier block (a loop body of
/// more than one block): each head's body is searched, and the component
/// rule proves whole components (kept out of line: the self-loops above are
/// the usual case).
#[inline(never)]
fn check_cycles(
    blocks: &Blocks<'_>,
    scratch: &mut Scratch,
    budget: u64,
) -> Result<(), (usize, TerminationGap)> {
    let n = blocks.start.len();
    let Scratch {
        succ,
        pred,
        succ_bits,
        pred_bits,
        scc,
        heads,
        writes,
        back,
        body,
        pos,
        entry,
        exit,
        comps,
        walk,
        work: bounds,
        ..
    } = scratch;
    let (succ, pred) = links(n, (succ, pred), (succ_bits, pred_bits));
    let g = Graph {
        succ,
        pred,
        scc,
        writes,
        stepped: std::cell::Cell::new(false),
    };
    let mut work = 0u64;
    let mut comps_listed = false;
    for &h in heads.iter() {
        let h = h as usize;
        // Back edges: from a block not before `h` in its component (a jump
        // back to shared exit code is no loop).
        back.clear();
        back.extend(g.pred.of(h).filter(|&u| u >= h && g.scc[u] == g.scc[h]));
        if back.is_empty() {
            continue;
        }
        body_of(&g, h, back, body, pos);
        work += body.len() as u64 * 8;
        let result = if work > budget {
            Err(TerminationGap::TooComplex)
        } else {
            let written = body.iter().fold(0, |m, &b| {
                let at = blocks.start[b] as usize..blocks.end(b);
                g.writes[at].iter().fold(m, |m, &w| m | w)
            });
            let lp = Loop {
                h,
                back,
                body,
                pos,
                written,
            };
            g.stepped.set(false);
            match prove(blocks, &g, &lp, entry, exit, walk) {
                Ok(trips) => Ok(trips),
                // The component-wide rule, with the members of every
                // component listed once per check (linear in the blocks).
                // A component proven once is not proven again for its
                // other heads (the rule depends on the component only).
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

/// The marks and stacks of [`on_every_iteration`] and
/// `counter::counts_every_value`, kept between calls.
#[derive(Default)]
struct Walk {
    seen: Vec<u8>,
    stepping: Vec<bool>,
    stack: Vec<usize>,
    dfs: Vec<(usize, Cursor)>,
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
    let (setter, cmp, cc) = flag_test(blocks, g, t, continue_taken)?;
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
        // What `induction` answers first, without the call: a register the
        // body never writes has no step (and leaves `gap` as it is).
        if lp.written >> r & 1 == 0 {
            continue;
        }
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
    // (and `jecxz` has no condition code). The jump form is exactly the
    // direct jumps' (`record.rs`).
    let jump = blocks.ops[last].form == crate::fast::Form::Jump;
    debug_assert_eq!(jump, is_direct_jump(blocks.instrs[last].mnemonic()));
    if !jump {
        return Err(TerminationGap::UnknownTest);
    }
    // The lowered form's arithmetic flags first (a comparison's are set):
    // iced's answer only for instructions that modify none of those.
    let setter = (first..last)
        .rev()
        .find(|&i| blocks.ops[i].flags[1] != 0 || blocks.instrs[i].rflags_modified() != 0)
        .ok_or(TerminationGap::UnknownTest)?;
    let cmp =
        compared(&blocks.ops[setter], &blocks.instrs[setter]).ok_or(TerminationGap::UnknownTest)?;
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

/// [`comparison`] of instruction `i`, from its fast form when it is a
/// `cmp` of a register with a register or an immediate (the form's
/// operands are the instruction's registers, checked when the form was
/// chosen).
#[inline]
fn compared(op: &Op, ins: &Instruction) -> Option<crate::state::Cmp> {
    if op.form != crate::fast::Form::Compare {
        return comparison(ins);
    }
    let (width, b, imm) = match ins.code() {
        Code::Cmp_rm64_r64 | Code::Cmp_r64_rm64 => (8, op.r1, 0),
        Code::Cmp_rm32_r32 | Code::Cmp_r32_rm32 => (4, op.r1, 0),
        Code::Cmp_rm64_imm8 | Code::Cmp_rm64_imm32 => (8, CMP_IMM, imm(ins, 1)?),
        // A 32-bit immediate compares against its 32-bit value.
        Code::Cmp_rm32_imm8 | Code::Cmp_rm32_imm32 => (4, CMP_IMM, i64::from(imm(ins, 1)? as i32)),
        _ => return comparison(ins),
    };
    Some(crate::state::Cmp {
        a: op.r0,
        b,
        imm,
        width,
        kind: Flagged::Sub,
    })
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
        // `d`: the change so far; once unknown it stays unknown.
        let mut d = Some(0);
        let mut at_test = None;
        for i in blocks.start[b] as usize..blocks.end(b) {
            let w = g.writes[i];
            if w >> r & 1 != 0 {
                d = step(blocks.at(i), w, r, width, d);
                if d.is_none() {
                    return Err(TerminationGap::NoInductionStep);
                }
            }
            if i == setter {
                at_test = d;
            }
        }
        return match (d.filter(|&c| c != 0), at_test) {
            (Some(c), Some(at_test)) => {
                g.stepped.set(true);
                Ok((c, at_test))
            }
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
        d = step(blocks.at(i), g.writes[i], r, width, d);
    }
    let at_test = d.ok_or(TerminationGap::NoInductionStep)?;
    g.stepped.set(true);
    Ok((c, at_test))
}

/// The condition with its operands swapped (a table indexed by the
/// condition: `e` and `ne` stay, the orders turn round, the flag tests
/// `o`, `s`, `p` and theirs negations have none).
fn swap(cc: CC) -> Option<CC> {
    const SWAPPED: [Option<CC>; 17] = [
        None,         // None
        None,         // o
        None,         // no
        Some(CC::a),  // b
        Some(CC::be), // ae
        Some(CC::e),  // e
        Some(CC::ne), // ne
        Some(CC::ae), // be
        Some(CC::b),  // a
        None,         // s
        None,         // ns
        None,         // p
        None,         // np
        Some(CC::g),  // l
        Some(CC::le), // ge
        Some(CC::ge), // le
        Some(CC::l),  // g
    ];
    SWAPPED[cc as usize]
}

#[derive(Clone, Copy)]
enum Bound {
    Imm(i64),
    Reg(usize),
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
                d = step(blocks.at(k), g.writes[k], r, width, d);
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

/// `r`'s change after instruction `i` (which writes the registers in
/// `writes`), given its change before. The fast forms answer from their
/// operands: `add`/`sub r64, imm` step by the immediate, and the forms of
/// moves, shifts, comparisons and register-to-register arithmetic never
/// step (none is an `inc`, `dec`, `lea` without an index, or `add`/`sub`
/// of an immediate); the others ask the instruction ([`step_of`]).
#[inline]
fn step(
    (op, ins): (&Op, &Instruction),
    writes: u16,
    r: usize,
    width: u8,
    d: Option<i64>,
) -> Option<i64> {
    use crate::fast::{Form as F, NO_REG};
    if writes >> r & 1 == 0 {
        return d;
    }
    let d = d?;
    let k = match op.form {
        F::AddImm | F::SubImm if usize::from(op.r0) == r && width == 8 => op.k,
        F::AddImm | F::SubImm => return None,
        F::Alu if op.r1 != NO_REG => return None,
        F::Move
        | F::MoveImm
        | F::Zero
        | F::CondMove
        | F::Load
        | F::LoadIndexed
        | F::LeaIndexed
        | F::Widen
        | F::SignExtendAcc
        | F::Divide
        | F::Shift
        | F::ShiftCl
        | F::Compare
        | F::Store
        | F::Jump
        | F::Nop
        | F::Ret => return None,
        _ => return step_of(ins, r, width, d),
    };
    d.checked_add(k).filter(|v| v.unsigned_abs() < 1 << 31)
}

/// [`step`] read from the instruction itself (`r` is written).
fn step_of(ins: &Instruction, r: usize, width: u8, d: i64) -> Option<i64> {
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
pub(crate) mod direct_tests;

#[cfg(test)]
mod form_tests;

#[cfg(test)]
mod mask_tests;

#[cfg(test)]
mod scc_tests;

#[cfg(test)]
mod self_loop_tests;
