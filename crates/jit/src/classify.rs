//! Path-independent checks on one decoded instruction.
//!
//! In: an iced [`Instruction`] and the [`Policy`]. Out: `Ok(())` if the
//! instruction may appear in accepted code at all, else the rule it breaks.
//! Checks go from the most specific rule to the catch-all: anything not on
//! the modelled list ([`is_modelled`]) is [`ViolationKind::Unsupported`].
//!
//! Everything except the segment prefix, the division policy and the prefix
//! bytes depends only on the instruction's `Code` and on whether operand 0 is
//! memory (iced fixes mnemonic, flow control, privilege, operand kinds other
//! than register-or-memory, register classes and memory size by `Code`), so
//! that part is computed once per key ([`crate::record::Records`]) and cached.

use iced_x86::{Code, FlowControl, Instruction, MemorySize, Mnemonic, OpKind, Register};

use crate::cpu::CpuFeatures;
use crate::interp::{is_cmovcc, is_direct_jump, is_setcc};
use crate::{Policy, ViolationKind};

/// The `Code`-level part of the rules (of `check_instruction`, the test-only
/// reference): one byte, so the cache stays small.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Verdict {
    // The first three, accepted inline by `check_with`, are one range test.
    /// Modelled; not a branch, not a division.
    Modelled,
    /// `div`/`idiv`: modelled if the policy allows division.
    Division,
    /// Modelled branch or `ret`: must not carry a `66` prefix.
    ModelledBranch,
    /// Not computed yet.
    #[default]
    Unknown,
    /// Modelled, needs CPU extensions (the record's `cpu`): allowed if the
    /// policy's CPU set has them.
    ModelledExtension,
    /// Not modelled.
    Unsupported,
    /// A rule broken whatever the prefixes and the policy (the
    /// [`ViolationKind`] of the same name).
    SystemCall,
    FarTransfer,
    IndirectTransfer,
    InputOutput,
    Privileged,
    SegmentWrite,
    DirectionFlag,
}

/// Same result as `check_instruction` (the test-only reference), given the
/// record of `ins`'s key (see [`crate::record`]): its [`code_verdict`], its
/// CPU extensions and whether it is a string copy or fill. (The record is
/// passed whole: the last two are read only out of line.) `bytes` is the
/// code from the instruction on, not cut to its length: the inline test
/// reads the prefix run alone, which ends at the opcode inside the
/// instruction (iced decodes no instruction of prefixes alone), and the
/// rules out of line get the instruction's own bytes.
///
/// Most instructions carry no legacy prefix and no REX prefix followed by
/// another prefix: then no prefix rule can apply (no segment override, no
/// `F2`/`F3`, no `66`, no ignored REX) and only the verdict is looked at.
#[inline]
pub(crate) fn check_with(
    rec: &crate::record::Rec,
    ins: &Instruction,
    bytes: &[u8],
    policy: &Policy,
) -> Result<(), ViolationKind> {
    let v = rec.verdict;
    let c0 = prefix_class(bytes[0]);
    let plain =
        c0 == OTHER || (c0 == REX && bytes.get(1).is_some_and(|&b| prefix_class(b) == OTHER));
    // The common case, decided inline: modelled whatever the policy.
    if plain
        && matches!(
            v,
            Verdict::Modelled | Verdict::ModelledBranch | Verdict::Division
        )
    {
        return Ok(());
    }
    // A `66` prefix alone (padding: `66 90`, `66 0f 1f ..`) on a modelled
    // instruction that is not a branch: no prefix rule applies either.
    if bytes[0] == 0x66
        && bytes.get(1).is_some_and(|&b| prefix_class(b) == OTHER)
        && matches!(v, Verdict::Modelled | Verdict::Division)
    {
        return Ok(());
    }
    check_rest(
        v,
        rec.cpu,
        rec.string(),
        plain,
        ins,
        &bytes[..ins.len()],
        policy,
    )
}

/// Whether `bytes` starts with one or more `66`/`2E` prefixes followed
/// directly by a byte that is no prefix (not even REX).
#[inline]
fn size_or_cs_prefixed(bytes: &[u8]) -> bool {
    let n = bytes
        .iter()
        .take_while(|&&b| b == 0x66 || b == 0x2e)
        .count();
    n > 0 && bytes.get(n).is_some_and(|&b| prefix_class(b) == OTHER)
}

/// [`check_with`] out of line: the verdicts the policy decides, and the
/// prefix rules.
#[inline(never)]
fn check_rest(
    v: Verdict,
    need: CpuFeatures,
    string: bool,
    plain: bool,
    ins: &Instruction,
    bytes: &[u8],
    policy: &Policy,
) -> Result<(), ViolationKind> {
    if plain {
        return verdict_rule(v, need, policy).map(|_| ());
    }
    // Only `66` and `2E` prefixes, no REX (padding such as
    // `66 66 2e 0f 1f 84 ..`) on a modelled instruction that is not a
    // branch: no prefix rule applies (`2E` is no `FS`/`GS` override, there
    // is no `F2`/`F3` and no REX to be ignored).
    if matches!(v, Verdict::Modelled | Verdict::Division) && size_or_cs_prefixed(bytes) {
        return Ok(());
    }
    // Operand-size and ignored segment prefixes alone (padding such as
    // `66 2e 0f 1f 84 ..`), at most one REX after them: no segment
    // override, no `F2`/`F3`, no ignored REX, so only the verdict and (for a
    // branch) the `66` rule remain, and a branch goes the long way.
    if only_benign_prefixes(bytes) && !verdict_rule(v, need, policy)? {
        return Ok(());
    }
    check_prefixed(v, need, string, ins, bytes, policy)
}

/// Whether the legacy prefixes of `bytes` are all `66`, `2E`, `3E`, `26` or
/// `36`, and at most one REX prefix follows them, last.
#[inline]
fn only_benign_prefixes(bytes: &[u8]) -> bool {
    let mut it = bytes.iter().map(|&b| (b, prefix_class(b)));
    let mut next = it.next();
    while let Some((b, LEGACY)) = next {
        if !matches!(b, 0x66 | 0x2e | 0x3e | 0x26 | 0x36) {
            return false;
        }
        next = it.next();
    }
    if let Some((_, REX)) = next {
        next = it.next();
    }
    matches!(next, Some((_, OTHER)))
}

/// [`check_with`] for an instruction with prefixes: every rule, in order.
fn check_prefixed(
    v: Verdict,
    need: CpuFeatures,
    string: bool,
    ins: &Instruction,
    bytes: &[u8],
    policy: &Policy,
) -> Result<(), ViolationKind> {
    if matches!(ins.segment_prefix(), Register::FS | Register::GS) {
        return Err(ViolationKind::SegmentOverride);
    }
    // `F2` and `F3` together on a string instruction: Intel leaves which
    // one counts unpredictable (iced takes the last).
    if string {
        let legacy = bytes.iter().take_while(|&&b| {
            matches!(
                b,
                0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65 | 0x66 | 0x67
            )
        });
        let (mut f2, mut f3) = (false, false);
        for &b in legacy {
            f2 |= b == 0xf2;
            f3 |= b == 0xf3;
        }
        if f2 && f3 {
            return Err(ViolationKind::Unsupported);
        }
    }
    let branch = verdict_rule(v, need, policy)?;
    if branch && has_size_prefix(bytes) {
        return Err(ViolationKind::SizePrefixedBranch);
    }
    if has_ignored_rex(bytes) {
        return Err(ViolationKind::IgnoredRexPrefix);
    }
    Ok(())
}

/// Every rule, with nothing taken from the record table: the reference the
/// cached path ([`check_with`]) is tested against.
#[cfg(test)]
pub(crate) fn check_instruction(
    ins: &Instruction,
    bytes: &[u8],
    policy: &Policy,
) -> Result<(), ViolationKind> {
    let need = crate::cpu::required(ins).unwrap_or_default();
    check_prefixed(code_verdict(ins), need, is_string(ins), ins, bytes, policy)
}

/// The rule verdict `v` breaks under `policy`, else whether the
/// instruction is a branch (which must not carry a `66` prefix).
#[inline]
fn verdict_rule(v: Verdict, need: CpuFeatures, policy: &Policy) -> Result<bool, ViolationKind> {
    // Refused verdicts are rare: their rules are looked up out of line.
    match v {
        Verdict::Modelled => Ok(false),
        Verdict::ModelledExtension if policy.cpu.contains(need) => Ok(false),
        Verdict::ModelledExtension => Err(ViolationKind::CpuFeatureMissing),
        Verdict::ModelledBranch => Ok(true),
        // The interpreter proves it cannot trap (or the policy allows it).
        Verdict::Division => Ok(false),
        v => Err(rule_of(v)),
    }
}

/// The rule a verdict other than "modelled" breaks.
#[cold]
fn rule_of(v: Verdict) -> ViolationKind {
    use ViolationKind as K;
    match v {
        Verdict::Division => K::DivisionNotAllowed,
        Verdict::Unknown
        | Verdict::Unsupported
        | Verdict::Modelled
        | Verdict::ModelledExtension
        | Verdict::ModelledBranch => K::Unsupported,
        Verdict::SystemCall => K::SystemCall,
        Verdict::FarTransfer => K::FarTransfer,
        Verdict::IndirectTransfer => K::IndirectTransfer,
        Verdict::InputOutput => K::InputOutput,
        Verdict::Privileged => K::Privileged,
        Verdict::SegmentWrite => K::SegmentWrite,
        Verdict::DirectionFlag => K::DirectionFlag,
    }
}

/// The rules that depend only on the `Code` (and operand 0 being memory), in
/// the order of `check_instruction` (the test-only reference).
pub(crate) fn code_verdict(ins: &Instruction) -> Verdict {
    use Mnemonic as M;
    let m = ins.mnemonic();
    if matches!(
        m,
        M::Syscall | M::Sysenter | M::Sysexit | M::Sysret | M::Int | M::Int1 | M::Int3 | M::Into
    ) {
        return Verdict::SystemCall;
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
        return Verdict::FarTransfer;
    }
    // The one indirect transfer: a call through an import-table slot,
    // `call qword ptr [rip+d]`. Every `Call_rm64` gets here (verdicts are
    // cached per `Code` and operand shape); the interpreter refuses all but
    // that form and checks the slot against the signature's `uses`.
    if matches!(
        ins.flow_control(),
        FlowControl::IndirectBranch | FlowControl::IndirectCall
    ) && ins.code() != Code::Call_rm64
    {
        return Verdict::IndirectTransfer;
    }
    if matches!(
        m,
        M::In | M::Out | M::Insb | M::Insw | M::Insd | M::Outsb | M::Outsw | M::Outsd
    ) {
        return Verdict::InputOutput;
    }
    if ins.is_privileged() {
        return Verdict::Privileged;
    }
    let writes_segment = matches!(m, M::Lss | M::Lfs | M::Lgs)
        || (matches!(m, M::Mov | M::Pop)
            && ins.op0_kind() == OpKind::Register
            && ins.op0_register().is_segment_register());
    if writes_segment {
        return Verdict::SegmentWrite;
    }
    if m == M::Std {
        return Verdict::DirectionFlag;
    }
    // `div`/`idiv` are modelled; the policy decides per call. An
    // instruction needing a CPU feature the validator does not know is not.
    let need = crate::cpu::required(ins);
    if !is_modelled(ins) || need.is_none() {
        Verdict::Unsupported
    } else if matches!(m, M::Div | M::Idiv) {
        Verdict::Division
    } else if is_branch(ins) {
        Verdict::ModelledBranch
    } else if need != Some(CpuFeatures::baseline()) {
        Verdict::ModelledExtension
    } else {
        Verdict::Modelled
    }
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
            | M::Jrcxz
            | M::Jecxz
            | M::Loop
            | M::Loope
            | M::Loopne
            | M::Bswap
            | M::Bsf
            | M::Bsr
            | M::Bt
            | M::Bts
            | M::Btr
            | M::Btc
            | M::Popcnt
            | M::Lzcnt
            | M::Tzcnt
            | M::Andn
            | M::Blsi
            | M::Blsmsk
            | M::Blsr
            | M::Bzhi
            | M::Shlx
            | M::Shrx
            | M::Sarx
            | M::Rorx
            | M::Pdep
            | M::Pext
            | M::Mulx
            | M::Clc
            | M::Stc
            | M::Cmc
            | M::Cld
            | M::Nop
            | M::Endbr64
            | M::Pause
            | M::Movsb
            | M::Movsw
            | M::Movsd
            | M::Movsq
            | M::Stosb
            | M::Stosw
            | M::Stosd
            | M::Stosq
    ) || is_direct_jump(m)
        || is_cmovcc(m)
        || is_setcc(m);
    if !base {
        return false;
    }
    match m {
        // `bt [m], reg` addresses memory beyond the operand by the bit index.
        M::Bt | M::Bts | M::Btr | M::Btc => ins.op0_kind() != OpKind::Memory,
        // The result of `bswap r16` is undefined.
        M::Bswap => ins.code() != Code::Bswap_r16,
        // Instructions the interpreter steps by hand (they move `rsp` or
        // transfer control): only the exact `Code`s it models, never
        // another operand or address size of the same mnemonic.
        M::Pop if ins.op0_kind() == OpKind::Memory => false,
        M::Push | M::Pop | M::Leave | M::Ret | M::Call | M::Jmp => hand_stepped(ins.code()),
        // String copies and fills by `Code` (`movsd` only the string one,
        // not the SSE move); the verdict is cached per `Code`, so the
        // interpreter checks the prefixes (`rep`, 64-bit addresses, no
        // segment override: [`rep_string_width`]) and refuses the rest.
        M::Movsb | M::Movsw | M::Movsd | M::Movsq | M::Stosb | M::Stosw | M::Stosd | M::Stosq => {
            string_width(ins.code()).is_some()
        }
        // Only 64-bit near branches.
        _ if is_branch(ins) => ins.op0_kind() == OpKind::NearBranch64,
        _ => true,
    }
}

/// The `Code`s of the instructions the interpreter models by hand: 64-bit
/// pushes and pops of a register, an immediate or (push only) memory,
/// `leave` (`mov rsp, rbp; pop rbp`), the plain near `ret`, `call rel32`,
/// `jmp rel8/rel32`. Their 16-bit forms (`66`-prefixed: `leavew`, `pushw`,
/// `retw` on AMD) move `rsp` by 2 and are not modelled; `pop` to memory
/// computes its address after `rsp` moves, so it is not modelled either.
pub(crate) fn hand_stepped(code: Code) -> bool {
    use Code as C;
    matches!(
        code,
        C::Push_r64
            | C::Pushq_imm8
            | C::Pushq_imm32
            | C::Push_rm64
            | C::Pop_r64
            | C::Pop_rm64
            | C::Leaveq
            | C::Retnq
            | C::Call_rel32_64
            | C::Call_rm64
            | C::Jmp_rel8_64
            | C::Jmp_rel32_64
    )
}

/// The element width of a string copy or fill `Code`.
fn string_width(code: Code) -> Option<u8> {
    Some(match code {
        Code::Movsb_m8_m8 | Code::Stosb_m8_AL => 1,
        Code::Movsw_m16_m16 | Code::Stosw_m16_AX => 2,
        Code::Movsd_m32_m32 | Code::Stosd_m32_EAX => 4,
        Code::Movsq_m64_m64 | Code::Stosq_m64_RAX => 8,
        _ => return None,
    })
}

/// Whether `ins` is a string copy or fill (any prefixes).
pub(crate) fn is_string(ins: &Instruction) -> bool {
    string_width(ins.code()).is_some()
}

/// The element width of `rep movs`/`rep stos` (the `F3` prefix, 64-bit
/// addresses in `rdi`/`rsi`, no segment override, no `F2`), or `None`.
pub(crate) fn rep_string_width(ins: &Instruction) -> Option<u8> {
    let w = string_width(ins.code())?;
    let plain = ins.has_rep_prefix()
        && !ins.has_repne_prefix()
        && ins.segment_prefix() == iced_x86::Register::None
        && ins.op0_kind() == OpKind::MemoryESRDI;
    plain.then_some(w)
}

/// `call qword ptr [rip+d]` with 64-bit addressing: a call through a slot
/// of the import table (SPEC §8.3).
pub(crate) fn is_import_call(ins: &Instruction) -> bool {
    ins.code() == Code::Call_rm64
        && ins.op0_kind() == OpKind::Memory
        && ins.memory_base() == iced_x86::Register::RIP
        && ins.memory_index() == iced_x86::Register::None
        && ins.memory_displ_size() != 0
}

/// Branches, calls and returns: a `66` prefix changes their length or the
/// width of the return address they pop on some CPUs.
fn is_branch(ins: &Instruction) -> bool {
    matches!(
        ins.flow_control(),
        FlowControl::UnconditionalBranch
            | FlowControl::ConditionalBranch
            | FlowControl::Call
            | FlowControl::IndirectCall
            | FlowControl::Return
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

pub(crate) fn is_legacy_prefix(b: u8) -> bool {
    prefix_class(b) == LEGACY
}

#[inline]
fn prefix_class(b: u8) -> u8 {
    PREFIX_CLASS[usize::from(b)]
}

/// [`PREFIX_CLASS`] values: not a prefix, a legacy prefix, a REX prefix.
const OTHER: u8 = 0;
const LEGACY: u8 = 1;
const REX: u8 = 2;

/// The prefix class of each byte (one load instead of a chain of compares
/// in the per-instruction prefix scans).
static PREFIX_CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b {
            0x66 | 0x67 | 0xf0 | 0xf2 | 0xf3 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65 => LEGACY,
            0x40..=0x4f => REX,
            _ => OTHER,
        };
        b += 1;
    }
    t
};

/// Whether a REX prefix is followed by another prefix. The CPU ignores such a
/// REX; disassemblers disagree on whether it is part of the instruction (GNU
/// objdump prints it as a separate `rex` line), so the code is refused rather
/// than checked under one reading and described under another.
#[inline]
fn has_ignored_rex(bytes: &[u8]) -> bool {
    // One pass over the prefix run: a prefix byte after a REX means that
    // REX is not the last prefix.
    let mut rex_seen = false;
    for &b in bytes {
        let class = PREFIX_CLASS[usize::from(b)];
        if class == OTHER {
            break;
        }
        if rex_seen {
            return true;
        }
        rex_seen = class == REX;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions};

    /// The cached verdict must equal the direct one for every instruction,
    /// whichever instance of a key was seen first: every one- and two-byte
    /// opcode with every ModRM byte, behind various prefixes.
    #[test]
    fn cached_verdicts_equal_direct_ones() {
        let mut records = crate::record::Records::new();
        let policies = [
            Policy::default(),
            Policy {
                allow_division: true,
                ..Policy::default()
            },
        ];
        let mut checked = 0;
        for prefix in [
            &[][..],
            &[0x48],
            &[0x66],
            &[0x64],
            &[0x66, 0x48],
            &[0x48, 0x66],
            &[0x2e],
            &[0x66, 0x2e],
            &[0x66, 0x66, 0x2e],
            &[0x3e, 0x66, 0x48],
            &[0x66, 0x48, 0x66],
            &[0x36, 0x48, 0x48],
            &[0x66, 0xf3],
            &[0x26, 0x64],
            &[0x66, 0x67],
        ] {
            for op in 0..=255u8 {
                for second in [None, Some(0x0f)] {
                    for modrm in (0..=255u8).step_by(3) {
                        let mut b = prefix.to_vec();
                        b.extend(second);
                        b.extend([op, modrm, 0x24, 0x11, 0x22, 0x33, 0x44, 0x55]);
                        // Prefixes after the instruction (the next one's).
                        b.extend([0x66, 0x48, 0xf3, 0x64]);
                        let ins = Decoder::with_ip(64, &b, 0, DecoderOptions::NONE).decode();
                        if ins.is_invalid() {
                            continue;
                        }
                        let bytes = &b[..ins.len()];
                        for p in &policies {
                            assert_eq!(
                                {
                                    let key = crate::record::Records::key(&ins);
                                    let rec = records.get(key, &ins);
                                    // The code from the instruction on, as the
                                    // decode loop passes it.
                                    check_with(&rec, &ins, &b, p)
                                },
                                check_instruction(&ins, bytes, p),
                                "{ins} ({:?}) {bytes:02x?}",
                                ins.code()
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 100_000, "only {checked} instructions checked");
    }

    /// The `66`/`2E` shortcut in `check_rest` (padding such as
    /// `66 66 2e 0f 1f 84 ..`) must give what the general rule gives for every
    /// prefix sequence of up to four legacy or REX prefixes, ahead of the
    /// multi-byte and one-byte `nop`s (and, for contrast, an `add` and a
    /// branch, which a prefix must not let through).
    #[test]
    fn padding_shortcut_equals_general_rule() {
        const PREFIXES: [u8; 15] = [
            0x66, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0xf2, 0xf3, 0xf0, 0x67, 0x40, 0x41, 0x48,
            0x4f,
        ];
        let bodies: [&[u8]; 6] = [
            &[0x0f, 0x1f, 0x00],
            &[0x0f, 0x1f, 0x44, 0x00, 0x00],
            &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
            &[0x90],
            &[0x01, 0xc0],
            &[0xeb, 0x00],
        ];
        let policies = [
            Policy::default(),
            Policy {
                allow_division: true,
                ..Policy::default()
            },
        ];
        let mut records = crate::record::Records::new();
        let (mut checked, mut shortcut) = (0, 0);
        for len in 0..=4u32 {
            for mut index in 0..PREFIXES.len().pow(len) {
                let mut b = Vec::new();
                for _ in 0..len {
                    b.push(PREFIXES[index % PREFIXES.len()]);
                    index /= PREFIXES.len();
                }
                let n = b.len();
                for body in bodies {
                    b.truncate(n);
                    b.extend_from_slice(body);
                    let ins = Decoder::with_ip(64, &b, 0, DecoderOptions::NONE).decode();
                    if ins.is_invalid() {
                        continue;
                    }
                    let bytes = &b[..ins.len()];
                    shortcut += usize::from(size_or_cs_prefixed(bytes));
                    let key = crate::record::Records::key(&ins);
                    let rec = records.get(key, &ins);
                    for p in &policies {
                        assert_eq!(
                            check_with(&rec, &ins, bytes, p),
                            check_instruction(&ins, bytes, p),
                            "{ins} {bytes:02x?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 300_000, "only {checked} instructions checked");
        assert!(shortcut > 100, "the shortcut applied only {shortcut} times");
    }
}
