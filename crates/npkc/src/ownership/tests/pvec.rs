//! The persistent vector behind the ownership state: forks share, joins
//! visit what changed, flagged elements are found without a scan.

use crate::ownership::state::pvec::{Flagged, PVec};

#[derive(Debug, Clone, PartialEq)]
struct Bit(u32);

impl Flagged for Bit {
    fn flagged(&self) -> bool {
        self.0 & 1 == 1
    }
}

fn or(a: &mut Bit, b: &Bit) {
    a.0 |= b.0;
}

#[test]
fn a_fork_is_independent_of_its_origin() {
    let base = PVec::filled(5000, &Bit(0));
    let mut fork = base.clone();
    fork.update(4321, |b| b.0 = 2);
    assert_eq!(base.get(4321), Some(&Bit(0)));
    assert_eq!(fork.get(4321), Some(&Bit(2)));
    assert_eq!(fork.get(5000), None, "out of range");
    assert!(base != fork);
}

#[test]
fn joining_two_forks_merges_what_each_changed() {
    let base = PVec::filled(3000, &Bit(0));
    let (mut a, mut b) = (base.clone(), base.clone());
    a.update(7, |x| x.0 = 2);
    b.update(2999, |x| x.0 = 4);
    assert!(a.join_with(&b, or), "the join changed `a`");
    assert_eq!(a.get(7), Some(&Bit(2)));
    assert_eq!(a.get(2999), Some(&Bit(4)));
    assert!(!a.join_with(&b, or), "joining again changes nothing");
    assert!(!a.join_with(&base, or));
}

#[test]
fn flagged_elements_are_listed_from_an_index() {
    let mut v = PVec::filled(10_000, &Bit(0));
    for i in [3, 40, 1025, 9999] {
        v.update(i, |x| x.0 = 1);
    }
    assert_eq!(v.flagged_from(0), vec![3, 40, 1025, 9999]);
    assert_eq!(v.flagged_from(41), vec![1025, 9999]);
    v.update(1025, |x| x.0 = 0);
    assert_eq!(v.flagged_from(0), vec![3, 40, 9999]);
}
