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
