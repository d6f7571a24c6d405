//! Parser: the tokens of one file (from `lexer`) to an `ast::Module`.
//!
//! Recursive descent with spans on every node; expressions use precedence
//! climbing over the table stated in `ast.rs`. Problems are reported to the
//! `Problems` sink as `NPK-1xx` (see `parser/error.rs`) and the parser
//! recovers: a failed statement skips to its `;` (or past a `{...}` group,
//! or to the block's `}`), a failed item skips to the next `func`/`extern`/
//! `Type:`/`use`, so independent errors are each reported once. Nesting is
//! capped (NPK-114) so no input can overflow the stack.
//!
//! Naming rules: `parse_x` returns `PResult<Option<X>>` (absence is fine),
//! `expect_x` returns `PResult<X>` (absence is an error, reported), `maybe_x`
//! returns `Option<X>` and advances only when it succeeds. `PResult::Err`
//! means "already reported; the caller must recover".

pub(crate) mod error;
mod expr;
mod stmt;
mod ty;

use crate::ast;
use crate::diagnostic::Problems;
use crate::lexer::{self, Kw, Token, TokenKind};
use crate::source::{FileId, Span};
use error::ParseError;

pub use error::EXPLANATIONS;

/// Blocks, parentheses and unary operators nest at most this deep (an
/// `else if` chain is flat: see `stmt::MAX_ELSE_IF_ARMS`).
const MAX_DEPTH: u32 = 100;
/// At most this many binary or postfix operators on one path from the root
/// of an expression tree (bounds the depth of left-leaning trees).
const MAX_CHAIN: u32 = 256;

/// A problem was reported; the caller recovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reported;

pub(crate) type PResult<T> = Result<T, Reported>;

/// Parses one file. Never panics; problems go to `problems` and the returned
/// module holds every item that could be recovered.
pub fn parse_module(file: FileId, text: &str, problems: &mut Problems) -> ast::Module {
    let tokens = lexer::lex(file, text, problems);
    let mut parser = Parser::new(file, text, tokens, problems, 0);
    let items = parser.items();
    ast::Module { file, items }
}

pub(crate) struct Parser<'t, 'p> {
    file: FileId,
    text: &'t str,
    tokens: Vec<Token>,
    pos: usize,
    /// End of the last consumed token.
    prev_end: u32,
    problems: &'p mut Problems,
    depth: u32,
    /// Token index where an unclosed-`{` error was last reported, so that
    /// enclosing blocks do not report the same missing `}` again.
    unclosed_at: Option<usize>,
    /// Binary and postfix operators on the current path (see `MAX_CHAIN`).
    chain: u32,
    /// Whether NPK-114 was reported (once per file is enough).
    too_deep_reported: bool,
    /// The token before `Eof` is a lexer `Error` (an unterminated literal
    /// ran to the end of the file): a missing `}` there is not news.
    eof_after_lex_error: bool,
}

impl<'t, 'p> Parser<'t, 'p> {
    fn new(
        file: FileId,
        text: &'t str,
        mut tokens: Vec<Token>,
        problems: &'p mut Problems,
        depth: u32,
    ) -> Parser<'t, 'p> {
        if tokens.last().is_none_or(|t| t.kind != TokenKind::Eof) {
            let end = tokens.last().map_or(0, |t| t.span.end);
            tokens.push(Token {
                kind: TokenKind::Eof,
                span: Span::new(file, end, end),
            });
        }
        let prev_end = tokens.first().map_or(0, |t| t.span.start);
        let n = tokens.len();
        let eof_after_lex_error = n >= 2 && tokens[n - 2].kind == TokenKind::Error;
        Parser {
            file,
            text,
            tokens,
            pos: 0,
            prev_end,
            problems,
            depth,
            unclosed_at: None,
            chain: 0,
            too_deep_reported: false,
            eof_after_lex_error,
        }
    }

    // ----- token access -------------------------------------------------

    fn peek(&self) -> &TokenKind {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &TokenKind {
        let i = (self.pos + n).min(self.tokens.len() - 1);
        &self.tokens[i].kind
    }

    fn span(&self) -> Span {
        self.tokens[self.pos.min(self.tokens.len() - 1)].span
    }

    /// An empty span just after the previous token.
    fn after_prev(&self) -> Span {
        Span::new(self.file, self.prev_end, self.prev_end)
    }

    fn at(&self, kind: &TokenKind) -> bool {
        self.peek() == kind
    }

    fn at_kw(&self, kw: Kw) -> bool {
        *self.peek() == TokenKind::Kw(kw)
    }

    fn at_eof(&self) -> bool {
        self.at(&TokenKind::Eof)
    }

    /// Consumes the current token (never the final `Eof`) and returns it.
    fn bump(&mut self) -> Token {
        let i = self.pos.min(self.tokens.len() - 1);
        if self.tokens[i].kind == TokenKind::Eof {
            return self.tokens[i].clone();
        }
        self.pos += 1;
        self.prev_end = self.tokens[i].span.end;
        let span = self.tokens[i].span;
        let kind = std::mem::replace(&mut self.tokens[i].kind, TokenKind::Eof);
        Token { kind, span }
    }

    /// Consumes the current token if it is `kind`.
    fn eat(&mut self, kind: &TokenKind) -> Option<Span> {
        if self.at(kind) {
            Some(self.bump().span)
        } else {
            None
        }
    }

    fn eat_kw(&mut self, kw: Kw) -> Option<Span> {
        self.eat(&TokenKind::Kw(kw))
    }

    /// Whether the current token is the first on its line.
    fn starts_line(&self) -> bool {
        let start = self.span().start as usize;
        let before = self.text.get(..start).unwrap_or("");
        before
            .bytes()
            .rev()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\r'))
            .is_none_or(|b| b == b'\n')
            || self.pos == 0
    }

    /// Whether the current token is in column 1.
    fn at_column_zero(&self) -> bool {
        let start = self.span().start as usize;
        start == 0 || self.text.as_bytes().get(start.wrapping_sub(1)) == Some(&b'\n')
    }

    /// `func`, `extern`, `use` or `Type :` — the start of an item.
    fn at_item_start(&self) -> bool {
        match self.peek() {
            TokenKind::Kw(Kw::Func | Kw::Extern | Kw::Use) => true,
            TokenKind::Kw(Kw::Type) => *self.peek_at(1) == TokenKind::Colon,
            _ => false,
        }
    }

    // ----- reporting ----------------------------------------------------

    /// Reports `e`, unless it is only a consequence of a lexer problem (the
    /// current token is `Error`, or the lexer swallowed the rest of the file).
    fn report(&mut self, e: ParseError) {
        let at_lex_error =
            self.at(&TokenKind::Error) || (self.at_eof() && self.eof_after_lex_error);
        let follows_from_lexer = matches!(
            e,
            ParseError::Expected { .. }
                | ParseError::MissingSemi { .. }
                | ParseError::Unclosed { .. }
                | ParseError::ExpectedExpr { .. }
                | ParseError::ExpectedType { .. }
                | ParseError::ExpectedItem { .. }
        );
        if at_lex_error && follows_from_lexer {
            return;
        }
        self.problems.push(e.into_diagnostic());
    }

    fn found(&self) -> String {
        self.peek().describe()
    }

    /// Consumes `kind` or reports "expected `kind` `context`".
    fn expect(&mut self, kind: &TokenKind, context: &'static str) -> PResult<Span> {
        self.expect_with(kind, context, None, None)
    }

    fn expect_with(
        &mut self,
        kind: &TokenKind,
        context: &'static str,
        opener: Option<Span>,
        help: Option<&'static str>,
    ) -> PResult<Span> {
        if let Some(span) = self.eat(kind) {
            return Ok(span);
        }
        let expected = glyph_quoted(kind);
        self.report(ParseError::Expected {
            expected,
            context,
            found: self.found(),
            span: self.span(),
            opener,
            help,
        });
        Err(Reported)
    }

    /// Consumes `;` ending `after` (e.g. "the declaration"). When it is
    /// missing, reports once at the end of the previous token; if the next
    /// token plausibly starts something new (new line, `}`, end of file),
    /// carries on as if the `;` were there.
    fn expect_semi(&mut self, after: &'static str) -> PResult<Span> {
        if let Some(span) = self.eat(&TokenKind::Semi) {
            return Ok(span);
        }
        let span = self.after_prev();
        self.report(ParseError::MissingSemi { after, span });
        if self.starts_line() || self.at(&TokenKind::RBrace) || self.at_eof() {
            Ok(span)
        } else {
            Err(Reported)
        }
    }

    /// Enters one nesting level; reports NPK-114 (once) past the limit.
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            if !self.too_deep_reported {
                self.too_deep_reported = true;
                let span = self.span();
                self.report(ParseError::TooDeep { span });
            }
            return Err(Reported);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn expect_ident(&mut self, context: &'static str) -> PResult<ast::Ident> {
        if let TokenKind::Ident(_) = self.peek() {
            let t = self.bump();
            if let TokenKind::Ident(name) = t.kind {
                return Ok(ast::Ident { name, span: t.span });
            }
        }
        let help = match self.peek() {
            TokenKind::Kw(_) => Some("keywords and type names cannot be used as names"),
            _ => None,
        };
        self.report(ParseError::Expected {
            expected: "a name",
            context,
            found: self.found(),
            span: self.span(),
            opener: None,
            help,
        });
        Err(Reported)
    }

    // ----- recovery -----------------------------------------------------

    /// Skips a balanced `(...)`, `[...]` or `{...}` group starting at the
    /// current opener; stops early at end of file or an item start in column 1.
    fn skip_group(&mut self) {
        self.skip_group_from(0);
    }

    /// Like `skip_group`, when `depth` openers are already consumed.
    fn skip_group_from(&mut self, mut depth: usize) {
        loop {
            match self.peek() {
                TokenKind::Eof => return,
                TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace => depth += 1,
                TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.bump();
                        return;
                    }
                }
                _ if self.at_item_start() && self.at_column_zero() => return,
                _ => {}
            }
            self.bump();
        }
    }

    /// After a failed statement: skip to just after its `;`, or past one
    /// `{...}` group, or to a `}` / item start / statement keyword that
    /// begins a line, whichever comes first.
    fn sync_stmt(&mut self) {
        loop {
            match self.peek() {
                TokenKind::Eof | TokenKind::RBrace => return,
                TokenKind::Semi => {
                    self.bump();
                    return;
                }
                TokenKind::LBrace => {
                    self.skip_group();
                    self.eat(&TokenKind::Semi);
                    return;
                }
                TokenKind::LParen | TokenKind::LBracket => self.skip_group(),
                TokenKind::Kw(
                    Kw::If
                    | Kw::While
                    | Kw::For
                    | Kw::Loop
                    | Kw::Till
                    | Kw::Defer
                    | Kw::Pass
                    | Kw::Fail
                    | Kw::Exit
                    | Kw::Break
                    | Kw::Continue,
                ) if self.starts_line() => return,
                _ if self.at_item_start() => return,
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// After a failed item: skip to the next item start at brace depth 0 (or
    /// in column 1, which survives a missing `}`). Inside a `Type:` body
    /// (`in_body`), also stop before the `}` that closes it.
    fn sync_item(&mut self, in_body: bool) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                TokenKind::Eof => return,
                TokenKind::LBrace => depth += 1,
                TokenKind::RBrace if depth == 0 && in_body => return,
                TokenKind::RBrace => depth = depth.saturating_sub(1),
                _ if self.at_item_start() && (depth == 0 || self.at_column_zero()) => return,
                _ => {}
            }
            self.bump();
        }
    }

    // ----- items --------------------------------------------------------

    fn items(&mut self) -> Vec<ast::Item> {
        let mut items = Vec::new();
        while !self.at_eof() {
            if self.eat(&TokenKind::Error).is_some() {
                continue;
            }
            let before = self.pos;
            match self.expect_item() {
                Ok(item) => items.push(item),
                Err(Reported) => {
                    self.sync_item(false);
                    if self.pos == before {
                        self.bump();
                    }
                }
            }
        }
        items
    }

    fn expect_item(&mut self) -> PResult<ast::Item> {
        let start = self.span();
        match self.peek() {
            TokenKind::Kw(Kw::Use) => self.expect_use().map(ast::Item::Use),
            TokenKind::Kw(Kw::Func) => self.expect_func().map(ast::Item::Func),
            TokenKind::Kw(Kw::Extern) => self.expect_extern().map(ast::Item::Extern),
            TokenKind::Kw(Kw::Type) => self.expect_namespace().map(ast::Item::Namespace),
            _ => {
                let looks_like_statement = self.at_decl_start()
                    || matches!(
                        self.peek(),
                        TokenKind::Ident(_)
                            | TokenKind::Kw(
                                Kw::If
                                    | Kw::While
                                    | Kw::For
                                    | Kw::Loop
                                    | Kw::Till
                                    | Kw::Pass
                                    | Kw::Fail
                                    | Kw::Exit
                                    | Kw::Defer
                            )
                    );
                self.report(ParseError::ExpectedItem {
                    found: self.found(),
                    span: start,
                    looks_like_statement,
                });
                Err(Reported)
            }
        }
    }

    /// `use "path".*;`
    fn expect_use(&mut self) -> PResult<ast::UseDecl> {
        let start = self.bump().span;
        let (path, path_span) = match self.peek() {
            TokenKind::Str(_) => {
                let t = self.bump();
                match t.kind {
                    TokenKind::Str(s) => (s, t.span),
                    _ => (String::new(), t.span),
                }
            }
            _ => {
                self.report(ParseError::Expected {
                    expected: "a file name string",
                    context: "after `use`",
                    found: self.found(),
                    span: self.span(),
                    opener: None,
                    help: Some("write `use \"file.npk\".*;`"),
                });
                return Err(Reported);
            }
        };
        let help = Some("write `use \"file.npk\".*;` to import everything from the file");
        self.expect_with(&TokenKind::Dot, "after the file name", None, help)?;
        self.expect_with(&TokenKind::Star, "after `.`", None, help)?;
        let end = self.expect_semi("the `use` declaration")?;
        Ok(ast::UseDecl {
            path,
            path_span,
            span: start.to(end),
        })
    }

    /// `func:name = Ret(params) { body };`
    fn expect_func(&mut self) -> PResult<ast::FuncDecl> {
        let start = self.bump().span;
        let (name, ret_quals, ret, params) = self.expect_signature()?;
        let body = self.expect_block("the function body")?;
        let end = self.expect_semi("the function")?;
        Ok(ast::FuncDecl {
            name,
            ret_quals,
            ret,
            params,
            body,
            span: start.to(end),
        })
    }

    /// `extern func:name = Ret(params);`
    fn expect_extern(&mut self) -> PResult<ast::ExternDecl> {
        let start = self.bump().span;
        self.expect_with(
            &TokenKind::Kw(Kw::Func),
            "after `extern`",
            None,
            Some("write `extern func:name = int32(int32:a);`"),
        )?;
        let (name, ret_quals, ret, params) = self.expect_signature()?;
        if self.at(&TokenKind::LBrace) {
            self.report(ParseError::Expected {
                expected: "`;`",
                context: "after an `extern` declaration",
                found: self.found(),
                span: self.span(),
                opener: None,
                help: Some("an `extern func` has no body: it is defined in C"),
            });
            return Err(Reported);
        }
        let end = self.expect_semi("the `extern` declaration")?;
        Ok(ast::ExternDecl {
            name,
            ret_quals,
            ret,
            params,
            span: start.to(end),
        })
    }

    /// `:name = [quals] Ret(params)` after `func`.
    #[allow(clippy::type_complexity)]
    fn expect_signature(
        &mut self,
    ) -> PResult<(ast::Ident, ast::Quals, ast::TypeExpr, Vec<ast::Param>)> {
        self.expect_with(
            &TokenKind::Colon,
            "after `func`",
            None,
            Some("write `func:name = int32() { ... };`"),
        )?;
        let name = self.expect_ident("for the function")?;
        self.expect_with(
            &TokenKind::Eq,
            "after the function name",
            None,
            Some("write `func:name = int32() { ... };`"),
        )?;
        let ret_quals = self.quals();
        let ret = self.expect_type(true)?;
        let open = self.expect_with(
            &TokenKind::LParen,
            "to start the parameter list",
            None,
            Some("write the parameters after the return type, e.g. `int32(int32:a)` or `int32()`"),
        )?;
        let mut params = Vec::new();
        if self.eat(&TokenKind::RParen).is_none() {
            loop {
                params.push(self.expect_param()?);
                if self.eat(&TokenKind::Comma).is_some() {
                    continue;
                }
                self.expect_with(
                    &TokenKind::RParen,
                    "or `,` in the parameter list",
                    Some(open),
                    None,
                )?;
                break;
            }
        }
        Ok((name, ret_quals, ret, params))
    }

    /// `[quals] Type:name`
    fn expect_param(&mut self) -> PResult<ast::Param> {
        let start = self.span();
        let quals = self.quals();
        let ty = self.expect_type(true)?;
        self.expect_with(
            &TokenKind::Colon,
            "between the parameter type and its name",
            None,
            Some("parameters are written `int32:a`"),
        )?;
        let name = self.expect_ident("for the parameter")?;
        Ok(ast::Param {
            quals,
            ty,
            span: start.to(name.span),
            name,
        })
    }

    /// `Type:Name = { func:a = ...; ... };`
    fn expect_namespace(&mut self) -> PResult<ast::NamespaceDecl> {
        let start = self.bump().span;
        self.expect(&TokenKind::Colon, "after `Type`")?;
        let name = self.expect_ident("for the type")?;
        self.expect(&TokenKind::Eq, "after the type name")?;
        let open = self.expect(&TokenKind::LBrace, "to start the type body")?;
        let mut funcs = Vec::new();
        loop {
            match self.peek() {
                TokenKind::RBrace => {
                    self.bump();
                    break;
                }
                TokenKind::Eof => {
                    if self.unclosed_at != Some(self.pos) {
                        self.unclosed_at = Some(self.pos);
                        let span = self.after_prev();
                        self.report(ParseError::Unclosed {
                            what: "the type body",
                            open,
                            span,
                        });
                    }
                    return Err(Reported);
                }
                TokenKind::Kw(Kw::Func) => {
                    let before = self.pos;
                    match self.expect_func() {
                        Ok(f) => funcs.push(f),
                        Err(Reported) => {
                            self.sync_item(true);
                            if self.pos == before {
                                self.bump();
                            }
                        }
                    }
                }
                _ if self.at_item_start() && self.at_column_zero() => {
                    if self.unclosed_at != Some(self.pos) {
                        self.unclosed_at = Some(self.pos);
                        let span = self.after_prev();
                        self.report(ParseError::Unclosed {
                            what: "the type body",
                            open,
                            span,
                        });
                    }
                    return Err(Reported);
                }
                _ => {
                    self.report(ParseError::Expected {
                        expected: "`func`",
                        context: "in a `Type:` body",
                        found: self.found(),
                        span: self.span(),
                        opener: None,
                        help: Some(
                            "a `Type:` body holds only functions: `func:name = int32() { ... };`",
                        ),
                    });
                    let before = self.pos;
                    self.sync_item(true);
                    if self.pos == before {
                        self.bump();
                    }
                }
            }
        }
        let end = self.expect_semi("the `Type:` declaration")?;
        Ok(ast::NamespaceDecl {
            name,
            funcs,
            span: start.to(end),
        })
    }
}

/// "`)`" for a punctuation token kind, "keyword `func`" for keywords.
fn glyph_quoted(kind: &TokenKind) -> &'static str {
    match kind {
        TokenKind::LParen => "`(`",
        TokenKind::RParen => "`)`",
        TokenKind::LBrace => "`{`",
        TokenKind::RBrace => "`}`",
        TokenKind::LBracket => "`[`",
        TokenKind::RBracket => "`]`",
        TokenKind::Semi => "`;`",
        TokenKind::Comma => "`,`",
        TokenKind::Colon => "`:`",
        TokenKind::Dot => "`.`",
        TokenKind::Star => "`*`",
        TokenKind::Eq => "`=`",
        TokenKind::Gt => "`>`",
        TokenKind::Lt => "`<`",
        TokenKind::Kw(Kw::Func) => "`func`",
        _ => "a token",
    }
}

#[cfg(test)]
mod tests;
