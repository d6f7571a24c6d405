//! Function signatures: parsing `"int64(int64,int64)"` and the page tag.
//!
//! In: a signature string. Out: a [`Signature`] (return type plus up to six
//! SysV integer-class parameters, each optionally named: `int64(int64 a,
//! int64 b)`; names are not part of the identity) or a [`SignatureError`]
//! naming what is wrong and where. The tag encoding (shared with the `wildx` registry) is: bits 0-3
//! return type code, bits 4-7 parameter count, then 4 bits per parameter from
//! bit 8; codes 1=int32 2=int64 3=uint32 4=uint64 5=pointer.

use std::fmt;

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
}

impl SigType {
    /// Width in bytes of the defined part of the register holding this type.
    #[must_use]
    pub const fn width(self) -> u8 {
        match self {
            SigType::Int32 | SigType::Uint32 => 4,
            SigType::Int64 | SigType::Uint64 | SigType::Pointer => 8,
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
        }
    }

    fn name(self) -> &'static str {
        match self {
            SigType::Int32 => "int32",
            SigType::Int64 => "int64",
            SigType::Uint32 => "uint32",
            SigType::Uint64 => "uint64",
            SigType::Pointer => "ptr",
        }
    }

    fn parse(word: &str) -> Option<SigType> {
        let t = match word {
            "int32" => SigType::Int32,
            "int64" => SigType::Int64,
            "uint32" => SigType::Uint32,
            "uint64" => SigType::Uint64,
            "ptr" | "pointer" => SigType::Pointer,
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

/// A proven-callable function shape: `ret(params...)` under the SysV ABI.
///
/// ```
/// use npk_jit::Signature;
/// let sig: Signature = "int32(int32, int32)".parse().expect("valid signature");
/// assert_eq!(sig.tag(), 0x1121);
/// assert_eq!(sig.to_string(), "int32(int32,int32)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    ret: SigType,
    params: [Option<SigType>; MAX_PARAMS],
}

impl Signature {
    /// Builds a signature from parts.
    ///
    /// # Errors
    /// [`SignatureError`] if there are more than [`MAX_PARAMS`] parameters.
    pub fn new(ret: SigType, params: &[SigType]) -> Result<Signature, SignatureError> {
        if params.len() > MAX_PARAMS {
            return Err(SignatureError {
                at: 0,
                message: format!(
                    "{} parameters; at most {MAX_PARAMS} are supported",
                    params.len()
                ),
            });
        }
        let mut p = [None; MAX_PARAMS];
        for (slot, t) in p.iter_mut().zip(params) {
            *slot = Some(*t);
        }
        Ok(Signature { ret, params: p })
    }

    /// The return type.
    #[must_use]
    pub fn ret(&self) -> SigType {
        self.ret
    }

    /// The parameter types, in register order (rdi rsi rdx rcx r8 r9).
    pub fn params(&self) -> impl Iterator<Item = SigType> + '_ {
        self.params.iter().map_while(|p| *p)
    }

    /// Number of parameters.
    #[must_use]
    pub fn param_count(&self) -> usize {
        self.params().count()
    }

    /// Whether the return type or any parameter is a pointer.
    #[must_use]
    pub fn has_pointer(&self) -> bool {
        self.ret == SigType::Pointer || self.params().any(|t| t == SigType::Pointer)
    }

    /// The signature tag recorded on a sealed page (encoding in the module docs).
    #[must_use]
    pub fn tag(&self) -> u32 {
        let mut tag = self.ret.code() | ((self.param_count() as u32) << 4);
        for (i, t) in self.params().enumerate() {
            tag |= t.code() << (8 + 4 * i);
        }
        tag
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.ret.name())?;
        for (i, t) in self.params().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(t.name())?;
        }
        f.write_str(")")
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

/// Splits `int64 count` into the type and an optional parameter name (an
/// identifier after the type). Names document a signature; they are not part
/// of its identity.
fn split_name(word: &str) -> (&str, Option<&str>) {
    let is_ident = |w: &str| {
        let mut c = w.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
            && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match word.rsplit_once(char::is_whitespace) {
        Some((ty, name)) if is_ident(name) && !ty.trim().is_empty() => (ty.trim_end(), Some(name)),
        _ => (word, None),
    }
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
        let ret = SigType::parse(ret_word)
            .ok_or_else(|| err(ret_at, format!("unknown type `{ret_word}`; expected int32, int64, uint32, uint64 or a pointer type")))?;
        let close = text
            .rfind(')')
            .filter(|&c| c > open)
            .ok_or_else(|| err(text.len(), "missing closing `)`".into()))?;
        let rest = &text[close + 1..];
        if !rest.trim().is_empty() {
            let at = close + 1 + (rest.len() - rest.trim_start().len());
            return Err(err(at, format!("unexpected `{}` after `)`", rest.trim())));
        }
        let inner = &text[open + 1..close];
        let mut params = Vec::new();
        if !inner.trim().is_empty() {
            let mut start = open + 1;
            let mut names: Vec<&str> = Vec::new();
            for piece in inner.split(',') {
                let word = piece.trim();
                let at = start + (piece.len() - piece.trim_start().len());
                if word.is_empty() {
                    return Err(err(at, "empty parameter type".into()));
                }
                if let Some(b) = word.find('[') {
                    return Err(err(
                        at + b,
                        "buffer parameters (`T* name[extent]`) are not supported yet".into(),
                    ));
                }
                let (ty, name) = split_name(word);
                let t = SigType::parse(ty)
                    .ok_or_else(|| err(at, format!("unknown type `{ty}`; expected int32, int64, uint32, uint64 or a pointer type")))?;
                if let Some(name) = name {
                    let name_at = at + word.len() - name.len();
                    if SigType::parse(name).is_some() {
                        return Err(err(name_at, format!("expected `,` before `{name}`")));
                    }
                    if names.contains(&name) {
                        return Err(err(name_at, format!("parameter `{name}` is named twice")));
                    }
                    names.push(name);
                }
                params.push(t);
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
        Signature::new(ret, &params)
    }
}
