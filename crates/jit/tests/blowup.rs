//! Adversarial inputs get a verdict within the documented work bound: the
//! steps the validator reports (or the budget it ran out of) are linear in
//! the code size, and nothing aborts. Their time and memory next to a plain
//! function of the same size are printed by `cargo bench -p npk-jit`.

#[path = "../benches/adversarial.rs"]
mod adversarial;

use npk_jit::{Policy, Signature, ViolationKind, validate};

#[test]
fn adversarial_64k_inputs_get_a_verdict_within_the_budget() {
    let sig: Signature = "int32(int32)".parse().expect("signature");
    let policy = Policy::runtime();
    let plain = adversarial::plain(65536);
    let report = validate(&plain, &sig, &policy).expect("the plain function is accepted");
    assert!(
        report.steps() <= 2 * report.instructions() as u64,
        "{report}"
    );
    for (name, code) in adversarial::inputs(65536) {
        assert!(
            code.len() <= 65536 && code.len() > 60000,
            "{name}: {} bytes",
            code.len()
        );
        match validate(&code, &sig, &policy) {
            Ok(r) => assert!(
                r.steps() <= u64::from(policy.steps_per_instruction) * r.instructions() as u64,
                "{name}: {r}"
            ),
            Err(v) => assert_eq!(
                v.kind(),
                ViolationKind::AnalysisBudgetExceeded,
                "{name}: {v}"
            ),
        }
    }
}
