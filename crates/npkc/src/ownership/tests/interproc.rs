//! Interprocedural summaries: owned returns, released parameters, NPK-402/403,
//! every function checked (namespaces and imported modules), no name lists.

use super::build::*;
use crate::hir::{FuncId, Ty};
use crate::source::FileId;

/// `Jit.compile_add_i32`-like: allocate, bail out on failure, pass the page.
fn factory(p: &mut Prog, name: &str) -> FuncId {
    p.func(name, ptr(), |f| {
        let x = f.wlocal("p");
        vec![
            f.let_(x, f.walloc()),
            f.if_(f.is_null(x), vec![f.fail()], None),
            f.if_(
                f.bin(crate::ast::BinOp::Ne, f.seal(f.l(x)), f.int(0)),
                vec![f.expr(f.wfree(f.l(x))), f.fail()],
                None,
            ),
            f.pass(Some(f.l(x))),
        ]
    })
}

/// `Jit.free`-like: releases its parameter.
fn releaser(p: &mut Prog, name: &str) -> FuncId {
    p.func(name, i32t(), |f| {
        let x = f.wparam("f");
        vec![f.pass(Some(f.wfree(f.l(x))))]
    })
}

/// `Jit.call_i32_i32`-like: borrows its parameter.
fn borrower(p: &mut Prog, name: &str) -> FuncId {
    p.func(name, i32t(), |f| {
        let x = f.wparam("f");
        vec![f.pass(Some(f.seal(f.l(x))))]
    })
}

#[test]
fn summaries_are_inferred_from_bodies() {
    let mut p = Prog::new();
    let make = factory(&mut p, "Jit.compile_add_i32");
    let rel = releaser(&mut p, "Jit.free");
    let bor = borrower(&mut p, "Jit.call_i32_i32");
    let mut problems = crate::diagnostic::Problems::new();
    let s = super::super::check(&p.program, &mut problems);
    assert!(problems.errors.is_empty(), "{problems:?}");
    assert_eq!(
        s.get(make).returns_owned,
        Some(crate::ownership::ResourceKind::Page)
    );
    assert_eq!(
        s.get(rel).releases_param(0),
        Some(crate::ownership::ResourceKind::Page)
    );
    assert_eq!(s.get(bor).releases_param(0), None);
    assert_eq!(s.get(bor).returns_owned, None);
}

#[test]
fn result_of_an_owning_function_must_be_released() {
    let mut p = Prog::new();
    let make = factory(&mut p, "Jit.compile_add_i32");
    let m = p.func("main", i32t(), |f| {
        let x = f.wlocal("f");
        vec![f.let_(x, f.raw(f.call(make, vec![])))]
    });
    assert_eq!(p.check(), vec![("ARIA-014", body_end(&p, m))]);
}

#[test]
fn passing_to_a_releasing_function_is_a_release() {
    let mut p = Prog::new();
    let make = factory(&mut p, "Jit.compile_add_i32");
    let rel = releaser(&mut p, "Jit.free");
    let bor = borrower(&mut p, "Jit.call_i32_i32");
    let mut use_at = None;
    p.func("main", i32t(), |f| {
        let x = f.wlocal("f");
        let late = f.l(x);
        use_at = Some(late.span);
        vec![
            f.let_(x, f.raw(f.call(make, vec![]))),
            f.if_(f.is_null(x), vec![f.exit()], None),
            f.expr(f.drop_(f.call(bor, vec![f.l(x)]))),
            f.expr(f.drop_(f.call(rel, vec![f.l(x)]))),
            f.expr(f.drop_(f.call(bor, vec![late]))),
        ]
    });
    assert_eq!(p.check(), vec![("ARIA-015", use_at.expect("built"))]);
}

#[test]
fn releasing_twice_through_functions_is_a_double_free() {
    let mut p = Prog::new();
    let make = factory(&mut p, "Jit.compile_add_i32");
    let rel = releaser(&mut p, "Jit.free");
    p.func("main", i32t(), |f| {
        let x = f.wlocal("f");
        vec![
            f.let_(x, f.raw(f.call(make, vec![]))),
            f.expr(f.wfree(f.l(x))),
            f.expr(f.drop_(f.call(rel, vec![f.l(x)]))),
        ]
    });
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["ARIA-022"]
    );
}

#[test]
fn names_do_not_decide_what_releases() {
    let mut p = Prog::new();
    // Named like a deallocator, but only borrows.
    let fake = borrower(&mut p, "free_page");
    // Named like nothing in particular, but releases.
    let real = releaser(&mut p, "tidy");
    let m = p.func("main", i32t(), |f| {
        let x = f.wlocal("a");
        let y = f.wlocal("b");
        vec![
            f.let_(x, f.walloc()),
            f.let_(y, f.walloc()),
            f.expr(f.drop_(f.call(fake, vec![f.l(x)]))),
            f.expr(f.drop_(f.call(real, vec![f.l(y)]))),
        ]
    });
    assert_eq!(p.check(), vec![("ARIA-014", body_end(&p, m))]);
    assert_eq!(p.problems().errors[0].message, "leak of `a`");
}

#[test]
fn releasing_a_parameter_on_some_paths_is_npk_402_in_the_callee() {
    let mut p = Prog::new();
    p.func("maybe_free", Ty::Nil, |f| {
        let x = f.wparam("p");
        let c = f.param("really", Ty::Bool, None);
        vec![f.if_(f.l(c), vec![f.expr(f.wfree(f.l(x)))], None)]
    });
    let got = p.check();
    let want_span = p.program.funcs[0].locals[0].span;
    assert_eq!(got, vec![("NPK-402", want_span)]);
}

#[test]
fn a_null_parameter_path_counts_as_released() {
    let mut p = Prog::new();
    let rel = p.func("release", Ty::Nil, |f| {
        let x = f.wparam("p");
        vec![
            f.if_(f.is_null(x), vec![f.pass(None)], None),
            f.expr(f.wfree(f.l(x))),
        ]
    });
    let mut problems = crate::diagnostic::Problems::new();
    let s = super::super::check(&p.program, &mut problems);
    assert!(problems.errors.is_empty(), "{problems:?}");
    assert!(s.get(rel).releases_param(0).is_some());
}

#[test]
fn recursive_release_converges_to_releasing() {
    let mut p = Prog::new();
    let id = p.next_id();
    p.func("drain", Ty::Nil, |f| {
        let x = f.wparam("p");
        let n = f.param("n", i32t(), None);
        vec![
            f.if_(
                f.bin(crate::ast::BinOp::Eq, f.l(n), f.int(0)),
                vec![f.expr(f.wfree(f.l(x))), f.pass(None)],
                None,
            ),
            f.expr(f.drop_(f.call_ret(id, vec![f.l(x), f.l(n)], Ty::Nil))),
        ]
    });
    p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![
            f.let_(x, f.walloc()),
            f.expr(f.drop_(f.call(id, vec![f.l(x), f.int(3)]))),
        ]
    });
    assert_eq!(p.check(), vec![]);
}

#[test]
fn returning_owned_and_borrowed_pointers_is_npk_403() {
    let mut p = Prog::new();
    let mut borrowed_at = None;
    p.func("pick", ptr(), |f| {
        let x = f.wparam("p");
        let c = f.param("fresh", Ty::Bool, None);
        let b = f.pass(Some(f.l(x)));
        borrowed_at = Some(b.span);
        vec![f.if_(f.l(c), vec![f.pass(Some(f.walloc()))], None), b]
    });
    assert_eq!(p.check(), vec![("NPK-403", borrowed_at.expect("built"))]);
}

#[test]
fn namespace_and_imported_functions_are_checked() {
    let mut p = Prog::new();
    let id = p.func("Jit.compile_broken", ptr(), |f| {
        let x = f.wlocal("p");
        let y = f.wlocal("q");
        vec![
            f.let_(x, f.walloc()),
            f.let_(y, f.walloc()),
            f.pass(Some(f.l(x))),
        ]
    });
    p.program.funcs[id.0 as usize].module = FileId(1);
    let pass_span = p.program.funcs[0].body.stmts[2].span;
    assert_eq!(p.check(), vec![("ARIA-014", pass_span)]);
}

#[test]
fn allocation_passed_to_a_borrowing_function_leaks() {
    let mut p = Prog::new();
    let bor = borrower(&mut p, "Jit.call_i32_i32");
    let rel = releaser(&mut p, "Jit.free");
    let mut at = None;
    p.func("main", i32t(), |f| {
        let a = f.walloc();
        at = Some(a.span);
        vec![
            f.expr(f.drop_(f.call(bor, vec![a]))),
            f.expr(f.drop_(f.call(rel, vec![f.walloc()]))),
        ]
    });
    assert_eq!(p.check(), vec![("ARIA-014", at.expect("built"))]);
}

#[test]
fn releasing_function_with_the_wrong_kind_is_npk_401() {
    let mut p = Prog::new();
    let rel = releaser(&mut p, "Jit.free");
    p.func("main", i32t(), |f| {
        let x = f.hlocal("buf");
        vec![
            f.let_(x, f.alloc()),
            f.expr(f.drop_(f.call(rel, vec![f.l(x)]))),
        ]
    });
    assert_eq!(
        p.check().iter().map(|c| c.0).collect::<Vec<_>>(),
        vec!["NPK-401"]
    );
}

#[test]
fn owning_call_is_seen_through_or_else() {
    let mut p = Prog::new();
    let make = factory(&mut p, "make");
    let m = p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        vec![f.let_(x, f.or_else(f.call(make, vec![]), f.null()))]
    });
    assert_eq!(p.check(), vec![("ARIA-014", body_end(&p, m))]);
}
