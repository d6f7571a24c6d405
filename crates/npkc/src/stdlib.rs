//! The Nitpick standard library embedded in `npkc` (`stdlib/*.npk`).

/// Embedded stdlib files: (name used in `use "name"`, source text).
const FILES: &[(&str, &str)] = &[
    ("jit.npk", include_str!("../../../stdlib/jit.npk")),
    ("asm.npk", include_str!("../../../stdlib/asm.npk")),
    ("drop.npk", include_str!("../../../stdlib/drop.npk")),
    ("gc.npk", include_str!("../../../stdlib/gc.npk")),
];

/// The source of the embedded stdlib module `name` (e.g. `jit.npk`).
#[must_use]
pub fn lookup(name: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}
