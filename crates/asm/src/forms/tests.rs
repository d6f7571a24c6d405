//! The generated form table (`table.rs`) is what iced-x86's `OpCodeInfo` says
//! today; `BLESS=1 cargo test -p npk-asm generated_form_table` rewrites it
//! (after an iced update).

use iced_x86::{Code, EncodingKind};

/// The table rows as `table.rs` holds them, one per legacy 64-bit-mode instruction.
fn render_rows() -> String {
    let mut out = String::new();
    for code in Code::values() {
        let op = code.op_code();
        if op.encoding() != EncodingKind::Legacy || !op.mode64() || !op.is_instruction() {
            continue;
        }
        let kinds: Vec<String> = op.op_kinds().iter().map(|k| format!("K::{k:?}")).collect();
        out.push_str(&format!(
            "    (\"{}\", Code::{code:?}, &[{}], {}, {}, {}),\n",
            format!("{:?}", code.mnemonic()).to_ascii_lowercase(),
            kinds.join(", "),
            op.memory_size().size(),
            op.operand_size(),
            op.address_size(),
        ));
    }
    out
}

#[test]
fn generated_form_table_matches_iced() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/forms/table.rs");
    let text = std::fs::read_to_string(path).expect("table.rs");
    let begin = "pub(crate) static ROWS: &[Row] = &[\n";
    let start = text.find(begin).expect("table start") + begin.len();
    let end = start
        + text[start..]
            .find("];\n// GENERATED-END")
            .expect("table end");
    let rows = render_rows();
    if std::env::var_os("BLESS").is_some() {
        let updated = format!("{}{rows}{}", &text[..start], &text[end..]);
        std::fs::write(path, updated).expect("write table.rs");
        return;
    }
    assert!(
        text[start..end] == rows,
        "src/forms/table.rs is stale: run `BLESS=1 cargo test -p npk-asm generated_form_table`"
    );
}

#[test]
fn the_table_has_the_instructions_the_validator_models() {
    let names: Vec<&str> = super::table::ROWS.iter().map(|r| r.0).collect();
    for m in [
        "mov", "add", "imul", "cmovl", "sete", "je", "call", "ret", "push", "lea",
    ] {
        assert!(names.contains(&m), "{m}");
    }
}
