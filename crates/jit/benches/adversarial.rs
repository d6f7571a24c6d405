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

/// The `argmax`-like loops of [`counter_loops_in_one_component`] behind
/// thousands of blocks `cmp r8d, r9d; je out`, all in one loop back to the
/// first: every one of them is an exit test every iteration passes, none
/// proves anything, and only a few are tried (each try walks the body).
fn exits_every_iteration_passes(size: usize) -> Vec<u8> {
    // xor eax, eax; xor ecx, ecx; mov rdx, -1; mov r8d, edi; mov r9d, edi;
    // shr r9d, 3; mov esi, edi
    let mut out = vec![
        0x31, 0xc0, 0x31, 0xc9, 0x48, 0xc7, 0xc2, 0xff, 0xff, 0xff, 0xff, 0x41, 0x89, 0xf8, 0x41,
        0x89, 0xf9, 0x41, 0xc1, 0xe9, 0x03, 0x89, 0xfe,
    ];
    let head = out.len();
    // `cmp r8d, r9d; je rel32` (patched to the exit below).
    let mut exits = Vec::new();
    while out.len() + 9 <= size / 2 {
        out.extend([0x45, 0x39, 0xc8, 0x0f, 0x84, 0, 0, 0, 0]);
        exits.push(out.len());
    }
    // jmp rel32 back to the head; mov eax, edx; ret
    const TAIL: usize = 8;
    while out.len() + COUNTER_LOOP.len() + TAIL <= size {
        out.extend(COUNTER_LOOP);
    }
    out.push(0xe9);
    let back = head as i64 - (out.len() + 4) as i64;
    out.extend((back as i32).to_le_bytes());
    let exit = out.len();
    out.extend([0x89, 0xd0, 0xc3]);
    for end in exits {
        let rel = (exit - end) as i32;
        out[end - 4..end].copy_from_slice(&rel.to_le_bytes());
    }
    out
}

/// `1: mov rdx, rcx; 2: add rcx, 1; cmp rsi, rcx; je 3f; test rdx, rdx;
/// js 1b; cmp rax, rcx; jae 2b; cmp r8d, r9d; jne 1b; jmp 4f;
/// 3: mov eax, edx; ret; 4:` (an `argmax`-like scan, `rcx` the counter).
const COUNTER_LOOP: [u8; 32] = [
    0x48, 0x89, 0xca, 0x48, 0x83, 0xc1, 0x01, 0x48, 0x39, 0xce, 0x74, 0x11, 0x48, 0x85, 0xd2, 0x78,
    0xef, 0x48, 0x39, 0xc8, 0x73, 0xed, 0x45, 0x39, 0xc8, 0x75, 0xe5, 0xeb, 0x03, 0x89, 0xd0, 0xc3,
];

/// Thousands of `argmax`-like loops (proven only by the counter tested at
/// every value: no single exit test) joined into one strongly connected
/// component by an outer loop counted in `r10d`: every inner head needs the
/// component-wide proof, which must be made once for the component, not
/// once per head.
fn counter_loops_in_one_component(size: usize) -> Vec<u8> {
    // xor eax, eax; xor ecx, ecx; mov rdx, -1; mov r8d, edi; mov r9d, edi;
    // shr r9d, 3; xor r10d, r10d; mov esi, edi
    let mut out = vec![
        0x31, 0xc0, 0x31, 0xc9, 0x48, 0xc7, 0xc2, 0xff, 0xff, 0xff, 0xff, 0x41, 0x89, 0xf8, 0x41,
        0x89, 0xf9, 0x41, 0xc1, 0xe9, 0x03, 0x45, 0x31, 0xd2, 0x89, 0xfe,
    ];
    // The outer head: mov r11d, r10d.
    let head = out.len();
    out.extend([0x45, 0x89, 0xd3]);
    // inc r10d; cmp r10d, 1000; jb head (rel32); mov eax, edx; ret
    const TAIL: usize = 19;
    while out.len() + COUNTER_LOOP.len() + TAIL <= size {
        out.extend(COUNTER_LOOP);
    }
    out.extend([
        0x41, 0xff, 0xc2, 0x41, 0x81, 0xfa, 0xe8, 0x03, 0x00, 0x00, 0x0f, 0x82,
    ]);
    let rel = head as i64 - (out.len() + 4) as i64;
    out.extend((rel as i32).to_le_bytes());
    out.extend([0x89, 0xd0, 0xc3]);
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
        (
            "~2,000 argmax-like loops in one component",
            counter_loops_in_one_component(size),
        ),
        (
            "~3,600 exit tests every iteration passes",
            exits_every_iteration_passes(size),
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
