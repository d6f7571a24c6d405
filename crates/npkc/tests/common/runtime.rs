//! Shared by the `npkc` test targets: which runtime archive test programs link with.

use std::path::PathBuf;

/// The runtime archive to link test programs with: `NPK_RUNTIME` if set, else
/// the newest `deps/libnpk_runtime-*.a` that `cargo test` built with this
/// harness (`npk-runtime` is a dev-dependency; `cargo test` does not refresh
/// the uplifted `<profile>/libnpk_runtime.a`), else the one next to `npkc`.
pub fn runtime_archive() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NPK_RUNTIME") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    std::fs::read_dir(deps)
        .ok()?
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("libnpk_runtime-") && name.ends_with(".a")
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}
