//! ARIA-015 (use after release or move), ARIA-022 (double free), moves,
//! NPK-401 (mismatched deallocator).

use super::build::*;
use crate::ast::{BinOp, Region};
use crate::hir::{ResultField, Ty};

#[test]
fn use_after_release_points_at_the_use_with_the_release_as_secondary() {
    let mut p = Prog::new();
    let (mut use_at, mut rel_at) = (None, None);
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let rel = f.expr(f.wfree(f.l(x)));
        rel_at = Some(stmt_expr_span(&rel));
        let r = f.l(x);
        use_at = Some(r.span);
        vec![f.let_(x, f.walloc()), rel, f.expr(f.seal(r))]
    });
    assert_eq!(p.check(), vec![("ARIA-015", use_at.expect("built"))]);
    let d = &p.problems().errors[0];
    assert_eq!(d.message, "use of released `page`");
    assert_eq!(d.secondary[0].span, rel_at.expect("built"));
    assert_eq!(d.secondary[0].message, "released here");
}

#[test]
fn use_after_release_is_reported_once_per_binding() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.expr(f.wfree(f.l(x))),
            f.expr(f.print(f.index(x))),
            f.expr(f.print(f.index(x))),
            f.expr(f.wfree(f.l(x))),
        ]
    });
    let got = p.check();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "ARIA-015");
}

#[test]
fn comparing_a_released_pointer_is_a_use() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.expr(f.wfree(f.l(x))),
            f.if_(f.not_null(x), vec![], None),
        ]
    });
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-015"]
    );
}

#[test]
fn use_after_release_on_some_path_is_reported() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let c = f.unknown();
        vec![
            f.let_(x, f.walloc()),
            f.if_(c, vec![f.expr(f.wfree(f.l(x)))], None),
            f.expr(f.print(f.index(x))),
            f.expr(f.wfree(f.l(x))),
        ]
    });
    let got = p.check();
    assert_eq!(
        got.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-015"]
    );
    assert!(p.problems().errors[0].message.contains("possibly released"));
}

#[test]
fn use_after_release_in_a_loop_is_reported_once() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let c = f.unknown();
        vec![
            f.let_(x, f.walloc()),
            f.while_(
                c,
                vec![f.expr(f.print(f.index(x))), f.expr(f.wfree(f.l(x)))],
            ),
        ]
    });
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-015"]
    );
}

#[test]
fn double_free_points_at_the_second_release() {
    let mut p = Prog::new();
    let (mut first, mut second) = (None, None);
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let a = f.expr(f.wfree(f.l(x)));
        let b = f.expr(f.wfree(f.l(x)));
        first = Some(stmt_expr_span(&a));
        second = Some(stmt_expr_span(&b));
        vec![f.let_(x, f.walloc()), a, b]
    });
    assert_eq!(p.check(), vec![("ARIA-022", second.expect("built"))]);
    let d = &p.problems().errors[0];
    assert_eq!(d.message, "double free of `page`");
    assert_eq!(d.secondary[0].span, first.expect("built"));
    assert_eq!(d.secondary[0].message, "first released here");
}

#[test]
fn release_of_a_maybe_released_binding_is_a_double_free() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.hlocal("buf");
        let c = f.unknown();
        vec![
            f.let_(x, f.alloc()),
            f.if_(c, vec![f.expr(f.free(f.l(x)))], None),
            f.expr(f.free(f.l(x))),
        ]
    });
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-022"]
    );
}

#[test]
fn double_free_in_a_loop_is_reported_once() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let body = vec![f.expr(f.wfree(f.l(x)))];
        let lp = f.loop_(body);
        vec![f.let_(x, f.walloc()), lp]
    });
    // The loop may run zero times (leak on that path is hidden by the
    // report on the same binding) or twice (double free): one diagnostic.
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-022"]
    );
}

#[test]
fn move_to_another_binding_transfers_ownership() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let y = f.wlocal("other");
        vec![
            f.let_(x, f.walloc()),
            f.let_(y, f.l(x)),
            f.expr(f.wfree(f.l(y))),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn moved_binding_does_not_leak_but_the_new_owner_does() {
    let mut p = Prog::new();
    let m = p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let y = f.wlocal("other");
        vec![f.let_(x, f.walloc()), f.let_(y, f.l(x))]
    });
    assert_eq!(p.check(), vec![("ARIA-014", body_end(&p, m))]);
    assert_eq!(p.problems().errors[0].message, "leak of `other`");
}

#[test]
fn use_after_move_is_reported_with_the_move() {
    let mut p = Prog::new();
    let mut use_at = None;
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let y = f.wlocal("other");
        let r = f.l(x);
        use_at = Some(r.span);
        vec![
            f.let_(x, f.walloc()),
            f.let_(y, f.l(x)),
            f.expr(f.seal(r)),
            f.expr(f.wfree(f.l(y))),
        ]
    });
    assert_eq!(p.check(), vec![("ARIA-015", use_at.expect("built"))]);
    let d = &p.problems().errors[0];
    assert_eq!(d.message, "use of moved `page`");
    assert_eq!(d.secondary[0].message, "moved here");
}

#[test]
fn free_of_a_wildx_page_is_a_mismatched_deallocator() {
    let mut p = Prog::new();
    let mut at = None;
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let s = f.expr(f.free(f.l(x)));
        at = Some(stmt_expr_span(&s));
        vec![f.let_(x, f.walloc()), s]
    });
    assert_eq!(p.check(), vec![("NPK-401", at.expect("built"))]);
}

#[test]
fn wildx_free_of_alloc_memory_is_a_mismatched_deallocator() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.hlocal("buf");
        vec![f.let_(x, f.alloc()), f.expr(f.wfree(f.l(x)))]
    });
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["NPK-401"]
    );
}

#[test]
fn short_circuit_rhs_sees_the_non_null_refinement() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.hlocal("buf");
        let cond = f.bin(
            BinOp::And,
            f.not_null(x),
            f.bin(BinOp::Eq, f.index(x), f.int(1)),
        );
        vec![
            f.let_(x, f.alloc()),
            f.if_(cond, vec![], None),
            f.expr(f.free(f.l(x))),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn storing_a_pointer_through_memory_is_a_use() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.hlocal("buf");
        let t = f.hlocal("table");
        vec![
            f.let_(t, f.alloc()),
            f.let_(x, f.alloc()),
            f.expr(f.free(f.l(x))),
            f.store(t, f.l(x)),
            f.expr(f.free(f.l(t))),
        ]
    });
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-015"]
    );
}

#[test]
fn extern_pointer_in_a_wildx_binding_is_an_owned_page() {
    let mut p = Prog::new();
    let ext = p.extern_("npk_jit_compile", vec![], Ty::Erased);
    let m = p.func("main", i32t(), |f| {
        let x = f.local("g", ptr(), Some(Region::Wildx));
        let y = f.local("s", ptr(), Some(Region::Wild));
        vec![
            f.let_(x, f.call_extern(ext, vec![], Ty::Erased)),
            f.let_(y, f.call_extern(ext, vec![], Ty::Erased)),
        ]
    });
    assert_eq!(p.check(), vec![("ARIA-014", body_end(&p, m))]);
    assert_eq!(p.problems().errors[0].message, "leak of `g`");
}

#[test]
fn result_binding_owns_until_its_value_is_moved_out() {
    let mut p = Prog::new();
    let make = p.func("make", ptr(), |f| vec![f.pass(Some(f.walloc()))]);
    p.func("main", i32t(), |f| {
        let r = f.local("r", Ty::Result(Box::new(ptr())), None);
        let x = f.wlocal("page");
        vec![
            f.let_(r, f.call(make, vec![])),
            f.if_(f.field(f.l(r), ResultField::IsError), vec![f.exit()], None),
            f.let_(x, f.field(f.l(r), ResultField::Value)),
            f.expr(f.wfree(f.l(x))),
        ]
    });
    assert_eq!(p.check(), vec![]);
}
