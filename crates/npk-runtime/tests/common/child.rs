//! Runs one test of this test binary again in a child process with extra environment, for
//! behaviour that depends on options read once per process, or that must crash.

use std::process::{Command, Output};

const CHILD_VAR: &str = "NPK_RUNTIME_TEST_CHILD";

/// True inside the child started by [`run`] for `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var(CHILD_VAR).is_ok_and(|v| v == name)
}

/// Runs test `name` (its full path in this binary) in a child with `envs` set and every
/// wildx option variable not listed cleared.
pub fn run(name: &str, envs: &[(&str, &str)]) -> Output {
    run_with_pid(name, envs).1
}

/// [`run`], also returning the child's process id (files it names after itself).
pub fn run_with_pid(name: &str, envs: &[(&str, &str)]) -> (u32, Output) {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, name);
    for var in [
        "NPK_WILDX_AUDIT",
        "NPK_WILDX_GUARD_PAGES",
        "NPK_WILDX_VERIFY",
        "NPK_WILDX_QUOTA",
        "NPK_JIT_STRICT",
        "NPK_WILDX_QUIET",
        "NPK_PERF_MAP",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("spawn child test");
    let pid = child.id();
    (pid, child.wait_with_output().expect("child test output"))
}
