//! Issue 15: the ownership checker at scale, through the real `npkc check`.
//!
//! Generated programs, sized for CI (each runs in about a second or less):
//! call cycles of 17 and 5,001 functions (summaries must reach a true
//! fixpoint, in both directions: releasing and allocating), a long function
//! with thousands of owned locals and branches (near-linear time: it took
//! tens of seconds when every `if` copied the state of every binding), and
//! `if` nesting / `else if` chains against the documented limits. Verdicts
//! are asserted exactly; speed is measured in `cargo bench -p npkc`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

const FAILSAFE: &str = "func:failsafe = int32(tbb32:err) {\n    exit 1;\n};\n\n";

/// Writes `src` to a fresh file and runs `npkc check` on it: the error
/// codes reported, in order.
fn check(name: &str, src: &str) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("npkc-ownership-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path: PathBuf = dir.join(format!("{name}.npk"));
    std::fs::write(&path, src).expect("write the generated program");
    let out = Command::new(env!("CARGO_BIN_EXE_npkc"))
        .arg("check")
        .arg(&path)
        .output()
        .expect("run npkc");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("overflow") && !stderr.contains("panicked"),
        "{name}: {stderr}"
    );
    let codes: Vec<String> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("error["))
        .filter_map(|l| l.split(']').next())
        .map(str::to_string)
        .collect();
    assert_eq!(out.status.success(), codes.is_empty(), "{name}: {stderr}");
    codes
}

/// `n` functions `r0 → r1 → … → r(n-1) → r0`, each releasing its
/// parameter on its base case and passing it on otherwise: every one
/// releases it on every path. `main` hands `p` to `r0`, then (when
/// `use_after`) uses it: a use after release only the fixpoint sees.
fn releasing_cycle(n: usize, use_after: bool) -> String {
    let mut s = FAILSAFE.to_string();
    for k in 0..n {
        let next = (k + 1) % n;
        let _ = write!(
            s,
            "func:r{k} = NIL(wild int8->:p, int32:n) {{\n    if (n <= 0) {{\n        free(p);\n        pass;\n    }}\n    drop r{next}(p, n - 1);\n}};\n\n"
        );
    }
    s.push_str(
        "func:main = int32() {\n    wild int8->:p = alloc(8);\n    if (p == NULL) {\n        exit 1;\n    }\n    drop r0(p, 40);\n",
    );
    if use_after {
        s.push_str("    p[0] = 1;\n");
    }
    s.push_str("    exit 0;\n};\n");
    s
}

/// `n` functions where only the last allocates and every other returns
/// what its callee returned: all are factories. `main` releases the result
/// unless `leak`.
fn factory_cycle(n: usize, leak: bool) -> String {
    let mut s = FAILSAFE.to_string();
    for k in 0..n {
        let next = (k + 1) % n;
        if k + 1 == n {
            let _ = write!(
                s,
                "func:m{k} = int8->(int32:n) {{\n    if (n <= 0) {{\n        wild int8->:b = alloc(8);\n        if (b == NULL) {{\n            fail 1;\n        }}\n        pass b;\n    }}\n    wild int8->:q = raw m{next}(n - 1);\n    pass q;\n}};\n\n"
            );
        } else {
            let _ = write!(
                s,
                "func:m{k} = int8->(int32:n) {{\n    wild int8->:q = raw m{next}(n - 1);\n    pass q;\n}};\n\n"
            );
        }
    }
    s.push_str("func:main = int32() {\n    wild int8->:p = raw m0(40);\n");
    if !leak {
        s.push_str("    free(p);\n");
    }
    s.push_str("    exit 0;\n};\n");
    s
}

#[test]
fn call_cycles_of_17_and_5001_releasing_functions_reach_a_fixpoint() {
    for n in [17, 5001] {
        assert_eq!(
            check("rel", &releasing_cycle(n, false)),
            Vec::<String>::new(),
            "n = {n}"
        );
        assert_eq!(
            check("rel-use", &releasing_cycle(n, true)),
            vec!["ARIA-015"],
            "n = {n}"
        );
    }
}

/// `n` functions passing `p` round a cycle where only the last returns
/// (keeping it): none releases it, so `main` must (a summary iteration cut
/// short, or started from "releases", calls `main`'s release a double free).
fn keeping_cycle(n: usize, release_in_main: bool) -> String {
    let mut s = FAILSAFE.to_string();
    for k in 0..n {
        let next = (k + 1) % n;
        let base = if k + 1 == n {
            "    if (n <= 0) {\n        pass;\n    }\n"
        } else {
            ""
        };
        let _ = write!(
            s,
            "func:k{k} = NIL(wild int8->:p, int32:n) {{\n{base}    drop k{next}(p, n - 1);\n}};\n\n"
        );
    }
    s.push_str(
        "func:main = int32() {\n    wild int8->:p = alloc(8);\n    if (p == NULL) {\n        exit 1;\n    }\n    drop k0(p, 40);\n",
    );
    if release_in_main {
        s.push_str("    free(p);\n");
    }
    s.push_str("    exit 0;\n};\n");
    s
}

#[test]
fn call_cycles_of_17_and_5001_keeping_functions_reach_a_fixpoint() {
    for n in [17, 5001] {
        assert_eq!(
            check("keep", &keeping_cycle(n, true)),
            Vec::<String>::new(),
            "n = {n}"
        );
        assert_eq!(
            check("keep-leak", &keeping_cycle(n, false)),
            vec!["ARIA-014"],
            "n = {n}"
        );
    }
}

#[test]
fn call_cycles_of_17_and_5001_factories_reach_a_fixpoint() {
    for n in [17, 5001] {
        assert_eq!(
            check("fac", &factory_cycle(n, false)),
            Vec::<String>::new(),
            "n = {n}"
        );
        assert_eq!(
            check("fac-leak", &factory_cycle(n, true)),
            vec!["ARIA-014"],
            "n = {n}"
        );
    }
}

/// A function of about `lines` lines: per block an owned local, a null
/// check, an `if`/`else if`/`else`, a borrow used in a loop, a release.
/// With `fault`, the last block releases twice.
fn long_function(lines: usize, fault: bool) -> String {
    let mut s = FAILSAFE.to_string();
    s.push_str("func:main = int32() {\n    int32:n = 3;\n");
    let mut k = 0;
    while s.lines().count() < lines {
        let _ = write!(
            s,
            "    wild int8->:a{k} = alloc(16);\n    if (a{k} == NULL) {{\n        exit 1;\n    }}\n    if (n > {m}) {{\n        a{k}[0] = 1;\n    }} else if (n < 2) {{\n        a{k}[1] = 2;\n    }} else {{\n        n += 1;\n    }}\n    int8->:v{k} = a{k};\n    while (n < {m}) {{\n        v{k}[0] = 3;\n        n += 1;\n    }}\n    free(a{k});\n",
            m = k % 5
        );
        k += 1;
    }
    if fault {
        let _ = writeln!(s, "    free(a{});", k - 1);
    }
    s.push_str("    exit 0;\n};\n");
    s
}

#[test]
fn a_20000_line_function_with_thousands_of_owned_locals_is_checked_exactly() {
    assert_eq!(
        check("long", &long_function(20_000, false)),
        Vec::<String>::new()
    );
    assert_eq!(
        check("long-fault", &long_function(20_000, true)),
        vec!["ARIA-022"]
    );
}

/// `depth` nested `if`s inside `main`.
fn nested_ifs(depth: usize) -> String {
    let mut s = FAILSAFE.to_string();
    s.push_str("func:main = int32() {\n    int32:n = 3;\n");
    for k in 0..depth {
        let _ = writeln!(s, "{}if (n > {}) {{", "    ".repeat(k + 1), k % 3);
    }
    let _ = writeln!(s, "{}n += 1;", "    ".repeat(depth + 1));
    for k in (0..depth).rev() {
        let _ = writeln!(s, "{}}}", "    ".repeat(k + 1));
    }
    s.push_str("    exit 0;\n};\n");
    s
}

/// An `if` with `arms - 1` `else if` arms and an `else`.
fn else_if_chain(arms: usize) -> String {
    let mut s = FAILSAFE.to_string();
    s.push_str(
        "func:main = int32() {\n    int32:n = 3;\n    if (n == 0) {\n        n += 1;\n    }",
    );
    for k in 1..arms {
        let _ = write!(s, " else if (n == {k}) {{\n        n += 2;\n    }}");
    }
    s.push_str(" else {\n        n += 3;\n    }\n    exit 0;\n};\n");
    s
}

#[test]
fn if_nesting_counts_each_block_once_up_to_about_100_levels() {
    // The function body is one level, each `if` block one more, and the
    // innermost statement's expression one more: 98 `if`s reach 100.
    assert_eq!(check("nest-98", &nested_ifs(98)), Vec::<String>::new());
    assert_eq!(check("nest-99", &nested_ifs(99)), vec!["NPK-114"]);
}

#[test]
fn an_else_if_chain_is_not_nesting() {
    assert_eq!(
        check("chain-500", &else_if_chain(500)),
        Vec::<String>::new()
    );
    assert_eq!(check("chain-501", &else_if_chain(501)), vec!["NPK-114"]);
}
