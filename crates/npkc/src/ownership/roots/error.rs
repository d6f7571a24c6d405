//! Problems with registered gc roots as data, their diagnostics, and the
//! `npkc --explain` texts of their codes: `NPK-407` a root never removed
//! (like a leak), `NPK-408` a slot read after its root was removed (like a
//! use after release), `NPK-409` a slot freed while registered, `NPK-410` a
//! root registered twice or removed while not registered (like a double free).

use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// How a scope was left while a slot was still registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RootExit {
    /// The closing `}` of the block declaring the slot binding.
    BlockEnd,
    Pass,
    Fail,
    Break,
    Continue,
    Exit,
    /// The slot binding was given another pointer.
    Overwrite,
}

/// One problem with a registered root. Fields are names and spans only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootError {
    NeverRemoved {
        name: String,
        at: Span,
        exit: RootExit,
        added: Span,
    },
    UseAfterRemove {
        name: String,
        at: Span,
        removed: Span,
    },
    FreedWhileRooted {
        name: String,
        at: Span,
        added: Span,
    },
    AddedTwice {
        name: String,
        at: Span,
        added: Span,
    },
    RemovedUnregistered {
        name: String,
        at: Span,
        /// The earlier removal, when that is why it is not registered.
        removed: Option<Span>,
    },
}

impl RootError {
    /// The stable code.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            RootError::NeverRemoved { .. } => "NPK-407",
            RootError::UseAfterRemove { .. } => "NPK-408",
            RootError::FreedWhileRooted { .. } => "NPK-409",
            RootError::AddedTwice { .. } | RootError::RemovedUnregistered { .. } => "NPK-410",
        }
    }

    /// The primary span.
    pub(crate) fn span(&self) -> Span {
        match self {
            RootError::NeverRemoved { at, .. }
            | RootError::UseAfterRemove { at, .. }
            | RootError::FreedWhileRooted { at, .. }
            | RootError::AddedTwice { at, .. }
            | RootError::RemovedUnregistered { at, .. } => *at,
        }
    }

    pub(crate) fn to_diagnostic(&self) -> Diagnostic {
        let code = self.code();
        match self {
            RootError::NeverRemoved {
                name,
                at,
                exit,
                added,
            } => {
                let label = match exit {
                    RootExit::BlockEnd => {
                        format!("`{name}` goes out of scope here while it is registered as a root")
                    }
                    RootExit::Pass => {
                        format!("`pass` leaves while `{name}` is registered as a root")
                    }
                    RootExit::Fail => {
                        format!("`fail` leaves while `{name}` is registered as a root")
                    }
                    RootExit::Break => format!(
                        "`break` leaves the scope of `{name}` while it is registered as a root"
                    ),
                    RootExit::Continue => format!(
                        "`continue` leaves the scope of `{name}` while it is registered as a root"
                    ),
                    RootExit::Exit => {
                        format!("`exit` ends the program while `{name}` is registered as a root")
                    }
                    RootExit::Overwrite => format!(
                        "`{name}` is given another pointer while its slot is registered as a root"
                    ),
                };
                Diagnostic::error(code, format!("root `{name}` is never removed"), *at)
                    .with_label(label)
                    .with_secondary(*added, "registered here")
                    .with_note(
                        "the collector reads and rewrites a registered slot at every collection, \
                         also after its memory is freed or reused",
                    )
                    .with_help(format!(
                        "remove it with `npk_shadow_stack_remove_root({name})` on every path \
                         (a `defer` covers them all)"
                    ))
            }
            RootError::UseAfterRemove { name, at, removed } => Diagnostic::error(
                code,
                format!("use of slot `{name}` after its root was removed"),
                *at,
            )
            .with_label("read here")
            .with_secondary(*removed, "root removed here")
            .with_note(
                "once removed, the slot is no longer rewritten when its object moves: it may \
                 hold a stale address",
            )
            .with_help(format!(
                "read the slot before removing the root, register it again, or store a fresh \
                 value in `{name}[0]` first"
            )),
            RootError::FreedWhileRooted { name, at, added } => Diagnostic::error(
                code,
                format!("slot `{name}` is released while registered as a root"),
                *at,
            )
            .with_label("released here")
            .with_secondary(*added, "registered here")
            .with_note("the collector would keep writing into the released memory")
            .with_help(format!(
                "remove the root first: `npk_shadow_stack_remove_root({name})`"
            )),
            RootError::AddedTwice { name, at, added } => Diagnostic::error(
                code,
                format!("slot `{name}` is registered as a root twice"),
                *at,
            )
            .with_label("registered again here")
            .with_secondary(*added, "first registered here")
            .with_note("the runtime refuses the second registration (`NPK_GC_ERR_ALREADY_ROOTED`)")
            .with_help("register each slot once, and remove it before registering it again"),
            RootError::RemovedUnregistered { name, at, removed } => {
                let d = Diagnostic::error(
                    code,
                    format!("slot `{name}` is removed but may not be registered as a root"),
                    *at,
                )
                .with_label("removed here")
                .with_note("the runtime refuses the removal (`NPK_GC_ERR_NOT_ROOTED`)");
                match removed {
                    Some(r) => d.with_secondary(*r, "already removed here"),
                    None => d.with_help(format!(
                        "register it first with `npk_shadow_stack_add_root({name})`"
                    )),
                }
            }
        }
    }
}

/// `npkc --explain` texts of the root codes.
pub const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "NPK-407",
        "A slot registered with `npk_shadow_stack_add_root(slot)` is a resource, like an allocation: every path must remove it with `npk_shadow_stack_remove_root(slot)` before the slot binding goes out of scope, is given another pointer, or the function returns or exits. A registration left behind makes the collector read and rewrite that memory at every later collection, also after it is freed or reused.\n\n```\nint32:rc = npk_shadow_stack_add_root(slot);\ndefer { rc = npk_shadow_stack_remove_root(slot); }   // removes it on every path\n```\n\nThe checker follows the slot binding passed to these two runtime functions (declared in `gc.npk`) inside one function; a registration made in one function and removed in another is reported here.",
    ),
    (
        "NPK-408",
        "After `npk_shadow_stack_remove_root(slot)` the collector no longer rewrites the slot when its object moves, so a read through it (`slot[0]`, `<-slot`) may see a stale address. Read the slot before removing the root, or register it again. Writing to the slot and freeing its memory after the removal are fine, and a plain store to the rooted word (`slot[0] = v`, `<-slot = v`) gives it a fresh value that may be read back (reusing the slot for the next object); a compound assignment (`slot[0] += 1`) reads the old value and is reported.",
    ),
    (
        "NPK-409",
        "The memory of a slot registered as a gc root is released (`free(slot)`) while the registration is still in place: the collector would keep reading and writing the freed memory. Remove the root with `npk_shadow_stack_remove_root(slot)` first.",
    ),
    (
        "NPK-410",
        "A slot is registered as a root while it may already be registered, or removed while it may not be registered (never added, or removed already). The runtime refuses both with a status (`NPK_GC_ERR_ALREADY_ROOTED`, `NPK_GC_ERR_NOT_ROOTED`); the checker reports them like a double free.",
    ),
];
