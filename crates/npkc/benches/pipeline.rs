//! `cargo bench -p npkc`: the compiler's speed targets, measured side by side
//! in one run and printed as ratios (never asserted: this machine is shared).
//!
//! 1. `npkc check` throughput on a generated ≥ 50,000-line program (target
//!    ≥ 200,000 lines/s), and on ONE generated 100,000-line function with
//!    thousands of owned locals and branches (target ≥ 100,000 lines/s),
//!    beside the same at 25,000 lines (equal rates: linear time).
//! 2. `npkc build` latency of a 50-line program, link included (target
//!    ≤ 150 ms median).
//! 3. Call path: 100 million `Jit.call_i32_i32` calls from Nitpick vs the same
//!    loop in C through a function pointer (target ≤ 1.5×).
//! 4. Generated code: a sieve and a loop-nest checksum in Nitpick vs C `-O2`
//!    (target ≤ 2×).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn npkc() -> &'static str {
    env!("CARGO_BIN_EXE_npkc")
}

/// The runtime archive built with this bench (`npk-runtime` is a
/// dev-dependency): the newest `deps/libnpk_runtime-*.a` next to it, else the
/// one next to `npkc`.
fn runtime_archive() -> PathBuf {
    let beside_npkc = Path::new(npkc()).with_file_name("libnpk_runtime.a");
    let Some(deps) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    else {
        return beside_npkc;
    };
    std::fs::read_dir(deps)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("libnpk_runtime-") && name.ends_with(".a")
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map_or(beside_npkc, |e| e.path())
}

/// `npkc` with the runtime archive of this build.
fn npkc_cmd() -> Command {
    let mut c = Command::new(npkc());
    c.env("NPK_RUNTIME", runtime_archive());
    c
}

/// One generated function: allocations, branches, loops, all released.
fn generated_function(out: &mut String, k: usize) {
    let _ = write!(
        out,
        "func:work_{k} = int32(int32:n) {{
    wild int8->:buf = alloc(64);
    if (buf == NULL) {{
        fail 1;
    }}
    int32:acc = {k};
    for (int32:i = 0; i < n; i += 1) {{
        if (i % 3 == 0) {{
            acc += i;
        }} else if (i % 3 == 1) {{
            acc ^= 5;
        }} else {{
            acc -= 1;
        }}
        buf[0] = 7;
    }}
    wildx int8->:page = wildx_alloc(16);
    if (page != NULL) {{
        wildx_seal(page);
        wildx_free(page);
    }}
    while (acc > 100) {{
        acc = acc / 2;
    }}
    free(buf);
    pass acc;
}};

"
    );
}

fn generated_program(min_lines: usize) -> String {
    let mut s = String::from("func:failsafe = int32(tbb32:err) {\n    exit 70;\n};\n\n");
    let mut k = 0;
    while s.lines().count() < min_lines {
        generated_function(&mut s, k);
        k += 1;
    }
    s.push_str("func:main = int32() {\n    int32:total = 0;\n");
    for i in (0..k).step_by(97) {
        let _ = writeln!(s, "    total += work_{i}(10) ? 0;");
    }
    s.push_str("    exit total & 1;\n};\n");
    s
}

fn time_command(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("command starts");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench_check(dir: &Path) {
    let src = generated_program(50_000);
    let lines = src.lines().count();
    let file = dir.join("big.npk");
    std::fs::write(&file, &src).expect("write generated program");
    let t = median(
        (0..3)
            .map(|_| time_command(npkc_cmd().arg("check").arg(&file)))
            .collect(),
    );
    let rate = lines as f64 / t.as_secs_f64();
    println!(
        "check:   {lines} lines in {:.1} ms = {:.0} lines/s (target >= 200000: {:.2}x of target)",
        t.as_secs_f64() * 1e3,
        rate,
        rate / 200_000.0
    );
}

/// One function of about `lines` lines: per block an owned local with a
/// null check, a `defer` or an explicit release, nested `if`/`else if`
/// arms, a borrow read in a loop; every allocation released.
fn long_function(lines: usize) -> String {
    let mut s = String::from("func:failsafe = int32(tbb32:err) {\n    exit 70;\n};\n\n");
    s.push_str("func:main = int32() {\n    int32:n = 3;\n");
    let mut k = 0usize;
    let mut count = 2;
    while count < lines {
        let block = if k.is_multiple_of(2) {
            format!(
                "    {{\n        wild int8->:a{k} = alloc(16);\n        if (a{k} == NULL) {{\n            exit 1;\n        }}\n        defer {{\n            free(a{k});\n        }}\n        if (n > {m}) {{\n            if (n < 9) {{\n                a{k}[0] = 1;\n            }}\n        }} else if (n == 1) {{\n            a{k}[1] = 2;\n        }} else {{\n            n += 1;\n        }}\n    }}\n",
                m = k % 5
            )
        } else {
            format!(
                "    wild int8->:b{k} = alloc(16);\n    if (b{k} != NULL) {{\n        int8->:v{k} = b{k};\n        while (n < {m}) {{\n            v{k}[0] = 3;\n            n += 1;\n        }}\n    }}\n    free(b{k});\n",
                m = k % 7
            )
        };
        count += block.lines().count();
        s.push_str(&block);
        k += 1;
    }
    s.push_str("    exit n & 1;\n};\n");
    s
}

/// `npkc check` of one generated function of `lines` lines: (lines, lines/s).
fn check_rate(dir: &Path, lines: usize) -> (usize, f64) {
    let src = long_function(lines);
    let lines = src.lines().count();
    let file = dir.join(format!("long-{lines}.npk"));
    std::fs::write(&file, &src).expect("write generated function");
    let t = median(
        (0..3)
            .map(|_| time_command(npkc_cmd().arg("check").arg(&file)))
            .collect(),
    );
    (lines, lines as f64 / t.as_secs_f64())
}

fn bench_long_function(dir: &Path) {
    let (small, small_rate) = check_rate(dir, 25_000);
    let (big, big_rate) = check_rate(dir, 100_000);
    println!(
        "check1:  one {big}-line function at {big_rate:.0} lines/s (target >= 100000: {:.2}x of target); {small} lines at {small_rate:.0} lines/s (100k/25k rate ratio {:.2}, 1.00 = linear)",
        big_rate / 100_000.0,
        big_rate / small_rate
    );
}

const SMALL: &str = r#"use "jit.npk".*;

func:failsafe = int32(tbb32:err) {
    println(`failsafe: &{err}`);
    exit 70;
};

func:fib = int64(int64:n) {
    if (n < 2) {
        pass n;
    }
    int64:a = raw fib(n - 1);
    int64:b = raw fib(n - 2);
    pass a + b;
};

func:sum_to = int64(int64:n) {
    int64:acc = 0;
    for (int64:i = 0; i < n; i += 1) {
        acc += i;
    }
    pass acc;
};

func:collatz = int32(int64:start) {
    int64:n = start;
    int32:steps = 0;
    while (n != 1) {
        if (n % 2 == 0) {
            n = n / 2;
        } else {
            n = 3 * n + 1;
        }
        steps += 1;
    }
    pass steps;
};

func:main = int32() {
    wildx int8->:f = raw Jit.compile_add_i32();
    if (f == NULL) {
        exit 2;
    }
    int32:r = Jit.call_i32_i32(f, 7i32, 35i32) ? 0;
    drop Jit.free(f);
    int64:x = raw fib(20);
    int64:y = sum_to(100) ? 0;
    int32:c = collatz(27) ? 0;
    println(`r = &{r}, fib = &{x}, sum = &{y}`);
    loop(0, 3, 1) {
        print($);
    }
    println("");
    if (r != 42 || c != 111) {
        exit 1;
    }
    exit 0;
};
"#;

fn bench_build(dir: &Path) {
    let file = dir.join("small.npk");
    std::fs::write(&file, SMALL).expect("write small program");
    let exe = dir.join("small");
    let mut cmd = npkc_cmd();
    cmd.arg("build").arg(&file).arg("-o").arg(&exe);
    let _ = time_command(&mut cmd); // warm the page cache
    let t = median((0..11).map(|_| time_command(&mut cmd)).collect());
    let ms = t.as_secs_f64() * 1e3;
    println!(
        "build:   {}-line program, link included: median {ms:.1} ms (target <= 150 ms: {:.2}x of target)",
        SMALL.lines().count(),
        ms / 150.0
    );
}

fn cc(dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).expect("write C source");
    let exe = dir.join(format!("{name}_c"));
    let rt = runtime_archive();
    let mut cmd = Command::new("cc");
    cmd.args(["-O2", "-o"])
        .arg(&exe)
        .arg(&c)
        .arg(&rt)
        .args(["-lpthread", "-ldl", "-lm"]);
    let _ = time_command(&mut cmd);
    exe
}

fn npk(dir: &Path, name: &str, src: &str) -> PathBuf {
    let file = dir.join(format!("{name}.npk"));
    std::fs::write(&file, src).expect("write Nitpick source");
    let exe = dir.join(format!("{name}_npk"));
    let _ = time_command(npkc_cmd().arg("build").arg(&file).arg("-o").arg(&exe));
    exe
}

/// Runs both executables alternately three times; prints the median ratio.
fn versus(label: &str, target: f64, npk_exe: &Path, c_exe: &Path) {
    let mut n = Vec::new();
    let mut c = Vec::new();
    for _ in 0..3 {
        n.push(time_command(&mut Command::new(npk_exe)));
        c.push(time_command(&mut Command::new(c_exe)));
    }
    let (n, c) = (median(n), median(c));
    println!(
        "{label}: nitpick {:.1} ms vs C {:.1} ms = {:.2}x (target <= {target}x)",
        n.as_secs_f64() * 1e3,
        c.as_secs_f64() * 1e3,
        n.as_secs_f64() / c.as_secs_f64()
    );
}

const CALLS_NPK: &str = r#"use "jit.npk".*;
func:failsafe = int32(tbb32:err) {
    exit 70;
};
func:main = int32() {
    wildx int8->:f = raw Jit.compile_add_i32();
    if (f == NULL) {
        exit 2;
    }
    int32:acc = 0;
    for (int32:i = 0; i < 100000000; i += 1) {
        acc = Jit.call_i32_i32(f, acc, 1i32) ? 0;
    }
    drop Jit.free(f);
    if (acc != 100000000) {
        exit 1;
    }
    exit 0;
};
"#;

const CALLS_C: &str = r#"#include <stdint.h>
#include <string.h>
void* npk_wildx_alloc(size_t n);
int32_t npk_wildx_seal(void* p);
int32_t npk_wildx_free(void* p);
int32_t npk_jit_install_add_i32(void* p);
int main(void) {
    void* p = npk_wildx_alloc(5);
    if (!p || npk_jit_install_add_i32(p) != 0 || npk_wildx_seal(p) != 0) return 2;
    int32_t (*volatile fp)(int32_t, int32_t);
    memcpy((void*)&fp, &p, sizeof p);
    int32_t acc = 0;
    for (int32_t i = 0; i < 100000000; i++) acc = fp(acc, 1);
    npk_wildx_free(p);
    return acc == 100000000 ? 0 : 1;
}
"#;

const SIEVE_NPK: &str = r#"func:failsafe = int32(tbb32:err) {
    exit 70;
};
func:main = int32() {
    int64:n = 20000000;
    wild uint8->:flags = alloc(n => uint64);
    if (flags == NULL) {
        exit 2;
    }
    int64:checksum = 0;
    loop(0, 5, 1) {
        for (int64:i = 0; i < n; i += 1) {
            flags[i] = 1;
        }
        int64:count = 0;
        for (int64:i = 2; i < n; i += 1) {
            if (flags[i] == 1) {
                count += 1;
                for (int64:j = i * i; j < n; j += i) {
                    flags[j] = 0;
                }
            }
        }
        checksum += count;
    }
    int64:mix = 0;
    for (int64:a = 0; a < 3000; a += 1) {
        for (int64:b = 0; b < 3000; b += 1) {
            mix = (mix * 31 + (a ^ b)) & 0xffffff;
        }
    }
    free(flags);
    if (checksum != 6353035) {
        exit 1;
    }
    exit (mix & 1) => int32;
};
"#;

const SIEVE_C: &str = r#"#include <stdint.h>
#include <stdlib.h>
int main(void) {
    int64_t n = 20000000;
    uint8_t* flags = malloc((size_t)n);
    if (!flags) return 2;
    int64_t checksum = 0;
    for (int r = 0; r < 5; r++) {
        for (int64_t i = 0; i < n; i++) flags[i] = 1;
        int64_t count = 0;
        for (int64_t i = 2; i < n; i++) {
            if (flags[i] == 1) {
                count++;
                for (int64_t j = i * i; j < n; j += i) flags[j] = 0;
            }
        }
        checksum += count;
    }
    int64_t mix = 0;
    for (int64_t a = 0; a < 3000; a++)
        for (int64_t b = 0; b < 3000; b++)
            mix = (mix * 31 + (a ^ b)) & 0xffffff;
    free(flags);
    if (checksum != 6353035) return 1;
    return (int)(mix & 1);
}
"#;

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters sections.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |s: &str| filters.is_empty() || filters.iter().any(|f| s.contains(f.as_str()));
    let dir = std::env::temp_dir().join(format!("npkc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    if want("check") {
        bench_check(&dir);
        bench_long_function(&dir);
    }
    if want("build") {
        bench_build(&dir);
    }
    if want("calls") {
        let n = npk(&dir, "calls", CALLS_NPK);
        let c = cc(&dir, "calls", CALLS_C);
        versus("calls:  ", 1.5, &n, &c);
    }
    if want("sieve") {
        let n = npk(&dir, "sieve", SIEVE_NPK);
        let c = cc(&dir, "sieve", SIEVE_C);
        versus("sieve:  ", 2.0, &n, &c);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
