//! Type checking: loaded modules to `hir::Program`. (Being written.)

use crate::diagnostic::Problems;
use crate::hir;
use crate::modules::Loaded;

/// Resolves and type-checks every loaded module. Returns `None` when errors
/// were reported.
pub fn check(loaded: &Loaded, problems: &mut Problems) -> Option<hir::Program> {
    let _ = (loaded, problems);
    None
}
