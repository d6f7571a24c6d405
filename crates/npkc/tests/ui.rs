//! UI and end-to-end test harness: runs every `tests/ui/<topic>/<name>.npk`
//! of the workspace through the real `npkc` binary.
//!
//! Expectations live in the test source:
//! - first line `//@ check-pass`: `npkc check` succeeds with no diagnostics;
//! - `//@ run-pass` / `//@ run-fail`: build, run, compare `// expect: exit N`
//!   (default 0 for run-pass) or `// expect: signal SIGSEGV`, and the stdout
//!   against the `// expect-stdout: text` lines (when there are any), stderr
//!   against the `// expect-stderr: text` lines (`// expect: empty stderr`:
//!   none at all); `//@ run-env: NAME=VALUE` sets a variable for the run;
//!   `//@ valgrind`: the program is also run under valgrind (when installed),
//!   which must report no memory error and no heap block left at exit;
//! - otherwise `npkc check` must fail, and its diagnostics must match the
//!   `//~ ERROR CODE [message substring]` annotations in both directions
//!   (`//~^` one line up per `^`, `//~|` the previous annotation's line); the
//!   full human output must equal the adjacent `.stderr` file.
//!
//! `BLESS=1` rewrites `.stderr` files. Arguments filter tests by substring.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "common/runtime.rs"]
mod runtime;
use runtime::runtime_archive;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    CompileFail,
    CheckPass,
    RunPass,
    RunFail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ending {
    Exit(i32),
    Signal(i32),
}

#[derive(Debug, Clone)]
struct Annotation {
    line: usize,
    code: String,
    message: Option<String>,
}

#[derive(Debug, Clone)]
struct Spec {
    mode: Mode,
    annotations: Vec<Annotation>,
    ending: Option<Ending>,
    stdout: Option<String>,
    stderr: Option<String>,
    env: Vec<(String, String)>,
    valgrind: bool,
    flags: Vec<String>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

fn signal_number(name: &str) -> Option<i32> {
    Some(match name {
        "SIGILL" => 4,
        "SIGABRT" => 6,
        "SIGBUS" => 7,
        "SIGFPE" => 8,
        "SIGKILL" => 9,
        "SIGSEGV" => 11,
        _ => return None,
    })
}

fn parse_spec(text: &str) -> Result<Spec, String> {
    let first = text.lines().next().unwrap_or("").trim();
    let valgrind = text.lines().any(|l| l.trim() == "//@ valgrind");
    let mode = match first {
        "//@ check-pass" => Mode::CheckPass,
        "//@ run-pass" => Mode::RunPass,
        "//@ run-fail" => Mode::RunFail,
        _ => Mode::CompileFail,
    };
    let mut annotations: Vec<Annotation> = Vec::new();
    let mut ending = None;
    let mut stdout_lines: Vec<String> = Vec::new();
    let mut stderr_lines: Option<Vec<String>> = None;
    let mut env = Vec::new();
    let mut flags = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        if let Some(pos) = line.find("//~") {
            let rest = &line[pos + 3..];
            let (target, rest) = if let Some(r) = rest.strip_prefix('|') {
                let prev = annotations
                    .last()
                    .ok_or_else(|| format!("line {lineno}: `//~|` with no previous annotation"))?;
                (prev.line, r)
            } else {
                let ups = rest.chars().take_while(|&c| c == '^').count();
                let downs = rest.chars().take_while(|&c| c == 'v').count();
                if ups > 0 {
                    (lineno.saturating_sub(ups), &rest[ups..])
                } else {
                    (lineno + downs, &rest[downs..])
                }
            };
            let rest = rest.trim();
            let rest = rest
                .strip_prefix("ERROR")
                .ok_or_else(|| format!("line {lineno}: annotation must be `//~ ERROR CODE`"))?
                .trim();
            let mut parts = rest.splitn(2, char::is_whitespace);
            let code = parts.next().unwrap_or("").to_string();
            if code.is_empty() {
                return Err(format!("line {lineno}: annotation without a code"));
            }
            let message = parts
                .next()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty());
            annotations.push(Annotation {
                line: target,
                code,
                message,
            });
        }
        let trimmed = line.trim();
        if let Some(e) = trimmed.strip_prefix("// expect:") {
            let e = e.trim();
            if e == "empty stderr" {
                stderr_lines.get_or_insert_with(Vec::new);
            } else if let Some(n) = e.strip_prefix("exit") {
                let n: i32 = n
                    .trim()
                    .parse()
                    .map_err(|_| format!("line {lineno}: bad exit code"))?;
                ending = Some(Ending::Exit(n));
            } else if let Some(s) = e.strip_prefix("signal") {
                let n = signal_number(s.trim())
                    .ok_or_else(|| format!("line {lineno}: unknown signal"))?;
                ending = Some(Ending::Signal(n));
            } else {
                return Err(format!(
                    "line {lineno}: `// expect:` takes `exit N`, `signal NAME` or `empty stderr`"
                ));
            }
        }
        if let Some(s) = trimmed.strip_prefix("// expect-stdout:") {
            stdout_lines.push(s.strip_prefix(' ').unwrap_or(s).to_string());
        }
        if let Some(s) = trimmed.strip_prefix("// expect-stderr:") {
            stderr_lines
                .get_or_insert_with(Vec::new)
                .push(s.strip_prefix(' ').unwrap_or(s).to_string());
        }
        if let Some(v) = trimmed.strip_prefix("//@ run-env:") {
            let (name, value) = v
                .trim()
                .split_once('=')
                .ok_or_else(|| format!("line {lineno}: `//@ run-env:` takes NAME=VALUE"))?;
            env.push((name.to_string(), value.to_string()));
        }
        if let Some(f) = trimmed.strip_prefix("//@ compile-flags:") {
            flags.extend(f.split_whitespace().map(str::to_string));
        }
    }
    if mode == Mode::RunFail && ending.is_none() {
        return Err("run-fail test needs `// expect: exit N` or `// expect: signal NAME`".into());
    }
    if mode == Mode::CompileFail && annotations.is_empty() {
        return Err("a test that must fail to compile needs `//~ ERROR` annotations (or start with `//@ check-pass`)".into());
    }
    let stdout = (!stdout_lines.is_empty()).then(|| {
        let mut s = stdout_lines.join("\n");
        s.push('\n');
        s
    });
    let stderr = stderr_lines.map(|lines| {
        lines.iter().fold(String::new(), |mut s, l| {
            s.push_str(l);
            s.push('\n');
            s
        })
    });
    Ok(Spec {
        mode,
        annotations,
        ending,
        stdout,
        stderr,
        env,
        valgrind,
        flags,
    })
}

fn npkc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_npkc"));
    c.current_dir(workspace_root());
    if let Some(rt) = runtime_archive() {
        c.env("NPK_RUNTIME", rt);
    }
    c
}

/// Runs `cmd` with a time limit; `None` on timeout.
fn run_with_timeout(mut cmd: Command, limit: Duration) -> Result<Option<Output>, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => {
                return child
                    .wait_with_output()
                    .map(Some)
                    .map_err(|e| e.to_string());
            }
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[derive(serde::Deserialize)]
struct JsonLabel {
    line: usize,
}

#[derive(serde::Deserialize)]
struct JsonDiag {
    code: String,
    message: String,
    primary: JsonLabel,
}

fn check_diagnostics(rel: &str, spec: &Spec) -> Result<(), String> {
    let mut cmd = npkc();
    cmd.args(["check", "--error-format=json"])
        .args(&spec.flags)
        .arg(rel);
    let out = run_with_timeout(cmd, Duration::from_secs(30))?.ok_or("npkc check timed out")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut found: Vec<(usize, String, String)> = Vec::new();
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let d: JsonDiag = serde_json::from_str(line)
            .map_err(|e| format!("npkc printed a non-JSON line ({e}): {line}"))?;
        found.push((d.primary.line, d.code, d.message));
    }
    let code = out.status.code();
    if spec.mode == Mode::CheckPass {
        if code != Some(0) || !found.is_empty() {
            return Err(format!(
                "expected a clean check, got exit {code:?}:\n{stderr}"
            ));
        }
        return Ok(());
    }
    if code != Some(1) {
        return Err(format!(
            "expected exit 1 from npkc check, got {code:?}:\n{stderr}"
        ));
    }
    let mut unmatched: Vec<&Annotation> = Vec::new();
    for a in &spec.annotations {
        let pos = found.iter().position(|(line, code, msg)| {
            *line == a.line
                && *code == a.code
                && a.message.as_ref().is_none_or(|m| msg.contains(m.as_str()))
        });
        match pos {
            Some(i) => {
                found.remove(i);
            }
            None => unmatched.push(a),
        }
    }
    let mut report = String::new();
    for a in &unmatched {
        report.push_str(&format!(
            "expected but not reported: line {}: {} {}\n",
            a.line,
            a.code,
            a.message.as_deref().unwrap_or("")
        ));
    }
    for (line, code, msg) in &found {
        report.push_str(&format!(
            "reported but not annotated: line {line}: {code} {msg}\n"
        ));
    }
    if !report.is_empty() {
        return Err(report);
    }
    compare_stderr(rel, spec)
}

/// Compares the human-readable output with the adjacent `.stderr` file.
fn compare_stderr(rel: &str, spec: &Spec) -> Result<(), String> {
    let mut cmd = npkc();
    cmd.args(["check", "--color=never"])
        .args(&spec.flags)
        .arg(rel);
    let out = run_with_timeout(cmd, Duration::from_secs(30))?.ok_or("npkc check timed out")?;
    let actual = String::from_utf8_lossy(&out.stderr).replace('\\', "/");
    let path = workspace_root().join(rel).with_extension("stderr");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, actual.as_bytes()).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(&path).map_err(|_| {
        format!(
            "missing {} (run with BLESS=1 to create it); output was:\n{actual}",
            path.display()
        )
    })?;
    if expected != actual {
        return Err(format!(
            "output differs from {} (BLESS=1 to update)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        ));
    }
    Ok(())
}

fn build_and_run(rel: &str, spec: &Spec, scratch: &Path) -> Result<(), String> {
    let exe = scratch.join(rel.replace(['/', '.'], "_"));
    let mut cmd = npkc();
    cmd.args(["build"])
        .args(&spec.flags)
        .arg(rel)
        .arg("-o")
        .arg(&exe);
    let out = run_with_timeout(cmd, Duration::from_secs(60))?.ok_or("npkc build timed out")?;
    if !out.status.success() {
        return Err(format!(
            "npkc build failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut cmd = Command::new(&exe);
    cmd.current_dir(workspace_root())
        .envs(spec.env.iter().map(|(k, v)| (k, v)));
    let out = run_with_timeout(cmd, Duration::from_secs(30))?
        .ok_or_else(|| "the program timed out (30 s)".to_string());
    let checked = out.and_then(|out| {
        if spec.valgrind {
            under_valgrind(&exe, spec)?;
        }
        Ok(out)
    });
    let _ = std::fs::remove_file(&exe);
    let out = checked?;
    use std::os::unix::process::ExitStatusExt;
    let actual = match (out.status.code(), out.status.signal()) {
        (Some(c), _) => Ending::Exit(c),
        (None, Some(s)) => Ending::Signal(s),
        (None, None) => return Err("the program ended without status".into()),
    };
    let expected = spec.ending.clone().unwrap_or(Ending::Exit(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if actual != expected {
        return Err(format!(
            "expected {expected:?}, got {actual:?}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        ));
    }
    if spec.mode == Mode::RunFail && expected == Ending::Exit(0) {
        return Err("a run-fail test cannot expect exit 0".into());
    }
    if let Some(want) = &spec.stdout
        && *want != stdout
    {
        return Err(format!(
            "stdout differs\n--- expected\n{want}--- actual\n{stdout}--- stderr\n{stderr}"
        ));
    }
    if let Some(want) = &spec.stderr
        && *want != stderr
    {
        return Err(format!(
            "stderr differs\n--- expected\n{want}--- actual\n{stderr}"
        ));
    }
    Ok(())
}

/// Where valgrind is installed, if it is.
const VALGRIND: &str = "/usr/bin/valgrind";

/// Runs `exe` under valgrind's memcheck: any invalid access, and any heap block
/// still allocated at exit (of any leak kind), fails the test. Skipped (with a
/// note) when valgrind is not installed.
fn under_valgrind(exe: &Path, spec: &Spec) -> Result<(), String> {
    if !Path::new(VALGRIND).exists() {
        eprintln!("note: {VALGRIND} not installed; skipping the valgrind run");
        return Ok(());
    }
    let mut cmd = Command::new(VALGRIND);
    cmd.args([
        "-q",
        "--leak-check=full",
        "--show-leak-kinds=all",
        "--errors-for-leak-kinds=all",
        "--error-exitcode=99",
    ])
    .arg(exe)
    .current_dir(workspace_root())
    .envs(spec.env.iter().map(|(k, v)| (k, v)));
    let out = run_with_timeout(cmd, Duration::from_secs(180))?
        .ok_or("the program timed out under valgrind (180 s)")?;
    if out.status.code() == Some(99) {
        return Err(format!(
            "valgrind reported errors:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn run_test(rel: &str, scratch: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(workspace_root().join(rel)).map_err(|e| e.to_string())?;
    let spec = parse_spec(&text)?;
    match spec.mode {
        Mode::CompileFail | Mode::CheckPass => check_diagnostics(rel, &spec),
        Mode::RunPass | Mode::RunFail => build_and_run(rel, &spec, scratch),
    }
}

fn collect(dir: &Path, root: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, root, out);
        } else if p.extension().is_some_and(|x| x == "npk")
            && let Ok(rel) = p.strip_prefix(root)
        {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn main() -> ExitCode {
    let root = workspace_root();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut tests = Vec::new();
    collect(&root.join("tests/ui"), &root, &mut tests);
    tests.sort();
    tests.retain(|t| filters.is_empty() || filters.iter().any(|f| t.contains(f.as_str())));
    let scratch = std::env::temp_dir().join(format!("npkc-ui-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        eprintln!("cannot create {}: {e}", scratch.display());
        return ExitCode::FAILURE;
    }
    println!("\nrunning {} tests", tests.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<BTreeMap<String, Result<(), String>>> = Mutex::new(BTreeMap::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .min(4);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(t) = tests.get(i) else { break };
                    let r = run_test(t, &scratch);
                    println!("test {t} ... {}", if r.is_ok() { "ok" } else { "FAILED" });
                    results
                        .lock()
                        .expect("no worker panics")
                        .insert(t.clone(), r);
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let results = results.into_inner().expect("no worker panics");
    let failed: Vec<_> = results
        .iter()
        .filter_map(|(t, r)| r.as_ref().err().map(|e| (t, e)))
        .collect();
    if !failed.is_empty() {
        println!("\nfailures:\n");
        for (t, e) in &failed {
            println!("---- {t} ----\n{e}\n");
        }
    }
    let passed = results.len() - failed.len();
    println!(
        "\ntest result: {}. {passed} passed; {} failed; 0 ignored; 0 measured; 0 filtered out\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
