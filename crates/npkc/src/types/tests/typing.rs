//! Operand typing, implicit conversions, pointers, casts.

use super::{codes, in_main, ok, one_error};

#[test]
fn well_typed_program_checks() {
    ok(&in_main(
        "int64:a = 1;\nint64:b = a + 2;\nbool:c = a < b && !(a == b);\nif (c) { println(`b = &{b}`); }\nexit 0;",
    ));
}

#[test]
fn mixed_integer_operands_are_an_error_with_cast_help() {
    let d = one_error(
        &in_main("int64:a = 1;\nint32:b = 2;\nint64:c = a + b;"),
        "NPK-301",
        "a + b",
    );
    assert!(
        d.help.as_deref().unwrap().contains("@cast<int64>(b)"),
        "{d:#?}"
    );
    assert!(d.help.as_deref().unwrap().contains("b => int64"), "{d:#?}");
}

#[test]
fn initialiser_of_other_integer_type_is_an_error() {
    let d = one_error(&in_main("int32:b = 2;\nint64:c = b;"), "NPK-302", "b");
    assert!(
        d.message.contains("expected `int64`, found `int32`"),
        "{d:#?}"
    );
}

#[test]
fn condition_must_be_bool() {
    let d = one_error(&in_main("int32:n = 1;\nif (n) { }"), "NPK-304", "n");
    assert!(d.help.as_deref().unwrap().contains("x != 0"));
}

#[test]
fn while_condition_must_be_bool() {
    assert_eq!(codes(&in_main("while (1) { }")), ["NPK-304"]);
}

#[test]
fn null_converts_to_any_pointer_and_compares() {
    ok(&in_main(
        "int8->:p = NULL;\n?->:q = NULL;\nif (p == NULL) { }\nif (NULL != q) { }\nint64->:r = NULL;",
    ));
}

#[test]
fn alloc_result_initialises_any_pointer_type() {
    ok(&in_main(
        "wildx uint8->:p = wildx_alloc(16);\nwild int64->:q = alloc(64);\nfree(q);\nint32:rc = wildx_free(p);",
    ));
}

#[test]
fn typed_pointer_does_not_convert_to_other_typed_pointer() {
    assert_eq!(
        codes(&in_main("int8->:p = NULL;\nint64->:q = p;")),
        ["NPK-302"]
    );
}

#[test]
fn any_pointer_converts_to_erased_parameter() {
    ok("extern func:npk_wildx_seal = int32(?*:p);\n\
        func:f = int32(?->:q) { pass 0; };\n\
        func:g = int32(uint8->:p) { int32:a = npk_wildx_seal(p); int32:b = raw f(p); pass a + b; };");
}

#[test]
fn pointer_comparison_with_erased_pointer_is_allowed() {
    ok("func:g = bool(uint8->:p, ?->:q) { pass p == q; };");
}

#[test]
fn index_and_store_through_typed_pointer() {
    ok(&in_main(
        "wild uint8->:p = alloc(4);\np[0] = 72;\np[1i64] = p[0] + 1;\nuint8:x = <-p;\n<-p = x;\nfree(p);",
    ));
}

#[test]
fn erased_pointer_cannot_be_indexed() {
    let d = one_error(&in_main("?->:p = NULL;\np[0] = 1;"), "NPK-317", "p");
    assert!(d.help.as_deref().unwrap().contains("=> uint8->"));
}

#[test]
fn integer_cannot_be_dereferenced() {
    assert_eq!(codes(&in_main("int32:x = 1;\nint32:y = <-x;")), ["NPK-317"]);
}

#[test]
fn index_must_be_an_integer() {
    assert_eq!(
        codes(&in_main(
            "wild uint8->:p = alloc(4);\nuint8:x = p[true];\nfree(p);"
        )),
        ["NPK-302"]
    );
}

#[test]
fn address_of_local_has_pointer_type() {
    ok(&in_main("int32:x = 1;\nint32->:p = @x;\n<-p = 2;"));
}

#[test]
fn address_of_non_local_is_an_error() {
    assert_eq!(
        codes(&in_main("int32:x = 1;\nint32->:p = @(x + 1);")),
        ["NPK-316"]
    );
}

#[test]
fn casts_convert_integers_both_ways() {
    ok(&in_main(
        "int32:a = 5;\nint64:b = @cast<int64>(a);\nint8:c = b => int8;\nuint32:d = -1 => uint32;\nuint64:e = true => uint64;",
    ));
}

#[test]
fn cast_from_integer_to_bool_is_an_error() {
    assert_eq!(
        codes(&in_main("int32:a = 5;\nbool:b = a => bool;")),
        ["NPK-318"]
    );
}

#[test]
fn pointer_casts_between_pointers_and_64_bit_integers() {
    ok(&in_main(
        "?->:p = NULL;\nuint8->:q = p => uint8->;\nint64:a = q => int64;\nint32->:r = a => int32->;",
    ));
}

#[test]
fn c_pointer_types_only_in_externs() {
    let d = one_error("func:f = NIL(int8*:p) { };", "NPK-319", "int8*");
    assert!(d.help.as_deref().unwrap().contains("T->"));
    assert_eq!(
        codes("extern func:g = void(int8*:p, ?*:q);"),
        Vec::<&str>::new()
    );
}

#[test]
fn unknown_type_suggests_a_close_one() {
    let d = one_error(&in_main("Int32:x = 1;"), "NPK-203", "Int32");
    assert!(d.help.as_deref().unwrap().contains("int32"));
}

#[test]
fn nil_binding_is_not_allowed() {
    assert_eq!(codes(&in_main("NIL:x = 1;")), ["NPK-320"]);
}

#[test]
fn result_parameter_is_not_allowed() {
    assert_eq!(codes("func:f = NIL(Result<int32>:r) { };"), ["NPK-320"]);
}

#[test]
fn comparisons_of_strings_are_refused() {
    assert_eq!(codes(&in_main("bool:b = \"a\" == \"b\";")), ["NPK-315"]);
}

#[test]
fn bitwise_not_on_bool_is_refused() {
    assert_eq!(codes(&in_main("bool:b = ~true;")), ["NPK-315"]);
}

#[test]
fn logical_operands_must_be_bool() {
    assert_eq!(codes(&in_main("bool:b = 1 && true;")), ["NPK-304"]);
}

#[test]
fn conditional_expression_unifies_branches() {
    ok(&in_main(
        "int64:a = 3;\nint64:b = is (a > 2) : a : 0;\nint8->:p = is (a > 2) : NULL : NULL;",
    ));
    assert_eq!(
        codes(&in_main(
            "int64:a = 3;\nint32:c = 1;\nint64:b = is (a > 2) : a : c;"
        )),
        ["NPK-302"]
    );
}

#[test]
fn print_refuses_pointers() {
    assert_eq!(codes(&in_main("int8->:p = NULL;\nprint(p);")), ["NPK-324"]);
}

#[test]
fn template_string_is_a_string_value() {
    assert_eq!(
        codes(&in_main(
            "int32:x = 1;\nstring:s = `x = &{x}`;\nprintln(s);"
        )),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(&in_main("int32:x = 1;\nint32:y = `x = &{x}`;")),
        ["NPK-302"]
    );
}

#[test]
fn template_parts_are_type_checked() {
    assert_eq!(
        codes(&in_main("int8->:p = NULL;\nprintln(`p = &{p}`);")),
        ["NPK-324"]
    );
}

#[test]
fn string_passes_to_extern_byte_pointer() {
    ok("extern func:puts = int32(int8*:s);\nfunc:f = int32() { pass puts(\"hi\"); };");
}

#[test]
fn nil_value_is_not_a_value() {
    assert_eq!(codes(&in_main("int32:x = print(1);")), ["NPK-321"]);
}

#[test]
fn failed_anchor_silences_its_literal_operand() {
    // Only the unconsumed result is reported, not the literal's range.
    let src = format!(
        "func:f = int64() {{ pass 1; }};\n{}",
        in_main("int64:x = f() + 5000000000;")
    );
    assert_eq!(codes(&src), ["NPK-305"]);
}

#[test]
fn address_literal_casts_to_a_pointer() {
    ok(&in_main("int8->:p = 0x1000 => int8->;"));
}

#[test]
fn erased_extern_result_initialises_a_typed_pointer() {
    ok("extern func:c_malloc = ?*(int64:n);\nfunc:f = NIL() { wild uint8->:p = c_malloc(8); };");
}
