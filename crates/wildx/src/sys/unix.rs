//! Raw Unix page calls: `mmap`, `mprotect`, `madvise(MADV_DONTNEED)`, `munmap`, `sysconf`.
//!
//! Input: addresses and lengths the region layer has already checked; output: the call's
//! result, with `errno` on failure. This file does nothing but make the calls.

use std::ptr::NonNull;

/// Page protections the allocator uses. There is deliberately no read+write+execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prot {
    /// No access (reserved address space, guard pages).
    None,
    /// Read and write (writable pages, freed pages kept for reuse).
    ReadWrite,
    /// Read and execute (sealed pages).
    ReadExec,
}

impl Prot {
    fn bits(self) -> libc::c_int {
        match self {
            Prot::None => libc::PROT_NONE,
            Prot::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Prot::ReadExec => libc::PROT_READ | libc::PROT_EXEC,
        }
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The system page size.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|s| s.is_power_of_two())
        .unwrap_or(4096)
}

fn map(len: usize, prot: Prot) -> Result<NonNull<u8>, i32> {
    // SAFETY: a fresh anonymous private mapping at a kernel-chosen address aliases nothing.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot.bits(),
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(errno());
    }
    NonNull::new(p.cast::<u8>()).ok_or(libc::ENOMEM)
}

/// Reserves `len` bytes of inaccessible address space.
pub(crate) fn reserve(len: usize) -> Result<NonNull<u8>, i32> {
    map(len, Prot::None)
}

/// Maps `len` bytes of zero-filled read+write memory (never executable).
pub(crate) fn map_rw(len: usize) -> Result<NonNull<u8>, i32> {
    map(len, Prot::ReadWrite)
}

/// Changes the protection of `len` bytes at `addr`.
///
/// # Safety
/// `addr..addr+len` must be page-aligned and inside a mapping this crate owns, and no Rust
/// reference to it may be live that the new protection would invalidate.
pub(crate) unsafe fn protect(addr: *mut u8, len: usize, prot: Prot) -> Result<(), i32> {
    // SAFETY: range ownership and alignment are the caller's contract above.
    let rc = unsafe { libc::mprotect(addr.cast(), len, prot.bits()) };
    if rc == 0 { Ok(()) } else { Err(errno()) }
}

/// Drops the contents of `len` bytes at `addr`; they read as zero afterwards.
///
/// # Safety
/// Same as [`protect`]; the range must not hold data anyone still needs.
pub(crate) unsafe fn discard(addr: *mut u8, len: usize) -> Result<(), i32> {
    // SAFETY: range ownership and alignment are the caller's contract above.
    let rc = unsafe { libc::madvise(addr.cast(), len, libc::MADV_DONTNEED) };
    if rc == 0 { Ok(()) } else { Err(errno()) }
}

/// Unmaps `len` bytes at `addr`.
///
/// # Safety
/// The range must be a mapping this crate owns and nothing may use it afterwards.
pub(crate) unsafe fn unmap(addr: *mut u8, len: usize) -> Result<(), i32> {
    // SAFETY: range ownership is the caller's contract above.
    let rc = unsafe { libc::munmap(addr.cast(), len) };
    if rc == 0 { Ok(()) } else { Err(errno()) }
}
