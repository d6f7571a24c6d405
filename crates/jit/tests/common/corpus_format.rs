//! The corpus line format shared by `corpus.rs`, `soundness.rs`,
//! `buffer_corpus.rs` and the precision bench: a line is `HEX | SIGNATURE |
//! VERDICT [| POLICY]  # comment`, with hex bytes and policy options (`loops
//! redzone division ptr-read=N ptr-rw=N frame=N reserve=REG steps=N
//! base=ADDR cpu=all|host call=ADDR:SIG`). The buffer corpus's verdicts are
//! [`BufferVerdict`]s and its comments start with `[ORIGIN] name`.

#![allow(dead_code)]

use npk_jit::{AllowedCall, PointerAccess, Policy, Register};

pub fn parse_num(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .unwrap_or_else(|e| panic!("bad number `{s}`: {e}"))
}

/// A 64-bit general-purpose register by name (`rbx`, `R12`).
pub fn parse_reg(s: &str) -> Register {
    Register::values()
        .filter(|r| r.is_gpr64())
        .find(|r| format!("{r:?}").eq_ignore_ascii_case(s.trim()))
        .unwrap_or_else(|| panic!("unknown register `{s}`"))
}

pub fn parse_policy(text: &str) -> Policy {
    let mut p = Policy::default();
    for opt in text.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let (key, val) = opt.split_once('=').unwrap_or((opt, ""));
        match key {
            "loops" => p.allow_loops = true,
            "redzone" => p.allow_red_zone = true,
            "division" => p.allow_division = true,
            "ptr-read" => {
                p.pointer_access = PointerAccess::Read;
                p.pointer_window = parse_num(val) as u32;
            }
            "ptr-rw" => {
                p.pointer_access = PointerAccess::ReadWrite;
                p.pointer_window = parse_num(val) as u32;
            }
            "frame" => p.max_frame = parse_num(val) as u32,
            "reserve" => p.reserved.push(parse_reg(val)),
            "steps" => p.steps_per_instruction = parse_num(val) as u32,
            "base" => p.base_ip = parse_num(val),
            "cpu" => {
                p.cpu = match val {
                    "all" => npk_jit::CpuFeatures::all(),
                    "host" => npk_jit::CpuFeatures::host(),
                    other => panic!("unknown cpu set `{other}`"),
                }
            }
            // `call=ADDR:SIG`, `;` standing for `,` inside SIG.
            "call" => {
                let (addr, sig) = val.split_once(':').expect("call=ADDR:SIG");
                p.allowed_calls.push(AllowedCall {
                    address: parse_num(addr),
                    signature: sig.replace(';', ",").parse().expect("call signature"),
                });
            }
            "terminate" => {
                p.allow_loops = true;
                p.require_termination = true;
            }
            // `helper=NAME:SIG`, `;` standing for `,` inside SIG.
            "helper" => {
                let (name, sig) = val.split_once(':').expect("helper=NAME:SIG");
                p.helpers.push(npk_jit::Helper {
                    name: name.to_string(),
                    signature: sig.replace(';', ",").parse().expect("helper signature"),
                });
            }
            other => panic!("unknown policy option `{other}`"),
        }
    }
    p
}

pub fn parse_hex(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        digits.len().is_multiple_of(2),
        "odd number of hex digits in `{text}`"
    );
    (0..digits.len() / 2)
        .map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).expect("hex byte"))
        .collect()
}

/// One corpus line, split into its fields (not yet parsed).
#[derive(Clone, Copy, Debug)]
pub struct Fields<'a> {
    pub hex: &'a str,
    pub sig: &'a str,
    pub verdict: &'a str,
    pub policy: &'a str,
    /// The text after the first `#`, trimmed (empty when there is none).
    pub comment: &'a str,
}

/// Splits a line; `None` for a blank or comment-only line. Panics on a line
/// with fewer than three fields.
pub fn split_line(raw: &str) -> Option<Fields<'_>> {
    let (line, comment) = raw.split_once('#').unwrap_or((raw, ""));
    if line.trim().is_empty() {
        return None;
    }
    let fields: Vec<&str> = line.split('|').map(str::trim).collect();
    assert!(fields.len() >= 3, "need HEX | SIG | VERDICT: `{raw}`");
    Some(Fields {
        hex: fields[0],
        sig: fields[1],
        verdict: fields[2],
        policy: fields.get(3).copied().unwrap_or(""),
        comment: comment.trim(),
    })
}

/// The verdicts of the buffer corpus (`tests/corpus/buffers.txt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferVerdict {
    /// `safe`: in bounds by construction; the validator should accept it
    /// (counted towards the precision target, not required).
    Safe,
    /// `unsafe`: must be rejected; an execution next to a `PROT_NONE` page
    /// faults.
    Unsafe,
    /// `unsafe principle`: must be rejected; out of bounds where no fault
    /// shows (the comment says how).
    UnsafeInPrinciple,
}

impl BufferVerdict {
    pub fn parse(verdict: &str) -> Option<BufferVerdict> {
        match verdict.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["safe"] => Some(BufferVerdict::Safe),
            ["unsafe"] => Some(BufferVerdict::Unsafe),
            ["unsafe", "principle"] => Some(BufferVerdict::UnsafeInPrinciple),
            _ => None,
        }
    }

    pub fn is_unsafe(self) -> bool {
        self != BufferVerdict::Safe
    }
}

/// The origin tag and function name of a buffer corpus comment
/// `[O1] name: why` (`("O1", "name")`); empty strings when absent.
pub fn origin(comment: &str) -> (&str, &str) {
    let Some(rest) = comment.strip_prefix('[') else {
        return ("", "");
    };
    let (tag, rest) = rest.split_once(']').unwrap_or(("", rest));
    let name = rest.trim().split(':').next().unwrap_or("").trim();
    (tag, name)
}
