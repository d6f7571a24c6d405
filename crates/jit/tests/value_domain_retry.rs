//! A loop whose termination proof needs known low bits (a step of two
//! toward its bound) is proven by a second run with the value domain; that
//! run reuses the first run's decoding. Its report must not depend on what
//! the validator validated before.

use npk_jit::{Policy, Validator, validate};

/// `xor eax,eax; top: add rax,2; cmp rax,10; jne top; ret`.
const STEP_TWO: [u8; 13] = [
    0x31, 0xc0, 0x48, 0x83, 0xc0, 0x02, 0x48, 0x83, 0xf8, 0x0a, 0x75, 0xf6, 0xc3,
];

/// `lea rax,[rdi+rsi]; ret`.
const STRAIGHT: [u8; 5] = [0x48, 0x8d, 0x04, 0x37, 0xc3];

#[test]
fn a_step_of_two_loop_is_proven_with_the_value_domain() {
    let sig = "int64()".parse().expect("valid signature");
    let report = validate(&STEP_TWO, &sig, &Policy::runtime()).expect("accepted");
    assert!(report.has_loops());
    // Five rounds of three instructions, the entry and the return, at
    // least (the bound may count a round more).
    let bound = report.max_steps().expect("a bounded loop");
    assert!((17..=30).contains(&bound), "{bound}");
}

#[test]
fn the_retry_report_does_not_depend_on_earlier_validations() {
    let sig = "int64()".parse().expect("valid signature");
    let straight = "int64(int64,int64)".parse().expect("valid signature");
    let policy = Policy::runtime();
    let fresh = Validator::new().validate(&STEP_TWO, &sig, &policy);
    let mut v = Validator::new();
    for _ in 0..3 {
        assert_eq!(v.validate(&STEP_TWO, &sig, &policy), fresh);
        assert!(v.validate(&STRAIGHT, &straight, &policy).is_ok());
        // Rejected without loops allowed, at the backward branch.
        let err = v
            .validate(&STEP_TWO, &sig, &Policy::default())
            .expect_err("loops are not allowed by default");
        assert_eq!(err.offset(), 10);
    }
}
