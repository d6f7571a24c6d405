//! Buffer parameters in the execution oracle (SPEC §8.1–8.2).
//!
//! In: the buffer parameters of a signature and the element counts the
//! caller promises. Out: [`BufferRun`]s for a [`Plan`], the child's mappings,
//! and verdicts that name the buffer ("read past the end of buffer 0").
//! Each buffer gets its own [`BUFFER_SPAN`] of address space at
//! [`BUFFER_BASE`], `PROT_NONE` except the pages that hold its bytes, which
//! are read-only unless the parameter is `mut`. In [`Layout::EndsAtGuard`]
//! the byte after the buffer is the first byte of a `PROT_NONE` page; in
//! [`Layout::StartsAfterGuard`] the byte before it is the last byte of one.
//! The rest of the buffer's pages (the slack) holds garbage that differs
//! between the two calls and is checked after each: a write there is named,
//! a read there shows as a result that depends on undefined inputs. An empty
//! buffer (count 0 or negative) has no pages: any access faults. The pages
//! are a memfd mapped twice, the view the code sees and a writable alias the
//! child refills between calls (after seccomp no `mprotect` is possible).

use npk_jit::{Buffer, Elem, Extent, Param, SigType, Signature};

use super::{ARG_REGS, Observed, PAGE, Plan, Rng, Shared, run};

/// First buffer span.
pub const BUFFER_BASE: u64 = 0x2300_0000_0000;
/// Address space per buffer parameter.
pub const BUFFER_SPAN: u64 = 0x40000;
/// Offset of the first data page in a span (the pages below are `PROT_NONE`).
const BUFFER_DATA: u64 = 0x10000;
/// Largest buffer the oracle lays out, in bytes.
pub const BUFFER_MAX: usize = 0x8000;
/// At most one buffer per parameter register.
pub const BUFFERS: usize = 6;
/// Where the writable aliases of the buffer pages live (one span each).
const ALIAS_BASE: u64 = 0x2400_0000_0000;

/// Element counts a sweep gives an extent parameter; negative ones only to
/// `int64` extents (an empty buffer), where a `uint64` extent gets 5. `-1`
/// stands for one of [`NEGATIVE`]; `-2^60` makes `xs + n*size` wrap around
/// for every element size.
pub const COUNTS: [i64; 10] = [0, 1, 2, 3, 7, 16, 100, 300, -1, -(1 << 60)];
/// Negative counts tried in place of `-1`.
const NEGATIVE: [i64; 3] = [-1, -8, i64::MIN];

/// Where a buffer sits against its guard pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The byte after the buffer is `PROT_NONE`.
    EndsAtGuard,
    /// The byte before the buffer is `PROT_NONE`.
    StartsAfterGuard,
}

impl Layout {
    pub const BOTH: [Layout; 2] = [Layout::EndsAtGuard, Layout::StartsAfterGuard];

    fn text(self) -> &'static str {
        match self {
            Layout::EndsAtGuard => "ends at a guard page",
            Layout::StartsAfterGuard => "starts after a guard page",
        }
    }
}

/// One buffer parameter as laid out for a run.
#[derive(Clone, Debug)]
pub struct BufferRun {
    /// Parameter index (its register is `ARG_REGS[param]`).
    pub param: usize,
    pub buffer: Buffer,
    /// Elements promised: the constant extent, or the extent register's value.
    pub count: i64,
    /// Contents, `max(count, 0) * size` bytes.
    pub init: Vec<u8>,
}

impl BufferRun {
    /// Bytes the caller promises.
    pub fn bytes(&self) -> u64 {
        u64::try_from(self.count).map_or(0, |c| c * u64::from(self.buffer.elem.size()))
    }

    fn describe(&self, i: usize, layout: Layout) -> String {
        format!(
            "buffer {i} ({}{}[{}], {}, {})",
            if self.buffer.mutable { "mut " } else { "" },
            self.buffer.elem.name(),
            self.count,
            if self.bytes() == 0 {
                "no bytes".to_string()
            } else {
                format!("{} bytes", self.bytes())
            },
            layout.text()
        )
    }
}

/// The buffer parameters of `sig` with their index.
pub fn buffer_params(sig: &Signature) -> Vec<(usize, Buffer)> {
    sig.full_params()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Param::Buffer(b) => Some((i, b)),
            Param::Scalar(_) => None,
        })
        .collect()
}

/// How many fill styles [`contents`] knows.
pub const STYLES: u64 = 6;

/// Contents for `count` elements of `elem` in fill style `style` (modulo
/// [`STYLES`]): 0 and 1 random bytes, 2 bytes counting down from 0xff (a
/// byte-indexed 256-entry table lookup hits its last entry first and every
/// entry once the buffer has 256 bytes), 3 all ones, 4 zeros, 5 small
/// elements (0-7; a zero byte now and then, for `strlen`-like loops).
pub fn contents(rng: &mut Rng, elem: Elem, count: i64, style: u64) -> Vec<u8> {
    let n = usize::try_from(count).unwrap_or(0) * usize::from(elem.size());
    let style = style % STYLES;
    (0..n)
        .map(|k| match style {
            0 | 1 => rng.next() as u8,
            2 => 0xff - (k % 256) as u8,
            3 => 0xff,
            4 => 0,
            _ if k % usize::from(elem.size()) == 0 => rng.below(8) as u8,
            _ => 0,
        })
        .collect()
}

/// Buffers for `sig` with `counts[k]` elements for extent parameter `k`
/// (entries of other parameters are ignored; constant extents are exact).
///
/// # Errors
/// A buffer larger than [`BUFFER_MAX`] (the oracle cannot lay it out).
pub fn buffers_with(
    rng: &mut Rng,
    sig: &Signature,
    counts: &[i64; 6],
) -> Result<Vec<BufferRun>, String> {
    buffer_params(sig)
        .into_iter()
        .map(|(param, buffer)| {
            let count = match buffer.extent {
                Extent::Count(n) => i64::try_from(n).unwrap_or(i64::MAX),
                Extent::Param(k) => counts[usize::from(k)],
            };
            let run = BufferRun {
                param,
                buffer,
                count,
                init: Vec::new(),
            };
            if run.bytes() > BUFFER_MAX as u64 {
                return Err(format!(
                    "buffer parameter {param} needs {} bytes; the oracle lays out at most {BUFFER_MAX}",
                    run.bytes()
                ));
            }
            let style = rng.below(STYLES);
            Ok(BufferRun {
                init: contents(rng, buffer.elem, count, style),
                ..run
            })
        })
        .collect()
}

/// A count from [`COUNTS`] (index `i` modulo its length) fit for an extent
/// parameter of type `t`.
fn count_for(t: Option<SigType>, i: usize) -> i64 {
    match COUNTS[i % COUNTS.len()] {
        c if c >= 0 => c,
        _ if t != Some(SigType::Int64) => 5,
        // Each pass over COUNTS takes the next negative count.
        -1 => NEGATIVE[(i / COUNTS.len()) % NEGATIVE.len()],
        c => c,
    }
}

/// Random counts for the extent parameters of `sig`.
pub fn random_counts(rng: &mut Rng, sig: &Signature) -> [i64; 6] {
    let mut counts = [0; 6];
    for (k, c) in counts.iter_mut().enumerate() {
        let i = rng.below(COUNTS.len() as u64) as usize;
        *c = count_for(sig.params().nth(k), i);
    }
    counts
}

/// Address of buffer `i` (the `i`-th buffer parameter) in `layout`.
pub fn buffer_addr(i: usize, run: &BufferRun, layout: Layout) -> u64 {
    let data = BUFFER_BASE + i as u64 * BUFFER_SPAN + BUFFER_DATA;
    match layout {
        Layout::EndsAtGuard => data + data_len(run) - run.bytes(),
        Layout::StartsAfterGuard => data,
    }
}

/// Bytes of whole pages holding the buffer.
fn data_len(run: &BufferRun) -> u64 {
    run.bytes().next_multiple_of(PAGE as u64)
}

/// The two calls' registers with buffer arguments pointing at their buffers
/// and extent parameters holding their counts.
pub fn call_regs(plan: &Plan) -> [[u64; 16]; 2] {
    let mut regs = plan.regs;
    for (i, b) in plan.buffers.iter().enumerate() {
        let a = buffer_addr(i, b, plan.layout);
        for call in &mut regs {
            call[ARG_REGS[b.param]] = a;
            if let Extent::Param(k) = b.buffer.extent {
                call[ARG_REGS[usize::from(k)]] = b.count as u64;
            }
        }
    }
    regs
}

/// Seed of the slack garbage of `call`.
fn slack_seed(plan: &Plan, call: usize) -> u64 {
    plan.garbage[call] ^ 0x0b0f_fe25
}

/// Child: maps every buffer (view and alias) before seccomp.
///
/// # Safety
/// In the oracle child, before seccomp; the spans are free.
pub(super) unsafe fn map_buffers(plan: &Plan) -> bool {
    for (i, b) in plan.buffers.iter().enumerate() {
        let span = BUFFER_BASE + i as u64 * BUFFER_SPAN;
        // SAFETY: fixed free range, PROT_NONE.
        unsafe { super::map_at(span, BUFFER_SPAN, libc::PROT_NONE) };
        let len = data_len(b);
        if len == 0 {
            continue;
        }
        // SAFETY: a fresh memfd sized to the data, mapped over the span's
        // data pages (MAP_FIXED inside our own PROT_NONE span) and at the
        // alias span; both mappings are checked.
        unsafe {
            let fd = libc::memfd_create(c"npk-oracle-buffer".as_ptr(), 0);
            if fd < 0 || libc::ftruncate(fd, len as libc::off_t) != 0 {
                return false;
            }
            let prot = if b.buffer.mutable {
                libc::PROT_READ | libc::PROT_WRITE
            } else {
                libc::PROT_READ
            };
            let view = span + BUFFER_DATA;
            let alias = ALIAS_BASE + i as u64 * BUFFER_SPAN;
            let shared = libc::MAP_SHARED | libc::MAP_FIXED;
            let rw = libc::PROT_READ | libc::PROT_WRITE;
            let v = libc::mmap(view as *mut _, len as usize, prot, shared, fd, 0);
            let a = libc::mmap(alias as *mut _, len as usize, rw, shared, fd, 0);
            libc::close(fd);
            if v as u64 != view || a as u64 != alias {
                return false;
            }
        }
    }
    true
}

/// The alias address of view address `addr` in buffer `i`'s data.
fn alias(i: usize, addr: u64) -> u64 {
    addr - (BUFFER_BASE + i as u64 * BUFFER_SPAN + BUFFER_DATA)
        + ALIAS_BASE
        + i as u64 * BUFFER_SPAN
}

/// Child: refills every buffer's slack and contents for `call`.
///
/// # Safety
/// After [`map_buffers`] succeeded.
pub(super) unsafe fn refill(plan: &Plan, call: usize) {
    let seed = slack_seed(plan, call);
    for (i, b) in plan.buffers.iter().enumerate() {
        let data = BUFFER_BASE + i as u64 * BUFFER_SPAN + BUFFER_DATA;
        let a = alias(i, data);
        // SAFETY: the alias maps `data_len` writable bytes.
        unsafe { super::fill(a, a + data_len(b), seed) };
        let p = alias(i, buffer_addr(i, b, plan.layout));
        // SAFETY: `init` has `bytes()` bytes, inside the alias.
        unsafe { std::ptr::copy_nonoverlapping(b.init.as_ptr(), p as *mut u8, b.init.len()) };
    }
}

/// Child: the first slack byte (view address) `call` changed, and copies
/// each buffer's contents into the report.
///
/// # Safety
/// After [`refill`] for this call.
pub(super) unsafe fn collect(plan: &Plan, call: usize, shared: *mut Shared) -> Option<u64> {
    let seed = slack_seed(plan, call);
    let mut bad = None;
    for (i, b) in plan.buffers.iter().enumerate() {
        let data = BUFFER_BASE + i as u64 * BUFFER_SPAN + BUFFER_DATA;
        let p = buffer_addr(i, b, plan.layout);
        let end = p + b.bytes();
        let (a, ap, aend, adata_end) = (
            alias(i, data),
            alias(i, p),
            alias(i, end),
            alias(i, data + data_len(b)),
        );
        // SAFETY: all inside the alias mapping; `shared` is the report page.
        unsafe {
            bad = bad
                .or_else(|| super::changed(a, ap, seed))
                .or_else(|| super::changed(aend, adata_end, seed))
                .map(|x| x - ALIAS_BASE - i as u64 * BUFFER_SPAN + data);
            let got = std::slice::from_raw_parts(ap as *const u8, b.init.len());
            (&mut (*shared).buffers[call][i])[..got.len()].copy_from_slice(got);
        }
        if bad.is_some() {
            break;
        }
    }
    bad
}

/// Names a fault at `addr` if it lies in a buffer span (`write`: the page
/// fault was a write).
pub(super) fn fault_place(plan: &Plan, addr: u64, write: bool) -> Option<String> {
    let (i, b) = span_of(plan, addr)?;
    let p = buffer_addr(i, b, plan.layout);
    let end = p + b.bytes();
    let what = if write { "store" } else { "read" };
    let desc = b.describe(i, plan.layout);
    Some(if addr >= end {
        format!(
            "{what} past the end of {desc}: address end{}",
            rel(addr, end)
        )
    } else if addr < p {
        format!(
            "{what} before the start of {desc}: address start{}",
            rel(addr, p)
        )
    } else if write && !b.buffer.mutable {
        format!("store into read-only {desc}: address start{}", rel(addr, p))
    } else {
        format!("fault inside {desc}: address start{}", rel(addr, p))
    })
}

/// Names a changed slack byte at `addr`.
pub(super) fn canary_place(plan: &Plan, addr: u64) -> Option<String> {
    let (i, b) = span_of(plan, addr)?;
    let p = buffer_addr(i, b, plan.layout);
    let desc = b.describe(i, plan.layout);
    Some(if addr < p {
        format!(
            "wrote before the start of {desc}: address start{}",
            rel(addr, p)
        )
    } else {
        let end = p + b.bytes();
        format!(
            "wrote past the end of {desc}: address end{}",
            rel(addr, end)
        )
    })
}

fn span_of<'p>(plan: &'p Plan, addr: u64) -> Option<(usize, &'p BufferRun)> {
    let i = usize::try_from(addr.checked_sub(BUFFER_BASE)? / BUFFER_SPAN).ok()?;
    plan.buffers.get(i).map(|b| (i, b))
}

fn rel(addr: u64, base: u64) -> String {
    super::rel(addr, base)
}

/// Parent: buffer checks of a finished run (laundering, determinism).
pub(super) fn judge(plan: &Plan, s: &Shared, regs: &[[u64; 16]; 2]) -> Option<String> {
    for (call, regs) in regs.iter().enumerate() {
        // Only a `mut` buffer can change (a store elsewhere faults).
        for (i, b) in plan
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.buffer.mutable)
        {
            let bytes = &s.buffers[call][i][..b.init.len()];
            for &r in &super::CALLEE_SAVED {
                let full = regs[r].to_le_bytes();
                if super::written_run(bytes, &b.init, &full)
                    || super::written_run(bytes, &b.init, &full[..4])
                {
                    return Some(format!(
                        "call {}: entry value of {} laundered into {}",
                        call + 1,
                        super::NAMES[r],
                        b.describe(i, plan.layout)
                    ));
                }
            }
        }
    }
    plan.buffers.iter().enumerate().find_map(|(i, b)| {
        let n = b.init.len();
        (s.buffers[0][i][..n] != s.buffers[1][i][..n]).then(|| {
            format!(
                "contents of {} depend on undefined inputs",
                b.describe(i, plan.layout)
            )
        })
    })
}

/// Gives every scalar parameter that is no extent a value likely to sit on
/// a bound, of the kind `schedule` names (modulo 14): an element count or
/// one off it (the last index three times as often), half a count, 0, -1,
/// a byte value, a small number, an extreme, a value whose upper half is set
/// and low half small (`2^32`, `c << 32`: twice as often), or the random
/// one it had. A
/// 32-bit parameter gets it in its low half (the upper half stays undefined).
pub fn scalar_values(rng: &mut Rng, plan: &mut Plan, schedule: u64) {
    let counts: Vec<i64> = plan.buffers.iter().map(|b| b.count.max(0)).collect();
    let extents: Vec<usize> = plan
        .buffers
        .iter()
        .filter_map(|b| match b.buffer.extent {
            Extent::Param(k) => Some(usize::from(k)),
            Extent::Count(_) => None,
        })
        .collect();
    let mut j = 0;
    for (k, p) in plan.sig.full_params().enumerate() {
        let Param::Scalar(t) = p else { continue };
        if extents.contains(&k) || t == SigType::Pointer {
            continue;
        }
        // The kind of value: `schedule` walks all of them (7 apart per
        // parameter), so a sweep's runs cover every kind for every scalar.
        let kind = schedule.wrapping_add(7 * j) % 14;
        j += 1;
        let c = counts
            .get(rng.below(counts.len() as u64) as usize)
            .copied()
            .unwrap_or(0);
        let v = match kind {
            0..=2 => c.wrapping_sub(1),
            3 => c,
            4 => c + 1,
            5 => c / 2,
            6 => 0,
            7 => -1,
            8 => rng.below(256) as i64,
            9 => rng.below(8) as i64,
            10 => *rng.pick(&[i64::MIN, i64::MAX, -(1 << 31), 1 << 31, 0xffff_ffff]),
            // The upper half set, the low half small (a 32-bit test or
            // compare sees 0, c - 1 or c).
            11 | 12 => *rng.pick(&[1 << 32, (1 << 32) + c.max(1) - 1, c << 32, (c + 1) << 32]),
            _ => continue,
        } as u64;
        let r = ARG_REGS[k];
        for call in &mut plan.regs {
            call[r] = if t.width() == 4 {
                (call[r] & !0xffff_ffff) | (v & 0xffff_ffff)
            } else {
                v
            };
        }
    }
}

/// What a [`sweep`] saw.
#[derive(Clone, Debug, Default)]
pub struct Sweep {
    pub runs: u32,
    pub timeouts: u32,
    pub overflows: u32,
    pub traps: u32,
    /// The first violation, with the counts and layout that showed it.
    pub violation: Option<String>,
}

/// Runs `code` in both layouts for `rounds` choices of element counts (the
/// first round gives every extent parameter 0, later rounds walk
/// [`COUNTS`] from a random start, three apart per extent parameter, so
/// `COUNTS.len()` rounds
/// give each extent parameter every count; round `r` fills every buffer in
/// style `r`, see [`contents`], but one of 256 elements or more in style 2,
/// so a byte-indexed table lookup meets every index). Stops at the first
/// violation.
pub fn sweep(
    rng: &mut Rng,
    code: &[u8],
    sig: Signature,
    policy: &npk_jit::Policy,
    rounds: usize,
) -> Sweep {
    let mut out = Sweep::default();
    // Extent parameters walk COUNTS three apart, so two extents differ in
    // every round (a loop bounded by the wrong one shows).
    let base = rng.below((COUNTS.len() * NEGATIVE.len()) as u64) as usize;
    let schedule = rng.below(14);
    let starts: Vec<usize> = (0..6).map(|k| base + 3 * k).collect();
    for round in 0..rounds {
        let mut counts = [0i64; 6];
        if round > 0 {
            for (k, c) in counts.iter_mut().enumerate() {
                *c = count_for(sig.params().nth(k), starts[k] + round);
            }
        }
        let Ok(mut buffers) = buffers_with(rng, &sig, &counts) else {
            return out;
        };
        for b in &mut buffers {
            // 256 elements or more count down from 0xff: every byte value.
            let style = if b.count >= 256 { 2 } else { round as u64 };
            b.init = contents(rng, b.buffer.elem, b.count, style);
        }
        for (layout_index, layout) in Layout::BOTH.into_iter().enumerate() {
            let mut plan = Plan::new(rng, code, sig, policy);
            plan.buffers.clone_from(&buffers);
            plan.layout = layout;
            // Two stack pages: enough for any kernel, and a deeper frame is
            // a legitimate overflow (or a clash, which is still caught).
            plan.stack.pages = Some(2);
            // 300 elements take microseconds: a hang shows in 20 ms.
            plan.cpu_limit_ms = 20;
            scalar_values(
                rng,
                &mut plan,
                schedule + 2 * round as u64 + layout_index as u64,
            );
            out.runs += 1;
            match run(&plan) {
                Observed::Returned => {}
                Observed::Timeout => out.timeouts += 1,
                Observed::StackOverflow => out.overflows += 1,
                Observed::DivideTrap => out.traps += 1,
                Observed::Violation(why) => {
                    let shown: Vec<String> = buffers
                        .iter()
                        .map(|b| format!("param {} count {}", b.param, b.count))
                        .collect();
                    out.violation =
                        Some(format!("{why} [{}; {}]", shown.join(", "), layout.text()));
                    return out;
                }
            }
        }
    }
    out
}
