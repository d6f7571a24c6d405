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
use oracle::{CALLEE, CODE_BASE, CODE_MAX, Observed, Plan, Rng, StackPlan};

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
    if p.allow_loops {
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
    loop_timeouts: u64,
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
            Observed::Timeout if report.has_loops() => stats.loop_timeouts += 1,
            Observed::Timeout => {
                return Err(fail(
                    "hang: loop-free code ran out of its CPU-time limit".into(),
                ));
            }
            Observed::Violation(why) => return Err(fail(why)),
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
        let seen = oracle::sweep(&mut rng, code, sig, policy, 2 * oracle::COUNTS.len());
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
        cases: 8,
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
/// of a checked index, a checked index replaced in its stack slot. The attacks must be
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
