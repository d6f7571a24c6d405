//! The oracle's verdict: reads the child's report (exit status, fault
//! address and page-fault error code, registers after each call, canaries,
//! window and buffer contents) and applies every check, in order: how the
//! child ended (signal, fault named by where it hit, timeout), then per
//! call `rsp`, callee-saved registers, DF, canaries, laundered entry values
//! and undefined inputs in the return value or memory, then buffers
//! (`buffers.rs`), then that both calls agree.

use super::{
    ARG_REGS, CALLEE_SAVED, CODE_BASE, DONE, FAULTED, MISALIGNED_CALL, NAMES, Observed, PAGE, Plan,
    RAX, RSP, SETUP_FAILED, STACK_RESERVE, STACK_TOP, Shared, TIMED_OUT, WINDOW_BASE, WINDOW_MAX,
    WINDOW_SPAN, WINDOWS, buffers, call_regs, code_addr, entry_rsp, reach_low, stack_pages,
};
use npk_jit::Signature;

/// Whether `pattern` occurs in `bytes` at a place the call wrote (where
/// `bytes` differs from `init`); untouched random contents never count.
pub(super) fn written_run(bytes: &[u8], init: &[u8], pattern: &[u8]) -> bool {
    let n = pattern.len();
    (0..=bytes.len().saturating_sub(n)).any(|k| {
        bytes.len() >= n && bytes[k..k + n] == *pattern && bytes[k..k + n] != init[k..k + n]
    })
}

/// `addr - base` as `+0x..` or `-0x..`.
pub(super) fn rel(addr: u64, base: u64) -> String {
    let d = addr.wrapping_sub(base) as i64;
    if d < 0 {
        format!("-{:#x}", d.unsigned_abs())
    } else {
        format!("+{d:#x}")
    }
}

/// Masks a value to the return type's width.
fn ret_mask(sig: &Signature) -> u64 {
    match sig.ret().width() {
        0 => 0, // NIL: rax is no result
        4 => 0xffff_ffff,
        _ => u64::MAX,
    }
}

/// Registers whose entry value is undefined data (full width), and 32-bit
/// arguments (upper half undefined).
fn undefined_inputs(sig: &Signature) -> Vec<(usize, u64)> {
    let mut out = Vec::new();
    for r in 0..16 {
        if r == RSP || CALLEE_SAVED.contains(&r) {
            continue;
        }
        match ARG_REGS
            .iter()
            .position(|&a| a == r)
            .and_then(|i| sig.params().nth(i))
        {
            None => out.push((r, u64::MAX)),
            Some(t) if t.width() == 4 => out.push((r, !0xffff_ffff)),
            Some(_) => {}
        }
    }
    out
}

/// Describes a fault address relative to the layout.
fn where_is(plan: &Plan, addr: u64) -> (&'static str, bool) {
    let entry = entry_rsp(plan);
    let pages = stack_pages(plan);
    let bottom = STACK_TOP - pages * PAGE as u64;
    let guard = bottom - PAGE as u64;
    let short = bottom > reach_low(plan);
    if (STACK_TOP..STACK_TOP + PAGE as u64).contains(&addr) {
        ("above the return address (caller's frame)", false)
    } else if (guard..bottom).contains(&addr) {
        if short {
            ("stack overflow into the guard page", true)
        } else {
            ("stack beyond the policy's frame (guard page)", false)
        }
    } else if (STACK_TOP - STACK_RESERVE..guard).contains(&addr) {
        ("stack clash: below the one-page guard", false)
    } else if (WINDOW_BASE..WINDOW_BASE + WINDOWS as u64 * WINDOW_SPAN).contains(&addr) {
        let in_data = (addr - WINDOW_BASE) % WINDOW_SPAN;
        if (PAGE as u64..(PAGE + WINDOW_MAX) as u64).contains(&in_data) {
            ("a read-only pointer window (write)", false)
        } else {
            ("the guard page beside a pointer window", false)
        }
    } else if (CODE_BASE - PAGE as u64..CODE_BASE + 0x20000).contains(&addr) {
        (
            "memory around the code (a guard page, int3 filler or the callee)",
            false,
        )
    } else if addr < entry && addr >= bottom {
        ("the stack", false)
    } else {
        ("an unmapped address", false)
    }
}

/// Describes a changed canary byte at `a`.
fn canary_text(plan: &Plan, a: u64) -> String {
    if let Some(what) = buffers::canary_place(plan, a) {
        return what;
    }
    let entry = entry_rsp(plan);
    let (place, _) = where_is(plan, a);
    let place = if a >= entry + 8 && a < STACK_TOP {
        "the caller's frame above the return address"
    } else {
        place
    };
    format!("wrote {place} (address entry rsp{})", rel(a, entry))
}

/// Reads the child's report and applies every check.
pub(super) fn judge(plan: &Plan, s: &Shared, status: libc::c_int) -> Observed {
    let v = |s: String| Observed::Violation(s);
    if libc::WIFSIGNALED(status) {
        return match libc::WTERMSIG(status) {
            libc::SIGVTALRM | libc::SIGALRM => Observed::Timeout,
            libc::SIGKILL => v("killed by seccomp: made a system call".into()),
            sig => v(format!("killed by signal {sig}")),
        };
    }
    let code = libc::WEXITSTATUS(status);
    let entry = entry_rsp(plan);
    match code {
        DONE => {}
        SETUP_FAILED => panic!("oracle child setup failed (fixed mappings taken?)"),
        MISALIGNED_CALL => {
            return v("called the allowed function with rsp not 16-byte aligned".into());
        }
        TIMED_OUT => {
            let call = (s.stage as usize).clamp(1, 2);
            let at = s.rip.wrapping_sub(code_addr(plan));
            let stuck = (at < plan.code.len() as u64)
                .then(|| super::static_checks::hangs_without_exit(plan.code, at))
                .flatten();
            return match s.canary[call - 1] {
                0 => stuck.map_or_else(
                    || super::time_bound::judge_timeout(plan, call, at),
                    |why| v(format!("call {call} {why}")),
                ),
                a => v(format!(
                    "call {call} ran out of CPU time after it {}",
                    canary_text(plan, a)
                )),
            };
        }
        FAULTED => {
            let rip = s.rip.wrapping_sub(code_addr(plan));
            let at = if rip < plan.code.len() as u64 {
                format!("code+{rip:#x}")
            } else {
                format!("rip {:#x}", s.rip)
            };
            let sig = s.signal as i32;
            let call = s.stage;
            return match sig {
                libc::SIGSEGV => {
                    if let Some(what) = buffers::fault_place(plan, s.addr, s.err & 2 != 0) {
                        return v(format!("SIGSEGV in call {call} at {at}: {what}"));
                    }
                    let (place, legit) = where_is(plan, s.addr);
                    if legit {
                        Observed::StackOverflow
                    } else {
                        v(format!(
                            "SIGSEGV in call {call} at {at}: touched {place} (address entry rsp{}, rsp at the fault entry rsp{})",
                            rel(s.addr, entry),
                            rel(s.rsp, entry)
                        ))
                    }
                }
                libc::SIGFPE if plan.policy.allow_division => Observed::DivideTrap,
                libc::SIGFPE => v(format!(
                    "SIGFPE in call {call} at {at} without allow_division"
                )),
                libc::SIGILL => v(format!("SIGILL in call {call} at {at}")),
                libc::SIGBUS => v(format!("SIGBUS in call {call} at {at}")),
                libc::SIGTRAP => v(format!(
                    "SIGTRAP in call {call} at {at} (ran off the code or int3)"
                )),
                other => v(format!("signal {other} in call {call} at {at}")),
            };
        }
        other => return v(format!("child exited with {other}")),
    }
    let mask = ret_mask(&plan.sig);
    let ptr_windows = plan.windows.len();
    let regs = call_regs(plan);
    for (call, inp) in regs.iter().enumerate() {
        let out = &s.out[call];
        let n = call + 1;
        if out[RSP] != entry + 8 {
            return v(format!(
                "call {n}: rsp after ret is entry rsp{}, not entry rsp+0x8",
                rel(out[RSP], entry)
            ));
        }
        for &r in &CALLEE_SAVED {
            if out[r] != inp[r] {
                return v(format!(
                    "call {n}: callee-saved {} changed ({:#x} -> {:#x})",
                    NAMES[r], inp[r], out[r]
                ));
            }
        }
        if out[16] & 0x400 != 0 {
            return v(format!("call {n}: returned with DF set"));
        }
        if s.canary[call] != 0 {
            return v(format!("call {n}: {}", canary_text(plan, s.canary[call])));
        }
        let rax = out[RAX] & mask;
        for &r in CALLEE_SAVED.iter().filter(|_| mask != 0) {
            if rax == inp[r] & mask {
                return v(format!(
                    "call {n}: entry value of {} laundered into the return value",
                    NAMES[r]
                ));
            }
        }
        for (r, m) in undefined_inputs(&plan.sig) {
            if rax & m == inp[r] & m & mask && inp[r] & m & mask != 0 {
                return v(format!(
                    "call {n}: return value is the undefined entry value of {}",
                    NAMES[r]
                ));
            }
        }
        for (i, w) in plan.windows.iter().enumerate().take(ptr_windows) {
            let bytes = &s.windows[call][i][..w.init.len()];
            for &r in &CALLEE_SAVED {
                let full = inp[r].to_le_bytes();
                if written_run(bytes, &w.init, &full) || written_run(bytes, &w.init, &full[..4]) {
                    return v(format!(
                        "call {n}: entry value of {} laundered into pointer window {i}",
                        NAMES[r]
                    ));
                }
            }
        }
    }
    if let Some(why) = buffers::judge(plan, s, &regs) {
        return v(why);
    }
    if s.out[0][RAX] & mask != s.out[1][RAX] & mask {
        return v(format!(
            "return value depends on undefined inputs ({:#x} vs {:#x} with equal arguments)",
            s.out[0][RAX] & mask,
            s.out[1][RAX] & mask
        ));
    }
    for (i, w) in plan.windows.iter().enumerate() {
        let n = w.init.len();
        if s.windows[0][i][..n] != s.windows[1][i][..n] {
            return v(format!(
                "pointer window {i} contents depend on undefined inputs"
            ));
        }
    }
    Observed::Returned
}
