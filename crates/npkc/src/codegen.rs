//! Code generation with Cranelift: [`hir::Program`] in, the bytes of an
//! x86-64 ELF relocatable object out ([`compile`]). `link` turns the object
//! into an executable. Only this module and `link` mention Cranelift types.
//!
//! ABI decisions (the full list, with rationale, is in `docs/codegen.md`):
//! - Values: `intN`/`uintN` are Cranelift `iN`; `bool` is `i8` holding 0/1;
//!   strings and pointers are `i64` (a string is a `const char*`).
//! - A Nitpick function returns `(value, status: i64)` (just `status` for
//!   `NIL`). `status == 0` is success; `fail c` returns the zero value and
//!   `status = (1 << 32) | (c as u32)`, so `fail 0` is still an error and
//!   `r.error` is the low 32 bits.
//! - Symbols: `Type.f` / `f` are the local symbols `npk_u_Type__f` / `npk_u_f`;
//!   externs keep their C names; the exported C `main(argc, argv)` calls
//!   Nitpick `main` and then `npk_exit(value)`.
//! - Arithmetic wraps; shift counts are taken modulo the operand width;
//!   `MIN / -1` wraps to `MIN` and `MIN % -1` is 0. Division or remainder by
//!   zero calls `failsafe(1)`; if it returns, the process exits with its value.
//! - Small non-recursive Nitpick functions are inlined into their callers
//!   (`inline`); functions are built callees first (`reach::bottom_up`).
//! - Template strings outside `print` are built at run time in
//!   compiler-released regions (`strings`).
//! - Submodules: `func` lowers one function body (statements, scopes, defers),
//!   `expr` lowers expressions, `strings` template-string values and their
//!   regions, `inline` decides and performs inlining.

mod expr;
mod func;
mod gc;
mod inline;
mod jit_call;
mod reach;
mod strings;
#[cfg(test)]
mod tests;
mod thread;

use std::collections::{HashMap, HashSet};
use std::fmt;

use cranelift_codegen::ir::{self, AbiParam, InstBuilder, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};

use crate::ast::IntTy;
use crate::hir::{self, Ty};
use crate::source::Span;

/// Run-time fault code passed to `failsafe` for a division or remainder by zero.
pub const FAULT_DIVISION_BY_ZERO: i64 = 1;
/// Fault code: a `gc` array indexed out of bounds, or a `NULL` gc reference
/// indexed or measured with `len`.
pub const FAULT_GC_ACCESS: i64 = 2;
/// Fault code: a checked conversion (`g => int64->`, `g => ?->->`) of a gc
/// reference to an array of the other kind.
pub const FAULT_GC_KIND: i64 = 3;
/// Fault code: the collector refused a shadow-stack frame (deeper than 2^20
/// frames, or this thread is not the heap's mutator).
pub const FAULT_GC_FRAME: i64 = 4;

/// Why code generation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodegenError {
    /// The host or target is not x86-64 Linux.
    UnsupportedTarget(String),
    /// The program has no `main` (a library module cannot be built).
    NoMain,
    /// A construct the checked HIR should never contain here.
    Unsupported { what: String, span: Span },
    /// Cranelift or the object writer rejected something.
    Backend(String),
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodegenError::UnsupportedTarget(t) => write!(
                f,
                "unsupported target `{t}`: npkc only generates code for x86-64 Linux"
            ),
            CodegenError::NoMain => write!(f, "the program has no `main` function"),
            CodegenError::Unsupported { what, span } => write!(
                f,
                "code generation does not support {what} (at bytes {}..{})",
                span.start, span.end
            ),
            CodegenError::Backend(msg) => write!(f, "code generation failed: {msg}"),
        }
    }
}

impl std::error::Error for CodegenError {}

fn backend(e: impl fmt::Display) -> CodegenError {
    CodegenError::Backend(e.to_string())
}

fn unsupported(what: impl Into<String>, span: Span) -> CodegenError {
    CodegenError::Unsupported {
        what: what.into(),
        span,
    }
}

pub use inline::DEFAULT_INLINE_LIMIT;

/// Code generation options; `Options::default()` is what `npkc build` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Largest Nitpick function, in CLIF instructions, inlined into its
    /// callers; 0 disables inlining.
    pub inline_limit: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            inline_limit: DEFAULT_INLINE_LIMIT,
        }
    }
}

/// What [`compile_with`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Call sites replaced by the callee's body.
    pub inlined_calls: usize,
}

/// Compiles `program` into the bytes of a relocatable x86-64 ELF object that
/// exports the C `main` symbol and imports the runtime (`npk_*`) and the
/// program's externs.
///
/// # Errors
/// When the host is not x86-64 Linux, the program has no `main`, or Cranelift
/// rejects the generated code.
pub fn compile(program: &hir::Program) -> Result<Vec<u8>, CodegenError> {
    compile_with(program, &Options::default()).map(|(object, _)| object)
}

/// [`compile`] with explicit options; also returns what was done.
///
/// # Errors
/// As [`compile`].
pub fn compile_with(
    program: &hir::Program,
    options: &Options,
) -> Result<(Vec<u8>, Stats), CodegenError> {
    check_host()?;
    let main = program.main.ok_or(CodegenError::NoMain)?;
    let module = new_module()?;
    let mut cx = Cx::new(module, program, options)?;
    // Callees first, so a small callee's body exists when its callers are built.
    for id in reach::bottom_up(program) {
        cx.define_nitpick_func(id.0 as usize)?;
    }
    cx.define_fault_handler()?;
    cx.define_c_main(main)?;
    let stats = Stats {
        inlined_calls: cx.bodies.inlined,
    };
    let product = cx.module.finish();
    Ok((product.emit().map_err(backend)?, stats))
}

/// Refuses every host but x86-64 Linux: the object is linked and run here.
fn check_host() -> Result<(), CodegenError> {
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        Ok(())
    } else {
        Err(CodegenError::UnsupportedTarget(format!(
            "{}-{}",
            std::env::consts::ARCH,
            std::env::consts::OS
        )))
    }
}

fn new_module() -> Result<ObjectModule, CodegenError> {
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").map_err(backend)?;
    // PIC: calls to the runtime become `call sym@PLT`, which the static link
    // resolves to direct calls, and the default PIE link accepts the object.
    flags.set("is_pic", "true").map_err(backend)?;
    let isa_builder = cranelift_native::builder().map_err(backend)?;
    let triple = isa_builder.triple().clone();
    if triple.architecture != target_lexicon::Architecture::X86_64
        || triple.operating_system != target_lexicon::OperatingSystem::Linux
    {
        return Err(CodegenError::UnsupportedTarget(triple.to_string()));
    }
    let isa = isa_builder
        .finish(settings::Flags::new(flags))
        .map_err(backend)?;
    let builder = ObjectBuilder::new(isa, "npk", cranelift_module::default_libcall_names())
        .map_err(backend)?;
    Ok(ObjectModule::new(builder))
}

/// The Cranelift type of a value of `ty`; `None` for `NIL` and `Result`.
fn clif_ty(ty: &Ty) -> Option<ir::Type> {
    match ty {
        Ty::Int(t) => Some(int_clif(*t)),
        Ty::Bool => Some(types::I8),
        Ty::Str | Ty::Ptr(_) | Ty::Erased | Ty::Null | Ty::Gc(_) => Some(types::I64),
        Ty::Nil | Ty::Result(_) => None,
    }
}

fn int_clif(t: IntTy) -> ir::Type {
    match t.bits() {
        8 => types::I8,
        16 => types::I16,
        32 => types::I32,
        _ => types::I64,
    }
}

/// Runtime entry points the generated code calls: (name, params, return).
const RUNTIME: &[(&str, &[ir::Type], Option<ir::Type>)] = &[
    ("npk_print_cstr", &[types::I64], None),
    ("npk_print_i64", &[types::I64], None),
    ("npk_print_u64", &[types::I64], None),
    ("npk_print_bool", &[types::I32], None),
    ("npk_alloc", &[types::I64], Some(types::I64)),
    ("npk_gc_alloc_ints", &[types::I64], Some(types::I64)),
    ("npk_gc_alloc_refs", &[types::I64], Some(types::I64)),
    (
        "npk_gc_set_ref",
        &[types::I64, types::I64, types::I64],
        Some(types::I32),
    ),
    ("npk_gc_kind", &[types::I64], Some(types::I32)),
    (
        "npk_gc_push_frame",
        &[types::I64, types::I64],
        Some(types::I32),
    ),
    ("npk_gc_pop_frame", &[types::I64], Some(types::I32)),
    ("npk_free", &[types::I64], None),
    ("npk_exit", &[types::I32], None),
    ("npk_wildx_alloc", &[types::I64], Some(types::I64)),
    ("npk_wildx_seal", &[types::I64], Some(types::I32)),
    ("npk_wildx_free", &[types::I64], Some(types::I32)),
    (
        "npk_jit_fn_tag",
        &[types::I64, types::I32],
        Some(types::I64),
    ),
    ("npk_jit_fn_refusal", &[], Some(types::I32)),
    ("npk_jit_sig_identity", &[types::I64], Some(types::I32)),
    ("npk_str_scope", &[], Some(types::I64)),
    ("npk_str_release", &[types::I64], None),
    ("npk_str_retag", &[types::I64, types::I64], None),
    ("npk_str_begin", &[], Some(types::I64)),
    ("npk_str_push_cstr", &[types::I64, types::I64], None),
    ("npk_str_push_i64", &[types::I64, types::I64], None),
    ("npk_str_push_u64", &[types::I64, types::I64], None),
    ("npk_str_push_bool", &[types::I64, types::I32], None),
    (
        "npk_str_finish",
        &[types::I64, types::I64],
        Some(types::I64),
    ),
];

/// Module-wide state shared by every function being lowered.
struct Cx<'a> {
    module: ObjectModule,
    program: &'a hir::Program,
    /// Cranelift ids of `program.funcs`, by index; `None` for functions
    /// unreachable from `main`/`failsafe` (not compiled).
    funcs: Vec<Option<FuncId>>,
    /// Cranelift ids of `program.externs`, by index, declared on first call.
    externs: Vec<Option<FuncId>>,
    runtime: HashMap<&'static str, FuncId>,
    strings: HashMap<String, DataId>,
    /// Per buffer signature (canonical text): the writable `u32` that caches its page
    /// identity for `Jit.call` (0 until the runtime was asked).
    jit_identities: HashMap<String, DataId>,
    /// `npk_fault(code)`: calls `failsafe(code)` and exits; never returns.
    fault: FuncId,
    builder_ctx: FunctionBuilderContext,
    /// Bodies of built functions small enough to inline.
    bodies: inline::Bodies,
}

impl<'a> Cx<'a> {
    fn new(
        mut module: ObjectModule,
        program: &'a hir::Program,
        options: &Options,
    ) -> Result<Cx<'a>, CodegenError> {
        let live = reach::reachable(program);
        let mut used = HashSet::new();
        let mut funcs = Vec::with_capacity(program.funcs.len());
        for (idx, f) in program.funcs.iter().enumerate() {
            if !live[idx] {
                funcs.push(None);
                continue;
            }
            let sig = nitpick_signature(&module, f)?;
            let mut name = mangle(&f.name);
            if !used.insert(name.clone()) {
                name = format!("{name}_{idx}");
                used.insert(name.clone());
            }
            funcs.push(Some(
                module
                    .declare_function(&name, Linkage::Local, &sig)
                    .map_err(backend)?,
            ));
        }
        let externs = vec![None; program.externs.len()];
        let bodies = inline::Bodies::new(
            options.inline_limit,
            funcs.iter().flatten().copied().collect(),
        );
        let mut fault_sig = module.make_signature();
        fault_sig.params.push(AbiParam::new(types::I32));
        let fault = module
            .declare_function("npk_fault", Linkage::Local, &fault_sig)
            .map_err(backend)?;
        Ok(Cx {
            module,
            program,
            funcs,
            externs,
            runtime: HashMap::new(),
            strings: HashMap::new(),
            jit_identities: HashMap::new(),
            fault,
            builder_ctx: FunctionBuilderContext::new(),
            bodies,
        })
    }

    /// The id of runtime function `name` (declared on first use).
    fn runtime_func(&mut self, name: &'static str) -> Result<FuncId, CodegenError> {
        if let Some(id) = self.runtime.get(name) {
            return Ok(*id);
        }
        let (_, params, ret) = RUNTIME
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or_else(|| CodegenError::Backend(format!("unknown runtime function {name}")))?;
        let mut sig = self.module.make_signature();
        sig.params.extend(params.iter().map(|t| AbiParam::new(*t)));
        sig.returns.extend(ret.iter().map(|t| AbiParam::new(*t)));
        let id = self
            .module
            .declare_function(name, Linkage::Import, &sig)
            .map_err(|e| CodegenError::Backend(format!("runtime function `{name}`: {e}")))?;
        self.runtime.insert(name, id);
        Ok(id)
    }

    /// The id of extern `idx` (declared on first use).
    fn extern_func(&mut self, idx: usize) -> Result<FuncId, CodegenError> {
        if let Some(id) = self.externs[idx] {
            return Ok(id);
        }
        let e = &self.program.externs[idx];
        let sig = extern_signature(&self.module, e)?;
        let id = self
            .module
            .declare_function(&e.name, Linkage::Import, &sig)
            .map_err(|err| CodegenError::Backend(format!("extern `{}`: {err}", e.name)))?;
        self.externs[idx] = Some(id);
        Ok(id)
    }

    /// The id of Nitpick function `id` (always declared when reachable).
    fn nitpick_func(&self, id: hir::FuncId, span: Span) -> Result<FuncId, CodegenError> {
        self.funcs
            .get(id.0 as usize)
            .copied()
            .flatten()
            .ok_or_else(|| unsupported("a call of an undeclared function", span))
    }

    /// The runtime's fast-path geometry (`wildx::inline_check::SYMBOL`), imported data.
    fn jit_fast_data(&mut self) -> Result<DataId, CodegenError> {
        self.module
            .declare_data(wildx::inline_check::SYMBOL, Linkage::Import, false, false)
            .map_err(backend)
    }

    /// Declares and defines the module-local data object `name` holding `data`.
    fn local_data(
        &mut self,
        name: &str,
        writable: bool,
        data: &DataDescription,
    ) -> Result<DataId, CodegenError> {
        let id = self
            .module
            .declare_data(name, Linkage::Local, writable, false)
            .map_err(backend)?;
        self.module.define_data(id, data).map_err(backend)?;
        Ok(id)
    }

    /// The writable, zero-initialised `u32` caching the page identity of the buffer
    /// signature `canonical` (one per signature and module).
    fn jit_identity_data(&mut self, canonical: &str) -> Result<DataId, CodegenError> {
        if let Some(id) = self.jit_identities.get(canonical) {
            return Ok(*id);
        }
        let mut data = DataDescription::new();
        data.define_zeroinit(4);
        data.set_align(4);
        let name = format!("npk_jit_identity_{}", self.jit_identities.len());
        let id = self.local_data(&name, true, &data)?;
        self.jit_identities.insert(canonical.to_string(), id);
        Ok(id)
    }

    /// The read-only, NUL-terminated data object holding `text`.
    fn string_data(&mut self, text: &str) -> Result<DataId, CodegenError> {
        if let Some(id) = self.strings.get(text) {
            return Ok(*id);
        }
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(0);
        let mut data = DataDescription::new();
        data.define(bytes.into_boxed_slice());
        let name = format!("npk_str_{}", self.strings.len());
        let id = self.local_data(&name, false, &data)?;
        self.strings.insert(text.to_string(), id);
        Ok(id)
    }

    fn define_nitpick_func(&mut self, idx: usize) -> Result<(), CodegenError> {
        let program = self.program;
        let f = &program.funcs[idx];
        let is_main = program.main.is_some_and(|m| m.0 as usize == idx);
        let mut ctx = self.module.make_context();
        ctx.func.signature = nitpick_signature(&self.module, f)?;
        let mut fb_ctx = std::mem::take(&mut self.builder_ctx);
        {
            let builder = FunctionBuilder::new(&mut ctx.func, &mut fb_ctx);
            func::lower_function(self, builder, f, is_main)?;
        }
        self.builder_ctx = fb_ctx;
        let id = self.nitpick_func(hir::FuncId(idx as u32), f.span)?;
        self.bodies.inline_into(&mut ctx)?;
        thread::thread_jumps(&mut ctx.func);
        thread::propagate_cold(&mut ctx.func);
        self.bodies.offer(id, &ctx.func);
        self.module
            .define_function(id, &mut ctx)
            .map_err(|e| CodegenError::Backend(format!("function `{}`: {e:?}", f.name)))
    }

    /// `npk_fault(code)`: `exit(failsafe(code))`, or `exit(code)` without a
    /// failsafe. When failsafe itself fails with `c`, the status is `c`; a
    /// fault while failsafe runs exits with the new fault's code.
    fn define_fault_handler(&mut self) -> Result<(), CodegenError> {
        let mut ctx = self.module.make_context();
        ctx.func.signature.params.push(AbiParam::new(types::I32));
        let exit_id = self.runtime_func("npk_exit")?;
        let failsafe = self.program.failsafe;
        let flag = self
            .module
            .declare_data("npk_fault_active", Linkage::Local, true, false)
            .map_err(backend)?;
        let mut flag_data = DataDescription::new();
        flag_data.define_zeroinit(1);
        self.module.define_data(flag, &flag_data).map_err(backend)?;
        let mut fb_ctx = std::mem::take(&mut self.builder_ctx);
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fb_ctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let code = b.block_params(entry)[0];
            // A fault inside failsafe itself exits with the fault code
            // instead of recursing.
            let flag_ref = self.module.declare_data_in_func(flag, b.func);
            let flag_addr = b.ins().symbol_value(types::I64, flag_ref);
            let active = b
                .ins()
                .load(types::I8, ir::MemFlagsData::new(), flag_addr, 0);
            let nested = b.create_block();
            let first = b.create_block();
            b.ins().brif(active, nested, &[], first, &[]);
            b.switch_to_block(nested);
            let exit_ref = self.module.declare_func_in_func(exit_id, b.func);
            b.ins().call(exit_ref, &[code]);
            b.ins().trap(ir::TrapCode::unwrap_user(1));
            b.switch_to_block(first);
            let one = b.ins().iconst(types::I8, 1);
            b.ins().store(ir::MemFlagsData::new(), one, flag_addr, 0);
            let status = match failsafe {
                Some(fid) => {
                    let fs = self.program.func(fid);
                    let mut args = Vec::new();
                    if let Some(p) = fs.params.first() {
                        let pty = clif_ty(&fs.local(*p).ty).ok_or_else(|| {
                            unsupported("a failsafe parameter that is not an integer", fs.span)
                        })?;
                        args.push(resize(&mut b, code, types::I32, pty, true));
                    }
                    let callee = self.nitpick_func(fid, fs.span)?;
                    let fref = self.module.declare_func_in_func(callee, b.func);
                    let call = b.ins().call(fref, &args);
                    let results = b.inst_results(call).to_vec();
                    match (clif_ty(&fs.ret), results.as_slice()) {
                        (Some(vty), [value, err]) => {
                            let v = resize(&mut b, *value, vty, types::I32, true);
                            let e = b.ins().ireduce(types::I32, *err);
                            let failed =
                                b.ins().icmp_imm_u(ir::condcodes::IntCC::NotEqual, *err, 0);
                            b.ins().select(failed, e, v)
                        }
                        _ => b.ins().iconst(types::I32, 0),
                    }
                }
                None => code,
            };
            b.ins().call(exit_ref, &[status]);
            b.ins().trap(ir::TrapCode::unwrap_user(1));
            b.seal_all_blocks();
            b.finalize(self.module.target_config());
        }
        self.builder_ctx = fb_ctx;
        self.module
            .define_function(self.fault, &mut ctx)
            .map_err(|e| CodegenError::Backend(format!("fault handler: {e:?}")))
    }

    /// The exported C `int main(int argc, char **argv)`.
    fn define_c_main(&mut self, main: hir::FuncId) -> Result<(), CodegenError> {
        let mut sig = self.module.make_signature();
        sig.params.push(AbiParam::new(types::I32));
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I32));
        let id = self
            .module
            .declare_function("main", Linkage::Export, &sig)
            .map_err(|e| CodegenError::Backend(format!("symbol `main`: {e}")))?;
        let exit_id = self.runtime_func("npk_exit")?;
        let mf = self.program.func(main);
        let mut ctx = self.module.make_context();
        ctx.func.signature = sig;
        let mut fb_ctx = std::mem::take(&mut self.builder_ctx);
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fb_ctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            if !mf.params.is_empty() {
                return Err(unsupported("a `main` with parameters", mf.span));
            }
            let callee = self.nitpick_func(main, mf.span)?;
            let fref = self.module.declare_func_in_func(callee, b.func);
            let call = b.ins().call(fref, &[]);
            let results = b.inst_results(call).to_vec();
            let status = match (clif_ty(&mf.ret), results.as_slice()) {
                (Some(vty), [value, _]) => resize(&mut b, *value, vty, types::I32, true),
                _ => b.ins().iconst(types::I32, 0),
            };
            let exit_ref = self.module.declare_func_in_func(exit_id, b.func);
            b.ins().call(exit_ref, &[status]);
            b.ins().trap(ir::TrapCode::unwrap_user(1));
            b.seal_all_blocks();
            b.finalize(self.module.target_config());
        }
        self.builder_ctx = fb_ctx;
        self.module
            .define_function(id, &mut ctx)
            .map_err(|e| CodegenError::Backend(format!("C main: {e:?}")))
    }
}

/// `npk_u_` + the qualified name with `.` spelled `__`: `Jit.free` is
/// `npk_u_Jit__free`. The prefix keeps Nitpick names apart from C symbols.
fn mangle(name: &str) -> String {
    format!("npk_u_{}", name.replace('.', "__"))
}

/// Parameters as declared; returns `(value, status: i64)` or `(status)`.
fn nitpick_signature(module: &ObjectModule, f: &hir::Func) -> Result<ir::Signature, CodegenError> {
    let mut sig = module.make_signature();
    for p in &f.params {
        let local = f.local(*p);
        let ty = clif_ty(&local.ty)
            .ok_or_else(|| unsupported(format!("parameter type {:?}", local.ty), local.span))?;
        sig.params.push(AbiParam::new(ty));
    }
    match &f.ret {
        Ty::Nil => {}
        other => {
            let ty = clif_ty(other)
                .ok_or_else(|| unsupported(format!("return type {other:?}"), f.span))?;
            sig.returns.push(AbiParam::new(ty));
        }
    }
    sig.returns.push(AbiParam::new(types::I64));
    Ok(sig)
}

/// The C signature of an extern: narrow integers and bools are extended to
/// 32 bits by the caller, as the SysV ABI (and clang) expect.
fn extern_signature(module: &ObjectModule, e: &hir::Extern) -> Result<ir::Signature, CodegenError> {
    let mut sig = module.make_signature();
    for p in &e.params {
        let ty = clif_ty(&p.ty)
            .ok_or_else(|| unsupported(format!("extern parameter type {:?}", p.ty), e.span))?;
        let param = match &p.ty {
            Ty::Int(t) if t.bits() < 32 && t.signed() => AbiParam::new(ty).sext(),
            Ty::Int(t) if t.bits() < 32 => AbiParam::new(ty).uext(),
            Ty::Bool => AbiParam::new(ty).uext(),
            _ => AbiParam::new(ty),
        };
        sig.params.push(param);
    }
    match &e.ret {
        Ty::Nil => {}
        other => {
            let ty = clif_ty(other)
                .ok_or_else(|| unsupported(format!("extern return type {other:?}"), e.span))?;
            sig.returns.push(AbiParam::new(ty));
        }
    }
    Ok(sig)
}

/// Converts integer `v` of type `from` to `to`: truncates, or extends by
/// `signed` (the source's signedness).
fn resize(
    b: &mut FunctionBuilder<'_>,
    v: ir::Value,
    from: ir::Type,
    to: ir::Type,
    signed: bool,
) -> ir::Value {
    use std::cmp::Ordering;
    match from.bits().cmp(&to.bits()) {
        Ordering::Equal => v,
        Ordering::Greater => b.ins().ireduce(to, v),
        Ordering::Less if signed => b.ins().sextend(to, v),
        Ordering::Less => b.ins().uextend(to, v),
    }
}

/// Bitmask of the low `bits` bits.
fn width_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}
