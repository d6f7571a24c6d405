//! `npkc jit-check --sig SIG [--disasm] (HEX... | --file F)`: run the validator.
//!
//! In: the signature text and the code, either as hex arguments (bytes of
//! two digits each, with or without spaces, e.g. `48 8d 04 37 c3` or
//! `488d0437c3`, optional `0x` prefixes) or as raw bytes read from a file
//! (`-`: standard input; a 64 KiB function does not fit on a command line).
//! Out: `(exit code, stdout, stderr)`: 0 accepted with a one-line proof
//! summary on stdout (with `--disasm`, then the proven code's Intel-syntax
//! listing), 1 rejected with the reason on stderr, 2 bad input.
//! The policy is `Policy::runtime()` with the runtime's JIT helpers (the
//! ones a `uses` clause may name: `print_i64`, `copy_bytes`, `gc_collect`),
//! the one `Jit.assemble` uses; the import table follows the code.

use std::io::Read;
use std::path::PathBuf;

use npk_jit::{Policy, Signature, validate};

/// Where the machine code comes from.
#[derive(Debug)]
pub enum Input {
    /// Hex arguments.
    Hex(Vec<String>),
    /// Raw bytes in a file; `-` is standard input.
    File(PathBuf),
}

/// Validates the code in `input` as a function of type `sig`; with `disasm`,
/// an accepted function's listing follows the summary.
#[must_use]
pub fn run(sig: &str, input: &Input, disasm: bool) -> (i32, String, String) {
    let sig: Signature = match sig.parse() {
        Ok(s) => s,
        Err(e) => return (2, String::new(), format!("error: {e}\n")),
    };
    let code = match input {
        Input::Hex(hex) => parse_hex(hex),
        Input::File(path) => read_code(path),
    };
    let code = match code {
        Ok(c) => c,
        Err(e) => return (2, String::new(), format!("error: {e}\n")),
    };
    let policy = Policy {
        helpers: npk_jit::runtime_helpers(),
        ..Policy::runtime()
    };
    match validate(&code, &sig, &policy) {
        Ok(report) if disasm => (
            0,
            format!("{report}\n{}", npk_disasm::listing(&code, 0)),
            String::new(),
        ),
        Ok(report) => (0, format!("{report}\n"), String::new()),
        Err(v) => (1, String::new(), format!("rejected: {v}\n")),
    }
}

fn read_code(path: &PathBuf) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(drop)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes).map(drop))
    };
    read.map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    if bytes.is_empty() {
        return Err(format!("`{}` holds no code bytes", path.display()));
    }
    Ok(bytes)
}

fn parse_hex(args: &[String]) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        for word in arg.split_whitespace() {
            let digits = word
                .strip_prefix("0x")
                .or_else(|| word.strip_prefix("0X"))
                .unwrap_or(word);
            if let Some(c) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
                return Err(format!(
                    "`{c}` in `{word}` (argument {}) is not a hex digit; write bytes as hex pairs separated by spaces",
                    i + 1
                ));
            }
            if digits.len() % 2 != 0 {
                return Err(format!(
                    "`{word}` (argument {}) has an odd number of hex digits: each byte is two digits (`0f`, not `f`)",
                    i + 1
                ));
            }
            for pair in digits.as_bytes().chunks(2) {
                let text = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
                bytes.push(u8::from_str_radix(text, 16).map_err(|e| e.to_string())?);
            }
        }
    }
    if bytes.is_empty() {
        return Err("no code bytes given".into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::{Input, run as run_input};

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn run(sig: &str, hex: &[String]) -> (i32, String, String) {
        run_input(sig, &Input::Hex(hex.to_vec()), false)
    }

    #[test]
    fn disasm_prints_the_proven_listing_after_the_summary() {
        let hex = Input::Hex(args(&["488d0437c3"]));
        let (code, out, err) = run_input("int64(int64,int64)", &hex, true);
        assert_eq!((code, err.as_str()), (0, ""));
        let mut lines = out.lines();
        assert!(lines.next().is_some_and(|l| l.starts_with("accepted as")));
        assert_eq!(lines.next(), Some("   0:  48 8d 04 37  lea rax, [rdi+rsi]"));
        assert_eq!(lines.next(), Some("   4:  c3           ret"));
        assert_eq!(lines.next(), None);
        let bad = Input::Hex(args(&["31c0", "0f05", "c3"]));
        let (code, out, _) = run_input("int64()", &bad, true);
        assert_eq!(
            (code, out.as_str()),
            (1, ""),
            "no listing for rejected code"
        );
    }

    #[test]
    fn accepted_code_exits_0_with_a_summary() {
        let (code, out, err) = run("int64(int64,int64)", &args(&["48", "8d", "04", "37", "c3"]));
        assert_eq!((code, err.as_str()), (0, ""));
        assert!(
            out.starts_with("accepted as int64(int64,int64): 5 bytes, 2 instructions"),
            "{out}"
        );
        assert_eq!(out.lines().count(), 1);
    }

    #[test]
    fn spaces_are_optional() {
        assert_eq!(run("int64(int64,int64)", &args(&["488d0437c3"])).0, 0);
        assert_eq!(run("int64(int64,int64)", &args(&["48 8d 04 37 c3"])).0, 0);
        assert_eq!(
            run("int64(int64,int64)", &args(&["0x48", "8d0437", "c3"])).0,
            0
        );
    }

    #[test]
    fn rejected_code_exits_1_with_offset_instruction_and_rule() {
        let (code, out, err) = run("int64()", &args(&["31c0", "0f05", "c3"]));
        assert_eq!((code, out.as_str()), (1, ""));
        assert_eq!(
            err,
            "rejected: at offset 0x2 `syscall`: system calls and software interrupts are not allowed\n"
        );
    }

    #[test]
    fn wrong_width_is_rejected() {
        let (code, _, err) = run("int64(int32,int32)", &args(&["48 8d 04 37 c3"]));
        assert_eq!(code, 1);
        assert!(
            err.contains("register rdi read before it is defined"),
            "{err}"
        );
    }

    #[test]
    fn bad_input_exits_2() {
        assert_eq!(run("int64(", &args(&["c3"])).0, 2);
        assert_eq!(run("float()", &args(&["c3"])).0, 2);
        assert_eq!(run("int64()", &args(&["zz"])).0, 2);
        assert_eq!(run("int64()", &args(&["c3c"])).0, 2);
        assert_eq!(run("int64()", &args(&[])).0, 2);
    }

    #[test]
    fn a_single_digit_is_an_error_not_a_byte() {
        let (code, _, err) = run("int64()", &args(&["31", "c0", "f", "c3"]));
        assert_eq!(code, 2);
        assert!(
            err.contains("`f` (argument 3) has an odd number of hex digits"),
            "{err}"
        );
    }

    #[test]
    fn a_comma_is_named() {
        let (code, _, err) = run("int64()", &args(&["31,c0,c3"]));
        assert_eq!(code, 2);
        assert!(
            err.contains("`,` in `31,c0,c3` (argument 1) is not a hex digit"),
            "{err}"
        );
    }

    #[test]
    fn code_is_read_from_a_file() {
        let dir = std::env::temp_dir().join(format!("npkc-jit-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("f.bin");
        std::fs::write(&path, [0x48, 0x8d, 0x04, 0x37, 0xc3]).expect("write");
        let (code, out, _) = run_input("int64(int64,int64)", &Input::File(path.clone()), false);
        assert_eq!(code, 0, "{out}");
        std::fs::write(&path, []).expect("write");
        assert_eq!(run_input("int64()", &Input::File(path), false).0, 2);
        let missing = dir.join("missing.bin");
        let (code, _, err) = run_input("int64()", &Input::File(missing), false);
        assert_eq!(code, 2);
        assert!(err.contains("cannot read"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
