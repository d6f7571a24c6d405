//! Adversarial inputs for the validator's time and memory bounds (issue 10),
//! shared by `benches/throughput.rs` (which prints their cost next to a plain
//! function of the same size) and `tests/blowup.rs` (which checks each gets a
//! verdict within the documented work bound). Each is about `size` bytes of
//! code for `int32(int32)` under [`npk_jit::Policy::runtime`].

/// `mov byte ptr [rsp+i], 0` at `rsp + i`.
fn store_byte(out: &mut Vec<u8>, i: u32) {
    match i {
        0 => out.extend([0xc6, 0x04, 0x24, 0x00]),
        1..=127 => out.extend([0xc6, 0x44, 0x24, i as u8, 0x00]),
        _ => {
            out.extend([0xc6, 0x84, 0x24]);
            out.extend(i.to_le_bytes());
            out.push(0x00);
        }
    }
}

const PROLOGUE: [u8; 7] = [0x48, 0x81, 0xec, 0xf8, 0x0f, 0x00, 0x00]; // sub rsp, 0xff8
const EPILOGUE: [u8; 10] = [0x48, 0x81, 0xc4, 0xf8, 0x0f, 0x00, 0x00, 0x89, 0xf8, 0xc3]; // add rsp, 0xff8; mov eax, edi; ret

/// `test edi, edi; je +0` repeated: one block per 4 bytes.
fn blocks(out: &mut Vec<u8>, size: usize) {
    while out.len() + 4 + EPILOGUE.len() <= size {
        out.extend([0x85, 0xff, 0x74, 0x00]);
    }
}

/// Writes `bytes` (offsets from `rsp`) of a 4 KiB frame one byte at a time,
/// then fills the rest with thousands of blocks.
fn frame_then_blocks(size: usize, bytes: impl Iterator<Item = u32>) -> Vec<u8> {
    let mut out = PROLOGUE.to_vec();
    for i in bytes {
        if out.len() + 8 + EPILOGUE.len() > size / 2 {
            break;
        }
        store_byte(&mut out, i);
    }
    blocks(&mut out, size);
    out.extend(EPILOGUE);
    out
}

/// A loop (counted by `ecx`) after thousands of blocks, whose body stores at the lowest
/// stack offset while the frame holds as many separate one-byte runs as
/// the rest of the code can write.
fn loop_over_live_slots(size: usize) -> Vec<u8> {
    let mut out = PROLOGUE.to_vec();
    for i in (2..0xff8).step_by(2) {
        if out.len() + 8 + 32 > size {
            break;
        }
        store_byte(&mut out, i);
    }
    blocks(&mut out, size - 13);
    // mov ecx, 100; 1: mov byte [rsp], 0; dec ecx; jnz 1b
    out.extend([0xb9, 100, 0, 0, 0]);
    out.extend([0xc6, 0x04, 0x24, 0x00, 0xff, 0xc9, 0x75, 0xf8]);
    out.extend(EPILOGUE);
    out
}

/// The inputs, by name.
pub fn inputs(size: usize) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "4 KiB frame written byte by byte, then blocks",
            frame_then_blocks(size, 0..0xff8),
        ),
        (
            "every other frame byte written, then blocks",
            frame_then_blocks(size, (0..0xff8).step_by(2)),
        ),
        (
            "loop storing below ~4,000 live slots",
            loop_over_live_slots(size),
        ),
    ]
}

/// A plain function of about `size` bytes for comparison: blocks of
/// register arithmetic and no stack use.
pub fn plain(size: usize) -> Vec<u8> {
    let mut out = vec![0x89, 0xf8]; // mov eax, edi
    while out.len() + 7 < size {
        out.extend([0x01, 0xf8, 0x85, 0xc0, 0x74, 0x00, 0x90]); // add eax, edi; test eax, eax; je +0; nop
    }
    out.push(0xc3);
    out
}
