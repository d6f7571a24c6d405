//! Page identities (`Signature::identity`): the tag for scalar signatures,
//! an interned index with bit 31 for buffer signatures; exact both ways.

use npk_jit::{BUFFER_BIT, SigType, Signature};

fn sig(s: &str) -> Signature {
    s.parse().unwrap_or_else(|e| panic!("`{s}`: {e}"))
}

/// Every scalar signature: 6 return types (`NIL` too), 0-6 parameters of 5 types each.
fn every_scalar_signature() -> Vec<Signature> {
    const TYPES: [SigType; 5] = [
        SigType::Int32,
        SigType::Int64,
        SigType::Uint32,
        SigType::Uint64,
        SigType::Pointer,
    ];
    let mut out = Vec::new();
    for ret in TYPES.into_iter().chain([SigType::Nil]) {
        for n in 0..=6u32 {
            for mut k in 0..5usize.pow(n) {
                let params: Vec<SigType> = (0..n)
                    .map(|_| {
                        let t = TYPES[k % 5];
                        k /= 5;
                        t
                    })
                    .collect();
                out.push(Signature::new(ret, &params).expect("at most 6 parameters"));
            }
        }
    }
    out
}

#[test]
fn a_scalar_signature_is_its_tag_and_never_sets_bit_31() {
    let all = every_scalar_signature();
    assert_eq!(all.len(), 6 * (1 + 5 + 25 + 125 + 625 + 3125 + 15625));
    for s in &all {
        let id = s.identity().expect("scalar signatures need no table");
        assert_eq!(id, s.tag(), "{s}");
        assert_eq!(id & BUFFER_BIT, 0, "{s}");
        assert_eq!(s.known_identity(), Some(id), "{s}");
        assert_eq!(Signature::from_identity(id), Some(*s), "{s}");
    }
}

#[test]
fn a_buffer_signature_gets_an_interned_identity_that_names_it() {
    let a = sig("int64(int64* xs[n], int64 n)");
    let id = a.identity().expect("room");
    assert_ne!(id & BUFFER_BIT, 0);
    assert_eq!(a.identity(), Ok(id), "stable");
    assert_eq!(Signature::from_identity(id), Some(a));
    assert_eq!(
        Signature::from_identity(id).map(|s| s.canonical()),
        Some("int64(int64*[#1],int64)".to_string())
    );
    // Names are not part of the identity; the canonical text parses back to it.
    assert_eq!(
        sig("int64(int64 *items[count], int64 count)").identity(),
        Ok(id)
    );
    assert_eq!(sig(&a.canonical()).identity(), Ok(id));
}

#[test]
fn buffer_signatures_that_differ_in_anything_but_names_have_different_identities() {
    let variants = [
        "int64(int64* xs[n], int64 n)",
        "int64(mut int64* xs[n], int64 n)",
        "int64(uint64* xs[n], int64 n)",
        "int64(int32* xs[n], int64 n)",
        "int64(int64* xs[n], uint64 n)",
        "int64(int64* xs[8], int64 n)",
        "int64(int64* xs[9], int64 n)",
        "int32(int64* xs[n], int64 n)",
        "int64(int64 n, int64* xs[n])",
        "int64(int64* xs[n], int64 n, int32 c)",
        // The tag of this one equals the first's (a buffer and `ptr` both have code 5).
        "int64(ptr, int64)",
    ];
    let ids: Vec<u32> = variants
        .iter()
        .map(|v| sig(v).identity().expect("room"))
        .collect();
    for (i, a) in ids.iter().enumerate() {
        for (j, b) in ids.iter().enumerate().skip(i + 1) {
            assert_ne!(a, b, "`{}` and `{}`", variants[i], variants[j]);
        }
    }
    assert_eq!(
        sig(variants[0]).tag(),
        sig(variants[10]).tag(),
        "the tag alone cannot tell them apart"
    );
}

#[test]
fn asking_for_a_known_identity_never_interns() {
    let s = sig("uint32(uint16* never_interned_elsewhere[77], int32 x)");
    assert_eq!(s.known_identity(), None);
    assert_eq!(s.known_identity(), None);
    let id = s.identity().expect("room");
    assert_eq!(s.known_identity(), Some(id));
}

#[test]
fn values_no_signature_has_are_not_identities() {
    assert_eq!(Signature::from_identity(0), None, "0 means no signature");
    assert_eq!(Signature::from_identity(0x7), None, "return code 7");
    assert_eq!(
        Signature::from_identity(0x0000_0e12),
        None,
        "parameter code 14"
    );
    assert_eq!(
        Signature::from_identity(0x0000_0612),
        None,
        "a NIL parameter"
    );
    assert_eq!(
        Signature::from_identity(0x2_1212),
        None,
        "bits above the count"
    );
    assert_eq!(Signature::from_identity(u32::MAX), None);
    assert_eq!(Signature::from_identity(BUFFER_BIT | 0x7fff_0000), None);
}

#[test]
fn threads_interning_the_same_signature_agree() {
    let text = "int64(int8* s[len], int64 len, int64 threads)";
    let ids: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| sig(text).identity().expect("room")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    assert!(ids.iter().all(|&id| id == ids[0]), "{ids:x?}");
    assert_eq!(Signature::from_identity(ids[0]), Some(sig(text)));
}
