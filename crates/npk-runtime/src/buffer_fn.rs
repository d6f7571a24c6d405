//! Typed Rust calls of proven functions whose buffer parameters are slices.
//!
//! In: a sealed [`CompiledFn`](crate::CompiledFn) (or a function of a
//! [`CompiledArena`](crate::CompiledArena)) and the Rust shape of the call,
//! e.g. `BufferFn<(&[i64],), i64>` for `int64(int64* xs[n], int64 n)`. Out: a
//! [`BufferFn`] whose `call` takes one Rust value per parameter the caller
//! chooses: a buffer `T* xs[..]` is a `&[T]` (`mut T*`: `&mut [T]`), a
//! scalar is `i32`/`i64`/`u32`/`u64` (a `NIL` result is `()`), and a
//! parameter that is some buffer's extent is not passed at all: it is filled
//! from that slice's length, so the extent is right by construction. A constant extent (`int64* xs[8]`) needs
//! a slice of at least that many elements; slices that share an extent
//! parameter must have equal lengths. Both are checked at every call and a
//! violation is a [`CallError`], never a call. The shape is checked once,
//! against the signature the page records (its page identity), when the
//! handle is made: a mismatch is a [`ShapeError`] naming the shape that fits.
//! Unsized pointer parameters (`ptr`, `int64*` without an extent) and pointer
//! results have no safe Rust shape and are refused.

use std::fmt;
use std::marker::PhantomData;

use npk_jit::{Elem, Extent, MAX_PARAMS, Param, SigType, Signature};

/// A callable handle to a proven function, with buffers as slices (module docs above).
///
/// ```
/// use npk_runtime::{BufferFn, assemble};
/// let text = "xor eax, eax; xor ecx, ecx; test rsi, rsi; jle done
///             L: add rax, [rdi+rcx*8]; inc rcx; cmp rcx, rsi; jl L
///             done: ret";
/// let f = assemble(text, "int64(int64* xs[n], int64 n)")?;
/// let sum: BufferFn<(&[i64],), i64> = f.buffer_fn()?;
/// assert_eq!(sum.call(&[1, 2, 3])?, 6); // n = 3, the slice's length
/// assert!(f.buffer_fn::<(&[i32],), i64>().is_err()); // not the proven element type
///
/// let g = assemble("mov eax, esi\nret", "int32(mut uint8* out[16], int32 x)")?;
/// let put: BufferFn<(&mut [u8], i32), i32> = g.buffer_fn()?;
/// let mut out = [0u8; 16];
/// assert_eq!(put.call(&mut out, 7)?, 7);
/// assert!(put.call(&mut out[..15], 7).is_err()); // shorter than the constant extent
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
/// A handle cannot outlive its page:
/// ```compile_fail,E0505
/// let f = npk_runtime::assemble("mov rax, rsi\nret", "int64(int64* xs[n], int64 n)")?;
/// let len: npk_runtime::BufferFn<(&[i64],), i64> = f.buffer_fn()?;
/// drop(f);
/// len.call(&[1])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BufferFn<'a, P, R> {
    entry: *const u8,
    plan: Plan,
    _borrow: PhantomData<Borrow<'a, P, R>>,
}

/// What a [`BufferFn`] holds without owning: the borrow of its page, its shape.
type Borrow<'a, P, R> = (&'a (), fn(P) -> R);

/// A Rust parameter type of a [`BufferFn`]: `&[T]`, `&mut [T]` (`T` an integer type of
/// 8 to 64 bits), `i32`, `i64`, `u32` or `u64`. Sealed.
pub trait Arg: sealed::Sealed {
    /// What `call` takes for it (the slice with the call's own lifetime).
    type Value<'v>;
    #[doc(hidden)]
    const SHAPE: sealed::Shape;
    #[doc(hidden)]
    fn raw(v: Self::Value<'_>) -> sealed::Raw;
}

/// The Rust parameter list of a [`BufferFn`]: a tuple of up to six [`Arg`]s. Sealed.
pub trait Args: sealed::Sealed {
    #[doc(hidden)]
    const SHAPES: &'static [sealed::Shape];
}

/// A Rust result type of a [`BufferFn`]: `i32`, `i64`, `u32`, `u64`, or `()` for `NIL`.
/// Sealed.
pub trait Ret: sealed::Sealed {
    #[doc(hidden)]
    const TYPE: SigType;
    #[doc(hidden)]
    fn from_rax(rax: u64) -> Self;
}

mod sealed {
    use npk_jit::{Elem, SigType};

    pub trait Sealed {}

    /// One parameter as the Rust caller passes it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Shape {
        Slice { elem: Elem, mutable: bool },
        Scalar(SigType),
    }

    /// A parameter's register value, and for a slice its length.
    #[derive(Debug, Clone, Copy)]
    pub struct Raw {
        pub bits: u64,
        pub len: Option<usize>,
    }
}

use sealed::{Raw, Shape};

macro_rules! elements {
    ($($t:ty => $e:ident),*) => {$(
        impl sealed::Sealed for &[$t] {}
        impl Arg for &[$t] {
            type Value<'v> = &'v [$t];
            const SHAPE: Shape = Shape::Slice { elem: Elem::$e, mutable: false };
            fn raw(v: &[$t]) -> Raw {
                Raw { bits: v.as_ptr() as u64, len: Some(v.len()) }
            }
        }
        impl sealed::Sealed for &mut [$t] {}
        impl Arg for &mut [$t] {
            type Value<'v> = &'v mut [$t];
            const SHAPE: Shape = Shape::Slice { elem: Elem::$e, mutable: true };
            fn raw(v: &mut [$t]) -> Raw {
                Raw { bits: v.as_mut_ptr() as u64, len: Some(v.len()) }
            }
        }
    )*};
}

elements!(i8 => Int8, u8 => Uint8, i16 => Int16, u16 => Uint16, i32 => Int32, u32 => Uint32,
    i64 => Int64, u64 => Uint64);

macro_rules! scalars {
    ($($t:ty => $s:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Arg for $t {
            type Value<'v> = $t;
            const SHAPE: Shape = Shape::Scalar(SigType::$s);
            fn raw(v: $t) -> Raw {
                // Sign- or zero-extended; a 32-bit parameter's upper half is undefined anyway.
                Raw { bits: v as u64, len: None }
            }
        }
        impl Ret for $t {
            const TYPE: SigType = SigType::$s;
            fn from_rax(rax: u64) -> $t {
                // A 32-bit result is the low half of rax (the upper half is undefined).
                rax as $t
            }
        }
    )*};
}

scalars!(i32 => Int32, i64 => Int64, u32 => Uint32, u64 => Uint64);

/// `NIL`: nothing is returned (`rax` is undefined and ignored). (`()` is already sealed as
/// the empty parameter list.)
impl Ret for () {
    const TYPE: SigType = SigType::Nil;
    fn from_rax(_: u64) {}
}

macro_rules! arities {
    ($(($($a:ident $v:ident),*)),*) => {$(
        impl<$($a: Arg),*> sealed::Sealed for ($($a,)*) {}
        impl<$($a: Arg),*> Args for ($($a,)*) {
            const SHAPES: &'static [Shape] = &[$($a::SHAPE),*];
        }
        impl<'a, $($a: Arg,)* R: Ret> BufferFn<'a, ($($a,)*), R> {
            /// Calls the function: one value per Rust parameter; extents are filled from
            /// the slices' lengths.
            ///
            /// # Errors
            /// [`CallError`] if a slice is shorter than its constant extent or slices that
            /// share an extent differ in length; nothing is called then.
            pub fn call(&self, $($v: $a::Value<'_>),*) -> Result<R, CallError> {
                self.run(&[$($a::raw($v)),*]).map(R::from_rax)
            }
        }
    )*};
}

arities!((), (A a), (A a, B b), (A a, B b, C c), (A a, B b, C c, D d),
    (A a, B b, C c, D d, E e), (A a, B b, C c, D d, E e, F f));

/// Where one Rust argument goes.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Its register (parameter index).
    reg: u8,
    /// For a slice: its extent.
    extent: Option<Extent>,
}

/// The proven signature and where each Rust argument goes.
#[derive(Debug, Clone, Copy)]
struct Plan {
    signature: Signature,
    slots: [Slot; MAX_PARAMS],
}

/// Why a [`BufferFn`] was not made: its Rust shape does not fit the proven signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShapeError {
    /// The function records no signature the validator proved (e.g. sealed by hand).
    Unproven,
    /// The Rust parameters or result differ from what the signature needs.
    Mismatch {
        /// The proven signature, canonical (`int64(int64*[#1],int64)`).
        signature: String,
        /// The Rust shape that fits it (`(&[i64],) -> i64`).
        fits: String,
        /// The Rust shape asked for.
        asked: String,
    },
    /// The signature has a parameter or result Rust cannot pass safely (an unsized pointer).
    Unsupported {
        /// The proven signature, canonical.
        signature: String,
    },
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::Unproven => f.write_str("the function carries no proven signature"),
            ShapeError::Mismatch {
                signature,
                fits,
                asked,
            } => write!(
                f,
                "the function is proven for `{signature}`, which Rust calls as `{fits}`, not `{asked}`"
            ),
            ShapeError::Unsupported { signature } => write!(
                f,
                "`{signature}` has a pointer without an extent, which Rust cannot pass safely; give it one (`int64* xs[n]`)"
            ),
        }
    }
}

impl std::error::Error for ShapeError {}

/// Why a [`BufferFn::call`] did not call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError {
    /// Argument `arg` (0-based, Rust order) has `len` elements; its extent is `extent`.
    TooShort {
        /// The argument.
        arg: usize,
        /// Its length.
        len: usize,
        /// The signature's constant extent.
        extent: u64,
    },
    /// Arguments `first` and `arg` share an extent parameter but differ in length.
    LengthsDiffer {
        /// The earlier argument.
        first: usize,
        /// Its length.
        first_len: usize,
        /// The later argument.
        arg: usize,
        /// Its length.
        len: usize,
    },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CallError::TooShort { arg, len, extent } => write!(
                f,
                "argument {arg} has {len} elements, the signature needs at least {extent}"
            ),
            CallError::LengthsDiffer {
                first,
                first_len,
                arg,
                len,
            } => write!(
                f,
                "arguments {first} and {arg} share one extent but have {first_len} and {len} elements"
            ),
        }
    }
}

impl std::error::Error for CallError {}

/// How Rust writes a shape (`&mut [u8]`, `i64`).
fn rust_name(s: Shape) -> String {
    match s {
        Shape::Slice { elem, mutable } => {
            let t = match elem {
                Elem::Int8 => "i8",
                Elem::Uint8 => "u8",
                Elem::Int16 => "i16",
                Elem::Uint16 => "u16",
                Elem::Int32 => "i32",
                Elem::Uint32 => "u32",
                Elem::Int64 => "i64",
                Elem::Uint64 => "u64",
            };
            format!("&{}[{t}]", if mutable { "mut " } else { "" })
        }
        Shape::Scalar(t) => scalar_name(t).to_string(),
    }
}

fn scalar_name(t: SigType) -> &'static str {
    match t {
        SigType::Int32 => "i32",
        SigType::Int64 => "i64",
        SigType::Uint32 => "u32",
        SigType::Uint64 => "u64",
        SigType::Pointer => "*const u8",
        SigType::Nil => "()",
    }
}

/// `(&[i64], i32) -> i64`.
fn rust_shape(args: &[Shape], ret: SigType) -> String {
    let list: Vec<String> = args.iter().map(|&s| rust_name(s)).collect();
    let comma = if list.len() == 1 { "," } else { "" };
    format!("({}{comma}) -> {}", list.join(", "), scalar_name(ret))
}

impl Plan {
    /// The plan for calling `signature` with Rust parameters `args` and result `ret`.
    fn new(signature: Signature, args: &[Shape], ret: SigType) -> Result<Plan, ShapeError> {
        let params: Vec<Param> = signature.full_params().collect();
        let is_extent = |k: usize| {
            params
                .iter()
                .any(|p| matches!(p, Param::Buffer(b) if b.extent == Extent::Param(k as u8)))
        };
        let unsupported = || ShapeError::Unsupported {
            signature: signature.canonical(),
        };
        if signature.ret() == SigType::Pointer {
            return Err(unsupported());
        }
        let mut fits = Vec::new();
        let mut slots = [Slot::default(); MAX_PARAMS];
        for (i, p) in params.iter().enumerate() {
            let (shape, extent) = match *p {
                Param::Scalar(SigType::Pointer) => return Err(unsupported()),
                Param::Scalar(_) if is_extent(i) => continue,
                Param::Scalar(t) => (Shape::Scalar(t), None),
                Param::Buffer(b) => (
                    Shape::Slice {
                        elem: b.elem,
                        mutable: b.mutable,
                    },
                    Some(b.extent),
                ),
            };
            slots[fits.len()] = Slot {
                reg: i as u8,
                extent,
            };
            fits.push(shape);
        }
        if fits != args || signature.ret() != ret {
            return Err(ShapeError::Mismatch {
                signature: signature.canonical(),
                fits: rust_shape(&fits, signature.ret()),
                asked: rust_shape(args, ret),
            });
        }
        Ok(Plan { signature, slots })
    }
}

impl<'a, P: Args, R: Ret> BufferFn<'a, P, R> {
    /// A handle to the code at `entry`, which records page identity `identity`; `'a` is
    /// the borrow of its page or arena.
    pub(crate) fn new(entry: *const u8, identity: u32) -> Result<Self, ShapeError> {
        let signature = Signature::from_identity(identity).ok_or(ShapeError::Unproven)?;
        Ok(BufferFn {
            entry,
            plan: Plan::new(signature, P::SHAPES, R::TYPE)?,
            _borrow: PhantomData,
        })
    }
}

impl<P, R> BufferFn<'_, P, R> {
    /// The proven signature.
    #[must_use]
    pub fn signature(&self) -> Signature {
        self.plan.signature
    }

    /// Fills the registers from the Rust arguments (extents from slice lengths), checks the
    /// slices against their extents, and calls.
    fn run(&self, args: &[Raw]) -> Result<u64, CallError> {
        let mut regs = [0u64; MAX_PARAMS];
        // For each extent parameter: the Rust argument that set it, and its length.
        let mut set_by: [Option<(usize, usize)>; MAX_PARAMS] = [None; MAX_PARAMS];
        for (arg, (raw, slot)) in args.iter().zip(&self.plan.slots).enumerate() {
            let reg = usize::from(slot.reg);
            if let Some(r) = regs.get_mut(reg) {
                *r = raw.bits;
            }
            let len = raw.len.unwrap_or(0);
            match slot.extent {
                Some(Extent::Count(extent)) if (len as u64) < extent => {
                    return Err(CallError::TooShort { arg, len, extent });
                }
                None | Some(Extent::Count(_)) => {}
                Some(Extent::Param(k)) => {
                    let k = usize::from(k);
                    match set_by.get(k).copied().flatten() {
                        Some((first, first_len)) if first_len != len => {
                            return Err(CallError::LengthsDiffer {
                                first,
                                first_len,
                                arg,
                                len,
                            });
                        }
                        _ => {
                            if let (Some(r), Some(s)) = (regs.get_mut(k), set_by.get_mut(k)) {
                                // A slice length is at most isize::MAX: the same bits as
                                // int64 and as uint64.
                                *r = len as u64;
                                *s = Some((arg, len));
                            }
                        }
                    }
                }
            }
        }
        // SAFETY: `entry` is the start of a sealed page (or a function of a sealed validated
        // arena), borrowed for 'a so it cannot be freed meanwhile, whose recorded identity is
        // `plan.signature`'s, recorded only after the validator proved the code a SysV
        // function of exactly that signature (`Plan::new` matched the Rust shape to it).
        // SysV passes the first six integer arguments in rdi, rsi, rdx, rcx, r8, r9 whatever
        // the callee's arity, and the validator proved the code reads no register beyond its
        // parameters, each at its own width. Every buffer register holds a pointer from a
        // live Rust slice (mutable only for `mut` buffers, the only ones the code may store
        // into), and its extent is that slice's length (a parameter filled above) or a
        // constant no larger (checked above): the promise the proof rests on.
        let f: extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64 =
            unsafe { std::mem::transmute(self.entry) };
        Ok(f(regs[0], regs[1], regs[2], regs[3], regs[4], regs[5]))
    }
}

#[cfg(test)]
mod tests {
    use super::{Plan, Shape, ShapeError};
    use npk_jit::SigType;

    #[test]
    fn unsized_pointers_have_no_rust_shape() {
        for sig in [
            "int64(ptr)",
            "int64(int64* xs[n], int64 n, int8* p)",
            "ptr(int64)",
        ] {
            let sig = sig.parse().expect("valid signature");
            let err = Plan::new(sig, &[Shape::Scalar(SigType::Int64)], SigType::Int64)
                .expect_err("refused");
            assert!(matches!(err, ShapeError::Unsupported { .. }), "{err}");
            assert!(err.to_string().contains("without an extent"), "{err}");
        }
    }
}
