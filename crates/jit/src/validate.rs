//! The driver: decode, check each instruction, build blocks, iterate.
//!
//! In: code bytes, a [`Signature`], a [`Policy`]. Out: a [`Report`] or the
//! first [`Violation`]. Instructions are decoded once, linearly (every branch
//! must land on a decoded start, so the linear decode is the only one). Block
//! states are stored at block starts; a worklist ordered by block index runs
//! the transfer function until nothing changes, within a step budget
//! proportional to the code size.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

use iced_x86::{
    Decoder, DecoderError, DecoderOptions, FlowControl, Formatter, Instruction,
    InstructionInfoFactory, IntelFormatter,
};

use crate::classify::check_instruction;
use crate::interp::{Ctx, step};
use crate::policy::PointerAccess;
use crate::state::State;
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
/// # Errors
/// The first [`Violation`] found: its offset, the instruction and the rule.
pub fn validate(code: &[u8], sig: &Signature, policy: &Policy) -> Result<Report, Violation> {
    let fail = |offset: usize, text: String, kind| Err(Violation::new(offset, text, kind));
    if sig.has_pointer() && policy.pointer_access == PointerAccess::Forbidden {
        return fail(0, String::new(), ViolationKind::PointerSignatureNotAllowed);
    }
    if code.is_empty() {
        return fail(0, String::new(), ViolationKind::EmptyCode);
    }
    // Decode everything.
    let mut instrs: Vec<Instruction> = Vec::with_capacity(code.len() / 3 + 1);
    let mut start_of = vec![NO_INSTR; code.len()];
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut ins = Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut ins);
        let off = ins.ip() as usize;
        if ins.is_invalid() {
            let kind = if decoder.last_error() == DecoderError::NoMoreBytes {
                ViolationKind::TruncatedInstruction
            } else {
                ViolationKind::InvalidInstruction
            };
            let end = (off + ins.len().max(1)).min(code.len());
            return fail(off, hex_text(&code[off.min(end)..end]), kind);
        }
        let end = off + ins.len();
        if let Err(kind) = check_instruction(&ins, &code[off..end], policy) {
            return fail(off, format_instr(&ins), kind);
        }
        start_of[off] = instrs.len() as u32;
        instrs.push(ins);
    }
    // Branch targets and block leaders.
    let n = instrs.len();
    let mut leader = vec![false; n + 1];
    leader[0] = true;
    let mut target_of = vec![NO_INSTR; n];
    let mut loops = false;
    for (i, ins) in instrs.iter().enumerate() {
        match ins.flow_control() {
            FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch => {
                let t = ins.near_branch_target() as i64;
                let in_code = usize::try_from(t).ok().filter(|&t| t < code.len());
                let Some(t) = in_code else {
                    return fail(
                        ins.ip() as usize,
                        format_instr(ins),
                        ViolationKind::TargetOutsideCode { target: t },
                    );
                };
                let ti = start_of[t];
                if ti == NO_INSTR {
                    return fail(
                        ins.ip() as usize,
                        format_instr(ins),
                        ViolationKind::TargetInsideInstruction { target: t as i64 },
                    );
                }
                if ti as usize <= i {
                    loops = true;
                    if !policy.allow_loops {
                        return fail(
                            ins.ip() as usize,
                            format_instr(ins),
                            ViolationKind::LoopNotAllowed,
                        );
                    }
                }
                target_of[i] = ti;
                leader[ti as usize] = true;
                leader[i + 1] = true;
            }
            FlowControl::Call => {
                let target = policy.base_ip.wrapping_add(ins.near_branch_target());
                let allowed = policy.allowed_calls.iter().any(|c| c.address == target);
                let inside = ins.near_branch_target() < code.len() as u64;
                if !allowed || inside {
                    return fail(
                        ins.ip() as usize,
                        format_instr(ins),
                        ViolationKind::CallNotAllowed { target },
                    );
                }
            }
            FlowControl::Return => leader[i + 1] = true,
            _ => {}
        }
    }
    // Blocks: block_of[i] for leaders, and each block's instruction range.
    let mut block_start = Vec::new();
    let mut block_of = vec![NO_INSTR; n];
    for i in 0..n {
        if leader[i] {
            block_of[i] = block_start.len() as u32;
            block_start.push(i);
        }
    }
    let blocks = block_start.len();
    let block_end = |b: usize| block_start.get(b + 1).copied().unwrap_or(n);

    let ctx = Ctx::new(policy, sig);
    let mut states: Vec<Option<State>> = vec![None; blocks];
    states[0] = Some(ctx.entry_state());
    let mut queued = vec![false; blocks];
    let mut work = BinaryHeap::new();
    work.push(Reverse(0usize));
    queued[0] = true;
    let mut factory = InstructionInfoFactory::new();
    let budget = u64::from(policy.steps_per_instruction).saturating_mul(n as u64);
    let mut steps = 0u64;
    let mut visited = vec![false; blocks];
    let mut deepest = 0i64;
    let mut returns = vec![false; n];

    while let Some(Reverse(b)) = work.pop() {
        queued[b] = false;
        visited[b] = true;
        let Some(mut st) = states[b].clone() else {
            continue;
        };
        let end = block_end(b);
        for i in block_start[b]..end {
            let ins = &instrs[i];
            steps += 1;
            if steps > budget {
                return fail(
                    ins.ip() as usize,
                    format_instr(ins),
                    ViolationKind::AnalysisBudgetExceeded,
                );
            }
            let info = factory.info(ins);
            if let Err(kind) = step(&ctx, &mut st, ins, info) {
                return fail(ins.ip() as usize, format_instr(ins), kind);
            }
            deepest = deepest.min(st.rsp());
            let fc = ins.flow_control();
            if fc == FlowControl::Return {
                returns[i] = true;
            }
            let is_last = i + 1 == end;
            let mut succs = [NO_INSTR; 2];
            match fc {
                FlowControl::Return => {}
                FlowControl::UnconditionalBranch => succs[0] = target_of[i],
                FlowControl::ConditionalBranch => succs = [target_of[i], (i + 1) as u32],
                _ if is_last => succs[0] = (i + 1) as u32,
                _ => continue,
            }
            for s in succs {
                if s == NO_INSTR {
                    continue;
                }
                let s = s as usize;
                if s >= n {
                    return fail(
                        ins.ip() as usize,
                        format_instr(ins),
                        ViolationKind::FallsOffEnd,
                    );
                }
                let sb = block_of[s] as usize;
                let changed = match &mut states[sb] {
                    slot @ None => {
                        *slot = Some(st.clone());
                        true
                    }
                    Some(old) => {
                        if old.rsp() != st.rsp() {
                            return fail(
                                ins.ip() as usize,
                                format_instr(ins),
                                ViolationKind::StackPointerMismatch,
                            );
                        }
                        old.join_from(&st)
                    }
                };
                if changed && !queued[sb] {
                    queued[sb] = true;
                    work.push(Reverse(sb));
                }
            }
        }
    }
    let reachable = (0..blocks)
        .filter(|&b| visited[b])
        .map(|b| block_end(b) - block_start[b])
        .sum();
    Ok(Report {
        signature: *sig,
        bytes: code.len(),
        instructions: n,
        reachable,
        blocks,
        returns: returns.iter().filter(|&&r| r).count(),
        frame_bytes: deepest.unsigned_abs(),
        loops,
        steps,
    })
}

fn format_instr(ins: &Instruction) -> String {
    let mut out = String::new();
    IntelFormatter::new().format(ins, &mut out);
    out
}

fn hex_text(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("(bad) {}", hex.join(" "))
}
