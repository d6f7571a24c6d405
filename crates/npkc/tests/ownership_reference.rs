//! Issue 15: the ownership checker against an executable reference.
//!
//! Small programs over owned pointers are generated as a tiny statement
//! tree, rendered to Nitpick source and checked by `npkc`'s own driver; the
//! same tree is run by an interpreter in this file over a tracking
//! allocator (every `alloc` a fresh id, every id live or freed), for every
//! input. Branch conditions test independent bits of the input `n`, so each
//! branch combination is some input. Properties:
//! - checker clean ⇒ no input double-frees, uses freed memory, or leaks
//!   (any shape: loops, moves, borrows, null checks, defers, a function
//!   returning its parameter, a conditional choosing a pointer);
//! - a reported `ARIA-014`/`015`/`022` ⇒ some input reaches a leak / use
//!   after free / double free (loop-free programs without moves: there every
//!   path the checker sees is some input's path, and a moved-from binding is
//!   an error the run does not feel).
//!
//! `PROPTEST_CASES=N` raises the case count (default sized for CI).

use std::fmt::Write as _;
use std::path::PathBuf;

use npkc::driver;
use proptest::prelude::*;

#[path = "support/cases.rs"]
mod cases;
use cases::config;

/// Owned pointers `p0..p(PTRS-1)` every program declares (each allocated).
const PTRS: usize = 3;

#[derive(Debug, Clone)]
enum Stmt {
    /// `pI = alloc(8);`
    Alloc(usize),
    /// `free(pI);`
    Free(usize),
    /// `free(pI); pI = alloc(8);`
    Renew(usize),
    /// `pI[0] = 1;`
    Use(usize),
    /// `{ int8->:q = pI; q[0] = 2; }` (a use through a borrow)
    UseBorrow(usize),
    /// `pI = pJ;` (a move between owning bindings)
    Move(usize, usize),
    /// `free(pI); pI = raw id(pJ); pJ = alloc(8);` (`id` returns its
    /// parameter: the result is `pJ`'s allocation, moved)
    Hand(usize, usize),
    /// `free(pI); pI = is (bit k of n) : pJ : NULL; pJ = alloc(8);` (an
    /// `if` for the numbering of bits)
    HandIf(usize, usize),
    /// `if (pI == NULL) { exit 3; }`
    NullExit(usize),
    /// `if (bit k of n) { .. } else { .. }`: the k-th `if` of the program
    /// (in source order) tests bit k, so conditions are independent.
    If(Vec<Stmt>, Vec<Stmt>),
    /// A loop the run executes exactly twice.
    Twice(Vec<Stmt>),
    /// `{ defer { free(pI); } .. } pI = alloc(8);`: the release runs when
    /// the block is left (also by `exit`, which runs pending defers).
    DeferFree(usize, Vec<Stmt>),
}

fn stmt(with_loops_and_moves: bool) -> impl Strategy<Value = Stmt> {
    let p = 0..PTRS;
    let leaf = if with_loops_and_moves {
        // Weighted towards correct programs, so that many are accepted and
        // the soundness property has something to check.
        prop_oneof![
            1 => p.clone().prop_map(Stmt::Alloc),
            1 => p.clone().prop_map(Stmt::Free),
            4 => p.clone().prop_map(Stmt::Renew),
            4 => p.clone().prop_map(Stmt::Use),
            3 => p.clone().prop_map(Stmt::UseBorrow),
            1 => (p.clone(), p.clone()).prop_map(|(a, b)| Stmt::Move(a, b)),
            1 => (p.clone(), p.clone()).prop_map(|(a, b)| Stmt::Hand(a, b)),
            1 => (p.clone(), p.clone()).prop_map(|(a, b)| Stmt::HandIf(a, b)),
            2 => p.prop_map(Stmt::NullExit),
        ]
        .boxed()
    } else {
        prop_oneof![
            1 => p.clone().prop_map(Stmt::Alloc),
            2 => p.clone().prop_map(Stmt::Free),
            2 => p.clone().prop_map(Stmt::Renew),
            3 => p.clone().prop_map(Stmt::Use),
            2 => p.prop_map(Stmt::UseBorrow),
        ]
        .boxed()
    };
    leaf.prop_recursive(3, 16, 3, move |inner| {
        let block = proptest::collection::vec(inner, 0..4);
        if with_loops_and_moves {
            prop_oneof![
                (block.clone(), block.clone()).prop_map(|(t, e)| Stmt::If(t, e)),
                block.clone().prop_map(Stmt::Twice),
                (0..PTRS, block).prop_map(|(i, b)| Stmt::DeferFree(i, b)),
            ]
            .boxed()
        } else {
            prop_oneof![
                (block.clone(), block.clone()).prop_map(|(t, e)| Stmt::If(t, e)),
                (0..PTRS, block).prop_map(|(i, b)| Stmt::DeferFree(i, b)),
            ]
            .boxed()
        }
    })
}

/// At most [`MAX_IFS`] `if`s, so every branch combination is an input; the
/// program ends by releasing every pointer (as correct programs do).
fn program(with_loops_and_moves: bool) -> impl Strategy<Value = Vec<Stmt>> {
    proptest::collection::vec(stmt(with_loops_and_moves), 1..6)
        .prop_filter("too many `if`s", |p| count_ifs(p) <= MAX_IFS)
        .prop_map(|mut p| {
            p.extend((0..PTRS).map(Stmt::Free));
            p
        })
}

const MAX_IFS: u32 = 10;

fn count_ifs(block: &[Stmt]) -> u32 {
    block
        .iter()
        .map(|s| match s {
            Stmt::If(t, e) => 1 + count_ifs(t) + count_ifs(e),
            Stmt::HandIf(..) => 1,
            Stmt::Twice(b) | Stmt::DeferFree(_, b) => count_ifs(b),
            _ => 0,
        })
        .sum()
}

// ----- rendering -------------------------------------------------------

fn render(prog: &[Stmt]) -> String {
    let mut s = String::from("func:failsafe = int32(tbb32:err) {\n    exit 1;\n};\n\n");
    s.push_str("func:id = int8->(wild int8->:p) {\n    pass p;\n};\n\n");
    s.push_str("func:main = int32() {\n    int32:n = 0;\n");
    for i in 0..PTRS {
        let _ = writeln!(s, "    wild int8->:p{i} = alloc(8);");
    }
    let (mut fresh, mut ifs) = (0, 0);
    render_block(prog, 1, &mut fresh, &mut ifs, &mut s);
    s.push_str("    exit 0;\n};\n");
    s
}

fn render_block(block: &[Stmt], depth: usize, fresh: &mut usize, ifs: &mut u32, s: &mut String) {
    let pad = "    ".repeat(depth);
    for st in block {
        match st {
            Stmt::Alloc(i) => {
                let _ = writeln!(s, "{pad}p{i} = alloc(8);");
            }
            Stmt::Free(i) => {
                let _ = writeln!(s, "{pad}free(p{i});");
            }
            Stmt::Renew(i) => {
                let _ = writeln!(s, "{pad}free(p{i});\n{pad}p{i} = alloc(8);");
            }
            Stmt::Use(i) => {
                let _ = writeln!(s, "{pad}p{i}[0] = 1;");
            }
            Stmt::UseBorrow(i) => {
                *fresh += 1;
                let _ = writeln!(
                    s,
                    "{pad}{{\n{pad}    int8->:q{fresh} = p{i};\n{pad}    q{fresh}[0] = 2;\n{pad}}}"
                );
            }
            Stmt::Move(to, from) => {
                let _ = writeln!(s, "{pad}p{to} = p{from};");
            }
            Stmt::Hand(to, from) => {
                let _ = writeln!(
                    s,
                    "{pad}free(p{to});\n{pad}p{to} = raw id(p{from});\n{pad}p{from} = alloc(8);"
                );
            }
            Stmt::HandIf(to, from) => {
                let _ = writeln!(
                    s,
                    "{pad}free(p{to});\n{pad}p{to} = is ((n & {}) != 0) : p{from} : NULL;\n{pad}p{from} = alloc(8);",
                    1u32 << *ifs
                );
                *ifs += 1;
            }
            Stmt::NullExit(i) => {
                let _ = writeln!(s, "{pad}if (p{i} == NULL) {{\n{pad}    exit 3;\n{pad}}}");
            }
            Stmt::If(then, els) => {
                let _ = writeln!(s, "{pad}if ((n & {}) != 0) {{", 1u32 << *ifs);
                *ifs += 1;
                render_block(then, depth + 1, fresh, ifs, s);
                let _ = writeln!(s, "{pad}}} else {{");
                render_block(els, depth + 1, fresh, ifs, s);
                let _ = writeln!(s, "{pad}}}");
            }
            Stmt::DeferFree(i, body) => {
                let _ = writeln!(
                    s,
                    "{pad}{{\n{pad}    defer {{\n{pad}        free(p{i});\n{pad}    }}"
                );
                render_block(body, depth + 1, fresh, ifs, s);
                let _ = writeln!(s, "{pad}}}\n{pad}p{i} = alloc(8);");
            }
            Stmt::Twice(body) => {
                *fresh += 1;
                let c = format!("c{fresh}");
                let _ = writeln!(s, "{pad}int32:{c} = 0;\n{pad}while ({c} < 2) {{");
                render_block(body, depth + 1, fresh, ifs, s);
                let _ = writeln!(s, "{pad}    {c} += 1;\n{pad}}}");
            }
        }
    }
}

// ----- the reference: an interpreter over a tracking allocator ----------

/// Faults one run reached.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Faults {
    leak: bool,
    use_after_free: bool,
    double_free: bool,
}

impl Faults {
    fn any(self) -> bool {
        self.leak || self.use_after_free || self.double_free
    }
}

struct Run {
    n: u32,
    /// `if`s met so far in source order (the k-th tests bit k).
    ifs: u32,
    /// Per pointer binding: the allocation id it holds (`None`: NULL).
    ptrs: [Option<usize>; PTRS],
    /// Per allocation id: still live.
    live: Vec<bool>,
    /// Pending deferred releases (of pointer bindings), innermost last.
    defers: Vec<usize>,
    faults: Faults,
}

impl Run {
    fn alloc(&mut self) -> Option<usize> {
        self.live.push(true);
        Some(self.live.len() - 1)
    }

    fn free(&mut self, i: usize) {
        if let Some(id) = self.ptrs[i] {
            if self.live[id] {
                self.live[id] = false;
            } else {
                self.faults.double_free = true;
            }
        }
    }

    fn touch(&mut self, i: usize) {
        if let Some(id) = self.ptrs[i]
            && !self.live[id]
        {
            self.faults.use_after_free = true;
        }
    }

    /// Runs `block`; `false` when the program exited.
    fn block(&mut self, block: &[Stmt]) -> bool {
        for st in block {
            match st {
                Stmt::Alloc(i) => self.ptrs[*i] = self.alloc(),
                Stmt::Free(i) => self.free(*i),
                Stmt::Renew(i) => {
                    self.free(*i);
                    self.ptrs[*i] = self.alloc();
                }
                Stmt::Use(i) | Stmt::UseBorrow(i) => self.touch(*i),
                Stmt::Move(to, from) => self.ptrs[*to] = self.ptrs[*from],
                Stmt::Hand(to, from) => {
                    self.free(*to);
                    self.ptrs[*to] = self.ptrs[*from];
                    self.ptrs[*from] = self.alloc();
                }
                Stmt::HandIf(to, from) => {
                    let bit = self.ifs;
                    self.ifs += 1;
                    self.free(*to);
                    self.ptrs[*to] = if self.n & (1 << bit) != 0 {
                        self.ptrs[*from]
                    } else {
                        None
                    };
                    self.ptrs[*from] = self.alloc();
                }
                Stmt::NullExit(i) => {
                    if self.ptrs[*i].is_none() {
                        self.exit();
                        return false;
                    }
                }
                Stmt::If(then, els) => {
                    // Bits follow source order, as rendered: number the
                    // `if`s of both arms, whichever runs.
                    let bit = self.ifs;
                    self.ifs += 1;
                    let (first, skip) = (self.ifs, count_ifs(then));
                    let result = if self.n & (1 << bit) != 0 {
                        self.block(then)
                    } else {
                        self.ifs = first + skip;
                        self.block(els)
                    };
                    self.ifs = first + skip + count_ifs(els);
                    if !result {
                        return false;
                    }
                }
                Stmt::DeferFree(i, body) => {
                    self.defers.push(*i);
                    if !self.block(body) {
                        return false;
                    }
                    self.defers.pop();
                    self.free(*i);
                    self.ptrs[*i] = self.alloc();
                }
                Stmt::Twice(body) => {
                    let first = self.ifs;
                    for _ in 0..2 {
                        self.ifs = first;
                        if !self.block(body) {
                            return false;
                        }
                    }
                    self.ifs = first + count_ifs(body);
                }
            }
        }
        true
    }

    /// `exit`: the pending defers run (innermost first), then every
    /// allocation still live is a leak.
    fn exit(&mut self) {
        while let Some(i) = self.defers.pop() {
            self.free(i);
        }
        if self.live.iter().any(|&l| l) {
            self.faults.leak = true;
        }
    }
}

/// The faults of the run with input `n`.
fn run(prog: &[Stmt], n: u32) -> Faults {
    let mut r = Run {
        n,
        ifs: 0,
        ptrs: [None; PTRS],
        live: Vec::new(),
        defers: Vec::new(),
        faults: Faults::default(),
    };
    for i in 0..PTRS {
        r.ptrs[i] = r.alloc();
    }
    if r.block(prog) {
        r.exit();
    }
    r.faults
}

/// Every input that matters (the k-th `if` tests bit k).
fn all_runs(prog: &[Stmt]) -> Vec<(u32, Faults)> {
    (0..1u32 << count_ifs(prog))
        .map(|n| (n, run(prog, n)))
        .collect()
}

// ----- the checker ------------------------------------------------------

/// The codes `npkc` reports for `src` (none: it checks clean).
fn checker_codes(src: &str) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("npkc-ownership-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // One file per property (they run in parallel threads).
    let name = std::thread::current()
        .name()
        .unwrap_or("case")
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    let path: PathBuf = dir.join(format!("{name}.npk"));
    std::fs::write(&path, src).expect("write the case");
    let checked =
        driver::check_file(&path, &driver::Options::default()).expect("the case was just written");
    let codes: Vec<String> = driver::all_problems(&checked.problems)
        .iter()
        .map(|d| d.code.to_string())
        .collect();
    for c in &codes {
        assert!(
            matches!(c.as_str(), "ARIA-014" | "ARIA-015" | "ARIA-022"),
            "the generator made a program with {c}:\n{src}"
        );
    }
    codes
}

proptest! {
    #![proptest_config(config(300))]

    /// Soundness: a program the checker accepts never double-frees, uses
    /// freed memory or leaks, whatever its input.
    #[test]
    fn a_program_the_checker_accepts_has_no_fault_on_any_input(prog in program(true)) {
        let src = render(&prog);
        if checker_codes(&src).is_empty() {
            for (n, f) in all_runs(&prog) {
                prop_assert!(!f.any(), "accepted, but input {} gives {:?}:\n{}", n, f, src);
            }
        }
    }

    /// Precision: each kind of fault the checker reports is reached by some
    /// input (loop-free programs without moves).
    #[test]
    fn each_fault_the_checker_reports_is_reached_by_some_input(prog in program(false)) {
        let src = render(&prog);
        let codes = checker_codes(&src);
        let runs = all_runs(&prog);
        for code in &codes {
            let reached = runs.iter().any(|(_, f)| match code.as_str() {
                "ARIA-014" => f.leak,
                "ARIA-015" => f.use_after_free,
                _ => f.double_free,
            });
            prop_assert!(reached, "{} reported, but no input reaches it:\n{}", code, src);
        }
        if codes.is_empty() {
            prop_assert!(runs.iter().all(|(_, f)| !f.any()), "accepted with a fault:\n{}", src);
        }
    }
}
