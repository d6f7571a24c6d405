//! [`Scratch::self_loops`] (the graph read off the driver's jumps when
//! every cycle is a block jumping to itself) against
//! [`Scratch::build_general`] (every visited block's successors): on
//! pseudo-random programs of jumps, returns and straight-line code, with
//! random blocks left unvisited, both find the same heads, the same
//! absence of backward edges and the same predecessors of every head
//! (bit masks up to 64 blocks, lists with their repeated edges beyond),
//! and the fast pass declines exactly when there is a backward edge; the
//! heads' write masks (filled after `build`) and their unions agree too.

use super::Scratch;
use super::graph::{Links, fill_writes};
use crate::fast::{Form, Head, Op};
use crate::interp::Ctx;
use crate::record::Flow;
use crate::validate::VISITED;

use crate::test_rng::Rng;

/// A program as the driver leaves it: lowered instructions (jumps
/// resolved into `Op::k`), block starts, the block of each leader, the
/// transfers and the visited marks.
struct Program {
    ops: Vec<Op>,
    start: Vec<u32>,
    block_of: Vec<u32>,
    transfers: Vec<u32>,
    mark: Vec<u8>,
}

/// With `clean`, every jump goes to the next instruction or back to the
/// instruction after the last transfer (a self-loop), so that large
/// programs too have no other backward edge.
fn program(rng: &mut Rng, len: usize, clean: bool) -> Program {
    let mut ops = Vec::with_capacity(len);
    let mut boundary = 0;
    for i in 0..len {
        let mut op = Op {
            head: Head {
                form: Form::Alu,
                r0: rng.below(16) as u8,
                ..Head::default()
            },
            ..Op::default()
        };
        match rng.below(10) {
            0..=2 if i + 1 < len => {
                op.flow = if rng.below(3) == 0 {
                    Flow::Jump
                } else {
                    Flow::CondJump
                };
                op.form = Form::Jump;
                // Mostly forward; sometimes a few instructions back (often
                // to the jump's own block), rarely anywhere.
                op.k = match rng.below(8) {
                    _ if clean => [i + 1, boundary][rng.below(2)] as i64,
                    0..=4 => (i + 1 + rng.below(len - i - 1)) as i64,
                    5 | 6 => i.saturating_sub(rng.below(4)) as i64,
                    _ => rng.below(len) as i64,
                };
                boundary = i + 1;
            }
            3 => {
                boundary = i + 1;
                op.flow = Flow::Return;
                op.form = Form::Ret;
            }
            4 => {
                op.flow = Flow::Call;
                op.form = Form::Nop;
            }
            _ => {}
        }
        ops.push(op);
    }
    // Leaders as the driver marks them: the first instruction, every jump
    // target and the instruction after a jump or a return.
    let mut leader = vec![false; len + 1];
    leader[0] = true;
    let mut transfers = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match op.flow {
            Flow::Jump | Flow::CondJump => {
                leader[op.k as usize] = true;
                leader[i + 1] = true;
            }
            Flow::Return => leader[i + 1] = true,
            _ => {}
        }
        if op.flow != Flow::Next {
            transfers.push(i as u32);
        }
    }
    let mut start = Vec::new();
    let mut block_of = vec![u32::MAX; len + 1];
    for i in 0..len {
        if leader[i] {
            block_of[i] = start.len() as u32;
            start.push(i as u32);
        }
    }
    // Block 0 is always visited; most others are.
    let mark = (0..start.len())
        .map(|b| {
            if b == 0 || rng.below(8) != 0 {
                VISITED
            } else {
                0
            }
        })
        .collect();
    Program {
        ops,
        start,
        block_of,
        transfers,
        mark,
    }
}

/// The predecessors of `b`, sorted (with repeats, as lists keep them).
fn preds(s: &Scratch, n: usize, b: usize) -> Vec<usize> {
    let links = if n <= 64 {
        Links::Bits(&s.pred_bits)
    } else {
        Links::Lists(&s.pred)
    };
    let mut p: Vec<usize> = links.of(b).collect();
    p.sort_unstable();
    p
}

#[test]
fn self_loop_graphs_read_off_the_jumps_match_the_full_graph() {
    let policy = crate::Policy::default();
    let sig: crate::Signature = "int64(int64,int64,int64)"
        .parse()
        .expect("a valid signature");
    let ctx = Ctx::new(&policy, &sig, 0, &crate::num::NO_SYMS);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut fast, mut general) = (Scratch::default(), Scratch::default());
    // How many programs took the fast pass with at least one head, and
    // how many declined, with small and with large graphs.
    let mut seen = [[0usize; 2]; 2];
    for round in 0..6000 {
        let len = if round % 3 == 0 {
            120 + rng.below(300)
        } else {
            1 + rng.below(60)
        };
        let p = program(&mut rng, len, round % 6 == 3);
        let instrs = vec![iced_x86::Instruction::default(); len];
        let blocks = super::Blocks {
            instrs: &instrs,
            ops: &p.ops,
            start: &p.start,
            block_of: &p.block_of,
            mark: &p.mark,
            states: &[],
            ctx: &ctx,
            transfers: &p.transfers,
        };
        let n = p.start.len();
        general.build_general(&blocks);
        fast.heads.clear();
        let took = fast.self_loops(&blocks);
        assert_eq!(took, !general.backward, "round {round}: fast pass taken");
        let large = usize::from(n > 64);
        if !took {
            seen[large][1] += 1;
            continue;
        }
        assert_eq!(fast.heads, general.heads, "round {round}: heads");
        seen[large][0] += usize::from(!fast.heads.is_empty());
        for &h in &fast.heads {
            let h = h as usize;
            assert_eq!(
                preds(&fast, n, h),
                preds(&general, n, h),
                "round {round}: predecessors of head {h}"
            );
        }
        // And `fill_writes` (which `check` calls on a head after `build`)
        // fills the heads' write masks as the general pass, and gives
        // their union per head.
        fast.build(&blocks);
        fast.self_loop_buffers(&blocks);
        for &h in &general.heads {
            let at = p.start[h as usize] as usize..blocks.end(h as usize);
            let union = fill_writes(&blocks, h as usize, &mut fast.writes, &mut fast.info);
            assert_eq!(fast.writes[at.clone()], general.writes[at.clone()]);
            let all = general.writes[at].iter().fold(0, |m, &w| m | w);
            assert_eq!(union, all, "round {round}: head {h}");
        }
    }
    for (large, [took, declined]) in seen.into_iter().enumerate() {
        assert!(
            took >= 50 && declined >= 50,
            "large {large}: fast {took}, declined {declined}"
        );
    }
}

/// [`super::graph::LinkIter::count_except`] (a mask's bits counted at
/// once) equals counting the iterated blocks other than `b`, on random
/// masks (with and without `b`) and random lists (repeats included).
#[test]
fn count_except_counts_the_other_links() {
    let mut rng = Rng(0x5eed_c0de);
    let mut adj = super::graph::Adjacency::default();
    for round in 0..20_000 {
        let b = rng.below(64);
        let mask = match round % 4 {
            0 => rng.next() | 1 << b,
            1 => rng.next() & !(1 << b),
            2 => 1 << b,
            _ => rng.next() & rng.next(),
        };
        let masks = [mask; 64];
        let bits = Links::Bits(&masks);
        let by_walk = bits.of(b).filter(|&x| x != b).count();
        assert_eq!(bits.of(b).count_except(b), by_walk, "mask {mask:#x}, b {b}");
        let edges: Vec<(u32, u32)> = (0..rng.below(12))
            .map(|_| (b as u32, rng.below(8) as u32 + b.saturating_sub(3) as u32))
            .collect();
        adj.fill_from(72, &edges, false);
        let lists = Links::Lists(&adj);
        let by_walk = lists.of(b).filter(|&x| x != b).count();
        assert_eq!(lists.of(b).count_except(b), by_walk, "edges {edges:?}");
    }
}
