//! Signature parsing, printing and tags.

use npk_jit::{SigType, Signature};

fn sig(s: &str) -> Signature {
    s.parse().unwrap_or_else(|e| panic!("`{s}`: {e}"))
}

#[test]
fn add_i32_tag_is_0x1121() {
    assert_eq!(sig("int32(int32,int32)").tag(), 0x1121);
}

#[test]
fn tag_encodes_return_count_and_each_parameter() {
    assert_eq!(sig("int64()").tag(), 0x02);
    assert_eq!(sig("int64(int64)").tag(), 0x212);
    assert_eq!(sig("uint64(uint32,int64,ptr)").tag(), 0x52334);
    assert_eq!(
        sig("int32(int32,int32,int32,int32,int32,int32)").tag(),
        0x1111_1161
    );
}

#[test]
fn whitespace_is_tolerated() {
    assert_eq!(
        sig("  int64 ( int64 ,\tint64 ) "),
        sig("int64(int64,int64)")
    );
}

#[test]
fn pointer_spellings_are_all_pointer() {
    for s in ["ptr", "pointer", "int8*", "void *", "int64->", "uint8 ->"] {
        let t = sig(&format!("int32({s})"));
        assert_eq!(
            t.params().collect::<Vec<_>>(),
            vec![SigType::Pointer],
            "{s}"
        );
    }
}

#[test]
fn display_round_trips() {
    for s in ["int32(int32,int32)", "uint64()", "int64(ptr,uint32)"] {
        assert_eq!(sig(s).to_string(), s);
        assert_eq!(sig(&sig(s).to_string()), sig(s));
    }
}

#[test]
fn bad_signatures_name_the_problem_and_position() {
    let cases = [
        ("int64", "expected `(`", 5),
        ("(int64)", "missing return type", 0),
        ("float(int32)", "unknown type `float`", 0),
        ("int32(int32", "missing closing", 11),
        ("int32(int32,)", "empty parameter", 12),
        ("int32(int32, bool)", "unknown type `bool`", 13),
        ("int32() x", "unexpected `x`", 8),
        (
            "int32(int32,int32,int32,int32,int32,int32,int32)",
            "at most 6",
            5,
        ),
    ];
    for (text, needle, at) in cases {
        let e = text.parse::<Signature>().expect_err(text);
        assert!(e.to_string().contains(needle), "`{text}`: {e}");
        assert_eq!(e.offset(), at, "`{text}`: {e}");
    }
}

#[test]
fn too_many_parameters_via_new_is_an_error() {
    assert!(Signature::new(SigType::Int32, &[SigType::Int32; 7]).is_err());
    assert!(Signature::new(SigType::Int32, &[SigType::Int32; 6]).is_ok());
}

#[test]
fn parameter_names_document_but_do_not_identify() {
    let named = sig("int64(int64 a, int64 b)");
    assert_eq!(named, sig("int64(int64,int64)"));
    assert_eq!(named.tag(), sig("int64(int64,int64)").tag());
    assert_eq!(named.to_string(), "int64(int64,int64)");
    assert_eq!(sig("int32(int8* p, uint32 n_2)"), sig("int32(ptr,uint32)"));
    assert_eq!(sig("int32(int8 * p)"), sig("int32(ptr)"));
}

#[test]
fn bad_names_are_named_with_their_position() {
    let e = "int64(int64 a, int64 a)"
        .parse::<Signature>()
        .expect_err("twice");
    assert_eq!(e.offset(), 21);
    assert!(e.to_string().contains("`a` is named twice"), "{e}");
    let e = "int64(int64 int64)"
        .parse::<Signature>()
        .expect_err("comma");
    assert!(e.to_string().contains("expected `,` before `int64`"), "{e}");
    let e = "int64(int64 2a)"
        .parse::<Signature>()
        .expect_err("not a name");
    assert!(e.to_string().contains("unknown type `int64 2a`"), "{e}");
    let e = "int64(int64* xs[m], int64 n)"
        .parse::<Signature>()
        .expect_err("unknown extent");
    assert_eq!(e.offset(), 16);
    assert!(e.to_string().contains("`m` is not a parameter name"), "{e}");
}

#[test]
fn buffers_parse_with_extents_and_mut() {
    use npk_jit::{Buffer, Elem, Extent, Param};
    let s = sig("int64(int64* xs[n], int64 n)");
    assert_eq!(
        s.param(0),
        Some(Param::Buffer(Buffer {
            elem: Elem::Int64,
            extent: Extent::Param(1),
            mutable: false
        }))
    );
    assert_eq!(s.canonical(), "int64(int64*[#1],int64)");
    let s = sig("NIL(mut int64* out[8], int64 x)"
        .replace("NIL", "int64")
        .as_str());
    assert_eq!(s.canonical(), "int64(mut int64*[8],int64)");
    let s = sig("int64(uint8* s[len], int64 len, int32 c)");
    assert_eq!(s.canonical(), "int64(uint8*[#1],int64,int32)");
    // Extents may name a later or an earlier parameter; `->` spells a pointer.
    assert_eq!(
        sig("int64(uint64 n, uint16-> a[n])").canonical(),
        "int64(uint64,uint16*[#0])"
    );
    assert_eq!(sig(&s.canonical()), s, "canonical text parses back");
}

#[test]
fn buffer_identity_covers_everything_but_names() {
    let base = sig("int64(int64* xs[n], int64 n)");
    assert_eq!(base, sig("int64(int64 *ys[ count ], int64 count)"));
    for other in [
        "int64(mut int64* xs[n], int64 n)",
        "int64(int32* xs[n], int64 n)",
        "int64(uint64* xs[n], int64 n)",
        "int64(int64* xs[8], int64 n)",
        "int64(int64* xs[n], uint64 n)",
        "int64(int64 xs, int64 n)",
    ] {
        assert_ne!(sig(other), base, "{other}");
        assert_ne!(sig(other).canonical(), base.canonical(), "{other}");
    }
}

#[test]
fn bad_buffers_name_the_problem_and_position() {
    let cases = [
        (
            "int64(int64* xs[n], int32 n)",
            "must be an int64 or uint64",
            16,
        ),
        ("int64(int64* xs[], int64 n)", "expected an extent", 16),
        (
            "int64(int64* 2x[n], int64 n)",
            "bad parameter name `2x`",
            13,
        ),
        ("int64(int64 xs[n], int64 n)", "expected a pointer type", 6),
        (
            "int64(float* xs[n], int64 n)",
            "unknown element type `float`",
            6,
        ),
        ("int64(int64* xs[n, int64 n)", "expected `]`", 17),
        ("int64(mut int64 n)", "`mut` applies only", 6),
        ("int64(int64* xs[1099511627777])", "too large", 16),
        ("int64(int64* xs[2x])", "bad extent `2x`", 16),
        ("int64(int64 x) uses", "unexpected `uses`", 15),
        ("int64(int64 x) uses a,", "expected a helper name", 22),
        ("int64(int64 x) uses a, a", "named twice", 23),
        ("int64(int64 x) uses 9a", "not a helper name", 20),
        ("int64(int64 x) calls a", "expected `uses NAME, ...`", 15),
        ("int64(NIL x)", "only a return type", 6),
    ];
    for (text, needle, at) in cases {
        let e = text.parse::<Signature>().expect_err(text);
        assert!(e.to_string().contains(needle), "`{text}`: {e}");
        assert_eq!(e.offset(), at, "`{text}`: {e}");
    }
}

#[test]
fn uses_names_helpers_in_order_and_is_part_of_the_identity() {
    let s = sig("int64(int64 x) uses print_i64, copy");
    assert_eq!(s.uses(), vec!["print_i64".to_string(), "copy".to_string()]);
    assert_eq!(s.canonical(), "int64(int64) uses print_i64,copy");
    assert_eq!(sig(&s.canonical()), s, "canonical text parses back");
    assert_ne!(s, sig("int64(int64 x) uses copy, print_i64"), "order matters");
    assert_ne!(s, sig("int64(int64 x)"));
    let plain = sig("int64(int64)");
    assert_eq!(plain.identity(), Ok(plain.tag()));
    let id = s.identity().expect("room");
    assert_ne!(id, plain.tag(), "imports are part of the identity");
    assert_eq!(Signature::from_identity(id), Some(s));
    let nine = "int64() uses a,b,c,d,e,f,g,h,i";
    assert!(nine.parse::<Signature>().unwrap_err().to_string().contains("at most 8"));
}
