//! Unit tests of the ownership checker on hand-built HIR, one test per
//! behaviour, grouped by topic. `build` makes the HIR; each test checks the
//! exact codes and primary spans reported.

mod build;
mod defers;
mod interproc;
mod leaks;
mod pvec;
mod releases;
mod robustness;
