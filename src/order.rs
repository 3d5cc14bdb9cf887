//! Sorting the short lists through one shared sort.
//!
//! Every `slice::sort_by` call with a closure of its own compiles a whole
//! stable sort of its own: about 8 KB of machine code a call site, 61 of
//! them once (benches/notes.md). The lists sitrep sorts once per refresh or
//! per file read (deploys, SLOs, flags, silences, timeline events, runbook
//! candidates, the rows of a view) go through [`sort_by`] here instead: the
//! comparison reaches one sort of positions behind a `dyn` call, and the
//! elements are then moved into that order. The result is the stable sort's
//! (equal elements keep their order). The one hot sort, the snapshot's
//! incidents, keeps the slice's own.

use std::cmp::Ordering;

/// Sorts `v` by `cmp`, stably (as `slice::sort_by` does).
pub fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let order = {
        let all: &[T] = v;
        positions(all.len(), &|a, b| cmp(&all[a], &all[b]))
    };
    permute(v, order);
}

/// Sorts `v` in its natural order, stably.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// Sorts `v` by the key `key` gives each element, stably.
pub fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// The positions `0..len` in the order `cmp` gives them; equal ones in
/// their first order, so the one unstable sort here gives the stable order.
#[inline(never)]
fn positions(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_unstable_by(|&a, &b| cmp(a, b).then(a.cmp(&b)));
    order
}

/// Moves the elements so that the one at `order[k]` ends up at `k`,
/// following each cycle of the permutation with swaps.
fn permute<T>(v: &mut [T], mut order: Vec<usize>) {
    for start in 0..v.len() {
        let mut at = start;
        loop {
            let from = order[at];
            // Placed: a later cycle through here stops at once.
            order[at] = at;
            if from == start {
                break;
            }
            v.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The same order as the standard library's stable sort, ties
        /// included: the key has few values, the second field tells equal
        /// elements apart.
        #[test]
        fn sorts_as_the_stable_sort(v in proptest::collection::vec((0u8..6, any::<u32>()), 0..200)) {
            let mut want = v.clone();
            want.sort_by_key(|e| std::cmp::Reverse(e.0));
            let mut got = v;
            sort_by(&mut got, |a, b| b.0.cmp(&a.0));
            prop_assert_eq!(got, want);
        }

        #[test]
        fn sorts_by_key_as_the_stable_sort(v in proptest::collection::vec((any::<i8>(), 0u16..4), 0..100)) {
            let mut want = v.clone();
            want.sort_by_key(|e| e.1);
            let mut got = v;
            sort_by_key(&mut got, |e| e.1);
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn moves_owned_values_without_losing_one() {
        let mut v: Vec<String> = ["d", "b", "a", "c", "b"].map(String::from).to_vec();
        sort_by(&mut v, |a, b| a.cmp(b));
        assert_eq!(v, ["a", "b", "b", "c", "d"]);
    }
}
