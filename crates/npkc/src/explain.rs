//! Long explanations of every diagnostic code, for `npkc --explain CODE`.
//!
//! Each phase owns the explanations of its own codes (an `EXPLANATIONS`
//! table next to its error type); this module only gathers them.

/// Every phase's table of `(code, explanation)`.
const TABLES: &[&[(&str, &str)]] = &[
    crate::parser::EXPLANATIONS,
    crate::modules::EXPLANATIONS,
    crate::resolve::EXPLANATIONS,
    crate::types::EXPLANATIONS,
    crate::ownership::EXPLANATIONS,
    crate::ownership::ROOT_EXPLANATIONS,
];

/// The explanation of `code` (case-insensitive), if the compiler emits it.
#[must_use]
pub fn explain(code: &str) -> Option<&'static str> {
    TABLES
        .iter()
        .flat_map(|t| t.iter())
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, text)| *text)
}

/// Every code the compiler can emit, sorted.
#[must_use]
pub fn codes() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = TABLES
        .iter()
        .flat_map(|t| t.iter())
        .map(|(c, _)| *c)
        .collect();
    all.sort_unstable();
    all
}
