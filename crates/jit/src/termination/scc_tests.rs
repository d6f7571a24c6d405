//! The strongly connected components of [`Scratch`] against a reference:
//! two blocks share a component exactly when each reaches the other (or
//! they are one block). Random graphs of at most 64 blocks go through both
//! the bit-mask path ([`Scratch::components_small`]) and the lists
//! (Kosaraju, [`Scratch::components`]); larger ones through the lists.

use proptest::prelude::*;

use super::Scratch;

/// Reachability in zero or more steps, by repeated search from each block.
fn reference(n: usize, edges: &[(u32, u32)]) -> Vec<Vec<bool>> {
    let mut reach = vec![vec![false; n]; n];
    for (from, row) in reach.iter_mut().enumerate() {
        let mut stack = vec![from];
        row[from] = true;
        while let Some(b) = stack.pop() {
            for &(_, s) in edges.iter().filter(|e| e.0 as usize == b) {
                if !row[s as usize] {
                    row[s as usize] = true;
                    stack.push(s as usize);
                }
            }
        }
    }
    reach
}

/// Checks a component numbering against mutual reachability.
fn same_partition(scc: &[u32], reach: &[Vec<bool>]) -> Result<(), TestCaseError> {
    let n = reach.len();
    prop_assert_eq!(scc.len(), n);
    for a in 0..n {
        for b in 0..n {
            let mutual = reach[a][b] && reach[b][a];
            prop_assert_eq!(scc[a] == scc[b], mutual, "blocks {} and {}", a, b);
        }
    }
    Ok(())
}

/// A graph of `n` blocks: each block has up to two successors (a jump
/// target and the next block), as code has.
fn graph(max: usize) -> impl Strategy<Value = (usize, Vec<(u32, u32)>)> {
    (1..=max).prop_flat_map(|n| {
        let block = (0..n as u32, any::<bool>(), any::<bool>());
        (Just(n), proptest::collection::vec(block, n)).prop_map(|(n, picks)| {
            let mut edges = Vec::new();
            for (b, &(target, jumps, falls)) in picks.iter().enumerate() {
                if jumps {
                    edges.push((b as u32, target));
                }
                if falls && b + 1 < n {
                    edges.push((b as u32, b as u32 + 1));
                }
            }
            edges.sort_unstable();
            edges.dedup();
            (n, edges)
        })
    })
}

fn lists(s: &mut Scratch, n: usize, edges: &[(u32, u32)]) -> Vec<u32> {
    s.succ.fill_from(n, edges, false);
    s.pred.fill_from(n, edges, true);
    s.components(n);
    s.scc.clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn bit_masks_and_lists_find_the_components_of_small_graphs((n, edges) in graph(64)) {
        let mut s = Scratch {
            succ_bits: vec![0; n],
            pred_bits: vec![0; n],
            ..Scratch::default()
        };
        for &(a, b) in &edges {
            s.succ_bits[a as usize] |= 1 << b;
            s.pred_bits[b as usize] |= 1 << a;
        }
        s.components_small(n);
        let small = s.scc.clone();
        let reach = reference(n, &edges);
        same_partition(&small, &reach)?;
        // A component is named by its least block.
        for (b, &c) in small.iter().enumerate() {
            prop_assert!(c as usize <= b && small[c as usize] == c);
        }
        same_partition(&lists(&mut s, n, &edges), &reach)?;
    }

    #[test]
    fn lists_find_the_components_of_larger_graphs((n, edges) in graph(200)) {
        let mut s = Scratch::default();
        same_partition(&lists(&mut s, n, &edges), &reference(n, &edges))?;
    }
}
