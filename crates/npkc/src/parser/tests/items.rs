//! Items: `func`, `extern func`, `Type:` namespaces, `use`, and a whole program.

use super::*;
use crate::ast::Region;

#[test]
fn parses_a_complete_program() {
    let src = r#"
use "jit.npk".*;

extern func:npk_wildx_alloc = wild ?*(uint64:n);

Type:Jit = {
    func:free = int32(wildx int8->:f) {
        pass raw wildx_free(f);
    };
};

func:failsafe = int32(tbb32:err) {
    exit 1;
};

func:main = int32() {
    wildx int8->:f = raw Jit.compile_add_i32();
    int32:r = raw Jit.call_i32_i32(f, 7i32, 35i32);
    drop Jit.free(f);
    println(`r = &{r}`);
    exit 0;
};
"#;
    let m = parse_ok(src);
    assert_eq!(m.items.len(), 5);
    assert!(matches!(&m.items[0], Item::Use(u) if u.path == "jit.npk"));
    match &m.items[1] {
        Item::Extern(e) => {
            assert_eq!(e.name.name, "npk_wildx_alloc");
            assert_eq!(ty(&e.ret), "?*");
            assert_eq!(e.ret_quals.region, Some(Region::Wild));
            assert_eq!(ty(&e.params[0].ty), "uint64");
        }
        other => panic!("{other:?}"),
    }
    match &m.items[2] {
        Item::Namespace(n) => {
            assert_eq!(n.name.name, "Jit");
            assert_eq!(n.funcs.len(), 1);
            assert_eq!(n.funcs[0].params[0].quals.region, Some(Region::Wildx));
            assert_eq!(ty(&n.funcs[0].params[0].ty), "int8->");
        }
        other => panic!("{other:?}"),
    }
    let main = func(&m, 4);
    assert_eq!(main.body.stmts.len(), 5);
    assert_eq!(
        stmt_shape(&main.body.stmts[0]),
        "let wildx int8->:f = (raw (call (. Jit compile_add_i32)))"
    );
    assert_eq!(
        stmt_shape(&main.body.stmts[3]),
        "(call println (tpl \"r = \" r))"
    );
}

#[test]
fn function_with_parameters_and_nil_return() {
    let m = parse_ok("func:f = NIL(int32:a, fixed wild uint8->:p) { pass; };");
    let f = func(&m, 0);
    assert_eq!(f.name.name, "f");
    assert_eq!(ty(&f.ret), "NIL");
    assert_eq!(f.params.len(), 2);
    assert_eq!(f.params[0].name.name, "a");
    assert!(f.params[1].quals.fixed);
    assert_eq!(f.params[1].quals.region, Some(Region::Wild));
    assert_eq!(ty(&f.params[1].ty), "uint8->");
}

#[test]
fn function_return_type_may_have_qualifiers() {
    let m = parse_ok("func:mk = wildx int8->() { pass NULL; };");
    let f = func(&m, 0);
    assert_eq!(f.ret_quals.region, Some(Region::Wildx));
    assert_eq!(ty(&f.ret), "int8->");
}

#[test]
fn extern_with_c_pointer_types_and_void() {
    let m = parse_ok("extern func:memcpy = void(wild uint8*:dst, ?*:src, uint64:n);");
    let Item::Extern(e) = &m.items[0] else {
        panic!("not an extern")
    };
    assert_eq!(ty(&e.ret), "void");
    let tys: Vec<String> = e.params.iter().map(|p| ty(&p.ty)).collect();
    assert_eq!(tys, ["uint8*", "?*", "uint64"]);
}

#[test]
fn namespace_with_several_functions() {
    let m = parse_ok(
        "Type:Jit = {\n func:a = int32() { pass 1; };\n func:b = int32(int32:x) { pass x; };\n};",
    );
    let Item::Namespace(n) = &m.items[0] else {
        panic!("not a namespace")
    };
    let names: Vec<&str> = n.funcs.iter().map(|f| f.name.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn use_declaration_path_and_span() {
    let src = "use \"lib/x.npk\".*;";
    let m = parse_ok(src);
    let Item::Use(u) = &m.items[0] else {
        panic!("not a use")
    };
    assert_eq!(u.path, "lib/x.npk");
    assert_eq!(
        &src[u.path_span.start as usize..u.path_span.end as usize],
        "\"lib/x.npk\""
    );
    assert_eq!(&src[u.span.start as usize..u.span.end as usize], src);
}

#[test]
fn function_span_covers_declaration_and_name_span_the_name() {
    let src = "\nfunc:main = int32() { exit 0; };\n";
    let m = parse_ok(src);
    let f = func(&m, 0);
    assert_eq!(&src[f.span.start as usize..f.span.end as usize], src.trim());
    assert_eq!(
        &src[f.name.span.start as usize..f.name.span.end as usize],
        "main"
    );
}

#[test]
fn empty_file_has_no_items() {
    assert!(parse_ok("").items.is_empty());
    assert!(
        parse_ok("  // only a comment\n/* and another */")
            .items
            .is_empty()
    );
}
