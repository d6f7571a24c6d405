//! Lexer unit tests: token kinds and spans for each lexical form.

use super::*;
use crate::ast::IntTy;

fn kinds(src: &str) -> Vec<TokenKind> {
    let mut p = Problems::new();
    let toks = lex(FileId(0), src, &mut p);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    toks.into_iter()
        .map(|t| t.kind)
        .filter(|k| *k != TokenKind::Eof)
        .collect()
}

#[test]
fn operators_are_lexed_greedily() {
    use TokenKind::*;
    assert_eq!(
        kinds("-> <- => ?-> ?* ? <<= >>= << >> <= >= == != && || += -= *= /= %= &= |= ^="),
        [
            Arrow, LArrow, FatArrow, ErasedPtr, ErasedCPtr, Question, ShlEq, ShrEq, Shl, Shr, Le,
            Ge, EqEq, NotEq, AndAnd, OrOr, PlusEq, MinusEq, StarEq, SlashEq, PercentEq, AmpEq,
            PipeEq, CaretEq
        ]
    );
}

#[test]
fn larrow_is_always_one_token() {
    assert_eq!(
        kinds("a<-b"),
        [
            TokenKind::Ident("a".into()),
            TokenKind::LArrow,
            TokenKind::Ident("b".into())
        ]
    );
}

#[test]
fn pointer_type_then_closing_angle() {
    assert_eq!(
        kinds("int8->>"),
        [TokenKind::Kw(Kw::Int8), TokenKind::Arrow, TokenKind::Gt]
    );
}

#[test]
fn keywords_and_identifiers() {
    assert_eq!(
        kinds("func funcs Type type is is_error NULL null"),
        [
            TokenKind::Kw(Kw::Func),
            TokenKind::Ident("funcs".into()),
            TokenKind::Kw(Kw::Type),
            TokenKind::Ident("type".into()),
            TokenKind::Kw(Kw::Is),
            TokenKind::Ident("is_error".into()),
            TokenKind::Kw(Kw::Null),
            TokenKind::Ident("null".into()),
        ]
    );
}

#[test]
fn integer_suffixes() {
    assert_eq!(
        kinds("72u8 64i64 0xffu16"),
        [
            TokenKind::Int {
                value: 72,
                suffix: Some(IntSuffix::Int(IntTy::U8))
            },
            TokenKind::Int {
                value: 64,
                suffix: Some(IntSuffix::Int(IntTy::I64))
            },
            TokenKind::Int {
                value: 255,
                suffix: Some(IntSuffix::Int(IntTy::U16))
            },
        ]
    );
}

#[test]
fn string_escapes() {
    assert_eq!(
        kinds(r#""\n\t\r\\\"\0\x41\u{263A}""#),
        [TokenKind::Str("\n\t\r\\\"\0A\u{263A}".into())]
    );
}

#[test]
fn spans_are_byte_offsets() {
    let mut p = Problems::new();
    let toks = lex(FileId(3), "ab  +=\n'c'", &mut p);
    let spans: Vec<(u32, u32)> = toks.iter().map(|t| (t.span.start, t.span.end)).collect();
    assert_eq!(spans, [(0, 2), (4, 6), (7, 10), (10, 10)]);
    assert!(toks.iter().all(|t| t.span.file == FileId(3)));
}

#[test]
fn template_interpolation_tokens_have_file_spans() {
    let mut p = Problems::new();
    let toks = lex(FileId(0), "`a&{ x }b`", &mut p);
    let TokenKind::Template(pieces) = &toks[0].kind else {
        panic!("not a template")
    };
    assert_eq!(pieces.len(), 3);
    let TemplatePiece::Code { tokens, span } = &pieces[1] else {
        panic!("not code")
    };
    assert_eq!((span.start, span.end), (2, 8));
    assert_eq!(tokens[0].kind, TokenKind::Ident("x".into()));
    assert_eq!((tokens[0].span.start, tokens[0].span.end), (5, 6));
}

#[test]
fn unexpected_character_becomes_error_token() {
    let mut p = Problems::new();
    let toks = lex(FileId(0), "a # b", &mut p);
    assert_eq!(p.errors.len(), 1);
    assert_eq!(toks[1].kind, TokenKind::Error);
}
