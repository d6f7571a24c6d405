//! Attack statements: one short sequence a sound validator must reject,
//! inserted into about one generated function in four.
//!
//! Each arm names the rule it tries to slip past (issue 10's classes and
//! their neighbours): entry values of callee-saved registers laundered
//! through memory, flags, `cmov`, `xchg`, split slots, `pop` to memory or a
//! call; stack reach more than a page below the deepest touched byte (by
//! `sub`, `lea`, negative `add`, `rbp` or a call); uninitialised and
//! undefined reads; loops with no exit; stray `rip`-relative loads and
//! stores to the code. Registers are iced numbers, as in `generate.rs`.

use super::{Gen, RAX, RBP, RSP, rr8};
use crate::asm::{self, Item};
use npk_jit::PointerAccess;

/// Callee-saved registers an attack may use (rbp only without a frame pointer).
const ENTRY: [usize; 5] = [3, 12, 13, 14, 15];

/// Opcodes with a ModRM register pair: `(opcode, reg-is-destination)`.
/// One-byte `op r/m, r` forms use `op - 1` for bytes.
const TWO_REGISTER: [(&[u8], bool); 24] = [
    (&[0x01], false),
    (&[0x09], false),
    (&[0x11], false),
    (&[0x21], false),
    (&[0x29], false),
    (&[0x31], false),
    (&[0x39], false),
    (&[0x85], false),
    (&[0x87], false),
    (&[0x89], false),
    (&[0x0f, 0xc1], false), // xadd
    (&[0x0f, 0xb1], false), // cmpxchg
    (&[0x0f, 0xa3], false), // bt
    (&[0x0f, 0xab], false), // bts
    (&[0x0f, 0xa5], false), // shld cl
    (&[0x0f, 0xa4], false), // shld imm8
    (&[0x0f, 0xac], false), // shrd imm8
    (&[0x0f, 0xaf], true),  // imul
    (&[0x0f, 0x44], true),  // cmove
    (&[0x0f, 0xbc], true),  // bsf
    (&[0x0f, 0xbd], true),  // bsr
    (&[0x0f, 0xb6], true),  // movzx r, r8
    (&[0x0f, 0xbf], true),  // movsx r, r16
    (&[0x63], true),        // movsxd
];

impl Gen<'_> {
    /// A callee-saved register still holding its entry value.
    fn entry_reg(&mut self) -> Option<usize> {
        let c: Vec<usize> = ENTRY
            .iter()
            .copied()
            .filter(|r| !self.saved.contains(r))
            .collect();
        (!c.is_empty()).then(|| *self.rng.pick(&c))
    }

    /// A register holding a pointer parameter, if stores through it are allowed.
    fn writable_pointer(&self) -> Option<usize> {
        (self.policy.pointer_access == PointerAccess::ReadWrite)
            .then(|| (0..16).find(|&p| self.m.ptr[p].is_some()))
            .flatten()
    }

    /// Stores `r` (8 bytes) into a pointer window, or else a stack slot.
    fn leak_to_memory(&mut self, r: usize) {
        if let Some(p) = self.writable_pointer() {
            self.emit(asm::rm(&[0x89], &[0x88], 8, r, p, 0));
        } else if let Some(off) = self.slot(8) {
            let (base, disp) = self.address(off);
            self.emit(asm::rm(&[0x89], &[0x88], 8, r, base, disp));
            self.emit(asm::rm(&[0x8b], &[0x8a], 8, RAX, base, disp));
            self.set_def(RAX, 8);
        }
    }

    /// Moves `rsp` down by `d` in one of several ways, touches, moves back.
    fn deep_touch(&mut self, d: i32) {
        match self.rng.below(3) {
            0 => self.emit(asm::adjust_rsp(d)),
            1 => self.emit(asm::lea(RSP, RSP, -d)),
            _ => self.emit(asm::grp_r(&[0x81], &[0x80], 8, 0, RSP, &(-d).to_le_bytes())), // add rsp, -d
        }
        let disp = self.rng.below(17) as i32 * 8;
        if self.rng.chance(2) {
            self.emit(asm::rm(&[0x89], &[0x88], 8, 7, RSP, disp));
        } else {
            self.emit(asm::push(7));
            self.emit(asm::pop(7));
        }
        self.emit(asm::adjust_rsp(-d));
    }

    /// One statement that a sound validator must reject.
    pub(super) fn attack(&mut self) {
        self.attacked = true;
        match self.rng.below(25) {
            0 => {
                // Launder an entry value through a pointer window or the stack.
                let Some(r) = self.entry_reg() else { return };
                self.leak_to_memory(r);
                if let Some(p) = self.writable_pointer() {
                    self.emit(asm::rm(&[0x8b], &[0x8a], 8, RAX, p, 0));
                    self.set_def(RAX, 8);
                }
            }
            1 => {
                // Reach far below the deepest touched byte without probing.
                let d = 4096 + 8 * self.rng.below(600) as i32;
                self.deep_touch(d);
            }
            2 => {
                // Read a stack byte never written.
                let Some(off) = self.slot(8) else { return };
                let (base, disp) = self.address(off);
                self.emit(asm::rm(&[0x8b], &[0x8a], 8, RAX, base, disp));
                self.set_def(RAX, 8);
            }
            3 => {
                // A loop with no exit, behind a branch.
                let Some(cc) = self.compare() else { return };
                let (skip, top) = (self.label(), self.label());
                self.items.push(Item::Jump {
                    prefix: Vec::new(),
                    cond: Some(cc),
                    label: skip,
                    long: false,
                });
                self.items.push(Item::Label(top));
                self.emit(vec![0x90]);
                self.items.push(Item::Jump {
                    prefix: Vec::new(),
                    cond: None,
                    label: top,
                    long: false,
                });
                self.items.push(Item::Label(skip));
            }
            4 => {
                // Use an entry value as data.
                let Some(r) = self.entry_reg() else { return };
                self.emit(rr8(0x89, 8, r, RAX));
                self.set_def(RAX, 8);
            }
            5 => {
                // Clobber a callee-saved register that was not saved.
                let Some(r) = self.entry_reg() else { return };
                self.emit(asm::mov_imm(4, r, 7));
            }
            6 => {
                // Return a non-argument register or the upper half of a 32-bit argument.
                let r = *self.rng.pick(&[7usize, 6, 2, 1, 8, 9, 10, 11]);
                self.emit(rr8(0x89, 8, r, RAX));
                self.set_def(RAX, 8);
            }
            7 => {
                // Move an entry value to a scratch register (allowed), then store it.
                let Some(r) = self.entry_reg() else { return };
                let Some(t) = self.writable() else { return };
                if self.rng.chance(2) {
                    self.emit(rr8(0x89, 8, r, t));
                } else {
                    self.emit(asm::push(r));
                    self.emit(asm::pop(t));
                }
                self.leak_to_memory(t);
            }
            8 => {
                // Leak an entry value through the flags.
                let Some(r) = self.entry_reg() else { return };
                let Some(d) = self.defined(8) else { return };
                self.emit(rr8(0x39, 8, d, r)); // cmp r, d
                self.emit(asm::grp_r(&[0x0f, 0x92], &[0x0f, 0x92], 1, 0, RAX, &[])); // setc al
                self.emit(asm::rr(&[0x0f, 0xb6], &[0x0f, 0xb6], 4, RAX, RAX)); // movzx eax, al
                self.set_def(RAX, 8);
            }
            9 => {
                // Pass an entry value to the allowed callee.
                let Some(r) = self.entry_reg() else { return };
                if self.policy.allowed_calls.is_empty() || self.m.rsp.rem_euclid(16) != 8 {
                    return;
                }
                self.emit(rr8(0x89, 8, r, 7));
                self.items.push(Item::Call {
                    prefix: Vec::new(),
                    target: crate::oracle::CALLEE,
                });
                for r in super::SCRATCH {
                    self.m.def[r] = 0;
                    self.m.ptr[r] = None;
                }
                self.set_def(RAX, 8);
                self.m.flags = 0;
            }
            10 => {
                // Conditionally move an entry value into the result.
                let Some(r) = self.entry_reg() else { return };
                let Some(cc) = self.compare() else { return };
                if self.m.def[RAX] < 8 {
                    self.emit(asm::mov_imm(4, RAX, 1));
                }
                self.emit(asm::rr(&[0x0f, 0x40 | cc], &[0x0f, 0x40 | cc], 8, RAX, r));
                self.set_def(RAX, 8);
            }
            11 => {
                // Read half of a saved entry value (a split slot).
                let Some(r) = self.entry_reg() else { return };
                self.emit(asm::push(r));
                let half = 4 * self.rng.below(2) as i32;
                self.emit(asm::rm(&[0x8b], &[0x8a], 4, RAX, RSP, half));
                self.emit(asm::pop(r));
                self.set_def(RAX, 8);
            }
            12 => {
                // Read the caller's rbp saved by the frame pointer prologue.
                if self.frame_pointer {
                    self.emit(asm::rm(&[0x8b], &[0x8a], 8, RAX, RBP, 0));
                    self.set_def(RAX, 8);
                }
            }
            13 => {
                // Swap an entry value out, copy it, swap it back.
                let Some(r) = self.entry_reg() else { return };
                let Some(t) = self.defined(8).filter(|&t| t != RAX) else {
                    return;
                };
                self.emit(rr8(0x87, 8, r, t));
                self.emit(rr8(0x89, 8, t, RAX));
                self.emit(rr8(0x87, 8, r, t));
                self.set_def(RAX, 8);
            }
            14 => {
                // Pop an entry value straight into memory.
                let Some(r) = self.entry_reg() else { return };
                let Some(p) = self.writable_pointer() else {
                    return;
                };
                self.emit(asm::push(r));
                self.emit(asm::grp_m(&[0x8f], &[0x8f], 4, 0, p, 0, &[])); // pop [p] (8 bytes)
            }
            15 => {
                // Call with rsp more than a page below anything touched.
                if self.policy.allowed_calls.is_empty() {
                    return;
                }
                let d = 4096 + 16 * self.rng.below(256) as i32;
                let d = if (self.m.rsp - i64::from(d)).rem_euclid(16) == 8 {
                    d
                } else {
                    d + 8
                };
                self.emit(asm::adjust_rsp(d));
                self.items.push(Item::Call {
                    prefix: Vec::new(),
                    target: crate::oracle::CALLEE,
                });
                self.emit(asm::adjust_rsp(-d));
                for r in super::SCRATCH {
                    self.m.def[r] = 0;
                    self.m.ptr[r] = None;
                }
                self.set_def(RAX, 8);
            }
            16 => self.constant(true),
            23 => {
                // A pointer access just past either end of its window.
                let Some(p) = (0..16).find(|&p| self.m.ptr[p].is_some()) else {
                    return;
                };
                let size = *self.rng.pick(&[8u8, 4, 1]);
                let window = self.policy.pointer_window as i32;
                let disp = if self.rng.chance(2) {
                    window - i32::from(size) + 1
                } else {
                    -1
                };
                if self.writable_pointer().is_some() && self.rng.chance(2) {
                    self.emit(asm::rm(&[0x89], &[0x88], size, 7, p, disp));
                } else {
                    self.emit(asm::rm(&[0x8b], &[0x8a], size, RAX, p, disp));
                    self.set_def(RAX, 8);
                }
            }
            21 | 22 => {
                // A saved entry value as the memory operand of some instruction.
                let Some(r) = self.entry_reg() else { return };
                let Some(t) = self.defined(8).filter(|&t| t != RAX && t != r) else {
                    return;
                };
                let (op, _) = *self.rng.pick(&TWO_REGISTER);
                let size = if op.len() > 1 {
                    8
                } else {
                    *self.rng.pick(&[8u8, 4, 1])
                };
                let op8 = if op.len() == 1 && op[0] & 1 == 1 {
                    [op[0] - 1]
                } else {
                    [op[0]]
                };
                let op8: &[u8] = if op.len() == 1 { &op8 } else { op };
                self.emit(asm::push(r));
                let mut bytes = asm::rm(op, op8, size, t, RSP, 0);
                if op == [0x0f, 0xa4] || op == [0x0f, 0xac] {
                    bytes.push(self.rng.below(64) as u8);
                }
                self.emit(bytes);
                self.emit(asm::pop(r));
                self.emit(rr8(0x89, 8, t, RAX));
                self.set_def(RAX, 8);
            }
            19 => {
                // Overwrite part of a saved entry value, then restore from it.
                let Some(r) = self.entry_reg() else { return };
                let Some(src) = self.defined(1) else { return };
                self.emit(asm::push(r));
                let at = self.rng.below(8) as i32;
                self.emit(asm::rm(&[0x89], &[0x88], 1, src, RSP, at));
                self.emit(asm::pop(r));
            }
            20 => {
                // Probe on one path only, then reach deep after the join.
                let Some(cc) = self.compare() else { return };
                let skip = self.label();
                self.items.push(Item::Jump {
                    prefix: Vec::new(),
                    cond: Some(cc),
                    label: skip,
                    long: false,
                });
                self.emit(asm::adjust_rsp(4096));
                self.emit(asm::grp_m(&[0x83], &[0x80], 8, 1, RSP, 0, &[0])); // or qword [rsp], 0
                self.emit(asm::adjust_rsp(-4096));
                self.items.push(Item::Label(skip));
                let d = 4096 + 8 * self.rng.below(400) as i32;
                self.deep_touch(d);
            }
            17 | 18 => {
                // An entry value as either operand of some two-register
                // instruction, then returned from either register.
                let Some(r) = self.entry_reg() else { return };
                let Some(t) = self.writable() else { return };
                let (op, form) = *self.rng.pick(&TWO_REGISTER);
                let size = *self.rng.pick(&[8u8, 4, 2, 1]);
                let size = if op.len() > 1 && size == 1 { 4 } else { size };
                let (a, b) = if self.rng.chance(2) { (r, t) } else { (t, r) };
                let mut bytes = if op.len() == 1 && !form {
                    rr8(op[0], size, a, b)
                } else {
                    asm::rr(op, op, size, a, b)
                };
                if op == [0x0f, 0xa4] || op == [0x0f, 0xac] {
                    bytes.push(self.rng.below(64) as u8); // shld/shrd imm8
                }
                self.emit(bytes);
                let from = if self.rng.chance(2) { r } else { t };
                self.emit(rr8(0x89, 8, from, RAX));
                self.set_def(RAX, 8);
                self.set_def(t, 8);
            }
            _ => {
                // Store into the code through rip.
                let bytes = asm::rip(&[0x89], 4, RAX);
                self.items.push(Item::Rip {
                    prefix: Vec::new(),
                    bytes,
                    label: super::START,
                    addend: 0,
                    imm: Vec::new(),
                });
            }
        }
    }
}
