//! Pathological shapes terminate quickly; every code has an explanation.

use super::build::*;
use crate::ownership::EXPLANATIONS;

#[test]
fn deeply_nested_loops_finish_and_still_report() {
    let mut p = Prog::new();
    let m = p.func("main", i32t(), |f| {
        let x = f.wlocal("page");
        let mut body = vec![f.expr(f.seal(f.l(x)))];
        for _ in 0..60 {
            let c = f.unknown();
            body = vec![f.while_(c, body)];
        }
        let mut stmts = vec![f.let_(x, f.walloc())];
        stmts.extend(body);
        stmts
    });
    let start = std::time::Instant::now();
    assert_eq!(p.check(), vec![("ARIA-014", body_end(&p, m))]);
    // Generous bound: a non-terminating or exponential analysis blows far past it.
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}

#[test]
fn every_code_the_checker_emits_has_an_explanation_with_an_example() {
    for code in [
        "ARIA-014", "ARIA-015", "ARIA-022", "NPK-401", "NPK-402", "NPK-403",
    ] {
        let text = EXPLANATIONS
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("no explanation for {code}"));
        assert!(text.contains("Example"), "{code} has no example");
        assert!(
            text.contains(&format!("error[{code}]")),
            "{code}'s example shows no error"
        );
    }
    assert_eq!(
        EXPLANATIONS.len(),
        6,
        "an explanation for a code that is never emitted"
    );
}
