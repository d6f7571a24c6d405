//! `npkc`: the compiler for the Nitpick subset.
//!
//! A pipeline of plain modules, each with one entry function taking the
//! previous phase's output: `lexer` → `parser` (→ `ast`) → `modules` (loads
//! `use`d files) → `resolve` → `types` (→ `hir`) → `ownership` → `drop_lower` → `codegen`
//! (Cranelift) → `link`. `diagnostic` renders problems; `driver` runs the
//! pipeline for the CLI in `main.rs`. Only `codegen` and `link` mention
//! Cranelift types.

#![forbid(unsafe_code)]

pub mod ast;
pub mod codegen;
pub mod diagnostic;
pub mod driver;
pub mod drop_lower;
pub mod explain;
pub mod hir;
pub mod jit_check;
pub mod lexer;
pub mod link;
pub mod modules;
pub mod ownership;
pub mod parser;
pub mod resolve;
pub mod source;
pub mod stdlib;
pub mod types;
