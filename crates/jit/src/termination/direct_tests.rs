//! [`super::direct_self_loop`] and the one-loop work bound
//! (computed in `check` for a function whose only loop is a self-loop)
//! against the general rule: on
//! pseudo-random functions of one or two self-loops (steps, moves, shifts,
//! `lea`, `imul`, comparisons of registers and immediates at 32 and 64
//! bits, every condition, the test right before the jump or not, `loop`),
//! whole validations with both paths and with the general rule alone give
//! the same result (verdict, violation, `max_steps`), and each kind of
//! answer of the direct path is taken many times.

use crate::test_rng::Rng;

/// Registers the generated code may write (caller-saved, not `rsp`).
const REGS: [u8; 9] = [0, 1, 2, 6, 7, 8, 9, 10, 11];
/// Without a prologue only the parameters are defined.
const PARAMS: [u8; 3] = [7, 6, 2];

fn rex(w: bool, reg: u8, rm: u8) -> u8 {
    0x40 | u8::from(w) << 3 | (reg >> 3) << 2 | rm >> 3
}

/// `rex` only when it says something (for 32-bit forms).
fn rex32(out: &mut Vec<u8>, reg: u8, rm: u8) {
    if reg >= 8 || rm >= 8 {
        out.push(rex(false, reg, rm));
    }
}

fn modrm(reg: u8, rm: u8) -> u8 {
    0xc0 | (reg & 7) << 3 | rm & 7
}

fn small(rng: &mut Rng) -> u8 {
    [1u8, 1, 1, 2, 4, 8, 0xff, 0xfe, 0xf8, 0, 0x7f][rng.below(11)]
}

/// One instruction of a loop body writing registers from `regs`.
fn body_instr(rng: &mut Rng, regs: &[u8], out: &mut Vec<u8>) {
    let r = regs[rng.below(regs.len())];
    let s = regs[rng.below(regs.len())];
    match rng.below(13) {
        0 | 1 => out.extend([rex(true, 0, r), 0x83, modrm(0, r), small(rng)]),
        2 => out.extend([rex(true, 0, r), 0x83, modrm(5, r), small(rng)]),
        3 => {
            rex32(out, 0, r);
            out.extend([0x83, modrm(0, r), small(rng)]);
        }
        4 => out.extend([rex(true, 0, r), 0xff, modrm(rng.below(2) as u8, r)]),
        5 => out.extend([
            rex(true, r, r),
            0x8d,
            0x40 | (r & 7) << 3 | r & 7,
            small(rng),
        ]),
        6 => out.extend([rex(true, s, r), 0x89, modrm(s, r)]),
        7 => out.extend([rex(true, s, r), 0x01, modrm(s, r)]),
        8 => out.extend([rex(true, 0, r), 0xd1, modrm(5, r)]),
        9 => out.extend([rex(true, r, s), 0x0f, 0xaf, modrm(r, s)]),
        10 => {
            rex32(out, 0, r);
            out.extend([0xff, modrm(rng.below(2) as u8, r)]);
        }
        11 => out.extend([rex(true, s, r), 0x29, modrm(s, r)]),
        _ => out.extend([0x90]),
    }
}

/// The flag setter before a loop's jump.
fn test_instr(rng: &mut Rng, regs: &[u8], out: &mut Vec<u8>) {
    let r = regs[rng.below(regs.len())];
    let s = regs[rng.below(regs.len())];
    let bound = [0u8, 1, 5, 16, 100, 0x7f, 0xff, 0x80][rng.below(8)];
    match rng.below(6) {
        0 | 1 => out.extend([rex(true, 0, r), 0x83, modrm(7, r), bound]),
        2 => out.extend([rex(true, s, r), 0x39, modrm(s, r)]),
        3 => {
            rex32(out, 0, r);
            out.extend([0x83, modrm(7, r), bound]);
        }
        4 => {
            rex32(out, s, r);
            out.extend([0x39, modrm(s, r)]);
        }
        _ => out.extend([rex(true, r, r), 0x85, modrm(r, r)]),
    }
}

/// A counted loop's body and test: a counter stepped once (by one
/// mostly) among other instructions that mostly leave it and the bound
/// alone, then compared with an immediate or another register.
fn counted(rng: &mut Rng, regs: &[u8], out: &mut Vec<u8>) {
    let c = regs[rng.below(regs.len())];
    let others: Vec<u8> = regs.iter().copied().filter(|&r| r != c).collect();
    let bound = others[rng.below(others.len())];
    let rest: Vec<u8> = others.iter().copied().filter(|&r| r != bound).collect();
    let n = rng.below(4);
    let at = rng.below(n + 1);
    for k in 0..=n {
        if k == at {
            let step = [1u8, 1, 1, 0xff, 2, 8, 0xf8][rng.below(7)];
            match rng.below(4) {
                0 | 1 => out.extend([rex(true, 0, c), 0x83, modrm(0, c), step]),
                2 => out.extend([rex(true, c, c), 0x8d, 0x40 | (c & 7) << 3 | c & 7, step]),
                _ => {
                    rex32(out, 0, c);
                    out.extend([0x83, modrm(0, c), step]);
                }
            }
        } else if rng.below(6) == 0 || rest.is_empty() {
            body_instr(rng, regs, out);
        } else {
            body_instr(rng, &rest, out);
        }
    }
    let imm = [0u8, 1, 5, 16, 100, 0x7f, 0xff, 0x80][rng.below(8)];
    match rng.below(4) {
        0 | 1 => out.extend([rex(true, 0, c), 0x83, modrm(7, c), imm]),
        2 => out.extend([rex(true, bound, c), 0x39, modrm(bound, c)]),
        _ => out.extend([rex(true, c, bound), 0x39, modrm(c, bound)]),
    }
}

/// A function of one or two self-loops.
pub(crate) fn program(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let prologue = rng.below(4) != 0;
    let regs: &[u8] = if prologue { &REGS } else { &PARAMS };
    if prologue {
        for &r in &REGS[..6] {
            match rng.below(3) {
                0 => {
                    rex32(&mut out, r, r);
                    out.extend([0x31, modrm(r, r)]);
                }
                1 => {
                    rex32(&mut out, 0, r);
                    out.extend([0xb8 + (r & 7), rng.below(40) as u8, 0, 0, 0]);
                }
                _ => {
                    let p = PARAMS[rng.below(3)];
                    out.extend([rex(true, p, r), 0x89, modrm(p, r)]);
                }
            }
        }
        for &r in &REGS[6..] {
            rex32(&mut out, r, r);
            out.extend([0x31, modrm(r, r)]);
        }
        if rng.below(2) == 0 {
            // and esi, 3Fh: a bounded parameter.
            out.extend([0x83, 0xe6, 0x3f]);
        }
    }
    let loops = 1 + usize::from(rng.below(4) == 0);
    for _ in 0..loops {
        let head = out.len();
        if rng.below(2) == 0 {
            counted(rng, regs, &mut out);
            let cc = [5u8, 5, 5, 2, 0xc, 6, 0xe, 7, 0xf, 3][rng.below(10)];
            let rel = head as i64 - (out.len() as i64 + 2);
            out.extend([0x70 + cc, rel as u8]);
            continue;
        }
        for _ in 0..rng.below(5) {
            body_instr(rng, regs, &mut out);
        }
        match rng.below(10) {
            0 => {
                // `loop`: no flag test.
                let rel = head as i64 - (out.len() as i64 + 2);
                out.extend([0xe2, rel as u8]);
                continue;
            }
            1 => {}
            _ => test_instr(rng, regs, &mut out),
        }
        if rng.below(8) == 0 {
            body_instr(rng, regs, &mut out);
        }
        let cc = if rng.below(2) == 0 {
            5
        } else {
            rng.below(16) as u8
        };
        let rel = head as i64 - (out.len() as i64 + 2);
        out.extend([0x70 + cc, rel as u8]);
    }
    // mov rax, rdi; ret
    out.extend([0x48, 0x89, 0xf8, 0xc3]);
    out
}

#[test]
fn direct_self_loops_answer_as_the_general_rule() {
    let sig: crate::Signature = "int64(int64,int64,int64)"
        .parse()
        .expect("a valid signature");
    let policies = [
        crate::Policy {
            allow_division: true,
            ..crate::Policy::runtime()
        },
        crate::Policy::runtime(),
    ];
    let mut rng = Rng(0x51f1_5e1f_c0ff_ee11);
    // Accepted with a work bound, accepted without one, rejected as a
    // loop not proven; and the direct path's answers.
    let (mut bounded, mut unbounded, mut unproven) = (0, 0, 0);
    super::DIRECT.with(|d| d.set([0; 3]));
    for round in 0..20_000 {
        let code = program(&mut rng);
        let policy = &policies[round % 2];
        super::GENERAL_ONLY.with(|g| g.set(false));
        let both = crate::validate(&code, &sig, policy);
        super::GENERAL_ONLY.with(|g| g.set(true));
        let general = crate::validate(&code, &sig, policy);
        super::GENERAL_ONLY.with(|g| g.set(false));
        assert_eq!(
            format!("{both:?}"),
            format!("{general:?}"),
            "round {round}: {code:02x?}"
        );
        match &both {
            Ok(r) if r.has_loops() && r.max_steps().is_some() => bounded += 1,
            Ok(r) if r.has_loops() => unbounded += 1,
            Err(v) if matches!(v.kind(), crate::ViolationKind::LoopNotProven { .. }) => {
                unproven += 1
            }
            _ => {}
        }
    }
    let [proven, gaps, one] = super::DIRECT.with(std::cell::Cell::get);
    assert!(
        bounded >= 500 && unbounded >= 500 && unproven >= 500,
        "bounded {bounded}, unbounded {unbounded}, not proven {unproven}"
    );
    assert!(
        proven >= 1000 && gaps >= 500 && one >= 1000,
        "direct answers: proven {proven}, gaps {gaps}, one loop {one}"
    );
}
