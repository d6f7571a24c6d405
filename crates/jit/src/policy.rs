//! What the validator may accept beyond the strict core rules.
//!
//! [`Policy::default()`] is the strictest setting: no calls, no pointer
//! parameters, no red zone, no division, no loops. [`Policy::runtime()`] is
//! the setting `npk_jit_compile` and `npkc jit-check` use.

use crate::{CpuFeatures, Signature};
pub use iced_x86::Register;

/// Upper bound accepted for [`Policy::max_frame`]; the stack-slot model is
/// sized by the frame, so it stays bounded.
pub const MAX_FRAME_LIMIT: u32 = 1 << 16;

/// Largest code the validator accepts, in bytes (1 MiB). Validation time
/// and memory are linear in the code size (at most
/// [`Policy::steps_per_instruction`] work units per instruction), so this
/// bounds one validation to well under a second.
pub const MAX_CODE_SIZE: usize = 1 << 20;

/// How code may use pointer parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PointerAccess {
    /// Signatures with pointer types are rejected (the default).
    #[default]
    Forbidden,
    /// Loads through a pointer parameter, at constant offsets in the window.
    Read,
    /// Loads and stores through a pointer parameter, within the window.
    ReadWrite,
}

/// A function that code may `call` directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowedCall {
    /// Absolute address of the function (the code runs at [`Policy::base_ip`]).
    pub address: u64,
    /// Its SysV signature: arguments must be defined at these widths, and
    /// buffer parameters proven in bounds (`mut` ones into `mut` buffers).
    pub signature: Signature,
}

/// Configuration of the validator. Plain data; `Default` is the strictest.
///
/// ```
/// use npk_jit::Policy;
/// let strict = Policy::default();
/// assert!(!strict.allow_loops && strict.allowed_calls.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Address the first byte will run at (needed to resolve `call rel32`).
    pub base_ip: u64,
    /// Direct calls are allowed only to these functions.
    pub allowed_calls: Vec<AllowedCall>,
    /// Registers the code must never read or write (any width).
    pub reserved: Vec<Register>,
    /// Memory access through pointer parameters.
    pub pointer_access: PointerAccess,
    /// Accessible bytes from each pointer parameter: `[p, p + pointer_window)`.
    pub pointer_window: u32,
    /// Deepest the stack pointer may go below its entry value, in bytes
    /// (clamped to [`MAX_FRAME_LIMIT`]).
    pub max_frame: u32,
    /// Allow the SysV 128-byte red zone below `rsp`.
    pub allow_red_zone: bool,
    /// Allow `div`/`idiv`, which trap (`SIGFPE`) on zero or overflow.
    pub allow_division: bool,
    /// Allow backward branches. Loops can run forever: termination is then
    /// the caller's concern. Without loops every path is finite.
    pub allow_loops: bool,
    /// Bound on abstract-interpretation work per instruction; code needing
    /// more is rejected (keeps validation near-linear).
    pub steps_per_instruction: u32,
    /// CPU extensions accepted code may use (instructions needing others are
    /// rejected, so accepted code never raises `SIGILL`).
    pub cpu: CpuFeatures,
    /// Helpers JIT code may call through its import table (`uses`), by
    /// name; the runtime fills in its own table (SPEC §8.3), Rust embedders
    /// add theirs.
    pub helpers: Vec<crate::Helper>,
    /// Whether every loop must be proven to end (SPEC §8.4; see
    /// `termination.rs`). Off by default while the proofs grow.
    pub require_termination: bool,
    /// Test hook, not a policy: the register values the parameters will
    /// hold in one particular call, in parameter order (entries for pointer
    /// and buffer parameters, and past the last parameter, are ignored).
    /// Validation then assumes exactly these arguments: a scalar parameter
    /// is that constant (a 32-bit one zero-extended, so only for code the
    /// same policy accepts without the hook, which never reads the undefined
    /// upper half), an extent parameter keeps its symbol with the exact
    /// range (if the value is one the caller may promise). Acceptance under
    /// assumed arguments proves nothing about other calls; the execution
    /// oracle uses it for [`crate::Report::max_steps`] of the call it runs,
    /// and it always runs the value domain (ranges for every loop). `None`
    /// (the default): nothing is assumed.
    #[doc(hidden)]
    pub assumed_args: Option<Vec<u64>>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            base_ip: 0,
            allowed_calls: Vec::new(),
            reserved: Vec::new(),
            pointer_access: PointerAccess::Forbidden,
            pointer_window: 0,
            max_frame: 4096,
            allow_red_zone: false,
            allow_division: false,
            allow_loops: false,
            steps_per_instruction: 64,
            cpu: CpuFeatures::baseline(),
            helpers: Vec::new(),
            require_termination: false,
            assumed_args: None,
        }
    }
}

impl Policy {
    /// The value [`Policy::assumed_args`] gives scalar parameter `i` of
    /// type `ty`, as a 64-bit register value (32-bit types zero-extended).
    pub(crate) fn assumed(&self, i: usize, ty: crate::SigType) -> Option<u64> {
        let v = *self.assumed_args.as_ref()?.get(i)?;
        match ty {
            crate::SigType::Int64 | crate::SigType::Uint64 => Some(v),
            crate::SigType::Int32 | crate::SigType::Uint32 => Some(v & 0xffff_ffff),
            crate::SigType::Pointer | crate::SigType::Nil => None,
        }
    }

    /// The policy of `Jit.compile`: loops and the red zone allowed, frames
    /// up to [`MAX_FRAME_LIMIT`] (reached one page at a time), the running
    /// CPU's extensions; still no calls, pointers or division.
    #[must_use]
    pub fn runtime() -> Policy {
        Policy {
            allow_loops: true,
            require_termination: true,
            allow_red_zone: true,
            max_frame: MAX_FRAME_LIMIT,
            cpu: CpuFeatures::host(),
            ..Policy::default()
        }
    }
}
