//! Execution oracle on simple inputs: everything the validator accepts must behave when run.
//!
//! Random, piece-built and mutated byte strings (from `tests/corpus/accept.txt`)
//! go through `validate`; each accepted one runs in the oracle of
//! `common/oracle.rs` (forked child, seccomp strict, guard pages, random
//! registers, two calls differing only in undefined inputs). The structured
//! generator and the prefix mutations live in `soundness.rs`.
//! Any counter-example is a soundness bug: add it to `tests/corpus`.

#[path = "common/oracle.rs"]
mod oracle;

use std::time::{Duration, Instant};

use npk_jit::{Policy, Signature, validate};
use oracle::{Observed, Plan, Rng};

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
