//! Source files and byte-offset spans.
//!
//! Every location in the compiler is a [`Span`]: a file id plus a half-open
//! byte range `start..end` into that file's text. Lines and columns are only
//! computed when a diagnostic is rendered (see `diagnostic`).

use std::path::PathBuf;

/// Index of a file in the [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A half-open byte range `start..end` in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` in `file`.
    #[must_use]
    pub fn new(file: FileId, start: u32, end: u32) -> Span {
        Span { file, start, end }
    }

    /// The smallest span covering both `self` and `other` (same file assumed).
    #[must_use]
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// An empty span at the end of `self`.
    #[must_use]
    pub fn end_point(self) -> Span {
        Span {
            file: self.file,
            start: self.end,
            end: self.end,
        }
    }
}

/// One loaded source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown in diagnostics (`tests/ui/x.npk`, `<stdlib>/jit.npk`).
    pub name: String,
    /// The path it was read from; `None` for embedded stdlib files.
    pub path: Option<PathBuf>,
    pub text: String,
}

/// All files of one compilation, indexed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    #[must_use]
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, name: String, path: Option<PathBuf>, text: String) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).expect("fewer than 4 billion files"));
        self.files.push(SourceFile { name, path, text });
        id
    }

    /// The file with id `id`.
    ///
    /// # Panics
    /// If `id` was not returned by [`SourceMap::add`] on this map.
    #[must_use]
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// All files in id order.
    #[must_use]
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// 1-based line and column (in chars) of byte offset `pos` in `file`.
    #[must_use]
    pub fn line_col(&self, file: FileId, pos: u32) -> (usize, usize) {
        let text = &self.file(file).text;
        let pos = (pos as usize).min(text.len());
        let mut pos = pos;
        while !text.is_char_boundary(pos) {
            pos -= 1;
        }
        let before = &text[..pos];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = text[line_start..pos].chars().count() + 1;
        (line, col)
    }
}
