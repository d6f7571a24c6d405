//! Types and qualifiers: `[fixed] [stack|wild|wildx|gc] T`, where `T` is a
//! built-in name, `Result<T>`, `?->`, `?*` or a name, followed by any number
//! of `->` (pointer) and, where allowed, `*` (C pointer) suffixes.
//!
//! A `->` followed by a name is never a type suffix: it is the field arrow
//! (`p->x`). `at_decl_start` decides, by looking ahead without consuming,
//! whether a statement is a declaration `Type:name = ...`.

use super::{PResult, Parser, Reported};
use crate::ast::{IntTy, Quals, Region, TypeExpr, TypeExprKind};
use crate::lexer::{Kw, TokenKind};
use crate::parser::error::ParseError;
use crate::source::Span;

impl Parser<'_, '_> {
    /// Qualifiers before a type (possibly none). Repeats and conflicting
    /// regions are reported but do not stop parsing.
    pub(super) fn quals(&mut self) -> Quals {
        let start = self.span();
        let mut quals = Quals {
            fixed: false,
            region: None,
            span: Span::new(self.file, start.start, start.start),
        };
        let mut fixed_span: Option<Span> = None;
        let mut region_span: Option<Span> = None;
        loop {
            let region = match self.peek() {
                TokenKind::Kw(Kw::Fixed) => None,
                TokenKind::Kw(Kw::Stack) => Some(Region::Stack),
                TokenKind::Kw(Kw::Wild) => Some(Region::Wild),
                TokenKind::Kw(Kw::Wildx) => Some(Region::Wildx),
                TokenKind::Kw(Kw::Gc) => Some(Region::Gc),
                _ => break,
            };
            let span = self.bump().span;
            quals.span = quals.span.to(span);
            match region {
                None => match fixed_span {
                    Some(first) => self.report(ParseError::DuplicateQual {
                        qual: "fixed",
                        first,
                        span,
                    }),
                    None => {
                        fixed_span = Some(span);
                        quals.fixed = true;
                    }
                },
                Some(r) => match region_span {
                    Some(first) => self.report(ParseError::ConflictingRegion { first, span }),
                    None => {
                        region_span = Some(span);
                        quals.region = Some(r);
                    }
                },
            }
        }
        quals
    }

    /// A type. `allow_cptr`: whether a `*` suffix is a C pointer (not after
    /// `=>`, where `*` is multiplication).
    pub(super) fn expect_type(&mut self, allow_cptr: bool) -> PResult<TypeExpr> {
        let start = self.span();
        let kind = match self.peek() {
            TokenKind::Kw(kw) => match base_type(*kw) {
                Some(k) => {
                    self.bump();
                    k
                }
                None if *kw == Kw::Result => {
                    self.bump();
                    return self.expect_result_type(start, allow_cptr);
                }
                None => return Err(self.type_error()),
            },
            TokenKind::ErasedPtr => {
                self.bump();
                TypeExprKind::Erased
            }
            TokenKind::ErasedCPtr => {
                self.bump();
                TypeExprKind::CErased
            }
            TokenKind::Ident(_) => {
                let ident = self.expect_ident("")?;
                TypeExprKind::Named(ident)
            }
            _ => return Err(self.type_error()),
        };
        let ty = TypeExpr {
            kind,
            span: start.to(Span::new(self.file, start.start, self.prev_end)),
        };
        Ok(self.type_suffixes(ty, allow_cptr))
    }

    fn type_error(&mut self) -> Reported {
        self.report(ParseError::ExpectedType {
            found: self.found(),
            span: self.span(),
        });
        Reported
    }

    /// `<T>` after `Result`, splitting a `>>` token if needed.
    fn expect_result_type(&mut self, start: Span, allow_cptr: bool) -> PResult<TypeExpr> {
        let open = self.expect_with(
            &TokenKind::Lt,
            "after `Result`",
            None,
            Some("write `Result<int32>`"),
        )?;
        self.enter()?;
        let inner = self.expect_type(allow_cptr);
        self.leave();
        let inner = inner?;
        self.expect_closing_angle(open)?;
        let ty = TypeExpr {
            kind: TypeExprKind::Result(Box::new(inner)),
            span: Span::new(self.file, start.start, self.prev_end),
        };
        Ok(self.type_suffixes(ty, allow_cptr))
    }

    /// A `>` closing a type argument list; `>>` and `>=`/`>>=` are split.
    pub(super) fn expect_closing_angle(&mut self, open: Span) -> PResult<Span> {
        let rest = match self.peek() {
            TokenKind::Shr => Some(TokenKind::Gt),
            TokenKind::Ge => Some(TokenKind::Eq),
            TokenKind::ShrEq => Some(TokenKind::Ge),
            _ => None,
        };
        match rest {
            Some(rest) => {
                let i = self.pos;
                let span = self.tokens[i].span;
                let first = Span::new(self.file, span.start, span.start + 1);
                self.tokens[i].kind = rest;
                self.tokens[i].span.start = span.start + 1;
                self.prev_end = first.end;
                Ok(first)
            }
            None => self.expect_with(
                &TokenKind::Gt,
                "to close the type argument",
                Some(open),
                None,
            ),
        }
    }

    fn type_suffixes(&mut self, mut ty: TypeExpr, allow_cptr: bool) -> TypeExpr {
        loop {
            let is_suffix = match self.peek() {
                TokenKind::Arrow => !matches!(self.peek_at(1), TokenKind::Ident(_)),
                TokenKind::Star => allow_cptr,
                _ => false,
            };
            if !is_suffix {
                return ty;
            }
            let t = self.bump();
            let span = ty.span.to(t.span);
            let kind = if t.kind == TokenKind::Arrow {
                TypeExprKind::Ptr(Box::new(ty))
            } else {
                TypeExprKind::CPtr(Box::new(ty))
            };
            ty = TypeExpr { kind, span };
        }
    }

    /// Whether the tokens ahead read `[quals] Type :` (a declaration).
    pub(super) fn at_decl_start(&self) -> bool {
        if let TokenKind::Kw(Kw::Fixed | Kw::Stack | Kw::Wild | Kw::Wildx | Kw::Gc) = self.peek() {
            return true;
        }
        let mut i = 0;
        match self.peek_at(i) {
            TokenKind::Kw(kw) if base_type(*kw).is_some() || *kw == Kw::Result => true,
            TokenKind::ErasedPtr | TokenKind::ErasedCPtr => true,
            TokenKind::Ident(_) => {
                i += 1;
                while matches!(self.peek_at(i), TokenKind::Arrow | TokenKind::Star) {
                    i += 1;
                }
                *self.peek_at(i) == TokenKind::Colon
            }
            _ => false,
        }
    }
}

/// The type a built-in type keyword names.
fn base_type(kw: Kw) -> Option<TypeExprKind> {
    Some(match kw {
        Kw::Int8 => TypeExprKind::Int(IntTy::I8),
        Kw::Int16 => TypeExprKind::Int(IntTy::I16),
        Kw::Int32 => TypeExprKind::Int(IntTy::I32),
        Kw::Int64 => TypeExprKind::Int(IntTy::I64),
        Kw::Uint8 => TypeExprKind::Int(IntTy::U8),
        Kw::Uint16 => TypeExprKind::Int(IntTy::U16),
        Kw::Uint32 => TypeExprKind::Int(IntTy::U32),
        Kw::Uint64 => TypeExprKind::Int(IntTy::U64),
        Kw::Tbb32 => TypeExprKind::Tbb32,
        Kw::Bool => TypeExprKind::Bool,
        Kw::String => TypeExprKind::String,
        Kw::Nil => TypeExprKind::Nil,
        Kw::Void => TypeExprKind::Void,
        _ => return None,
    })
}
