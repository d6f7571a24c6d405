//! The typed API: `WritablePage --seal--> ExecutablePage --free-->` (consumed).
//!
//! A `WritablePage` can be written through `&mut [u8]`; `seal` consumes it and returns an
//! `ExecutablePage`, which has no way to write. `free` consumes either; dropping either frees
//! it. So double seal, double free, write after seal and use after free do not compile.
//! Handle-owned pages are marked in the registry so the raw (C) API cannot seal, install or
//! free them behind the handle's back; `into_raw` hands a page over to the raw API.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use crate::arena::{Owner, Want, arena};
use crate::error::Error;

/// A zero-filled, read+write, never executable run of pages.
///
/// Dropping it frees the pages.
#[derive(Debug)]
pub struct WritablePage {
    page: OwnedRun,
}

/// A sealed, read+execute run of pages.
///
/// Dropping it frees the pages: they are no longer executable and every function pointer
/// taken from [`entry`](Self::entry) dangles. Tie such pointers to a borrow of the page.
#[derive(Debug)]
pub struct ExecutablePage {
    page: OwnedRun,
    tag: u32,
}

/// What both page types (and both code-arena types) own: a handle-owned registry run.
/// Dropping it frees the run; `seal` moves it from the writable into the executable type
/// without a free.
#[derive(Debug)]
pub(crate) struct OwnedRun {
    pub(crate) ptr: NonNull<u8>,
    pub(crate) len: usize,
    pub(crate) idx: usize,
    pub(crate) generation: u64,
}

impl OwnedRun {
    /// Allocates a handle-owned run of at least `len` bytes (a code arena if `code_arena`).
    pub(crate) fn new(len: usize, code_arena: bool) -> Result<Self, Error> {
        crate::arena::run_size(len, crate::sys::page_size())?;
        let arena = arena()?;
        let (idx, word) = arena.alloc(len, true, code_arena)?;
        let body = arena
            .slot(idx)
            .body_pages
            .load(std::sync::atomic::Ordering::Relaxed) as usize;
        let ptr = NonNull::new(arena.addr_of(idx)).expect("arena addresses are never null");
        Ok(Self {
            ptr,
            len: body * arena.page_size(),
            idx,
            generation: word.generation(),
        })
    }

    /// The owner this handle acts as.
    pub(crate) fn owner(&self) -> Owner {
        Owner::Handle(self.generation)
    }

    pub(crate) fn free(self) -> Result<(), Error> {
        let this = ManuallyDrop::new(self);
        arena()?.free(this.idx, (this.owner(), Want::Any))
    }

    pub(crate) fn into_raw(self) -> NonNull<u8> {
        let this = ManuallyDrop::new(self);
        if let Ok(arena) = arena() {
            let _ = arena.release_handle(this.idx, this.generation);
        }
        this.ptr
    }
}

impl Drop for OwnedRun {
    fn drop(&mut self) {
        if let Ok(arena) = arena() {
            let _ = arena.free(self.idx, (self.owner(), Want::Any));
        }
    }
}

// SAFETY: the pages are process-wide memory, not tied to a thread; the registry slot is
// handle-owned, so only the value holding this run can change its state. `OwnedRun` itself
// gives no access to the bytes: `WritablePage` writes only through `&mut self`, and
// `ExecutablePage`'s bytes are read-only for their whole life, so shared access only reads.
unsafe impl Send for OwnedRun {}
// SAFETY: as above.
unsafe impl Sync for OwnedRun {}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<WritablePage>();
    send_sync::<ExecutablePage>();
};

impl WritablePage {
    /// Allocates at least `len` bytes, rounded up to whole pages, zero-filled.
    ///
    /// # Errors
    /// `ZeroSize`, `SizeOverflow`, `QuotaExceeded`, `ArenaExhausted`, or an `Os` error.
    pub fn new(len: usize) -> Result<Self, Error> {
        Ok(Self {
            page: OwnedRun::new(len, false)?,
        })
    }

    /// Length in bytes (whole pages).
    #[must_use]
    pub fn len(&self) -> usize {
        self.page.len
    }

    /// Always false: a page has at least one byte.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.page.len == 0
    }

    /// The first byte.
    #[must_use]
    pub fn as_ptr(&self) -> *const u8 {
        self.page.ptr.as_ptr()
    }

    /// The contents.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes at `ptr` are mapped read+write while this handle lives; writes
        // need `&mut self`, so no write aliases this borrow.
        unsafe { std::slice::from_raw_parts(self.page.ptr.as_ptr(), self.page.len) }
    }

    /// The contents, writable.
    #[must_use]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` makes this borrow unique, and the raw API
        // cannot touch a handle-owned page.
        unsafe { std::slice::from_raw_parts_mut(self.page.ptr.as_ptr(), self.page.len) }
    }

    /// Seals the page with no signature tag (0); see [`seal_with_tag`](Self::seal_with_tag).
    ///
    /// # Errors
    /// An `Os` error if `mprotect` fails; the page is freed then.
    pub fn seal(self) -> Result<ExecutablePage, Error> {
        self.seal_with_tag(0)
    }

    /// Seals the page: records the wxh64 hash of its contents and the signature `tag`
    /// (opaque here; `npk-runtime` records `npk-jit`'s `Signature::identity()`, 0 for none),
    /// makes it read+execute, and calls the instruction-cache hook.
    ///
    /// # Errors
    /// An `Os` error if `mprotect` fails; the page is freed then.
    pub fn seal_with_tag(self, tag: u32) -> Result<ExecutablePage, Error> {
        let page = self.page;
        let arena = arena()?;
        match arena.seal(page.idx, (page.owner(), Want::Page), Some(tag)) {
            Ok(_) => Ok(ExecutablePage { page, tag }),
            // Dropping `page` frees the run.
            Err(e) => Err(e),
        }
    }

    /// Frees the page now.
    ///
    /// # Errors
    /// None in practice (the handle owns the page); kept for symmetry with the raw API.
    pub fn free(self) -> Result<(), Error> {
        self.page.free()
    }

    /// Hands the page to the raw (address-keyed, C) API and returns its address; release it
    /// with [`free_raw`](crate::free_raw) (or `npk_wildx_free`).
    #[must_use]
    pub fn into_raw(self) -> NonNull<u8> {
        self.page.into_raw()
    }
}

impl ExecutablePage {
    /// The entry point. It dangles once the page is freed or dropped.
    #[must_use]
    pub fn entry(&self) -> *const u8 {
        self.page.ptr.as_ptr()
    }

    /// Length in bytes (whole pages).
    #[must_use]
    pub fn len(&self) -> usize {
        self.page.len
    }

    /// Always false: a page has at least one byte.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.page.len == 0
    }

    /// The signature tag recorded at seal.
    #[must_use]
    pub fn tag(&self) -> u32 {
        self.tag
    }

    /// The sealed contents (read-only).
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes at `ptr` are mapped read+execute while this handle lives and
        // nobody can write them.
        unsafe { std::slice::from_raw_parts(self.page.ptr.as_ptr(), self.page.len) }
    }

    /// Frees the page now: it is no longer executable.
    ///
    /// # Errors
    /// None in practice (the handle owns the page); kept for symmetry with the raw API.
    pub fn free(self) -> Result<(), Error> {
        self.page.free()
    }

    /// Hands the page to the raw (address-keyed, C) API and returns its address; release it
    /// with [`free_raw`](crate::free_raw) (or `npk_wildx_free`).
    #[must_use]
    pub fn into_raw(self) -> NonNull<u8> {
        self.page.into_raw()
    }
}
