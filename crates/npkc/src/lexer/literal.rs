//! Literal lexing: integers (bases, `_`, suffixes, overflow), characters,
//! strings and the escape sequences they share with template strings.
//!
//! Every function here starts at the literal's first byte, advances past it
//! (also on error) and returns a usable token kind after reporting.

use super::{Lexer, TokenKind};
use crate::ast::{IntSuffix, IntTy};
use crate::parser::error::ParseError;

const SUFFIXES: &[(&str, IntSuffix)] = &[
    ("i8", IntSuffix::Int(IntTy::I8)),
    ("i16", IntSuffix::Int(IntTy::I16)),
    ("i32", IntSuffix::Int(IntTy::I32)),
    ("i64", IntSuffix::Int(IntTy::I64)),
    ("u8", IntSuffix::Int(IntTy::U8)),
    ("u16", IntSuffix::Int(IntTy::U16)),
    ("u32", IntSuffix::Int(IntTy::U32)),
    ("u64", IntSuffix::Int(IntTy::U64)),
    ("tbb32", IntSuffix::Tbb32),
];

impl Lexer<'_, '_> {
    /// `123`, `0x7F`, `0b1010_1010u8`, `0o17i64`.
    pub(super) fn lex_number(&mut self) -> TokenKind {
        let start = self.pos;
        let (radix, prefix) = match (self.peek_at(0), self.peek_at(1)) {
            (Some(b'0'), Some(b'x' | b'X')) => (16, 2),
            (Some(b'0'), Some(b'b' | b'B')) => (2, 2),
            (Some(b'0'), Some(b'o' | b'O')) => (8, 2),
            _ => (10, 0),
        };
        self.pos += prefix;
        // The whole alphanumeric run belongs to the literal.
        let body_start = self.pos;
        while self
            .peek_at(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos += 1;
        }
        let word = &self.text[body_start..self.pos];
        let span = self.span(start, self.pos);
        // Digits run until the first character that is not a digit of any
        // base we accept here (hex letters count only in base 16).
        let digits_len = word
            .char_indices()
            .find(|&(_, c)| !(c == '_' || c.is_digit(radix)))
            .map_or(word.len(), |(i, _)| i);
        let (digits, suffix_text) = word.split_at(digits_len);
        let suffix = if suffix_text.is_empty() {
            None
        } else if let Some((_, s)) = SUFFIXES.iter().find(|(n, _)| *n == suffix_text) {
            Some(*s)
        } else {
            let suffix_span = self.span(body_start + digits_len, self.pos);
            let is_digit = suffix_text.starts_with(|c: char| c.is_ascii_digit());
            self.report(ParseError::BadIntSuffix {
                suffix: suffix_text.to_string(),
                bad_digit_for_radix: is_digit.then_some(radix),
                span: suffix_span,
            });
            return TokenKind::Int {
                value: 0,
                suffix: None,
            };
        };
        let clean: String = digits.chars().filter(|&c| c != '_').collect();
        if clean.is_empty() {
            self.report(ParseError::NoDigits { span });
            return TokenKind::Int { value: 0, suffix };
        }
        match u64::from_str_radix(&clean, radix) {
            Ok(value) => TokenKind::Int { value, suffix },
            Err(_) => {
                self.report(ParseError::IntTooLarge { span });
                TokenKind::Int { value: 0, suffix }
            }
        }
    }

    /// `'a'`, `'\n'`, `'\x41'`: the byte value.
    pub(super) fn lex_char(&mut self) -> TokenKind {
        let start = self.pos;
        self.pos += 1;
        let mut value: Option<Escaped> = None;
        let mut count = 0usize;
        let mut bad_escape = false;
        loop {
            match self.peek_at(0) {
                None | Some(b'\n') => {
                    let span = self.span(start, start + 1);
                    self.report(ParseError::Unterminated {
                        what: "character literal",
                        span,
                    });
                    return TokenKind::Char(0);
                }
                Some(b'\'') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    match self.lex_escape(false) {
                        Some(c) => value = value.or(Some(c)),
                        None => bad_escape = true,
                    }
                    count += 1;
                }
                Some(_) => {
                    let c = self.text[self.pos..].chars().next().unwrap_or('\u{fffd}');
                    self.pos += c.len_utf8();
                    value = value.or(Some(Escaped::Char(c)));
                    count += 1;
                }
            }
        }
        let span = self.span(start, self.pos);
        if bad_escape {
            return TokenKind::Char(0);
        }
        match value {
            Some(Escaped::Byte(b)) if count == 1 => TokenKind::Char(b),
            Some(Escaped::Char(c)) if count == 1 && c.is_ascii() => {
                TokenKind::Char(u8::try_from(u32::from(c)).unwrap_or(0))
            }
            Some(Escaped::Char(c)) if count == 1 => {
                self.report(ParseError::CharNotOneByte { ch: c, span });
                TokenKind::Char(0)
            }
            _ => {
                self.report(ParseError::CharLiteralLength { count, span });
                TokenKind::Char(0)
            }
        }
    }

    /// `"..."` with escapes.
    pub(super) fn lex_string(&mut self) -> TokenKind {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek_at(0) {
                None => {
                    let span = self.span(start, start + 1);
                    self.report(ParseError::Unterminated {
                        what: "string literal",
                        span,
                    });
                    break;
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    if let Some(c) = self.lex_text_escape(false) {
                        out.push(c);
                    }
                }
                Some(_) => {
                    let c = self.text[self.pos..].chars().next().unwrap_or('\u{fffd}');
                    self.pos += c.len_utf8();
                    out.push(c);
                }
            }
        }
        TokenKind::Str(out)
    }

    /// An escape inside a string or template: `\xNN` must be ASCII there
    /// because the text is UTF-8 (write `\u{..}` for other characters).
    pub(super) fn lex_text_escape(&mut self, in_template: bool) -> Option<char> {
        let start = self.pos;
        match self.lex_escape(in_template)? {
            Escaped::Char(c) => Some(c),
            Escaped::Byte(b) if b.is_ascii() => Some(char::from(b)),
            Escaped::Byte(_) => {
                let span = self.span(start, self.pos);
                self.report(ParseError::BadEscape {
                    kind: EscapeProblem::HexNotAscii,
                    span,
                });
                None
            }
        }
    }

    /// One escape sequence at a backslash. In templates, `` \` `` and `\&`
    /// are also accepted. Returns `None` after reporting.
    pub(super) fn lex_escape(&mut self, in_template: bool) -> Option<Escaped> {
        let start = self.pos;
        self.pos += 1;
        let Some(b) = self.peek_at(0) else {
            return None; // the caller reports the unterminated literal
        };
        let simple = match b {
            b'n' => Some('\n'),
            b't' => Some('\t'),
            b'r' => Some('\r'),
            b'\\' => Some('\\'),
            b'"' => Some('"'),
            b'\'' => Some('\''),
            b'0' => Some('\0'),
            b'`' if in_template => Some('`'),
            b'&' if in_template => Some('&'),
            _ => None,
        };
        if let Some(c) = simple {
            self.pos += 1;
            return Some(Escaped::Char(c));
        }
        match b {
            b'x' => {
                self.pos += 1;
                let hex = self.text.get(self.pos..self.pos + 2).unwrap_or("");
                let value = if hex.len() == 2 && hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                    u8::from_str_radix(hex, 16).ok()
                } else {
                    None
                };
                let Some(v) = value else {
                    let span = self.span(start, self.pos);
                    self.report(ParseError::BadEscape {
                        kind: EscapeProblem::HexDigits,
                        span,
                    });
                    return None;
                };
                self.pos += 2;
                Some(Escaped::Byte(v))
            }
            b'u' => {
                self.pos += 1;
                if self.peek_at(0) != Some(b'{') {
                    let span = self.span(start, self.pos);
                    self.report(ParseError::BadEscape {
                        kind: EscapeProblem::UnicodeBrace,
                        span,
                    });
                    return None;
                }
                let close = self.text[self.pos..]
                    .char_indices()
                    .take(10)
                    .find(|&(_, c)| c == '}' || c == '"' || c == '\'' || c == '`' || c == '\n');
                let Some((i, '}')) = close else {
                    let span = self.span(start, self.pos + 1);
                    self.report(ParseError::BadEscape {
                        kind: EscapeProblem::UnicodeBrace,
                        span,
                    });
                    self.pos += 1;
                    return None;
                };
                let digits = &self.text[self.pos + 1..self.pos + i];
                self.pos += i + 1;
                let span = self.span(start, self.pos);
                let value = if !digits.is_empty()
                    && digits.len() <= 6
                    && digits.bytes().all(|c| c.is_ascii_hexdigit())
                {
                    u32::from_str_radix(digits, 16)
                        .ok()
                        .and_then(char::from_u32)
                } else {
                    None
                };
                if value.is_none() {
                    self.report(ParseError::BadEscape {
                        kind: EscapeProblem::UnicodeValue,
                        span,
                    });
                }
                value.map(Escaped::Char)
            }
            _ => {
                let c = self.text[self.pos..].chars().next().unwrap_or('\u{fffd}');
                self.pos += c.len_utf8();
                let span = self.span(start, self.pos);
                self.report(ParseError::BadEscape {
                    kind: EscapeProblem::Unknown(c),
                    span,
                });
                None
            }
        }
    }
}

/// The value of one escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Escaped {
    Char(char),
    /// `\xNN`
    Byte(u8),
}

/// What is wrong with an escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EscapeProblem {
    Unknown(char),
    HexDigits,
    UnicodeBrace,
    UnicodeValue,
    HexNotAscii,
}
