//! `npk-jit`: proves that user-supplied x86-64 bytes are a well-behaved SysV
//! function of a given [`Signature`] before they may run.
//!
//! [`validate()`] decodes the whole byte string in 64-bit mode (iced-x86),
//! classifies every instruction, builds the control-flow graph and runs an
//! abstract interpretation to a fixpoint. It returns a [`Report`] (the proof
//! summary) or the first [`Violation`] found. It never panics, and it is
//! sound: whatever it cannot prove, it rejects.
//!
//! # What is modelled
//! - Only general-purpose integer instructions (moves, ALU, shifts, `imul`/
//!   `mul`, `cmov`/`setcc`, `push`/`pop`/`leave`, direct `jmp`/`jcc`/`loop`,
//!   `call rel32`, `ret`, nops, and where the CPU has them `popcnt`, `lzcnt`
//!   and the BMI1/BMI2 integer instructions). SIMD, x87, string, system, I/O,
//!   `enter`, `ud2`, `cpuid`, `rdtsc`, `lahf`/`sahf` and the rest are rejected
//!   as unsupported.
//! - Instructions stepped by hand (they move `rsp` or transfer control:
//!   `push`, `pop`, `leave`, `ret`, `call`, `jmp`) are matched on iced's exact
//!   `Code`, never on the mnemonic: `leavew`, `pushw`, `pop` to memory and
//!   every other operand or address size of them are unsupported. A unit
//!   test (`model.rs`) decodes every opcode behind every prefix combination
//!   and checks the model against iced's instruction info, its stack
//!   movement and its AMD decoding.
//! - Registers: each holds "undefined", "data with its low n bytes defined",
//!   "the caller's value of callee-saved register r" (movable, never used),
//!   "entry rsp + k" or "pointer parameter i + k". Writing a 32-bit register
//!   defines all 64 bits; writing `al`/`ax` defines only those bytes. A 32-bit
//!   argument has only its low half defined. iced's instruction info says
//!   which registers, flags and memory each instruction touches; the common
//!   zero idioms (`xor eax,eax`, `sub eax,eax`) and the constant results
//!   `or r,-1` and `and r,0` count as writes only.
//! - Entry values of callee-saved registers may be moved between registers
//!   and stack slots (to save and restore them), never used as data, never
//!   stored outside the frame, never left in the frame when a callee gets a
//!   pointer into it; a slot holding one that is partly overwritten loses
//!   the rest.
//! - Flags: the six arithmetic flags are tracked as defined or not; reading an
//!   undefined one rejects (the message names it). Shifts by `cl` may leave
//!   flags unchanged, so they define none. `std` is rejected, so the
//!   direction flag is always clear.
//! - Numbers: a fully defined 64-bit value may carry a range (signed
//!   bounds and known low zero bits) and one relation `v - (S << k) ∈ [lo,
//!   hi]` to the entry value `S` of an extent parameter, both kept only
//!   where they are exact integer facts (an operation whose result could
//!   wrap drops them). Constants, `movzx`/`movsx`, `and` masks, shifts,
//!   `add`/`sub`/`inc`/`dec`/`lea` and `imul` by constants compute them;
//!   `cmp`/`test` (and the flags of ALU results) followed by a `jcc` narrow
//!   both operands on each edge (an edge no execution can take is dead and
//!   its target gets nothing from it), and so does a `cmov`. At loop heads
//!   a bound that grew stops at the nearest constant the code compares with,
//!   else jumps to its limit (widening), so the analysis ends.
//! - Buffers (SPEC §8.1–8.2): a buffer parameter `T* xs[e]` is a pointer
//!   into buffer `xs` at a byte offset, a number as above. A load or store
//!   through it, with any addressing mode (`[p + i*s + d]`, pointer steps,
//!   pointers spilled and reloaded), is accepted only when every byte is
//!   proven inside `[xs, xs + e * sizeof(T))` on every path: for a constant
//!   extent by the offset's range, for an extent parameter `n` by a
//!   relation `offset - (n << k) <= -width` with `2^k <= sizeof(T)` (so
//!   `n > 0` and the buffer is not empty) or by the offset's range against
//!   the least `n` the branches proved. Stores need `mut`. **What the caller
//!   promises**: the pointer really points at `e` elements (a negative count
//!   means none; the pointer of an empty buffer may be anything). From that
//!   promise a non-empty buffer is real memory, so its byte size is at most
//!   2^57 and `xs + e*sizeof(T)` does not wrap; nothing else is assumed.
//!   Comparing two pointers into one buffer narrows their offsets (for `<`
//!   and friends only when both are proven inside `[0, end]`).
//! - Indexed stack accesses (`[rsp + rcx*8 - 48]`): every byte the access
//!   may touch must be inside the frame; a load needs all of them written
//!   (and none holding a saved register), a store leaves written bytes
//!   written (as data) and unwritten ones unwritten.
//! - Stack: `rsp` is always entry `rsp` + a known constant, between
//!   `-max_frame` and 0, and equal on every path into a join. Memory accesses
//!   must be `[reg + disp]` with `reg` a known stack pointer, inside
//!   `[rsp - red_zone, entry rsp)`; each byte must be written before it is
//!   read. The return address (at entry rsp) is never touched. `rip`-relative
//!   loads whose bytes lie inside the code read constants (tables).
//! - Stack clash: every stack access, and `rsp` itself, stays at most one
//!   page (4096 bytes) below the deepest stack byte already accessed on every
//!   path to it (the return address at entry `rsp` counts as accessed). The
//!   guard below a thread's stack is at least a page, so a too-deep frame
//!   faults in the guard like any stack overflow and never reaches memory
//!   beyond it; deeper frames are reached by probes (`or qword ptr [rsp], 0`,
//!   what gcc's `-fstack-clash-protection` emits: it touches without reading,
//!   and leaves its flags undefined). This is gcc's guarantee, no more: a
//!   signal delivered while `rsp` is near a page below the touched stack has
//!   its frame written below `rsp` by the kernel, as for any C function whose
//!   `rsp` is that close to the guard.
//! - Termination: every reachable instruction must be able to reach a `ret`
//!   (`jmp $` is rejected, naming the loop). With
//!   [`Policy::require_termination`] (on in [`Policy::runtime`]) every loop
//!   must also be proven to end (SPEC §8.4, `termination.rs`): a register
//!   stepping by one non-zero constant per iteration toward a loop-invariant
//!   bound, with the exit test at the loop's head or back edge on it (`!=`
//!   only where the step divides the distance; `<`/`<=` only where the step
//!   cannot wrap past the bound). Rejections name the loop's head
//!   ([`ViolationKind::LoopNotProven`]). The proofs also bound the work of a
//!   call ([`Report::max_steps`]: instructions executed, from each loop's
//!   head ranges over its step).
//! - Budget: the analysis spends at most
//!   [`Policy::steps_per_instruction`] work units per instruction (one per
//!   instruction stepped, one per stack slot copied or joined between
//!   blocks, one per 16 slots a step may shift, one per narrowed branch
//!   edge), and validation time and
//!   memory are linear in those units; code needing more is rejected
//!   ([`ViolationKind::AnalysisBudgetExceeded`]). Code longer than
//!   [`MAX_CODE_SIZE`] (1 MiB) is rejected up front. `cargo bench -p npk-jit`
//!   prints adversarial 64 KiB inputs next to a plain one (a few times its
//!   time and memory at most).
//!
//! # Policy decisions
//! - Red zone: off by default; with `allow_red_zone` the 128 bytes below
//!   `rsp` are usable (SysV guarantees signal handlers skip them). Bytes below
//!   `rsp - red_zone` are forgotten whenever `rsp` moves up.
//! - Traps: `div`/`idiv` raise `SIGFPE` on a zero divisor or overflow. They
//!   are accepted when the analysis proves the divisor non-zero, and for
//!   `div` that `rdx` is below the divisor, for `idiv` that `rdx` is the sign
//!   extension of `rax` (`cqo`/`cdq`) and the pair is not `MIN / -1`
//!   ([`ViolationKind::DivisionUnproven`] names what it could not prove);
//!   `allow_division` accepts them unproven, the one documented trap. `max_frame` (default 4 KiB; [`Policy::runtime`] 64 KiB) bounds how
//!   deep code may go.
//! - CPU: an instruction is accepted only if [`Policy::cpu`] has every CPU
//!   extension it needs (iced's CPUID features), so accepted code never
//!   raises `SIGILL`. The default is the x86-64 baseline; [`Policy::runtime`]
//!   asks the running CPU once ([`CpuFeatures::host`]). Code validated on one
//!   machine is not promised to run on another.
//! - Loops: rejected by default (then every path is finite, so accepted code
//!   always returns); with `allow_loops` the fixpoint handles them.
//! - Helper imports (SPEC §8.3): a signature's `uses a, b` names helpers
//!   of [`Policy::helpers`]; the import table of their absolute addresses
//!   follows the code at the next 8-byte boundary ([`import_table_offset`],
//!   placed and sealed by the runtime). `call qword ptr [rip+d]` must read
//!   slot `k` of that table and is then a call of helper `k`: `rsp` 16-byte
//!   aligned, arguments as the helper's signature says (buffers proven in
//!   bounds for its extents, their byte sizes counted without wrapping,
//!   `mut` ones into `mut` buffers), and afterwards caller-saved registers and
//!   flags undefined. Every other call through memory is rejected.
//! - Calls: only `call rel32` to an address in `allowed_calls`, with `rsp`
//!   16-byte aligned and the callee's arguments defined (buffer parameters
//!   proven as for a helper import); afterwards caller-saved
//!   registers and flags are undefined and the stack below `rsp` is forgotten.
//! - Unsized pointer parameters (`ptr`, `int8*` without an extent): only by
//!   policy, at constant offsets in a window. Buffers need no policy.
//! - A `66`-prefixed branch, call or `ret` is rejected: its length (or, for
//!   `ret`, the size of the address it pops) differs between Intel and AMD.
//!   A REX prefix followed by another prefix is rejected (the CPU ignores it,
//!   disassemblers disagree).
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

mod access;
mod calls;
mod classify;
mod cpu;
mod fast;
mod identity;
mod imports;
mod interp;
#[cfg(test)]
mod model;
mod num;
mod policy;
mod record;
mod refine;
#[allow(
    dead_code,
    reason = "operations kept with their tests for the interpreter's next users (division results, narrow compares, masks)"
)]
mod scalar;
mod signature;
mod state;
mod termination;
#[cfg(test)]
mod test_rng;
#[allow(
    dead_code,
    reason = "the known-bits half of `scalar`, complete with its tests"
)]
mod tnum;
mod uses;
mod validate;
mod values;
mod violation;

pub use cpu::CpuFeatures;
pub use identity::{BUFFER_BIT, IdentityError, MAX_BUFFER_SIGNATURES};
pub use imports::{
    Helper, MAX_HELPER_NAMES, MAX_USES, RUNTIME_HELPERS, import_table_offset, runtime_helpers,
};
pub use policy::{AllowedCall, MAX_CODE_SIZE, MAX_FRAME_LIMIT, PointerAccess, Policy, Register};
pub use signature::{
    Buffer, Elem, Extent, MAX_CONST_EXTENT_BYTES, MAX_PARAMS, Param, SigType, Signature,
    SignatureError,
};
pub use termination::TerminationGap;
pub use validate::{Report, Validator, validate};
pub use values::DivisionRisk;
pub use violation::{BufferAccess, Violation, ViolationKind};
