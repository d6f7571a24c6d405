//! Lowering of `Jit.call(f, "sig", args...)`: the runtime's lock-free check
//! inlined (`wildx::quick_entry`, with the layout from `wildx::inline_check`:
//! `f` is the start of a page of the registry arena whose state word says
//! "sealed, proven for exactly this signature's tag"), then a direct indirect
//! call with the SysV signature. Anything else (an arena function, the
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
use super::{CodegenError, int_clif};
use crate::ast::IntTy;
use crate::hir::{Expr, Ty};
use wildx::inline_check;

impl<'a> FnLower<'a, '_, '_> {
    pub(super) fn jit_call(
        &mut self,
        page: &'a Expr,
        tag: u32,
        params: &[IntTy],
        args: &'a [Expr],
        ty: &Ty,
    ) -> Result<Val, CodegenError> {
        let p = self.value(page)?;
        let mut vals = Vec::with_capacity(args.len());
        for (a, t) in args.iter().zip(params) {
            let v = self.value(a)?;
            vals.push(self.coerce(v, &a.ty, int_clif(*t)));
        }
        let ret = match ty {
            Ty::Result(inner) => match **inner {
                Ty::Int(t) => int_clif(t),
                _ => types::I64,
            },
            _ => types::I64,
        };
        let call_b = self.b.create_block();
        let entry = self.b.append_block_param(call_b, types::I64);
        let word_b = self.b.create_block();
        let slow = self.b.create_block();
        let refused = self.b.create_block();
        let merge = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.set_cold_block(refused);
        self.b.append_block_param(merge, ret);
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
        let want = self
            .b
            .ins()
            .iconst(types::I64, inline_check::expected(tag) as i64);
        let proven = self.b.ins().icmp(IntCC::Equal, masked, want);
        self.b
            .ins()
            .brif(proven, call_b, &[ir::BlockArg::Value(p)], slow, &[]);

        // Slow path: the runtime decides (arena functions, checking options) and explains.
        self.switch(slow);
        let tag = self.b.ins().iconst(types::I32, i64::from(tag));
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
            .extend(params.iter().map(|t| AbiParam::new(int_clif(*t))));
        sig.returns.push(AbiParam::new(ret));
        let sig = self.b.import_signature(sig);
        let call = self.b.ins().call_indirect(sig, entry, &vals);
        let r = self.b.inst_results(call)[0];
        let ok = self.zero(types::I64);
        self.jump(merge, &[r, ok]);

        self.switch(refused);
        let code = self.call_runtime("npk_jit_fn_refusal", &[])?[0];
        let status = self.b.ins().uextend(types::I64, code);
        // A refusal code is never 0; make sure the status says "error" anyway.
        let status = {
            let one = self.b.ins().iconst(types::I64, 9);
            let is_zero = self.b.ins().icmp_imm_u(IntCC::Equal, status, 0);
            self.b.ins().select(is_zero, one, status)
        };
        let none = self.zero(ret);
        self.jump(merge, &[none, status]);

        self.switch(merge);
        let params = self.b.block_params(merge).to_vec();
        Ok(Val::Res {
            value: Some(params[0]),
            status: params[1],
        })
    }
}
