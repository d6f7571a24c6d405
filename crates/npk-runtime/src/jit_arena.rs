//! Validated code arenas: many proven functions in one `wildx` code arena.
//!
//! Rust API: [`JitArena`] adds only code the validator accepts for a signature, validated at
//! the address it will run at (`Policy::runtime()` with `base_ip` = the function's final
//! address); `seal` yields a [`CompiledArena`] whose [`typed`](CompiledArena::typed) hands out
//! a [`JitFn`] borrowing the arena, only for the proven signature.
//! For the C ABI ([`arena_add`], behind `npk_jit_arena_add` in `abi.rs`): the bytes are copied
//! first (the caller's buffer may change after the check), the copy is validated and that
//! copy is what the arena receives; if the arena's bytes are changed before seal the
//! function loses its signature there, as a page does.

use std::ptr::NonNull;

use npk_jit::{Policy, Signature};

use crate::jit_compile::{CompileError, JitFn, SysvFn, checked_input};

/// A writable code arena that takes only validated functions.
///
/// ```
/// use npk_runtime::JitArena;
/// let mut arena = JitArena::new(4096)?;
/// // lea rax, [rdi+rsi] ; ret
/// let add = arena.compile(&[0x48, 0x8d, 0x04, 0x37, 0xc3], "int64(int64,int64)")?;
/// assert!(arena.compile(&[0x0f, 0x05], "int64(int64,int64)").is_err()); // syscall
/// let code = arena.seal()?;
/// let f = code.typed::<extern "C" fn(i64, i64) -> i64>(add).expect("proven signature");
/// assert_eq!(f.call(40, 2), 42);
/// assert!(code.typed::<extern "C" fn(i64) -> i64>(add).is_none());
/// # Ok::<(), npk_runtime::CompileError>(())
/// ```
/// A typed function cannot outlive its arena:
/// ```compile_fail,E0505
/// let mut arena = npk_runtime::JitArena::new(64)?;
/// let id = arena.compile(&[0x48, 0x8d, 0x04, 0x37, 0xc3], "int64(int64,int64)")?;
/// let code = arena.seal()?;
/// let f = code.typed::<extern "C" fn(i64, i64) -> i64>(id).expect("proven");
/// code.free()?;
/// f.call(1, 2);
/// # Ok::<(), npk_runtime::CompileError>(())
/// ```
#[derive(Debug)]
pub struct JitArena {
    arena: wildx::CodeArena,
}

/// A sealed [`JitArena`]: every function in it was proven for its recorded signature.
/// Dropping it frees the arena; every [`JitFn`] borrowed from it ends first.
#[derive(Debug)]
pub struct CompiledArena {
    arena: wildx::ExecutableArena,
}

/// Validates `code` for `signature` as if it ran at `base_ip`; returns the page identity to
/// record (`npk_jit::Signature::identity`).
fn prove(code: &[u8], signature: &Signature, base_ip: u64) -> Result<u32, CompileError> {
    let policy = Policy {
        base_ip,
        ..Policy::runtime()
    };
    npk_jit::validate(code, signature, &policy).map_err(CompileError::Rejected)?;
    signature.identity().map_err(CompileError::Identity)
}

impl JitArena {
    /// An empty arena of at least `len` bytes (whole pages).
    ///
    /// # Errors
    /// [`CompileError::Arena`] with `ZeroSize`, `SizeOverflow`, `QuotaExceeded`, ...
    pub fn new(len: usize) -> Result<Self, CompileError> {
        Ok(Self {
            arena: wildx::CodeArena::new(len)?,
        })
    }

    /// Validates `code` for `sig` at the address it will run at and adds it.
    ///
    /// # Errors
    /// [`CompileError`]: bad signature or length, rejection, or the arena is full.
    pub fn compile(&mut self, code: &[u8], sig: &str) -> Result<wildx::FnId, CompileError> {
        let signature = checked_input(code, sig)?;
        self.arena
            .add_proven(code, |base_ip| prove(code, &signature, base_ip))
    }

    /// The underlying arena (sizes, function count).
    #[must_use]
    pub fn arena(&self) -> &wildx::CodeArena {
        &self.arena
    }

    /// Seals every function with one protection change.
    ///
    /// # Errors
    /// [`CompileError::Arena`] if `mprotect` fails (the arena is freed then).
    pub fn seal(self) -> Result<CompiledArena, CompileError> {
        Ok(CompiledArena {
            arena: self.arena.seal()?,
        })
    }
}

impl CompiledArena {
    /// A typed handle to function `id`, only if it is in this arena and `F`'s signature is
    /// exactly the proven one.
    #[must_use]
    pub fn typed<F: SysvFn>(&self, id: wildx::FnId) -> Option<JitFn<'_, F>> {
        JitFn::from_arena(self.arena.get(id)?)
    }

    /// A handle to function `id` whose buffer parameters are slices (see
    /// [`BufferFn`](crate::BufferFn)), only if the Rust shape `P -> R` fits its proven
    /// signature.
    ///
    /// # Errors
    /// [`ShapeError::Unproven`](crate::ShapeError::Unproven) if `id` is not a function of
    /// this arena, else a mismatch naming the shape that fits.
    pub fn buffer_fn<P: crate::Args, R: crate::Ret>(
        &self,
        id: wildx::FnId,
    ) -> Result<crate::BufferFn<'_, P, R>, crate::ShapeError> {
        let f = self.arena.get(id).ok_or(crate::ShapeError::Unproven)?;
        crate::BufferFn::new(f.entry(), f.tag())
    }

    /// The sealed arena (function handles, sizes, contents).
    #[must_use]
    pub fn arena(&self) -> &wildx::ExecutableArena {
        &self.arena
    }

    /// Frees the arena now.
    ///
    /// # Errors
    /// None in practice; kept for symmetry with the raw API.
    pub fn free(self) -> Result<(), CompileError> {
        Ok(self.arena.free()?)
    }
}

/// Validates a private copy of `code` for `sig` at the address it gets in the raw arena at
/// `arena` (from `npk_wildx_arena_create`) and adds it; returns the function's address.
///
/// # Errors
/// [`CompileError`]: bad signature or length, rejection, or an arena that is not a writable
/// raw arena of ours with room for the code.
pub fn arena_add(arena: *const u8, code: &[u8], sig: &str) -> Result<NonNull<u8>, CompileError> {
    let signature = checked_input(code, sig)?;
    let copy = code.to_vec();
    wildx::arena_add_raw(arena, &copy, |base_ip| prove(&copy, &signature, base_ip))
}
