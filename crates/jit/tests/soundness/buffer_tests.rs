//! The buffer half's tests (issue 11): the timed harness over buffer
//! kernels, its self-test without the validator (safe kernels run clean,
//! every flaw is seen faulting), lifting, the single-instruction proptest,
//! the buffer corpus sweep and hand-written attacks on the buffer proofs.
//! Everything they use lives in the parent test crate (`soundness.rs`).

use std::time::{Duration, Instant};

use npk_jit::{Policy, Signature, validate};

use crate::oracle::{CODE_BASE, Rng};
use crate::{
    DEFAULT_BUFFER_SECS, DEFAULT_SEED, asm, buffers, corpus_format, env_u64, hex, kernels, lift,
    oracle,
};

#[test]
fn accepted_buffer_functions_behave_when_run() {
    let seed = env_u64("NPK_SOUNDNESS_SEED").unwrap_or(DEFAULT_SEED);
    let secs = env_u64("NPK_SOUNDNESS_SECS").unwrap_or(DEFAULT_BUFFER_SECS);
    let only = env_u64("NPK_SOUNDNESS_CASE");
    eprintln!("soundness (buffers): seed {seed:#x}, {secs} s");
    let mut stats = buffers::BufferStats::default();
    let mut failures: Vec<String> = Vec::new();
    let start = Instant::now();
    let mut n = only.unwrap_or(0);
    while start.elapsed() < Duration::from_secs(secs) {
        let mut rng = Rng::new(seed ^ n.wrapping_mul(0x9fb2_1c65_1e98_df25));
        let before = failures.len();
        buffers::case(&mut rng, &mut stats, &mut failures);
        for f in &mut failures[before..] {
            f.push_str(&format!(" [buffer case {n}]"));
        }
        if only.is_some() {
            break;
        }
        n += 1;
    }
    eprintln!("soundness (buffers): {stats:?} in {:.1?}", start.elapsed());
    for (shape, (made, accepted)) in kernels::SHAPES.iter().zip(stats.per_shape) {
        eprintln!("  {shape}: {accepted} of {made} accepted");
    }
    if let Some(path) = std::env::var_os("NPK_SOUNDNESS_OUT") {
        let mut path = std::path::PathBuf::from(path);
        path.as_mut_os_string().push(".buffers");
        let text: String = failures.iter().map(|f| format!("{f}\n")).collect();
        std::fs::write(path, text).expect("write NPK_SOUNDNESS_OUT.buffers");
    }
    assert!(
        only.is_some() || stats.runs > 200,
        "too few accepted buffer functions ran ({} runs) to mean anything",
        stats.runs
    );
    if !failures.is_empty() {
        failures.sort_by_key(String::len);
        let shown: Vec<&String> = failures.iter().take(40).collect();
        panic!(
            "{} buffer soundness counter-examples (seed {seed:#x}; shortest {} shown, as corpus lines):\n{}",
            failures.len(),
            shown.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// The harness tested without the validator: every shape's safe kernels run
/// clean in the oracle's full sweep, and every flaw a shape takes is seen
/// as a violation (so an accepted flawed kernel cannot go unnoticed).
/// `NPK_SOUNDNESS_DRAWS` kernels per shape and flaw (default 4).
#[test]
fn buffer_kernels_run_clean_and_their_flaws_are_seen_faulting() {
    let policy = Policy::runtime();
    let rounds = oracle::COUNTS.len();
    let mut quiet = Vec::new();
    let mut noisy = Vec::new();
    let mut flawed = 0;
    for shape in 0..kernels::SHAPES.len() {
        for draw in 0..env_u64("NPK_SOUNDNESS_DRAWS").unwrap_or(4) {
            let mut rng = Rng::new(0x6b65_726e ^ (shape as u64) << 8 ^ draw);
            let k = kernels::kernel(&mut rng, shape, None).expect("every shape has a safe form");
            let code = asm::assemble(&k.items, CODE_BASE);
            let seen = oracle::sweep(&mut rng, &code, k.sig, &policy, rounds);
            let why = oracle::static_violation(&code).or(seen.violation);
            if let Some(why) = why {
                noisy.push(buffers::corpus_line(
                    &code,
                    k.sig,
                    &policy,
                    &format!("{}: {why}", buffers::origin(&k)),
                ));
            }
            for flaw in kernels::FLAWS {
                let Some(k) = kernels::kernel(&mut rng, shape, Some(flaw)) else {
                    continue;
                };
                flawed += 1;
                let code = asm::assemble(&k.items, CODE_BASE);
                if oracle::sweep(&mut rng, &code, k.sig, &policy, 2 * rounds)
                    .violation
                    .is_none()
                {
                    quiet.push(buffers::corpus_line(
                        &code,
                        k.sig,
                        &policy,
                        &buffers::origin(&k),
                    ));
                }
            }
        }
    }
    assert!(flawed > 100, "only {flawed} flawed kernels");
    assert!(
        noisy.is_empty(),
        "safe kernels that misbehave:\n{}",
        noisy.join("\n")
    );
    assert!(
        quiet.is_empty(),
        "flawed kernels the oracle never saw fault:\n{}",
        quiet.join("\n")
    );
}

/// Code lifted from bytes reassembles to the same bytes, so corpus code can
/// be mutated with its branches re-resolved.
#[test]
fn lifted_code_reassembles_to_the_same_bytes() {
    let mut branches = 0;
    for shape in 0..kernels::SHAPES.len() {
        let mut rng = Rng::new(shape as u64);
        let k = kernels::random(&mut rng);
        let code = asm::assemble(&k.items, CODE_BASE);
        let items = lift::lift(&code, CODE_BASE);
        branches += items
            .iter()
            .filter(|i| matches!(i, asm::Item::Jump { .. }))
            .count();
        assert_eq!(asm::assemble(&items, CODE_BASE), code, "{}", hex(&code));
    }
    // jmp rel32 (to the first ret), je rel32 (back to 0), loop (back to the je), ret, ret
    let long = corpus_format::parse_hex("e9 08 00 00 00 0f 84 f5 ff ff ff e2 f8 c3 c3");
    assert_eq!(
        asm::assemble(&lift::lift(&long, CODE_BASE), CODE_BASE),
        long
    );
    assert!(branches > 5);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        // NPK_SOUNDNESS_PROPTEST_CASES for longer runs.
        cases: env_u64("NPK_SOUNDNESS_PROPTEST_CASES").map_or(8, |n| n as u32),
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// The proptest: a buffer function with any single instruction
    /// deleted or duplicated is either rejected or runs clean in the oracle.
    #[test]
    fn deleting_or_duplicating_any_instruction_never_admits_a_fault(
        shape in 0..kernels::SHAPES.len(),
        seed in proptest::prelude::any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let k = kernels::kernel(&mut rng, shape, None).expect("every shape has a safe form");
        let mut stats = buffers::BufferStats::default();
        let policy = rng.pick(&buffers::policies()).clone();
        let failures = buffers::single_instruction_mutants(
            &mut rng, &k.items, k.sig, &policy, &buffers::origin(&k), 3, &mut stats,
        );
        proptest::prop_assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

/// The lines of `tests/corpus/buffers.txt` (gcc) and `buffers-hand.txt`
/// (when they exist): every line the validator accepts, safe or not, runs clean
/// in the oracle, and so does every accepted variant of a `safe` line with
/// one instruction deleted or duplicated (lifted, branches re-resolved), and
/// four with a comparison swapped or a compared register clobbered.
/// All lines first, then the variants of the `safe` lines in a seeded
/// random order for `NPK_SOUNDNESS_CORPUS_SECS` seconds (default 4; the
/// whole corpus takes about a minute).
#[test]
fn corpus_buffer_functions_and_their_single_instruction_mutants_never_fault() {
    let corpus = buffers::buffer_corpus();
    let secs = env_u64("NPK_SOUNDNESS_CORPUS_SECS").unwrap_or(4);
    let mut stats = buffers::BufferStats::default();
    let mut failures = Vec::new();
    let mut rng = Rng::new(env_u64("NPK_SOUNDNESS_SEED").unwrap_or(DEFAULT_SEED));
    let start = Instant::now();
    let name = |safe: bool| {
        if safe {
            "buffer corpus line (safe)"
        } else {
            "buffer corpus line (unsafe)"
        }
    };
    for (code, sig, policy, safe) in &corpus {
        if let Err(line) = buffers::check(&mut rng, code, *sig, policy, name(*safe), 4, &mut stats)
        {
            failures.push(line);
        }
    }
    let mut order: Vec<&buffers::CorpusLine> = corpus.iter().filter(|l| l.3).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut mutated = 0;
    for (code, sig, policy, safe) in order {
        if start.elapsed() > Duration::from_secs(secs) {
            break;
        }
        mutated += 1;
        let items = lift::lift(code, CODE_BASE);
        failures.extend(buffers::single_instruction_mutants(
            &mut rng,
            &items,
            *sig,
            policy,
            name(*safe),
            3,
            &mut stats,
        ));
        for _ in 0..4 {
            let (variant, how) = if rng.chance(2) {
                (
                    buffers::swap_condition(&mut rng, &items),
                    "comparison swapped",
                )
            } else {
                (
                    buffers::clobber_compared(&mut rng, &items),
                    "compared register clobbered",
                )
            };
            let code = asm::assemble(&variant, CODE_BASE);
            let origin = format!("{} with a {how}", name(*safe));
            if let Err(line) = buffers::check(&mut rng, &code, *sig, policy, &origin, 3, &mut stats)
            {
                failures.push(line);
            }
        }
    }
    eprintln!(
        "buffers.txt: {} lines, single-instruction variants of {mutated}; {stats:?} in {:.1?}",
        corpus.len(),
        start.elapsed()
    );
    assert!(
        failures.is_empty(),
        "counter-examples:\n{}",
        failures.join("\n")
    );
}

/// Hand-written code aimed at the buffer proofs: a compared register
/// changed between the `cmp` and the `jcc`, a truncated 32-bit compare of a
/// signed count, an index scaled past the element, a bound copy changed in
/// its stack slot, a pointer truncated to 32 bits, `n - 1` wrapping for an
/// empty buffer, `cmov` to index 0 of a maybe empty buffer, partial writes
/// (`mov dh`, `btc`, `bswap`, `shld`) and exchanges (`xadd`, `cmpxchg`)
/// of a checked index, a checked index replaced in its stack slot, 32-bit
/// `cmp`/`test` of a 64-bit index (a 32-bit `cmov` zero-extends: safe). The attacks must be
/// seen misbehaving by the oracle (so each is a real one) and rejected or,
/// if accepted, run clean (then the validator is wrong and the line is a
/// counter-example); the tricky safe ones must run clean when accepted.
const TARGETED: &[(&str, &str, bool, &str)] = &[
    (
        "48 39 f2 ba 88 13 00 00 73 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; mov edx, 5000; jae oob; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 48 8d 52 01 73 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; lea rdx, [rdx+1]; jae oob; mov rax, [rdi+rdx*8]; ret; ...",
    ),
    (
        "48 39 f2 48 87 ca 73 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i, int64 j)",
        true,
        "cmp rdx, rsi; xchg rdx, rcx; jae oob; mov rax, [rdi+rdx*8]; ret; ... (accepted at 2e55e69)",
    ),
    (
        "81 e2 ff 00 00 00 81 e1 ff 0f 00 00 48 39 f2 48 87 ca 73 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i, int64 j)",
        true,
        "and edx, 255; and ecx, 4095; cmp rdx, rsi; xchg rdx, rcx; jae oob; mov rax, [rdi+rdx*8]; ...",
    ),
    (
        "81 e2 ff 00 00 00 81 e1 ff 0f 00 00 48 39 f2 48 89 ca 73 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i, int64 j)",
        true,
        "and edx, 255; and ecx, 4095; cmp rdx, rsi; mov rdx, rcx; jae oob; mov rax, [rdi+rdx*8]; ...",
    ),
    (
        "81 e2 ff 00 00 00 48 39 f2 48 8d 52 01 73 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "and edx, 255; cmp rdx, rsi; lea rdx, [rdx+1]; jae oob; mov rax, [rdi+rdx*8]; ...",
    ),
    (
        "48 39 f2 b2 ff 73 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; mov dl, 0xff; jae oob; mov rax, [rdi+rdx*8]; ret; ...",
    ),
    (
        "89 d0 39 f0 73 05 48 8b 04 c7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], int64 n, int64 i)",
        true,
        "mov eax, edx; cmp eax, esi; jae oob; mov rax, [rdi+rax*8]; ret (n = -1 passes)",
    ),
    (
        "48 39 f2 73 09 48 c1 e2 04 48 8b 04 17 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; jae oob; shl rdx, 4; mov rax, [rdi+rdx]; ret; ...",
    ),
    (
        "48 89 54 24 f8 48 39 f2 73 10 48 83 44 24 f8 01 48 8b 54 24 f8 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "mov [rsp-8], rdx; cmp rdx, rsi; jae oob; add qword [rsp-8], 1; mov rdx, [rsp-8]; mov rax, [rdi+rdx*8]; ...",
    ),
    (
        "48 85 f6 7e 07 83 c7 08 48 8b 07 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], int64 n)",
        true,
        "test rsi, rsi; jle out; add edi, 8; mov rax, [rdi]; ret; ...",
    ),
    (
        "31 c0 48 39 f2 48 0f 43 d0 48 8b 04 d7 c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "xor eax, eax; cmp rdx, rsi; cmovae rdx, rax; mov rax, [rdi+rdx*8]; ret",
    ),
    (
        "89 f6 48 39 f2 73 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], int64 n, int64 i)",
        true,
        "mov esi, esi; cmp rdx, rsi; jae oob; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 83 ee 01 48 39 f2 77 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "sub rsi, 1; cmp rdx, rsi; ja oob; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 85 f6 74 0e 48 8d 4e ff 48 39 ca 77 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], int64 n, int64 i)",
        true,
        "test rsi, rsi; je oob; lea rcx, [rsi-1]; cmp rdx, rcx; ja oob; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 73 07 b6 7f 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; jae oob; mov dh, 0x7f; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 73 0c 48 89 d0 48 0f b1 ca 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i, int64 j)",
        true,
        "cmp rdx, rsi; jae oob; mov rax, rdx; cmpxchg rdx, rcx; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 73 09 48 0f c1 ca 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i, int64 j)",
        true,
        "cmp rdx, rsi; jae oob; xadd rdx, rcx; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 73 08 48 0f ca 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; jae oob; bswap rdx; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 73 0b 52 48 89 0c 24 5a 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i, int64 j)",
        true,
        "cmp rdx, rsi; jae oob; push rdx; mov [rsp], rcx; pop rdx; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 73 14 48 89 54 24 f8 c6 44 24 f9 40 48 8b 54 24 f8 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; jae oob; mov [rsp-8], rdx; mov byte ptr [rsp-7], 0x40; mov rdx, [rsp-8]; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 83 fe 08 73 05 48 8b 04 f7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[7], int64 i)",
        true,
        "cmp rsi, 8; jae oob; mov rax, [rdi+rsi*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 73 09 48 6b d2 10 48 8b 04 17 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; jae oob; imul rdx, rdx, 16; mov rax, [rdi+rdx]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 73 09 48 8d 04 d7 48 8b 40 08 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; jae oob; lea rax, [rdi+rdx*8]; mov rax, [rax+8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 73 0a 48 0f ba fa 14 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; jae oob; btc rdx, 20; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "48 39 f2 73 0a 48 0f a4 f2 03 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp rdx, rsi; jae oob; shld rdx, rsi, 3; mov rax, [rdi+rdx*8]; ret; oob: mov rax, -1; ret",
    ),
    (
        "31 c0 83 fe 08 0f 43 f0 48 8b 04 f7 c3",
        "int64(int64* xs[8], int64 i)",
        false,
        "xor eax, eax; cmp esi, 8; cmovae esi, eax; mov rax, [rdi+rsi*8]; ret",
    ),
    (
        "31 c0 83 fe 08 48 0f 43 f0 48 8b 04 f7 c3",
        "int64(int64* xs[8], int64 i)",
        true,
        "xor eax, eax; cmp esi, 8; cmovae rsi, rax; mov rax, [rdi+rsi*8]; ret",
    ),
    (
        "f7 c6 f8 ff ff ff 75 05 48 8b 04 f7 c3 31 c0 c3",
        "int64(int64* xs[8], int64 i)",
        true,
        "test esi, -8; jne out; mov rax, [rdi+rsi*8]; ret; out: xor eax, eax; ret",
    ),
    (
        "48 f7 c6 f8 ff ff ff 75 05 48 8b 04 f7 c3 31 c0 c3",
        "int64(int64* xs[8], int64 i)",
        false,
        "test rsi, -8; jne out; mov rax, [rdi+rsi*8]; ret; out: xor eax, eax; ret",
    ),
    (
        "39 f2 73 05 48 8b 04 d7 c3 31 c0 c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        true,
        "cmp edx, esi; jae out; mov rax, [rdi+rdx*8]; ret; out: xor eax, eax; ret",
    ),
    (
        "48 39 f2 48 ff c1 72 08 48 c7 c0 ff ff ff ff c3 48 8b 04 d7 c3",
        "int64(int64* xs[n], uint64 n, int64 i)",
        false,
        "cmp rdx, rsi; inc rcx (CF kept); jb ok; mov rax, -1; ret; ok: mov rax, [rdi+rdx*8]; ret",
    ),
    (
        "48 39 d6 48 0f 46 d1 76 05 48 8b 04 d7 c3 48 c7 c0 ff ff ff ff c3",
        "int64(int64* xs[n], uint64 n, int64 i, int64 j)",
        false,
        "cmp rsi, rdx; cmovbe rdx, rcx; jbe oob; mov rax, [rdi+rdx*8]; ret; ...",
    ),
];

#[test]
fn targeted_buffer_attacks_are_rejected_or_harmless() {
    let policy = Policy::runtime();
    let mut stats = buffers::BufferStats::default();
    let mut rng = Rng::new(0x7a59);
    let rounds = 3 * oracle::COUNTS.len();
    let mut problems = Vec::new();
    for &(hex_text, sig, attack, asm_text) in TARGETED {
        let code = corpus_format::parse_hex(hex_text);
        let sig: Signature = sig.parse().expect("valid signature");
        let seen = oracle::sweep(&mut rng, &code, sig, &policy, rounds);
        if attack && seen.violation.is_none() {
            problems.push(format!("not an attack (runs clean): {asm_text}"));
        }
        let accepted = validate(&code, &sig, &policy).is_ok();
        eprintln!(
            "{}: {asm_text}",
            if accepted { "accepted" } else { "rejected" }
        );
        if let Err(line) =
            buffers::check(&mut rng, &code, sig, &policy, asm_text, rounds, &mut stats)
        {
            problems.push(line);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The compare-clobber mutation puts a flag-keeping write of a compared
/// register right before a conditional jump.
#[test]
fn compare_clobber_mutants_write_a_compared_register_before_the_jump() {
    let mut rng = Rng::new(9);
    let k = kernels::kernel(&mut rng, 6, None).expect("bounds-check idiom");
    for _ in 0..20 {
        let m = buffers::clobber_compared(&mut rng, &k.items);
        assert_eq!(m.len(), k.items.len() + 1);
        let at = (0..m.len())
            .find(|&i| m.get(i) != k.items.get(i))
            .expect("an inserted item");
        assert!(matches!(m[at + 1], asm::Item::Jump { cond: Some(_), .. }));
        let code = asm::assemble(&m, CODE_BASE);
        let listing = iced_x86::Decoder::with_ip(64, &code, 0, iced_x86::DecoderOptions::NONE)
            .into_iter()
            .map(|i| format!("{:?}", i.mnemonic()))
            .collect::<Vec<_>>();
        assert!(listing.iter().any(|m| m == "Cmp"), "{listing:?}");
    }
}
