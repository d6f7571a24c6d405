//! The termination proof's readings of the lowered fast forms equal those
//! of the decoded instructions: [`super::compared`] gives
//! [`crate::values::comparison`]'s answer and [`super::step`] gives
//! [`super::step_of`]'s (behind the same write mask), on every instruction
//! decoded from many pseudo-random byte strings led by opcodes of
//! comparisons, steps, moves and shifts (with and without prefixes), each
//! lowered as the validator lowers it.

use iced_x86::{Decoder, DecoderOptions, InstructionInfoFactory};

use super::graph::{plain_writes, write_mask};
use super::mask_tests::random_encodings;
use super::{compared, step, step_of};
use crate::classify::is_legacy_prefix;
use crate::fast::Form;
use crate::record::Records;
use crate::values::comparison;

/// Checks every instruction decoded from `bytes`; returns how many had a
/// fast form (so the fast readings were taken).
fn check_all(bytes: &[u8], records: &mut Records, info: &mut InstructionInfoFactory) -> usize {
    let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let mut fast = 0;
    while decoder.can_decode() {
        let off = decoder.position();
        let ins = decoder.decode();
        if ins.is_invalid() {
            continue;
        }
        let key = Records::key(&ins);
        let rec = records.get(key, &ins);
        let op = records.lower(key, rec, &ins, !is_legacy_prefix(bytes[off]));
        fast += usize::from(op.form != Form::Generic);
        assert_eq!(
            compared(&op, &ins),
            comparison(&ins),
            "{ins} ({:?}, {:?}): comparison differs",
            ins.code(),
            op.form
        );
        let writes = plain_writes(&ins).unwrap_or_else(|| write_mask(info, &ins));
        for r in 0..16 {
            for width in [1, 2, 4, 8] {
                for d in [Some(0), Some(-3), Some((1 << 31) - 2), None] {
                    let slow = if writes >> r & 1 == 0 {
                        d
                    } else {
                        d.and_then(|d| step_of(&ins, r, width, d))
                    };
                    assert_eq!(
                        step((&op, &ins), writes, r, width, d),
                        slow,
                        "{ins} ({:?}, {:?}): step of register {r} at width {width} from {d:?} differs",
                        ins.code(),
                        op.form
                    );
                }
            }
        }
    }
    fast
}

#[test]
fn fast_form_readings_match_the_decoded_instructions() {
    let mut records = Records::new();
    let mut info = InstructionInfoFactory::new();
    // cmp rcx, rsi; cmp rdx, 5; cmp esi, eax; cmp r9d, -1; cmp rax, 0x1000;
    // add rcx, 1; sub rdi, 8; add ecx, 1; inc rax; dec ecx; lea rdx,
    // [rdx+4]; loop; test rax, rax; shr rax, 1; add rsp, 8.
    let known: &[&[u8]] = &[
        &[0x48, 0x39, 0xf1],
        &[0x48, 0x83, 0xfa, 0x05],
        &[0x39, 0xc6],
        &[0x41, 0x83, 0xf9, 0xff],
        &[0x48, 0x3d, 0x00, 0x10, 0x00, 0x00],
        &[0x48, 0x83, 0xc1, 0x01],
        &[0x48, 0x83, 0xef, 0x08],
        &[0x83, 0xc1, 0x01],
        &[0x48, 0xff, 0xc0],
        &[0xff, 0xc9],
        &[0x48, 0x8d, 0x52, 0x04],
        &[0xe2, 0xfe],
        &[0x48, 0x85, 0xc0],
        &[0x48, 0xd1, 0xe8],
        &[0x48, 0x83, 0xc4, 0x08],
    ];
    let fast: usize = known
        .iter()
        .map(|b| check_all(b, &mut records, &mut info))
        .sum();
    assert!(
        fast >= 10,
        "only {fast} of the known encodings had a fast form"
    );
    let leads: &[&[u8]] = &[
        &[0x39],
        &[0x3b],
        &[0x3d],
        &[0x85],
        &[0x81],
        &[0x83],
        &[0x01],
        &[0x03],
        &[0x29],
        &[0x2b],
        &[0x31],
        &[0x21],
        &[0xff],
        &[0x8d],
        &[0x89],
        &[0x8b],
        &[0xb8],
        &[0xc7],
        &[0xc1],
        &[0xd1],
        &[0xd3],
        &[0x0f, 0xaf],
        &[0x0f, 0x44],
        &[0x63],
        &[0xe2],
    ];
    let prefixes: &[&[u8]] = &[&[], &[0x48], &[0x4c], &[0x49], &[0x41], &[0x66], &[0x67]];
    let fast: usize = random_encodings(leads, prefixes, 8_000, 0x2545_f491_4f6c_dd1d)
        .map(|bytes| check_all(&bytes, &mut records, &mut info))
        .sum();
    assert!(
        fast > 2_500,
        "only {fast} instructions with a fast form tried"
    );
}

/// [`super::swap`]'s table against the rule it encodes: the condition
/// that holds for `(b, a)` exactly when `cc` holds for `(a, b)`, on the
/// flags of `cmp a, b` for values around every boundary.
#[test]
fn swapped_conditions_hold_with_the_operands_exchanged() {
    use iced_x86::ConditionCode as CC;
    // (ZF, CF, SF, OF, PF) of `a - b` at 64 bits, and whether `cc` holds.
    fn holds(cc: CC, a: i64, b: i64) -> Option<bool> {
        let (r, of) = a.overflowing_sub(b);
        let (zf, cf, sf) = (r == 0, (a as u64) < (b as u64), r < 0);
        Some(match cc {
            CC::e => zf,
            CC::ne => !zf,
            CC::b => cf,
            CC::ae => !cf,
            CC::be => cf || zf,
            CC::a => !cf && !zf,
            CC::l => sf != of,
            CC::ge => sf == of,
            CC::le => zf || sf != of,
            CC::g => !zf && sf == of,
            _ => return None,
        })
    }
    let values = [
        i64::MIN,
        i64::MIN + 1,
        -2,
        -1,
        0,
        1,
        2,
        i64::MAX - 1,
        i64::MAX,
    ];
    for cc in CC::values() {
        let swapped = super::swap(cc);
        assert_eq!(swapped.is_some(), holds(cc, 0, 0).is_some(), "{cc:?}");
        let Some(sw) = swapped else { continue };
        for &a in &values {
            for &b in &values {
                assert_eq!(holds(cc, a, b), holds(sw, b, a), "{cc:?} {a} {b}");
            }
        }
    }
}
