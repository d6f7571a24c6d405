//! Generated inputs: random bytes, random token streams and mutated valid
//! programs must never make `parse_module` panic, loop or overflow, and every
//! diagnostic span must lie inside the file on character boundaries.

use super::*;
use proptest::prelude::*;

const VALID: &str = r#"use "jit.npk".*;
extern func:npk_wildx_alloc = wild ?*(uint64:n);
Type:Jit = {
    func:free = int32(wildx int8->:f) { pass raw wildx_free(f); };
};
func:failsafe = int32(tbb32:err) { exit 1; };
func:main = int32() {
    wildx int8->:f = raw Jit.compile_add_i32();
    int32:r = raw Jit.call_i32_i32(f, 7i32, 35i32);
    Result<int32>:q = Jit.free(f);
    if (q.is_error) { exit 2; } else if (r != 42) { exit 3; } else { }
    for (int64:i = 0; i < 10; i += 1) { p[i] = 0x1f => uint8; }
    loop(0, 10, 2) { print($); } till(5, -1) { continue; }
    while (false) { break; }
    defer { println(`r = &{r + 1} and &{is (r > 0) : r : -r}`); }
    <-p = @x; x = a<-b ? 0; y = @cast<int64>(z) * 'c';
    exit 0;
};
"#;

const VOCAB: &[&str] = &[
    "func", "extern", "use", "Type", "if", "else", "while", "for", "loop", "till", "break",
    "continue", "defer", "pass", "fail", "exit", "raw", "drop", "is", "fixed", "wild", "wildx",
    "int32", "uint8", "Result", "NIL", "void", "x", "main", "Jit", "cast", "0", "7i32", "0x",
    "'a'", "\"s\"", "`t&{x}`", "`", "(", ")", "{", "}", "[", "]", ";", ",", ":", ".", "->", "<-",
    "=>", "?->", "?*", "?", "@", "$", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "&&", "||",
    "==", "!=", "<", "<=", ">", ">=", "<<", ">>", "=", "+=", ">>=", "/*", "*/", "//", "\n", "&{",
    "\\", "é",
];

fn check(src: &str) {
    let (_, problems) = parse(src);
    for d in problems.errors.iter().chain(problems.warnings.iter()) {
        for span in std::iter::once(d.primary.span).chain(d.secondary.iter().map(|l| l.span)) {
            let (s, e) = (span.start as usize, span.end as usize);
            assert!(
                s <= e && e <= src.len(),
                "span {s}..{e} outside {} bytes",
                src.len()
            );
            assert!(
                src.is_char_boundary(s) && src.is_char_boundary(e),
                "span {s}..{e} not on char boundaries"
            );
        }
    }
}

#[test]
fn valid_fuzz_base_program_parses() {
    parse_ok(VALID);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_token_streams_never_panic(
        toks in proptest::collection::vec((0..VOCAB.len(), any::<bool>()), 0..120),
    ) {
        let mut src = String::new();
        for (i, spaced) in toks {
            src.push_str(VOCAB[i]);
            if spaced {
                src.push(' ');
            }
        }
        check(&src);
    }

    #[test]
    fn mutated_valid_programs_never_panic(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), 0u8..3, 0..VOCAB.len()), 1..6),
    ) {
        let mut src = VALID.to_string();
        for (at, kind, tok) in edits {
            let mut pos = at.index(src.len() + 1);
            while !src.is_char_boundary(pos) {
                pos -= 1;
            }
            match kind {
                0 => src.insert_str(pos, VOCAB[tok]),
                1 => {
                    let mut end = (pos + 1 + tok % 8).min(src.len());
                    while !src.is_char_boundary(end) {
                        end -= 1;
                    }
                    src.replace_range(pos..end, "");
                }
                _ => {
                    let mut end = (pos + 1).min(src.len());
                    while !src.is_char_boundary(end) {
                        end += 1;
                    }
                    src.replace_range(pos..end, VOCAB[tok]);
                }
            }
        }
        check(&src);
    }
}
