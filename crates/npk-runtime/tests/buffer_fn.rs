//! The Rust API for buffer signatures (`BufferFn`): buffers are slices, extents come from
//! slice lengths, constant extents and shared extents are checked at every call, and a Rust
//! shape that does not fit the proven signature is refused with the shape that does. Most
//! functions here never dereference their buffers (so they test the handle, not the
//! validator); the summing and filling loops do.

use npk_runtime::{BufferFn, CallError, JitArena, ShapeError, assemble};

#[test]
fn the_extent_parameter_is_the_slice_length() {
    let f = assemble("mov rax, rsi\nret", "int64(int64* xs[n], int64 n)").expect("proven");
    let len: BufferFn<(&[i64],), i64> = f.buffer_fn().expect("shape fits");
    let v: Vec<i64> = (0..1000).collect();
    assert_eq!(len.call(&v), Ok(1000));
    assert_eq!(len.call(&v[10..20]), Ok(10));
    assert_eq!(len.call(&[]), Ok(0));
    assert_eq!(len.call(&[7; 3]), Ok(3));
    assert_eq!(
        len.signature().canonical(),
        "int64(int64*[#1],int64)",
        "the proven signature"
    );
}

#[test]
fn the_buffer_pointer_is_the_slice_start() {
    let f = assemble("mov rax, rdi\nret", "uint64(uint8* s[n], int64 n)").expect("proven");
    let start: BufferFn<(&[u8],), u64> = f.buffer_fn().expect("shape fits");
    let bytes = b"hello world";
    assert_eq!(start.call(&bytes[6..]), Ok(bytes[6..].as_ptr() as u64));
}

#[test]
fn an_extent_may_come_before_its_buffer_and_scalars_keep_their_order() {
    let f = assemble("mov rax, rdi\nret", "int64(int64 n, int64* xs[n])").expect("proven");
    let len: BufferFn<(&[i64],), i64> = f.buffer_fn().expect("shape fits");
    assert_eq!(len.call(&[1, 2]), Ok(2));

    // uint64 extent, a uint32 scalar and result: len + c.
    let g = assemble(
        "lea eax, [rsi+rdx]\nret",
        "uint32(uint8* s[len], uint64 len, uint32 c)",
    )
    .expect("proven");
    let plus: BufferFn<(&[u8], u32), u32> = g.buffer_fn().expect("shape fits");
    assert_eq!(plus.call(b"abcde", 10), Ok(15));
    assert_eq!(plus.call(b"", u32::MAX), Ok(u32::MAX));

    // int32 result: only the low half of rax counts.
    let h = assemble("mov rax, -1\nret", "int32(int16* xs[n], int64 n, int32 k)").expect("proven");
    let neg: BufferFn<(&[i16], i32), i32> = h.buffer_fn().expect("shape fits");
    assert_eq!(neg.call(&[1], 0), Ok(-1));
}

#[test]
fn a_constant_extent_needs_a_slice_at_least_that_long() {
    let f = assemble("mov eax, esi\nret", "int32(mut int64* out[8], int32 x)").expect("proven");
    let put: BufferFn<(&mut [i64], i32), i32> = f.buffer_fn().expect("shape fits");
    let mut out = [0i64; 9];
    assert_eq!(put.call(&mut out[..8], 5), Ok(5));
    assert_eq!(put.call(&mut out, 6), Ok(6));
    let short = put.call(&mut out[..7], 7);
    assert_eq!(
        short,
        Err(CallError::TooShort {
            arg: 0,
            len: 7,
            extent: 8
        })
    );
    assert_eq!(
        short.expect_err("refused").to_string(),
        "argument 0 has 7 elements, the signature needs at least 8"
    );
}

#[test]
fn slices_sharing_an_extent_must_have_equal_lengths() {
    let f = assemble(
        "mov rax, rdx\nret",
        "int64(int64* a[n], mut int64* b[n], int64 n)",
    )
    .expect("proven");
    let dot: BufferFn<(&[i64], &mut [i64]), i64> = f.buffer_fn().expect("shape fits");
    let a = [1i64, 2, 3];
    let mut b = [0i64; 4];
    assert_eq!(dot.call(&a, &mut b[..3]), Ok(3));
    let differ = dot.call(&a, &mut b);
    assert_eq!(
        differ,
        Err(CallError::LengthsDiffer {
            first: 0,
            first_len: 3,
            arg: 1,
            len: 4
        })
    );
    assert_eq!(
        differ.expect_err("refused").to_string(),
        "arguments 0 and 1 share one extent but have 3 and 4 elements"
    );
}

#[test]
fn a_shape_that_does_not_fit_names_the_one_that_does() {
    let f = assemble(
        "mov rax, rsi\nret",
        "int64(mut int64* xs[n], int64 n, int32 c)",
    )
    .expect("proven");
    let cases: [(Result<(), ShapeError>, &str); 5] = [
        (
            f.buffer_fn::<(&[i64], i32), i64>().map(drop),
            "(&[i64], i32) -> i64",
        ),
        (
            f.buffer_fn::<(&mut [i32], i32), i64>().map(drop),
            "(&mut [i32], i32) -> i64",
        ),
        (
            f.buffer_fn::<(&mut [i64], i64), i64>().map(drop),
            "(&mut [i64], i64) -> i64",
        ),
        (
            f.buffer_fn::<(&mut [i64],), i64>().map(drop),
            "(&mut [i64],) -> i64",
        ),
        (
            f.buffer_fn::<(&mut [i64], i64, i32), i64>().map(drop),
            "(&mut [i64], i64, i32) -> i64",
        ),
    ];
    for (result, asked) in cases {
        let err = result.expect_err(asked);
        assert_eq!(
            err.to_string(),
            format!(
                "the function is proven for `int64(mut int64*[#1],int64,int32)`, which Rust calls as `(&mut [i64], i32) -> i64`, not `{asked}`"
            )
        );
    }
    assert!(
        f.buffer_fn::<(&mut [i64], i32), u64>().is_err(),
        "result type"
    );
    assert!(f.buffer_fn::<(&mut [i64], i32), i64>().is_ok());
}

#[test]
fn scalar_signatures_work_too() {
    let f = assemble("lea rax, [rdi+rsi]\nret", "int64(int64,int64)").expect("proven");
    let add: BufferFn<(i64, i64), i64> = f.buffer_fn().expect("shape fits");
    assert_eq!(add.call(40, 2), Ok(42));
    let g = assemble("mov eax, 7\nret", "uint32()").expect("proven");
    let seven: BufferFn<(), u32> = g.buffer_fn().expect("shape fits");
    assert_eq!(seven.call(), Ok(7));
}

#[test]
fn arena_functions_have_buffer_handles() {
    let mut arena = JitArena::new(4096).expect("arena");
    // mov rax, rsi ; ret
    let id = arena
        .compile(&[0x48, 0x89, 0xf0, 0xc3], "int64(int64* xs[n], int64 n)")
        .expect("proven");
    let mut other = JitArena::new(4096).expect("arena");
    let foreign = other
        .compile(&[0x48, 0x89, 0xf0, 0xc3], "int64(int64* xs[n], int64 n)")
        .expect("proven");
    let code = arena.seal().expect("sealed");
    let len: BufferFn<(&[i64],), i64> = code.buffer_fn(id).expect("shape fits");
    assert_eq!(len.call(&[3, 4, 5]), Ok(3));
    assert!(code.buffer_fn::<(&[u64],), i64>(id).is_err());
    assert_eq!(
        code.buffer_fn::<(&[i64],), i64>(foreign).map(drop),
        Err(ShapeError::Unproven),
        "a function of another arena"
    );
}

/// The summing loop of issue 11 through the Rust API.
#[test]
fn a_summing_loop_sums_a_slice() {
    let f = assemble(
        "xor eax, eax\nxor ecx, ecx\ntest rsi, rsi\njle done\nL: add rax, [rdi+rcx*8]\ninc rcx\ncmp rcx, rsi\njl L\ndone: ret",
        "int64(int64* xs[n], int64 n)",
    )
    .expect("the validator proves the loop");
    let sum: BufferFn<(&[i64],), i64> = f.buffer_fn().expect("shape fits");
    let v: Vec<i64> = (1..=100).collect();
    assert_eq!(sum.call(&v), Ok(5050));
    assert_eq!(sum.call(&v[..0]), Ok(0));
    assert_eq!(sum.call(&v[99..]), Ok(100));
}

#[test]
fn a_nil_function_fills_exactly_its_mutable_slice() {
    let f = assemble(
        "xor ecx, ecx\ntest rsi, rsi\njle done\nL: mov [rdi+rcx*8], rdx\ninc rcx\ncmp rcx, rsi\njl L\ndone: ret",
        "NIL(mut int64* out[n], int64 n, int64 x)",
    )
    .expect("the validator proves the stores");
    let fill: BufferFn<(&mut [i64], i64), ()> = f.buffer_fn().expect("shape fits");
    let mut v = vec![0i64; 8];
    assert_eq!(fill.call(&mut v[2..5], 7), Ok(()));
    assert_eq!(v, [0, 0, 7, 7, 7, 0, 0, 0]);
    assert_eq!(fill.call(&mut v[..0], 9), Ok(()));
    assert_eq!(v, [0, 0, 7, 7, 7, 0, 0, 0]);
    assert!(
        f.buffer_fn::<(&[i64], i64), ()>().is_err(),
        "a `mut` buffer needs `&mut`"
    );
    assert!(
        f.buffer_fn::<(&mut [i64], i64), i64>().is_err(),
        "NIL returns `()`"
    );
}
