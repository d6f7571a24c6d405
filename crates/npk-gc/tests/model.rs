//! Randomized heap test against a reference model: a mirror of the object graph in plain
//! Rust. Random allocations (small and large), integer and reference stores, root adds,
//! removes and copies, shadow-stack frames pushed and popped (and popped out of order,
//! refused), nursery and full collections. After every operation the heap is walked in
//! step with the model from the roots: every reachable object has the model's kind, length
//! and contents, shared objects have one address, every rooted slot holds its object's
//! current address, and after a full collection `live_bytes` is exactly the model's
//! reachable bytes.
//!
//! CI runs 24 seeds x 2500 operations; `NPK_GC_SOAK=1` runs 400 seeds x 20000.

use std::collections::{BTreeMap, BTreeSet};

use npk_gc::{Config, ErrorKind, Heap, Kind};

/// Registered root slots, and slots per shadow-stack frame.
const REGISTERED: usize = 12;
const FRAME: usize = 3;
const MAX_FRAMES: usize = 5;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Debug)]
enum Obj {
    Ints(Vec<i64>),
    Refs(Vec<Option<usize>>),
}

/// A root slot: registered slot `i`, or slot `j` of frame `f`.
#[derive(Clone, Copy, Debug)]
enum Root {
    Registered(usize),
    Frame(usize, usize),
}

/// One pushed frame: its slots (boxed, so their address is stable) and their model ids.
type Frame = (Box<[usize; FRAME]>, [Option<usize>; FRAME]);

/// The roots: real slots (boxed, so their addresses are stable) and the model ids they hold.
struct Roots {
    registered: Box<[usize; REGISTERED]>,
    registered_ids: [Option<usize>; REGISTERED],
    registered_on: [bool; REGISTERED],
    frames: Vec<Frame>,
}

impl Roots {
    fn registered_ptr(&mut self, i: usize) -> *mut usize {
        &mut self.registered[i]
    }

    /// Every slot that is a root now.
    fn live(&self) -> Vec<Root> {
        let mut out: Vec<Root> = (0..REGISTERED)
            .filter(|&i| self.registered_on[i])
            .map(Root::Registered)
            .collect();
        for f in 0..self.frames.len() {
            out.extend((0..FRAME).map(|j| Root::Frame(f, j)));
        }
        out
    }

    fn get(&self, r: Root) -> (usize, Option<usize>) {
        match r {
            Root::Registered(i) => (self.registered[i], self.registered_ids[i]),
            Root::Frame(f, j) => (self.frames[f].0[j], self.frames[f].1[j]),
        }
    }

    fn set(&mut self, r: Root, value: usize, id: Option<usize>) {
        match r {
            Root::Registered(i) => {
                self.registered[i] = value;
                self.registered_ids[i] = id;
            }
            Root::Frame(f, j) => {
                self.frames[f].0[j] = value;
                self.frames[f].1[j] = id;
            }
        }
    }
}

fn bind(addr: &mut BTreeMap<usize, usize>, id: usize, a: usize, stack: &mut Vec<usize>) {
    match addr.get(&id) {
        Some(&prev) => assert_eq!(prev, a, "object {id} reached at two addresses"),
        None => {
            addr.insert(id, a);
            stack.push(id);
        }
    }
}

/// Walks heap and model together; returns id -> current address of every reachable object.
fn resolve(heap: &Heap, objs: &[Obj], roots: &Roots) -> BTreeMap<usize, usize> {
    let mut addr = BTreeMap::new();
    let mut stack = Vec::new();
    for r in roots.live() {
        match roots.get(r) {
            (value, Some(id)) => bind(&mut addr, id, value, &mut stack),
            (value, None) => assert_eq!(value, 0, "rooted NULL slot {r:?} changed"),
        }
    }
    while let Some(id) = stack.pop() {
        let a = addr[&id];
        assert!(
            heap.is_object(a),
            "object {id} at {a:#x} is not a heap pointer"
        );
        match &objs[id] {
            Obj::Ints(xs) => {
                assert_eq!(heap.kind(a), Ok(Kind::Ints));
                assert_eq!(heap.len(a), Ok(xs.len()));
                for (j, &x) in xs.iter().enumerate() {
                    assert_eq!(heap.get_int(a, j as i64), Ok(x), "object {id}[{j}]");
                }
            }
            Obj::Refs(rs) => {
                assert_eq!(heap.kind(a), Ok(Kind::Refs));
                assert_eq!(heap.len(a), Ok(rs.len()));
                for (j, r) in rs.iter().enumerate() {
                    let v = heap.get_ref(a, j as i64).expect("field");
                    match r {
                        None => assert_eq!(v, 0, "object {id}[{j}] should be NULL"),
                        Some(c) => bind(&mut addr, *c, v, &mut stack),
                    }
                }
            }
        }
    }
    let distinct: BTreeSet<usize> = addr.values().copied().collect();
    assert_eq!(distinct.len(), addr.len(), "two objects share an address");
    addr
}

fn reachable_bytes(objs: &[Obj], addr: &BTreeMap<usize, usize>) -> u64 {
    addr.keys()
        .map(|&id| match &objs[id] {
            Obj::Ints(xs) => 8 + 8 * xs.len() as u64,
            Obj::Refs(rs) => 8 + 8 * rs.len() as u64,
        })
        .sum()
}

fn push_frame(heap: &mut Heap, roots: &mut Roots) {
    let mut slots = Box::new([0usize; FRAME]);
    // SAFETY: the box keeps the slots at one address until the frame is popped (frames are
    // popped before `roots` is dropped).
    unsafe { heap.push_frame(slots.as_mut_ptr(), FRAME as i64) }.expect("push");
    roots.frames.push((slots, [None; FRAME]));
}

fn pop_frame(heap: &mut Heap, roots: &mut Roots) {
    let (mut slots, _) = roots.frames.pop().expect("a frame");
    heap.pop_frame(slots.as_mut_ptr()).expect("top frame");
}

fn run(seed: u64, ops: usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let config = Config {
        nursery_bytes: 8 << 10,
        max_heap_bytes: 256 << 20,
        promote_age: (seed % 3) as u32,
        min_major_bytes: 64 << 10,
    };
    let mut heap = Heap::new(config).expect("heap");
    let mut objs: Vec<Obj> = Vec::new();
    let mut roots = Roots {
        registered: Box::new([0; REGISTERED]),
        registered_ids: [None; REGISTERED],
        registered_on: [false; REGISTERED],
        frames: Vec::new(),
    };
    push_frame(&mut heap, &mut roots);
    for i in 0..REGISTERED {
        if rng.below(2) == 0 {
            // SAFETY: `roots.registered` is boxed and outlives every registration.
            unsafe { heap.add_root(roots.registered_ptr(i)) }.expect("fresh");
            roots.registered_on[i] = true;
        }
    }
    let mut addr = resolve(&heap, &objs, &roots);
    for step in 0..ops {
        let live: Vec<usize> = addr.keys().copied().collect();
        let pick = |rng: &mut Rng| (!live.is_empty()).then(|| live[rng.below(live.len())]);
        let slots = roots.live();
        let pick_root = |rng: &mut Rng| slots[rng.below(slots.len())];
        match rng.below(22) {
            0..=5 => {
                let large = rng.below(50) == 0;
                let len = if large {
                    300 + rng.below(300)
                } else {
                    rng.below(6)
                };
                let refs = rng.below(2) == 0;
                let a = if refs {
                    heap.alloc_refs(len as i64)
                } else {
                    heap.alloc_ints(len as i64)
                }
                .expect("alloc");
                objs.push(if refs {
                    Obj::Refs(vec![None; len])
                } else {
                    Obj::Ints(vec![0; len])
                });
                if rng.below(8) != 0 {
                    roots.set(pick_root(&mut rng), a, Some(objs.len() - 1));
                } // else: garbage at once
            }
            6..=8 => {
                if let Some(id) = pick(&mut rng)
                    && let Obj::Ints(xs) = &mut objs[id]
                    && !xs.is_empty()
                {
                    let j = rng.below(xs.len());
                    let v = rng.next() as i64;
                    heap.set_int(addr[&id], j as i64, v).expect("set_int");
                    xs[j] = v;
                }
            }
            9..=11 => {
                let target = if rng.below(4) == 0 {
                    None
                } else {
                    pick(&mut rng)
                };
                if let Some(id) = pick(&mut rng)
                    && let Obj::Refs(rs) = &mut objs[id]
                    && !rs.is_empty()
                {
                    let j = rng.below(rs.len());
                    let v = target.map_or(0, |t| addr[&t]);
                    heap.set_ref(addr[&id], j as i64, v).expect("set_ref");
                    rs[j] = target;
                }
            }
            12 => {
                let (to, from) = (pick_root(&mut rng), pick_root(&mut rng));
                let (value, id) = roots.get(from);
                roots.set(to, value, id);
            }
            13 => {
                let i = rng.below(REGISTERED);
                let p = roots.registered_ptr(i);
                if roots.registered_on[i] {
                    heap.remove_root(p).expect("registered");
                    let again = heap.remove_root(p).map_err(|e| e.kind());
                    assert_eq!(again, Err(ErrorKind::NotRooted));
                    roots.registered_on[i] = false;
                    roots.registered_ids[i] = None; // its value goes stale
                } else {
                    roots.registered[i] = 0;
                    // SAFETY: as above.
                    unsafe { heap.add_root(p) }.expect("fresh");
                    // SAFETY: as above.
                    let twice = unsafe { heap.add_root(p) }.map_err(|e| e.kind());
                    assert_eq!(twice, Err(ErrorKind::AlreadyRooted));
                    roots.registered_on[i] = true;
                }
            }
            14 => roots.set(pick_root(&mut rng), 0, None),
            15 => {
                if roots.frames.len() < MAX_FRAMES {
                    push_frame(&mut heap, &mut roots);
                }
            }
            16 => {
                let depth = roots.frames.len();
                if depth >= 2 {
                    let under = roots.frames[depth - 2].0.as_mut_ptr();
                    let refused = heap.pop_frame(under).map_err(|e| e.kind());
                    assert_eq!(refused, Err(ErrorKind::FrameMismatch));
                    pop_frame(&mut heap, &mut roots);
                }
            }
            17..=19 => heap.collect_nursery(),
            20 => heap.collect(),
            _ => {
                // An unrooted young object: after a nursery collection it is no heap pointer.
                let g = heap.alloc_ints(1).expect("alloc");
                let collections = heap.stats().minor_collections;
                heap.collect_nursery();
                if heap.stats().minor_collections == collections + 1 {
                    assert!(!heap.is_object(g), "seed {seed} step {step}: stale {g:#x}");
                }
            }
        }
        assert_eq!(heap.frame_depth(), roots.frames.len());
        addr = resolve(&heap, &objs, &roots);
        if rng.below(40) == 0 {
            heap.collect();
            addr = resolve(&heap, &objs, &roots);
            assert_eq!(
                heap.stats().live_bytes,
                reachable_bytes(&objs, &addr),
                "seed {seed} step {step}: live bytes after a full collection"
            );
        }
    }
    for i in 0..REGISTERED {
        if roots.registered_on[i] {
            heap.remove_root(roots.registered_ptr(i))
                .expect("registered");
        }
    }
    while !roots.frames.is_empty() {
        pop_frame(&mut heap, &mut roots);
    }
    heap.collect();
    assert_eq!(
        heap.stats().live_bytes,
        0,
        "seed {seed}: everything unrooted is freed"
    );
}

#[test]
fn random_heaps_match_the_reference_model_through_collections() {
    let soak = std::env::var_os("NPK_GC_SOAK").is_some();
    let (seeds, ops) = if soak { (400, 20_000) } else { (24, 2_500) };
    for seed in 1..=seeds {
        run(seed, ops);
    }
}
