//! Control flow: reachability, pass/fail/exit rules, loops, defer.

use super::{codes, in_main, ok, one_error};

#[test]
fn missing_pass_is_an_error_at_the_closing_brace() {
    let src = "func:sign = int32(int32:x) {\n    if (x < 0) { pass -1; }\n};";
    let d = one_error(src, "NPK-306", "}");
    assert_eq!(d.primary.span.start as usize, src.rfind('}').unwrap());
    assert_eq!(d.secondary.len(), 1);
}

#[test]
fn if_with_both_branches_passing_ends_the_function() {
    ok(
        "func:sign = int32(int32:x) { if (x < 0) { pass -1; } else if (x == 0) { pass 0; } else { fail 1; } };",
    );
}

#[test]
fn infinite_loop_ends_the_function() {
    ok("func:f = int32() { while (true) { } };");
    ok("func:f = int32() { for (;;) { } };");
}

#[test]
fn loop_with_break_does_not_end_the_function() {
    assert_eq!(
        codes("func:f = int32() { while (true) { if (true) { break; } } };"),
        ["NPK-306"]
    );
}

#[test]
fn nil_function_may_fall_off_its_end() {
    ok("func:f = NIL() { };\nfunc:g = NIL() { pass; };");
}

#[test]
fn pass_with_value_in_nil_function_is_an_error() {
    assert_eq!(codes("func:f = NIL() { pass 1; };"), ["NPK-323"]);
}

#[test]
fn pass_without_value_in_value_function_is_an_error() {
    assert_eq!(codes("func:f = int32() { pass; };"), ["NPK-323"]);
}

#[test]
fn pass_value_must_match_return_type() {
    assert_eq!(
        codes("func:f = int64() { int32:x = 1; pass x; };"),
        ["NPK-302"]
    );
}

#[test]
fn fail_code_is_int32() {
    assert_eq!(
        codes("func:f = int32() { int64:c = 1; fail c; };"),
        ["NPK-302"]
    );
}

#[test]
fn exit_outside_main_and_failsafe_is_an_error() {
    let d = one_error("func:f = NIL() { exit 1; };", "NPK-311", "exit 1;");
    assert!(d.message.contains("main"), "{}", d.message);
}

#[test]
fn pass_in_main_is_an_error() {
    assert_eq!(codes(&in_main("pass 0;")), ["NPK-311"]);
}

#[test]
fn main_may_fall_off_its_end() {
    ok(&in_main("int32:x = 1;"));
}

#[test]
fn main_with_parameters_is_an_error() {
    assert_eq!(
        codes(
            "func:failsafe = int32(tbb32:err) { exit 1; };\nfunc:main = int32(int32:a) { exit 0; };"
        ),
        ["NPK-313"]
    );
}

#[test]
fn failsafe_with_wrong_signature_is_an_error() {
    assert_eq!(
        codes("func:failsafe = int32() { exit 1; };\nfunc:main = int32() { exit 0; };"),
        ["NPK-313"]
    );
}

#[test]
fn break_outside_loop_is_an_error() {
    assert_eq!(codes(&in_main("break;")), ["NPK-311"]);
    assert_eq!(codes(&in_main("continue;")), ["NPK-311"]);
}

#[test]
fn break_cannot_leave_a_defer() {
    let d = one_error(
        &in_main("while (true) { defer { break; } }"),
        "NPK-311",
        "break;",
    );
    assert!(d.message.contains("defer"));
}

#[test]
fn pass_cannot_leave_a_defer() {
    assert_eq!(codes("func:f = NIL() { defer { pass; } };"), ["NPK-311"]);
}

#[test]
fn dollar_outside_loop_is_an_error() {
    assert_eq!(codes(&in_main("int32:x = $;")), ["NPK-312"]);
}

#[test]
fn dollar_has_the_counter_type() {
    ok(&in_main(
        "loop(0i64, 10, 1) { int64:i = $; }\ntill(10u8, 1) { uint8:j = $; }\nloop(0, 3, 1) { int32:k = $; }",
    ));
}

#[test]
fn loop_bounds_of_different_types_are_an_error() {
    assert_eq!(
        codes(&in_main("int64:n = 10;\nloop(0i32, n, 1) { }")),
        ["NPK-302"]
    );
}

#[test]
fn fixed_binding_cannot_be_reassigned() {
    let d = one_error(&in_main("fixed int32:x = 1;\nx = 2;"), "NPK-310", "x");
    assert_eq!(d.secondary.len(), 1);
}

#[test]
fn compound_assignment_needs_integers() {
    ok(&in_main("int32:x = 1;\nx += 2;\nx <<= 1;"));
    assert_eq!(codes(&in_main("bool:b = true;\nb += true;")), ["NPK-315"]);
}

#[test]
fn for_loop_variable_is_scoped_to_the_loop() {
    ok(&in_main(
        "for (int64:i = 0; i < 10; i += 1) { continue; }\nfor (int64:i = 0; i < 3; i += 1) { }",
    ));
    assert_eq!(
        codes(&in_main(
            "for (int64:i = 0; i < 10; i += 1) { }\nint64:j = i;"
        )),
        ["NPK-202"]
    );
}
