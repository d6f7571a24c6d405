//! `npkc jit-check --sig SIG [--disasm] HEX...`: run the validator on hex bytes.
//!
//! In: the signature text and the hex arguments (bytes with or without
//! spaces, e.g. `48 8d 04 37 c3` or `488d0437c3`, optional `0x` prefixes).
//! Out: `(exit code, stdout, stderr)`: 0 accepted with a one-line proof
//! summary on stdout (with `--disasm`, then the proven code's Intel-syntax
//! listing), 1 rejected with the reason on stderr, 2 bad input.
//! The policy is `Policy::runtime()`, the one `Jit.compile` uses.

use npk_jit::{Policy, Signature, validate};

/// Validates the bytes in `hex` as a function of type `sig`; with `disasm`, an
/// accepted function's listing follows the summary.
#[must_use]
pub fn run(sig: &str, hex: &[String], disasm: bool) -> (i32, String, String) {
    let sig: Signature = match sig.parse() {
        Ok(s) => s,
        Err(e) => return (2, String::new(), format!("error: {e}\n")),
    };
    let code = match parse_hex(hex) {
        Ok(c) => c,
        Err(e) => return (2, String::new(), format!("error: {e}\n")),
    };
    match validate(&code, &sig, &Policy::runtime()) {
        Ok(report) if disasm => (
            0,
            format!("{report}\n{}", npk_disasm::listing(&code, 0)),
            String::new(),
        ),
        Ok(report) => (0, format!("{report}\n"), String::new()),
        Err(v) => (1, String::new(), format!("rejected: {v}\n")),
    }
}

fn parse_hex(args: &[String]) -> Result<Vec<u8>, String> {
    let mut digits = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        for word in arg.split_whitespace() {
            let word = word
                .strip_prefix("0x")
                .or_else(|| word.strip_prefix("0X"))
                .unwrap_or(word);
            if word.len() % 2 != 0 && word.len() > 1 {
                return Err(format!("`{word}` has an odd number of hex digits"));
            }
            if word.len() == 1 {
                digits.push(0); // a lone digit is one byte: `f` = `0f`
            }
            for c in word.chars() {
                let d = c
                    .to_digit(16)
                    .ok_or_else(|| format!("`{c}` in argument {} is not a hex digit", i + 1))?;
                digits.push(d as u8);
            }
        }
    }
    if digits.is_empty() {
        return Err("no code bytes given".into());
    }
    Ok(digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

#[cfg(test)]
mod tests {
    use super::run;

    fn run_plain(sig: &str, hex: &[String]) -> (i32, String, String) {
        run(sig, hex, false)
    }

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepted_code_exits_0_with_a_summary() {
        let (code, out, err) =
            run_plain("int64(int64,int64)", &args(&["48", "8d", "04", "37", "c3"]));
        assert_eq!((code, err.as_str()), (0, ""));
        assert!(
            out.starts_with("accepted as int64(int64,int64): 5 bytes, 2 instructions"),
            "{out}"
        );
        assert_eq!(out.lines().count(), 1);
    }

    #[test]
    fn disasm_prints_the_proven_listing_after_the_summary() {
        let (code, out, err) = run("int64(int64,int64)", &args(&["488d0437c3"]), true);
        assert_eq!((code, err.as_str()), (0, ""));
        let mut lines = out.lines();
        assert!(lines.next().is_some_and(|l| l.starts_with("accepted as")));
        assert_eq!(lines.next(), Some("   0:  48 8d 04 37  lea rax, [rdi+rsi]"));
        assert_eq!(lines.next(), Some("   4:  c3           ret"));
        assert_eq!(lines.next(), None);
        let (code, out, _) = run("int64()", &args(&["31c0", "0f05", "c3"]), true);
        assert_eq!(
            (code, out.as_str()),
            (1, ""),
            "no listing for rejected code"
        );
    }

    #[test]
    fn spaces_are_optional() {
        assert_eq!(run_plain("int64(int64,int64)", &args(&["488d0437c3"])).0, 0);
        assert_eq!(
            run_plain("int64(int64,int64)", &args(&["48 8d 04 37 c3"])).0,
            0
        );
        assert_eq!(
            run_plain("int64(int64,int64)", &args(&["0x48", "8d0437", "c3"])).0,
            0
        );
    }

    #[test]
    fn rejected_code_exits_1_with_offset_instruction_and_rule() {
        let (code, out, err) = run_plain("int64()", &args(&["31c0", "0f05", "c3"]));
        assert_eq!((code, out.as_str()), (1, ""));
        assert_eq!(
            err,
            "rejected: at offset 0x2 `syscall`: system calls and software interrupts are not allowed\n"
        );
    }

    #[test]
    fn wrong_width_is_rejected() {
        let (code, _, err) = run_plain("int64(int32,int32)", &args(&["48 8d 04 37 c3"]));
        assert_eq!(code, 1);
        assert!(
            err.contains("register rdi read before it is defined"),
            "{err}"
        );
    }

    #[test]
    fn bad_input_exits_2() {
        assert_eq!(run_plain("int64(", &args(&["c3"])).0, 2);
        assert_eq!(run_plain("float()", &args(&["c3"])).0, 2);
        assert_eq!(run_plain("int64()", &args(&["zz"])).0, 2);
        assert_eq!(run_plain("int64()", &args(&["c3c"])).0, 2);
        assert_eq!(run_plain("int64()", &args(&[])).0, 2);
    }
}
