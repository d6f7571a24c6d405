//! `cargo bench -p npk-asm --bench small`: microseconds per `npk_asm::assemble` of a
//! 10-line function (the text `npk-runtime`'s arena bench builds 20,000 functions from),
//! of a 10-line function with labels and branches, and of 10-line functions whose
//! immediates are new in every call (the per-thread memo of form choices does not help).
//!
//! Interleaved rounds, median and range reported (the machine is shared). For repeatable
//! instruction counts run it under callgrind with one round, e.g.
//! `NPK_BENCH_ROUNDS=1 NPK_BENCH_CALLS=20000 valgrind --tool=callgrind
//! --toggle-collect='npk_asm::assemble' target/release/deps/small-*`
//! (instructions per call = the `Ir` total over the call count; `NPK_BENCH_ONLY=straight`,
//! `loop` or `fresh` runs one of the three texts). `NPK_BENCH_ROUNDS=n` and
//! `NPK_BENCH_CALLS=n` change the round and per-round call counts.

use std::hint::black_box;
use std::time::Instant;

/// The arena bench's function (`crates/npk-runtime/benches/arena.rs`, `function_text`).
fn straight(k: usize) -> String {
    format!(
        "mov rax, rdi\nadd rax, rsi\nimul rax, rax\nmov rcx, rsi\nsub rax, rcx\nlea rax, [rax+rdi*2]\nshl rax, 1\nadd rax, {}\nxor rax, rsi\nret",
        k % 100
    )
}

/// Ten instructions, eight of them with immediates no other call uses: the cost
/// when the per-thread memo of form choices does not help.
fn fresh(k: usize) -> String {
    let n = 16 * k + 1000;
    format!(
        "mov rax, rdi\nadd rax, {n}\nimul rax, rax, {}\nmov rcx, {}\nsub rax, rcx\nlea rax, [rax+rdi*2+{}]\nshl rax, {}\nadd rax, {}\nxor rax, {}\ncmp rax, {}",
        n + 1,
        n + 2,
        n + 3,
        k % 63 + 1,
        n + 4,
        n + 5,
        n + 6
    )
}

/// Ten instructions with a frame, labels and branches (`npk-runtime`'s assemble bench).
const LOOP: &str = "push rbp\nmov rbp, rsp\nxor eax, eax\ntest rdi, rdi\njle done\n\
                    top: add rax, rdi\ndec rdi\njnz top\ndone: pop rbp\nret";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Microseconds per call of assembling each of `texts` once.
fn round(texts: &[String]) -> f64 {
    let t = Instant::now();
    let mut bytes = 0usize;
    for text in texts {
        let asm = npk_asm::assemble(black_box(text), &[]).expect("assembles");
        bytes += asm.code().len();
    }
    black_box(bytes);
    t.elapsed().as_secs_f64() * 1e6 / texts.len() as f64
}

fn summary(mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return "not run".to_string();
    }
    v.sort_by(f64::total_cmp);
    format!(
        "{:6.2} us (range {:.2}-{:.2})",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1]
    )
}

fn main() {
    let rounds = env("NPK_BENCH_ROUNDS", 5).max(1);
    let calls = env("NPK_BENCH_CALLS", 5000).max(1);
    let straight: Vec<String> = (0..calls).map(straight).collect();
    let looping: Vec<String> = (0..calls).map(|_| LOOP.to_string()).collect();
    // New immediates in every round.
    let fresh_rounds: Vec<Vec<String>> = (0..rounds)
        .map(|r| (0..calls).map(|k| fresh(r * calls + k)).collect())
        .collect();
    // The first call builds the tables; keep it out of the rounds.
    black_box(npk_asm::assemble(LOOP, &[]).expect("assembles"));
    // `NPK_BENCH_ONLY=straight` (or `loop`) runs one text, for callgrind.
    let only = std::env::var("NPK_BENCH_ONLY").unwrap_or_default();
    let (mut s, mut l, mut f) = (vec![], vec![], vec![]);
    for fresh in &fresh_rounds {
        if only.is_empty() || only == "straight" {
            s.push(round(&straight));
        }
        if only.is_empty() || only == "loop" {
            l.push(round(&looping));
        }
        if only.is_empty() || only == "fresh" {
            f.push(round(fresh));
        }
    }
    println!("npk_asm::assemble per 10-line function, median of {rounds} rounds of {calls} calls:");
    println!("  straight-line (arena bench text): {}", summary(s));
    println!("  with labels and branches:         {}", summary(l));
    println!("  new immediates in every function: {}", summary(f));
}
