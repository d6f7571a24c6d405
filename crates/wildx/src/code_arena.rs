//! Code arenas, typed: `CodeArena --seal--> ExecutableArena --free-->` (consumed), holding many
//! functions in one mapping at [`FN_ALIGN`](crate::FN_ALIGN)-byte granularity.
//!
//! A [`CodeArena`] is written only through `add` (`&mut self`), which returns a [`FnId`]: a
//! plain, copyable name for the function that cannot be called. `seal` consumes the arena,
//! fills every gap with `int3`, changes the protection of the whole mapping once and yields
//! an [`ExecutableArena`]; only that hands out callable [`FnRef<'arena>`](FnRef) handles, which
//! borrow it, so no handle outlives the arena (a `compile_fail` doctest shows it). Freeing or
//! dropping the executable arena releases every function at once. The registry side (state
//! word, function table, lock-free lookups) is in `arena.rs`; this file only holds handles.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::arena::{Want, arena};
use crate::error::{Error, ErrorKind};
use crate::fn_table::{FN_ALIGN, FnMeta};
use crate::page::OwnedRun;

/// A writable code arena: add functions, then [`seal`](Self::seal) it once.
///
/// Its memory is read+write and never executable; nothing in it can be called until it is
/// sealed. Dropping it frees the mapping.
///
/// ```
/// use wildx::CodeArena;
/// let mut arena = CodeArena::new(4096)?;
/// // mov eax, edi; add eax, esi; ret          and      lea eax, [rdi+rsi*2]; ret
/// let add = arena.add(&[0x89, 0xf8, 0x01, 0xf0, 0xc3], 0x1121)?;
/// let add2 = arena.add(&[0x8d, 0x04, 0x77, 0xc3], 0x1121)?;
/// assert_eq!((add.offset(), add2.offset()), (0, 64));
/// let code = arena.seal()?; // one protection change for every function
/// let f = code.get(add2).expect("a function of this arena");
/// assert_eq!((f.tag(), f.len()), (0x1121, 4));
/// assert_eq!(code.as_slice()[5..64], [0xcc; 59]); // gaps are int3
/// # #[cfg(target_arch = "x86_64")] {
/// // SAFETY: the function is a complete SysV `int32(int32, int32)` and `code` outlives it.
/// let g: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(f.entry()) };
/// assert_eq!(g(2, 20), 42);
/// # }
/// code.free()?; // every function of the arena dies here
/// # Ok::<(), wildx::Error>(())
/// ```
///
/// A function handle cannot outlive its arena:
/// ```compile_fail,E0505
/// let mut arena = wildx::CodeArena::new(64)?;
/// let id = arena.add(&[0xc3], 0)?;
/// let code = arena.seal()?;
/// let f = code.get(id).expect("ours");
/// code.free()?;
/// let p = f.entry();
/// # Ok::<(), wildx::Error>(())
/// ```
/// nor escape its scope:
/// ```compile_fail,E0597
/// let f = {
///     let mut arena = wildx::CodeArena::new(64)?;
///     let id = arena.add(&[0xc3], 0)?;
///     let code = arena.seal()?;
///     code.get(id).expect("ours")
/// };
/// # Ok::<(), wildx::Error>(())
/// ```
/// An arena is sealed once; a sealed one takes no more functions:
/// ```compile_fail,E0382
/// let mut arena = wildx::CodeArena::new(64)?;
/// let code = arena.seal()?;
/// let again = arena.seal()?;
/// # Ok::<(), wildx::Error>(())
/// ```
/// ```compile_fail,E0599
/// let code = wildx::CodeArena::new(64)?.seal()?;
/// code.add(&[0xc3], 0)?;
/// # Ok::<(), wildx::Error>(())
/// ```
#[derive(Debug)]
pub struct CodeArena {
    run: OwnedRun,
    used: usize,
    count: u32,
}

/// A sealed code arena: read+execute, every function callable through its [`FnRef`]s.
///
/// Dropping it (or [`free`](Self::free)) frees the mapping: it is no longer executable and
/// every function pointer taken from it dangles; the [`FnRef`]s borrow it, so none survives.
#[derive(Debug)]
pub struct ExecutableArena {
    run: OwnedRun,
    fns: Arc<[FnMeta]>,
}

/// The name of a function added to a [`CodeArena`]: copyable, not callable. Turn it into a
/// callable [`FnRef`] with [`ExecutableArena::get`] once the arena is sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FnId {
    arena: (usize, u64),
    index: u32,
    offset: usize,
}

impl FnId {
    /// Byte offset of the function in its arena (a multiple of [`FN_ALIGN`]).
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Position of the function in its arena's order of adding.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index as usize
    }
}

/// A function of a sealed arena, borrowed from it: valid exactly as long as the arena.
#[derive(Debug, Clone, Copy)]
pub struct FnRef<'arena> {
    entry: NonNull<u8>,
    meta: FnMeta,
    id: FnId,
    _arena: PhantomData<&'arena ExecutableArena>,
}

// Compile-time check: the handles hold raw pointers into process-wide memory whose state
// only the owning value changes (see `OwnedRun`), so they may cross threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<CodeArena>();
    send_sync::<ExecutableArena>();
    send_sync::<FnRef<'static>>();
};

// SAFETY: a `FnRef` is a read-only view (address and metadata) of code that stays
// read+execute while the borrowed `ExecutableArena` lives; sharing or sending it only reads.
unsafe impl Send for FnRef<'_> {}
// SAFETY: as above.
unsafe impl Sync for FnRef<'_> {}

impl CodeArena {
    /// Creates an arena of at least `len` bytes, rounded up to whole pages, read+write.
    ///
    /// # Errors
    /// `ZeroSize`, `SizeOverflow`, `QuotaExceeded`, `ArenaExhausted`, or an `Os` error.
    pub fn new(len: usize) -> Result<Self, Error> {
        Ok(Self {
            run: OwnedRun::new(len, true)?,
            used: 0,
            count: 0,
        })
    }

    /// Bytes the arena holds (whole pages).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.run.len
    }

    /// Bytes used so far: each function takes its length rounded up to [`FN_ALIGN`].
    #[must_use]
    pub fn used(&self) -> usize {
        self.used
    }

    /// Functions added so far.
    #[must_use]
    pub fn fn_count(&self) -> usize {
        self.count as usize
    }

    /// The address of the arena's first byte (where its first function goes).
    #[must_use]
    pub fn as_ptr(&self) -> *const u8 {
        self.run.ptr.as_ptr()
    }

    /// Adds `code` as the next function, recording signature `tag` (`npk-jit`'s
    /// `Signature::identity()`, 0 for none) on the caller's word, as
    /// [`WritablePage::seal_with_tag`](crate::WritablePage::seal_with_tag) does. To prove the
    /// code first, use [`add_proven`](Self::add_proven).
    ///
    /// # Errors
    /// `ZeroSize` (empty code), `ArenaFull` (nothing was added; the arena is still usable).
    pub fn add(&mut self, code: &[u8], tag: u32) -> Result<FnId, Error> {
        self.add_proven(code, |_| Ok::<u32, Error>(tag))
    }

    /// Adds `code` as the next function if `prove` accepts it: `prove` gets the address the
    /// function will run at (the validator's `base_ip`) and returns the signature tag to
    /// record. On any error nothing is added.
    ///
    /// # Errors
    /// `prove`'s error, or (converted) `ZeroSize` or `ArenaFull`.
    pub fn add_proven<E: From<Error>>(
        &mut self,
        code: &[u8],
        prove: impl FnOnce(u64) -> Result<u32, E>,
    ) -> Result<FnId, E> {
        let registry = arena()?;
        let offset = registry.add(self.run.idx, self.run.owner(), code, prove)?;
        let id = FnId {
            arena: (self.run.idx, self.run.generation),
            index: self.count,
            offset,
        };
        self.count += 1;
        self.used = (offset + code.len()).next_multiple_of(FN_ALIGN);
        Ok(id)
    }

    /// Seals the arena: fills every byte outside the functions with `int3` (0xCC), records a
    /// hash per function, makes the whole mapping read+execute with one `mprotect`, and
    /// calls the instruction-cache hook.
    ///
    /// # Errors
    /// An `Os` error if `mprotect` fails; the arena is freed then.
    pub fn seal(self) -> Result<ExecutableArena, Error> {
        let run = self.run;
        let registry = arena()?;
        registry.seal(run.idx, (run.owner(), Want::CodeArena), None)?;
        let fns = registry
            .sealed_fns(run.idx)
            .ok_or(Error::new(ErrorKind::NotOurs))?;
        Ok(ExecutableArena { run, fns })
    }

    /// Frees the arena now.
    ///
    /// # Errors
    /// None in practice (the handle owns the arena); kept for symmetry with the raw API.
    pub fn free(self) -> Result<(), Error> {
        self.run.free()
    }
}

impl ExecutableArena {
    /// The function `id` names, if it was added to this arena.
    #[must_use]
    pub fn get(&self, id: FnId) -> Option<FnRef<'_>> {
        if id.arena != (self.run.idx, self.run.generation) {
            return None;
        }
        self.fns
            .get(id.index as usize)
            .map(|&meta| self.fn_ref(id.index, meta))
    }

    /// Every function, in the order they were added.
    pub fn fns(&self) -> impl ExactSizeIterator<Item = FnRef<'_>> + '_ {
        self.fns
            .iter()
            .enumerate()
            .map(|(i, &meta)| self.fn_ref(i as u32, meta))
    }

    fn fn_ref(&self, index: u32, meta: FnMeta) -> FnRef<'_> {
        // SAFETY: `meta.offset` lies inside the arena's body (recorded by `add`).
        let entry = unsafe { self.run.ptr.add(meta.offset) };
        FnRef {
            entry,
            meta,
            id: FnId {
                arena: (self.run.idx, self.run.generation),
                index,
                offset: meta.offset,
            },
            _arena: PhantomData,
        }
    }

    /// Functions in the arena.
    #[must_use]
    pub fn fn_count(&self) -> usize {
        self.fns.len()
    }

    /// Bytes the arena holds (whole pages).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.run.len
    }

    /// The address of the arena's first byte.
    #[must_use]
    pub fn as_ptr(&self) -> *const u8 {
        self.run.ptr.as_ptr()
    }

    /// The sealed contents (read-only): functions and the `int3` between them.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes at `ptr` are mapped read+execute while this handle lives and
        // nobody can write them.
        unsafe { std::slice::from_raw_parts(self.run.ptr.as_ptr(), self.run.len) }
    }

    /// Frees the arena now: no function of it is executable afterwards.
    ///
    /// # Errors
    /// None in practice (the handle owns the arena); kept for symmetry with the raw API.
    pub fn free(self) -> Result<(), Error> {
        self.run.free()
    }
}

impl FnRef<'_> {
    /// The entry point. Valid while the arena is borrowed.
    #[must_use]
    pub fn entry(&self) -> *const u8 {
        self.entry.as_ptr()
    }

    /// The signature tag recorded for this function (0: none).
    #[must_use]
    pub fn tag(&self) -> u32 {
        self.meta.tag
    }

    /// wxh64 of the function's bytes as sealed ([`code_hash`](crate::code_hash)).
    #[must_use]
    pub fn hash(&self) -> u64 {
        self.meta.hash
    }

    /// Length of the function's code in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.meta.len
    }

    /// Always false: a function has at least one byte.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.meta.len == 0
    }

    /// Its name, usable with [`ExecutableArena::get`].
    #[must_use]
    pub fn id(&self) -> FnId {
        self.id
    }

    /// The function's code (read-only).
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: inside the sealed arena, which is borrowed for this handle's lifetime.
        unsafe { std::slice::from_raw_parts(self.entry.as_ptr(), self.meta.len) }
    }
}
