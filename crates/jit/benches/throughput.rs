//! Validation throughput vs raw iced-x86 decoding, on compiler-generated code.
//!
//! Corpora, built at run time: (1) integer leaf functions generated as C and
//! compiled here with `cc -O2 -c` (most pass validation, so the abstract
//! interpreter runs fully); (2) the `.text` of the system C library, split at
//! its symbols (mostly rejected early, as real-world code calls things).
//! Prints MB/s for both and the ratio (issue 11's floor: validation ≥ 0.24×
//! decode, what the register-only validator reached; issue 5 aimed at 0.5×),
//! and the generated corpus's ratio by function shape. Both sides are
//! measured alternately, three times, and the best of each is kept; the
//! spread of the three ratios is printed beside it.
//! For context it also prints two floors: decoding into a kept buffer, and
//! the validator's first pass alone (`Validator::scan`: decode + classify).
//! Then the adversarial inputs of `adversarial.rs` (issue 10's blow-ups): time
//! and peak heap of one validation each, next to a plain function of the same
//! size. Run with `cargo bench -p npk-jit`.

mod adversarial;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use iced_x86::{Decoder, DecoderOptions, Instruction};
use npk_jit::{Policy, Signature, Validator, validate};

fn sh(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Generates C source with `n` integer functions of varied shapes.
fn generated_c(n: usize) -> String {
    let ops = ["+", "-", "*", "^", "&", "|", "<<", ">>"];
    let mut s = String::from("#include <stdint.h>\n");
    for i in 0..n {
        let (o1, o2, o3) = (ops[i % 8], ops[(i / 8) % 8], ops[(i / 3 + 5) % 8]);
        let sh = if o1 == "<<" || o1 == ">>" {
            " & 31"
        } else {
            ""
        };
        let body = match i % 6 {
            0 => format!("return (a {o1} (b{sh})) {o2} (c | 1);"),
            1 => format!(
                "long x = a; for (long k = 0; k < (b & 63); k++) x = (x {o1} (k{sh})) {o2} c; return x;"
            ),
            2 => format!(
                "if (a < b) return (a {o1} (c{sh})); else if (a == c) return b {o2} 7; return c {o3} 3;"
            ),
            3 => format!(
                "long t[4] = {{a, b, c, a {o2} b}}; long s = 0; for (int k = 0; k < 4; k++) s += t[k] * (k + 1); return s {o1} (a{sh});"
            ),
            4 => format!(
                "unsigned long u = (unsigned long)a; while (u > (unsigned long)(b & 1023)) u = (u >> 1) {o2} (unsigned long)c; return (long)u;"
            ),
            _ => format!(
                "long m = a > b ? a : b; m = m < c ? m : c; return m {o3} (a - b) / ((c & 7) + 1);"
            ),
        };
        s += &format!("long f{i}(long a, long b, long c) {{ {body} }}\n");
    }
    s
}

/// Splits a `.text` at symbol boundaries. `syms` are (address, name) of
/// functions; `base` is the address of the first byte of `text`.
fn split(text: &[u8], base: u64, mut syms: Vec<u64>) -> Vec<Vec<u8>> {
    syms.sort_unstable();
    syms.dedup();
    let end = base + text.len() as u64;
    let mut out = Vec::new();
    for w in syms
        .windows(2)
        .map(|w| (w[0], w[1]))
        .chain(syms.last().map(|&l| (l, end)))
    {
        let (a, b) = w;
        if a >= base && b <= end && b > a {
            out.push(text[(a - base) as usize..(b - base) as usize].to_vec());
        }
    }
    out
}

fn function_syms(nm_out: &str) -> Vec<u64> {
    nm_out
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (addr, kind) = (f.next()?, f.next()?);
            matches!(kind, "T" | "t" | "W" | "i").then(|| u64::from_str_radix(addr, 16).ok())?
        })
        .collect()
}

fn text_bytes(obj: &Path, dir: &Path) -> Option<Vec<u8>> {
    let out = dir.join("text.bin");
    sh(
        "objcopy",
        &[
            "-O",
            "binary",
            "--only-section=.text",
            obj.to_str()?,
            out.to_str()?,
        ],
    )?;
    std::fs::read(out).ok()
}

fn generated_corpus(dir: &Path) -> Option<Vec<Vec<u8>>> {
    let c = dir.join("gen.c");
    let o = dir.join("gen.o");
    std::fs::write(&c, generated_c(600)).ok()?;
    sh(
        "cc",
        &[
            "-O2",
            "-c",
            "-fno-asynchronous-unwind-tables",
            "-fcf-protection=none",
            "-o",
            o.to_str()?,
            c.to_str()?,
        ],
    )?;
    let text = text_bytes(&o, dir)?;
    let syms = function_syms(&sh("nm", &["-n", "--defined-only", o.to_str()?])?);
    Some(split(&text, 0, syms))
}

fn libc_corpus(dir: &Path) -> Option<Vec<Vec<u8>>> {
    let lib = [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())?;
    let text = text_bytes(Path::new(lib), dir)?;
    // Address of .text from the section headers.
    let headers = sh("objdump", &["-h", lib])?;
    let base = headers.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(1) == Some(&".text")).then(|| u64::from_str_radix(f.get(3)?, 16).ok())?
    })?;
    let syms = function_syms(&sh("nm", &["-D", "-n", "--defined-only", lib])?);
    Some(split(&text, base, syms))
}

/// Runs `f` over the corpus repeatedly for about `secs`; returns MB/s.
fn throughput(corpus: &[Vec<u8>], secs: f64, mut f: impl FnMut(&[u8])) -> f64 {
    let bytes: usize = corpus.iter().map(Vec::len).sum();
    // NPK_BENCH_ROUNDS=n runs exactly n rounds (for instruction-count profiling).
    let fixed: Option<u64> = std::env::var("NPK_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok());
    let start = Instant::now();
    let mut rounds = 0u64;
    while fixed.map_or(
        start.elapsed() < Duration::from_secs_f64(secs) || rounds == 0,
        |n| rounds < n,
    ) {
        for code in corpus {
            f(code);
        }
        rounds += 1;
    }
    (bytes as f64 * rounds as f64) / start.elapsed().as_secs_f64() / 1e6
}

/// Raw decode and validation throughput of `corpus` (MB/s), alternated
/// three times for `secs` each, best of three each: one run of either is
/// easily slowed by the shared machine, which would skew their ratio. Also
/// the lowest and highest ratio of the three alternations (the spread).
fn decode_and_validate(
    corpus: &[Vec<u8>],
    secs: f64,
    sig: &Signature,
    policy: &Policy,
) -> (f64, f64, (f64, f64)) {
    let (mut decode, mut check) = (0.0f64, 0.0f64);
    let mut spread = (f64::MAX, 0.0f64);
    for _ in 0..3 {
        let d = throughput(corpus, secs, decode_all);
        let v = throughput(corpus, secs, |c| {
            black_box(validate(c, sig, policy).is_ok());
        });
        (decode, check) = (decode.max(d), check.max(v));
        spread = (spread.0.min(v / d), spread.1.max(v / d));
    }
    (decode, check, spread)
}

#[inline(never)]
fn decode_all(code: &[u8]) {
    let mut d = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut ins = Instruction::default();
    while d.can_decode() {
        d.decode_out(&mut ins);
        black_box(&ins);
    }
}

/// Decoding into a kept buffer with an instruction-start table: what a
/// validator that decodes everything first and interprets afterwards pays
/// before doing any checking (a floor for that design, printed for context).
fn decode_keep(code: &[u8], instrs: &mut Vec<Instruction>, start_of: &mut Vec<u32>) {
    let mut d = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    start_of.clear();
    start_of.resize(code.len(), u32::MAX);
    let mut n = 0;
    while d.can_decode() {
        if n == instrs.len() {
            instrs.push(Instruction::default());
        }
        d.decode_out(&mut instrs[n]);
        let off = instrs[n].ip() as usize;
        if instrs[n].is_invalid() || off >= start_of.len() {
            break;
        }
        start_of[off] = n as u32;
        n += 1;
    }
    black_box((&instrs[..n], &start_of[..]));
}

fn report(name: &str, corpus: &[Vec<u8>]) {
    let sig: Signature = "int64(int64,int64,int64)".parse().expect("signature");
    let policy = Policy {
        allow_division: true,
        ..Policy::runtime()
    };
    let bytes: usize = corpus.iter().map(Vec::len).sum();
    let accepted: Vec<Vec<u8>> = corpus
        .iter()
        .filter(|c| validate(c, &sig, &policy).is_ok())
        .cloned()
        .collect();
    let (decode, check, spread) = decode_and_validate(corpus, 0.4, &sig, &policy);
    let (mut instrs, mut start_of) = (Vec::new(), Vec::new());
    let keep = throughput(corpus, 1.0, |c| decode_keep(c, &mut instrs, &mut start_of));
    let mut validator = Validator::new();
    let scan = throughput(corpus, 1.0, |c| {
        black_box(validator.scan(c, &policy).is_ok());
    });
    println!(
        "{name}: {} functions, {bytes} bytes, {} accepted\n  raw decode {decode:8.1} MB/s | validate {check:8.1} MB/s | ratio {:.2} (floor >= 0.24; the three alternations: {:.3}-{:.3})\n  (context: decoding into a kept buffer alone {keep:8.1} MB/s = {:.2} of raw decode;\n   the validator's first pass alone, decode + classify (`Validator::scan`) {scan:8.1} MB/s = {:.2})",
        corpus.len(),
        accepted.len(),
        check / decode,
        spread.0,
        spread.1,
        keep / decode,
        scan / decode
    );
    if !accepted.is_empty() {
        let decode = throughput(&accepted, 0.5, decode_all);
        let check = throughput(&accepted, 0.5, |c| {
            black_box(validate(c, &sig, &policy).is_ok());
        });
        println!(
            "  accepted only ({} bytes): raw decode {decode:8.1} MB/s | validate {check:8.1} MB/s | ratio {:.2}",
            accepted.iter().map(Vec::len).sum::<usize>(),
            check / decode
        );
    }
}

/// The generated corpus by shape (function `i` has shape `i % 6`, see
/// [`generated_c`]): where validation time goes, as a ratio to decoding the
/// same functions.
fn shapes(corpus: &[Vec<u8>]) {
    const NAMES: [&str; 6] = [
        "straight-line arithmetic",
        "counted loop",
        "branches",
        "stack-array loop (value domain)",
        "while (u > b) loop (rejected: need not end)",
        "min/max and division",
    ];
    let sig: Signature = "int64(int64,int64,int64)".parse().expect("signature");
    let policy = Policy {
        allow_division: true,
        ..Policy::runtime()
    };
    println!("  by shape (ratio of validation to raw decode throughput):");
    for (k, name) in NAMES.iter().enumerate() {
        let part: Vec<Vec<u8>> = corpus.iter().skip(k).step_by(6).cloned().collect();
        let (decode, check, _) = decode_and_validate(&part, 0.1, &sig, &policy);
        println!(
            "    {k} {name:44} decode {decode:7.1} MB/s | validate {check:6.1} MB/s | ratio {:.2}",
            check / decode
        );
    }
}

/// Counts live and peak heap bytes (for the adversarial table).
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: the caller's layout contract is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Time (best of a few runs) and peak heap growth of validating `code` once
/// with a fresh validator.
fn cost(code: &[u8], sig: &Signature, policy: &Policy) -> (f64, usize, String) {
    let mut best = f64::MAX;
    let mut peak = 0;
    let mut verdict = String::new();
    for _ in 0..5 {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let start = Instant::now();
        let mut v = Validator::new();
        let r = v.validate(code, sig, policy);
        best = best.min(start.elapsed().as_secs_f64());
        peak = PEAK.load(Ordering::Relaxed) - base;
        verdict = match r {
            Ok(r) => format!("accepted, {} steps", r.steps()),
            Err(e) => format!("{:?}", e.kind()),
        };
    }
    (best, peak, verdict)
}

fn adversarial_report() {
    let sig: Signature = "int32(int32)".parse().expect("signature");
    let policy = Policy::runtime();
    let plain = adversarial::plain(65536);
    let (t0, m0, v0) = cost(&plain, &sig, &policy);
    println!(
        "adversarial 64 KiB inputs (Policy::runtime, one validation, best of 5):\n  plain function: {:8.2} ms, peak heap {:7} KiB ({v0})",
        t0 * 1e3,
        m0 / 1024
    );
    for (name, code) in adversarial::inputs(65536) {
        let (t, m, v) = cost(&code, &sig, &policy);
        println!(
            "  {name}: {:8.2} ms = {:.1}x, peak heap {:7} KiB = {:.1}x ({v})",
            t * 1e3,
            t / t0,
            m / 1024,
            m as f64 / m0.max(1) as f64
        );
    }
}

fn main() {
    // NPK_BENCH_ONLY=adversarial or =generated runs one part (for profiling).
    let only = std::env::var("NPK_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "adversarial" {
        adversarial_report();
    }
    if only == "adversarial" {
        return;
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("npk-jit-bench-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        eprintln!("cannot create {}", dir.display());
        return;
    }
    match generated_corpus(&dir) {
        Some(c) => {
            // NPK_BENCH_DUMP=file writes the corpus (u16 length + bytes per
            // function) for profiling outside the bench.
            if let Ok(path) = std::env::var("NPK_BENCH_DUMP") {
                let mut out = Vec::new();
                for f in &c {
                    out.extend_from_slice(&(f.len() as u16).to_le_bytes());
                    out.extend_from_slice(f);
                }
                if let Err(e) = std::fs::write(&path, out) {
                    eprintln!("cannot write {path}: {e}");
                }
            }
            report("generated cc -O2 integer functions", &c);
            shapes(&c);
        }
        None => eprintln!("cc/objcopy/nm unavailable: skipping generated corpus"),
    }
    // NPK_BENCH_ONLY=generated skips the libc corpus (for profiling).
    let only_generated = std::env::var("NPK_BENCH_ONLY").is_ok_and(|v| v == "generated");
    match libc_corpus(&dir).filter(|_| !only_generated) {
        Some(c) => report("libc .text split at symbols", &c),
        None => eprintln!("libc or binutils unavailable: skipping libc corpus"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
