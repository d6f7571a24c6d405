//! Diagnostics: the one shape every phase reports problems in, and its
//! rendering (rustc-style text through `codespan-reporting`, or JSON).
//!
//! Phases keep their own data-only error enums (`<phase>/error.rs`) and turn
//! them into a [`Diagnostic`] there; this module only collects and renders.
//! Codes: `ARIA-014/015/022` (ownership, from the Nitpick guide) and the
//! `NPK-xyz` series documented in `explain.rs` (1xx lexer/parser, 2xx modules
//! and names, 3xx types, 4xx ownership extras, 5xx driver).

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor};
use serde::Serialize;

use crate::source::{SourceMap, Span};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// A span with a message, e.g. "first released here".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

impl Label {
    #[must_use]
    pub fn new(span: Span, message: impl Into<String>) -> Label {
        Label {
            span,
            message: message.into(),
        }
    }
}

/// One problem, ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, e.g. `ARIA-022` or `NPK-301`.
    pub code: &'static str,
    /// Lowercase, no final period: "double free of `page`".
    pub message: String,
    /// Where the problem is.
    pub primary: Label,
    /// Related places ("allocated here").
    pub secondary: Vec<Label>,
    /// `note:` lines.
    pub notes: Vec<String>,
    /// The fix, as a `help:` line.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with `code` and `message` whose primary label is `span` (empty label text).
    #[must_use]
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: Label::new(span, ""),
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Sets the primary label's text.
    #[must_use]
    pub fn with_label(mut self, message: impl Into<String>) -> Diagnostic {
        self.primary.message = message.into();
        self
    }

    /// Adds a secondary label.
    #[must_use]
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label::new(span, message));
        self
    }

    /// Adds a `note:` line.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Sets the `help:` line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// The sink every phase pushes its problems into.
#[derive(Debug, Clone, Default)]
pub struct Problems {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl Problems {
    #[must_use]
    pub fn new() -> Problems {
        Problems::default()
    }

    /// Records a diagnostic according to its severity.
    pub fn push(&mut self, d: Diagnostic) {
        match d.severity {
            Severity::Error => self.errors.push(d),
            Severity::Warning => self.warnings.push(d),
        }
    }

    #[must_use]
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Sorts errors and warnings by primary span (file, then offset).
    pub fn sort(&mut self) {
        self.errors.sort_by_key(|d| d.primary.span);
        self.warnings.sort_by_key(|d| d.primary.span);
    }
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// rustc-style text with source snippets.
    Human { color: bool },
    /// One JSON object per line.
    Json,
}

/// Renders `diagnostics` in `format`, each followed by a newline.
#[must_use]
pub fn render_all(diagnostics: &[Diagnostic], sources: &SourceMap, format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Human { color } => {
            let files = Files::new(sources);
            for d in diagnostics {
                out.push_str(&render_human(d, &files, color));
            }
        }
        Format::Json => {
            for d in diagnostics {
                out.push_str(&render_json(d, sources));
                out.push('\n');
            }
        }
    }
    out
}

/// The summary line rustc prints after the diagnostics.
#[must_use]
pub fn summary(errors: usize) -> String {
    match errors {
        0 => String::new(),
        1 => "error: aborting due to 1 previous error\n".to_string(),
        n => format!("error: aborting due to {n} previous errors\n"),
    }
}

/// The files of a [`SourceMap`] in the form `codespan-reporting` reads.
struct Files {
    files: SimpleFiles<String, String>,
}

impl Files {
    fn new(sources: &SourceMap) -> Files {
        let mut files = SimpleFiles::new();
        for f in sources.files() {
            files.add(f.name.clone(), f.text.clone());
        }
        Files { files }
    }
}

fn clamp_range(text_len: usize, span: Span) -> std::ops::Range<usize> {
    let start = (span.start as usize).min(text_len);
    let end = (span.end as usize).clamp(start, text_len);
    start..end
}

fn render_human(d: &Diagnostic, files: &Files, color: bool) -> String {
    let len_of = |span: Span| {
        files
            .files
            .get(span.file.0 as usize)
            .map_or(0, |f| f.source().len())
    };
    let mut labels = vec![
        cs::Label::primary(
            d.primary.span.file.0 as usize,
            clamp_range(len_of(d.primary.span), d.primary.span),
        )
        .with_message(d.primary.message.clone()),
    ];
    for l in &d.secondary {
        labels.push(
            cs::Label::secondary(l.span.file.0 as usize, clamp_range(len_of(l.span), l.span))
                .with_message(l.message.clone()),
        );
    }
    let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
    if let Some(h) = &d.help {
        notes.push(format!("help: {h}"));
    }
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let diag = cs::Diagnostic::new(severity)
        .with_code(d.code)
        .with_message(d.message.clone())
        .with_labels(labels)
        .with_notes(notes);
    let config = term::Config {
        chars: term::Chars::ascii(),
        ..term::Config::default()
    };
    let mut buffer = if color {
        termcolor::Buffer::ansi()
    } else {
        termcolor::Buffer::no_color()
    };
    match term::emit_to_write_style(&mut buffer, &config, &files.files, &diag) {
        Ok(()) => String::from_utf8_lossy(buffer.as_slice()).into_owned(),
        // A span outside its file cannot come from a well-formed phase; still
        // never lose the message.
        Err(_) => format!("error[{}]: {}\n", d.code, d.message),
    }
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    byte_start: u32,
    byte_end: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: &'static str,
    code: &'static str,
    message: &'a str,
    primary: JsonLabel<'a>,
    secondary: Vec<JsonLabel<'a>>,
    notes: &'a [String],
    help: Option<&'a str>,
}

fn json_label<'a>(l: &'a Label, sources: &'a SourceMap) -> JsonLabel<'a> {
    let (line, column) = sources.line_col(l.span.file, l.span.start);
    let (end_line, end_column) = sources.line_col(l.span.file, l.span.end);
    JsonLabel {
        file: &sources.file(l.span.file).name,
        line,
        column,
        end_line,
        end_column,
        byte_start: l.span.start,
        byte_end: l.span.end,
        message: &l.message,
    }
}

fn render_json(d: &Diagnostic, sources: &SourceMap) -> String {
    let j = JsonDiagnostic {
        severity: match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        code: d.code,
        message: &d.message,
        primary: json_label(&d.primary, sources),
        secondary: d.secondary.iter().map(|l| json_label(l, sources)).collect(),
        notes: &d.notes,
        help: d.help.as_deref(),
    };
    serde_json::to_string(&j).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
