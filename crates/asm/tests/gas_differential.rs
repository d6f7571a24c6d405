//! Differential test against GNU `as`: every instruction form the validator
//! models (see `crates/jit/src/classify.rs`), in every width and register
//! combination, and a grid of addressing modes, must assemble to the bytes
//! `as --64 -msyntax=intel -mnaked-reg` gives, or — where two encodings are
//! equally valid — to bytes iced decodes to the same instruction (printed as a
//! note). Then the same object is disassembled with `objdump -M intel` and the
//! listing, as objdump prints it, is assembled again: it must give the same
//! bytes. Lines GNU `as` refuses must be refused too. Skipped with a message
//! when `as`/`objcopy`/`objdump` are missing. `as` runs once per corpus, so the
//! whole test takes seconds.

use std::fmt::Write as _;

#[path = "common/gas.rs"]
mod gas;
use gas::{Gas, compare, format, tool_available};

const R64: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15",
];
const R32: [&str; 16] = [
    "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d",
    "r13d", "r14d", "r15d",
];
const R16: [&str; 16] = [
    "ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w",
    "r14w", "r15w",
];
const R8: [&str; 16] = [
    "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b",
    "r13b", "r14b", "r15b",
];
const R8_LEGACY: [&str; 8] = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const CONDS: [&str; 30] = [
    "o", "no", "b", "c", "nae", "ae", "nb", "nc", "e", "z", "ne", "nz", "be", "na", "a", "nbe",
    "s", "ns", "p", "pe", "np", "po", "l", "nge", "ge", "nl", "le", "ng", "g", "nle",
];

fn widths() -> [(&'static [&'static str; 16], &'static str); 4] {
    [
        (&R8, "byte"),
        (&R16, "word"),
        (&R32, "dword"),
        (&R64, "qword"),
    ]
}

/// Memory operands: every base (and none) with a few indexes, scales and
/// displacements, every index with one base, `rip`-relative ones.
fn addresses() -> Vec<String> {
    let mut out = Vec::new();
    let disps = [
        "",
        "+8",
        "-8",
        "+127",
        "+128",
        "-128",
        "-129",
        "+0x12345678",
    ];
    for base in R64 {
        for d in disps {
            out.push(format!("[{base}{d}]"));
        }
        for index in ["rax", "rbp", "r12", "r13", "r15"] {
            for scale in [1, 2, 4, 8] {
                out.push(format!("[{base}+{index}*{scale}+16]"));
            }
        }
    }
    for index in R64.iter().filter(|r| **r != "rsp") {
        for base in ["rbp", "r13", "rsp"] {
            out.push(format!("[{base}+{index}*1]"));
            out.push(format!("[{base}+{index}*8-0x40]"));
        }
        out.push(format!("[{index}*4+0x10]"));
    }
    out.extend(["[0x1000]", "[rip+0x10]", "[rip-0x20]", "[rip+0]"].map(String::from));
    out
}

/// One instruction per line, covering the validator's modelled forms.
fn corpus() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    let binary = [
        "mov", "add", "sub", "adc", "sbb", "and", "or", "xor", "cmp", "test", "xchg",
    ];
    // Register pairs in every width.
    for (regs, _) in widths() {
        for m in binary {
            for a in regs {
                for b in regs {
                    v.push(format!("{m} {a}, {b}"));
                }
            }
        }
    }
    for m in binary {
        for a in R8_LEGACY {
            for b in R8_LEGACY {
                v.push(format!("{m} {a}, {b}"));
            }
        }
    }
    // Register, immediate.
    let imms: [(&str, [bool; 4]); 11] = [
        ("0", [true; 4]),
        ("1", [true; 4]),
        ("-1", [true; 4]),
        ("127", [true; 4]),
        ("128", [true; 4]),
        ("-128", [true; 4]),
        ("-129", [false, true, true, true]),
        ("255", [true, true, true, true]),
        ("0x7fffffff", [false, false, true, true]),
        ("-0x80000000", [false, false, true, true]),
        ("0xffffffff", [false, false, true, false]),
    ];
    for (w, (regs, _)) in widths().into_iter().enumerate() {
        for m in [
            "mov", "add", "sub", "adc", "sbb", "and", "or", "xor", "cmp", "test",
        ] {
            for r in regs {
                for (imm, ok) in imms {
                    if ok[w] {
                        v.push(format!("{m} {r}, {imm}"));
                    }
                }
            }
        }
    }
    for r in R64 {
        for imm in [
            "0x100000000",
            "0x123456789abcdef0",
            "-0x80000001",
            "0x80000000",
        ] {
            v.push(format!("mov {r}, {imm}"));
        }
        v.push(format!("movabs {r}, 0x1122334455667788"));
    }
    // Shifts and rotates.
    for (regs, size) in widths() {
        for m in ["shl", "shr", "sar", "rol", "ror", "rcl", "rcr", "sal"] {
            for r in regs {
                for count in ["1", "cl", "3", "31"] {
                    v.push(format!("{m} {r}, {count}"));
                }
            }
            v.push(format!("{m} {size} ptr [rdi+8], 1"));
            v.push(format!("{m} {size} ptr [rsp], cl"));
            v.push(format!("{m} {size} ptr [rbp-8], 5"));
        }
    }
    // One-operand arithmetic.
    for (regs, size) in widths() {
        for m in ["inc", "dec", "neg", "not", "mul", "imul", "div", "idiv"] {
            for r in regs {
                v.push(format!("{m} {r}"));
            }
            v.push(format!("{m} {size} ptr [rsi+rcx*4-4]"));
        }
    }
    for r in R32.iter().chain(&R64) {
        v.push(format!("bswap {r}"));
    }
    // imul two and three operands, bit scans, bit tests, double shifts.
    for regs in [&R16, &R32, &R64] {
        for a in regs {
            for b in [regs[0], regs[5], regs[12], regs[15]] {
                v.push(format!("imul {a}, {b}"));
                v.push(format!("imul {a}, {b}, 7"));
                v.push(format!("imul {a}, {b}, 300"));
                v.push(format!("imul {a}, {b}, -2"));
                v.push(format!("bsf {a}, {b}"));
                v.push(format!("bsr {a}, {b}"));
                v.push(format!("bt {a}, {b}"));
                v.push(format!("bts {a}, {b}"));
                v.push(format!("btr {a}, {b}"));
                v.push(format!("btc {a}, {b}"));
                v.push(format!("shld {a}, {b}, 3"));
                v.push(format!("shrd {a}, {b}, cl"));
            }
            v.push(format!("imul {a}, 9"));
            v.push(format!("bt {a}, 5"));
        }
    }
    // Conditional moves, sets and jumps by every GNU condition name.
    for c in CONDS {
        for regs in [&R16, &R32, &R64] {
            for a in [regs[0], regs[7], regs[8], regs[15]] {
                for b in [regs[1], regs[6], regs[9], regs[13]] {
                    v.push(format!("cmov{c} {a}, {b}"));
                }
            }
        }
        v.push(format!("cmov{c} rax, qword ptr [rdi+8]"));
        for r in R8 {
            v.push(format!("set{c} {r}"));
        }
        v.push(format!("set{c} byte ptr [rsp+3]"));
    }
    // Extensions.
    for dst in R16.iter().chain(&R32).chain(&R64) {
        for src in ["al", "dil", "r9b", "bh"] {
            if !(src == "bh" && (dst.starts_with('r') || dst.contains("di") || dst.contains("si")))
            {
                v.push(format!("movzx {dst}, {src}"));
                v.push(format!("movsx {dst}, {src}"));
            }
        }
        if !dst.ends_with('x') || dst.len() > 2 {
            for src in ["ax", "di", "r10w"] {
                if dst.len() > 2 || dst.starts_with('r') || dst.starts_with('e') {
                    v.push(format!("movzx {dst}, {src}"));
                    v.push(format!("movsx {dst}, {src}"));
                }
            }
        }
    }
    for dst in R64 {
        for src in ["eax", "edi", "r11d"] {
            v.push(format!("movsxd {dst}, {src}"));
        }
        v.push(format!("movsxd {dst}, dword ptr [rsp+8]"));
        v.push(format!("movzx {dst}, byte ptr [rdi]"));
        v.push(format!("movsx {dst}, word ptr [rdi+rsi*2]"));
    }
    // Stack and flag instructions, no-operand forms.
    for r in R64 {
        v.push(format!("push {r}"));
        v.push(format!("pop {r}"));
    }
    for r in R16 {
        v.push(format!("push {r}"));
        v.push(format!("pop {r}"));
    }
    v.extend(
        [
            "push 1",
            "push -1",
            "push 127",
            "push 128",
            "push 0x12345678",
            "push qword ptr [rdi]",
            "pop qword ptr [rsp+8]",
            "leave",
            "ret",
            "ret 8",
            "nop",
            "pause",
            "endbr64",
            "cqo",
            "cdq",
            "cwd",
            "cdqe",
            "cwde",
            "cbw",
            "clc",
            "stc",
            "cmc",
            "cld",
            "lahf",
            "sahf",
            "nop dword ptr [rax]",
            "nop dword ptr [rax+rax*1+0x0]",
            "nop word ptr [rax+rax*1+0x0]",
            "nop dword ptr [rax+0x0]",
            "nop eax",
            "xchg ax, ax",
            "lock add qword ptr [rdi], rax",
            "lock xchg qword ptr [rdi], rax",
            "call rax",
            "jmp r11",
            "call qword ptr [rip+0x10]",
            "jmp qword ptr [rax+8]",
        ]
        .map(String::from),
    );
    // Memory operands in every width with a grid of addresses.
    for addr in addresses() {
        v.push(format!("lea rax, {addr}"));
        v.push(format!("lea r13d, {addr}"));
        v.push(format!("mov r9, qword ptr {addr}"));
        v.push(format!("mov qword ptr {addr}, rdi"));
    }
    for (w, (regs, size)) in widths().into_iter().enumerate() {
        for addr in [
            "[rdi]",
            "[rsp+8]",
            "[rbp-0x10]",
            "[r12+rcx*8+0x100]",
            "[rip+0x40]",
        ] {
            for m in [
                "mov", "add", "sub", "adc", "sbb", "and", "or", "xor", "cmp", "test", "xchg",
            ] {
                v.push(format!("{m} {size} ptr {addr}, {}", regs[2]));
                v.push(format!("{m} {size} ptr {addr}, {}", regs[10]));
                if m != "test" && m != "xchg" {
                    v.push(format!("{m} {}, {size} ptr {addr}", regs[6]));
                }
                v.push(format!("{m} {size} ptr {addr}, 5"));
                if w > 0 {
                    v.push(format!("{m} {size} ptr {addr}, 1000"));
                }
            }
            v.push(format!(
                "{m} {addr}, {r}",
                m = "mov",
                addr = format_args!("{size} ptr {addr}"),
                r = regs[0]
            ));
        }
    }
    v
}

#[test]
fn every_modelled_form_assembles_like_gnu_as_and_reads_back_from_objdump() {
    if !["as", "objcopy", "objdump"]
        .iter()
        .all(|t| tool_available(t))
    {
        eprintln!("skipped: GNU as/objcopy/objdump not available");
        return;
    }
    let gas = Gas::new("forms");
    let (lines, gas_bytes) = gas.assemble_agreeing(corpus());
    let text = lines.join("\n");
    let ours = npk_asm::assemble(&text, &[]).unwrap_or_else(|e| {
        let line = lines
            .get(e.line() as usize - 1)
            .cloned()
            .unwrap_or_default();
        panic!("we refuse `{line}`: {e}")
    });
    let (bad, equivalent) = compare(&lines, &ours, &gas_bytes);
    assert!(
        bad.is_empty(),
        "{} of {} lines disagree with as:\n{}",
        bad.len(),
        lines.len(),
        bad.join("\n")
    );
    assert!(
        lines.len() > 10_000,
        "corpus has only {} lines",
        lines.len()
    );
    eprintln!(
        "{} lines identical to as, {equivalent} equivalent",
        lines.len() - equivalent
    );

    // objdump's listing of the same object, as objdump prints it, assembles to the same bytes.
    let listing = gas.disassemble();
    assert_eq!(
        listing.len(),
        lines.len(),
        "objdump listed a different count"
    );
    let again = npk_asm::assemble(&listing.join("\n"), &[]).unwrap_or_else(|e| {
        let line = listing
            .get(e.line() as usize - 1)
            .cloned()
            .unwrap_or_default();
        panic!("we refuse objdump's `{line}`: {e}")
    });
    let (bad, _) = compare(&listing, &again, &gas_bytes);
    assert!(
        bad.is_empty(),
        "{} objdump lines disagree:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Programs with labels: branch sizing at the 8-bit boundary in both
/// directions, local labels, calls to labels, `[rip+label]`.
#[test]
fn branches_and_labels_assemble_like_gnu_as() {
    if !["as", "objcopy"].iter().all(|t| tool_available(t)) {
        eprintln!("skipped: GNU as/objcopy not available");
        return;
    }
    let gas = Gas::new("branches");
    let mut programs = Vec::new();
    for pad in [120, 123, 124, 125, 126, 127, 128, 129, 130, 200] {
        let nops = "nop\n".repeat(pad);
        programs.push(format!("jmp end\n{nops}end: ret"));
        programs.push(format!("top: {nops}jmp top\nret"));
        programs.push(format!("test edi, edi\njz 1f\n{nops}1: ret"));
        programs.push(format!("1: {nops}dec edi\njnz 1b\nret"));
        programs.push(format!(
            "loop_top: {}jne loop_top\njmp loop_top\nret",
            "nop\n".repeat(pad / 2)
        ));
    }
    programs.push(
        "call f\nret\nf: lea rax, [rip+data]\nmov rax, qword ptr [rip+data+8]\nret\ndata: nop"
            .into(),
    );
    programs.push("a: jmp b\nb: jmp c\nc: jmp a\n".into());
    programs.push(format!(
        "jmp x\n{}x: jmp y\n{}y: ret",
        "nop\n".repeat(100),
        "nop\n".repeat(30)
    ));
    let mut text = String::new();
    for p in &programs {
        text.clear();
        let gas_lines: Vec<String> = p.lines().map(String::from).collect();
        let theirs = gas.assemble(&gas_lines).expect("as assembles the program");
        let ours = npk_asm::assemble(p, &[]).expect("we assemble the program");
        let _ = write!(text, "{p}");
        assert_eq!(
            ours.code(),
            theirs.as_slice(),
            "program:\n{text}\nours {}\nas   {}",
            format(ours.code()),
            format(&theirs)
        );
    }
}
