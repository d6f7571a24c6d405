//! Randomized heap test against a reference model: a mirror of the object graph in plain
//! Rust. Random allocations (small and large), integer and reference stores, root adds,
//! removes and copies, shadow-stack slots, nursery and full collections. After every
//! operation the heap is walked in step with the model from the roots: every reachable
//! object has the model's kind, length and contents, shared objects have one address, every
//! rooted slot holds its object's current address, and after a full collection
//! `live_bytes` is exactly the model's reachable bytes.
//!
//! CI runs 24 seeds x 2500 operations; `NPK_GC_SOAK=1` runs 400 seeds x 20000.

use std::collections::{BTreeMap, BTreeSet};

use npk_gc::{Config, ErrorKind, Heap, Kind};

/// Registered root slots 0..REGISTERED, then FRAME slots of one pushed frame.
const REGISTERED: usize = 12;
const FRAME: usize = 4;
const SLOTS: usize = REGISTERED + FRAME;

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

struct Model {
    objs: Vec<Obj>,
    /// Model id held by each slot (None: NULL, or unregistered so its value is stale).
    roots: [Option<usize>; SLOTS],
    registered: [bool; REGISTERED],
}

/// Walks heap and model together; returns id -> current address of every reachable object.
fn resolve(heap: &Heap, model: &Model, slots: &[usize; SLOTS]) -> BTreeMap<usize, usize> {
    fn bind(addr: &mut BTreeMap<usize, usize>, id: usize, a: usize, stack: &mut Vec<usize>) {
        match addr.get(&id) {
            Some(&prev) => assert_eq!(prev, a, "object {id} reached at two addresses"),
            None => {
                addr.insert(id, a);
                stack.push(id);
            }
        }
    }
    let mut addr = BTreeMap::new();
    let mut stack = Vec::new();
    for (i, root) in model.roots.iter().enumerate() {
        match root {
            Some(id) => bind(&mut addr, *id, slots[i], &mut stack),
            None if i >= REGISTERED || model.registered[i] => {
                assert_eq!(slots[i], 0, "rooted NULL slot {i} changed");
            }
            None => {}
        }
    }
    while let Some(id) = stack.pop() {
        let a = addr[&id];
        assert!(
            heap.is_object(a),
            "object {id} at {a:#x} is not a heap pointer"
        );
        match &model.objs[id] {
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

fn reachable_bytes(model: &Model, addr: &BTreeMap<usize, usize>) -> u64 {
    addr.keys()
        .map(|&id| match &model.objs[id] {
            Obj::Ints(xs) => 8 + 8 * xs.len() as u64,
            Obj::Refs(rs) => 8 + 8 * rs.len() as u64,
        })
        .sum()
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
    let mut slots = Box::new([0usize; SLOTS]);
    let base: *mut usize = slots.as_mut_ptr();
    // SAFETY: `slots` is boxed (stable address) and outlives every registration and the
    // frame, all undone before it is dropped.
    unsafe { heap.push_frame(base.add(REGISTERED), FRAME as i64) }.expect("frame");
    let mut model = Model {
        objs: Vec::new(),
        roots: [None; SLOTS],
        registered: [false; REGISTERED],
    };
    for i in 0..REGISTERED {
        if rng.below(2) == 0 {
            // SAFETY: as above.
            unsafe { heap.add_root(base.add(i)) }.expect("fresh");
            model.registered[i] = true;
        }
    }
    let rooted = |model: &Model, i: usize| i >= REGISTERED || model.registered[i];
    let mut addr = resolve(&heap, &model, &slots);
    for step in 0..ops {
        let live: Vec<usize> = addr.keys().copied().collect();
        let pick = |rng: &mut Rng| (!live.is_empty()).then(|| live[rng.below(live.len())]);
        match rng.below(20) {
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
                model.objs.push(if refs {
                    Obj::Refs(vec![None; len])
                } else {
                    Obj::Ints(vec![0; len])
                });
                let i = rng.below(SLOTS);
                if rooted(&model, i) {
                    slots[i] = a;
                    model.roots[i] = Some(model.objs.len() - 1);
                } // else: garbage at once
            }
            6..=8 => {
                if let Some(id) = pick(&mut rng)
                    && let Obj::Ints(xs) = &mut model.objs[id]
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
                    && let Obj::Refs(rs) = &mut model.objs[id]
                    && !rs.is_empty()
                {
                    let j = rng.below(rs.len());
                    let v = target.map_or(0, |t| addr[&t]);
                    heap.set_ref(addr[&id], j as i64, v).expect("set_ref");
                    rs[j] = target;
                }
            }
            12 => {
                let (i, k) = (rng.below(SLOTS), rng.below(SLOTS));
                if rooted(&model, i) && rooted(&model, k) {
                    slots[i] = slots[k];
                    model.roots[i] = model.roots[k];
                }
            }
            13 => {
                let i = rng.below(REGISTERED);
                if model.registered[i] {
                    heap.remove_root(base.wrapping_add(i)).expect("registered");
                    model.registered[i] = false;
                    model.roots[i] = None; // its value goes stale
                } else {
                    // SAFETY: as above.
                    let again = unsafe { heap.remove_root(base.add(i)) };
                    assert_eq!(again.map_err(|e| e.kind()), Err(ErrorKind::NotRooted));
                    slots[i] = 0;
                    // SAFETY: as above.
                    unsafe { heap.add_root(base.add(i)) }.expect("fresh");
                    model.registered[i] = true;
                }
            }
            14 => {
                let i = rng.below(SLOTS);
                if rooted(&model, i) {
                    slots[i] = 0;
                    model.roots[i] = None;
                }
            }
            15..=17 => heap.collect_nursery(),
            18 => heap.collect(),
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
        addr = resolve(&heap, &model, &slots);
        if rng.below(40) == 0 {
            heap.collect();
            addr = resolve(&heap, &model, &slots);
            assert_eq!(
                heap.stats().live_bytes,
                reachable_bytes(&model, &addr),
                "seed {seed} step {step}: live bytes after a full collection"
            );
        }
    }
    for i in 0..REGISTERED {
        if model.registered[i] {
            heap.remove_root(base.wrapping_add(i)).expect("registered");
        }
    }
    heap.pop_frame(base.wrapping_add(REGISTERED))
        .expect("frame");
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
