//! `Result<T>`: every Nitpick call yields one; it must be consumed.

use crate::hir::{ExprKind, StmtKind, Ty};

use super::{codes, in_main, ok, one_error};

const F: &str = "func:f = int32(int32:x) { if (x < 0) { fail 3; } pass x; };\n";

#[test]
fn discarded_result_is_an_error_with_the_four_ways() {
    let d = one_error(&format!("{F}{}", in_main("f(1);")), "NPK-305", "f(1)");
    let help = d.help.unwrap();
    for way in ["raw", "? default", "drop", "Result<T>:r"] {
        assert!(help.contains(way), "{help}");
    }
}

#[test]
fn result_used_as_value_is_an_error() {
    assert_eq!(
        codes(&format!("{F}{}", in_main("int32:x = f(1) + 1;"))),
        ["NPK-305"]
    );
    assert_eq!(
        codes(&format!("{F}{}", in_main("int32:x = f(1);"))),
        ["NPK-305"]
    );
}

#[test]
fn the_four_ways_consume_a_result() {
    ok(&format!(
        "{F}{}",
        in_main(
            "int32:a = raw f(1);\nint32:b = f(2) ? -1;\ndrop f(3);\nResult<int32>:r = f(4);\n\
             if (r.is_error) { int32:e = r.error; } else { int32:v = r.value; }"
        )
    ));
}

#[test]
fn result_binding_of_wrong_inner_type_is_an_error() {
    assert_eq!(
        codes(&format!("{F}{}", in_main("Result<int64>:r = f(1);"))),
        ["NPK-302"]
    );
}

#[test]
fn raw_of_a_plain_value_is_an_error() {
    let d = one_error(&in_main("int32:x = raw 5;"), "NPK-325", "5");
    assert!(d.message.contains("raw"));
}

#[test]
fn builtins_and_externs_return_plain_values() {
    ok(
        "extern func:c_abs = int32(int32:x);\nfunc:g = int32() { int32:rc = wildx_seal(NULL); pass c_abs(rc); };",
    );
}

#[test]
fn unknown_result_field_suggests() {
    let d = one_error(
        &format!(
            "{F}{}",
            in_main("Result<int32>:r = f(1);\nbool:b = r.is_eror;")
        ),
        "NPK-309",
        "is_eror",
    );
    assert!(d.help.unwrap().contains("is_error"));
}

#[test]
fn field_of_a_non_result_is_an_error() {
    assert_eq!(
        codes(&in_main("int32:x = 1;\nint32:y = x.value;")),
        ["NPK-309"]
    );
}

#[test]
fn namespace_call_yields_a_result() {
    let p = ok(
        "Type:Jit = { func:one = int32() { pass 1; }; };\nfunc:g = int32() { pass raw Jit.one(); };",
    );
    let g = &p.funcs[1];
    assert_eq!(g.name, "g");
    let StmtKind::Pass(Some(e)) = &g.body.stmts[0].kind else {
        panic!()
    };
    let ExprKind::Raw(inner) = &e.kind else {
        panic!()
    };
    assert_eq!(
        inner.ty,
        Ty::Result(Box::new(Ty::Int(crate::ast::IntTy::I32)))
    );
}

#[test]
fn result_of_nil_function_can_be_dropped_or_raw() {
    ok(&format!(
        "func:h = NIL() {{ }};\n{}",
        in_main("drop h();\nraw h();")
    ));
}

#[test]
fn or_else_default_must_match() {
    assert_eq!(
        codes(&format!("{F}{}", in_main("int32:x = f(1) ? true;"))),
        ["NPK-302"]
    );
}
