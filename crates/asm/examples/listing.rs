//! Prints the listing of Intel-syntax text: `offset: bytes  source` per instruction.
//!
//! `cargo run -p npk-asm --example listing [--lines] [IMPORT...] < file.s`. With
//! `--lines`, every input line is assembled on its own (one result per line).

use std::io::Read;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let per_line = args.first().is_some_and(|a| a == "--lines");
    if per_line {
        args.remove(0);
    }
    let imports: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut text = String::new();
    if std::io::stdin().read_to_string(&mut text).is_err() {
        eprintln!("stdin is not UTF-8");
        std::process::exit(2);
    }
    let hex = |b: &[u8]| {
        b.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if per_line {
        for line in text.lines() {
            match npk_asm::assemble(line, &imports) {
                Ok(a) => println!("OK  {line:50} => {}", hex(a.code())),
                Err(e) => println!("ERR {line:50} => {e}"),
            }
        }
        return;
    }
    match npk_asm::assemble(&text, &imports) {
        Ok(a) => {
            for p in a.instructions() {
                let bytes = &a.code()[p.offset()..p.offset() + p.len()];
                println!(
                    "{:4x}: {:32} {}",
                    p.offset(),
                    hex(bytes),
                    &text[p.text_range()]
                );
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
