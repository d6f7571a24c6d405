//! Lifting encoded code back to the generator's [`Item`]s, so code from the
//! corpus (gcc output) can be mutated like generated code: direct `jmp`/
//! `jcc` to an instruction start become label jumps (re-resolved after an
//! instruction is deleted or duplicated), `loop`/`jrcxz` become loop items,
//! `call rel32` a call to its absolute target, everything else stays bytes.
//!
//! In: code and the address it runs at. Out: items that [`asm::assemble`]
//! turns back into the same bytes (a short jump stays short, a near one near).

use iced_x86::{Decoder, DecoderOptions, FlowControl, Instruction};

use crate::asm::Item;

/// The items of `code` at `base`.
pub fn lift(code: &[u8], base: u64) -> Vec<Item> {
    let mut d = Decoder::with_ip(64, code, base, DecoderOptions::NONE);
    let all: Vec<Instruction> = std::iter::from_fn(|| d.can_decode().then(|| d.decode())).collect();
    let index = |ip: u64| all.binary_search_by_key(&ip, Instruction::ip).ok();
    let mut targets: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    let mut body = Vec::new();
    for ins in &all {
        let at = (ins.ip() - base) as usize;
        let bytes = code[at..at + ins.len()].to_vec();
        let target = index(ins.near_branch_target());
        let item = match (ins.flow_control(), target) {
            (FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch, Some(t))
                if !ins.is_invalid() =>
            {
                jump(&bytes, t).unwrap_or_else(|| Item::ins(bytes.clone()))
            }
            (FlowControl::Call, _) if bytes.len() >= 5 && bytes[bytes.len() - 5] == 0xe8 => {
                Item::Call {
                    prefix: bytes[..bytes.len() - 5].to_vec(),
                    target: ins.near_branch_target(),
                }
            }
            _ => Item::ins(bytes),
        };
        if let Item::Jump { label, .. } | Item::Loop { label, .. } = &item {
            targets.push(*label);
        }
        body.push(item);
    }
    for (i, item) in body.into_iter().enumerate() {
        if targets.contains(&i) {
            out.push(Item::Label(i));
        }
        out.push(item);
    }
    out
}

/// A jump item for the branch `bytes` (prefixes kept) to instruction `t`.
fn jump(bytes: &[u8], t: usize) -> Option<Item> {
    let n = bytes.len();
    let short = |k: usize| bytes[..n - k].to_vec();
    match bytes {
        [.., 0x70..=0x7f, _] => Some(Item::Jump {
            prefix: short(2),
            cond: Some(bytes[n - 2] & 0xf),
            label: t,
            long: false,
        }),
        [.., 0xeb, _] => Some(Item::Jump {
            prefix: short(2),
            cond: None,
            label: t,
            long: false,
        }),
        [.., 0xe0..=0xe3, _] => Some(Item::Loop {
            prefix: short(2),
            opcode: bytes[n - 2],
            label: t,
        }),
        _ if n >= 6 && bytes[n - 6] == 0x0f && (0x80..=0x8f).contains(&bytes[n - 5]) => {
            Some(Item::Jump {
                prefix: short(6),
                cond: Some(bytes[n - 5] & 0xf),
                label: t,
                long: true,
            })
        }
        _ if n >= 5 && bytes[n - 5] == 0xe9 => Some(Item::Jump {
            prefix: short(5),
            cond: None,
            label: t,
            long: true,
        }),
        _ => None,
    }
}

/// Instruction items (not labels) of `items`, by position.
pub fn instruction_slots(items: &[Item]) -> Vec<usize> {
    (0..items.len())
        .filter(|&i| !matches!(items[i], Item::Label(_)))
        .collect()
}

/// `items` without the item at `i` (labels stay, so jumps to it go to the
/// next instruction).
pub fn delete(items: &[Item], i: usize) -> Vec<Item> {
    let mut out = items.to_vec();
    out.remove(i);
    out
}

/// `items` with the item at `i` twice.
pub fn duplicate(items: &[Item], i: usize) -> Vec<Item> {
    let mut out = items.to_vec();
    out.insert(i, items[i].clone());
    out
}
