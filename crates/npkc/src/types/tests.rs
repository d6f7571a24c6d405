//! Unit tests of `resolve` + `types`: parse source strings, check them, and
//! assert on diagnostic codes and spans or on the HIR produced. One test
//! per behaviour, grouped by topic in `tests/`.

mod control;
mod gc;
mod hir_shape;
mod literals;
mod names;
mod results;
mod robust;
mod typing;
mod ui;

use crate::diagnostic::{Diagnostic, Problems};
use crate::hir;
use crate::modules::{Loaded, LoadedModule};
use crate::parser::parse_module;
use crate::source::FileId;

/// Checks modules given as source texts; module `i` is `FileId(i)`, module 0
/// is the root, and `imports[i]` lists the modules module `i` uses.
fn check_modules(srcs: &[&str], imports: &[&[u32]]) -> (Option<hir::Program>, Vec<Diagnostic>) {
    let mut problems = Problems::new();
    let modules = srcs
        .iter()
        .enumerate()
        .map(|(i, src)| {
            let file = FileId(u32::try_from(i).unwrap());
            let module = parse_module(file, src, &mut problems);
            LoadedModule {
                module,
                imports: imports
                    .get(i)
                    .map_or_else(Vec::new, |v| v.iter().map(|&f| FileId(f)).collect()),
                is_stdlib: false,
            }
        })
        .collect();
    assert!(
        problems.errors.is_empty(),
        "parse errors: {:#?}",
        problems.errors
    );
    let loaded = Loaded {
        drop_stdlib: None,
        root: FileId(0),
        modules,
    };
    let program = super::check(&loaded, &mut problems);
    assert_eq!(
        program.is_some(),
        problems.errors.is_empty(),
        "`check` returns None exactly on errors"
    );
    problems.sort();
    (program, problems.errors)
}

/// Checks one module.
fn check_src(src: &str) -> (Option<hir::Program>, Vec<Diagnostic>) {
    check_modules(&[src], &[])
}

/// The codes of the errors reported for `src`, in source order.
fn codes(src: &str) -> Vec<&'static str> {
    check_src(src).1.iter().map(|d| d.code).collect()
}

/// Checks that `src` has no errors and returns its program.
#[track_caller]
fn ok(src: &str) -> hir::Program {
    let (p, errors) = check_src(src);
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    p.unwrap()
}

/// Asserts that `src` has exactly one error, with `code`, whose primary span
/// covers exactly the text `at`; returns it.
#[track_caller]
fn one_error(src: &str, code: &str, at: &str) -> Diagnostic {
    let (_, errors) = check_src(src);
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    let d = errors.into_iter().next().unwrap();
    assert_eq!(d.code, code, "{d:#?}");
    let span = &src[d.primary.span.start as usize..d.primary.span.end as usize];
    assert_eq!(span, at, "{d:#?}");
    d
}

/// Wraps statements in `main` (with a `failsafe`).
fn in_main(body: &str) -> String {
    format!(
        "func:failsafe = int32(tbb32:err) {{ exit 1; }};\nfunc:main = int32() {{\n{body}\n}};\n"
    )
}
