//! Mutations of accepted functions.
//!
//! Prefix mutations work on the generator's [`Item`]s, so branch
//! displacements are re-resolved after the insertion: one or two legacy or
//! REX prefixes (`66 67 F2 F3 F0`, segment `2E 36 3E 26 64 65`, `40..4F`)
//! go in front of random instructions, or an instruction is duplicated.
//! Byte mutations work on the encoded bytes: flip a bit, overwrite, insert or
//! delete a byte, or duplicate the bytes of one decoded instruction.

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
