//! The `npkc` command line: parses flags, calls the library, prints
//! diagnostics and returns the exit status (0 success, 1 compile errors,
//! 2 usage errors; `npkc run` returns the program's own status).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use npkc::diagnostic::{self, Format};
use npkc::driver::{self, Options};
use npkc::explain;

/// Compiler for the Nitpick subset with a checked W^X JIT.
#[derive(Debug, Parser)]
#[command(
    name = "npkc",
    version,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  npkc examples/jit_add.npk -o jit_add\n  npkc check prog.npk\n  npkc run prog.npk -- arg\n  npkc --explain ARIA-014"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Print the long explanation of a diagnostic code (e.g. ARIA-014).
    #[arg(long, value_name = "CODE")]
    explain: Option<String>,
    /// Source file to build (same as `npkc build FILE`).
    file: Option<PathBuf>,
    /// Output executable.
    #[arg(short = 'o', value_name = "OUT")]
    out: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args, Clone)]
struct Common {
    /// Extra module search directory (may be repeated).
    #[arg(short = 'I', value_name = "DIR", global = true)]
    include: Vec<PathBuf>,
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human, global = true)]
    error_format: ErrorFormat,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ErrorFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a native executable.
    Build {
        file: PathBuf,
        /// Output executable (default `a.out`).
        #[arg(short = 'o', value_name = "OUT")]
        out: Option<PathBuf>,
    },
    /// Run all static checks, no code generation.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the x86-64 validator on hex bytes: exit 0 accepted, 1 rejected.
    #[command(name = "jit-check")]
    JitCheck {
        /// Signature the bytes must implement, e.g. 'int64(int64,int64)'.
        #[arg(long)]
        sig: String,
        /// After the summary, print the proven code's Intel-syntax listing.
        #[arg(long)]
        disasm: bool,
        /// Read the machine code as raw bytes from this file (`-` for stdin)
        /// instead of hex arguments.
        #[arg(long, conflicts_with = "hex")]
        file: Option<PathBuf>,
        /// Machine code as hex bytes, two digits each, with or without spaces
        /// (e.g. 48 8d 04 37 c3).
        #[arg(required_unless_present = "file")]
        hex: Vec<String>,
    },
    /// Build into a cache and run; the program's exit status is npkc's.
    Run {
        file: PathBuf,
        /// Arguments passed to the program (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match cli.common.error_format {
        ErrorFormat::Json => Format::Json,
        ErrorFormat::Human => Format::Human {
            color: match cli.common.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => std::io::stderr().is_terminal(),
            },
        },
    };
    let options = Options {
        include_dirs: cli.common.include.clone(),
    };
    if let Some(code) = &cli.explain {
        return explain_code(code);
    }
    if let Some(command) = &cli.command
        && let Some(misplaced) = misplaced_before_subcommand(&cli)
    {
        eprintln!(
            "error: {misplaced} before the subcommand `{}`\n\nUsage: npkc [-I DIR] [--error-format F] [--color C] <COMMAND> ...   (options of a command, such as `-o`, go after it)",
            command.name()
        );
        return ExitCode::from(2);
    }
    match cli.command {
        Some(Command::Check { files }) => check(&files, &options, format),
        Some(Command::Build { file, out }) => build(&file, out, &options, format),
        Some(Command::Run { file, args }) => run(&file, &args, &options, format),
        Some(Command::JitCheck {
            sig,
            disasm,
            file,
            hex,
        }) => {
            let input = match file {
                Some(path) => npkc::jit_check::Input::File(path),
                None => npkc::jit_check::Input::Hex(hex),
            };
            let (code, stdout, stderr) = npkc::jit_check::run(&sig, &input, disasm);
            print!("{stdout}");
            eprint!("{stderr}");
            ExitCode::from(u8::try_from(code).unwrap_or(2))
        }
        None => match cli.file {
            Some(file) => build(&file, cli.out, &options, format),
            None => {
                eprintln!(
                    "error: no input file\n\nUsage: npkc FILE.npk [-o OUT]   (see `npkc --help`)"
                );
                ExitCode::from(2)
            }
        },
    }
}

/// What only the bare `npkc FILE [-o OUT]` form takes but was given before a
/// subcommand (the shared options `-I`, `--error-format`, `--color` may go
/// before or after it).
fn misplaced_before_subcommand(cli: &Cli) -> Option<String> {
    if let Some(file) = &cli.file {
        return Some(format!("unexpected file `{}`", file.display()));
    }
    cli.out.as_ref().map(|_| "`-o OUT` given".to_string())
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Build { .. } => "build",
            Command::Check { .. } => "check",
            Command::JitCheck { .. } => "jit-check",
            Command::Run { .. } => "run",
        }
    }
}

fn explain_code(code: &str) -> ExitCode {
    match explain::explain(code) {
        Some(text) => {
            println!("{}\n\n{text}", code.to_ascii_uppercase());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "error: `{code}` is not a diagnostic code of npkc\n\nknown codes: {}",
                explain::codes().join(", ")
            );
            ExitCode::from(2)
        }
    }
}

/// Checks one root file and prints its diagnostics; returns whether it was clean.
fn check_one(file: &std::path::Path, options: &Options, format: Format) -> Option<driver::Checked> {
    match driver::check_file(file, options) {
        Ok(checked) => {
            let all = driver::all_problems(&checked.problems);
            let mut text = diagnostic::render_all(&all, &checked.sources, format);
            if matches!(format, Format::Human { .. }) {
                text.push_str(&diagnostic::summary(checked.problems.errors.len()));
            }
            eprint!("{text}");
            Some(checked)
        }
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

fn check(files: &[PathBuf], options: &Options, format: Format) -> ExitCode {
    let mut ok = true;
    for file in files {
        match check_one(file, options, format) {
            Some(c) if !c.problems.has_errors() => {}
            _ => ok = false,
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn build(
    file: &std::path::Path,
    out: Option<PathBuf>,
    options: &Options,
    format: Format,
) -> ExitCode {
    let Some(checked) = check_one(file, options, format) else {
        return ExitCode::from(1);
    };
    let Some(program) = checked.program else {
        return ExitCode::from(1);
    };
    let out = out.unwrap_or_else(|| PathBuf::from("a.out"));
    match driver::build_program(&program, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(file: &std::path::Path, args: &[String], options: &Options, format: Format) -> ExitCode {
    let Some(checked) = check_one(file, options, format) else {
        return ExitCode::from(1);
    };
    let Some(program) = checked.program else {
        return ExitCode::from(1);
    };
    match driver::build_and_run(&program, file, args) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
