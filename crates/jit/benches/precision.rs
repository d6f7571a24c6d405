//! Issue 11's precision target on the buffer corpus (`tests/corpus/buffers.txt`):
//! how many `safe` lines the validator accepts (target: 85% of the gcc lines)
//! and how many `unsafe` lines it rejects (target: all), per origin (`O1`,
//! `O2`, `asm`) side by side, with the rules behind every rejection. Also the
//! time to validate the whole corpus once. Run with `cargo bench -p npk-jit`
//! (`cargo bench -p npk-jit --bench precision` for this report alone;
//! `NPK_PRECISION_VERBOSE=1` lists every rejected safe line and its violation).

#[path = "../tests/common/corpus_format.rs"]
mod corpus_format;
#[path = "../tests/common/precision.rs"]
mod precision;

use std::time::Instant;

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/buffers.txt");
    let text = std::fs::read_to_string(&path).expect("read tests/corpus/buffers.txt");
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let t = Instant::now();
        last = Some(precision::measure(&text));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let p = last.expect("measured");
    println!("buffer corpus precision ({}):", path.display());
    print!(
        "{}",
        p.report(std::env::var_os("NPK_PRECISION_VERBOSE").is_some())
    );
    let lines: usize = p
        .by_origin
        .values()
        .map(|t| t.safe_total + t.unsafe_total)
        .sum();
    println!(
        "parsing and validating its {lines} lines: {:.2} ms (best of 5; worst {:.2} ms)",
        times[0],
        times[times.len() - 1]
    );
}
