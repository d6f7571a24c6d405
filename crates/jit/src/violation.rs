//! Rejections: where, which instruction, and which rule of SPEC §6.
//!
//! A [`Violation`] holds the byte offset, the instruction in Intel syntax
//! (empty when the problem is not one instruction's, e.g. empty code) and a
//! [`ViolationKind`] whose `Display` states the rule in words.

use std::fmt;
use std::sync::OnceLock;

use iced_x86::{Formatter, Instruction, IntelFormatter, Register};

/// The rule a rejected byte string breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The byte string is empty.
    EmptyCode,
    /// The bytes at the offset are not a valid x86-64 instruction.
    InvalidInstruction,
    /// The last instruction runs past the end of the code.
    TruncatedInstruction,
    /// A direct branch or call target lies outside the code.
    TargetOutsideCode {
        /// Target offset relative to the start of the code (may be negative).
        target: i64,
    },
    /// A direct branch target is inside an instruction, not at its start.
    TargetInsideInstruction {
        /// Target offset relative to the start of the code.
        target: i64,
    },
    /// An indirect jump or call (through a register or memory).
    IndirectTransfer,
    /// A far jump, call or return, or `iret`.
    FarTransfer,
    /// `syscall`, `sysenter`, `int`, `int3` and relatives.
    SystemCall,
    /// An instruction that needs kernel privilege.
    Privileged,
    /// An I/O port instruction (`in`, `out`, `ins`, `outs`).
    InputOutput,
    /// A write to a segment register.
    SegmentWrite,
    /// An `fs`/`gs` segment override.
    SegmentOverride,
    /// An instruction the validator does not model (SIMD, x87, string, ...).
    Unsupported,
    /// `div`/`idiv`, which can trap, and the policy forbids it.
    DivisionNotAllowed,
    /// `std`: the direction flag must stay clear.
    DirectionFlag,
    /// A backward branch, and the policy forbids loops.
    LoopNotAllowed,
    /// A call to a target that is not in the policy's allow-list.
    CallNotAllowed {
        /// The absolute call target.
        target: u64,
    },
    /// A call with `rsp` not 16-byte aligned.
    MisalignedCall,
    /// Memory touched outside the function's stack frame (or pointer window).
    MemoryOutsideFrame,
    /// A stack slot read before it is written on some path.
    UninitializedStackRead {
        /// Offset of the slot from the entry `rsp`.
        offset: i64,
    },
    /// A register read (at this width) before being defined on some path.
    UndefinedRegisterRead {
        /// The register as the instruction names it.
        register: Register,
    },
    /// Flags read that no earlier instruction on some path has set.
    UndefinedFlagsRead {
        /// The undefined flags read (iced's `RflagsBits`: CF PF AF ZF SF OF).
        flags: u32,
    },
    /// A register reserved by policy is used.
    ReservedRegister {
        /// The register as the instruction names it.
        register: Register,
    },
    /// `rsp` gets a value the validator cannot track as entry `rsp` + constant.
    StackPointerUnknown,
    /// `rsp` leaves the allowed frame (above its entry value or too deep).
    StackPointerOutOfFrame {
        /// The offending offset from the entry `rsp`.
        offset: i64,
    },
    /// Two paths reach one instruction with different `rsp` values.
    StackPointerMismatch,
    /// `ret` with the return register not defined at the return width.
    ReturnValueUndefined,
    /// `ret` with `rsp` not at its entry value.
    StackNotRestored {
        /// `rsp` at the `ret`, as an offset from its entry value.
        offset: i64,
    },
    /// `ret` with a callee-saved register not holding its entry value.
    CalleeSavedClobbered {
        /// The callee-saved register.
        register: Register,
    },
    /// A path runs past the last instruction.
    FallsOffEnd,
    /// The signature uses pointer types and the policy forbids them.
    PointerSignatureNotAllowed,
    /// The analysis needed more work than the policy allows.
    AnalysisBudgetExceeded,
    /// A branch, call or `ret` with a `66` (operand-size) prefix: its length
    /// or the return address it pops differs between Intel and AMD CPUs.
    SizePrefixedBranch,
    /// A REX prefix followed by another prefix (the CPU ignores such a REX;
    /// disassemblers disagree on the instruction).
    IgnoredRexPrefix,
    /// The instruction needs a CPU extension the policy does not allow (the
    /// running CPU lacks it, or the policy is the portable baseline).
    CpuFeatureMissing,
    /// The entry value of a callee-saved register stored outside the stack
    /// frame (or handed to a callee), where it could come back as data.
    EntryValueEscapes,
    /// A stack access (or `rsp`) more than one page below the deepest stack
    /// byte already touched on this path: it could skip the guard page.
    StackClash {
        /// The lowest byte reached, as an offset from the entry `rsp`.
        offset: i32,
        /// The deepest byte touched before, as an offset from the entry `rsp`.
        touched: i32,
    },
    /// No path from this instruction reaches a `ret` (it would run forever).
    NoReturnPath,
    /// The code is larger than [`crate::MAX_CODE_SIZE`].
    CodeTooLarge {
        /// Its length in bytes.
        bytes: usize,
    },
    /// A load or store through a buffer parameter that the analysis cannot
    /// prove lies inside the buffer on every path.
    BufferOutOfBounds(Box<BufferAccess>),
    /// A `div`/`idiv` the analysis cannot prove free of traps (and the
    /// policy does not allow them).
    DivisionUnproven {
        /// What could not be proven.
        risk: crate::DivisionRisk,
    },
    /// A `call qword ptr [rip+d]` whose slot is not one of the import
    /// table's (SPEC §8.3).
    NotAnImportSlot {
        /// The slot's offset from the start of the code.
        target: u64,
    },
    /// A `uses` name the policy has no helper for.
    UnknownHelper {
        /// The name.
        name: String,
    },
    /// An argument of a helper call that does not satisfy the helper's
    /// signature (a buffer not proven in bounds for its extent, or a store
    /// buffer that is read-only).
    HelperArgument {
        /// The helper.
        helper: String,
        /// The parameter index.
        param: u8,
    },
    /// `rep movs`/`rep stos` whose span is not proven: `register` (`rdi`
    /// or `rsi`) must point into a buffer with `rcx` elements, a count of at
    /// least 0, before the buffer's end.
    StringSpanUnproven {
        /// The pointer register whose span is not proven, or `rcx` when the
        /// count may be negative or too large.
        register: iced_x86::Register,
    },
    /// A loop (at its head) not proven to end, when the policy requires it.
    LoopNotProven {
        /// What the proof lacks.
        gap: crate::TerminationGap,
    },
    /// A store into a buffer parameter declared without `mut`.
    ReadOnlyBuffer {
        /// The buffer's parameter index.
        param: u8,
    },
    /// A memory access through a register indexed by a value whose range
    /// leaves the stack frame, or reading stack bytes not all written.
    IndexedStackAccess {
        /// Lowest byte the access may touch, from the entry `rsp`.
        lo: i64,
        /// One past the highest byte, from the entry `rsp`.
        hi: i64,
    },
}

/// What the validator knew about an access it could not prove in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferAccess {
    /// The buffer's parameter index.
    pub param: u8,
    /// Bytes accessed.
    pub width: u8,
    /// A store (else a load).
    pub store: bool,
    /// The byte offset's proven signed range.
    pub lo: i64,
    /// See `lo`.
    pub hi: i64,
    /// A proven relation `offset - (extent parameter << shift) ∈ [lo, hi]`
    /// as `(parameter, shift, lo, hi)`, `i64::MIN`/`MAX` meaning unbounded.
    pub relation: Option<(u8, u8, i64, i64)>,
    /// The buffer's element size.
    pub elem_size: u8,
    /// The buffer's extent.
    pub extent: crate::Extent,
}

/// A bound as text: infinities, and large powers of two as `2^k`.
fn bound(v: i64) -> String {
    match v {
        i64::MIN => "-inf".into(),
        i64::MAX => "+inf".into(),
        v if v.unsigned_abs() >= 1 << 20 && v.unsigned_abs().is_power_of_two() => {
            let sign = if v < 0 { "-" } else { "" };
            format!("{sign}2^{}", v.unsigned_abs().trailing_zeros())
        }
        v => v.to_string(),
    }
}

impl fmt::Display for BufferAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.store { "store to" } else { "load from" };
        let size = self.elem_size;
        let end = match self.extent {
            crate::Extent::Count(n) => format!("{}", u128::from(n) * u128::from(size)),
            crate::Extent::Param(k) => format!("{size}*p{k}"),
        };
        write!(
            f,
            "{}-byte {what} buffer parameter {} is not proven in bounds: its byte offset is in [{}, {}]",
            self.width,
            self.param,
            bound(self.lo),
            bound(self.hi)
        )?;
        if let Some((k, shift, lo, hi)) = self.relation {
            write!(
                f,
                " and offset - {}*p{k} in [{}, {}]",
                1u64 << shift,
                bound(lo),
                bound(hi)
            )?;
        }
        write!(
            f,
            "; it needs 0 <= offset and offset + {} <= {end}",
            self.width
        )?;
        if let crate::Extent::Param(k) = self.extent {
            write!(f, " (p{k}: the value of parameter {k})")?;
        }
        Ok(())
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ViolationKind as K;
        match *self {
            K::EmptyCode => f.write_str("the code is empty"),
            K::InvalidInstruction => f.write_str("the bytes are not a valid x86-64 instruction"),
            K::TruncatedInstruction => f.write_str("the code does not end on an instruction boundary"),
            K::TargetOutsideCode { target } => {
                write!(f, "branch target {target:#x} is outside the code")
            }
            K::TargetInsideInstruction { target } => {
                write!(f, "branch target {target:#x} is not the start of an instruction")
            }
            K::IndirectTransfer => f.write_str("indirect jumps and calls are not allowed"),
            K::FarTransfer => f.write_str("far jumps, calls and returns are not allowed"),
            K::SystemCall => f.write_str("system calls and software interrupts are not allowed"),
            K::Privileged => f.write_str("privileged instructions are not allowed"),
            K::InputOutput => f.write_str("I/O port instructions are not allowed"),
            K::SegmentWrite => f.write_str("writing a segment register is not allowed"),
            K::SegmentOverride => f.write_str("fs/gs segment overrides are not allowed"),
            K::Unsupported => f.write_str(
                "instruction not modelled by the validator (only general-purpose integer instructions are)",
            ),
            K::DivisionNotAllowed => f.write_str("div/idiv can trap and the policy does not allow division"),
            K::DirectionFlag => f.write_str("setting the direction flag is not allowed"),
            K::LoopNotAllowed => f.write_str("backward branch (loop) and the policy does not allow loops"),
            K::CallNotAllowed { target } => {
                write!(f, "call target {target:#x} is not in the policy's allow-list")
            }
            K::MisalignedCall => f.write_str("rsp is not 16-byte aligned at the call"),
            K::MemoryOutsideFrame => {
                f.write_str("memory access outside the function's own stack frame")
            }
            K::UninitializedStackRead { offset } => {
                write!(f, "stack slot at entry rsp{offset:+} read before it is written")
            }
            K::UndefinedRegisterRead { register } => write!(
                f,
                "register {} read before it is defined at this width",
                reg_name(register)
            ),
            K::UndefinedFlagsRead { flags } => write!(
                f,
                "flag{} {} read before an instruction sets {}",
                if flags.count_ones() == 1 { "" } else { "s" },
                flag_names(flags),
                if flags.count_ones() == 1 { "it" } else { "them" }
            ),
            K::ReservedRegister { register } => {
                write!(f, "register {} is reserved by the policy", reg_name(register))
            }
            K::StackPointerUnknown => {
                f.write_str("rsp must stay entry rsp plus a known constant")
            }
            K::StackPointerOutOfFrame { offset } => {
                write!(f, "rsp would be entry rsp{offset:+}, outside the allowed frame")
            }
            K::StackPointerMismatch => f.write_str("paths join with different rsp values"),
            K::ReturnValueUndefined => {
                f.write_str("the return register is not defined at the return width when returning")
            }
            K::StackNotRestored { offset } => {
                write!(f, "rsp is entry rsp{offset:+} when returning, not its entry value")
            }
            K::CalleeSavedClobbered { register } => write!(
                f,
                "callee-saved register {} does not hold its entry value when returning",
                reg_name(register)
            ),
            K::FallsOffEnd => f.write_str("a path falls off the end of the code"),
            K::PointerSignatureNotAllowed => {
                f.write_str("pointer parameters are not allowed by the policy")
            }
            K::AnalysisBudgetExceeded => f.write_str(
                "the analysis needs more work than its budget (steps_per_instruction per instruction)",
            ),
            K::SizePrefixedBranch => f.write_str(
                "a 66-prefixed branch, call or ret is not allowed: its length or return address size differs between CPUs",
            ),
            K::IgnoredRexPrefix => f.write_str(
                "a REX prefix followed by another prefix is not allowed (the CPU ignores it)",
            ),
            K::CpuFeatureMissing => f.write_str(
                "the instruction needs a CPU extension the policy does not allow (this CPU may lack it)",
            ),
            K::EntryValueEscapes => f.write_str(
                "a callee-saved register's entry value may only be moved between registers and the stack frame",
            ),
            K::StackClash { offset, touched } => write!(
                f,
                "reaches entry rsp{offset:+}, more than one page below the deepest stack byte touched (entry rsp{touched:+}); touch the stack at least every 4096 bytes"
            ),
            K::NoReturnPath => f.write_str("no path from here reaches a ret (the code would run forever)"),
            K::BufferOutOfBounds(ref access) => write!(f, "{access}"),
            K::DivisionUnproven { risk } => write!(f, "division may trap: {risk}"),
            K::LoopNotProven { gap } => write!(f, "the loop starting here is not proven to end: {gap}"),
            K::NotAnImportSlot { target } => write!(
                f,
                "call through [rip+..] at code+{target:#x}, which is not a slot of the import table (the `uses` helpers, after the code at the next 8-byte boundary)"
            ),
            K::UnknownHelper { ref name } => {
                write!(f, "helper `{name}` named in `uses` is not one the runtime (policy) provides")
            }
            K::HelperArgument { ref helper, param } => write!(
                f,
                "argument {param} of helper `{helper}` does not satisfy its signature (a buffer must be proven in bounds for the helper's extent, and `mut` for a `mut` parameter)"
            ),
            K::StringSpanUnproven { register } => write!(
                f,
                "the span of this string instruction is not proven: {} must point into a buffer with rcx elements before its end, rcx a count proven to be at least 0",
                format!("{register:?}").to_lowercase()
            ),
            K::ReadOnlyBuffer { param } => write!(
                f,
                "store into buffer parameter {param}, which is read-only (declare it `mut`)"
            ),
            K::IndexedStackAccess { lo, hi } if lo == i64::MIN || hi == i64::MAX => f.write_str(
                "indexed stack access with an index whose range is not bounded",
            ),
            K::IndexedStackAccess { lo, hi } => write!(
                f,
                "indexed stack access may touch [entry rsp{lo:+}, entry rsp{hi:+}), which is not all inside the frame and written"
            ),
            K::CodeTooLarge { bytes } => write!(
                f,
                "the code is {bytes} bytes, more than the {} the validator accepts",
                crate::MAX_CODE_SIZE
            ),
        }
    }
}

fn flag_names(flags: u32) -> String {
    use iced_x86::RflagsBits as B;
    let names = [
        (B::CF, "CF"),
        (B::PF, "PF"),
        (B::AF, "AF"),
        (B::ZF, "ZF"),
        (B::SF, "SF"),
        (B::OF, "OF"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|&(_, n)| n)
        .collect();
    set.join(", ")
}

fn reg_name(r: Register) -> String {
    format!("{r:?}").to_ascii_lowercase()
}

/// A rejection: the first rule the validator found broken.
///
/// ```
/// use npk_jit::{validate, Policy, ViolationKind};
/// let sig = "int64()".parse().expect("valid signature");
/// let v = validate(&[0x0f, 0x05], &sig, &Policy::default()).expect_err("syscall");
/// assert_eq!((v.offset(), v.instruction()), (0, "syscall"));
/// assert_eq!(v.kind(), ViolationKind::SystemCall);
/// ```
#[derive(Clone)]
pub struct Violation {
    offset: usize,
    /// The instruction to format on first use (rejections are common in
    /// bulk validation, and formatting costs more than validating).
    decoded: Option<Instruction>,
    instruction: OnceLock<String>,
    kind: ViolationKind,
}

impl Violation {
    pub(crate) fn new(offset: usize, instruction: String, kind: ViolationKind) -> Violation {
        Violation {
            offset,
            decoded: None,
            instruction: OnceLock::from(instruction),
            kind,
        }
    }

    /// A violation at a decoded instruction, formatted when first asked for.
    pub(crate) fn at(ins: &Instruction, kind: ViolationKind) -> Violation {
        Violation {
            offset: ins.ip() as usize,
            decoded: Some(*ins),
            instruction: OnceLock::new(),
            kind,
        }
    }

    /// Byte offset of the offending instruction.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The instruction in Intel syntax (may be empty).
    #[must_use]
    pub fn instruction(&self) -> &str {
        self.instruction.get_or_init(|| {
            let mut text = String::new();
            if let Some(ins) = &self.decoded {
                let mut fmt = IntelFormatter::new();
                let o = fmt.options_mut();
                // `[rip+0x10]`, as written, not the absolute address; hex
                // as objdump prints it (`je 0xb`, not `je short 000..0Bh`).
                o.set_rip_relative_addresses(true);
                o.set_hex_prefix("0x");
                o.set_hex_suffix("");
                o.set_uppercase_hex(false);
                o.set_branch_leading_zeros(false);
                o.set_show_branch_size(false);
                fmt.format(ins, &mut text);
            }
            text
        })
    }

    /// The rule broken.
    #[must_use]
    pub fn kind(&self) -> ViolationKind {
        self.kind.clone()
    }
}

impl PartialEq for Violation {
    fn eq(&self, other: &Violation) -> bool {
        (self.offset, self.instruction(), &self.kind)
            == (other.offset, other.instruction(), &other.kind)
    }
}

impl Eq for Violation {}

impl fmt::Debug for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Violation")
            .field("offset", &self.offset)
            .field("instruction", &self.instruction())
            .field("kind", &self.kind)
            .finish()
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.instruction();
        if text.is_empty() {
            write!(f, "at offset {:#x}: {}", self.offset, self.kind)
        } else {
            write!(f, "at offset {:#x} `{text}`: {}", self.offset, self.kind)
        }
    }
}

impl std::error::Error for Violation {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_text_is_the_formatted_instruction() {
        // add eax, ebx at offset 0
        let ins = iced_x86::Decoder::new(64, &[0x01, 0xd8], 0).decode();
        let lazy = Violation::at(&ins, ViolationKind::Unsupported);
        let eager = Violation::new(0, "add eax,ebx".to_string(), ViolationKind::Unsupported);
        assert_eq!(lazy.instruction(), "add eax,ebx");
        assert_eq!(lazy, eager);
        assert_eq!(format!("{lazy:?}"), format!("{eager:?}"));
        assert_eq!(lazy.to_string(), eager.to_string());
        // A clone made before the text was asked for formats the same text.
        let early = Violation::at(&ins, ViolationKind::Unsupported);
        assert_eq!(
            early.clone().to_string(),
            "at offset 0x0 `add eax,ebx`: ".to_string() + &ViolationKind::Unsupported.to_string()
        );
        assert_ne!(
            lazy,
            Violation::new(0, "add eax,ecx".into(), ViolationKind::Unsupported)
        );
    }
}
