//! A per-thread memo of form choices: the same instruction text chosen again
//! (`mov rax, rdi`, `ret`, `push rbp` in every function a JIT emits) costs a
//! hash lookup instead of fitting, encoding and ranking every candidate form.
//!
//! In: what [`forms::choose`] reads (mnemonic, `rex.W`, operands, `lock`).
//! Out: its [`Choice`]. Only [`Check::Later`] choices that chose a form are kept,
//! so a remembered choice is exactly what `choose` would return again (it is a
//! pure function of the key); the assembler still decodes the whole code back
//! before it accepts it. Instructions with a label operand, more than four
//! operands or a mnemonic over 16 bytes are not remembered. The memo holds at
//! most [`CAPACITY`] choices per thread and is emptied when full.

use std::cell::RefCell;
use std::hash::{BuildHasherDefault, Hasher};

use iced_x86::{Encoder, Instruction, Register};

use crate::forms::{self, Check, Choice, Encoded, Form};
use crate::parse::{Operand, name_key};

/// Most choices remembered per thread (about 300 bytes each with the table).
const CAPACITY: usize = 1024;

/// An operand as `choose` reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
enum OpKey {
    #[default]
    None,
    Reg(Register),
    Imm(i128),
    Mem {
        size: Option<u32>,
        segment: Register,
        base: Register,
        index: Register,
        scale: u32,
        disp: i64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    mnemonic: u128,
    rex_w: bool,
    lock: bool,
    count: usize,
    ops: [OpKey; 4],
}

impl Key {
    fn new(mnemonic: &str, rex_w: bool, ops: &[Operand], lock: bool) -> Option<Key> {
        let mut key = Key {
            mnemonic: name_key(mnemonic)?,
            rex_w,
            lock,
            count: ops.len(),
            ops: [OpKey::None; 4],
        };
        if ops.len() > key.ops.len() {
            return None;
        }
        for (k, op) in key.ops.iter_mut().zip(ops) {
            *k = match *op {
                Operand::Reg(r) => OpKey::Reg(r),
                Operand::Imm(v) => OpKey::Imm(v),
                // `choose` reads no label (a `rip` operand gets a placeholder target).
                Operand::Mem(m) => OpKey::Mem {
                    size: m.size,
                    segment: m.segment,
                    base: m.base,
                    index: m.index,
                    scale: m.scale,
                    disp: m.disp,
                },
                Operand::Label(_) => return None,
            };
        }
        Some(key)
    }
}

/// Word-at-a-time multiplicative hashing (the keys are small and not chosen by
/// an attacker who could gain anything from collisions but a slower lookup).
#[derive(Clone, Copy, Debug, Default)]
struct WordHash(u64);

impl WordHash {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }

    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }

    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }

    fn write_u128(&mut self, v: u128) {
        self.add(v as u64);
        self.add((v >> 64) as u64);
    }

    fn write_i128(&mut self, v: i128) {
        self.write_u128(v as u128);
    }

    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }

    fn write_isize(&mut self, v: isize) {
        self.add(v as u64);
    }
}

type Memo = std::collections::HashMap<Key, (Instruction, Encoded), BuildHasherDefault<WordHash>>;

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// [`forms::choose`] with a placeholder `rip` target, remembered per thread
/// (see the module docs).
pub(crate) fn choose(
    enc: &mut Encoder,
    mnemonic: &str,
    rex_w: bool,
    forms: &[Form],
    ops: &[Operand],
    lock: bool,
    check: Check,
) -> Choice {
    let key = Key::new(mnemonic, rex_w, ops, lock).filter(|_| check == Check::Later);
    let Some(key) = key else {
        return forms::choose(enc, mnemonic, forms, ops, 0, lock, check);
    };
    let known = MEMO.with(|m| m.try_borrow().ok()?.get(&key).copied());
    if let Some((ins, bytes)) = known {
        return Choice::Chosen(ins, bytes);
    }
    let choice = forms::choose(enc, mnemonic, forms, ops, 0, lock, check);
    if let Choice::Chosen(ins, bytes) = &choice {
        MEMO.with(|m| {
            if let Ok(mut m) = m.try_borrow_mut() {
                if m.len() >= CAPACITY {
                    m.clear();
                }
                m.insert(key, (*ins, *bytes));
            }
        });
    }
    choice
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_full_memo_stays_under_half_a_mebibyte() {
        let entry = size_of::<super::Key>() + size_of::<(iced_x86::Instruction, super::Encoded)>();
        assert!(super::CAPACITY * (entry + 16) < 512 * 1024, "{entry} bytes");
    }
}
