//! The buffer-signature table is bounded: once it holds `MAX_BUFFER_SIGNATURES`
//! signatures, a new one gets a clear error and nothing changes. (Its own test
//! binary: it fills the process-wide table.)

use npk_jit::{BUFFER_BIT, MAX_BUFFER_SIGNATURES, Signature};

fn constant_extent(n: usize) -> Signature {
    format!("int64(int8* s[{n}])")
        .parse()
        .expect("valid signature")
}

#[test]
fn a_full_table_refuses_new_buffer_signatures_and_keeps_the_old_ones() {
    let first = constant_extent(0).identity().expect("room");
    for n in 1..MAX_BUFFER_SIGNATURES {
        constant_extent(n).identity().expect("room");
    }
    let extra = constant_extent(MAX_BUFFER_SIGNATURES);
    let err = extra.identity().expect_err("the table is full");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("int64(int8*[{MAX_BUFFER_SIGNATURES}])")),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "{MAX_BUFFER_SIGNATURES} distinct buffer signatures"
        )),
        "{msg}"
    );
    assert_eq!(MAX_BUFFER_SIGNATURES, 16_384, "the documented bound");
    assert_eq!(extra.known_identity(), None);
    // Interned signatures keep their identity; scalar signatures need no table.
    assert_eq!(constant_extent(0).identity(), Ok(first));
    let last = constant_extent(MAX_BUFFER_SIGNATURES - 1)
        .identity()
        .expect("already interned");
    assert_eq!(last, BUFFER_BIT | (MAX_BUFFER_SIGNATURES as u32 - 1));
    let add: Signature = "int32(int32,int32)".parse().expect("valid");
    assert_eq!(add.identity(), Ok(0x1121));
}
