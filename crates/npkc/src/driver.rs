//! The driver: runs the compiler pipeline for the command line.
//!
//! `check_file` loads, parses, resolves, type-checks and ownership-checks one
//! root file and returns every problem found; `build_file` continues with code
//! generation and linking. The pipeline stops after the first phase that
//! reports errors, so one fault never cascades into follow-on reports.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Problems};
use crate::hir;
use crate::modules;
use crate::ownership;
use crate::source::SourceMap;
use crate::types;

/// Options shared by every command.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Extra module search directories (`-I DIR`), in order.
    pub include_dirs: Vec<PathBuf>,
}

/// What checking one root file produced.
#[derive(Debug)]
pub struct Checked {
    pub sources: SourceMap,
    /// Errors and warnings, sorted by location.
    pub problems: Problems,
    /// The checked program, when there were no errors.
    pub program: Option<hir::Program>,
}

/// A failure that is not a diagnostic in a source file.
#[derive(Debug)]
pub enum DriverError {
    /// The root file could not be read.
    Root(modules::RootError),
    /// Code generation, linking or running failed.
    Backend(String),
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverError::Root(e) => e.fmt(f),
            DriverError::Backend(msg) => f.write_str(msg),
        }
    }
}

/// Runs every static check on `path` (no code generation).
///
/// # Errors
/// When `path` cannot be read.
pub fn check_file(path: &Path, options: &Options) -> Result<Checked, DriverError> {
    let mut sources = SourceMap::new();
    let mut problems = Problems::new();
    let loaded = modules::load(path, &options.include_dirs, &mut sources, &mut problems)
        .map_err(DriverError::Root)?;
    let program = if problems.has_errors() {
        None
    } else {
        run_semantic_passes(&loaded, &mut problems)
    };
    problems.sort();
    Ok(Checked {
        sources,
        problems,
        program,
    })
}

/// Type checking and ownership checking, stopping at the first failing phase.
fn run_semantic_passes(loaded: &modules::Loaded, problems: &mut Problems) -> Option<hir::Program> {
    let mut program = types::check(loaded, problems)?;
    if problems.has_errors() {
        return None;
    }
    let summaries = ownership::check(&program, problems);
    if problems.has_errors() {
        return None;
    }
    crate::drop_lower::lower(&mut program, &summaries);
    Some(program)
}

/// All problems of a check, errors first then warnings.
#[must_use]
pub fn all_problems(problems: &Problems) -> Vec<Diagnostic> {
    let mut all = problems.errors.clone();
    all.extend(problems.warnings.iter().cloned());
    all
}

/// Generates code for `program` and links it into the executable `out`.
///
/// # Errors
/// When code generation, the linker or the runtime library fails.
pub fn build_program(program: &hir::Program, out: &Path) -> Result<(), DriverError> {
    let object =
        crate::codegen::compile(program).map_err(|e| DriverError::Backend(e.to_string()))?;
    let runtime = crate::link::find_runtime().map_err(|e| DriverError::Backend(e.to_string()))?;
    crate::link::link(&object, out, &runtime).map_err(|e| DriverError::Backend(e.to_string()))
}

/// Where `npkc run` puts the executable built from `source`: a per-user cache
/// directory (`$XDG_CACHE_HOME/npkc` or `~/.cache/npkc`, else the temp dir),
/// one file per source path.
fn run_cache_path(source: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("npkc");
    let canonical = source
        .canonicalize()
        .unwrap_or_else(|_| source.to_path_buf());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    canonical.hash(&mut hasher);
    let stem = source
        .file_stem()
        .map_or_else(|| "prog".into(), |s| s.to_string_lossy().into_owned());
    base.join(format!("{stem}-{:016x}", hasher.finish()))
}

/// Builds `program` (from `source`) into the run cache and runs it with
/// `args`, returning its exit status; a program killed by signal `n` yields
/// `128 + n`, as shells report it.
///
/// # Errors
/// When building fails or the executable cannot be started.
pub fn build_and_run(
    program: &hir::Program,
    source: &Path,
    args: &[String],
) -> Result<u8, DriverError> {
    let exe = run_cache_path(source);
    if let Some(dir) = exe.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            DriverError::Backend(format!(
                "cannot create cache directory `{}`: {e}",
                dir.display()
            ))
        })?;
    }
    build_program(program, &exe)?;
    let status = std::process::Command::new(&exe)
        .args(args)
        .status()
        .map_err(|e| DriverError::Backend(format!("cannot run `{}`: {e}", exe.display())))?;
    if let Some(code) = status.code() {
        return Ok(u8::try_from(code & 0xff).unwrap_or(1));
    }
    use std::os::unix::process::ExitStatusExt;
    let signal = status.signal().unwrap_or(0);
    eprintln!(
        "npkc: the program was killed by signal {signal}{}",
        signal_name(signal)
    );
    Ok(u8::try_from((128 + signal) & 0xff).unwrap_or(1))
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        4 => " (SIGILL)",
        6 => " (SIGABRT)",
        7 => " (SIGBUS)",
        8 => " (SIGFPE)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        _ => "",
    }
}
