//! GNU `as`/`objcopy`/`objdump` for the differential tests: assemble lines,
//! read the `.text` bytes back, disassemble, and compare with ours instruction
//! by instruction (equal bytes, or equal instructions as iced reads them).

// Each test target that includes this module uses a different part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

/// Lines where we deliberately differ from `as`, and why.
const KNOWN: &[(&str, &str)] = &[(
    "xchg rax, rax",
    "as emits `90` (nop); we emit the instruction written (48 87 c0); both change nothing",
)];

pub fn tool_available(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

pub struct Gas {
    dir: PathBuf,
}

impl Gas {
    pub fn new(name: &str) -> Gas {
        let dir = std::env::temp_dir().join(format!("npk-asm-gas-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Gas { dir }
    }

    /// Assembles `lines` with GNU `as`: the `.text` bytes, or the 1-based
    /// numbers of the lines it refused.
    pub fn assemble(&self, lines: &[String]) -> Result<Vec<u8>, Vec<usize>> {
        let src = self.dir.join("a.s");
        let obj = self.dir.join("a.o");
        let bin = self.dir.join("a.bin");
        let mut text = String::new();
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(&src, text).expect("write source");
        let out = Command::new("as")
            .args(["--64", "-msyntax=intel", "-mnaked-reg", "-o"])
            .arg(&obj)
            .arg(&src)
            .output()
            .expect("run as");
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let bad: Vec<usize> = stderr
                .lines()
                .filter_map(|l| l.split(':').nth(1)?.trim().parse().ok())
                .collect();
            assert!(!bad.is_empty(), "as failed without line numbers:\n{stderr}");
            return Err(bad);
        }
        let status = Command::new("objcopy")
            .args(["-O", "binary", "-j", ".text"])
            .arg(&obj)
            .arg(&bin)
            .status()
            .expect("run objcopy");
        assert!(status.success());
        Ok(std::fs::read(&bin).expect("read .text"))
    }

    /// `objdump -d -M intel` of the last object: the instruction texts.
    pub fn disassemble(&self) -> Vec<String> {
        let out = Command::new("objdump")
            .args(["-d", "-M", "intel", "--no-show-raw-insn", "-j", ".text"])
            .arg(self.dir.join("a.o"))
            .output()
            .expect("run objdump");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (addr, insn) = l.split_once(":\t")?;
                u64::from_str_radix(addr.trim(), 16).ok()?;
                Some(insn.trim().to_string())
            })
            .collect()
    }
}

impl Gas {
    /// Assembles `lines` with `as`; lines it refuses must be refused by us too (else
    /// the test fails), and are dropped. The lines kept and their bytes.
    pub fn assemble_agreeing(&self, mut lines: Vec<String>) -> (Vec<String>, Vec<u8>) {
        let refused = match self.assemble(&lines) {
            Ok(bytes) => return (lines, bytes),
            Err(refused) => refused,
        };
        let accepted: Vec<String> = refused
            .iter()
            .filter_map(|&n| {
                let line = &lines[n - 1];
                let a = npk_asm::assemble(line, &[]).ok()?;
                Some(format!(
                    "`{line}`: as refuses it, we give {:02x?}",
                    a.code()
                ))
            })
            .collect();
        assert!(
            accepted.is_empty(),
            "accepted what as refuses:\n{}",
            accepted.join("\n")
        );
        eprintln!("note: {} lines refused by as and by us", refused.len());
        let mut n = 0;
        lines.retain(|_| {
            n += 1;
            !refused.contains(&n)
        });
        let bytes = self.assemble(&lines).expect("as accepts the rest");
        (lines, bytes)
    }
}

impl Drop for Gas {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn format(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut f = IntelFormatter::new();
    for ins in Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE) {
        if !out.is_empty() {
            out.push_str("; ");
        }
        f.format(&ins, &mut out);
    }
    out
}

/// Compares instruction by instruction; returns (disagreements, equivalent notes).
pub fn compare(lines: &[String], ours: &npk_asm::Assembly, gas: &[u8]) -> (Vec<String>, usize) {
    let mut bad = Vec::new();
    let mut equivalent = 0;
    let mut at = 0usize;
    let gas_ins: Vec<_> = Decoder::with_ip(64, gas, 0, DecoderOptions::NONE)
        .into_iter()
        .collect();
    assert_eq!(
        gas_ins.len(),
        ours.instructions().len(),
        "as emitted {} instructions for {} lines",
        gas_ins.len(),
        lines.len()
    );
    for (i, (p, g)) in ours.instructions().iter().zip(&gas_ins).enumerate() {
        let mine = &ours.code()[p.offset()..p.offset() + p.len()];
        let theirs = &gas[at..at + g.len()];
        at += g.len();
        if mine != theirs {
            let (a, b) = (format(mine), format(theirs));
            if a == b {
                equivalent += 1;
                eprintln!(
                    "note: equivalent encodings for `{}`: ours {mine:02x?}, as {theirs:02x?}",
                    lines[i]
                );
            } else if let Some(why) = KNOWN.iter().find(|(l, _)| *l == lines[i]).map(|(_, w)| w) {
                eprintln!(
                    "note: `{}`: ours {mine:02x?}, as {theirs:02x?}: {why}",
                    lines[i]
                );
            } else {
                bad.push(format!(
                    "`{}`: ours {mine:02x?} ({a}), as {theirs:02x?} ({b})",
                    lines[i]
                ));
            }
        }
    }
    (bad, equivalent)
}
