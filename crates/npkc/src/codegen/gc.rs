//! `gc` references in generated code: the shadow-stack frame, rooted
//! temporaries, element access, allocation and checked conversions.
//!
//! A function that mentions a `gc` type gets one frame: a stack slot of `n`
//! 8-byte slots registered with `npk_gc_push_frame` in its prologue and
//! unregistered with `npk_gc_pop_frame` before every return (`exit` and
//! faults end the process). Every `gc` local (parameter or binding) lives in
//! its own slot and is loaded at each read, so a collection by any call
//! rewrites it in place; temporaries (a call's earlier arguments while later
//! ones are evaluated, an array while its index or stored value is, a `pass`
//! value while the defers run) are *held* in further slots, a stack of them
//! above the locals. `n` is known only after the body is lowered, so the
//! entry block jumps to a prologue block that is filled last (zero the
//! slots, push the frame) and then jumps to the body. Naming: `gc_*`
//! methods of `FnLower`; a [`Held`] is a value parked in a root slot.

use cranelift_codegen::ir::{self, InstBuilder, StackSlotData, StackSlotKind, types};
use cranelift_frontend::FunctionBuilder;

use super::func::{FnLower, Val};
use super::{CodegenError, FAULT_GC_ACCESS, FAULT_GC_FRAME, FAULT_GC_KIND, unsupported};
use crate::hir::{self, Expr, ExprKind, GcKind, LocalId, Ty};

/// Whether `f` mentions a `gc` type (a local, or any expression's type).
pub(super) fn uses_gc(f: &hir::Func) -> bool {
    fn expr(e: &Expr) -> bool {
        let mut found = matches!(e.ty, Ty::Gc(_));
        e.for_each_child(&mut |c| found = found || expr(c));
        found
    }
    fn block(b: &hir::Block) -> bool {
        b.stmts.iter().any(|s| {
            let mut found = false;
            s.for_each_expr(&mut |e| found = found || expr(e));
            s.for_each_block(&mut |b| found = found || block(b));
            found
        })
    }
    f.locals.iter().any(|l| matches!(l.ty, Ty::Gc(_))) || block(&f.body)
}

/// The shadow-stack frame of one function.
#[derive(Debug)]
pub(super) struct Frame {
    slot: ir::StackSlot,
    /// Slots used by `gc` locals (the first ones).
    locals: u32,
    /// Next free temporary slot.
    top: u32,
    /// Highest number of slots in use at once.
    high: u32,
    /// Filled after the body: zeroes the slots, pushes the frame.
    prologue: ir::Block,
    body: ir::Block,
    /// Slot indexes of the `gc` parameters (stored in the entry block).
    params: Vec<u32>,
}

impl Frame {
    /// Reserves the frame's stack slot (sized when the body is done).
    pub(super) fn new(b: &mut FunctionBuilder<'_>) -> Frame {
        let data = StackSlotData::new(StackSlotKind::ExplicitSlot, 8, 3);
        Frame {
            slot: b.create_sized_stack_slot(data),
            locals: 0,
            top: 0,
            high: 0,
            prologue: b.create_block(),
            body: b.create_block(),
            params: Vec::new(),
        }
    }

    /// A slot for a new `gc` local (called for every local, in order,
    /// before any temporary is held).
    pub(super) fn local_slot(&mut self, param: bool) -> u32 {
        let k = self.locals;
        self.locals += 1;
        self.top = self.locals;
        self.high = self.high.max(self.top);
        if param {
            self.params.push(k);
        }
        k
    }

    pub(super) fn slot(&self) -> ir::StackSlot {
        self.slot
    }
}

/// A `gc` value kept where a collection finds (and rewrites) it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Held {
    /// It is a `gc` local's current value: read the local again.
    Local(LocalId),
    /// Parked in temporary slot `k`.
    Temp(u32),
    /// Not a reference (an integer, say): the value itself.
    Plain(ir::Value),
}

impl<'a> FnLower<'a, '_, '_> {
    /// Ends the entry block: the prologue block runs next, then the body.
    pub(super) fn gc_enter_body(&mut self) {
        if let Some(frame) = &self.gc {
            let (prologue, body) = (frame.prologue, frame.body);
            self.jump(prologue, &[]);
            self.switch(body);
        }
    }

    /// Fills the prologue block: zeroes every slot but the parameters',
    /// sizes the frame and pushes it.
    pub(super) fn gc_emit_prologue(&mut self) -> Result<(), CodegenError> {
        let Some(frame) = self.gc.take() else {
            return Ok(());
        };
        let n = frame.high.max(1);
        self.b.func.sized_stack_slots[frame.slot].size = n * 8;
        self.switch(frame.prologue);
        let zero = self.zero(types::I64);
        for k in (0..n).filter(|k| !frame.params.contains(k)) {
            self.b
                .ins()
                .stack_store(types::I64, zero, frame.slot, offset(k));
        }
        let addr = self.b.ins().stack_addr(types::I64, frame.slot, 0);
        let count = self.b.ins().iconst(types::I64, i64::from(n));
        let status = self.call_runtime("npk_gc_push_frame", &[addr, count])?;
        let fault = self.fault_block(FAULT_GC_FRAME);
        let ok = frame.body;
        let status = *status
            .first()
            .ok_or_else(|| unsupported("npk_gc_push_frame without a result", self.func.span))?;
        self.b.ins().brif(status, fault, &[], ok, &[]);
        self.dead = true;
        Ok(())
    }

    /// Before a return: pops the frame (a refusal is a compiler bug: trap).
    pub(super) fn gc_pop(&mut self) -> Result<(), CodegenError> {
        let Some(slot) = self.gc.as_ref().map(Frame::slot) else {
            return Ok(());
        };
        let addr = self.b.ins().stack_addr(types::I64, slot, 0);
        let status = self.call_runtime("npk_gc_pop_frame", &[addr])?;
        if let Some(s) = status.first() {
            self.b.ins().trapnz(*s, ir::TrapCode::unwrap_user(3));
        }
        Ok(())
    }

    /// Keeps `v`, the value of `e`, where collections see it, until
    /// [`Self::gc_reload`]. Non-references are kept as they are.
    pub(super) fn gc_hold(&mut self, e: &Expr, v: ir::Value) -> Held {
        if !matches!(e.ty, Ty::Gc(_)) {
            return Held::Plain(v);
        }
        if let ExprKind::Local(id) = e.kind {
            return Held::Local(id);
        }
        let Some(frame) = self.gc.as_mut() else {
            return Held::Plain(v);
        };
        let k = frame.top;
        frame.top += 1;
        frame.high = frame.high.max(frame.top);
        let slot = frame.slot;
        self.b.ins().stack_store(types::I64, v, slot, offset(k));
        Held::Temp(k)
    }

    /// The current value of a held reference (it may have moved).
    pub(super) fn gc_reload(&mut self, h: Held) -> Result<ir::Value, CodegenError> {
        Ok(match h {
            Held::Plain(v) => v,
            Held::Local(id) => match self.read_local(id) {
                Val::One(v) => v,
                _ => return Err(unsupported("a gc local without a value", self.func.span)),
            },
            Held::Temp(k) => {
                let slot = self.gc_slot()?;
                self.b
                    .ins()
                    .stack_load(types::I64, types::I64, slot, offset(k))
            }
        })
    }

    /// The temporary-slot mark to return to with [`Self::gc_release`].
    pub(super) fn gc_mark(&self) -> u32 {
        self.gc.as_ref().map_or(0, |f| f.top)
    }

    /// Frees the temporary slots held since `mark` (their stale contents
    /// are ignored or harmlessly kept alive until overwritten).
    pub(super) fn gc_release(&mut self, mark: u32) {
        if let Some(f) = self.gc.as_mut() {
            f.top = mark.max(f.locals);
        }
    }

    fn gc_slot(&self) -> Result<ir::StackSlot, CodegenError> {
        self.gc
            .as_ref()
            .map(Frame::slot)
            .ok_or_else(|| unsupported("a gc value outside a gc frame", self.func.span))
    }

    /// Reads gc local slot `k`.
    pub(super) fn gc_load_local(&mut self, k: u32) -> Result<ir::Value, CodegenError> {
        let slot = self.gc_slot()?;
        Ok(self
            .b
            .ins()
            .stack_load(types::I64, types::I64, slot, offset(k)))
    }

    /// Writes gc local slot `k`.
    pub(super) fn gc_store_local(&mut self, k: u32, v: ir::Value) -> Result<(), CodegenError> {
        let slot = self.gc_slot()?;
        self.b.ins().stack_store(types::I64, v, slot, offset(k));
        Ok(())
    }

    /// `obj`'s element count; `NULL` faults (`FAULT_GC_ACCESS`).
    pub(super) fn gc_len(&mut self, obj: ir::Value) -> ir::Value {
        let fault = self.fault_block(FAULT_GC_ACCESS);
        let ok = self.b.create_block();
        self.b.ins().brif(obj, ok, &[], fault, &[]);
        self.switch(ok);
        let header = self
            .b
            .ins()
            .load(types::I64, ir::MemFlagsData::trusted(), obj, 0);
        self.b.ins().ushr_imm_u(header, 32)
    }

    /// The address of element `idx` (an `int64`) of `obj` after the
    /// `NULL` and bounds checks (`FAULT_GC_ACCESS`).
    pub(super) fn gc_elem_addr(&mut self, obj: ir::Value, idx: ir::Value) -> ir::Value {
        use ir::condcodes::IntCC;
        let len = self.gc_len(obj);
        let fault = self.fault_block(FAULT_GC_ACCESS);
        let ok = self.b.create_block();
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, idx, len);
        self.b.ins().brif(inside, ok, &[], fault, &[]);
        self.switch(ok);
        let scaled = self.b.ins().ishl_imm_u(idx, 3);
        let elem = self.b.ins().iadd(obj, scaled);
        self.b.ins().iadd_imm_s(elem, 8)
    }

    /// `base[index]` of a gc array, read (`value: None`) or written; a
    /// compound assignment reads the old element first (`op`).
    pub(super) fn gc_access(
        &mut self,
        base: &'a Expr,
        index: &'a Expr,
        write: Option<(&'a Expr, Option<crate::ast::BinOp>)>,
    ) -> Result<Val, CodegenError> {
        let mark = self.gc_mark();
        let b = self.value(base)?;
        let held = self.gc_hold(base, b);
        let i = self.value(index)?;
        let i = self.coerce(i, &index.ty, types::I64);
        let refs = matches!(base.ty, Ty::Gc(GcKind::Refs));
        let out = match write {
            None => {
                let obj = self.gc_reload(held)?;
                let addr = self.gc_elem_addr(obj, i);
                Val::One(
                    self.b
                        .ins()
                        .load(types::I64, ir::MemFlagsData::trusted(), addr, 0),
                )
            }
            Some((value, op)) => {
                let v = self.value(value)?;
                let obj = self.gc_reload(held)?;
                if refs {
                    // Through the runtime: it is the write barrier.
                    let status = self.call_runtime("npk_gc_set_ref", &[obj, i, v])?;
                    let fault = self.fault_block(FAULT_GC_ACCESS);
                    let ok = self.b.create_block();
                    let s = *status
                        .first()
                        .ok_or_else(|| unsupported("npk_gc_set_ref without a result", base.span))?;
                    self.b.ins().brif(s, fault, &[], ok, &[]);
                    self.switch(ok);
                } else {
                    let addr = self.gc_elem_addr(obj, i);
                    let new = match op {
                        None => v,
                        Some(op) => {
                            let old =
                                self.b
                                    .ins()
                                    .load(types::I64, ir::MemFlagsData::trusted(), addr, 0);
                            self.arith(op, old, v, &Ty::Int(crate::ast::IntTy::I64), value.span)?
                        }
                    };
                    self.b
                        .ins()
                        .store(ir::MemFlagsData::trusted(), new, addr, 0);
                }
                Val::Unit
            }
        };
        self.gc_release(mark);
        Ok(out)
    }

    /// `v` (a gc reference of kind `from`) converted to kind `to`: checked
    /// with `npk_gc_kind` unless it cannot fail (`NULL` always passes).
    pub(super) fn gc_convert(
        &mut self,
        v: ir::Value,
        from: GcKind,
        to: GcKind,
    ) -> Result<ir::Value, CodegenError> {
        if to == GcKind::Any || from == to {
            return Ok(v);
        }
        let want = match to {
            GcKind::Ints => 1,
            _ => 2,
        };
        let kind = self.call_runtime("npk_gc_kind", &[v])?;
        let kind = *kind
            .first()
            .ok_or_else(|| unsupported("npk_gc_kind without a result", self.func.span))?;
        use ir::condcodes::IntCC;
        let right = self.b.ins().icmp_imm_s(IntCC::Equal, kind, want);
        let null = self.b.ins().icmp_imm_s(IntCC::Equal, v, 0);
        let fine = self.b.ins().bor(right, null);
        let fault = self.fault_block(FAULT_GC_KIND);
        let ok = self.b.create_block();
        self.b.ins().brif(fine, ok, &[], fault, &[]);
        self.switch(ok);
        Ok(v)
    }
}

fn offset(k: u32) -> i32 {
    i32::try_from(u64::from(k) * 8).unwrap_or(i32::MAX)
}
