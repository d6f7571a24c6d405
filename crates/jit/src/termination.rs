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
//!    `B - r` is a multiple of `c` (`c = ±1`, or known low zero bits), or
//!    continues while `r < B` (`<=`, signed or unsigned) with `c > 0` and no
//!    wrap before the bound (`c = 1` and `<`, or the bound's range leaves room),
//!    and the mirror cases for `c < 0`.
//!
//! The number of iterations is then at most `2^64 / |c|`; in practice the
//! distance to the bound over the step.

use iced_x86::{Code, ConditionCode as CC, Instruction, Mnemonic, OpKind, Register};

use crate::interp::{gpr, imm};
use crate::record::Flow;
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
        })
    }
}

/// What the driver knows about the blocks.
pub(crate) struct Blocks<'a> {
    pub(crate) instrs: &'a [Instruction],
    pub(crate) flows: &'a [Flow],
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
    fn succs(&self, b: usize) -> Vec<usize> {
        let last = self.end(b) - 1;
        let ins = &self.instrs[last];
        let next = (last + 1 < self.instrs.len()).then(|| self.block_of[last + 1] as usize);
        let target = || {
            let t = ins.near_branch_target();
            self.instrs
                .binary_search_by_key(&t, Instruction::ip)
                .ok()
                .map(|i| self.block_of[i] as usize)
        };
        match self.flows[last] {
            Flow::Return => vec![],
            Flow::Jump => target().into_iter().collect(),
            Flow::CondJump => target().into_iter().chain(next).collect(),
            Flow::Call | Flow::Next => next.into_iter().collect(),
        }
    }
}

/// Checks every loop; `Err((head instruction, gap))` for the first one not
/// proven to end.
pub(crate) fn check(blocks: &Blocks<'_>) -> Result<(), (usize, TerminationGap)> {
    let n = blocks.start.len();
    for h in (0..n).filter(|&h| (blocks.visited)(h)) {
        // Edges to `h` from blocks not before it; a loop only if `h`
        // reaches them (a jump back to shared exit code is no loop).
        let mut back: Vec<usize> = (h..n)
            .filter(|&u| (blocks.visited)(u) && blocks.succs(u).contains(&h))
            .collect();
        if back.is_empty() {
            continue;
        }
        let reach = reachable_from(blocks, h);
        back.retain(|&u| reach[u]);
        if back.is_empty() {
            continue;
        }
        let body = body_of(blocks, h, &back);
        prove(blocks, h, &back, &body).map_err(|g| (blocks.start[h] as usize, g))?;
    }
    Ok(())
}

/// The visited blocks reachable from `h`.
fn reachable_from(blocks: &Blocks<'_>, h: usize) -> Vec<bool> {
    let mut seen = vec![false; blocks.start.len()];
    let mut stack = vec![h];
    while let Some(b) = stack.pop() {
        if !seen[b] && (blocks.visited)(b) {
            seen[b] = true;
            stack.extend(blocks.succs(b));
        }
    }
    seen
}

/// The blocks that reach a back-edge source without passing `h`, and `h`.
fn body_of(blocks: &Blocks<'_>, h: usize, back: &[usize]) -> Vec<bool> {
    let n = blocks.start.len();
    let mut preds = vec![Vec::new(); n];
    for b in (0..n).filter(|&b| (blocks.visited)(b)) {
        for s in blocks.succs(b) {
            preds[s].push(b);
        }
    }
    let mut body = vec![false; n];
    body[h] = true;
    let mut stack: Vec<usize> = back.to_vec();
    while let Some(b) = stack.pop() {
        if !body[b] {
            body[b] = true;
            stack.extend(preds[b].iter().copied());
        }
    }
    body
}

fn prove(
    blocks: &Blocks<'_>,
    h: usize,
    back: &[usize],
    body: &[bool],
) -> Result<(), TerminationGap> {
    // Candidate tests: the head's and a single back-edge source's.
    let mut candidates = vec![h];
    if back.len() == 1 && back[0] != h {
        candidates.push(back[0]);
    }
    let mut gap = TerminationGap::NoExitTest;
    for t in candidates {
        match prove_at(blocks, h, back, body, t) {
            Ok(()) => return Ok(()),
            Err(g) if gap == TerminationGap::NoExitTest => gap = g,
            Err(_) => {}
        }
    }
    Err(gap)
}

/// The proof with the exit test at the end of block `t`.
fn prove_at(
    blocks: &Blocks<'_>,
    h: usize,
    back: &[usize],
    body: &[bool],
    t: usize,
) -> Result<(), TerminationGap> {
    let last = blocks.end(t) - 1;
    let jcc = &blocks.instrs[last];
    if blocks.flows[last] != Flow::CondJump || jcc.mnemonic() == Mnemonic::Jmp {
        return Err(TerminationGap::NoExitTest);
    }
    let succs = blocks.succs(t);
    let [taken, fall] = succs[..] else {
        return Err(TerminationGap::NoExitTest);
    };
    // The edge that stays in the loop decides the continue condition.
    let continue_taken = match (body[taken], body[fall]) {
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
    for ins in &blocks.instrs[setter + 1..last] {
        if writes(ins).any(|r| r == usize::from(cmp.a) || r == usize::from(cmp.b)) {
            return Err(TerminationGap::UnknownTest);
        }
    }
    let cc = jcc.condition_code();
    let cc = if continue_taken { Some(cc) } else { negate(cc) };
    let cc = cc.ok_or(TerminationGap::UnknownTest)?;
    let width = cmp.width;
    // The induction register is one operand; the bound the other (an
    // immediate, or a register the body never writes). Try both orders.
    let mut gap = TerminationGap::NoInductionStep;
    let orders: &[(usize, Bound, CC)] = &if cmp.kind == Flagged::Sub && cmp.b != CMP_IMM {
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
    for &(r, bound, cc) in orders {
        match induction(blocks, h, back, body, t, setter, r, width) {
            Ok((c, at_test)) => {
                if let Bound::Reg(b) = bound
                    && (b == r || body_writes(blocks, body, b))
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
            Err(g) => {
                if gap == TerminationGap::NoInductionStep {
                    gap = g;
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
    h: usize,
    back: &[usize],
    body: &[bool],
    t: usize,
    setter: usize,
    r: usize,
    width: u8,
) -> Result<(i64, i64), TerminationGap> {
    let (entry, exit) = deltas(blocks, h, body, r, width);
    let mut step_c = None;
    for &u in back {
        match (exit[u], step_c) {
            (Some(c), None) if c != 0 => step_c = Some(c),
            (Some(c), Some(s)) if c == s => {}
            _ => return Err(TerminationGap::NoInductionStep),
        }
    }
    let c = step_c.ok_or(TerminationGap::NoInductionStep)?;
    let mut d = entry[t];
    for ins in &blocks.instrs[blocks.start[t] as usize..=setter] {
        d = step(ins, r, width, d);
    }
    Ok((c, d.ok_or(TerminationGap::NoInductionStep)?))
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
            k == 0 || r_tz.min(tz).min(d_tz) >= k
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

fn negate(cc: CC) -> Option<CC> {
    Some(match cc {
        CC::e => CC::ne,
        CC::ne => CC::e,
        CC::b => CC::ae,
        CC::ae => CC::b,
        CC::be => CC::a,
        CC::a => CC::be,
        CC::l => CC::ge,
        CC::ge => CC::l,
        CC::le => CC::g,
        CC::g => CC::le,
        _ => return None,
    })
}

/// Registers an instruction writes (register-file indices; `rsp` too).
fn writes(ins: &Instruction) -> impl Iterator<Item = usize> + '_ {
    let mut info = iced_x86::InstructionInfoFactory::new();
    let regs: Vec<usize> = info
        .info(ins)
        .used_registers()
        .iter()
        .filter(|u| {
            matches!(
                u.access(),
                iced_x86::OpAccess::Write
                    | iced_x86::OpAccess::CondWrite
                    | iced_x86::OpAccess::ReadWrite
                    | iced_x86::OpAccess::ReadCondWrite
            ) && u.register().is_gpr()
        })
        .map(|u| gpr(u.register()))
        .collect();
    let clobbers = matches!(ins.code(), Code::Call_rel32_64 | Code::Call_rm64);
    regs.into_iter().chain(
        clobbers
            .then_some([0usize, 1, 2, 6, 7, 8, 9, 10, 11])
            .into_iter()
            .flatten(),
    )
}

fn body_writes(blocks: &Blocks<'_>, body: &[bool], r: usize) -> bool {
    (0..body.len()).filter(|&b| body[b]).any(|b| {
        blocks.instrs[blocks.start[b] as usize..blocks.end(b)]
            .iter()
            .any(|ins| writes(ins).any(|w| w == r))
    })
}

/// The change of `r` since the head's entry, at the start and at the end of
/// each body block (`None`: not one constant, or not reached), stepping only
/// `add`/`sub`/`inc`/`dec`/`lea` of `r` itself at `width`; edges back into
/// the head are not followed.
fn deltas(
    blocks: &Blocks<'_>,
    h: usize,
    body: &[bool],
    r: usize,
    width: u8,
) -> (Vec<Option<i64>>, Vec<Option<i64>>) {
    let n = body.len();
    // `entry[b]`: None = no path yet, Some(None) = unknown, Some(Some(c)).
    let mut entry: Vec<Option<Option<i64>>> = vec![None; n];
    entry[h] = Some(Some(0));
    let mut exit: Vec<Option<i64>> = vec![None; n];
    for _ in 0..64 {
        let mut changed = false;
        for b in (0..n).filter(|&b| body[b]) {
            let Some(mut d) = entry[b] else { continue };
            for ins in &blocks.instrs[blocks.start[b] as usize..blocks.end(b)] {
                d = step(ins, r, width, d);
            }
            exit[b] = d;
            for s in blocks.succs(b) {
                if s == h || !body[s] {
                    continue;
                }
                let joined = match entry[s] {
                    None => Some(d),
                    Some(old) if old == d => Some(old),
                    Some(_) => Some(None),
                };
                if joined != entry[s] {
                    entry[s] = joined;
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

/// `r`'s change after `ins`, given its change before.
fn step(ins: &Instruction, r: usize, width: u8, d: Option<i64>) -> Option<i64> {
    let wrote = writes(ins).any(|w| w == r);
    if !wrote {
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
                && gpr(ins.memory_base()) == r =>
        {
            ins.memory_displacement64() as i64
        }
        _ => return None,
    };
    d.checked_add(k).filter(|v| v.unsigned_abs() < 1 << 31)
}
