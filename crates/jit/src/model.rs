//! The validator's model of each accepted instruction, checked against
//! iced (test only).
//!
//! Every one-, two- and three-byte opcode (and the VEX forms of the BMI
//! instructions) with register and memory ModRM forms, behind every legal
//! prefix combination (`66`, `67`, `F2`, `F3`, REX, REX.W, segment prefixes
//! and pairs of them), is decoded; each instruction the classifier accepts
//! must
//! - decode identically for Intel and AMD (`Code`, length, stack movement),
//!   so no CPU runs different code than the one checked;
//! - move `rsp` only if it is one of the hand-stepped `Code`s, and then by
//!   exactly iced's `stack_pointer_increment()`;
//! - change, when the transfer function accepts it on a state where every
//!   register is a distinct defined value, only registers iced reports as
//!   written and only stack bytes inside memory iced reports as written,
//!   with memory operands of 1–8 bytes and 64-bit addressing.
//!
//! A mismatch is a failure, never a skip.

use std::collections::BTreeSet;

use iced_x86::{
    Code, Decoder, DecoderOptions, Instruction, InstructionInfoFactory, OpAccess, Register,
};

use crate::classify::{check_instruction, hand_stepped};
use crate::interp::{Ctx, Flags, gpr, step};
use crate::state::{ARITH_FLAGS, RSP, State, Val};
use crate::{CpuFeatures, Policy, Signature};

const PREFIXES: &[&[u8]] = &[
    &[],
    &[0x66],
    &[0x67],
    &[0xf2],
    &[0xf3],
    &[0x40],
    &[0x48],
    &[0x4d],
    &[0x2e],
    &[0x3e],
    &[0x26],
    &[0x36],
    &[0x66, 0x48],
    &[0x67, 0x48],
    &[0xf3, 0x48],
    &[0xf2, 0x48],
    &[0x66, 0x67],
    &[0x66, 0xf3],
    &[0x2e, 0x48],
    &[0x67, 0x66, 0x48],
];

/// ModRM (and SIB/displacement) tails: registers, `[rsp]`, `[rsp+8]`,
/// `[rbp-16]`, `[rip+0]`, `[rax+rcx*4]`.
const TAILS: &[&[u8]] = &[
    &[0xc0],
    &[0xc1],
    &[0xca],
    &[0xd3],
    &[0xe4],
    &[0xf8],
    &[0xff],
    &[0x04, 0x24],
    &[0x34, 0x24],
    &[0x44, 0x24, 0x08],
    &[0x74, 0x24, 0x08],
    &[0x4d, 0xf0],
    &[0x05, 0, 0, 0, 0],
    &[0x0c, 0x88],
];

/// Every candidate byte string (padded with immediate bytes).
fn candidates() -> Vec<Vec<u8>> {
    let mut maps: Vec<Vec<u8>> = Vec::new();
    for op in 0..=255u8 {
        maps.push(vec![op]);
        maps.push(vec![0x0f, op]);
        maps.push(vec![0x0f, 0x38, op]);
    }
    // VEX: BMI1/BMI2 (map 0F38 with W0/W1, several vvvv and pp).
    for op in [0xf2, 0xf3, 0xf5, 0xf6, 0xf7] {
        for vex2 in [0xe2u8, 0x62] {
            for vex3 in [0x40u8, 0x41, 0x42, 0x43, 0xc8, 0xc9, 0xca, 0xcb] {
                maps.push(vec![0xc4, vex2, vex3, op]);
            }
        }
    }
    maps.push(vec![0xc4, 0xe3, 0xfb, 0xf0]); // rorx
    let mut out = Vec::new();
    for p in PREFIXES {
        for m in &maps {
            // VEX may not follow a REX or 66/F2/F3 prefix: iced rejects those.
            for t in TAILS {
                let mut b = p.to_vec();
                b.extend_from_slice(m);
                b.extend_from_slice(t);
                b.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x01]);
                out.push(b);
            }
        }
    }
    out
}

/// A state where every register is a distinct stack pointer (so every read
/// is defined and every write of data changes it), the whole frame and red
/// zone are written and touched, every flag is defined.
fn rich_state() -> State {
    let mut st = State::empty();
    for r in 0..16 {
        st.set_reg(r, Val::Stack(-2048 - 64 * r as i64));
    }
    st.set_reg(RSP, Val::Stack(-1024));
    st.flags = ARITH_FLAGS;
    st.store(-4096 - 128, 8, Val::Data(8));
    for off in (-4096 - 120..0).step_by(8) {
        st.store(off, 8, Val::Data(8));
    }
    st.touched = -4096 - 128;
    st
}

fn written_by_iced(
    factory: &mut InstructionInfoFactory,
    st: &State,
    ins: &Instruction,
) -> (u32, Vec<(i64, i64)>, Vec<u32>) {
    let info = factory.info(ins);
    let mut regs = 0u32;
    for u in info.used_registers() {
        if matches!(
            u.access(),
            OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
        ) && u.register().is_gpr()
        {
            regs |= 1 << gpr(u.register());
        }
    }
    let mut ranges = Vec::new();
    let mut sizes = Vec::new();
    for m in info.used_memory() {
        sizes.push(m.memory_size().size() as u32);
        let write = matches!(
            m.access(),
            OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
        );
        if write
            && m.base().is_gpr64()
            && m.index() == Register::None
            && let Val::Stack(k) = st.reg(gpr(m.base()))
        {
            let lo = k + m.displacement() as i64;
            ranges.push((lo, lo + m.memory_size().size() as i64));
        }
    }
    (regs, ranges, sizes)
}

#[test]
fn model_matches_iced_for_every_accepted_code() {
    let policy = Policy {
        allow_division: true,
        allow_red_zone: true,
        allow_loops: true,
        cpu: CpuFeatures::all(),
        ..Policy::default()
    };
    let sig: Signature = "int64(int64,int64,int64,int64,int64,int64)"
        .parse()
        .expect("valid signature");
    let syms = Ctx::entry_syms_of(&policy, &sig);
    let ctx = Ctx::new(&policy, &sig, 64, &syms);
    let mut factory = InstructionInfoFactory::new();
    let mut accepted: BTreeSet<Code> = BTreeSet::new();
    let mut stepped: BTreeSet<Code> = BTreeSet::new();
    let mut failures = Vec::new();
    let rich = rich_state();
    for b in candidates() {
        let ins = Decoder::with_ip(64, &b, 0, DecoderOptions::NONE).decode();
        if ins.is_invalid() {
            continue;
        }
        let bytes = &b[..ins.len()];
        if check_instruction(&ins, bytes, &policy).is_err() {
            continue;
        }
        accepted.insert(ins.code());
        let amd = Decoder::with_ip(64, bytes, 0, DecoderOptions::AMD).decode();
        if amd.code() != ins.code()
            || amd.len() != ins.len()
            || amd.stack_pointer_increment() != ins.stack_pointer_increment()
        {
            failures.push(format!(
                "{bytes:02x?} `{ins}`: AMD decodes `{amd}` ({:?})",
                amd.code()
            ));
            continue;
        }
        let spi = i64::from(ins.stack_pointer_increment());
        if spi != 0 && !hand_stepped(ins.code()) {
            failures.push(format!(
                "{bytes:02x?} `{ins}` moves rsp by {spi} but is not hand-stepped"
            ));
            continue;
        }
        let before = &rich;
        let (iced_regs, iced_ranges, sizes) = written_by_iced(&mut factory, before, &ins);
        let mut st = before.clone();
        let info = factory.info(&ins);
        let (regs, mems) = (info.used_registers().to_vec(), info.used_memory().to_vec());
        if step(&ctx, &mut st, &ins, &regs, &mems, Flags::of(&ins)).is_err() {
            continue;
        }
        stepped.insert(ins.code());
        for s in &sizes {
            if !(1..=8).contains(s)
                && !mems.is_empty()
                && !matches!(
                    ins.code(),
                    Code::Lea_r64_m | Code::Lea_r32_m | Code::Lea_r16_m
                )
                && !ins.is_stack_instruction()
            {
                failures.push(format!(
                    "{bytes:02x?} `{ins}`: accepted with a {s}-byte memory operand"
                ));
            }
        }
        // Stack movement.
        let moved = st.rsp() - before.rsp();
        let expect = match ins.code() {
            Code::Retnq => {
                if spi != 8 {
                    failures.push(format!("{bytes:02x?} `{ins}`: a ret popping {spi} bytes"));
                }
                0
            }
            Code::Call_rel32_64 => {
                if spi != -8 {
                    failures.push(format!("{bytes:02x?} `{ins}`: a call pushing {spi} bytes"));
                }
                0
            }
            Code::Leaveq => match before.reg(5) {
                Val::Stack(k) => k + 8 - before.rsp(),
                _ => unreachable!("rbp is a stack pointer in the rich state"),
            },
            _ => spi,
        };
        if moved != expect {
            failures.push(format!(
                "{bytes:02x?} `{ins}`: rsp moved by {moved}, iced says {expect}"
            ));
        }
        // Registers: only those iced writes may change.
        for r in 0..16 {
            if r != RSP && st.reg(r) != before.reg(r) && iced_regs & 1 << r == 0 {
                failures.push(format!(
                    "{bytes:02x?} `{ins}`: register {r} changed, iced writes {iced_regs:#x}"
                ));
            }
        }
        // Stack bytes: only those inside memory iced writes may change.
        let offsets = if st.slots == before.slots {
            0..0
        } else {
            -4096 - 128..0i64
        };
        for off in offsets {
            let was = before.load(off, 1);
            let now = st.load(off, 1);
            let inside = iced_ranges.iter().any(|&(lo, hi)| lo <= off && off < hi);
            let below_rsp = off < st.rsp() - ctx.red_zone;
            if was != now && !inside && !below_rsp {
                failures.push(format!("{bytes:02x?} `{ins}`: stack byte {off} changed outside iced's writes {iced_ranges:?}"));
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Coverage: the enumeration reaches every hand-stepped form and the bulk
    // of the modelled instruction set.
    for c in [
        Code::Push_r64,
        Code::Pop_r64,
        Code::Pushq_imm8,
        Code::Pushq_imm32,
        Code::Push_rm64,
        Code::Leaveq,
        Code::Retnq,
        Code::Jmp_rel8_64,
        Code::Jmp_rel32_64,
    ] {
        assert!(accepted.contains(&c), "{c:?} never enumerated");
    }
    assert!(
        accepted.len() >= 490,
        "only {} accepted codes enumerated",
        accepted.len()
    );
    assert!(stepped.len() >= 400, "only {} codes stepped", stepped.len());
    eprintln!(
        "{} accepted codes, {} stepped",
        accepted.len(),
        stepped.len()
    );
}
