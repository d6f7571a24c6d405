//! The `npkc` command line (being written).

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(2)
}
