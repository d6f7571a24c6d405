//! The driver: decode, check each instruction, build blocks, iterate.
//!
//! In: code bytes, a [`Signature`], a [`Policy`]. Out: a [`Report`] or the
//! first [`Violation`]. Instructions are decoded once, linearly (every branch
//! must land on a decoded start, so the linear decode is the only one). Block
//! states are stored at block starts; a worklist ordered by block index runs
//! the transfer function until nothing changes, within a step budget
//! proportional to the code size. Without backward branches that order is
//! simply each reachable block once, in index order, so no worklist is kept.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

use iced_x86::{Decoder, DecoderError, DecoderOptions, Instruction};

use crate::classify::{check_with, is_legacy_prefix};
use crate::fast::{Form, Op, exec};
use crate::interp::{Ctx, Flags, is_direct_jump, step};
use crate::policy::PointerAccess;
use crate::record::{FACT_DIVISION, FACT_INDEXED, FACT_STRING, Flow, Records};
use crate::refine::{
    NEXT_DEAD, NEXT_LIVE, NEXT_RANGE, NEXT_REFINE, informative, refine_edge, taken_in_place,
    taken_unchanged,
};
use crate::state::{RSP, State};
use crate::uses::Uses;
use crate::{Policy, Signature, Violation, ViolationKind};

const NO_INSTR: u32 = u32::MAX;
/// `block_of` entry of a leader not numbered yet.
const LEADER: u32 = u32::MAX - 1;
/// Block `mark` bits: has a state, is on the worklist, was stepped (and,
/// after the fixpoint, [`REACHES`]).
const HAVE: u8 = 1;
const QUEUED: u8 = 2;
pub(crate) const VISITED: u8 = 4;
/// Block `mark` bit of [`Validator::check_reaches_ret`]: reaches a `ret`.
const REACHES: u8 = 8;
/// Block `mark` bit set before the fixpoint: a back edge spans the block
/// ([`Validator::mark_spanned`]), so it is stepped in a copy.
const SPANNED: u8 = 16;

/// What the validator proved about accepted code.
///
/// ```
/// use npk_jit::{validate, Policy};
/// let sig = "int32(int32,int32)".parse().expect("valid signature");
/// let r = validate(&[0x89, 0xf8, 0x01, 0xf0, 0xc3], &sig, &Policy::default()).expect("accepted");
/// assert_eq!((r.instructions(), r.returns(), r.frame_bytes()), (3, 1, 0));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Report {
    signature: Signature,
    bytes: usize,
    /// The rest, as `run` found it.
    proof: Proof,
}

impl Report {
    /// Out of line, so the report is written straight into the caller's
    /// result (built inline, it went through a stack temporary: two copies
    /// of the signature instead of one).
    #[inline(never)]
    fn new(signature: &Signature, bytes: usize, proof: Proof) -> Report {
        Report {
            signature: *signature,
            bytes,
            proof,
        }
    }
}

impl fmt::Debug for Report {
    // Flat, as a derived `Debug` of all the fields in one struct would be.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.proof;
        f.debug_struct("Report")
            .field("signature", &self.signature)
            .field("bytes", &self.bytes)
            .field("instructions", &p.instructions)
            .field("reachable", &p.reachable)
            .field("blocks", &p.blocks)
            .field("returns", &p.returns)
            .field("frame_bytes", &p.frame_bytes)
            .field("loops", &p.loops)
            .field("steps", &p.steps)
            .field("max_steps", &p.max_steps)
            .finish()
    }
}

impl Report {
    /// The signature proven.
    #[must_use]
    pub fn signature(&self) -> Signature {
        self.signature
    }
    /// Instructions decoded.
    #[must_use]
    pub fn instructions(&self) -> usize {
        self.proof.instructions
    }
    /// Instructions reachable from the entry.
    #[must_use]
    pub fn reachable(&self) -> usize {
        self.proof.reachable
    }
    /// Basic blocks.
    #[must_use]
    pub fn blocks(&self) -> usize {
        self.proof.blocks
    }
    /// Reachable `ret` instructions (each checked).
    #[must_use]
    pub fn returns(&self) -> usize {
        self.proof.returns
    }
    /// Deepest `rsp` below its entry value, in bytes.
    #[must_use]
    pub fn frame_bytes(&self) -> u64 {
        self.proof.frame_bytes
    }
    /// Whether the code has a backward branch.
    #[must_use]
    pub fn has_loops(&self) -> bool {
        self.proof.loops
    }
    /// Instructions interpreted in total (fixpoint work).
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.proof.steps
    }
    /// An upper bound on the instructions one call of the code executes
    /// (a `call` counts as one: the callee's own work is not included), or
    /// `None` when there is no useful bound: code with loops validated
    /// without [`Policy::require_termination`], loops whose trip counts the
    /// analysis cannot bound, `rep movs`/`rep stos` (each repeats `rcx`
    /// times, and a single-stepping count sees every repetition), or a bound
    /// that does not fit in a `u64`.
    /// Loop-free code runs each reachable instruction at most once. For a
    /// loop, the bound comes from its termination proof and the facts at
    /// its head (`termination.rs`): the range of its induction register
    /// and of its bound, over the step. Those ranges exist only where the
    /// value domain ran (code with buffers, indexed memory operands or
    /// division to prove, or a loop whose proof needed known low bits);
    /// elsewhere a loop's bound is `2^bits` rounds, and with unknown
    /// arguments most loops to an argument are bounded near `2^64`.
    ///
    /// ```
    /// use npk_jit::{validate, Policy};
    /// let sig = "int64(int64* xs[16])".parse().expect("valid signature");
    /// // xor eax,eax; xor ecx,ecx; top: add rax,[rdi+rcx*8]; inc rcx;
    /// // cmp rcx,16; jl top; ret: 2 + 16 * 4 + 1 instructions run
    /// let code = [
    ///     0x31, 0xc0, 0x31, 0xc9, 0x48, 0x03, 0x04, 0xcf, 0x48, 0xff, 0xc1, 0x48, 0x83, 0xf9,
    ///     0x10, 0x7c, 0xf3, 0xc3,
    /// ];
    /// let r = validate(&code, &sig, &Policy::runtime()).expect("accepted");
    /// let bound = r.max_steps().expect("a bounded loop");
    /// assert!((67..=100).contains(&bound), "{bound}");
    /// ```
    #[must_use]
    pub fn max_steps(&self) -> Option<u64> {
        self.proof.max_steps
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.proof;
        write!(
            f,
            "accepted as {}: {} bytes, {} instructions ({} reachable), {} blocks, {} ret, frame {} bytes, {}",
            self.signature,
            self.bytes,
            p.instructions,
            p.reachable,
            p.blocks,
            p.returns,
            p.frame_bytes,
            if p.loops { "loops" } else { "no loops" }
        )?;
        match p.max_steps {
            Some(m) => write!(f, ", at most {m} instructions per call"),
            None => Ok(()),
        }
    }
}

/// Validates `code` as a SysV function of type `sig` under `policy`.
///
/// A thin wrapper over a per-thread [`Validator`], so repeated calls reuse
/// its buffers.
///
/// # Errors
/// The first [`Violation`] found: its offset, the instruction and the rule.
pub fn validate(code: &[u8], sig: &Signature, policy: &Policy) -> Result<Report, Violation> {
    thread_local! {
        /// The thread's validator, lent out while it validates.
        static VALIDATOR: Cell<Option<Box<Validator>>> = const { Cell::new(None) };
    }
    /// Puts the validator back when dropped: after the result is written
    /// straight into the caller's (returned through the thread-local
    /// access, it was copied twice).
    struct Lease(Option<Box<Validator>>);
    impl Drop for Lease {
        fn drop(&mut self) {
            let v = self.0.take();
            let _ = VALIDATOR.try_with(|slot| slot.set(v));
        }
    }
    // Empty on a thread's first call, and if validation re-entered itself
    // or the thread's storage is being destroyed: then a fresh validator.
    let mut lease = Lease(VALIDATOR.try_with(Cell::take).ok().flatten());
    lease
        .0
        .get_or_insert_with(fresh)
        .validate(code, sig, policy)
}

/// A validator for a thread's first call (or a re-entered or destroyed
/// thread-local), built out of line: built in place, its ~6.7 KB would be
/// `validate()`'s stack frame, probed on every call.
#[cold]
#[inline(never)]
fn fresh() -> Box<Validator> {
    Box::new(Validator::new())
}

/// A reusable validator: holds the scratch space (decoded instructions,
/// block tables, abstract states) and the iced helpers, so validating many
/// small functions does not allocate per call. Results are identical to
/// [`validate`].
///
/// ```
/// use npk_jit::{Policy, Validator};
/// let sig = "int64(int64,int64)".parse().expect("valid signature");
/// let mut v = Validator::new();
/// // lea rax, [rdi+rsi] ; ret
/// assert!(v.validate(&[0x48, 0x8d, 0x04, 0x37, 0xc3], &sig, &Policy::default()).is_ok());
/// // mov rax, [rdi] ; ret (a load through a non-pointer argument)
/// assert!(v.validate(&[0x48, 0x8b, 0x07, 0xc3], &sig, &Policy::default()).is_err());
/// ```
pub struct Validator {
    uses: Uses,
    records: Records,
    instrs: Vec<Instruction>,
    /// Each instruction lowered for the fixpoint.
    ops: Vec<Op>,
    block_start: Vec<u32>,
    /// Block index of each leader instruction (at least `n + 1` entries;
    /// the others are stale or [`NO_INSTR`] and never read).
    block_of: Vec<u32>,
    /// State at each block start; meaningful only where `mark[b]` has
    /// [`HAVE`].
    states: Vec<State>,
    /// [`HAVE`], [`QUEUED`] and [`VISITED`] bits of each block.
    mark: Vec<u8>,
    /// The worklist of a function with more than 64 blocks (fewer: a bit
    /// mask in `run`).
    work: BinaryHeap<Reverse<u32>>,
    /// The work units `run` has spent (in memory: the step loop has no
    /// register to spare).
    units: u64,
    /// Indices of the branches, calls and returns, in order (the only
    /// instructions `blocks` looks at).
    transfers: Vec<u32>,
    /// The state being stepped through a block.
    cur: State,
    /// The state of a conditional jump's taken edge, while it is narrowed
    /// (with `cur`'s slot list, lent until the other edge).
    edge: Edge,
    /// The entry state of the last signature without buffers validated
    /// without assumed arguments, and that signature's
    /// [`Signature::entry_key`]: copied instead of built while it matches.
    entry: State,
    entry_for: Option<u32>,
    /// Constants the code compares with: widening stops there first.
    thresholds: crate::num::Thresholds,
    /// Whether the last run used the value domain.
    rich: bool,
    /// Facts of the decoded code, gathered by `decode` (in memory: the
    /// decode loop has no register to spare): [`FACT_INDEXED`], a memory
    /// operand with an index register (other than `lea`'s and `nop`'s);
    /// [`FACT_DIVISION`], a `div` or `idiv`; [`FACT_STRING`], a string copy
    /// or fill. Read where used, not turned into booleans.
    facts: u8,
    /// Scratch space for joining slot lists.
    scratch: Vec<crate::state::Slot>,
    /// Scratch space for the reachability check.
    reach: Reach,
    /// Scratch space for termination proofs.
    loops: crate::termination::Scratch,
    /// The blocks a back edge spans, for code of at most 64 instructions
    /// with a backward jump (set by `blocks`, see [`Validator::span_small`]).
    spanned: u64,
    /// The conditional jumps, for [`Validator::exits_reach_ret`] (set by
    /// `blocks`).
    exits: u64,
    /// Tests: step every block of code with loops in a copy (the rule the
    /// in-place stepping of blocks no back edge spans must match).
    #[cfg(test)]
    copy_all: bool,
    /// Tests: give the termination proof no self-loop heads (the graph
    /// walk finds them; the heads `mark_spanned` reads must match).
    #[cfg(test)]
    no_self_heads: bool,
    /// Tests: count and test every step's work units (the rule the
    /// per-block count must match).
    #[cfg(test)]
    exact_budget: bool,
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("capacity", &self.instrs.capacity())
            .finish_non_exhaustive()
    }
}

impl Default for Validator {
    fn default() -> Validator {
        Validator::new()
    }
}

impl Validator {
    /// A validator with empty scratch space.
    #[must_use]
    pub fn new() -> Validator {
        Validator {
            uses: Uses::new(),
            records: Records::new(),
            instrs: Vec::new(),
            ops: Vec::new(),
            block_start: Vec::new(),
            block_of: Vec::new(),
            states: Vec::new(),
            mark: Vec::new(),
            work: BinaryHeap::new(),
            units: 0,
            transfers: Vec::new(),
            cur: State::empty(),
            edge: Edge {
                st: State::empty(),
                lent: false,
                next: NEXT_REFINE,
                next_s: crate::scalar::Scalar::unknown(),
            },
            entry: State::empty(),
            entry_for: None,
            thresholds: crate::num::Thresholds::default(),
            rich: false,
            facts: 0,
            scratch: Vec::new(),
            reach: Reach::default(),
            loops: crate::termination::Scratch::default(),
            spanned: 0,
            exits: 0,
            #[cfg(test)]
            copy_all: false,
            #[cfg(test)]
            no_self_heads: false,
            #[cfg(test)]
            exact_budget: false,
        }
    }

    /// Validates `code` as a SysV function of type `sig` under `policy`.
    ///
    /// # Errors
    /// The first [`Violation`] found: its offset, the instruction and the rule.
    // Inline: [`validate`] calls it once, and the call cost ~25 instructions
    // (saved registers, the arguments moved again).
    #[inline]
    pub fn validate(
        &mut self,
        code: &[u8],
        sig: &Signature,
        policy: &Policy,
    ) -> Result<Report, Violation> {
        if sig.has_pointer() && policy.pointer_access == PointerAccess::Forbidden {
            return Err(Violation::new(
                0,
                String::new(),
                ViolationKind::PointerSignatureNotAllowed,
            ));
        }
        if code.is_empty() {
            return Err(Violation::new(0, String::new(), ViolationKind::EmptyCode));
        }
        if code.len() > crate::MAX_CODE_SIZE {
            return Err(Violation::new(
                0,
                String::new(),
                ViolationKind::CodeTooLarge { bytes: code.len() },
            ));
        }
        // Code that does not need the value domain runs without it; a loop
        // its termination proof could not settle there (a step of more than
        // one toward a bound needs known low bits) gets a second run with it.
        // The report is built here, in the caller's result, from the small
        // [`Proof`] (a `Report` returned by `run` would be copied there).
        let mut proof = self.run(code, sig, policy, false);
        let settle_in_values = matches!(
            proof,
            Err(Fail::At(
                _,
                ViolationKind::LoopNotProven {
                    gap: crate::TerminationGap::StepMissesBound,
                },
            ))
        );
        if settle_in_values && !self.rich {
            proof = self.run(code, sig, policy, true);
        }
        match proof {
            Ok(proof) => Ok(Report::new(sig, code.len(), proof)),
            Err(fail) => Err(self.violation(code, fail)),
        }
    }

    /// The first pass of [`Validator::validate`] alone: decodes `code` and
    /// checks that every instruction is one the validator models and `policy`
    /// allows (no control flow, no signature, no abstract interpretation).
    /// Returns the number of instructions. Code that passes may still be
    /// rejected by `validate`; code that fails is rejected by it with the
    /// same violation (unless the signature itself is refused first).
    ///
    /// ```
    /// use npk_jit::{Policy, Validator};
    /// let mut v = Validator::new();
    /// // lea rax, [rdi+rsi] ; ret
    /// assert_eq!(v.scan(&[0x48, 0x8d, 0x04, 0x37, 0xc3], &Policy::default()).ok(), Some(2));
    /// // syscall
    /// assert!(v.scan(&[0x0f, 0x05], &Policy::default()).is_err());
    /// ```
    ///
    /// # Errors
    /// The first undecodable or refused instruction.
    pub fn scan(&mut self, code: &[u8], policy: &Policy) -> Result<usize, Violation> {
        if code.is_empty() {
            return Err(Violation::new(0, String::new(), ViolationKind::EmptyCode));
        }
        match self.decode::<false>(code, policy) {
            Ok(()) => Ok(self.instrs.len()),
            Err(fail) => Err(self.violation(code, fail)),
        }
    }

    fn violation(&self, code: &[u8], fail: Fail) -> Violation {
        match fail {
            Fail::Bytes(off, len, kind) => {
                let end = code.len().min(off + len.max(1));
                Violation::new(off, hex_text(&code[off.min(end)..end]), kind)
            }
            Fail::At(i, kind) => Violation::at(&self.instrs[i], kind),
        }
    }

    /// Decodes and classifies every instruction, and with `LOWER` lowers it;
    /// fills `instrs`, `transfers` and (with `LOWER`) `ops`.
    fn decode<const LOWER: bool>(&mut self, code: &[u8], policy: &Policy) -> Result<(), Fail> {
        // `instrs` keeps its old entries as decode slots (iced overwrites a
        // slot whole); it is cut to the decoded count at the end, and only
        // decoded entries are read before that.
        let mut count = 0;
        self.ops.clear();
        self.transfers.clear();
        self.facts = 0;
        // The decoder is used where `try_with_ip` put it, inside its
        // `Result`: `with_ip`'s unwrap copies the 464-byte decoder out. The
        // `ManuallyDrop` keeps the `Result`'s drop (its error holds a string)
        // and its unwind paths out of the loop; with them the loop cost ~100
        // more per validation than the copy saves. 64 is a valid bitness, so
        // the error (and the leak) never happens.
        let mut built =
            std::mem::ManuallyDrop::new(Decoder::try_with_ip(64, code, 0, DecoderOptions::NONE));
        let Ok(decoder) = &mut *built else {
            unreachable!("64 is a valid bitness")
        };
        while decoder.can_decode() {
            // Decode in place: copying the instruction costs about as much
            // as decoding it.
            let i = count;
            count += 1;
            if i == self.instrs.len() {
                self.instrs.push(Instruction::default());
            }
            let ins = &mut self.instrs[i];
            decoder.decode_out(ins);
            let ins = &*ins;
            let off = ins.ip() as usize;
            if ins.is_invalid() {
                let kind = if decoder.last_error() == DecoderError::NoMoreBytes {
                    ViolationKind::TruncatedInstruction
                } else {
                    ViolationKind::InvalidInstruction
                };
                return Err(Fail::Bytes(off, ins.len(), kind));
            }
            let key = Records::key(ins);
            let rec = self.records.get(key, ins);
            let bytes = &code[off..];
            if let Err(kind) = check_with(&rec, ins, bytes, policy) {
                return Err(Fail::At(i, kind));
            }
            // The indexed-access fact counts only with an index register.
            let indexed = u8::from(ins.memory_index() != iced_x86::Register::None) * FACT_INDEXED;
            self.facts |= rec.facts & (indexed | FACT_DIVISION | FACT_STRING);
            if rec.flow().is_transfer() {
                self.transfers.push(i as u32);
            }
            if LOWER {
                let no_prefix = !is_legacy_prefix(bytes[0]);
                let op = self.ops.push_mut(rec.op());
                self.records.lower_into(key, &rec, ins, no_prefix, op);
            }
        }
        self.instrs.truncate(count);
        Ok(())
    }

    /// Resolves branch targets (into the jumps' `Op::k`) and splits the code
    /// into basic blocks. Returns whether there is a backward branch.
    /// Out of line: its code and registers stay apart from `run`'s fixpoint
    /// (inlined, any change here moved `run`'s register allocation).
    #[inline(never)]
    fn blocks(&mut self, code: &[u8], policy: &Policy) -> Result<bool, Fail> {
        if self.instrs.len() <= 64 {
            self.blocks_in::<true>(code, policy)
        } else {
            self.blocks_large(code, policy)
        }
    }

    /// [`Validator::blocks`] of code of more than 64 instructions.
    #[inline(never)]
    #[cold]
    fn blocks_large(&mut self, code: &[u8], policy: &Policy) -> Result<bool, Fail> {
        self.blocks_in::<false>(code, policy)
    }

    /// [`Validator::blocks`]; `SMALL`: the code has at most 64 instructions.
    #[inline(always)]
    fn blocks_in<const SMALL: bool>(&mut self, code: &[u8], policy: &Policy) -> Result<bool, Fail> {
        let n = self.instrs.len();
        // Leaders of code of at most 64 instructions (the usual case) are
        // bits of a mask, and `block_of` is written at the leaders alone
        // (nothing reads it elsewhere): no table is cleared per call.
        // Longer code marks them in `block_of`, cleared first.
        let mut leaders: u64 = 1;
        if SMALL {
            if self.block_of.len() <= n {
                self.block_of.resize(n + 1, NO_INSTR);
            }
        } else {
            self.block_of.clear();
            self.block_of.resize(n + 1, NO_INSTR);
            self.block_of[0] = LEADER;
        }
        let mut loops = false;
        // The backward jumps of small code (bit `i`: the jump at `i`), for
        // the spanned blocks once blocks are numbered.
        let mut back: u64 = 0;
        // The conditional jumps of small code (bit `i`: the jump at `i`),
        // for [`Validator::exits_reach_ret`]; bit 63 when that check
        // cannot answer (see there).
        let mut exits: u64 = u64::from(!SMALL) << 63;
        for &i in &self.transfers {
            let i = i as usize;
            let ins = &self.instrs[i];
            let flow = self.ops[i].flow;
            match flow {
                Flow::Jump | Flow::CondJump => {
                    // A modelled jump is a direct near branch: its target
                    // is the operand iced stores truncated to its width,
                    // read here without `near_branch_target`'s match on
                    // the operand kind (tests: the same value).
                    let t = ins.near_branch64();
                    #[cfg(test)]
                    assert_eq!(t, ins.near_branch_target(), "{ins}");
                    let Some(ti) = (t < code.len() as u64)
                        .then(|| instruction_at(&self.instrs, t))
                        .flatten()
                    else {
                        return Err(bad_target(i, t, code.len()));
                    };
                    let cond = flow == Flow::CondJump;
                    exits |= u64::from(cond) << (i & 63);
                    if ti <= i {
                        loops = true;
                        if !policy.allow_loops {
                            return Err(Fail::At(i, ViolationKind::LoopNotAllowed));
                        }
                        back |= 1 << (i & 63);
                        exits |= u64::from(!cond) << 63;
                    }
                    self.ops[i].k = ti as i64;
                    if SMALL {
                        // `ti < n <= 64`; bit 64 (after the last
                        // instruction) is not needed.
                        leaders |= 1 << ti | 2 << i;
                    } else {
                        self.block_of[ti] = LEADER;
                        self.block_of[i + 1] = LEADER;
                    }
                }
                Flow::Call => check_call(i, ins, code.len(), policy)?,
                Flow::Return => {
                    if SMALL {
                        leaders |= 2 << i;
                    } else {
                        self.block_of[i + 1] = LEADER;
                    }
                }
                Flow::Next => {}
            }
        }
        // Numbered in a local vector: the loop keeps it in registers.
        let mut starts = std::mem::take(&mut self.block_start);
        starts.clear();
        if SMALL {
            // Leader `n` (after the last instruction) starts no block.
            let mut m = leaders & (u64::MAX >> (64 - n));
            while m != 0 {
                let i = m.trailing_zeros() as usize;
                self.block_of[i] = starts.len() as u32;
                starts.push(i as u32);
                m &= m - 1;
            }
            if back != 0 {
                self.span_small(back, starts.len());
            }
        } else {
            for (i, slot) in self.block_of[..n].iter_mut().enumerate() {
                if *slot == LEADER {
                    *slot = starts.len() as u32;
                    starts.push(i as u32);
                }
            }
        }
        self.block_start = starts;
        self.exits = exits;
        Ok(loops)
    }

    /// Marks the blocks a back edge spans ([`SPANNED`]; a jump at `i` to
    /// `t <= i` spans the blocks from `t`'s to `i`'s). A block in a cycle
    /// is spanned: the cycle enters it from a lower block or itself and
    /// leaves it for a higher block or itself, so some edge of the cycle
    /// goes back across it or from or to it. A block no back edge spans is
    /// popped once (the worklist pops the lowest block; after that only a
    /// back edge across it could queue a block at or below it), all its
    /// edges go forward and it heads no loop, so nothing reads its stored
    /// state after the pop. Meeting every backward jump, it also hands the
    /// termination proof the blocks jumping to themselves when every
    /// backward jump does (at most 64 blocks; `Scratch::self_heads`).
    #[inline(never)]
    fn mark_spanned(&mut self, blocks: usize) {
        let n = self.instrs.len();
        #[cfg(test)]
        if self.copy_all {
            self.mark[..blocks].iter_mut().for_each(|m| *m |= SPANNED);
        }
        // The blocks jumping to themselves, while every back edge does
        // (for the termination proof).
        let mut heads = 0u64;
        let mut self_only = blocks <= 64;
        for &i in &self.transfers {
            let i = i as usize;
            let op = &self.ops[i];
            if matches!(op.flow, Flow::Jump | Flow::CondJump) && op.k as usize <= i {
                // The jump ends its block, and the next instruction (if
                // any) is a leader.
                let first = self.block_of[op.k as usize] as usize;
                let last = if i + 1 == n {
                    blocks - 1
                } else {
                    self.block_of[i + 1] as usize - 1
                };
                if first == last {
                    self.mark[first] |= SPANNED;
                } else {
                    self_only = false;
                    self.mark[first..=last]
                        .iter_mut()
                        .for_each(|m| *m |= SPANNED);
                }
                heads |= 1 << (first & 63);
            }
        }
        self.loops.self_heads = self_only.then_some(heads);
        #[cfg(test)]
        if self.no_self_heads {
            self.loops.self_heads = None;
        }
    }

    /// [`Validator::mark_spanned`]'s rule for code of at most 64
    /// instructions, from `blocks`' mask of the backward jumps (`back`, bit
    /// `i` for the jump at `i`) once the `count` blocks are numbered: the
    /// spanned blocks as a mask (`spanned`, written into the marks by
    /// `run`) and the self-loop heads, without a second scan of the
    /// transfers.
    fn span_small(&mut self, mut back: u64, count: usize) {
        let n = self.instrs.len();
        let (mut spanned, mut heads) = (0u64, 0u64);
        let mut self_only = true;
        while back != 0 {
            let i = back.trailing_zeros() as usize;
            back &= back - 1;
            let first = self.block_of[self.ops[i].k as usize] as usize;
            let last = if i + 1 == n {
                count - 1
            } else {
                self.block_of[i + 1] as usize - 1
            };
            self_only &= first == last;
            // Bits `first..=last` (both below 64).
            spanned |= (u64::MAX >> (63 - last)) & (u64::MAX << first);
            heads |= 1 << first;
        }
        self.spanned = spanned;
        self.loops.self_heads = self_only.then_some(heads);
    }

    /// Tests: checks `span_small`'s marks and heads against
    /// [`Validator::mark_spanned`] (every test run of small code with a
    /// loop), which then applies the test flags.
    #[cfg(test)]
    fn test_spanned(&mut self, blocks: usize) {
        let fast = self.mark[..blocks].to_vec();
        let heads = self.loops.self_heads;
        self.mark[..blocks].iter_mut().for_each(|m| *m &= !SPANNED);
        self.mark_spanned(blocks);
        if !self.copy_all {
            assert_eq!(fast, self.mark[..blocks], "spanned blocks");
        }
        if !self.no_self_heads {
            assert_eq!(heads, self.loops.self_heads, "self-loop heads");
        }
    }

    fn block_end(&self, b: usize) -> usize {
        self.block_start
            .get(b + 1)
            .map_or(self.instrs.len(), |&e| e as usize)
    }

    fn run(
        &mut self,
        code: &[u8],
        sig: &Signature,
        policy: &Policy,
        force_rich: bool,
    ) -> Result<Proof, Fail> {
        self.decode::<true>(code, policy)?;
        let loops = self.blocks(code, policy)?;
        let n = self.instrs.len();
        let blocks = self.block_start.len();

        // The symbol facts live here only when there are any (buffers);
        // otherwise the context borrows the constant empty table.
        let syms;
        let entry_syms = if sig.has_buffer() {
            syms = Ctx::entry_syms_of(policy, sig);
            &syms
        } else {
            &crate::num::NO_SYMS
        };
        let mut ctx = Ctx::new(policy, sig, code.len(), entry_syms);
        // The value domain only where it is needed: buffers, indexed memory
        // operands (stack arrays), division that must be proven.
        // (Tested without branches: each test is a load or two.)
        let division = FACT_DIVISION * u8::from(!policy.allow_division);
        ctx.rich = force_rich
            | policy.assumed_args.is_some()
            | ctx.has_buffer
            | (self.facts & (FACT_INDEXED | division) != 0);
        if self.states.len() < blocks {
            self.states.resize_with(blocks, State::empty);
        }
        // At most 64 blocks (the usual case): 64 marks cleared in one
        // constant-size write instead of a fill of `blocks` of them (marks
        // past `blocks` are never read).
        if blocks <= 64 {
            if self.mark.len() < 64 {
                self.mark.resize(64, 0);
            }
            self.mark[..64].fill(0);
        } else {
            self.mark.clear();
            self.mark.resize(blocks, 0);
        }
        self.entry_state(&ctx);
        self.thresholds.clear();
        self.rich = ctx.rich;
        if loops {
            if n <= 64 {
                // `blocks` found the spanned blocks (at most 64).
                let mut m = self.spanned;
                while m != 0 {
                    self.mark[m.trailing_zeros() as usize] |= SPANNED;
                    m &= m - 1;
                }
                #[cfg(test)]
                self.test_spanned(blocks);
            } else {
                self.mark_spanned(blocks);
            }
        }
        self.mark[0] |= HAVE | QUEUED;
        // The worklist pops the smallest block first: a bit mask when every
        // block fits in one word (the usual case), else a heap.
        let small = blocks <= 64;
        let mut queue: u64 = u64::from(loops);
        self.work.clear();
        if loops && !small {
            self.work.push(Reverse(0));
        }
        // Work units: one per step, plus the stack slots each step may shift
        // (a sixteenth per slot) and each state copy or join moves (one per
        // slot). Time and memory are linear in the units spent.
        // Cannot overflow: a `u32` times at most `MAX_CODE_SIZE` (a
        // saturating product kept its overflow flag for every step's test).
        const _: () = assert!(crate::MAX_CODE_SIZE as u64 <= 1 << 32);
        let budget = u64::from(policy.steps_per_instruction) * n as u64;
        let mut steps = 0u64;
        self.units = 0;
        let mut deepest = 0i64;
        let plain = crate::fast::plain_run(&ctx);
        // Returns stepped (each block once without loops: the reachable
        // returns).
        let mut stepped_returns = 0usize;

        // Without backward branches every edge goes to a later block, so
        // visiting the blocks in index order once is exactly the order the
        // worklist would produce; with loops, the worklist iterates.
        let mut cursor = 0;
        loop {
            let b = if !loops {
                if cursor == blocks {
                    break;
                }
                cursor += 1;
                cursor - 1
            } else if small {
                if queue == 0 {
                    break;
                }
                let b = queue.trailing_zeros() as usize;
                queue &= queue - 1;
                b
            } else {
                match self.work.pop() {
                    Some(Reverse(b)) => b as usize,
                    None => break,
                }
            };
            // One read and one write of the mark.
            let mark = &mut self.mark[b];
            let had = *mark & HAVE != 0;
            let copy = *mark & SPANNED != 0;
            *mark = (*mark & !QUEUED) | if had { VISITED } else { 0 };
            if !had {
                continue;
            }
            let start = self.block_start[b] as usize;
            let end = self.block_end(b);
            // A block a back edge spans keeps its stored state (a back edge
            // may join into it, the termination proof reads a loop head's),
            // so it is stepped in a copy. Any other block (all of acyclic
            // code) is visited once and every edge leaves it for a later
            // block, so its stored state is never read again and is stepped
            // in place; successors are in `later` (block `sb` at
            // `sb - first`).
            let (cur, later, first) = if copy {
                self.cur.clone_from(&self.states[b]);
                (&mut self.cur, &mut self.states[..], 0)
            } else {
                let (head, tail) = self.states.split_at_mut(b + 1);
                (&mut head[b], tail, b + 1)
            };
            if loops {
                self.units += 1 + cur.slots.len() as u64;
            }
            // (Counted for the whole block: a step that fails ends the run,
            // and a failed run reports no steps.)
            steps += (end - start) as u64;
            let ops = &self.ops[start..end];
            let instrs = &self.instrs[start..end];
            // A step costs one unit, plus the slot list it may shift (a
            // sixteenth per slot). While the list is shorter than 16 a
            // step costs exactly one unit, and if the whole block's units
            // fit the budget no step can exceed it: they are counted once
            // for the block. From the first step where the list is longer
            // (or from the first, where they do not fit) each step is
            // counted and tested, so the budget error names the same
            // instruction.
            let fits = self.units + (end - start) as u64 <= budget;
            #[cfg(test)]
            let fits = fits && !self.exact_budget;
            let mut exact = if fits {
                self.units += (end - start) as u64;
                16
            } else {
                0
            };
            for (k, (op, ins)) in ops.iter().zip(instrs).enumerate() {
                let i = start + k;
                if cur.slots.len() >= exact {
                    if exact != 0 {
                        // The steps from this one on were counted.
                        self.units -= (end - i) as u64;
                        exact = 0;
                    }
                    self.units += 1 + (cur.slots.len() >> 4) as u64;
                    if self.units > budget {
                        return Err(Fail::At(i, ViolationKind::AnalysisBudgetExceeded));
                    }
                }
                // A fast form either steps or leaves the state alone (as
                // `exec` does for a `Generic` op); then the generic step
                // runs (and names the violation, if any).
                let stepped = if plain {
                    exec::<true>(&ctx, cur, op, ins)
                } else {
                    exec::<false>(&ctx, cur, op, ins)
                };
                if stepped.is_err() {
                    let result = if op.form == Form::Jump {
                        // The only rule a direct jump can break.
                        Err(ViolationKind::UndefinedFlagsRead {
                            flags: u32::from(op.flags[0]) & !cur.flags,
                        })
                    } else {
                        let [read, modified, undefined] = op.flags.map(u32::from);
                        let flags = Flags {
                            read,
                            modified,
                            undefined,
                        };
                        let no_prefix = !is_legacy_prefix(code[ins.ip() as usize]);
                        let (regs, mems) = self.uses.of(ins, ins.mnemonic(), no_prefix);
                        step(&ctx, cur, ins, regs, mems, flags)
                    };
                    if let Err(kind) = result {
                        return Err(Fail::At(i, kind));
                    }
                    deepest = deepest.min(cur.rsp());
                } else if usize::from(op.r0) == RSP {
                    // A fast form that steps writes no register but its
                    // operand 0 (and `rax`/`rdx`), so only one writing
                    // `rsp` can move it (the fast-path test checks this).
                    deepest = deepest.min(cur.rsp());
                }
            }
            // Only a block's last instruction can leave it: a branch or a
            // return ends its block (`blocks` makes the next instruction a
            // leader).
            let i = end - 1;
            let op = &self.ops[i];
            if op.flow == Flow::Return {
                // No successor: the edge loop is skipped (~50 instructions
                // per return).
                stepped_returns += 1;
                continue;
            }
            let succs = match op.flow {
                Flow::Return => [NO_INSTR; 2],
                Flow::Jump => [op.k as u32, NO_INSTR],
                Flow::CondJump => [op.k as u32, end as u32],
                Flow::Call | Flow::Next => [end as u32, NO_INSTR],
            };
            // A conditional jump after a comparison narrows each edge:
            // the taken edge in a copy (`self.edge`), the last edge in
            // `cur` itself (refinement changes only registers and
            // symbols).
            let cc = (op.flow == Flow::CondJump && informative(cur))
                .then(|| &self.instrs[i])
                .filter(|ins| is_direct_jump(ins.mnemonic()))
                .map(Instruction::condition_code);
            for (e, s) in succs.into_iter().enumerate() {
                if s == NO_INSTR {
                    continue;
                }
                let s = s as usize;
                if s >= n {
                    return Err(Fail::At(i, ViolationKind::FallsOffEnd));
                }
                let last_edge = e == 1 || succs[1] == NO_INSTR;
                let src: &State = match cc {
                    Some(cc) => {
                        self.units += 1;
                        // A dead edge gives its target nothing.
                        match cond_edge(
                            &ctx,
                            cur,
                            &mut self.edge,
                            cc,
                            e,
                            last_edge,
                            &mut self.thresholds,
                        ) {
                            Some(edge) => edge,
                            None => continue,
                        }
                    }
                    None => cur,
                };
                let sb = self.block_of[s] as usize;
                // A first state for the target is copied into the state
                // kept there (its slot buffer reused): states stay in
                // one vector, so a large function allocates them once.
                let changed = if self.mark[sb] & HAVE != 0 {
                    let old = &mut later[sb - first];
                    if old.rsp() != src.rsp() {
                        // Reported at the join, where the paths meet.
                        return Err(Fail::At(s, ViolationKind::StackPointerMismatch));
                    }
                    self.units += 1 + (old.slots.len() + src.slots.len()) as u64;
                    // A back edge widens (loop heads are its targets).
                    let widen = (sb <= b).then_some((ctx.entry_syms, self.thresholds.as_slice()));
                    old.join_from(src, &mut self.scratch, widen)
                } else {
                    self.units += 1 + src.slots.len() as u64;
                    later[sb - first].clone_from(src);
                    self.mark[sb] |= HAVE;
                    true
                };
                if loops && changed && self.mark[sb] & QUEUED == 0 {
                    self.mark[sb] |= QUEUED;
                    if small {
                        queue |= 1 << sb;
                    } else {
                        self.work.push(Reverse(sb as u32));
                    }
                }
            }
        }
        // What loops repeat beyond one run of each visited block: unknown
        // without their termination proofs.
        let mut repeated = None;
        if loops {
            self.check_reaches_ret(blocks)?;
            if policy.require_termination {
                let view = crate::termination::Blocks {
                    instrs: &self.instrs,
                    ops: &self.ops,
                    start: &self.block_start,
                    block_of: &self.block_of[..=n],
                    mark: &self.mark[..blocks],
                    states: &self.states,
                    ctx: &ctx,
                    transfers: &self.transfers,
                };
                // Linear in the code: a few units per instruction.
                let budget = u64::from(policy.steps_per_instruction).saturating_mul(n as u64);
                repeated = crate::termination::check(&view, &mut self.loops, budget)
                    .map_err(|(at, gap)| Fail::At(at, ViolationKind::LoopNotProven { gap }))?;
            }
        }
        // Without loops each visited block was stepped once and whole: the
        // steps are the reachable instructions (and, each running at most
        // once, the bound on what a call runs), and the returns stepped the
        // reachable returns (tests check them against the count; counted
        // after the fixpoint, they cost ~40 instructions per validation).
        let (reachable, returns, bound) = if loops {
            let (reachable, returns) = self.count_visited(blocks);
            let bound = repeated
                .map(|r: u64| r.saturating_add(reachable as u64))
                .filter(|&s| s != u64::MAX);
            (reachable, returns, bound)
        } else {
            #[cfg(test)]
            assert_eq!(
                (steps as usize, stepped_returns),
                self.count_visited(blocks),
                "reachable instructions and returns"
            );
            (steps as usize, stepped_returns, Some(steps))
        };
        let max_steps = bound.filter(|_| self.facts & FACT_STRING == 0);
        Ok(Proof {
            instructions: n,
            reachable,
            blocks,
            returns,
            frame_bytes: deepest.unsigned_abs(),
            loops,
            steps,
            max_steps,
        })
    }
}

impl Validator {
    /// The reachable instructions and returns after the fixpoint: a return
    /// always ends its block (`blocks` makes the next instruction a
    /// leader), and a visited block was stepped whole, so the reachable
    /// returns are the visited blocks ending in one. Walked backward, each
    /// block ends where the one after it starts (one slice each, no bounds
    /// test per block but the last op's).
    #[inline(never)]
    fn count_visited(&self, blocks: usize) -> (usize, usize) {
        let (mut reachable, mut returns) = (0, 0);
        let mut end = self.instrs.len();
        for (&start, &mark) in self.block_start[..blocks]
            .iter()
            .zip(&self.mark[..blocks])
            .rev()
        {
            if mark & VISITED != 0 {
                reachable += end - start as usize;
                returns += usize::from(self.ops[end - 1].flow == Flow::Return);
            }
            end = start as usize;
        }
        (reachable, returns)
    }

    /// Writes the entry state into `states[0]`. Without buffers and
    /// assumed arguments it depends on the parameter types alone
    /// ([`Signature::entry_key`]): it is built once per key and copied.
    fn entry_state(&mut self, ctx: &Ctx<'_>) {
        let key = ctx.sig.entry_key();
        match key.filter(|_| ctx.policy.assumed_args.is_none()) {
            Some(_) => {
                if self.entry_for != key {
                    ctx.entry_state_into(&mut self.entry);
                    self.entry_for = key;
                }
                // Such a state holds no numbers and no stack slots.
                self.states[0].clone_plain_from(&self.entry);
            }
            None => ctx.entry_state_into(&mut self.states[0]),
        }
    }

    /// The successors of visited block `b` (its last instruction's targets).
    fn successors(&self, b: usize) -> [u32; 2] {
        let end = self.block_end(b);
        let op = &self.ops[end - 1];
        let next = if end < self.instrs.len() {
            self.block_of[end]
        } else {
            NO_INSTR
        };
        match op.flow {
            Flow::Return => [NO_INSTR; 2],
            Flow::Jump => [self.block_of[op.k as usize], NO_INSTR],
            Flow::CondJump => [self.block_of[op.k as usize], next],
            Flow::Call | Flow::Next => [next, NO_INSTR],
        }
    }

    /// Every visited block must reach a `ret` (SPEC §8.4: no path may run
    /// forever without a way out). Only code with loops can break this: in
    /// acyclic code every path ends, and the fixpoint already rejected
    /// paths that fall off the end. At most three linear sweeps, then (for
    /// deeply chained back edges, or to name the trap) the exact linear
    /// search of [`Validator::check_reaches_ret_exactly`].
    fn check_reaches_ret(&mut self, blocks: usize) -> Result<(), Fail> {
        if self.exits_reach_ret() {
            // Tests: the rules below agree.
            #[cfg(test)]
            assert!(
                self.check_reaches_ret_by_edges(blocks).is_ok(),
                "exits_reach_ret let a trap through"
            );
            return Ok(());
        }
        self.check_reaches_ret_by_edges(blocks)
    }

    /// Whether every conditional jump's next instruction starts a visited
    /// block, in code of at most 64 instructions without a backward `jmp`
    /// and not ending in a conditional jump (`exits`, set by `blocks`:
    /// bit `i` for the conditional jump at `i`, bit 63 where the rule does
    /// not apply). Then every visited block reaches a `ret`, by induction
    /// from the last visited block down: a visited block returns, or ends
    /// in a conditional jump whose next block, a later one, was visited, or
    /// handed its state to its one successor, a later block (a forward
    /// `jmp` or the next block), which was then visited too. (A `jcc` at
    /// the last instruction has no next block; a jump back to the block
    /// that ends in it is a trap.) Otherwise the edges decide.
    #[inline]
    fn exits_reach_ret(&self) -> bool {
        let n = self.instrs.len();
        let mut m = self.exits;
        if m & (1 << 63 | 1 << ((n - 1) & 63)) != 0 {
            return false;
        }
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            if self.mark[self.block_of[i + 1] as usize] & VISITED == 0 {
                return false;
            }
        }
        true
    }

    /// [`Validator::check_reaches_ret`] by the edges of the visited blocks.
    #[inline(never)]
    fn check_reaches_ret_by_edges(&mut self, blocks: usize) -> Result<(), Fail> {
        // Every cycle a self-loop: the jumps alone settle it (where they
        // say no, the sweeps name the trap).
        if self.loops.self_heads.is_some() && self.self_loops_reach_ret() {
            return Ok(());
        }
        // Usually a few sweeps against the edges settle it: a sweep in
        // reverse block order carries "reaches a ret" back along forward
        // edges, and each further sweep across one more back edge. The
        // answer is kept in each block's `mark` ([`REACHES`]).
        let n = self.instrs.len();
        let mut missing = 0;
        for _ in 0..3 {
            missing = 0;
            for b in (0..blocks).rev() {
                if self.mark[b] & (VISITED | REACHES) != VISITED {
                    continue;
                }
                // The successors (as in [`Validator::successors`]) that reach.
                let end = self.block_end(b);
                let op = &self.ops[end - 1];
                let reaches = |s: u32| s != NO_INSTR && self.mark[s as usize] & REACHES != 0;
                let next = || {
                    if end < n {
                        self.block_of[end]
                    } else {
                        NO_INSTR
                    }
                };
                let target = || self.block_of[op.k as usize];
                let found = match op.flow {
                    Flow::Return => true,
                    Flow::Jump => reaches(target()),
                    Flow::CondJump => reaches(target()) || reaches(next()),
                    Flow::Call | Flow::Next => reaches(next()),
                };
                if found {
                    self.mark[b] |= REACHES;
                } else {
                    missing += 1;
                }
            }
            if missing == 0 {
                break;
            }
        }
        if missing == 0 {
            return Ok(());
        }
        self.check_reaches_ret_exactly(blocks)
    }

    /// [`Validator::check_reaches_ret`] when every backward jump is a block
    /// jumping to itself (`Scratch::self_heads`): whether every visited
    /// block ending in a conditional jump, or in a jump to itself, has a
    /// visited successor other than itself. Then every visited block
    /// reaches a `ret`, by induction from the last block: a visited block
    /// ending otherwise returns or passed its state on to its one
    /// successor, a later block (so that one was visited too), and every
    /// other edge goes to a later block. Otherwise such a block reaches
    /// none. Tested through `self_heads_answer_as_the_graph_walk`.
    fn self_loops_reach_ret(&self) -> bool {
        let n = self.instrs.len();
        let visited = |b: usize| self.mark[b] & VISITED != 0;
        for &j in &self.transfers {
            let j = j as usize;
            let op = &self.ops[j];
            let target = op.k as usize;
            let ok = match op.flow {
                Flow::CondJump => {
                    let b = self.block_ending(j);
                    let t = self.block_of[target] as usize;
                    !visited(b) || (t != b && visited(t)) || (j + 1 < n && visited(b + 1))
                }
                // Any jump back is to its own block.
                Flow::Jump if target <= j => !visited(self.block_ending(j)),
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// The block transfer `j` ends: the one before the block starting
    /// right after it, or the last block.
    fn block_ending(&self, j: usize) -> usize {
        if j + 1 < self.instrs.len() {
            self.block_of[j + 1] as usize - 1
        } else {
            self.block_start.len() - 1
        }
    }

    /// [`Validator::check_reaches_ret`] by a reverse search from the
    /// returns over predecessor lists: linear whatever the loop nesting.
    fn check_reaches_ret_exactly(&mut self, blocks: usize) -> Result<(), Fail> {
        // Predecessor lists in compressed rows: `pred_start[s]..pred_start[s+1]`
        // (buffers kept in the validator: no allocation per call).
        let mut r = std::mem::take(&mut self.reach);
        r.pred_start.clear();
        r.pred_start.resize(blocks + 1, 0);
        for b in (0..blocks).filter(|&b| self.mark[b] & VISITED != 0) {
            for s in self.successors(b).into_iter().filter(|&s| s != NO_INSTR) {
                r.pred_start[s as usize + 1] += 1;
            }
        }
        for s in 0..blocks {
            r.pred_start[s + 1] += r.pred_start[s];
        }
        r.fill.clone_from(&r.pred_start);
        r.preds.clear();
        r.preds.resize(r.pred_start[blocks] as usize, 0);
        r.reaches.clear();
        r.reaches.resize(blocks, false);
        r.stack.clear();
        for b in (0..blocks).filter(|&b| self.mark[b] & VISITED != 0) {
            for s in self.successors(b).into_iter().filter(|&s| s != NO_INSTR) {
                r.preds[r.fill[s as usize] as usize] = b as u32;
                r.fill[s as usize] += 1;
            }
            if self.ops[self.block_end(b) - 1].flow == Flow::Return {
                r.reaches[b] = true;
                r.stack.push(b as u32);
            }
        }
        while let Some(s) = r.stack.pop() {
            let s = s as usize;
            for k in r.pred_start[s] as usize..r.pred_start[s + 1] as usize {
                let p = r.preds[k] as usize;
                if !r.reaches[p] {
                    r.reaches[p] = true;
                    r.stack.push(p as u32);
                }
            }
        }
        // Name the loop that traps the code: the first stuck block ending in
        // a backward branch, else the first stuck block.
        let closes_loop = |b: usize| {
            let last = self.block_end(b) - 1;
            let op = &self.ops[last];
            matches!(op.flow, Flow::Jump | Flow::CondJump) && op.k as usize <= last
        };
        let stuck = |b: &usize| self.mark[*b] & VISITED != 0 && !r.reaches[*b];
        let culprit = (0..blocks)
            .filter(stuck)
            .find(|&b| closes_loop(b))
            .or_else(|| (0..blocks).find(stuck));
        self.reach = r;
        match culprit {
            Some(b) => Err(Fail::At(self.block_end(b) - 1, ViolationKind::NoReturnPath)),
            None => Ok(()),
        }
    }
}

/// Scratch buffers of [`Validator::check_reaches_ret`].
#[derive(Default)]
struct Reach {
    pred_start: Vec<u32>,
    fill: Vec<u32>,
    preds: Vec<u32>,
    reaches: Vec<bool>,
    stack: Vec<u32>,
}

/// What `run` proved: the [`Report`] but for the signature and the code
/// size, which the caller knows (returned small, the report is built once,
/// in place).
#[derive(Clone, PartialEq, Eq)]
struct Proof {
    instructions: usize,
    reachable: usize,
    blocks: usize,
    returns: usize,
    frame_bytes: u64,
    loops: bool,
    steps: u64,
    max_steps: Option<u64>,
}

/// Why `run` stopped: at undecodable bytes (offset, length), or at an
/// instruction (index into `instrs`).
enum Fail {
    Bytes(usize, usize, ViolationKind),
    At(usize, ViolationKind),
}

/// Checks call `ins` (instruction `i`) of code of `len` bytes: a direct
/// call must go to an allowed address outside the code. A call through an
/// import slot is checked when stepped. Out of line: calls are rare, and
/// the policy's call list stays out of `blocks`' registers.
#[cold]
#[inline(never)]
fn check_call(i: usize, ins: &Instruction, len: usize, policy: &Policy) -> Result<(), Fail> {
    if ins.code() == iced_x86::Code::Call_rm64 {
        return Ok(());
    }
    let target = policy.base_ip.wrapping_add(ins.near_branch_target());
    let allowed = policy.allowed_calls.iter().any(|c| c.address == target);
    let inside = ins.near_branch_target() < len as u64;
    if !allowed || inside {
        return Err(Fail::At(i, ViolationKind::CallNotAllowed { target }));
    }
    Ok(())
}

/// Why jump `i`'s target `t` is no instruction of code of `len` bytes.
#[cold]
fn bad_target(i: usize, t: u64, len: usize) -> Fail {
    let kind = if t < len as u64 {
        ViolationKind::TargetInsideInstruction { target: t as i64 }
    } else {
        ViolationKind::TargetOutsideCode { target: t as i64 }
    };
    Fail::At(i, kind)
}

/// The index of the instruction starting at byte `t`, if one does: a
/// binary search over the instructions' addresses (strictly increasing), so
/// a branch costs the logarithm of the instruction count and no table over
/// every byte of the code is filled. (A search outward from the branch,
/// a doubling window then a walk, cost about twice as much on the short
/// branches of typical code: its loop had more exits; `partition_point`
/// cost more than this loop, which has one exit and no equality test.)
/// The search reads where each instruction ends (`next_ip`, a field;
/// `ip` is computed from it and the length): the instruction starting at
/// `t` is the one after the last ending at `t`.
fn instruction_at(instrs: &[Instruction], t: u64) -> Option<usize> {
    // `at`: the last instruction ending at or before `t` (or 0), halving
    // a window whose first instruction ends at or before `t` (or is 0).
    let (mut at, mut size) = (0, instrs.len());
    while size > 1 {
        let half = size / 2;
        if instrs[at + half].next_ip() <= t {
            at += half;
        }
        size -= half;
    }
    let end = instrs.get(at)?.next_ip();
    if end <= t {
        (end == t && at + 1 < instrs.len()).then_some(at + 1)
    } else {
        // `at` is 0: the first instruction covers `t`.
        (instrs[at].ip() == t).then_some(at)
    }
}

fn hex_text(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("(bad) {}", hex.join(" "))
}

/// A conditional jump's taken edge: `st` the state narrowed to it, with
/// the slot list of the state it was copied from where `lent` (the
/// other edge's call gives it back); `next` what the taken edge's call
/// found out about the other edge ([`NEXT_REFINE`] and so on; the
/// compared register's range there in `next_s`).
struct Edge {
    st: State,
    lent: bool,
    next: u8,
    next_s: crate::scalar::Scalar,
}

/// The state a conditional jump's edge `e` gives its target, narrowed
/// to the executions taking it; `None` when the edge is dead. The last
/// edge is narrowed in `cur` itself; an earlier one (the taken edge) is
/// `cur` where refinement leaves it unchanged (two constants compared,
/// [`taken_unchanged`]) or changes only a plain number's range
/// ([`taken_in_place`]), otherwise a copy in `edge` that borrows `cur`'s
/// slot list (refinement writes no slot) until the last edge's call,
/// which the driver makes next. In the first two cases the taken edge's
/// call also decides the last edge, from the same comparison, and leaves
/// what it found in `edge.next`: two constants decide it (live exactly
/// when the taken edge is dead, and then unchanged: the negated condition
/// on the same constants; `refine_edge` records no threshold there), and
/// after `taken_in_place` the last edge's call puts the compared
/// register back as that edge needs it. Out of line: inlined into the
/// driver's loop it moved that loop's register allocation.
#[inline(never)]
fn cond_edge<'s>(
    ctx: &Ctx<'_>,
    cur: &'s mut State,
    edge: &'s mut Edge,
    cc: iced_x86::ConditionCode,
    e: usize,
    last_edge: bool,
    thresholds: &mut crate::num::Thresholds,
) -> Option<&'s State> {
    let st = if last_edge {
        if edge.lent {
            edge.st.give_slots_back(cur);
            edge.lent = false;
        }
        let next = edge.next;
        if next != NEXT_REFINE {
            edge.next = NEXT_REFINE;
            if next >= NEXT_RANGE
                && let Some(c) = cur.cmp
            {
                cur.set_num(usize::from(c.a), crate::num::Num::scalar(edge.next_s));
            }
            return (next == NEXT_LIVE || next == NEXT_RANGE).then_some(cur);
        }
        cur
    } else {
        // (Both set on every taken edge: a run that failed between the
        // two calls left them behind.)
        edge.lent = false;
        edge.next = NEXT_REFINE;
        if let Some(live) = taken_unchanged(cur, cc, thresholds) {
            edge.next = if live { NEXT_DEAD } else { NEXT_LIVE };
            return live.then_some(cur);
        }
        if let Some(live) = taken_in_place(cur, cc, thresholds, &mut edge.next, &mut edge.next_s) {
            return live.then_some(cur);
        }
        edge.st.clone_lending_slots(cur);
        edge.lent = true;
        &mut edge.st
    };
    refine_edge(ctx, st, cc, e == 0, thresholds).then_some(&*st)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check_ret`'s one test of the callee-saved kinds gives what the
    /// rule register by register gives, naming the first register changed,
    /// and the fast `ret`'s `ret_ok` accepts exactly what it accepts.
    #[test]
    fn check_ret_is_the_per_register_rule() {
        use crate::interp::{check_ret, reg_of, ret_ok};
        use crate::state::Val;
        const SAVED: [usize; 6] = [3, 5, 12, 13, 14, 15];
        let rule = |ctx: &Ctx<'_>, st: &State| {
            if st.rsp() != 0 {
                return Err(ViolationKind::StackNotRestored { offset: st.rsp() });
            }
            for r in SAVED {
                if st.reg(r) != Val::Entry(r as u8) {
                    return Err(ViolationKind::CalleeSavedClobbered {
                        register: reg_of(r),
                    });
                }
            }
            if st.reg_defined_bytes(0) < ctx.sig.ret().width() {
                return Err(ViolationKind::ReturnValueUndefined);
            }
            Ok(())
        };
        let policy = Policy::runtime();
        let sig: Signature = "int64(int64)".parse().expect("valid signature");
        let ctx = Ctx::new(&policy, &sig, 16, &crate::num::NO_SYMS);
        let mut rng = crate::test_rng::Rng(0x5eed_1111);
        let mut outcomes = [0usize; 4];
        for _ in 0..50_000 {
            let mut st = State::empty();
            for r in 0..16 {
                let v = match rng.below(16) {
                    0 => Val::Undef,
                    1 => Val::Data(8),
                    2 => Val::Data(4),
                    3 => Val::Stack(rng.below(3) as i64 * -8),
                    4 => Val::Param(rng.below(6) as u8, 0),
                    5 => Val::Num(crate::num::Num::constant(r as u64)),
                    6 => Val::Entry(rng.below(16) as u8),
                    _ => Val::Entry(r as u8),
                };
                // Mostly the entry value, so all six often are.
                let keep = SAVED.contains(&r) && rng.below(8) != 0;
                st.set_reg(r, if keep { Val::Entry(r as u8) } else { v });
            }
            if rng.below(4) != 0 {
                st.set_reg(RSP, Val::Stack(0));
            }
            let want = rule(&ctx, &st);
            assert_eq!(check_ret(&ctx, &st), want, "{st:?}");
            // The fast `ret`'s test.
            assert_eq!(ret_ok(&ctx, &st), want.is_ok(), "{st:?}");
            outcomes[match want {
                Ok(()) => 0,
                Err(ViolationKind::CalleeSavedClobbered { .. }) => 1,
                Err(ViolationKind::ReturnValueUndefined) => 2,
                Err(_) => 3,
            }] += 1;
        }
        assert!(outcomes.iter().all(|&n| n > 500), "{outcomes:?}");
    }

    /// The two `cond_edge` calls of a conditional jump (the taken edge in a
    /// copy that borrows the slot list, then the other edge) give each
    /// edge what `refine_edge` gives a copy of the state, and leave the
    /// state narrowed to the other edge with its own slot list (fails when
    /// the list is not given back, or not lent to the taken edge's copy,
    /// and when the other edge's outcome that the taken edge's call left in
    /// `edge`, from two constants or from `refine_taken`, is wrong).
    #[test]
    fn cond_edges_narrow_as_refine_edge_on_copies() {
        use crate::num::{NO_SYMS, Num};
        use crate::scalar::Scalar;
        use crate::state::{CMP_IMM, Cmp, Flagged, Val};
        use iced_x86::ConditionCode as CC;
        // Every condition but `None`.
        let ccs: Vec<CC> = CC::values().skip(1).collect();
        const KINDS: [Flagged; 4] = [Flagged::Sub, Flagged::Logic, Flagged::Result, Flagged::Mask];
        let policy = Policy::default();
        let sig: Signature = "int64(int64,int64,int64)".parse().expect("a signature");
        let ctx = Ctx::new(&policy, &sig, 64, &NO_SYMS);
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        let val = |rng: &mut crate::test_rng::Rng| {
            let pick = [0u64, 1, 5, 63, 1 << 40, u64::MAX];
            let (x, y) = (pick[rng.below(6)], pick[rng.below(6)]);
            match rng.below(5) {
                0 | 1 => Val::Num(Num::constant(x)),
                2 => Val::num(Num::scalar(Scalar::range_u(x.min(y), x.max(y)))),
                3 => Val::Stack(-8 * rng.below(4) as i64),
                _ => Val::Data(8),
            }
        };
        let (mut edge, mut cur) = (
            Edge {
                st: State::empty(),
                lent: false,
                next: NEXT_REFINE,
                next_s: crate::scalar::Scalar::unknown(),
            },
            State::empty(),
        );
        let (mut narrowed, mut dead, mut lent) = (0, 0, 0);
        for round in 0..20_000 {
            let mut st = State::empty();
            for r in 0..4 {
                st.set_reg(r, val(&mut rng));
            }
            for k in 0..rng.below(5) {
                let off = -16 * (k as i64 + 1);
                st.store(
                    off,
                    8,
                    if k % 2 == 0 {
                        val(&mut rng)
                    } else {
                        Val::Data(8)
                    },
                );
            }
            st.cmp = Some(Cmp {
                a: rng.below(4) as u8,
                b: if rng.below(2) == 0 {
                    CMP_IMM
                } else {
                    rng.below(4) as u8
                },
                imm: [0i64, 1, 5, -1][rng.below(4)],
                width: [4, 8][rng.below(2)],
                kind: KINDS[rng.below(4)],
            });
            let cc = ccs[rng.below(ccs.len())];
            // Edge 0 (taken) then edge 1 on the general rule: each on a copy.
            let (mut thr_general, mut thr_fast) = (
                crate::num::Thresholds::from(vec![3i64]),
                crate::num::Thresholds::from(vec![3i64]),
            );
            let mut taken = st.clone();
            let taken_live = refine_edge(&ctx, &mut taken, cc, true, &mut thr_general);
            let mut next = st.clone();
            let next_live = refine_edge(&ctx, &mut next, cc, false, &mut thr_general);
            // The driver's calls, on a `cur` whose buffers are reused.
            cur.clone_from(&st);
            let got = cond_edge(&ctx, &mut cur, &mut edge, cc, 0, false, &mut thr_fast).cloned();
            assert_eq!(got.is_some(), taken_live, "round {round}");
            if let Some(got) = got {
                assert_eq!(got, taken, "taken edge, round {round}");
                narrowed += 1;
            } else {
                dead += 1;
            }
            lent += usize::from(edge.lent);
            let got = cond_edge(&ctx, &mut cur, &mut edge, cc, 1, true, &mut thr_fast).cloned();
            assert_eq!(got.is_some(), next_live, "round {round}");
            if next_live {
                assert_eq!(cur, next, "other edge, round {round}");
            } else {
                assert_eq!(cur.slots, st.slots, "round {round}");
            }
            assert_eq!(thr_fast.as_slice(), thr_general.as_slice(), "round {round}");
        }
        assert!(
            narrowed > 5_000 && dead > 500 && lent > 5_000,
            "{narrowed} {dead} {lent}"
        );
    }

    /// Without loops the report's reachable instructions and returns are
    /// the steps and the returns stepped; `run` checks them against the
    /// count over the visited blocks in every test, and this code has an
    /// unreachable `ret`, a jump over it and two reachable returns.
    #[test]
    fn acyclic_counts_are_the_visited_blocks() {
        // test edi,edi; je 10; mov eax,1; ret; 10: xor eax,eax; jmp 15;
        // ret (unreachable); 15: ret
        let code = [
            0x85, 0xff, 0x74, 0x06, 0xb8, 0x01, 0, 0, 0, 0xc3, 0x31, 0xc0, 0xeb, 0x01, 0xc3, 0xc3,
        ];
        let sig: Signature = "int32(int32)".parse().expect("valid signature");
        let mut v = Validator::new();
        for _ in 0..2 {
            let r = v
                .validate(&code, &sig, &Policy::runtime())
                .expect("accepted");
            assert_eq!((r.instructions(), r.reachable(), r.returns()), (8, 7, 2));
            assert_eq!((r.blocks(), r.steps(), r.max_steps()), (5, 7, Some(7)));
            // A one-block function between runs of the other.
            let r = v.validate(
                &[0xc3],
                &"NIL()".parse().expect("valid"),
                &Policy::runtime(),
            );
            assert_eq!(r.map(|r| (r.reachable(), r.returns())).ok(), Some((1, 1)));
        }
    }

    /// The binary search finds what a scan for the address finds, at every
    /// byte of code of 1 to 300 instructions of random lengths (1 to 10
    /// bytes), before the first and past the last.
    #[test]
    fn instruction_at_is_the_instruction_starting_there() {
        const NOPS: [&[u8]; 10] = [
            &[0x90],
            &[0x66, 0x90],
            &[0x0f, 0x1f, 0x00],
            &[0x0f, 0x1f, 0x40, 0x00],
            &[0x0f, 0x1f, 0x44, 0x00, 0x00],
            &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
            &[0x0f, 0x1f, 0x80, 0, 0, 0, 0],
            &[0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0],
            &[0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0],
            &[0x66, 0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0],
        ];
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        let mut found = 0;
        for round in 0..400 {
            let count = 1 + round % 60 + usize::from(round % 7 == 0) * 240;
            let mut code = Vec::new();
            for _ in 0..count {
                code.extend_from_slice(NOPS[rng.below(NOPS.len())]);
            }
            let instrs: Vec<Instruction> = Decoder::with_ip(64, &code, 0, DecoderOptions::NONE)
                .into_iter()
                .collect();
            assert_eq!(instrs.len(), count);
            for t in 0..code.len() as u64 + 12 {
                let scanned = instrs.iter().position(|ins| ins.ip() == t);
                assert_eq!(
                    instruction_at(&instrs, t),
                    scanned,
                    "{count} instructions, byte {t}"
                );
                found += usize::from(scanned.is_some());
            }
        }
        assert!(found > 10_000);
    }

    /// The entry state copied from the one kept per
    /// [`Signature::entry_key`] must be the state built for the signature
    /// and policy at hand, through one validator whose kept state was
    /// built for the previous signature (types that differ in width only,
    /// in order only, pointers, buffers, assumed arguments, no parameters).
    #[test]
    fn kept_entry_state_is_the_built_one() {
        let texts = [
            "int64(int64,int64,int64)",
            "int64(int32,int64,int64)",
            "int64(uint32,int64,int64)",
            "int64(int64,int32,int64)",
            "int64(int64,int64)",
            "int64(int64,int64,int64,int64)",
            "int32()",
            "int64(ptr,int64)",
            "int64(int64,ptr)",
            "int64(int64* xs[n], int64 n)",
            "int64(int64,int64,int64)",
            "uint64(uint64,uint64,uint64,uint64,uint64,uint64)",
            "uint64(uint64,uint64,uint64,uint64,uint64,int32)",
            "int64(int64,int64,int64)",
        ];
        let plain = Policy {
            pointer_access: PointerAccess::ReadWrite,
            ..Policy::runtime()
        };
        let assumed = Policy {
            assumed_args: Some(vec![3, 9, 1 << 40]),
            ..plain.clone()
        };
        let mut v = Validator::new();
        v.states.resize_with(1, State::empty);
        let mut copied = 0;
        for policy in [&plain, &assumed, &plain] {
            for text in texts {
                let sig: Signature = text.parse().expect("valid signature");
                let syms = Ctx::entry_syms_of(policy, &sig);
                let ctx = Ctx::new(policy, &sig, 16, &syms);
                // Leave the state dirty, as a run does: a number, an
                // offset, a stack slot, flags, a comparison.
                let dirty = &mut v.states[0];
                dirty.set_reg(RSP, crate::state::Val::Data(8));
                // An offset the copy must clear.
                dirty.set_reg(0, crate::state::Val::Stack(-16));
                let three = crate::num::Num::constant(3);
                dirty.set_reg(1, crate::state::Val::Num(three));
                dirty.slots.push(crate::state::Slot {
                    off: -8,
                    len: 8,
                    val: crate::state::Val::Num(three),
                });
                (dirty.flags, dirty.sext, dirty.touched) = (1, 8, -8);
                dirty.cmp = Some(crate::state::Cmp {
                    a: 0,
                    b: 1,
                    imm: 0,
                    width: 8,
                    kind: crate::state::Flagged::Sub,
                });
                v.entry_state(&ctx);
                let mut built = State::empty();
                ctx.entry_state_into(&mut built);
                assert!(v.states[0] == built, "{text} under {policy:?}");
                copied += usize::from(v.entry_for.is_some() && policy.assumed_args.is_none());
            }
        }
        assert!(copied > 20, "the kept state was used");
    }

    /// Blocks are numbered from a leader mask for code of at most 64
    /// instructions and from the `block_of` table for longer code, and the
    /// mask path leaves stale entries in the table (as code of at most 64
    /// blocks leaves stale marks past them): prepending `k` `nop`s
    /// (which join the first block) must shift every result by `k` across
    /// both paths, and a validator reused after longer code must give what
    /// a fresh one gives.
    #[test]
    fn leader_mask_and_table_number_blocks_alike() {
        let sig: Signature = "int64(int64,int64,int64)".parse().expect("valid signature");
        let policy = Policy {
            allow_division: true,
            ..Policy::runtime()
        };
        // 70 blocks: `mov rax, rdi`, `cmp edi, esi`, 70 times `je` to the next instruction,
        // `ret` (run first, so later code reuses its tables and marks).
        let mut chain = vec![0x48, 0x89, 0xf8, 0x39, 0xf7];
        for _ in 0..70 {
            chain.extend_from_slice(&[0x74, 0x00]);
        }
        chain.push(0xc3);
        let long = Validator::new().validate(&chain, &sig, &policy);
        assert!(long.as_ref().is_ok_and(|r| r.blocks() > 64), "{long:?}");
        let functions: [&[u8]; 5] = [
            &chain,
            // A counted loop.
            &[
                0x48, 0x89, 0xf8, 0x83, 0xe6, 0x3f, 0x74, 0x17, 0x31, 0xc9, 0x66, 0x0f, 0x1f, 0x44,
                0x00, 0x00, 0x48, 0x29, 0xc8, 0x48, 0x83, 0xc1, 0x01, 0x48, 0x01, 0xd0, 0x48, 0x39,
                0xf1, 0x75, 0xf1, 0xc3,
            ],
            // Branches, two returns, padding.
            &[
                0x48, 0x39, 0xf7, 0x7c, 0x1b, 0x48, 0x89, 0xd0, 0x48, 0x83, 0xc6, 0x07, 0x48, 0x83,
                0xc8, 0x03, 0x48, 0x39, 0xd7, 0x48, 0x0f, 0x44, 0xc6, 0xc3, 0x0f, 0x1f, 0x84, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x48, 0x89, 0xf8, 0x48, 0x0f, 0xaf, 0xc2, 0xc3, 0x0f, 0x1f,
                0x84, 0x00, 0x00, 0x00, 0x00, 0x00,
            ],
            // `while (u > b)`: rejected, a loop it cannot prove.
            &[
                0x81, 0xe6, 0xff, 0x03, 0x00, 0x00, 0x48, 0x89, 0xf8, 0x48, 0x39, 0xfe, 0x73, 0x12,
                0x66, 0x90, 0x48, 0xd1, 0xe8, 0x48, 0x01, 0xd0, 0x48, 0x39, 0xc6, 0x72, 0xf5, 0xc3,
                0x0f, 0x1f, 0x40, 0x00, 0xc3,
            ],
            // A conditional jump that falls off the end.
            &[
                0x48, 0x89, 0xf8, 0x48, 0x39, 0xf7, 0x74, 0x01, 0xc3, 0x48, 0x01, 0xf0,
            ],
        ];
        // What a result says, with offsets and counts taken back by `k`.
        let shifted = |r: &Result<Report, Violation>, k: usize| match r {
            Ok(r) => Ok((
                r.instructions() - k,
                r.reachable() - k,
                r.blocks(),
                r.returns(),
                r.has_loops(),
                r.steps() - k as u64,
                r.max_steps().map(|m| m - k as u64),
            )),
            Err(v) => Err((v.offset() - k, v.kind())),
        };
        let mut reused = Validator::new();
        let mut paths = [false; 2];
        for code in functions {
            let base = shifted(&Validator::new().validate(code, &sig, &policy), 0);
            // Alternating long and short code through one validator.
            for k in [0, 80, 1, 70, 30, 66, 50, 65, 55, 64, 60, 63, 61, 62, 100, 2] {
                let mut padded = vec![0x90; k];
                padded.extend_from_slice(code);
                let fresh = Validator::new().validate(&padded, &sig, &policy);
                let again = reused.validate(&padded, &sig, &policy);
                assert_eq!(format!("{fresh:?}"), format!("{again:?}"), "k = {k}");
                assert_eq!(shifted(&fresh, k), base, "k = {k}");
                paths[usize::from(reused.instrs.len() <= 64)] = true;
            }
        }
        assert_eq!(paths, [true; 2], "both numberings ran");
    }

    /// Random code of at most 24 instructions: moves, arithmetic and
    /// comparisons on five registers, red-zone stores and loads, a stack
    /// array and a load through an index (the value domain), returns and
    /// jumps forward and back (self-loops, loops of several blocks, nested
    /// and overlapping ones).
    /// An item of [`random_loop_code`]: an instruction's bytes, or a jump
    /// (its condition code, `None` for `jmp`, and its target item).
    type Item = Result<Vec<u8>, (Option<u8>, usize)>;

    fn random_loop_code(rng: &mut crate::test_rng::Rng) -> Vec<u8> {
        const REGS: [u8; 5] = [0, 1, 2, 6, 7];
        const CCS: [u8; 8] = [0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0xc, 0xf];
        let len = 6 + rng.below(19);
        // First `xor ecx, ecx`, `mov rax, rdi` and four red-zone slots
        // written, so that fewer paths read what nothing wrote.
        let mut items: Vec<Item> = vec![Ok(vec![0x31, 0xc9]), Ok(vec![0x48, 0x89, 0xf8])];
        for disp in [0xd8, 0xe0, 0xe8, 0xf0] {
            items.push(Ok(vec![0x48, 0x89, 0x7c, 0x24, disp]));
        }
        for i in 6..len {
            let r = REGS[rng.below(5)];
            let q = REGS[rng.below(5)];
            let imm = [0u8, 1, 3, 5, 0xff, 0x10][rng.below(6)];
            let disp = 0xd8 + 8 * rng.below(4) as u8;
            let item = match rng.below(16) {
                0 => vec![0x48, 0x83, 0xc0 | r, imm],
                1 => vec![0x48, 0x83, 0xe8 | r, imm],
                2 => vec![0x48, 0x83, 0xf8 | r, imm],
                3 => vec![0x48, 0x39, 0xc0 | q << 3 | r],
                4 => vec![0x48, 0x01, 0xc0 | q << 3 | r],
                5 => vec![0x48, 0x89, 0xc0 | q << 3 | r],
                6 => vec![0x31, 0xc0 | r << 3 | r],
                7 => vec![0x48, 0x89, 0x44 | q << 3, 0x24, disp],
                8 => vec![0x48, 0x8b, 0x44 | q << 3, 0x24, disp],
                9 => vec![0x48, 0x8d, 0x7c, 0x24, 0xd8],
                10 => vec![0x48, 0x8b, 0x74, 0xd7, 0xf8],
                11 => vec![0xb8 | r, imm, 0, 0, 0],
                12 if i > 8 => vec![0xc3],
                13..=15 => {
                    let cc = (rng.below(4) != 0).then(|| CCS[rng.below(8)]);
                    let target = match rng.below(3) {
                        0 => i.saturating_sub(rng.below(5)),
                        1 => i + 1 + rng.below(3),
                        _ => rng.below(len + 1),
                    };
                    items.push(Err((cc, target.min(len))));
                    continue;
                }
                _ => vec![0x48, 0x0f, 0xaf, 0xc0 | r << 3 | q],
            };
            items.push(Ok(item));
        }
        items.push(Ok(vec![0xc3]));
        // Jumps are two bytes (`jcc`/`jmp` with an 8-bit displacement).
        let mut at = vec![0usize; items.len() + 1];
        for (k, item) in items.iter().enumerate() {
            at[k + 1] = at[k] + item.as_ref().map_or(2, Vec::len);
        }
        let mut code = Vec::new();
        for (k, item) in items.iter().enumerate() {
            match item {
                Ok(bytes) => code.extend_from_slice(bytes),
                Err((cc, target)) => {
                    let rel = at[*target] as i64 - at[k + 1] as i64;
                    code.push(cc.map_or(0xeb, |c| 0x70 | c));
                    code.push(rel as i8 as u8);
                }
            }
        }
        code
    }

    /// `exits_reach_ret` does not answer for a conditional jump that is
    /// the last instruction (it has no next block, and `block_of` no
    /// entry after it): here one that is never reached, after a proven
    /// loop; the edges then find that every visited block returns.
    #[test]
    fn exits_reach_ret_leaves_a_last_conditional_jump_to_the_edges() {
        let sig: Signature = "int64(int64,int64,int64)".parse().expect("valid signature");
        // L: dec rdi ; jne L ; mov rax, rdi ; ret ; jne L
        let code = [
            0x48, 0xff, 0xcf, 0x75, 0xfb, 0x48, 0x89, 0xf8, 0xc3, 0x75, 0xf5,
        ];
        let report = Validator::new()
            .validate(&code, &sig, &Policy::runtime())
            .expect("the loop ends");
        assert_eq!((report.reachable(), report.blocks()), (4, 3));
    }

    /// The self-loop heads `mark_spanned` hands the termination proof
    /// (its one-loop path) answer as the graph walk does without them: on
    /// random code with self-loops, longer loops, nested and overlapping
    /// ones, with and without the value domain, every result is the same,
    /// and the one-loop path answers many proofs.
    #[test]
    fn self_heads_answer_as_the_graph_walk() {
        let sig: Signature = "int64(int64,int64,int64)".parse().expect("valid signature");
        let plain = Policy {
            allow_division: true,
            ..Policy::runtime()
        };
        let assumed = Policy {
            assumed_args: Some(vec![3, 9, 40]),
            ..plain.clone()
        };
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        let mut hinted = Validator::new();
        let mut walked = Validator::new();
        walked.no_self_heads = true;
        crate::termination::DIRECT.with(|d| d.set([0; 3]));
        let (mut bounded, mut trapped) = (0, 0);
        for round in 0..8000 {
            let code = if round % 2 == 0 {
                random_loop_code(&mut rng)
            } else {
                crate::termination::direct_tests::program(&mut rng)
            };
            for policy in [&plain, &assumed] {
                let a = hinted.validate(&code, &sig, policy);
                let b = walked.validate(&code, &sig, policy);
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{code:02x?}");
                let loop_bound = |r: &Report| r.has_loops() && r.max_steps().is_some();
                bounded += usize::from(a.as_ref().is_ok_and(loop_bound));
                let no_ret = |v: &Violation| v.kind() == ViolationKind::NoReturnPath;
                trapped += usize::from(a.as_ref().is_err_and(no_ret));
            }
        }
        let [_, _, one] = crate::termination::DIRECT.with(std::cell::Cell::get);
        assert!(
            one > 2000 && bounded > 500 && trapped > 100,
            "one-loop answers {one}, bounded {bounded}, no return path {trapped}"
        );
    }

    /// The work budget counted per block (`Validator::units`) fails
    /// exactly where counting and testing every step fails, and names the
    /// same instruction: random loop code, with and without a slot list of
    /// 16 or more entries, under budgets from 1 to 9 units per instruction.
    #[test]
    fn block_budget_fails_where_each_step_counted_fails() {
        let sig: Signature = "int64(int64,int64,int64)".parse().expect("valid signature");
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        let mut fast = Validator::new();
        let mut exact = Validator::new();
        exact.exact_budget = true;
        // Sixteen 4-byte red-zone stores with gaps: a slot list of at
        // least 16 entries, so steps cost more than one unit.
        let mut spills = Vec::new();
        for j in 1..=16u8 {
            spills.extend_from_slice(&[0x89, 0x7c, 0x24, 0u8.wrapping_sub(8 * j)]);
        }
        let (mut over, mut over_late, mut over_spilled) = (0, 0, 0);
        for round in 0..3000 {
            let mut code = if round % 2 == 0 {
                spills.clone()
            } else {
                Vec::new()
            };
            code.extend(random_loop_code(&mut rng));
            for steps in [1, 2, 3, 4, 6, 9] {
                let policy = Policy {
                    allow_division: true,
                    steps_per_instruction: steps,
                    assumed_args: (round % 3 == 0).then(|| vec![3, 9, 40]),
                    ..Policy::runtime()
                };
                let a = fast.validate(&code, &sig, &policy);
                let b = exact.validate(&code, &sig, &policy);
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{code:02x?} {steps}");
                if let Err(v) = &b
                    && v.kind() == ViolationKind::AnalysisBudgetExceeded
                {
                    over += 1;
                    // Not at a block's first instruction.
                    let i = instruction_at(&exact.instrs, v.offset() as u64).expect("start");
                    over_late += usize::from(!exact.block_start.contains(&(i as u32)));
                    over_spilled += usize::from(round % 2 == 0);
                }
            }
        }
        assert!(
            over > 500 && over_late > 100 && over_spilled > 100,
            "{over} {over_late} {over_spilled}"
        );
    }

    /// Blocks no back edge spans are stepped in their stored state
    /// (`mark_spanned`): on random code with loops, under the value domain
    /// (assumed arguments) and without it, every result equals the one of
    /// stepping every block in a copy.
    #[test]
    fn blocks_no_back_edge_spans_step_in_place_as_in_a_copy() {
        let sig: Signature = "int64(int64,int64,int64)".parse().expect("valid signature");
        let plain = Policy {
            allow_division: true,
            ..Policy::runtime()
        };
        let assumed = Policy {
            assumed_args: Some(vec![3, 9, 40]),
            ..plain.clone()
        };
        let unproven = Policy {
            require_termination: false,
            ..plain.clone()
        };
        let unproven_assumed = Policy {
            require_termination: false,
            ..assumed.clone()
        };
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        let mut fast = Validator::new();
        let mut copying = Validator::new();
        copying.copy_all = true;
        let (mut loops, mut accepted, mut in_place) = (0, 0, 0);
        for _ in 0..4000 {
            let code = random_loop_code(&mut rng);
            for policy in [&plain, &assumed, &unproven, &unproven_assumed] {
                let a = fast.validate(&code, &sig, policy);
                let b = copying.validate(&code, &sig, policy);
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{code:02x?}");
                if a.as_ref().is_ok_and(Report::has_loops) {
                    loops += 1;
                    let spanned = fast.mark[..fast.block_start.len()]
                        .iter()
                        .filter(|&&m| m & SPANNED != 0)
                        .count();
                    in_place += usize::from(spanned < fast.block_start.len());
                }
                accepted += usize::from(a.is_ok());
            }
        }
        assert!(
            loops > 200 && in_place > 100 && accepted > 1000,
            "{loops} {in_place} {accepted}"
        );
    }
}
