//! Execution oracle on simple inputs: everything the validator accepts must behave when run.
//!
//! Random, piece-built and mutated byte strings (from `tests/corpus/accept.txt`)
//! go through `validate`; each accepted one runs in the oracle of
//! `common/oracle.rs` (forked child, seccomp strict, guard pages, random
//! registers, two calls differing only in undefined inputs). The structured
//! generator and the prefix mutations live in `soundness.rs`.
//! Any counter-example is a soundness bug: add it to `tests/corpus`.
//! The oracle's buffer layouts are tested here on hand-written code run
//! directly (not validated): each out-of-bounds access must be observed as
//! the violation it is, and in-bounds code must run clean.

#[path = "common/oracle.rs"]
mod oracle;

use std::time::{Duration, Instant};

use npk_jit::{Policy, Signature, validate};
use oracle::{Layout, Observed, Plan, Rng};

/// Runs accepted `code` once in the oracle (whole frame mapped, random inputs).
fn run(rng: &mut Rng, code: &[u8], sig: Signature, policy: &Policy) -> Observed {
    oracle::run(&Plan::new(rng, code, sig, policy))
}

/// Byte pieces for building plausible functions.
const PIECES: &[&[u8]] = &[
    &[0x48, 0x89, 0xf8],
    &[0x89, 0xf8],
    &[0x01, 0xf0],
    &[0x48, 0x01, 0xf8],
    &[0x31, 0xc0],
    &[0x29, 0xc0],
    &[0x48, 0x8d, 0x04, 0x37],
    &[0x8d, 0x04, 0x37],
    &[0x48, 0x0f, 0xaf, 0xc6],
    &[0x48, 0xf7, 0xe6],
    &[0x53],
    &[0x5b],
    &[0x55],
    &[0x5d],
    &[0x41, 0x54],
    &[0x41, 0x5c],
    &[0x57],
    &[0x58],
    &[0x56],
    &[0x5a],
    &[0x48, 0x83, 0xec, 0x08],
    &[0x48, 0x83, 0xc4, 0x08],
    &[0x48, 0x83, 0xec, 0x20],
    &[0x48, 0x83, 0xc4, 0x20],
    &[0x48, 0x89, 0xe5],
    &[0xc9],
    &[0x48, 0x89, 0xec],
    &[0x85, 0xff],
    &[0x48, 0x39, 0xf7],
    &[0x39, 0xf7],
    &[0x74, 0x02],
    &[0x75, 0x03],
    &[0x7c, 0x01],
    &[0x75, 0xf8],
    &[0xeb, 0x02],
    &[0xeb, 0xfa],
    &[0xe2, 0xfc],
    &[0x48, 0x8b, 0x04, 0x24],
    &[0x48, 0x89, 0x3c, 0x24],
    &[0x48, 0x8b, 0x44, 0x24, 0xf8],
    &[0x48, 0x89, 0x7c, 0x24, 0xf8],
    &[0x48, 0x89, 0x5c, 0x24, 0xf0],
    &[0x48, 0x8b, 0x5c, 0x24, 0xf0],
    &[0x8b, 0x44, 0x24, 0x04],
    &[0x89, 0x74, 0x24, 0x10],
    &[0x48, 0x8b, 0x45, 0xf8],
    &[0x48, 0x89, 0x7d, 0xf8],
    &[0x0f, 0x4c, 0xc7],
    &[0x48, 0x0f, 0x4c, 0xc7],
    &[0x0f, 0x9c, 0xc0],
    &[0x0f, 0xb6, 0xc0],
    &[0xd3, 0xe0],
    &[0x89, 0xf1],
    &[0x48, 0x99],
    &[0x99],
    &[0xf7, 0xfe],
    &[0x48, 0xf7, 0xf6],
    &[0x48, 0x87, 0xdf],
    &[0x48, 0x87, 0xf7],
    &[0x48, 0x89, 0xd8],
    &[0x48, 0x89, 0xc3],
    &[0x49, 0x89, 0xdc],
    &[0x4c, 0x89, 0xe3],
    &[0x90],
    &[0x66, 0x89, 0xf8],
    &[0x88, 0xf8],
    &[0x48, 0x19, 0xc0],
    &[0x48, 0xff, 0xce],
    &[0x48, 0xf7, 0xd8],
    &[0x48, 0xc1, 0xe0, 0x03],
    &[0x48, 0xd3, 0xf8],
    &[0x0f, 0xc8],
    &[0x48, 0x0f, 0xbd, 0xc7],
    &[0xc3],
    &[0x48, 0x8d, 0x44, 0x24, 0xf0],
    &[0x48, 0x8b, 0x00],
    &[0x48, 0x8d, 0x64, 0x24, 0xf8],
    &[0x48, 0x8d, 0x64, 0x24, 0x08],
    &[0x4d, 0x31, 0xd2],
    &[0x4c, 0x01, 0xd0],
    &[0x44, 0x01, 0xc0],
    &[0x48, 0x81, 0xec, 0x00, 0x01, 0x00, 0x00],
    &[0x48, 0x81, 0xc4, 0x00, 0x01, 0x00, 0x00],
];

fn below(rng: &mut Rng, n: usize) -> usize {
    rng.below(n as u64) as usize
}

fn piece_program(rng: &mut Rng) -> Vec<u8> {
    let mut code = Vec::new();
    for _ in 0..below(rng, 14) {
        code.extend_from_slice(PIECES[below(rng, PIECES.len())]);
    }
    code.push(0xc3);
    code
}

/// A function shaped like compiler output: save some callee-saved registers,
/// define rax, run random body pieces, restore, return.
fn shaped_program(rng: &mut Rng) -> Vec<u8> {
    const SAVES: &[(&[u8], &[u8])] = &[
        (&[0x53], &[0x5b]),
        (&[0x55], &[0x5d]),
        (&[0x41, 0x54], &[0x41, 0x5c]),
        (&[0x41, 0x55], &[0x41, 0x5d]),
        (&[0x41, 0x56], &[0x41, 0x5e]),
        (&[0x41, 0x57], &[0x41, 0x5f]),
    ];
    let saved: Vec<_> = (0..below(rng, 4))
        .map(|_| SAVES[below(rng, SAVES.len())])
        .collect();
    let mut code = Vec::new();
    for (push, _) in &saved {
        code.extend_from_slice(push);
    }
    code.extend_from_slice(if below(rng, 2) == 0 {
        &[0x48, 0x89, 0xf8]
    } else {
        &[0x31, 0xc0]
    });
    for _ in 0..below(rng, 10) {
        code.extend_from_slice(PIECES[below(rng, PIECES.len())]);
    }
    for (_, pop) in saved.iter().rev() {
        code.extend_from_slice(pop);
    }
    code.push(0xc3);
    code
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut code = seed.to_vec();
    for _ in 0..1 + below(rng, 3) {
        let n = code.len().max(1);
        match below(rng, 4) {
            0 if !code.is_empty() => code[below(rng, n)] ^= 1 << below(rng, 8),
            1 if !code.is_empty() => code[below(rng, n)] = rng.next() as u8,
            2 => code.insert(below(rng, n + 1).min(code.len()), rng.next() as u8),
            _ if code.len() > 1 => {
                code.remove(below(rng, n));
            }
            _ => {}
        }
    }
    code
}

fn corpus_seeds() -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/accept.txt");
    let text = std::fs::read_to_string(path).expect("accept corpus");
    text.lines()
        .filter_map(|l| l.split('#').next())
        .filter(|l| l.contains('|'))
        .map(|l| {
            let hex: String = l
                .split('|')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect()
        })
        .collect()
}

fn policies() -> Vec<(&'static str, Policy)> {
    let strict = Policy::default();
    let redzone = Policy::runtime();
    let loose = Policy {
        allow_loops: true,
        allow_division: true,
        ..redzone.clone()
    };
    vec![
        ("strict", strict),
        ("redzone", redzone),
        ("loops+division", loose),
    ]
}

#[test]
fn accepted_code_behaves_when_run() {
    let sigs: Vec<Signature> = [
        "int64(int64,int64)",
        "int32(int32,int32)",
        "int64(int64,int64,int64,int64)",
        "int64()",
        "uint32(uint32)",
    ]
    .iter()
    .map(|s| s.parse().expect("sig"))
    .collect();
    let seeds = corpus_seeds();
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let (mut tried, mut ran) = (0, 0);
    let mut vtime = Duration::ZERO;
    let mut failures = Vec::new();
    let budget = Instant::now();
    // Stop after enough accepted samples; the time cap only guards a very slow machine.
    while tried < 12_000 && ran < 600 && budget.elapsed() < Duration::from_secs(60) {
        tried += 1;
        let code = match below(&mut rng, 10) {
            0..=2 => piece_program(&mut rng),
            3..=5 => shaped_program(&mut rng),
            6..=8 => {
                let seed = &seeds[below(&mut rng, seeds.len())];
                mutate(&mut rng, seed)
            }
            _ => (0..below(&mut rng, 24)).map(|_| rng.next() as u8).collect(),
        };
        let sig = sigs[below(&mut rng, sigs.len())];
        for (name, policy) in policies() {
            let t0 = Instant::now();
            let verdict = validate(&code, &sig, &policy);
            vtime += t0.elapsed();
            if verdict.is_err() {
                continue;
            }
            ran += 1;
            let outcome = run(&mut rng, &code, sig, &policy);
            let fine = match &outcome {
                Observed::Returned | Observed::StackOverflow => true,
                Observed::DivideTrap => policy.allow_division,
                Observed::Timeout => policy.allow_loops,
                Observed::Violation(_) => false,
            };
            let why = oracle::static_violation(&code);
            if !fine || why.is_some() {
                let hex: Vec<String> = code.iter().map(|b| format!("{b:02x}")).collect();
                failures.push(format!(
                    "{} | {sig} | policy {name}: {outcome} {}",
                    hex.join(" "),
                    why.unwrap_or_default()
                ));
            }
            break; // the strictest accepting policy is enough per sample
        }
    }
    eprintln!("oracle: {tried} candidates, {ran} accepted and run; {vtime:?} validating");
    assert!(
        ran > 300,
        "too few accepted samples ({ran}) to mean anything"
    );
    assert!(
        failures.is_empty(),
        "soundness counter-examples:\n{}",
        failures.join("\n")
    );
}

/// Runs `code` (not validated) with every extent parameter set to `count`
/// elements (constant extents exact) and the buffers in `layout`.
fn observe_buffers(code: &[u8], sig: &str, count: i64, layout: Layout) -> Observed {
    let sig: Signature = sig.parse().expect("valid signature");
    let policy = Policy::default();
    let mut rng = Rng::new(0xb0ff);
    let mut plan = Plan::new(&mut rng, code, sig, &policy);
    plan.buffers = oracle::buffers_with(&mut rng, &sig, &[count; 6]).expect("fits the oracle");
    plan.layout = layout;
    oracle::run(&plan)
}

/// Whether `o` is a violation whose text contains `needle`.
fn names(o: &Observed, needle: &str) -> bool {
    matches!(o, Observed::Violation(why) if why.contains(needle))
}

const SUM: &str = "int64(int64* xs[n], int64 n)";

/// xor eax,eax; xor ecx,ecx; test rsi,rsi; jle done; top: add rax,[rdi+rcx*8];
/// inc rcx; cmp rcx,rsi; jl top; done: ret
const SUM_LOOP: [u8; 22] = [
    0x31, 0xc0, 0x31, 0xc9, 0x48, 0x85, 0xf6, 0x7e, 0x0c, 0x48, 0x03, 0x04, 0xcf, 0x48, 0xff, 0xc1,
    0x48, 0x39, 0xf1, 0x7c, 0xf4, 0xc3,
];

#[test]
fn in_bounds_buffer_loop_runs_clean_for_every_count_in_both_layouts() {
    let sig: Signature = SUM.parse().expect("sig");
    let mut rng = Rng::new(1);
    let rounds = oracle::COUNTS.len();
    let seen = oracle::sweep(&mut rng, &SUM_LOOP, sig, &Policy::default(), rounds);
    assert_eq!(seen.violation, None);
    assert_eq!(seen.runs as usize, 2 * rounds);
    assert_eq!(seen.timeouts, 0);
    // The last element, through the extent register: rdi and rsi are set.
    // mov rax, [rdi+rsi*8-8]; ret
    let last = [0x48, 0x8b, 0x44, 0xf7, 0xf8, 0xc3];
    for count in [1, 2, 3, 7, 100] {
        for layout in Layout::BOTH {
            assert_eq!(
                observe_buffers(&last, SUM, count, layout),
                Observed::Returned,
                "count {count}, {layout:?}"
            );
        }
    }
}

#[test]
fn loop_to_n_inclusive_reads_past_the_end_of_the_buffer() {
    let mut off_by_one = SUM_LOOP;
    off_by_one[19] = 0x7e; // jl -> jle
    let sig: Signature = SUM.parse().expect("sig");
    let rounds = oracle::COUNTS.len();
    let seen = oracle::sweep(
        &mut Rng::new(2),
        &off_by_one,
        sig,
        &Policy::default(),
        rounds,
    );
    let why = seen.violation.expect("the off-by-one loop is seen");
    assert!(why.contains("read past the end of buffer 0"), "{why}");
    for count in [1, 3, 16] {
        let o = observe_buffers(&off_by_one, SUM, count, Layout::EndsAtGuard);
        assert!(names(&o, "read past the end of buffer 0"), "{o}");
    }
}

#[test]
fn reading_one_past_the_end_faults_or_reads_garbage_by_layout() {
    // mov rax, [rdi+rsi*8]; ret
    let code = [0x48, 0x8b, 0x04, 0xf7, 0xc3];
    let o = observe_buffers(&code, SUM, 3, Layout::EndsAtGuard);
    assert!(names(&o, "read past the end of buffer 0"), "{o}");
    assert!(names(&o, "address end+0x0"), "{o}");
    // Right after a guard the byte past the end is slack, which differs
    // between the two calls.
    let o = observe_buffers(&code, SUM, 3, Layout::StartsAfterGuard);
    assert!(names(&o, "depends on undefined inputs"), "{o}");
}

#[test]
fn reading_one_before_the_start_is_a_named_violation() {
    // mov rax, [rdi-8]; ret
    let code = [0x48, 0x8b, 0x47, 0xf8, 0xc3];
    let o = observe_buffers(&code, SUM, 3, Layout::StartsAfterGuard);
    assert!(names(&o, "read before the start of buffer 0"), "{o}");
    assert!(names(&o, "address start-0x8"), "{o}");
    let o = observe_buffers(&code, SUM, 3, Layout::EndsAtGuard);
    assert!(names(&o, "depends on undefined inputs"), "{o}");
}

#[test]
fn storing_into_a_read_only_buffer_is_a_named_violation() {
    // mov [rdi], rsi; xor eax, eax; ret
    let code = [0x48, 0x89, 0x37, 0x31, 0xc0, 0xc3];
    for layout in Layout::BOTH {
        let o = observe_buffers(&code, SUM, 3, layout);
        assert!(names(&o, "store into read-only buffer 0"), "{o}");
        let m = observe_buffers(&code, "int64(mut int64* xs[n], int64 n)", 3, layout);
        assert_eq!(m, Observed::Returned, "{layout:?}");
    }
}

#[test]
fn any_access_to_an_empty_buffer_faults() {
    // mov rax, [rdi]; ret
    let code = [0x48, 0x8b, 0x07, 0xc3];
    for count in [0, -1, -8, i64::MIN] {
        for layout in Layout::BOTH {
            let o = observe_buffers(&code, SUM, count, layout);
            assert!(names(&o, "read past the end of buffer 0"), "{count}: {o}");
            assert!(names(&o, "no bytes"), "{o}");
        }
    }
    // mov [rdi], rsi; xor eax, eax; ret into an empty mut buffer
    let store = [0x48, 0x89, 0x37, 0x31, 0xc0, 0xc3];
    let o = observe_buffers(
        &store,
        "int64(mut int64* xs[n], int64 n)",
        0,
        Layout::EndsAtGuard,
    );
    assert!(names(&o, "store past the end of buffer 0"), "{o}");
}

#[test]
fn storing_past_the_end_of_a_mut_buffer_is_named_in_both_layouts() {
    // mov [rdi+rsi*8], rsi; xor eax, eax; ret
    let code = [0x48, 0x89, 0x34, 0xf7, 0x31, 0xc0, 0xc3];
    let sig = "int64(mut int64* xs[n], int64 n)";
    let o = observe_buffers(&code, sig, 2, Layout::EndsAtGuard);
    assert!(names(&o, "store past the end of buffer 0"), "{o}");
    let o = observe_buffers(&code, sig, 2, Layout::StartsAfterGuard);
    assert!(names(&o, "wrote past the end of buffer 0"), "{o}");
}

#[test]
fn a_hang_is_inconclusive_unless_it_wrote_out_of_bounds_first_or_cannot_exit() {
    let sig = "int64(mut int64* xs[n], int64 n)";
    // mov [rdi+rsi*8], rsi; mov rax, rsi; mov rcx, -1; top: dec rcx; jnz top; ret
    let code = [
        0x48, 0x89, 0x34, 0xf7, 0x48, 0x89, 0xf0, 0x48, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff, 0x48,
        0xff, 0xc9, 0x75, 0xfb, 0xc3,
    ];
    let o = observe_buffers(&code, sig, 2, Layout::StartsAfterGuard);
    assert!(
        names(
            &o,
            "ran out of CPU time after it wrote past the end of buffer 0"
        ),
        "{o}"
    );
    // The same in bounds (mov [rdi+rsi*8-8], rsi): a loop that could
    // exit, only too long; inconclusive.
    let code = [
        0x48, 0x89, 0x74, 0xf7, 0xf8, 0x48, 0x89, 0xf0, 0x48, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff,
        0x48, 0xff, 0xc9, 0x75, 0xfb, 0xc3,
    ];
    assert_eq!(
        observe_buffers(&code, sig, 2, Layout::StartsAfterGuard),
        Observed::Timeout
    );
    // mov [rdi+rsi*8-8], rsi; jmp $: in bounds, then stuck where no ret
    // can be reached
    let code = [0x48, 0x89, 0x74, 0xf7, 0xf8, 0xeb, 0xfe];
    let o = observe_buffers(&code, sig, 2, Layout::StartsAfterGuard);
    assert!(
        names(&o, "hung at code+0x5, from which no path reaches a ret"),
        "{o}"
    );
}

#[test]
fn constant_extents_are_laid_out_exactly() {
    let sig = "int64(int64* xs[4])";
    // mov rax, [rdi+24]; ret
    let last = [0x48, 0x8b, 0x47, 0x18, 0xc3];
    // mov rax, [rdi+32]; ret
    let past = [0x48, 0x8b, 0x47, 0x20, 0xc3];
    for count in [0, 100] {
        assert_eq!(
            observe_buffers(&last, sig, count, Layout::EndsAtGuard),
            Observed::Returned
        );
        let o = observe_buffers(&past, sig, count, Layout::EndsAtGuard);
        assert!(
            names(&o, "read past the end of buffer 0 (int64[4], 32 bytes"),
            "{o}"
        );
    }
}

#[test]
fn entry_values_stored_into_a_mut_buffer_are_laundering() {
    // mov [rdi], rbx; xor eax, eax; ret
    let code = [0x48, 0x89, 0x1f, 0x31, 0xc0, 0xc3];
    let o = observe_buffers(
        &code,
        "int64(mut int64* xs[n], int64 n)",
        1,
        Layout::EndsAtGuard,
    );
    assert!(
        names(&o, "entry value of rbx laundered into buffer 0"),
        "{o}"
    );
}

#[test]
fn byte_indexed_table_lookups_reach_the_last_entry() {
    // xor eax,eax; xor ecx,ecx; test rsi,rsi; jle done; top: movzx r8d, byte [rdi+rcx];
    // add rax, [rdx+r8*8]; inc rcx; cmp rcx,rsi; jl top; done: ret
    let code = [
        0x31, 0xc0, 0x31, 0xc9, 0x48, 0x85, 0xf6, 0x7e, 0x11, 0x44, 0x0f, 0xb6, 0x04, 0x0f, 0x4a,
        0x03, 0x04, 0xc2, 0x48, 0xff, 0xc1, 0x48, 0x39, 0xf1, 0x7c, 0xef, 0xc3,
    ];
    let full: Signature = "int64(uint8* s[n], int64 n, int64* t[256])"
        .parse()
        .expect("sig");
    let short: Signature = "int64(uint8* s[n], int64 n, int64* t[255])"
        .parse()
        .expect("sig");
    let rounds = oracle::COUNTS.len();
    let p = Policy::default();
    let seen = oracle::sweep(&mut Rng::new(3), &code, full, &p, rounds);
    assert_eq!(seen.violation, None);
    let seen = oracle::sweep(&mut Rng::new(3), &code, short, &p, rounds);
    let why = seen
        .violation
        .expect("a byte 0xff indexes past a 255-entry table");
    assert!(why.contains("read past the end of buffer 1"), "{why}");
}

#[test]
fn a_nil_function_may_leave_anything_in_rax() {
    // mov [rdi], rsi; mov rax, rbx; ret: rax is no result under NIL
    let code = [0x48, 0x89, 0x37, 0x48, 0x89, 0xd8, 0xc3];
    let sig = "NIL(mut int64* out[8], int64 x)";
    assert_eq!(
        observe_buffers(&code, sig, 0, Layout::EndsAtGuard),
        Observed::Returned
    );
    // ... but what it stores is still checked: mov [rdi], rbx; ret
    let code = [0x48, 0x89, 0x1f, 0xc3];
    let o = observe_buffers(&code, sig, 0, Layout::EndsAtGuard);
    assert!(
        names(&o, "entry value of rbx laundered into buffer 0"),
        "{o}"
    );
}
