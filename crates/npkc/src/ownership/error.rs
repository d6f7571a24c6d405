//! Ownership problems as data, their conversion to [`Diagnostic`]s, and the
//! long explanations of their codes for `npkc --explain`.
//!
//! Codes: `ARIA-014` leak, `ARIA-015` use after release or move, `ARIA-022`
//! double free (the Nitpick guide's codes), `NPK-401` mismatched
//! deallocator, `NPK-402` a parameter released on some paths only, `NPK-403`
//! a function returning an owned pointer on some paths and a borrowed one on
//! others.

use crate::diagnostic::Diagnostic;
use crate::source::Span;

use super::state::ResourceKind;

/// How a scope was left when a binding still owned its allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeExit {
    /// The closing `}` of the block declaring the binding.
    BlockEnd,
    Pass,
    Fail,
    Break,
    Continue,
    /// `exit` ends the process while the binding still owns its allocation.
    Exit,
    /// A new value was assigned over the owned one.
    Overwrite,
    /// A call of a function that never returns (it always `exit`s, or
    /// recurses forever).
    NoReturn,
}

/// Where an allocation that was never bound ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TempSink {
    /// An expression statement or `drop`.
    Discarded,
    /// An argument of a function (named) that does not release it.
    Argument(String),
    /// An operand of some other expression.
    Operand,
    /// Stored through a pointer, in memory the checker does not follow.
    Stored,
    /// Converted to an integer, which cannot own.
    CastToInteger,
}

/// How a release reached a later fault: around a loop (it ran in the
/// previous iteration), and/or from a `defer` body (it ran when the
/// `defer`'s block was left, though it is written earlier).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Carried {
    pub previous_iteration: bool,
    pub by_defer: bool,
}

/// Which analysis budget a function exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// Statements interpreted for one function.
    Steps,
    /// Iterations of one loop before its state stabilised.
    LoopIterations,
    /// Re-analyses of one function while its call cycle's summaries settle.
    SummaryRounds,
}

/// One ownership problem. Fields are spans, names and kinds only; the
/// wording lives in [`OwnershipError::to_diagnostic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnershipError {
    Leak {
        name: String,
        at: Span,
        exit: ScopeExit,
        allocated: Vec<Span>,
        kind: Option<ResourceKind>,
        /// The binding is a `Result`: the pointer to release is `name.value`.
        is_result: bool,
    },
    LeakTemporary {
        at: Span,
        sink: TempSink,
        kind: ResourceKind,
    },
    UseAfterRelease {
        name: String,
        at: Span,
        released: Vec<Span>,
        moved: Vec<Span>,
        /// Still owned on some path reaching the use.
        maybe: bool,
        /// `name` is a borrow of this owner (taken at this span), and the
        /// owner is what was released.
        owner: Option<(String, Option<Span>)>,
        /// The release ran in a previous iteration of the enclosing loop.
        in_loop: Carried,
    },
    DoubleFree {
        name: String,
        at: Span,
        first: Vec<Span>,
        maybe: bool,
        /// The first release ran in a previous iteration of the enclosing loop.
        in_loop: Carried,
    },
    /// A non-owning copy (`name`, borrowed from `owner`) is released.
    ReleaseOfBorrow {
        name: String,
        at: Span,
        owner: String,
        borrowed_at: Option<Span>,
    },
    /// `drop.npk`: a binding released at scope end may hold a borrow of
    /// `owner` (bound at `at`) on some paths and own a page on others.
    ScopeReleaseOfBorrow {
        name: String,
        at: Span,
        owner: String,
    },
    /// The analysis of `func` exceeded a budget; its verdict is unknown.
    BudgetExceeded {
        func: String,
        at: Span,
        what: Budget,
    },
    MismatchedDeallocator {
        name: String,
        at: Span,
        /// `free`, `wildx_free`, or the releasing function's name.
        dealloc: String,
        dealloc_kind: ResourceKind,
        allocated: Vec<Span>,
        alloc_kind: ResourceKind,
    },
    PartialRelease {
        func: String,
        param: String,
        param_span: Span,
        released_at: Span,
        kept_at: Span,
    },
    MixedReturn {
        func: String,
        owned_at: Span,
        borrowed_at: Span,
    },
}

fn kind_noun(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Heap => "`alloc` memory",
        ResourceKind::Page => "a `wildx` page",
        ResourceKind::Mixed => "an allocation",
    }
}

/// What to pass to the deallocator: `r.value` for a `Result` binding.
fn release_target(name: &str, is_result: bool) -> String {
    if is_result {
        format!("{name}.value")
    } else {
        name.to_string()
    }
}

/// "released here", or where the release ran in an earlier iteration.
fn release_label(first: &str, c: Carried) -> String {
    match (c.previous_iteration, c.by_defer) {
        (true, true) => format!(
            "{first} here by this `defer`, when the previous iteration of the loop left its block"
        ),
        (false, true) => format!("{first} here by this `defer`, when its block was left"),
        (true, false) => format!("{first} here, in the previous iteration of the loop"),
        (false, false) => format!("{first} here"),
    }
}

fn release_call(kind: Option<ResourceKind>, name: &str) -> String {
    match kind.and_then(ResourceKind::builtin_name) {
        Some(b) => format!("`{b}({name})`"),
        None => format!("its deallocator (`free({name})` or `wildx_free({name})`)"),
    }
}

impl OwnershipError {
    /// The stable code of this problem.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            OwnershipError::Leak { .. } | OwnershipError::LeakTemporary { .. } => "ARIA-014",
            OwnershipError::UseAfterRelease { .. } => "ARIA-015",
            OwnershipError::DoubleFree { .. } => "ARIA-022",
            OwnershipError::MismatchedDeallocator { .. } => "NPK-401",
            OwnershipError::PartialRelease { .. } => "NPK-402",
            OwnershipError::MixedReturn { .. } => "NPK-403",
            OwnershipError::ReleaseOfBorrow { .. } => "NPK-404",
            OwnershipError::BudgetExceeded { .. } => "NPK-405",
            OwnershipError::ScopeReleaseOfBorrow { .. } => "NPK-406",
        }
    }

    /// The primary span of this problem.
    pub(crate) fn span(&self) -> Span {
        match self {
            OwnershipError::Leak { at, .. }
            | OwnershipError::LeakTemporary { at, .. }
            | OwnershipError::UseAfterRelease { at, .. }
            | OwnershipError::DoubleFree { at, .. }
            | OwnershipError::MismatchedDeallocator { at, .. }
            | OwnershipError::ReleaseOfBorrow { at, .. }
            | OwnershipError::ScopeReleaseOfBorrow { at, .. }
            | OwnershipError::BudgetExceeded { at, .. } => *at,
            OwnershipError::PartialRelease { param_span, .. } => *param_span,
            OwnershipError::MixedReturn { borrowed_at, .. } => *borrowed_at,
        }
    }

    /// Renders this problem as a diagnostic.
    pub(crate) fn to_diagnostic(&self) -> Diagnostic {
        let code = self.code();
        match self {
            OwnershipError::Leak {
                name,
                at,
                exit,
                allocated,
                kind,
                is_result,
            } => {
                let (label, before) = match exit {
                    ScopeExit::BlockEnd => (
                        format!(
                            "`{name}` goes out of scope here while it still owns its allocation"
                        ),
                        "the end of its block",
                    ),
                    ScopeExit::Pass => (
                        format!(
                            "`pass` leaves the scope of `{name}` while it still owns its allocation"
                        ),
                        "this `pass`",
                    ),
                    ScopeExit::Fail => (
                        format!(
                            "`fail` leaves the scope of `{name}` while it still owns its allocation"
                        ),
                        "this `fail`",
                    ),
                    ScopeExit::Break => (
                        format!(
                            "`break` leaves the scope of `{name}` while it still owns its allocation"
                        ),
                        "this `break`",
                    ),
                    ScopeExit::Continue => (
                        format!(
                            "`continue` leaves the scope of `{name}` while it still owns its allocation"
                        ),
                        "this `continue`",
                    ),
                    ScopeExit::Exit => (
                        format!("`exit` ends the program while `{name}` still owns its allocation"),
                        "this `exit` (or in a `defer`, which `exit` runs)",
                    ),
                    ScopeExit::NoReturn => (
                        format!("this call never returns, and `{name}` still owns its allocation"),
                        "this call",
                    ),
                    ScopeExit::Overwrite => (
                        format!(
                            "this assignment overwrites `{name}` while it still owns its allocation"
                        ),
                        "assigning a new value",
                    ),
                };
                let mut d = Diagnostic::error(code, format!("leak of `{name}`"), *at)
                    .with_label(label)
                    .with_help(format!(
                        "release it with {} before {before}",
                        release_call(*kind, &release_target(name, *is_result))
                    ));
                for s in allocated {
                    d = d.with_secondary(*s, "allocated here");
                }
                d
            }
            OwnershipError::LeakTemporary { at, sink, kind } => {
                let label = match sink {
                    TempSink::Discarded => "the allocated pointer is discarded here".to_string(),
                    TempSink::Argument(f) => {
                        format!("passed to `{f}`, which does not release it")
                    }
                    TempSink::Operand => {
                        "the allocated pointer is used once and then lost".to_string()
                    }
                    TempSink::Stored => {
                        "stored through a pointer, where the checker cannot follow it".to_string()
                    }
                    TempSink::CastToInteger => {
                        "converted to an integer, which cannot own it".to_string()
                    }
                };
                let dealloc = kind.builtin_name().unwrap_or("its deallocator");
                Diagnostic::error(
                    code,
                    format!("leak of {} that is never bound", kind_noun(*kind)),
                    *at,
                )
                .with_label(label)
                .with_help(format!(
                    "bind it to a local first, and release that local with `{dealloc}`"
                ))
            }
            OwnershipError::UseAfterRelease {
                name,
                at,
                released,
                moved,
                maybe,
                owner,
                in_loop,
            } => {
                if let Some((owner, borrowed_at)) = owner {
                    let message = if *maybe {
                        format!("use of `{name}` after its owner `{owner}` is possibly released")
                    } else {
                        format!("use of `{name}` after its owner `{owner}` is released")
                    };
                    let mut d = Diagnostic::error(code, message, *at).with_label(format!(
                        "`{name}` borrows `{owner}`, which no longer owns this memory"
                    ));
                    for s in released {
                        d = d.with_secondary(
                            *s,
                            release_label(&format!("`{owner}` released"), *in_loop),
                        );
                    }
                    if let Some(b) = borrowed_at {
                        d = d.with_secondary(*b, "borrowed here");
                    }
                    return d.with_help(format!(
                        "move the release of `{owner}` after the last use of `{name}`"
                    ));
                }
                let what = match (released.is_empty(), moved.is_empty()) {
                    (false, true) => "released",
                    (true, false) => "moved",
                    _ => "released or moved",
                };
                let message = if *maybe {
                    format!("use of possibly {what} `{name}`")
                } else {
                    format!("use of {what} `{name}`")
                };
                let mut d = Diagnostic::error(code, message, *at)
                    .with_label(format!("`{name}` used here after it was {what}"));
                for s in released {
                    d = d.with_secondary(*s, release_label("released", *in_loop));
                }
                for s in moved {
                    d = d.with_secondary(*s, release_label("moved", *in_loop));
                }
                if *maybe {
                    d = d.with_note(format!(
                        "`{name}` is {what} on some of the paths reaching this use"
                    ));
                }
                if moved.is_empty() {
                    d.with_help(format!("move the release of `{name}` after its last use"))
                } else {
                    d.with_help("use the binding that now owns the resource instead")
                }
            }
            OwnershipError::DoubleFree {
                name,
                at,
                first,
                maybe,
                in_loop,
            } => {
                let mut d = Diagnostic::error(code, format!("double free of `{name}`"), *at)
                    .with_label(format!("`{name}` released again here"));
                for s in first {
                    d = d.with_secondary(*s, release_label("first released", *in_loop));
                }
                if *maybe {
                    d = d.with_note(format!(
                        "`{name}` is already released on some of the paths reaching here"
                    ));
                }
                d.with_help(format!("release `{name}` exactly once on every path"))
            }
            OwnershipError::MismatchedDeallocator {
                name,
                at,
                dealloc,
                dealloc_kind,
                allocated,
                alloc_kind,
            } => {
                let mut d =
                    Diagnostic::error(code, format!("mismatched deallocator for `{name}`"), *at)
                        .with_label(format!(
                            "`{dealloc}` releases {}, but `{name}` holds {}",
                            kind_noun(*dealloc_kind),
                            kind_noun(*alloc_kind)
                        ));
                for s in allocated {
                    d = d.with_secondary(*s, "allocated here");
                }
                d.with_help(format!(
                    "release it with {}",
                    release_call(Some(*alloc_kind), name)
                ))
            }
            OwnershipError::PartialRelease {
                func,
                param,
                param_span,
                released_at,
                kept_at,
            } => Diagnostic::error(
                code,
                format!("`{func}` releases parameter `{param}` on some paths but not on others"),
                *param_span,
            )
            .with_label("released on some paths only")
            .with_secondary(*released_at, "released here")
            .with_secondary(
                *kept_at,
                format!("returns here without releasing `{param}`"),
            )
            .with_note("callers cannot know whether they still own what they passed")
            .with_help(format!(
                "release `{param}` on every path that returns, or on none"
            )),
            OwnershipError::MixedReturn {
                func,
                owned_at,
                borrowed_at,
            } => Diagnostic::error(
                code,
                format!(
                    "`{func}` returns an owned pointer on some paths and a borrowed one on others"
                ),
                *borrowed_at,
            )
            .with_label("returns a pointer the caller already owns")
            .with_secondary(*owned_at, "a newly owned pointer, returned from here")
            .with_help("return owned pointers on every path, or on none"),
            OwnershipError::ReleaseOfBorrow {
                name,
                at,
                owner,
                borrowed_at,
            } => {
                let mut d = Diagnostic::error(
                    code,
                    format!("release of `{name}`, which only borrows `{owner}`"),
                    *at,
                )
                .with_label(format!("`{name}` does not own this memory: `{owner}` does"));
                if let Some(b) = borrowed_at {
                    d = d.with_secondary(*b, format!("`{name}` borrows `{owner}` here"));
                }
                d.with_note(format!(
                    "`{owner}` would still release it, or use it, after this release"
                ))
                .with_help(format!("release `{owner}` instead"))
            }
            OwnershipError::ScopeReleaseOfBorrow { name, at, owner } => Diagnostic::error(
                code,
                format!("`{name}` is released at scope end but may only borrow `{owner}`"),
                *at,
            )
            .with_label(format!(
                "`{name}` is released at the end of its scope and may hold a borrow of `{owner}` there"
            ))
            .with_note("`drop.npk` releases every owning `wildx` binding at the end of its scope")
            .with_help("keep owned pages and borrowed functions in separate bindings"),
            OwnershipError::BudgetExceeded { func, at, what } => {
                let what = match what {
                    Budget::Steps => "it needs more analysis steps than the checker allows",
                    Budget::LoopIterations => "a loop's ownership state did not settle",
                    Budget::SummaryRounds => {
                        "its summary did not settle with the other functions of its call cycle"
                    }
                };
                Diagnostic::error(
                    code,
                    format!("ownership of `{func}` could not be checked"),
                    *at,
                )
                .with_label(what)
                .with_note("no verdict is given for this function rather than a guessed one")
                .with_help("split the function into smaller functions")
            }
        }
    }
}

/// Long explanations for `npkc --explain`, by code.
pub const EXPLANATIONS: &[(&str, &str)] = &[
    (
        "ARIA-014",
        "A pointer binding that owns an allocation reached the end of its scope
without being released (a leak).

A `wild`/`wildx` pointer binding owns what it was initialised with when that is
an allocation: `alloc(n)`, `wildx_alloc(n)`, or the result of a function that
returns an owned pointer (such as `Jit.compile_add_i32()`). Before the binding's
block ends, or a `pass`, `fail`, `break` or `continue` leaves it, it must be
released (`free`, `wildx_free`, or a function that releases its parameter, such
as `Jit.free`), or moved (`pass p;`, or `wildx int8->:q = p;`). Assigning a new
value to a binding that still owns its allocation also leaks it, and so does an
allocation that is never bound at all.

A path on which the pointer is known to be `NULL` owns nothing. Ending the
process with `exit` while a binding still owns its allocation is a leak too
(reported at the `exit`); `exit` runs the function's pending defers first, so a
`defer` that releases the binding covers every exit.

Example:

    func:main = int32() {
        wildx int8->:page = wildx_alloc(4096);
        if (page == NULL) { exit 1; }   // fine: nothing owned here
        wildx_seal(page);
    };                                  // error[ARIA-014]: leak of `page`

Fix: release it before the scope ends (`wildx_free(page);`), or register the
release with `defer { wildx_free(page); }` right after the allocation.",
    ),
    (
        "ARIA-015",
        "A binding was used after its resource was released or moved.

After `free(p)`, `wildx_free(p)`, a call of a function that releases its
parameter (`Jit.free(p)`), `pass p;` or `wildx int8->:q = p;`, the binding `p`
no longer refers to memory it owns. Any later use of it (reading it, indexing,
passing it to a function, sealing or calling it, comparing it, arithmetic) is an
error. A use where the resource is released on only some of the paths reaching
it is an error too.

Example:

    wildx int8->:f = raw Jit.compile_add_i32();
    int32:rc = raw Jit.free(f);
    int32:r = raw Jit.call_i32_i32(f, 1i32, 2i32);   // error[ARIA-015]

Fix: move the release after the last use, or use the binding the resource was
moved to.",
    ),
    (
        "ARIA-022",
        "A binding was released twice (double free), or released where it may
already be released on some path.

Example:

    wildx int8->:page = wildx_alloc(4096);
    wildx_free(page);
    wildx_free(page);   // error[ARIA-022]: double free of `page`

Releasing through a function that releases its parameter counts too:
`Jit.free(page)` after `wildx_free(page)` is a double free. Note that `defer`
bodies run when the scope is left, so `defer { wildx_free(page); }` together
with an explicit `wildx_free(page)` before the end of the block is a double free.

Fix: release each resource exactly once on every path.",
    ),
    (
        "NPK-401",
        "A resource was released with the wrong deallocator.

Memory from `alloc` must be released with `free`; a page from `wildx_alloc`
(or from a function returning one, like `Jit.compile_add_i32`) must be released
with `wildx_free` or a function that releases it (like `Jit.free`). Calling
`free` on a `wildx` page, or `wildx_free` on `alloc` memory, corrupts the
allocator or leaks the resource.

Example:

    wildx int8->:page = wildx_alloc(4096);
    free(page);         // error[NPK-401]: mismatched deallocator for `page`

Fix: use the deallocator matching the allocation (`wildx_free(page)`).",
    ),
    (
        "NPK-402",
        "A function releases one of its pointer parameters on some paths but not
on others.

The ownership checker infers from each function's body whether it releases a
parameter; callers then treat a call as a release (the argument may not be used
afterwards) or as a borrow (the caller must still release it). A function that
releases on only some paths makes that impossible to know.

Example:

    func:maybe_free = NIL(wildx int8->:p, bool:really) {
        if (really) { wildx_free(p); }
    };   // error[NPK-402]: `maybe_free` releases parameter `p` on some paths

A path on which the parameter is known to be `NULL` counts as releasing it.

Fix: release the parameter on every path that returns (or on none, and let the
caller release it).",
    ),
    (
        "NPK-403",
        "A function returns a newly owned pointer on some paths and a pointer its
caller already owns (one of its parameters) on others.

Callers of a function that returns an owned pointer must release the result;
if the result may be their own argument, releasing both is a double free.

Example:

    func:pick = wildx int8->(wildx int8->:p, bool:fresh) {
        if (fresh) { pass wildx_alloc(4096); }
        pass p;   // error[NPK-403]
    };

Fix: split the function in two, or always return a new allocation.",
    ),
    (
        "NPK-404",
        "A pointer was released through a binding that only borrows it.

Copying an owned pointer into a binding that cannot own (an unqualified
pointer such as `int8->:q = p;`, or an integer through a cast) makes a borrow:
the original binding still owns the memory and will release it. Releasing the
borrow would free the memory behind the owner's back, so the owner's later
release is a double free and its later uses read freed memory.

Example:

    wild int8->:p = alloc(16);
    int8->:q = p;       // `q` borrows `p`
    free(q);            // error[NPK-404]: release of `q`, which only borrows `p`

Fix: release the owner (`free(p)`). To hand ownership to another binding,
make that binding own it (`wild int8->:q = p;` moves `p` into `q`).

A function from `Jit.arena_add`/`Jit.arena_assemble` is a borrow of its
arena (its address is computed inside the arena): it is never released on its
own. Release the arena (`Jit.free(ar)`); every function in it dies with it.

    wildx int8->:f = raw Jit.arena_assemble(ar, \"ret\", \"int64()\");
    drop Jit.free(f);   // error[NPK-404]: release of `f`, which only borrows `ar`",
    ),
    (
        "NPK-405",
        "The ownership checker gave up on a function instead of guessing.

Each function is analysed within budgets: a number of analysis steps
proportional to its size, a number of iterations for each loop to settle, and
a number of re-analyses while the summaries of a call cycle settle. Real code
stays far inside them. When one is exceeded the checker reports this error
rather than accepting or rejecting the function on incomplete information:
no budget ever silently changes a verdict.

Example (schematic: a function far beyond the budgets):

    func:huge = int32() {   // error[NPK-405]: ownership of `huge` could not be checked
        ...
    };

Fix: split the function into smaller functions (deeply nested loops are the
usual cause).",
    ),
    (
        "NPK-406",
        "A `wildx` binding released at scope end (`use \"drop.npk\".*;`) owns a page
on some paths and only borrows one (a function of a code arena, a copy of
another binding's pointer) on others.

With `drop.npk` the compiler releases every owning `wildx` binding at the end
of its scope. A binding that may hold a borrow there would release memory it
does not own: the arena (or the other binding) would be freed behind its
owner's back.

Example:

    use \"drop.npk\".*;
    wildx int8->:p = is (c) : wildx_alloc(64) : raw Jit.arena_assemble(ar, t, s);
                                    // error[NPK-406]

Fix: keep owned pages and borrowed functions in separate bindings.",
    ),
];
