//! Runs every case in `tests/corpus/*.txt` through the validator.
//!
//! A line is `HEX | SIGNATURE | VERDICT [| POLICY]`; `#` starts a comment.
//! VERDICT is `accept` or `reject Kind [@offset]` where `Kind` is the
//! `ViolationKind` variant name, or a bare `reject` (any rule; used by
//! `soundness.txt`, the soundness harness's counter-examples, which has its
//! own test so a regression there is named as such). POLICY is a comma-separated list of
//! `loops redzone division ptr-read=N ptr-rw=N frame=N reserve=REG steps=N
//! base=ADDR call=ADDR:SIG`. Adding a case needs no Rust.

use npk_jit::{AllowedCall, PointerAccess, Policy, Register, Signature, validate};

fn parse_num(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .unwrap_or_else(|e| panic!("bad number `{s}`: {e}"))
}

fn parse_reg(s: &str) -> Register {
    let all = [
        Register::RAX,
        Register::RCX,
        Register::RDX,
        Register::RBX,
        Register::RSP,
        Register::RBP,
        Register::RSI,
        Register::RDI,
        Register::R8,
        Register::R9,
        Register::R10,
        Register::R11,
        Register::R12,
        Register::R13,
        Register::R14,
        Register::R15,
    ];
    *all.iter()
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
            "call" => {
                let (addr, sig) = val.split_once(':').expect("call=ADDR:SIG");
                p.allowed_calls.push(AllowedCall {
                    address: parse_num(addr),
                    signature: sig.parse().expect("call signature"),
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

/// Checks every case of `file`; returns the case count and the failures.
fn check_file(file: &std::path::Path) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(file).expect("read corpus file");
    let (mut cases, mut failures) = (0, Vec::new());
    for (lineno, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!(
            fields.len() >= 3,
            "{}:{}: need HEX | SIG | VERDICT",
            file.display(),
            lineno + 1
        );
        let code = parse_hex(fields[0]);
        let sig: Signature = fields[1].parse().expect("signature");
        let policy = parse_policy(fields.get(3).copied().unwrap_or(""));
        cases += 1;
        let got = validate(&code, &sig, &policy);
        let verdict = fields[2];
        let ok = if verdict == "accept" {
            got.is_ok()
        } else {
            let mut words = verdict
                .strip_prefix("reject")
                .expect("accept or reject")
                .split_whitespace();
            let kind = words.next();
            let at = words
                .next()
                .map(|w| parse_num(w.trim_start_matches('@')) as usize);
            match &got {
                Err(v) => {
                    let name = format!("{:?}", v.kind());
                    let name = name.split([' ', '{', '(']).next().unwrap_or("");
                    kind.is_none_or(|k| k == name) && at.is_none_or(|a| a == v.offset())
                }
                Ok(_) => false,
            }
        };
        if !ok {
            let got = match got {
                Ok(r) => format!("accepted: {r}"),
                Err(v) => format!("rejected {:?}: {v}", v.kind()),
            };
            failures.push(format!(
                "{}:{}: {raw}\n    expected {verdict}, got {got}",
                file.display(),
                lineno + 1
            ));
        }
    }
    (cases, failures)
}

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The harness's counter-examples (see `tests/soundness.rs`).
const SOUNDNESS: &str = "soundness.txt";

#[test]
fn corpus_cases_match_their_expected_verdicts() {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .filter(|p| !p.ends_with(SOUNDNESS))
        .collect();
    files.sort();
    let (mut cases, mut failures) = (0, Vec::new());
    for file in &files {
        let (n, f) = check_file(file);
        cases += n;
        failures.extend(f);
    }
    assert!(cases > 150, "corpus too small: {cases}");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn soundness_counter_examples_are_rejected() {
    let (cases, failures) = check_file(&corpus_dir().join(SOUNDNESS));
    assert!(cases >= 10, "soundness corpus too small: {cases}");
    assert!(
        failures.is_empty(),
        "{} of {cases} soundness counter-examples are not rejected:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
