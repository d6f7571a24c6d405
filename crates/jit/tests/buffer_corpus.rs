//! Runs the buffer corpus (`tests/corpus/buffers.txt`, issue 11) natively to
//! show its verdicts are true: every `unsafe` line faults when each buffer
//! ends exactly at a `PROT_NONE` page (or, in a second layout, starts right
//! after one) and read-only buffers are mapped `PROT_READ`; every `safe` line
//! runs clean on the same inputs and computes the same results at `-O1` and
//! `-O2`, which also checks that `gen_buffers.py` cut whole functions out.
//!
//! This does not validate anything: it executes gcc's code directly in a
//! forked child, trusting the corpus (safe lines are safe by construction;
//! the generator refuses calls, SIMD and relocations). The arguments honour
//! the line's signature exactly as a caller keeps its promise: a buffer with
//! extent `n` holds `n` elements (none when `n` is negative), so an access
//! the signature does not cover lands in a guard page. Inputs: several
//! extents (0, 1, ... 1000, negative ones for `int64` extents), for the other
//! scalars a fixed list of edge values (0, small, 255, 256, -1, `i64::MIN`,
//! ...), four fillings (random bytes, random non-zero bytes, bytes counting
//! up, ASCII digits) and both layouts. `unsafe principle` lines are run and must not fault:
//! they are out of bounds where no guard page can see it (their comment says
//! where), so a fault means the label should be `unsafe`.

#[path = "common/corpus_format.rs"]
mod corpus_format;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use corpus_format::{BufferVerdict, origin, parse_hex, parse_policy, split_line};
use npk_jit::{Extent, Param, Policy, SigType, Signature, validate};

const PAGE: usize = 4096;
/// `PROT_NONE` pages on each side of every buffer.
const GUARD_PAGES: usize = 16;
/// Element counts tried for an extent parameter (around the constants the
/// corpus checks: 4-byte loads, 14-byte headers, 16 locals, 256 tables).
const EXTENTS: [i64; 20] = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    9,
    13,
    14,
    16,
    17,
    255,
    256,
    257,
    1000,
    -1,
    -8,
    i64::MIN,
    i64::MIN + 1,
];
/// With two or more extent parameters (their cross product is tried).
const EXTENTS_FEW: [i64; 10] = [0, 1, 3, 8, 17, 256, -1, 1000, i64::MIN, i64::MIN + 1];
/// Values tried for the other scalar parameters.
const SCALARS: [i64; 23] = [
    0,
    1,
    2,
    7,
    8,
    15,
    16,
    31,
    32,
    0x20,
    97,
    200,
    255,
    256,
    1000,
    -1,
    -2,
    -100,
    -1000,
    i64::MAX,
    i64::MIN,
    1 << 32,
    65,
];
/// Fillings: random bytes, random non-zero bytes, bytes counting up, ASCII
/// digits.
const PATTERNS: u8 = 4;
/// Most calls one line may make (the shared result table's size).
const MAX_CALLS: usize = 1 << 15;
/// Wall-clock limit for one line's calls, in seconds.
const TIME_LIMIT: u32 = 60;

/// One buffer parameter as the runner maps it.
#[derive(Clone, Copy, Debug)]
struct BufSpec {
    elem: usize,
    mutable: bool,
}

/// One call: the argument registers (a buffer's is filled in by the child)
/// and each buffer's element count.
#[derive(Clone, Copy, Debug)]
struct Call {
    args: [u64; 6],
    counts: [usize; 6],
    pattern: u8,
    /// The buffer starts right after a guard page (else it ends at one).
    at_start: bool,
}

/// A line of the corpus with what the runner needs.
#[derive(Debug)]
struct Case {
    line: usize,
    tag: String,
    name: String,
    sig_text: String,
    verdict: BufferVerdict,
    code: Vec<u8>,
    sig: Signature,
    policy: Policy,
    bufs: [Option<BufSpec>; 6],
    /// Result bits kept: 32 for `int32`/`uint32` returns, else 64.
    ret_bits: u32,
    calls: Vec<Call>,
}

fn load() -> Vec<Case> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/buffers.txt");
    let text = std::fs::read_to_string(path).expect("read buffers.txt");
    let mut cases = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let Some(f) = split_line(raw) else { continue };
        let verdict = BufferVerdict::parse(f.verdict).expect("buffer verdict");
        let sig: Signature = f.sig.parse().expect("signature parses");
        let (tag, name) = origin(f.comment);
        let mut bufs = [None; 6];
        for (k, p) in sig.full_params().enumerate() {
            if let Param::Buffer(b) = p {
                bufs[k] = Some(BufSpec {
                    elem: usize::from(b.elem.size()),
                    mutable: b.mutable,
                });
            }
        }
        let ret_bits = match sig.ret() {
            SigType::Int32 | SigType::Uint32 => 32,
            _ => 64,
        };
        cases.push(Case {
            line: i + 1,
            tag: tag.to_string(),
            name: name.to_string(),
            sig_text: f.sig.to_string(),
            verdict,
            code: parse_hex(f.hex),
            sig,
            policy: parse_policy(f.policy),
            bufs,
            ret_bits,
            calls: calls_for(&sig),
        });
    }
    cases
}

/// The calls tried for a signature, most revealing first: every extent
/// combination with every scalar value (scalars rotate together), three
/// fillings, both layouts.
fn calls_for(sig: &Signature) -> Vec<Call> {
    let params: Vec<Param> = sig.full_params().collect();
    let mut is_extent = [false; 6];
    for p in &params {
        if let Param::Buffer(b) = p
            && let Extent::Param(k) = b.extent
        {
            is_extent[usize::from(k)] = true;
        }
    }
    let extent_params: Vec<usize> = (0..params.len()).filter(|&k| is_extent[k]).collect();
    let scalar_params: Vec<usize> = (0..params.len())
        .filter(|&k| !is_extent[k] && matches!(params[k], Param::Scalar(_)))
        .collect();
    let menu: &[i64] = if extent_params.len() > 1 {
        &EXTENTS_FEW
    } else {
        &EXTENTS
    };
    let mut combos: Vec<Vec<i64>> = vec![Vec::new()];
    for &k in &extent_params {
        let signed = params[k] == Param::Scalar(SigType::Int64);
        combos = combos
            .into_iter()
            .flat_map(|c| {
                menu.iter()
                    .filter(move |&&v| signed || v >= 0)
                    .map(move |&v| {
                        let mut c = c.clone();
                        c.push(v);
                        c
                    })
            })
            .collect();
    }
    let rounds = if scalar_params.is_empty() {
        1
    } else {
        SCALARS.len()
    };
    let mut out = Vec::new();
    for at_start in [false, true] {
        for pattern in 0..PATTERNS {
            for combo in &combos {
                for t in 0..rounds {
                    let mut args = [0u64; 6];
                    for (&k, &v) in extent_params.iter().zip(combo) {
                        args[k] = v as u64;
                    }
                    for (j, &k) in scalar_params.iter().enumerate() {
                        let v = SCALARS[(t + 7 * j) % SCALARS.len()];
                        args[k] = match params[k] {
                            // The upper half of a 32-bit argument is undefined:
                            // every other round fills it with garbage.
                            Param::Scalar(SigType::Int32 | SigType::Uint32) => {
                                u64::from(v as u32) | ((t as u64 & 1) * 0x5a5a_5a5a_0000_0000)
                            }
                            _ => v as u64,
                        };
                    }
                    let mut counts = [0usize; 6];
                    for (k, p) in params.iter().enumerate() {
                        if let Param::Buffer(b) = p {
                            counts[k] = match b.extent {
                                Extent::Count(n) => n as usize,
                                Extent::Param(e) => (args[usize::from(e)] as i64).max(0) as usize,
                            };
                        }
                    }
                    out.push(Call {
                        args,
                        counts,
                        pattern,
                        at_start,
                    });
                }
            }
        }
    }
    assert!(out.len() <= MAX_CALLS, "{} calls for {sig}", out.len());
    out
}

/// Where one buffer of the running call is mapped.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct Mapped {
    region: u64,
    region_len: u64,
    ptr: u64,
    len: u64,
}

/// The page shared between the runner and its child.
#[repr(C)]
struct Shared {
    current: u64,
    signal: u64,
    addr: u64,
    /// The faulting instruction's address, and where the code is mapped.
    rip: u64,
    code: u64,
    bufs: [Mapped; 6],
    /// Per call: the return value and a hash of the `mut` buffers after it.
    results: [[u64; 2]; MAX_CALLS],
}

/// What one line's run did.
#[derive(Debug)]
enum Outcome {
    /// Every call returned; their results.
    Clean(Vec<[u64; 2]>),
    /// A call died of a signal.
    Fault {
        call: usize,
        signal: i32,
        /// `past the end`, `before the start`, `read-only store` or `wild`.
        class: &'static str,
        what: String,
        /// Offset in the code of the faulting instruction (none when the
        /// fault is outside the code, e.g. after a smashed return address).
        at: Option<usize>,
    },
    /// The child ran out of time (`SIGALRM`), in call `call`.
    Timeout { call: usize },
}

impl Outcome {
    fn summary(&self) -> String {
        match self {
            Outcome::Clean(r) => format!("all {} calls ran clean", r.len()),
            Outcome::Fault {
                call, signal, what, ..
            } => format!("signal {signal} in call {call}: {what}"),
            Outcome::Timeout { call } => format!("timed out in call {call}"),
        }
    }
}

static SHARED: AtomicUsize = AtomicUsize::new(0);
const EXIT_FAULT: i32 = 77;
const EXIT_SETUP: i32 = 78;

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let shared = SHARED.load(Ordering::Relaxed) as *mut Shared;
    // SAFETY: the handler runs in the child, where SHARED points at the
    // mapped shared page and `info` is the kernel's siginfo; `_exit` is
    // async-signal-safe.
    unsafe {
        (*shared).signal = sig as u64;
        (*shared).addr = (*info).si_addr() as u64;
        let uc = ctx.cast::<libc::ucontext_t>();
        (*shared).rip = (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
        libc::_exit(EXIT_FAULT)
    }
}

/// Runs every call of `case` in a forked child.
fn run(case: &Case) -> Outcome {
    let size = std::mem::size_of::<Shared>();
    // SAFETY: an anonymous shared mapping of `size` bytes, checked below.
    let shared = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(shared, libc::MAP_FAILED, "mmap of the shared page");
    let shared = shared.cast::<Shared>();
    // SAFETY: fork in a test; the child only makes system calls, reads the
    // parent's data and writes mapped memory, and never returns.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: in the child, with `shared` mapped.
        unsafe { child(case, shared) }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid");
    // SAFETY: the child has exited; the page is ours alone and initialised
    // (anonymous mappings start zeroed).
    let s = unsafe { &*shared };
    let call = s.current as usize;
    let outcome = if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Outcome::Clean(s.results[..case.calls.len()].to_vec())
    } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == EXIT_FAULT {
        let (class, what) = describe(case, s);
        let at = s.rip.checked_sub(s.code).map(|o| o as usize);
        Outcome::Fault {
            call,
            signal: s.signal as i32,
            class,
            what,
            at: at.filter(|&o| o < case.code.len()),
        }
    } else if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGALRM {
        Outcome::Timeout { call }
    } else {
        panic!(
            "line {} ({}): child ended with status {status:#x} in call {call}",
            case.line, case.name
        );
    };
    // SAFETY: unmapping the page mapped above; `s` is not used after this.
    unsafe { libc::munmap(shared.cast(), size) };
    outcome
}

/// Says where a fault address lies relative to the running call's buffers.
fn describe(case: &Case, s: &Shared) -> (&'static str, String) {
    let addr = s.addr;
    for (k, m) in s.bufs.iter().enumerate() {
        let Some(b) = case.bufs[k] else { continue };
        if m.region_len == 0 || addr < m.region || addr >= m.region + m.region_len {
            continue;
        }
        let end = m.ptr + m.len;
        let count = m.len / b.elem as u64;
        return if addr >= m.ptr && addr < end {
            (
                "read-only store",
                format!(
                    "a store into read-only parameter {k} at byte {}",
                    addr - m.ptr
                ),
            )
        } else if addr >= end {
            (
                "past the end",
                format!(
                    "parameter {k} ({count} elements), {} bytes past its end",
                    addr - end
                ),
            )
        } else {
            (
                "before the start",
                format!(
                    "parameter {k} ({count} elements), {} bytes before its start",
                    m.ptr - addr
                ),
            )
        };
    }
    ("wild", format!("address {addr:#x}, outside every buffer"))
}

/// Exits the child at once with `code`.
fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` ends the process without running any Rust code.
    unsafe { libc::_exit(code) }
}

/// Maps `len` bytes, or exits the child.
///
/// # Safety
/// Only in the child.
unsafe fn map(len: usize, prot: libc::c_int) -> *mut u8 {
    // SAFETY: an anonymous private mapping; the result is checked.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        exit_now(EXIT_SETUP);
    }
    p.cast()
}

/// Changes the protection of mapped pages, or exits the child.
///
/// # Safety
/// `p..p + len` must be pages this child mapped.
unsafe fn protect(p: *mut u8, len: usize, prot: libc::c_int) {
    // SAFETY: the caller's pages.
    if len > 0 && unsafe { libc::mprotect(p.cast(), len, prot) } != 0 {
        exit_now(EXIT_SETUP);
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn fill_byte(pattern: u8, seed: u64, i: usize) -> u8 {
    let r = splitmix(seed ^ (i as u64).wrapping_mul(0x1000_0000_01b3)) as u8;
    match pattern {
        0 => r,
        1 => r | (u8::from(r == 0)),
        2 => i as u8,
        _ => b'0' + (i % 10) as u8,
    }
}

/// The child: maps the code, then for each call maps and fills its buffers,
/// calls, records the result and unmaps. Allocates nothing.
///
/// # Safety
/// Only in a freshly forked child, with `shared` mapped shared.
unsafe fn child(case: &Case, shared: *mut Shared) -> ! {
    SHARED.store(shared as usize, Ordering::Relaxed);
    // SAFETY: system calls on memory this child maps; the code is called
    // with the SysV convention its signature describes, and its faults end
    // the child through `on_fault`.
    unsafe {
        let alt = map(1 << 16, libc::PROT_READ | libc::PROT_WRITE);
        let ss = libc::stack_t {
            ss_sp: alt.cast(),
            ss_flags: 0,
            ss_size: 1 << 16,
        };
        if libc::sigaltstack(&ss, std::ptr::null_mut()) != 0 {
            exit_now(EXIT_SETUP);
        }
        for sig in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGTRAP,
        ] {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                exit_now(EXIT_SETUP);
            }
        }
        libc::alarm(TIME_LIMIT);
        let code_len = case.code.len().div_ceil(PAGE) * PAGE;
        let code = map(code_len, libc::PROT_READ | libc::PROT_WRITE);
        (*shared).code = code as u64;
        std::ptr::copy_nonoverlapping(case.code.as_ptr(), code, case.code.len());
        protect(code, code_len, libc::PROT_READ | libc::PROT_EXEC);
        let f: extern "sysv64" fn(u64, u64, u64, u64, u64, u64) -> u64 = std::mem::transmute(code);
        for (n, call) in case.calls.iter().enumerate() {
            (*shared).current = n as u64;
            let mut args = call.args;
            for (k, arg) in args.iter_mut().enumerate() {
                let Some(b) = case.bufs[k] else {
                    (*shared).bufs[k] = Mapped::default();
                    continue;
                };
                let len = call.counts[k] * b.elem;
                let data = len.div_ceil(PAGE) * PAGE;
                let guard = GUARD_PAGES * PAGE;
                let region_len = 2 * guard + data;
                let region = map(region_len, libc::PROT_NONE);
                let lo = region.add(guard);
                protect(lo, data, libc::PROT_READ | libc::PROT_WRITE);
                let ptr = if call.at_start {
                    lo
                } else {
                    lo.add(data - len)
                };
                let seed = (n as u64) << 8 | k as u64;
                for i in 0..len {
                    *ptr.add(i) = fill_byte(call.pattern, seed, i);
                }
                if !b.mutable {
                    protect(lo, data, libc::PROT_READ);
                }
                (*shared).bufs[k] = Mapped {
                    region: region as u64,
                    region_len: region_len as u64,
                    ptr: ptr as u64,
                    len: len as u64,
                };
                *arg = ptr as u64;
            }
            let mut ret = f(args[0], args[1], args[2], args[3], args[4], args[5]);
            if case.ret_bits == 32 {
                ret &= 0xffff_ffff;
            }
            let mut hash = 0xcbf2_9ce4_8422_2325u64;
            for k in 0..6 {
                let m = (*shared).bufs[k];
                if case.bufs[k].is_some_and(|b| b.mutable) {
                    for i in 0..m.len {
                        hash = (hash ^ u64::from(*((m.ptr + i) as *const u8)))
                            .wrapping_mul(0x100_0000_01b3);
                    }
                }
                if m.region_len > 0 && libc::munmap(m.region as *mut _, m.region_len as usize) != 0
                {
                    exit_now(EXIT_SETUP);
                }
            }
            (*shared).results[n] = [ret, hash];
        }
        exit_now(0)
    }
}

fn args_text(case: &Case, call: &Call) -> String {
    let mut parts = Vec::new();
    for (k, &a) in call.args.iter().enumerate() {
        match case.bufs[k] {
            Some(_) => parts.push(format!("[{} elements]", call.counts[k])),
            None => parts.push(format!("{}", a as i64)),
        }
    }
    format!(
        "({}), filling {}, buffers {} a guard page",
        parts.join(", "),
        call.pattern,
        if call.at_start {
            "starting after"
        } else {
            "ending at"
        }
    )
}

#[test]
fn unsafe_buffer_lines_fault_next_to_a_guard_page() {
    let cases = load();
    let mut failures = Vec::new();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut checked, mut faulted, mut same_place) = (0, 0, 0);
    for case in cases.iter().filter(|c| c.verdict.is_unsafe()) {
        checked += 1;
        let out = run(case);
        let expect_fault = case.verdict == BufferVerdict::Unsafe;
        match (&out, expect_fault) {
            (
                Outcome::Fault {
                    call,
                    signal,
                    class,
                    what,
                    at,
                },
                true,
            ) => {
                *kinds.entry(class).or_default() += 1;
                faulted += 1;
                // Where the validator rejects it, for comparison (not a
                // requirement: any rejection of an unsafe line is right).
                let verdict = match validate(&case.code, &case.sig, &case.policy) {
                    Ok(_) => "ACCEPTED by the validator".to_string(),
                    Err(v) => {
                        same_place += usize::from(Some(v.offset()) == *at);
                        format!("rejected at {:#x}: {:?}", v.offset(), v.kind())
                    }
                };
                let at = at.map_or("outside the code".to_string(), |o| format!("at {o:#x}"));
                println!(
                    "line {} [{}] {} `{}`: signal {signal} {at}, {what}; call {call} {}; {verdict}",
                    case.line,
                    case.tag,
                    case.name,
                    case.sig_text,
                    args_text(case, &case.calls[*call])
                );
            }
            (Outcome::Clean(_), false) => {}
            _ => failures.push(format!(
                "line {} [{}] {} `{}` ({:?}): {}",
                case.line,
                case.tag,
                case.name,
                case.sig_text,
                case.verdict,
                out.summary()
            )),
        }
    }
    println!("faults by place: {kinds:?}");
    println!(
        "the validator rejects {same_place} of the {faulted} faulting lines at the faulting instruction"
    );
    assert!(checked >= 100, "only {checked} unsafe lines");
    assert!(
        failures.is_empty(),
        "{} unsafe lines do not behave as labelled:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn safe_buffer_lines_run_clean_and_agree_across_opt_levels() {
    let cases = load();
    let mut failures = Vec::new();
    // (name, signature) -> (origin, per-call results) of each level.
    type Runs<'a> = Vec<(&'a str, Vec<[u64; 2]>)>;
    let mut results: BTreeMap<(&str, &str), Runs> = BTreeMap::new();
    for case in cases.iter().filter(|c| c.verdict == BufferVerdict::Safe) {
        match run(case) {
            Outcome::Clean(r) => results
                .entry((case.name.as_str(), case.sig_text.as_str()))
                .or_default()
                .push((case.tag.as_str(), r)),
            Outcome::Fault {
                call, signal, what, ..
            } => failures.push(format!(
                "line {} [{}] {}: signal {signal}, {what}; call {call} {}",
                case.line,
                case.tag,
                case.name,
                args_text(case, &case.calls[call])
            )),
            out => failures.push(format!(
                "line {} {}: {}",
                case.line,
                case.name,
                out.summary()
            )),
        }
    }
    let mut compared = 0;
    for ((name, sig), runs) in &results {
        for pair in runs.windows(2) {
            compared += 1;
            let (a, b) = (&pair[0], &pair[1]);
            if let Some(i) = (0..a.1.len()).find(|&i| a.1[i] != b.1[i]) {
                failures.push(format!(
                    "{name} `{sig}`: -{} and -{} differ at call {i}: {:x?} vs {:x?}",
                    a.0, b.0, a.1[i], b.1[i]
                ));
            }
        }
    }
    assert!(
        compared >= 30,
        "only {compared} functions compared across levels"
    );
    assert!(
        failures.is_empty(),
        "{} safe lines misbehave:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
