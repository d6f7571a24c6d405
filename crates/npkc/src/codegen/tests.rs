//! Codegen tests on hand-built HIR: compile, link against a small C stand-in
//! for the runtime (print/alloc/exit entry points with the real ABI), run,
//! and check the exit status and stdout. End-to-end tests through the real
//! front end and runtime are the `.npk` programs under `tests/ui/run/`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::ast::{BinOp, IntTy, UnOp};
use crate::hir::*;
use crate::source::Span;

const STUB_RUNTIME: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
void npk_print_cstr(const char *s) { fputs(s, stdout); if (strchr(s, '\n')) fflush(stdout); }
void npk_print_i64(int64_t v) { printf("%lld", (long long)v); }
void npk_print_u64(uint64_t v) { printf("%llu", (unsigned long long)v); }
void npk_print_bool(int32_t b) { fputs(b ? "true" : "false", stdout); }
void *npk_alloc(size_t n) { return malloc(n); }
void npk_free(void *p) { free(p); }
void npk_exit(int32_t c) { fflush(stdout); exit(c & 0xff); }
int32_t stub_mix(int8_t a, uint16_t b, int64_t c, const char *s) {
    return (int32_t)a + (int32_t)b + (int32_t)c + (int32_t)s[0];
}
"#;

/// The stand-in runtime object, compiled once per test process.
fn stub_runtime() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("npkc-codegen-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let src = dir.join("stub.c");
        std::fs::write(&src, STUB_RUNTIME).expect("write stub source");
        let obj = dir.join("stub.o");
        let status = Command::new("cc")
            .arg("-c")
            .arg("-O1")
            .arg(&src)
            .arg("-o")
            .arg(&obj)
            .status()
            .expect("run cc");
        assert!(status.success(), "stub runtime failed to compile");
        obj
    })
    .clone()
}

/// Compiles, links and runs `program`; returns (exit code, stdout).
fn run(program: &Program, name: &str) -> (i32, String) {
    run_opts(program, name, &super::Options::default()).0
}

/// Compiles `program` with and without inlining, runs both and checks they
/// behave the same; returns (exit code, stdout) and the inlined call sites.
fn run_both(program: &Program, name: &str) -> ((i32, String), usize) {
    let (inlined, stats) = run_opts(program, &format!("{name}-inl"), &super::Options::default());
    let (plain, none) = run_opts(
        program,
        &format!("{name}-noinl"),
        &super::Options { inline_limit: 0 },
    );
    assert_eq!(none.inlined_calls, 0, "inline_limit 0 inlines nothing");
    assert_eq!(inlined, plain, "inlining changed what `{name}` does");
    (inlined, stats.inlined_calls)
}

fn run_opts(
    program: &Program,
    name: &str,
    options: &super::Options,
) -> ((i32, String), super::Stats) {
    let (object, stats) = super::compile_with(program, options).expect("codegen succeeds");
    let exe = stub_runtime()
        .parent()
        .expect("stub has a dir")
        .join(format!("{name}.exe"));
    crate::link::link(&object, &exe, &stub_runtime()).expect("link succeeds");
    let out = Command::new(&exe).output().expect("run the program");
    let code = out.status.code().unwrap_or(-1);
    (
        (code, String::from_utf8_lossy(&out.stdout).into_owned()),
        stats,
    )
}

// ---- a tiny HIR builder ------------------------------------------------

const I32: Ty = Ty::Int(IntTy::I32);
const SP: Span = Span {
    file: crate::source::FileId(0),
    start: 0,
    end: 0,
};

fn ex(kind: ExprKind, ty: Ty) -> Expr {
    Expr { kind, ty, span: SP }
}
fn int(v: i64, t: IntTy) -> Expr {
    ex(
        ExprKind::Int((v as u64) & super::width_mask(t.bits())),
        Ty::Int(t),
    )
}
fn i32c(v: i64) -> Expr {
    int(v, IntTy::I32)
}
fn boolc(b: bool) -> Expr {
    ex(ExprKind::Bool(b), Ty::Bool)
}
fn strc(s: &str) -> Expr {
    ex(ExprKind::Str(s.to_string()), Ty::Str)
}
fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    let ty = match op {
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => Ty::Bool,
        BinOp::And | BinOp::Or => Ty::Bool,
        _ => l.ty.clone(),
    };
    ex(
        ExprKind::Binary {
            op,
            lhs: Box::new(l),
            rhs: Box::new(r),
        },
        ty,
    )
}
fn cast(e: Expr, to: Ty) -> Expr {
    ex(ExprKind::Cast(Box::new(e)), to)
}
fn call(f: u32, args: Vec<Expr>, ret: Ty) -> Expr {
    ex(
        ExprKind::Call {
            func: FuncId(f),
            args,
        },
        Ty::Result(Box::new(ret)),
    )
}
fn raw(e: Expr) -> Expr {
    let Ty::Result(t) = e.ty.clone() else {
        panic!("raw of non-result")
    };
    ex(ExprKind::Raw(Box::new(e)), *t)
}
fn field(e: Expr, field: ResultField) -> Expr {
    let ty = match field {
        ResultField::IsError => Ty::Bool,
        ResultField::Error => I32,
        ResultField::Value => match &e.ty {
            Ty::Result(t) => (**t).clone(),
            _ => panic!("field of non-result"),
        },
    };
    ex(
        ExprKind::ResultField {
            expr: Box::new(e),
            field,
        },
        ty,
    )
}
fn builtin(b: Builtin, args: Vec<Expr>, ty: Ty) -> Expr {
    ex(ExprKind::Builtin { builtin: b, args }, ty)
}
fn println(e: Expr) -> Stmt {
    st(StmtKind::Expr(builtin(Builtin::Println, vec![e], Ty::Nil)))
}
fn st(kind: StmtKind) -> Stmt {
    Stmt { kind, span: SP }
}
fn blk(stmts: Vec<Stmt>) -> Block {
    Block { stmts, span: SP }
}

/// Builds one function: declares locals, then the body.
struct FnB {
    name: String,
    ret: Ty,
    locals: Vec<Local>,
    params: Vec<LocalId>,
}

impl FnB {
    fn new(name: &str, ret: Ty) -> FnB {
        FnB {
            name: name.to_string(),
            ret,
            locals: Vec::new(),
            params: Vec::new(),
        }
    }
    fn add(&mut self, name: &str, ty: Ty, kind: LocalKind, addr: bool) -> (LocalId, Ty) {
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(Local {
            name: name.to_string(),
            ty: ty.clone(),
            region: None,
            fixed: false,
            address_taken: addr,
            kind,
            span: SP,
        });
        (id, ty)
    }
    fn param(&mut self, name: &str, ty: Ty) -> Expr {
        let (id, ty) = self.add(name, ty, LocalKind::Param, false);
        self.params.push(id);
        ex(ExprKind::Local(id), ty)
    }
    fn var(&mut self, name: &str, ty: Ty) -> (LocalId, Expr) {
        let (id, ty) = self.add(name, ty, LocalKind::Let, false);
        (id, ex(ExprKind::Local(id), ty))
    }
    fn addr_var(&mut self, name: &str, ty: Ty) -> (LocalId, Expr) {
        let (id, ty) = self.add(name, ty, LocalKind::Let, true);
        (id, ex(ExprKind::Local(id), ty))
    }
    fn counter(&mut self, ty: Ty) -> (LocalId, Expr) {
        let (id, ty) = self.add("$", ty, LocalKind::LoopCounter, false);
        (id, ex(ExprKind::Local(id), ty))
    }
    fn finish(self, body: Vec<Stmt>) -> Func {
        Func {
            name: self.name,
            name_span: SP,
            span: SP,
            module: crate::source::FileId(0),
            params: self.params,
            ret: self.ret,
            locals: self.locals,
            body: blk(body),
        }
    }
}

fn let_(id: LocalId, init: Expr) -> Stmt {
    st(StmtKind::Let { local: id, init })
}
fn set(id: LocalId, ty: Ty, op: Option<BinOp>, value: Expr) -> Stmt {
    st(StmtKind::Assign {
        place: Place {
            kind: PlaceKind::Local(id),
            ty,
            span: SP,
        },
        op,
        value,
    })
}
fn exit(e: Expr) -> Stmt {
    st(StmtKind::Exit(e))
}

/// `failsafe(err)`: prints `failsafe <err>` and exits with 100 + err.
fn failsafe() -> Func {
    let mut f = FnB::new("failsafe", I32);
    let err = f.param("err", I32);
    f.finish(vec![
        st(StmtKind::Expr(builtin(
            Builtin::Println,
            vec![ex(
                ExprKind::Template(vec![
                    TemplatePart::Text("failsafe ".into()),
                    TemplatePart::Expr(err.clone()),
                ]),
                Ty::Str,
            )],
            Ty::Nil,
        ))),
        st(StmtKind::Pass(Some(bin(BinOp::Add, i32c(100), err)))),
    ])
}

/// A program whose function 0 is `main` and function 1 is `failsafe`.
fn program(main: Func, mut others: Vec<Func>) -> Program {
    let mut funcs = vec![main, failsafe()];
    funcs.append(&mut others);
    Program {
        funcs,
        externs: Vec::new(),
        main: Some(FuncId(0)),
        failsafe: Some(FuncId(1)),
        auto_release: Vec::new(),
    }
}

// ---- tests -----------------------------------------------------------------

#[test]
fn exit_status_is_the_exit_code() {
    let m = FnB::new("main", I32).finish(vec![exit(i32c(42))]);
    assert_eq!(run(&program(m, vec![]), "exit42"), (42, String::new()));
}

#[test]
fn falling_off_main_exits_zero() {
    let m = FnB::new("main", I32).finish(vec![println(strc("hi"))]);
    assert_eq!(run(&program(m, vec![]), "falloff"), (0, "hi\n".into()));
}

#[test]
fn prints_ints_bools_and_templates() {
    let m = FnB::new("main", I32).finish(vec![
        println(int(-5, IntTy::I8)),
        println(int(-1, IntTy::U64)),
        println(boolc(true)),
        println(ex(
            ExprKind::Template(vec![
                TemplatePart::Text("x = ".into()),
                TemplatePart::Expr(i32c(7)),
                TemplatePart::Text(", ok = ".into()),
                TemplatePart::Expr(boolc(false)),
            ]),
            Ty::Str,
        )),
    ]);
    let (code, out) = run(&program(m, vec![]), "print");
    assert_eq!(code, 0);
    assert_eq!(out, "-5\n18446744073709551615\ntrue\nx = 7, ok = false\n");
}

#[test]
fn arithmetic_wraps_and_division_is_signedness_correct() {
    let m = FnB::new("main", I32).finish(vec![
        // 127i8 + 1i8 == -128
        println(bin(BinOp::Add, int(127, IntTy::I8), int(1, IntTy::I8))),
        // 200u8 + 100u8 == 44
        println(bin(BinOp::Add, int(200, IntTy::U8), int(100, IntTy::U8))),
        println(bin(BinOp::Div, i32c(-7), i32c(2))),
        println(bin(BinOp::Rem, i32c(-7), i32c(2))),
        // 0xffffffffu32 / 2 (unsigned)
        println(bin(BinOp::Div, int(-1, IntTy::U32), int(2, IntTy::U32))),
        // MIN / -1 wraps to MIN, MIN % -1 is 0
        println(bin(BinOp::Div, i32c(i64::from(i32::MIN)), i32c(-1))),
        println(bin(BinOp::Rem, i32c(i64::from(i32::MIN)), i32c(-1))),
        // -16 >> 2 arithmetic, 0xf0u8 >> 4 logical, shift count masked
        println(bin(BinOp::Shr, i32c(-16), i32c(2))),
        println(bin(BinOp::Shr, int(0xf0, IntTy::U8), int(4, IntTy::U8))),
        println(bin(BinOp::Shl, i32c(1), i32c(33))),
    ]);
    let (code, out) = run(&program(m, vec![]), "arith");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "-128\n44\n-3\n-1\n2147483647\n-2147483648\n0\n-4\n15\n2\n"
    );
}

#[test]
fn comparisons_use_operand_signedness() {
    let m = FnB::new("main", I32).finish(vec![
        println(bin(BinOp::Lt, i32c(-1), i32c(1))),
        println(bin(BinOp::Lt, int(-1, IntTy::U32), int(1, IntTy::U32))),
        println(bin(BinOp::Ge, int(-128, IntTy::I8), int(127, IntTy::I8))),
    ]);
    let (_, out) = run(&program(m, vec![]), "cmp");
    assert_eq!(out, "true\nfalse\nfalse\n");
}

#[test]
fn casts_extend_by_source_signedness_and_truncate() {
    let m = FnB::new("main", I32).finish(vec![
        println(cast(int(-1, IntTy::I8), Ty::Int(IntTy::U32))),
        println(cast(int(255, IntTy::U8), Ty::Int(IntTy::I64))),
        println(cast(int(0x1234_5678, IntTy::I64), Ty::Int(IntTy::U8))),
        println(cast(int(300, IntTy::I32), Ty::Int(IntTy::I8))),
        println(cast(boolc(true), I32)),
    ]);
    let (_, out) = run(&program(m, vec![]), "casts");
    assert_eq!(out, "4294967295\n255\n120\n44\n1\n");
}

#[test]
fn division_by_zero_calls_failsafe_and_exits_with_its_value() {
    let mut f = FnB::new("main", I32);
    let (z, zv) = f.var("z", I32);
    let m = f.finish(vec![
        let_(z, i32c(0)),
        println(bin(BinOp::Div, i32c(10), zv)),
        println(strc("not reached")),
    ]);
    assert_eq!(
        run(&program(m, vec![]), "divzero"),
        (101, "failsafe 1\n".into())
    );
}

#[test]
fn recursion_through_results() {
    // fact(n) = n <= 1 ? 1 : n * raw fact(n - 1)
    let mut f = FnB::new("fact", Ty::Int(IntTy::I64));
    let n = f.param("n", Ty::Int(IntTy::I64));
    let i64c = |v| int(v, IntTy::I64);
    let fact = f.finish(vec![
        st(StmtKind::If {
            cond: bin(BinOp::Le, n.clone(), i64c(1)),
            then_block: blk(vec![st(StmtKind::Pass(Some(i64c(1))))]),
            else_block: None,
        }),
        st(StmtKind::Pass(Some(bin(
            BinOp::Mul,
            n.clone(),
            raw(call(
                2,
                vec![bin(BinOp::Sub, n, i64c(1))],
                Ty::Int(IntTy::I64),
            )),
        )))),
    ]);
    let m = FnB::new("main", I32).finish(vec![println(raw(call(
        2,
        vec![i64c(20)],
        Ty::Int(IntTy::I64),
    )))]);
    let ((_, out), inlined) = run_both(&program(m, vec![fact]), "fact");
    assert_eq!(out, "2432902008176640000\n");
    assert_eq!(inlined, 0, "a recursive function is never inlined");
}

#[test]
fn fail_zero_is_still_an_error() {
    // f(x): if x { fail 0 } pass 5
    let mut f = FnB::new("f", I32);
    let x = f.param("x", Ty::Bool);
    let fid = f.finish(vec![
        st(StmtKind::If {
            cond: x,
            then_block: blk(vec![st(StmtKind::Fail(i32c(0)))]),
            else_block: None,
        }),
        st(StmtKind::Pass(Some(i32c(5)))),
    ]);
    let mut m = FnB::new("main", I32);
    let (r, rv) = m.var("r", Ty::Result(Box::new(I32)));
    let (r2, rv2) = m.var("r2", Ty::Result(Box::new(I32)));
    let main = m.finish(vec![
        let_(r, call(2, vec![boolc(true)], I32)),
        println(field(rv.clone(), ResultField::IsError)),
        println(field(rv.clone(), ResultField::Error)),
        println(field(rv.clone(), ResultField::Value)),
        let_(r2, call(2, vec![boolc(false)], I32)),
        println(field(rv2.clone(), ResultField::IsError)),
        println(field(rv2, ResultField::Value)),
        println(ex(
            ExprKind::OrElse {
                expr: Box::new(call(2, vec![boolc(true)], I32)),
                default: Box::new(i32c(9)),
            },
            I32,
        )),
    ]);
    let ((_, out), inlined) = run_both(&program(main, vec![fid]), "failzero");
    assert_eq!(out, "true\n0\n0\nfalse\n5\n9\n");
    assert_eq!(inlined, 3, "each call of the small `f` is inlined");
}

#[test]
fn defers_run_lifo_after_the_pass_value_is_computed() {
    // f(): x = 1; defer { println("outer") }; { defer { println("inner") }; pass g(x) }
    // where g prints "value".
    let mut g = FnB::new("g", I32);
    let gp = g.param("v", I32);
    let g = g.finish(vec![println(strc("value")), st(StmtKind::Pass(Some(gp)))]);
    let mut f = FnB::new("f", I32);
    let (x, xv) = f.var("x", I32);
    let f = f.finish(vec![
        let_(x, i32c(1)),
        st(StmtKind::Defer(blk(vec![println(strc("outer 1"))]))),
        st(StmtKind::Defer(blk(vec![println(strc("outer 2"))]))),
        st(StmtKind::Block(blk(vec![
            st(StmtKind::Defer(blk(vec![println(strc("inner"))]))),
            st(StmtKind::Pass(Some(raw(call(3, vec![xv], I32))))),
        ]))),
    ]);
    let main = FnB::new("main", I32).finish(vec![
        st(StmtKind::Defer(blk(vec![println(strc("main defer"))]))),
        exit(raw(call(2, vec![], I32))),
    ]);
    let ((code, out), inlined) = run_both(&program(main, vec![f, g]), "defers");
    assert_eq!(code, 1);
    assert_eq!(out, "value\ninner\nouter 2\nouter 1\nmain defer\n");
    assert_eq!(inlined, 2, "g into f, then f (with g) into main");
}

#[test]
fn loops_break_continue_and_defers() {
    // while (i < 10) { i += 1; defer { sum += 100 }; if (i == 3) continue; if (i == 6) break; sum += i }
    let mut f = FnB::new("main", I32);
    let (i, iv) = f.var("i", I32);
    let (s, sv) = f.var("sum", I32);
    let body = blk(vec![
        set(i, I32, Some(BinOp::Add), i32c(1)),
        st(StmtKind::Defer(blk(vec![set(
            s,
            I32,
            Some(BinOp::Add),
            i32c(100),
        )]))),
        st(StmtKind::If {
            cond: bin(BinOp::Eq, iv.clone(), i32c(3)),
            then_block: blk(vec![st(StmtKind::Continue)]),
            else_block: None,
        }),
        st(StmtKind::If {
            cond: bin(BinOp::Eq, iv.clone(), i32c(6)),
            then_block: blk(vec![st(StmtKind::Break)]),
            else_block: None,
        }),
        set(s, I32, Some(BinOp::Add), iv.clone()),
    ]);
    let m = f.finish(vec![
        let_(i, i32c(0)),
        let_(s, i32c(0)),
        st(StmtKind::While {
            cond: bin(BinOp::Lt, iv, i32c(10)),
            body,
            step: None,
        }),
        println(sv),
    ]);
    let (_, out) = run(&program(m, vec![]), "while");
    // i = 1,2,4,5 add themselves (12), six iterations each add 100.
    assert_eq!(out, "612\n");
}

#[test]
fn counted_loops_follow_the_step_sign() {
    // loop(10, 0, -3) prints 10 7 4 1; loop(0, 5, 0) runs nothing; till(3, 1) 0 1 2
    let mut f = FnB::new("main", I32);
    let (c1, c1v) = f.counter(I32);
    let (c2, c2v) = f.counter(I32);
    let (c3, c3v) = f.counter(Ty::Int(IntTy::U8));
    let counted = |counter, start, limit, step, print: Expr| {
        st(StmtKind::Loop {
            counter,
            start,
            limit,
            step,
            body: blk(vec![st(StmtKind::Expr(builtin(
                Builtin::Print,
                vec![print],
                Ty::Nil,
            )))]),
        })
    };
    let m = f.finish(vec![
        counted(c1, i32c(10), i32c(0), i32c(-3), c1v),
        counted(c2, i32c(0), i32c(5), i32c(0), c2v),
        counted(
            c3,
            int(0, IntTy::U8),
            int(3, IntTy::U8),
            int(1, IntTy::U8),
            c3v,
        ),
        println(strc("")),
    ]);
    let (_, out) = run(&program(m, vec![]), "counted");
    assert_eq!(out, "10741012\n");
}

#[test]
fn pointers_index_scaled_by_pointee_and_address_of() {
    // p = alloc(16) as int32->; p[0] = 5; p[3] = 7; <-p += p[3]; x = 1; q = @x; <-q = 9
    let ptr_i32 = Ty::Ptr(Box::new(I32));
    let mut f = FnB::new("main", I32);
    let (p, pv) = f.var("p", ptr_i32.clone());
    let (x, xv) = f.addr_var("x", I32);
    let (q, qv) = f.var("q", ptr_i32.clone());
    let index = |i: i64| Place {
        kind: PlaceKind::Index {
            base: Box::new(pv.clone()),
            index: Box::new(int(i, IntTy::I64)),
        },
        ty: I32,
        span: SP,
    };
    let deref = |e: Expr| Place {
        kind: PlaceKind::Deref(Box::new(e)),
        ty: I32,
        span: SP,
    };
    let store = |place, op, value| st(StmtKind::Assign { place, op, value });
    let m = f.finish(vec![
        let_(
            p,
            builtin(Builtin::Alloc, vec![int(16, IntTy::I64)], ptr_i32.clone()),
        ),
        store(index(0), None, i32c(5)),
        store(index(3), None, i32c(7)),
        store(
            deref(pv.clone()),
            Some(BinOp::Add),
            ex(ExprKind::Load(Box::new(index(3))), I32),
        ),
        println(ex(ExprKind::Load(Box::new(index(0))), I32)),
        // byte 12 of the block holds p[3]
        println(ex(
            ExprKind::Load(Box::new(Place {
                kind: PlaceKind::Index {
                    base: Box::new(cast(pv.clone(), Ty::Ptr(Box::new(Ty::Int(IntTy::U8))))),
                    index: Box::new(i32c(12)),
                },
                ty: Ty::Int(IntTy::U8),
                span: SP,
            })),
            Ty::Int(IntTy::U8),
        )),
        st(StmtKind::Expr(builtin(Builtin::Free, vec![pv], Ty::Nil))),
        let_(x, i32c(1)),
        let_(q, ex(ExprKind::AddrOf(x), ptr_i32)),
        store(deref(qv), None, i32c(9)),
        println(xv),
    ]);
    let (_, out) = run(&program(m, vec![]), "pointers");
    assert_eq!(out, "12\n7\n9\n");
}

#[test]
fn short_circuit_and_conditional_expression() {
    // f() prints "side" and passes true; false && raw f() must not print.
    let f = FnB::new("side", Ty::Bool).finish(vec![
        println(strc("side")),
        st(StmtKind::Pass(Some(boolc(true)))),
    ]);
    let m = FnB::new("main", I32).finish(vec![
        println(bin(
            BinOp::And,
            boolc(false),
            raw(call(2, vec![], Ty::Bool)),
        )),
        println(bin(BinOp::Or, boolc(true), raw(call(2, vec![], Ty::Bool)))),
        println(bin(BinOp::Or, boolc(false), raw(call(2, vec![], Ty::Bool)))),
        println(ex(
            ExprKind::Cond {
                cond: Box::new(bin(BinOp::Gt, i32c(3), i32c(2))),
                then_expr: Box::new(i32c(10)),
                else_expr: Box::new(i32c(20)),
            },
            I32,
        )),
        println(ex(
            ExprKind::Unary {
                op: UnOp::Not,
                expr: Box::new(boolc(false)),
            },
            Ty::Bool,
        )),
        println(ex(
            ExprKind::Unary {
                op: UnOp::BitNot,
                expr: Box::new(int(0, IntTy::U8)),
            },
            Ty::Int(IntTy::U8),
        )),
        println(ex(
            ExprKind::Unary {
                op: UnOp::Neg,
                expr: Box::new(i32c(4)),
            },
            I32,
        )),
    ]);
    let (_, out) = run(&program(m, vec![f]), "shortcircuit");
    assert_eq!(out, "false\ntrue\nside\ntrue\n10\ntrue\n255\n-4\n");
}

#[test]
fn externs_use_the_c_abi_with_extension_and_string_pointers() {
    let m = FnB::new("main", I32).finish(vec![exit(ex(
        ExprKind::CallExtern {
            ext: ExternId(0),
            args: vec![
                int(-1, IntTy::I8),
                int(0xffff, IntTy::U16),
                int(-65536, IntTy::I64),
                strc("A"),
            ],
        },
        I32,
    ))]);
    let mut prog = program(m, vec![]);
    let param = |name: &str, ty| ExternParam {
        name: name.into(),
        ty,
        region: None,
    };
    prog.externs.push(Extern {
        name: "stub_mix".into(),
        span: SP,
        params: vec![
            param("a", Ty::Int(IntTy::I8)),
            param("b", Ty::Int(IntTy::U16)),
            param("c", Ty::Int(IntTy::I64)),
            param("s", Ty::Str),
        ],
        ret: I32,
    });
    // -1 + 65535 - 65536 + 'A' (65) = 63
    assert_eq!(run(&prog, "extern").0, 63);
}

#[test]
fn namespaced_functions_are_mangled_apart_from_c_symbols() {
    let f = FnB::new("Jit.free", I32).finish(vec![st(StmtKind::Pass(Some(i32c(3))))]);
    let m = FnB::new("main", I32).finish(vec![exit(raw(call(2, vec![], I32)))]);
    let prog = program(m, vec![f]);
    let object = super::compile(&prog).expect("codegen succeeds");
    let has = |needle: &[u8]| object.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"npk_u_Jit__free\0"));
    assert!(has(b"main\0"));
    assert_eq!(run(&prog, "mangle").0, 3);
}

#[test]
fn a_program_without_main_is_refused() {
    let prog = Program {
        funcs: vec![],
        externs: vec![],
        main: None,
        failsafe: None,
        auto_release: Vec::new(),
    };
    assert_eq!(super::compile(&prog), Err(super::CodegenError::NoMain));
}

#[test]
fn a_fault_inside_failsafe_exits_with_the_fault_code() {
    // failsafe divides by zero itself: no recursion, exit status 1.
    let mut fs = FnB::new("failsafe", I32);
    let err = fs.param("err", I32);
    let fs = fs.finish(vec![
        println(strc("in failsafe")),
        st(StmtKind::Pass(Some(bin(BinOp::Div, err, i32c(0))))),
    ]);
    let mut m = FnB::new("main", I32);
    let (z, zv) = m.var("z", I32);
    let main = m.finish(vec![let_(z, i32c(0)), exit(bin(BinOp::Rem, i32c(5), zv))]);
    let mut prog = program(main, vec![]);
    prog.funcs[1] = fs;
    assert_eq!(run(&prog, "nestedfault"), (1, "in failsafe\n".into()));
}

#[test]
fn functions_unreachable_from_main_are_not_compiled() {
    // `unused` calls an extern that no library defines: the link must not
    // see it, because nothing reachable from main or failsafe calls `unused`.
    let unused = FnB::new("unused", I32).finish(vec![st(StmtKind::Pass(Some(ex(
        ExprKind::CallExtern {
            ext: ExternId(0),
            args: vec![],
        },
        I32,
    ))))]);
    let main = FnB::new("main", I32).finish(vec![exit(i32c(5))]);
    let mut prog = program(main, vec![unused]);
    prog.externs.push(Extern {
        name: "no_such_symbol_anywhere".into(),
        span: SP,
        params: vec![],
        ret: I32,
    });
    let object = super::compile(&prog).expect("codegen succeeds");
    let has = |needle: &[u8]| object.windows(needle.len()).any(|w| w == needle);
    assert!(!has(b"npk_u_unused"));
    assert!(!has(b"no_such_symbol_anywhere"));
    assert_eq!(run(&prog, "unreachable").0, 5);
}

#[test]
fn inlined_calls_keep_results_defaults_defers_and_faults() {
    // h(x): defer println("h done"); if (x > 2) fail x; pass x * 10
    let mut h = FnB::new("h", I32);
    let x = h.param("x", I32);
    let h = h.finish(vec![
        st(StmtKind::Defer(blk(vec![println(strc("h done"))]))),
        st(StmtKind::If {
            cond: bin(BinOp::Gt, x.clone(), i32c(2)),
            then_block: blk(vec![st(StmtKind::Fail(x.clone()))]),
            else_block: None,
        }),
        st(StmtKind::Pass(Some(bin(BinOp::Mul, x, i32c(10))))),
    ]);
    // dflt(): println("default"); pass -1   (the `?` default, a call itself)
    let dflt = FnB::new("dflt", I32).finish(vec![
        println(strc("default")),
        st(StmtKind::Pass(Some(i32c(-1)))),
    ]);
    // slot(v): an address-taken local, written through its address.
    let mut sl = FnB::new("slot", I32);
    let v = sl.param("v", I32);
    let (cell, cellv) = sl.addr_var("cell", I32);
    let addr = ex(ExprKind::AddrOf(cell), Ty::Ptr(Box::new(I32)));
    let sl = sl.finish(vec![
        let_(cell, i32c(0)),
        st(StmtKind::Assign {
            place: Place {
                kind: PlaceKind::Deref(Box::new(addr)),
                ty: I32,
                span: SP,
            },
            op: None,
            value: bin(BinOp::Add, v, i32c(1)),
        }),
        st(StmtKind::Pass(Some(cellv))),
    ]);
    // quot(d): pass 100 / d   (a fault inside an inlined body)
    let mut q = FnB::new("quot", I32);
    let d = q.param("d", I32);
    let q = q.finish(vec![st(StmtKind::Pass(Some(bin(
        BinOp::Div,
        i32c(100),
        d,
    ))))]);
    // main: loop i in 0..5: println(h(i) ? dflt()); println(raw slot(i));
    //       println(h(7).error); println(h(1).is_error); exit raw quot(i - 5)
    let mut m = FnB::new("main", I32);
    let (i, iv) = m.counter(I32);
    let or_else = |e: Expr, d: Expr| {
        ex(
            ExprKind::OrElse {
                expr: Box::new(e),
                default: Box::new(d),
            },
            I32,
        )
    };
    let main = m.finish(vec![
        st(StmtKind::Loop {
            counter: i,
            start: i32c(0),
            limit: i32c(5),
            step: i32c(1),
            body: blk(vec![
                println(or_else(
                    call(2, vec![iv.clone()], I32),
                    raw(call(3, vec![], I32)),
                )),
                println(raw(call(4, vec![iv], I32))),
            ]),
        }),
        println(field(call(2, vec![i32c(7)], I32), ResultField::Error)),
        println(field(call(2, vec![i32c(1)], I32), ResultField::IsError)),
        exit(raw(call(5, vec![i32c(0)], I32))),
    ]);
    let ((code, out), inlined) = run_both(&program(main, vec![h, dflt, sl, q]), "inlsem");
    let mut want = String::new();
    for i in 0..5 {
        want.push_str("h done\n");
        if i > 2 {
            want.push_str("default\n-1\n");
        } else {
            want.push_str(&format!("{}\n", i * 10));
        }
        want.push_str(&format!("{}\n", i + 1));
    }
    want.push_str("h done\n7\nh done\nfalse\nfailsafe 1\n");
    assert_eq!(out, want);
    assert_eq!(code, 101, "the division fault reaches failsafe");
    assert!(inlined >= 6, "the small callees were inlined ({inlined})");
}

#[test]
fn a_large_callee_is_not_inlined() {
    // big(): 30 printlns: more CLIF instructions than the default limit.
    let body: Vec<Stmt> = (0..30)
        .map(|k| println(i32c(k)))
        .chain([st(StmtKind::Pass(Some(i32c(3))))])
        .collect();
    let big = FnB::new("big", I32).finish(body);
    let main = FnB::new("main", I32).finish(vec![exit(raw(call(2, vec![], I32)))]);
    let ((code, out), inlined) = run_both(&program(main, vec![big]), "big");
    assert_eq!(code, 3);
    assert_eq!(out.lines().count(), 30);
    assert_eq!(inlined, 0);
}

#[test]
fn threading_keeps_values_used_after_the_join() {
    // half(x): if (x % 2 != 0) fail 7; pass x / 2 — inlined with constant
    // arguments, the remainder's and the result's blocks define values used
    // in later blocks, which threading must not bypass.
    let mut h = FnB::new("half", I32);
    let x = h.param("x", I32);
    let half = h.finish(vec![
        st(StmtKind::If {
            cond: bin(BinOp::Ne, bin(BinOp::Rem, x.clone(), i32c(2)), i32c(0)),
            then_block: blk(vec![st(StmtKind::Fail(i32c(7)))]),
            else_block: None,
        }),
        st(StmtKind::Pass(Some(bin(BinOp::Div, x, i32c(2))))),
    ]);
    let mut m = FnB::new("main", I32);
    let (a, av) = m.var("a", Ty::Result(Box::new(I32)));
    let (b, bv) = m.var("b", Ty::Result(Box::new(I32)));
    let main = m.finish(vec![
        let_(a, call(2, vec![i32c(42)], I32)),
        let_(b, call(2, vec![i32c(7)], I32)),
        println(field(av.clone(), ResultField::IsError)),
        println(field(av, ResultField::Value)),
        println(field(bv.clone(), ResultField::IsError)),
        println(field(bv, ResultField::Error)),
    ]);
    let ((_, out), inlined) = run_both(&program(main, vec![half]), "threadjoin");
    assert_eq!(out, "false\n21\ntrue\n7\n");
    assert_eq!(inlined, 2);
}
