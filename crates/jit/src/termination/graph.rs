//! The control-flow graph the termination proof works on, built once per
//! check into [`Scratch`]: successor and predecessor links of the visited
//! blocks (bit masks for at most 64 blocks, else lists), their strongly
//! connected components (none computed when every cycle is a block jumping
//! to itself), and the registers each instruction in a cycle writes (from
//! the fast form, a short list of plain instructions, else iced's register
//! lists).

use iced_x86::{Code, Instruction, Mnemonic, OpKind};

use super::{Blocks, Scratch};
use crate::fast::{Form, Op};
use crate::interp::gpr;
use crate::record::Flow;

/// Zeroes the first `n` entries of `v`, growing it if needed (entries past
/// `n` are left as they are: nothing reads them).
pub(super) fn zeroed<T: Copy + Default>(v: &mut Vec<T>, n: usize) {
    if v.len() < n {
        v.resize(n, T::default());
    }
    v[..n].fill(T::default());
}

/// The edge transfer `j` makes when it is a jump between visited blocks:
/// (its block, the target block).
#[inline(always)]
fn jump_edge(blocks: &Blocks<'_>, j: usize) -> Option<(usize, usize)> {
    if !matches!(blocks.ops[j].flow, Flow::Jump | Flow::CondJump) {
        return None;
    }
    let (b, t) = (blocks.block_ending(j), blocks.jump_target(j));
    if t == NO_BLOCK || !blocks.visited(b) || !blocks.visited(t as usize) {
        return None;
    }
    Some((b, t as usize))
}

/// The block before `h` when it is visited and can go on to `h` (as
/// [`Blocks::succs`] has it: its last instruction no jump or return).
#[inline(always)]
pub(super) fn falls_into(blocks: &Blocks<'_>, h: usize) -> Option<usize> {
    let p = h.checked_sub(1).filter(|&p| blocks.visited(p))?;
    let last = blocks.end(p) - 1;
    (!matches!(blocks.ops[last].flow, Flow::Jump | Flow::Return)).then_some(p)
}

/// Successor and predecessor links of the graph [`Scratch::build`] made
/// (bit masks for at most 64 blocks).
pub(super) fn links<'a>(
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

/// No block (in [`Blocks::succs`]).
pub(super) const NO_BLOCK: u32 = u32::MAX;

/// Successors or predecessors: lists, or bit masks for small graphs.
#[derive(Clone, Copy)]
pub(super) enum Links<'s> {
    Lists(&'s Adjacency),
    Bits(&'s [u64]),
}

impl<'s> Links<'s> {
    pub(super) fn of(self, b: usize) -> LinkIter<'s> {
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
pub(super) enum Cursor {
    List(u32, u32),
    Bits(u64),
}

impl Links<'_> {
    pub(super) fn cursor(self, b: usize) -> Cursor {
        match self {
            Links::Lists(a) => Cursor::List(a.first[b], a.first[b + 1]),
            Links::Bits(m) => Cursor::Bits(m[b]),
        }
    }

    /// The next block of a [`Links::cursor`], in increasing order.
    pub(super) fn advance(self, at: &mut Cursor) -> Option<usize> {
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
pub(super) enum LinkIter<'s> {
    List(std::slice::Iter<'s, u32>),
    Bits(u64),
}

impl LinkIter<'_> {
    /// How many of the blocks are not `b` (a mask's bits counted at once).
    pub(super) fn count_except(self, b: usize) -> usize {
        match self {
            LinkIter::List(it) => it.filter(|&&x| x as usize != b).count(),
            LinkIter::Bits(m) => (m & !(1u64 << (b & 63))).count_ones() as usize,
        }
    }
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
pub(super) struct Adjacency {
    pub(super) first: Vec<u32>,
    pub(super) list: Vec<u32>,
    fill: Vec<u32>,
}

impl Adjacency {
    /// The lists of `edges` (`(a, b)`, or `(b, a)` with `reverse`).
    pub(super) fn fill_from(&mut self, n: usize, edges: &[(u32, u32)], reverse: bool) {
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
    /// write masks of the instructions in cycles (when every cycle is a
    /// self-loop, only what the proof then reads: [`Scratch::self_loops`]).
    pub(super) fn build(&mut self, blocks: &Blocks<'_>) {
        self.heads.clear();
        if self.self_loops(blocks) {
            // The only cycles are the heads jumping to themselves: every
            // component is one block. Only a head the direct rule leaves
            // to the general one gets its write masks and components
            // ([`Scratch::self_loop_buffers`], then [`fill_writes`], called
            // by [`super::check`]).
            self.backward = false;
            return;
        }
        self.heads.clear();
        self.build_general(blocks);
    }

    /// Grows what the general rule on a self-loop reads after
    /// [`Scratch::self_loops`]: the components (`identity`, each block its
    /// own) and the write masks (filled per head by [`fill_writes`]).
    pub(super) fn self_loop_buffers(&mut self, blocks: &Blocks<'_>) {
        let n = blocks.start.len();
        if self.identity.len() < n {
            self.identity.extend(self.identity.len() as u32..n as u32);
        }
        if self.writes.len() < blocks.instrs.len() {
            self.writes.resize(blocks.instrs.len(), 0);
        }
    }

    /// When every edge between visited blocks to a block not after its
    /// source is a block jumping to itself (a compiled counted loop): those
    /// heads in order into `heads`, and each head's predecessors (only the
    /// heads' rows of `pred_bits`, or of `pred` for more than 64 blocks,
    /// are complete; nothing reads the others, nor the successor links,
    /// when every cycle is a self-loop; up to 64 blocks the other rows of
    /// `pred_bits` are not even cleared). Read off the driver's list of
    /// jumps instead of every block's successors: every edge to a block
    /// not after its source is a jump. `false` (and the links incomplete)
    /// otherwise. Tested against [`Scratch::build_general`] in
    /// `termination/self_loop_tests.rs`.
    pub(super) fn self_loops(&mut self, blocks: &Blocks<'_>) -> bool {
        let n = blocks.start.len();
        let small = n <= 64;
        if small {
            // The jumps last to first: a head's own jump (ending the
            // head) comes before every jump into it (from blocks before
            // it), so only the heads' rows are written, each started by
            // that jump and the edge from the block before (if it falls
            // into the head): no other row is cleared or touched.
            if self.pred_bits.len() < n {
                self.pred_bits.resize(n, 0);
            }
            let mut is_head = 0u64;
            for &j in blocks.transfers.iter().rev() {
                let Some((b, t)) = jump_edge(blocks, j as usize) else {
                    continue;
                };
                if t < b {
                    return false;
                }
                if t == b {
                    self.heads.push(t as u32);
                    is_head |= 1 << t;
                    let fall = falls_into(blocks, t).map_or(0, |p| 1 << p);
                    self.pred_bits[t] = 1 << b | fall;
                } else if is_head >> t & 1 != 0 {
                    self.pred_bits[t] |= 1 << b;
                }
            }
            self.heads.reverse();
            return true;
        }
        self.edges.clear();
        // Every edge a jump makes: a head's jump to itself, and the jumps
        // into a head (all from blocks before it).
        for &j in blocks.transfers {
            let Some((b, t)) = jump_edge(blocks, j as usize) else {
                continue;
            };
            if t < b {
                return false;
            }
            if t == b {
                self.heads.push(t as u32);
            }
            self.edges.push((b as u32, t as u32));
        }
        // The edges into a head from the block before it.
        for &h in &self.heads {
            if let Some(p) = falls_into(blocks, h as usize) {
                self.edges.push((p as u32, h));
            }
        }
        self.pred.fill_from(n, &self.edges, true);
        true
    }

    /// [`Scratch::build`] for any graph: every edge between visited
    /// blocks, the components, and the write masks of the blocks in cycles.
    #[inline(never)]
    pub(super) fn build_general(&mut self, blocks: &Blocks<'_>) {
        let n = blocks.start.len();
        let small = n <= 64;
        self.edges.clear();
        self.heads.clear();
        if small {
            zeroed(&mut self.succ_bits, n);
            zeroed(&mut self.pred_bits, n);
        }
        let heads = &mut self.heads;
        // One loop per representation (the masks of a small graph as local
        // slices).
        let backward = if small {
            let (succ_bits, pred_bits) = (&mut self.succ_bits[..n], &mut self.pred_bits[..n]);
            visited_edges(blocks, heads, |b, s| {
                succ_bits[b] |= 1 << s;
                pred_bits[s] |= 1 << b;
            })
        } else {
            let edges = &mut self.edges;
            visited_edges(blocks, heads, |b, s| edges.push((b as u32, s as u32)))
        };
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
        // Only the instructions of blocks in a cycle get (and are read for)
        // their masks: every read is of a loop body, a component member or
        // a self-loop's block, all filled below. Grown, never cleared.
        if self.writes.len() < blocks.instrs.len() {
            self.writes.resize(blocks.instrs.len(), 0);
        }
        let (succ, _) = links(
            n,
            (&self.succ, &self.pred),
            (&self.succ_bits, &self.pred_bits),
        );
        let scc = &self.scc;
        let (writes, info) = (&mut self.writes, &mut self.info);
        let mut fill = |b: usize| {
            fill_writes(blocks, b, writes, info);
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
    pub(super) fn components_small(&mut self, n: usize) {
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
    pub(super) fn components(&mut self, n: usize) {
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

/// Calls `edge(b, s)` for every edge between visited blocks, and pushes to
/// `heads` the target of each edge to a block not after its source.
/// Returns whether an edge goes to an earlier block.
#[inline(always)]
fn visited_edges(
    blocks: &Blocks<'_>,
    heads: &mut Vec<u32>,
    mut edge: impl FnMut(usize, usize),
) -> bool {
    let mut backward = false;
    for b in (0..blocks.start.len()).filter(|&b| blocks.visited(b)) {
        for s in blocks.succs(b) {
            if s == NO_BLOCK || !blocks.visited(s as usize) {
                continue;
            }
            edge(b, s as usize);
            if s as usize <= b {
                heads.push(s);
                backward |= (s as usize) < b;
            }
        }
    }
    backward
}

/// The write masks of block `b`'s instructions into `writes`; returns
/// the registers the block writes (their union).
#[inline(always)]
pub(super) fn fill_writes(
    blocks: &Blocks<'_>,
    b: usize,
    writes: &mut [u16],
    info: &mut Option<iced_x86::InstructionInfoFactory>,
) -> u16 {
    let at = blocks.start[b] as usize..blocks.end(b);
    let mut written = 0;
    for (i, op) in at.clone().zip(&blocks.ops[at]) {
        let w = match op.form {
            Form::Generic => match plain_writes(&blocks.instrs[i]) {
                Some(mask) => mask,
                None => write_mask(
                    info.get_or_insert_with(iced_x86::InstructionInfoFactory::new),
                    &blocks.instrs[i],
                ),
            },
            _ => fast_writes(op),
        };
        writes[i] = w;
        written |= w;
    }
    written
}

/// The registers a fast form writes (its template, checked against iced's
/// lists when the form was chosen); not asked of the generic form.
#[inline]
pub(super) fn fast_writes(op: &Op) -> u16 {
    match op.form {
        Form::Jump | Form::Nop | Form::Compare | Form::Store | Form::Generic => 0,
        Form::Ret => 1 << crate::state::RSP,
        // `rax` and `rdx`.
        Form::Divide => 0b101,
        _ => 1 << (op.r0 & 15),
    }
}

/// The registers an instruction of the generic form writes, without iced's
/// register lists, when it writes exactly its register operand 0 and no
/// other general-purpose register: moves and loads, the ALU operations,
/// shifts and rotates, `lea`, `imul` with two or three operands. `None`
/// for anything else ([`write_mask`] asks iced). Checked against
/// [`write_mask`] on many encodings in the tests.
pub(super) fn plain_writes(ins: &Instruction) -> Option<u16> {
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
pub(super) fn write_mask(info: &mut iced_x86::InstructionInfoFactory, ins: &Instruction) -> u16 {
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
