//! Problems: every NPK-1xx code, where its primary span points, and that
//! recovery reports independent errors once each without cascades.

use super::*;

fn codes(src: &str) -> Vec<&'static str> {
    errors(src).iter().map(|d| d.code).collect()
}

// ----- lexer -----

#[test]
fn unterminated_block_comment() {
    let (d, text) = single_error("func:main = int32() { exit 0; };\n/* open");
    assert_eq!(d.code, "NPK-101");
    assert_eq!(text, "/*");
}

#[test]
fn block_comments_do_not_nest() {
    let (d, _) = single_error(&in_main("/* a /* b */ c */ exit 0;"));
    assert_eq!(d.code, "NPK-115");
}

#[test]
fn unexpected_character_run_reported_once() {
    let (d, text) = single_error(&in_main("int32:x = 1 ## 2;"));
    assert_eq!(d.code, "NPK-102");
    assert_eq!(text, "##");
}

#[test]
fn non_ascii_identifier_character() {
    let (d, text) = single_error(&in_main("int32:é = 1;"));
    assert_eq!(d.code, "NPK-102");
    assert_eq!(text, "é");
}

#[test]
fn unterminated_string() {
    let (d, text) = single_error(&in_main("string:s = \"abc;"));
    assert_eq!(d.code, "NPK-103");
    assert_eq!(text, "\"");
}

#[test]
fn unterminated_char() {
    let (d, _) = single_error(&in_main("uint8:c = 'a;"));
    assert_eq!(d.code, "NPK-103");
}

#[test]
fn unterminated_template() {
    let (d, text) = single_error(&in_main("println(`abc);"));
    assert_eq!(d.code, "NPK-103");
    assert_eq!(text, "`");
}

#[test]
fn unterminated_interpolation() {
    let (d, text) = single_error(&in_main("println(`a &{x` );"));
    assert_eq!(d.code, "NPK-103");
    assert_eq!(text, "&{");
}

#[test]
fn unknown_escape() {
    let (d, text) = single_error(&in_main("string:s = \"a\\qb\";"));
    assert_eq!(d.code, "NPK-104");
    assert_eq!(text, "\\q");
}

#[test]
fn bad_hex_escape() {
    let (d, _) = single_error(&in_main("string:s = \"\\x4\";"));
    assert_eq!(d.code, "NPK-104");
}

#[test]
fn hex_escape_above_ascii_in_string() {
    let (d, text) = single_error(&in_main("string:s = \"\\xff\";"));
    assert_eq!(d.code, "NPK-104");
    assert_eq!(text, "\\xff");
}

#[test]
fn hex_escape_above_ascii_in_char_is_the_byte() {
    assert_eq!(sexpr_of("'\\xff'"), "'255'");
}

#[test]
fn unicode_escapes() {
    assert_eq!(sexpr_of("\"\\u{e9}\\u{1F600}\""), "\"é😀\"");
    assert_eq!(codes(&in_main("string:s = \"\\u{110000}\";")), ["NPK-104"]);
    assert_eq!(codes(&in_main("string:s = \"\\u41\";")), ["NPK-104"]);
    assert_eq!(codes(&in_main("string:s = \"\\u{}\";")), ["NPK-104"]);
}

#[test]
fn integer_overflowing_u64() {
    let (d, text) = single_error(&in_main("uint64:x = 18446744073709551616;"));
    assert_eq!(d.code, "NPK-105");
    assert_eq!(text, "18446744073709551616");
}

#[test]
fn bad_integer_suffix() {
    let (d, text) = single_error(&in_main("int32:x = 7i31;"));
    assert_eq!(d.code, "NPK-106");
    assert_eq!(text, "i31");
}

#[test]
fn bad_digit_for_base() {
    let (d, _) = single_error(&in_main("int32:x = 0b102;"));
    assert_eq!(d.code, "NPK-106");
    assert!(d.message.contains("base-2"), "{}", d.message);
}

#[test]
fn base_prefix_without_digits() {
    let (d, _) = single_error(&in_main("int32:x = 0x;"));
    assert_eq!(d.code, "NPK-106");
}

#[test]
fn char_literal_problems() {
    assert_eq!(codes(&in_main("uint8:c = '';")), ["NPK-107"]);
    assert_eq!(codes(&in_main("uint8:c = 'ab';")), ["NPK-107"]);
    assert_eq!(codes(&in_main("uint8:c = 'é';")), ["NPK-107"]);
    assert_eq!(sexpr_of("'\\n'"), "'10'");
}

// ----- parser -----

#[test]
fn missing_semicolon_points_after_previous_token() {
    let src = in_main("int32:x = 5\nint32:y = 6;");
    let (d, text) = single_error(&src);
    assert_eq!(d.code, "NPK-111");
    assert_eq!(d.message, "expected `;` after the declaration");
    assert_eq!(d.help.as_deref(), Some("add `;` here"));
    assert_eq!(text, "");
    assert_eq!(
        &src[..d.primary.span.start as usize],
        "func:main = int32() {\nint32:x = 5"
    );
}

#[test]
fn missing_semicolon_recovers_and_keeps_the_next_statement() {
    let (m, p) = parse(&in_main("int32:x = 5\nint32:y = 6;\nexit 0"));
    assert_eq!(p.errors.len(), 2);
    assert_eq!(func(&m, 0).body.stmts.len(), 3);
}

#[test]
fn missing_semicolon_after_function() {
    let src = "func:a = int32() { pass 1; }\nfunc:b = int32() { pass 2; };";
    assert_eq!(
        error_summary(src),
        [("NPK-111", 1, "expected `;` after the function".to_string())]
    );
    assert_eq!(parse(src).0.items.len(), 2);
}

#[test]
fn missing_closing_paren_in_condition() {
    let (d, text) = single_error(&in_main("if (x > 0 { exit 1; }\nexit 0;"));
    assert_eq!(d.code, "NPK-110");
    assert_eq!(d.message, "expected `)` to close the condition, found `{`");
    assert_eq!(text, "{");
    assert_eq!(d.secondary.len(), 1);
}

#[test]
fn condition_without_parentheses() {
    let (d, _) = single_error(&in_main("if x > 0 { exit 1; }"));
    assert_eq!(d.message, "expected `(` after `if`, found identifier `x`");
}

#[test]
fn c_style_declaration_gets_a_hint() {
    let (d, text) = single_error(&in_main("int32 x = 5;"));
    assert_eq!(d.code, "NPK-110");
    assert_eq!(text, "x");
    assert!(d.help.as_deref().unwrap_or("").contains("`Type:name`"));
}

#[test]
fn declaration_without_initialiser() {
    let (d, _) = single_error(&in_main("int32:x;"));
    assert_eq!(d.code, "NPK-110");
    assert!(d.help.as_deref().unwrap_or("").contains("initial value"));
}

#[test]
fn missing_closing_brace_at_end_of_file() {
    let src = "func:main = int32() {\n    exit 0;\n";
    let (d, _) = single_error(src);
    assert_eq!(d.code, "NPK-112");
    assert_eq!(d.secondary[0].span.start, 20);
}

#[test]
fn missing_closing_brace_before_next_function_reported_once() {
    let src = "func:a = int32() {\n  if (x) {\n    pass 1;\n  }\n\nfunc:b = int32() { pass 2; };\n";
    let errs = error_summary(src);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "NPK-112");
    assert_eq!(parse(src).0.items.len(), 1, "func:b still parses");
}

#[test]
fn invalid_assignment_target() {
    let (d, text) = single_error(&in_main("f() = 3;"));
    assert_eq!(d.code, "NPK-113");
    assert_eq!(text, "f()");
}

#[test]
fn expected_expression() {
    let (d, text) = single_error(&in_main("int32:x = ;"));
    assert_eq!(d.code, "NPK-115");
    assert_eq!(text, ";");
    let (d, _) = single_error(&in_main("int32:x = 3 + ;"));
    assert_eq!(d.code, "NPK-115");
}

#[test]
fn expected_type() {
    let (d, _) = single_error("func:f = (int32:a) { };");
    assert_eq!(d.code, "NPK-116");
}

#[test]
fn statement_at_top_level() {
    let (d, _) = single_error("int32:x = 5;\nfunc:main = int32() { exit 0; };");
    assert_eq!(d.code, "NPK-117");
    assert!(
        d.help
            .as_deref()
            .unwrap_or("")
            .contains("inside a function")
    );
}

#[test]
fn stray_closing_brace_at_top_level() {
    let src = "func:main = int32() { exit 0; };\n}\nfunc:b = int32() { pass 1; };";
    assert_eq!(codes(src), ["NPK-117"]);
    assert_eq!(parse(src).0.items.len(), 2);
}

#[test]
fn duplicate_and_conflicting_qualifiers() {
    assert_eq!(codes(&in_main("fixed fixed int32:x = 1;")), ["NPK-118"]);
    assert_eq!(codes(&in_main("wild wildx int8->:p = NULL;")), ["NPK-118"]);
}

#[test]
fn empty_interpolation() {
    let (d, text) = single_error(&in_main("println(`x = &{}`);"));
    assert_eq!(d.code, "NPK-119");
    assert_eq!(text, "&{}");
}

#[test]
fn interpolation_with_two_expressions() {
    let (d, _) = single_error(&in_main("println(`&{a b}`);"));
    assert_eq!(d.code, "NPK-110");
}

#[test]
fn error_inside_interpolation_points_into_the_file() {
    let src = in_main("println(`v=&{1 + }`);");
    let (d, text) = single_error(&src);
    assert_eq!(d.code, "NPK-115");
    assert_eq!(text, "}");
}

#[test]
fn else_without_if() {
    let (d, _) = single_error(&in_main("if (a) { };\nelse { }"));
    assert_eq!(d.message, "`else` without a preceding `if`");
}

#[test]
fn extern_with_a_body() {
    let (d, _) = single_error("extern func:f = int32() { pass 1; };");
    assert_eq!(d.code, "NPK-110");
    assert!(d.help.as_deref().unwrap_or("").contains("no body"));
}

#[test]
fn keyword_as_name() {
    let (d, _) = single_error(&in_main("int32:loop = 1;"));
    assert_eq!(d.code, "NPK-110");
    assert!(d.help.as_deref().unwrap_or("").contains("keywords"));
}

#[test]
fn junk_in_type_body() {
    let src = "Type:T = {\n  int32:x = 1;\n  func:a = int32() { pass 1; };\n};";
    let (m, p) = parse(src);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    let Item::Namespace(n) = &m.items[0] else {
        panic!("not a namespace")
    };
    assert_eq!(n.funcs.len(), 1);
}

#[test]
fn independent_errors_each_reported_once() {
    let src =
        in_main("int32:a = ;\nint32:b = 5\nf() = 1;\nif (x { }\nwhile (y) { z = ; }\nexit 0;");
    let got = error_summary(&src);
    let want: Vec<(&str, usize)> = vec![
        ("NPK-115", 2),
        ("NPK-111", 3),
        ("NPK-113", 4),
        ("NPK-110", 5),
        ("NPK-115", 6),
    ];
    let got_short: Vec<(&str, usize)> = got.iter().map(|(c, l, _)| (*c, *l)).collect();
    assert_eq!(got_short, want, "{got:#?}");
}

#[test]
fn errors_in_several_functions_reported_once_each() {
    let src = "func:a = int32() { int32:x = ; pass 1; };\nfunc:b = int32( { pass 2; };\nfunc:c = int32() { pass 3 };\n";
    let got: Vec<(&str, usize)> = error_summary(src)
        .iter()
        .map(|(c, l, _)| (*c, *l))
        .collect();
    assert_eq!(got, [("NPK-115", 1), ("NPK-116", 2), ("NPK-111", 3)]);
}

#[test]
fn deep_parentheses_report_nesting_error_without_overflow() {
    let depth = 5000;
    let src = in_main(&format!(
        "int32:x = {}1{};",
        "(".repeat(depth),
        ")".repeat(depth)
    ));
    let c = codes(&src);
    assert_eq!(c, ["NPK-114"]);
}

#[test]
fn deep_blocks_report_nesting_error_without_overflow() {
    let depth = 5000;
    let src = in_main(&format!("{}{}", "{".repeat(depth), "}".repeat(depth)));
    assert_eq!(codes(&src), ["NPK-114"]);
}

#[test]
fn deep_unary_chain_reports_nesting_error() {
    let src = in_main(&format!("int32:x = {}1;", "-".repeat(5000)));
    assert_eq!(codes(&src), ["NPK-114"]);
}

#[test]
fn long_operator_chain_reports_error() {
    let src = in_main(&format!("int32:x = 1{};", " + 1".repeat(5000)));
    assert_eq!(codes(&src), ["NPK-114"]);
}

#[test]
fn moderate_nesting_is_accepted() {
    let src = in_main(&format!("int32:x = {}1{};", "(".repeat(40), ")".repeat(40)));
    parse_ok(&src);
}

#[test]
fn deep_template_nesting_reports_error() {
    let src = in_main(&format!(
        "println({}x{});",
        "`&{".repeat(100),
        "}`".repeat(100)
    ));
    assert!(codes(&src).contains(&"NPK-114"));
}

#[test]
fn every_code_has_an_explanation() {
    let explained: Vec<&str> = crate::parser::EXPLANATIONS
        .iter()
        .map(|(c, _)| *c)
        .collect();
    for code in [
        "NPK-101", "NPK-102", "NPK-103", "NPK-104", "NPK-105", "NPK-106", "NPK-107", "NPK-110",
        "NPK-111", "NPK-112", "NPK-113", "NPK-114", "NPK-115", "NPK-116", "NPK-117", "NPK-118",
        "NPK-119",
    ] {
        assert!(explained.contains(&code), "{code} has no explanation");
    }
}

#[test]
fn messages_are_lowercase_without_final_period() {
    let samples = [
        "/*",
        "func:main = int32() { int32:x = 1 ## 2; };",
        "func:main = int32() { int32:x = ; };",
        "func:main = int32() { int32:x = 1 };",
        "int32:x = 1;",
        "func:main = int32() {",
    ];
    for s in samples {
        for d in errors(s) {
            let first = d.message.chars().next().unwrap_or('a');
            assert!(!first.is_uppercase(), "{}", d.message);
            assert!(!d.message.ends_with('.'), "{}", d.message);
        }
    }
}
