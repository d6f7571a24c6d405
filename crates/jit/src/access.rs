//! Memory proofs for buffer parameters and indexed stack accesses.
//!
//! In: a memory operand's base and index values and the state's symbol
//! facts. Out: where the access lands ([`Place`]) or the rule it breaks.
//! A buffer parameter `T* xs[e]` is a [`Val::Ptr`] whose offset is a
//! [`Num`]; an access of `w` bytes at offset `o` is accepted when
//! `0 <= o` and `o + w <= e * sizeof(T)` hold for every value the analysis
//! allows: for a constant extent by the range of `o`, for an extent
//! parameter `S` by a relation `o - (S << k) <= hi` with `2^k <= sizeof(T)`
//! and `hi + w <= 0` (then `S > 0`, so the buffer is not empty and
//! `(S << k) <= S * sizeof(T)`), or by the range of `o` against the least
//! value of `S` the branches proved. The caller promises `e` elements (a
//! negative count: none), so a non-empty buffer is real memory and holds
//! at most 2^57 bytes; that bounds each extent parameter's range at entry.
//! The common load through an index, `mov r64, [base + index * scale +
//! disp]`, is stepped here whole ([`indexed_load`]: the interpreter's rules
//! for it without the bookkeeping other instructions need); with three
//! distinct registers it is a fast form of its own
//! ([`crate::fast::Form::LoadIndexed`], the same rules without iced's
//! register lists), and only the others come here.

use iced_x86::{Code, Instruction, OpAccess, OpKind, Register, UsedMemory, UsedRegister};

use crate::interp::{
    Ctx, Flags, PAGE, Place, check_reads, check_registers, clash, data_write, gpr, is_cond_write,
    is_write, load, track_comparison,
};
use crate::num::{BOUND, Num, POS_INF, Rel, Syms, bound_of};
use crate::signature::{Buffer, Extent, Param};
use crate::state::{RSP, State, Val};
use crate::violation::BufferAccess;
use crate::{SigType, ViolationKind as K};

#[cfg(test)]
mod tests;

/// Largest byte size of a buffer the caller can promise (user address
/// space with 5-level paging).
pub(crate) const MAX_BUFFER_BYTES: i64 = 1 << 57;

impl Ctx<'_> {
    /// The buffer parameter `i`.
    fn buffer(&self, i: u8) -> Option<Buffer> {
        match self.sig.param(usize::from(i)) {
            Some(Param::Buffer(b)) => Some(b),
            _ => None,
        }
    }

    /// What the caller's promise says about each extent parameter: an
    /// `int64` count is at most 2^57 / sizeof(elem) (a negative one means
    /// an empty buffer), a `uint64` count is also at least 0.
    #[inline]
    pub(crate) fn entry_syms(sig: &crate::Signature) -> Syms {
        let mut syms: Syms = crate::num::NO_SYMS;
        for p in sig.full_params() {
            if let Param::Buffer(Buffer {
                elem,
                extent: Extent::Param(k),
                ..
            }) = p
            {
                let k = usize::from(k);
                let max = MAX_BUFFER_BYTES / i64::from(elem.size());
                let min = match sig.param(k) {
                    Some(Param::Scalar(SigType::Uint64)) => 0,
                    _ => i64::MIN,
                };
                syms[k] = Some(match syms[k] {
                    Some((lo, hi)) => (lo.max(min), hi.min(max)),
                    None => (min, max),
                });
            }
        }
        syms
    }

    /// Makes the extents [`Policy::assumed_args`] gives exact in `syms` (the
    /// [`Ctx::entry_syms`]; a value outside the caller's promise is not
    /// assumed).
    ///
    /// [`Policy::assumed_args`]: crate::Policy::assumed_args
    #[cold]
    pub(crate) fn assume_extents(sig: &crate::Signature, policy: &crate::Policy, syms: &mut Syms) {
        for (k, p) in sig.full_params().enumerate() {
            let (Param::Scalar(ty), Some((lo, hi))) = (p, syms[k]) else {
                continue;
            };
            if let Some(v) = policy.assumed(k, ty).map(|v| v as i64)
                && (lo..=hi).contains(&v)
            {
                syms[k] = Some((v, v));
            }
        }
    }

    /// Whether every value of `off` lies in `[0, end]` of buffer `i` (one
    /// past the end included).
    pub(crate) fn within_buffer(&self, i: u8, off: &Num, syms: &Syms) -> bool {
        self.buffer(i).is_some_and(|b| fits(&b, off, 0, syms))
    }

    /// Whether buffer `i` may be stored into.
    pub(crate) fn check_writable(&self, i: u8) -> Result<(), K> {
        match self.buffer(i) {
            Some(b) if b.mutable => Ok(()),
            Some(_) => Err(K::ReadOnlyBuffer { param: i }),
            None => Err(K::MemoryOutsideFrame),
        }
    }

    /// Checks a `width`-byte access at `off` into buffer `i`.
    pub(crate) fn check_buffer(
        &self,
        i: u8,
        off: &Num,
        width: u8,
        store: bool,
        syms: &Syms,
    ) -> Result<Place, K> {
        let Some(b) = self.buffer(i) else {
            return Err(K::MemoryOutsideFrame);
        };
        if store && !b.mutable {
            return Err(K::ReadOnlyBuffer { param: i });
        }
        if fits(&b, off, i64::from(width), syms) {
            return Ok(Place::Buffer);
        }
        let relation = match b.extent {
            Extent::Param(k) => {
                let r = off.rel_on(k, b.elem.size().trailing_zeros() as u8, syms);
                let r = if off.rel.sym == k { off.rel } else { r };
                r.is_some().then_some((r.sym, r.shift, r.lo, r.hi))
            }
            Extent::Count(_) => None,
        };
        Err(K::BufferOutOfBounds(Box::new(BufferAccess {
            param: i,
            width,
            store,
            lo: off.s.smin(),
            hi: off.s.smax(),
            relation,
            elem_size: b.elem.size(),
            extent: b.extent,
        })))
    }
}

/// Whether `[off, off + width)` lies inside `[0, end]` of `b` for every
/// value of `off` (with `width` 0: `off` is at most one past the end).
fn fits(b: &Buffer, off: &Num, width: i64, syms: &Syms) -> bool {
    if off.s.smin() < 0 {
        return false;
    }
    let size = i64::from(b.elem.size());
    match b.extent {
        Extent::Count(n) => {
            i128::from(off.s.smax()) + i128::from(width) <= i128::from(n) * i128::from(size)
        }
        Extent::Param(k) => {
            let log = size.trailing_zeros() as u8;
            // `off - (S << shift) <= hi`, directly or through the bound
            // symbol `B`: `off - (B << shift) <= hi` and `B - S <= b` give
            // `off - (S << shift) <= hi + (b << shift)`.
            let by_rel = |r: Rel| {
                if !r.is_some() || r.shift > log || r.hi == POS_INF {
                    return false;
                }
                let hi = if r.sym == k {
                    i128::from(r.hi)
                } else if r.sym == BOUND
                    && let Some(b) = bound_of(syms, k)
                    && b != POS_INF
                {
                    i128::from(r.hi) + (i128::from(b) << r.shift)
                } else {
                    return false;
                };
                hi + i128::from(width) <= 0
            };
            if by_rel(off.rel)
                || by_rel(off.rel_on(k, log, syms))
                || by_rel(off.rel_on(BOUND, log, syms))
            {
                return true;
            }
            let least = sym_min(syms, k);
            least >= 0
                && i128::from(off.s.smax()) + i128::from(width)
                    <= i128::from(least) * i128::from(size)
        }
    }
}

fn sym_min(syms: &Syms, k: u8) -> i64 {
    syms.get(usize::from(k))
        .copied()
        .flatten()
        .map_or(i64::MIN, |(lo, _)| lo)
}

/// An access `[k + index * scale + disp, + size)` into the stack frame with
/// a variable index in the signed range `index`: the range of bytes it may
/// touch, checked against the frame and the stack-clash rule.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn stack_range(
    ctx: &Ctx<'_>,
    st: &State,
    k: i64,
    index: (i64, i64),
    scale: u32,
    disp: i64,
    lo_frame: i64,
    size: u8,
) -> Result<Place, K> {
    let (lo, hi) = range_bounds(k, index, scale, disp, size);
    if lo < lo_frame || hi > 0 || lo < -(ctx.max_frame + ctx.red_zone) {
        return Err(K::IndexedStackAccess { lo, hi });
    }
    if lo < st.touched - PAGE {
        return Err(clash(lo, st.touched));
    }
    Ok(Place::StackRange(lo, hi))
}

/// [`stack_range`]'s bounds: in 64 bits where nothing overflows (then the
/// wide sums are the same numbers), else [`wide_range`].
#[inline]
fn range_bounds(k: i64, index: (i64, i64), scale: u32, disp: i64, size: u8) -> (i64, i64) {
    let (smin, smax) = index;
    let exact = || {
        let base = k.checked_add(disp)?;
        let lo = base.checked_add(smin.checked_mul(i64::from(scale))?)?;
        let hi = base
            .checked_add(smax.checked_mul(i64::from(scale))?)?
            .checked_add(i64::from(size))?;
        Some((lo, hi))
    };
    exact().unwrap_or_else(|| wide_range(k, index, scale, disp, size))
}

/// [`stack_range`]'s bounds in 128 bits, each clamped to 64.
fn wide_range(k: i64, (smin, smax): (i64, i64), scale: u32, disp: i64, size: u8) -> (i64, i64) {
    let lo = i128::from(k) + i128::from(disp) + i128::from(smin) * i128::from(scale);
    let hi =
        i128::from(k) + i128::from(disp) + i128::from(smax) * i128::from(scale) + i128::from(size);
    let narrow = |v: i128| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
    (narrow(lo), narrow(hi))
}

/// The byte offset `off + index * scale + disp` of a pointer moved by an
/// addressing mode (`None` index: just `disp`).
pub(crate) fn moved(off: Num, index: Option<Num>, scale: u32, disp: i64) -> Num {
    let mut o = off;
    if let Some(ix) = index {
        o = o.add(ix.shl(scale.trailing_zeros(), 8), 8);
    }
    if disp != 0 {
        o = o.add(Num::constant(disp as u64), 8);
    }
    o
}

/// Reads stack bytes touched by an indexed load: all must be written and
/// none may hold a saved register.
pub(crate) fn load_range(st: &State, lo: i64, hi: i64) -> Result<Val, K> {
    if range_readable(st, lo, hi) {
        Ok(Val::Data(8))
    } else {
        Err(K::IndexedStackAccess { lo, hi })
    }
}

/// Whether every stack byte in `[lo, hi)` is written and none holds a
/// saved register: [`load_range`]'s test.
#[inline(always)]
pub(crate) fn range_readable(st: &State, lo: i64, hi: i64) -> bool {
    // One walk from the first slot (a frame has few): slots ending at or
    // before `lo` are passed over; from the first one ending after it
    // (sorted, disjoint, none empty) each ends after the bytes covered so
    // far.
    let mut at = lo;
    for s in &st.slots {
        let end = s.off + i64::from(s.len);
        if end <= at {
            continue;
        }
        if at >= hi {
            break;
        }
        if s.off > at || matches!(s.val, Val::Entry(_)) {
            return false;
        }
        at = end;
    }
    at >= hi
}

/// `mov r64, [base + index * scale + disp]` into a register other than
/// `rsp`: the load through an index that the fast forms leave to
/// [`crate::interp::step`], which asks here first. It reads no flags and
/// writes none, reads one memory operand and writes one register, so of
/// [`crate::interp::generic`]'s rules only those apply, in its order:
/// registers allowed, registers read defined (a 64-bit move may carry a
/// saved callee-saved value), the access placed and loaded, the register
/// written, the comparison and the sign extension forgotten where it was
/// written. `None` for any other instruction (the tests compare both ways
/// on random states).
pub(crate) fn indexed_load(
    ctx: &Ctx<'_>,
    st: &mut State,
    ins: &Instruction,
    regs: &[UsedRegister],
    mems: &[UsedMemory],
    flags: Flags,
) -> Option<Result<(), K>> {
    let [mem] = mems else { return None };
    if ins.code() != Code::Mov_r64_rm64
        || ins.op1_kind() != OpKind::Memory
        || mem.index() == Register::None
        || mem.access() != OpAccess::Read
        || (flags.read | flags.modified | flags.undefined) != 0
    {
        return None;
    }
    let d = gpr(ins.op0_register());
    (d != RSP).then(|| load_into(ctx, st, ins, regs, mem, d, flags))
}

/// [`indexed_load`] once it is that load (into register `d`).
fn load_into(
    ctx: &Ctx<'_>,
    st: &mut State,
    ins: &Instruction,
    regs: &[UsedRegister],
    mem: &UsedMemory,
    d: usize,
    flags: Flags,
) -> Result<(), K> {
    check_registers(ctx, regs)?;
    check_reads(st, regs, true, None)?;
    let loaded = load(ctx, st, ins, mem, st.rsp() - ctx.red_zone, true)?;
    let mut writes_rax_or_rdx = false;
    for u in regs.iter().filter(|u| is_write(u.access())) {
        let r = u.register();
        let idx = gpr(r);
        writes_rax_or_rdx |= matches!(idx, 0 | 2);
        if idx == RSP {
            return Err(K::StackPointerUnknown);
        }
        let new = if idx == d && r.is_gpr64() {
            loaded
        } else {
            data_write(st.reg(idx), r)
        };
        let v = if is_cond_write(u.access()) {
            st.reg(idx).join(new)
        } else {
            new
        };
        st.set_reg(idx, v);
    }
    track_comparison(ctx, st, ins, regs, flags);
    if writes_rax_or_rdx {
        st.sext = 0;
    }
    Ok(())
}
