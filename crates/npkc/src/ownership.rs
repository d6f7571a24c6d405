//! Ownership checking of `wild`/`wildx` pointers (ARIA-014/015/022). (Being written.)

use crate::diagnostic::Problems;
use crate::hir;

/// Checks every function of `program`.
pub fn check(program: &hir::Program, problems: &mut Problems) {
    let _ = (program, problems);
}
