//! Statements: declarations, assignments, control flow, `defer`, `pass`,
//! `fail`, `exit`.

use super::*;
use crate::ast::Region;

fn shapes(src: &str) -> Vec<String> {
    stmts(src).iter().map(stmt_shape).collect()
}

#[test]
fn declaration_with_builtin_types() {
    assert_eq!(
        shapes("int8:a = 1; uint64:b = 2; bool:c = true; string:d = \"x\"; tbb32:e = 0;"),
        [
            "let int8:a = 1",
            "let uint64:b = 2",
            "let bool:c = true",
            "let string:d = \"x\"",
            "let tbb32:e = 0"
        ]
    );
}

#[test]
fn declaration_with_qualifiers() {
    let s = stmts("fixed wildx uint8->:p = wildx_alloc(16);");
    let StmtKind::Let { quals, .. } = &s[0].kind else {
        panic!("not a let")
    };
    assert!(quals.fixed);
    assert_eq!(quals.region, Some(Region::Wildx));
    assert_eq!(
        stmt_shape(&s[0]),
        "let fixed wildx uint8->:p = (call wildx_alloc 16)"
    );
}

#[test]
fn qualifier_span_covers_all_qualifiers() {
    let src = in_main("fixed stack int32:x = 1;");
    let m = parse_ok(&src);
    let StmtKind::Let { quals, .. } = &func(&m, 0).body.stmts[0].kind else {
        panic!("not a let")
    };
    assert_eq!(
        &src[quals.span.start as usize..quals.span.end as usize],
        "fixed stack"
    );
}

#[test]
fn declaration_with_pointer_and_result_types() {
    assert_eq!(
        shapes("int8->->:pp = NULL; ?->:e = NULL; Result<int32>:r = f(); Result<int8->>:q = g();"),
        [
            "let int8->->:pp = NULL",
            "let ?->:e = NULL",
            "let Result<int32>:r = (call f)",
            "let Result<int8->>:q = (call g)"
        ]
    );
}

#[test]
fn nested_result_type_splits_shift_token() {
    assert_eq!(
        shapes("Result<Result<int32>>:r = f();"),
        ["let Result<Result<int32>>:r = (call f)"]
    );
}

#[test]
fn declaration_with_named_type() {
    assert_eq!(shapes("Foo->:p = NULL;"), ["let #Foo->:p = NULL"]);
}

#[test]
fn assignment_and_compound_assignment() {
    assert_eq!(
        shapes(
            "x = 1; x += 1; x -= 1; x *= 2; x /= 2; x %= 3; x &= 1; x |= 1; x ^= 1; x <<= 1; x >>= 1;"
        ),
        [
            "x = 1", "x += 1", "x -= 1", "x *= 2", "x /= 2", "x %= 3", "x &= 1", "x |= 1",
            "x ^= 1", "x <<= 1", "x >>= 1"
        ]
    );
}

#[test]
fn store_through_index_and_deref() {
    assert_eq!(
        shapes("p[i] = v; <-p = 3;"),
        ["(index p i) = v", "(<- p) = 3"]
    );
}

#[test]
fn expression_statements() {
    assert_eq!(
        shapes("f(1); drop Jit.free(f); println(\"hi\");"),
        [
            "(call f 1)",
            "(drop (call (. Jit free) f))",
            "(call println \"hi\")"
        ]
    );
}

#[test]
fn if_else_if_else_chain() {
    assert_eq!(
        shapes("if (a) { f(); } else if (b) { } else { g(); h(); }"),
        ["if a [1] else if b [0] else [2]"]
    );
}

#[test]
fn while_loop() {
    assert_eq!(shapes("while (i < n) { i += 1; }"), ["while (< i n) [1]"]);
}

#[test]
fn for_loop_with_all_parts() {
    assert_eq!(
        shapes("for (int64:i = 0; i < n; i += 1) { f(i); }"),
        ["for (let int64:i = 0; (< i n); i += 1) [1]"]
    );
}

#[test]
fn for_loop_with_empty_parts() {
    assert_eq!(shapes("for (;;) { break; }"), ["for (; ; ) [1]"]);
}

#[test]
fn loop_and_till() {
    assert_eq!(
        shapes("loop(0, 10, 2) { print($); } till(5, 1) { }"),
        ["loop(0, 10, 2) [1]", "till(5, 1) [0]"]
    );
}

#[test]
fn break_continue_and_blocks() {
    assert_eq!(
        shapes("while (true) { { break; } continue; }"),
        ["while true [2]"]
    );
    let s = stmts("while (true) { { break; } continue; }");
    let StmtKind::While { body, .. } = &s[0].kind else {
        panic!("not a while")
    };
    assert_eq!(stmt_shape(&body.stmts[0]), "block [1]");
    assert_eq!(stmt_shape(&body.stmts[1]), "continue");
}

#[test]
fn defer_block() {
    assert_eq!(shapes("defer { free(p); }"), ["defer [1]"]);
}

#[test]
fn pass_fail_exit() {
    assert_eq!(
        shapes("pass; pass x + 1; fail 3; exit 0;"),
        ["pass ", "pass (+ x 1)", "fail 3", "exit 0"]
    );
}

#[test]
fn empty_statements_are_skipped() {
    assert_eq!(shapes("if (a) { };; f();"), ["if a [0]", "(call f)"]);
}

#[test]
fn statement_span_includes_semicolon() {
    let src = in_main("  int32:x = 5;  ");
    let m = parse_ok(&src);
    let s = &func(&m, 0).body.stmts[0];
    assert_eq!(
        &src[s.span.start as usize..s.span.end as usize],
        "int32:x = 5;"
    );
}

#[test]
fn comments_are_ignored() {
    assert_eq!(
        shapes("// line\n int32:x = /* inline */ 1; /* multi\nline */ x = 2; // end"),
        ["let int32:x = 1", "x = 2"]
    );
}
