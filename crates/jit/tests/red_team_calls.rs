//! Red-team cases for helper imports and division proofs (pass 2, branch
//! `red2`; pass 1 over the buffer proofs is `tests/red_team.rs`): code
//! written to make the validator accept a call through a wrong slot, with
//! a misaligned `rsp` or a buffer argument out of bounds for the callee's
//! extent, or a `div`/`idiv` that traps.
//!
//! - [`HELPER_HOLES`]: helper calls whose buffer byte size wrapped, and
//!   [`ALLOWED_CALL_HOLES`]: `call rel32` to an allow-listed function whose
//!   buffer parameters went unchecked; run behind fake helpers
//!   ([`run_with_helpers`]) they fault, and are rejected.
//!   [`ACCEPTED_HELPER_CALLS`] run clean there with `rsp` aligned at every
//!   helper entry; [`MISBEHAVING_HELPER_CALLS`] show the runner sees
//!   misalignment and faults; [`REJECTED_HELPER_CALLS`] stay rejected.
//! - [`PROVEN_DIVISIONS`] never trap on any pair of [`EDGES`];
//!   [`TRAPPING_DIVISIONS`] trap with `SIGFPE` and stay rejected.

use std::sync::atomic::{AtomicUsize, Ordering};

use npk_jit::{Extent, Param, Policy, Signature, validate};

#[path = "common/forked.rs"]
mod forked;

#[path = "common/corpus_format.rs"]
mod corpus_format;

const PAGE: usize = 4096;
/// Bytes of `PROT_NONE` before each buffer (one page follows it).
const HEAD_GUARD: usize = 16 * PAGE;
const EXIT_SETUP: i32 = 78;

/// The buffer corpus's policy (gcc's leaf functions use the red zone).
fn policy() -> Policy {
    corpus_format::parse_policy("loops,redzone")
}

fn hex(text: &str) -> Vec<u8> {
    corpus_format::parse_hex(text)
}

fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` ends the process without running any Rust code.
    unsafe { libc::_exit(code) }
}

/// Maps memory for the child, or ends it.
fn map(len: usize, prot: libc::c_int, flags: libc::c_int) -> *mut u8 {
    forked::map(len, prot, flags).unwrap_or_else(|| exit_now(EXIT_SETUP))
}

/// Divisions the validator proves cannot trap (no `allow_division`), as
/// `int64(int64 a, int64 b)`: `(hex, assembly)`. Each runs natively on every
/// pair of [`EDGES`] without `SIGFPE`.
const PROVEN_DIVISIONS: &[(&str, &str)] = &[
    (
        "48 89 f8 48 99 b9 03 00 00 00 48 f7 f9 c3",
        "mov rax, rdi; cqo; mov ecx, 3; idiv rcx; ret",
    ),
    (
        "48 89 f8 48 99 b9 01 00 00 00 48 f7 f9 c3",
        "mov rax, rdi; cqo; mov ecx, 1; idiv rcx; ret",
    ),
    (
        "48 89 f8 31 d2 48 89 f1 48 83 c9 01 48 f7 f1 c3",
        "mov rax, rdi; xor edx, edx; mov rcx, rsi; or rcx, 1; div rcx; ret",
    ),
    (
        "48 89 f8 31 d2 48 89 f1 48 83 c9 01 f7 f1 c3",
        "mov rax, rdi; xor edx, edx; mov rcx, rsi; or rcx, 1; div ecx; ret",
    ),
    (
        "48 89 f8 31 d2 48 89 f1 48 f7 c1 fe ff ff ff 74 03 48 f7 f1 c3",
        "mov rax, rdi; xor edx, edx; mov rcx, rsi; test rcx, -2; je 1f; div rcx; 1: ret",
    ),
    (
        "48 89 f8 b9 05 00 00 00 31 d2 48 85 f6 48 0f 45 ce 48 f7 f1 c3",
        "mov rax, rdi; mov ecx, 5; xor edx, edx; test rsi, rsi; cmovne rcx, rsi; div rcx; ret",
    ),
    (
        "48 89 f8 b9 05 00 00 00 31 d2 48 83 fe 03 48 0f 47 ce 48 f7 f1 c3",
        "mov rax, rdi; mov ecx, 5; xor edx, edx; cmp rsi, 3; cmova rcx, rsi; div rcx; ret",
    ),
    (
        "48 89 f8 b9 05 00 00 00 31 d2 48 83 fe 03 48 0f 4f ce 48 f7 f1 c3",
        "mov rax, rdi; mov ecx, 5; xor edx, edx; cmp rsi, 3; cmovg rcx, rsi; div rcx; ret",
    ),
    (
        "48 89 f8 48 89 f1 48 83 f9 ff 7d 05 48 99 48 f7 f9 c3",
        "mov rax, rdi; mov rcx, rsi; cmp rcx, -1; jge 1f; cqo; idiv rcx; 1: ret",
    ),
    (
        "48 89 f8 48 89 f1 48 85 c9 7e 05 48 99 48 f7 f9 c3",
        "mov rax, rdi; mov rcx, rsi; test rcx, rcx; jle 1f; cqo; idiv rcx; 1: ret",
    ),
    (
        "89 f8 d1 e8 b9 ff ff ff ff 99 f7 f9 c3",
        "mov eax, edi; shr eax, 1; mov ecx, -1; cdq; idiv ecx; ret",
    ),
    (
        "48 89 f8 48 d1 f8 48 c7 c1 ff ff ff ff 48 99 48 f7 f9 c3",
        "mov rax, rdi; sar rax, 1; mov rcx, -1; cqo; idiv rcx; ret",
    ),
    (
        "48 89 f8 48 83 c8 01 48 c7 c1 ff ff ff ff 48 99 48 f7 f9 c3",
        "mov rax, rdi; or rax, 1; mov rcx, -1; cqo; idiv rcx; ret",
    ),
    (
        "48 89 f8 b9 ff ff ff ff 48 99 48 f7 f9 c3",
        "mov rax, rdi; mov ecx, 0xffffffff; cqo; idiv rcx; ret",
    ),
    (
        "48 89 f8 b9 0a 00 00 00 31 d2 48 f7 f1 48 89 f8 48 f7 f1 c3",
        "mov rax, rdi; mov ecx, 10; xor edx, edx; div rcx; mov rax, rdi; div rcx; ret",
    ),
    (
        "48 89 f8 b9 0a 00 00 00 31 d2 48 f7 f1 48 89 f8 b9 0a 00 00 00 f7 f1 c3",
        "mov rax, rdi; mov ecx, 10; xor edx, edx; div rcx; mov rax, rdi; mov ecx, 10; div ecx; ret",
    ),
];

/// Their rejected neighbours, as `int64(int64 a, int64 b)`: a stale `cqo`
/// (`rax` rewritten after it by `not`, `cdqe`, `bswap`), `cdq` before a
/// 64-bit `idiv`, `-1` divisors, a 64-bit test or compare proving only the
/// 64-bit register nonzero before a 32-bit `div`, `cmov`s that can pick
/// zero, `rdx` not below the divisor. Each traps natively on some pair of
/// [`EDGES`] (so the runner sees traps) and must stay rejected.
const TRAPPING_DIVISIONS: &[(&str, &str)] = &[
    (
        "48 89 f8 48 99 b9 01 00 00 00 48 f7 d0 48 f7 f9 c3",
        "mov rax, rdi; cqo; mov ecx, 1; not rax; idiv rcx; ret",
    ),
    (
        "48 89 f8 48 99 48 98 b9 01 00 00 00 48 f7 f9 c3",
        "mov rax, rdi; cqo; cdqe; mov ecx, 1; idiv rcx; ret",
    ),
    (
        "48 89 f8 48 99 b9 01 00 00 00 48 0f c8 48 f7 f9 c3",
        "mov rax, rdi; cqo; mov ecx, 1; bswap rax; idiv rcx; ret",
    ),
    (
        "48 89 f8 99 b9 03 00 00 00 48 f7 f9 c3",
        "mov rax, rdi; cdq; mov ecx, 3; idiv rcx; ret",
    ),
    (
        "89 f8 b9 ff ff ff ff 99 f7 f9 c3",
        "mov eax, edi; mov ecx, -1; cdq; idiv ecx; ret",
    ),
    (
        "48 89 f8 48 c7 c1 ff ff ff ff 48 99 48 f7 f9 c3",
        "mov rax, rdi; mov rcx, -1; cqo; idiv rcx; ret",
    ),
    (
        "48 89 f8 31 d2 48 b9 00 00 00 00 01 00 00 00 f7 f1 c3",
        "mov rax, rdi; xor edx, edx; movabs rcx, 0x100000000; div ecx; ret",
    ),
    (
        "48 89 f8 31 d2 48 89 f1 48 85 c9 74 02 f7 f1 c3",
        "mov rax, rdi; xor edx, edx; mov rcx, rsi; test rcx, rcx; je 1f; div ecx; 1: ret",
    ),
    (
        "48 89 f8 31 d2 48 89 f1 48 83 f9 01 72 02 f7 f1 c3",
        "mov rax, rdi; xor edx, edx; mov rcx, rsi; cmp rcx, 1; jb 1f; div ecx; 1: ret",
    ),
    (
        "48 89 f8 b9 05 00 00 00 31 d2 48 85 f6 48 0f 44 ce 48 f7 f1 c3",
        "mov rax, rdi; mov ecx, 5; xor edx, edx; test rsi, rsi; cmove rcx, rsi; div rcx; ret",
    ),
    (
        "48 89 f8 b9 05 00 00 00 31 d2 48 83 fe 03 48 0f 42 ce 48 f7 f1 c3",
        "mov rax, rdi; mov ecx, 5; xor edx, edx; cmp rsi, 3; cmovb rcx, rsi; div rcx; ret",
    ),
    (
        "48 89 f8 48 89 f1 48 83 c9 01 48 89 ca 48 f7 f1 c3",
        "mov rax, rdi; mov rcx, rsi; or rcx, 1; mov rdx, rcx; div rcx; ret",
    ),
    (
        "48 89 f8 b9 0a 00 00 00 31 d2 48 f7 f1 48 89 f8 b9 03 00 00 00 48 f7 f1 c3",
        "mov rax, rdi; mov ecx, 10; xor edx, edx; div rcx; mov rax, rdi; mov ecx, 3; div rcx; ret",
    ),
    (
        "48 89 f8 31 d2 48 f7 f6 c3",
        "mov rax, rdi; xor edx, edx; div rsi; ret",
    ),
    (
        "48 89 f8 48 89 f2 b9 07 00 00 00 48 f7 f1 c3",
        "mov rax, rdi; mov rdx, rsi; mov ecx, 7; div rcx; ret",
    ),
];

/// Arguments for the division runs: zero, small values, 32-bit and 64-bit
/// limits and their neighbours.
const EDGES: [u64; 16] = [
    0,
    1,
    2,
    3,
    9,
    10,
    128,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 32,
    i64::MAX as u64,
    i64::MIN as u64,
    u64::MAX,
    -2i64 as u64,
    -(1i64 << 31) as u64,
];

/// What the division child reports: the index of the pair it is calling.
#[derive(Clone, Copy)]
#[repr(C)]
struct Pairs {
    at: u64,
}

/// Runs `code` as `int64(int64, int64)` on every pair of [`EDGES`] in a
/// forked child; `Err((a, b, signal))` for the first pair that ended it
/// by a signal.
fn run_pairs(code: &[u8]) -> Result<(), (u64, u64, i32)> {
    // SAFETY: the child only maps memory and calls the code.
    let (status, s) = forked::fork_with_shared(|shared: *mut Pairs| unsafe {
        let text = map(PAGE, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE);
        std::ptr::copy_nonoverlapping(code.as_ptr(), text, code.len());
        if libc::mprotect(text.cast(), PAGE, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            exit_now(EXIT_SETUP);
        }
        let f: extern "C" fn(u64, u64) -> u64 = std::mem::transmute(text);
        for (k, (a, b)) in EDGES
            .iter()
            .flat_map(|&a| EDGES.iter().map(move |&b| (a, b)))
            .enumerate()
        {
            (*shared).at = k as u64;
            std::hint::black_box(f(a, b));
        }
    });
    if libc::WIFSIGNALED(status) {
        let k = s.at as usize;
        return Err((
            EDGES[k / EDGES.len()],
            EDGES[k % EDGES.len()],
            libc::WTERMSIG(status),
        ));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child ended with status {status:#x}"
    );
    Ok(())
}

#[test]
fn proven_divisions_are_accepted_and_never_trap_natively() {
    let sig: Signature = "int64(int64 a, int64 b)".parse().expect("signature");
    for (code, asm) in PROVEN_DIVISIONS {
        let code = hex(code);
        if let Err(v) = validate(&code, &sig, &Policy::default()) {
            panic!("`{asm}` rejected: {v}");
        }
        if let Err((a, b, sig)) = run_pairs(&code) {
            panic!("`{asm}` ended by signal {sig} on ({a:#x}, {b:#x})");
        }
    }
}

#[test]
fn unproven_divisions_trap_natively_and_are_rejected() {
    let sig: Signature = "int64(int64 a, int64 b)".parse().expect("signature");
    for (code, asm) in TRAPPING_DIVISIONS {
        let code = hex(code);
        match run_pairs(&code) {
            Err((_, _, sig)) => assert_eq!(sig, libc::SIGFPE, "`{asm}`"),
            Ok(()) => panic!("`{asm}` never trapped"),
        }
        assert!(
            validate(&code, &sig, &Policy::default()).is_err(),
            "accepted: `{asm}`"
        );
    }
}

/// `(signature, hex, assembly)`: helper calls that must be rejected with
/// the runtime's helpers (`print_i64`, `copy_bytes`): a misaligned `rsp`,
/// `fs:` and mid-slot or past-the-table slots, jumps and calls through the
/// slot by other routes, caller-saved registers, the red zone and flags
/// read after the call, a callee-saved entry value passed out, and
/// `copy_bytes` buffers or counts not proven for the helper's extent (a
/// 32-bit test of the count, a pointer one past the start, a count
/// narrowed to 32 bits, the second call after the first clobbered the
/// arguments, a count forced to 1, the stack as a buffer, a truncated
/// pointer, a doubled count, a count masked but not bounded, a pointer
/// moved back past its start).
const REJECTED_HELPER_CALLS: &[(&str, &str, &str)] = &[
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 10 ff 15 0e 00 00 00 31 c0 48 83 c4 10 c3",
        "sub rsp, 16; call qword ptr [rip+slot0]; xor eax, eax; add rsp, 16; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 64 ff 15 0d 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; call qword ptr fs:[rip+slot0]; xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 ff 15 12 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; call qword ptr [rip+slot0+4]; xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 ff 15 07 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; call qword ptr [rip+end]; xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 ff 25 06 00 00 00",
        "sub rsp, 8; jmp qword ptr [rip+slot0]",
    ),
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 48 8d 05 0d 00 00 00 ff 10 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; lea rax, [rip+slot0]; call qword ptr [rax]; xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 48 8b 05 0d 00 00 00 ff d0 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; mov rax, [rip+slot0]; call rax; xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 ff 15 0e 00 00 00 48 89 f8 48 83 c4 08 c3",
        "sub rsp, 8; call qword ptr [rip+slot0]; mov rax, rdi; add rsp, 8; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 ff 15 06 00 00 00 48 83 c4 08 c3",
        "sub rsp, 8; call qword ptr [rip+slot0]; add rsp, 8; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 48 89 7c 24 f8 ff 15 11 00 00 00 48 8b 44 24 f8 48 83 c4 08 c3",
        "sub rsp, 8; mov [rsp-8], rdi; call qword ptr [rip+slot0]; mov rax, [rsp-8]; add rsp, 8; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "53 48 89 df ff 15 06 00 00 00 5b 31 c0 c3",
        "push rbx; mov rdi, rbx; call qword ptr [rip+slot0]; pop rbx; xor eax, eax; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 48 83 ff 05 ff 15 0a 00 00 00 48 0f 42 c7 48 83 c4 08 c3",
        "sub rsp, 8; cmp rdi, 5; call qword ptr [rip+slot0]; cmovb rax, rdi; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 85 d2 7e 06 ff 15 0a 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test edx, edx; jle 1f; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 85 d2 7e 0a 48 8d 76 01 ff 15 0d 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test rdx, rdx; jle 1f; lea rsi, [rsi+1]; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 83 fa 01 7c 0c 48 8d 76 01 ff ca ff 15 0a 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; cmp rdx, 1; jl 1f; lea rsi, [rsi+1]; dec edx; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 85 d2 7e 0c ff 15 11 00 00 00 ff 15 0b 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test rdx, rdx; jle 1f; call qword ptr [rip+slot0]; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 b8 01 00 00 00 48 83 fa 00 48 0f 4e d0 ff 15 09 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; mov eax, 1; cmp rdx, 0; cmovle rdx, rax; call qword ptr [rip+slot0]; xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 85 d2 7e 0d 48 89 fe 48 8d 3c 24 ff 15 0a 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test rdx, rdx; jle 1f; mov rsi, rdi; lea rdi, [rsp]; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 85 d2 7e 08 89 ff ff 15 07 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test rdx, rdx; jle 1f; mov edi, edi; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 85 d2 7e 09 48 d1 e2 ff 15 0e 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test rdx, rdx; jle 1f; shl rdx, 1; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 85 d2 7e 13 48 89 d1 48 81 e2 ff 00 00 00 48 39 ca ff 15 0c 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test rdx, rdx; jle 1f; mov rcx, rdx; and rdx, 0xff; cmp rdx, rcx; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 85 d2 7e 13 48 01 d7 48 f7 da 48 01 d7 48 83 c7 01 ff 15 0c 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test rdx, rdx; jle 1f; add rdi, rdx; neg rdx; add rdi, rdx; add rdi, 1; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
];

#[test]
fn attacks_on_helper_calls_are_rejected() {
    let policy = Policy {
        helpers: npk_jit::runtime_helpers(),
        ..policy()
    };
    let mut accepted = Vec::new();
    for (sig_text, code, asm) in REJECTED_HELPER_CALLS {
        let sig: Signature = sig_text.parse().expect("signature");
        if validate(&hex(code), &sig, &policy).is_ok() {
            accepted.push(format!("{sig_text}: {asm}"));
        }
    }
    assert!(accepted.is_empty(), "accepted:\n{}", accepted.join("\n"));
}

/// `(signature, hex, assembly)`: helper calls accepted with the runtime's
/// helpers. Each runs natively on every count of [`COUNTS`] with fake
/// helpers behind the import table (`copy_bytes` really copies) and its
/// buffers between `PROT_NONE` pages: no fault, and `rsp` 16-byte aligned
/// at every helper's entry.
const ACCEPTED_HELPER_CALLS: &[(&str, &str, &str)] = &[
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 08 ff 15 0e 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; call qword ptr [rip+slot0]; xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(int64 x) uses print_i64",
        "53 48 89 fb ff 15 06 00 00 00 48 89 d8 5b c3",
        "push rbx; mov rbx, rdi; call qword ptr [rip+slot0]; mov rax, rbx; pop rbx; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 85 d2 7e 06 ff 15 09 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test rdx, rdx; jle 1f; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 83 fa 01 7e 0d 48 8d 76 01 48 ff ca ff 15 09 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; cmp rdx, 1; jle 1f; lea rsi, [rsi+1]; dec rdx; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 83 fa 01 7e 13 48 8d 7c 17 ff 48 8d 36 ba 01 00 00 00 ff 15 0b 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; cmp rdx, 1; jle 1f; lea rdi, [rdi+rdx-1]; lea rsi, [rsi]; mov edx, 1; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses print_i64, copy_bytes",
        "53 48 89 d3 48 85 d2 7e 0f ff 15 19 00 00 00 48 89 df ff 15 08 00 00 00 31 c0 5b c3",
        "push rbx; mov rbx, rdx; test rdx, rdx; jle 1f; call qword ptr [rip+slot1]; mov rdi, rbx; call qword ptr [rip+slot0]; 1: xor eax, eax; pop rbx; ret",
    ),
    (
        "int64(int64* xs[n], int64 n) uses print_i64",
        "53 55 41 54 48 89 fb 48 89 f5 45 31 e4 49 39 ec 7d 0f 4a 8b 3c e3 ff 15 0c 00 00 00 49 ff c4 eb ec 41 5c 5d 5b 31 c0 c3",
        "push rbx; push rbp; push r12; mov rbx, rdi; mov rbp, rsi; xor r12d, r12d; 1: cmp r12, rbp; jge 2f; mov rdi, [rbx+r12*8]; call qword ptr [rip+slot0]; inc r12; jmp 1b; 2: pop r12; pop rbp; pop rbx; xor eax, eax; ret",
    ),
    (
        "int64(int64* xs[n], int64 n) uses gc_collect",
        "53 48 89 f3 48 85 db 7e 0b ff 15 09 00 00 00 48 ff cb eb f0 5b 31 c0 c3",
        "push rbx; mov rbx, rsi; 1: test rbx, rbx; jle 2f; call qword ptr [rip+slot0]; dec rbx; jmp 1b; 2: pop rbx; xor eax, eax; ret",
    ),
    (
        "int64(mut uint8* b[16]) uses fill64",
        "48 83 ec 08 be 02 00 00 00 ff 15 09 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; mov esi, 2; call qword ptr [rip+slot0]; xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* b[16]) uses fill32",
        "48 83 ec 08 be 04 00 00 00 ff 15 09 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; mov esi, 4; call qword ptr [rip+slot0]; xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut int64* b[n], int64 n) uses fill64",
        "48 83 ec 08 48 85 f6 7e 06 ff 15 09 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test rsi, rsi; jle 1f; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
];

/// `(signature, hex, assembly)`: rejected helper calls that misbehave in
/// the same runner (a misaligned `rsp`; `copy_bytes` reading one byte past
/// `in`; a count forced to 1 for an empty buffer), so it can tell.
const MISBEHAVING_HELPER_CALLS: &[(&str, &str, &str)] = &[
    (
        "int64(int64 x) uses print_i64",
        "48 83 ec 10 ff 15 0e 00 00 00 31 c0 48 83 c4 10 c3",
        "sub rsp, 16; call qword ptr [rip+slot0]; xor eax, eax; add rsp, 16; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 48 85 d2 7e 0a 48 8d 76 01 ff 15 0d 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; test rdx, rdx; jle 1f; lea rsi, [rsi+1]; call qword ptr [rip+slot0]; 1: xor eax, eax; add rsp, 8; ret",
    ),
    (
        "int64(mut uint8* out[n], uint8* in[n], int64 n) uses copy_bytes",
        "48 83 ec 08 b8 01 00 00 00 48 83 fa 00 48 0f 4e d0 ff 15 09 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; mov eax, 1; cmp rdx, 0; cmovle rdx, rax; call qword ptr [rip+slot0]; xor eax, eax; add rsp, 8; ret",
    ),
];

/// Values of every scalar argument in the helper runs (the extent `n`).
const COUNTS: [i64; 6] = [i64::MIN, -1, 0, 1, 7, 4096];

/// What the fake helpers report from the child.
#[derive(Clone, Copy)]
#[repr(C)]
struct HelperLog {
    /// Nonzero if `rsp` was not 16-byte aligned at some helper's entry.
    misaligned: u64,
    /// Helper calls made.
    calls: u64,
}

static LOG: AtomicUsize = AtomicUsize::new(0);

fn count_call() {
    // SAFETY: runs in the child, where LOG points at the mapped shared page.
    unsafe { (*(LOG.load(Ordering::Relaxed) as *mut HelperLog)).calls += 1 }
}

extern "C" fn fake_print_i64(_v: i64) {
    count_call();
}

extern "C" fn fake_copy_bytes(dst: *mut u8, src: *const u8, n: i64) {
    count_call();
    if let Ok(n) = usize::try_from(n) {
        // SAFETY: none: the copy faults if the validator let a buffer
        // argument out of bounds, which is what the run checks.
        unsafe { std::ptr::copy(src, dst, n) };
    }
}

extern "C" fn fake_gc_collect() -> i64 {
    count_call();
    0
}

/// Helpers a Rust embedder might add: they write `m` elements.
const TEST_HELPERS: [(&str, &str); 2] = [
    ("fill64", "NIL(mut int64* d[m], int64 m)"),
    ("fill32", "NIL(mut int32* d[m], int64 m)"),
];

extern "C" fn fake_fill64(d: *mut i64, m: i64) {
    count_call();
    for i in 0..m.max(0) {
        // SAFETY: none: faults past the buffer, which is what a run checks.
        // Volatile, so an optimised build keeps one write per element
        // instead of a `memset` whose byte count wraps.
        unsafe { d.add(i as usize).write_volatile(0) };
    }
}

extern "C" fn fake_fill32(d: *mut i32, m: i64) {
    count_call();
    for i in 0..m.max(0) {
        // SAFETY: as in `fake_fill64`.
        unsafe { d.add(i as usize).write_volatile(0) };
    }
}

/// The runtime's helpers and [`TEST_HELPERS`], in the buffer corpus policy.
fn helper_policy() -> Policy {
    let mut helpers = npk_jit::runtime_helpers();
    helpers.extend(TEST_HELPERS.iter().map(|(name, sig)| npk_jit::Helper {
        name: (*name).to_string(),
        signature: sig.parse().expect("helper signature"),
    }));
    Policy {
        helpers,
        ..policy()
    }
}

/// Machine code that ORs `(rsp & 15) ^ 8` (nonzero unless the caller's
/// `rsp` was 16-byte aligned) into `*misaligned`, then jumps to `target`
/// with every argument register intact (`rax` and `r11` are scratch).
fn entry_stub(misaligned: u64, target: u64) -> [u8; 35] {
    let mut s = [0u8; 35];
    s[..11].copy_from_slice(&[
        0x48, 0x89, 0xe0, // mov rax, rsp
        0x83, 0xe0, 0x0f, // and eax, 15
        0x83, 0xf0, 0x08, // xor eax, 8
        0x49, 0xbb, // movabs r11, misaligned
    ]);
    s[11..19].copy_from_slice(&misaligned.to_le_bytes());
    s[19..24].copy_from_slice(&[0x49, 0x09, 0x03, 0x49, 0xbb]); // or [r11], rax; movabs r11, target
    s[24..32].copy_from_slice(&target.to_le_bytes());
    s[32..].copy_from_slice(&[0x41, 0xff, 0xe3]); // jmp r11
    s
}

/// Maps `bytes` readable (and writable if `mutable`) bytes that end where
/// `PROT_NONE` begins and start after more of it.
fn guarded(bytes: usize, mutable: bool) -> *mut u8 {
    let data = bytes.div_ceil(PAGE) * PAGE;
    let region = map(
        HEAD_GUARD + data + PAGE,
        libc::PROT_NONE,
        libc::MAP_PRIVATE | libc::MAP_NORESERVE,
    );
    // SAFETY: inside the region just mapped.
    let pages = unsafe { region.add(HEAD_GUARD) };
    let prot = if mutable {
        libc::PROT_READ | libc::PROT_WRITE
    } else {
        libc::PROT_READ
    };
    // SAFETY: changes the protection of pages this child mapped.
    if data > 0 && unsafe { libc::mprotect(pages.cast(), data, prot) } != 0 {
        exit_now(EXIT_SETUP);
    }
    // SAFETY: `data - bytes` is inside the pages.
    unsafe { pages.add(data - bytes) }
}

/// Runs `code` (with its import table) natively for argument `count`:
/// the wait status and the log.
fn run_with_helpers(code: &[u8], sig: &Signature, count: i64) -> (libc::c_int, HelperLog) {
    // Everything that allocates or takes a lock (the signature's import
    // names are interned behind a mutex) happens before the fork: other test
    // threads may hold those locks when it happens, and the child would
    // wait for them forever.
    let targets: Vec<u64> = sig
        .uses()
        .iter()
        .map(|name| match name.as_str() {
            "print_i64" => fake_print_i64 as *const () as u64,
            "copy_bytes" => fake_copy_bytes as *const () as u64,
            "gc_collect" => fake_gc_collect as *const () as u64,
            "fill64" => fake_fill64 as *const () as u64,
            "fill32" => fake_fill32 as *const () as u64,
            other => panic!("no fake helper for `{other}`"),
        })
        .collect();
    // SAFETY: the child only maps memory, writes it and calls the code.
    forked::fork_with_shared(|log: *mut HelperLog| unsafe {
        LOG.store(log as usize, Ordering::Relaxed);
        let text = map(PAGE, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE);
        std::ptr::copy_nonoverlapping(code.as_ptr(), text, code.len());
        let table = npk_jit::import_table_offset(code.len());
        for (k, &target) in targets.iter().enumerate() {
            let stub = entry_stub(&raw mut (*log).misaligned as u64, target);
            let at = PAGE / 2 + 64 * k;
            std::ptr::copy_nonoverlapping(stub.as_ptr(), text.add(at), stub.len());
            text.add(table + 8 * k)
                .cast::<u64>()
                .write_unaligned(text.add(at) as u64);
        }
        // The allow-listed callee of `call rel32` tests.
        let stub = entry_stub(
            &raw mut (*log).misaligned as u64,
            fake_fill64 as *const () as u64,
        );
        std::ptr::copy_nonoverlapping(stub.as_ptr(), text.add(CALLEE_AT), stub.len());
        if libc::mprotect(text.cast(), PAGE, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            exit_now(EXIT_SETUP);
        }
        let mut args = [0u64; 6];
        for (i, arg) in args.iter_mut().enumerate() {
            *arg = match sig.param(i) {
                Some(Param::Buffer(b)) => {
                    let n = match b.extent {
                        Extent::Count(c) => c as i64,
                        Extent::Param(_) => count,
                    };
                    let bytes = usize::try_from(n.max(0)).expect("count") * b.elem.size() as usize;
                    guarded(bytes, b.mutable) as u64
                }
                _ => count as u64,
            };
        }
        let f: extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64 = std::mem::transmute(text);
        std::hint::black_box(f(args[0], args[1], args[2], args[3], args[4], args[5]));
    })
}

#[test]
fn accepted_helper_calls_run_natively_with_aligned_rsp_and_in_bounds_buffers() {
    let policy = helper_policy();
    for (sig_text, code, asm) in ACCEPTED_HELPER_CALLS {
        let sig: Signature = sig_text.parse().expect("signature");
        let code = hex(code);
        if let Err(v) = validate(&code, &sig, &policy) {
            panic!("`{asm}` as {sig_text} rejected: {v}");
        }
        let mut calls = 0;
        for count in COUNTS {
            let (status, log) = run_with_helpers(&code, &sig, count);
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "`{asm}` with {count}: status {status:#x}"
            );
            assert_eq!(log.misaligned, 0, "`{asm}` with {count}: misaligned rsp");
            calls += log.calls;
        }
        assert!(calls > 0, "`{asm}` never called its helper");
    }
}

#[test]
fn misbehaving_helper_calls_are_caught_by_the_runner_and_rejected() {
    let policy = helper_policy();
    for (sig_text, code, asm) in MISBEHAVING_HELPER_CALLS {
        let sig: Signature = sig_text.parse().expect("signature");
        let code = hex(code);
        let caught = COUNTS.iter().any(|&count| {
            let (status, log) = run_with_helpers(&code, &sig, count);
            libc::WIFSIGNALED(status) || log.misaligned != 0
        });
        assert!(caught, "`{asm}` ran clean on every count");
        assert!(
            validate(&code, &sig, &policy).is_err(),
            "accepted as {sig_text}: `{asm}`"
        );
    }
}

/// `(signature, hex, assembly, why it is out of bounds)`: helper calls the
/// validator accepted before the fix on branch `red2` (the same lines are in
/// `corpus/imports.txt`): a helper buffer's byte size `m << log2(size)` was
/// computed in 64 bits, so an element count of `2^61` int64s wrapped to 0
/// bytes and passed as in bounds (only helpers with elements wider than a
/// byte; the runtime's `copy_bytes` counts bytes). Each faults natively
/// writing past its 16-byte buffer, then must be rejected.
const HELPER_HOLES: &[(&str, &str, &str, &str)] = &[
    (
        "int64(mut uint8* b[16]) uses fill64",
        "48 83 ec 08 be 01 00 00 00 48 c1 e6 3d ff 15 0d 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; mov esi, 1; shl rsi, 61; call qword ptr [rip+slot0]; xor eax, eax; add rsp, 8; ret",
        "m << 3 of m = 2^61 wrapped to 0 bytes: fill64 writes 2^61 int64s into 16 bytes",
    ),
    (
        "int64(mut uint8* b[16]) uses fill32",
        "48 83 ec 08 be 01 00 00 00 48 c1 e6 3e ff 15 0d 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; mov esi, 1; shl rsi, 62; call qword ptr [rip+slot0]; xor eax, eax; add rsp, 8; ret",
        "m << 2 of m = 2^62 wrapped to 0 bytes: fill32 writes 2^62 int32s into 16 bytes",
    ),
    (
        "int64(mut uint8* b[16]) uses fill64",
        "48 83 ec 08 be 01 00 00 00 48 c1 e6 3d 48 ff c6 ff 15 0a 00 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; mov esi, 1; shl rsi, 61; inc rsi; call qword ptr [rip+slot0]; xor eax, eax; add rsp, 8; ret",
        "m << 3 of m = 2^61 + 1 wrapped to 8 bytes, inside the buffer",
    ),
];

#[test]
fn helper_holes_fault_when_run_and_are_rejected() {
    let policy = helper_policy();
    for (sig_text, code, asm, why) in HELPER_HOLES {
        let sig: Signature = sig_text.parse().expect("signature");
        let code = hex(code);
        let (status, _) = run_with_helpers(&code, &sig, 0);
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV,
            "`{asm}` did not fault (status {status:#x}); {why}"
        );
        assert!(
            validate(&code, &sig, &policy).is_err(),
            "accepted as {sig_text}: `{asm}`; {why}"
        );
    }
}

/// Offset in the runner's code page of an allow-listed callee (a `fill64`
/// behind an entry stub) for `call rel32` tests.
const CALLEE_AT: usize = 0xa00;

/// `(signature, hex, assembly, why)`: `call rel32` to an allow-listed
/// function whose signature has a buffer parameter, accepted before the
/// fix on branch `red2` (only scalar definedness was checked there; import
/// calls proved buffers). The callee is `fill64(mut int64* d[m], int64 m)`
/// at [`CALLEE_AT`].
const ALLOWED_CALL_HOLES: &[(&str, &str, &str, &str)] = &[
    (
        "int64(mut int64* b[2])",
        "48 83 ec 08 be 64 00 00 00 e8 f2 09 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; mov esi, 100; call fill64; xor eax, eax; add rsp, 8; ret",
        "fill64 writes 100 int64s into a 2-element buffer",
    ),
    (
        "int64(int64* b[2])",
        "48 83 ec 08 be 02 00 00 00 e8 f2 09 00 00 31 c0 48 83 c4 08 c3",
        "sub rsp, 8; mov esi, 2; call fill64; xor eax, eax; add rsp, 8; ret",
        "fill64 writes into a read-only buffer",
    ),
];

/// The allow-listed `fill64` as a policy (code validated at address 0).
fn allowed_call_policy() -> Policy {
    Policy {
        allowed_calls: vec![npk_jit::AllowedCall {
            address: CALLEE_AT as u64,
            signature: TEST_HELPERS[0].1.parse().expect("signature"),
        }],
        ..policy()
    }
}

#[test]
fn allowed_call_holes_fault_when_run_and_are_rejected() {
    for (sig_text, code, asm, why) in ALLOWED_CALL_HOLES {
        let sig: Signature = sig_text.parse().expect("signature");
        let code = hex(code);
        let (status, _) = run_with_helpers(&code, &sig, 0);
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV,
            "`{asm}` did not fault (status {status:#x}); {why}"
        );
        assert!(
            validate(&code, &sig, &allowed_call_policy()).is_err(),
            "accepted as {sig_text}: `{asm}`; {why}"
        );
    }
}

#[test]
fn allowed_call_with_a_proven_buffer_is_accepted_and_runs_clean() {
    let sig: Signature = "int64(mut int64* b[2])".parse().expect("signature");
    let code = hex("48 83 ec 08 be 02 00 00 00 e8 f2 09 00 00 31 c0 48 83 c4 08 c3");
    if let Err(v) = validate(&code, &sig, &allowed_call_policy()) {
        panic!("rejected: {v}");
    }
    let (status, log) = run_with_helpers(&code, &sig, 0);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}"
    );
    assert_eq!((log.misaligned, log.calls), (0, 1));
}
