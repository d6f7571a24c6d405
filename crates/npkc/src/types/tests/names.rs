//! Name resolution: items, modules, namespaces, locals and shadowing.

use super::{check_modules, codes, in_main, ok, one_error};

#[test]
fn duplicate_function_is_an_error() {
    let src = "func:f = NIL() { };\nfunc:f = NIL() { };";
    let (_, errors) = super::check_src(src);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "NPK-201");
    assert_eq!(
        errors[0].primary.span.start as usize,
        src.rfind("f =").unwrap()
    );
    assert_eq!(errors[0].secondary[0].span.start, 5);
}

#[test]
fn duplicate_parameter_is_an_error() {
    assert_eq!(codes("func:f = NIL(int32:a, int32:a) { };"), ["NPK-201"]);
}

#[test]
fn duplicate_namespace_member_is_an_error() {
    assert_eq!(
        codes("Type:N = { func:a = NIL() { }; func:a = NIL() { }; };"),
        ["NPK-201"]
    );
}

#[test]
fn unknown_name_suggests_a_close_local() {
    let d = one_error(
        &in_main("int32:total = 1;\nprintln(totl);"),
        "NPK-202",
        "totl",
    );
    assert!(d.help.unwrap().contains("`total`"));
}

#[test]
fn unknown_function_suggests_a_close_item() {
    let d = one_error(
        "func:compute = int32() { pass 1; };\nfunc:g = int32() { pass raw comptue(); };",
        "NPK-202",
        "comptue",
    );
    assert!(d.help.unwrap().contains("`compute`"));
}

#[test]
fn unknown_name_errors_once_without_cascade() {
    // The failed operand silences the `+`, the binding and the later use.
    assert_eq!(
        codes(&in_main("int32:x = nope + 1;\nint32:y = x * 2;")),
        ["NPK-202"]
    );
}

#[test]
fn redeclaring_in_the_same_block_is_an_error() {
    let d = one_error(&in_main("int32:x = 1;\nint32:x = 2;"), "NPK-207", "x");
    assert_eq!(d.secondary.len(), 1);
}

#[test]
fn redeclaring_a_parameter_at_top_level_is_an_error() {
    assert_eq!(
        codes("func:f = NIL(int32:a) { int32:a = 1; };"),
        ["NPK-207"]
    );
}

#[test]
fn inner_blocks_may_shadow() {
    ok(&in_main(
        "int32:x = 1;\n{ int64:x = 2; int64:y = x + 1; }\nint32:z = x;",
    ));
}

#[test]
fn initialiser_sees_the_outer_binding() {
    ok(&in_main("int32:x = 1;\n{ int32:x = x + 1; }"));
}

#[test]
fn binding_is_out_of_scope_after_its_block() {
    assert_eq!(
        codes(&in_main("{ int32:x = 1; }\nint32:y = x;")),
        ["NPK-202"]
    );
}

#[test]
fn namespace_members_are_called_qualified() {
    ok(
        "Type:Jit = { func:free = int32(wildx int8->:f) { pass wildx_free(f); }; };\n\
        func:g = int32(wildx int8->:f) { pass raw Jit.free(f); };",
    );
}

#[test]
fn namespace_siblings_are_callable_unqualified() {
    ok("Type:M = { func:a = int32() { pass 1; }; func:b = int32() { pass raw a(); }; };");
}

#[test]
fn builtin_wins_over_namespace_sibling_inside_the_namespace() {
    let p = ok("Type:M = { func:free = NIL(int8->:p) { }; func:b = NIL(int8->:p) { free(p); }; };");
    let b = &p.funcs[1];
    let crate::hir::StmtKind::Expr(e) = &b.body.stmts[0].kind else {
        panic!()
    };
    assert!(matches!(
        e.kind,
        crate::hir::ExprKind::Builtin {
            builtin: crate::hir::Builtin::Free,
            ..
        }
    ));
}

#[test]
fn unknown_namespace_member_suggests() {
    let d = one_error(
        "Type:Jit = { func:free = int32() { pass 0; }; };\nfunc:g = int32() { pass raw Jit.fre(); };",
        "NPK-209",
        "fre",
    );
    assert!(d.help.unwrap().contains("`free`"));
}

#[test]
fn calling_a_member_of_a_function_is_an_error() {
    assert_eq!(
        codes("func:f = NIL() { };\nfunc:g = NIL() { drop f.x(); };"),
        ["NPK-210"]
    );
}

#[test]
fn function_named_like_a_builtin_is_reserved() {
    assert_eq!(codes("func:print = NIL() { };"), ["NPK-205"]);
}

#[test]
fn calling_a_local_is_an_error() {
    assert_eq!(codes(&in_main("int32:x = 1;\nx();")), ["NPK-308"]);
}

#[test]
fn function_used_as_value_is_an_error() {
    assert_eq!(
        codes("func:f = int32() { pass 1; };\nfunc:g = int32() { int32:x = f; pass x; };"),
        ["NPK-321"]
    );
}

#[test]
fn wrong_argument_count_is_an_error() {
    let d = one_error(
        "func:f = int32(int32:a) { pass a; };\nfunc:g = int32() { pass raw f(1, 2); };",
        "NPK-307",
        "f(1, 2)",
    );
    assert!(
        d.message.contains("takes 1 argument, but 2 were given"),
        "{}",
        d.message
    );
}

#[test]
fn wrong_argument_type_is_an_error() {
    assert_eq!(
        codes("func:f = int32(int64->:a) { pass 0; };\nfunc:g = int32() { pass raw f(true); };"),
        ["NPK-302"]
    );
}

#[test]
fn imported_items_are_visible() {
    let lib = "func:helper = int32() { pass 1; };\nextern func:c_abs = int32(int32:x);";
    let (p, errors) = check_modules(
        &[
            &in_main("int32:a = raw helper();\nint32:b = c_abs(a);"),
            lib,
        ],
        &[&[1]],
    );
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(p.unwrap().funcs.len(), 3);
}

#[test]
fn imports_are_not_transitive() {
    let (_, errors) = check_modules(
        &[
            &in_main("int32:a = raw deep();"),
            "func:mid = int32() { pass raw deep(); };",
            "func:deep = int32() { pass 1; };",
        ],
        &[&[1], &[2]],
    );
    assert_eq!(
        errors.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["NPK-202"]
    );
}

#[test]
fn name_from_two_imports_is_ambiguous() {
    let (_, errors) = check_modules(
        &[
            &in_main("int32:a = raw h();"),
            "func:h = int32() { pass 1; };",
            "func:h = int32() { pass 2; };",
        ],
        &[&[1, 2]],
    );
    assert_eq!(
        errors.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["NPK-204"]
    );
    assert_eq!(errors[0].secondary.len(), 2);
}

#[test]
fn own_item_shadows_an_import() {
    let (_, errors) = check_modules(
        &[
            "func:h = int32() { pass 1; };\nfunc:g = int32() { pass raw h(); };",
            "func:h = int32() { pass 2; };",
        ],
        &[&[1]],
    );
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn one_extern_declared_in_two_modules_is_one_extern() {
    let ext = "extern func:npk_wildx_seal = int32(?*:p);";
    let (p, errors) = check_modules(
        &[
            &format!("{ext}\n{}", in_main("int32:a = npk_wildx_seal(NULL);")),
            ext,
        ],
        &[&[1]],
    );
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(p.unwrap().externs.len(), 1);
}

#[test]
fn conflicting_extern_declarations_are_an_error() {
    let (_, errors) = check_modules(
        &[
            "extern func:npk_x = int32(?*:p);",
            "extern func:npk_x = int64(?*:p);",
        ],
        &[&[1]],
    );
    assert_eq!(
        errors.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["NPK-206"]
    );
}

#[test]
fn main_without_failsafe_is_an_error_at_main() {
    let d = one_error("func:main = int32() { exit 0; };", "NPK-208", "main");
    assert!(d.help.unwrap().contains("failsafe"));
}

#[test]
fn stdlib_jit_checks_clean() {
    let jit = crate::stdlib::lookup("jit.npk").expect("jit.npk is embedded");
    let (p, errors) = check_modules(&[jit], &[]);
    assert!(errors.is_empty(), "{errors:#?}");
    let p = p.unwrap();
    assert!(p.funcs.iter().any(|f| f.name == "Jit.compile_add_i32"));
    assert!(p.main.is_none());
}

#[test]
fn user_program_calls_the_stdlib_jit() {
    let jit = crate::stdlib::lookup("jit.npk").expect("jit.npk is embedded");
    let user = in_main(
        "wildx int8->:f = raw Jit.compile_add_i32();\n\
         int32:r = raw Jit.call_i32_i32(f, 7i32, 35i32);\n\
         int32:rc = raw Jit.free(f);\n\
         exit r - 42;",
    );
    let (_, errors) = check_modules(&[&user, jit], &[&[1]]);
    assert!(errors.is_empty(), "{errors:#?}");
}
