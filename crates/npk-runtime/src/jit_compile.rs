//! `Jit.compile`: validated user code in a sealed page, and typed calls into it.
//!
//! Rust API: [`compile`] copies code into a fresh `wildx` page, validates the
//! copy (so nobody can change the bytes between check and seal) with
//! `npk_jit::Policy::runtime()`, and seals it with the proven signature's page
//! identity (`npk_jit::Signature::identity`: the tag of a scalar signature, an
//! interned index for one with buffers); [`CompiledFn::typed`] hands out a
//! [`JitFn`] only for that exact signature, [`CompiledFn::buffer_fn`] a
//! [`BufferFn`](crate::BufferFn) whose buffers are slices.
//! C ABI (declared in `include/npk_runtime.h`): `npk_jit_compile`,
//! `npk_jit_last_error`, and the `npk_jit_[try_]call_i64_*` helpers, which
//! refuse a page whose recorded tag differs from theirs (an untagged page is
//! called on the caller's word unless `NPK_JIT_STRICT=1`). The exports live
//! here rather than in `abi.rs`, next to the safe code they wrap.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::fmt;
use std::marker::PhantomData;

use npk_jit::{Policy, Signature, Violation};

/// Largest code `npk_jit_compile` accepts (bytes).
pub const MAX_CODE_LEN: usize = 1 << 20;

/// Signature tags of the typed call helpers.
pub const TAG_I64_I64: u32 = 0x212;
/// `int64(int64,int64)`.
pub const TAG_I64_I64_I64: u32 = 0x2222;
/// `int64(int64,int64,int64)`.
pub const TAG_I64_I64_I64_I64: u32 = 0x2_2232;

/// Why [`compile`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CompileError {
    /// The signature text does not parse.
    Signature(npk_jit::SignatureError),
    /// The validator rejected the code.
    Rejected(Violation),
    /// Empty or longer than [`MAX_CODE_LEN`].
    Length(usize),
    /// The page could not be allocated or sealed.
    Page(wildx::Error),
    /// The code arena refused the function (full, sealed, freed, not an arena ...).
    Arena(wildx::Error),
    /// The signature has no page identity (the process's table of buffer signatures is full).
    Identity(npk_jit::IdentityError),
}

/// Registry errors met while adding to a code arena.
impl From<wildx::Error> for CompileError {
    fn from(e: wildx::Error) -> Self {
        CompileError::Arena(e)
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Signature(e) => write!(f, "{e}"),
            CompileError::Rejected(v) => write!(f, "{v}"),
            CompileError::Length(n) => write!(f, "code length {n} is not in 1..={MAX_CODE_LEN}"),
            CompileError::Page(e) => write!(f, "wildx page: {e}"),
            CompileError::Arena(e) => write!(f, "code arena: {e}"),
            CompileError::Identity(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CompileError {}

/// Validated code sealed in its own page, with its proven signature.
/// Dropping it frees the page; every [`JitFn`] borrowed from it ends first.
#[derive(Debug)]
pub struct CompiledFn {
    page: wildx::ExecutablePage,
    signature: Signature,
}

/// Validates `code` for `sig` and seals it into a fresh page that records `sig`'s identity.
///
/// # Errors
/// [`CompileError`]: bad signature or length, rejection (with the violation), page failure.
pub fn compile(code: &[u8], sig: &str) -> Result<CompiledFn, CompileError> {
    let signature = checked_input(code, sig)?;
    let mut page = wildx::WritablePage::new(code.len()).map_err(CompileError::Page)?;
    page.as_mut_slice()[..code.len()].copy_from_slice(code);
    // Validate the page's own copy: what is checked is exactly what gets sealed.
    npk_jit::validate(
        &page.as_slice()[..code.len()],
        &signature,
        &Policy::runtime(),
    )
    .map_err(CompileError::Rejected)?;
    let identity = signature.identity().map_err(CompileError::Identity)?;
    let page = page.seal_with_tag(identity).map_err(CompileError::Page)?;
    Ok(CompiledFn { page, signature })
}

/// Validates `code` for `sig` and copies it into the start of the writable page
/// `page` (one of ours, from `npk_wildx_alloc`), recording the signature's identity.
/// The page stays writable: `npk_wildx_seal` keeps the tag only if the page is
/// unchanged since this install (its hash is compared), so what was proven is
/// what gets sealed. `Jit.compile` in `jit.npk` is alloc + install + seal.
///
/// # Errors
/// [`CompileError`]: bad signature or length, rejection, or a page that is not a
/// writable page of ours large enough for the code.
pub fn install(page: *const u8, code: &[u8], sig: &str) -> Result<(), CompileError> {
    let signature = checked_input(code, sig)?;
    // Validate a private copy: the caller's buffer may change after the check.
    let copy = code.to_vec();
    npk_jit::validate(&copy, &signature, &Policy::runtime()).map_err(CompileError::Rejected)?;
    let identity = signature.identity().map_err(CompileError::Identity)?;
    wildx::install_raw(page, &copy, identity).map_err(CompileError::Page)
}

/// The parsed signature, if it parses and `code` has an acceptable length.
pub(crate) fn checked_input(code: &[u8], sig: &str) -> Result<Signature, CompileError> {
    let signature: Signature = sig.parse().map_err(CompileError::Signature)?;
    if code.is_empty() || code.len() > MAX_CODE_LEN {
        return Err(CompileError::Length(code.len()));
    }
    Ok(signature)
}

impl CompiledFn {
    /// A sealed page whose code was proven for `signature` (recording its identity).
    pub(crate) fn from_parts(page: wildx::ExecutablePage, signature: Signature) -> CompiledFn {
        CompiledFn { page, signature }
    }

    /// The proven signature.
    #[must_use]
    pub fn signature(&self) -> Signature {
        self.signature
    }

    /// A typed handle, only if `F`'s signature is exactly the proven one.
    #[must_use]
    pub fn typed<F: SysvFn>(&self) -> Option<JitFn<'_, F>> {
        // `F::TAG` is a scalar signature's tag, which is its page identity.
        let proven = self.page.tag() == F::TAG && self.signature.known_identity() == Some(F::TAG);
        proven.then(|| JitFn {
            entry: self.page.entry(),
            _page: PhantomData,
        })
    }

    /// A handle whose buffer parameters are slices (see [`BufferFn`](crate::BufferFn)),
    /// only if the Rust shape `P -> R` fits the proven signature.
    ///
    /// # Errors
    /// [`ShapeError`](crate::ShapeError) naming the shape that fits.
    pub fn buffer_fn<P: crate::Args, R: crate::Ret>(
        &self,
    ) -> Result<crate::BufferFn<'_, P, R>, crate::ShapeError> {
        crate::BufferFn::new(self.page.entry(), self.page.tag())
    }

    /// Gives the page to the raw (C) API; free it with `npk_wildx_free`.
    #[must_use]
    pub fn into_raw(self) -> *mut c_void {
        self.page.into_raw().as_ptr().cast()
    }
}

/// A function-pointer type the validator can prove (sealed trait).
pub trait SysvFn: sealed::Sealed + Copy {
    /// Its signature tag.
    const TAG: u32;
}

mod sealed {
    pub trait Sealed {}
}

/// A callable handle into a [`CompiledFn`] (or a function of a sealed code arena) whose
/// signature was proven to be `F`.
#[derive(Debug, Clone, Copy)]
pub struct JitFn<'a, F> {
    entry: *const u8,
    _page: PhantomData<(&'a CompiledFn, F)>,
}

impl<'a, F: SysvFn> JitFn<'a, F> {
    /// A typed handle to a function of a sealed arena, only if its recorded signature is
    /// exactly `F`'s. It borrows the arena like the [`wildx::FnRef`] does. Only for
    /// functions the validator proved (`CompiledArena::typed`): a `wildx` arena's tags are
    /// the caller's word.
    pub(crate) fn from_arena(f: wildx::FnRef<'a>) -> Option<Self> {
        (f.tag() == F::TAG).then(|| JitFn {
            entry: f.entry(),
            _page: PhantomData,
        })
    }
}

macro_rules! sysv_fn {
    ($tag:expr, fn($($a:ident: $t:ty),*) -> $r:ty) => {
        impl sealed::Sealed for extern "C" fn($($t),*) -> $r {}
        impl SysvFn for extern "C" fn($($t),*) -> $r {
            const TAG: u32 = $tag;
        }
        impl JitFn<'_, extern "C" fn($($t),*) -> $r> {
            /// Calls the code. It was proven to follow this signature, touch only
            /// its own stack frame and make no system call; it may loop forever
            /// (loops are allowed by the runtime policy).
            pub fn call(&self, $($a: $t),*) -> $r {
                // SAFETY: `entry` is the start of a sealed page, or of a function of a
                // sealed arena, borrowed for 'a (it cannot be freed meanwhile), whose code
                // the validator proved to be a SysV function of exactly this signature
                // (tag checked in `typed` / `from_arena`).
                let f: extern "C" fn($($t),*) -> $r = unsafe { std::mem::transmute(self.entry) };
                f($($a),*)
            }
        }
    };
}

sysv_fn!(crate::jit::TAG_I32_I32, fn(a: i32, b: i32) -> i32);
sysv_fn!(TAG_I64_I64, fn(a: i64) -> i64);
sysv_fn!(TAG_I64_I64_I64, fn(a: i64, b: i64) -> i64);
sysv_fn!(TAG_I64_I64_I64_I64, fn(a: i64, b: i64, c: i64) -> i64);

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `msg` as this thread's [`npk_jit_last_error`].
pub(crate) fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// The code bytes and signature text of a `npk_jit_compile`/`npk_jit_install`
/// call, or why they are unusable (NULL, length out of range, not UTF-8).
///
/// # Safety
/// `code` is NULL or readable for `len` bytes; `sig` is NULL or a
/// NUL-terminated string; both outlive the returned borrows.
pub(crate) unsafe fn code_and_sig<'a>(
    code: *const c_void,
    len: i64,
    sig: *const c_char,
) -> Result<(&'a [u8], &'a str), String> {
    if code.is_null() || sig.is_null() {
        return Err("code or signature is NULL".to_string());
    }
    let n = usize::try_from(len)
        .ok()
        .filter(|&n| n > 0 && n <= MAX_CODE_LEN);
    let Some(n) = n else {
        return Err(format!("code length {len} is not in 1..={MAX_CODE_LEN}"));
    };
    // SAFETY: non-null, NUL-terminated by the caller's contract.
    let sig = unsafe { CStr::from_ptr(sig) };
    let sig = sig
        .to_str()
        .map_err(|_| "signature is not UTF-8".to_string())?;
    // SAFETY: non-null and readable for `n` bytes by the caller's contract.
    let bytes = unsafe { std::slice::from_raw_parts(code.cast::<u8>(), n) };
    Ok((bytes, sig))
}

/// Validates `len` bytes at `code` as a function of signature `sig` (e.g.
/// `"int64(int64,int64)"`), copies them into a fresh `wildx` page, seals it
/// with the signature's tag and returns it; NULL on any failure, with the
/// reason in [`npk_jit_last_error`]. Free the page with `npk_wildx_free`.
///
/// # Safety
/// `code` is NULL or readable for `len` bytes; `sig` is NULL or a
/// NUL-terminated string. Both stay owned by the caller. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_compile(
    code: *const c_void,
    len: i64,
    sig: *const c_char,
) -> *mut c_void {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: the caller's contract is the one `code_and_sig` requires.
        let (bytes, sig) = unsafe { code_and_sig(code, len, sig) }?;
        let p = compile(bytes, sig)
            .map(CompiledFn::into_raw)
            .map_err(|e| e.to_string())?;
        crate::pages::installed(p, bytes.len());
        crate::pages::sealed(p);
        Ok::<_, String>(p)
    });
    match result {
        Ok(Ok(p)) => {
            set_last_error("");
            p
        }
        Ok(Err(msg)) => {
            report_compile_refusal("compile", &format_args!("{len}"), &msg);
            std::ptr::null_mut()
        }
        Err(_) => {
            set_last_error("internal error");
            std::ptr::null_mut()
        }
    }
}

/// Validates `len` bytes at `code` as a function of signature `sig` and copies
/// them into the writable page `page` (from `npk_wildx_alloc`), recording the
/// signature; seal it with `npk_wildx_seal`, which keeps the signature only if
/// the page was not changed in between. Returns 0, or -1 with the reason in
/// [`npk_jit_last_error`] (and one stderr line).
///
/// # Safety
/// `code` is NULL or readable for `len` bytes; `sig` is NULL or a
/// NUL-terminated string; `page` may be any value (it is checked). Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_install(
    page: *mut c_void,
    code: *const c_void,
    len: i64,
    sig: *const c_char,
) -> i32 {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: the caller's contract is the one `code_and_sig` requires.
        let (bytes, sig) = unsafe { code_and_sig(code, len, sig) }?;
        install(page.cast(), bytes, sig).map_err(|e| e.to_string())?;
        crate::pages::installed(page, bytes.len());
        Ok::<_, String>(())
    });
    match result {
        Ok(Ok(())) => {
            set_last_error("");
            0
        }
        Ok(Err(msg)) => {
            report_compile_refusal("install", &format_args!("{page:p}"), &msg);
            -1
        }
        Err(_) => {
            set_last_error("internal error");
            -1
        }
    }
}

/// Records a refused compile/install (the validator's reason as is, so a program can show
/// it) and prints `jit: <op>(<arg>) rejected: <reason>` unless `NPK_WILDX_QUIET=1`.
pub(crate) fn report_compile_refusal(op: &str, arg: &dyn fmt::Display, msg: &str) {
    set_last_error(msg);
    if !wildx::options().quiet {
        eprintln!("jit: {op}({arg}) rejected: {msg}");
    }
}

/// Why the last refused runtime operation on this thread failed: the validator's reason for
/// `npk_jit_compile`/`npk_jit_install`/`npk_jit_arena_add`/`npk_jit_assemble_*`,
/// `allocation of N bytes failed: ...` for
/// `npk_wildx_alloc`, `seal failed: ...`, `free failed: ...`, `call refused: ...`. A
/// successful `npk_jit_compile`/`npk_jit_install`/`npk_jit_install_add_i32` resets it to "";
/// other successful operations leave it alone (calls never touch it on their fast path).
/// Valid until the next refusal or install on this thread; never NULL.
///
/// # Safety
/// Always safe to call; do not free or write the result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_last_error() -> *const c_char {
    static EMPTY: &CStr = c"";
    LAST_ERROR
        .try_with(|e| e.borrow().as_ptr())
        .unwrap_or(EMPTY.as_ptr())
}

/// Checks `p` for `tag`; on refusal reports it and returns the status code.
fn entry_for(p: *mut c_void, tag: u32) -> Result<wildx::Entry, i32> {
    if let Some(e) = wildx::quick_entry(p.cast(), tag) {
        return Ok(e);
    }
    match std::panic::catch_unwind(|| {
        wildx::checked_entry(p.cast(), tag).map_err(|e| crate::jit::rejected("call", p, e).code())
    }) {
        Ok(r) => r,
        Err(_) => Err(9),
    }
}

fn write_status(status: *mut i32, code: i32) {
    if !status.is_null() {
        // SAFETY: non-null, and the caller guarantees it is valid for one write.
        unsafe { status.write(code) };
    }
}

/// Checks `p` for `tag`, writes the status, and on success calls `run` with the entry.
fn typed_call(
    p: *mut c_void,
    tag: u32,
    status: *mut i32,
    run: impl FnOnce(*const u8) -> i64,
) -> i64 {
    match entry_for(p, tag) {
        Ok(e) => {
            write_status(status, 0);
            run(e.ptr())
        }
        Err(code) => {
            write_status(status, code);
            0
        }
    }
}

// The exports below share one contract.
//
// Plain form: calls `p` with the helper's signature; returns 0 (and prints a stderr line) if
// the page is NULL, not ours, not sealed, freed, or recorded with a different signature.
// Try form: the same, and writes 0 to `*status` on success or the `NPK_JIT_ERR_*` code.
//
// SAFETY (for every `transmute` below): `entry_for` returned the start of a sealed page of
// ours whose recorded tag is this helper's signature, which `npk_jit_compile` records only
// after the validator proved it; or an untagged page sealed by hand, called on the caller's
// word (refused with NPK_JIT_STRICT=1), as in the seed.

/// `int64(int64)`: see the shared contract above the exports.
///
/// # Safety
/// `p` may be any value; it is checked first. Freeing the page concurrently is a
/// use-after-free by the caller.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_call_i64_i64(p: *mut c_void, a: i64) -> i64 {
    typed_call(p, TAG_I64_I64, std::ptr::null_mut(), |e| {
        // SAFETY: see the shared contract above.
        let f: extern "C" fn(i64) -> i64 = unsafe { std::mem::transmute(e) };
        f(a)
    })
}

/// Try form of [`npk_jit_call_i64_i64`].
///
/// # Safety
/// As the plain form; `status` is NULL or valid for one `int32_t` write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_try_call_i64_i64(p: *mut c_void, a: i64, status: *mut i32) -> i64 {
    typed_call(p, TAG_I64_I64, status, |e| {
        // SAFETY: see the shared contract above.
        let f: extern "C" fn(i64) -> i64 = unsafe { std::mem::transmute(e) };
        f(a)
    })
}

/// `int64(int64,int64)`: see the shared contract above the exports.
///
/// # Safety
/// As [`npk_jit_call_i64_i64`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_call_i64_i64_i64(p: *mut c_void, a: i64, b: i64) -> i64 {
    typed_call(p, TAG_I64_I64_I64, std::ptr::null_mut(), |e| {
        // SAFETY: see the shared contract above.
        let f: extern "C" fn(i64, i64) -> i64 = unsafe { std::mem::transmute(e) };
        f(a, b)
    })
}

/// Try form of [`npk_jit_call_i64_i64_i64`].
///
/// # Safety
/// As the plain form; `status` is NULL or valid for one `int32_t` write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_try_call_i64_i64_i64(
    p: *mut c_void,
    a: i64,
    b: i64,
    status: *mut i32,
) -> i64 {
    typed_call(p, TAG_I64_I64_I64, status, |e| {
        // SAFETY: see the shared contract above.
        let f: extern "C" fn(i64, i64) -> i64 = unsafe { std::mem::transmute(e) };
        f(a, b)
    })
}

/// `int64(int64,int64,int64)`: see the shared contract above the exports.
///
/// # Safety
/// As [`npk_jit_call_i64_i64`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_call_i64_i64_i64_i64(
    p: *mut c_void,
    a: i64,
    b: i64,
    c: i64,
) -> i64 {
    typed_call(p, TAG_I64_I64_I64_I64, std::ptr::null_mut(), |e| {
        // SAFETY: see the shared contract above.
        let f: extern "C" fn(i64, i64, i64) -> i64 = unsafe { std::mem::transmute(e) };
        f(a, b, c)
    })
}

/// Try form of [`npk_jit_call_i64_i64_i64_i64`].
///
/// # Safety
/// As the plain form; `status` is NULL or valid for one `int32_t` write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn npk_jit_try_call_i64_i64_i64_i64(
    p: *mut c_void,
    a: i64,
    b: i64,
    c: i64,
    status: *mut i32,
) -> i64 {
    typed_call(p, TAG_I64_I64_I64_I64, status, |e| {
        // SAFETY: see the shared contract above.
        let f: extern "C" fn(i64, i64, i64) -> i64 = unsafe { std::mem::transmute(e) };
        f(a, b, c)
    })
}
