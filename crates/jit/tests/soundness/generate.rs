//! The structured generator: random functions that mostly follow the
//! validator's rules, for a given signature and policy.
//!
//! In: an [`Rng`], a [`Signature`], a [`Policy`]. Out: a list of [`Item`]s (a
//! function: prologue saving callee-saved registers, optional frame pointer
//! and frame of any size with or without probes, a body of ALU/shift/`imul`/
//! `cmov`/`setcc`/`movzx`/load/store statements, forward branches, diamonds,
//! counted loops, calls and division where the policy allows them, early
//! returns, and a matching epilogue). The generator keeps a small model of
//! what is defined (register widths, flags, written stack bytes) so most of
//! its output is valid; about one function in four also gets one "attack"
//! statement (laundering an entry value, a deep touch without a probe, an
//! uninitialised read, a loop without exit) that a sound validator rejects.

use npk_jit::{PointerAccess, Policy, SigType, Signature};

#[path = "attack.rs"]
mod attack;
#[path = "flow.rs"]
mod flow;

use crate::asm::{self, Item};
use crate::oracle::{ARG_REGS, CALLEE, CALLEE_SAVED, Rng};

/// Flag bits of the generator's model.
const CF: u8 = 1;
const PF: u8 = 2;
const ZF: u8 = 4;
const SF: u8 = 8;
const OF: u8 = 16;
const ALL: u8 = CF | PF | ZF | SF | OF;
const RAX: usize = 0;
const RCX: usize = 1;
const RDX: usize = 2;
const RSP: usize = 4;
const RBP: usize = 5;
/// Labels of the first byte and the end of the code.
const START: usize = 0;
const END: usize = usize::MAX;
const SCRATCH: [usize; 9] = [0, 1, 2, 6, 7, 8, 9, 10, 11];

/// Flags condition code `cc` reads.
fn reads(cc: u8) -> u8 {
    match cc >> 1 {
        0 => OF,
        1 => CF,
        2 => ZF,
        3 => CF | ZF,
        4 => SF,
        5 => PF,
        6 => SF | OF,
        _ => ZF | SF | OF,
    }
}

/// The generator's model of one program point.
#[derive(Clone)]
struct Model {
    /// Defined low bytes per register.
    def: [u8; 16],
    /// Register holds pointer parameter `i` + offset.
    ptr: [Option<(usize, i64)>; 16],
    flags: u8,
    /// `rsp` relative to entry.
    rsp: i64,
    /// Written stack bytes, index = `-offset - 1` (offset -1 is index 0).
    written: Vec<bool>,
}

impl Model {
    fn join(&mut self, other: &Model) {
        for r in 0..16 {
            self.def[r] = self.def[r].min(other.def[r]);
            if self.ptr[r] != other.ptr[r] {
                self.ptr[r] = None;
            }
        }
        self.flags &= other.flags;
        for (a, b) in self.written.iter_mut().zip(&other.written) {
            *a &= *b;
        }
    }
    fn is_written(&self, off: i64, len: i64) -> bool {
        (off..off + len).all(|o| {
            o < 0
                && self
                    .written
                    .get((-o - 1) as usize)
                    .copied()
                    .unwrap_or(false)
        })
    }
    fn write(&mut self, off: i64, len: i64) {
        for o in off..off + len {
            if o < 0
                && let Some(w) = self.written.get_mut((-o - 1) as usize)
            {
                *w = true;
            }
        }
    }
    /// Forgets bytes below `rsp - keep` (after `rsp` moves up or a call).
    fn forget_below(&mut self, keep: i64) {
        let limit = self.rsp - keep;
        for (i, w) in self.written.iter_mut().enumerate() {
            if -(i as i64) - 1 < limit {
                *w = false;
            }
        }
    }
}

/// One function being generated.
pub struct Gen<'a> {
    rng: &'a mut Rng,
    sig: Signature,
    policy: &'a Policy,
    items: Vec<Item>,
    labels: usize,
    m: Model,
    /// Callee-saved registers pushed in the prologue (usable as scratch).
    saved: Vec<usize>,
    frame: i64,
    frame_pointer: bool,
    /// Registers that must keep their value (loop counters, pointers).
    pinned: u16,
    /// Whether an attack statement was emitted.
    pub attacked: bool,
    red: i64,
    /// Offset of the lowest saved register: body stores stay below it.
    saved_top: i64,
}

impl<'a> Gen<'a> {
    pub fn new(rng: &'a mut Rng, sig: Signature, policy: &'a Policy) -> Gen<'a> {
        let mut def = [0u8; 16];
        let mut ptr = [None; 16];
        let mut pinned = 1u16 << RSP;
        let mut pi = 0;
        for (i, t) in sig.params().enumerate() {
            let r = ARG_REGS[i];
            def[r] = t.width();
            if t == SigType::Pointer {
                ptr[r] = Some((pi, 0));
                pi += 1;
                pinned |= 1 << r;
            }
        }
        let span = (policy.max_frame.min(npk_jit::MAX_FRAME_LIMIT) + 512) as usize;
        let red = if policy.allow_red_zone { 128 } else { 0 };
        Gen {
            rng,
            sig,
            policy,
            items: Vec::new(),
            labels: 0,
            m: Model {
                def,
                ptr,
                flags: 0,
                rsp: 0,
                written: vec![false; span],
            },
            saved: Vec::new(),
            frame: 0,
            frame_pointer: false,
            pinned,
            attacked: false,
            red,
            saved_top: 0,
        }
    }

    /// Generates a whole function.
    pub fn function(mut self) -> Vec<Item> {
        self.items.push(Item::Label(START));
        self.prologue();
        let n = 2 + self.rng.below(18);
        for _ in 0..n {
            self.statement(0);
        }
        if self.rng.chance(4) {
            self.attack();
        }
        self.epilogue();
        self.items.push(Item::Label(END));
        self.items
    }

    fn emit(&mut self, bytes: Vec<u8>) {
        self.items.push(Item::ins(bytes));
    }
    fn label(&mut self) -> usize {
        self.labels += 1;
        self.labels
    }
    fn reserved(&self, r: usize) -> bool {
        self.policy
            .reserved
            .iter()
            .any(|x| x.full_register().number() == r)
    }
    fn free(&self, r: usize) -> bool {
        self.pinned & (1 << r) == 0 && !self.reserved(r)
    }
    /// A register the body may overwrite.
    fn writable(&mut self) -> Option<usize> {
        let mut c: Vec<usize> = SCRATCH
            .iter()
            .copied()
            .chain(self.saved.iter().copied())
            .filter(|&r| self.free(r))
            .collect();
        c.retain(|&r| !(self.frame_pointer && r == RBP));
        (!c.is_empty()).then(|| *self.rng.pick(&c))
    }
    /// A register defined for at least `size` bytes, not a pointer.
    fn defined(&mut self, size: u8) -> Option<usize> {
        let c: Vec<usize> = (0..16)
            .filter(|&r| {
                r != RSP && self.m.def[r] >= size && !self.reserved(r) && self.m.ptr[r].is_none()
            })
            .filter(|&r| !(self.frame_pointer && r == RBP))
            .collect();
        (!c.is_empty()).then(|| *self.rng.pick(&c))
    }
    fn size(&mut self) -> u8 {
        *self.rng.pick(&[4, 4, 8, 8, 8, 4, 1, 2])
    }
    fn set_def(&mut self, r: usize, size: u8) {
        self.m.def[r] = if size >= 4 {
            8
        } else {
            self.m.def[r].max(size)
        };
        self.m.ptr[r] = None;
    }
    fn cc(&mut self) -> Option<u8> {
        let ok: Vec<u8> = (0..16).filter(|&c| reads(c) & !self.m.flags == 0).collect();
        (!ok.is_empty()).then(|| *self.rng.pick(&ok))
    }

    fn prologue(&mut self) {
        if self.rng.chance(3) && self.free(RBP) {
            self.emit(asm::push(RBP));
            self.emit(rr8(0x89, 8, RSP, RBP));
            self.m.rsp = -8;
            self.m.write(-8, 8);
            self.frame_pointer = true;
            self.pinned |= 1 << RBP;
        }
        let mut cands: Vec<usize> = CALLEE_SAVED
            .iter()
            .copied()
            .filter(|&r| !(self.reserved(r) || self.frame_pointer && r == RBP))
            .collect();
        for _ in 0..self.rng.below(4) {
            if cands.is_empty() {
                break;
            }
            let r = cands.remove(self.rng.below(cands.len() as u64) as usize);
            self.emit(asm::push(r));
            self.m.rsp -= 8;
            let rsp = self.m.rsp;
            self.m.write(rsp, 8);
            self.saved.push(r);
        }
        self.saved_top = self.m.rsp;
        let max = i64::from(self.policy.max_frame.min(npk_jit::MAX_FRAME_LIMIT)) + self.m.rsp;
        let mut frame = match self.rng.below(10) {
            0..=2 => 0,
            3..=5 => 8 * (1 + self.rng.below(8) as i64),
            6 => 16 * (8 + self.rng.below(56) as i64),
            7 => 4096,
            _ => 4096 + 8 * self.rng.below(2048) as i64,
        };
        if !self.rng.chance(8) {
            frame = frame.min(max.max(0));
        }
        if !self.policy.allowed_calls.is_empty() && (self.m.rsp - frame).rem_euclid(16) != 8 {
            frame += 8;
        }
        if frame > 0 {
            self.allocate(frame);
        }
        self.frame = frame;
    }

    /// `sub rsp` by `frame`, probing each page on the way in most cases.
    fn allocate(&mut self, frame: i64) {
        let probe = frame > 4096 && !self.rng.chance(4);
        let mut left = frame;
        while probe && left > 4096 {
            self.emit(asm::adjust_rsp(4096));
            self.m.rsp -= 4096;
            left -= 4096;
            let probe = match self.rng.below(3) {
                0 => asm::grp_m(&[0x83], &[0x80], 8, 1, RSP, 0, &[0]), // or qword [rsp], 0
                1 => asm::grp_m(&[0xc7], &[0xc6], 8, 0, RSP, 0, &[0; 4]), // mov qword [rsp], 0
                _ => asm::grp_m(&[0xc7], &[0xc6], 4, 0, RSP, 0, &[0; 4]),
            };
            self.emit(probe);
            let rsp = self.m.rsp;
            self.m.write(rsp, 4);
        }
        if self.rng.chance(6) {
            self.emit(asm::lea(RSP, RSP, -(left as i32)));
        } else {
            self.emit(asm::adjust_rsp(left as i32));
            self.m.flags = ALL;
        }
        self.m.rsp -= left;
    }

    fn epilogue(&mut self) {
        let saved = self.m.clone();
        self.return_value();
        let restore =
            self.m.rsp + 8 * self.saved.len() as i64 + if self.frame_pointer { 8 } else { 0 };
        let leave = self.frame_pointer && self.rng.chance(2);
        if leave && self.saved.is_empty() {
            self.emit(vec![0xc9]);
        } else {
            if self.frame_pointer && !self.saved.is_empty() {
                // rsp = rbp - 8 * saved
                self.emit(asm::lea(RSP, RBP, -8 * self.saved.len() as i32));
            } else if self.frame_pointer && self.rng.chance(2) {
                self.emit(rr8(0x89, 8, RBP, RSP));
            } else if restore != 0 {
                let n = -restore as i32;
                if self.rng.chance(4) {
                    self.emit(asm::lea(RSP, RSP, n));
                } else {
                    self.emit(asm::adjust_rsp(-n));
                }
            }
            for &r in self.saved.clone().iter().rev() {
                self.emit(asm::pop(r));
            }
            if self.frame_pointer {
                self.emit(asm::pop(RBP));
            }
        }
        self.emit(vec![0xc3]);
        self.m = saved;
    }

    fn return_value(&mut self) {
        let w = self.sig.ret().width();
        if self.m.def[RAX] >= w && self.m.ptr[RAX].is_none() && !self.rng.chance(6) {
            return;
        }
        match self.defined(w) {
            Some(r) if !self.rng.chance(5) => self.emit(rr8(0x89, w.max(4), r, RAX)),
            _ => {
                let imm = self.rng.next() & 0xffff;
                self.emit(asm::mov_imm(4, RAX, imm));
            }
        }
        self.set_def(RAX, 8);
    }

    fn statement(&mut self, depth: u32) {
        if !self.policy.allowed_calls.is_empty() && self.rng.chance(6) {
            return self.call();
        }
        let k = self.rng.below(if depth < 2 { 30 } else { 22 });
        match k {
            0..=4 => self.alu(),
            5 | 6 => self.alu_imm(),
            7 => self.shift(),
            8 => self.imul(),
            9 => self.cmov_setcc(),
            10 => self.extend(),
            11 => self.mov_imm(),
            12 | 13 => self.store(),
            14 | 15 => self.load(),
            16 => self.pointer(),
            17 => self.unary(),
            18 => self.push_pop(),
            19 => self.call(),
            20 => self.divide(),
            21 => match self.rng.below(3) {
                0 => self.lea(),
                1 => self.bits(),
                _ => self.constant(false),
            },
            22..=24 => self.branch(depth),
            25 | 26 => self.diamond(depth),
            27 | 28 => self.counted_loop(depth),
            _ => self.early_return(),
        }
    }

    fn alu(&mut self) {
        let size = self.size();
        let ops: [(u8, bool); 9] = [
            (0x01, true),
            (0x09, true),
            (0x11, true),
            (0x19, true),
            (0x21, true),
            (0x29, true),
            (0x31, true),
            (0x39, true),
            (0x85, true),
        ];
        let (op, _) = *self.rng.pick(&ops);
        let mov = self.rng.chance(4);
        let Some(src) = self.defined(size) else {
            return;
        };
        let Some(dst) = self.writable() else { return };
        if mov {
            self.emit(rr8(0x89, size, src, dst));
            self.set_def(dst, size);
            return;
        }
        let carry = op == 0x11 || op == 0x19;
        if carry && self.m.flags & CF == 0 {
            return;
        }
        if src == dst && (op == 0x31 || op == 0x29) {
            self.emit(rr8(op, size, src, dst));
            self.set_def(dst, size);
            self.m.flags = ALL;
            return;
        }
        if self.m.def[dst] < size {
            return;
        }
        self.emit(rr8(op, size, src, dst));
        if op != 0x39 && op != 0x85 {
            self.set_def(dst, size);
        }
        self.m.flags = ALL;
    }

    fn alu_imm(&mut self) {
        let size = self.size();
        let ext = self.rng.below(8) as u8;
        let Some(dst) = self
            .defined(size)
            .filter(|&r| self.free(r) && (self.writable_reg(r) || ext == 7))
        else {
            return;
        };
        if (ext == 2 || ext == 3) && self.m.flags & CF == 0 {
            return;
        }
        let imm = self.rng.next();
        let (op, imm): (u8, Vec<u8>) = if size == 1 || self.rng.chance(2) {
            (0x83, vec![imm as u8])
        } else if size == 2 {
            (0x81, (imm as u16).to_le_bytes().to_vec())
        } else {
            (0x81, (imm as u32).to_le_bytes().to_vec())
        };
        let bytes = asm::grp_r(&[op], &[0x80], size, ext, dst, &imm);
        self.emit(bytes);
        if ext != 7 {
            self.set_def(dst, size);
        }
        self.m.flags = ALL;
    }

    fn writable_reg(&self, r: usize) -> bool {
        (SCRATCH.contains(&r) || self.saved.contains(&r))
            && self.free(r)
            && !(self.frame_pointer && r == RBP)
    }

    fn shift(&mut self) {
        let size = *self.rng.pick(&[4u8, 8, 8, 1]);
        let Some(dst) = self.defined(size).filter(|&r| self.writable_reg(r)) else {
            return;
        };
        let ext = *self.rng.pick(&[0u8, 1, 4, 5, 7, 4]);
        match self.rng.below(3) {
            0 if dst != RCX && self.m.def[RCX] >= 1 => {
                self.emit(asm::grp_r(&[0xd3], &[0xd2], size, ext, dst, &[]));
                self.m.flags = 0;
            }
            1 => {
                self.emit(asm::grp_r(&[0xd1], &[0xd0], size, ext, dst, &[]));
                self.m.flags = if ext < 2 {
                    (self.m.flags & !(CF | OF)) | CF | OF
                } else {
                    ALL
                };
            }
            _ => {
                let n = 2 + self.rng.below(if size == 1 { 6 } else { 29 }) as u8;
                self.emit(asm::grp_r(&[0xc1], &[0xc0], size, ext, dst, &[n]));
                self.m.flags = if ext < 2 {
                    (self.m.flags & !(CF | OF)) | CF
                } else {
                    ALL & !OF
                };
            }
        }
        self.set_def(dst, size);
    }

    fn imul(&mut self) {
        let size = *self.rng.pick(&[4u8, 8]);
        let Some(src) = self.defined(size) else {
            return;
        };
        let Some(dst) = self.writable() else { return };
        match self.rng.below(3) {
            0 if self.m.def[dst] >= size => self.emit(rr2(&[0x0f, 0xaf], size, dst, src)),
            1 => {
                let mut b = rr2(&[0x6b], size, dst, src);
                b.push(self.rng.next() as u8);
                self.emit(b);
            }
            _ => {
                let mut b = rr2(&[0x69], size, dst, src);
                b.extend_from_slice(&(self.rng.next() as u32).to_le_bytes());
                self.emit(b);
            }
        }
        self.set_def(dst, size);
        self.m.flags = CF | OF;
    }

    fn cmov_setcc(&mut self) {
        let Some(cc) = self.cc() else {
            // Define flags first.
            if let (Some(a), Some(b)) = (self.defined(8), self.defined(8)) {
                self.emit(rr8(0x39, 8, a, b));
                self.m.flags = ALL;
            }
            return;
        };
        if self.rng.chance(2) {
            let size = *self.rng.pick(&[4u8, 8]);
            let Some(src) = self.defined(size) else {
                return;
            };
            let Some(dst) = self.defined(size).filter(|&r| self.writable_reg(r)) else {
                return;
            };
            self.emit(rr2(&[0x0f, 0x40 | cc], size, dst, src));
            self.set_def(dst, size);
        } else {
            let Some(dst) = self.writable() else { return };
            self.emit(asm::grp_r(
                &[0x0f, 0x90 | cc],
                &[0x0f, 0x90 | cc],
                1,
                0,
                dst,
                &[],
            ));
            self.set_def(dst, 1);
            if self.rng.chance(2) {
                self.emit(rr2(&[0x0f, 0xb6], 4, dst, dst)); // movzx r32, r8
                self.set_def(dst, 4);
            }
        }
    }

    fn extend(&mut self) {
        let (op, from, size): (&[u8], u8, u8) = *self.rng.pick(&[
            (&[0x0f, 0xb6][..], 1u8, 4u8),
            (&[0x0f, 0xb7], 2, 4),
            (&[0x0f, 0xbe], 1, 8),
            (&[0x0f, 0xbf], 2, 4),
            (&[0x63], 4, 8),
        ]);
        let Some(src) = self.defined(from) else {
            return;
        };
        let Some(dst) = self.writable() else { return };
        let mut b = rr2(op, size, dst, src);
        if from == 1 && (4..8).contains(&src) && !b.iter().any(|x| x & 0xf0 == 0x40) {
            b.insert(0, 0x40);
        }
        self.emit(b);
        self.set_def(dst, size);
    }

    fn mov_imm(&mut self) {
        let Some(dst) = self.writable() else { return };
        let size = *self.rng.pick(&[4u8, 8]);
        let imm = if self.rng.chance(2) {
            self.rng.below(100)
        } else {
            self.rng.next()
        };
        if self.rng.chance(3) {
            self.emit(asm::grp_r(
                &[0xc7],
                &[0xc6],
                8,
                0,
                dst,
                &(imm as u32).to_le_bytes(),
            ));
        } else {
            self.emit(asm::mov_imm(size, dst, imm));
        }
        self.set_def(dst, 8);
    }

    /// `popcnt`/`lzcnt`/`tzcnt`, BMI2 `shlx`/`sarx`/`shrx`, or the
    /// destination-only idioms `and r, 0` / `or r, -1`.
    fn bits(&mut self) {
        let size = *self.rng.pick(&[4u8, 8]);
        let Some(dst) = self.writable() else { return };
        match self.rng.below(3) {
            0 => {
                let Some(src) = self.defined(size) else {
                    return;
                };
                let op = *self.rng.pick(&[0xb8u8, 0xbd, 0xbc]);
                let mut b = vec![0xf3];
                b.extend(rr2(&[0x0f, op], size, dst, src));
                self.emit(b);
                self.m.flags = if op == 0xb8 { ALL } else { CF | ZF };
            }
            1 => {
                let Some(src) = self.defined(size) else {
                    return;
                };
                let Some(count) = self.defined(size) else {
                    return;
                };
                let pp = *self.rng.pick(&[1u8, 2, 3]);
                let inv = |r: usize| u8::from(r < 8);
                self.emit(vec![
                    0xc4,
                    inv(dst) << 7 | 1 << 6 | inv(src) << 5 | 2,
                    u8::from(size == 8) << 7 | (!(count as u8) & 15) << 3 | pp,
                    0xf7,
                    0xc0 | (dst as u8 & 7) << 3 | (src as u8 & 7),
                ]);
            }
            _ => {
                let (ext, imm) = if self.rng.chance(2) {
                    (4, 0u8)
                } else {
                    (1, 0xff)
                };
                self.emit(asm::grp_r(&[0x83], &[0x80], size, ext, dst, &[imm]));
                self.m.flags = ALL;
            }
        }
        self.set_def(dst, size);
    }

    /// A `rip`-relative load of the code's own bytes (a constant), near its
    /// start or end; `stray` loads across either edge instead.
    fn constant(&mut self, stray: bool) {
        let Some(dst) = self.writable() else { return };
        let (op, size, def): (&[u8], u8, u8) = *self.rng.pick(&[
            (&[0x8b][..], 8u8, 8u8),
            (&[0x8b], 4, 8),
            (&[0x0f, 0xb6], 4, 8),
            (&[0x0f, 0xb7], 4, 8),
        ]);
        let width = match op {
            [0x0f, 0xb6] => 1,
            [0x0f, 0xb7] => 2,
            _ => i32::from(size),
        };
        let (label, addend) = match (stray, self.rng.chance(2)) {
            (false, true) => (START, self.rng.below(8) as i32),
            (false, false) => (END, -width - self.rng.below(8) as i32),
            (true, true) => (START, -1 - self.rng.below(8) as i32),
            (true, false) => (END, -width + 1 + self.rng.below(width as u64) as i32),
        };
        let bytes = asm::rip(op, size, dst);
        self.items.push(Item::Rip {
            prefix: Vec::new(),
            bytes,
            label,
            addend,
            imm: Vec::new(),
        });
        self.set_def(dst, def);
    }

    fn lea(&mut self) {
        let Some(base) = self.defined(8) else { return };
        let Some(dst) = self.writable() else { return };
        let d = self.rng.below(256) as i32 - 128;
        self.emit(asm::lea(dst, base, d));
        self.set_def(dst, 8);
    }

    /// A stack offset range `[off, off+size)` inside the frame or red zone.
    fn slot(&mut self, size: u8) -> Option<i64> {
        let low = self.m.rsp - self.red;
        let top = self.saved_top;
        let span = top - low - i64::from(size);
        if span < 0 {
            return None;
        }
        // Mostly near rsp (small displacements), sometimes anywhere in the frame.
        let span = if self.rng.chance(3) {
            span
        } else {
            span.min(64)
        };
        let mut off = low + self.rng.below(span as u64 + 1) as i64;
        if self.rng.chance(2) {
            off -= off.rem_euclid(i64::from(size));
            if off < low {
                off += i64::from(size);
            }
        }
        (off + i64::from(size) <= top && off >= low).then_some(off)
    }

    /// Base register and displacement addressing stack offset `off`.
    fn address(&mut self, off: i64) -> (usize, i32) {
        if self.frame_pointer && self.rng.chance(2) {
            (RBP, (off + 8) as i32)
        } else {
            (RSP, (off - self.m.rsp) as i32)
        }
    }

    fn store(&mut self) {
        let size = *self.rng.pick(&[8u8, 8, 4, 4, 2, 1]);
        let Some(off) = self.slot(size) else { return };
        let (base, disp) = self.address(off);
        if self.rng.chance(4) {
            let imm = self.rng.next().to_le_bytes();
            let n = usize::from(size.min(4));
            self.emit(asm::grp_m(&[0xc7], &[0xc6], size, 0, base, disp, &imm[..n]));
        } else {
            let Some(src) = self.defined(size) else {
                return;
            };
            self.emit(asm::rm(&[0x89], &[0x88], size, src, base, disp));
        }
        self.m.write(off, i64::from(size));
    }

    fn load(&mut self) {
        let size = *self.rng.pick(&[8u8, 8, 4, 4, 2, 1]);
        let low = self.m.rsp - self.red;
        let offs: Vec<i64> = (low..=-i64::from(size))
            .filter(|&o| self.m.is_written(o, i64::from(size)))
            .collect();
        if offs.is_empty() {
            return;
        }
        let off = *self.rng.pick(&offs);
        let Some(dst) = self.writable() else { return };
        let (base, disp) = self.address(off);
        if size <= 2 && self.rng.chance(2) {
            let op: &[u8] = if size == 1 {
                &[0x0f, 0xb6]
            } else {
                &[0x0f, 0xb7]
            };
            self.emit(asm::rm(op, op, 4, dst, base, disp));
            self.set_def(dst, 4);
        } else {
            self.emit(asm::rm(&[0x8b], &[0x8a], size, dst, base, disp));
            self.set_def(dst, size);
        }
    }

    /// A load or store through a pointer parameter, inside the window.
    fn pointer(&mut self) {
        let window = i64::from(self.policy.pointer_window);
        let ptrs: Vec<(usize, i64)> = (0..16)
            .filter_map(|r| self.m.ptr[r].map(|(_, k)| (r, k)))
            .collect();
        if ptrs.is_empty() || self.policy.pointer_access == PointerAccess::Forbidden {
            return;
        }
        let (base, k) = *self.rng.pick(&ptrs);
        let size = *self.rng.pick(&[8u8, 4, 1, 2]);
        if window < i64::from(size) {
            return;
        }
        let off = self.rng.below((window - i64::from(size) + 1) as u64) as i64;
        let disp = (off - k) as i32;
        if self.policy.pointer_access == PointerAccess::ReadWrite && self.rng.chance(2) {
            let Some(src) = self.defined(size) else {
                return;
            };
            self.emit(asm::rm(&[0x89], &[0x88], size, src, base, disp));
        } else {
            let Some(dst) = self.writable() else { return };
            self.emit(asm::rm(&[0x8b], &[0x8a], size, dst, base, disp));
            self.set_def(dst, size);
        }
    }

    fn unary(&mut self) {
        let size = *self.rng.pick(&[4u8, 8]);
        let Some(r) = self.defined(size).filter(|&r| self.writable_reg(r)) else {
            return;
        };
        match self.rng.below(5) {
            0 => {
                self.emit(asm::grp_r(&[0xf7], &[0xf6], size, 3, r, &[])); // neg
                self.m.flags = ALL;
            }
            1 => self.emit(asm::grp_r(&[0xf7], &[0xf6], size, 2, r, &[])), // not
            2 => {
                let ext = self.rng.below(2) as u8; // inc/dec
                self.emit(asm::grp_r(&[0xff], &[0xfe], size, ext, r, &[]));
                self.m.flags |= PF | ZF | SF | OF;
            }
            3 => {
                let mut b: Vec<u8> = if size == 8 || r >= 8 {
                    vec![0x40 | u8::from(size == 8) << 3 | (r as u8 >> 3)]
                } else {
                    vec![]
                };
                b.extend_from_slice(&[0x0f, 0xc8 + (r as u8 & 7)]);
                self.emit(b); // bswap
            }
            _ => {
                let Some(o) = self
                    .defined(size)
                    .filter(|&o| self.writable_reg(o) && o != r)
                else {
                    return;
                };
                self.emit(rr8(0x87, size, o, r)); // xchg
                let (a, b) = (self.m.def[o], self.m.def[r]);
                self.m.def[o] = b;
                self.m.def[r] = a;
            }
        }
        self.set_def(r, self.m.def[r].max(size));
    }

    fn push_pop(&mut self) {
        let Some(src) = self.defined(8) else { return };
        let Some(dst) = self.writable() else { return };
        self.emit(asm::push(src));
        self.m.rsp -= 8;
        let rsp = self.m.rsp;
        self.m.write(rsp, 8);
        if self.rng.chance(2) {
            self.emit(asm::pop(dst));
            self.set_def(dst, 8);
        } else {
            self.emit(asm::lea(RSP, RSP, 8));
        }
        self.m.rsp += 8;
        self.m.forget_below(self.red);
    }

    fn call(&mut self) {
        let Some(callee) = self.policy.allowed_calls.first().copied() else {
            return;
        };
        if callee.address != CALLEE || (self.m.rsp).rem_euclid(16) != 8 {
            return;
        }
        for (i, t) in callee.signature.params().enumerate() {
            let r = ARG_REGS[i];
            if self.m.def[r] < t.width() {
                let Some(src) = self.defined(8) else { return };
                if !self.free(r) {
                    return;
                }
                self.emit(rr8(0x89, 8, src, r));
                self.set_def(r, 8);
            }
        }
        if SCRATCH
            .iter()
            .any(|&r| r != RAX && self.pinned & (1 << r) != 0)
        {
            return;
        }
        self.items.push(Item::Call {
            prefix: Vec::new(),
            target: callee.address,
        });
        for &r in &SCRATCH {
            self.m.def[r] = 0;
            self.m.ptr[r] = None;
        }
        self.m.def[RAX] = callee.signature.ret().width();
        self.m.flags = 0;
        self.m.forget_below(0);
    }

    fn divide(&mut self) {
        if !self.policy.allow_division || !self.free(RAX) || !self.free(RDX) {
            return;
        }
        let size = *self.rng.pick(&[4u8, 8]);
        let Some(divisor) = self.defined(size).filter(|&r| r != RAX && r != RDX) else {
            return;
        };
        if self.m.def[RAX] < size {
            let Some(src) = self.defined(size) else {
                return;
            };
            self.emit(rr8(0x89, size, src, RAX));
        }
        self.emit(if size == 8 {
            vec![0x48, 0x99]
        } else {
            vec![0x99]
        });
        let ext = 6 + self.rng.below(2) as u8;
        self.emit(asm::grp_r(&[0xf7], &[0xf6], size, ext, divisor, &[]));
        self.set_def(RAX, size);
        self.set_def(RDX, size);
        self.m.flags = 0;
    }
}

/// `op dst, src` register form of an `op r/m, r` opcode (`op - 1` for bytes).
fn rr8(op: u8, size: u8, src: usize, dst: usize) -> Vec<u8> {
    asm::rr(&[op], &[op - 1], size, src, dst)
}

/// `op dst, src` for `op r, r/m` opcodes (imul, cmov, movzx, movsxd).
fn rr2(op: &[u8], size: u8, dst: usize, src: usize) -> Vec<u8> {
    asm::rr(op, op, size, dst, src)
}
