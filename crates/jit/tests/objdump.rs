//! Differential decoding: instruction boundaries as the validator sees them
//! (iced-x86, 64-bit) must match GNU objdump's.
//!
//! Two corpora: (a) every byte string the validator accepts out of a large
//! generated set (the soundness-relevant case: what runs is what was checked),
//! concatenated; (b) the `.text` of a system binary, decoded linearly. Skipped
//! with a message when `objdump`/`objcopy` are missing.

use std::collections::BTreeSet;
use std::process::Command;

use iced_x86::{Decoder, DecoderOptions};
use npk_jit::{Policy, Signature, validate};

fn tool_available(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Start offsets objdump reports for `bytes` (one line per instruction thanks
/// to `--insn-width=16`), and the offset of its first `(bad)`, if any.
fn objdump_starts(bytes: &[u8], name: &str) -> (BTreeSet<u64>, Option<u64>) {
    let path =
        std::env::temp_dir().join(format!("npk-jit-objdump-{}-{name}.bin", std::process::id()));
    std::fs::write(&path, bytes).expect("write temp file");
    let out = Command::new("objdump")
        .args(["-D", "-b", "binary", "-m", "i386:x86-64", "--insn-width=16"])
        .arg(&path)
        .output()
        .expect("run objdump");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut starts, mut bad) = (BTreeSet::new(), None);
    for line in text.lines() {
        let Some((off, rest)) = line.trim_start().split_once(":\t") else {
            continue;
        };
        let Ok(off) = u64::from_str_radix(off, 16) else {
            continue;
        };
        if rest.contains("(bad)") && bad.is_none() {
            bad = Some(off);
        }
        starts.insert(off);
    }
    (starts, bad)
}

fn iced_starts(bytes: &[u8]) -> (BTreeSet<u64>, Option<u64>) {
    let mut starts = BTreeSet::new();
    let mut first_invalid = None;
    for ins in Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE) {
        if ins.is_invalid() && first_invalid.is_none() {
            first_invalid = Some(ins.ip());
        }
        starts.insert(ins.ip());
    }
    (starts, first_invalid)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Byte strings biased toward modelled instructions with random prefixes,
/// operands and immediates, so that many pass validation.
fn candidate(rng: &mut Rng) -> Vec<u8> {
    const OPS: &[u8] = &[
        0x01, 0x03, 0x09, 0x0b, 0x11, 0x19, 0x21, 0x23, 0x29, 0x2b, 0x31, 0x33, 0x39, 0x3b, 0x85,
        0x87, 0x89, 0x8b, 0x8d, 0x63, 0x69, 0x6b, 0x81, 0x83, 0xc1, 0xd1, 0xd3, 0xf7, 0xff, 0x88,
        0x8a, 0xc7,
    ];
    let mut code = Vec::new();
    for _ in 0..1 + rng.next() % 4 {
        let r = rng.next();
        if r.is_multiple_of(4) {
            code.push(0x48 | (r >> 8) as u8 & 7);
        }
        if r.is_multiple_of(7) {
            code.push(0x66);
        }
        code.push(OPS[(r >> 16) as usize % OPS.len()]);
        // ModRM, mostly register-direct, then SIB/disp/imm bytes, whatever
        // the opcode takes (the rest decodes as further instructions).
        let modrm = rng.next() as u8;
        code.push(if r.is_multiple_of(5) {
            modrm
        } else {
            modrm | 0xc0
        });
        for _ in 0..(r >> 24) % 5 {
            code.push(rng.next() as u8);
        }
    }
    code.extend_from_slice(&[0x48, 0x89, 0xf8, 0xc3]);
    code
}

#[test]
fn accepted_code_decodes_identically_in_objdump() {
    if !tool_available("objdump") {
        eprintln!("objdump not found: skipping differential decoding");
        return;
    }
    let policy = Policy {
        allow_red_zone: true,
        allow_loops: true,
        allow_division: true,
        ..Policy::default()
    };
    let sigs: Vec<Signature> = [
        "int64(int64,int64,int64,int64,int64,int64)",
        "int32(int32,int32)",
    ]
    .iter()
    .map(|s| s.parse().expect("sig"))
    .collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut all = Vec::new();
    let mut accepted = 0;
    for i in 0..150_000 {
        let code = candidate(&mut rng);
        if validate(&code, &sigs[i % 2], &policy).is_ok() {
            accepted += 1;
            all.extend_from_slice(&code);
        }
    }
    assert!(accepted > 500, "only {accepted} accepted samples");
    let (iced, iced_bad) = iced_starts(&all);
    assert_eq!(iced_bad, None, "accepted code must decode");
    let (objdump, bad) = objdump_starts(&all, "accepted");
    assert_eq!(bad, None, "objdump found (bad) in accepted code");
    let diff: Vec<_> = iced.symmetric_difference(&objdump).take(10).collect();
    assert!(
        diff.is_empty(),
        "boundaries differ at {diff:x?} ({accepted} samples, {} bytes)",
        all.len()
    );
}

#[test]
fn system_binary_text_decodes_identically_in_objdump() {
    let bin = ["/usr/bin/ls", "/bin/ls", "/usr/bin/cat"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let (Some(bin), true, true) = (bin, tool_available("objdump"), tool_available("objcopy"))
    else {
        eprintln!("objdump/objcopy or a system binary not found: skipping");
        return;
    };
    let path = std::env::temp_dir().join(format!("npk-jit-text-{}.bin", std::process::id()));
    let ok = Command::new("objcopy")
        .args(["-O", "binary", "--only-section=.text", bin])
        .arg(&path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "objcopy failed");
    let text = std::fs::read(&path).expect("read .text");
    let _ = std::fs::remove_file(&path);
    assert!(text.len() > 4096, "tiny .text");
    let (iced, iced_bad) = iced_starts(&text);
    let (objdump, bad) = objdump_starts(&text, "text");
    // Compare up to the first byte either decoder calls invalid.
    let limit = [iced_bad, bad]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(u64::MAX);
    let a: BTreeSet<_> = iced.range(..limit).collect();
    let b: BTreeSet<_> = objdump.range(..limit).collect();
    let diff: Vec<_> = a.symmetric_difference(&b).take(10).collect();
    assert!(
        a.len() > 1000,
        "too little compared: {} instructions",
        a.len()
    );
    assert!(diff.is_empty(), "boundaries differ at {diff:x?} in {bin}");
}
