//! Differential check of the validator against an earlier revision of it.
//!
//! Built and run by `differential.sh REV` (not part of the workspace): the
//! current `npk-jit` and the one at REV (as `npk-jit-old`) validate the same
//! inputs, and every result's `Debug` text must be identical. Inputs: the
//! corpus files, the bench's generated functions (dumped by the bench with
//! `NPK_BENCH_DUMP`) and mutated/random byte strings, under 8 signatures and
//! 10 policies. Arguments: repository root, corpus dump, iterations, seed.
//! Exits 1 on any mismatch. A pass that only changes speed must leave this at
//! 0 mismatches; a deliberate behaviour change shows here first.

use npk_jit::{PointerAccess, Policy, Signature};
use npk_jit_old as old;

// The corpus format's parsers.
#[path = "../tests/common/corpus_format.rs"]
#[allow(dead_code, unused_imports)]
mod corpus_format;
use corpus_format::{parse_hex, parse_policy};

/// Policy options as text, built for both crates.
fn policies(text: &str) -> (Policy, old::Policy) {
    let p = parse_policy(text);
    let q = old::Policy {
        base_ip: p.base_ip,
        allowed_calls: p
            .allowed_calls
            .iter()
            .map(|c| old::AllowedCall {
                address: c.address,
                signature: c.signature.to_string().parse().expect("signature"),
            })
            .collect(),
        reserved: p.reserved.clone(),
        pointer_access: match p.pointer_access {
            PointerAccess::Forbidden => old::PointerAccess::Forbidden,
            PointerAccess::Read => old::PointerAccess::Read,
            PointerAccess::ReadWrite => old::PointerAccess::ReadWrite,
        },
        pointer_window: p.pointer_window,
        max_frame: p.max_frame,
        allow_red_zone: p.allow_red_zone,
        allow_division: p.allow_division,
        allow_loops: p.allow_loops,
        steps_per_instruction: p.steps_per_instruction,
        helpers: p
            .helpers
            .iter()
            .map(|h| old::Helper {
                name: h.name.clone(),
                signature: h.signature.to_string().parse().expect("signature"),
            })
            .collect(),
        require_termination: p.require_termination,
        // Fields added since (the CPU set): the old default. Corpus lines
        // that set them (`cpu=`) are skipped, since the old crate may not
        // have the field.
        ..old::Policy::default()
    };
    (p, q)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Diff {
    n: u64,
    mism: u64,
    acc: u64,
    kinds: std::collections::BTreeMap<String, u64>,
    skipped: u64,
    /// Mismatches where one accepts and the other rejects.
    verdicts: u64,
}
/// Whether the old revision's `Report` has `max_steps`.
fn b_has_max_steps() -> bool {
    let sig: old::Signature = "int64()".parse().unwrap();
    // xor eax, eax; ret (accepted: a rejection's text has no report)
    format!(
        "{:?}",
        old::validate(&[0x31, 0xc0, 0xc3], &sig, &old::Policy::default())
    )
    .contains("max_steps")
}

impl Diff {
    fn check(&mut self, code: &[u8], sig: &str, pol: &str, pp: &(Policy, old::Policy)) {
        let s: Signature = sig.parse().unwrap();
        // Signatures the old revision cannot parse (buffers, `NIL`) have no
        // old behaviour to compare with.
        let Ok(so) = sig.parse::<old::Signature>() else {
            self.skipped += 1;
            return;
        };
        // The signature's printed form stands for it (its Debug text
        // changed with buffer parameters).
        let a = format!("{:?}", npk_jit::validate(code, &s, &pp.0))
            .replace(&format!("{s:?}"), &s.to_string());
        // `Report::max_steps` (issue 12) is new: the old revision may not
        // have it.
        let a = match (a.find(", max_steps: "), b_has_max_steps()) {
            (Some(at), false) => {
                let end = a[at..].find(" }").map_or(a.len(), |e| at + e);
                format!("{}{}", &a[..at], &a[end..])
            }
            _ => a,
        };
        let b = format!("{:?}", old::validate(code, &so, &pp.1))
            .replace(&format!("{so:?}"), &so.to_string());
        // Also the reusable Validator must agree.
        self.n += 1;
        if a.starts_with("Ok") {
            self.acc += 1
        }
        let k = a
            .split("kind: ")
            .nth(1)
            .unwrap_or("")
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or("")
            .to_string();
        *self
            .kinds
            .entry(if a.starts_with("Ok") {
                "accept".into()
            } else {
                k
            })
            .or_default() += 1;
        if a.starts_with("Ok") != b.starts_with("Ok") {
            self.verdicts += 1;
            if self.verdicts <= 10 {
                eprintln!(
                    "VERDICT {} | {sig} | {pol}\n new {a}\n old {b}",
                    code.iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
        }
        if a != b {
            self.mism += 1;
            if self.mism < 20 {
                eprintln!(
                    "MISMATCH {} | {sig} | {pol}\n new {a}\n old {b}",
                    code.iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
        }
    }
}

/// Reads the bench's dump: a little-endian u16 length, then the bytes, per function.
fn read_dump(path: &str) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).expect("corpus dump");
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 <= data.len() {
        let n = usize::from(u16::from_le_bytes([data[i], data[i + 1]]));
        out.push(data[i + 2..(i + 2 + n).min(data.len())].to_vec());
        i += 2 + n;
    }
    out
}

fn main() {
    let root = std::env::args().nth(1).expect("repository root");
    let dump = std::env::args().nth(2).expect("corpus dump");
    let mut d = Diff {
        n: 0,
        mism: 0,
        acc: 0,
        kinds: Default::default(),
        skipped: 0,
        verdicts: 0,
    };
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let mut cases: Vec<(Vec<u8>, String, String)> = Vec::new();
    for f in [
        "accept.txt",
        "reject.txt",
        "buffers.txt",
        "buffers-hand.txt",
        "division.txt",
        "imports.txt",
        "termination.txt",
        "soundness.txt",
    ] {
        let text = std::fs::read_to_string(format!("{root}/crates/jit/tests/corpus/{f}")).unwrap();
        for raw in text.lines() {
            let line = raw.split('#').next().unwrap_or("");
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('|').map(str::trim).collect();
            cases.push((
                parse_hex(fields[0]),
                fields[1].to_string(),
                fields.get(3).copied().unwrap_or("").to_string(),
            ));
        }
    }
    cases.retain(|(_, _, p)| !p.contains("cpu="));
    for (c, s, p) in &cases {
        d.check(c, s, p, &policies(p));
        seeds.push(c.clone());
    }
    eprintln!("corpus: {} cases", d.n);
    let genc = read_dump(&dump);
    let sigs = [
        "int64(int64,int64,int64)",
        "int32(int32,int32)",
        "int64(int64,int64)",
        "uint32(uint32)",
        "int64(pointer,int64)",
        "int32()",
        "int64(int64,int64,int64,int64,int64,int64)",
        "uint64(pointer,pointer,uint64)",
        "int64(int64* xs[n], int64 n)",
        "int64(mut uint8* s[len], int64 len, int64 c)",
    ];
    let pols = [
        "",
        "loops",
        "loops,division,redzone",
        "division,loops,ptr-read=64",
        "ptr-rw=32,redzone,loops",
        "reserve=r11,loops,division",
        "frame=64,loops",
        "steps=3,loops",
        "call=0x1000:int64(int64),base=0x800,loops,division",
        "loops,division,redzone,ptr-rw=4096,reserve=rbx",
        "loops,division,redzone,terminate",
        "loops,terminate",
    ];
    let pps: Vec<_> = pols.iter().map(|p| policies(p)).collect();
    for g in &genc {
        for (i, s) in sigs.iter().enumerate() {
            for (j, p) in pols.iter().enumerate() {
                if (i + j) % 3 == 0 || i == 0 {
                    d.check(g, s, p, &pps[j])
                }
            }
        }
        seeds.push(g.clone());
    }
    eprintln!("+ generated ({} fns): {}", genc.len(), d.n);
    let iters: usize = std::env::args()
        .nth(3)
        .map_or(60000, |a| a.parse().unwrap());
    let mut rng = Rng(std::env::args()
        .nth(4)
        .map_or(0x9e3779b97f4a7c15, |a| a.parse().unwrap()));
    // Common x86 bytes to bias random strings toward decodable integer code.
    let common: &[u8] = &[
        0x48, 0x49, 0x4c, 0x4d, 0x41, 0x44, 0x66, 0x0f, 0x89, 0x8b, 0x8d, 0x01, 0x03, 0x29, 0x2b,
        0x31, 0x33, 0x39, 0x85, 0x83, 0x81, 0xc1, 0xd3, 0xf7, 0xff, 0x50, 0x53, 0x55, 0x5b, 0x5d,
        0x58, 0xc3, 0x74, 0x75, 0x7c, 0x7f, 0xeb, 0xe8, 0xc7, 0x63, 0xaf, 0xb6, 0x4f, 0x44, 0x94,
        0x24, 0x44, 0x04, 0xc0, 0xf8, 0xc8, 0xd0, 0xe0, 0x87, 0x90, 0xc9, 0x6b, 0x69, 0x99, 0x98,
        0x0d, 0x11, 0x19, 0x21, 0x09, 0xa3, 0xbd, 0xab, 0xd1, 0xfe, 0x88, 0x8a, 0x45, 0x7d, 0x65,
        0x64, 0xf0, 0xf2, 0xf3, 0xe3, 0xe2, 0x9e, 0x9f, 0xf5, 0xf8, 0xfc,
    ];
    for it in 0..iters {
        let mut code = if it % 4 == 3 {
            let n = 1 + rng.below(40);
            (0..n)
                .map(|_| {
                    if rng.below(3) == 0 {
                        rng.next() as u8
                    } else {
                        common[rng.below(common.len())]
                    }
                })
                .collect()
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        let muts = 1 + rng.below(4);
        for _ in 0..muts {
            if code.is_empty() {
                code.push(0xc3)
            }
            let at = rng.below(code.len());
            match rng.below(7) {
                0 => code[at] = rng.next() as u8,
                1 => code[at] ^= 1 << rng.below(8),
                2 => code.insert(at, common[rng.below(common.len())]),
                3 => {
                    code.remove(at);
                }
                4 => code[at] = common[rng.below(common.len())],
                5 => {
                    let l = code.len();
                    if l > 2 {
                        code.truncate(l - 1 - rng.below(2))
                    }
                }
                _ => {
                    let b = code[at];
                    code.insert(at, b)
                }
            }
        }
        let si = rng.below(sigs.len());
        let pi = rng.below(pols.len());
        d.check(&code, sigs[si], pols[pi], &pps[pi]);
        if it % 5 == 0 {
            d.check(&code, sigs[0], pols[2], &pps[2]);
        }
    }
    eprintln!(
        "total {} comparisons, {} accepted, {} mismatches, {} of them verdicts ({} skipped: signatures the old revision cannot parse)",
        d.n, d.acc, d.mism, d.verdicts, d.skipped
    );
    eprintln!("kinds: {:?}", d.kinds);
    if d.mism > 0 {
        std::process::exit(1)
    }
}
