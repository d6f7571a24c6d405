//! The buffer corpus's precision measurement (issue 11's target), shared by
//! `tests/corpus.rs` (`buffer_corpus_precision`) and `cargo bench -p npk-jit`.
//!
//! In: the text of `tests/corpus/buffers.txt`. Out: for each origin (`O1`,
//! `O2`, `asm`) how many `safe` lines the validator accepts and how many
//! `unsafe` lines it rejects, and the rules (violation kinds) behind each
//! rejection, so a shortfall names what to work on.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::corpus_format::{BufferVerdict, origin, parse_hex, parse_policy, split_line};
use npk_jit::{Signature, Violation, validate};

/// The target: this share of the safe gcc lines must be accepted.
pub const TARGET_PERCENT: usize = 85;

/// The origins that make up "the safe gcc corpus".
pub const GCC_ORIGINS: [&str; 2] = ["O1", "O2"];

/// The name of a violation's kind without its fields (`MemoryOutsideFrame`).
pub fn kind_name(v: &Violation) -> String {
    let name = format!("{:?}", v.kind());
    name.split([' ', '{', '(']).next().unwrap_or("").to_string()
}

/// Counts for one origin.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub safe_total: usize,
    pub safe_accepted: usize,
    pub unsafe_total: usize,
    pub unsafe_rejected: usize,
    /// Rule -> how many safe lines it rejects.
    pub safe_rejected_by: BTreeMap<String, usize>,
    /// Each rejected safe line: `line N: [O1] name: violation`.
    pub safe_rejected: Vec<String>,
    /// Rule -> how many unsafe lines it rejects.
    pub unsafe_rejected_by: BTreeMap<String, usize>,
    /// Unsafe lines the validator accepts (each one is a soundness bug).
    pub unsafe_accepted: Vec<String>,
}

/// The whole measurement, by origin tag.
#[derive(Clone, Debug, Default)]
pub struct Precision {
    pub by_origin: BTreeMap<String, Tally>,
}

/// Validates every line of the buffer corpus. Panics on a malformed line or
/// a signature that does not parse (a parse error is never a rejection).
pub fn measure(text: &str) -> Precision {
    let mut p = Precision::default();
    for (lineno, raw) in text.lines().enumerate() {
        let Some(f) = split_line(raw) else { continue };
        let verdict = BufferVerdict::parse(f.verdict)
            .unwrap_or_else(|| panic!("line {}: verdict `{}`", lineno + 1, f.verdict));
        let sig: Signature = f
            .sig
            .parse()
            .unwrap_or_else(|e| panic!("line {}: signature `{}`: {e}", lineno + 1, f.sig));
        let got = validate(&parse_hex(f.hex), &sig, &parse_policy(f.policy));
        let (tag, name) = origin(f.comment);
        let t = p.by_origin.entry(tag.to_string()).or_default();
        if verdict.is_unsafe() {
            t.unsafe_total += 1;
            match &got {
                Err(v) => {
                    t.unsafe_rejected += 1;
                    *t.unsafe_rejected_by.entry(kind_name(v)).or_default() += 1;
                }
                Ok(_) => t.unsafe_accepted.push(format!(
                    "line {}: [{tag}] {name} `{}`",
                    lineno + 1,
                    f.sig
                )),
            }
        } else {
            t.safe_total += 1;
            match &got {
                Ok(_) => t.safe_accepted += 1,
                Err(v) => {
                    *t.safe_rejected_by.entry(kind_name(v)).or_default() += 1;
                    t.safe_rejected
                        .push(format!("line {}: [{tag}] {name}: {v}", lineno + 1));
                }
            }
        }
    }
    p
}

impl Precision {
    /// Accepted and total safe lines over the given origins.
    pub fn safe(&self, origins: &[&str]) -> (usize, usize) {
        origins
            .iter()
            .filter_map(|o| self.by_origin.get(*o))
            .fold((0, 0), |(a, t), x| (a + x.safe_accepted, t + x.safe_total))
    }

    /// Rejected and total unsafe lines over every origin.
    pub fn unsafe_rejected(&self) -> (usize, usize) {
        self.by_origin.values().fold((0, 0), |(r, t), x| {
            (r + x.unsafe_rejected, t + x.unsafe_total)
        })
    }

    /// The side-by-side report: one row per origin, then the rules; with
    /// `verbose`, every rejected safe line with its violation.
    pub fn report(&self, verbose: bool) -> String {
        let pct = |a: usize, t: usize| {
            if t == 0 {
                0.0
            } else {
                100.0 * a as f64 / t as f64
            }
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<8} {:>19}   {:>19}",
            "origin", "safe accepted", "unsafe rejected"
        );
        for (tag, t) in &self.by_origin {
            let _ = writeln!(
                s,
                "{:<8} {:>4} / {:<4} {:>6.1}%   {:>4} / {:<4} {:>6.1}%",
                tag,
                t.safe_accepted,
                t.safe_total,
                pct(t.safe_accepted, t.safe_total),
                t.unsafe_rejected,
                t.unsafe_total,
                pct(t.unsafe_rejected, t.unsafe_total)
            );
        }
        let (a, t) = self.safe(&GCC_ORIGINS);
        let (r, u) = self.unsafe_rejected();
        let _ = writeln!(
            s,
            "gcc safe lines accepted: {a} / {t} = {:.1}% (target {TARGET_PERCENT}%); \
             unsafe lines rejected: {r} / {u} = {:.1}% (target 100%)",
            pct(a, t),
            pct(r, u)
        );
        for (label, pick) in [
            ("safe lines rejected, by rule", true),
            ("unsafe lines rejected, by rule", false),
        ] {
            let _ = writeln!(s, "{label}:");
            let mut rules: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
            for (tag, t) in &self.by_origin {
                let by = if pick {
                    &t.safe_rejected_by
                } else {
                    &t.unsafe_rejected_by
                };
                for (rule, n) in by {
                    rules.entry(rule).or_default().insert(tag, *n);
                }
            }
            for (rule, per) in rules {
                let cols: Vec<String> = self
                    .by_origin
                    .keys()
                    .map(|tag| format!("{tag} {:>3}", per.get(tag.as_str()).unwrap_or(&0)))
                    .collect();
                let _ = writeln!(s, "  {rule:<28} {}", cols.join("  "));
            }
        }
        for t in self.by_origin.values() {
            for line in &t.unsafe_accepted {
                let _ = writeln!(s, "UNSAFE ACCEPTED {line}");
            }
            if verbose {
                for line in &t.safe_rejected {
                    let _ = writeln!(s, "safe rejected {line}");
                }
            }
        }
        s
    }
}
