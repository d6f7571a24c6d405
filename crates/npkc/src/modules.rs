//! Module loading: the root file, then every `use "x.npk".*;` it reaches.
//!
//! A `use` path is looked up relative to the importing file's directory, then
//! in each `-I` directory in order, then in the embedded stdlib (`stdlib`).
//! Each file is read and parsed once, however many modules import it (files
//! are identified by canonical path; stdlib files by name), so import cycles
//! are harmless. Problems: `NPK-290` module not found, `NPK-291` unreadable
//! module file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::ast;
use crate::diagnostic::{Diagnostic, Problems};
use crate::parser;
use crate::source::{FileId, SourceMap, Span};
use crate::stdlib;

/// One parsed module and the modules its `use` declarations name.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    pub module: ast::Module,
    /// The files of this module's `use` declarations, in order (those that
    /// could not be found are left out, with an error reported).
    pub imports: Vec<FileId>,
    /// Whether the module comes from the embedded stdlib.
    pub is_stdlib: bool,
}

/// Everything loaded for one compilation.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file given on the command line.
    pub root: FileId,
    /// Every loaded module, indexed like the `SourceMap` (module `i` is file `i`).
    pub modules: Vec<LoadedModule>,
    /// The embedded stdlib `drop.npk`, if loaded: modules importing it release
    /// their owned `wildx` bindings at every scope end (docs/language.md).
    pub drop_stdlib: Option<FileId>,
}

impl Loaded {
    /// The module of file `id`.
    #[must_use]
    pub fn module(&self, id: FileId) -> &LoadedModule {
        &self.modules[id.0 as usize]
    }
}

/// Why the root file could not be loaded at all.
#[derive(Debug)]
pub struct RootError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

impl std::fmt::Display for RootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read `{}`: {}", self.path.display(), self.error)
    }
}

/// Where a module came from, to identify it once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ModuleKey {
    File(PathBuf),
    Stdlib(String),
}

struct Loader<'a> {
    include_dirs: &'a [PathBuf],
    sources: &'a mut SourceMap,
    problems: &'a mut Problems,
    seen: HashMap<ModuleKey, FileId>,
    modules: Vec<Option<LoadedModule>>,
}

/// Loads `root` and everything it imports into `sources`.
///
/// # Errors
/// Only when the root file itself cannot be read; problems in imported
/// modules are reported to `problems`.
pub fn load(
    root: &Path,
    include_dirs: &[PathBuf],
    sources: &mut SourceMap,
    problems: &mut Problems,
) -> Result<Loaded, RootError> {
    let text = read_text(root).map_err(|error| RootError {
        path: root.to_path_buf(),
        error,
    })?;
    let mut loader = Loader {
        include_dirs,
        sources,
        problems,
        seen: HashMap::new(),
        modules: Vec::new(),
    };
    let key = ModuleKey::File(canonical(root));
    let root_id = loader.add(
        key,
        display_name(root),
        Some(root.to_path_buf()),
        text,
        false,
    );
    let modules = loader
        .modules
        .into_iter()
        .map(|m| m.expect("every added module is parsed before loading ends"))
        .collect();
    let drop_stdlib = loader
        .seen
        .get(&ModuleKey::Stdlib("drop.npk".to_string()))
        .copied();
    Ok(Loaded {
        root: root_id,
        modules,
        drop_stdlib,
    })
}

impl Loader<'_> {
    /// Registers, parses and recursively loads one module; returns its id.
    fn add(
        &mut self,
        key: ModuleKey,
        name: String,
        path: Option<PathBuf>,
        text: String,
        is_stdlib: bool,
    ) -> FileId {
        let id = self.sources.add(name, path.clone(), text);
        self.seen.insert(key, id);
        self.modules.push(None);
        let text = self.sources.file(id).text.clone();
        let module = parser::parse_module(id, &text, self.problems);
        let mut imports = Vec::new();
        for item in &module.items {
            if let ast::Item::Use(u) = item
                && let Some(dep) = self.resolve_use(u, path.as_deref(), is_stdlib)
            {
                imports.push(dep);
            }
        }
        self.modules[id.0 as usize] = Some(LoadedModule {
            module,
            imports,
            is_stdlib,
        });
        id
    }

    /// Finds, loads (once) and returns the module a `use` names.
    fn resolve_use(
        &mut self,
        u: &ast::UseDecl,
        importer: Option<&Path>,
        importer_is_stdlib: bool,
    ) -> Option<FileId> {
        let mut searched = Vec::new();
        let mut candidates = Vec::new();
        if !importer_is_stdlib {
            let dir = importer
                .and_then(Path::parent)
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            candidates.push(dir.join(&u.path));
        }
        for dir in self.include_dirs {
            candidates.push(dir.join(&u.path));
        }
        for candidate in candidates {
            if candidate.is_file() {
                let key = ModuleKey::File(canonical(&candidate));
                if let Some(&id) = self.seen.get(&key) {
                    return Some(id);
                }
                return match read_text(&candidate) {
                    Ok(text) => {
                        Some(self.add(key, display_name(&candidate), Some(candidate), text, false))
                    }
                    Err(e) => {
                        self.problems.push(unreadable(u.path_span, &candidate, &e));
                        None
                    }
                };
            }
            searched.push(candidate.display().to_string());
        }
        let name = u.path.trim_start_matches("./");
        if let Some(text) = stdlib::lookup(name) {
            let key = ModuleKey::Stdlib(name.to_string());
            if let Some(&id) = self.seen.get(&key) {
                return Some(id);
            }
            return Some(self.add(
                key,
                format!("<stdlib>/{name}"),
                None,
                text.to_string(),
                true,
            ));
        }
        searched.push(format!("<stdlib>/{name}"));
        self.problems.push(
            Diagnostic::error(
                "NPK-290",
                format!("cannot find module `{}`", u.path),
                u.path_span,
            )
            .with_label("not found")
            .with_note(format!("looked in: {}", searched.join(", ")))
            .with_help("check the file name, or add its directory with `-I DIR`"),
        );
        None
    }
}

fn unreadable(span: Span, path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(
        "NPK-291",
        format!("cannot read module `{}`: {e}", path.display()),
        span,
    )
    .with_label("imported here")
}

fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not valid UTF-8",
        )
    })
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

/// Explanations of this module's codes.
pub const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "NPK-290",
        "A `use` declaration names a module that cannot be found.\n\n\
         `use \"x.npk\".*;` looks for `x.npk` next to the importing file, then in every\n\
         directory given with `-I DIR` (in order), then among the modules built into\n\
         `npkc` (the standard library, e.g. `jit.npk`).\n\n\
         Example:\n\n    use \"helpers.npk\".*;   // no helpers.npk next to this file\n\n\
         Fix the path, move the file, or pass `-I path/to/dir`.",
    ),
    (
        "NPK-291",
        "A module file was found but could not be read (permissions, or it is not\n\
         valid UTF-8). Nitpick sources must be UTF-8 text.",
    ),
];
