//! Path-independent checks on one decoded instruction.
//!
//! In: an iced [`Instruction`] and the [`Policy`]. Out: `Ok(())` if the
//! instruction may appear in accepted code at all, else the rule it breaks.
//! Checks go from the most specific rule to the catch-all: anything not on
//! the modelled list ([`is_modelled`]) is [`ViolationKind::Unsupported`].

use iced_x86::{FlowControl, Instruction, MemorySize, Mnemonic, OpKind, Register};

use crate::{Policy, ViolationKind};

/// Classifies one instruction independently of the path reaching it.
pub(crate) fn check_instruction(
    ins: &Instruction,
    bytes: &[u8],
    policy: &Policy,
) -> Result<(), ViolationKind> {
    use Mnemonic as M;
    let m = ins.mnemonic();
    if matches!(ins.segment_prefix(), Register::FS | Register::GS) {
        return Err(ViolationKind::SegmentOverride);
    }
    if matches!(
        m,
        M::Syscall | M::Sysenter | M::Sysexit | M::Sysret | M::Int | M::Int1 | M::Int3 | M::Into
    ) {
        return Err(ViolationKind::SystemCall);
    }
    if matches!(m, M::Retf | M::Iret | M::Iretd | M::Iretq)
        || (0..ins.op_count())
            .any(|i| matches!(ins.op_kind(i), OpKind::FarBranch16 | OpKind::FarBranch32))
        || (matches!(m, M::Jmp | M::Call)
            && ins.op0_kind() == OpKind::Memory
            && matches!(
                ins.memory_size(),
                MemorySize::SegPtr16 | MemorySize::SegPtr32 | MemorySize::SegPtr64
            ))
    {
        return Err(ViolationKind::FarTransfer);
    }
    if matches!(
        ins.flow_control(),
        FlowControl::IndirectBranch | FlowControl::IndirectCall
    ) {
        return Err(ViolationKind::IndirectTransfer);
    }
    if matches!(
        m,
        M::In | M::Out | M::Insb | M::Insw | M::Insd | M::Outsb | M::Outsw | M::Outsd
    ) {
        return Err(ViolationKind::InputOutput);
    }
    if ins.is_privileged() {
        return Err(ViolationKind::Privileged);
    }
    let writes_segment = matches!(m, M::Lss | M::Lfs | M::Lgs)
        || (matches!(m, M::Mov | M::Pop)
            && ins.op0_kind() == OpKind::Register
            && ins.op0_register().is_segment_register());
    if writes_segment {
        return Err(ViolationKind::SegmentWrite);
    }
    if m == M::Std {
        return Err(ViolationKind::DirectionFlag);
    }
    if matches!(m, M::Div | M::Idiv) && !policy.allow_division {
        return Err(ViolationKind::DivisionNotAllowed);
    }
    if !is_modelled(ins) || (is_branch(ins) && has_size_prefix(bytes)) || has_ignored_rex(bytes) {
        return Err(ViolationKind::Unsupported);
    }
    Ok(())
}

/// The instructions whose effect the interpreter models: general-purpose
/// integer arithmetic, moves, stack operations and direct control flow.
fn is_modelled(ins: &Instruction) -> bool {
    use Mnemonic as M;
    let m = ins.mnemonic();
    let base = matches!(
        m,
        M::Mov
            | M::Movzx
            | M::Movsx
            | M::Movsxd
            | M::Lea
            | M::Xchg
            | M::Add
            | M::Sub
            | M::Adc
            | M::Sbb
            | M::And
            | M::Or
            | M::Xor
            | M::Cmp
            | M::Test
            | M::Inc
            | M::Dec
            | M::Neg
            | M::Not
            | M::Shl
            | M::Shr
            | M::Sar
            | M::Rol
            | M::Ror
            | M::Rcl
            | M::Rcr
            | M::Shld
            | M::Shrd
            | M::Imul
            | M::Mul
            | M::Div
            | M::Idiv
            | M::Cbw
            | M::Cwde
            | M::Cdqe
            | M::Cwd
            | M::Cdq
            | M::Cqo
            | M::Push
            | M::Pop
            | M::Leave
            | M::Jmp
            | M::Call
            | M::Ret
            | M::Jo
            | M::Jno
            | M::Jb
            | M::Jae
            | M::Je
            | M::Jne
            | M::Jbe
            | M::Ja
            | M::Js
            | M::Jns
            | M::Jp
            | M::Jnp
            | M::Jl
            | M::Jge
            | M::Jle
            | M::Jg
            | M::Jrcxz
            | M::Jecxz
            | M::Loop
            | M::Loope
            | M::Loopne
            | M::Cmovo
            | M::Cmovno
            | M::Cmovb
            | M::Cmovae
            | M::Cmove
            | M::Cmovne
            | M::Cmovbe
            | M::Cmova
            | M::Cmovs
            | M::Cmovns
            | M::Cmovp
            | M::Cmovnp
            | M::Cmovl
            | M::Cmovge
            | M::Cmovle
            | M::Cmovg
            | M::Seto
            | M::Setno
            | M::Setb
            | M::Setae
            | M::Sete
            | M::Setne
            | M::Setbe
            | M::Seta
            | M::Sets
            | M::Setns
            | M::Setp
            | M::Setnp
            | M::Setl
            | M::Setge
            | M::Setle
            | M::Setg
            | M::Bswap
            | M::Bsf
            | M::Bsr
            | M::Bt
            | M::Bts
            | M::Btr
            | M::Btc
            | M::Lahf
            | M::Sahf
            | M::Clc
            | M::Stc
            | M::Cmc
            | M::Cld
            | M::Nop
            | M::Endbr64
            | M::Pause
    );
    if !base {
        return false;
    }
    match m {
        // `bt [m], reg` addresses memory beyond the operand by the bit index.
        M::Bt | M::Bts | M::Btr | M::Btc => ins.op0_kind() != OpKind::Memory,
        // `ret imm16` releases caller stack; only the plain near form is modelled.
        M::Ret => ins.op_count() == 0,
        // Segment-register pushes/pops and `push imm` of odd sizes are out.
        M::Push | M::Pop => !(0..ins.op_count())
            .any(|i| ins.op_kind(i) == OpKind::Register && !ins.op_register(i).is_gpr64()),
        // Only 64-bit near branches.
        _ if is_branch(ins) => ins.op0_kind() == OpKind::NearBranch64,
        _ => true,
    }
}

fn is_branch(ins: &Instruction) -> bool {
    matches!(
        ins.flow_control(),
        FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch | FlowControl::Call
    )
}

/// Whether the legacy prefixes of an instruction include `66`. A `66`-prefixed
/// near branch is decoded with a 32-bit displacement by Intel CPUs (and iced)
/// but with a 16-bit one by AMD CPUs, so its length is CPU-dependent.
fn has_size_prefix(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .take_while(|&&b| is_legacy_prefix(b))
        .any(|&b| b == 0x66)
}

fn is_legacy_prefix(b: u8) -> bool {
    matches!(
        b,
        0x66 | 0x67 | 0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65
    )
}

/// Whether a REX prefix is followed by another prefix. The CPU ignores such a
/// REX; disassemblers disagree on whether it is part of the instruction (GNU
/// objdump prints it as a separate `rex` line), so the code is refused rather
/// than checked under one reading and described under another.
fn has_ignored_rex(bytes: &[u8]) -> bool {
    // One pass over the prefix run: a prefix byte after a REX means that
    // REX is not the last prefix.
    let mut rex_seen = false;
    for &b in bytes {
        let rex = (0x40..=0x4f).contains(&b);
        if !(rex || is_legacy_prefix(b)) {
            break;
        }
        if rex_seen {
            return true;
        }
        rex_seen = rex;
    }
    false
}
