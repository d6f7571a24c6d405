//! Lowering of `Jit.call(f, "sig", args...)`: the runtime's lock-free check
//! inlined (`wildx::quick_entry`, with the layout from `wildx::inline_check`:
//! `f` is the start of a page of the registry arena whose state word says
//! "sealed, proven for exactly this signature's page identity"), then a
//! direct indirect call with the SysV signature (a buffer is a pointer).
//!
//! The identity of a scalar signature is its tag, a constant. That of a
//! signature with buffers is interned by the runtime, so it is not known at
//! compile time: each module has one writable `u32` per buffer signature,
//! zero until the first call asks `npk_jit_sig_identity(canonical text)` (a
//! cold block) and stores the answer; later calls load it. Identities never
//! change within a process and are never 0, so the cache needs no lock: two
//! threads racing store the same value. A signature the runtime cannot intern
//! gets `NPK_JIT_NO_IDENTITY`, which no page has: every call is then refused.
//!
//! Anything the inlined check does not settle (an arena function, the
//! checking options `NPK_WILDX_VERIFY`/`AUDIT`, a refusal) takes a cold block
//! that asks the runtime (`npk_jit_fn_tag`), which decides and explains; a
//! NULL entry becomes an error result whose status is the refusal code
//! (`npk_jit_fn_refusal`).
//!
//! The check runs for every call, never cached: between two calls the page may
//! be freed and its address reused by another page (a borrow or an integer
//! copy of the page escapes the ownership checker), and only the state word
//! tells. The geometry words (base, length, table) are written once, before
//! any page exists, so their loads may be merged or hoisted: a stale zero
//! length only sends the call to the slow path.

use cranelift_codegen::ir::{self, AbiParam, InstBuilder, condcodes::IntCC, types};
use cranelift_module::Module;

use super::func::{FnLower, Val};
use super::{CodegenError, clif_ty, int_clif};
use crate::hir::{Expr, JitIdentity, Ty};
use wildx::inline_check;

impl<'a> FnLower<'a, '_, '_> {
    pub(super) fn jit_call(
        &mut self,
        page: &'a Expr,
        identity: &JitIdentity,
        params: &[Ty],
        args: &'a [Expr],
        ty: &Ty,
    ) -> Result<Val, CodegenError> {
        let p = self.value(page)?;
        let mut vals = Vec::with_capacity(args.len());
        let mut clif_params = Vec::with_capacity(params.len());
        for (a, t) in args.iter().zip(params) {
            let v = self.value(a)?;
            let to = clif_ty(t).unwrap_or(types::I64);
            vals.push(self.coerce(v, &a.ty, to));
            clif_params.push(to);
        }
        let tag = self.jit_identity(identity)?;
        // `NIL` (no result): the call returns nothing and the result has no value.
        let ret = match ty {
            Ty::Result(inner) => match **inner {
                Ty::Int(t) => Some(int_clif(t)),
                Ty::Nil => None,
                _ => Some(types::I64),
            },
            _ => Some(types::I64),
        };
        let call_b = self.b.create_block();
        let entry = self.b.append_block_param(call_b, types::I64);
        let word_b = self.b.create_block();
        let slow = self.b.create_block();
        let refused = self.b.create_block();
        let merge = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.set_cold_block(refused);
        if let Some(ret) = ret {
            self.b.append_block_param(merge, ret);
        }
        self.b.append_block_param(merge, types::I64);

        // Inline fast path: exactly `wildx::quick_entry`.
        let fast_id = self.cx.jit_fast_data()?;
        let gv = self.cx.module.declare_data_in_func(fast_id, self.b.func);
        let fast = self.b.ins().symbol_value(types::I64, gv);
        let geometry = ir::MemFlagsData::trusted().with_readonly().with_can_move();
        let base = self
            .b
            .ins()
            .load(types::I64, geometry, fast, inline_check::BASE_OFFSET);
        let len = self
            .b
            .ins()
            .load(types::I64, geometry, fast, inline_check::LEN_OFFSET);
        let off = self.b.ins().isub(p, base);
        let in_range = self.b.ins().icmp(IntCC::UnsignedLessThan, off, len);
        let low = self
            .b
            .ins()
            .band_imm_u(off, (1i64 << inline_check::PAGE_SHIFT) - 1);
        let aligned = self.b.ins().icmp_imm_u(IntCC::Equal, low, 0);
        let candidate = self.b.ins().band(in_range, aligned);
        self.b.ins().brif(candidate, word_b, &[], slow, &[]);

        self.switch(word_b);
        let table = self
            .b
            .ins()
            .load(types::I64, geometry, fast, inline_check::TABLE_OFFSET);
        let index = self
            .b
            .ins()
            .ushr_imm_u(off, i64::from(inline_check::PAGE_SHIFT));
        let slot_size = i64::try_from(inline_check::SLOT_SIZE).unwrap_or(i64::MAX);
        let scaled = self.b.ins().imul_imm_u(index, slot_size);
        let slot = self.b.ins().iadd(table, scaled);
        let word = self
            .b
            .ins()
            .load(types::I64, ir::MemFlagsData::trusted(), slot, 0);
        let mask = self.b.ins().iconst(types::I64, inline_check::MASK as i64);
        let masked = self.b.ins().band(word, mask);
        let state = self
            .b
            .ins()
            .iconst(types::I64, inline_check::expected(0) as i64);
        let wide = self.b.ins().uextend(types::I64, tag);
        let want = self.b.ins().bor(state, wide);
        let proven = self.b.ins().icmp(IntCC::Equal, masked, want);
        self.b
            .ins()
            .brif(proven, call_b, &[ir::BlockArg::Value(p)], slow, &[]);

        // Slow path: the runtime decides (arena functions, checking options) and explains.
        self.switch(slow);
        let checked = self.call_runtime("npk_jit_fn_tag", &[p, tag])?[0];
        self.b.ins().brif(
            checked,
            call_b,
            &[ir::BlockArg::Value(checked)],
            refused,
            &[],
        );

        self.switch(call_b);
        let mut sig = self.cx.module.make_signature();
        sig.params
            .extend(clif_params.iter().map(|t| AbiParam::new(*t)));
        sig.returns.extend(ret.map(AbiParam::new));
        let sig = self.b.import_signature(sig);
        let call = self.b.ins().call_indirect(sig, entry, &vals);
        let mut results = self.b.inst_results(call).to_vec();
        results.push(self.zero(types::I64));
        self.jump(merge, &results);

        self.switch(refused);
        let code = self.call_runtime("npk_jit_fn_refusal", &[])?[0];
        let status = self.b.ins().uextend(types::I64, code);
        // A refusal code is never 0; make sure the status says "error" anyway.
        let status = {
            let one = self.b.ins().iconst(types::I64, 9);
            let is_zero = self.b.ins().icmp_imm_u(IntCC::Equal, status, 0);
            self.b.ins().select(is_zero, one, status)
        };
        let mut results: Vec<ir::Value> = ret.map(|t| self.zero(t)).into_iter().collect();
        results.push(status);
        self.jump(merge, &results);

        self.switch(merge);
        let params = self.b.block_params(merge).to_vec();
        Ok(match params[..] {
            [value, status] => Val::Res {
                value: Some(value),
                status,
            },
            [status] => Val::Res {
                value: None,
                status,
            },
            _ => return Err(CodegenError::Backend("`Jit.call` result block".into())),
        })
    }

    /// The page identity `Jit.call` checks, as an `i32` value: a constant for a scalar
    /// signature; for a buffer signature the module's cached copy, filled from
    /// `npk_jit_sig_identity` the first time (see the module docs).
    fn jit_identity(&mut self, identity: &JitIdentity) -> Result<ir::Value, CodegenError> {
        let canonical = match identity {
            JitIdentity::Tag(tag) => {
                return Ok(self.b.ins().iconst(types::I32, i64::from(*tag)));
            }
            JitIdentity::Interned(canonical) => canonical,
        };
        let cache_id = self.cx.jit_identity_data(canonical)?;
        let gv = self.cx.module.declare_data_in_func(cache_id, self.b.func);
        let cache = self.b.ins().symbol_value(types::I64, gv);
        let flags = ir::MemFlagsData::trusted();
        let cached = self.b.ins().load(types::I32, flags, cache, 0);
        let ask = self.b.create_block();
        let known = self.b.create_block();
        let id = self.b.append_block_param(known, types::I32);
        self.b.set_cold_block(ask);
        self.b
            .ins()
            .brif(cached, known, &[ir::BlockArg::Value(cached)], ask, &[]);

        self.switch(ask);
        let text = self.string_ptr(canonical)?;
        let asked = self.call_runtime("npk_jit_sig_identity", &[text])?[0];
        self.b.ins().store(flags, asked, cache, 0);
        self.jump(known, &[asked]);

        self.switch(known);
        Ok(id)
    }
}
