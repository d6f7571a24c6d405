//! `Region`: one owned mapping, addressed in whole pages with `assert!`-checked bounds.
//!
//! The arena is one `Region` of reserved address space; the side table is another. Every
//! operation takes `(first_page, pages)`, asserts that the range lies inside the mapping, and
//! calls the `sys` layer. A zero-page range is a no-op. OS failures come back as
//! [`Error`] naming the operation, the address and the length. Dropping a `Region` unmaps it.

use std::ptr::NonNull;

use crate::error::Error;
use crate::sys::{self, Prot};

/// An owned, page-aligned mapping.
#[derive(Debug)]
pub(crate) struct Region {
    base: NonNull<u8>,
    pages: usize,
    page_size: usize,
}

// SAFETY: a Region is an address range plus sizes; it holds no thread-bound state, and all
// access to the memory goes through methods whose callers synchronise via the slot states.
unsafe impl Send for Region {}
// SAFETY: as above; `&Region` methods only read the immutable base/size fields.
unsafe impl Sync for Region {}

impl Region {
    /// Reserves `pages` pages of inaccessible address space.
    pub(crate) fn reserve(pages: usize, page_size: usize) -> Result<Self, Error> {
        let len = pages
            .checked_mul(page_size)
            .ok_or(Error::new(crate::ErrorKind::SizeOverflow))?;
        let base = sys::reserve(len).map_err(|e| Error::os("mmap", 0, len, e))?;
        Ok(Self {
            base,
            pages,
            page_size,
        })
    }

    /// Maps `pages` pages of zero-filled read+write memory.
    pub(crate) fn map_rw(pages: usize, page_size: usize) -> Result<Self, Error> {
        let len = pages
            .checked_mul(page_size)
            .ok_or(Error::new(crate::ErrorKind::SizeOverflow))?;
        let base = sys::map_rw(len).map_err(|e| Error::os("mmap", 0, len, e))?;
        Ok(Self {
            base,
            pages,
            page_size,
        })
    }

    pub(crate) fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    pub(crate) fn pages(&self) -> usize {
        self.pages
    }

    pub(crate) fn len(&self) -> usize {
        self.pages * self.page_size
    }

    /// Address and byte length of `pages` pages from `first`.
    ///
    /// # Panics
    /// If the range is not inside the region.
    pub(crate) fn range(&self, first: usize, pages: usize) -> (*mut u8, usize) {
        assert!(
            first <= self.pages && pages <= self.pages - first,
            "page range {first}+{pages} outside a region of {} pages",
            self.pages
        );
        // SAFETY: first <= self.pages (asserted), so the offset stays inside the mapping.
        let addr = unsafe { self.base.as_ptr().add(first * self.page_size) };
        (addr, pages * self.page_size)
    }

    /// Changes the protection of a page range.
    ///
    /// # Panics
    /// If the range is not inside the region.
    pub(crate) fn protect(&self, first: usize, pages: usize, prot: Prot) -> Result<(), Error> {
        let (addr, len) = self.range(first, pages);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range is inside our mapping (checked by `range`) and page-aligned by
        // construction; callers hold the slot in a busy state, so no reference to it is live.
        unsafe { sys::protect(addr, len, prot) }.map_err(|e| {
            let op = match prot {
                Prot::None => "mprotect NONE",
                Prot::ReadWrite => "mprotect RW",
                Prot::ReadExec => "mprotect RX",
            };
            Error::os(op, addr as usize, len, e)
        })
    }

    /// Returns a page range's memory to the OS; it reads as zero afterwards.
    ///
    /// # Panics
    /// If the range is not inside the region.
    pub(crate) fn discard(&self, first: usize, pages: usize) -> Result<(), Error> {
        let (addr, len) = self.range(first, pages);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: inside our mapping (checked by `range`); only called on freed runs that are
        // not yet back in the allocator, so nobody uses their contents.
        unsafe { sys::discard(addr, len) }.map_err(|e| Error::os("madvise", addr as usize, len, e))
    }

    /// Fills a page range with zeros.
    ///
    /// # Safety
    /// The range must be mapped read+write and no reference to it may be live.
    ///
    /// # Panics
    /// If the range is not inside the region.
    pub(crate) unsafe fn zero(&self, first: usize, pages: usize) {
        let (addr, len) = self.range(first, pages);
        // SAFETY: in bounds (checked by `range`); writable and unaliased per the contract.
        unsafe { addr.write_bytes(0, len) };
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: we own the whole mapping and this is its last use.
        unsafe { sys::unmap(self.base.as_ptr(), self.len()) }.expect("munmap failed");
    }
}
