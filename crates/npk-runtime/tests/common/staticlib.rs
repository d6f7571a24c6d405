//! Locates the `libnpk_runtime.a` that `cargo test` built together with the test binary.

/// The `libnpk_runtime.a` built together with this test binary.
///
/// `cargo build` uplifts the staticlib to `<target>/<profile>/libnpk_runtime.a`, but
/// `cargo test` does not (that file may be stale or absent): the fresh archive is
/// `<target>/<profile>/deps/libnpk_runtime-<hash>.a`, next to this test binary. Take the
/// newest one there.
pub fn static_lib() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    std::fs::read_dir(deps)
        .expect("read deps dir")
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("libnpk_runtime-") && name.ends_with(".a")
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
        .expect("libnpk_runtime-*.a next to the test binary")
}
