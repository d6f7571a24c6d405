//! Control-flow statements of the generator: forward branches, diamonds,
//! counted loops and early returns, each keeping the generator's model
//! (`generate.rs`) at the join: what is defined on both paths, the state at
//! a loop head joined with the state after its body.

use super::{ALL, Gen, RCX, rr8};
use crate::asm::{self, Item};

impl Gen<'_> {
    /// `cmp; jcc skip; body; skip:`
    pub(super) fn branch(&mut self, depth: u32) {
        let Some(cc) = self.compare() else { return };
        let l = self.label();
        let long = self.rng.chance(6);
        self.items.push(Item::Jump {
            prefix: Vec::new(),
            cond: Some(cc),
            label: l,
            long,
        });
        let before = self.m.clone();
        for _ in 0..1 + self.rng.below(4) {
            self.statement(depth + 1);
        }
        self.items.push(Item::Label(l));
        self.m.join(&before);
    }

    /// `cmp; jcc else; then; jmp end; else: other; end:`
    pub(super) fn diamond(&mut self, depth: u32) {
        let Some(cc) = self.compare() else { return };
        let (l_else, l_end) = (self.label(), self.label());
        self.items.push(Item::Jump {
            prefix: Vec::new(),
            cond: Some(cc),
            label: l_else,
            long: self.rng.chance(6),
        });
        let before = self.m.clone();
        for _ in 0..1 + self.rng.below(4) {
            self.statement(depth + 1);
        }
        let then = std::mem::replace(&mut self.m, before);
        self.items.push(Item::Jump {
            prefix: Vec::new(),
            cond: None,
            label: l_end,
            long: self.rng.chance(6),
        });
        self.items.push(Item::Label(l_else));
        for _ in 0..1 + self.rng.below(4) {
            self.statement(depth + 1);
        }
        self.items.push(Item::Label(l_end));
        self.m.join(&then);
    }

    /// Emits a compare of defined registers (or an immediate) and picks a condition.
    pub(super) fn compare(&mut self) -> Option<u8> {
        if self.m.flags & ALL != ALL || self.rng.chance(2) {
            let size = *self.rng.pick(&[4u8, 8]);
            let a = self.defined(size)?;
            if self.rng.chance(2) {
                let b = self.defined(size)?;
                let op = *self.rng.pick(&[0x39, 0x85]);
                self.emit(rr8(op, size, b, a));
            } else {
                let imm = self.rng.below(64) as u8;
                self.emit(asm::grp_r(&[0x83], &[0x80], size, 7, a, &[imm]));
            }
            self.m.flags = ALL;
        }
        self.cc()
    }

    /// `mov ecx, n; top: body; dec ecx; jnz top` (or `loop`, or another counter).
    pub(super) fn counted_loop(&mut self, depth: u32) {
        if !self.policy.allow_loops {
            return;
        }
        let counter = if self.rng.chance(2) { RCX } else { 10 };
        if !self.free(counter) {
            return;
        }
        let n = 1 + self.rng.below(20);
        self.emit(asm::mov_imm(4, counter, n));
        self.set_def(counter, 8);
        self.pinned |= 1 << counter;
        let top = self.label();
        self.items.push(Item::Label(top));
        self.m.flags = 0;
        let entry = self.m.clone();
        for _ in 0..1 + self.rng.below(4) {
            self.statement(depth + 1);
        }
        if counter == RCX && self.rng.chance(3) {
            self.items.push(Item::Loop {
                prefix: Vec::new(),
                opcode: 0xe2,
                label: top,
            });
        } else {
            let ext = if self.rng.chance(2) { 1 } else { 5 };
            if ext == 1 {
                self.emit(asm::grp_r(&[0xff], &[0xfe], 4, 1, counter, &[])); // dec
            } else {
                self.emit(asm::grp_r(&[0x83], &[0x80], 4, 5, counter, &[1])); // sub 1
            }
            self.items.push(Item::Jump {
                prefix: Vec::new(),
                cond: Some(5),
                label: top,
                long: self.rng.chance(6),
            });
            self.m.flags = ALL;
        }
        // The body ran at least once; registers written in it stay defined,
        // but the loop head's state is the join.
        let mut head = entry;
        head.join(&self.m);
        self.m.written = head.written;
        self.pinned &= !(1 << counter);
    }

    /// `cmp; jcc on; epilogue; on:`
    pub(super) fn early_return(&mut self) {
        let Some(cc) = self.compare() else { return };
        let l = self.label();
        self.items.push(Item::Jump {
            prefix: Vec::new(),
            cond: Some(cc),
            label: l,
            long: false,
        });
        self.epilogue();
        self.items.push(Item::Label(l));
    }
}
