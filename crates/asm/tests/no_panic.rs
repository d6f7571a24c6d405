//! The assembler never panics, whatever the text: arbitrary strings, and
//! token soups close enough to assembly to reach the encoder. Whatever it
//! accepts is consistent: the source map tiles the code, and every
//! instruction decodes (iced) to exactly its recorded length.
//! `NPK_ASM_PROPTEST_CASES` raises the case count (CI keeps the default small).

use iced_x86::{Decoder, DecoderOptions};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "mov",
    "add",
    "lea",
    "jmp",
    "jz",
    "call",
    "ret",
    "push",
    "pop",
    "imul",
    "shl",
    "xchg",
    "test",
    "movzx",
    "movabs",
    "loop",
    "nop",
    "lock",
    "rep",
    "cs",
    "fs",
    "rax",
    "eax",
    "ax",
    "al",
    "ah",
    "r8",
    "r15d",
    "r12w",
    "sil",
    "rsp",
    "rbp",
    "rip",
    "xmm0",
    "byte",
    "word",
    "dword",
    "qword",
    "ptr",
    "tbyte",
    "top",
    "f",
    "print_i64",
    "1f",
    "1b",
    "0",
    "1",
    "-1",
    "127",
    "128",
    "0x80",
    "0xffffffff",
    "0xffffffffffffffff",
    "0x1ffffffffffffffff",
    "300",
    "8",
    "3",
    "*",
    ",",
    "[",
    "]",
    "+",
    "-",
    ":",
    ";",
    "\n",
    "#",
    "<",
    ">",
    "é",
];

fn cases() -> u32 {
    std::env::var("NPK_ASM_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

fn check(text: &str) {
    let Ok(asm) = npk_asm::assemble(text, &["print_i64"]) else {
        return;
    };
    let mut at = 0;
    for p in asm.instructions() {
        assert_eq!(p.offset(), at, "{text:?}");
        let bytes = &asm.code()[p.offset()..p.offset() + p.len()];
        let ins = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE).decode();
        assert!(
            !ins.is_invalid() && ins.len() == p.len(),
            "{text:?}: {bytes:02x?}"
        );
        assert!(p.line() >= 1 && p.column() >= 1);
        at += p.len();
    }
    assert_eq!(at, asm.code().len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        check(&text);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(WORDS), 0..40)) {
        check(&tokens.join(" "));
    }

    #[test]
    fn near_valid_instructions_never_panic(
        m in prop::sample::select(&WORDS[..19]),
        a in prop::sample::select(WORDS),
        b in prop::sample::select(WORDS),
        c in prop::sample::select(WORDS),
        d in prop::sample::select(WORDS),
    ) {
        check(&format!("top: {m} {a}, [{b}+{c}*{d}+8]\n{m} {a}, {b}\n{m} {c}\n1: {m} {d} ptr [rip+top]"));
    }
}
