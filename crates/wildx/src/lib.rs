//! `wildx`: the W^X executable-page allocator of the Nitpick runtime.
//!
//! Pages move one way through `WRITABLE --seal--> EXECUTABLE --free--> FREED` (free also from
//! WRITABLE). No page is ever writable and executable at once: writable pages are
//! `PROT_READ|PROT_WRITE`, sealed pages `PROT_READ|PROT_EXEC`, freed pages read+write again
//! and never callable. Every transition is atomic with respect to every other.
//!
//! # Two APIs over one registry
//!
//! * Typed, for Rust: [`WritablePage`] is consumed by [`seal`](WritablePage::seal) and yields an
//!   [`ExecutablePage`]; `free` consumes either; `Drop` frees. Misuse does not compile:
//!
//!   ```
//!   use wildx::WritablePage;
//!   // mov eax, edi; add eax, esi; ret
//!   let mut page = WritablePage::new(16)?;
//!   page.as_mut_slice()[..5].copy_from_slice(&[0x89, 0xf8, 0x01, 0xf0, 0xc3]);
//!   let code = page.seal_with_tag(0x1121)?;
//!   assert_eq!(code.tag(), 0x1121);
//!   # #[cfg(target_arch = "x86_64")] {
//!   // SAFETY: the page holds a complete SysV `int32(int32, int32)` function.
//!   let add: extern "C" fn(i32, i32) -> i32 = unsafe { std::mem::transmute(code.entry()) };
//!   assert_eq!(add(7, 35), 42);
//!   # }
//!   code.free()?; // `add` dangles from here on
//!   # Ok::<(), wildx::Error>(())
//!   ```
//!
//!   Sealing twice is a use of a moved value:
//!   ```compile_fail,E0382
//!   let page = wildx::WritablePage::new(1)?;
//!   let code = page.seal()?;
//!   let again = page.seal()?;
//!   # Ok::<(), wildx::Error>(())
//!   ```
//!   So is using a page after freeing it:
//!   ```compile_fail,E0382
//!   let code = wildx::WritablePage::new(1)?.seal()?;
//!   code.free()?;
//!   let f = code.entry();
//!   # Ok::<(), wildx::Error>(())
//!   ```
//!   and freeing it twice:
//!   ```compile_fail,E0382
//!   let page = wildx::WritablePage::new(1)?;
//!   page.free()?;
//!   page.free()?;
//!   # Ok::<(), wildx::Error>(())
//!   ```
//!   A sealed page offers no way to write:
//!   ```compile_fail,E0599
//!   let mut code = wildx::WritablePage::new(1)?.seal()?;
//!   code.as_mut_slice()[0] = 0xc3;
//!   # Ok::<(), wildx::Error>(())
//!   ```
//!
//! * Address-keyed, for the C ABI and `npk_jit_compile`: [`alloc_raw`], [`install_raw`],
//!   [`seal_raw`], [`free_raw`], [`page_state`], and the lock-free [`lookup`] /
//!   [`checked_entry`] (`addr -> Entry { ptr, tag, len }`) used on every checked call.
//!   A typed page moves to this API with `into_raw`. For the validator: allocate a
//!   [`WritablePage`], copy the accepted bytes in, `seal_with_tag(sig.identity()?)`, then
//!   `into_raw()` to return the pointer; calls go through [`checked_entry`]`(p, tag)`.
//!
//! ```
//! let p = wildx::alloc_raw(100)?;
//! wildx::install_raw(p.as_ptr(), &[0x89, 0xf8, 0x01, 0xf0, 0xc3], 0x1121)?;
//! assert_eq!(wildx::page_state(p.as_ptr()), wildx::PageState::Writable);
//! wildx::seal_raw(p.as_ptr())?;
//! let entry = wildx::checked_entry(p.as_ptr(), 0x1121)?;
//! assert_eq!((entry.ptr(), entry.tag()), (p.as_ptr().cast_const(), 0x1121));
//! wildx::free_raw(p.as_ptr())?;
//! assert_eq!(wildx::free_raw(p.as_ptr()).map_err(|e| e.kind()), Err(wildx::ErrorKind::Freed));
//! # Ok::<(), wildx::Error>(())
//! ```
//!
//! # Code arenas
//!
//! Many functions in one mapping: [`CodeArena`] takes functions at [`FN_ALIGN`] (64-byte)
//! granularity with `add`, and `seal` consumes it, fills every gap with `int3` and changes
//! the protection once, yielding an [`ExecutableArena`] whose [`FnRef`]s borrow it (example
//! and `compile_fail` doctests on [`CodeArena`]). The raw API: [`arena_create_raw`],
//! [`arena_add_raw`] (with a `prove` hook that gets the function's final address, for the
//! validator), [`arena_seal_raw`], [`arena_free_raw`]; [`lookup`] and [`checked_entry`]
//! accept a function's address and refuse it unless its arena is sealed and live.
//!
//! # Design
//!
//! One large range of address space is reserved `PROT_NONE` on first use (4 GiB, or less if
//! the OS refuses) and carved into page runs; guard pages are simply pages left `PROT_NONE`,
//! and every run ends in one `PROT_NONE` page so it is its own kernel mapping (`mprotect`
//! then never splits or merges mappings). That page is counted in the quota only as the
//! trailing guard page under `NPK_WILDX_GUARD_PAGES=1`.
//! A side table holds one slot of atomics per page; a run's state, signature tag, owner flag
//! and generation are packed into one `u64`, so a checked call is a range check plus one
//! acquire load, with no lock ([`quick_entry`]; `NPK_WILDX_VERIFY`/`NPK_WILDX_AUDIT` route
//! every call through the slow path of [`checked_entry`]). Transitions claim the slot with a compare-and-swap into a
//! transient busy state (so two concurrent seals give exactly one success, and a free waits
//! for a seal in progress instead of racing it). Freed runs are never unmapped: they become
//! read+write (not executable) and wait in a FIFO until [`QUARANTINE`] newer runs of the same
//! size were freed, so a stale pointer is reported as freed for at least that many cycles;
//! they are zero-filled before reuse. At most [`RESIDENT_CAP`] bytes of freed runs stay
//! resident; the rest go back to the OS with `madvise(MADV_DONTNEED)`. A full
//! alloc/install/seal/call/free cycle of a reused run costs two `mprotect` calls.
//!
//! Seal records [`code_hash`] (wxh64, documented there) of the whole body.
//!
//! A code arena is a run whose head word carries the arena flag. Its functions are entries
//! of a second side table, one atomic `u64` per 64-byte granule (tag, start flag, the
//! arena's generation), mapped on the first arena; each arena body page's slot names its
//! run head. A checked call of a function is three acquire loads, no lock; an entry whose
//! generation differs from the head word's is a function of a freed arena, so a stale
//! function pointer is refused like a stale page pointer.
//!
//! # Options
//!
//! Read once from the environment and cached ([`options`]): `NPK_WILDX_AUDIT=1`,
//! `NPK_WILDX_GUARD_PAGES=1`, `NPK_WILDX_VERIFY=1`, `NPK_WILDX_QUOTA=<bytes>` (default 64 MiB),
//! `NPK_JIT_STRICT=1`, `NPK_WILDX_QUIET=1` (no rejection lines). The quota counts bytes of
//! live allocations including guard pages; [`set_quota`] changes it, [`stats`] reports usage.

#![warn(missing_docs)]

mod arena;
mod code_arena;
mod error;
mod fn_table;
mod hash;
mod options;
mod page;
mod raw;
mod region;
mod report;
mod slot;
mod stats;
mod sys;

pub use arena::{QUARANTINE, RESIDENT_CAP};
pub use code_arena::{CodeArena, ExecutableArena, FnId, FnRef};
pub use error::{Error, ErrorKind};
pub use fn_table::FN_ALIGN;
pub use hash::code_hash;
pub use options::{DEFAULT_QUOTA, Options, options};
pub use page::{ExecutablePage, WritablePage};
pub use raw::{
    Entry, PageState, alloc_raw, arena_add_raw, arena_create_raw, arena_free_raw, arena_seal_raw,
    checked_entry, free_raw, inline_check, install_raw, lookup, page_state, quick_entry, seal_raw,
};
pub use report::{report_reason, report_rejection};
pub use stats::{Stats, quota, set_quota, stats};
#[doc(hidden)]
pub use sys::os_calls;
