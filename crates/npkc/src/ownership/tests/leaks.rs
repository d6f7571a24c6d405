//! ARIA-014: leaks at every kind of scope exit, null refinement, `exit`.

use super::build::*;
use crate::ast::BinOp;

#[test]
fn leak_is_reported_once_at_the_closing_brace_of_its_block() {
    let mut p = Prog::new();
    let m = p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![f.let_(x, f.walloc())]
    });
    assert_eq!(p.check(), vec![("ARIA-014", body_end(&p, m))]);
    let d = &p.problems().errors[0];
    assert_eq!(d.message, "leak of `page`");
    assert_eq!(d.secondary[0].message, "allocated here");
    assert!(
        d.help
            .as_deref()
            .is_some_and(|h| h.contains("wildx_free(page)")),
        "{d:?}"
    );
}

#[test]
fn released_binding_does_not_leak() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![f.let_(x, f.walloc()), f.expr(f.wfree(f.l(x)))]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn leak_in_inner_block_is_reported_at_that_block() {
    let mut p = Prog::new();
    let mut inner = None;
    p.func("main", i32t(), |f| {
        let x = f.hlocal("buf");
        let b = f.block(vec![f.let_(x, f.alloc())]);
        inner = Some(stmt_block_end(&b));
        vec![b]
    });
    assert_eq!(p.check(), vec![("ARIA-014", inner.expect("built"))]);
}

#[test]
fn leak_on_a_fail_path_is_reported_at_the_fail() {
    let mut p = Prog::new();
    let mut fail_span = None;
    p.func("f", i32t(), |f| {
        let x = f.wlocal("page");
        let c = f.unknown();
        let fail = f.fail();
        fail_span = Some(fail.span);
        vec![
            f.let_(x, f.walloc()),
            f.if_(c, vec![fail], None),
            f.expr(f.wfree(f.l(x))),
            f.pass(Some(f.int(0))),
        ]
    });
    assert_eq!(p.check(), vec![("ARIA-014", fail_span.expect("built"))]);
}

#[test]
fn leak_owned_on_some_paths_is_reported_at_scope_end() {
    let mut p = Prog::new();
    let m = p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let c = f.unknown();
        vec![
            f.let_(x, f.walloc()),
            f.if_(c, vec![f.expr(f.wfree(f.l(x)))], None),
        ]
    });
    assert_eq!(p.check(), vec![("ARIA-014", body_end(&p, m))]);
}

#[test]
fn leak_inside_a_loop_is_reported_once() {
    let mut p = Prog::new();
    let mut end = None;
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let c = f.unknown();
        let w = f.while_(c, vec![f.let_(x, f.walloc())]);
        end = Some(stmt_block_end(&w));
        vec![w]
    });
    assert_eq!(p.check(), vec![("ARIA-014", end.expect("built"))]);
}

#[test]
fn leak_at_break_and_continue_is_reported_at_the_jump() {
    let mut p = Prog::new();
    let (mut b_span, mut c_span) = (None, None);
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let c1 = f.unknown();
        let c2 = f.unknown();
        let c3 = f.unknown();
        let b = f.brk();
        let k = f.cont();
        b_span = Some(b.span);
        c_span = Some(k.span);
        vec![f.while_(
            c1,
            vec![
                f.let_(x, f.walloc()),
                f.if_(c2, vec![b], None),
                f.if_(c3, vec![k], None),
                f.expr(f.wfree(f.l(x))),
            ],
        )]
    });
    let mut want = vec![
        ("ARIA-014", b_span.expect("built")),
        ("ARIA-014", c_span.expect("built")),
    ];
    want.sort_by_key(|w| w.1);
    assert_eq!(p.check(), want);
}

#[test]
fn null_branch_owns_nothing() {
    let mut p = Prog::new();
    p.func("f", i32t(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.if_(f.is_null(x), vec![f.fail()], None),
            f.expr(f.wfree(f.l(x))),
            f.pass(Some(f.int(0))),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn null_on_the_left_and_else_of_not_null_refine_too() {
    let mut p = Prog::new();
    p.func("f", i32t(), |f| {
        let x = f.wlocal("a");
        let y = f.wlocal("b");
        vec![
            f.let_(x, f.walloc()),
            f.if_(f.bin(BinOp::Eq, f.null(), f.l(x)), vec![f.fail()], None),
            f.let_(y, f.walloc()),
            f.if_(
                f.not_null(y),
                vec![f.expr(f.wfree(f.l(y)))],
                Some(vec![f.expr(f.wfree(f.l(x))), f.fail()]),
            ),
            f.expr(f.wfree(f.l(x))),
            f.pass(Some(f.int(0))),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn exit_path_reports_no_leak() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let c = f.unknown();
        vec![
            f.let_(x, f.walloc()),
            f.if_(c, vec![f.exit()], None),
            f.expr(f.wfree(f.l(x))),
            f.exit(),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn exit_path_is_pruned_from_later_joins() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let c = f.unknown();
        vec![
            f.let_(x, f.walloc()),
            f.if_(c, vec![f.expr(f.wfree(f.l(x))), f.exit()], None),
            f.expr(f.print(f.index(x))),
            f.expr(f.wfree(f.l(x))),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn assigning_over_an_owned_binding_leaks_the_old_value() {
    let mut p = Prog::new();
    let mut at = None;
    p.func("main", i32t(), |f| {
        let x = f.hlocal("buf");
        let a = f.assign(x, f.alloc());
        at = Some(a.span);
        vec![f.let_(x, f.alloc()), a, f.expr(f.free(f.l(x)))]
    });
    assert_eq!(p.check(), vec![("ARIA-014", at.expect("built"))]);
}

#[test]
fn assigning_after_release_is_fine() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.hlocal("buf");
        vec![
            f.let_(x, f.alloc()),
            f.expr(f.free(f.l(x))),
            f.assign(x, f.alloc()),
            f.expr(f.free(f.l(x))),
            f.assign(x, f.null()),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn discarded_allocation_leaks() {
    let mut p = Prog::new();
    let mut at = None;
    p.func("main", i32t(), |f| {
        let s = f.expr(f.walloc());
        at = Some(stmt_expr_span(&s));
        vec![s]
    });
    assert_eq!(p.check(), vec![("ARIA-014", at.expect("built"))]);
}

#[test]
fn loop_with_release_each_iteration_is_clean() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let body = vec![f.let_(x, f.walloc()), f.expr(f.wfree(f.l(x)))];
        vec![f.loop_(body)]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn while_true_with_break_does_not_join_the_false_exit() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.while_(f.boolean(true), vec![f.expr(f.wfree(f.l(x))), f.brk()]),
        ]
    });
    assert_eq!(p.check(), vec![]);
}
