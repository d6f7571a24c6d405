//! The write masks [`super::plain_writes`] gives without iced's register
//! lists equal those of [`super::write_mask`] (iced's lists): on every
//! instruction decoded from many pseudo-random byte strings (each led by
//! an opcode of one of the mnemonics it knows, with and without prefixes),
//! and on a few hand-picked encodings.

use iced_x86::{Decoder, DecoderOptions, InstructionInfoFactory};

use super::graph::{plain_writes, write_mask};

/// Decodes `bytes` in 64-bit mode and checks every instruction
/// `plain_writes` answers for; returns how many it answered for.
fn check_all(bytes: &[u8], info: &mut InstructionInfoFactory) -> usize {
    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let mut answered = 0;
    while decoder.can_decode() {
        let ins = decoder.decode();
        if ins.is_invalid() {
            continue;
        }
        if let Some(mask) = plain_writes(&ins) {
            answered += 1;
            assert_eq!(
                mask,
                write_mask(info, &ins),
                "{ins} ({:?}): plain mask differs from iced's",
                ins.code()
            );
        }
    }
    answered
}

#[test]
fn plain_write_masks_match_iceds_register_lists() {
    let mut info = InstructionInfoFactory::new();
    // mov rax, [rsi+rdx*8-8]; imul rax, rdx; imul eax, [rcx], 7; movzx ecx,
    // byte [rdi]; movsxd rax, dword [rsi]; lea rcx, [rax+rbx*4]; shr rax, cl;
    // mov ah, [rdi]; sub r9d, [rsp+8]; imul rcx (one operand: not plain).
    let known: &[&[u8]] = &[
        &[0x48, 0x8b, 0x44, 0xd6, 0xf8],
        &[0x48, 0x0f, 0xaf, 0xc2],
        &[0x6b, 0x01, 0x07],
        &[0x0f, 0xb6, 0x0f],
        &[0x48, 0x63, 0x06],
        &[0x48, 0x8d, 0x0c, 0x98],
        &[0x48, 0xd3, 0xe8],
        &[0x8a, 0x27],
        &[0x44, 0x2b, 0x4c, 0x24, 0x08],
        &[0x48, 0xf7, 0xe9],
    ];
    let answered: usize = known.iter().map(|b| check_all(b, &mut info)).sum();
    assert_eq!(answered, 9, "the one-operand imul is left to iced");
    // Pseudo-random operands after opcodes of the mnemonics it knows.
    let leads: &[&[u8]] = &[
        &[0x8b],
        &[0x89],
        &[0x8a],
        &[0x88],
        &[0xb8],
        &[0xc7],
        &[0x0f, 0xb6],
        &[0x0f, 0xb7],
        &[0x0f, 0xbe],
        &[0x0f, 0xbf],
        &[0x63],
        &[0x8d],
        &[0x01],
        &[0x03],
        &[0x29],
        &[0x2b],
        &[0x21],
        &[0x23],
        &[0x09],
        &[0x0b],
        &[0x31],
        &[0x33],
        &[0x11],
        &[0x13],
        &[0x19],
        &[0x1b],
        &[0x81],
        &[0x83],
        &[0xc1],
        &[0xd1],
        &[0xd3],
        &[0xf7],
        &[0xff],
        &[0xfe],
        &[0x0f, 0xaf],
        &[0x69],
        &[0x6b],
        &[0x8c],
        &[0x0f, 0x20],
        &[0x0f, 0x21],
    ];
    let prefixes: &[&[u8]] = &[
        &[],
        &[0x48],
        &[0x4c],
        &[0x41],
        &[0x66],
        &[0x67],
        &[0x64],
        &[0xf3],
    ];
    let answered: usize = random_encodings(leads, prefixes, 20_000, 0x9e37_79b9_7f4a_7c15)
        .map(|bytes| check_all(&bytes, &mut info))
        .sum();
    assert!(
        answered > 10_000,
        "only {answered} plain instructions tried"
    );
}

/// `count` pseudo-random byte strings (xorshift from `seed`), each a
/// prefix from `prefixes`, a lead from `leads` and eight random bytes.
pub(super) fn random_encodings<'a>(
    leads: &'a [&'a [u8]],
    prefixes: &'a [&'a [u8]],
    count: usize,
    mut seed: u64,
) -> impl Iterator<Item = Vec<u8>> + 'a {
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..count).map(move |_| {
        let mut bytes = Vec::with_capacity(16);
        let r = next();
        bytes.extend_from_slice(prefixes[(r % prefixes.len() as u64) as usize]);
        bytes.extend_from_slice(leads[((r >> 8) % leads.len() as u64) as usize]);
        bytes.extend_from_slice(&next().to_le_bytes());
        bytes
    })
}
