//! Linking: the object bytes from `codegen` plus the runtime static library
//! (`libnpk_runtime.a`) into an executable, through the system C compiler:
//! `cc -o OUT OBJ libnpk_runtime.a -lpthread -ldl -lm`, plus
//! `--gc-sections --strip-debug` and `-fuse-ld=gold` when available
//! (`NPK_LD` chooses the linker). [`find_runtime`] locates the library: the
//! `NPK_RUNTIME` environment variable, else next to the running `npkc`
//! (`cargo build --release` puts both in `target/release/`). `CC` overrides
//! the compiler. Only x86-64 Linux hosts are supported.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// The runtime library's file name.
pub const RUNTIME_LIB: &str = "libnpk_runtime.a";

/// Why linking failed.
#[derive(Debug)]
pub enum LinkError {
    /// The host is not x86-64 Linux.
    UnsupportedHost(String),
    /// No runtime library at any of these paths.
    NoRuntime { tried: Vec<PathBuf> },
    /// The C compiler could not be started.
    NoCompiler { program: String, error: String },
    /// Writing or removing a file failed.
    Io {
        what: &'static str,
        path: PathBuf,
        error: String,
    },
    /// The C compiler ran and failed.
    LinkerFailed { status: String, stderr: String },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::UnsupportedHost(h) => write!(
                f,
                "unsupported host `{h}`: npkc only builds executables on x86-64 Linux"
            ),
            LinkError::NoRuntime { tried } => {
                write!(f, "cannot find the runtime library {RUNTIME_LIB} (tried:")?;
                for p in tried {
                    write!(f, " {}", p.display())?;
                }
                write!(
                    f,
                    "); run `cargo build --release` to build it next to npkc, or set NPK_RUNTIME to its path"
                )
            }
            LinkError::NoCompiler { program, error } => write!(
                f,
                "cannot run the C compiler `{program}` to link: {error}; install a C toolchain (e.g. `apt-get install gcc`) or set CC"
            ),
            LinkError::Io { what, path, error } => {
                write!(f, "cannot {what} `{}`: {error}", path.display())
            }
            LinkError::LinkerFailed { status, stderr } => {
                write!(f, "linking failed ({status}): {}", stderr.trim_end())
            }
        }
    }
}

impl std::error::Error for LinkError {}

/// Locates `libnpk_runtime.a`: `$NPK_RUNTIME`, else the directory of the
/// running executable or its parent (test binaries live in `deps/`).
///
/// # Errors
/// [`LinkError::NoRuntime`] listing every path tried.
pub fn find_runtime() -> Result<PathBuf, LinkError> {
    let mut tried = Vec::new();
    if let Some(p) = std::env::var_os("NPK_RUNTIME") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        tried.push(p);
        return Err(LinkError::NoRuntime { tried });
    }
    if let Ok(exe) = std::env::current_exe() {
        let mut dir = exe.parent().map(Path::to_path_buf);
        for _ in 0..2 {
            let Some(d) = dir else { break };
            let candidate = d.join(RUNTIME_LIB);
            if candidate.is_file() {
                return Ok(candidate);
            }
            tried.push(candidate);
            dir = d.parent().map(Path::to_path_buf);
        }
    }
    Err(LinkError::NoRuntime { tried })
}

/// Writes `object` to a temporary file and links it with `runtime` into the
/// executable `out`.
///
/// # Errors
/// On a non-x86-64-Linux host, when the temporary file cannot be written,
/// the C compiler cannot be started, or it reports an error.
pub fn link(object: &[u8], out: &Path, runtime: &Path) -> Result<(), LinkError> {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return Err(LinkError::UnsupportedHost(format!(
            "{}-{}",
            std::env::consts::ARCH,
            std::env::consts::OS
        )));
    }
    let obj_path = temp_object_path();
    std::fs::write(&obj_path, object).map_err(|e| LinkError::Io {
        what: "write the object file",
        path: obj_path.clone(),
        error: e.to_string(),
    })?;
    let result = run_cc(&obj_path, out, runtime);
    let _ = std::fs::remove_file(&obj_path);
    result
}

fn run_cc(obj: &Path, out: &Path, runtime: &Path) -> Result<(), LinkError> {
    let program = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut cmd = Command::new(&program);
    cmd.arg("-o").arg(out).arg(obj).arg(runtime);
    // Drop unused sections and the runtime's debug info (symbols stay, for
    // backtraces and `perf`): writing the line tables of the Rust runtime
    // was most of the link time.
    cmd.args(["-Wl,--gc-sections", "-Wl,--strip-debug"]);
    if let Some(ld) = linker_choice() {
        cmd.arg(format!("-fuse-ld={ld}"));
    }
    let output = cmd
        .args(["-lpthread", "-ldl", "-lm"])
        .output()
        .map_err(|e| LinkError::NoCompiler {
            program: program.clone(),
            error: e.to_string(),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(LinkError::LinkerFailed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// The linker `cc` should use: `$NPK_LD` (e.g. `bfd`, `gold`, `lld`, `mold`;
/// empty for the compiler's default), else `gold` when `ld.gold` is on the
/// `PATH` (it links the runtime about twice as fast as GNU ld).
fn linker_choice() -> Option<String> {
    if let Some(ld) = std::env::var_os("NPK_LD") {
        let ld = ld.to_string_lossy().into_owned();
        return (!ld.is_empty()).then_some(ld);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .any(|dir| dir.join("ld.gold").is_file())
        .then(|| "gold".to_string())
}

/// A fresh path in the temp directory for the object file.
fn temp_object_path() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!("npkc-{}-{n}-{nanos}.o", std::process::id()))
}
