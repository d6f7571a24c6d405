//! The execution oracle: runs validated bytes in a forked, sandboxed child and
//! says whether they behaved like a SysV function of their signature.
//!
//! In: a [`Plan`] (code, signature, policy, register inputs for two calls,
//! stack and pointer-window layout). Out: an [`Observed`] verdict. The child
//! maps everything at fixed addresses ([`CODE_BASE`], [`STACK_TOP`],
//! [`WINDOW_BASE`]), installs fault handlers on an alternate stack, enters
//! seccomp strict mode (any system call but `exit` kills it) and calls the
//! code twice with the same defined inputs but different undefined ones
//! (callee-saved entry values, registers outside the signature, the upper
//! half of 32-bit arguments, flags, stack garbage, the callee's clobbers):
//! an accepted function's result may depend on its defined inputs only.
//! Stack: `pages` read-write pages end at [`STACK_TOP`] (entry `rsp` sits
//! `entry_down` bytes below it), then exactly one `PROT_NONE` guard page, then
//! a further `PROT_NONE` region: a fault in the guard is a stack overflow
//! (legitimate when the stack is shorter than the policy's frame), a fault
//! below it is a stack clash. Above [`STACK_TOP`] is another guard page, and
//! the bytes between the return address and it are a canary.
//! Buffer parameters (`int64* xs[n]`) are laid out by `oracle/buffers.rs`
//! against guard pages, with their extent registers set to the counts.

#![allow(dead_code)]

use std::arch::global_asm;
use std::fmt;

use npk_jit::{Param, PointerAccess, Policy, SigType, Signature};

#[path = "oracle/buffers.rs"]
mod buffers;
#[path = "oracle/judge.rs"]
mod judge;
#[allow(unused_imports)]
pub use buffers::{
    BUFFER_MAX, BUFFERS, BufferRun, COUNTS, Layout, STYLES, Sweep, buffer_addr, buffer_params,
    buffers_with, call_regs, contents, random_counts, sweep,
};
use judge::{judge, rel, written_run};
#[path = "oracle/static_checks.rs"]
mod static_checks;
#[path = "oracle/time_bound.rs"]
mod time_bound;
#[allow(unused_imports)]
pub use static_checks::{decode_mismatch, no_exit, static_violation};
#[allow(unused_imports)]
pub use time_bound::{
    COUNT_MAX, Counted, MARGIN, MIN_INSTRUCTIONS_PER_SEC, bound, budget, set_arg, small_args,
    steps_within_bound,
};

/// Where the code under test runs (also the policies' `base_ip`).
pub const CODE_BASE: u64 = 0x2000_0000_0000;
/// Largest code the oracle maps.
pub const CODE_MAX: usize = 0xf000;
/// The one function call policies may allow (`int64(int64)`: `2*rdi+1`).
pub const CALLEE: u64 = CODE_BASE + 0x10000;
/// The callee's data page: the value it clobbers caller-saved registers with.
const CALLEE_DATA: u64 = CALLEE + PAGE as u64;
/// First byte above the stack (the upper guard page starts here).
pub const STACK_TOP: u64 = 0x2100_0000_0000;
/// Bytes reserved below [`STACK_TOP`] (stack, guard and the clash region).
const STACK_RESERVE: u64 = 0x40000;
/// Pointer-window mappings: one [`WINDOW_SPAN`] per pointer parameter.
pub const WINDOW_BASE: u64 = 0x2200_0000_0000;
const WINDOW_SPAN: u64 = 0x10000;
/// Largest pointer window the oracle lays out, and how many windows.
pub const WINDOW_MAX: usize = 8192;
pub const WINDOWS: usize = 2;
/// Stack bytes below a call site that the callee itself may use.
pub const CALLEE_STACK: u32 = 128;
pub const PAGE: usize = 4096;

/// Register numbers in iced order.
pub const RAX: usize = 0;
pub const RSP: usize = 4;
pub const CALLEE_SAVED: [usize; 6] = [3, 5, 12, 13, 14, 15];
pub const ARG_REGS: [usize; 6] = [7, 6, 2, 1, 8, 9];
pub const NAMES: [&str; 16] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15",
];

/// Register values loaded before a call (iced order; slot 4, rsp, holds the
/// rflags to load instead).
static mut ORACLE_IN: [u64; 16] = [0; 16];
/// Registers after the call, then rflags.
static mut ORACLE_OUT: [u64; 17] = [0; 17];
static mut ORACLE_TARGET: u64 = 0;
static mut ORACLE_HOST_RSP: u64 = 0;
/// The shared result page, for the signal handler.
static mut SHARED: *mut Shared = std::ptr::null_mut();

global_asm!(
    ".globl npk_oracle_enter",
    "npk_oracle_enter:",
    "push rbx", "push rbp", "push r12", "push r13", "push r14", "push r15",
    "mov qword ptr [rip + {host}], rsp",
    "mov rsp, rdi",
    "push qword ptr [rip + {inp} + 32]",
    "popfq",
    "mov rax, qword ptr [rip + {inp}]",
    "mov rcx, qword ptr [rip + {inp} + 8]",
    "mov rdx, qword ptr [rip + {inp} + 16]",
    "mov rbx, qword ptr [rip + {inp} + 24]",
    "mov rbp, qword ptr [rip + {inp} + 40]",
    "mov rsi, qword ptr [rip + {inp} + 48]",
    "mov rdi, qword ptr [rip + {inp} + 56]",
    "mov r8, qword ptr [rip + {inp} + 64]",
    "mov r9, qword ptr [rip + {inp} + 72]",
    "mov r10, qword ptr [rip + {inp} + 80]",
    "mov r11, qword ptr [rip + {inp} + 88]",
    "mov r12, qword ptr [rip + {inp} + 96]",
    "mov r13, qword ptr [rip + {inp} + 104]",
    "mov r14, qword ptr [rip + {inp} + 112]",
    "mov r15, qword ptr [rip + {inp} + 120]",
    "call qword ptr [rip + {target}]",
    "mov qword ptr [rip + {out}], rax",
    "mov qword ptr [rip + {out} + 8], rcx",
    "mov qword ptr [rip + {out} + 16], rdx",
    "mov qword ptr [rip + {out} + 24], rbx",
    "mov qword ptr [rip + {out} + 32], rsp",
    "mov qword ptr [rip + {out} + 40], rbp",
    "mov qword ptr [rip + {out} + 48], rsi",
    "mov qword ptr [rip + {out} + 56], rdi",
    "mov qword ptr [rip + {out} + 64], r8",
    "mov qword ptr [rip + {out} + 72], r9",
    "mov qword ptr [rip + {out} + 80], r10",
    "mov qword ptr [rip + {out} + 88], r11",
    "mov qword ptr [rip + {out} + 96], r12",
    "mov qword ptr [rip + {out} + 104], r13",
    "mov qword ptr [rip + {out} + 112], r14",
    "mov qword ptr [rip + {out} + 120], r15",
    "pushfq",
    "pop qword ptr [rip + {out} + 128]",
    // Clear the trap flag a counting run set (see `count_steps`).
    "pushfq",
    "and qword ptr [rsp], -257",
    "popfq",
    "mov rsp, qword ptr [rip + {host}]",
    "cld",
    "pop r15", "pop r14", "pop r13", "pop r12", "pop rbp", "pop rbx",
    "ret",
    host = sym ORACLE_HOST_RSP,
    inp = sym ORACLE_IN,
    out = sym ORACLE_OUT,
    target = sym ORACLE_TARGET,
);

unsafe extern "C" {
    /// Loads `ORACLE_IN`, sets `rsp = rsp_before_call`, calls `ORACLE_TARGET`.
    fn npk_oracle_enter(rsp_before_call: u64);
}

/// Child exit codes.
const DONE: i32 = 0;
const SETUP_FAILED: i32 = 13;
const MISALIGNED_CALL: i32 = 14;
const FAULTED: i32 = 20;
/// The CPU-time limit ran out (the canaries were checked first).
const TIMED_OUT: i32 = 21;

/// How the child reports back (one shared anonymous mapping).
#[repr(C)]
struct Shared {
    /// Call running (1 or 2) or finished (3); 0 while setting up.
    stage: u64,
    signal: u64,
    addr: u64,
    /// The page-fault error code (bit 1: a write).
    err: u64,
    rip: u64,
    rsp: u64,
    out: [[u64; 17]; 2],
    /// Per call: first address whose canary changed, or 0.
    canary: [u64; 2],
    /// Per call: instructions of the code executed ([`count_steps`] only).
    steps: [u64; 2],
    windows: [[[u8; WINDOW_MAX]; WINDOWS]; 2],
    buffers: [[[u8; BUFFER_MAX]; BUFFERS]; 2],
}

/// How a pointer parameter's buffer is laid out.
#[derive(Clone, Debug)]
pub struct Window {
    /// Initial contents; the window is `[p, p + init.len())`.
    pub init: Vec<u8>,
    /// The window ends at a guard page (else it starts right above one).
    pub flush_high: bool,
}

/// Stack layout of one run.
#[derive(Clone, Copy, Debug)]
pub struct StackPlan {
    /// Entry `rsp` is `STACK_TOP - entry_down` (≡ 8 mod 16, < one page).
    pub entry_down: u64,
    /// Read-write pages below `STACK_TOP`; `None` means enough for the
    /// policy's whole frame (then a guard fault is a violation too).
    pub pages: Option<u64>,
}

/// Everything one oracle run needs.
#[derive(Clone, Debug)]
pub struct Plan<'a> {
    pub code: &'a [u8],
    pub sig: Signature,
    pub policy: &'a Policy,
    /// Register inputs of the two calls (slot 4 is ignored: flags below).
    pub regs: [[u64; 16]; 2],
    pub flags: [u64; 2],
    /// Seeds of the stack garbage and the callee's clobber value per call.
    pub garbage: [u64; 2],
    pub stack: StackPlan,
    /// Windows of the first [`WINDOWS`] pointer parameters.
    pub windows: Vec<Window>,
    /// One per buffer parameter, in parameter order (see [`call_regs`]).
    pub buffers: Vec<BufferRun>,
    pub layout: Layout,
    /// User CPU time the two calls may take together.
    pub cpu_limit_ms: u64,
    /// Place the code so it ends at a guard page (only without allowed
    /// calls: `call rel32` needs the code at `CODE_BASE`); else it starts
    /// right above one.
    pub code_at_page_end: bool,
}

impl<'a> Plan<'a> {
    /// Random inputs ([`inputs`]) and window contents (windows flush with
    /// their upper or lower guard at random), buffers with random counts
    /// ([`random_counts`]) in a random [`Layout`]; the whole frame mapped,
    /// entry `rsp` right below the upper guard, code at [`CODE_BASE`].
    ///
    /// # Panics
    /// If a constant extent is larger than the oracle lays out ([`BUFFER_MAX`]).
    pub fn new(rng: &mut Rng, code: &'a [u8], sig: Signature, policy: &'a Policy) -> Plan<'a> {
        let pointers = sig
            .full_params()
            .filter(|p| *p == Param::Scalar(SigType::Pointer))
            .count();
        let windows: Vec<Window> = (0..pointers.min(WINDOWS))
            .map(|_| Window {
                init: (0..policy.pointer_window.min(WINDOW_MAX as u32))
                    .map(|_| rng.next() as u8)
                    .collect(),
                flush_high: rng.chance(2),
            })
            .collect();
        let (regs, flags) = inputs(rng, &sig, &windows);
        let counts = random_counts(rng, &sig);
        let buffers = buffers_with(rng, &sig, &counts).unwrap_or_else(|e| panic!("{e}"));
        let layout = if rng.chance(2) {
            Layout::EndsAtGuard
        } else {
            Layout::StartsAfterGuard
        };
        Plan {
            code,
            sig,
            policy,
            regs,
            flags,
            garbage: [rng.next(), rng.next()],
            stack: StackPlan {
                entry_down: 8,
                pages: None,
            },
            windows,
            buffers,
            layout,
            cpu_limit_ms: 100,
            code_at_page_end: false,
        }
    }
}

/// Where the plan's code runs.
pub fn code_addr(plan: &Plan) -> u64 {
    if plan.code_at_page_end && plan.policy.allowed_calls.is_empty() {
        CALLEE - plan.code.len() as u64
    } else {
        CODE_BASE
    }
}

/// What a run showed. Everything but [`Observed::Violation`] is acceptable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// Both calls returned and every check passed.
    Returned,
    /// A fault in the guard page right below a stack shorter than the frame.
    StackOverflow,
    /// `SIGFPE` under a policy that allows division.
    DivideTrap,
    /// The CPU-time limit ran out although the code could still return, and
    /// the validator's bound for these arguments does not say it had to
    /// return in time (`oracle/time_bound.rs`): long, inconclusive (a
    /// violation for loop-free code: callers decide).
    Timeout,
    /// Broken behaviour, described.
    Violation(String),
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Violation(why) => f.write_str(why),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Small deterministic generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
    pub fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Bytes the policy lets code reach below entry `rsp` (frame + red zone).
pub fn reach(policy: &Policy) -> u64 {
    u64::from(policy.max_frame.min(npk_jit::MAX_FRAME_LIMIT))
        + if policy.allow_red_zone { 128 } else { 0 }
}

/// Lowest address legitimate code (or the allowed callee) may touch.
fn reach_low(plan: &Plan) -> u64 {
    let callee = if plan.policy.allowed_calls.is_empty() {
        0
    } else {
        u64::from(CALLEE_STACK)
    };
    entry_rsp(plan) - reach(plan.policy) - callee
}

pub fn entry_rsp(plan: &Plan) -> u64 {
    STACK_TOP - plan.stack.entry_down
}

/// Read-write stack pages of the plan.
fn stack_pages(plan: &Plan) -> u64 {
    let full = (STACK_TOP - reach_low(plan)).div_ceil(PAGE as u64);
    plan.stack.pages.map_or(full, |p| p.clamp(1, full))
}

/// Address of pointer parameter `i`'s window.
pub fn window_addr(i: usize, w: &Window) -> u64 {
    let data = WINDOW_BASE + i as u64 * WINDOW_SPAN + PAGE as u64;
    if w.flush_high {
        data + WINDOW_MAX as u64 - w.init.len() as u64
    } else {
        data
    }
}

/// Random inputs for `sig`: arguments identical in both calls (pointer
/// arguments point at their windows; buffer arguments and extents are set
/// by [`call_regs`] when the plan runs), everything else different.
pub fn inputs(rng: &mut Rng, sig: &Signature, windows: &[Window]) -> ([[u64; 16]; 2], [u64; 2]) {
    let mut regs = [[0u64; 16]; 2];
    for call in &mut regs {
        for r in call.iter_mut() {
            *r = rng.next();
        }
    }
    let mut ptr = 0;
    for (i, p) in sig.full_params().enumerate() {
        let r = ARG_REGS[i];
        match p.ty() {
            SigType::Int64 | SigType::Uint64 => regs[1][r] = regs[0][r],
            SigType::Int32 | SigType::Uint32 => {
                regs[1][r] = (regs[1][r] & !0xffff_ffff) | (regs[0][r] & 0xffff_ffff);
            }
            SigType::Pointer if matches!(p, Param::Buffer(_)) => regs[1][r] = regs[0][r],
            SigType::Pointer => {
                let a = windows.get(ptr).map_or(0, |w| window_addr(ptr, w));
                ptr += 1;
                regs[0][r] = a;
                regs[1][r] = a;
            }
            // Not a parameter type.
            SigType::Nil => {}
        }
    }
    // Only the six arithmetic flags vary; TF, DF and AC stay clear.
    let flags = [0x202 | (rng.next() & 0x8d5), 0x202 | (rng.next() & 0x8d5)];
    (regs, flags)
}

/// The allowed callee: checks `rsp` alignment, returns `2*rdi+1`, clobbers
/// every caller-saved register and 64 bytes below its `rsp` with the value in
/// its data page.
fn callee_bytes() -> Vec<u8> {
    let mut c = vec![
        0x48,
        0x89,
        0xe0, // mov rax, rsp
        0x83,
        0xe0,
        0x0f, // and eax, 15
        0x83,
        0xf8,
        0x08, // cmp eax, 8
        0x74,
        0x0c, // je ok
        0xb8,
        0x3c,
        0,
        0,
        0, // mov eax, SYS_exit
        0xbf,
        MISALIGNED_CALL as u8,
        0,
        0,
        0, // mov edi, MISALIGNED_CALL
        0x0f,
        0x05, // syscall
        0x48,
        0x8b,
        0x05,
        0,
        0,
        0,
        0, // ok: mov rax, [rip + data]
    ];
    let disp = (CALLEE_DATA - (CALLEE + c.len() as u64)) as u32;
    let n = c.len();
    c[n - 4..].copy_from_slice(&disp.to_le_bytes());
    c.extend_from_slice(&[
        0x48, 0x89, 0xc1, 0x48, 0x89, 0xc2, 0x48, 0x89, 0xc6, // mov rcx/rdx/rsi, rax
        0x49, 0x89, 0xc0, 0x49, 0x89, 0xc1, 0x49, 0x89, 0xc2, 0x49, 0x89, 0xc3, // r8-r11
        0x48, 0x89, 0x44, 0x24, 0xf8, // mov [rsp-8], rax
        0x48, 0x89, 0x44, 0x24, 0xc0, // mov [rsp-64], rax
        0x48, 0x01, 0xc0, // add rax, rax (flags)
        0x48, 0x8d, 0x44, 0x3f, 0x01, // lea rax, [rdi+rdi+1]
        0x48, 0x89, 0xcf, // mov rdi, rcx
        0xc3,
    ]);
    c
}

/// Garbage for the 8-byte-aligned word at `word` and seed `seed`.
fn garbage_word(word: u64, seed: u64) -> u64 {
    let mut x = (word ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 32)
}

/// Stack garbage byte at `addr` for seed `seed` (a byte of its word's garbage).
fn garbage_byte(addr: u64, seed: u64) -> u8 {
    (garbage_word(addr & !7, seed) >> (8 * (addr & 7))) as u8
}

/// Runs the plan in a child and judges what happened.
pub fn run(plan: &Plan) -> Observed {
    run_counting(plan, false).0
}

/// Runs `plan` like [`run`] with the trap flag set during both calls, and
/// counts the instructions of the code each call executed: a single-step
/// trap whose `rip` lands inside the code follows the `call` into it or one
/// of its instructions that is not the final `ret`, so for code without
/// calls the count is exact. About a microsecond and a half per
/// instruction: for small counts only (the CPU-time limit still applies).
pub fn count_steps(plan: &Plan) -> (Observed, [u64; 2]) {
    assert!(
        plan.policy.allowed_calls.is_empty() && plan.sig.uses().is_empty(),
        "counting steps of code that calls out"
    );
    run_counting(plan, true)
}

fn run_counting(plan: &Plan, count: bool) -> (Observed, [u64; 2]) {
    assert!(plan.code.len() <= CODE_MAX, "code too large for the oracle");
    assert!(
        plan.windows.len() <= WINDOWS && plan.windows.iter().all(|w| w.init.len() <= WINDOW_MAX)
    );
    assert!(
        plan.buffers.len() <= BUFFERS
            && plan
                .buffers
                .iter()
                .all(|b| b.bytes() <= BUFFER_MAX as u64 && b.init.len() as u64 == b.bytes()),
        "buffers the oracle cannot lay out"
    );
    let size = std::mem::size_of::<Shared>();
    // SAFETY: anonymous shared mapping, checked below, unmapped at the end.
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
    assert!(shared != libc::MAP_FAILED, "mmap of the result page failed");
    let shared = shared.cast::<Shared>();
    // SAFETY: fork in a test; the child makes raw system calls only and leaves
    // with SYS_exit, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: in the child; see `child`.
        unsafe { child(plan, shared, count) }
    }
    let mut status = 0;
    // SAFETY: reaping our own child; the child has a wall-clock alarm.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid failed");
    // SAFETY: the child is gone; the mapping is ours and fully written or zero.
    let result = unsafe { (judge(plan, &*shared, status), (*shared).steps) };
    // SAFETY: unmapping what we mapped above.
    unsafe { libc::munmap(shared.cast(), size) };
    result
}

unsafe fn exit_now(code: i32) -> ! {
    loop {
        // SAFETY: SYS_exit ends this single-threaded child; seccomp strict allows it.
        unsafe { libc::syscall(libc::SYS_exit, code) };
    }
}

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: installed with SA_SIGINFO, so both pointers are the kernel's;
    // SHARED was set before the handler was installed.
    unsafe {
        let s = SHARED;
        (*s).signal = sig as u64;
        (*s).addr = (*info).si_addr() as u64;
        let uc = ctx.cast::<libc::ucontext_t>();
        (*s).rip = (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
        (*s).rsp = (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] as u64;
        (*s).err = (*uc).uc_mcontext.gregs[libc::REG_ERR as usize] as u64;
        exit_now(FAULTED)
    }
}

/// The code's address range in the child, for [`on_step`].
static mut CHILD_CODE: (u64, u64) = (0, 0);

/// `SIGTRAP` of a counting run: one instruction executed; counted if the
/// next one is in the code (see [`count_steps`]).
extern "C" fn on_step(_: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: SHARED and CHILD_CODE were set before the handler was
    // installed; `ctx` is the kernel's (SA_SIGINFO).
    unsafe {
        let s = SHARED;
        let uc = ctx.cast::<libc::ucontext_t>();
        let rip = (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
        let (lo, hi) = CHILD_CODE;
        let call = (*s).stage as usize;
        if (lo..hi).contains(&rip) && (1..=2).contains(&call) {
            (*s).steps[call - 1] += 1;
        }
    }
}

/// The plan the child runs, for [`on_timeout`].
static mut CHILD_PLAN: *const () = std::ptr::null();

/// `SIGVTALRM`: the call ran out of CPU time; note where it was and check
/// the canaries (a hang that wrote where it must not, or that sits where
/// no `ret` can be reached, is a violation, not a timeout).
extern "C" fn on_timeout(_: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: SHARED and CHILD_PLAN were set before the handler was
    // installed; the plan outlives the child, which never returns; `ctx`
    // is the kernel's (SA_SIGINFO).
    unsafe {
        let s = SHARED;
        let uc = ctx.cast::<libc::ucontext_t>();
        (*s).rip = (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
        let call = ((*s).stage as usize).clamp(1, 2) - 1;
        let plan = &*CHILD_PLAN.cast::<Plan>();
        (*s).canary[call] = canaries(plan, call).unwrap_or(0);
        exit_now(TIMED_OUT)
    }
}

/// Maps `len` bytes at exactly `addr` with `prot`, or leaves.
unsafe fn map_at(addr: u64, len: u64, prot: libc::c_int) {
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping.
    let p = unsafe { libc::mmap(addr as *mut _, len as usize, prot, flags, -1, 0) };
    if p as u64 != addr {
        // SAFETY: leaving the child.
        unsafe { exit_now(SETUP_FAILED) }
    }
}

unsafe fn protect(addr: u64, len: u64, prot: libc::c_int) {
    // SAFETY: addr..addr+len lies in a mapping made by `map_at`.
    if unsafe { libc::mprotect(addr as *mut _, len as usize, prot) } != 0 {
        // SAFETY: leaving the child.
        unsafe { exit_now(SETUP_FAILED) }
    }
}

/// The child: lay out memory, install handlers and limits, call twice, exit.
unsafe fn child(plan: &Plan, shared: *mut Shared, count: bool) -> ! {
    // SAFETY: single-threaded child; every address written is mapped here first.
    unsafe {
        SHARED = shared;
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        // A guard page, the code (rest filled with int3), the callee (or a
        // guard page when the code ends flush against it), the callee's data.
        map_at(CODE_BASE - PAGE as u64, PAGE as u64, libc::PROT_NONE);
        map_at(CODE_BASE, 0x10000 + 2 * PAGE as u64, rw);
        std::ptr::write_bytes(CODE_BASE as *mut u8, 0xcc, 0x10000 + PAGE);
        let at = code_addr(plan);
        std::ptr::copy_nonoverlapping(plan.code.as_ptr(), at as *mut u8, plan.code.len());
        let callee = callee_bytes();
        std::ptr::copy_nonoverlapping(callee.as_ptr(), CALLEE as *mut u8, callee.len());
        let rx = libc::PROT_READ | libc::PROT_EXEC;
        protect(CODE_BASE, 0x10000 + PAGE as u64, rx);
        if at != CODE_BASE {
            protect(CALLEE, PAGE as u64, libc::PROT_NONE);
        }
        // Stack: [clash region][guard][pages rw][STACK_TOP: guard page].
        let low = STACK_TOP - STACK_RESERVE;
        map_at(low, STACK_RESERVE + PAGE as u64, libc::PROT_NONE);
        let pages = stack_pages(plan);
        let bottom = STACK_TOP - pages * PAGE as u64;
        protect(bottom, pages * PAGE as u64, rw);
        // Windows: [guard][WINDOW_MAX data][guard] each.
        for i in 0..plan.windows.len() {
            let region = WINDOW_BASE + i as u64 * WINDOW_SPAN;
            map_at(region, WINDOW_MAX as u64 + 2 * PAGE as u64, libc::PROT_NONE);
            protect(region + PAGE as u64, WINDOW_MAX as u64, rw);
        }
        if !buffers::map_buffers(plan) {
            exit_now(SETUP_FAILED);
        }
        CHILD_PLAN = std::ptr::from_ref(plan).cast();
        // Fault handlers on their own stack.
        let alt = libc::mmap(
            std::ptr::null_mut(),
            0x10000,
            rw,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if alt == libc::MAP_FAILED {
            exit_now(SETUP_FAILED);
        }
        let ss = libc::stack_t {
            ss_sp: alt,
            ss_flags: 0,
            ss_size: 0x10000,
        };
        if libc::sigaltstack(&ss, std::ptr::null_mut()) != 0 {
            exit_now(SETUP_FAILED);
        }
        for sig in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGTRAP,
        ] {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                exit_now(SETUP_FAILED);
            }
        }
        if count {
            CHILD_CODE = (at, at + plan.code.len() as u64);
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_step as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            if libc::sigaction(libc::SIGTRAP, &sa, std::ptr::null_mut()) != 0 {
                exit_now(SETUP_FAILED);
            }
        }
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_timeout as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        if libc::sigaction(libc::SIGVTALRM, &sa, std::ptr::null_mut()) != 0 {
            exit_now(SETUP_FAILED);
        }
        // Limits: user CPU time for hangs, wall time as a backstop.
        let cpu = plan.cpu_limit_ms;
        let timer = |ms: u64| libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: (ms / 1000) as _,
                tv_usec: ((ms % 1000) * 1000) as _,
            },
        };
        if libc::setitimer(
            libc::ITIMER_REAL,
            &timer(cpu * 50 + 10_000),
            std::ptr::null_mut(),
        ) != 0
            || libc::setitimer(libc::ITIMER_VIRTUAL, &timer(cpu), std::ptr::null_mut()) != 0
        {
            exit_now(SETUP_FAILED);
        }
        ORACLE_TARGET = at;
        let writable_windows = plan.policy.pointer_access == PointerAccess::ReadWrite;
        for (i, w) in plan.windows.iter().enumerate() {
            let data = WINDOW_BASE + i as u64 * WINDOW_SPAN + PAGE as u64;
            fill(data, data + WINDOW_MAX as u64, WINDOW_SEED);
            let p = window_addr(i, w);
            std::ptr::copy_nonoverlapping(w.init.as_ptr(), p as *mut u8, w.init.len());
            if !writable_windows {
                protect(data, WINDOW_MAX as u64, libc::PROT_READ);
            }
        }
        if libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_STRICT as libc::c_ulong,
        ) != 0
        {
            exit_now(SETUP_FAILED);
        }
        let entry = entry_rsp(plan);
        let regs = call_regs(plan);
        for call in 0..2 {
            let seed = plan.garbage[call];
            fill(bottom, STACK_TOP, seed);
            *(CALLEE_DATA as *mut u64) = seed;
            if writable_windows {
                for (i, w) in plan.windows.iter().enumerate() {
                    let p = window_addr(i, w);
                    std::ptr::copy_nonoverlapping(w.init.as_ptr(), p as *mut u8, w.init.len());
                }
            }
            buffers::refill(plan, call);
            let mut regs = regs[call];
            regs[RSP] = plan.flags[call] | if count { 0x100 } else { 0 };
            ORACLE_IN = regs;
            (*shared).stage = call as u64 + 1;
            npk_oracle_enter(entry + 8);
            (*shared).out[call] = ORACLE_OUT;
            (*shared).canary[call] = canaries(plan, call).unwrap_or(0);
        }
        (*shared).stage = 3;
        exit_now(DONE)
    }
}

/// Child, after call `call`: the first byte it changed that it must not
/// have (stack out of reach, the caller's frame, around the windows, buffer
/// slack); copies the windows' and buffers' contents into the report.
///
/// # Safety
/// In the oracle child after the layout of `plan` was mapped and filled.
unsafe fn canaries(plan: &Plan, call: usize) -> Option<u64> {
    let seed = plan.garbage[call];
    let bottom = STACK_TOP - stack_pages(plan) * PAGE as u64;
    let low_ok = reach_low(plan).max(bottom);
    let entry = entry_rsp(plan);
    // SAFETY: every range named is mapped readable by `child`; SHARED is the
    // report page.
    unsafe {
        let shared = SHARED;
        let mut bad = changed(bottom, low_ok, seed).or_else(|| changed(entry + 8, STACK_TOP, seed));
        for (i, w) in plan.windows.iter().enumerate() {
            let data = WINDOW_BASE + i as u64 * WINDOW_SPAN + PAGE as u64;
            let p = window_addr(i, w);
            let end = p + w.init.len() as u64;
            bad = bad
                .or_else(|| changed(data, p, WINDOW_SEED))
                .or_else(|| changed(end, data + WINDOW_MAX as u64, WINDOW_SEED));
            let got = std::slice::from_raw_parts(p as *const u8, w.init.len());
            (&mut (*shared).windows[call][i])[..got.len()].copy_from_slice(got);
        }
        let slack = buffers::collect(plan, call, shared);
        bad.or(slack)
    }
}

/// Seed of the bytes around pointer windows.
const WINDOW_SEED: u64 = 0x5555_aaaa;

/// Fills `[from, to)` (mapped, writable) with [`garbage_byte`]s, a word at
/// a time where it can (the oracle's hot loop, in a debug build).
unsafe fn fill(from: u64, to: u64, seed: u64) {
    let mut a = from;
    while a < to && !a.is_multiple_of(8) {
        // SAFETY: the caller names a mapped writable range.
        unsafe { *(a as *mut u8) = garbage_byte(a, seed) };
        a += 1;
    }
    while a + 8 <= to {
        // SAFETY: an aligned word that ends at or before `to`.
        unsafe { *(a as *mut u64) = garbage_word(a, seed) };
        a += 8;
    }
    while a < to {
        // SAFETY: the caller names a mapped writable range.
        unsafe { *(a as *mut u8) = garbage_byte(a, seed) };
        a += 1;
    }
}

/// First byte of `[from, to)` that no longer holds its [`garbage_byte`].
unsafe fn changed(from: u64, to: u64, seed: u64) -> Option<u64> {
    // SAFETY: the caller names a mapped readable range.
    let byte = |a: u64| unsafe { *(a as *const u8) } != garbage_byte(a, seed);
    let mut a = from;
    while a < to && !a.is_multiple_of(8) {
        if byte(a) {
            return Some(a);
        }
        a += 1;
    }
    while a + 8 <= to {
        // SAFETY: aligned word inside the caller's readable range.
        if unsafe { *(a as *const u64) } != garbage_word(a, seed) {
            return (a..a + 8).find(|&b| byte(b));
        }
        a += 8;
    }
    (a..to).find(|&b| byte(b))
}
