//! Calls: a direct call to an allow-listed function and a call through the
//! import table to a helper (SPEC §8.3), as the transfer function steps them;
//! and `rep movs`/`rep stos`, which copy and fill buffers like a helper.
//!
//! In: the state before the `call`, the instruction and the policy's
//! allow-list or the signature's `uses`. Out: the state after the callee
//! returns (caller-saved registers and flags undefined, `rax` its result,
//! the stack below `rsp` forgotten), or the rule the call breaks: alignment,
//! frame depth, arguments not defined at their width, buffer arguments not
//! proven in bounds for the callee's extents or not writable, an entry value
//! reachable through a stack pointer argument.

use iced_x86::{Instruction, Register};

use crate::interp::{ARG_REGS, CALLER_SAVED, Ctx, reg_of, touch};
use crate::num::Num;
use crate::state::{State, Val};
use crate::{SigType, Signature, ViolationKind as K};

fn reg_at_width(idx: usize, width: u8) -> Register {
    let r = reg_of(idx);
    if width == 4 { r.full_register32() } else { r }
}

/// A direct call to an allow-listed SysV function.
pub(crate) fn call(ctx: &Ctx<'_>, st: &mut State, ins: &Instruction) -> Result<(), K> {
    let target = ctx.policy.base_ip.wrapping_add(ins.near_branch_target());
    let callee = ctx
        .policy
        .allowed_calls
        .iter()
        .find(|c| c.address == target)
        .ok_or(K::CallNotAllowed { target })?;
    let k = push_return_address(ctx, st)?;
    // Buffer parameters are proven as for a helper (a pointer into a
    // buffer, in bounds for the callee's extent), named by address.
    check_args(ctx, st, &callee.signature, || format!("{target:#x}"))?;
    let passes_stack = (0..callee.signature.params().count())
        .any(|i| matches!(st.reg(ARG_REGS[i]), Val::Stack(_)));
    if passes_stack {
        // The callee may read anything in the frame through the pointer (so
        // no entry value may be there) and overwrite it.
        if st.slots.iter().any(|s| matches!(s.val, Val::Entry(_))) {
            return Err(K::EntryValueEscapes);
        }
        st.demote();
    }
    returned(st, Val::Data(callee.signature.ret().width()), k);
    Ok(())
}

/// The checks of the `call` itself: `rsp` 16-byte aligned at the call (8
/// below an alignment boundary before it), the return address inside the
/// frame and touched (the stack-clash rule). Returns `rsp`.
fn push_return_address(ctx: &Ctx<'_>, st: &mut State) -> Result<i64, K> {
    let rsp = st.rsp();
    if rsp.rem_euclid(16) != 8 {
        return Err(K::MisalignedCall);
    }
    if rsp - 8 < -ctx.max_frame {
        return Err(K::StackPointerOutOfFrame { offset: rsp - 8 });
    }
    touch(st, rsp - 8)?;
    Ok(rsp)
}

/// The state after a SysV callee returns to `rsp`: caller-saved registers
/// and flags undefined, `rax` is `ret`, the stack below `rsp` forgotten.
fn returned(st: &mut State, ret: Val, rsp: i64) {
    for r in CALLER_SAVED {
        st.set_reg(r, Val::Undef);
    }
    st.set_reg(0, ret);
    st.flags = 0;
    st.cmp = None;
    st.sext = 0;
    st.forget(i64::MIN / 2, rsp);
}

/// Checks the argument registers against a callee's signature, as a
/// function's parameters are checked (SPEC §8.3): scalars defined at their
/// width; buffers pointers into a buffer parameter, proven in bounds for
/// the callee's extent (its byte size counted without wrapping), `mut`
/// ones into `mut` buffers. `name` names the callee in a violation.
fn check_args(
    ctx: &Ctx<'_>,
    st: &State,
    sig: &Signature,
    name: impl Fn() -> String,
) -> Result<(), K> {
    for (i, p) in sig.full_params().enumerate() {
        let v = st.reg(ARG_REGS[i]);
        let bad = || K::HelperArgument {
            helper: name(),
            param: i as u8,
        };
        match p {
            crate::Param::Scalar(t) => {
                if v.defined_bytes() < t.width() {
                    return Err(K::UndefinedRegisterRead {
                        register: reg_at_width(ARG_REGS[i], t.width()),
                    });
                }
            }
            crate::Param::Buffer(b) => {
                let Val::Ptr(j, off) = v else {
                    return Err(bad());
                };
                // Bytes the helper may touch: its extent in elements.
                let elems = match b.extent {
                    crate::Extent::Count(c) => Num::constant(c),
                    crate::Extent::Param(m) => {
                        let n = st.reg(ARG_REGS[usize::from(m)]).as_num(8).ok_or_else(bad)?;
                        // A negative count is an empty buffer to the helper.
                        if n.s.smin() < 0 {
                            return Err(bad());
                        }
                        n
                    }
                };
                // Its byte size, counted without wrapping: `m << 3` of
                // `m = 2^61` is 0 in 64 bits, but the helper touches 2^64
                // bytes. (Where the shift is inexact `shl` drops the
                // relation too, so nothing provable is lost.)
                let shift = b.elem.size().trailing_zeros();
                if i128::from(elems.s.smax()) << shift > i128::from(i64::MAX) {
                    return Err(bad());
                }
                let end = off.add(elems.shl(shift, 8), 8);
                if off.s.smin() < 0 || !ctx.within_buffer(j, &end, st.syms()) {
                    return Err(bad());
                }
                if b.mutable {
                    ctx.check_writable(j).map_err(|_| bad())?;
                }
            }
        }
    }
    Ok(())
}

/// A call through slot `k` of the import table (`call qword ptr [rip+d]`,
/// SPEC §8.3): helper `k` of the signature's `uses`, whose arguments must
/// satisfy its signature as a function's parameters do (scalars defined at
/// their width, buffers proven in bounds for its extents, `mut` ones into
/// `mut` buffers). Afterwards the caller-saved registers and the flags are
/// undefined, `rax` holds its result and the stack below `rsp` is gone.
pub(crate) fn import_call(ctx: &Ctx<'_>, st: &mut State, ins: &Instruction) -> Result<(), K> {
    if !crate::classify::is_import_call(ins) {
        return Err(K::IndirectTransfer);
    }
    let slot = ins.memory_displacement64();
    let table = crate::import_table_offset(ctx.code_len as usize) as u64;
    let k = slot
        .checked_sub(table)
        .filter(|d| d % 8 == 0 && ((d / 8) as usize) < ctx.imports.len())
        .map(|d| (d / 8) as usize);
    let Some(k) = k else {
        return Err(if ctx.imports.is_empty() {
            K::IndirectTransfer
        } else {
            K::NotAnImportSlot { target: slot }
        });
    };
    let Some(helper) = ctx.imports[k] else {
        return Err(K::UnknownHelper {
            name: ctx.sig.uses()[k].clone(),
        });
    };
    let rsp = push_return_address(ctx, st)?;
    // A helper taking an unsized pointer could touch anything.
    if let Some(i) = helper
        .signature
        .full_params()
        .position(|p| p == crate::Param::Scalar(SigType::Pointer))
    {
        return Err(K::HelperArgument {
            helper: helper.name.clone(),
            param: i as u8,
        });
    }
    check_args(ctx, st, &helper.signature, || helper.name.clone())?;
    let ret = match helper.signature.ret() {
        SigType::Nil => Val::Undef,
        t => Val::Data(t.width()),
    };
    returned(st, ret, rsp);
    Ok(())
}

/// `rep movs`/`rep stos` of `w`-byte elements (the direction flag is clear:
/// the ABI clears it and no accepted code sets it): `rcx` elements from
/// `rsi` to `rdi` (or `rax`'s low `w` bytes to `rdi`). Proven like a
/// helper's buffer arguments: `rdi` (and `rsi`) point into buffers, `rcx`
/// is a count of at least 0 whose byte size does not wrap, and the whole
/// span lies in the buffer (`mut` for the destination). Afterwards `rdi`
/// and `rsi` point past the span and `rcx` is 0; the flags are unchanged.
pub(crate) fn rep_string(ctx: &Ctx<'_>, st: &mut State, ins: &Instruction, w: u8) -> Result<(), K> {
    const RCX: usize = 1;
    const RSI: usize = 6;
    const RDI: usize = 7;
    let copy = matches!(
        ins.mnemonic(),
        iced_x86::Mnemonic::Movsb
            | iced_x86::Mnemonic::Movsw
            | iced_x86::Mnemonic::Movsd
            | iced_x86::Mnemonic::Movsq
    );
    let used: &[usize] = if copy {
        &[RCX, RSI, RDI]
    } else {
        &[0, RCX, RDI]
    };
    for &r in used {
        if ctx.reserved & 1 << r != 0 {
            return Err(K::ReservedRegister {
                register: reg_of(r),
            });
        }
    }
    let count = st.reg(RCX).as_num(8).ok_or(K::UndefinedRegisterRead {
        register: Register::RCX,
    })?;
    if !copy && st.reg_defined_bytes(0) < w {
        return Err(K::UndefinedRegisterRead {
            register: reg_at_width(0, w.max(4)),
        });
    }
    let shift = w.trailing_zeros();
    let unproven = |r: usize| K::StringSpanUnproven {
        register: reg_of(r),
    };
    // The span in bytes, counted without wrapping.
    if count.s.smin() < 0 || i128::from(count.s.smax()) << shift > i128::from(i64::MAX) {
        return Err(unproven(RCX));
    }
    let bytes = count.shl(shift, 8);
    let span = |st: &State, r: usize, store: bool| -> Result<Val, K> {
        let Val::Ptr(j, off) = st.reg(r) else {
            return Err(unproven(r));
        };
        let end = off.add(bytes, 8);
        if off.s.smin() < 0 || !ctx.within_buffer(j, &end, st.syms()) {
            return Err(unproven(r));
        }
        if store {
            ctx.check_writable(j)?;
        }
        Ok(Val::Ptr(j, end))
    };
    let dst = span(st, RDI, true)?;
    let src = if copy {
        Some(span(st, RSI, false)?)
    } else {
        None
    };
    st.set_reg(RDI, dst);
    if let Some(src) = src {
        st.set_reg(RSI, src);
    }
    st.set_reg(RCX, Val::num(Num::constant(0)));
    if let Some(c) = st.cmp
        && [c.a, c.b].iter().any(|&x| used.contains(&usize::from(x)))
    {
        st.cmp = None;
    }
    Ok(())
}
