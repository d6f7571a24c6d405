//! Issue 3: the compiler never panics and never hangs, whatever the input.
//!
//! Generated inputs go through the WHOLE pipeline the `npkc` binary runs —
//! load (`use` resolution) → parse → resolve/types → ownership → diagnostic
//! rendering → codegen to object bytes (no linking) — and every input must
//! end in diagnostics or success:
//! - no phase panics (a panic fails the test; there is no `catch_unwind`);
//! - every diagnostic span lies inside its file, on character boundaries;
//! - a program that checks clean is compiled, and codegen must succeed;
//! - each case finishes within [`CASE_LIMIT`] (run on a worker thread with
//!   the main thread's usual 8 MiB stack, so an endless loop fails the test
//!   instead of hanging it).
//!
//! Inputs: random bytes, random token streams over the language's tokens,
//! randomly generated well-formed statement trees (to reach ownership and
//! codegen), pathological nesting/length, and mutations of every
//! `tests/ui/**/*.npk` file plus `stdlib/jit.npk`. `PROPTEST_CASES=N` raises
//! the case count of every property for longer local runs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use npkc::codegen::{self, CodegenError};
use npkc::diagnostic::{self, Diagnostic, Format, Problems};
use npkc::driver;
use npkc::lexer::{self, Kw, TokenKind};
use npkc::source::{FileId, SourceMap, Span};
use proptest::prelude::*;
use proptest::sample::Index;

#[path = "support/cases.rs"]
mod cases;
use cases::config;

/// The longest one generated input may take, all phases together.
// Generous: it catches hangs and quadratic blow-ups (which took minutes), not
// speed; a loaded 2-core CI machine must not fail it.
const CASE_LIMIT: Duration = Duration::from_secs(30);

/// Stack of the worker thread: what the `npkc` binary's main thread gets.
const WORKER_STACK: usize = 8 << 20;

// ---------------------------------------------------------------------------
// Running one case
// ---------------------------------------------------------------------------

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate lives two levels below the workspace root")
        .to_path_buf()
}

/// A private directory per property, so a mutated `use "case.npk".*;` can
/// only ever import the case itself (a harmless cycle).
fn case_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("npkc-no-panic-{}", std::process::id()))
        .join(name);
    std::fs::create_dir_all(&dir).expect("the temp dir is writable");
    dir
}

/// Runs the whole pipeline on `src` (written to `<name>/case.npk`) on a
/// worker thread; fails when a phase panics, breaks an invariant, or the case
/// takes longer than [`CASE_LIMIT`].
fn run_case(name: &str, src: &str) {
    let path = case_dir(name).join("case.npk");
    std::fs::write(&path, src).expect("the case file can be written");
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let worker = std::thread::Builder::new()
        .name(format!("no-panic-{name}"))
        .stack_size(WORKER_STACK)
        .spawn(move || {
            pipeline(&path);
            // The receiver is gone only when the case already timed out.
            let _ = tx.send(());
        })
        .expect("a worker thread can be spawned");
    match rx.recv_timeout(CASE_LIMIT) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The worker panicked: re-raise its panic here.
            if let Err(payload) = worker.join() {
                std::panic::resume_unwind(payload);
            }
            unreachable!("a worker that did not send has panicked");
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // The worker is left running; the failing test ends the process.
            panic!(
                "case did not finish within {CASE_LIMIT:?} ({} bytes):\n{}",
                src.len(),
                excerpt(src)
            );
        }
    }
    if let Err(payload) = worker.join() {
        std::panic::resume_unwind(payload);
    }
    let took = start.elapsed();
    assert!(
        took <= CASE_LIMIT,
        "case took {took:?} ({} bytes):\n{}",
        src.len(),
        excerpt(src)
    );
}

fn excerpt(src: &str) -> &str {
    let mut end = src.len().min(600);
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    &src[..end]
}

/// What the `npkc` binary does for `check` and then `build` (minus linking).
fn pipeline(path: &Path) {
    let checked = driver::check_file(path, &driver::Options::default())
        .expect("the case file was just written");
    let all = driver::all_problems(&checked.problems);
    for d in &all {
        check_spans(d, &checked.sources);
    }
    let human = diagnostic::render_all(&all, &checked.sources, Format::Human { color: false });
    let json = diagnostic::render_all(&all, &checked.sources, Format::Json);
    assert_eq!(human.is_empty(), all.is_empty(), "every diagnostic renders");
    assert_eq!(
        json.lines().count(),
        all.len(),
        "one JSON line per diagnostic"
    );
    match (&checked.program, checked.problems.has_errors()) {
        (Some(program), false) => match codegen::compile(program) {
            Ok(object) => assert!(!object.is_empty(), "codegen produced no bytes"),
            Err(CodegenError::NoMain) if program.main.is_none() => {}
            Err(e) => panic!("codegen failed on a program that checked clean: {e}"),
        },
        (None, true) => {}
        (Some(_), true) => panic!("a program was produced despite errors"),
        (None, false) => panic!("checking produced neither a program nor an error"),
    }
}

fn check_spans(d: &Diagnostic, sources: &SourceMap) {
    let labels = std::iter::once(&d.primary).chain(d.secondary.iter());
    for label in labels {
        let Span { file, start, end } = label.span;
        let files = sources.files();
        assert!(
            (file.0 as usize) < files.len(),
            "{}: span in unknown file {file:?}",
            d.code
        );
        let text = &files[file.0 as usize].text;
        let (s, e) = (start as usize, end as usize);
        assert!(
            s <= e && e <= text.len(),
            "{} `{}`: span {s}..{e} outside the {} bytes of {}",
            d.code,
            d.message,
            text.len(),
            files[file.0 as usize].name
        );
        assert!(
            text.is_char_boundary(s) && text.is_char_boundary(e),
            "{} `{}`: span {s}..{e} not on character boundaries",
            d.code,
            d.message
        );
    }
}

// ---------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------

/// Every `tests/ui/**/*.npk` file and the stdlib, sorted by path.
fn seeds() -> &'static [String] {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = workspace_root();
        let mut paths = Vec::new();
        collect_npk(&root.join("tests/ui"), &mut paths);
        paths.sort();
        paths.push(root.join("stdlib/jit.npk"));
        paths
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("seed files are readable"))
            .collect()
    })
}

fn collect_npk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).expect("tests/ui is readable");
    for entry in entries {
        let path = entry.expect("directory entries are readable").path();
        if path.is_dir() {
            collect_npk(&path, out);
        } else if path.extension().is_some_and(|e| e == "npk") {
            out.push(path);
        }
    }
}

#[test]
fn seeds_are_found_and_pass_the_pipeline() {
    let seeds = seeds();
    assert!(seeds.len() > 50, "only {} seeds found", seeds.len());
    for src in seeds {
        run_case("seeds", src);
    }
}

// ---------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------

const EDGE_INTS: &[&str] = &[
    "0",
    "-1",
    "2147483648",
    "-2147483648",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "0x80",
    "0xffffffffffffffff",
    "0x1_0000_0000_0000_0000",
    "255u8",
    "256u8",
    "-128i8",
    "0x80i8",
    "4294967295u32",
    "9223372036854775807i64",
    "-9223372036854775808i64",
    "0b",
    "1tbb32",
];

const TYPES: &[&str] = &[
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "string",
    "tbb32",
    "NIL",
    "void",
    "int8->",
    "uint64->",
    "string->",
    "?->",
    "?*",
    "int32*",
    "Result<int64>",
    "Result<NIL>",
    "wild int8->",
    "wildx uint8->",
    "fixed int32",
];

const STATEMENTS: &[&str] = &[
    "raw ",
    "drop ",
    "defer {} ",
    "break; ",
    "continue; ",
    "exit 0; ",
    "exit 256; ",
    "pass; ",
    "pass 0; ",
    "fail 1; ",
    "{ } ",
    "defer { break; } ",
    "defer { exit 1; } ",
    "defer { pass 1; } ",
    "defer { continue; } ",
    "while (true) { } ",
    "loop(0, 1, 1) { continue; } ",
    "till(10, 0) { break; } ",
    "free(p); ",
    "wildx_free(page); ",
    "wild int8->:q = alloc(1); ",
    "wildx int8->:q = wildx_alloc(4096); ",
    "x = $; ",
    "print(`&{`&{1}`}`); ",
];

const OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "!=", "<", "<=", ">", ">=", "&&",
    "||", "=", "+=", "-=", "/=", "%=", "<<=", ">>=", "=>", "?", "->", "<-", "!", "~", "@", ".",
];

/// One edit of a program: a kind and three positions/choices, interpreted
/// relative to the program as it is when the edit is applied.
type Edit = (u8, Index, Index, Index);

fn tokens(text: &str) -> Vec<lexer::Token> {
    let mut sink = Problems::new();
    let mut toks = lexer::lex(FileId(0), text, &mut sink);
    toks.retain(|t| t.kind != TokenKind::Eof);
    toks
}

fn range(span: Span) -> std::ops::Range<usize> {
    span.start as usize..span.end as usize
}

/// Byte ranges of the lines of `text` (each including its `\n`).
fn lines(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

/// Replaces two disjoint ranges by each other's text.
fn swap_ranges(text: &mut String, a: std::ops::Range<usize>, b: std::ops::Range<usize>) {
    let (first, second) = if a.start <= b.start { (a, b) } else { (b, a) };
    if first.end > second.start {
        return;
    }
    let one = text[first.clone()].to_string();
    let two = text[second.clone()].to_string();
    text.replace_range(second, &one);
    text.replace_range(first, &two);
}

fn is_type_kw(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Kw(
            Kw::Int8
                | Kw::Int16
                | Kw::Int32
                | Kw::Int64
                | Kw::Uint8
                | Kw::Uint16
                | Kw::Uint32
                | Kw::Uint64
                | Kw::Bool
                | Kw::String
                | Kw::Tbb32
                | Kw::Nil
                | Kw::Void
        )
    )
}

fn apply(text: &mut String, (kind, a, b, c): &Edit) {
    let toks = tokens(text);
    if toks.is_empty() {
        return;
    }
    let pick = |i: &Index| &toks[i.index(toks.len())];
    match kind % 11 {
        // Delete 1..=4 tokens.
        0 => {
            let first = a.index(toks.len());
            let last = (first + b.index(4)).min(toks.len() - 1);
            text.replace_range(
                toks[first].span.start as usize..toks[last].span.end as usize,
                "",
            );
        }
        // Duplicate 1..=4 tokens.
        1 => {
            let first = a.index(toks.len());
            let last = (first + b.index(4)).min(toks.len() - 1);
            let r = toks[first].span.start as usize..toks[last].span.end as usize;
            let copy = format!(" {}", &text[r.clone()]);
            text.insert_str(r.end, &copy);
        }
        // Swap two tokens.
        2 => swap_ranges(text, range(pick(a).span), range(pick(b).span)),
        // Delete, duplicate or swap lines.
        3..=5 => {
            let ls = lines(text);
            if ls.is_empty() {
                return;
            }
            let l = ls[a.index(ls.len())].clone();
            match kind % 11 {
                3 => text.replace_range(l, ""),
                4 => {
                    let copy = text[l.clone()].to_string();
                    text.insert_str(l.start, &copy);
                }
                _ => swap_ranges(text, l, ls[b.index(ls.len())].clone()),
            }
        }
        // Replace an identifier by another identifier of the same file.
        6 => {
            let idents: Vec<_> = toks
                .iter()
                .filter(|t| matches!(t.kind, TokenKind::Ident(_)))
                .collect();
            if idents.is_empty() {
                return;
            }
            let to = text[range(idents[b.index(idents.len())].span)].to_string();
            text.replace_range(range(idents[a.index(idents.len())].span), &to);
        }
        // Replace an integer literal by an edge value.
        7 => {
            let ints: Vec<_> = toks
                .iter()
                .filter(|t| matches!(t.kind, TokenKind::Int { .. } | TokenKind::Char(_)))
                .collect();
            if ints.is_empty() {
                return;
            }
            let at = range(ints[a.index(ints.len())].span);
            text.replace_range(at, EDGE_INTS[b.index(EDGE_INTS.len())]);
        }
        // Swap a type for another.
        8 => {
            let tys: Vec<_> = toks.iter().filter(|t| is_type_kw(&t.kind)).collect();
            if tys.is_empty() {
                return;
            }
            let at = range(tys[a.index(tys.len())].span);
            text.replace_range(at, TYPES[b.index(TYPES.len())]);
        }
        // Insert a statement (or `raw`/`drop`) at a statement start.
        9 => {
            let starts: Vec<_> = toks
                .iter()
                .filter(|t| {
                    matches!(
                        t.kind,
                        TokenKind::Semi | TokenKind::LBrace | TokenKind::RBrace
                    )
                })
                .collect();
            if starts.is_empty() {
                return;
            }
            let at = starts[a.index(starts.len())].span.end as usize;
            let stmt = STATEMENTS[b.index(STATEMENTS.len())];
            text.insert_str(at, &format!(" {stmt}"));
        }
        // Flip an operator.
        _ => {
            let ops: Vec<_> = toks
                .iter()
                .filter(|t| OPERATORS.contains(&t.kind.glyph()))
                .collect();
            if ops.is_empty() {
                return;
            }
            let at = range(ops[a.index(ops.len())].span);
            let op = OPERATORS[b.index(OPERATORS.len())];
            // Sometimes keep the old operator and add one (`a + - b`).
            if c.index(4) == 0 {
                text.insert_str(at.end, &format!(" {op} "));
            } else {
                text.replace_range(at, op);
            }
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    (any::<u8>(), any::<Index>(), any::<Index>(), any::<Index>())
}

// ---------------------------------------------------------------------------
// Random token streams
// ---------------------------------------------------------------------------

const KEYWORDS: &[&str] = &[
    "func", "extern", "use", "Type", "if", "else", "while", "for", "loop", "till", "break",
    "continue", "defer", "pass", "fail", "exit", "raw", "drop", "is", "fixed", "stack", "wild",
    "wildx", "gc", "true", "false", "NULL", "int8", "int16", "int32", "int64", "uint8", "uint16",
    "uint32", "uint64", "tbb32", "bool", "string", "NIL", "void", "Result",
];

const PUNCTUATION: &[&str] = &[
    "<<=", ">>=", "?->", "?*", "->", "<-", "=>", "&&", "||", "==", "!=", "<=", ">=", "<<", ">>",
    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "(", ")", "{", "}", "[", "]", ";", ",", ":",
    ".", "?", "@", "$", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "<", ">", "=",
];

const ATOMS: &[&str] = &[
    "0",
    "1",
    "7i32",
    "255u8",
    "0x80",
    "18446744073709551615",
    "'a'",
    "'\\n'",
    "\"s\\x41\"",
    "`t &{x}`",
    "main",
    "failsafe",
    "err",
    "x",
    "p",
    "f",
    "Jit",
    "alloc",
    "free",
    "wildx_alloc",
    "wildx_seal",
    "wildx_free",
    "print",
    "println",
    "cast",
    "is_error",
    "value",
    "error",
    "compile_add_i32",
    "\"jit.npk\"",
    "\"case.npk\"",
    "\n",
    "//",
    "/*",
    "*/",
];

fn vocabulary() -> Vec<&'static str> {
    KEYWORDS
        .iter()
        .chain(PUNCTUATION)
        .chain(ATOMS)
        .copied()
        .collect()
}

const PRELUDE: &str = "use \"jit.npk\".*;\nfunc:failsafe = int32(tbb32:err) { exit 1; };\nfunc:main = int32() {\n    int32:x = 1;\n    wild int8->:p = alloc(8);\n";

// ---------------------------------------------------------------------------
// Well-formed statement trees, to reach ownership and codegen
// ---------------------------------------------------------------------------

/// Statements that keep a program valid wherever they are put.
const SAFE_LEAVES: &[&str] = &[
    "x = x + 1;",
    "x += 7;",
    "y = y * 3i64;",
    "x = x / (x - 1);",
    "x = x % 0;",
    "b = b << 9u8;",
    "x = @cast<int32>(y);",
    "y = x => int64;",
    "c = !c && x < 3;",
    "c = c || y >= 2i64;",
    "print(x);",
    "println(`x = &{x} y = &{y} c = &{c}`);",
    "println(\"s\");",
    "p[1] = 7 => int8;",
    "x = p[2] => int32;",
    "x = raw f(x, 2);",
    "drop f(1, x);",
    "{ Result<int32>:r = f(x, x); x = r.value; c = r.is_error; x = r.error; }",
    "x = f(x, 1) ? 5;",
    "x = is (c) : 1 : 2;",
    "if (p == NULL) { x = 0; } else { x = 1; }",
    "{ wild int8->:q = alloc(2); free(q); }",
    "{ wild int8->:m = raw g(); if (m != NULL) { free(m); } }",
    "{ int64:z = y; z <<= 70i64; }",
    "{ fixed int32:k = 3; x = k; }",
];

/// Statements that are often wrong where they land (a `break` outside a
/// loop, a second `free`): they exercise the checkers' error paths.
const RISKY_LEAVES: &[&str] = &[
    "break;",
    "continue;",
    "exit x;",
    "free(p);",
    "p = alloc(4);",
    "x = wildx_seal(w);",
    "x = wildx_free(w);",
    "if (p != NULL) { free(p); }",
    "wild int8->:q = p;",
    "x = $;",
    "drop g();",
];

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0..SAFE_LEAVES.len()).prop_map(|i| SAFE_LEAVES[i].to_string()),
        1 => (0..RISKY_LEAVES.len()).prop_map(|i| RISKY_LEAVES[i].to_string()),
    ]
}

fn statement_tree() -> impl Strategy<Value = String> {
    leaf().prop_recursive(6, 64, 4, |inner| {
        (
            0u8..8,
            proptest::collection::vec(inner.clone(), 0..4),
            proptest::collection::vec(inner, 0..3),
        )
            .prop_map(|(k, a, b)| {
                let a = a.join(" ");
                let b = b.join(" ");
                match k {
                    0 => format!("if (c) {{ {a} }} else {{ {b} }}"),
                    1 => format!("if (x < 3) {{ {a} }} else if (c) {{ {b} }}"),
                    2 => format!("while (x < 10) {{ {a} x += 1; }}"),
                    3 => format!("loop(0, 5, 1) {{ {a} }}"),
                    4 => format!("till(3, -1) {{ {a} }}"),
                    5 => format!("for (int32:i = 0; i < 3; i += 1) {{ {a} }}"),
                    6 => format!("defer {{ {a} }} {b}"),
                    _ => format!("{{ {a} }} {b}"),
                }
            })
    })
}

fn tree_program(body: &str, release_at_end: bool) -> String {
    let tail = if release_at_end {
        "free(p);\n    x = wildx_free(w);\n"
    } else {
        ""
    };
    format!(
        "func:f = int32(int32:a, int32:b) {{ if (b == 0) {{ fail 3; }} pass a / b; }};\n\
         func:g = wild int8->() {{ wild int8->:m = alloc(3); pass m; }};\n\
         func:failsafe = int32(tbb32:err) {{ exit 9; }};\n\
         func:main = int32() {{\n    int32:x = 1;\n    int64:y = 2i64;\n    uint8:b = 3u8;\n    \
         bool:c = true;\n    wild int8->:p = alloc(16);\n    wildx int8->:w = wildx_alloc(16);\n    \
         {body}\n    {tail}    exit 0;\n}};\n"
    )
}

// ---------------------------------------------------------------------------
// Pathological shapes (hang and stack guards)
// ---------------------------------------------------------------------------

/// A program of a given shape, nested `depth` deep or `depth` long.
fn pathological(shape: u8, depth: usize) -> String {
    let wrap = |body: String| {
        format!(
            "func:failsafe = int32(tbb32:err) {{ exit 1; }};\nfunc:main = int32() {{\n    int32:x = 1;\n    wild int8->:p = alloc(8);\n{body}\n    free(p);\n    exit 0;\n}};\n"
        )
    };
    match shape % 10 {
        0 => wrap(format!(
            "    x = {}1{};",
            "(".repeat(depth),
            ")".repeat(depth)
        )),
        1 => wrap(format!(
            "    {}x += 1;{}",
            "{ ".repeat(depth),
            " }".repeat(depth)
        )),
        2 => wrap(format!(
            "    {}{}",
            "if (x < 3) { ".repeat(depth),
            "x += 1; } else { free(p); p = alloc(2); }".repeat(depth)
        )),
        3 => wrap(format!(
            "    {}x += 1;{}",
            "while (x < 100) { loop(0, 3, 1) { ".repeat(depth),
            " } }".repeat(depth)
        )),
        4 => wrap(format!("    x = 1{};", " + x * 2 - 1".repeat(depth))),
        5 => wrap(format!("    x = {}x;", "-".repeat(depth))),
        6 => wrap(format!(
            "    {}free(p); p = alloc(1);{}",
            "defer { ".repeat(depth),
            " }".repeat(depth)
        )),
        7 => wrap("    x += 1; if (x > 2) { free(p); p = alloc(3); }\n".repeat(depth)),
        8 => {
            let mut s = String::new();
            for i in 0..depth {
                s.push_str(&format!(
                    "func:f{i} = int32(int32:a) {{ pass raw f{}(a + 1); }};\n",
                    (i + 1) % depth.max(1)
                ));
            }
            s + &wrap("    x = raw f0(x);".into())
        }
        _ => wrap(format!(
            "    x = is (x > 1) : {}0;",
            "is (x > 2) : 1 : ".repeat(depth)
        )),
    }
}

#[test]
fn pathological_programs_finish() {
    for shape in 0..10 {
        for depth in [1, 50, 99, 100, 101, 300, 2000] {
            run_case("pathological", &pathological(shape, depth));
        }
    }
}

#[test]
fn very_long_programs_finish() {
    // Thousands of statements with owned pointers in and out of loops. With
    // `leak` the program fails ownership checking (no codegen), so the
    // checker's cost is what is measured; without it codegen runs too, whose
    // cost is linear but large in a debug build, hence the smaller size.
    let stmt = "    while (x < 10) { x += 1; if (x == 5) { free(p); p = alloc(4); continue; } loop(0, x, 1) { p[1] = 2 => int8; } }\n";
    for (n, leak) in [(3000, true), (200, false)] {
        let release = if leak { "" } else { "    free(p);\n" };
        run_case(
            "long",
            &format!(
                "func:failsafe = int32(tbb32:err) {{ exit 1; }};\nfunc:main = int32() {{\n    int32:x = 1;\n    wild int8->:p = alloc(8);\n{}{release}    exit 0;\n}};\n",
                stmt.repeat(n)
            ),
        );
    }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(60))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        run_case("bytes", &String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_token_streams_never_panic(
        toks in proptest::collection::vec((any::<Index>(), any::<bool>()), 0..150),
        in_main in any::<bool>(),
    ) {
        let vocab = vocabulary();
        let mut src = String::new();
        if in_main {
            src.push_str(PRELUDE);
        }
        for (i, spaced) in toks {
            src.push_str(vocab[i.index(vocab.len())]);
            if spaced {
                src.push(' ');
            }
        }
        if in_main {
            src.push_str("\n    free(p);\n    exit 0;\n};\n");
        }
        run_case("tokens", &src);
    }

    #[test]
    fn statement_trees_never_panic(
        body in proptest::collection::vec(statement_tree(), 0..6),
        release_at_end in proptest::bool::weighted(0.8),
    ) {
        run_case("trees", &tree_program(&body.join("\n    "), release_at_end));
    }

    #[test]
    fn pathological_shapes_never_panic_or_hang(shape in any::<u8>(), depth in 0usize..400) {
        run_case("shapes", &pathological(shape, depth));
    }
}

proptest! {
    #![proptest_config(config(250))]

    #[test]
    fn mutated_seeds_never_panic(
        seed in any::<Index>(),
        edits in proptest::collection::vec(edit(), 1..8),
    ) {
        let seeds = seeds();
        let mut src = seeds[seed.index(seeds.len())].clone();
        for e in &edits {
            apply(&mut src, e);
        }
        run_case("mutants", &src);
    }
}
