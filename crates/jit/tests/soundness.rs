//! Soundness harness: generated and mutated functions through `validate`,
//! every accepted one through the execution oracle.
//!
//! Each case picks a policy and signature, generates a function
//! (`soundness/generate.rs`), validates it and, if accepted, runs it
//! (`common/oracle.rs`) and validates and runs a few prefix and byte mutants
//! of it (`soundness/mutate.rs`). Any accepted function that misbehaves is a
//! counter-example: the test fails and prints `hex | signature | policy |
//! observed` lines ready for `tests/corpus/soundness.src`.
//! The buffer half (`soundness/buffers.rs`) does the same with buffer
//! kernels (`soundness/kernels.rs`) and sweeps accepted ones through the
//! oracle's buffer layouts; its counter-examples are corpus lines.
//! Each half runs for `NPK_SOUNDNESS_SECS` seconds (default 24 for the
//! scalar half, 10 for buffers; with the proptests about 40 s of CPU in CI) from seed
//! `NPK_SOUNDNESS_SEED` (default fixed, printed); `NPK_SOUNDNESS_CASE=n`
//! replays one case; `NPK_SOUNDNESS_OUT=file` writes every counter-example.

#![allow(unsafe_code)]

#[path = "soundness/asm.rs"]
mod asm;
#[path = "soundness/buffer_tests.rs"]
mod buffer_tests;
#[path = "soundness/buffers.rs"]
mod buffers;
#[path = "common/corpus_format.rs"]
mod corpus_format;
#[path = "soundness/generate.rs"]
mod generate;
#[path = "soundness/kernels.rs"]
mod kernels;
#[path = "soundness/lift.rs"]
mod lift;
#[path = "soundness/mutate.rs"]
mod mutate;
#[path = "common/oracle.rs"]
mod oracle;

use std::time::{Duration, Instant};

use npk_jit::{AllowedCall, PointerAccess, Policy, Signature, validate};
use oracle::{CALLEE, CODE_BASE, CODE_MAX, Counted, Observed, Plan, Rng, StackPlan};

const DEFAULT_SEED: u64 = 0x10_5eed;
const DEFAULT_SECS: u64 = 24;
/// Default seconds of the buffer half.
const DEFAULT_BUFFER_SECS: u64 = 10;

/// A policy with its corpus spelling and the signatures tried under it.
struct Config {
    policy: Policy,
    sigs: Vec<Signature>,
}

fn sigs(list: &[&str]) -> Vec<Signature> {
    list.iter()
        .map(|s| s.parse().expect("valid signature"))
        .collect()
}

fn configs() -> Vec<Config> {
    let scalar = sigs(&[
        "int64(int64,int64)",
        "int32(int32,int32)",
        "int64(int32)",
        "uint32(uint32,uint64)",
        "int64()",
        "int64(int64,int64,int64,int64,int64,int64)",
        "int32(int64,int32,int64)",
        "uint64(uint32,uint32,uint32)",
    ]);
    let pointers = sigs(&[
        "int64(ptr)",
        "int64(ptr,int64)",
        "int32(ptr,int32)",
        "ptr(ptr,int64)",
        "int64(ptr,ptr)",
        "uint64(int64,ptr)",
    ]);
    let call = AllowedCall {
        address: CALLEE,
        signature: "int64(int64)".parse().expect("valid signature"),
    };
    let mut configs = vec![
        Config {
            policy: Policy::default(),
            sigs: scalar.clone(),
        },
        Config {
            policy: Policy::runtime(),
            sigs: scalar.clone(),
        },
        Config {
            policy: Policy {
                max_frame: 16384,
                ..Policy::runtime()
            },
            sigs: scalar.clone(),
        },
        Config {
            policy: Policy {
                max_frame: 65536,
                ..Policy::default()
            },
            sigs: scalar.clone(),
        },
        Config {
            policy: Policy {
                allow_division: true,
                ..Policy::runtime()
            },
            sigs: scalar.clone(),
        },
        Config {
            policy: Policy {
                base_ip: CODE_BASE,
                allowed_calls: vec![call],
                allow_loops: true,
                ..Policy::default()
            },
            sigs: scalar,
        },
    ];
    let windows = [
        (PointerAccess::Read, 64, Policy::default()),
        (PointerAccess::ReadWrite, 64, Policy::default()),
        (PointerAccess::ReadWrite, 100, Policy::runtime()),
        (PointerAccess::ReadWrite, 4096, Policy::runtime()),
        (PointerAccess::Read, 8, Policy::runtime()),
    ];
    for (pointer_access, pointer_window, base) in windows {
        configs.push(Config {
            policy: Policy {
                pointer_access,
                pointer_window,
                ..base
            },
            sigs: pointers.clone(),
        });
    }
    configs
}

/// The policy in `tests/corpus` syntax.
fn policy_text(p: &Policy) -> String {
    let d = Policy::default();
    let mut out = Vec::new();
    if p.require_termination {
        out.push("terminate".to_string());
    } else if p.allow_loops {
        out.push("loops".to_string());
    }
    if p.allow_red_zone {
        out.push("redzone".into());
    }
    if p.allow_division {
        out.push("division".into());
    }
    match p.pointer_access {
        PointerAccess::Read => out.push(format!("ptr-read={}", p.pointer_window)),
        PointerAccess::ReadWrite => out.push(format!("ptr-rw={}", p.pointer_window)),
        _ => {}
    }
    if p.max_frame != d.max_frame {
        out.push(format!("frame={}", p.max_frame));
    }
    for r in &p.reserved {
        out.push(format!("reserve={r:?}").to_lowercase());
    }
    if p.steps_per_instruction != d.steps_per_instruction {
        out.push(format!("steps={}", p.steps_per_instruction));
    }
    if p.base_ip != d.base_ip {
        out.push(format!("base={:#x}", p.base_ip));
    }
    if p.cpu != d.cpu {
        out.push(if p.cpu == npk_jit::CpuFeatures::host() {
            "cpu=host".into()
        } else {
            "cpu=all".into()
        });
    }
    for c in &p.allowed_calls {
        out.push(format!("call={:#x}:{}", c.address, c.signature));
    }
    out.join(", ")
}

fn hex(code: &[u8]) -> String {
    code.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A counter-example.
struct Failure {
    code: Vec<u8>,
    sig: Signature,
    policy: Policy,
    origin: &'static str,
    observed: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} | {} | {} | {}: {}",
            hex(&self.code),
            self.sig,
            policy_text(&self.policy),
            self.origin,
            self.observed
        )
    }
}

#[derive(Default, Debug)]
struct Stats {
    cases: u64,
    candidates: u64,
    accepted: u64,
    /// Accepted with a frame deeper than a page, with loops, with calls.
    deep_frames: u64,
    with_loops: u64,
    with_calls: u64,
    runs: u64,
    overflows: u64,
    traps: u64,
    /// Time-outs of code with loops that the validator's bound for the
    /// run's arguments does not call short (`oracle/time_bound.rs`).
    long_inconclusive: u64,
    /// Runs single-stepped against the validator's bound, and the most
    /// instructions one of them executed.
    counted: u64,
    most_counted: u64,
    /// Accepted code with a syntactically reachable dead end (see `check`).
    no_exit_suspects: u64,
}

/// A random run plan for accepted `code`.
fn plan<'a>(rng: &mut Rng, code: &'a [u8], sig: Signature, policy: &'a Policy) -> Plan<'a> {
    let mut p = Plan::new(rng, code, sig, policy);
    let short = rng.chance(2);
    p.stack = StackPlan {
        entry_down: 8 + 16 * if rng.chance(2) { 0 } else { rng.below(256) },
        pages: short.then(|| 1 + rng.below(1 + oracle::reach(policy) / 4096)),
    };
    p.code_at_page_end = rng.chance(2);
    p
}

/// Whether `code` decodes to a `call` anywhere.
fn has_call(code: &[u8]) -> bool {
    let mut d = iced_x86::Decoder::with_ip(64, code, 0, iced_x86::DecoderOptions::NONE);
    std::iter::from_fn(|| d.can_decode().then(|| d.decode()))
        .any(|i| i.flow_control() == iced_x86::FlowControl::Call)
}

/// Validates `code`; if accepted, checks it statically and runs it.
fn check(
    rng: &mut Rng,
    code: &[u8],
    sig: Signature,
    policy: &Policy,
    origin: &'static str,
    stats: &mut Stats,
) -> Result<bool, Box<Failure>> {
    stats.candidates += 1;
    if code.is_empty() || code.len() > CODE_MAX {
        return Ok(false);
    }
    let Ok(report) = validate(code, &sig, policy) else {
        return Ok(false);
    };
    stats.accepted += 1;
    stats.deep_frames += u64::from(report.frame_bytes() > 4096);
    stats.with_loops += u64::from(report.has_loops());
    stats.with_calls += u64::from(has_call(code));
    let fail = |observed: String| {
        Box::new(Failure {
            code: code.to_vec(),
            sig,
            policy: policy.clone(),
            origin,
            observed,
        })
    };
    if let Some(why) = oracle::decode_mismatch(code) {
        return Err(fail(why));
    }
    // A syntactic dead end the validator may have proven unreachable: the
    // runs decide (a hang there is a violation, see `oracle::no_exit`).
    stats.no_exit_suspects += u64::from(oracle::no_exit(code).is_some());
    for _ in 0..2 {
        let p = plan(rng, code, sig, policy);
        stats.runs += 1;
        match oracle::run(&p) {
            Observed::Returned => {}
            Observed::StackOverflow => stats.overflows += 1,
            Observed::DivideTrap => stats.traps += 1,
            Observed::Timeout if report.has_loops() => stats.long_inconclusive += 1,
            Observed::Timeout => {
                return Err(fail(
                    "hang: loop-free code ran out of its CPU-time limit".into(),
                ));
            }
            Observed::Violation(why) => return Err(fail(why)),
        }
    }
    // One run in four with loops, single-stepped where the validator bounds
    // it closely enough: no call may execute more than the bound.
    if report.has_loops() && rng.chance(4) {
        let mut p = plan(rng, code, sig, policy);
        oracle::small_args(rng, &mut p);
        match oracle::steps_within_bound(&p) {
            Counted::Skipped => {}
            Counted::Within { steps, .. } => {
                stats.counted += 1;
                stats.most_counted = stats.most_counted.max(steps);
            }
            Counted::Broken(why) => return Err(fail(why)),
        }
    }
    Ok(true)
}

/// One case: a generated function and, if accepted, its mutants.
fn case(rng: &mut Rng, configs: &[Config], stats: &mut Stats, failures: &mut Vec<Failure>) {
    stats.cases += 1;
    let config = rng.pick(configs);
    let sig = *rng.pick(&config.sigs);
    let policy = &config.policy;
    let items = generate::Gen::new(rng, sig, policy).function();
    let code = asm::assemble(&items, CODE_BASE);
    match check(rng, &code, sig, policy, "generated", stats) {
        Err(f) => failures.push(*f),
        Ok(false) => {}
        Ok(true) => {
            for _ in 0..6 {
                let (mutant, origin) = match rng.below(3) {
                    0 => (
                        asm::assemble(&mutate::items(rng, &items), CODE_BASE),
                        "prefix mutant",
                    ),
                    1 => (
                        asm::assemble(&mutate::wild(rng, &items), CODE_BASE),
                        "wild mutant",
                    ),
                    _ => (mutate::bytes(rng, &code), "byte mutant"),
                };
                if let Err(f) = check(rng, &mutant, sig, policy, origin, stats) {
                    failures.push(*f);
                }
            }
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

#[test]
fn accepted_functions_behave_when_run() {
    let seed = env_u64("NPK_SOUNDNESS_SEED").unwrap_or(DEFAULT_SEED);
    let secs = env_u64("NPK_SOUNDNESS_SECS").unwrap_or(DEFAULT_SECS);
    let only = env_u64("NPK_SOUNDNESS_CASE");
    eprintln!(
        "soundness: seed {seed:#x}, {secs} s (NPK_SOUNDNESS_SEED / NPK_SOUNDNESS_SECS / NPK_SOUNDNESS_CASE)"
    );
    let configs = configs();
    let mut stats = Stats::default();
    let mut failures: Vec<Failure> = Vec::new();
    let start = Instant::now();
    let mut n = only.unwrap_or(0);
    while start.elapsed() < Duration::from_secs(secs) {
        let mut rng = Rng::new(seed ^ n.wrapping_mul(0xa076_1d64_78bd_642f));
        let before = failures.len();
        case(&mut rng, &configs, &mut stats, &mut failures);
        for f in &mut failures[before..] {
            f.observed = format!("{} [case {n}]", f.observed);
        }
        if only.is_some() {
            break;
        }
        n += 1;
    }
    eprintln!("soundness: {stats:?} in {:.1?}", start.elapsed());
    if let Some(path) = std::env::var_os("NPK_SOUNDNESS_OUT") {
        let text: String = failures.iter().map(|f| format!("{f}\n")).collect();
        std::fs::write(path, text).expect("write NPK_SOUNDNESS_OUT");
    }
    assert!(
        only.is_some() || stats.runs > 200,
        "too few accepted functions ran ({}) to mean anything",
        stats.runs
    );
    if !failures.is_empty() {
        failures.sort_by_key(|f| f.code.len());
        let shown: Vec<String> = failures.iter().take(40).map(ToString::to_string).collect();
        panic!(
            "{} soundness counter-examples (seed {seed:#x}; shortest {} shown; hex | sig | policy | origin: observed):\n{}",
            failures.len(),
            shown.len(),
            shown.join("\n")
        );
    }
}

/// Runs `code` (not validated) under a fixed plan: windows of `window` bytes
/// ending at their guard page, entry `rsp` `entry_down` below the stack top.
fn observe(
    code: &[u8],
    sig: &str,
    policy: &Policy,
    entry_down: u64,
    pages: Option<u64>,
) -> Observed {
    let sig: Signature = sig.parse().expect("valid signature");
    let mut rng = Rng::new(7);
    let mut p = plan(&mut rng, code, sig, policy);
    for w in &mut p.windows {
        w.flush_high = true;
    }
    let (regs, flags) = oracle::inputs(&mut rng, &sig, &p.windows);
    p.regs = regs;
    p.flags = flags;
    p.stack = StackPlan { entry_down, pages };
    oracle::run(&p)
}

fn violation(o: &Observed, needle: &str) -> bool {
    matches!(o, Observed::Violation(why) if why.contains(needle))
}

/// Entry `rsp` as low in its page as it can be (8 bytes above the page start).
const LOW_ENTRY: u64 = 4088;

/// The strict policy plus the oracle's one allowed callee.
fn calling_policy() -> Policy {
    let call = AllowedCall {
        address: CALLEE,
        signature: "int64(int64)".parse().expect("sig"),
    };
    Policy {
        base_ip: CODE_BASE,
        allowed_calls: vec![call],
        ..Policy::default()
    }
}

#[test]
fn oracle_passes_well_behaved_code() {
    let d = Policy::default();
    // lea rax, [rdi+rsi]; ret
    assert_eq!(
        observe(
            &[0x48, 0x8d, 0x04, 0x37, 0xc3],
            "int64(int64,int64)",
            &d,
            8,
            None
        ),
        Observed::Returned
    );
    // push rbx; mov rbx, rdi; mov rax, rbx; pop rbx; ret (low entry, one page)
    let code = [0x53, 0x48, 0x89, 0xfb, 0x48, 0x89, 0xd8, 0x5b, 0xc3];
    assert_eq!(
        observe(&code, "int64(int64)", &d, LOW_ENTRY, Some(1)),
        Observed::Returned
    );
    // sub rsp, 8; call callee; add rsp, 8; ret
    let p = calling_policy();
    let code = asm::assemble(
        &[
            asm::Item::ins(asm::adjust_rsp(8)),
            asm::Item::Call {
                prefix: vec![],
                target: CALLEE,
            },
            asm::Item::ins(asm::adjust_rsp(-8)),
            asm::Item::ins(vec![0xc3]),
        ],
        CODE_BASE,
    );
    assert!(validate(&code, &"int64(int64)".parse().expect("sig"), &p).is_ok());
    assert_eq!(
        observe(&code, "int64(int64)", &p, 8, None),
        Observed::Returned
    );
}

#[test]
fn oracle_reports_the_leavew_counter_example() {
    // push rbp; mov rbp, rsp; mov rax, rdi; leavew; ret
    let code = [0x55, 0x48, 0x89, 0xe5, 0x48, 0x89, 0xf8, 0x66, 0xc9, 0xc3];
    let o = observe(&code, "int64(int64)", &Policy::default(), 8, None);
    assert!(matches!(o, Observed::Violation(_)), "{o}");
}

#[test]
fn oracle_reports_the_amd_16_bit_ret() {
    // mov rax, rdi; ret (66-prefixed): a 16-bit ret on AMD
    let why = oracle::static_violation(&[0x48, 0x89, 0xf8, 0x66, 0xc3]).expect("flagged");
    assert!(why.contains("AMD"), "{why}");
    assert_eq!(oracle::static_violation(&[0x48, 0x89, 0xf8, 0xc3]), None);
}

#[test]
fn oracle_tells_stack_clash_from_stack_overflow() {
    let rt = Policy::runtime();
    // sub rsp, 0x1000; mov [rsp-0x80], rdi; add rsp, 0x1000; mov rax, rdi; ret
    let clash = [
        0x48, 0x81, 0xec, 0, 0x10, 0, 0, 0x48, 0x89, 0x7c, 0x24, 0x80, 0x48, 0x81, 0xc4, 0, 0x10,
        0, 0, 0x48, 0x89, 0xf8, 0xc3,
    ];
    let o = observe(&clash, "int64(int64)", &rt, LOW_ENTRY, Some(1));
    assert!(violation(&o, "stack clash"), "{o}");
    assert_eq!(
        observe(&clash, "int64(int64)", &rt, 8, None),
        Observed::Returned
    );
    // The same frame touched at its first page only: a plain stack overflow.
    let mut probe = clash;
    probe[11] = 0x00; // mov [rsp+0], rdi
    assert_eq!(
        observe(&probe, "int64(int64)", &rt, LOW_ENTRY, Some(1)),
        Observed::StackOverflow
    );
}

#[test]
fn oracle_reports_a_function_that_never_returns() {
    // mov rax, rdi; jmp $
    let code = [0x48, 0x89, 0xf8, 0xeb, 0xfe];
    assert!(oracle::static_violation(&code).is_some_and(|w| w.contains("no path")));
    let o = observe(&code, "int64(int64)", &Policy::runtime(), 8, None);
    assert!(
        violation(&o, "hung at code+0x3, from which no path reaches a ret"),
        "{o}"
    );
    // A loop that could exit but does not in time is inconclusive:
    // mov rax, rdi; top: dec rax; jnz top; ret (2^64 rounds for rdi = 0)
    let code = [0x48, 0x89, 0xf8, 0x48, 0xff, 0xc8, 0x75, 0xfb, 0xc3];
    let mut p = Policy::runtime();
    p.allow_loops = true;
    let o = observe(&code, "int64(int64)", &p, 8, None);
    assert!(matches!(o, Observed::Timeout | Observed::Returned), "{o}");
}

/// A dead end the validator proved unreachable never runs, so the
/// control-flow check alone is no verdict: `xor edi, edi; cmp rdi, 45;
/// jne out; nop; jmp $; out: mov rax, rdi; ret` runs clean.
#[test]
fn a_dead_end_behind_a_decided_comparison_runs_clean() {
    let code = [
        0x31, 0xff, 0x48, 0x83, 0xff, 0x2d, 0x75, 0x03, 0x90, 0xeb, 0xfe, 0x48, 0x89, 0xf8, 0xc3,
    ];
    assert!(oracle::no_exit(&code).is_some());
    assert_eq!(oracle::decode_mismatch(&code), None);
    let o = observe(&code, "int64(int64)", &Policy::runtime(), 8, None);
    assert_eq!(o, Observed::Returned);
}

#[test]
fn oracle_reports_entry_values_laundered_through_memory() {
    let rw = Policy {
        pointer_access: PointerAccess::ReadWrite,
        pointer_window: 8,
        ..Policy::default()
    };
    // mov [rdi], r12; mov rax, [rdi]; ret
    let code = [0x4c, 0x89, 0x27, 0x48, 0x8b, 0x07, 0xc3];
    assert!(violation(
        &observe(&code, "int64(ptr)", &rw, 8, None),
        "laundered"
    ));
    // mov [rdi], r12d; xor eax, eax; ret: the window keeps the low half
    let code = [0x44, 0x89, 0x27, 0x31, 0xc0, 0xc3];
    assert!(violation(
        &observe(&code, "int64(ptr)", &rw, 8, None),
        "laundered into pointer window"
    ));
}

#[test]
fn oracle_reports_broken_register_and_stack_discipline() {
    let d = Policy::default();
    let rz = Policy::runtime();
    let sig = "int64(int64)";
    // mov rbx, rdi; mov rax, rdi; ret
    assert!(violation(
        &observe(
            &[0x48, 0x89, 0xfb, 0x48, 0x89, 0xf8, 0xc3],
            sig,
            &d,
            8,
            None
        ),
        "callee-saved rbx"
    ));
    // mov rax, rsi; ret: rsi is not an argument
    assert!(violation(
        &observe(&[0x48, 0x89, 0xf0, 0xc3], sig, &d, 8, None),
        "undefined entry value of rsi"
    ));
    // mov rax, [rsp-8]; ret: never written
    assert!(violation(
        &observe(&[0x48, 0x8b, 0x44, 0x24, 0xf8, 0xc3], sig, &rz, 8, None),
        "depends on undefined"
    ));
    // mov [rsp+8], rdi; mov rax, rdi; ret: the caller's frame (guard page, or canary)
    let code = [0x48, 0x89, 0x7c, 0x24, 0x08, 0x48, 0x89, 0xf8, 0xc3];
    assert!(violation(
        &observe(&code, sig, &d, 8, None),
        "above the return address"
    ));
    assert!(violation(
        &observe(&code, sig, &d, LOW_ENTRY, None),
        "caller's frame"
    ));
    // mov eax, 39; syscall; ret
    assert!(violation(
        &observe(&[0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xc3], sig, &d, 8, None),
        "system call"
    ));
    // std; mov rax, rdi; ret
    assert!(violation(
        &observe(&[0xfd, 0x48, 0x89, 0xf8, 0xc3], sig, &d, 8, None),
        "DF"
    ));
    // ud2
    assert!(violation(
        &observe(&[0x0f, 0x0b], sig, &d, 8, None),
        "SIGILL"
    ));
    // mov rax, rdi; cqo; idiv rsi; ret: a trap only where division is allowed
    let div = [
        0x48, 0x89, 0xf8, 0x48, 0x31, 0xf6, 0x48, 0x99, 0x48, 0xf7, 0xfe, 0xc3,
    ];
    assert!(violation(&observe(&div, sig, &d, 8, None), "SIGFPE"));
    let division = Policy {
        allow_division: true,
        ..Policy::default()
    };
    assert_eq!(observe(&div, sig, &division, 8, None), Observed::DivideTrap);
    // mov rax, [rdi+8]; ret with an 8-byte window: the guard page after it
    let ro = Policy {
        pointer_access: PointerAccess::Read,
        pointer_window: 8,
        ..Policy::default()
    };
    assert!(violation(
        &observe(&[0x48, 0x8b, 0x47, 0x08, 0xc3], "int64(ptr)", &ro, 8, None),
        "pointer window"
    ));
    // mov [rdi], rax with a read-only window
    assert!(violation(
        &observe(
            &[0x48, 0x89, 0x37, 0x31, 0xc0, 0xc3],
            "int64(ptr,int64)",
            &ro,
            8,
            None
        ),
        "read-only"
    ));
}

#[test]
fn oracle_reports_a_misaligned_call() {
    let p = calling_policy();
    let code = asm::assemble(
        &[
            asm::Item::Call {
                prefix: vec![],
                target: CALLEE,
            },
            asm::Item::ins(vec![0xc3]),
        ],
        CODE_BASE,
    );
    assert!(violation(
        &observe(&code, "int64(int64)", &p, 8, None),
        "aligned"
    ));
}

/// What `code` does in the oracle under 40 plans (random arguments; the
/// stack layouts most likely to show a clash, alternating with random ones), or
/// `None` if it behaves in all of them.
fn misbehaviour(code: &[u8], sig: Signature, policy: &Policy) -> Option<String> {
    if let Some(why) = oracle::static_violation(code) {
        return Some(why);
    }
    let mut rng = Rng::new(11);
    if sig.has_buffer() {
        let seen = oracle::sweep(&mut rng, code, sig, policy, 4 * oracle::COUNTS.len());
        if seen.violation.is_some() {
            return seen.violation;
        }
    }
    // Entry rsp at the bottom of its page, one page of stack: a few
    // positions, since flags computed from rsp may steer the path.
    let fixed = [
        (LOW_ENTRY, Some(1)),
        (LOW_ENTRY - 16, Some(1)),
        (8, None),
        (LOW_ENTRY - 32, Some(1)),
        (LOW_ENTRY - 48, Some(1)),
        (LOW_ENTRY, None),
        (8, Some(1)),
    ];
    for i in 0..40 {
        let mut p = plan(&mut rng, code, sig, policy);
        if i % 2 == 0 {
            let (entry_down, pages) = fixed[i / 2 % fixed.len()];
            p.stack = StackPlan { entry_down, pages };
        }
        if let Observed::Violation(why) = oracle::run(&p) {
            return Some(why);
        }
    }
    None
}

#[test]
fn soundness_corpus_lines_misbehave_when_run() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/soundness.txt");
    let text = std::fs::read_to_string(path).expect("read soundness.txt");
    let mut quiet = Vec::new();
    let mut n = 0;
    for line in text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter(|l| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        let code = corpus_format::parse_hex(fields[0]);
        let sig: Signature = fields[1].parse().expect("signature");
        let policy = corpus_format::parse_policy(fields.get(3).copied().unwrap_or(""));
        n += 1;
        if misbehaviour(&code, sig, &policy).is_none() {
            quiet.push(line.to_string());
        }
    }
    assert!(n >= 10, "soundness corpus too small: {n}");
    assert!(
        quiet.is_empty(),
        "corpus lines that behave when run (not counter-examples):\n{}",
        quiet.join("\n")
    );
}
