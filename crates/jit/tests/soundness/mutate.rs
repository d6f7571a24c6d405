//! Mutations of accepted functions.
//!
//! Prefix mutations work on the generator's [`Item`]s, so branch
//! displacements are re-resolved after the insertion: one or two legacy or
//! REX prefixes (`66 67 F2 F3 F0`, segment `2E 36 3E 26 64 65`, `40..4F`)
//! go in front of random instructions, or an instruction is duplicated.
//! Byte mutations work on the encoded bytes: flip a bit, overwrite, insert or
//! delete a byte, or duplicate the bytes of one decoded instruction. Wild
//! mutations insert one random general-purpose instruction (random opcode,
//! register or `[rsp+d8]` operand, random prefix) as a whole item.

use iced_x86::{Decoder, DecoderOptions};

use crate::asm::Item;
use crate::oracle::{CODE_BASE, Rng};

/// Prefix bytes a mutation may insert.
const PREFIXES: [u8; 13] = [
    0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x48, 0x40,
];

/// The items with one to three prefix insertions or an instruction duplicated.
pub fn items(rng: &mut Rng, items: &[Item]) -> Vec<Item> {
    let mut out = items.to_vec();
    let slots: Vec<usize> = (0..out.len())
        .filter(|&i| !matches!(out[i], Item::Label(_)))
        .collect();
    if slots.is_empty() {
        return out;
    }
    if rng.chance(5) {
        let i = *rng.pick(&slots);
        let copy = out[i].clone();
        out.insert(i, copy);
        return out;
    }
    let n = if rng.chance(3) { 3 } else { 1 };
    for _ in 0..1 + rng.below(n) {
        let i = *rng.pick(&slots);
        let p = if rng.chance(6) {
            0x40 | rng.below(16) as u8
        } else {
            *rng.pick(&PREFIXES)
        };
        if let Some(prefix) = out[i].prefix_mut() {
            let at = rng.below(prefix.len() as u64 + 1) as usize;
            prefix.insert(at, p);
        }
    }
    out
}

/// Start offsets of the instructions iced decodes in `code`.
fn starts(code: &[u8]) -> Vec<(usize, usize)> {
    let mut d = Decoder::with_ip(64, code, CODE_BASE, DecoderOptions::NONE);
    let mut v = Vec::new();
    while d.can_decode() {
        let at = d.position();
        let ins = d.decode();
        v.push((at, ins.len()));
    }
    v
}

/// The bytes with one or two byte-level mutations.
pub fn bytes(rng: &mut Rng, code: &[u8]) -> Vec<u8> {
    let mut c = code.to_vec();
    for _ in 0..1 + rng.below(2) {
        let n = c.len() as u64;
        if n == 0 {
            break;
        }
        let at = rng.below(n) as usize;
        match rng.below(5) {
            0 => c[at] ^= 1 << rng.below(8),
            1 => c[at] = rng.next() as u8,
            2 => c.insert(at, rng.next() as u8),
            3 if n > 1 => {
                c.remove(at);
            }
            _ => {
                let s = starts(&c);
                let &(start, len) = rng.pick(&s);
                let copy = c[start..(start + len).min(c.len())].to_vec();
                c.splice(start..start, copy);
            }
        }
    }
    c
}

/// One-byte opcodes of integer instructions with a ModRM byte or a register in the opcode.
const WILD_ONE: &[u8] = &[
    0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x18, 0x19, 0x1a, 0x1b,
    0x20, 0x21, 0x22, 0x23, 0x28, 0x29, 0x2a, 0x2b, 0x30, 0x31, 0x32, 0x33, 0x38, 0x39, 0x3a, 0x3b,
    0x63, 0x69, 0x6b, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x8f,
    0x91, 0x93, 0x97, 0x98, 0x99, 0xb0, 0xb3, 0xb8, 0xbb, 0xc0, 0xc1, 0xc6, 0xc7, 0xd0, 0xd1, 0xd2,
    0xd3, 0xf6, 0xf7, 0xfe, 0xff,
];
/// Second bytes of `0F` opcodes of integer instructions.
const WILD_TWO: &[u8] = &[
    0x40, 0x42, 0x44, 0x47, 0x4c, 0x4f, 0x92, 0x94, 0x97, 0x9c, 0x9f, 0xa3, 0xa4, 0xa5, 0xab, 0xac,
    0xad, 0xaf, 0xb0, 0xb1, 0xb3, 0xb6, 0xb7, 0xb8, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1,
    0xc8, 0xcb, 0xcf,
];
const WILD_PREFIX: &[&[u8]] = &[
    &[],
    &[],
    &[],
    &[0x48],
    &[0x48],
    &[0x49],
    &[0x4c],
    &[0x4d],
    &[0x40],
    &[0x44],
    &[0x41],
    &[0x66],
    &[0xf3],
    &[0xf2],
    &[0x66, 0x48],
];

/// The items with one random integer instruction inserted.
pub fn wild(rng: &mut Rng, items: &[Item]) -> Vec<Item> {
    let mut out = items.to_vec();
    for _ in 0..8 {
        let mut b: Vec<u8> = rng.pick(WILD_PREFIX).to_vec();
        if rng.chance(3) {
            b.extend_from_slice(&[0x0f, *rng.pick(WILD_TWO)]);
        } else {
            b.push(*rng.pick(WILD_ONE));
        }
        if rng.chance(3) {
            // [rsp + d8], d8 a multiple of 8 (negative reaches the red zone)
            b.push(0x44 | (rng.below(8) as u8) << 3);
            b.push(0x24);
            b.push((rng.below(32) as i8 - 16).wrapping_mul(8) as u8);
        } else {
            b.push(0xc0 | rng.below(64) as u8);
        }
        let n = b.len();
        b.extend((0..8).map(|_| rng.next() as u8));
        let ins = Decoder::with_ip(64, &b, 0, DecoderOptions::NONE).decode();
        if ins.is_invalid() || ins.len() < n {
            continue;
        }
        b.truncate(ins.len());
        let at = rng.below(out.len() as u64 + 1) as usize;
        let at = at.min(out.len().saturating_sub(1));
        out.insert(at, Item::ins(b));
        return out;
    }
    out
}
