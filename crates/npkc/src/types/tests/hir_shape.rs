//! The shape of the HIR: lowering of `for`, `till`, `else if`, locals.

use crate::hir::{ExprKind, LocalKind, StmtKind, Ty};

use super::{in_main, ok};

#[test]
fn locals_are_numbered_params_first() {
    let p = ok("func:f = int32(int32:a, int64:b) { int32:c = a; pass c; };");
    let f = &p.funcs[0];
    assert_eq!(f.params.len(), 2);
    let names: Vec<_> = f.locals.iter().map(|l| (l.name.as_str(), l.kind)).collect();
    assert_eq!(
        names,
        [
            ("a", LocalKind::Param),
            ("b", LocalKind::Param),
            ("c", LocalKind::Let)
        ]
    );
}

#[test]
fn for_lowers_to_block_with_while_and_step() {
    let p = ok(&in_main("for (int64:i = 0; i < 3; i += 1) { }"));
    let main = p.func(p.main.unwrap());
    let StmtKind::Block(b) = &main.body.stmts[0].kind else {
        panic!("{:?}", main.body.stmts[0])
    };
    assert!(matches!(b.stmts[0].kind, StmtKind::Let { .. }));
    let StmtKind::While { step, .. } = &b.stmts[1].kind else {
        panic!()
    };
    assert!(matches!(
        step.as_ref().unwrap().stmts[0].kind,
        StmtKind::Assign { .. }
    ));
}

#[test]
fn till_lowers_to_loop_from_zero() {
    let p = ok(&in_main("till(5u16, 1) { }"));
    let main = p.func(p.main.unwrap());
    let StmtKind::Loop { counter, start, .. } = &main.body.stmts[0].kind else {
        panic!()
    };
    assert!(matches!(start.kind, ExprKind::Int(0)));
    assert_eq!(start.ty, Ty::Int(crate::ast::IntTy::U16));
    assert_eq!(main.local(*counter).kind, LocalKind::LoopCounter);
}

#[test]
fn else_if_is_a_nested_block() {
    let p = ok(&in_main(
        "int32:x = 1;\nif (x == 0) { } else if (x == 1) { } else { }",
    ));
    let main = p.func(p.main.unwrap());
    let StmtKind::If { else_block, .. } = &main.body.stmts[1].kind else {
        panic!()
    };
    let inner = else_block.as_ref().unwrap();
    assert!(matches!(
        inner.stmts[0].kind,
        StmtKind::If {
            else_block: Some(_),
            ..
        }
    ));
}

#[test]
fn address_taken_is_marked() {
    let p = ok(&in_main("int32:x = 1;\nint32:y = 2;\nint32->:p = @x;"));
    let main = p.func(p.main.unwrap());
    assert!(main.locals[0].address_taken);
    assert!(!main.locals[1].address_taken);
}

#[test]
fn casts_become_cast_nodes() {
    let p = ok(&in_main("int32:a = 1;\nint64:b = a => int64;"));
    let main = p.func(p.main.unwrap());
    let StmtKind::Let { init, .. } = &main.body.stmts[1].kind else {
        panic!()
    };
    assert!(matches!(init.kind, ExprKind::Cast(_)));
    assert_eq!(init.ty, Ty::Int(crate::ast::IntTy::I64));
}

#[test]
fn main_and_failsafe_are_recorded_and_names_qualified() {
    let p = ok(&format!(
        "Type:Jit = {{ func:one = int32() {{ pass 1; }}; }};\n{}",
        in_main("")
    ));
    assert_eq!(p.funcs[0].name, "Jit.one");
    assert_eq!(p.func(p.failsafe.unwrap()).name, "failsafe");
    assert_eq!(p.func(p.main.unwrap()).name, "main");
}

#[test]
fn regions_and_fixed_reach_the_locals() {
    let p = ok(&in_main(
        "fixed wildx int8->:p = wildx_alloc(1);\nint32:rc = wildx_free(p);",
    ));
    let main = p.func(p.main.unwrap());
    assert!(main.locals[0].fixed);
    assert_eq!(main.locals[0].region, Some(crate::ast::Region::Wildx));
    assert_eq!(
        main.locals[0].ty,
        Ty::Ptr(Box::new(Ty::Int(crate::ast::IntTy::I8)))
    );
}

#[test]
fn externs_keep_their_c_names_and_types() {
    let p = ok("extern func:npk_jit_call_i32_i32 = int32(wildx ?*:p, int32:a, int32:b);");
    let x = &p.externs[0];
    assert_eq!(x.name, "npk_jit_call_i32_i32");
    assert_eq!(x.params[0].ty, Ty::Erased);
    assert_eq!(x.params[0].region, Some(crate::ast::Region::Wildx));
    assert_eq!(x.ret, Ty::Int(crate::ast::IntTy::I32));
}
