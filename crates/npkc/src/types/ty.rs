//! Types as written (`ast::TypeExpr`) to resolved types (`hir::Ty`), their
//! display, and the small rules about them: which literal fits which
//! integer type, which casts exist, which types are sized.
//!
//! Where a type may appear is a [`TypePlace`] plus whether it is inside an
//! `extern` declaration (only there `T*`, `?*` and `void` are allowed).

use crate::ast::{IntTy, TypeExpr, TypeExprKind};
use crate::diagnostic::Diagnostic;
use crate::hir::{GcKind, Ty};
use crate::resolve::{self, suggest};

use super::error::{Error, TypePlace};

/// The source spelling of a type, e.g. `int8->`, `Result<int32>`.
#[must_use]
pub fn show(ty: &Ty) -> String {
    match ty {
        Ty::Int(i) => i.name().to_string(),
        Ty::Bool => "bool".to_string(),
        Ty::Str => "string".to_string(),
        Ty::Nil => "NIL".to_string(),
        Ty::Ptr(t) => format!("{}->", show(t)),
        Ty::Erased => "?->".to_string(),
        Ty::Result(t) => format!("Result<{}>", show(t)),
        Ty::Null => "NULL".to_string(),
        Ty::Gc(GcKind::Ints) => "gc int64->".to_string(),
        Ty::Gc(GcKind::Refs) => "gc ?->->".to_string(),
        Ty::Gc(GcKind::Any) => "gc ?->".to_string(),
    }
}

/// The `gc` type written as `gc T` (a binding, parameter or return type
/// qualified `gc`): `int64->`, `?->->` or `?->`. `None` for any other `T`
/// (the caller reports `NPK-326`).
#[must_use]
pub fn gc_kind(t: &TypeExpr) -> Option<GcKind> {
    match &t.kind {
        TypeExprKind::Ptr(p) => match &p.kind {
            TypeExprKind::Int(IntTy::I64) => Some(GcKind::Ints),
            TypeExprKind::Erased => Some(GcKind::Refs),
            _ => None,
        },
        TypeExprKind::Erased => Some(GcKind::Any),
        _ => None,
    }
}

/// The written type `T` of `gc T` and the `gc` type it means, for messages.
#[must_use]
pub fn written_type(t: &TypeExpr) -> String {
    written(t)
}

/// The spelling of a type expression as written (for messages about types
/// that do not resolve to a `Ty`).
fn written(t: &TypeExpr) -> String {
    match &t.kind {
        TypeExprKind::Int(i) => i.name().to_string(),
        TypeExprKind::Tbb32 => "tbb32".to_string(),
        TypeExprKind::Bool => "bool".to_string(),
        TypeExprKind::String => "string".to_string(),
        TypeExprKind::Nil => "NIL".to_string(),
        TypeExprKind::Void => "void".to_string(),
        TypeExprKind::Ptr(p) => format!("{}->", written(p)),
        TypeExprKind::CPtr(p) => format!("{}*", written(p)),
        TypeExprKind::Erased => "?->".to_string(),
        TypeExprKind::CErased => "?*".to_string(),
        TypeExprKind::Result(p) => format!("Result<{}>", written(p)),
        TypeExprKind::Named(id) => id.name.clone(),
    }
}

/// Every type name, for "did you mean".
const TYPE_NAMES: &[&str] = &[
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "tbb32", "bool",
    "string", "NIL",
];

/// Resolves a type written at `place` (`in_extern`: inside an `extern`
/// declaration). Errors are pushed to `errors`; `None` means the type is
/// unusable and was reported.
pub fn lower(
    t: &TypeExpr,
    place: TypePlace,
    in_extern: bool,
    errors: &mut Vec<Diagnostic>,
) -> Option<Ty> {
    let not_allowed = |errors: &mut Vec<Diagnostic>| {
        errors.push(
            Error::TypeNotAllowed {
                ty: written(t),
                place,
                span: t.span,
            }
            .into(),
        );
        None
    };
    match &t.kind {
        TypeExprKind::Int(i) => Some(Ty::Int(*i)),
        TypeExprKind::Tbb32 => Some(Ty::Int(IntTy::I32)),
        TypeExprKind::Bool => Some(Ty::Bool),
        TypeExprKind::String => Some(Ty::Str),
        TypeExprKind::Nil => match place {
            TypePlace::Return | TypePlace::ResultArg => Some(Ty::Nil),
            _ => not_allowed(errors),
        },
        TypeExprKind::Void => {
            if !in_extern {
                errors.push(
                    Error::CTypeOutsideExtern {
                        written: "void",
                        span: t.span,
                    }
                    .into(),
                );
                None
            } else if place == TypePlace::Return {
                Some(Ty::Nil)
            } else {
                not_allowed(errors)
            }
        }
        TypeExprKind::Ptr(inner) => {
            let inner = lower(inner, TypePlace::Pointee, in_extern, errors)?;
            Some(Ty::Ptr(Box::new(inner)))
        }
        TypeExprKind::CPtr(inner) => {
            if !in_extern {
                errors.push(
                    Error::CTypeOutsideExtern {
                        written: "T*",
                        span: t.span,
                    }
                    .into(),
                );
                return None;
            }
            let inner = lower(inner, TypePlace::Pointee, in_extern, errors)?;
            Some(Ty::Ptr(Box::new(inner)))
        }
        TypeExprKind::Erased => Some(Ty::Erased),
        TypeExprKind::CErased => {
            if in_extern {
                Some(Ty::Erased)
            } else {
                errors.push(
                    Error::CTypeOutsideExtern {
                        written: "?*",
                        span: t.span,
                    }
                    .into(),
                );
                None
            }
        }
        TypeExprKind::Result(inner) => {
            if place != TypePlace::Binding || in_extern {
                return not_allowed(errors);
            }
            let inner = lower(inner, TypePlace::ResultArg, in_extern, errors)?;
            Some(Ty::Result(Box::new(inner)))
        }
        TypeExprKind::Named(id) => {
            errors.push(
                resolve::Error::UnknownType {
                    name: id.name.clone(),
                    span: id.span,
                    suggestion: suggest(&id.name, TYPE_NAMES.iter().copied()),
                }
                .into(),
            );
            None
        }
    }
    .and_then(|ty| {
        // A cast target must be a scalar the cast rules know.
        if place == TypePlace::Cast
            && !matches!(ty, Ty::Int(_) | Ty::Bool | Ty::Ptr(_) | Ty::Erased)
        {
            return not_allowed(errors);
        }
        Some(ty)
    })
}

/// Whether values of `ty` have a size (can be a pointee of `p[i]`/`<-p`).
#[must_use]
pub fn sized(ty: &Ty) -> bool {
    matches!(
        ty,
        Ty::Int(_) | Ty::Bool | Ty::Str | Ty::Ptr(_) | Ty::Erased
    )
}

/// Whether `value` (negated when `neg`) fits in `ty`.
#[must_use]
pub fn fits(value: u64, neg: bool, ty: IntTy) -> bool {
    let v = if neg {
        -i128::from(value)
    } else {
        i128::from(value)
    };
    let bits = ty.bits();
    let (min, max) = if ty.signed() {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    (min..=max).contains(&v)
}

/// The bits of `value` (negated when `neg`) truncated to the width of `ty`.
#[must_use]
pub fn literal_bits(value: u64, neg: bool, ty: IntTy) -> u64 {
    let v = if neg { value.wrapping_neg() } else { value };
    match ty.bits() {
        64 => v,
        b => v & ((1u64 << b) - 1),
    }
}

/// Whether a cast from `from` to `to` exists.
#[must_use]
pub fn castable(from: &Ty, to: &Ty) -> bool {
    let ptr = |t: &Ty| matches!(t, Ty::Ptr(_) | Ty::Erased | Ty::Null);
    let wide = |t: &Ty| matches!(t, Ty::Int(IntTy::I64 | IntTy::U64));
    from == to
        || matches!((from, to), (Ty::Int(_) | Ty::Bool, Ty::Int(_)))
        || (ptr(from) && matches!(to, Ty::Ptr(_) | Ty::Erased))
        || (matches!(from, Ty::Str) && matches!(to, Ty::Ptr(_) | Ty::Erased))
        || (ptr(from) && wide(to))
        || (wide(from) && matches!(to, Ty::Ptr(_) | Ty::Erased))
}
