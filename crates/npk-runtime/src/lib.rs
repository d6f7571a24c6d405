//! `npk-runtime`: the C-ABI runtime that compiled Nitpick programs (and C programs) link
//! against, built as `libnpk_runtime.a`.
//!
//! * `abi` holds every `#[unsafe(no_mangle)] extern "C"` export (declared in
//!   `include/npk_runtime.h`); each checks its arguments, calls safe Rust, and never lets a
//!   panic cross the boundary.
//! * `jit` holds the safe Rust behind the `wildx` / `Jit` exports (on top of the `wildx`
//!   crate) and the refusal reporting shared by every checked call.
//! * `jit_compile` and `jit_assemble` hold `Jit.compile` (validated bytes) and `Jit.assemble`
//!   (Intel-syntax text through `npk-asm`, then the validator), each with its Rust API.
//! * `buffer_fn` holds [`BufferFn`], the Rust handle whose buffer parameters are slices.
//! * `jit_fn` holds `Jit.call`'s check (`npk_jit_fn`, `npk_jit_fn_tag`): an entry point only
//!   for a page proven for exactly the caller's signature.
//! * `gc_abi` holds the garbage collector's exports (`npk_gc_*`, `npk_shadow_stack_*`) over
//!   the `npk-gc` crate's process heap (docs/gc.md).
//! * `jit_arena` holds validated code arenas (`JitArena`, and the safe Rust behind
//!   `npk_jit_arena_add`).
//! * `asm_builder` holds the text of `stdlib/asm.npk`'s `Asm` builders (`npk_asm_*`).
//! * `print` holds the line-buffered stdout of `npk_print_*` and `npk_exit`.
//! * `pages` holds what is known about each page for `npk_jit_name`/`npk_jit_disasm` and the
//!   `perf` map (`NPK_PERF_MAP=1`).
//! * `template` holds the compiler-owned storage of template strings (`npk_str_*`).
//!
//! Refusals print one stderr line `wildx: <op>(<ptr>) rejected: <reason>`. Options are the
//! `wildx` environment variables (`NPK_WILDX_AUDIT`, `NPK_WILDX_GUARD_PAGES`,
//! `NPK_WILDX_VERIFY`, `NPK_WILDX_QUOTA`, `NPK_JIT_STRICT`), read once per process. See
//! `docs/runtime.md` for the API, options and measured benchmark ratios.

#![warn(missing_docs)]

mod abi;
mod asm_builder;
mod buffer_fn;
mod gc_abi;
mod jit;
mod jit_arena;
mod jit_assemble;
mod jit_compile;
mod jit_fn;
mod pages;
mod print;
mod template;

pub use abi::*;
pub use asm_builder::*;
pub use buffer_fn::{Arg, Args, BufferFn, CallError, Ret, ShapeError};
pub use gc_abi::*;
pub use jit::{ADD_I32_CODE, TAG_I32_I32};
pub use jit_arena::{CompiledArena, JitArena, arena_add};
pub use jit_assemble::*;
pub use jit_compile::*;
pub use jit_fn::*;
pub use pages::*;
pub use template::*;
