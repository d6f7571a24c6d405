//! Behaviours of `npk_asm::assemble` through its public API: syntax, labels,
//! branch sizing, imports, the source map, and errors with line and column.

use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind, Register};
use npk_asm::{ErrorKind, assemble};

fn bytes(text: &str) -> Vec<u8> {
    assemble(text, &[])
        .unwrap_or_else(|e| panic!("`{text}`: {e}"))
        .code()
        .to_vec()
}

fn error(text: &str) -> npk_asm::Error {
    match assemble(text, &[]) {
        Ok(a) => panic!("`{text}` assembled to {:02x?}", a.code()),
        Err(e) => e,
    }
}

#[test]
fn statements_split_on_newlines_and_semicolons_and_comments_are_ignored() {
    let one = bytes("mov eax, edi; add eax, esi; ret");
    let many = bytes("  # add\nmov eax, edi   # copy\n\n add eax,esi\nret # done\n");
    assert_eq!(one, [0x89, 0xf8, 0x01, 0xf0, 0xc3]);
    assert_eq!(one, many);
}

#[test]
fn mnemonics_registers_and_size_keywords_are_case_insensitive() {
    assert_eq!(
        bytes("MOV RAX, QWORD PTR [RBP-0x8]"),
        bytes("mov rax, qword ptr [rbp-8]")
    );
}

#[test]
fn objdump_listing_text_assembles() {
    // As `objdump -d -M intel --no-show-raw-insn` prints instructions.
    let code = bytes(
        "push   rbp\n\
         mov    rbp,rsp\n\
         mov    QWORD PTR [rbp-0x8],rdi\n\
         mov    rax,QWORD PTR [rip+0x0]        # 0x12 <f+0x12>\n\
         nop    DWORD PTR [rax+rax*1+0x0]\n\
         movabs rax,0x1122334455667788\n\
         pop    rbp\n\
         ret",
    );
    assert_eq!(code[..4], [0x55, 0x48, 0x89, 0xe5]);
    assert_eq!(*code.last().expect("code"), 0xc3);
}

#[test]
fn short_branches_are_used_where_they_reach_and_near_ones_elsewhere() {
    let near = format!("jmp end\n{}end: ret", "nop\n".repeat(128));
    let short = format!("jmp end\n{}end: ret", "nop\n".repeat(127));
    assert_eq!(bytes(&short)[..2], [0xeb, 0x7f]);
    assert_eq!(bytes(&near)[..5], [0xe9, 0x80, 0x00, 0x00, 0x00]);
    assert_eq!(
        bytes("top: dec edi; jnz top; ret"),
        [0xff, 0xcf, 0x75, 0xfc, 0xc3]
    );
}

#[test]
fn local_labels_resolve_forward_and_backward() {
    let code = bytes("1: test edi, edi; jz 1f; dec edi; jmp 1b; 1: ret");
    assert_eq!(code, [0x85, 0xff, 0x74, 0x04, 0xff, 0xcf, 0xeb, 0xf8, 0xc3]);
}

#[test]
fn numeric_branch_targets_are_offsets_from_the_start_of_the_code() {
    // objdump prints `jmp 0x4 <f+0x4>`.
    assert_eq!(
        bytes("jmp 0x4 <f+0x4>; nop; nop; ret"),
        [0xeb, 0x02, 0x90, 0x90, 0xc3]
    );
}

#[test]
fn rip_relative_label_operands_address_the_label() {
    let code = bytes("lea rax, [rip+data]; ret; data: nop");
    assert_eq!(code, [0x48, 0x8d, 0x05, 0x01, 0x00, 0x00, 0x00, 0xc3, 0x90]);
}

#[test]
fn call_of_an_import_addresses_its_slot_after_the_code() {
    let text = "mov rdi, rax\ncall print_i64\ncall flush\nret";
    let asm = assemble(text, &["print_i64", "flush"]).expect("assembles");
    assert_eq!(asm.import_count(), 2);
    assert_eq!(asm.code().len(), 16);
    assert_eq!(asm.import_table_offset(), 16);
    assert_eq!(asm.image_len(), 32);
    let calls: Vec<u64> = Decoder::with_ip(64, asm.code(), 0, DecoderOptions::NONE)
        .into_iter()
        .filter(|i| i.mnemonic() == Mnemonic::Call)
        .map(|i| {
            assert_eq!(i.op0_kind(), OpKind::Memory);
            assert_eq!(i.memory_base(), Register::RIP);
            i.memory_displacement64()
        })
        .collect();
    assert_eq!(calls, [16, 24]);
    // Code of 10 bytes: the table starts at the next multiple of 8.
    let asm = assemble("call print_i64; ret; nop; nop", &["print_i64"]).expect("assembles");
    assert_eq!(asm.code().len(), 9);
    assert_eq!(asm.import_table_offset(), 16);
}

#[test]
fn an_import_is_only_callable() {
    for text in [
        "jmp print_i64",
        "mov rax, [rip+print_i64]",
        "mov rax, print_i64",
    ] {
        let e = assemble(text, &["print_i64"]).expect_err(text);
        assert!(
            matches!(e.kind(), ErrorKind::ImportMisuse { name } if name == "print_i64"),
            "{text}: {e}"
        );
    }
}

#[test]
fn a_call_of_an_unknown_name_says_to_name_it_in_uses() {
    let e = error("mov rdi, rax\n  call print_i64");
    assert_eq!((e.line(), e.column()), (2, 8));
    assert!(e.to_string().contains("uses"), "{e}");
}

#[test]
fn bad_import_names_are_refused() {
    for imports in [&[""][..], &["a b"], &["f", "f"], &["1x"]] {
        let e = assemble("ret", imports).expect_err("bad import");
        assert!(matches!(e.kind(), ErrorKind::BadImport { .. }), "{e}");
    }
}

#[test]
fn the_source_map_names_line_and_column_of_every_instruction() {
    let text = "start:\n  mov rax, rdi   # copy\n  add rax, rsi; ret";
    let asm = assemble(text, &[]).expect("assembles");
    let at: Vec<_> = asm
        .instructions()
        .iter()
        .map(|p| {
            (
                p.offset(),
                p.len(),
                p.line(),
                p.column(),
                &text[p.text_range()],
            )
        })
        .collect();
    assert_eq!(
        at,
        [
            (0, 3, 2, 3, "mov rax, rdi"),
            (3, 3, 3, 3, "add rax, rsi"),
            (6, 1, 3, 17, "ret")
        ]
    );
    assert_eq!(asm.source_at(4).map(|p| p.line()), Some(3));
    assert_eq!(asm.source_at(6).map(|p| p.column()), Some(17));
    assert!(asm.source_at(7).is_none());
}

#[test]
fn a_validator_rejection_maps_back_to_its_source_line() {
    let text = "mov rax, rdi\nadd rax, [rdi]\nret";
    let asm = assemble(text, &[]).expect("assembles");
    let sig: npk_jit::Signature = "int64(int64)".parse().expect("signature");
    let v = npk_jit::validate(asm.code(), &sig, &npk_jit::Policy::runtime())
        .expect_err("memory through a parameter is refused");
    let placed = asm.source_at(v.offset()).expect("an instruction");
    assert_eq!(placed.line(), 2);
    assert_eq!(&text[placed.text_range()], "add rax, [rdi]");
}

#[test]
fn the_validators_corpus_assembles_to_the_bytes_gnu_as_gave_it() {
    // crates/jit/tests/corpus/*.src holds GNU-as text, *.txt the bytes `as` produced.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../jit/tests/corpus");
    let (mut checked, mut refused) = (0, 0);
    for name in ["accept", "reject"] {
        let src = std::fs::read_to_string(format!("{dir}/{name}.src")).expect("corpus source");
        let txt = std::fs::read_to_string(format!("{dir}/{name}.txt")).expect("corpus bytes");
        // gen.py writes each `.src` line's bytes with its text as the trailing comment.
        let by_text: std::collections::HashMap<&str, &str> = txt
            .lines()
            .filter_map(|l| {
                let (data, comment) = l.split_once("  # ")?;
                Some((comment.trim(), data.split('|').next()?.trim()))
            })
            .collect();
        for s in src
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        {
            let asm_text = s.split('|').next().expect("field").trim();
            if asm_text.starts_with("hex:") || asm_text.is_empty() {
                continue;
            }
            // The comment may carry a note after the text: `xor eax, eax; lahf; ret (why)`.
            let noted = format!("{asm_text} (");
            let want: Vec<u8> = by_text
                .get(asm_text)
                .or_else(|| {
                    by_text
                        .iter()
                        .find(|(comment, _)| comment.starts_with(&noted))
                        .map(|(_, hex)| hex)
                })
                .unwrap_or_else(|| panic!("no bytes for `{asm_text}` in {name}.txt"))
                .split_whitespace()
                .map(|h| u8::from_str_radix(h, 16).expect("hex"))
                .collect();
            match assemble(asm_text, &[]) {
                Ok(a) => assert_eq!(a.code(), want.as_slice(), "`{asm_text}`"),
                // Only the reject corpus holds forms outside this assembler (segment,
                // control, SIMD registers, string instructions, 32-bit addresses).
                Err(e) if name == "reject" => {
                    eprintln!("note: refused `{asm_text}`: {e}");
                    refused += 1;
                }
                Err(e) => panic!("`{asm_text}`: {e}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} corpus lines");
    assert!(refused <= 10, "{refused} reject-corpus lines refused");
}

#[test]
fn errors_name_line_column_and_what_was_expected() {
    let e = error("ret\nmov rax,");
    assert_eq!((e.line(), e.column()), (2, 9));
    assert_eq!(
        e.to_string(),
        "line 2, column 9: expected an operand, found the end of the statement"
    );
    let e = error("mov rax [rdi]");
    assert_eq!((e.line(), e.column()), (1, 9));
    assert!(matches!(e.kind(), ErrorKind::Expected { found, .. } if found == "["));
    let e = error("mov rax, [rdi");
    assert!(matches!(e.kind(), ErrorKind::Expected { expected, .. } if expected.contains(']')));
}

#[test]
fn unknown_mnemonics_and_non_gpr_registers_are_named() {
    let e = error("nop\n  frob rax");
    assert_eq!((e.line(), e.column()), (2, 3));
    assert!(matches!(e.kind(), ErrorKind::UnknownMnemonic { name } if name == "frob"));
    let e = error("movq rax, xmm0");
    assert!(matches!(e.kind(), ErrorKind::UnsupportedRegister { name } if name == "xmm0"));
}

#[test]
fn immediates_that_fit_no_form_are_errors_not_truncated() {
    let e = error("mov al, 300");
    assert_eq!(
        e.to_string(),
        "line 1, column 9: immediate `300` does not fit in 8 bits"
    );
    let e = error("add rax, 0xffffffff");
    assert_eq!(
        e.to_string(),
        "line 1, column 10: immediate `0xffffffff` does not fit in 32 bits (sign-extended)"
    );
    let e = error("mov rax, 0x1ffffffffffffffff");
    assert!(
        matches!(e.kind(), ErrorKind::NumberOutOfRange { .. }),
        "{e}"
    );
    // Sign-extended forms are used where the value allows.
    assert_eq!(bytes("and eax, 0xffffffff"), [0x83, 0xe0, 0xff]);
    assert_eq!(
        bytes("and rax, 0xffffffffffffffff"),
        [0x48, 0x83, 0xe0, 0xff]
    );
}

#[test]
fn operand_width_mismatches_are_errors() {
    let e = error("mov eax, rdi");
    assert!(
        matches!(e.kind(), ErrorKind::NoMatchingForm { operands, .. } if operands == "r32, r64"),
        "{e}"
    );
}

#[test]
fn a_memory_operand_without_a_size_the_registers_fix_is_ambiguous() {
    let e = error("mov [rdi], 1");
    assert!(matches!(e.kind(), ErrorKind::AmbiguousSize { .. }), "{e}");
    assert_eq!(bytes("mov dword ptr [rdi], 1"), [0xc7, 0x07, 1, 0, 0, 0]);
    assert_eq!(bytes("mov [rdi], eax"), [0x89, 0x07]);
}

#[test]
fn impossible_addresses_are_errors() {
    for (text, reason) in [
        ("mov rax, [rsp*2]", "`rsp` cannot be an index"),
        ("mov rax, [rax*3]", "the scale must be 1, 2, 4 or 8"),
        (
            "mov rax, [rax+rbx+rcx]",
            "at most a base and one scaled index register",
        ),
        ("mov rax, [eax]", "addresses use 64-bit registers"),
        (
            "mov rax, [rip+rax]",
            "`rip`-relative addresses take no index",
        ),
        (
            "mov rax, [rax+0x100000000]",
            "the displacement does not fit in 32 bits (signed)",
        ),
        (
            "mov rax, [data]\ndata: nop",
            "a label is only addressable relative to `rip`: write `[rip+label]`",
        ),
    ] {
        let e = error(text);
        assert!(
            matches!(e.kind(), ErrorKind::BadAddress { reason: r } if *r == reason),
            "{text}: {e}"
        );
    }
}

#[test]
fn label_errors_name_both_places() {
    let e = error("a: nop\nb: nop\na: ret");
    assert_eq!((e.line(), e.column()), (3, 1));
    assert!(matches!(
        e.kind(),
        ErrorKind::DuplicateLabel { first_line: 1, .. }
    ));
    let e = error("jmp nowhere");
    assert_eq!((e.line(), e.column()), (1, 5));
    assert!(matches!(e.kind(), ErrorKind::UndefinedLabel { name } if name == "nowhere"));
    let e = error("jmp 1f\n1: nop\njmp 2b");
    assert_eq!((e.line(), e.column()), (3, 5));
    let e = error("rax: ret");
    assert!(matches!(e.kind(), ErrorKind::ReservedLabel { .. }));
    let e = assemble("print_i64: ret", &["print_i64"]).expect_err("import name");
    assert!(matches!(e.kind(), ErrorKind::ReservedLabel { .. }));
}

#[test]
fn an_eight_bit_only_branch_out_of_reach_is_an_error() {
    let e = error(&format!("top: {}loop top", "nop\n".repeat(200)));
    assert!(
        matches!(e.kind(), ErrorKind::BranchOutOfRange { .. }),
        "{e}"
    );
    assert_eq!(e.line(), 201);
}

#[test]
fn cpu_dependent_and_undefined_forms_are_refused() {
    // `66 c3`: Intel CPUs ignore the prefix, AMD CPUs return with a 16-bit pop.
    for text in ["retw", "retw 8", "callw 0", "jmpw 0"] {
        let e = error(text);
        assert!(
            matches!(e.kind(), ErrorKind::CpuDependent { .. }),
            "{text}: {e}"
        );
    }
    // `bswap r16` leaves an undefined result.
    let e = error("bswap ax");
    assert!(matches!(e.kind(), ErrorKind::NoMatchingForm { .. }), "{e}");
    // The 16-bit forms whose meaning is fixed are assembled as objdump prints them.
    assert_eq!(
        bytes("pushw 0x14; leavew; rex.W nop"),
        [0x66, 0x6a, 0x14, 0x66, 0xc9, 0x48, 0x90]
    );
    assert_eq!(bytes("movsxd si, r8d"), [0x66, 0x41, 0x63, 0xf0]);
}

#[test]
fn empty_text_assembles_to_no_code() {
    let asm = assemble("  # nothing\n\n", &[]).expect("assembles");
    assert!(asm.code().is_empty() && asm.instructions().is_empty());
}

#[test]
fn columns_count_characters_not_bytes() {
    let e = error("nop # é\nnop; é");
    assert_eq!((e.line(), e.column()), (2, 6));
}

#[test]
fn an_encoding_that_reads_back_as_another_instruction_is_passed_over() {
    // The shortest form of `xchg eax, eax` is `90`, which the CPU reads as `nop`
    // (no zero-extension of rax); the assembler takes `87 c0`, as GNU `as` does,
    // also when the instruction was chosen before on this thread.
    for _ in 0..2 {
        assert_eq!(
            bytes("mov eax, 1\nxchg eax, eax\nxchg ecx, eax\nret"),
            [0xb8, 1, 0, 0, 0, 0x87, 0xc0, 0x91, 0xc3]
        );
    }
}

#[test]
fn an_instruction_assembles_the_same_every_time_and_on_every_thread() {
    let texts = [
        "push rbp\nmov rbp, rsp\nadd rax, 5\nadd rax, 500\nmov qword ptr [rbp-8], rdi\npop rbp\nret",
        "ADD RAX, 5\nadd eax, 5\nadd ax, 5\nlock add dword ptr [rdi], 5\nrex.W nop\nret",
        "lea rax, [rip+data]\nfs mov rax, [rax]\nret\ndata: nop",
    ];
    let first: Vec<Vec<u8>> = texts.iter().map(|t| bytes(t)).collect();
    // Again after other texts, in another order, and on fresh threads.
    for (t, expected) in texts.iter().zip(&first).rev() {
        assert_eq!(&bytes(t), expected, "{t}");
    }
    for (t, expected) in texts.iter().zip(&first) {
        let t = t.to_string();
        let again = std::thread::spawn(move || bytes(&t))
            .join()
            .expect("no panic");
        assert_eq!(&again, expected);
    }
    assert_eq!(first[0][4..8], [0x48, 0x83, 0xc0, 0x05]);
    assert_eq!(first[0][8..14], [0x48, 0x05, 0xf4, 0x01, 0x00, 0x00]);
    assert_eq!(first[1][..4], first[0][4..8]);
    assert_eq!(first[1][4..7], [0x83, 0xc0, 0x05]);
}
