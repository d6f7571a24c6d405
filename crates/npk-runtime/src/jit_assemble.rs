//! `Jit.assemble`: Intel-syntax text assembled by `npk-asm`, proven by
//! `npk-jit`, installed into a `wildx` page.
//!
//! The assembler is untrusted: its bytes are validated like any user bytes,
//! at the address of the page they will run at, and what is installed is
//! exactly what was validated. A rejection names the source line of the
//! offending instruction (`line 3: \`add rax, [rdi]\`: <rule>`); an assembly
//! error names line, column and what was expected. The C exports
//! (`npk_jit_assemble_size`, `npk_jit_assemble_install`, in `abi.rs`) let a
//! stdlib function allocate the page itself, so the ownership checker sees the
//! `wildx_alloc`: size = assemble; alloc; install = validate, copy, record the
//! signature (reusing the size call's assembly when text and signature are the
//! same, else assembling again); then `wildx_seal`.
//! Imported helpers (`uses` in the signature, SPEC §8.3) are parsed but refused
//! until the validator proves import calls and the runtime has a helper table.

use std::cell::RefCell;
use std::fmt;

use npk_asm::Assembly;
use npk_jit::{Policy, Signature, Violation};

use crate::jit_compile::{CompiledFn, MAX_CODE_LEN};

/// Why assembling, validating or installing failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AssembleError {
    /// The signature text does not parse.
    Signature(npk_jit::SignatureError),
    /// The signature imports a helper the runtime does not have.
    Imports(String),
    /// The text does not assemble.
    Syntax(npk_asm::Error),
    /// No instructions, or more than [`MAX_CODE_LEN`] bytes.
    Length(usize),
    /// The validator rejected the code; `line`/`text` locate the instruction.
    Rejected {
        /// 1-based source line of the rejected instruction (0 if none).
        line: u32,
        /// The instruction as written.
        text: String,
        /// The rejection (boxed: a violation is large, errors stay small).
        violation: Box<Violation>,
    },
    /// The page is not a writable page of ours, is too small, or could not be allocated/sealed.
    Page(wildx::Error),
    /// The signature has no page identity (the process's table of buffer signatures is full).
    Identity(npk_jit::IdentityError),
}

impl fmt::Display for AssembleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssembleError::Signature(e) => write!(f, "{e}"),
            AssembleError::Imports(names) => write!(
                f,
                "the runtime has no JIT helper named `{names}` (it has print_i64, copy_bytes, gc_collect and exit_with)"
            ),
            AssembleError::Syntax(e) => write!(f, "{e}"),
            AssembleError::Length(0) => write!(f, "the text has no instructions"),
            AssembleError::Length(n) => {
                write!(f, "code length {n} is not in 1..={MAX_CODE_LEN}")
            }
            AssembleError::Rejected {
                line: 0, violation, ..
            } => write!(f, "{violation}"),
            AssembleError::Rejected {
                line,
                text,
                violation,
            } => write!(
                f,
                "line {line}: `{text}`: {} (offset {:#x})",
                violation.kind(),
                violation.offset()
            ),
            AssembleError::Page(e) => write!(f, "wildx page: {e}"),
            AssembleError::Identity(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AssembleError {}

impl From<wildx::Error> for AssembleError {
    fn from(e: wildx::Error) -> Self {
        AssembleError::Page(e)
    }
}

/// Assembles `text` for `sig`: the code and the parsed signature.
///
/// # Errors
/// [`AssembleError`]: bad signature, imports, syntax, or a length out of range.
pub fn assemble_text(text: &str, sig: &str) -> Result<(Assembly, Signature), AssembleError> {
    let signature: Signature = sig.parse().map_err(AssembleError::Signature)?;
    let uses = signature.uses();
    // Every helper named must be one of the runtime's.
    crate::jit_helpers::import_table(&uses).map_err(AssembleError::Imports)?;
    let names: Vec<&str> = uses.iter().map(String::as_str).collect();
    let asm = npk_asm::assemble(text, &names).map_err(AssembleError::Syntax)?;
    let n = asm.image_len();
    if n == 0 || n > MAX_CODE_LEN {
        return Err(AssembleError::Length(n));
    }
    Ok((asm, signature))
}

thread_local! {
    /// The last assembly [`assemble_size`] made on this thread, keyed by its text and
    /// signature, for the [`assemble_install`] that normally follows with the same
    /// arguments. The assembler is deterministic and its output is validated anyway, so
    /// reusing it only saves the second assembly (about half the cost of `Jit.assemble`).
    static LAST_SIZED: RefCell<Option<(String, String, Assembly, Signature)>> =
        const { RefCell::new(None) };
}

/// Bytes a page needs for `text` assembled for `sig` (code, plus the import table).
///
/// # Errors
/// As [`assemble_text`].
pub fn assemble_size(text: &str, sig: &str) -> Result<usize, AssembleError> {
    let (asm, signature) = assemble_text(text, sig)?;
    let n = asm.image_len();
    LAST_SIZED.with(|c| *c.borrow_mut() = Some((text.to_owned(), sig.to_owned(), asm, signature)));
    Ok(n)
}

/// [`assemble_text`], or the cached result of an [`assemble_size`] of the same arguments.
fn assemble_again(text: &str, sig: &str) -> Result<(Assembly, Signature), AssembleError> {
    let cached = LAST_SIZED.with(|c| {
        let mut c = c.borrow_mut();
        match c.take() {
            Some((t, s, asm, signature)) if t == text && s == sig => Some((asm, signature)),
            other => {
                *c = other;
                None
            }
        }
    });
    match cached {
        Some(hit) => Ok(hit),
        None => assemble_text(text, sig),
    }
}

/// The bytes a page gets: the code, then (with imports) zero padding to the
/// next 8-byte boundary and the import table of helper addresses.
fn image(asm: &Assembly, signature: &Signature) -> Result<Vec<u8>, AssembleError> {
    let mut bytes = asm.code().to_vec();
    if signature.has_uses() {
        let table =
            crate::jit_helpers::import_table(&signature.uses()).map_err(AssembleError::Imports)?;
        bytes.resize(npk_jit::import_table_offset(bytes.len()), 0);
        bytes.extend_from_slice(&table);
    }
    Ok(bytes)
}

/// Validates `asm` for `signature` as code running at `base`; a rejection
/// names the source line.
fn validate_at(
    text: &str,
    asm: &Assembly,
    code: &[u8],
    signature: &Signature,
    base: u64,
) -> Result<(), AssembleError> {
    let policy = Policy {
        base_ip: base,
        helpers: crate::jit_helpers::helpers(),
        ..Policy::runtime()
    };
    npk_jit::validate(code, signature, &policy).map_err(|violation| {
        let placed = asm.source_at(violation.offset());
        AssembleError::Rejected {
            line: placed.map_or(0, npk_asm::Placed::line),
            text: placed.map_or_else(String::new, |p| text[p.text_range()].to_string()),
            violation: Box::new(violation),
        }
    })?;
    Ok(())
}

/// Assembles `text`, validates it for `sig` at the address of the writable page
/// `page` (one of ours, from `npk_wildx_alloc`) and copies it there, recording
/// the signature; `npk_wildx_seal` keeps it only if the page is unchanged since.
///
/// # Errors
/// [`AssembleError`]; `Page` if `page` is not a writable page of ours large enough.
pub fn assemble_install(page: *const u8, text: &str, sig: &str) -> Result<(), AssembleError> {
    let (asm, signature) = assemble_again(text, sig)?;
    // The assembled bytes are our own copy: nobody can change them between check and install.
    validate_at(text, &asm, asm.code(), &signature, page as u64)?;
    let identity = signature.identity().map_err(AssembleError::Identity)?;
    wildx::install_raw(page, &image(&asm, &signature)?, identity).map_err(AssembleError::Page)?;
    // The code length for `npk_jit_disasm` and the perf map.
    crate::pages::installed(page.cast(), asm.code().len());
    Ok(())
}

/// Assembles `text` for `sig`, validates it at the address it gets in the writable raw code
/// arena `arena` (from `npk_wildx_arena_create`) and adds it there, recording the signature;
/// returns the function's address (owned by the arena).
///
/// # Errors
/// [`AssembleError`]; `Page` if `arena` is not a writable code arena of ours with room.
pub fn arena_assemble(
    arena: *const u8,
    text: &str,
    sig: &str,
) -> Result<std::ptr::NonNull<u8>, AssembleError> {
    let (asm, signature) = assemble_text(text, sig)?;
    // The assembled bytes are our own copy: what is validated at `base` is what is added.
    wildx::arena_add_raw(arena, &image(&asm, &signature)?, |base| {
        validate_at(text, &asm, asm.code(), &signature, base)?;
        signature.identity().map_err(AssembleError::Identity)
    })
}

/// Assembles `text`, validates it for `sig` in a fresh page and seals it: the
/// Rust counterpart of `Jit.assemble`.
///
/// ```
/// let f = npk_runtime::assemble("lea rax, [rdi+rsi]\nret", "int64(int64,int64)")
///     .expect("assembled and proven");
/// let add = f.typed::<extern "C" fn(i64, i64) -> i64>().expect("signature");
/// assert_eq!(add.call(40, 2), 42);
/// ```
///
/// # Errors
/// [`AssembleError`], including `Page` if allocation or sealing fails.
pub fn assemble(text: &str, sig: &str) -> Result<CompiledFn, AssembleError> {
    let (asm, signature) = assemble_text(text, sig)?;
    let n = asm.code().len();
    let bytes = image(&asm, &signature)?;
    let mut page = wildx::WritablePage::new(bytes.len()).map_err(AssembleError::Page)?;
    page.as_mut_slice()[..bytes.len()].copy_from_slice(&bytes);
    let base = page.as_slice().as_ptr() as u64;
    // Validate the page's own copy at its own address: what is checked is what gets sealed.
    validate_at(text, &asm, &page.as_slice()[..n], &signature, base)?;
    let identity = signature.identity().map_err(AssembleError::Identity)?;
    let page = page.seal_with_tag(identity).map_err(AssembleError::Page)?;
    Ok(CompiledFn::from_parts(page, signature))
}
