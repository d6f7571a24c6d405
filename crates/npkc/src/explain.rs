//! Long explanations of every diagnostic code, for `npkc --explain CODE`.

/// The explanation of `code`, if it is one the compiler emits.
#[must_use]
pub fn explain(code: &str) -> Option<&'static str> {
    let _ = code;
    None
}
