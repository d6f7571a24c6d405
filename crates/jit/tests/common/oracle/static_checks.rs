//! Checks that need no run, on the code as iced decodes it at [`CODE_BASE`].
//!
//! [`decode_mismatch`]: the code must decode the same with iced's AMD option
//! (a `66`-prefixed near branch or `ret` is 16-bit on AMD CPUs).
//! [`no_exit`]: every instruction reachable from the entry along the
//! control-flow graph should reach a `ret`. That graph ignores values, so
//! an edge the validator proves dead (a comparison it knows the result of)
//! still counts here: a finding is a suspect, not a violation, and the
//! harnesses rely on the run instead, where [`hangs_without_exit`] tells
//! a hang in code that cannot reach a `ret` (a violation) from a loop that
//! can (inconclusive).

use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction};

use super::CODE_BASE;

fn decode(code: &[u8], options: u32) -> Vec<Instruction> {
    let mut d = Decoder::with_ip(64, code, CODE_BASE, options);
    std::iter::from_fn(|| d.can_decode().then(|| d.decode())).collect()
}

/// The first instruction that decodes differently on AMD CPUs.
pub fn decode_mismatch(code: &[u8]) -> Option<String> {
    let intel = decode(code, DecoderOptions::NONE);
    let amd = decode(code, DecoderOptions::AMD);
    for (a, b) in intel.iter().zip(&amd) {
        if a.code() != b.code() || a.len() != b.len() {
            return Some(format!(
                "code+{:#x} decodes as {:?} by default but {:?} on AMD",
                a.ip() - CODE_BASE,
                a.code(),
                b.code()
            ));
        }
        if a.ip() != b.ip() {
            break;
        }
    }
    None
}

/// The control-flow graph: instructions, successors by index, and which
/// instructions reach a `ret`.
struct Graph {
    ins: Vec<Instruction>,
    succs: Vec<Vec<usize>>,
    exits: Vec<bool>,
}

impl Graph {
    fn new(code: &[u8]) -> Graph {
        let ins = decode(code, DecoderOptions::NONE);
        let index = |ip: u64| ins.binary_search_by_key(&ip, Instruction::ip).ok();
        let succs: Vec<Vec<usize>> = ins
            .iter()
            .map(|i| {
                let next = index(i.next_ip());
                let target = index(i.near_branch_target());
                match i.flow_control() {
                    FlowControl::Return => vec![],
                    FlowControl::UnconditionalBranch => target.into_iter().collect(),
                    FlowControl::ConditionalBranch => target.into_iter().chain(next).collect(),
                    _ => next.into_iter().collect(),
                }
            })
            .collect();
        let mut preds = vec![Vec::new(); ins.len()];
        for (i, s) in succs.iter().enumerate() {
            for &t in s {
                preds[t].push(i);
            }
        }
        let mut exits = vec![false; ins.len()];
        let mut stack: Vec<usize> = (0..ins.len())
            .filter(|&i| ins[i].flow_control() == FlowControl::Return)
            .collect();
        while let Some(i) = stack.pop() {
            if !exits[i] {
                exits[i] = true;
                stack.extend(preds[i].iter().copied());
            }
        }
        Graph { ins, succs, exits }
    }
}

/// The first instruction reachable from the entry from which no path
/// reaches a `ret` (a suspect: see the module docs).
pub fn no_exit(code: &[u8]) -> Option<String> {
    let g = Graph::new(code);
    let n = g.ins.len();
    let mut reach = vec![false; n];
    let mut stack = vec![0];
    while let Some(i) = stack.pop() {
        if i >= n || reach[i] {
            continue;
        }
        reach[i] = true;
        stack.extend(g.succs[i].iter().copied());
    }
    (0..n).find(|&i| reach[i] && !g.exits[i]).map(|i| {
        format!(
            "code+{:#x} is reachable but no path from it reaches a ret",
            g.ins[i].ip() - CODE_BASE
        )
    })
}

/// Both static checks: [`decode_mismatch`], then [`no_exit`].
pub fn static_violation(code: &[u8]) -> Option<String> {
    decode_mismatch(code).or_else(|| no_exit(code))
}

/// Why a call that ran out of CPU time at code offset `at` is a violation:
/// it hung in an instruction from which no path reaches a `ret`, or it was
/// running at an offset that is no instruction start. `None` for a loop
/// that could still exit (inconclusive).
pub(super) fn hangs_without_exit(code: &[u8], at: u64) -> Option<String> {
    let g = Graph::new(code);
    match g
        .ins
        .binary_search_by_key(&(CODE_BASE + at), Instruction::ip)
    {
        Ok(i) if !g.exits[i] => Some(format!(
            "hung at code+{at:#x}, from which no path reaches a ret"
        )),
        Ok(_) => None,
        Err(_) => Some(format!(
            "ran out of CPU time at code+{at:#x}, inside an instruction"
        )),
    }
}
