//! A persistent fixed-length vector: a 32-way tree of `Rc` nodes.
//!
//! Cloning is O(1) (the root is shared); writing copies only the path to the
//! written element (copy-on-write, nothing when unshared); joining two
//! vectors that descend from a common one skips every shared subtree, so it
//! costs what the two paths changed, not the length. Each subtree also
//! records whether it holds a *flagged* element ([`Flagged`]), so the flagged
//! elements (bindings that may own an allocation) are found without a scan.
//!
//! This is what keeps the ownership analysis near-linear: a state is forked
//! at every `if`, loop and short-circuit, and each fork used to copy the
//! slot of every local.

use std::rc::Rc;

/// Elements that may be *flagged* (found by [`PVec::flagged`]).
pub(crate) trait Flagged {
    fn flagged(&self) -> bool;
}

const BITS: u32 = 5;
const WIDTH: usize = 1 << BITS;
const MASK: usize = WIDTH - 1;

#[derive(Debug, Clone)]
enum Node<T> {
    Leaf(Rc<Leaf<T>>),
    Inner(Rc<Inner<T>>),
}

#[derive(Debug, Clone)]
struct Leaf<T> {
    items: Vec<T>,
    any: bool,
}

#[derive(Debug, Clone)]
struct Inner<T> {
    kids: Vec<Node<T>>,
    any: bool,
}

impl<T: Clone + PartialEq + Flagged> Node<T> {
    fn build(len: usize, shift: u32, fill: &T) -> Node<T> {
        if shift == 0 {
            return Node::Leaf(Rc::new(Leaf {
                items: vec![fill.clone(); len],
                any: len > 0 && fill.flagged(),
            }));
        }
        let span = 1usize << shift;
        let kids: Vec<Node<T>> = (0..len.div_ceil(span))
            .map(|k| Node::build(span.min(len - k * span), shift - BITS, fill))
            .collect();
        let any = kids.iter().any(Node::any);
        Node::Inner(Rc::new(Inner { kids, any }))
    }

    fn any(&self) -> bool {
        match self {
            Node::Leaf(l) => l.any,
            Node::Inner(n) => n.any,
        }
    }

    fn ptr_eq(&self, other: &Node<T>) -> bool {
        match (self, other) {
            (Node::Leaf(a), Node::Leaf(b)) => Rc::ptr_eq(a, b),
            (Node::Inner(a), Node::Inner(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn get(&self, i: usize, shift: u32) -> Option<&T> {
        match self {
            Node::Leaf(l) => l.items.get(i & MASK),
            Node::Inner(n) => n.kids.get((i >> shift) & MASK)?.get(i, shift - BITS),
        }
    }

    /// Applies `f` to element `i`, copying the shared nodes on its path.
    fn update<R>(&mut self, i: usize, shift: u32, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        match self {
            Node::Leaf(l) => {
                let l = Rc::make_mut(l);
                let r = f(l.items.get_mut(i & MASK)?);
                l.any = l.items.iter().any(Flagged::flagged);
                Some(r)
            }
            Node::Inner(n) => {
                let n = Rc::make_mut(n);
                let r = n
                    .kids
                    .get_mut((i >> shift) & MASK)?
                    .update(i, shift - BITS, f);
                n.any = n.kids.iter().any(Node::any);
                r
            }
        }
    }

    /// Joins `other` into `self` element-wise; whether anything changed.
    fn join(&mut self, other: &Node<T>, f: &mut impl FnMut(&mut T, &T)) -> bool {
        if self.ptr_eq(other) {
            return false;
        }
        let changed = match (&mut *self, other) {
            (Node::Leaf(a), Node::Leaf(b)) => {
                let mut changed = false;
                for (k, y) in b.items.iter().enumerate() {
                    let Some(x) = a.items.get(k) else { continue };
                    if x == y {
                        continue;
                    }
                    let mut z = x.clone();
                    f(&mut z, y);
                    if z != *x {
                        let l = Rc::make_mut(a);
                        l.items[k] = z;
                        changed = true;
                    }
                }
                if changed {
                    let l = Rc::make_mut(a);
                    l.any = l.items.iter().any(Flagged::flagged);
                }
                changed
            }
            (Node::Inner(a), Node::Inner(b)) => {
                let mut changed = false;
                for (k, y) in b.kids.iter().enumerate() {
                    let Some(x) = a.kids.get(k) else { continue };
                    let mut z = x.clone();
                    if z.join(y, f) {
                        let n = Rc::make_mut(a);
                        n.kids[k] = z;
                        changed = true;
                    }
                }
                if changed {
                    let n = Rc::make_mut(a);
                    n.any = n.kids.iter().any(Node::any);
                }
                changed
            }
            _ => false,
        };
        // Equal contents: share `other`'s node, so later joins skip it.
        if self.eq_node(other) {
            *self = other.clone();
        }
        changed
    }

    fn eq_node(&self, other: &Node<T>) -> bool {
        if self.ptr_eq(other) {
            return true;
        }
        match (self, other) {
            (Node::Leaf(a), Node::Leaf(b)) => a.items == b.items,
            (Node::Inner(a), Node::Inner(b)) => {
                a.kids.len() == b.kids.len()
                    && a.kids.iter().zip(&b.kids).all(|(x, y)| x.eq_node(y))
            }
            _ => false,
        }
    }

    fn flagged(&self, base: usize, shift: u32, from: usize, out: &mut Vec<usize>) {
        if !self.any() {
            return;
        }
        match self {
            Node::Leaf(l) => out.extend(
                l.items
                    .iter()
                    .enumerate()
                    .filter(|(k, x)| base + k >= from && x.flagged())
                    .map(|(k, _)| base + k),
            ),
            Node::Inner(n) => {
                let span = 1usize << shift;
                for (k, kid) in n.kids.iter().enumerate() {
                    let b = base + k * span;
                    if b + span > from {
                        kid.flagged(b, shift - BITS, from, out);
                    }
                }
            }
        }
    }
}

/// A persistent vector of `len` elements (see the module header).
#[derive(Debug, Clone)]
pub(crate) struct PVec<T> {
    root: Node<T>,
    shift: u32,
}

impl<T: Clone + PartialEq + Flagged> PVec<T> {
    /// `len` copies of `fill`.
    pub fn filled(len: usize, fill: &T) -> PVec<T> {
        let mut shift = 0;
        while (WIDTH << shift) < len {
            shift += BITS;
        }
        PVec {
            root: Node::build(len, shift, fill),
            shift,
        }
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        if self.shift < usize::BITS && (i >> self.shift) >= WIDTH {
            return None;
        }
        self.root.get(i, self.shift)
    }

    /// Applies `f` to element `i` (nothing when out of range).
    pub fn update<R>(&mut self, i: usize, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        self.get(i)?;
        self.root.update(i, self.shift, f)
    }

    /// Joins `other` (of the same length) into `self` with `f`; whether
    /// anything changed. Subtrees the two share are skipped.
    pub fn join_with(&mut self, other: &PVec<T>, mut f: impl FnMut(&mut T, &T)) -> bool {
        self.root.join(&other.root, &mut f)
    }

    /// The indices `>= from` of the flagged elements, ascending.
    pub fn flagged_from(&self, from: usize) -> Vec<usize> {
        let mut out = Vec::new();
        self.root.flagged(0, self.shift, from, &mut out);
        out
    }
}

impl<T: Clone + PartialEq + Flagged> PartialEq for PVec<T> {
    fn eq(&self, other: &PVec<T>) -> bool {
        self.shift == other.shift && self.root.eq_node(&other.root)
    }
}

impl<T: Clone + PartialEq + Flagged> Eq for PVec<T> {}
