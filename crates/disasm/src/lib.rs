//! Intel-syntax listings of x86-64 code.
//!
//! In: code bytes and the address of the first one. Out: one line per
//! instruction, `OFFSET:  BYTES  INSTRUCTION`, the offset in hex from the start
//! of the code, the bytes in hex, the instruction as iced-x86's Intel formatter
//! prints it in the style of `objdump -M intel` (lowercase, `0x` hex, no
//! `short`/`near` branch hints; a direct branch shows its target address).
//! Undecodable bytes are one `(bad)` line each. Never panics.
//!
//! ```
//! let text = npk_disasm::listing(&[0x48, 0x8d, 0x04, 0x37, 0xc3], 0);
//! assert_eq!(text, "   0:  48 8d 04 37  lea rax, [rdi+rsi]\n   4:  c3           ret\n");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

/// The listing of `code`, whose first byte is at address `ip` (branch targets
/// are shown as addresses).
#[must_use]
pub fn listing(code: &[u8], ip: u64) -> String {
    let mut formatter = IntelFormatter::new();
    let options = formatter.options_mut();
    options.set_space_after_operand_separator(true);
    options.set_hex_prefix("0x");
    options.set_hex_suffix("");
    options.set_uppercase_hex(false);
    options.set_show_branch_size(false);
    options.set_branch_leading_zeros(false);
    options.set_small_hex_numbers_in_decimal(false);
    let mut decoder = Decoder::with_ip(64, code, ip, DecoderOptions::NONE);
    let mut rows = Vec::new();
    let mut instruction = iced_x86::Instruction::default();
    while decoder.can_decode() {
        let start = decoder.position();
        decoder.decode_out(&mut instruction);
        let mut text = String::new();
        if instruction.is_invalid() {
            text.push_str("(bad)");
        } else {
            formatter.format(&instruction, &mut text);
        }
        // An invalid instruction may report any length: list one byte and go on.
        let len = if instruction.is_invalid() {
            1
        } else {
            instruction.len().max(1)
        };
        let end = (start + len).min(code.len());
        if end != decoder.position() && decoder.set_position(end).is_err() {
            break;
        }
        decoder.set_ip(ip.wrapping_add(end as u64));
        rows.push((start, &code[start..end], text));
    }
    let width = rows
        .iter()
        .map(|(_, b, _)| b.len() * 3 - 1)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (offset, bytes, text) in rows {
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&format!(
            "{offset:>4x}:  {:<width$}  {text}\n",
            hex.join(" ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::listing;

    #[test]
    fn lists_offsets_bytes_and_intel_syntax() {
        let code = [0x48, 0x8d, 0x04, 0x37, 0x48, 0x01, 0xd0, 0xc3];
        assert_eq!(
            listing(&code, 0),
            "   0:  48 8d 04 37  lea rax, [rdi+rsi]\n   4:  48 01 d0     add rax, rdx\n   7:  c3           ret\n"
        );
    }

    #[test]
    fn branches_show_their_target() {
        // test rdi, rdi; jne +2; xor eax, eax; ret
        let code = [0x48, 0x85, 0xff, 0x75, 0x02, 0x31, 0xc0, 0xc3];
        let text = listing(&code, 0);
        assert!(text.contains("jne 0x7"), "{text}");
    }

    #[test]
    fn undecodable_and_truncated_bytes_are_bad_lines() {
        assert_eq!(listing(&[0x06], 0), "   0:  06  (bad)\n");
        // A truncated `mov rax, imm64`.
        let text = listing(&[0x48, 0xb8, 0x01], 0);
        assert!(text.lines().all(|l| l.ends_with("(bad)")), "{text}");
        assert_eq!(text.lines().count(), 3);
        assert_eq!(listing(&[], 0), "");
    }

    #[test]
    fn never_panics_on_any_short_input() {
        for a in 0..=255u8 {
            for b in [0x00, 0x0f, 0x48, 0xc3, 0xff] {
                let _ = listing(&[a, b, 0x66, 0x0f], 0x1000);
            }
        }
    }
}
