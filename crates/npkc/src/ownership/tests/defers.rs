//! `defer`: runs where the scope is left (block end, pass, fail, break,
//! continue, exit), LIFO, after the `pass` value is evaluated.

use super::build::*;

#[test]
fn defer_does_not_release_where_it_is_written() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.defer(vec![f.expr(f.wfree(f.l(x)))]),
            f.expr(f.seal(f.l(x))),
            f.expr(f.print(f.index(x))),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn defer_plus_explicit_release_is_a_double_free_at_the_deferred_release() {
    let mut p = Prog::new();
    let (mut deferred, mut explicit) = (None, None);
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let d = f.expr(f.wfree(f.l(x)));
        deferred = Some(stmt_expr_span(&d));
        let e = f.expr(f.wfree(f.l(x)));
        explicit = Some(stmt_expr_span(&e));
        vec![f.let_(x, f.walloc()), f.defer(vec![d]), e]
    });
    assert_eq!(p.check(), vec![("ARIA-022", deferred.expect("built"))]);
    assert_eq!(
        p.problems().errors[0].secondary[0].span,
        explicit.expect("built")
    );
}

#[test]
fn defer_runs_on_every_exit_and_reports_once() {
    let mut p = Prog::new();
    p.func("f", i32t(), |f| {
        let x = f.wlocal("page");
        let c = f.unknown();
        vec![
            f.let_(x, f.walloc()),
            f.defer(vec![f.expr(f.wfree(f.l(x)))]),
            f.expr(f.wfree(f.l(x))),
            f.if_(c, vec![f.fail()], None),
            f.pass(Some(f.int(0))),
        ]
    });
    // The deferred release runs at `fail` and at `pass`: one double free.
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-022"]
    );
}

#[test]
fn defer_releases_on_pass_fail_and_block_end() {
    let mut p = Prog::new();
    p.func("f", i32t(), |f| {
        let x = f.wlocal("page");
        let c = f.unknown();
        let d = f.unknown();
        vec![
            f.let_(x, f.walloc()),
            f.if_(f.is_null(x), vec![f.fail()], None),
            f.defer(vec![f.expr(f.wfree(f.l(x)))]),
            f.if_(c, vec![f.fail()], None),
            f.if_(d, vec![f.pass(Some(f.int(1)))], None),
            f.pass(Some(f.int(0))),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn pass_value_is_evaluated_before_defers_run() {
    let mut p = Prog::new();
    let user = p.func("user", i32t(), |f| {
        let q = f.wparam("q");
        vec![f.expr(f.seal(f.l(q))), f.pass(Some(f.int(0)))]
    });
    p.func("f", i32t(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.defer(vec![f.expr(f.wfree(f.l(x)))]),
            f.pass(Some(f.raw(f.call(user, vec![f.l(x)])))),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn deferred_release_of_a_passed_pointer_is_a_use_after_move() {
    let mut p = Prog::new();
    p.func("f", ptr(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.defer(vec![f.expr(f.wfree(f.l(x)))]),
            f.pass(Some(f.l(x))),
        ]
    });
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-015"]
    );
}

#[test]
fn defers_run_last_in_first_out() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.defer(vec![f.expr(f.wfree(f.l(x)))]),
            // Registered second, so it runs first: still a valid read.
            f.defer(vec![f.expr(f.print(f.index(x)))]),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn defer_runs_when_break_and_continue_leave_the_block() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let c = f.unknown();
        let d = f.unknown();
        let e = f.unknown();
        vec![f.while_(
            c,
            vec![
                f.let_(x, f.walloc()),
                f.defer(vec![f.expr(f.wfree(f.l(x)))]),
                f.if_(d, vec![f.brk()], None),
                f.if_(e, vec![f.cont()], None),
            ],
        )]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn defer_runs_at_exit() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.defer(vec![f.expr(f.wfree(f.l(x)))]),
            f.expr(f.wfree(f.l(x))),
            f.exit(),
        ]
    });
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-022"]
    );
}

#[test]
fn defer_in_an_inner_block_runs_at_that_block_end() {
    let mut p = Prog::new();
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.block(vec![f.defer(vec![f.expr(f.wfree(f.l(x)))])]),
            f.expr(f.print(f.index(x))),
        ]
    });
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-015"]
    );
}
