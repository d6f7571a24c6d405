//! Expressions by precedence climbing, lowest first: `is (c) : a : b`,
//! `e ? d` (right-associative), the binary table in [`binary_prec`], `e => T`,
//! unary (`- ! ~ @ <- raw drop`), postfix (call, `[i]`, `.name`, `->name`),
//! primaries. Template strings are parsed here from the token lists the lexer
//! made for each `&{...}`.
//!
//! `<-` where a binary operator is expected means `<` then unary `-`
//! (`a<-b` is `a < -b`); `@cast<` always starts a cast `@cast<T>(e)`.

use super::{MAX_CHAIN, PResult, Parser, Reported};
use crate::ast::{BinOp, Expr, ExprKind, TemplatePart, UnOp};
use crate::lexer::{Kw, TemplatePiece, TokenKind};
use crate::parser::error::ParseError;
use crate::source::Span;

/// Precedence of `e => T`: above every binary operator, below unary.
const CAST_PREC: u8 = 11;

impl Parser<'_, '_> {
    /// A full expression (the lowest precedence level).
    pub(super) fn expect_expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let result = self.expr_cond();
        self.leave();
        result
    }

    /// `is (c) : a : b`, or an `?` level expression.
    fn expr_cond(&mut self) -> PResult<Expr> {
        if !self.at_kw(Kw::Is) {
            return self.expr_or_else();
        }
        let start = self.bump().span;
        let open = self.expect_with(
            &TokenKind::LParen,
            "after `is`",
            None,
            Some("write `is (condition) : value_if_true : value_if_false`"),
        )?;
        let cond = self.expect_expr()?;
        self.expect_with(
            &TokenKind::RParen,
            "to close the condition",
            Some(open),
            None,
        )?;
        let help = Some("write `is (condition) : value_if_true : value_if_false`");
        self.expect_with(&TokenKind::Colon, "after the `is` condition", None, help)?;
        let then_expr = self.expect_expr()?;
        self.expect_with(&TokenKind::Colon, "before the `is` else value", None, help)?;
        let else_expr = self.expect_expr()?;
        Ok(Expr {
            span: start.to(else_expr.span),
            kind: ExprKind::Cond {
                cond: Box::new(cond),
                then_expr: Box::new(then_expr),
                else_expr: Box::new(else_expr),
            },
        })
    }

    /// `e ? d`
    fn expr_or_else(&mut self) -> PResult<Expr> {
        let expr = self.expr_binary(1)?;
        if self.eat(&TokenKind::Question).is_none() {
            return Ok(expr);
        }
        let default = self.expect_expr()?;
        Ok(Expr {
            span: expr.span.to(default.span),
            kind: ExprKind::OrElse {
                expr: Box::new(expr),
                default: Box::new(default),
            },
        })
    }

    /// Binary operators of precedence `min` and above.
    fn expr_binary(&mut self, min: u8) -> PResult<Expr> {
        let lhs = self.expr_unary()?;
        self.binary_rest(lhs, min)
    }

    fn binary_rest(&mut self, mut lhs: Expr, min: u8) -> PResult<Expr> {
        let mut chain = 0u32;
        loop {
            if self.at(&TokenKind::FatArrow) && CAST_PREC >= min {
                self.bump();
                let ty = self.expect_type(false)?;
                lhs = Expr {
                    span: lhs.span.to(ty.span),
                    kind: ExprKind::Cast {
                        ty,
                        expr: Box::new(lhs),
                    },
                };
            } else if self.at(&TokenKind::LArrow) && binary_prec(BinOp::Lt) >= min {
                // `a<-b` is `a < -b`.
                let t = self.bump();
                let minus = Span::new(self.file, t.span.start + 1, t.span.end);
                let operand = self.expr_unary()?;
                let neg = Expr {
                    span: minus.to(operand.span),
                    kind: ExprKind::Unary {
                        op: UnOp::Neg,
                        expr: Box::new(operand),
                    },
                };
                let rhs = self.binary_rest(neg, binary_prec(BinOp::Lt) + 1)?;
                lhs = binary(BinOp::Lt, lhs, rhs);
            } else {
                let Some(op) = binop(self.peek()) else {
                    return Ok(lhs);
                };
                let prec = binary_prec(op);
                if prec < min {
                    return Ok(lhs);
                }
                self.bump();
                let rhs = self.expr_binary(prec + 1)?;
                lhs = binary(op, lhs, rhs);
            }
            chain += 1;
            if chain > MAX_CHAIN {
                return Err(self.too_long(lhs.span));
            }
        }
    }

    fn too_long(&mut self, span: Span) -> Reported {
        if !self.too_deep_reported {
            self.too_deep_reported = true;
            self.report(ParseError::TooDeep { span });
        }
        Reported
    }

    /// Prefix operators, then postfix.
    fn expr_unary(&mut self) -> PResult<Expr> {
        let start = self.span();
        let wrap: fn(Box<Expr>) -> ExprKind = match self.peek() {
            TokenKind::Minus => |e| ExprKind::Unary {
                op: UnOp::Neg,
                expr: e,
            },
            TokenKind::Bang => |e| ExprKind::Unary {
                op: UnOp::Not,
                expr: e,
            },
            TokenKind::Tilde => |e| ExprKind::Unary {
                op: UnOp::BitNot,
                expr: e,
            },
            TokenKind::At if self.at_cast() => return self.expr_postfix(),
            TokenKind::At => ExprKind::AddrOf,
            TokenKind::LArrow => ExprKind::Deref,
            TokenKind::Kw(Kw::Raw) => ExprKind::Raw,
            TokenKind::Kw(Kw::Drop) => ExprKind::Drop,
            _ => return self.expr_postfix(),
        };
        self.bump();
        self.enter()?;
        let operand = self.expr_unary();
        self.leave();
        let operand = operand?;
        Ok(Expr {
            span: start.to(operand.span),
            kind: wrap(Box::new(operand)),
        })
    }

    /// `@cast<`
    fn at_cast(&self) -> bool {
        matches!(self.peek_at(1), TokenKind::Ident(n) if n == "cast")
            && *self.peek_at(2) == TokenKind::Lt
    }

    /// A primary followed by calls, indexing, `.name` and `->name`.
    fn expr_postfix(&mut self) -> PResult<Expr> {
        let mut e = self.expect_primary()?;
        let mut chain = 0u32;
        loop {
            match self.peek() {
                TokenKind::LParen => {
                    let open = self.bump().span;
                    let args = self.expect_args(open)?;
                    e = Expr {
                        span: e.span.to(Span::new(self.file, open.start, self.prev_end)),
                        kind: ExprKind::Call {
                            callee: Box::new(e),
                            args,
                        },
                    };
                }
                TokenKind::LBracket => {
                    let open = self.bump().span;
                    let index = self.expect_expr()?;
                    let close = self.expect_with(
                        &TokenKind::RBracket,
                        "to close the index",
                        Some(open),
                        None,
                    )?;
                    e = Expr {
                        span: e.span.to(close),
                        kind: ExprKind::Index {
                            base: Box::new(e),
                            index: Box::new(index),
                        },
                    };
                }
                TokenKind::Dot => {
                    self.bump();
                    let name = self.expect_ident("after `.`")?;
                    e = Expr {
                        span: e.span.to(name.span),
                        kind: ExprKind::Field {
                            base: Box::new(e),
                            name,
                        },
                    };
                }
                TokenKind::Arrow => {
                    self.bump();
                    let name = self.expect_ident("after `->`")?;
                    e = Expr {
                        span: e.span.to(name.span),
                        kind: ExprKind::Arrow {
                            base: Box::new(e),
                            name,
                        },
                    };
                }
                _ => return Ok(e),
            }
            chain += 1;
            if chain > MAX_CHAIN {
                return Err(self.too_long(e.span));
            }
        }
    }

    /// Call arguments after `(`, through `)`.
    fn expect_args(&mut self, open: Span) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        if self.eat(&TokenKind::RParen).is_some() {
            return Ok(args);
        }
        loop {
            args.push(self.expect_expr()?);
            if self.eat(&TokenKind::Comma).is_some() {
                continue;
            }
            self.expect_with(
                &TokenKind::RParen,
                "or `,` after the argument",
                Some(open),
                None,
            )?;
            return Ok(args);
        }
    }

    fn expect_primary(&mut self) -> PResult<Expr> {
        let span = self.span();
        let kind = match self.peek() {
            TokenKind::Int { value, suffix } => {
                let kind = ExprKind::Int {
                    value: *value,
                    suffix: *suffix,
                };
                self.bump();
                kind
            }
            TokenKind::Char(c) => {
                let kind = ExprKind::Char(*c);
                self.bump();
                kind
            }
            TokenKind::Kw(Kw::True) => {
                self.bump();
                ExprKind::Bool(true)
            }
            TokenKind::Kw(Kw::False) => {
                self.bump();
                ExprKind::Bool(false)
            }
            TokenKind::Kw(Kw::Null) => {
                self.bump();
                ExprKind::Null
            }
            TokenKind::Dollar => {
                self.bump();
                ExprKind::Dollar
            }
            TokenKind::Str(_) => match self.bump().kind {
                TokenKind::Str(s) => ExprKind::Str(s),
                _ => ExprKind::Str(String::new()),
            },
            TokenKind::Template(_) => match self.bump().kind {
                TokenKind::Template(pieces) => ExprKind::Template(self.template(pieces)?),
                _ => ExprKind::Template(Vec::new()),
            },
            TokenKind::Ident(_) => ExprKind::Name(self.expect_ident("")?),
            TokenKind::LParen => {
                let open = self.bump().span;
                let inner = self.expect_expr()?;
                self.expect_with(
                    &TokenKind::RParen,
                    "to close the parenthesis",
                    Some(open),
                    None,
                )?;
                return Ok(inner);
            }
            TokenKind::At => return self.expect_cast(),
            _ => {
                self.report(ParseError::ExpectedExpr {
                    found: self.found(),
                    span,
                });
                return Err(Reported);
            }
        };
        Ok(Expr { kind, span })
    }

    /// `@cast<T>(e)`
    fn expect_cast(&mut self) -> PResult<Expr> {
        let start = self.bump().span;
        self.bump(); // `cast`
        let open = self.bump().span; // `<`
        let ty = self.expect_type(true)?;
        self.expect_closing_angle(open)?;
        let paren = self.expect_with(
            &TokenKind::LParen,
            "after the cast type",
            None,
            Some("write `@cast<int64>(value)`"),
        )?;
        let expr = self.expect_expr()?;
        let end = self.expect_with(&TokenKind::RParen, "to close the cast", Some(paren), None)?;
        Ok(Expr {
            span: start.to(end),
            kind: ExprKind::Cast {
                ty,
                expr: Box::new(expr),
            },
        })
    }

    /// Parses each `&{...}` of a template string with a parser of its own
    /// over the tokens the lexer made for it.
    fn template(&mut self, pieces: Vec<TemplatePiece>) -> PResult<Vec<TemplatePart>> {
        let mut parts = Vec::new();
        let mut failed = false;
        for piece in pieces {
            match piece {
                TemplatePiece::Text(t) => parts.push(TemplatePart::Text(t)),
                TemplatePiece::Code { tokens, span } => {
                    let only_eof = tokens.iter().all(|t| t.kind == TokenKind::Eof);
                    if only_eof {
                        if tokens.last().is_some_and(|t| t.span.end > t.span.start) {
                            self.report(ParseError::EmptyInterpolation { span });
                        }
                        failed = true;
                        continue;
                    }
                    let mut sub =
                        Parser::new(self.file, self.text, tokens, self.problems, self.depth);
                    sub.too_deep_reported = self.too_deep_reported;
                    let result = sub.expect_expr().and_then(|e| {
                        if sub.at_eof() {
                            Ok(e)
                        } else {
                            sub.report(ParseError::Expected {
                                expected: "`}`",
                                context: "to end the interpolation",
                                found: sub.found(),
                                span: sub.span(),
                                opener: Some(Span::new(span.file, span.start, span.start + 2)),
                                help: Some("an interpolation `&{...}` holds one expression"),
                            });
                            Err(Reported)
                        }
                    });
                    self.too_deep_reported = sub.too_deep_reported;
                    match result {
                        Ok(e) => parts.push(TemplatePart::Expr(e)),
                        Err(Reported) => failed = true,
                    }
                }
            }
        }
        if failed { Err(Reported) } else { Ok(parts) }
    }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr {
        span: lhs.span.to(rhs.span),
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    }
}

/// The binary operator a token stands for.
fn binop(kind: &TokenKind) -> Option<BinOp> {
    Some(match kind {
        TokenKind::OrOr => BinOp::Or,
        TokenKind::AndAnd => BinOp::And,
        TokenKind::Pipe => BinOp::BitOr,
        TokenKind::Caret => BinOp::BitXor,
        TokenKind::Amp => BinOp::BitAnd,
        TokenKind::EqEq => BinOp::Eq,
        TokenKind::NotEq => BinOp::Ne,
        TokenKind::Lt => BinOp::Lt,
        TokenKind::Le => BinOp::Le,
        TokenKind::Gt => BinOp::Gt,
        TokenKind::Ge => BinOp::Ge,
        TokenKind::Shl => BinOp::Shl,
        TokenKind::Shr => BinOp::Shr,
        TokenKind::Plus => BinOp::Add,
        TokenKind::Minus => BinOp::Sub,
        TokenKind::Star => BinOp::Mul,
        TokenKind::Slash => BinOp::Div,
        TokenKind::Percent => BinOp::Rem,
        _ => return None,
    })
}

/// Binding power, low to high, as in the table in `ast.rs`.
fn binary_prec(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::BitOr => 3,
        BinOp::BitXor => 4,
        BinOp::BitAnd => 5,
        BinOp::Eq | BinOp::Ne => 6,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 7,
        BinOp::Shl | BinOp::Shr => 8,
        BinOp::Add | BinOp::Sub => 9,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 10,
    }
}
