//! Jump threading for constant block arguments, run on each function after
//! inlining.
//!
//! Lowering joins control flow through blocks with parameters, and the block
//! after the join often only tests a parameter: an inlined call jumps to its
//! return block with `(value, status)` where `status` is the constant 0 on the
//! success path, and the caller's `e ? d`, `raw`, `if (r.is_error)` then
//! compares `status` with 0 and branches. Cranelift does not thread jumps, so
//! the machine code materializes the constant, jumps to the join, compares
//! and branches again.
//!
//! This pass rewrites `jump B(args)` into `jump T(args')` when block `B`
//! holds only `iconst`, `icmp`, `uextend`/`sextend`/`ireduce` and `bor`
//! instructions and ends in `brif` whose condition is a constant once `B`'s
//! parameters are the jump's constant arguments; `T` is the target the `brif`
//! would take and `args'` its arguments with `B`'s parameters replaced by the
//! jump's arguments. Those instructions are pure and cannot trap, so skipping
//! them on that edge changes nothing observable; `B` stays as it was for its
//! other predecessors (or becomes unreachable and is removed by Cranelift).
//! A target argument defined inside `B` (other than a parameter) is not
//! threaded, and neither is a jump to a `B` whose parameters or results are
//! used outside `B`: bypassing `B` would leave those uses without a
//! dominating definition. Cranelift's verifier checks the result.
//!
//! Afterwards [`propagate_cold`] marks a block cold when all its predecessors
//! are: threading often leaves the caller's error test reachable only from
//! the callee's (cold) `fail` path, and a non-cold block there would be laid
//! out inside the hot loop. Coldness only affects block placement. It also
//! gives each conditional branch from a cold block into a non-cold block with
//! other predecessors its own cold edge block: Cranelift would otherwise
//! split that critical edge with a block it treats as hot (edge blocks take
//! the target's coldness), placing the edge's register moves, and a jump
//! around them, in the middle of the hot path.

use std::collections::{HashMap, HashSet};

use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::flowgraph::ControlFlowGraph;
use cranelift_codegen::ir::{
    self, BlockArg, BlockCall, InstBuilder, InstructionData, Opcode, condcodes::IntCC,
};

/// Threads jumps in `func` until nothing changes (bounded).
pub(super) fn thread_jumps(func: &mut ir::Function) {
    for _ in 0..8 {
        // Rewrites only drop uses or add uses of values already used in the
        // rewritten block, so this set stays a safe over-approximation.
        let escaping = escaping_values(func);
        let blocks: Vec<ir::Block> = func.layout.blocks().collect();
        let mut changed = false;
        for p in blocks {
            changed |= thread_one(func, p, &escaping);
        }
        if !changed {
            break;
        }
    }
}

/// Marks cold every block (but the entry) whose predecessors are all cold,
/// then splits the critical edges out of cold blocks (see the module doc).
pub(super) fn propagate_cold(func: &mut ir::Function) {
    let cfg = ControlFlowGraph::with_function(func);
    let entry = func.layout.entry_block();
    loop {
        let mut changed = false;
        let blocks: Vec<ir::Block> = func.layout.blocks().collect();
        for block in blocks {
            if Some(block) == entry || func.layout.is_cold(block) {
                continue;
            }
            let mut preds = cfg.pred_iter(block).peekable();
            if preds.peek().is_some() && preds.all(|p| func.layout.is_cold(p.block)) {
                func.layout.set_cold(block);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    split_cold_edges(func, &cfg);
}

/// Gives each `brif` edge from a cold block to a non-cold block with several
/// predecessors a cold block of its own that jumps on with the arguments.
fn split_cold_edges(func: &mut ir::Function, cfg: &ControlFlowGraph) {
    let blocks: Vec<ir::Block> = func.layout.blocks().collect();
    for block in blocks {
        if !func.layout.is_cold(block) {
            continue;
        }
        let Some(term) = func.layout.last_inst(block) else {
            continue;
        };
        let InstructionData::Brif {
            blocks: targets, ..
        } = func.dfg.insts[term]
        else {
            continue;
        };
        for (i, call) in targets.iter().enumerate() {
            let target = call.block(&func.dfg.value_lists);
            if func.layout.is_cold(target) || cfg.pred_iter(target).nth(1).is_none() {
                continue;
            }
            let args: Vec<BlockArg> = call.args(&func.dfg.value_lists).collect();
            let edge = func.dfg.make_block();
            func.layout.append_block(edge);
            func.layout.set_cold(edge);
            let mut pos = FuncCursor::new(func).at_bottom(edge);
            pos.ins().jump(target, &args);
            let new_call = BlockCall::new(edge, [], &mut func.dfg.value_lists);
            if let InstructionData::Brif { blocks, .. } = &mut func.dfg.insts[term] {
                blocks[i] = new_call;
            }
        }
    }
}

/// The values used in a block other than the one defining them.
fn escaping_values(func: &ir::Function) -> HashSet<ir::Value> {
    let mut out = HashSet::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            for v in func.dfg.inst_values(inst) {
                let v = func.dfg.resolve_aliases(v);
                let def_block = match func.dfg.value_def(v) {
                    ir::ValueDef::Result(i, _) => func.layout.inst_block(i),
                    ir::ValueDef::Param(b, _) => Some(b),
                    ir::ValueDef::Union(..) => None,
                };
                if def_block != Some(block) {
                    out.insert(v);
                }
            }
        }
    }
    out
}

/// Rewrites the terminator of `p` if it is a jump that can be threaded.
fn thread_one(func: &mut ir::Function, p: ir::Block, escaping: &HashSet<ir::Value>) -> bool {
    let Some(term) = func.layout.last_inst(p) else {
        return false;
    };
    let InstructionData::Jump { destination, .. } = func.dfg.insts[term] else {
        return false;
    };
    let pool = &func.dfg.value_lists;
    let b = destination.block(pool);
    if b == p {
        return false;
    }
    let jump_args: Vec<BlockArg> = destination.args(pool).collect();
    let params = func.dfg.block_params(b);
    if params.len() != jump_args.len() || params.iter().any(|v| escaping.contains(v)) {
        return false;
    }
    // Known constants (as u64, masked to their type) and the parameter map.
    let mut known: HashMap<ir::Value, u64> = HashMap::new();
    let mut subst: HashMap<ir::Value, BlockArg> = HashMap::new();
    for (param, arg) in params.iter().zip(&jump_args) {
        subst.insert(*param, *arg);
        if let BlockArg::Value(v) = arg
            && let Some(c) = const_of(func, *v)
        {
            known.insert(*param, c);
        }
    }
    let get = |known: &HashMap<ir::Value, u64>, v: ir::Value| {
        known.get(&func.dfg.resolve_aliases(v)).copied()
    };
    let mut defined_in_b = Vec::new();
    let mut brif = None;
    for inst in func.layout.block_insts(b) {
        let data = func.dfg.insts[inst];
        if let InstructionData::Brif { arg, blocks, .. } = data {
            brif = Some((arg, blocks));
            break;
        }
        let Some(result) = func.dfg.inst_results(inst).first().copied() else {
            return false;
        };
        if func.dfg.inst_results(inst).len() != 1 {
            return false;
        }
        if escaping.contains(&result) {
            return false;
        }
        defined_in_b.push(result);
        let ty = func.dfg.value_type(result);
        let value = match data {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } => Some(mask(imm.bits() as u64, ty)),
            InstructionData::IntCompare { args, cond, .. } => {
                match (get(&known, args[0]), get(&known, args[1])) {
                    (Some(x), Some(y)) => {
                        let t = func.dfg.value_type(args[0]);
                        Some(u64::from(compare(cond, x, y, t)))
                    }
                    _ => None,
                }
            }
            InstructionData::Unary {
                opcode: op @ (Opcode::Uextend | Opcode::Sextend | Opcode::Ireduce),
                arg,
            } => get(&known, arg).map(|x| {
                let from = func.dfg.value_type(arg);
                if op == Opcode::Sextend {
                    mask(sign_extend(x, from) as u64, ty)
                } else {
                    mask(x, ty)
                }
            }),
            InstructionData::Binary {
                opcode: Opcode::Bor,
                args,
            } => match (get(&known, args[0]), get(&known, args[1])) {
                (Some(x), Some(y)) => Some(x | y),
                _ => None,
            },
            _ => return false,
        };
        if let Some(v) = value {
            known.insert(result, v);
        }
    }
    let Some((cond, targets)) = brif else {
        return false;
    };
    let Some(c) = get(&known, cond) else {
        return false;
    };
    let taken: BlockCall = if c != 0 { targets[0] } else { targets[1] };
    let pool = &func.dfg.value_lists;
    let target = taken.block(pool);
    let mut new_args = Vec::new();
    for arg in taken.args(pool) {
        let mapped = match arg {
            BlockArg::Value(v) => {
                let v = func.dfg.resolve_aliases(v);
                if let Some(a) = subst.get(&v) {
                    *a
                } else if defined_in_b.contains(&v) {
                    return false;
                } else {
                    BlockArg::Value(v)
                }
            }
            _ => return false,
        };
        new_args.push(mapped);
    }
    func.replace(term).jump(target, &new_args);
    true
}

/// The constant `v` is defined as, masked to its type.
fn const_of(func: &ir::Function, v: ir::Value) -> Option<u64> {
    let v = func.dfg.resolve_aliases(v);
    let inst = func.dfg.value_def(v).inst()?;
    match func.dfg.insts[inst] {
        InstructionData::UnaryImm {
            opcode: Opcode::Iconst,
            imm,
        } => Some(mask(imm.bits() as u64, func.dfg.value_type(v))),
        _ => None,
    }
}

fn mask(x: u64, ty: ir::Type) -> u64 {
    super::width_mask(ty.bits()) & x
}

fn sign_extend(x: u64, ty: ir::Type) -> i64 {
    let bits = ty.bits().clamp(1, 64);
    let shift = 64 - bits;
    ((x << shift) as i64) >> shift
}

/// `x cond y` for two constants of type `ty` (already masked).
fn compare(cond: IntCC, x: u64, y: u64, ty: ir::Type) -> bool {
    let (sx, sy) = (sign_extend(x, ty), sign_extend(y, ty));
    match cond {
        IntCC::Equal => x == y,
        IntCC::NotEqual => x != y,
        IntCC::SignedLessThan => sx < sy,
        IntCC::SignedGreaterThanOrEqual => sx >= sy,
        IntCC::SignedGreaterThan => sx > sy,
        IntCC::SignedLessThanOrEqual => sx <= sy,
        IntCC::UnsignedLessThan => x < y,
        IntCC::UnsignedGreaterThanOrEqual => x >= y,
        IntCC::UnsignedGreaterThan => x > y,
        IntCC::UnsignedLessThanOrEqual => x <= y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::ir::types;

    #[test]
    fn comparisons_respect_width_and_signedness() {
        let m8 = mask(0xff, types::I8);
        assert!(compare(IntCC::SignedLessThan, m8, 0, types::I8));
        assert!(!compare(IntCC::UnsignedLessThan, m8, 0, types::I8));
        assert_eq!(mask(u64::MAX, types::I32), 0xffff_ffff);
        assert_eq!(sign_extend(0x80, types::I8), -128);
        assert!(compare(
            IntCC::Equal,
            mask(-1i64 as u64, types::I16),
            0xffff,
            types::I16
        ));
    }
}
