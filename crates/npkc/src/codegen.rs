//! Code generation with Cranelift: `hir::Program` to an object file. (Being written.)

use crate::hir;

/// Compiles `program` into the bytes of a relocatable x86-64 ELF object.
///
/// # Errors
/// When the host is not x86-64 Linux or Cranelift rejects the code.
pub fn compile(program: &hir::Program) -> Result<Vec<u8>, String> {
    let _ = program;
    Err("code generation is not implemented yet".to_string())
}
