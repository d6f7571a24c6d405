//! `Heap`: one precise, generational, moving heap and its mutator-facing operations
//! (allocation, checked element access with the write barrier, roots, statistics).
//! Collection itself lives in `collect.rs`.
//!
//! Addresses are `usize`; an object address is the address of its header (`object.rs`).
//! Every address the mutator hands in is checked against the spaces' object tables before
//! it is read, so a wild pointer, an interior pointer or a stale pointer is refused with an
//! `Error`, never dereferenced. A `Heap` is `!Send`: it belongs to the thread that made it.

use crate::error::{Error, ErrorKind, Result};
use crate::nursery::Nursery;
use crate::object::{Header, Kind, MAX_LEN, element_addr, object_bytes};
use crate::old::OldSpace;
use crate::raw;
use crate::roots::Roots;

/// Sizes and policies of a heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Bytes of one nursery semispace (two are reserved); rounded up to 4 KiB.
    pub nursery_bytes: usize,
    /// Limit on nursery reservation plus old-space bytes; allocation beyond it fails with
    /// `OutOfMemory` after a full collection.
    pub max_heap_bytes: usize,
    /// Nursery collections an object survives inside the nursery before it is promoted
    /// (0: promoted at its first survival).
    pub promote_age: u32,
    /// Old-space bytes below which no full collection is started automatically.
    pub min_major_bytes: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            nursery_bytes: 2 << 20,
            max_heap_bytes: 1 << 30,
            promote_age: 1,
            min_major_bytes: 8 << 20,
        }
    }
}

impl Config {
    /// The default, overridden by `NPK_GC_NURSERY_BYTES` and `NPK_GC_MAX_HEAP_BYTES`
    /// (decimal byte counts; unparsable values are ignored).
    #[must_use]
    pub fn from_env() -> Config {
        let mut c = Config::default();
        let var = |name| std::env::var(name).ok().and_then(|v| v.trim().parse().ok());
        if let Some(n) = var("NPK_GC_NURSERY_BYTES") {
            c.nursery_bytes = n;
        }
        if let Some(n) = var("NPK_GC_MAX_HEAP_BYTES") {
            c.max_heap_bytes = n;
        }
        c
    }
}

/// Counters of a heap. Byte counts include object headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Nursery collections (each full collection starts with one, counted here too).
    pub minor_collections: u64,
    /// Full collections.
    pub major_collections: u64,
    /// Bytes in objects right after the last collection (exactly the live set after a full one).
    pub live_bytes: u64,
    /// Bytes in objects now (garbage not yet collected included).
    pub used_bytes: u64,
    /// Highest footprint seen: both nursery semispaces plus old-space bytes.
    pub peak_bytes: u64,
    /// Bytes ever allocated by the mutator.
    pub allocated_bytes: u64,
    /// Objects ever allocated by the mutator.
    pub allocated_objects: u64,
    /// Objects promoted to the old space.
    pub promoted_objects: u64,
    /// Duration of the last collection, in nanoseconds.
    pub last_pause_ns: u64,
    /// Longest collection, in nanoseconds.
    pub max_pause_ns: u64,
}

/// A garbage-collected heap: a copying nursery and a mark-sweep old space.
///
/// ```
/// use npk_gc::{Config, Heap};
///
/// let mut heap = Heap::new(Config::default()).expect("heap");
/// let xs = heap.alloc_ints(3).expect("alloc");
/// heap.set_int(xs, 2, 42).expect("in bounds");
/// let mut slot: usize = xs;
/// // SAFETY: `slot` outlives its registration (removed below).
/// unsafe { heap.add_root(&mut slot) }.expect("fresh root");
/// heap.collect();
/// assert_ne!(slot, xs, "the object moved and the root was rewritten");
/// assert!(!heap.is_object(xs));
/// assert_eq!(heap.get_int(slot, 2), Ok(42));
/// heap.remove_root(&mut slot).expect("registered");
/// ```
#[derive(Debug)]
pub struct Heap {
    pub(crate) config: Config,
    pub(crate) nursery: Nursery,
    pub(crate) old: OldSpace,
    pub(crate) roots: Roots,
    /// Old objects that may hold nursery pointers (their `remembered` bit is set).
    pub(crate) remembered: Vec<usize>,
    pub(crate) stats: Stats,
    /// Old-space bytes at which the next automatic full collection starts.
    pub(crate) next_major_at: usize,
    /// Scratch of collections, kept to avoid reallocating.
    pub(crate) promoted: Vec<usize>,
    pub(crate) mark_stack: Vec<usize>,
    pub(crate) pending: bool,
    _not_send: std::marker::PhantomData<*mut u8>,
}

impl Heap {
    /// A new heap with its nursery reserved.
    ///
    /// # Errors
    /// `OutOfMemory` if the nursery cannot be allocated or exceeds `max_heap_bytes`.
    pub fn new(config: Config) -> Result<Heap> {
        let nursery =
            Nursery::new(config.nursery_bytes).ok_or(Error::new(ErrorKind::OutOfMemory))?;
        if 2 * nursery.capacity() > config.max_heap_bytes {
            return Err(Error::new(ErrorKind::OutOfMemory));
        }
        let mut heap = Heap {
            next_major_at: config.min_major_bytes,
            config,
            nursery,
            old: OldSpace::default(),
            roots: Roots::new(),
            remembered: Vec::new(),
            stats: Stats::default(),
            promoted: Vec::new(),
            mark_stack: Vec::new(),
            pending: false,
            _not_send: std::marker::PhantomData,
        };
        heap.note_footprint();
        Ok(heap)
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> Config {
        self.config
    }

    /// A zero-filled array of `n` integers. May collect first.
    ///
    /// # Errors
    /// `BadSize` for `n < 0` or `n > u32::MAX`; `OutOfMemory` at the heap limit.
    #[inline]
    pub fn alloc_ints(&mut self, n: i64) -> Result<usize> {
        self.alloc(Kind::Ints, n)
    }

    /// An array of `n` NULL references. May collect first.
    ///
    /// # Errors
    /// As [`Heap::alloc_ints`].
    #[inline]
    pub fn alloc_refs(&mut self, n: i64) -> Result<usize> {
        self.alloc(Kind::Refs, n)
    }

    #[inline]
    fn alloc(&mut self, kind: Kind, n: i64) -> Result<usize> {
        let len = usize::try_from(n)
            .ok()
            .filter(|&l| l <= MAX_LEN)
            .ok_or(Error::new(ErrorKind::BadSize))?;
        let bytes = object_bytes(len);
        if bytes <= self.large_threshold()
            && let Some(at) = self.nursery.active_mut().bump(bytes)
        {
            // SAFETY: `bump` just reserved `bytes` at `at` inside the active semispace.
            unsafe { raw::zero(at + 8, bytes - 8) };
            self.finish_alloc(at, kind, len, bytes);
            return Ok(at);
        }
        self.alloc_slow(kind, len, bytes)
    }

    #[inline]
    fn finish_alloc(&mut self, at: usize, kind: Kind, len: usize, bytes: usize) {
        // SAFETY: `at` is the start of `bytes` freshly reserved bytes of a space we own.
        unsafe { raw::store(at, Header::new(kind, len).0) };
        self.stats.allocated_bytes += bytes as u64;
        self.stats.allocated_objects += 1;
    }

    /// Objects above this size go straight to the old space.
    fn large_threshold(&self) -> usize {
        self.nursery.capacity() / 4
    }

    #[cold]
    fn alloc_slow(&mut self, kind: Kind, len: usize, bytes: usize) -> Result<usize> {
        let oom = Error::new(ErrorKind::OutOfMemory);
        if bytes > self.large_threshold() {
            if self.footprint().saturating_add(bytes) > self.config.max_heap_bytes
                || self.old.bytes().saturating_add(bytes) > self.next_major_at
            {
                self.collect();
            }
            if self.footprint().saturating_add(bytes) > self.config.max_heap_bytes {
                return Err(oom);
            }
            let at = self.old.alloc(bytes).ok_or(oom)?;
            self.finish_alloc(at, kind, len, bytes);
            self.note_footprint();
            return Ok(at);
        }
        if std::mem::take(&mut self.pending) {
            self.collect();
        } else {
            self.collect_nursery();
        }
        if self.footprint() > self.config.max_heap_bytes {
            self.collect();
            if self.footprint() > self.config.max_heap_bytes {
                return Err(oom);
            }
        }
        let at = match self.nursery.active_mut().bump(bytes) {
            Some(at) => at,
            None => {
                self.collect();
                self.nursery.active_mut().bump(bytes).ok_or(oom)?
            }
        };
        // SAFETY: `bump` just reserved `bytes` at `at` inside the active semispace.
        unsafe { raw::zero(at + 8, bytes - 8) };
        self.finish_alloc(at, kind, len, bytes);
        Ok(at)
    }

    /// Whether `addr` is the start of a live object of this heap. Never reads `addr`.
    #[inline]
    #[must_use]
    pub fn is_object(&self, addr: usize) -> bool {
        self.nursery.active().is_object(addr) || self.old.contains(addr)
    }

    fn header(&self, obj: usize) -> Result<Header> {
        if !self.is_object(obj) {
            return Err(Error::new(ErrorKind::NotAnObject));
        }
        // SAFETY: `obj` is the start of a live object of ours (checked above).
        Ok(Header(unsafe { raw::load(obj) }))
    }

    /// The kind of the object at `obj`.
    ///
    /// # Errors
    /// `NotAnObject` unless `obj` is a live object.
    pub fn kind(&self, obj: usize) -> Result<Kind> {
        Ok(self.header(obj)?.kind())
    }

    /// The element count of the object at `obj`.
    ///
    /// # Errors
    /// `NotAnObject` unless `obj` is a live object.
    pub fn len(&self, obj: usize) -> Result<usize> {
        Ok(self.header(obj)?.len())
    }

    /// Address of element `i` of `obj`, checked for object, kind and bounds.
    fn element(&self, obj: usize, i: i64, want: Kind) -> Result<usize> {
        let h = self.header(obj)?;
        if h.kind() != want {
            return Err(Error::new(ErrorKind::WrongKind));
        }
        match usize::try_from(i) {
            Ok(i) if i < h.len() => Ok(element_addr(obj, i)),
            _ => Err(Error::new(ErrorKind::OutOfBounds)),
        }
    }

    /// Element `i` of the integer array `obj`.
    ///
    /// # Errors
    /// `NotAnObject`, `WrongKind` (a reference array), `OutOfBounds`.
    pub fn get_int(&self, obj: usize, i: i64) -> Result<i64> {
        let at = self.element(obj, i, Kind::Ints)?;
        // SAFETY: `element` proved `at` is an element of a live object.
        Ok(unsafe { raw::load(at) } as i64)
    }

    /// Sets element `i` of the integer array `obj`.
    ///
    /// # Errors
    /// As [`Heap::get_int`].
    pub fn set_int(&mut self, obj: usize, i: i64, value: i64) -> Result<()> {
        let at = self.element(obj, i, Kind::Ints)?;
        // SAFETY: `element` proved `at` is an element of a live object.
        unsafe { raw::store(at, value as u64) };
        Ok(())
    }

    /// Element `i` of the reference array `obj` (0 for NULL).
    ///
    /// # Errors
    /// `NotAnObject`, `WrongKind` (an integer array), `OutOfBounds`.
    pub fn get_ref(&self, obj: usize, i: i64) -> Result<usize> {
        let at = self.element(obj, i, Kind::Refs)?;
        // SAFETY: `element` proved `at` is an element of a live object.
        Ok(unsafe { raw::load(at) } as usize)
    }

    /// Stores `value` (0 or a live object) into element `i` of the reference array `obj`,
    /// with the generational write barrier.
    ///
    /// # Errors
    /// As [`Heap::get_ref`], and `NotAReference` if `value` is neither 0 nor a live object.
    pub fn set_ref(&mut self, obj: usize, i: i64, value: usize) -> Result<()> {
        let at = self.element(obj, i, Kind::Refs)?;
        if value != 0 && !self.is_object(value) {
            return Err(Error::new(ErrorKind::NotAReference));
        }
        // SAFETY: `element` proved `at` is an element of a live object.
        unsafe { raw::store(at, value as u64) };
        let young = &self.nursery.active();
        if young.in_use(value) && !young.in_use(obj) {
            self.remember(obj);
        }
        Ok(())
    }

    /// Adds the old object `obj` to the remembered set (once).
    fn remember(&mut self, obj: usize) {
        // SAFETY: callers pass a live old object.
        let h = Header(unsafe { raw::load(obj) });
        if !h.remembered() {
            // SAFETY: as above.
            unsafe { raw::store(obj, h.with_remembered(true).0) };
            self.remembered.push(obj);
        }
    }

    /// Registers `slot` as a root: every collection reads it and, if it holds a live object
    /// that moves, rewrites it. Any other value (NULL, integers, wild pointers, interior
    /// pointers) is left alone and never dereferenced.
    ///
    /// # Errors
    /// `Null`, `Misaligned`, `AlreadyRooted`.
    ///
    /// # Safety
    /// Until `remove_root(slot)`, `slot` must stay valid for 8-byte reads and writes by this
    /// heap's collections (which run only inside this heap's methods).
    pub unsafe fn add_root(&mut self, slot: *mut usize) -> Result<()> {
        self.roots.add(slot as usize)
    }

    /// Unregisters a slot added by [`Heap::add_root`]. Never reads `slot`.
    ///
    /// # Errors
    /// `Null`, `Misaligned`, `NotRooted`.
    pub fn remove_root(&mut self, slot: *mut usize) -> Result<()> {
        self.roots.remove(slot as usize)
    }

    /// Number of registered root slots.
    #[must_use]
    pub fn registered_roots(&self) -> usize {
        self.roots.registered()
    }

    /// Pushes a shadow-stack frame of `n` consecutive slots at `slots`.
    ///
    /// # Errors
    /// `BadSize` (n < 0 or > `MAX_FRAME_SLOTS`), `Null`/`Misaligned` (for n > 0),
    /// `FramesPushed` (more than `MAX_FRAMES`).
    ///
    /// # Safety
    /// Until the matching `pop_frame`, the `n` slots must stay valid for reads and writes
    /// by collections, and hold 0 or values the collector may ignore or rewrite.
    pub unsafe fn push_frame(&mut self, slots: *mut usize, n: i64) -> Result<()> {
        self.roots.push_frame(slots as usize, n)
    }

    /// Pops the top shadow-stack frame, which must be the one pushed with `slots`.
    ///
    /// # Errors
    /// `FrameMismatch` if the stack is empty or its top frame is another one.
    pub fn pop_frame(&mut self, slots: *mut usize) -> Result<()> {
        self.roots.pop_frame(slots as usize)
    }

    /// Frames on the shadow stack.
    #[must_use]
    pub fn frame_depth(&self) -> usize {
        self.roots.depth()
    }

    /// Asks for a full collection at the next [`Heap::safepoint`] (or instead of the next
    /// nursery collection an allocation starts).
    pub fn request_collection(&mut self) {
        self.pending = true;
    }

    /// Runs a requested collection, if any; returns whether it collected.
    pub fn safepoint(&mut self) -> bool {
        if std::mem::take(&mut self.pending) {
            self.collect();
            true
        } else {
            false
        }
    }

    /// Current counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.used_bytes = self.used() as u64;
        s
    }

    /// Bytes in objects now.
    pub(crate) fn used(&self) -> usize {
        self.nursery.used() + self.old.bytes()
    }

    /// Reserved nursery plus old-space bytes.
    pub(crate) fn footprint(&self) -> usize {
        2 * self.nursery.capacity() + self.old.bytes()
    }

    pub(crate) fn note_footprint(&mut self) {
        self.stats.peak_bytes = self.stats.peak_bytes.max(self.footprint() as u64);
    }

    /// Number of objects in the old space (garbage included until the next full collection).
    #[must_use]
    pub fn old_objects(&self) -> usize {
        self.old.len()
    }

    /// Whether `obj` is a live object in the nursery (it will move at the next collection).
    #[must_use]
    pub fn is_young(&self, obj: usize) -> bool {
        self.nursery.active().is_object(obj)
    }
}
