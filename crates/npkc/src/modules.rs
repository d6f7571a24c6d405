//! Module loading: the root file, then every `use "x.npk".*;` it reaches.
//!
//! A `use` path is looked up relative to the importing file, then in each
//! `-I` directory, then in the embedded stdlib. Each file is parsed once.

use crate::ast;
use crate::source::FileId;

/// One parsed module and the modules its `use` declarations name.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    pub module: ast::Module,
    /// The files of this module's `use` declarations, in order.
    pub imports: Vec<FileId>,
    /// Whether the module comes from the embedded stdlib.
    pub is_stdlib: bool,
}

/// Everything loaded for one compilation.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file given on the command line.
    pub root: FileId,
    pub modules: Vec<LoadedModule>,
}
