//! Function signatures: parsing `"int64(int64* xs[n], int64 n)"`, the
//! canonical identity text and the 32-bit page tag.
//!
//! In: a signature string (grammar in SPEC §8.1). Out: a [`Signature`]
//! (return type plus up to six SysV integer-class parameters, each a scalar
//! or a buffer) or a [`SignatureError`] naming what is wrong and where.
//! Parameter names document a signature and name extents; they are not part
//! of its identity. A buffer parameter `['mut'] elem '*' name '[' extent ']'`
//! is a pointer to `extent` elements of `elem` (the caller's promise); the
//! extent is a decimal count or the name of an `int64`/`uint64` parameter (a
//! negative count means an empty buffer). Without `mut` the buffer is read
//! only.
//!
//! Identity: [`Signature::canonical`] prints the signature without names,
//! extents as `[8]` or `[#k]` (parameter k, from 0), e.g.
//! `int64(int64*[#1],int64)`; two signatures are the same exactly when their
//! canonical texts are. The 32-bit tag encodes scalar signatures exactly:
//! bits 0-3 return type code, bits 4-7 parameter count, then 4 bits per
//! parameter from bit 8; codes 1=int32 2=int64 3=uint32 4=uint64 5=pointer
//! (so bit 31 is never set). A buffer parameter has code 5, so the tag alone
//! does not identify a buffer signature: pages record the
//! [`identity`](Signature::identity) (`identity.rs`), which is the tag for a
//! scalar signature and an interned index for one with buffers.

use std::fmt;

use crate::imports::MAX_USES;

/// Maximum number of parameters: the six SysV integer argument registers.
pub const MAX_PARAMS: usize = 6;

/// A value type a JIT'd function may take or return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigType {
    /// `int32`: low 32 bits of the register; the upper half is undefined.
    Int32,
    /// `int64`: the whole register.
    Int64,
    /// `uint32`: low 32 bits of the register; the upper half is undefined.
    Uint32,
    /// `uint64`: the whole register.
    Uint64,
    /// Any pointer type (`ptr`, `int8*`, `int8->`, `void*`); only usable when
    /// the [`Policy`](crate::Policy) allows pointer parameters.
    Pointer,
    /// `NIL`: no value (a return type only; `rax` need not be defined).
    Nil,
}

impl SigType {
    /// Every type, in declaration order (`ALL[t as usize] == t`).
    const ALL: [SigType; 6] = [
        SigType::Int32,
        SigType::Int64,
        SigType::Uint32,
        SigType::Uint64,
        SigType::Pointer,
        SigType::Nil,
    ];

    /// Width in bytes of the defined part of the register holding this type.
    #[must_use]
    pub const fn width(self) -> u8 {
        match self {
            SigType::Int32 | SigType::Uint32 => 4,
            SigType::Int64 | SigType::Uint64 | SigType::Pointer => 8,
            SigType::Nil => 0,
        }
    }

    /// The 4-bit type code used in [`Signature::tag`].
    #[must_use]
    pub const fn code(self) -> u32 {
        match self {
            SigType::Int32 => 1,
            SigType::Int64 => 2,
            SigType::Uint32 => 3,
            SigType::Uint64 => 4,
            SigType::Pointer => 5,
            SigType::Nil => 6,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SigType::Int32 => "int32",
            SigType::Int64 => "int64",
            SigType::Uint32 => "uint32",
            SigType::Uint64 => "uint64",
            SigType::Pointer => "ptr",
            SigType::Nil => "NIL",
        }
    }

    fn parse(word: &str) -> Option<SigType> {
        let t = match word {
            "int32" => SigType::Int32,
            "int64" => SigType::Int64,
            "uint32" => SigType::Uint32,
            "uint64" => SigType::Uint64,
            "ptr" | "pointer" => SigType::Pointer,
            "NIL" => SigType::Nil,
            _ => {
                // `T*` and Nitpick's `T->` for any of the scalar type names.
                let base = word
                    .strip_suffix('*')
                    .or_else(|| word.strip_suffix("->"))?
                    .trim_end();
                const BASES: &[&str] = &[
                    "void", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
                    "uint64",
                ];
                if BASES.contains(&base) {
                    SigType::Pointer
                } else {
                    return None;
                }
            }
        };
        Some(t)
    }
}

/// The element type of a buffer parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Elem {
    /// `int8`
    Int8,
    /// `uint8`
    Uint8,
    /// `int16`
    Int16,
    /// `uint16`
    Uint16,
    /// `int32`
    Int32,
    /// `uint32`
    Uint32,
    /// `int64`
    Int64,
    /// `uint64`
    Uint64,
}

impl Elem {
    /// Size of one element in bytes.
    #[must_use]
    pub const fn size(self) -> u8 {
        match self {
            Elem::Int8 | Elem::Uint8 => 1,
            Elem::Int16 | Elem::Uint16 => 2,
            Elem::Int32 | Elem::Uint32 => 4,
            Elem::Int64 | Elem::Uint64 => 8,
        }
    }

    /// The type's name as written in a signature.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Elem::Int8 => "int8",
            Elem::Uint8 => "uint8",
            Elem::Int16 => "int16",
            Elem::Uint16 => "uint16",
            Elem::Int32 => "int32",
            Elem::Uint32 => "uint32",
            Elem::Int64 => "int64",
            Elem::Uint64 => "uint64",
        }
    }

    /// Every element type, in declaration order (`ALL[e as usize] == e`).
    const ALL: [Elem; 8] = [
        Elem::Int8,
        Elem::Uint8,
        Elem::Int16,
        Elem::Uint16,
        Elem::Int32,
        Elem::Uint32,
        Elem::Int64,
        Elem::Uint64,
    ];

    fn parse(word: &str) -> Option<Elem> {
        Elem::ALL.into_iter().find(|e| e.name() == word)
    }
}

/// Largest constant extent, in bytes (`extent * sizeof(elem)`): 2^40.
pub const MAX_CONST_EXTENT_BYTES: u64 = 1 << 40;

/// How many elements a buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extent {
    /// A constant element count.
    Count(u64),
    /// The value of parameter `k` (an `int64` or `uint64`), read at entry.
    Param(u8),
}

/// A buffer parameter: a pointer to `extent` elements of `elem`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Buffer {
    /// Element type.
    pub elem: Elem,
    /// Element count.
    pub extent: Extent,
    /// Whether the function may store into it.
    pub mutable: bool,
}

/// One parameter of a [`Signature`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Param {
    /// A scalar (or an unsized pointer, only usable by policy).
    Scalar(SigType),
    /// A buffer with an extent.
    Buffer(Buffer),
}

impl Param {
    /// The register type: a buffer is a pointer.
    #[must_use]
    pub fn ty(self) -> SigType {
        match self {
            Param::Scalar(t) => t,
            Param::Buffer(_) => SigType::Pointer,
        }
    }
}

/// A proven-callable function shape: `ret(params...)` under the SysV ABI.
///
/// ```
/// use npk_jit::Signature;
/// let sig: Signature = "int32(int32, int32)".parse().expect("valid signature");
/// assert_eq!(sig.tag(), 0x1121);
/// assert_eq!(sig.to_string(), "int32(int32,int32)");
/// let sum: Signature = "int64(int64* xs[n], int64 n)".parse().expect("valid");
/// assert_eq!(sum.canonical(), "int64(int64*[#1],int64)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature {
    ret: SigType,
    /// Each parameter in 8 bytes ([`Packed`]): the signature is 72 bytes
    /// (168 with `Option<Param>`s), so a report's copy of it is a few moves
    /// instead of a `memcpy` call.
    params: [Packed; MAX_PARAMS],
    /// Interned helper names of the `uses` clause, in order.
    uses: [u16; MAX_USES],
    nuses: u8,
    /// [`HAS_BUFFER`] and [`HAS_POINTER`], computed with `params` (every
    /// validation asks; a function of the fields above, so equality and
    /// hashing mean what they meant without it).
    facts: u8,
    /// The parameters' types, 4 bits each (`1 + SigType as u32`, 0 past the
    /// last), for a signature without buffers: what its entry state depends
    /// on ([`Signature::entry_key`]). A function of `params`, like `facts`.
    entry_key: u32,
}

/// [`Signature::facts`] bits.
const HAS_BUFFER: u8 = 1;
const HAS_POINTER: u8 = 2;

impl fmt::Debug for Signature {
    // The derived text of the fields other than the cached `facts`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("ret", &self.ret)
            .field("params", &self.params.map(Packed::unpack))
            .field("uses", &self.uses)
            .field("nuses", &self.nuses)
            .finish()
    }
}

impl Signature {
    /// Builds a scalar signature from parts.
    ///
    /// # Errors
    /// [`SignatureError`] if there are more than [`MAX_PARAMS`] parameters.
    pub fn new(ret: SigType, params: &[SigType]) -> Result<Signature, SignatureError> {
        let params: Vec<Param> = params.iter().map(|&t| Param::Scalar(t)).collect();
        Signature::with_params(ret, &params)
    }

    /// Builds a signature from parameters that may be buffers.
    ///
    /// # Errors
    /// [`SignatureError`] if there are more than [`MAX_PARAMS`] parameters, or
    /// a buffer's extent is not an `int64`/`uint64` parameter or is too large.
    pub fn with_params(ret: SigType, params: &[Param]) -> Result<Signature, SignatureError> {
        let err = |message: String| SignatureError { at: 0, message };
        if params.len() > MAX_PARAMS {
            return Err(err(format!(
                "{} parameters; at most {MAX_PARAMS} are supported",
                params.len()
            )));
        }
        let mut p = [Packed::NONE; MAX_PARAMS];
        let mut facts = 0;
        let mut entry_key = 0;
        for (i, (slot, param)) in p.iter_mut().zip(params).enumerate() {
            match param {
                Param::Buffer(b) => {
                    check_extent(b, params).map_err(|m| err(format!("parameter {i}: {m}")))?;
                    facts |= HAS_BUFFER;
                }
                Param::Scalar(SigType::Pointer) => facts |= HAS_POINTER,
                Param::Scalar(_) => {}
            }
            entry_key |= (1 + param.ty() as u32) << (4 * i);
            *slot = Packed::pack(*param);
        }
        if ret == SigType::Pointer {
            facts |= HAS_POINTER;
        }
        Ok(Signature {
            ret,
            params: p,
            uses: [0; MAX_USES],
            nuses: 0,
            facts,
            entry_key,
        })
    }

    /// The return type.
    #[must_use]
    pub fn ret(&self) -> SigType {
        self.ret
    }

    /// The parameter register types, in register order (rdi rsi rdx rcx r8
    /// r9); a buffer is [`SigType::Pointer`].
    pub fn params(&self) -> impl Iterator<Item = SigType> + '_ {
        self.full_params().map(Param::ty)
    }

    /// The parameters with their buffer details, in register order.
    pub fn full_params(&self) -> impl Iterator<Item = Param> + '_ {
        self.params.iter().map_while(|p| p.unpack())
    }

    /// Parameter `i`, if there is one.
    #[must_use]
    pub fn param(&self, i: usize) -> Option<Param> {
        self.params.get(i).and_then(|p| p.unpack())
    }

    /// Number of parameters.
    #[must_use]
    pub fn param_count(&self) -> usize {
        self.full_params().count()
    }

    /// Whether the return type or any parameter is an unsized pointer (the
    /// kind only a [`Policy`](crate::Policy) window makes usable).
    #[must_use]
    pub fn has_pointer(&self) -> bool {
        self.facts & HAS_POINTER != 0
    }

    /// The helpers the `uses` clause names, in order (the import table's).
    #[must_use]
    pub fn uses(&self) -> Vec<String> {
        self.uses[..usize::from(self.nuses)]
            .iter()
            .map(|&i| crate::imports::name(i))
            .collect()
    }

    /// Whether the signature imports helpers.
    #[must_use]
    pub fn has_uses(&self) -> bool {
        self.nuses > 0
    }

    /// This signature with a `uses` clause naming `names` (replacing any).
    ///
    /// # Errors
    /// [`SignatureError`] for more than [`MAX_USES`] names, a name that is
    /// not an identifier or appears twice, or a full name table.
    pub fn with_uses(mut self, names: &[&str]) -> Result<Signature, SignatureError> {
        let err = |message: String| SignatureError { at: 0, message };
        if names.len() > MAX_USES {
            return Err(err(format!(
                "{} helpers in `uses`; at most {MAX_USES} are supported",
                names.len()
            )));
        }
        self.uses = [0; MAX_USES];
        for (k, name) in names.iter().enumerate() {
            if !is_ident(name) {
                return Err(err(format!("`{name}` is not a helper name")));
            }
            if names[..k].contains(name) {
                return Err(err(format!("helper `{name}` is named twice in `uses`")));
            }
            self.uses[k] = crate::imports::intern(name)
                .ok_or_else(|| err("too many distinct helper names in this process".into()))?;
        }
        self.nuses = names.len() as u8;
        Ok(self)
    }

    /// Whether any parameter is a buffer.
    #[must_use]
    pub fn has_buffer(&self) -> bool {
        self.facts & HAS_BUFFER != 0
    }

    /// For a signature without buffers, a key that is equal for two
    /// signatures exactly when their parameter types are (in order): what
    /// the entry state of a validation without assumed arguments depends on
    /// (the validator keeps that state per key). `None` with buffers.
    pub(crate) fn entry_key(&self) -> Option<u32> {
        (!self.has_buffer()).then_some(self.entry_key)
    }

    /// The 32-bit signature tag (encoding in the module docs). It identifies
    /// a signature without buffers; pages record
    /// [`identity`](Signature::identity), exact for every signature.
    #[must_use]
    pub fn tag(&self) -> u32 {
        let mut tag = self.ret.code() | ((self.param_count() as u32) << 4);
        for (i, t) in self.params().enumerate() {
            tag |= t.code() << (8 + 4 * i);
        }
        tag
    }

    /// The scalar signature whose [`tag`](Signature::tag) is `tag`, if any.
    pub(crate) fn from_tag(tag: u32) -> Option<Signature> {
        let ty = |code: u32| SigType::ALL.into_iter().find(|t| t.code() == code);
        let count = (tag >> 4) & 0xf;
        // `NIL` is a return type only.
        let params: Option<Vec<SigType>> = (0..count)
            .map(|i| ty((tag >> (8 + 4 * i)) & 0xf).filter(|&t| t != SigType::Nil))
            .collect();
        let sig = Signature::new(ty(tag & 0xf)?, &params?).ok()?;
        (sig.tag() == tag).then_some(sig)
    }

    /// The canonical identity text: no names, no spaces (but ` uses a,b`), extents as `[8]` or
    /// `[#k]`. Equal exactly for equal signatures.
    #[must_use]
    pub fn canonical(&self) -> String {
        self.to_string()
    }
}

/// An `Option<Param>` in one word (0 is `None`): the variant in bits 0-1
/// (1 scalar, 2 buffer); a scalar's type in bits 8-15; a buffer's element
/// type in bits 8-10, `mutable` in bit 11, the extent's variant in bit 12
/// (0 a count, 1 a parameter) and its count or parameter from bit 16 (a
/// count is at most [`MAX_CONST_EXTENT_BYTES`], checked before packing).
/// One packing per parameter, so equality and hashing mean what they meant
/// on `Option<Param>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Packed(u64);

impl Packed {
    const NONE: Packed = Packed(0);

    fn pack(p: Param) -> Packed {
        match p {
            Param::Scalar(t) => Packed(1 | (t as u64) << 8),
            Param::Buffer(b) => {
                let (kind, v) = match b.extent {
                    Extent::Count(n) => (0, n),
                    Extent::Param(k) => (1, u64::from(k)),
                };
                debug_assert!(v < 1 << 48, "checked extent");
                Packed(2 | (b.elem as u64) << 8 | u64::from(b.mutable) << 11 | kind << 12 | v << 16)
            }
        }
    }

    fn unpack(self) -> Option<Param> {
        let w = self.0;
        match w & 3 {
            0 => None,
            1 => Some(Param::Scalar(SigType::ALL[usize::from((w >> 8) as u8)])),
            _ => Some(Param::Buffer(Buffer {
                elem: Elem::ALL[(w >> 8) as usize & 7],
                extent: if w & 1 << 12 == 0 {
                    Extent::Count(w >> 16)
                } else {
                    Extent::Param((w >> 16) as u8)
                },
                mutable: w & 1 << 11 != 0,
            })),
        }
    }
}

/// Checks a buffer's extent against the parameter list.
fn check_extent(b: &Buffer, params: &[Param]) -> Result<(), String> {
    match b.extent {
        Extent::Count(n) => {
            if n.saturating_mul(u64::from(b.elem.size())) > MAX_CONST_EXTENT_BYTES {
                return Err(format!(
                    "extent {n} is too large (at most {MAX_CONST_EXTENT_BYTES} bytes)"
                ));
            }
        }
        Extent::Param(k) => match params.get(usize::from(k)) {
            Some(Param::Scalar(SigType::Int64 | SigType::Uint64)) => {}
            Some(_) => return Err(format!("extent parameter {k} must be an int64 or uint64")),
            None => return Err(format!("extent parameter {k} does not exist")),
        },
    }
    Ok(())
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Scalar(t) => f.write_str(t.name()),
            Param::Buffer(b) => {
                if b.mutable {
                    f.write_str("mut ")?;
                }
                write!(f, "{}*", b.elem.name())?;
                match b.extent {
                    Extent::Count(n) => write!(f, "[{n}]"),
                    Extent::Param(k) => write!(f, "[#{k}]"),
                }
            }
        }
    }
}

impl fmt::Display for Signature {
    /// Prints the canonical text ([`Signature::canonical`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.ret.name())?;
        for (i, p) in self.full_params().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{p}")?;
        }
        f.write_str(")")?;
        for (k, name) in self.uses().iter().enumerate() {
            f.write_str(if k == 0 { " uses " } else { "," })?;
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// Why a signature string did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureError {
    at: usize,
    message: String,
}

impl SignatureError {
    /// Byte offset in the input where the problem was found.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.at
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad signature at byte {}: {}", self.at, self.message)
    }
}

impl std::error::Error for SignatureError {}

fn is_ident(w: &str) -> bool {
    let mut c = w.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits `int64 count` into the type and an optional parameter name (an
/// identifier after the type). Names document a signature; they are not part
/// of its identity.
fn split_name(word: &str) -> (&str, Option<&str>) {
    match word.rsplit_once(char::is_whitespace) {
        Some((ty, name)) if is_ident(name) && !ty.trim().is_empty() => (ty.trim_end(), Some(name)),
        _ => (word, None),
    }
}

/// A buffer parameter as written, before its extent name is resolved.
struct RawBuffer<'a> {
    elem: Elem,
    mutable: bool,
    extent: &'a str,
    extent_at: usize,
}

/// Parses one parameter piece (`word` starts at byte `at` of the input):
/// returns the parameter (buffer extents still unresolved) and its name.
fn parse_param(
    word: &str,
    at: usize,
) -> Result<(Param, Option<RawBuffer<'_>>, Option<&str>), SignatureError> {
    let err = |at: usize, message: String| SignatureError { at, message };
    let unknown = |ty: &str| {
        format!(
            "unknown type `{ty}`; expected int32, int64, uint32, uint64, a pointer type or a buffer `T* name[extent]`"
        )
    };
    let (mutable, body, body_at) = match word.strip_prefix("mut") {
        Some(rest) if rest.starts_with(char::is_whitespace) => {
            let trimmed = rest.trim_start();
            (true, trimmed, at + word.len() - trimmed.len())
        }
        _ => (false, word, at),
    };
    let Some(open) = body.find('[') else {
        if mutable {
            return Err(err(
                at,
                "`mut` applies only to a buffer parameter `mut T* name[extent]`".into(),
            ));
        }
        let (ty, name) = split_name(body);
        let t = SigType::parse(ty).ok_or_else(|| err(at, unknown(ty)))?;
        if t == SigType::Nil {
            return Err(err(at, "`NIL` is only a return type".into()));
        }
        if let Some(name) = name
            && SigType::parse(name).is_some()
        {
            return Err(err(
                at + word.len() - name.len(),
                format!("expected `,` before `{name}`"),
            ));
        }
        return Ok((Param::Scalar(t), None, name));
    };
    let close = body.len() - 1;
    if !body.ends_with(']') {
        let at = body_at + body.rfind(']').map_or(body.len(), |c| c + 1);
        return Err(err(
            at,
            "expected `]` to end the extent, then `,` or `)`".into(),
        ));
    }
    let extent_raw = &body[open + 1..close];
    let extent = extent_raw.trim();
    let extent_at = body_at + open + 1 + (extent_raw.len() - extent_raw.trim_start().len());
    let head = body[..open].trim_end();
    // The name is the trailing identifier (`int64 *xs`, `int64* xs`); the
    // canonical form has none (`int64*[#1]`).
    let name_len = head
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let (ty, name) = head.split_at(head.len() - name_len);
    if !name.is_empty() && !is_ident(name) {
        return Err(err(
            body_at + ty.len(),
            format!("bad parameter name `{name}`"),
        ));
    }
    let name = (!name.is_empty()).then_some(name);
    let shown = name.unwrap_or("");
    let ty = ty.trim_end();
    let base = ty
        .strip_suffix('*')
        .or_else(|| ty.strip_suffix("->"))
        .ok_or_else(|| {
            err(
                body_at,
                format!("expected a pointer type such as `int64*` before `{shown}[`, found `{ty}`"),
            )
        })?
        .trim_end();
    let elem = Elem::parse(base).ok_or_else(|| {
        err(body_at, format!("unknown element type `{base}`; expected int8, uint8, int16, uint16, int32, uint32, int64 or uint64"))
    })?;
    if extent.is_empty() {
        return Err(err(
            extent_at,
            "expected an extent (an element count or a parameter name) inside `[]`".into(),
        ));
    }
    // Placeholder extent; resolved once every name is known.
    let param = Param::Buffer(Buffer {
        elem,
        extent: Extent::Count(0),
        mutable,
    });
    Ok((
        param,
        Some(RawBuffer {
            elem,
            mutable,
            extent,
            extent_at,
        }),
        name,
    ))
}

impl std::str::FromStr for Signature {
    type Err = SignatureError;

    fn from_str(text: &str) -> Result<Signature, SignatureError> {
        let err = |at: usize, message: String| SignatureError { at, message };
        let open = text.find('(').ok_or_else(|| {
            err(
                text.len(),
                "expected `(` after the return type, as in `int64(int64)`".into(),
            )
        })?;
        let ret_word = text[..open].trim();
        let ret_at = text.len() - text.trim_start().len();
        if ret_word.is_empty() {
            return Err(err(ret_at, "missing return type".into()));
        }
        let ret = SigType::parse(ret_word).ok_or_else(|| {
            err(
                ret_at,
                format!("unknown type `{ret_word}`; expected int32, int64, uint32, uint64 or a pointer type"),
            )
        })?;
        let close = text
            .rfind(')')
            .filter(|&c| c > open)
            .ok_or_else(|| err(text.len(), "missing closing `)`".into()))?;
        let rest = &text[close + 1..];
        let mut uses: Vec<(&str, usize)> = Vec::new();
        if !rest.trim().is_empty() {
            let at = close + 1 + (rest.len() - rest.trim_start().len());
            let clause = rest.trim_start();
            let Some(list) = clause
                .strip_prefix("uses")
                .filter(|l| l.starts_with(char::is_whitespace))
            else {
                return Err(err(
                    at,
                    format!(
                        "unexpected `{}` after `)`; expected `uses NAME, ...` or the end",
                        rest.trim()
                    ),
                ));
            };
            let mut start = at + 4;
            for piece in list.split(',') {
                let name = piece.trim();
                let name_at = start + (piece.len() - piece.trim_start().len());
                if name.is_empty() {
                    return Err(err(
                        name_at,
                        "expected a helper name after `uses` or `,`".into(),
                    ));
                }
                if !is_ident(name) {
                    return Err(err(name_at, format!("`{name}` is not a helper name")));
                }
                if uses.iter().any(|(n, _)| *n == name) {
                    return Err(err(
                        name_at,
                        format!("helper `{name}` is named twice in `uses`"),
                    ));
                }
                uses.push((name, name_at));
                start += piece.len() + 1;
            }
            if uses.len() > MAX_USES {
                return Err(err(
                    uses[MAX_USES].1,
                    format!("at most {MAX_USES} helpers in `uses`"),
                ));
            }
        }
        let inner = &text[open + 1..close];
        let mut params = Vec::new();
        let mut raws = Vec::new();
        let mut names: Vec<(&str, usize)> = Vec::new();
        if !inner.trim().is_empty() {
            let mut start = open + 1;
            for piece in inner.split(',') {
                let word = piece.trim();
                let at = start + (piece.len() - piece.trim_start().len());
                if word.is_empty() {
                    return Err(err(at, "empty parameter type".into()));
                }
                let (param, raw, name) = parse_param(word, at)?;
                if let Some(name) = name {
                    if names.iter().any(|(n, _)| *n == name) {
                        let name_at = at + word.rfind(name).unwrap_or(0);
                        return Err(err(name_at, format!("parameter `{name}` is named twice")));
                    }
                    names.push((name, params.len()));
                }
                raws.push(raw);
                params.push(param);
                start += piece.len() + 1;
            }
        }
        if params.len() > MAX_PARAMS {
            return Err(err(
                open,
                format!(
                    "{} parameters; at most {MAX_PARAMS} integer parameters are supported (SysV registers)",
                    params.len()
                ),
            ));
        }
        for (i, raw) in raws.iter().enumerate() {
            let Some(raw) = raw else { continue };
            let extent = if raw.extent.bytes().all(|b| b.is_ascii_digit()) {
                let n: u64 = raw.extent.parse().map_err(|_| {
                    err(
                        raw.extent_at,
                        format!("extent `{}` is too large", raw.extent),
                    )
                })?;
                Extent::Count(n)
            } else if let Some(k) = raw
                .extent
                .strip_prefix('#')
                .and_then(|k| k.parse::<u8>().ok())
            {
                Extent::Param(k)
            } else if is_ident(raw.extent) {
                let k = names
                    .iter()
                    .find(|(n, _)| *n == raw.extent)
                    .map(|&(_, k)| k)
                    .ok_or_else(|| err(raw.extent_at, format!("extent `{}` is not a parameter name; expected an element count or the name of an int64/uint64 parameter", raw.extent)))?;
                Extent::Param(k as u8)
            } else {
                return Err(err(
                    raw.extent_at,
                    format!(
                        "bad extent `{}`; expected an element count or the name of an int64/uint64 parameter",
                        raw.extent
                    ),
                ));
            };
            let b = Buffer {
                elem: raw.elem,
                extent,
                mutable: raw.mutable,
            };
            check_extent(&b, &params)
                .map_err(|m| err(raw.extent_at, format!("extent `{}`: {m}", raw.extent)))?;
            params[i] = Param::Buffer(b);
        }
        let sig = Signature::with_params(ret, &params)?;
        if uses.is_empty() {
            return Ok(sig);
        }
        let names: Vec<&str> = uses.iter().map(|(n, _)| *n).collect();
        sig.with_uses(&names).map_err(|e| err(uses[0].1, e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached facts are what the parameters say (the rule they stand
    /// for), and `Debug` prints what the derived form printed before them.
    #[test]
    fn cached_facts_equal_the_rule_and_debug_is_unchanged() {
        let texts = [
            "NIL()",
            "int32(int32,int32)",
            "int64(int64,int64,int64)",
            "ptr(int64)",
            "int64(ptr)",
            "int64(int64,ptr,uint32)",
            "int64(int64* xs[n], int64 n)",
            "int64(mut uint8* b[16], ptr)",
            "ptr(int8* a[4], mut int32* b[n], uint64 n)",
            "uint64(int64,int64,int64,int64,int64,ptr)",
        ];
        let mut seen = [false; 4];
        for text in texts {
            let sig: Signature = text.parse().expect("valid signature");
            let buffer = sig.full_params().any(|p| matches!(p, Param::Buffer(_)));
            let pointer = sig.ret() == SigType::Pointer
                || sig
                    .full_params()
                    .any(|p| p == Param::Scalar(SigType::Pointer));
            assert_eq!(sig.has_buffer(), buffer, "{text}");
            assert_eq!(sig.has_pointer(), pointer, "{text}");
            seen[usize::from(buffer) | usize::from(pointer) << 1] = true;
            let derived = format!(
                "Signature {{ ret: {:?}, params: {:?}, uses: {:?}, nuses: {:?} }}",
                sig.ret,
                sig.params.map(Packed::unpack),
                sig.uses,
                sig.nuses
            );
            assert_eq!(format!("{sig:?}"), derived, "{text}");
            // A `uses` clause keeps the facts.
            let with = sig.with_uses(&["helper_a"]).expect("valid uses");
            assert_eq!((with.has_buffer(), with.has_pointer()), (buffer, pointer));
        }
        assert_eq!(seen, [true; 4], "every combination of the two facts");
    }

    /// Every parameter a signature can hold reads back as itself, and two
    /// parameters pack alike exactly when they are equal.
    #[test]
    fn packed_params_read_back_and_compare_as_params() {
        let mut all = vec![None];
        all.extend(SigType::ALL.map(|t| Some(Param::Scalar(t))));
        for elem in Elem::ALL {
            let max = MAX_CONST_EXTENT_BYTES / u64::from(elem.size());
            for extent in [0, 1, 16, max - 1, max]
                .map(Extent::Count)
                .into_iter()
                .chain((0..MAX_PARAMS as u8).map(Extent::Param))
            {
                for mutable in [false, true] {
                    all.push(Some(Param::Buffer(Buffer {
                        elem,
                        extent,
                        mutable,
                    })));
                }
            }
        }
        let pack = |p: Option<Param>| p.map_or(Packed::NONE, Packed::pack);
        for &p in &all {
            assert_eq!(pack(p).unpack(), p, "{p:?}");
            for &q in &all {
                assert_eq!(pack(p) == pack(q), p == q, "{p:?} {q:?}");
            }
        }
        // And inside a signature: every parameter read back, in order.
        let sig: Signature = "int64(mut uint8* b[1099511627776], int32* a[n], int64 n, ptr)"
            .parse()
            .expect("valid signature");
        let params: Vec<String> = sig.full_params().map(|p| p.to_string()).collect();
        assert_eq!(
            params,
            ["mut uint8*[1099511627776]", "int32*[#2]", "int64", "ptr"]
        );
        assert_eq!(sig.param(3), Some(Param::Scalar(SigType::Pointer)));
        assert_eq!(sig.param(4), None);
        assert_eq!(std::mem::size_of::<Signature>(), 72);
    }
}
