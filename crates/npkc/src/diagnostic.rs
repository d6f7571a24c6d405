//! Diagnostics: the one shape every phase reports problems in, and its
//! rendering (rustc-style text through `codespan-reporting`, or JSON).
//!
//! Phases keep their own data-only error enums (`<phase>/error.rs`) and turn
//! them into a [`Diagnostic`] there; this module only collects and renders.
//! Codes: `ARIA-014/015/022` (ownership, from the Nitpick guide) and the
//! `NPK-xyz` series documented in `explain.rs` (1xx lexer/parser, 2xx modules
//! and names, 3xx types, 4xx ownership extras, 5xx driver).

use crate::source::Span;

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
