//! Lowering of `Jit.call(f, "sig", args...)`: one call of the runtime's
//! lock-free check `npk_jit_fn_tag(f, tag)` (the page is sealed, live, ours
//! and proven for exactly this signature: a range test and one compare of the
//! page's registry word), then a direct indirect call with the SysV signature.
//! A refused call (NULL entry) takes a cold block that reads the refusal code
//! (`npk_jit_fn_refusal`) as the result's error status.
//!
//! The check runs for every call, never cached: between two calls the page may
//! be freed and its address reused by another page (a borrow or an integer
//! copy of the page escapes the ownership checker), and the check sees that in
//! the registry word.

use cranelift_codegen::ir::{self, AbiParam, InstBuilder, types};
use cranelift_module::Module;

use super::func::{FnLower, Val};
use super::{CodegenError, int_clif};
use crate::ast::IntTy;
use crate::hir::{Expr, Ty};

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
        let tag = self.b.ins().iconst(types::I32, i64::from(tag));
        let entry = self.call_runtime("npk_jit_fn_tag", &[p, tag])?[0];

        let call_b = self.b.create_block();
        let refused = self.b.create_block();
        let merge = self.b.create_block();
        self.b.set_cold_block(refused);
        self.b.append_block_param(merge, ret);
        self.b.append_block_param(merge, types::I64);
        self.branch(entry, call_b, refused);

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
            let is_zero = self
                .b
                .ins()
                .icmp_imm_u(ir::condcodes::IntCC::Equal, status, 0);
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
