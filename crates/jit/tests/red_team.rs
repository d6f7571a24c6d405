//! Red-team cases for the buffer proofs (issue 11): code written to make the
//! validator accept an access outside a buffer, a store into a read-only one
//! or a read of unwritten stack, through its ranges, relations and branch
//! refinement.
//!
//! - [`HOLES`]: code the validator accepted before the fixes on branch
//!   `red11` (the same lines are in `corpus/soundness.txt`). Each is run
//!   natively here (no validator) with its buffer ending at a `PROT_NONE`
//!   region and must fault outside the buffer; then it must be rejected.
//! - [`SAFE_TWINS`]: the holes' safe neighbours (the upper half known to be
//!   zero, the bound arithmetic ending in range): accepted and run clean on
//!   the same adversarial arguments, so the fixes cost no precision there
//!   and the runner's fault is the access's.
//! - [`REJECTED`]: the other attacks tried, each out of bounds for some
//!   argument the signature allows (a negative count means an empty buffer
//!   whose pointer may be anything); they must stay rejected.
//!
//! Pass 2 (helper imports, division proofs) is `tests/red_team_calls.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};

use npk_jit::{Extent, Param, Policy, Signature, validate};

#[path = "common/forked.rs"]
mod forked;

const PAGE: usize = 4096;
/// `PROT_NONE` address space reserved after each buffer: the holes index
/// as far as `2^35` bytes past its end, and a fault must be certain.
const TAIL_GUARD: usize = 1 << 36;
/// Bytes of `PROT_NONE` before each buffer.
const HEAD_GUARD: usize = 16 * PAGE;
const EXIT_FAULT: i32 = 77;
const EXIT_SETUP: i32 = 78;

/// `(signature, hex, assembly, arguments, why it is out of bounds)`. The
/// buffer is parameter 0 (its register is set by the runner); an extent
/// parameter's argument is its element count.
type Hole = (
    &'static str,
    &'static str,
    &'static str,
    [u64; 6],
    &'static str,
);

const HOLES: [Hole; 5] = [
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 09 85 d2 75 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; test edx, edx; jne 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax, eax; ret",
        [0, 8, 1 << 32, 0, 0, 0],
        "`test edx, edx` + ZF proved rdx == 0; rdx = 2^32 reads xs[2^32]",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0d 48 c1 e2 20 85 d2 75 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; shl rdx, 32; test edx, edx; jne 1f; mov rax, [rdi + rdx*8]; ret; 1: xor eax, eax; ret",
        [0, 8, 1, 0, 0, 0],
        "the low half of i << 32 is always zero: reads xs[i << 32]",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "85 f6 75 05 48 8b 04 f7 c3 31 c0 c3",
        "test esi, esi; jne 1f; mov rax, [rdi+rsi*8]; ret; 1: xor eax, eax; ret",
        [0, 1 << 32, 0, 0, 0, 0],
        "a constant extent: reads xs[2^32]",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "31 c0 85 f6 48 0f 45 f0 48 8b 04 f7 c3",
        "xor eax, eax; test esi, esi; cmovne rsi, rax; mov rax, [rdi + rsi*8]; ret",
        [0, 1 << 32, 0, 0, 0, 0],
        "`cmov` narrowed by the same 32-bit test: reads xs[2^32]",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "48 85 f6 7e 2b 48 89 f1 48 c7 c0 01 00 00 00 48 c1 e0 3f 48 01 c1 48 c7 c2 01 00 00 00 48 c1 e2 3e 48 01 d1 48 01 d1 48 83 c1 64 48 8b 04 cf c3 31 c0 c3",
        "test rsi, rsi; jle 1f; mov rcx, rsi; mov rax, 1; shl rax, 63; add rcx, rax; mov rdx, 1; shl rdx, 62; add rcx, rdx; add rcx, rdx; add rcx, 100; mov rax, [rdi + rcx*8]; ret; 1: xor eax, eax; ret",
        [0, 8, 0, 0, 0, 0],
        "`rcx - n <= i64::MIN` (true after adding i64::MIN) was then read as minus infinity and never moved: reads xs[n + 100]",
    ),
];

/// `(signature, hex, assembly, arguments)`: safe twins of [`HOLES`].
type Twin = (&'static str, &'static str, &'static str, [u64; 6]);

const SAFE_TWINS: [Twin; 3] = [
    (
        "int64(int64* xs[8], int64 i)",
        "89 f6 85 f6 75 05 48 8b 04 f7 c3 31 c0 c3",
        "mov esi, esi; test esi, esi; jne 1f; mov rax, [rdi+rsi*8]; ret; 1: xor eax, eax; ret",
        [0, 1 << 32, 0, 0, 0, 0],
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "31 c0 89 f6 85 f6 48 0f 45 f0 48 8b 04 f7 c3",
        "xor eax, eax; mov esi, esi; test esi, esi; cmovne rsi, rax; mov rax, [rdi + rsi*8]; ret",
        [0, 1 << 32, 0, 0, 0, 0],
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "48 85 f6 7e 2a 48 89 f1 48 c7 c0 01 00 00 00 48 c1 e0 3f 48 01 c1 48 c7 c2 01 00 00 00 48 c1 e2 3e 48 01 d1 48 01 d1 48 ff c9 48 8b 04 cf c3 31 c0 c3",
        "test rsi, rsi; jle 1f; mov rcx, rsi; mov rax, 1; shl rax, 63; add rcx, rax; mov rdx, 1; shl rdx, 62; add rcx, rdx; add rcx, rdx; dec rcx; mov rax, [rdi + rcx*8]; ret; 1: xor eax, eax; ret",
        [0, 8, 0, 0, 0, 0],
    ),
];

/// `(signature, hex, assembly)`: attacks that must be rejected (each is
/// out of bounds for some argument its signature allows).
const REJECTED: &[(&str, &str, &str)] = &[
    // partial and narrow writes keep the upper bits
    (
        "int64(int64* xs[8], int64 i)",
        "40 80 e6 07 48 8b 04 f7 c3",
        "and sil, 7; mov rax, [rdi+rsi*8]; ret",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "66 83 e6 07 48 8b 04 f7 c3",
        "and si, 7; mov rax, [rdi+rsi*8]; ret",
    ),
    (
        "int64(uint8* t[256], uint8* s[n], int64 n)",
        "31 c0 48 85 d2 7e 06 8a 0e 0f b6 04 0f c3",
        "xor eax,eax; test rdx,rdx; jle 1f; mov cl, byte ptr [rsi]; movzx eax, byte ptr [rdi+rcx]; 1: ret",
    ),
    // masks and shifts one bit too wide, arithmetic shifts of negative values
    (
        "int64(int64* xs[8], int64 i)",
        "48 83 e6 0f 48 8b 04 f7 c3",
        "and rsi, 15; mov rax, [rdi+rsi*8]; ret",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "48 c1 ee 3c 48 8b 04 f7 c3",
        "shr rsi, 60; mov rax, [rdi+rsi*8]; ret",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "48 c1 fe 3d 48 8b 04 f7 c3",
        "sar rsi, 61; mov rax, [rdi+rsi*8]; ret",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "48 83 e6 07 48 8b 44 f7 01 c3",
        "and rsi, 7; mov rax, [rdi+rsi*8+1]; ret",
    ),
    // sign-extended bytes as table indices
    (
        "int64(uint8* t[256], uint8* s[n], int64 n)",
        "31 c0 48 85 d2 7e 07 0f be 0e 0f b6 04 0f c3",
        "xor eax,eax; test rdx,rdx; jle 1f; movsx ecx, byte ptr [rsi]; movzx eax, byte ptr [rdi+rcx]; 1: ret",
    ),
    (
        "int64(uint8* t[256], uint8* s[n], int64 n)",
        "31 c0 48 85 d2 7e 08 48 0f be 0e 0f b6 04 0f c3",
        "xor eax,eax; test rdx,rdx; jle 1f; movsx rcx, byte ptr [rsi]; movzx eax, byte ptr [rdi+rcx]; 1: ret",
    ),
    (
        "int64(uint8* t[256], uint8* s[n], int64 n)",
        "31 c0 48 85 d2 7e 07 0f b6 0e 0f b7 04 0f c3",
        "xor eax,eax; test rdx,rdx; jle 1f; movzx ecx, byte ptr [rsi]; movzx eax, word ptr [rdi+rcx]; 1: ret",
    ),
    // header reads one byte short of the length check
    (
        "int64(uint8* t[256], uint8* s[n], int64 n)",
        "31 c0 48 83 fa 04 7c 03 8b 4e 01 c3",
        "xor eax,eax; cmp rdx, 4; jl 1f; mov ecx, dword ptr [rsi+1]; 1: ret",
    ),
    (
        "int64(uint8* t[256], uint8* s[n], int64 n)",
        "31 c0 48 83 fa 04 7c 04 8b 4c 16 fd c3",
        "xor eax,eax; cmp rdx, 4; jl 1f; mov ecx, dword ptr [rsi+rdx-3]; 1: ret",
    ),
    (
        "int64(uint8* t[256], uint8* s[n], int64 n)",
        "31 c0 48 83 fa 04 7c 04 8b 4c 56 fc c3",
        "xor eax,eax; cmp rdx, 4; jl 1f; mov ecx, dword ptr [rsi+rdx*2-4]; 1: ret",
    ),
    (
        "int64(uint8* t[256], uint8* s[n], int64 n)",
        "31 c0 48 83 fa 04 7c 04 0f b6 04 17 c3",
        "xor eax,eax; cmp rdx, 4; jl 1f; movzx eax, byte ptr [rdi+rdx]; 1: ret",
    ),
    // truncated or segment-relative addresses
    (
        "int64(int64* xs[8], int64 i)",
        "64 48 8b 07 c3",
        "mov rax, fs:[rdi]; ret",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "65 48 8b 04 37 c3",
        "mov rax, gs:[rdi+rsi]; ret",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "48 83 e6 07 8d 3c f7 48 8b 07 c3",
        "and rsi, 7; lea edi, [rdi+rsi*8]; mov rax, [rdi]; ret",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "67 48 8b 07 c3",
        "mov rax, [edi]; ret",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "83 e6 07 67 48 8b 04 f7 c3",
        "and esi, 7; mov rax, [edi+esi*8]; ret",
    ),
    // stores into a read-only buffer, in every form; cmov reads its memory operand always
    (
        "int64(int64* xs[8], int64 v)",
        "48 87 37 31 c0 c3",
        "xchg [rdi], rsi; xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[8], int64 v)",
        "48 01 37 31 c0 c3",
        "add [rdi], rsi; xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[8], int64 v)",
        "48 ff 07 31 c0 c3",
        "inc qword ptr [rdi]; xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[8], int64 v)",
        "48 85 f6 0f 94 07 31 c0 c3",
        "test rsi, rsi; sete byte ptr [rdi]; xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[8], int64 v)",
        "31 c0 f0 48 0f c1 07 c3",
        "xor eax,eax; lock xadd [rdi], rax; ret",
    ),
    (
        "int64(mut int64* xs[8], int64 v)",
        "48 89 77 40 31 c0 c3",
        "mov [rdi+64], rsi; xor eax,eax; ret",
    ),
    (
        "int64(mut int64* xs[8], int64 v)",
        "31 c0 48 85 f6 48 0f 48 47 40 c3",
        "xor eax,eax; test rsi,rsi; cmovs rax, [rdi+64]; ret",
    ),
    // pointers spilled to the stack: partly overwritten, moved in memory, reloaded
    (
        "int64(mut int64* xs[8], int64 v)",
        "48 89 7c 24 f8 c6 44 24 f8 00 48 8b 7c 24 f8 48 8b 07 c3",
        "mov [rsp-8], rdi; mov byte ptr [rsp-8], 0; mov rdi, [rsp-8]; mov rax, [rdi]; ret",
    ),
    (
        "int64(mut int64* xs[8], int64 v)",
        "48 89 7c 24 f8 c7 44 24 fc 00 00 00 00 48 8b 7c 24 f8 48 8b 07 c3",
        "mov [rsp-8], rdi; mov dword ptr [rsp-4], 0; mov rdi, [rsp-8]; mov rax, [rdi]; ret",
    ),
    (
        "int64(mut int64* xs[8], int64 v)",
        "48 89 7c 24 f8 48 8b 7c 24 f8 48 8b 47 39 c3",
        "mov [rsp-8], rdi; mov rdi, [rsp-8]; mov rax, [rdi+57]; ret",
    ),
    (
        "int64(mut int64* xs[8], int64 v)",
        "57 48 83 04 24 08 5f 48 8b 47 38 c3",
        "push rdi; add qword ptr [rsp], 8; pop rdi; mov rax, [rdi+56]; ret",
    ),
    (
        "int64(mut int64* xs[8], int64 v)",
        "48 8d 4c 24 f0 48 89 39 48 83 44 24 f0 40 48 8b 7c 24 f0 48 8b 07 c3",
        "lea rcx, [rsp-16]; mov [rcx], rdi; add qword ptr [rsp-16], 64; mov rdi, [rsp-16]; mov rax, [rdi]; ret",
    ),
    // the compared register changes between the cmp and the jcc
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 39 f2 73 05 48 8b 04 d7 c3 31 c0 c3",
        "cmp rdx, rsi; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0f 31 c9 48 39 f2 48 87 ca 73 05 48 8b 04 cf c3 31 c0 c3",
        "test rsi, rsi; jle 1f; xor ecx, ecx; cmp rdx, rsi; xchg rdx, rcx; jae 1f; mov rax, [rdi+rcx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0c 48 39 f2 b2 00 73 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp rdx, rsi; mov dl, 0; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0c 48 39 f2 b6 01 73 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp rdx, rsi; mov dh, 1; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 11 48 39 f2 48 c7 c6 e8 03 00 00 73 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp rdx, rsi; mov rsi, 1000; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0e 48 39 f2 48 8d 52 01 73 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp rdx, rsi; lea rdx, [rdx+1]; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0d 48 39 f2 48 0f ca 73 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp rdx, rsi; bswap rdx; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0e 48 39 f2 48 0f be d2 73 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp rdx, rsi; movsx rdx, dl; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0c 48 39 f2 56 5a 73 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp rdx, rsi; push rsi; pop rdx; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    // flags that do not mean what the condition reads: inc keeps CF, a shift by cl may keep them all
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0d 48 39 f2 48 ff c2 72 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp rdx, rsi; inc rdx; jb 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 12 b9 00 00 00 00 48 39 f2 48 d3 e1 73 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; mov ecx, 0; cmp rdx, rsi; shl rcx, cl; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    // operand order and signedness of the bounds check
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0a 48 39 d6 72 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp rsi, rdx; jb 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0a 48 39 f2 7c 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp rdx, rsi; jl 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 09 39 f2 73 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; cmp edx, esi; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n, int64 i)",
        "48 85 f6 7e 0c 89 d0 48 39 f0 73 05 48 8b 04 d7 c3 31 c0 c3",
        "test rsi, rsi; jle 1f; mov eax, edx; cmp rax, rsi; jae 1f; mov rax, [rdi+rdx*8]; ret; 1: xor eax,eax; ret",
    ),
    // 32-bit flag results: the hole fixed here, in its other shapes
    (
        "int64(int64* xs[8], int64 i)",
        "85 f6 75 05 48 8b 04 f7 c3 31 c0 c3",
        "test esi, esi; jne 1f; mov rax, [rdi+rsi*8]; ret; 1: xor eax, eax; ret",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "85 f6 74 03 31 c0 c3 48 8b 04 f7 c3",
        "test esi, esi; je 1f; xor eax, eax; ret; 1: mov rax, [rdi+rsi*8]; ret",
    ),
    (
        "int64(int64* xs[8], int64 i)",
        "31 c0 85 f6 48 0f 44 c6 48 8b 04 c7 c3",
        "xor eax, eax; test esi, esi; cmove rax, rsi; mov rax, [rdi+rax*8]; ret",
    ),
    // loops: unsigned or 32-bit counts against a signed extent, <= instead of <, wrong strides
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 31 c9 48 39 f1 73 09 48 03 04 cf 48 ff c1 eb f2 c3",
        "xor eax,eax; xor ecx,ecx; 1: cmp rcx,rsi; jae 2f; add rax,[rdi+rcx*8]; inc rcx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 31 c9 39 f1 73 09 48 03 04 cf 48 ff c1 eb f3 c3",
        "xor eax,eax; xor ecx,ecx; 1: cmp ecx,esi; jae 2f; add rax,[rdi+rcx*8]; inc rcx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 31 c9 48 39 ce 76 09 48 03 04 cf 48 ff c1 eb f2 c3",
        "xor eax,eax; xor ecx,ecx; 1: cmp rsi,rcx; jbe 2f; add rax,[rdi+rcx*8]; inc rcx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 31 c9 48 39 ce 7d 09 48 03 04 cf 48 ff c1 eb f2 c3",
        "xor eax,eax; xor ecx,ecx; 1: cmp rsi,rcx; jge 2f; add rax,[rdi+rcx*8]; inc rcx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 31 c9 48 85 f6 7e 0c 48 03 04 cf 48 ff c1 48 39 f1 7e f4 c3",
        "xor eax,eax; xor ecx,ecx; test rsi,rsi; jle 2f; 1: add rax,[rdi+rcx*8]; inc rcx; cmp rcx,rsi; jle 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 31 c9 39 f1 7d 08 48 03 04 cf ff c1 eb f4 c3",
        "xor eax,eax; xor ecx,ecx; 1: cmp ecx,esi; jge 2f; add rax,[rdi+rcx*8]; inc ecx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 81 fe e8 03 00 00 7f 0e 31 c9 39 f1 7d 08 48 03 04 cf ff c1 eb f4 c3",
        "xor eax,eax; cmp rsi, 1000; jg 2f; xor ecx,ecx; 1: cmp ecx,esi; jge 2f; add rax,[rdi+rcx*8]; inc ecx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 31 c9 48 63 d1 48 39 f2 7d 08 48 03 04 d7 ff c1 eb f0 c3",
        "xor eax,eax; xor ecx,ecx; 1: movsxd rdx, ecx; cmp rdx,rsi; jge 2f; add rax,[rdi+rdx*8]; inc ecx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 31 c9 48 8d 56 ff 48 39 d1 7f 09 48 03 04 cf 48 ff c1 eb f2 c3",
        "xor eax,eax; xor ecx,ecx; lea rdx,[rsi-1]; 1: cmp rcx,rdx; jg 2f; add rax,[rdi+rcx*8]; inc rcx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 31 c9 48 39 f1 7d 09 48 03 04 cf 48 ff c9 eb f2 c3",
        "xor eax,eax; xor ecx,ecx; 1: cmp rcx,rsi; jge 2f; add rax,[rdi+rcx*8]; dec rcx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 c7 c1 ff ff ff ff 48 39 f1 7d 09 48 03 04 cf 48 ff c1 eb f2 c3",
        "xor eax,eax; mov rcx, -1; 1: cmp rcx,rsi; jge 2f; add rax,[rdi+rcx*8]; inc rcx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 85 f6 7e 0c 48 89 f1 48 03 04 cf 48 ff c9 75 f7 c3",
        "xor eax,eax; test rsi,rsi; jle 2f; mov rcx, rsi; 1: add rax,[rdi+rcx*8]; dec rcx; jnz 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 89 f1 48 ff c9 78 06 48 03 04 cf eb f5 c3",
        "xor eax,eax; mov rcx, rsi; 1: dec rcx; js 2f; add rax,[rdi+rcx*8]; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 89 f1 48 83 e9 01 72 06 48 03 04 cf eb f4 c3",
        "xor eax,eax; mov rcx, rsi; 1: sub rcx, 1; jb 2f; add rax,[rdi+rcx*8]; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], uint64 n)",
        "31 c0 31 c9 48 39 f1 77 09 48 03 04 cf 48 ff c1 eb f2 c3",
        "xor eax,eax; xor ecx,ecx; 1: cmp rcx,rsi; ja 2f; add rax,[rdi+rcx*8]; inc rcx; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64* ys[m], int64 n, int64 m)",
        "31 c0 45 31 c0 49 39 d0 7d 09 4a 03 04 c6 49 ff c0 eb f2 c3",
        "xor eax,eax; xor r8d,r8d; 1: cmp r8,rdx; jge 2f; add rax,[rsi+r8*8]; inc r8; jmp 1b; 2: ret",
    ),
    // pointer walks: no count check, a wrapping end for n = INT64_MIN + 1, <=, strides that skip the end
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 8d 14 f7 48 39 d7 74 09 48 03 07 48 83 c7 08 eb f2 c3",
        "xor eax,eax; lea rdx,[rdi+rsi*8]; 1: cmp rdi,rdx; je 2f; add rax,[rdi]; add rdi,8; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 8d 14 f7 48 39 d7 73 09 48 03 07 48 83 c7 08 eb f2 c3",
        "xor eax,eax; lea rdx,[rdi+rsi*8]; 1: cmp rdi,rdx; jae 2f; add rax,[rdi]; add rdi,8; jmp 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 85 f6 7e 10 48 8d 14 f7 48 03 07 48 83 c7 08 48 39 d7 76 f4 c3",
        "xor eax,eax; test rsi,rsi; jle 2f; lea rdx,[rdi+rsi*8]; 1: add rax,[rdi]; add rdi,8; cmp rdi,rdx; jbe 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 85 f6 7e 10 48 8d 14 f7 48 03 07 48 83 c7 04 48 39 d7 75 f4 c3",
        "xor eax,eax; test rsi,rsi; jle 2f; lea rdx,[rdi+rsi*8]; 1: add rax,[rdi]; add rdi,4; cmp rdi,rdx; jne 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 85 f6 7e 10 48 8d 14 f7 48 03 07 48 83 c7 10 48 39 d7 75 f4 c3",
        "xor eax,eax; test rsi,rsi; jle 2f; lea rdx,[rdi+rsi*8]; 1: add rax,[rdi]; add rdi,16; cmp rdi,rdx; jne 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 85 f6 7e 12 48 8d 54 f7 f8 48 03 47 08 48 83 c7 08 48 39 d7 72 f3 c3",
        "xor eax,eax; test rsi,rsi; jle 2f; lea rdx,[rdi+rsi*8-8]; 1: add rax,[rdi+8]; add rdi,8; cmp rdi,rdx; jb 1b; 2: ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "31 c0 48 85 f6 7e 11 48 8d 14 f7 48 03 42 f8 48 83 ea 08 48 39 fa 73 f3 c3",
        "xor eax,eax; test rsi,rsi; jle 2f; lea rdx,[rdi+rsi*8]; 1: add rax,[rdx-8]; sub rdx,8; cmp rdx,rdi; jae 1b; 2: ret",
    ),
    // relation bounds at the limits of i64 (the other hole fixed here)
    (
        "int64(int64* xs[n], int64 n)",
        "48 85 f6 7e 27 48 89 f1 48 c7 c0 01 00 00 00 48 c1 e0 3f 48 01 c1 48 c7 c2 01 00 00 00 48 c1 e2 3e 48 01 d1 48 01 d1 48 8b 04 cf c3 31 c0 c3",
        "test rsi, rsi; jle 1f; mov rcx, rsi; mov rax, 1; shl rax, 63; add rcx, rax; mov rdx, 1; shl rdx, 62; add rcx, rdx; add rcx, rdx; mov rax, [rdi + rcx*8]; ret; 1: xor eax, eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n)",
        "48 85 f6 7e 2b 48 89 f1 48 c7 c0 01 00 00 00 48 c1 e0 3f 48 01 c1 48 c7 c2 01 00 00 00 48 c1 e2 3e 48 01 d1 48 01 d1 48 83 c1 64 48 8b 04 cf c3 31 c0 c3",
        "test rsi, rsi; jle 1f; mov rcx, rsi; mov rax, 1; shl rax, 63; add rcx, rax; mov rdx, 1; shl rdx, 62; add rcx, rdx; add rcx, rdx; add rcx, 100; mov rax, [rdi + rcx*8]; ret; 1: xor eax, eax; ret",
    ),
];

/// The policy of the buffer corpus (gcc's leaf functions use the red zone).
fn policy() -> Policy {
    Policy {
        allow_loops: true,
        allow_red_zone: true,
        ..Policy::default()
    }
}

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

/// What a native call did.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Returned this value.
    Clean(u64),
    /// Faulted at this address, as a byte offset from the buffer's start.
    Fault(i128),
}

/// What the child reports: the buffer's address, then the call's result or
/// the fault address.
#[derive(Clone, Copy)]
#[repr(C)]
struct Shared {
    start: u64,
    result: u64,
    addr: u64,
}

static SHARED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_fault(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: runs in the child, where SHARED points at the mapped shared
    // page and `info` is the kernel's; `_exit` is async-signal-safe.
    unsafe {
        let shared = SHARED.load(Ordering::Relaxed) as *mut Shared;
        (*shared).addr = (*info).si_addr() as u64;
        libc::_exit(EXIT_FAULT)
    }
}

/// The buffer's byte length for a call: extent elements (none if the count
/// is negative) of its element size.
fn buffer_bytes(sig: &Signature, args: &[u64; 6]) -> usize {
    let Some(Param::Buffer(b)) = sig.param(0) else {
        panic!("{sig}: parameter 0 must be a buffer");
    };
    let count = match b.extent {
        Extent::Count(n) => n as i64,
        Extent::Param(k) => args[usize::from(k)] as i64,
    };
    usize::try_from(count.max(0)).expect("count") * b.elem.size() as usize
}

/// Runs `code` natively in a forked child: the buffer (parameter 0) ends
/// where `TAIL_GUARD` bytes of `PROT_NONE` begin and starts `HEAD_GUARD`
/// bytes after more, filled with a pattern, read-only unless `mut`.
fn run(code: &[u8], sig: &Signature, args: [u64; 6]) -> Outcome {
    let bytes = buffer_bytes(sig, &args);
    let mutable = matches!(sig.param(0), Some(Param::Buffer(b)) if b.mutable);
    // SAFETY: the child only maps memory, writes it and calls the code.
    let (status, s) =
        forked::fork_with_shared(|shared| unsafe { child(code, bytes, mutable, args, shared) });
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Outcome::Clean(s.result)
    } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == EXIT_FAULT {
        Outcome::Fault(i128::from(s.addr) - i128::from(s.start))
    } else {
        panic!("child ended with status {status:#x}");
    }
}

fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` ends the process without running any Rust code.
    unsafe { libc::_exit(code) }
}

/// Maps memory for the child, or ends it.
fn map(len: usize, prot: libc::c_int, flags: libc::c_int) -> *mut u8 {
    forked::map(len, prot, flags).unwrap_or_else(|| exit_now(EXIT_SETUP))
}

/// # Safety
/// Only in a freshly forked child, with `shared` mapped shared.
unsafe fn child(
    code: &[u8],
    bytes: usize,
    mutable: bool,
    args: [u64; 6],
    shared: *mut Shared,
) -> ! {
    SHARED.store(shared as usize, Ordering::Relaxed);
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    let data = bytes.div_ceil(PAGE) * PAGE;
    let alt_len = 1 << 16;
    let alt = map(alt_len, rw, libc::MAP_PRIVATE);
    let region = map(
        HEAD_GUARD + data + TAIL_GUARD,
        libc::PROT_NONE,
        libc::MAP_PRIVATE | libc::MAP_NORESERVE,
    );
    let text = map(PAGE, rw, libc::MAP_PRIVATE);
    if code.len() > PAGE {
        exit_now(EXIT_SETUP);
    }
    // SAFETY: system calls on memory this child mapped (each result
    // checked); the code is called with the SysV convention of its
    // signature, and a fault ends the child through `on_fault`.
    unsafe {
        let ss = libc::stack_t {
            ss_sp: alt.cast(),
            ss_flags: 0,
            ss_size: alt_len,
        };
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_fault as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        if libc::sigaltstack(&ss, std::ptr::null_mut()) != 0
            || libc::sigaction(libc::SIGSEGV, &sa, std::ptr::null_mut()) != 0
            || libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()) != 0
        {
            exit_now(EXIT_SETUP);
        }
        let pages = region.add(HEAD_GUARD);
        if data > 0 {
            if libc::mprotect(pages.cast(), data, rw) != 0 {
                exit_now(EXIT_SETUP);
            }
            for i in 0..data {
                *pages.add(i) = (i as u8).wrapping_mul(37);
            }
            let prot = if mutable { rw } else { libc::PROT_READ };
            if libc::mprotect(pages.cast(), data, prot) != 0 {
                exit_now(EXIT_SETUP);
            }
        }
        // The buffer ends exactly at the tail guard.
        let start = pages.add(data - bytes);
        std::ptr::copy_nonoverlapping(code.as_ptr(), text, code.len());
        if libc::mprotect(text.cast(), PAGE, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            exit_now(EXIT_SETUP);
        }
        (*shared).start = start as u64;
        let f: extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64 = std::mem::transmute(text);
        (*shared).result = f(start as u64, args[1], args[2], args[3], args[4], args[5]);
        exit_now(0)
    }
}

#[test]
fn holes_found_by_red_teaming_fault_when_run_and_are_rejected() {
    for (sig_text, code, asm, args, why) in HOLES {
        let sig: Signature = sig_text.parse().expect("signature");
        let code = hex(code);
        let bytes = buffer_bytes(&sig, &args) as i128;
        match run(&code, &sig, args) {
            Outcome::Fault(at) => {
                assert!(
                    at < 0 || at >= bytes,
                    "`{asm}` faulted inside its {bytes}-byte buffer (at byte {at})"
                );
                eprintln!(
                    "{sig_text}: faults {} bytes past the end; {why}",
                    at - bytes
                );
            }
            Outcome::Clean(r) => panic!("`{asm}` ran clean (returned {r:#x}); {why}"),
        }
        let got = validate(&code, &sig, &policy());
        assert!(got.is_err(), "accepted as {sig_text}: `{asm}`; {why}");
    }
}

#[test]
fn safe_twins_of_the_holes_are_accepted_and_run_clean() {
    for (sig_text, code, asm, args) in SAFE_TWINS {
        let sig: Signature = sig_text.parse().expect("signature");
        let code = hex(code);
        if let Err(v) = validate(&code, &sig, &policy()) {
            panic!("`{asm}` as {sig_text} rejected: {v}");
        }
        let got = run(&code, &sig, args);
        assert!(
            matches!(got, Outcome::Clean(_)),
            "`{asm}` with {args:?}: {got:?}"
        );
    }
}

#[test]
fn attacks_on_buffer_proofs_are_rejected() {
    let mut accepted = Vec::new();
    for (sig_text, code, asm) in REJECTED {
        let sig: Signature = sig_text.parse().expect("signature");
        if validate(&hex(code), &sig, &policy()).is_ok() {
            accepted.push(format!("{sig_text}: {asm}"));
        }
    }
    assert!(accepted.is_empty(), "accepted:\n{}", accepted.join("\n"));
    assert!(REJECTED.len() >= 70, "{} cases", REJECTED.len());
}
