//! Proptest configuration shared by the generated-input test targets:
//! a default case count sized for CI, raised by `PROPTEST_CASES=N` for
//! longer local runs.

use proptest::prelude::ProptestConfig;

/// Default case count per property; `PROPTEST_CASES` overrides it.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `default` cases (or `PROPTEST_CASES`), no failure files, and a generous
/// shrinking budget.
pub fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        max_shrink_iters: 2000,
        max_shrink_time: 120_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
