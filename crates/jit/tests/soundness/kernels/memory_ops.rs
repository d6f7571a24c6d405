//! Kernel shapes whose memory access is not a plain `mov`: string
//! instructions (`rep movs`/`rep stos`, implicit `rdi`/`rsi`/`rcx`
//! operands), read-modify-write stores (`inc dword [h + 4*b]`, a
//! histogram) and the negative-index walk compilers emit (`lea end; neg
//! i; ... [end + i*s]; inc i; jne`). Same contract as the parent: a
//! signature string, or `None` when the kernel's flaw does not apply.

use super::{Flaw, K, L, Mem, R8, RAX, RCX, RDI, RDX, RSI, add, asm, cmp, inc, load, signed, zero};

impl K<'_> {
    /// `memcpy`/`memset` by element: `rep movs` from `src` to `dst`, or
    /// `rep stos` of `x` into `out`, `n` elements.
    pub(super) fn string_op(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::SwappedBuffers,
            Flaw::ReadOnlyStore,
        ])?;
        let e = self.elem();
        let copy = self.has(Flaw::SwappedBuffers) || self.rng.chance(2);
        // copy: dst = rdi, src = rsi, n = rdx; fill: out = rdi, n = rsi, x = rdx.
        let n = if copy { RDX } else { RSI };
        self.enter(&[]);
        let done = self.label();
        self.guard(n, done);
        if self.has(Flaw::OffByOne) {
            // lea rcx, [n + 1]
            self.emit(asm::op_mem(8, &[0x8d], RCX, Mem::at(n, 1), false));
        } else {
            self.emit(super::mov(RCX, n));
        }
        if self.has(Flaw::SwappedBuffers) {
            // xchg rdi, rsi: the store goes to the read-only source
            self.emit(asm::rr(&[0x87], &[0x86], 8, RSI, RDI));
        }
        if !copy {
            self.emit(super::mov(RAX, RDX));
        }
        let w = self.width(e);
        let mut op = vec![0xf3];
        match w {
            2 => op.insert(0, 0x66),
            8 => op.push(0x48),
            _ => {}
        }
        let base = if copy { 0xa4 } else { 0xaa };
        op.push(if w == 1 { base } else { base + 1 });
        self.emit(op);
        self.place(done);
        self.emit(zero(RAX));
        self.ret();
        let el = self.sig_elem(e).name();
        let m = self.mut_word();
        Some(if copy {
            format!("int64({m}{el}* dst[n], {el}* src[n], int64 n)")
        } else {
            format!("int64({m}{el}* out[n], int64 n, int64 x)")
        })
    }

    /// `h[s[i]]++` for every byte of `s`, `h` a 256-entry `mut` table.
    pub(super) fn histogram(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::WrongCompare,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
            Flaw::ReadOnlyStore,
        ])?;
        let e = self.elem();
        self.enter(&[]);
        let (top, done) = (self.label(), self.label());
        self.emit(zero(RAX));
        self.emit(zero(RCX));
        self.guard(RSI, done);
        self.place(top);
        // movzx r8d, byte [rdi + rcx] (movsx: a negative index)
        let sign = self.has(Flaw::WrongCompare);
        self.emit(load(R8, Mem::indexed(RDI, RCX, 1, 0), 1, sign));
        // inc <width> [rdx + r8*s]
        let w = self.width(e);
        let op: &[u8] = if w == 1 { &[0xfe] } else { &[0xff] };
        let m = Mem::indexed(RDX, R8, self.scale(e), 0);
        self.emit(asm::op_mem(w, op, 0, m, true));
        self.emit(inc(RCX));
        self.emit(cmp(RCX, RSI));
        self.jcc(L, top);
        self.place(done);
        self.ret();
        let entries = if self.has(Flaw::OffByOne) { 255 } else { 256 };
        let mutable = self.mut_word();
        Some(format!(
            "int64(uint8* s[n], int64 n, {mutable}{}* h[{entries}])",
            self.sig_elem(e).name()
        ))
    }

    /// `end = xs + n; for (i = -n; i != 0; i++) sum += end[i]`.
    pub(super) fn negative_index(&mut self) -> Option<String> {
        self.applies(&[
            Flaw::OffByOne,
            Flaw::NoCheck,
            Flaw::WrongWidth,
            Flaw::WrongScale,
        ])?;
        let e = self.elem();
        let s = e.size();
        self.enter(&[]);
        let (top, done) = (self.label(), self.label());
        self.emit(zero(RAX));
        self.guard(RSI, done);
        let extra = if self.has(Flaw::OffByOne) {
            i32::from(s)
        } else {
            0
        };
        // lea rdx, [rdi + rsi*s]; mov rcx, rsi; neg rcx
        self.emit(asm::op_mem(
            8,
            &[0x8d],
            RDX,
            Mem::indexed(RDI, RSI, s, extra),
            false,
        ));
        self.emit(super::mov(RCX, RSI));
        self.emit(asm::grp_r(&[0xf7], &[0xf6], 8, 3, RCX, &[]));
        self.place(top);
        let m = Mem::indexed(RDX, RCX, self.scale(e), 0);
        self.emit(load(R8, m, self.width(e), signed(e)));
        self.emit(add(RAX, R8));
        self.emit(inc(RCX));
        self.jcc(super::NE, top);
        self.place(done);
        self.ret();
        Some(format!(
            "int64({}* xs[n], int64 n)",
            self.sig_elem(e).name()
        ))
    }
}
