//! Buffer kernels: the functions compilers and JIT authors emit over buffer
//! parameters (SPEC §8.2), with random knobs, and their flawed twins.
//!
//! In: an [`Rng`] and optionally a [`Flaw`]. Out: a [`Kernel`] (items,
//! signature, shape name), or `None` when the flaw does not apply to the
//! shape drawn. Shapes: index loops to `n` (`jl`/`jb`/`jne`; guarded
//! do-while or while form), pointer walks to an end pointer, early-exit
//! finds, bounded `strlen`, byte-indexed 256-entry table lookups, masked
//! indices into constant extents, the unsigned bounds-check idiom, two
//! buffers walked together (one extent, or the minimum of two), copies,
//! fills and prefix sums into `mut` buffers, reverse loops and unrolled
//! constant-extent reads. Each picks its element type and scratch
//! registers, may save callee-saved registers and may spill its pointers
//! and count to the stack and reload them (in the loop, like `-O0`). A
//! [`Flaw`] makes the kernel unsafe for some count or index the oracle's
//! sweep tries; kernels without one are safe for every count.

use npk_jit::{Elem, Signature};

use crate::asm::{self, Item, Mem};
use crate::oracle::Rng;

#[path = "kernels/memory_ops.rs"]
mod memory_ops;

const RAX: usize = 0;
const RCX: usize = 1;
const RDX: usize = 2;
const RSP: usize = 4;
const RSI: usize = 6;
const RDI: usize = 7;
const R8: usize = 8;
const R9: usize = 9;
const R10: usize = 10;
const R11: usize = 11;

/// Condition codes (the low nibble of `jcc`).
const B: u8 = 0x2;
const AE: u8 = 0x3;
const E: u8 = 0x4;
const NE: u8 = 0x5;
const BE: u8 = 0x6;
const A: u8 = 0x7;
const NS: u8 = 0x9;
const L: u8 = 0xc;
const GE: u8 = 0xd;
const LE: u8 = 0xe;
const G: u8 = 0xf;

/// What makes a kernel unsafe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flaw {
    /// `<=` for `<`, an end one element too far, a table or mask one too big.
    OffByOne,
    /// A signed-only check of an unsigned bound, or the reverse.
    WrongCompare,
    /// Accesses wider than the element.
    WrongWidth,
    /// An index scaled by more than the element size.
    WrongScale,
    /// The emptiness or bounds check removed.
    NoCheck,
    /// A bound from the other buffer's extent, or the other buffer accessed.
    SwappedBuffers,
    /// A store into a buffer without `mut`.
    ReadOnlyStore,
    /// The bound or the index changed after it was checked.
    ClobberedBound,
    /// An `int32` index checked in 32 bits and used in 64 (its upper half
    /// is undefined).
    IndexWidth,
    /// A spilled pointer changed in its stack slot (`add qword [rsp], 8`,
    /// a partial write) before it is reloaded.
    CorruptedSpill,
}

pub const FLAWS: [Flaw; 10] = [
    Flaw::OffByOne,
    Flaw::WrongCompare,
    Flaw::WrongWidth,
    Flaw::WrongScale,
    Flaw::NoCheck,
    Flaw::SwappedBuffers,
    Flaw::ReadOnlyStore,
    Flaw::ClobberedBound,
    Flaw::IndexWidth,
    Flaw::CorruptedSpill,
];

/// A generated buffer function.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub items: Vec<Item>,
    pub sig: Signature,
    pub shape: &'static str,
    pub flaw: Option<Flaw>,
}

/// The shapes, by name.
pub const SHAPES: [&str; 14] = [
    "index loop",
    "pointer walk",
    "find",
    "bounded strlen",
    "table lookup",
    "masked index",
    "bounds-check idiom",
    "two buffers",
    "store loop",
    "reverse loop",
    "unrolled constant extent",
    "string op",
    "histogram",
    "negative index walk",
];

/// A kernel of shape `shape` (index into [`SHAPES`]) with `flaw`, or `None`
/// if the flaw does not apply to it.
pub fn kernel(rng: &mut Rng, shape: usize, flaw: Option<Flaw>) -> Option<Kernel> {
    let mut k = K::new(rng, flaw);
    let sig = match shape {
        0 => k.index_loop()?,
        1 => k.pointer_walk()?,
        2 => k.find()?,
        3 => k.strlen()?,
        4 => k.table()?,
        5 => k.masked()?,
        6 => k.bounds_idiom()?,
        7 => k.two_buffers()?,
        8 => k.store_loop()?,
        9 => k.reverse()?,
        10 => k.unrolled()?,
        11 => k.string_op()?,
        12 => k.histogram()?,
        _ => k.negative_index()?,
    };
    let sig: Signature = sig
        .parse()
        .unwrap_or_else(|e| panic!("kernel signature `{sig}`: {e}"));
    Some(Kernel {
        items: k.items,
        sig,
        shape: SHAPES[shape.min(SHAPES.len() - 1)],
        flaw,
    })
}

/// A random kernel: safe three times in four, else with a random flaw
/// (retrying shapes until one takes it).
pub fn random(rng: &mut Rng) -> Kernel {
    let flaw = (!rng.chance(4)).then(|| *rng.pick(&FLAWS));
    loop {
        let shape = rng.below(SHAPES.len() as u64) as usize;
        let flaw = if rng.chance(4) { flaw } else { None };
        if let Some(k) = kernel(rng, shape, flaw) {
            return k;
        }
    }
}

const ELEMS: [Elem; 8] = [
    Elem::Int8,
    Elem::Uint8,
    Elem::Int16,
    Elem::Uint16,
    Elem::Int32,
    Elem::Uint32,
    Elem::Int64,
    Elem::Uint64,
];

fn signed(e: Elem) -> bool {
    matches!(e, Elem::Int8 | Elem::Int16 | Elem::Int32 | Elem::Int64)
}

/// `load dst, [m]` of `width` bytes, sign- or zero-extended to 64 bits.
fn load(dst: usize, m: Mem, width: u8, sign: bool) -> Vec<u8> {
    match (width, sign) {
        (8, _) => asm::op_mem(8, &[0x8b], dst, m, false),
        (4, true) => asm::op_mem(8, &[0x63], dst, m, false),
        (4, false) => asm::op_mem(4, &[0x8b], dst, m, false),
        (2, true) => asm::op_mem(8, &[0x0f, 0xbf], dst, m, false),
        (2, false) => asm::op_mem(4, &[0x0f, 0xb7], dst, m, false),
        (_, true) => asm::op_mem(8, &[0x0f, 0xbe], dst, m, false),
        (_, false) => asm::op_mem(4, &[0x0f, 0xb6], dst, m, false),
    }
}

/// `mov [m], src` of `width` bytes.
fn store(m: Mem, src: usize, width: u8) -> Vec<u8> {
    let op: &[u8] = if width == 1 { &[0x88] } else { &[0x89] };
    asm::op_mem(width, op, src, m, false)
}

/// `cmp a, b` (64-bit).
fn cmp(a: usize, b: usize) -> Vec<u8> {
    asm::rr(&[0x39], &[0x38], 8, b, a)
}
/// `test r, r` (64-bit).
fn test(r: usize) -> Vec<u8> {
    asm::rr(&[0x85], &[0x84], 8, r, r)
}
/// `xor r32, r32` (zeroes r).
fn zero(r: usize) -> Vec<u8> {
    asm::rr(&[0x31], &[0x30], 4, r, r)
}
/// `add a, b` (64-bit).
fn add(a: usize, b: usize) -> Vec<u8> {
    asm::rr(&[0x01], &[0x00], 8, b, a)
}
/// `mov a, b` (64-bit).
fn mov(a: usize, b: usize) -> Vec<u8> {
    asm::rr(&[0x89], &[0x88], 8, b, a)
}
/// `add r, imm8` / `sub r, imm8` (64-bit).
fn add_imm(r: usize, imm: i8) -> Vec<u8> {
    if imm < 0 {
        asm::grp_r(&[0x83], &[0x80], 8, 5, r, &[imm.unsigned_abs()])
    } else {
        asm::grp_r(&[0x83], &[0x80], 8, 0, r, &[imm as u8])
    }
}
/// `inc r` (64-bit).
fn inc(r: usize) -> Vec<u8> {
    asm::grp_r(&[0xff], &[0xfe], 8, 0, r, &[])
}
/// `mov r, -1` (sign-extended imm32).
fn minus_one(r: usize) -> Vec<u8> {
    asm::grp_r(&[0xc7], &[0xc6], 8, 0, r, &(-1i32).to_le_bytes())
}
/// `and r32, imm8`.
fn and_imm(r: usize, imm: u8) -> Vec<u8> {
    asm::grp_r(&[0x83], &[0x80], 4, 4, r, &[imm])
}

/// One kernel being built.
struct K<'r> {
    rng: &'r mut Rng,
    flaw: Option<Flaw>,
    items: Vec<Item>,
    labels: usize,
    saved: Vec<usize>,
    /// Bytes of `sub rsp` after the pushes.
    frame: i32,
    /// Spilled registers and their `[rsp + 8*i]` slots.
    spilled: Vec<usize>,
}

impl<'r> K<'r> {
    fn new(rng: &'r mut Rng, flaw: Option<Flaw>) -> K<'r> {
        K {
            rng,
            flaw,
            items: Vec::new(),
            labels: 0,
            saved: Vec::new(),
            frame: 0,
            spilled: Vec::new(),
        }
    }

    fn has(&self, f: Flaw) -> bool {
        self.flaw == Some(f)
    }
    /// `None` unless the kernel's flaw (if any) is one of `fits`.
    fn applies(&self, fits: &[Flaw]) -> Option<()> {
        self.flaw.is_none_or(|f| fits.contains(&f)).then_some(())
    }
    fn emit(&mut self, bytes: Vec<u8>) {
        self.items.push(Item::ins(bytes));
    }
    fn label(&mut self) -> usize {
        self.labels += 1;
        self.labels
    }
    fn place(&mut self, l: usize) {
        self.items.push(Item::Label(l));
    }
    fn jcc(&mut self, cc: u8, l: usize) {
        self.items.push(Item::Jump {
            prefix: vec![],
            cond: Some(cc),
            label: l,
            long: false,
        });
    }
    fn jmp(&mut self, l: usize) {
        self.items.push(Item::Jump {
            prefix: vec![],
            cond: None,
            label: l,
            long: false,
        });
    }
    /// An element type (narrower than 8 bytes for `WrongScale`: a SIB
    /// scale is at most 8).
    fn elem(&mut self) -> Elem {
        if self.has(Flaw::WrongScale) {
            *self.rng.pick(&ELEMS[..6])
        } else {
            *self.rng.pick(&ELEMS)
        }
    }
    /// The element width the kernel reads or writes (doubled by `WrongWidth`).
    fn width(&self, e: Elem) -> u8 {
        if self.has(Flaw::WrongWidth) {
            (e.size() * 2).min(8)
        } else {
            e.size()
        }
    }
    /// The index scale (doubled by `WrongScale`).
    fn scale(&self, e: Elem) -> u8 {
        if self.has(Flaw::WrongScale) {
            e.size() * 2
        } else {
            e.size()
        }
    }
    /// `WrongWidth` on 8-byte elements reads 8 bytes of a signature that
    /// says 4: the element type the signature names.
    fn sig_elem(&self, e: Elem) -> Elem {
        if self.has(Flaw::WrongWidth) && e.size() == 8 {
            Elem::Int32
        } else {
            e
        }
    }
    /// A scratch register not in `taken`.
    fn scratch(&mut self, taken: &[usize]) -> usize {
        let mut pool: Vec<usize> = [RCX, RDX, R8, R9, R10, R11]
            .into_iter()
            .chain(self.saved.iter().copied())
            .filter(|r| !taken.contains(r))
            .collect();
        pool.dedup();
        *self.rng.pick(&pool)
    }

    /// Saves up to two callee-saved registers (usable as scratch) and
    /// spills `spill` to a stack frame, clobbers and reloads them.
    fn enter(&mut self, spill: &[usize]) {
        for _ in 0..self.rng.below(3) {
            let r = *self.rng.pick(&[3, 12, 13, 14, 15]);
            if !self.saved.contains(&r) {
                self.emit(asm::push(r));
                self.saved.push(r);
            }
        }
        let corrupt = self.has(Flaw::CorruptedSpill);
        if !spill.is_empty() && (corrupt || self.rng.chance(3)) {
            self.frame = 8 * spill.len() as i32 + 8 * self.rng.below(3) as i32;
            self.emit(asm::adjust_rsp(self.frame));
            for (i, &r) in spill.iter().enumerate() {
                self.emit(store(Mem::at(RSP, 8 * i as i32), r, 8));
            }
            if corrupt {
                // The first slot holds a buffer pointer.
                let slot = Mem::at(RSP, 0);
                let bytes = match self.rng.below(4) {
                    0 => asm::op_mem(8, &[0x83], 0, slot, true), // add qword [rsp], 8
                    1 => asm::op_mem(4, &[0x83], 0, slot, true), // add dword [rsp], 8
                    2 => asm::op_mem(8, &[0x83], 5, slot, true), // sub qword [rsp], 8
                    _ => asm::op_mem(1, &[0x80], 0, slot, true), // add byte [rsp], 8
                };
                let mut bytes = bytes;
                bytes.push(8);
                self.emit(bytes);
            }
            for &r in spill {
                self.emit(zero(r));
            }
            for (i, &r) in spill.iter().enumerate() {
                self.emit(load(r, Mem::at(RSP, 8 * i as i32), 8, false));
            }
            self.spilled = spill.to_vec();
        }
    }
    /// Inside a loop: reload spilled registers from their slots (`-O0` style).
    fn reload(&mut self) {
        if !self.spilled.is_empty() && self.rng.chance(2) {
            for (i, r) in self.spilled.clone().into_iter().enumerate() {
                self.emit(load(r, Mem::at(RSP, 8 * i as i32), 8, false));
            }
        }
    }
    /// Restores the frame and saved registers and returns.
    fn ret(&mut self) {
        if self.frame > 0 {
            self.emit(asm::adjust_rsp(-self.frame));
        }
        for &r in self.saved.clone().iter().rev() {
            self.emit(asm::pop(r));
        }
        self.emit(vec![0xc3]);
    }

    /// `"mut "`, or nothing for `ReadOnlyStore`.
    fn mut_word(&self) -> &'static str {
        if self.has(Flaw::ReadOnlyStore) {
            ""
        } else {
            "mut "
        }
    }
    /// `done:` and the epilogue, then `int64(E* xs[n], int64|uint64 n)`.
    fn finish_sum(&mut self, done: usize, e: Elem, unsigned_n: bool) -> Option<String> {
        self.place(done);
        self.ret();
        let n = if unsigned_n { "uint64" } else { "int64" };
        Some(format!("int64({}* xs[n], {n} n)", self.sig_elem(e).name()))
    }
    /// `test n, n; jle skip` — the emptiness check (gone with `NoCheck`).
    fn guard(&mut self, n: usize, skip: usize) {
        if !self.has(Flaw::NoCheck) {
            self.emit(test(n));
            self.jcc(LE, skip);
        }
    }
    /// `inc i; cmp i, n; jl top` (`jle` when off by one).
    fn count_up(&mut self, i: usize, n: usize, top: usize) {
        self.emit(inc(i));
        self.emit(cmp(i, n));
        self.jcc(if self.has(Flaw::OffByOne) { LE } else { L }, top);
    }

    /// `for (i = 0; i < n; i++) sum += xs[i]` over `xs = rdi`, `n = rsi`;
    /// or one-based (`i = 1; i <= n`, reading `xs[i - 1]`); the bound
    /// compared in its register or in its stack slot.
    fn index_loop(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::WrongCompare,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
            Flaw::ClobberedBound,
            Flaw::CorruptedSpill,
        ])?;
        let e = self.elem();
        let unsigned_n = self.rng.chance(3) && !self.has(Flaw::WrongCompare);
        let cc = *self.rng.pick(&[L, B, NE]);
        // While form (test at the bottom, entered there): safe for `jl`,
        // and for every compare when `n` is unsigned.
        let while_form = (self.rng.chance(3)
            && (cc == L || unsigned_n)
            && !self.has(Flaw::NoCheck)
            && !self.has(Flaw::ClobberedBound))
            || self.has(Flaw::WrongCompare);
        let one_based = !while_form && cc != NE && self.rng.chance(3);
        let cc = if self.has(Flaw::WrongCompare) { B } else { cc };
        // A clobbered bound must stay clobbered: no spill to reload it from.
        let spill: &[usize] = if self.has(Flaw::ClobberedBound) {
            &[]
        } else {
            &[RDI, RSI]
        };
        self.enter(spill);
        let in_memory = !self.spilled.is_empty() && self.rng.chance(2);
        let i = self.scratch(&[RDI, RSI]);
        let t = self.scratch(&[RDI, RSI, i]);
        let (top, check, done) = (self.label(), self.label(), self.label());
        self.emit(zero(RAX));
        if one_based {
            self.emit(asm::mov_imm(4, i, 1));
        } else {
            self.emit(zero(i));
        }
        if while_form {
            self.jmp(check);
        } else if !self.has(Flaw::NoCheck) {
            self.emit(test(RSI));
            self.jcc(if unsigned_n { E } else { LE }, done);
        }
        if self.has(Flaw::ClobberedBound) {
            let bump = if self.rng.chance(2) {
                add_imm(RSI, 1)
            } else {
                asm::op_mem(8, &[0x8d], RSI, Mem::at(RSI, 1), false)
            };
            self.emit(bump);
        }
        self.place(top);
        self.reload();
        let s = i32::from(e.size());
        let disp = if one_based && !self.has(Flaw::OffByOne) {
            -s
        } else {
            0
        };
        let m = Mem::indexed(RDI, i, self.scale(e), disp);
        self.emit(load(t, m, self.width(e), signed(e)));
        self.emit(add(RAX, t));
        let step = if self.rng.chance(2) {
            inc(i)
        } else {
            add_imm(i, 1)
        };
        self.emit(step);
        self.place(check);
        if self.has(Flaw::OffByOne) && cc == NE {
            // i != n + 1
            let b = self.scratch(&[RDI, RSI, i, t]);
            self.emit(asm::op_mem(8, &[0x8d], b, Mem::at(RSI, 1), false));
            self.emit(cmp(i, b));
        } else if in_memory {
            // cmp i, [rsp + 8] (the spilled n)
            self.emit(asm::op_mem(8, &[0x3b], i, Mem::at(RSP, 8), false));
        } else {
            self.emit(cmp(i, RSI));
        }
        // One-based loops run to `i <= n`; an off-by-one zero-based one too.
        let inclusive = one_based || self.has(Flaw::OffByOne);
        let cc = match (inclusive, cc) {
            (true, L) => LE,
            (true, B) => BE,
            (_, c) => c,
        };
        self.jcc(cc, top);
        self.finish_sum(done, e, unsigned_n)
    }

    /// `for (p = xs; p != xs + n; p++) sum += *p` with `end = rdx`. With
    /// an `int64` count the emptiness test must be on `n` (`test; jle`):
    /// comparing pointers after `lea` (gcc's `cmp rdi, rdx; jae`) is the
    /// `WrongCompare` flaw, since `xs + n*s` wraps for a large negative `n`.
    fn pointer_walk(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
            Flaw::WrongCompare,
        ])?;
        let unsigned_n = self.rng.chance(3) && !self.has(Flaw::WrongCompare);
        let e = self.elem();
        let s = e.size();
        let cc = if self.has(Flaw::WrongScale) && s == 8 {
            NE
        } else {
            *self.rng.pick(&[NE, B])
        };
        self.enter(&[RDI, RSI]);
        let t = self.scratch(&[RDI, RSI, RDX]);
        let (top, done) = (self.label(), self.label());
        self.emit(zero(RAX));
        // lea rdx, [rdi + rsi*s (+ s when off by one)]
        let (lea_scale, step) = match (self.has(Flaw::WrongScale), s) {
            (true, 8) => (8, 16),
            (true, _) => (s * 2, s),
            _ => (s, s),
        };
        let extra = if self.has(Flaw::OffByOne) {
            i32::from(s)
        } else {
            0
        };
        let on_n = !unsigned_n && !self.has(Flaw::WrongCompare);
        if on_n && !self.has(Flaw::NoCheck) {
            self.emit(test(RSI));
            self.jcc(LE, done);
        }
        self.emit(asm::op_mem(
            8,
            &[0x8d],
            RDX,
            Mem::indexed(RDI, RSI, lea_scale, extra),
            false,
        ));
        if !on_n && !self.has(Flaw::NoCheck) {
            self.emit(cmp(RDI, RDX));
            self.jcc(AE, done);
        }
        self.place(top);
        self.emit(load(t, Mem::at(RDI, 0), self.width(e), signed(e)));
        self.emit(add(RAX, t));
        self.emit(add_imm(RDI, step as i8));
        self.emit(cmp(RDI, RDX));
        self.jcc(cc, top);
        self.finish_sum(done, e, unsigned_n)
    }

    /// The index of the first element equal to `c`, or -1.
    fn find(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
        ])?;
        let e = self.elem();
        let cc = *self.rng.pick(&[L, NE]);
        self.enter(&[]);
        let (top, notfound, found) = (self.label(), self.label(), self.label());
        self.emit(zero(RAX));
        self.guard(RSI, notfound);
        self.place(top);
        let m = Mem::indexed(RDI, RAX, self.scale(e), 0);
        self.emit(load(RCX, m, self.width(e), signed(e)));
        let wide = e.size() == 8;
        self.emit(asm::rr(
            &[0x39],
            &[0x38],
            if wide { 8 } else { 4 },
            RDX,
            RCX,
        ));
        self.jcc(E, found);
        self.emit(inc(RAX));
        self.emit(cmp(RAX, RSI));
        let cc = if self.has(Flaw::OffByOne) { LE } else { cc };
        self.jcc(cc, top);
        self.place(notfound);
        self.emit(minus_one(RAX));
        self.place(found);
        self.ret();
        let c = if wide { "int64" } else { "int32" };
        Some(format!(
            "int64({}* s[len], int64 len, {c} c)",
            self.sig_elem(e).name()
        ))
    }

    /// The number of bytes before the first zero byte within `n`.
    fn strlen(&mut self) -> Option<String> {
        self.applies(&[Flaw::OffByOne, Flaw::NoCheck])?;
        self.enter(&[]);
        let (top, done) = (self.label(), self.label());
        self.emit(zero(RAX));
        self.emit(test(RSI));
        self.jcc(LE, done);
        self.place(top);
        // cmp byte ptr [rdi+rax], 0
        let mut b = asm::op_mem(1, &[0x80], 7, Mem::indexed(RDI, RAX, 1, 0), true);
        b.push(0);
        self.emit(b);
        self.jcc(E, done);
        self.emit(inc(RAX));
        if self.has(Flaw::NoCheck) {
            self.jmp(top);
        } else {
            self.emit(cmp(RAX, RSI));
            self.jcc(if self.has(Flaw::OffByOne) { LE } else { L }, top);
        }
        self.place(done);
        self.ret();
        let e = *self.rng.pick(&["uint8", "int8"]);
        Some(format!("int64({e}* s[n], int64 n)"))
    }

    /// `sum += t[s[i]]` with a 256-entry table.
    fn table(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::WrongCompare,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
            Flaw::CorruptedSpill,
        ])?;
        let e = self.elem();
        self.enter(&[RDI, RSI, RDX]);
        let i = self.scratch(&[RDI, RSI, RDX]);
        let x = self.scratch(&[RDI, RSI, RDX, i]);
        let t = self.scratch(&[RDI, RSI, RDX, i, x]);
        let (top, done) = (self.label(), self.label());
        self.emit(zero(RAX));
        self.emit(zero(i));
        self.guard(RSI, done);
        self.place(top);
        self.reload();
        // The byte: movzx, or movsx when the comparison is wrong (a
        // negative index).
        let sign = self.has(Flaw::WrongCompare);
        self.emit(load(x, Mem::indexed(RDI, i, 1, 0), 1, sign));
        let m = Mem::indexed(RDX, x, self.scale(e), 0);
        self.emit(load(t, m, self.width(e), signed(e)));
        self.emit(add(RAX, t));
        self.emit(inc(i));
        self.emit(cmp(i, RSI));
        self.jcc(L, top);
        self.place(done);
        self.ret();
        let entries = if self.has(Flaw::OffByOne) { 255 } else { 256 };
        Some(format!(
            "int64(uint8* s[n], int64 n, {}* t[{entries}])",
            self.sig_elem(e).name()
        ))
    }

    /// `xs[i & (K-1)]` with extent `K`, or `i & -K ? -1 : xs[i]` (a
    /// `test` with the mask, then `jne`).
    fn masked(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
            Flaw::IndexWidth,
        ])?;
        let e = self.elem();
        let k: u8 = *self.rng.pick(&[4, 8, 16]);
        self.enter(&[]);
        let test_form = self.has(Flaw::IndexWidth) || self.rng.chance(2);
        let x = if test_form {
            RSI
        } else {
            *self.rng.pick(&[RAX, RSI, RCX])
        };
        if x != RSI {
            self.emit(mov(x, RSI));
        }
        let out = self.label();
        if !self.has(Flaw::NoCheck) {
            if test_form {
                // test rsi, -K (esi with IndexWidth: the upper half goes unchecked)
                let size = if self.has(Flaw::IndexWidth) { 4 } else { 8 };
                let mask = (-i32::from(k)).to_le_bytes();
                self.emit(asm::grp_r(&[0xf7], &[0xf6], size, 0, x, &mask));
                self.jcc(NE, out);
            } else {
                self.emit(and_imm(x, k - 1));
            }
        }
        let m = Mem::indexed(RDI, x, self.scale(e), 0);
        self.emit(load(RAX, m, self.width(e), signed(e)));
        self.ret();
        if test_form {
            self.place(out);
            self.emit(minus_one(RAX));
            self.ret();
        }
        let extent = if self.has(Flaw::OffByOne) { k - 1 } else { k };
        Some(format!(
            "int64({}* xs[{extent}], int64 i)",
            self.sig_elem(e).name()
        ))
    }

    /// `(unsigned) i < (unsigned) n ? xs[i] : -1`, with an `int64` index
    /// or an `int32` one zero-extended first.
    fn bounds_idiom(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::WrongCompare,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
            Flaw::ClobberedBound,
            Flaw::IndexWidth,
        ])?;
        let e = self.elem();
        // The unsigned check is sound for a `uint64` count only: with an
        // `int64` count a negative `n` (an empty buffer) passes it.
        let signed_check = self.has(Flaw::WrongCompare) && self.rng.chance(2);
        let n = if self.has(Flaw::WrongCompare) && !signed_check {
            "int64"
        } else {
            "uint64"
        };
        // (A zero-extended index is never negative: a signed check of it
        // is no flaw.)
        let narrow =
            self.has(Flaw::IndexWidth) || (self.rng.chance(3) && !self.has(Flaw::WrongCompare));
        self.enter(&[]);
        let oob = self.label();
        // The index register: rdx, or its zero extension (`mov x32, edx`).
        let x = if narrow && !self.has(Flaw::IndexWidth) {
            let x = *self.rng.pick(&[RAX, RCX, R8]);
            self.emit(asm::rr(&[0x89], &[0x88], 4, RDX, x));
            x
        } else {
            RDX
        };
        if !self.has(Flaw::NoCheck) {
            // cmp i, n; jae oob  —  or  cmp n, i; jbe oob
            let swap = self.rng.chance(2);
            let cc = match (self.flaw, swap) {
                (Some(Flaw::OffByOne), false) => A,
                (Some(Flaw::OffByOne), true) => B,
                (Some(Flaw::WrongCompare), false) if signed_check => GE,
                (Some(Flaw::WrongCompare), true) if signed_check => LE,
                (_, false) => AE,
                (_, true) => BE,
            };
            let size = if self.has(Flaw::IndexWidth) { 4 } else { 8 };
            self.emit(if swap {
                asm::rr(&[0x39], &[0x38], size, x, RSI)
            } else {
                asm::rr(&[0x39], &[0x38], size, RSI, x)
            });
            self.jcc(cc, oob);
        }
        if self.has(Flaw::ClobberedBound) {
            self.emit(inc(x));
        }
        let m = Mem::indexed(RDI, x, self.scale(e), 0);
        self.emit(load(RAX, m, self.width(e), signed(e)));
        self.ret();
        self.place(oob);
        self.emit(minus_one(RAX));
        self.ret();
        let i = if narrow { "int32" } else { "int64" };
        Some(format!(
            "int64({}* xs[n], {n} n, {i} i)",
            self.sig_elem(e).name()
        ))
    }

    /// `sum += a[i] * b[i]`: one shared extent, or the minimum of two.
    fn two_buffers(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
            Flaw::SwappedBuffers,
            Flaw::CorruptedSpill,
        ])?;
        let e = self.elem();
        let two = self.has(Flaw::SwappedBuffers) || self.rng.chance(2);
        // a = rdi, b = rsi, n = rdx (, m = rcx); bound in r9.
        self.enter(&[RDI, RSI]);
        let (top, done) = (self.label(), self.label());
        self.emit(zero(RAX));
        self.emit(mov(R9, RDX));
        if two && !self.has(Flaw::SwappedBuffers) {
            // r9 = min(n, m) (signed): cmp rcx, rdx; cmovl r9, rcx
            self.emit(cmp(RCX, RDX));
            self.emit(asm::rr(&[0x0f, 0x4c], &[0x0f, 0x4c], 8, R9, RCX));
        }
        self.emit(zero(R10));
        self.guard(R9, done);
        self.place(top);
        self.reload();
        let (w, sc, sg) = (self.width(e), self.scale(e), signed(e));
        self.emit(load(R8, Mem::indexed(RDI, R10, sc, 0), w, sg));
        self.emit(load(R11, Mem::indexed(RSI, R10, sc, 0), w, sg));
        self.emit(asm::rr(&[0x0f, 0xaf], &[0x0f, 0xaf], 8, R8, R11));
        self.emit(add(RAX, R8));
        self.count_up(R10, R9, top);
        self.place(done);
        self.ret();
        let el = self.sig_elem(e).name();
        Some(if two {
            format!("int64({el}* a[n], {el}* b[m], int64 n, int64 m)")
        } else {
            format!("int64({el}* a[n], {el}* b[n], int64 n)")
        })
    }

    /// Copy `src` into `dst`, fill `out` with `x`, or a prefix sum in place.
    fn store_loop(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
            Flaw::SwappedBuffers,
            Flaw::ReadOnlyStore,
            Flaw::CorruptedSpill,
        ])?;
        let e = self.elem();
        let kind = if self.has(Flaw::SwappedBuffers) {
            0
        } else {
            self.rng.below(3)
        };
        // copy: dst = rdi, src = rsi, n = rdx; fill: out = rdi, n = rsi,
        // x = rdx; prefix: xs = rdi, n = rsi.
        let n = if kind == 0 { RDX } else { RSI };
        self.enter(&[RDI]);
        let i = self.scratch(&[RDI, RSI, RDX]);
        let t = self.scratch(&[RDI, RSI, RDX, i]);
        let (top, done) = (self.label(), self.label());
        self.emit(zero(RAX));
        self.emit(zero(i));
        self.guard(n, done);
        self.place(top);
        self.reload();
        let (w, sc) = (self.width(e), self.scale(e));
        let (dst, src) = if self.has(Flaw::SwappedBuffers) {
            (RSI, RDI)
        } else {
            (RDI, RSI)
        };
        match kind {
            0 => {
                self.emit(load(t, Mem::indexed(src, i, sc, 0), w, signed(e)));
                self.emit(store(Mem::indexed(dst, i, sc, 0), t, w));
            }
            1 => self.emit(store(Mem::indexed(RDI, i, sc, 0), RDX, w)),
            _ => {
                self.emit(load(t, Mem::indexed(RDI, i, sc, 0), w, signed(e)));
                self.emit(add(RAX, t));
                self.emit(store(Mem::indexed(RDI, i, sc, 0), RAX, w));
            }
        }
        self.count_up(i, n, top);
        self.place(done);
        self.ret();
        let el = self.sig_elem(e).name();
        let m = self.mut_word();
        Some(match kind {
            0 => format!("int64({m}{el}* dst[n], {el}* src[n], int64 n)"),
            1 => format!("int64({m}{el}* out[n], int64 n, int64 x)"),
            _ => format!("int64({m}{el}* xs[n], int64 n)"),
        })
    }

    /// `for (i = n; i-- > 0; ) sum += xs[i]`.
    fn reverse(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
            Flaw::CorruptedSpill,
        ])?;
        let e = self.elem();
        self.enter(&[RDI]);
        let i = self.scratch(&[RDI, RSI]);
        let t = self.scratch(&[RDI, RSI, i]);
        let (top, done) = (self.label(), self.label());
        self.emit(zero(RAX));
        self.emit(mov(i, RSI));
        self.guard(i, done);
        self.place(top);
        self.emit(add_imm(i, -1));
        self.reload();
        let m = Mem::indexed(RDI, i, self.scale(e), 0);
        self.emit(load(t, m, self.width(e), signed(e)));
        self.emit(add(RAX, t));
        self.emit(test(i));
        let cc = if self.has(Flaw::OffByOne) {
            *self.rng.pick(&[NS, GE])
        } else {
            *self.rng.pick(&[G, NE])
        };
        self.jcc(cc, top);
        self.place(done);
        self.ret();
        Some(format!(
            "int64({}* xs[n], int64 n)",
            self.sig_elem(e).name()
        ))
    }

    /// `xs[0] + xs[1] + ... + xs[K-1]` with a constant extent `K`.
    fn unrolled(&mut self) -> Option<String> {
        self.applies(&[Flaw::OffByOne, Flaw::WrongWidth, Flaw::WrongScale])?;
        let e = self.elem();
        let k: u8 = if self.has(Flaw::WrongScale) {
            *self.rng.pick(&[2, 3, 4, 8])
        } else {
            *self.rng.pick(&[1, 2, 3, 4, 8])
        };
        self.enter(&[]);
        let t = self.scratch(&[RDI]);
        self.emit(zero(RAX));
        let reads = if self.has(Flaw::OffByOne) { k + 1 } else { k };
        let step = i32::from(self.scale(e));
        for j in 0..reads {
            let last = j + 1 == reads;
            let w = if last { self.width(e) } else { e.size() };
            self.emit(load(t, Mem::at(RDI, step * i32::from(j)), w, signed(e)));
            self.emit(add(RAX, t));
        }
        self.ret();
        Some(format!("int64({}* xs[{k}])", self.sig_elem(e).name()))
    }
}
