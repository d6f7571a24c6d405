//! `npk-jit`: proves that user-supplied x86-64 bytes are a well-behaved SysV
//! function of a given [`Signature`] before they may run.
//!
//! [`validate`] decodes the whole byte string in 64-bit mode (iced-x86),
//! classifies every instruction, builds the control-flow graph and runs an
//! abstract interpretation to a fixpoint. It returns a [`Report`] (the proof
//! summary) or the first [`Violation`] found. It never panics, and it is
//! sound: whatever it cannot prove, it rejects.
//!
//! # What is modelled
//! - Only general-purpose integer instructions (moves, ALU, shifts, `imul`/
//!   `mul`, `cmov`/`setcc`, `push`/`pop`/`leave`, direct `jmp`/`jcc`/`loop`,
//!   `call rel32`, `ret`, nops). SIMD, x87, string, system, I/O, `enter`,
//!   `ud2`, `cpuid`, `rdtsc` and the rest are rejected as unsupported.
//! - Registers: each holds "undefined", "data with its low n bytes defined",
//!   "the caller's value of callee-saved register r" (movable, never used),
//!   "entry rsp + k" or "pointer parameter i + k". Writing a 32-bit register
//!   defines all 64 bits; writing `al`/`ax` defines only those bytes. A 32-bit
//!   argument has only its low half defined. iced's instruction info says
//!   which registers, flags and memory each instruction touches; the common
//!   zero idioms (`xor eax,eax`, `sub eax,eax`) count as writes only.
//! - Flags: the six arithmetic flags are tracked as defined or not; reading an
//!   undefined one rejects. Shifts by `cl` may leave flags unchanged, so they
//!   define none. `std` is rejected, so the direction flag is always clear.
//! - Stack: `rsp` is always entry `rsp` + a known constant, between
//!   `-max_frame` and 0, and equal on every path into a join. Memory accesses
//!   must be `[reg + disp]` with `reg` a known stack pointer, inside
//!   `[rsp - red_zone, entry rsp)`; each byte must be written before it is
//!   read. The return address (at entry rsp) is never touched.
//!
//! # Policy decisions
//! - Red zone: off by default; with `allow_red_zone` the 128 bytes below
//!   `rsp` are usable (SysV guarantees signal handlers skip them). Bytes below
//!   `rsp - red_zone` are forgotten whenever `rsp` moves up.
//! - Traps: `div`/`idiv` raise `SIGFPE` on a zero divisor or overflow; they
//!   are rejected unless `allow_division`, which makes that the one documented
//!   trap. A frame deeper than the thread's remaining stack faults like any
//!   stack overflow; `max_frame` (default 4 KiB) bounds how deep code may go.
//! - Loops: rejected by default (then every path is finite, so accepted code
//!   always returns); with `allow_loops` the fixpoint handles them, and
//!   termination is the caller's concern.
//! - Calls: only `call rel32` to an address in `allowed_calls`, with `rsp`
//!   16-byte aligned and the callee's arguments defined; afterwards caller-saved
//!   registers and flags are undefined and the stack below `rsp` is forgotten.
//! - Pointer parameters: only by policy, at constant offsets in a window.
//! - A `66`-prefixed branch is rejected: its length differs between CPUs.
//!
//! ```
//! use npk_jit::{validate, Policy, Signature};
//! let sig: Signature = "int64(int64,int64)".parse().expect("valid signature");
//! // lea rax, [rdi+rsi] ; ret
//! let report = validate(&[0x48, 0x8d, 0x04, 0x37, 0xc3], &sig, &Policy::default())
//!     .expect("accepted");
//! assert_eq!(report.instructions(), 2);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod classify;
mod cpu;
mod fast;
mod interp;
#[cfg(test)]
mod model;
mod policy;
mod record;
mod signature;
mod state;
mod uses;
mod validate;
mod violation;

pub use cpu::CpuFeatures;
pub use policy::{AllowedCall, MAX_CODE_SIZE, MAX_FRAME_LIMIT, PointerAccess, Policy, Register};
pub use signature::{MAX_PARAMS, SigType, Signature, SignatureError};
pub use validate::{Report, Validator, validate};
pub use violation::{Violation, ViolationKind};
