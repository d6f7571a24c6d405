//! The validator and the signature parser never panic, on any input.

use npk_jit::{AllowedCall, PointerAccess, Policy, Signature, Validator, validate};
use proptest::prelude::*;

fn permissive() -> Policy {
    Policy {
        allow_loops: true,
        allow_red_zone: true,
        allow_division: true,
        pointer_access: PointerAccess::ReadWrite,
        pointer_window: 64,
        base_ip: 0x1000,
        allowed_calls: vec![AllowedCall {
            address: 0x2000,
            signature: "int64(int64,int64)".parse().expect("sig"),
        }],
        ..Policy::default()
    }
}

/// Bytes biased toward instructions the validator models, so random inputs
/// get past decoding and exercise the abstract interpreter.
fn plausible_bytes() -> impl Strategy<Value = Vec<u8>> {
    let pieces: Vec<&'static [u8]> = vec![
        &[0x48, 0x89, 0xf8],
        &[0x89, 0xf8],
        &[0x01, 0xf0],
        &[0x48, 0x01, 0xf8],
        &[0x31, 0xc0],
        &[0x53],
        &[0x5b],
        &[0x55],
        &[0x5d],
        &[0x57],
        &[0x58],
        &[0x48, 0x83, 0xec, 0x08],
        &[0x48, 0x83, 0xc4, 0x08],
        &[0x48, 0x89, 0xe5],
        &[0xc9],
        &[0xc3],
        &[0x85, 0xff],
        &[0x74, 0x02],
        &[0x75, 0xf8],
        &[0xeb, 0x01],
        &[0x48, 0x8b, 0x04, 0x24],
        &[0x48, 0x89, 0x3c, 0x24],
        &[0x48, 0x8b, 0x44, 0x24, 0xf8],
        &[0x48, 0x89, 0x7c, 0x24, 0xf0],
        &[0x48, 0x8d, 0x04, 0x37],
        &[0x0f, 0x4c, 0xc7],
        &[0x0f, 0x9c, 0xc0],
        &[0xd3, 0xe0],
        &[0x48, 0x99],
        &[0xf7, 0xfe],
        &[0x48, 0x87, 0xdf],
        &[0x48, 0x8b, 0x07],
        &[0x48, 0x89, 0x77, 0x08],
        &[0xe8, 0x00, 0x10, 0x00, 0x00],
        &[0x90],
        &[0x66, 0x89, 0xf8],
        &[0x88, 0xf8],
        &[0xe2, 0xfc],
    ];
    prop::collection::vec(prop::sample::select(pieces), 0..24).prop_map(|v| v.concat())
}

fn any_signature() -> impl Strategy<Value = Signature> {
    let t = prop::sample::select(vec![
        npk_jit::SigType::Int32,
        npk_jit::SigType::Int64,
        npk_jit::SigType::Uint32,
        npk_jit::SigType::Pointer,
    ]);
    (t.clone(), prop::collection::vec(t, 0..=6))
        .prop_map(|(r, p)| Signature::new(r, &p).expect("at most six"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(code in prop::collection::vec(any::<u8>(), 0..64), sig in any_signature()) {
        let _ = validate(&code, &sig, &Policy::default());
        let _ = validate(&code, &sig, &permissive());
    }

    #[test]
    fn plausible_code_never_panics(code in plausible_bytes(), sig in any_signature()) {
        let strict = validate(&code, &sig, &Policy::default());
        let loose = validate(&code, &sig, &permissive());
        // Everything the strict policy accepts, a looser one accepts too.
        prop_assert!(strict.is_err() || loose.is_ok(), "{:?} vs {:?}", strict, loose);
        if let Err(v) = strict {
            prop_assert!(!v.to_string().is_empty());
        }
    }

    /// `Validator::scan` is `validate`'s first pass: what it rejects,
    /// `validate` rejects with the same violation; what `validate` accepts,
    /// it passes.
    #[test]
    fn scan_agrees_with_validate(
        code in prop_oneof![plausible_bytes(), prop::collection::vec(any::<u8>(), 0..48)],
        loose in any::<bool>(),
    ) {
        let policy = if loose { permissive() } else { Policy::default() };
        let sig: Signature = "int64(int64,int64)".parse().expect("signature");
        let scanned = Validator::new().scan(&code, &policy);
        let validated = validate(&code, &sig, &policy);
        match (&scanned, &validated) {
            (Err(s), Err(v)) => prop_assert_eq!(s, v),
            (Err(s), Ok(_)) => prop_assert!(false, "scan rejected ({s}), validate accepted"),
            (Ok(n), Ok(r)) => prop_assert_eq!(*n, r.instructions()),
            (Ok(_), Err(_)) => {}
        }
    }

    #[test]
    fn signature_parser_never_panics(text in "\\PC{0,40}") {
        let _ = text.parse::<Signature>();
    }

    #[test]
    fn signature_like_text_never_panics(text in "[a-z0-9 ,()*<>-]{0,40}") {
        if let Ok(s) = text.parse::<Signature>() {
            prop_assert_eq!(s.to_string().parse::<Signature>().ok(), Some(s));
        }
    }
}
