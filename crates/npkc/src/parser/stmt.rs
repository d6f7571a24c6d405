//! Blocks and statements (SPEC §3.3).
//!
//! A block recovers statement by statement: a failed statement is skipped
//! with `sync_stmt`, so the block keeps going. A block whose `}` is missing
//! (end of file, or an item keyword where a statement should be) reports
//! NPK-112 once and fails, and the enclosing item recovers.

use super::{PResult, Parser, Reported};
use crate::ast::{BinOp, Block, ElseBranch, Expr, ExprKind, Stmt, StmtKind};
use crate::lexer::{Kw, TokenKind};
use crate::parser::error::ParseError;
use crate::source::Span;

impl Parser<'_, '_> {
    /// `{ stmts }`; `what` names the block in messages ("the function body").
    pub(super) fn expect_block(&mut self, what: &'static str) -> PResult<Block> {
        let open = self.expect(&TokenKind::LBrace, block_context(what))?;
        if self.enter().is_err() {
            self.skip_group_from(1);
            return Err(Reported);
        }
        let result = self.block_rest(open, what);
        self.leave();
        result
    }

    fn block_rest(&mut self, open: Span, what: &'static str) -> PResult<Block> {
        let mut stmts = Vec::new();
        loop {
            match self.peek() {
                TokenKind::RBrace => {
                    let close = self.bump().span;
                    return Ok(Block {
                        stmts,
                        span: open.to(close),
                    });
                }
                TokenKind::Semi | TokenKind::Error => {
                    // An empty statement (e.g. after `if (c) { ... };`), or
                    // text the lexer already reported.
                    self.bump();
                }
                TokenKind::Eof => return Err(self.unclosed(open, what)),
                _ if self.at_item_start() => return Err(self.unclosed(open, what)),
                _ => {
                    let before = self.pos;
                    match self.expect_stmt() {
                        Ok(s) => stmts.push(s),
                        Err(Reported) => {
                            self.sync_stmt();
                            if self.pos == before && !self.at(&TokenKind::RBrace) {
                                self.bump();
                            }
                        }
                    }
                }
            }
        }
    }

    fn unclosed(&mut self, open: Span, what: &'static str) -> Reported {
        if self.unclosed_at != Some(self.pos) {
            self.unclosed_at = Some(self.pos);
            let span = self.after_prev();
            self.report(ParseError::Unclosed { what, open, span });
        }
        Reported
    }

    /// One statement (never absent: anything else is reported).
    pub(super) fn expect_stmt(&mut self) -> PResult<Stmt> {
        let start = self.span();
        let kind = match self.peek() {
            TokenKind::LBrace => StmtKind::Block(self.expect_block("the block")?),
            TokenKind::Kw(Kw::If) => return self.expect_if(),
            TokenKind::Kw(Kw::Else) => {
                self.report(ParseError::ElseWithoutIf { span: start });
                return Err(Reported);
            }
            TokenKind::Kw(Kw::While) => {
                self.bump();
                let cond = self.expect_paren_expr("after `while`")?;
                let body = self.expect_block("the loop body")?;
                StmtKind::While { cond, body }
            }
            TokenKind::Kw(Kw::For) => self.expect_for()?,
            TokenKind::Kw(Kw::Loop) => {
                self.bump();
                let open = self.expect(&TokenKind::LParen, "after `loop`")?;
                let start_e = self.expect_expr()?;
                self.expect_with(
                    &TokenKind::Comma,
                    "after the start value",
                    Some(open),
                    LOOP_HELP,
                )?;
                let limit = self.expect_expr()?;
                self.expect_with(&TokenKind::Comma, "after the limit", Some(open), LOOP_HELP)?;
                let step = self.expect_expr()?;
                self.expect_with(&TokenKind::RParen, "after the step", Some(open), LOOP_HELP)?;
                let body = self.expect_block("the loop body")?;
                StmtKind::Loop {
                    start: start_e,
                    limit,
                    step,
                    body,
                }
            }
            TokenKind::Kw(Kw::Till) => {
                self.bump();
                let open = self.expect(&TokenKind::LParen, "after `till`")?;
                let limit = self.expect_expr()?;
                self.expect_with(&TokenKind::Comma, "after the limit", Some(open), TILL_HELP)?;
                let step = self.expect_expr()?;
                self.expect_with(&TokenKind::RParen, "after the step", Some(open), TILL_HELP)?;
                let body = self.expect_block("the loop body")?;
                StmtKind::Till { limit, step, body }
            }
            TokenKind::Kw(Kw::Break) => {
                self.bump();
                let end = self.expect_semi("`break`")?;
                return Ok(stmt(StmtKind::Break, start.to(end)));
            }
            TokenKind::Kw(Kw::Continue) => {
                self.bump();
                let end = self.expect_semi("`continue`")?;
                return Ok(stmt(StmtKind::Continue, start.to(end)));
            }
            TokenKind::Kw(Kw::Defer) => {
                self.bump();
                StmtKind::Defer(self.expect_block("the `defer` block")?)
            }
            TokenKind::Kw(Kw::Pass) => {
                self.bump();
                let value = if self.at(&TokenKind::Semi) || self.at(&TokenKind::RBrace) {
                    None
                } else {
                    Some(self.expect_expr()?)
                };
                let end = self.expect_semi("`pass`")?;
                return Ok(stmt(StmtKind::Pass(value), start.to(end)));
            }
            TokenKind::Kw(Kw::Fail) => {
                self.bump();
                let value = self.expect_expr()?;
                let end = self.expect_semi("`fail`")?;
                return Ok(stmt(StmtKind::Fail(value), start.to(end)));
            }
            TokenKind::Kw(Kw::Exit) => {
                self.bump();
                let value = self.expect_expr()?;
                let end = self.expect_semi("`exit`")?;
                return Ok(stmt(StmtKind::Exit(value), start.to(end)));
            }
            _ => {
                let (kind, what) = self.expect_simple_stmt()?;
                let end = self.expect_semi(what)?;
                return Ok(stmt(kind, start.to(end)));
            }
        };
        Ok(stmt(kind, Span::new(self.file, start.start, self.prev_end)))
    }

    /// A declaration, assignment or expression statement without its `;`
    /// (also the `init` and `step` of `for`). Returns what it was, for the
    /// missing-`;` message.
    fn expect_simple_stmt(&mut self) -> PResult<(StmtKind, &'static str)> {
        if self.at_decl_start() {
            let quals = self.quals();
            let ty = self.expect_type(true)?;
            let help = match self.peek() {
                TokenKind::Ident(_) => {
                    Some("declarations are written `Type:name`, e.g. `int32:x = 0;`")
                }
                _ => None,
            };
            self.expect_with(
                &TokenKind::Colon,
                "between the type and the name",
                None,
                help,
            )?;
            let name = self.expect_ident("for the new variable")?;
            self.expect_with(
                &TokenKind::Eq,
                "after the variable name",
                None,
                Some("a declaration needs an initial value, e.g. `int32:x = 0;`"),
            )?;
            let init = self.expect_expr()?;
            let kind = StmtKind::Let {
                quals,
                ty,
                name,
                init,
            };
            return Ok((kind, "the declaration"));
        }
        let target = self.expect_expr()?;
        let Some(op) = assign_op(self.peek()) else {
            return Ok((StmtKind::Expr(target), "the expression"));
        };
        self.bump();
        if !is_place(&target) {
            self.report(ParseError::BadAssignTarget { span: target.span });
        }
        let value = self.expect_expr()?;
        Ok((StmtKind::Assign { target, op, value }, "the assignment"))
    }

    /// `if (c) { } [else if ... | else { }]`. Only the blocks count as
    /// nesting: an `else if` chain is a flat sequence of arms (parsed in a
    /// loop, up to [`MAX_ELSE_IF_ARMS`]), not one level deeper per arm.
    fn expect_if(&mut self) -> PResult<Stmt> {
        // (start, condition, then-block) of each `if` of the chain.
        let mut arms = Vec::new();
        let mut last_else = None;
        loop {
            let start = self.bump().span;
            let cond = self.expect_paren_expr("after `if`")?;
            let then_block = self.expect_block("the `if` block")?;
            arms.push((start, cond, then_block));
            if self.eat_kw(Kw::Else).is_none() {
                break;
            }
            if !self.at_kw(Kw::If) {
                last_else = Some(self.expect_block("the `else` block")?);
                break;
            }
            if arms.len() == MAX_ELSE_IF_ARMS && !self.too_deep_reported {
                // Reported once; the chain is still parsed (iteratively), and
                // the error stops the pipeline before any pass walks it.
                self.too_deep_reported = true;
                let span = self.span();
                self.report(ParseError::TooDeep { span });
            }
        }
        let end = self.prev_end;
        let mut else_branch = last_else.map(|b| Box::new(ElseBranch::Block(b)));
        while let Some((start, cond, then_block)) = arms.pop() {
            let span = Span::new(self.file, start.start, end);
            let s = stmt(
                StmtKind::If {
                    cond,
                    then_block,
                    else_branch,
                },
                span,
            );
            if arms.is_empty() {
                return Ok(s);
            }
            else_branch = Some(Box::new(ElseBranch::If(s)));
        }
        Err(Reported)
    }

    /// `for (init; cond; step) { }`
    fn expect_for(&mut self) -> PResult<StmtKind> {
        self.bump();
        let open = self.expect(&TokenKind::LParen, "after `for`")?;
        let init = if self.at(&TokenKind::Semi) {
            None
        } else {
            let start = self.span();
            let (kind, _) = self.expect_simple_stmt()?;
            let span = Span::new(self.file, start.start, self.prev_end);
            Some(Box::new(stmt(kind, span)))
        };
        self.expect_with(
            &TokenKind::Semi,
            "after the `for` initialiser",
            Some(open),
            FOR_HELP,
        )?;
        let cond = if self.at(&TokenKind::Semi) {
            None
        } else {
            Some(self.expect_expr()?)
        };
        self.expect_with(
            &TokenKind::Semi,
            "after the `for` condition",
            Some(open),
            FOR_HELP,
        )?;
        let step = if self.at(&TokenKind::RParen) {
            None
        } else {
            let start = self.span();
            let (kind, _) = self.expect_simple_stmt()?;
            let span = Span::new(self.file, start.start, self.prev_end);
            Some(Box::new(stmt(kind, span)))
        };
        self.expect_with(
            &TokenKind::RParen,
            "after the `for` step",
            Some(open),
            FOR_HELP,
        )?;
        let body = self.expect_block("the loop body")?;
        Ok(StmtKind::For {
            init,
            cond,
            step,
            body,
        })
    }

    /// `( expr )` as in `if (c)` / `while (c)`.
    fn expect_paren_expr(&mut self, context: &'static str) -> PResult<Expr> {
        let open = self.expect_with(
            &TokenKind::LParen,
            context,
            None,
            Some("conditions are written in parentheses: `if (x > 0) { ... }`"),
        )?;
        let e = self.expect_expr()?;
        let help = match self.peek() {
            TokenKind::Eq => Some("use `==` to compare; `=` only assigns, as a statement"),
            _ => None,
        };
        self.expect_with(
            &TokenKind::RParen,
            "to close the condition",
            Some(open),
            help,
        )?;
        Ok(e)
    }
}

/// Arms of one `if ... else if ...` chain (later passes walk the chain
/// recursively; this keeps them far inside the compiler's stack).
const MAX_ELSE_IF_ARMS: usize = 500;

const LOOP_HELP: Option<&str> = Some("write `loop(start, limit, step) { ... }`");
const TILL_HELP: Option<&str> = Some("write `till(limit, step) { ... }`");
const FOR_HELP: Option<&str> = Some("write `for (int64:i = 0; i < n; i += 1) { ... }`");

fn stmt(kind: StmtKind, span: Span) -> Stmt {
    Stmt { kind, span }
}

fn block_context(what: &'static str) -> &'static str {
    match what {
        "the function body" => "to start the function body",
        "the loop body" => "to start the loop body",
        "the `if` block" => "after the `if` condition",
        "the `else` block" => "after `else`",
        "the `defer` block" => "after `defer`",
        _ => "to start the block",
    }
}

/// `=` → `Some(None)`, `+=` → `Some(Some(Add))`, anything else `None`.
fn assign_op(kind: &TokenKind) -> Option<Option<BinOp>> {
    Some(match kind {
        TokenKind::Eq => None,
        TokenKind::PlusEq => Some(BinOp::Add),
        TokenKind::MinusEq => Some(BinOp::Sub),
        TokenKind::StarEq => Some(BinOp::Mul),
        TokenKind::SlashEq => Some(BinOp::Div),
        TokenKind::PercentEq => Some(BinOp::Rem),
        TokenKind::AmpEq => Some(BinOp::BitAnd),
        TokenKind::PipeEq => Some(BinOp::BitOr),
        TokenKind::CaretEq => Some(BinOp::BitXor),
        TokenKind::ShlEq => Some(BinOp::Shl),
        TokenKind::ShrEq => Some(BinOp::Shr),
        _ => return None,
    })
}

/// Whether `e` can be assigned: a name, `p[i]` or `<-p`.
fn is_place(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Name(_) | ExprKind::Index { .. } | ExprKind::Deref(_)
    )
}
