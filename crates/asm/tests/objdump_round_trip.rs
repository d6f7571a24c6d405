//! Every encoding iced has of the instructions the validator models, instantiated
//! with pseudo-random registers, addresses and immediates, encoded by iced, kept
//! where the validator's first pass (`Validator::scan`: decode and classify)
//! accepts the instruction, printed by `objdump -M intel`:
//! that listing, exactly as objdump prints it, must assemble (1) to the
//! instruction objdump read (iced decodes both to the same text) and (2) to
//! the bytes GNU `as` makes of the same listing. Relative branches are covered
//! with labels in `gas_differential.rs`. Skipped with a message when
//! `objdump`/`as`/`objcopy` are missing; one run of each tool, so seconds.

use std::process::Command;

use iced_x86::{
    Code, Encoder, EncodingKind, Instruction, OpCodeOperandKind as K, OpKind, Register,
};

#[path = "common/gas.rs"]
mod gas;
use gas::{Gas, compare, format, tool_available};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const GPR64: [Register; 16] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RSP,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
    Register::R15,
];

fn gpr(rng: &mut Rng, bits: u32) -> Register {
    let r = rng.pick(&GPR64);
    let i = r as u32 - Register::RAX as u32;
    match bits {
        8 if rng.next().is_multiple_of(5) => {
            rng.pick(&[Register::AH, Register::CH, Register::DH, Register::BH])
        }
        8 => [
            Register::AL,
            Register::CL,
            Register::DL,
            Register::BL,
            Register::SPL,
            Register::BPL,
            Register::SIL,
            Register::DIL,
            Register::R8L,
            Register::R9L,
            Register::R10L,
            Register::R11L,
            Register::R12L,
            Register::R13L,
            Register::R14L,
            Register::R15L,
        ][i as usize],
        16 => Register::values()
            .filter(|r| r.is_gpr16())
            .nth(i as usize)
            .expect("gpr16"),
        32 => Register::values()
            .filter(|r| r.is_gpr32())
            .nth(i as usize)
            .expect("gpr32"),
        _ => r,
    }
}

fn set_memory(ins: &mut Instruction, i: u32, rng: &mut Rng) {
    ins.set_op_kind(i, OpKind::Memory);
    let disp: i64 = rng.pick(&[0, 8, -8, 127, -128, 0x80, -0x1234, 0x7fff_fff0]);
    match rng.next() % 8 {
        0 => {
            ins.set_memory_base(Register::RIP);
            ins.set_memory_displacement64(0x1000u64.wrapping_add(disp as u64));
            ins.set_memory_displ_size(8);
            return;
        }
        1 => {}
        _ => ins.set_memory_base(rng.pick(&GPR64)),
    }
    if rng.next().is_multiple_of(2) {
        let index = loop {
            let r = rng.pick(&GPR64);
            if r != Register::RSP {
                break r;
            }
        };
        ins.set_memory_index(index);
        ins.set_memory_index_scale(rng.pick(&[1, 2, 4, 8]));
    }
    ins.set_memory_displacement64(disp as u64);
    ins.set_memory_displ_size(if disp == 0 { 0 } else { 1 });
}

/// A random instance of `code`, or `None` for operand kinds outside the subset.
fn instance(code: Code, rng: &mut Rng) -> Option<Instruction> {
    let mut ins = Instruction::default();
    ins.set_code(code);
    let kinds = code.op_code().op_kinds();
    for (i, &k) in kinds.iter().enumerate() {
        let i = i as u32;
        let reg_bits = match k {
            K::r8_or_mem | K::r8_reg | K::r8_opcode => 8,
            K::r16_or_mem | K::r16_reg | K::r16_rm | K::r16_opcode => 16,
            K::r32_or_mem | K::r32_reg | K::r32_rm | K::r32_opcode => 32,
            K::r64_or_mem | K::r64_reg | K::r64_rm | K::r64_opcode => 64,
            _ => 0,
        };
        let or_mem = matches!(
            k,
            K::r8_or_mem | K::r16_or_mem | K::r32_or_mem | K::r64_or_mem
        );
        match k {
            _ if or_mem && rng.next().is_multiple_of(2) => set_memory(&mut ins, i, rng),
            _ if reg_bits > 0 => {
                ins.set_op_kind(i, OpKind::Register);
                ins.set_op_register(i, gpr(rng, reg_bits));
            }
            K::mem => set_memory(&mut ins, i, rng),
            K::al | K::cl | K::ax | K::dx | K::eax | K::rax => {
                let r = match k {
                    K::al => Register::AL,
                    K::cl => Register::CL,
                    K::ax => Register::AX,
                    K::dx => Register::DX,
                    K::eax => Register::EAX,
                    _ => Register::RAX,
                };
                ins.set_op_kind(i, OpKind::Register);
                ins.set_op_register(i, r);
            }
            K::imm8
            | K::imm8_const_1
            | K::imm8sex16
            | K::imm8sex32
            | K::imm8sex64
            | K::imm16
            | K::imm32
            | K::imm32sex64
            | K::imm64 => {
                let (kind, v) = match k {
                    K::imm8_const_1 => (OpKind::Immediate8, 1),
                    K::imm8 => (OpKind::Immediate8, rng.next() & 0xff),
                    K::imm8sex16 => (OpKind::Immediate8to16, rng.next() as i8 as u64),
                    K::imm8sex32 => (OpKind::Immediate8to32, rng.next() as i8 as u64),
                    K::imm8sex64 => (OpKind::Immediate8to64, rng.next() as i8 as u64),
                    K::imm16 => (OpKind::Immediate16, rng.next() & 0xffff),
                    K::imm32 => (OpKind::Immediate32, rng.next() & 0xffff_ffff),
                    K::imm32sex64 => (OpKind::Immediate32to64, rng.next() as i32 as u64),
                    _ => (OpKind::Immediate64, rng.next()),
                };
                ins.set_op_kind(i, kind);
                ins.try_set_immediate_u64(i, v).ok()?;
            }
            _ => return None,
        }
    }
    Some(ins)
}

/// `ds:0x8` (objdump's absolute address) as `[0x8]`, which GNU `as` reads.
fn bracket_absolute(line: &str) -> String {
    let Some(at) = line.find("ds:0x") else {
        return line.to_string();
    };
    let number = &line[at + 3..];
    let end = number
        .find(|c: char| !c.is_ascii_hexdigit() && c != 'x')
        .unwrap_or(number.len());
    format!("{}[{}]{}", &line[..at], &number[..end], &number[end..])
}

#[test]
fn every_encoding_of_the_modelled_mnemonics_round_trips_through_objdump_and_matches_as() {
    if !["as", "objcopy", "objdump"]
        .iter()
        .all(|t| tool_available(t))
    {
        eprintln!("skipped: GNU as/objcopy/objdump not available");
        return;
    }
    let dir = std::env::temp_dir().join(format!("npk-asm-objdump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut enc = Encoder::new(64);
    let mut validator = npk_jit::Validator::new();
    let policy = npk_jit::Policy {
        allow_division: true,
        ..npk_jit::Policy::runtime()
    };
    let mut originals: Vec<Vec<u8>> = Vec::new();
    let mut codes_used = std::collections::BTreeSet::new();
    for code in Code::values() {
        let op = code.op_code();
        // Not `Code::DeclareByte` and friends (data, not instructions).
        if op.encoding() != EncodingKind::Legacy || !op.mode64() || !op.is_instruction() {
            continue;
        }
        for _ in 0..6 {
            let Some(ins) = instance(code, &mut rng) else {
                break;
            };
            let ok = enc.encode(&ins, 0).is_ok();
            // A failed encode may leave bytes behind: take the buffer either way.
            let bytes = enc.take_buffer();
            // Only what the validator's first pass (decode + classify) accepts.
            if ok && validator.scan(&bytes, &policy).is_ok() {
                originals.push(bytes);
                codes_used.insert(format!("{code:?}"));
            }
        }
    }
    assert!(
        codes_used.len() > 300,
        "only {} codes instantiated",
        codes_used.len()
    );
    let bin = dir.join("forms.bin");
    std::fs::write(&bin, originals.concat()).expect("write");
    let out = Command::new("objdump")
        .args([
            "-D",
            "-b",
            "binary",
            "-m",
            "i386:x86-64",
            "-M",
            "intel",
            "--no-show-raw-insn",
            // Else objdump skips runs of zero bytes (`add [rax], al` is `00 00`).
            "--disassemble-zeroes",
        ])
        .arg(&bin)
        .output()
        .expect("run objdump");
    let listing: Vec<(u64, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (addr, insn) = l.split_once(":\t")?;
            Some((
                u64::from_str_radix(addr.trim(), 16).ok()?,
                insn.trim().to_string(),
            ))
        })
        .collect();
    let mut at = 0u64;
    let starts: Vec<u64> = originals
        .iter()
        .map(|o| {
            at += o.len() as u64;
            at - o.len() as u64
        })
        .collect();
    let odd: Vec<String> = listing
        .iter()
        .filter(|(a, _)| starts.binary_search(a).is_err())
        .map(|(a, l)| format!("{a:#x}: {l}"))
        .collect();
    assert!(
        odd.is_empty() && listing.len() == originals.len(),
        "objdump split the code differently ({} lines for {} instructions):\n{}",
        listing.len(),
        originals.len(),
        odd.join("\n")
    );
    let listing: Vec<String> = listing.into_iter().map(|(_, l)| l).collect();

    // (1) Our assembly of objdump's text is the instruction objdump read.
    // Refused on purpose: `retw` (66 c3: Intel CPUs ignore the prefix, AMD CPUs honour
    // it) and `bswap r16` (undefined result; GNU `as` refuses it too).
    let on_purpose = |l: &str| {
        let reg16 = |r: &str| {
            ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"].contains(&r)
                || (r.starts_with('r') && r.ends_with('w'))
        };
        l.starts_with("retw") || l.strip_prefix("bswap").is_some_and(|r| reg16(r.trim()))
    };
    let (refused_on_purpose, listing): (Vec<_>, Vec<_>) = listing
        .into_iter()
        .zip(originals)
        .partition(|(l, _)| on_purpose(l));
    let (listing, originals): (Vec<String>, Vec<Vec<u8>>) = listing.into_iter().unzip();
    for (l, _) in &refused_on_purpose {
        let e = npk_asm::assemble(l, &[]).expect_err("refused on purpose");
        assert!(
            matches!(
                e.kind(),
                npk_asm::ErrorKind::CpuDependent { .. } | npk_asm::ErrorKind::NoMatchingForm { .. }
            ),
            "{l}: {e}"
        );
    }
    let refused: Vec<String> = listing
        .iter()
        .filter_map(|l| {
            npk_asm::assemble(l, &[])
                .err()
                .map(|e| format!("`{l}`: {e}"))
        })
        .collect();
    assert!(
        refused.is_empty(),
        "we refuse {} of objdump's lines:\n{}",
        refused.len(),
        refused.join("\n")
    );
    let ours = npk_asm::assemble(&listing.join("\n"), &[]).expect("every line assembles");
    let mut bad = Vec::new();
    for ((p, original), line) in ours.instructions().iter().zip(&originals).zip(&listing) {
        let mine = &ours.code()[p.offset()..p.offset() + p.len()];
        let same = mine == original.as_slice() || format(mine) == format(original);
        if !same {
            bad.push(format!(
                "`{line}`: original {original:02x?} ({}), ours {mine:02x?} ({})",
                format(original),
                format(mine)
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} differ:\n{}",
        bad.len(),
        listing.len(),
        bad.join("\n")
    );

    // (2) GNU as makes the same bytes of the same listing. `as` cannot read objdump's
    // absolute addresses (`QWORD PTR ds:0x8`), so both get those as `[0x8]`.
    let gas = Gas::new("objdump-listing");
    let (lines, theirs) =
        gas.assemble_agreeing(listing.iter().map(|l| bracket_absolute(l)).collect());
    let ours = npk_asm::assemble(&lines.join("\n"), &[]).expect("every line assembles");
    let (bad, equivalent) = compare(&lines, &ours, &theirs);
    assert!(
        bad.is_empty(),
        "{} of {} lines disagree with as:\n{}",
        bad.len(),
        lines.len(),
        bad.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "{} instructions of {} codes round-trip; {} identical to as, {equivalent} equivalent",
        listing.len(),
        codes_used.len(),
        lines.len() - equivalent
    );
}
