//! `gc` types: which are accepted, their conversions, indexing and refusals.

use super::{codes, in_main, ok, one_error};
use crate::hir::{GcKind, Ty};

#[test]
fn gc_bindings_of_both_array_kinds_and_either_check() {
    let p = ok(&in_main(
        "gc int64->:xs = gc_ints(3);\ngc ?->->:rs = gc_refs(2);\ngc ?->:any = xs;\nrs[0] = xs;\nrs[1] = NULL;\nint64:n = len(xs) + len(rs) + len(any) + xs[0];\nexit 0;",
    ));
    let main = p.func(p.main.unwrap());
    let tys: Vec<&Ty> = main.locals.iter().map(|l| &l.ty).collect();
    assert!(tys.contains(&&Ty::Gc(GcKind::Ints)));
    assert!(tys.contains(&&Ty::Gc(GcKind::Refs)));
    assert!(tys.contains(&&Ty::Gc(GcKind::Any)));
}

#[test]
fn gc_parameters_and_results_check() {
    ok("func:failsafe = int32(tbb32:err) { exit 1; };\n\
        func:first = gc ?->(gc ?->->:rs) { pass rs[0]; };\n\
        func:main = int32() { gc ?->->:rs = gc_refs(1); gc ?->:x = raw first(rs); exit 0; };\n");
}

#[test]
fn element_of_a_reference_array_is_either_kind_until_converted() {
    one_error(
        &in_main("gc ?->->:rs = gc_refs(1);\ngc int64->:xs = rs[0];"),
        "NPK-302",
        "rs[0]",
    );
    ok(&in_main(
        "gc ?->->:rs = gc_refs(1);\ngc int64->:xs = rs[0] => int64->;\ngc ?->->:inner = rs[0] => ?->->;\nexit 0;",
    ));
}

#[test]
fn gc_type_other_than_the_three_is_refused() {
    let d = one_error(&in_main("gc int32->:g = NULL;"), "NPK-326", "gc int32->");
    assert!(d.message.contains("`gc int32->`"), "{d:#?}");
}

#[test]
fn gc_in_an_extern_is_refused() {
    let d = one_error(
        "extern func:f = int32(gc int64->:g);\nfunc:failsafe = int32(tbb32:err) { exit 1; };\nfunc:main = int32() { exit 0; };\n",
        "NPK-326",
        "gc int64->",
    );
    assert!(d.message.contains("cannot cross into C"), "{d:#?}");
}

#[test]
fn address_of_a_gc_binding_is_refused() {
    one_error(
        &in_main("gc int64->:xs = gc_ints(1);\nint64:a = @xs => int64;"),
        "NPK-326",
        "@xs",
    );
}

#[test]
fn gc_reference_is_not_a_plain_pointer_either_way() {
    assert_eq!(
        codes(&in_main(
            "gc int64->:xs = gc_ints(1);\nint64->:p = xs;\nwild int64->:w = alloc(8);\ngc int64->:g = w;"
        )),
        ["NPK-302", "NPK-302"]
    );
}

#[test]
fn address_of_a_reference_is_a_64_bit_integer_only() {
    ok(&in_main(
        "gc int64->:xs = gc_ints(1);\nint64:a = xs => int64;\nuint64:b = xs => uint64;\nexit 0;",
    ));
    one_error(
        &in_main("gc int64->:xs = gc_ints(1);\nint32:a = xs => int32;"),
        "NPK-318",
        "xs => int32",
    );
}

#[test]
fn either_kind_and_dereference_cannot_be_indexed() {
    assert_eq!(
        codes(&in_main(
            "gc int64->:xs = gc_ints(1);\ngc ?->:any = xs;\nint64:a = any[0];\nint64:b = <-xs;"
        )),
        ["NPK-317", "NPK-317"]
    );
}

#[test]
fn gc_references_compare_with_each_other_and_null() {
    ok(&in_main(
        "gc int64->:xs = gc_ints(1);\ngc ?->->:rs = gc_refs(1);\nbool:a = xs == NULL || NULL != rs || rs[0] == xs;\nexit 0;",
    ));
}

#[test]
fn len_takes_a_gc_reference() {
    one_error(
        &in_main("wild int64->:w = alloc(8);\nint64:n = len(w);\nfree(w);"),
        "NPK-302",
        "w",
    );
}
