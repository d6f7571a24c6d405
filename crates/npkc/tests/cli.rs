//! The `npkc` command line as users call it: exit statuses, `--explain`,
//! `--error-format=json`, `jit-check`, usage errors, options before the
//! subcommand, and running the examples.

#[path = "common/runtime.rs"]
mod runtime;

use std::path::PathBuf;
use std::process::{Command, Output};

fn npkc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npkc"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("npkc starts")
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn jit_check_accepts_proven_bytes_with_a_summary() {
    let out = npkc(&[
        "jit-check",
        "--sig",
        "int64(int64,int64)",
        "48",
        "8d",
        "04",
        "37",
        "c3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("accepted as int64(int64,int64)"));
}

#[test]
fn jit_check_prints_the_bound_on_a_call_s_instructions() {
    // Sums an 8-element buffer: xor eax,eax; xor ecx,ecx;
    // 1: add rax,[rdi+rcx*8]; inc rcx; cmp rcx,8; jl 1b; ret
    let hex = "31 c0 31 c9 48 03 04 cf 48 ff c1 48 83 f9 08 7c f3 c3";
    let mut args = vec!["jit-check", "--sig", "int64(int64* xs[8])"];
    args.extend(hex.split(' '));
    let out = npkc(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let bound: u64 = stdout
        .split("at most ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no bound in {stdout:?}"));
    // Two instructions before the loop, four per iteration for eight
    // iterations, and the `ret`: the bound may be larger, never smaller.
    let executed = 2 + 4 * 8 + 1;
    assert!(bound >= executed, "{stdout}");
    assert!(bound < 1000, "{stdout}");
}

#[test]
fn jit_check_prints_a_buffer_signature_in_canonical_form() {
    // mov rax, rsi; ret: returns the extent, never reads the buffer.
    let out = npkc(&[
        "jit-check",
        "--sig",
        "int64(mut uint8 *bytes[len], int64 len, int32 c)",
        "48 89 f0 c3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("accepted as int64(mut uint8*[#1],int64,int32): 4 bytes"),
        "{}",
        text(&out.stdout)
    );
    let constant = npkc(&["jit-check", "--sig", "int32(int16* xs[8])", "31 c0 c3"]);
    assert_eq!(
        constant.status.code(),
        Some(0),
        "{}",
        text(&constant.stderr)
    );
    assert!(
        text(&constant.stdout).starts_with("accepted as int32(int16*[8]):"),
        "{}",
        text(&constant.stdout)
    );
    let bad = npkc(&["jit-check", "--sig", "int64(int64* xs[m], int64 n)", "c3"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("extent `m` is not a parameter name"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn jit_check_disasm_prints_the_proven_listing() {
    let out = npkc(&[
        "jit-check",
        "--sig",
        "int64(int64,int64)",
        "--disasm",
        "48 8d 04 37 48 01 f0 c3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let listing: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(
        listing,
        [
            "   0:  48 8d 04 37  lea rax, [rdi+rsi]",
            "   4:  48 01 f0     add rax, rsi",
            "   7:  c3           ret",
        ],
        "{stdout}"
    );
}

#[test]
fn jit_check_rejects_with_offset_instruction_and_rule() {
    let out = npkc(&["jit-check", "--sig", "int64(int64)", "90 0f05 c3"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("offset 0x1") && err.contains("syscall"),
        "{err}"
    );
}

#[test]
fn jit_check_bad_input_is_a_usage_error() {
    assert_eq!(
        npkc(&["jit-check", "--sig", "int64(", "c3"]).status.code(),
        Some(2)
    );
    assert_eq!(
        npkc(&["jit-check", "--sig", "int64()", "zz"]).status.code(),
        Some(2)
    );
}

#[test]
fn jit_check_reads_a_64k_function_from_stdin() {
    use std::io::Write;
    use std::process::Stdio;
    // mov eax, edi; then 16-byte nops up to 64 KiB; ret.
    let mut code = vec![0x89, 0xf8];
    while code.len() + 16 < 65536 {
        code.extend([
            0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0x90,
        ]);
    }
    code.push(0xc3);
    let mut child = Command::new(env!("CARGO_BIN_EXE_npkc"))
        .args(["jit-check", "--sig", "int32(int32)", "--file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("npkc starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&code)
        .expect("write code");
    let out = child.wait_with_output().expect("npkc ends");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("{} bytes", code.len())),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn explain_knows_every_ownership_code_and_refuses_unknown_ones() {
    for code in [
        "ARIA-014", "ARIA-015", "ARIA-022", "NPK-401", "NPK-111", "NPK-290",
    ] {
        let out = npkc(&["--explain", code]);
        assert_eq!(out.status.code(), Some(0), "{code}");
        assert!(
            text(&out.stdout).len() > 100,
            "{code} has a long explanation"
        );
    }
    let out = npkc(&["--explain", "ARIA-999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("known codes"));
}

#[test]
fn check_exit_status_and_json_diagnostics() {
    let out = npkc(&[
        "check",
        "tests/ui/ownership/double-free.npk",
        "--error-format=json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let line = text(&out.stderr);
    let first = line.lines().next().expect("one diagnostic");
    let v: serde_json::Value = serde_json::from_str(first).expect("json");
    assert_eq!(v["code"], "ARIA-022");
    assert!(v["primary"]["line"].as_u64().is_some_and(|l| l > 0));
    let ok = npkc(&["check", "examples/jit_add.npk"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(ok.stderr.is_empty());
}

#[test]
fn usage_errors_exit_2_and_missing_files_exit_1() {
    assert_eq!(npkc(&[]).status.code(), Some(2));
    assert_eq!(npkc(&["--no-such-flag"]).status.code(), Some(2));
    let out = npkc(&["check", "does/not/exist.npk"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read"));
}

#[test]
fn every_example_checks_clean() {
    let dir = workspace().join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/ exists").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "npk") {
            let rel = format!("examples/{}", entry.file_name().to_string_lossy());
            let out = npkc(&["check", &rel]);
            assert_eq!(out.status.code(), Some(0), "{rel}:\n{}", text(&out.stderr));
            seen += 1;
        }
    }
    assert!(seen >= 2, "examples found: {seen}");
}

/// A scratch directory with `lib/greet.npk` and a `main.npk` that `use`s it
/// only through `-I lib`.
fn project_with_include_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("npkc-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("lib")).expect("scratch dir");
    std::fs::write(
        dir.join("lib/greet.npk"),
        "Type:Greet = { func:answer = int32() { pass 42; }; };\n",
    )
    .expect("write lib");
    std::fs::write(
        dir.join("main.npk"),
        "use \"greet.npk\".*;\nfunc:failsafe = int32(tbb32:err) { exit 1; };\nfunc:main = int32() {\n    int32:x = Greet.answer() ? 0;\n    int8:bad = 0x90i8;\n    exit x;\n};\n",
    )
    .expect("write main");
    dir
}

#[test]
fn shared_options_work_before_the_subcommand() {
    let dir = project_with_include_dir("before");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_npkc"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("npkc starts")
    };
    // Without -I the module is not found; with it (before or after `check`) it is,
    // and the one real error (the literal) is reported.
    let without = text(&run(&["check", "main.npk"]).stderr);
    assert!(without.contains("greet.npk"), "{without}");
    for args in [
        &["-I", "lib", "check", "main.npk"][..],
        &["check", "-I", "lib", "main.npk"][..],
        &["-I", "lib", "--color", "never", "check", "main.npk"][..],
        &["--color=never", "-I", "lib", "check", "main.npk"][..],
    ] {
        let out = run(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("error[NPK-303]"), "{args:?}: {err}");
        assert!(!err.contains('\u{1b}'), "{args:?}: no colour: {err}");
    }
    let json = run(&["--error-format=json", "-I", "lib", "check", "main.npk"]);
    assert_eq!(json.status.code(), Some(1));
    let first = text(&json.stderr);
    let v: serde_json::Value =
        serde_json::from_str(first.lines().next().expect("one line")).expect("json");
    assert_eq!(v["code"], "NPK-303");
    let coloured = text(&run(&["--color", "always", "-I", "lib", "check", "main.npk"]).stderr);
    assert!(coloured.contains('\u{1b}'), "{coloured}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn build_only_options_before_a_subcommand_are_a_usage_error() {
    let out = npkc(&["-o", "x", "check", "examples/jit_add.npk"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("`-o OUT` given before the subcommand `check`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bit_pattern_literal_suggests_a_wrapping_cast() {
    let dir = project_with_include_dir("literal");
    let out = Command::new(env!("CARGO_BIN_EXE_npkc"))
        .args(["check", "-I", "lib", "main.npk"])
        .current_dir(&dir)
        .output()
        .expect("npkc starts");
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "help: to use the bit pattern, write `0x90u8 => int8` (a wrapping cast, the value -112)"
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `npkc run FILE` with `envs` for the program, linked with the test's runtime.
fn npkc_run(file: &str, envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_npkc"));
    cmd.args(["run", file]).current_dir(workspace());
    if let Some(rt) = runtime::runtime_archive() {
        cmd.env("NPK_RUNTIME", rt);
    }
    cmd.env(
        "XDG_CACHE_HOME",
        std::env::temp_dir().join("npkc-cli-cache"),
    );
    cmd.envs(envs.iter().copied())
        .output()
        .expect("npkc starts")
}

#[test]
fn expr_jit_example_agrees_with_its_tree_walker() {
    let out = npkc_run("examples/expr_jit.npk", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // Timings vary; everything else is fixed.
    let fixed: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("  time: "))
        .collect();
    assert_eq!(
        fixed,
        [
            "f(x) = (x + 3) * (x - 2) * 7 - x * x * 2 + 11",
            "  nodes: 17, f(3) = 35",
            "  tree walk and JIT agree on 2002000 inputs",
            "f(x) = -(x*x*x) + 5*(x - (x*2 - 9)) * -3",
            "  nodes: 19, f(3) = -117",
            "  tree walk and JIT agree on 2002000 inputs",
            "f(x) = 1 + 2 * (3 + 4 * (5 + 6 * (7 + 8 * x)))",
            "  nodes: 17, f(3) = 1535",
            "  tree walk and JIT agree on 2002000 inputs",
            "f(x) = 2 * (x + ",
            "  syntax error at byte 9",
            "a broken expression is refused: true",
        ]
    );
    assert_eq!(stdout.matches("speedup ").count(), 3, "{stdout}");
}

#[test]
fn byte_filter_example_agrees_with_its_interpreter_on_every_packet() {
    let out = npkc_run("examples/byte_filter.npk", &[("NPK_WILDX_QUIET", "1")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // Timings vary, and the validator's wording of the refusal may grow; the rest is fixed.
    let (checks, refusal) = stdout.trim_end().rsplit_once('\n').expect("several lines");
    let fixed: Vec<&str> = checks
        .lines()
        .filter(|l| !l.starts_with("  time: "))
        .collect();
    let agree = "  interpreter and JIT agree on all 200000 packets";
    assert_eq!(
        fixed,
        [
            "filter: len >= 20 and byte[0] & 0xf0 == 0x40 and byte[9] == 6",
            "  nodes: 5, accepts 35137 of 200000 packets",
            agree,
            "filter: byte[9] == 17 and (byte[20..21] == 53 or byte[22..23] == 53)",
            "  nodes: 5, accepts 2703 of 200000 packets",
            agree,
            "filter: not (count(0x0a) >= 3 or byte[0] == 0x23) and count(0) < 2",
            "  nodes: 6, accepts 48552 of 200000 packets",
            agree,
            "filter: byte[2..3] & 0xf0 == 0x40 or len < 4 or byte[4..7] > 0x7f000000",
            "  nodes: 5, accepts 87051 of 200000 packets",
            agree,
            "edge cases, checked but not timed:",
            "filter: len & 1 == 1 and len != 0 and len <= 33",
            "  accepts 52507 of 200000 packets; interpreter and JIT agree",
            "filter: byte[63] >= 0",
            "  accepts 2980 of 200000 packets; interpreter and JIT agree",
            "filter: not byte[64] == 0",
            "  accepts 200000 of 200000 packets; interpreter and JIT agree",
            "filter: not not byte[0] != 0x45",
            "  accepts 49292 of 200000 packets; interpreter and JIT agree",
            "filter: byte[0..2] & 0xff00ff == 0x450006",
            "  accepts 460 of 200000 packets; interpreter and JIT agree",
            "filter: byte[1..4] > 0x7fffffff or count(256) != 0",
            "  accepts 71885 of 200000 packets; interpreter and JIT agree",
            "filter: count(0x45) > 1 and count(10) & 1 == 0",
            "  accepts 6564 of 200000 packets; interpreter and JIT agree",
            "filter: ((len > 10) or (byte[5] < 128)) and not (byte[6] == 0 or byte[7] == 10)",
            "  accepts 138591 of 200000 packets; interpreter and JIT agree",
            "filter: len >= 0x7fffffff or byte[65535] == 0",
            "  accepts 0 of 200000 packets; interpreter and JIT agree",
            "broken filters are refused:",
            "filter: byte[3] == and len > 2",
            "  syntax error at byte 11: expected a number (decimal or 0x hex, at most 0x7fffffff)",
            "filter: lenx > 1",
            "  syntax error at byte 0: expected a test (`len`, `byte[K]`, `count(V)`), `not` or `(`",
            "filter: byte[5..1] == 0",
            "  syntax error at byte 9: a byte range is 1 to 4 bytes at offsets up to 65535",
            "filter: len > 1 xor len < 2",
            "  syntax error at byte 8: expected `and`, `or` or the end of the filter",
            "all four refused: true",
        ]
    );
    assert_eq!(stdout.matches("speedup ").count(), 4, "{stdout}");
    assert!(
        refusal.starts_with(
            "byte[9] == 6 without its length check is refused (code 2): \
             line 1: `movzx eax, byte ptr [rdi+9]`: 1-byte load from buffer parameter 0 \
             is not proven in bounds"
        ),
        "{refusal}"
    );
    assert_eq!(text(&out.stderr), "", "NPK_WILDX_QUIET=1: no runtime lines");
}

#[test]
fn jit_gc_root_example_returns_the_moved_address_only_through_a_root() {
    let out = npkc_run("examples/jit_gc_root.npk", &[("NPK_WILDX_QUIET", "1")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // Addresses vary from run to run; the lines about them are fixed.
    let address = |l: &str| l.rsplit_once(": ").and_then(|(_, n)| n.parse::<i64>().ok());
    let addresses: Vec<i64> = stdout
        .lines()
        .filter(|l| l.starts_with("  address "))
        .filter_map(address)
        .collect();
    let fixed: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("  address "))
        .collect();
    assert_eq!(
        fixed,
        [
            "rooted:",
            "  moved: true, the slot and xs agree: true",
            "  old address is an object: 0, new one: 1",
            "  contents: 10 20 30",
            "not rooted:",
            "  unchanged: true, still an object: 0",
        ],
        "{stdout}"
    );
    let [before, after, loose_before, loose_after] = addresses[..] else {
        panic!("four addresses expected:\n{stdout}");
    };
    assert!(before > 0 && loose_before > 0, "{stdout}");
    assert_ne!(before, after, "the rooted object moved:\n{stdout}");
    assert_eq!(
        loose_before, loose_after,
        "an unrooted slot is left alone:\n{stdout}"
    );
}

#[test]
fn code_cache_example_calls_functions_from_arenas_and_refuses_a_released_one() {
    let out = npkc_run("examples/code_cache.npk", &[("NPK_WILDX_QUOTA", "65536")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "generation 0: 64 functions, sum of f(10) = 3936\n\
         generation 1: 64 functions, sum of f(10) = 10336\n\
         generation 2: 64 functions, sum of f(10) = 16736\n\
         a call into a released arena is refused: error true, code 4\n"
    );
    assert!(
        text(&out.stderr).contains("rejected: page was freed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn jit_compile_example_says_why_an_allocation_was_refused() {
    let out = npkc_run("examples/jit_compile.npk", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "2 + 2*20 = 42\n");
    let out = npkc_run(
        "examples/jit_compile.npk",
        &[("NPK_WILDX_QUOTA", "0"), ("NPK_WILDX_QUIET", "1")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stdout),
        "refused (code 1): allocation of 5 bytes failed: quota exceeded (4096 bytes requested, 0 mapped, quota 0)\n"
    );
    assert_eq!(
        text(&out.stderr),
        "",
        "NPK_WILDX_QUIET=1 leaves stderr to the program"
    );
}

/// Builds `file` into the scratch directory with the test's runtime.
fn build(file: &str, name: &str) -> PathBuf {
    let exe = std::env::temp_dir().join(format!("npkc-cli-{name}-{}", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_npkc"));
    cmd.args(["build", file, "-o"])
        .arg(&exe)
        .current_dir(workspace());
    if let Some(rt) = runtime::runtime_archive() {
        cmd.env("NPK_RUNTIME", rt);
    }
    let out = cmd.output().expect("npkc starts");
    assert!(out.status.success(), "{}", text(&out.stderr));
    exe
}

/// Runs `exe` with `NPK_PERF_MAP=1`: its output and the `START SIZE name` lines of the map
/// file it wrote (the file is removed), each split into its fields.
fn run_with_perf_map(exe: &std::path::Path) -> (Output, Vec<Vec<String>>) {
    let child = Command::new(exe)
        .env("NPK_PERF_MAP", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("program starts");
    let pid = child.id();
    let out = child.wait_with_output().expect("program runs");
    let path = format!("/tmp/perf-{pid}.map");
    let map = std::fs::read_to_string(&path).expect("the program wrote its perf map");
    let _ = std::fs::remove_file(&path);
    let lines: Vec<Vec<String>> = map
        .lines()
        .map(|l| l.split(' ').map(str::to_string).collect())
        .collect();
    for l in &lines {
        assert_eq!(l.len(), 3, "{map}");
        assert!(
            u64::from_str_radix(&l[0], 16).is_ok_and(|a| a > 0 && a % 4096 == 0),
            "{map}"
        );
    }
    (out, lines)
}

#[test]
fn sealed_jit_pages_are_listed_in_the_perf_map_by_name() {
    let exe = build("tests/ui/run/jit_perf_map.npk", "perf-map");
    let (out, lines) = run_with_perf_map(&exe);
    let _ = std::fs::remove_file(&exe);
    assert!(out.status.success());
    // START SIZE name, hex without 0x: the add page (5 bytes, generated name), then
    // the countdown page (15 bytes), renamed after its seal.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0][1..], ["5", "npk_jit_1"], "{lines:?}");
    assert_eq!(lines[1][1..], ["f", "countdown"], "{lines:?}");
}

#[test]
fn assembled_buffer_sum_is_in_the_perf_map_as_sum_i64() {
    // Issue 13's "Done when" program: Asm-assembled loop, Jit.call on an array, disasm, name.
    let exe = build("tests/ui/run/jit_sum_i64_seen_by_name.npk", "sum-i64-map");
    let (out, lines) = run_with_perf_map(&exe);
    let _ = std::fs::remove_file(&exe);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  17:  c3           ret\nnamed: sum_i64\n"),
        "{stdout}"
    );
    assert!(stdout.contains("sum of 1..1000 = 500500\n"), "{stdout}");
    // One page of 0x18 = 24 bytes, renamed from its generated name after the seal.
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0][1..], ["18", "sum_i64"], "{lines:?}");
}

/// `perf record` + `perf report` of a JIT program, where perf is installed and may
/// profile this user's processes; `None` when it cannot run here.
fn perf_report(exe: &std::path::Path) -> Option<String> {
    let perf = std::path::Path::new("/usr/bin/perf");
    if !perf.exists() {
        eprintln!("note: perf is not installed; skipping");
        return None;
    }
    let data = exe.with_extension("perf.data");
    let record = Command::new(perf)
        .args(["record", "-q", "-e", "cpu-clock", "-o"])
        .arg(&data)
        .arg("--")
        .arg(exe)
        .env("NPK_PERF_MAP", "1")
        .output()
        .ok()?;
    if !record.status.success() {
        eprintln!(
            "note: perf record cannot run here; skipping: {}",
            text(&record.stderr)
        );
        return None;
    }
    let report = Command::new(perf)
        .args(["report", "--stdio", "--sort", "dso,sym", "-i"])
        .arg(&data)
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&data);
    Some(text(&report.stdout))
}

/// Builds `file`, profiles it where perf works, and asserts the report has a `[JIT]` line
/// for the function `name` (`[JIT] tid N  [.] name`); removes the map file after.
fn assert_perf_report_names(file: &str, name: &str) {
    let exe = build(file, &format!("perf-report-{name}"));
    let report = perf_report(&exe);
    let _ = std::fs::remove_file(&exe);
    let Some(report) = report else {
        return;
    };
    let line = report
        .lines()
        .find(|l| l.contains("[JIT]") && l.trim_end().ends_with(name));
    assert!(line.is_some(), "{report}");
    // The map file is named after that tid (the main thread's, which is the pid).
    if let Some(tid) = line
        .and_then(|l| l.split("tid ").nth(1))
        .and_then(|r| r.split_whitespace().next())
    {
        let _ = std::fs::remove_file(format!("/tmp/perf-{tid}.map"));
    }
}

#[test]
fn perf_report_shows_the_jit_function_by_name() {
    assert_perf_report_names("tests/ui/run/jit_perf_map.npk", "countdown");
}

#[test]
fn perf_report_shows_the_assembled_sum_as_sum_i64() {
    assert_perf_report_names("tests/ui/run/jit_sum_i64_seen_by_name.npk", "sum_i64");
}

#[test]
fn jit_buffers_example_sums_a_real_array_and_refuses_the_off_by_one_loop() {
    let out = npkc_run("examples/jit_buffers.npk", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "proven for int64(int64* xs[n], int64 n): sum of the first 1000 squares = 332833500",
            "an empty buffer (n = 0) sums to 0",
        ]
    );
    // The refusal names the access, the offset and the bound.
    let refused = lines.get(2).copied().unwrap_or_default();
    for needle in [
        "the loop with <= is refused: line 5: `add rax, [rdi+rcx*8]`",
        "8-byte load from buffer parameter 0 is not proven in bounds",
        "its byte offset is in",
        "offset + 8 <= 8*p1",
    ] {
        assert!(refused.contains(needle), "missing `{needle}` in: {refused}");
    }
}
