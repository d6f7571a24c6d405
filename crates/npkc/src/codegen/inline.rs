//! Inlining of small Nitpick functions into their callers, with Cranelift's
//! "inlining as a library" (`Context::inline`).
//!
//! Functions are built bottom-up over the call graph (`reach::bottom_up`).
//! After a function is lowered, its direct calls of already-built small
//! callees are replaced by copies of their CLIF bodies ([`Bodies::inline_into`]).
//! Then, if the function itself (with what was inlined into it) has at most
//! `limit` instructions and calls no Nitpick function that is not built yet —
//! itself, or a function on a recursion cycle with it — a copy of its CLIF is
//! kept so later callers can inline it ([`Bodies::offer`]). So recursion is
//! never unrolled and a call site grows by at most `limit` instructions.
//!
//! Inlining is exact: a Nitpick function's CLIF *is* its semantics (defers are
//! already emitted inline at every exit, `pass`/`fail` are its returns of
//! `(value, status)`, faults and `exit` are calls that do not return), so the
//! inlined body computes the same results and effects, in the same order.
//! Only direct calls of Nitpick functions are candidates; externs and the
//! runtime stay calls. Cranelift's verifier (on by default) checks every
//! function after inlining.
//!
//! Cranelift 0.135's inliner copies the callee's `symbol` global values (our
//! string literals) without translating their `UserExternalNameRef` into the
//! caller's name table, so an inlined string would name whatever the caller's
//! table holds at that index (a function, say). [`Bodies::inline_into`] fixes
//! those names up afterwards: each inlined body appends its global values, in
//! call order, to the caller's.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use cranelift_codegen::Context;
use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, ExternalName};
use cranelift_module::FuncId;

use super::{CodegenError, backend};

/// Default size limit, in CLIF instructions, of a function that may be
/// inlined. The `Jit.call_*` wrappers are about 15; a function with a loop or
/// several calls is larger.
pub const DEFAULT_INLINE_LIMIT: usize = 40;

/// The bodies available for inlining and the bookkeeping of the bottom-up build.
pub(super) struct Bodies {
    limit: usize,
    /// Copies of the CLIF of built functions small enough to inline.
    small: HashMap<FuncId, ir::Function>,
    /// Nitpick functions declared but not defined yet.
    pending: HashSet<FuncId>,
    /// Call sites inlined so far.
    pub(super) inlined: usize,
}

impl Bodies {
    /// `limit == 0` disables inlining; `pending` are all Nitpick functions
    /// that will be defined.
    pub(super) fn new(limit: usize, pending: HashSet<FuncId>) -> Bodies {
        Bodies {
            limit,
            small: HashMap::new(),
            pending,
            inlined: 0,
        }
    }

    /// Replaces the calls in `ctx.func` of functions kept by [`Bodies::offer`]
    /// with their bodies.
    pub(super) fn inline_into(&mut self, ctx: &mut Context) -> Result<(), CodegenError> {
        if self.small.is_empty() {
            return Ok(());
        }
        let first_gv = ctx.func.global_values.len();
        let mut inliner = Inliner {
            bodies: &self.small,
            order: Vec::new(),
        };
        ctx.inline(&mut inliner).map_err(backend)?;
        self.inlined += inliner.order.len();
        let mut bodies = Vec::with_capacity(inliner.order.len());
        for id in &inliner.order {
            bodies.push(
                self.small
                    .get(id)
                    .ok_or_else(|| backend("inlined body vanished"))?,
            );
        }
        fix_symbol_names(&mut ctx.func, first_gv, bodies.into_iter())
    }

    /// Records that `id` is about to be defined as `func` (after
    /// [`Bodies::inline_into`]) and keeps a copy when it may be inlined later.
    pub(super) fn offer(&mut self, id: FuncId, func: &ir::Function) {
        if self.limit > 0 && self.inlinable(func) {
            self.small.insert(id, func.clone());
        }
        self.pending.remove(&id);
    }

    /// At most `limit` instructions, and no call of a Nitpick function that is
    /// not built yet (itself, or one on a recursion cycle with it).
    fn inlinable(&self, func: &ir::Function) -> bool {
        let mut count = 0;
        for block in func.layout.blocks() {
            for inst in func.layout.block_insts(block) {
                count += 1;
                if count > self.limit {
                    return false;
                }
                let callee = match func.dfg.insts[inst] {
                    ir::InstructionData::Call { func_ref, .. } => user_func(func, func_ref),
                    _ => None,
                };
                if callee.is_some_and(|c| self.pending.contains(&c)) {
                    return false;
                }
            }
        }
        true
    }
}

/// The `cranelift_module` function a direct call's `FuncRef` names, if any.
fn user_func(func: &ir::Function, r: ir::FuncRef) -> Option<FuncId> {
    let data = func.dfg.ext_funcs.get(r)?;
    let ExternalName::User(name) = data.name else {
        return None;
    };
    let name = func.params.user_named_funcs().get(name)?;
    // cranelift_module names functions in namespace 0 (data in namespace 1).
    (name.namespace == 0).then(|| FuncId::from_u32(name.index))
}

/// Gives the `symbol` global values that inlining appended to `func` (from
/// index `first`, one run per inlined body, in inlining order) the names they
/// have in their callee, declared in `func`'s own name table.
fn fix_symbol_names<'f>(
    func: &mut ir::Function,
    first: usize,
    inlined: impl Iterator<Item = &'f ir::Function>,
) -> Result<(), CodegenError> {
    let mut gv_index = first;
    for callee in inlined {
        for data in callee.global_values.values() {
            let gv = ir::GlobalValue::from_u32(
                u32::try_from(gv_index).map_err(|_| backend("too many global values"))?,
            );
            gv_index += 1;
            let ir::GlobalValueData::Symbol {
                name: ExternalName::User(callee_ref),
                ..
            } = data
            else {
                continue;
            };
            let name = callee
                .params
                .user_named_funcs()
                .get(*callee_ref)
                .ok_or_else(|| backend("inlined symbol without a name"))?
                .clone();
            let caller_ref = func.declare_imported_user_function(name);
            match func.global_values.get_mut(gv) {
                Some(ir::GlobalValueData::Symbol { name, .. }) => {
                    *name = ExternalName::User(caller_ref);
                }
                _ => return Err(backend("inlined global values out of step")),
            }
        }
    }
    if gv_index == func.global_values.len() {
        Ok(())
    } else {
        Err(backend("inlined global values out of step"))
    }
}

struct Inliner<'b> {
    bodies: &'b HashMap<FuncId, ir::Function>,
    /// The callee of each inlined call, in inlining order.
    order: Vec<FuncId>,
}

impl Inline for Inliner<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        _call_inst: ir::Inst,
        call_opcode: ir::Opcode,
        callee: ir::FuncRef,
        _call_args: &[ir::Value],
    ) -> InlineCommand<'_> {
        if call_opcode != ir::Opcode::Call {
            return InlineCommand::KeepCall;
        }
        let Some((id, body)) =
            user_func(caller, callee).and_then(|id| self.bodies.get_key_value(&id))
        else {
            return InlineCommand::KeepCall;
        };
        // Cranelift requires the body's signature to be the call's exactly
        // (it asserts); a mismatch would be a bug upstream of here, so keep
        // the call rather than risk it.
        let sig = caller.dfg.ext_funcs[callee].signature;
        if caller.dfg.signatures[sig] != body.signature {
            return InlineCommand::KeepCall;
        }
        self.order.push(*id);
        InlineCommand::Inline {
            callee: Cow::Borrowed(body),
            visit_callee: false,
        }
    }
}
