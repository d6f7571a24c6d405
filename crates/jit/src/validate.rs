//! The driver: decode, check each instruction, build blocks, iterate.
//!
//! In: code bytes, a [`Signature`], a [`Policy`]. Out: a [`Report`] or the
//! first [`Violation`]. Instructions are decoded once, linearly (every branch
//! must land on a decoded start, so the linear decode is the only one). Block
//! states are stored at block starts; a worklist ordered by block index runs
//! the transfer function until nothing changes, within a step budget
//! proportional to the code size. Without backward branches that order is
//! simply each reachable block once, in index order, so no worklist is kept.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

use iced_x86::{Decoder, DecoderError, DecoderOptions, FlowControl, Instruction};

use crate::classify::{Classifier, is_legacy_prefix};
use crate::fast::Fast;
use crate::interp::{Ctx, FlagCache, is_direct_jump, step, step_direct_jump};
use crate::policy::PointerAccess;
use crate::state::State;
use crate::uses::Uses;
use crate::{Policy, Signature, Violation, ViolationKind};

const NO_INSTR: u32 = u32::MAX;

/// What the validator proved about accepted code.
///
/// ```
/// use npk_jit::{validate, Policy};
/// let sig = "int32(int32,int32)".parse().expect("valid signature");
/// let r = validate(&[0x89, 0xf8, 0x01, 0xf0, 0xc3], &sig, &Policy::default()).expect("accepted");
/// assert_eq!((r.instructions(), r.returns(), r.frame_bytes()), (3, 1, 0));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    signature: Signature,
    bytes: usize,
    instructions: usize,
    reachable: usize,
    blocks: usize,
    returns: usize,
    frame_bytes: u64,
    loops: bool,
    steps: u64,
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
        self.instructions
    }
    /// Instructions reachable from the entry.
    #[must_use]
    pub fn reachable(&self) -> usize {
        self.reachable
    }
    /// Basic blocks.
    #[must_use]
    pub fn blocks(&self) -> usize {
        self.blocks
    }
    /// Reachable `ret` instructions (each checked).
    #[must_use]
    pub fn returns(&self) -> usize {
        self.returns
    }
    /// Deepest `rsp` below its entry value, in bytes.
    #[must_use]
    pub fn frame_bytes(&self) -> u64 {
        self.frame_bytes
    }
    /// Whether the code has a backward branch.
    #[must_use]
    pub fn has_loops(&self) -> bool {
        self.loops
    }
    /// Instructions interpreted in total (fixpoint work).
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted as {}: {} bytes, {} instructions ({} reachable), {} blocks, {} ret, frame {} bytes, {}",
            self.signature,
            self.bytes,
            self.instructions,
            self.reachable,
            self.blocks,
            self.returns,
            self.frame_bytes,
            if self.loops { "loops" } else { "no loops" }
        )
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
        static VALIDATOR: RefCell<Validator> = RefCell::new(Validator::new());
    }
    VALIDATOR.with(|v| match v.try_borrow_mut() {
        Ok(mut v) => v.validate(code, sig, policy),
        // Only reachable if validation re-entered itself on this thread.
        Err(_) => Validator::new().validate(code, sig, policy),
    })
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
    fast: Fast,
    classifier: Classifier,
    flags: FlagCache,
    instrs: Vec<Instruction>,
    /// Flow control of each instruction (cached: iced looks it up per call).
    flow: Vec<FlowControl>,
    /// Instruction index starting at each byte offset, or [`NO_INSTR`].
    start_of: Vec<u32>,
    /// Branch target (instruction index) of each instruction, or [`NO_INSTR`].
    target_of: Vec<u32>,
    leader: Vec<bool>,
    block_start: Vec<u32>,
    /// Block index of each leader instruction.
    block_of: Vec<u32>,
    /// State at each block start; meaningful only where `have[b]`.
    states: Vec<State>,
    have: Vec<bool>,
    queued: Vec<bool>,
    visited: Vec<bool>,
    work: BinaryHeap<Reverse<u32>>,
    /// Indices of the branches, calls and returns, in order (the only
    /// instructions `blocks` looks at).
    transfers: Vec<u32>,
    /// The state being stepped through a block.
    cur: State,
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
            fast: Fast::new(),
            classifier: Classifier::default(),
            flags: FlagCache::default(),
            instrs: Vec::new(),
            flow: Vec::new(),
            start_of: Vec::new(),
            target_of: Vec::new(),
            leader: Vec::new(),
            block_start: Vec::new(),
            block_of: Vec::new(),
            states: Vec::new(),
            have: Vec::new(),
            queued: Vec::new(),
            visited: Vec::new(),
            work: BinaryHeap::new(),
            transfers: Vec::new(),
            cur: State::empty(),
        }
    }

    /// Validates `code` as a SysV function of type `sig` under `policy`.
    ///
    /// # Errors
    /// The first [`Violation`] found: its offset, the instruction and the rule.
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
        match self.run(code, sig, policy) {
            Ok(report) => Ok(report),
            Err(Fail::Bytes(off, len, kind)) => {
                let end = code.len().min(off + len.max(1));
                Err(Violation::new(
                    off,
                    hex_text(&code[off.min(end)..end]),
                    kind,
                ))
            }
            Err(Fail::At(i, kind)) => Err(Violation::at(&self.instrs[i], kind)),
        }
    }

    /// Decodes and classifies every instruction; fills `instrs`, `flow` and
    /// `start_of`.
    fn decode(&mut self, code: &[u8], policy: &Policy) -> Result<(), Fail> {
        // `instrs` keeps its old entries as decode slots (iced overwrites a
        // slot whole); it is cut to the decoded count at the end, and only
        // decoded entries are read before that.
        let mut count = 0;
        self.flow.clear();
        self.transfers.clear();
        self.start_of.clear();
        self.start_of.resize(code.len(), NO_INSTR);
        let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
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
            let ins = &self.instrs[i];
            let off = ins.ip() as usize;
            if ins.is_invalid() {
                let kind = if decoder.last_error() == DecoderError::NoMoreBytes {
                    ViolationKind::TruncatedInstruction
                } else {
                    ViolationKind::InvalidInstruction
                };
                return Err(Fail::Bytes(off, ins.len(), kind));
            }
            self.start_of[off] = i as u32;
            let fc = ins.flow_control();
            self.flow.push(fc);
            if matches!(
                fc,
                FlowControl::UnconditionalBranch
                    | FlowControl::ConditionalBranch
                    | FlowControl::Call
                    | FlowControl::Return
            ) {
                self.transfers.push(i as u32);
            }
            if let Err(kind) = self
                .classifier
                .check(ins, &code[off..off + ins.len()], policy)
            {
                return Err(Fail::At(i, kind));
            }
        }
        self.instrs.truncate(count);
        Ok(())
    }

    /// Resolves branch targets and splits the code into basic blocks.
    /// Returns whether there is a backward branch.
    fn blocks(&mut self, code: &[u8], policy: &Policy) -> Result<bool, Fail> {
        let n = self.instrs.len();
        self.leader.clear();
        self.leader.resize(n + 1, false);
        self.leader[0] = true;
        self.target_of.clear();
        self.target_of.resize(n, NO_INSTR);
        let mut loops = false;
        for &i in &self.transfers {
            let i = i as usize;
            let ins = &self.instrs[i];
            match self.flow[i] {
                FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch => {
                    let t = ins.near_branch_target() as i64;
                    let in_code = usize::try_from(t).ok().filter(|&t| t < code.len());
                    let Some(t) = in_code else {
                        return Err(Fail::At(i, ViolationKind::TargetOutsideCode { target: t }));
                    };
                    let ti = self.start_of[t];
                    if ti == NO_INSTR {
                        return Err(Fail::At(
                            i,
                            ViolationKind::TargetInsideInstruction { target: t as i64 },
                        ));
                    }
                    if ti as usize <= i {
                        loops = true;
                        if !policy.allow_loops {
                            return Err(Fail::At(i, ViolationKind::LoopNotAllowed));
                        }
                    }
                    self.target_of[i] = ti;
                    self.leader[ti as usize] = true;
                    self.leader[i + 1] = true;
                }
                FlowControl::Call => {
                    let target = policy.base_ip.wrapping_add(ins.near_branch_target());
                    let allowed = policy.allowed_calls.iter().any(|c| c.address == target);
                    let inside = ins.near_branch_target() < code.len() as u64;
                    if !allowed || inside {
                        return Err(Fail::At(i, ViolationKind::CallNotAllowed { target }));
                    }
                }
                FlowControl::Return => self.leader[i + 1] = true,
                _ => {}
            }
        }
        self.block_start.clear();
        self.block_of.clear();
        self.block_of.resize(n, NO_INSTR);
        for i in 0..n {
            if self.leader[i] {
                self.block_of[i] = self.block_start.len() as u32;
                self.block_start.push(i as u32);
            }
        }
        Ok(loops)
    }

    fn block_end(&self, b: usize) -> usize {
        self.block_start
            .get(b + 1)
            .map_or(self.instrs.len(), |&e| e as usize)
    }

    fn run(&mut self, code: &[u8], sig: &Signature, policy: &Policy) -> Result<Report, Fail> {
        self.decode(code, policy)?;
        let loops = self.blocks(code, policy)?;
        let n = self.instrs.len();
        let blocks = self.block_start.len();

        let ctx = Ctx::new(policy, sig);
        if self.states.len() < blocks {
            self.states.resize_with(blocks, State::empty);
        }
        for flags in [&mut self.have, &mut self.queued, &mut self.visited] {
            flags.clear();
            flags.resize(blocks, false);
        }
        ctx.entry_state_into(&mut self.states[0]);
        self.have[0] = true;
        self.work.clear();
        self.work.push(Reverse(0));
        self.queued[0] = true;
        let budget = u64::from(policy.steps_per_instruction).saturating_mul(n as u64);
        let mut steps = 0u64;
        let mut deepest = 0i64;

        // Without backward branches every edge goes to a later block, so
        // visiting the blocks in index order once is exactly the order the
        // worklist would produce; with loops, the worklist iterates.
        let mut cursor = 0;
        loop {
            let b = if loops {
                match self.work.pop() {
                    Some(Reverse(b)) => b as usize,
                    None => break,
                }
            } else if cursor < blocks {
                cursor += 1;
                cursor - 1
            } else {
                break;
            };
            self.queued[b] = false;
            if !self.have[b] {
                continue;
            }
            self.visited[b] = true;
            let end = self.block_end(b);
            // With loops, the block's stored state must stay (a back edge
            // may join into it), so it is stepped in a copy. Acyclic: every
            // edge leaves `b` for a later block, so its stored state is never
            // read again and is stepped in place; successors are in `later`
            // (block `sb` at `sb - first`).
            let (cur, later, first) = if loops {
                self.cur.clone_from(&self.states[b]);
                (&mut self.cur, &mut self.states[..], 0)
            } else {
                let (head, tail) = self.states.split_at_mut(b + 1);
                (&mut head[b], tail, b + 1)
            };
            for i in self.block_start[b] as usize..end {
                let ins = &self.instrs[i];
                steps += 1;
                if steps > budget {
                    return Err(Fail::At(i, ViolationKind::AnalysisBudgetExceeded));
                }
                let m = ins.mnemonic();
                let result = if is_direct_jump(m) {
                    // What `step` does for these (they touch no register or
                    // memory, modify no flags, leave `rsp` alone): only the
                    // flags they read must be defined.
                    step_direct_jump(cur, self.flags.of(ins, m))
                } else {
                    let no_prefix = !is_legacy_prefix(code[ins.ip() as usize]);
                    match self.fast.step(&ctx, cur, ins, no_prefix) {
                        Some(result) => result,
                        None => {
                            let flags = self.flags.of(ins, m);
                            let (regs, mems) = self.uses.of(ins, m, no_prefix);
                            step(&ctx, cur, ins, regs, mems, flags)
                        }
                    }
                };
                if let Err(kind) = result {
                    return Err(Fail::At(i, kind));
                }
                deepest = deepest.min(cur.rsp());
                let fc = self.flow[i];
                let is_last = i + 1 == end;
                let mut succs = [NO_INSTR; 2];
                match fc {
                    FlowControl::Return => {}
                    FlowControl::UnconditionalBranch => succs[0] = self.target_of[i],
                    FlowControl::ConditionalBranch => succs = [self.target_of[i], (i + 1) as u32],
                    _ if is_last => succs[0] = (i + 1) as u32,
                    _ => continue,
                }
                for s in succs {
                    if s == NO_INSTR {
                        continue;
                    }
                    let s = s as usize;
                    if s >= n {
                        return Err(Fail::At(i, ViolationKind::FallsOffEnd));
                    }
                    let sb = self.block_of[s] as usize;
                    let changed = if self.have[sb] {
                        let old = &mut later[sb - first];
                        if old.rsp() != cur.rsp() {
                            return Err(Fail::At(i, ViolationKind::StackPointerMismatch));
                        }
                        old.join_from(cur)
                    } else {
                        later[sb - first].clone_from(cur);
                        self.have[sb] = true;
                        true
                    };
                    if loops && changed && !self.queued[sb] {
                        self.queued[sb] = true;
                        self.work.push(Reverse(sb as u32));
                    }
                }
            }
        }
        // A return always ends its block (`blocks` makes the next
        // instruction a leader), and a visited block was stepped whole, so
        // the reachable returns are the visited blocks ending in one.
        let mut reachable = 0;
        let mut returns = 0;
        for b in (0..blocks).filter(|&b| self.visited[b]) {
            let end = self.block_end(b);
            reachable += end - self.block_start[b] as usize;
            returns += usize::from(self.flow[end - 1] == FlowControl::Return);
        }
        Ok(Report {
            signature: *sig,
            bytes: code.len(),
            instructions: n,
            reachable,
            blocks,
            returns,
            frame_bytes: deepest.unsigned_abs(),
            loops,
            steps,
        })
    }
}

/// Why `run` stopped: at undecodable bytes (offset, length), or at an
/// instruction (index into `instrs`).
enum Fail {
    Bytes(usize, usize, ViolationKind),
    At(usize, ViolationKind),
}

fn hex_text(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("(bad) {}", hex.join(" "))
}
