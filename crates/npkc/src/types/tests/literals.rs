//! Integer literals: typing from context, defaults, ranges, negation.

use crate::ast::IntTy;
use crate::hir::{ExprKind, StmtKind, Ty};

use super::{codes, in_main, ok, one_error};

/// The initialiser of the `n`th `Let` at the top of `main`.
fn let_init(src: &str, n: usize) -> (ExprKind, Ty) {
    let p = ok(src);
    let main = p.func(p.main.unwrap());
    let inits: Vec<_> = main
        .body
        .stmts
        .iter()
        .filter_map(|s| match &s.kind {
            StmtKind::Let { init, .. } => Some((init.kind.clone(), init.ty.clone())),
            _ => None,
        })
        .collect();
    inits[n].clone()
}

#[test]
fn unsuffixed_literal_takes_declared_type() {
    let (k, t) = let_init(&in_main("uint8:x = 200;"), 0);
    assert!(matches!(k, ExprKind::Int(200)));
    assert_eq!(t, Ty::Int(IntTy::U8));
}

#[test]
fn unsuffixed_literal_defaults_to_int32() {
    let p = ok(&in_main("print(5);"));
    let main = p.func(p.main.unwrap());
    let StmtKind::Expr(e) = &main.body.stmts[0].kind else {
        panic!()
    };
    let ExprKind::Builtin { args, .. } = &e.kind else {
        panic!()
    };
    assert_eq!(args[0].ty, Ty::Int(IntTy::I32));
}

#[test]
fn literal_takes_type_of_other_operand() {
    let (k, t) = let_init(&in_main("int64:a = 1;\nbool:b = 1 < a;"), 1);
    assert_eq!(t, Ty::Bool);
    let ExprKind::Binary { lhs, .. } = k else {
        panic!()
    };
    assert_eq!(lhs.ty, Ty::Int(IntTy::I64));
}

#[test]
fn literal_out_of_range_is_an_error() {
    let d = one_error(&in_main("uint8:x = 256;"), "NPK-303", "256");
    assert!(d.message.contains("uint8"), "{d:#?}");
}

#[test]
fn suffixed_literal_out_of_range_is_an_error() {
    assert_eq!(codes(&in_main("int8:x = 128i8;")), ["NPK-303"]);
}

#[test]
fn most_negative_literal_fits() {
    let (k, t) = let_init(&in_main("int8:x = -128i8;"), 0);
    assert!(matches!(k, ExprKind::Int(0x80)), "{k:?}");
    assert_eq!(t, Ty::Int(IntTy::I8));
    assert_eq!(codes(&in_main("int8:x = -129;")), ["NPK-303"]);
}

#[test]
fn negative_literal_does_not_fit_unsigned() {
    assert_eq!(codes(&in_main("uint32:x = -1;")), ["NPK-303"]);
}

#[test]
fn negative_literal_bits_are_truncated_to_width() {
    let (k, _) = let_init(&in_main("int32:x = -1;"), 0);
    assert!(matches!(k, ExprKind::Int(0xffff_ffff)), "{k:?}");
    let (k, _) = let_init(&in_main("int64:x = -1;"), 0);
    assert!(matches!(k, ExprKind::Int(u64::MAX)), "{k:?}");
}

#[test]
fn suffixed_literal_does_not_adapt() {
    assert_eq!(codes(&in_main("int64:x = 7i32;")), ["NPK-302"]);
}

#[test]
fn tbb32_suffix_is_int32() {
    ok(&in_main("int32:x = 3tbb32;"));
}

#[test]
fn char_literal_is_its_byte() {
    let (k, t) = let_init(&in_main("uint8:c = 'a';"), 0);
    assert!(matches!(k, ExprKind::Int(97)));
    assert_eq!(t, Ty::Int(IntTy::U8));
}

#[test]
fn literal_arithmetic_takes_context_type() {
    let (_, t) = let_init(&in_main("int64:x = 1 << 40;"), 0);
    assert_eq!(t, Ty::Int(IntTy::I64));
}

#[test]
fn literal_argument_takes_parameter_type() {
    ok("func:f = int64(int64:x) { pass x; };\nfunc:g = int64() { pass raw f(5000000000); };");
}

#[test]
fn literal_return_takes_return_type() {
    ok("func:f = uint64() { pass 18446744073709551615; };");
    assert_eq!(codes("func:f = int32() { pass 4294967296; };"), ["NPK-303"]);
}

#[test]
fn literal_that_fits_nowhere_keeps_its_value_in_a_cast() {
    ok(&in_main(
        "uint32:x = 4294967295 => uint32;\nint32:y = 0xffffffff => int32;",
    ));
}
