//! Lexer: the text of one file in, a `Vec<Token>` ending with `Eof` out.
//!
//! Follows SPEC §3.1. Problems (NPK-101..109) go to the `Problems` sink and
//! the lexer always produces a usable token (an overflowing literal becomes
//! `0`, a bad character is skipped) so the parser never sees a cascade.
//! Template strings are lexed recursively: each `&{...}` becomes its own
//! token list whose spans point into the original file.
//!
//! Decisions: `<-` is always one token (deref); the parser reads it as `<`
//! followed by unary `-` where a binary operator is expected, so `a<-b` means
//! `a < -b`. `->` is one token; whether it is a pointer-type suffix or a field
//! arrow is decided by the parser from context. Identifiers are ASCII.
//! Naming: `lex_x` consumes an `x` and returns its token kind.

pub(crate) mod literal;

use crate::ast::IntSuffix;
use crate::diagnostic::Problems;
use crate::parser::error::ParseError;
use crate::source::{FileId, Span};

/// Nesting limit for template strings inside template interpolations.
const MAX_TEMPLATE_DEPTH: u32 = 16;

/// One token with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// A piece of a template string as lexed.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePiece {
    Text(String),
    /// The tokens of one `&{...}` (ending with `Eof` at the `}`); `span`
    /// covers `&{` through `}`.
    Code {
        tokens: Vec<Token>,
        span: Span,
    },
}

/// Keywords, including the built-in type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kw {
    Func,
    Extern,
    Use,
    Type,
    If,
    Else,
    While,
    For,
    Loop,
    Till,
    Break,
    Continue,
    Defer,
    Pass,
    Fail,
    Exit,
    Raw,
    Drop,
    Is,
    Fixed,
    Stack,
    Wild,
    Wildx,
    Gc,
    True,
    False,
    Null,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Tbb32,
    Bool,
    String,
    Nil,
    Void,
    Result,
}

const KEYWORDS: &[(&str, Kw)] = &[
    ("func", Kw::Func),
    ("extern", Kw::Extern),
    ("use", Kw::Use),
    ("Type", Kw::Type),
    ("if", Kw::If),
    ("else", Kw::Else),
    ("while", Kw::While),
    ("for", Kw::For),
    ("loop", Kw::Loop),
    ("till", Kw::Till),
    ("break", Kw::Break),
    ("continue", Kw::Continue),
    ("defer", Kw::Defer),
    ("pass", Kw::Pass),
    ("fail", Kw::Fail),
    ("exit", Kw::Exit),
    ("raw", Kw::Raw),
    ("drop", Kw::Drop),
    ("is", Kw::Is),
    ("fixed", Kw::Fixed),
    ("stack", Kw::Stack),
    ("wild", Kw::Wild),
    ("wildx", Kw::Wildx),
    ("gc", Kw::Gc),
    ("true", Kw::True),
    ("false", Kw::False),
    ("NULL", Kw::Null),
    ("int8", Kw::Int8),
    ("int16", Kw::Int16),
    ("int32", Kw::Int32),
    ("int64", Kw::Int64),
    ("uint8", Kw::Uint8),
    ("uint16", Kw::Uint16),
    ("uint32", Kw::Uint32),
    ("uint64", Kw::Uint64),
    ("tbb32", Kw::Tbb32),
    ("bool", Kw::Bool),
    ("string", Kw::String),
    ("NIL", Kw::Nil),
    ("void", Kw::Void),
    ("Result", Kw::Result),
];

impl Kw {
    /// The keyword as written.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        KEYWORDS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("?", |(s, _)| s)
    }

    fn from_str(s: &str) -> Option<Kw> {
        KEYWORDS.iter().find(|(w, _)| *w == s).map(|(_, k)| *k)
    }
}

/// What a token is. Operators are named after their glyphs.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    Ident(String),
    Int {
        value: u64,
        suffix: Option<IntSuffix>,
    },
    Char(u8),
    Str(String),
    Template(Vec<TemplatePiece>),
    Kw(Kw),
    /// Where the lexer reported a problem that may have swallowed text (an
    /// unexpected character, or the end of an unterminated literal). The
    /// parser reports nothing more about it, so there is no cascade.
    Error,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Semi,
    Comma,
    Colon,
    Dot,
    /// `->`
    Arrow,
    /// `<-`
    LArrow,
    /// `=>`
    FatArrow,
    /// `?->`
    ErasedPtr,
    /// `?*`
    ErasedCPtr,
    Question,
    At,
    Dollar,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Amp,
    Pipe,
    Caret,
    Tilde,
    Bang,
    AndAnd,
    OrOr,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Shl,
    Shr,
    Eq,
    PlusEq,
    MinusEq,
    StarEq,
    SlashEq,
    PercentEq,
    AmpEq,
    PipeEq,
    CaretEq,
    ShlEq,
    ShrEq,
    Eof,
}

/// Punctuation, longest first so that greedy matching works.
const PUNCT: &[(&str, TokenKind)] = &[
    ("<<=", TokenKind::ShlEq),
    (">>=", TokenKind::ShrEq),
    ("?->", TokenKind::ErasedPtr),
    ("?*", TokenKind::ErasedCPtr),
    ("->", TokenKind::Arrow),
    ("<-", TokenKind::LArrow),
    ("=>", TokenKind::FatArrow),
    ("&&", TokenKind::AndAnd),
    ("||", TokenKind::OrOr),
    ("==", TokenKind::EqEq),
    ("!=", TokenKind::NotEq),
    ("<=", TokenKind::Le),
    (">=", TokenKind::Ge),
    ("<<", TokenKind::Shl),
    (">>", TokenKind::Shr),
    ("+=", TokenKind::PlusEq),
    ("-=", TokenKind::MinusEq),
    ("*=", TokenKind::StarEq),
    ("/=", TokenKind::SlashEq),
    ("%=", TokenKind::PercentEq),
    ("&=", TokenKind::AmpEq),
    ("|=", TokenKind::PipeEq),
    ("^=", TokenKind::CaretEq),
    ("(", TokenKind::LParen),
    (")", TokenKind::RParen),
    ("{", TokenKind::LBrace),
    ("}", TokenKind::RBrace),
    ("[", TokenKind::LBracket),
    ("]", TokenKind::RBracket),
    (";", TokenKind::Semi),
    (",", TokenKind::Comma),
    (":", TokenKind::Colon),
    (".", TokenKind::Dot),
    ("?", TokenKind::Question),
    ("@", TokenKind::At),
    ("$", TokenKind::Dollar),
    ("+", TokenKind::Plus),
    ("-", TokenKind::Minus),
    ("*", TokenKind::Star),
    ("/", TokenKind::Slash),
    ("%", TokenKind::Percent),
    ("&", TokenKind::Amp),
    ("|", TokenKind::Pipe),
    ("^", TokenKind::Caret),
    ("~", TokenKind::Tilde),
    ("!", TokenKind::Bang),
    ("<", TokenKind::Lt),
    (">", TokenKind::Gt),
    ("=", TokenKind::Eq),
];

impl TokenKind {
    /// How the token is named in messages: "`;`", "identifier `x`", "end of file".
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Ident(name) => format!("identifier `{name}`"),
            TokenKind::Int { .. } => "integer literal".to_string(),
            TokenKind::Char(_) => "character literal".to_string(),
            TokenKind::Str(_) => "string literal".to_string(),
            TokenKind::Template(_) => "template string".to_string(),
            TokenKind::Kw(k) => format!("keyword `{}`", k.as_str()),
            TokenKind::Eof => "end of file".to_string(),
            TokenKind::Error => "invalid text".to_string(),
            other => format!("`{}`", other.glyph()),
        }
    }

    /// The spelling of a punctuation token (empty for others).
    #[must_use]
    pub fn glyph(&self) -> &'static str {
        PUNCT.iter().find(|(_, k)| k == self).map_or("", |(s, _)| s)
    }
}

/// Lexes a whole file. The result always ends with an `Eof` token.
pub fn lex(file: FileId, text: &str, problems: &mut Problems) -> Vec<Token> {
    let mut lexer = Lexer {
        file,
        text,
        bytes: text.as_bytes(),
        pos: 0,
        problems,
        template_depth: 0,
        pending_error: false,
    };
    lexer.lex_tokens(false)
}

/// Whether an expression can end with this token.
fn ends_expr(t: &Token) -> bool {
    matches!(
        t.kind,
        TokenKind::Ident(_)
            | TokenKind::Int { .. }
            | TokenKind::Char(_)
            | TokenKind::Str(_)
            | TokenKind::Template(_)
            | TokenKind::Kw(Kw::True | Kw::False | Kw::Null)
            | TokenKind::RParen
            | TokenKind::RBracket
            | TokenKind::Dollar
    )
}

pub(crate) struct Lexer<'a, 'p> {
    pub(crate) file: FileId,
    pub(crate) text: &'a str,
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) problems: &'p mut Problems,
    template_depth: u32,
    /// An unterminated literal or comment was reported: emit an `Error`
    /// token after the current one.
    pending_error: bool,
}

/// Offsets are `u32` in spans; files over 4 GiB are clamped (they are
/// rejected by the driver long before this).
fn off(pos: usize) -> u32 {
    u32::try_from(pos).unwrap_or(u32::MAX)
}

impl Lexer<'_, '_> {
    pub(crate) fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, off(start), off(end))
    }

    pub(crate) fn report(&mut self, e: ParseError) {
        if matches!(
            e,
            ParseError::Unterminated { .. } | ParseError::UnterminatedComment { .. }
        ) {
            self.pending_error = true;
        }
        self.problems.push(e.into_diagnostic());
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    /// Lexes until end of input, or (when `in_template`) until the `}` that
    /// closes an interpolation, which is consumed. The `Eof` token of an
    /// interpolation sits on that `}`.
    fn lex_tokens(&mut self, in_template: bool) -> Vec<Token> {
        let mut tokens = Vec::new();
        let mut depth = 0u32;
        loop {
            self.skip_trivia();
            let start = self.pos;
            self.flush_error(&mut tokens);
            let Some(b) = self.peek_at(0) else {
                tokens.push(Token {
                    kind: TokenKind::Eof,
                    span: self.span(start, start),
                });
                return tokens;
            };
            if in_template {
                if b == b'}' && depth == 0 {
                    self.pos += 1;
                    tokens.push(Token {
                        kind: TokenKind::Eof,
                        span: self.span(start, start + 1),
                    });
                    return tokens;
                }
                // A backtick after a token that can end an expression cannot
                // start a nested template: the interpolation lacks its `}` and
                // this backtick ends the enclosing template.
                if b == b'`' && depth == 0 && tokens.last().is_some_and(ends_expr) {
                    tokens.push(Token {
                        kind: TokenKind::Eof,
                        span: self.span(start, start),
                    });
                    return tokens;
                }
                match b {
                    b'{' => depth += 1,
                    b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            let kind = self.lex_token();
            tokens.push(Token {
                kind,
                span: self.span(start, self.pos),
            });
            self.flush_error(&mut tokens);
        }
    }

    fn flush_error(&mut self, tokens: &mut Vec<Token>) {
        if self.pending_error {
            self.pending_error = false;
            tokens.push(Token {
                kind: TokenKind::Error,
                span: self.span(self.pos, self.pos),
            });
        }
    }

    /// Skips whitespace and comments; reports an unterminated block comment.
    fn skip_trivia(&mut self) {
        loop {
            match (self.peek_at(0), self.peek_at(1)) {
                (Some(b' ' | b'\t' | b'\r' | b'\n' | 0x0c), _) => self.pos += 1,
                (Some(b'/'), Some(b'/')) => {
                    while let Some(b) = self.peek_at(0) {
                        if b == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let start = self.pos;
                    match self.text[start + 2..].find("*/") {
                        Some(i) => self.pos = start + 2 + i + 2,
                        None => {
                            self.pos = self.bytes.len();
                            let span = self.span(start, start + 2);
                            self.report(ParseError::UnterminatedComment { span });
                        }
                    }
                }
                _ => return,
            }
        }
    }

    /// Lexes one token at `self.pos` (not whitespace, not end of input).
    /// Returns `Error` after reporting and skipping unexpected characters.
    fn lex_token(&mut self) -> TokenKind {
        let start = self.pos;
        let b = self.bytes[start];
        if b.is_ascii_alphabetic() || b == b'_' {
            while self
                .peek_at(0)
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                self.pos += 1;
            }
            let word = &self.text[start..self.pos];
            return match Kw::from_str(word) {
                Some(k) => TokenKind::Kw(k),
                None => TokenKind::Ident(word.to_string()),
            };
        }
        if b.is_ascii_digit() {
            return self.lex_number();
        }
        match b {
            b'"' => return self.lex_string(),
            b'\'' => return self.lex_char(),
            b'`' => return self.lex_template(),
            _ => {}
        }
        let rest = &self.text[start..];
        if let Some((glyph, kind)) = PUNCT.iter().find(|(g, _)| rest.starts_with(g)) {
            self.pos += glyph.len();
            return kind.clone();
        }
        // Unexpected characters: report a whole run of them once.
        let mut end = start;
        for (i, c) in rest.char_indices() {
            let known = c.is_ascii_alphanumeric()
                || c.is_ascii_whitespace()
                || "_\"'`/".contains(c)
                || PUNCT.iter().any(|(g, _)| g.starts_with(c));
            if known {
                break;
            }
            end = start + i + c.len_utf8();
        }
        let first = rest.chars().next().unwrap_or('?');
        self.pos = end.max(start + first.len_utf8());
        let span = self.span(start, self.pos);
        self.report(ParseError::UnexpectedChar { ch: first, span });
        TokenKind::Error
    }

    /// Lexes a template string starting at the opening backtick.
    fn lex_template(&mut self) -> TokenKind {
        let open = self.pos;
        self.pos += 1;
        let mut pieces = Vec::new();
        let mut text = String::new();
        loop {
            let Some(b) = self.peek_at(0) else {
                let span = self.span(open, open + 1);
                self.report(ParseError::Unterminated {
                    what: "template string",
                    span,
                });
                break;
            };
            match b {
                b'`' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    if let Some(c) = self.lex_text_escape(true) {
                        text.push(c);
                    }
                }
                b'&' if self.peek_at(1) == Some(b'{') => {
                    if !text.is_empty() {
                        pieces.push(TemplatePiece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(self.lex_interpolation());
                }
                _ => {
                    let c = self.text[self.pos..].chars().next().unwrap_or('\u{fffd}');
                    text.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
        if !text.is_empty() {
            pieces.push(TemplatePiece::Text(text));
        }
        TokenKind::Template(pieces)
    }

    /// Lexes `&{ ... }` inside a template string.
    fn lex_interpolation(&mut self) -> TemplatePiece {
        let start = self.pos;
        self.pos += 2;
        if self.template_depth >= MAX_TEMPLATE_DEPTH {
            let span = self.span(start, start + 2);
            self.report(ParseError::TooDeep { span });
            // Skip to the end of input: nothing sensible can follow.
            self.pos = self.bytes.len();
            return TemplatePiece::Code {
                tokens: vec![Token {
                    kind: TokenKind::Eof,
                    span,
                }],
                span,
            };
        }
        self.template_depth += 1;
        let tokens = self.lex_tokens(true);
        self.template_depth -= 1;
        let closed = tokens.last().is_some_and(|t| t.span.end > t.span.start);
        // At end of input the template itself is reported as unterminated.
        if !closed && self.pos < self.bytes.len() {
            let span = self.span(start, start + 2);
            self.report(ParseError::Unterminated {
                what: "template interpolation",
                span,
            });
        }
        TemplatePiece::Code {
            tokens,
            span: self.span(start, self.pos),
        }
    }
}

#[cfg(test)]
mod tests;
