//! `code_hash`: the fast, non-cryptographic hash `seal` records over a page's contents.
//!
//! Algorithm ("wxh64"), documented because `NPK_WILDX_VERIFY` depends on it:
//! the bytes are read as little-endian `u64` words, 32-byte blocks feed four lanes, and each
//! word `w` updates its lane as `lane = rotl((lane ^ w) * K, 29)` with
//! `K = 0x9E37_79B9_7F4A_7C15`. A zero-padded tail forms a last block. The lanes are folded
//! into `acc = len` with the same step, then `acc ^= acc >> 32; acc *= K; acc ^= acc >> 29`.
//! Every step is a bijection of the running state for a fixed input word, so a change
//! confined to one word always changes the hash. It detects accidents and tampering after
//! seal; it is not a defence against an attacker who can choose colliding contents.
//! Speed: about one multiply per 8 bytes, four independent chains (a 4 KiB page in ~0.2 µs).

const K: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline(always)]
fn step(lane: u64, word: u64) -> u64 {
    (lane ^ word).wrapping_mul(K).rotate_left(29)
}

#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Hashes `bytes` with wxh64 (see the module docs).
#[must_use]
pub fn code_hash(bytes: &[u8]) -> u64 {
    let mut lanes = [K, K.rotate_left(16), K.rotate_left(32), K.rotate_left(48)];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        lanes[0] = step(lanes[0], word(block, 0));
        lanes[1] = step(lanes[1], word(block, 8));
        lanes[2] = step(lanes[2], word(block, 16));
        lanes[3] = step(lanes[3], word(block, 24));
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut last = [0u8; 32];
        last[..tail.len()].copy_from_slice(tail);
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = step(*lane, word(&last, i * 8));
        }
    }
    let mut acc = bytes.len() as u64;
    for lane in lanes {
        acc = step(acc, lane);
    }
    acc ^= acc >> 32;
    acc = acc.wrapping_mul(K);
    acc ^ (acc >> 29)
}

#[cfg(test)]
mod tests {
    use super::code_hash;

    #[test]
    fn every_single_byte_change_changes_the_hash() {
        let page = vec![0u8; 4096];
        let base = code_hash(&page);
        for i in (0..4096).step_by(7) {
            let mut p = page.clone();
            p[i] = 0xc3;
            assert_ne!(code_hash(&p), base, "byte {i}");
        }
    }

    #[test]
    fn length_and_tail_matter() {
        assert_ne!(code_hash(&[0; 5]), code_hash(&[0; 6]));
        assert_ne!(code_hash(&[1, 2, 3]), code_hash(&[1, 2, 4]));
        assert_eq!(code_hash(&[9; 100]), code_hash(&[9; 100]));
    }
}
