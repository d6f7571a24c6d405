//! Expressions: literals, precedence, associativity, unary and postfix forms.

use super::*;

#[test]
fn multiplication_binds_tighter_than_addition() {
    assert_eq!(sexpr_of("1 + 2 * 3"), "(+ 1 (* 2 3))");
}

#[test]
fn binary_operators_are_left_associative() {
    assert_eq!(sexpr_of("10 - 2 - 3"), "(- (- 10 2) 3)");
    assert_eq!(sexpr_of("a / b % c"), "(% (/ a b) c)");
}

#[test]
fn full_precedence_ladder_matches_the_ast_table() {
    assert_eq!(
        sexpr_of("a || b && c | d ^ e & f == g < h << i + j * k"),
        "(|| a (&& b (| c (^ d (& e (== f (< g (<< h (+ i (* j k))))))))))"
    );
}

#[test]
fn comparison_binds_tighter_than_equality() {
    assert_eq!(sexpr_of("a < b == c > d"), "(== (< a b) (> c d))");
    assert_eq!(sexpr_of("a <= b != c >= d"), "(!= (<= a b) (>= c d))");
}

#[test]
fn shift_binds_looser_than_addition() {
    assert_eq!(sexpr_of("1 << 2 + 3 >> 4"), "(>> (<< 1 (+ 2 3)) 4)");
}

#[test]
fn parentheses_override_precedence() {
    assert_eq!(sexpr_of("(1 + 2) * 3"), "(* (+ 1 2) 3)");
}

#[test]
fn unary_operators_bind_tighter_than_binary() {
    assert_eq!(sexpr_of("-a * !b + ~c"), "(+ (* (- a) (! b)) (~ c))");
}

#[test]
fn negative_suffixed_literal_is_unary_minus() {
    assert_eq!(sexpr_of("-1i32"), "(- 1Int(I32))");
}

#[test]
fn address_of_and_deref() {
    assert_eq!(sexpr_of("<-p + @x"), "(+ (<- p) (@ x))");
    assert_eq!(sexpr_of("<-<-pp"), "(<- (<- pp))");
}

#[test]
fn larrow_in_operator_position_is_less_than_negative() {
    assert_eq!(sexpr_of("a<-b"), "(< a (- b))");
    assert_eq!(sexpr_of("a <-b * c + d"), "(< a (+ (* (- b) c) d))");
    assert_eq!(sexpr_of("x && a<-1"), "(&& x (< a (- 1)))");
}

#[test]
fn raw_and_drop_apply_to_the_postfix_expression() {
    assert_eq!(
        sexpr_of("raw Jit.call_i32_i32(f, 7i32, 35i32)"),
        "(raw (call (. Jit call_i32_i32) f 7Int(I32) 35Int(I32)))"
    );
    assert_eq!(sexpr_of("drop f(1) + 2"), "(+ (drop (call f 1)) 2)");
}

#[test]
fn or_else_is_below_logical_or_and_right_associative() {
    assert_eq!(sexpr_of("f() ? a || b"), "(? (call f) (|| a b))");
    assert_eq!(sexpr_of("f() ? g() ? 0"), "(? (call f) (? (call g) 0))");
}

#[test]
fn is_conditional_is_the_lowest_precedence() {
    assert_eq!(
        sexpr_of("is (a > b) : a + 1 : b ? 0"),
        "(is (> a b) (+ a 1) (? b 0))"
    );
}

#[test]
fn nested_is_in_else_position() {
    assert_eq!(
        sexpr_of("is (a) : 1 : is (b) : 2 : 3"),
        "(is a 1 (is b 2 3))"
    );
}

#[test]
fn fat_arrow_cast_binds_tighter_than_multiplication() {
    assert_eq!(sexpr_of("a * b => int64"), "(* a (cast int64 b))");
    assert_eq!(
        sexpr_of("x => int8 => uint64"),
        "(cast uint64 (cast int8 x))"
    );
}

#[test]
fn fat_arrow_cast_does_not_take_star_as_pointer() {
    assert_eq!(sexpr_of("x => int32 * 2"), "(* (cast int32 x) 2)");
}

#[test]
fn fat_arrow_cast_to_pointer_type() {
    assert_eq!(sexpr_of("p => uint8->"), "(cast uint8-> p)");
}

#[test]
fn at_cast_expression() {
    assert_eq!(sexpr_of("@cast<int64>(x) + 1"), "(+ (cast int64 x) 1)");
    assert_eq!(sexpr_of("@cast<?->>(p)"), "(cast ?-> p)");
    assert_eq!(
        sexpr_of("@cast<Result<int32>>(p)"),
        "(cast Result<int32> p)"
    );
}

#[test]
fn postfix_chain() {
    assert_eq!(
        sexpr_of("a.b(1)[2]->c"),
        "(-> (index (call (. a b) 1) 2) c)"
    );
}

#[test]
fn arrow_field_on_pointer() {
    assert_eq!(sexpr_of("p->x + 1"), "(+ (-> p x) 1)");
}

#[test]
fn result_fields() {
    assert_eq!(sexpr_of("r.is_error"), "(. r is_error)");
    assert_eq!(sexpr_of("r.value"), "(. r value)");
}

#[test]
fn call_with_no_and_many_arguments() {
    assert_eq!(sexpr_of("f()"), "(call f)");
    assert_eq!(
        sexpr_of("f(1, a + b, g(2))"),
        "(call f 1 (+ a b) (call g 2))"
    );
}

#[test]
fn dollar_is_the_loop_counter() {
    assert_eq!(sexpr_of("$ * 2"), "(* $ 2)");
}

#[test]
fn literals() {
    assert_eq!(sexpr_of("true"), "true");
    assert_eq!(sexpr_of("false"), "false");
    assert_eq!(sexpr_of("NULL"), "NULL");
    assert_eq!(sexpr_of("'a'"), "'97'");
    assert_eq!(sexpr_of("\"hi\\n\""), "\"hi\\n\"");
}

#[test]
fn integer_bases_separators_and_suffixes() {
    assert_eq!(sexpr_of("0x1F"), "31");
    assert_eq!(sexpr_of("0b1010_1010u8"), "170Int(U8)");
    assert_eq!(sexpr_of("0o17i64"), "15Int(I64)");
    assert_eq!(sexpr_of("1_000_000"), "1000000");
    assert_eq!(sexpr_of("3tbb32"), "3Tbb32");
    assert_eq!(
        sexpr_of("18446744073709551615u64"),
        "18446744073709551615Int(U64)"
    );
}

#[test]
fn template_string_parts() {
    assert_eq!(
        sexpr_of("`x = &{x}, y = &{y + 1}!`"),
        "(tpl \"x = \" x \", y = \" (+ y 1) \"!\")"
    );
}

#[test]
fn template_string_nested_braces_and_strings() {
    assert_eq!(sexpr_of("`&{f(\"}\")}`"), "(tpl (call f \"}\"))");
}

#[test]
fn template_string_nested_template() {
    assert_eq!(sexpr_of("`a&{`b&{c}`}`"), "(tpl \"a\" (tpl \"b\" c))");
}

#[test]
fn template_escapes() {
    assert_eq!(sexpr_of("`\\&{x} \\` &`"), "(tpl \"&{x} ` &\")");
}

#[test]
fn template_interpolation_spans_point_into_the_file() {
    let src = in_main("int32:x = `ab&{value}`;");
    let m = parse_ok(&src);
    let s = &func(&m, 0).body.stmts[0];
    let StmtKind::Let { init, .. } = &s.kind else {
        panic!("not a let")
    };
    let ExprKind::Template(parts) = &init.kind else {
        panic!("not a template")
    };
    let TemplatePart::Expr(e) = &parts[1] else {
        panic!("not an expr")
    };
    assert_eq!(&src[e.span.start as usize..e.span.end as usize], "value");
}

#[test]
fn expression_spans_cover_the_whole_expression() {
    let src = in_main("int32:x = a + f(b)[2];");
    let m = parse_ok(&src);
    let StmtKind::Let { init, .. } = &func(&m, 0).body.stmts[0].kind else {
        panic!("not a let")
    };
    assert_eq!(
        &src[init.span.start as usize..init.span.end as usize],
        "a + f(b)[2]"
    );
}
