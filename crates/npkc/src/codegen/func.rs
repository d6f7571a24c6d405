//! Lowering of one Nitpick function body: locals, statements, loops, scopes
//! and defers. Expressions are in `expr`.
//!
//! Locals that are never address-taken are cranelift-frontend `Variable`s
//! (SSA); address-taken ones live in a stack slot, `gc` ones in their slot
//! of the shadow-stack frame (`gc`). A `Result<T>` local is two
//! variables (value, status). Defers are recorded per open block (`scopes`)
//! and their bodies are emitted inline at every exit that leaves the block:
//! the block's end, `break`/`continue` (the blocks they leave), `pass`/`fail`
//! (every block, after the value is computed) and `exit` (every block, then
//! `npk_exit`). A defer body is emitted with only the defers registered
//! before it still pending, so control flow inside a defer stays sound.

use std::collections::HashMap;

use cranelift_codegen::ir::{self, BlockArg, InstBuilder, StackSlotData, StackSlotKind, types};
use cranelift_frontend::{FunctionBuilder, Variable};
use cranelift_module::{FuncId, Module};

use super::strings::{self, Regions};
use super::{CodegenError, Cx, clif_ty, resize, unsupported};
use crate::hir::{self, LocalId, StmtKind, Ty};

/// Where a local lives.
#[derive(Debug, Clone, Copy)]
pub(super) enum Slot {
    /// `NIL`-typed: holds nothing.
    Unit,
    Var(Variable),
    /// A `Result<T>` binding: value (absent for `NIL`) and status.
    Res {
        value: Option<Variable>,
        status: Variable,
    },
    /// Address-taken: a stack slot holding a value of this type.
    Stack(ir::StackSlot, ir::Type),
    /// A `gc` reference: slot `k` of the function's shadow-stack frame.
    Gc(u32),
}

/// A lowered expression.
#[derive(Debug, Clone, Copy)]
pub(super) enum Val {
    Unit,
    One(ir::Value),
    /// A `Result<T>`: the value (absent for `NIL`) and the status word.
    Res {
        value: Option<ir::Value>,
        status: ir::Value,
    },
}

#[derive(Debug, Clone, Copy)]
struct LoopTarget {
    brk: ir::Block,
    cont: ir::Block,
    /// `scopes.len()` when the loop was entered: its body is scope `depth`.
    depth: usize,
}

pub(super) struct FnLower<'a, 'c, 'b> {
    pub(super) cx: &'c mut Cx<'a>,
    pub(super) b: FunctionBuilder<'b>,
    pub(super) func: &'a hir::Func,
    slots: Vec<Slot>,
    scopes: Vec<Vec<&'a hir::Block>>,
    /// The string region of each open block (parallel to `scopes`), released
    /// after its defers at every exit of the block.
    regions: Vec<Option<ir::Value>>,
    /// Template-string state (`strings`).
    pub(super) strings: Regions,
    loops: Vec<LoopTarget>,
    /// The current block already has its terminator.
    pub(super) dead: bool,
    refs: HashMap<FuncId, ir::FuncRef>,
    /// The shared cold blocks calling `npk_fault(code)`, by code.
    faults: Vec<(i64, ir::Block)>,
    /// The shadow-stack frame of a function that holds `gc` references.
    pub(super) gc: Option<super::gc::Frame>,
    is_main: bool,
}

/// Lowers `f` into `b` (which must be fresh) and finalizes it.
pub(super) fn lower_function<'a>(
    cx: &mut Cx<'a>,
    b: FunctionBuilder<'_>,
    f: &'a hir::Func,
    is_main: bool,
) -> Result<(), CodegenError> {
    let mut l = FnLower {
        cx,
        b,
        func: f,
        slots: Vec::with_capacity(f.locals.len()),
        scopes: Vec::new(),
        regions: Vec::new(),
        strings: Regions::default(),
        loops: Vec::new(),
        dead: false,
        refs: HashMap::new(),
        faults: Vec::new(),
        gc: None,
        is_main,
    };
    let entry = l.b.create_block();
    l.b.append_block_params_for_function_params(entry);
    l.b.switch_to_block(entry);
    if super::gc::uses_gc(f) {
        l.gc = Some(super::gc::Frame::new(&mut l.b));
    }
    for local in &f.locals {
        let slot = l.declare_slot(local)?;
        l.slots.push(slot);
    }
    let params = l.b.block_params(entry).to_vec();
    for (id, v) in f.params.iter().zip(params) {
        l.write_local(*id, Val::One(v))?;
    }
    l.gc_enter_body();
    if strings::block_makes_strings(&f.body) {
        let f0 = l.open_region()?;
        let outer = l.b.ins().iadd_imm_s(f0, -1);
        l.strings.func = Some((f0, outer));
    }
    l.block(&f.body)?;
    if !l.dead {
        l.fall_off_end()?;
    }
    l.gc_emit_prologue()?;
    for (code, block) in std::mem::take(&mut l.faults) {
        l.emit_fault(block, code);
    }
    l.b.seal_all_blocks();
    let config = l.cx.module.target_config();
    l.b.finalize(config);
    Ok(())
}

impl<'a> FnLower<'a, '_, '_> {
    fn declare_slot(&mut self, local: &hir::Local) -> Result<Slot, CodegenError> {
        if let Ty::Result(inner) = &local.ty {
            if local.address_taken {
                return Err(unsupported("taking the address of a result", local.span));
            }
            let value = clif_ty(inner).map(|t| self.b.declare_var(t));
            let status = self.b.declare_var(types::I64);
            return Ok(Slot::Res { value, status });
        }
        if matches!(local.ty, Ty::Gc(_)) {
            let frame = self
                .gc
                .as_mut()
                .ok_or_else(|| unsupported("a gc local outside a gc frame", local.span))?;
            return Ok(Slot::Gc(
                frame.local_slot(local.kind == hir::LocalKind::Param),
            ));
        }
        let Some(ty) = clif_ty(&local.ty) else {
            return Ok(Slot::Unit);
        };
        if local.address_taken {
            let size = ty.bytes();
            let data = StackSlotData::new(
                StackSlotKind::ExplicitSlot,
                size,
                size.trailing_zeros() as u8,
            );
            Ok(Slot::Stack(self.b.create_sized_stack_slot(data), ty))
        } else {
            Ok(Slot::Var(self.b.declare_var(ty)))
        }
    }

    pub(super) fn local_ty(&self, id: LocalId) -> &'a Ty {
        &self.func.local(id).ty
    }

    pub(super) fn read_local(&mut self, id: LocalId) -> Val {
        if let Slot::Gc(k) = self.slots[id.0 as usize] {
            return self.gc_load_local(k).map_or(Val::Unit, Val::One);
        }
        match self.slots[id.0 as usize] {
            Slot::Unit => Val::Unit,
            Slot::Var(v) => Val::One(self.b.use_var(v)),
            Slot::Res { value, status } => Val::Res {
                value: value.map(|v| self.b.use_var(v)),
                status: self.b.use_var(status),
            },
            Slot::Stack(ss, ty) => Val::One(self.b.ins().stack_load(types::I64, ty, ss, 0)),
            Slot::Gc(_) => Val::Unit,
        }
    }

    pub(super) fn write_local(&mut self, id: LocalId, val: Val) -> Result<(), CodegenError> {
        match (self.slots[id.0 as usize], val) {
            (Slot::Unit, _) => {}
            (Slot::Gc(k), Val::One(v)) => self.gc_store_local(k, v)?,
            (Slot::Var(var), Val::One(v)) => self.b.def_var(var, v),
            (Slot::Stack(ss, _), Val::One(v)) => {
                self.b.ins().stack_store(types::I64, v, ss, 0);
            }
            (
                Slot::Res { value, status },
                Val::Res {
                    value: v,
                    status: s,
                },
            ) => {
                if let (Some(var), Some(v)) = (value, v) {
                    self.b.def_var(var, v);
                }
                self.b.def_var(status, s);
            }
            _ => {
                let local = self.func.local(id);
                return Err(unsupported(
                    format!("a value of the wrong shape stored into `{}`", local.name),
                    local.span,
                ));
            }
        }
        Ok(())
    }

    /// The address of an address-taken local.
    pub(super) fn local_addr(
        &mut self,
        id: LocalId,
        span: crate::source::Span,
    ) -> Result<ir::Value, CodegenError> {
        match self.slots[id.0 as usize] {
            Slot::Stack(ss, _) => Ok(self.b.ins().stack_addr(types::I64, ss, 0)),
            _ => Err(unsupported("`@` of a local not marked address-taken", span)),
        }
    }

    /// A `FuncRef` for `id` in the current function (cached).
    pub(super) fn func_ref(&mut self, id: FuncId) -> ir::FuncRef {
        if let Some(r) = self.refs.get(&id) {
            return *r;
        }
        // Like `Module::declare_func_in_func`, but every callee is
        // `colocated`: a direct `call rel32` with an `R_X86_64_PLT32`
        // relocation, which the static link binds straight to the runtime
        // (and to a PLT entry for shared-library externs) instead of an
        // indirect call through the GOT.
        let decl = self.cx.module.declarations().get_function_decl(id);
        let signature = self.b.func.import_signature(decl.signature.clone());
        let name = self
            .b
            .func
            .declare_imported_user_function(ir::UserExternalName {
                namespace: 0,
                index: id.as_u32(),
            });
        let r = self.b.func.import_function(ir::ExtFuncData {
            name: ir::ExternalName::user(name),
            signature,
            colocated: true,
            patchable: false,
        });
        self.refs.insert(id, r);
        r
    }

    /// Calls runtime function `name` with `args`; returns its results.
    pub(super) fn call_runtime(
        &mut self,
        name: &'static str,
        args: &[ir::Value],
    ) -> Result<Vec<ir::Value>, CodegenError> {
        let id = self.cx.runtime_func(name)?;
        let r = self.func_ref(id);
        let call = self.b.ins().call(r, args);
        Ok(self.b.inst_results(call).to_vec())
    }

    pub(super) fn switch(&mut self, block: ir::Block) {
        self.b.switch_to_block(block);
        self.dead = false;
    }

    pub(super) fn jump(&mut self, block: ir::Block, args: &[ir::Value]) {
        let args: Vec<BlockArg> = args.iter().map(|v| BlockArg::Value(*v)).collect();
        self.b.ins().jump(block, &args);
        self.dead = true;
    }

    pub(super) fn branch(&mut self, cond: ir::Value, then_b: ir::Block, else_b: ir::Block) {
        self.b.ins().brif(cond, then_b, &[], else_b, &[]);
        self.dead = true;
    }

    /// The cold block that reports fault `code` (`codegen::FAULT_*`) to
    /// `failsafe`; its body is emitted when the function is finished.
    pub(super) fn fault_block(&mut self, code: i64) -> ir::Block {
        if let Some((_, b)) = self.faults.iter().find(|(c, _)| *c == code) {
            return *b;
        }
        let block = self.b.create_block();
        self.b.set_cold_block(block);
        self.faults.push((code, block));
        block
    }

    fn emit_fault(&mut self, block: ir::Block, code: i64) {
        self.switch(block);
        let code = self.b.ins().iconst(types::I32, code);
        let fault = self.cx.fault;
        let r = self.func_ref(fault);
        self.b.ins().call(r, &[code]);
        self.b.ins().trap(ir::TrapCode::unwrap_user(1));
        self.dead = true;
    }

    pub(super) fn zero(&mut self, ty: ir::Type) -> ir::Value {
        self.b.ins().iconst(ty, 0)
    }

    pub(super) fn block(&mut self, blk: &'a hir::Block) -> Result<(), CodegenError> {
        let region = match self.strings.func {
            Some((f0, _)) if self.scopes.is_empty() => Some(f0),
            Some(_) if strings::declares_strings(self.func, blk) => Some(self.open_region()?),
            _ => None,
        };
        self.scopes.push(Vec::new());
        self.regions.push(region);
        for st in &blk.stmts {
            if self.dead {
                break;
            }
            self.stmt(st)?;
        }
        if !self.dead {
            let level = self.scopes.len() - 1;
            self.run_defers_down_to(level)?;
        }
        self.scopes.pop();
        self.regions.pop();
        Ok(())
    }

    /// Emits the pending defers of scopes `level..`, innermost first, each
    /// scope's string region released after its defers.
    fn run_defers_down_to(&mut self, level: usize) -> Result<(), CodegenError> {
        let mut s = self.scopes.len();
        while s > level {
            s -= 1;
            let mut k = self.scopes[s].len();
            while k > 0 {
                k -= 1;
                if self.dead {
                    return Ok(());
                }
                let body = self.scopes[s][k];
                let saved_scopes = self.scopes.clone();
                let saved_regions = self.regions.clone();
                let saved_loops = self.loops.clone();
                self.scopes.truncate(s + 1);
                self.scopes[s].truncate(k);
                self.regions.truncate(s + 1);
                self.loops.retain(|l| l.depth <= s);
                let result = self.block(body);
                self.scopes = saved_scopes;
                self.regions = saved_regions;
                self.loops = saved_loops;
                result?;
            }
            if let Some(region) = self.regions[s]
                && !self.dead
            {
                self.release_region(region)?;
            }
        }
        Ok(())
    }

    fn fall_off_end(&mut self) -> Result<(), CodegenError> {
        self.gc_pop()?;
        let ok = self.zero(types::I64);
        match &self.func.ret {
            Ty::Nil => {
                self.b.ins().return_(&[ok]);
            }
            ret if self.is_main => {
                let ty = clif_ty(ret).unwrap_or(types::I32);
                let zero = self.zero(ty);
                self.b.ins().return_(&[zero, ok]);
            }
            _ => {
                // The types pass rejects a reachable end of a non-NIL function.
                self.b.ins().trap(ir::TrapCode::unwrap_user(2));
            }
        }
        self.dead = true;
        Ok(())
    }

    fn stmt(&mut self, st: &'a hir::Stmt) -> Result<(), CodegenError> {
        match &st.kind {
            StmtKind::Let { local, init } => {
                let region = self.regions.last().copied().flatten();
                match region {
                    Some(region) if strings::holds_string(self.local_ty(*local)) => {
                        self.strings.of_local.insert(*local, region);
                        let v = self.in_region(region, |l| l.expr(init))?;
                        self.keep_string(v, init, region)?;
                        self.write_local(*local, v)?;
                    }
                    _ => self.statement_region(&[init], |l| {
                        let v = l.expr(init)?;
                        l.write_local(*local, v)
                    })?,
                }
            }
            StmtKind::Assign { place, op, value } => {
                let binding = match (&place.kind, self.strings.func) {
                    (hir::PlaceKind::Local(id), Some((f0, _)))
                        if op.is_none() && strings::holds_string(&place.ty) =>
                    {
                        Some((*id, *self.strings.of_local.get(id).unwrap_or(&f0)))
                    }
                    _ => None,
                };
                match binding {
                    Some((id, region)) => {
                        let v = self.in_region(region, |l| l.expr(value))?;
                        self.keep_string(v, value, region)?;
                        self.write_local(id, v)?;
                    }
                    None => {
                        let mut exprs = vec![value];
                        place.for_each_operand(&mut |e| exprs.push(e));
                        self.statement_region(&exprs, |l| l.assign(place, *op, value))?;
                    }
                }
            }
            StmtKind::Expr(e) => {
                self.statement_region(&[e], |l| l.expr(e))?;
            }
            StmtKind::If {
                cond,
                then_block,
                else_block,
            } => {
                let c = self.statement_region(&[cond], |l| l.value(cond))?;
                let then_b = self.b.create_block();
                let merge = self.b.create_block();
                let else_b = if else_block.is_some() {
                    self.b.create_block()
                } else {
                    merge
                };
                self.branch(c, then_b, else_b);
                self.switch(then_b);
                self.block(then_block)?;
                if !self.dead {
                    self.jump(merge, &[]);
                }
                if let Some(eb) = else_block {
                    self.switch(else_b);
                    self.block(eb)?;
                    if !self.dead {
                        self.jump(merge, &[]);
                    }
                }
                self.switch(merge);
            }
            StmtKind::While { cond, body, step } => {
                // Rotated: the condition is tested before the first iteration
                // and again at the bottom (`latch`, also the `continue`
                // target, after the `for` step), so each iteration takes one
                // conditional branch and no extra jump.
                let body_b = self.b.create_block();
                let latch = self.b.create_block();
                let exit = self.b.create_block();
                let c = self.statement_region(&[cond], |l| l.value(cond))?;
                self.branch(c, body_b, exit);
                self.switch(body_b);
                self.loop_body(body, exit, latch)?;
                self.switch(latch);
                if let Some(step) = step {
                    self.block(step)?;
                }
                if !self.dead {
                    let c = self.statement_region(&[cond], |l| l.value(cond))?;
                    self.branch(c, body_b, exit);
                }
                self.switch(exit);
            }
            StmtKind::Loop {
                counter,
                start,
                limit,
                step,
                body,
            } => self.counted_loop(*counter, start, limit, step, body)?,
            StmtKind::Break | StmtKind::Continue => {
                let Some(target) = self.loops.last().copied() else {
                    return Err(unsupported("`break`/`continue` outside a loop", st.span));
                };
                self.run_defers_down_to(target.depth)?;
                if !self.dead {
                    let dest = if matches!(st.kind, StmtKind::Break) {
                        target.brk
                    } else {
                        target.cont
                    };
                    self.jump(dest, &[]);
                }
            }
            StmtKind::Block(b) => self.block(b)?,
            StmtKind::Defer(b) => {
                if let Some(scope) = self.scopes.last_mut() {
                    scope.push(b);
                }
            }
            StmtKind::Pass(e) => {
                let v = match (e, self.strings.func) {
                    (Some(e), Some((f0, outer))) => {
                        let v = self.in_region(f0, |l| l.expr(e))?;
                        if strings::holds_string(&self.func.ret) {
                            // Into the caller's statement: past every region of ours.
                            self.retag(v, outer)?;
                        }
                        v
                    }
                    (Some(e), None) => self.expr(e)?,
                    (None, _) => Val::Unit,
                };
                // The defers may collect: a returned reference stays rooted.
                let mark = self.gc_mark();
                let held = match (e, v) {
                    (Some(e), Val::One(x)) => Some(self.gc_hold(e, x)),
                    _ => None,
                };
                self.run_defers_down_to(0)?;
                if !self.dead {
                    let v = match held {
                        Some(h) => Val::One(self.gc_reload(h)?),
                        None => v,
                    };
                    self.gc_release(mark);
                    self.gc_pop()?;
                    let ok = self.zero(types::I64);
                    match (v, clif_ty(&self.func.ret)) {
                        (Val::One(v), Some(_)) => {
                            self.b.ins().return_(&[v, ok]);
                        }
                        (_, None) => {
                            self.b.ins().return_(&[ok]);
                        }
                        _ => return Err(unsupported("this `pass` value", st.span)),
                    }
                    self.dead = true;
                }
            }
            StmtKind::Fail(e) => {
                let code = self.function_region_value(e)?;
                let code = self.as_i32(code, &e.ty);
                self.run_defers_down_to(0)?;
                if !self.dead {
                    // Errors are the exception: keep the failing path out of
                    // the hot code's way (Cranelift places cold blocks last).
                    // (Never the entry block: Cranelift refuses a cold entry.)
                    if let Some(block) = self.b.current_block()
                        && self.b.func.layout.entry_block() != Some(block)
                    {
                        self.b.set_cold_block(block);
                    }
                    self.gc_pop()?;
                    let wide = self.b.ins().uextend(types::I64, code);
                    let status = self.b.ins().bor_imm_u(wide, 1i64 << 32);
                    match clif_ty(&self.func.ret) {
                        Some(t) => {
                            let z = self.zero(t);
                            self.b.ins().return_(&[z, status]);
                        }
                        None => {
                            self.b.ins().return_(&[status]);
                        }
                    }
                    self.dead = true;
                }
            }
            StmtKind::Exit(e) => {
                let code = self.function_region_value(e)?;
                let code = self.as_i32(code, &e.ty);
                self.run_defers_down_to(0)?;
                if !self.dead {
                    self.call_runtime("npk_exit", &[code])?;
                    self.b.ins().trap(ir::TrapCode::unwrap_user(1));
                    self.dead = true;
                }
            }
        }
        Ok(())
    }

    /// `e` evaluated with its strings in the function's region (released on
    /// the way out by the `fail`/`exit` that uses it).
    fn function_region_value(&mut self, e: &'a hir::Expr) -> Result<ir::Value, CodegenError> {
        match self.strings.func {
            Some((f0, _)) => self.in_region(f0, |l| l.value(e)),
            None => self.value(e),
        }
    }

    /// After a string binding got `v` (from `init`), keeps the string in
    /// `region`: a call's result arrives in the callee's region, a local's
    /// string may belong to a shorter-lived block.
    fn keep_string(
        &mut self,
        v: Val,
        init: &hir::Expr,
        region: ir::Value,
    ) -> Result<(), CodegenError> {
        if matches!(
            init.kind,
            hir::ExprKind::Str(_) | hir::ExprKind::Template(_)
        ) {
            return Ok(());
        }
        self.retag(v, region)
    }

    /// An integer (or bool) value of type `ty` converted to `int32`.
    pub(super) fn as_i32(&mut self, v: ir::Value, ty: &Ty) -> ir::Value {
        let from = self.b.func.dfg.value_type(v);
        let signed = matches!(ty, Ty::Int(t) if t.signed());
        resize(&mut self.b, v, from, types::I32, signed)
    }

    fn loop_body(
        &mut self,
        body: &'a hir::Block,
        brk: ir::Block,
        cont: ir::Block,
    ) -> Result<(), CodegenError> {
        self.loops.push(LoopTarget {
            brk,
            cont,
            depth: self.scopes.len(),
        });
        let r = self.block(body);
        self.loops.pop();
        r?;
        if !self.dead {
            self.jump(cont, &[]);
        }
        Ok(())
    }

    /// `loop(start, limit, step)`: runs while `$ < limit` for a positive
    /// step, `$ > limit` for a negative one, never for a zero step.
    fn counted_loop(
        &mut self,
        counter: LocalId,
        start: &'a hir::Expr,
        limit: &'a hir::Expr,
        step: &'a hir::Expr,
        body: &'a hir::Block,
    ) -> Result<(), CodegenError> {
        use ir::condcodes::IntCC;
        let signed = matches!(self.local_ty(counter), Ty::Int(t) if t.signed());
        let (start_v, limit_v, step_v) = self.statement_region(&[start, limit, step], |l| {
            Ok((l.value(start)?, l.value(limit)?, l.value(step)?))
        })?;
        self.write_local(counter, Val::One(start_v))?;
        let (pos, neg) = if signed {
            (
                self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, step_v, 0),
                Some(self.b.ins().icmp_imm_s(IntCC::SignedLessThan, step_v, 0)),
            )
        } else {
            (self.b.ins().icmp_imm_u(IntCC::NotEqual, step_v, 0), None)
        };
        let (lt, gt) = if signed {
            (IntCC::SignedLessThan, IntCC::SignedGreaterThan)
        } else {
            (IntCC::UnsignedLessThan, IntCC::UnsignedGreaterThan)
        };
        // Rotated like `while`: test once before the loop, then at the
        // bottom after the step (the `continue` target).
        let body_b = self.b.create_block();
        let step_b = self.b.create_block();
        let exit = self.b.create_block();
        let test = |l: &mut Self, ctr: ir::Value| {
            let below = l.b.ins().icmp(lt, ctr, limit_v);
            let mut go = l.b.ins().band(pos, below);
            if let Some(neg) = neg {
                let above = l.b.ins().icmp(gt, ctr, limit_v);
                let down = l.b.ins().band(neg, above);
                go = l.b.ins().bor(go, down);
            }
            go
        };
        let go = test(self, start_v);
        self.branch(go, body_b, exit);
        self.switch(body_b);
        self.loop_body(body, exit, step_b)?;
        self.switch(step_b);
        let Val::One(ctr) = self.read_local(counter) else {
            return Err(unsupported("a loop counter without a value", start.span));
        };
        let next = self.b.ins().iadd(ctr, step_v);
        self.write_local(counter, Val::One(next))?;
        let go = test(self, next);
        self.branch(go, body_b, exit);
        self.switch(exit);
        Ok(())
    }

    fn assign(
        &mut self,
        place: &'a hir::Place,
        op: Option<crate::ast::BinOp>,
        value: &'a hir::Expr,
    ) -> Result<(), CodegenError> {
        match &place.kind {
            hir::PlaceKind::Local(id) => {
                let new = match op {
                    None => self.expr(value)?,
                    Some(op) => {
                        let Val::One(old) = self.read_local(*id) else {
                            return Err(unsupported(
                                "compound assignment to this local",
                                place.span,
                            ));
                        };
                        let rhs = self.value(value)?;
                        Val::One(self.arith(op, old, rhs, &place.ty, place.span)?)
                    }
                };
                self.write_local(*id, new)
            }
            hir::PlaceKind::Index { base, index } if matches!(base.ty, Ty::Gc(_)) => {
                self.gc_access(base, index, Some((value, op)))?;
                Ok(())
            }
            hir::PlaceKind::Index { .. } | hir::PlaceKind::Deref(_) => {
                let (addr, ty) = self.place_addr(place)?;
                let new = match op {
                    None => self.value(value)?,
                    Some(op) => {
                        let old = self.b.ins().load(ty, ir::MemFlagsData::new(), addr, 0);
                        let rhs = self.value(value)?;
                        self.arith(op, old, rhs, &place.ty, place.span)?
                    }
                };
                self.b.ins().store(ir::MemFlagsData::new(), new, addr, 0);
                Ok(())
            }
        }
    }
}
