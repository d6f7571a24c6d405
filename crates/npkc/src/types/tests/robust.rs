//! The checker never panics, and every code it can emit is explained.

use proptest::prelude::*;

use crate::diagnostic::Problems;
use crate::modules::{Loaded, LoadedModule};
use crate::parser::parse_module;
use crate::source::FileId;

/// Source fragments to splice, so that generated programs reach deep into
/// the checker instead of stopping at the parser.
const PIECES: &[&str] = &[
    "func:f = int32(int32:a) { ",
    "func:main = int32() { ",
    "func:failsafe = int32(tbb32:err) { ",
    "Type:N = { func:g = NIL() { ",
    "extern func:c = ?*(int8*:p);",
    "}; ",
    "}; };",
    "int64:x = ",
    "wild uint8->:p = alloc(8); ",
    "Result<int32>:r = f(1); ",
    "r.value",
    "raw f(",
    "N.g()",
    "$",
    "@x",
    "<-p",
    "p[1]",
    "x => int8",
    "NULL",
    "-128i8",
    "300",
    "'a'",
    " + ",
    " == ",
    " && ",
    "true",
    "`v = &{x}`",
    "(",
    ")",
    ", ",
    "; ",
    "pass x; ",
    "fail 1; ",
    "exit 0; ",
    "break; ",
    "loop(0, x, 1) { ",
    "till(3, 1) { ",
    "for (int32:i = 0; i < 3; i += 1) { ",
    "if (x) { ",
    "} else { ",
    "defer { ",
    "} ",
    "x = ",
    "println(",
    "drop ",
    "is (true) : 1 : ",
    " ? 0",
];

fn run(src: &str) {
    let mut problems = Problems::new();
    let module = parse_module(FileId(0), src, &mut problems);
    let loaded = Loaded {
        drop_stdlib: None,
        root: FileId(0),
        modules: vec![LoadedModule {
            module,
            imports: vec![FileId(0), FileId(7)],
            is_stdlib: false,
        }],
    };
    let program = super::super::check(&loaded, &mut problems);
    assert_eq!(program.is_some(), !problems.has_errors());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn check_never_panics_on_spliced_fragments(idx in proptest::collection::vec(0..PIECES.len(), 0..40)) {
        let src: String = idx.iter().map(|&i| PIECES[i]).collect();
        run(&src);
    }

    #[test]
    fn check_never_panics_on_arbitrary_text(src in "\\PC{0,200}") {
        run(&src);
    }
}

#[test]
fn every_emitted_code_has_an_explanation() {
    let sources = [
        (
            include_str!("../../resolve/error.rs"),
            crate::resolve::EXPLANATIONS,
        ),
        (include_str!("../error.rs"), super::super::EXPLANATIONS),
    ];
    for (src, explanations) in sources {
        let code_part = src.split("pub const EXPLANATIONS").next().unwrap();
        let mut n = 0;
        for (i, _) in code_part.match_indices("\"NPK-") {
            let code = &code_part[i + 1..i + 8];
            n += 1;
            assert!(
                explanations
                    .iter()
                    .any(|(c, text)| *c == code && text.len() > 40),
                "{code} has no explanation"
            );
        }
        assert!(n >= 10, "found only {n} codes");
    }
}
