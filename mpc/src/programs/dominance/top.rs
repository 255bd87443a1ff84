//! The n largest values per unit, in secret: a tournament for the
//! dominance rule where no party can sort the contributions itself
//! (`linked-group-stats`, whose records are linked in secret).
//!
//! Every row starts as a leaf holding its one value. Two nodes, each the
//! list of the n largest values under it sorted descending (A and B, padded
//! with zeros to p, the next power of two ≥ n), merge into
//! `C_i = max(A_i, B_{p−1−i})`: a bitonic sequence holding the p largest
//! of A ∪ B. A bitonic merger (log₂ p stages of compare-exchanges) sorts C
//! descending and its first n entries go on. With an odd number of nodes
//! the leftover one is carried up a level unchanged; after ⌈log₂ R⌉ levels
//! one node is left. For n = 1 this is a tree of maxima.
//!
//! Zeros known to every party (the padding) are tracked in the clear:
//! exchanging a value with a public zero needs no comparison, as every value
//! is non-negative. So a merge costs at most `min(|A|, |B|)` comparisons
//! for the maxima and `p/2` per merger stage, usually fewer. All merges of a
//! level and all units run in the same rounds: each step is one
//! [`compare::lt`] call and one multiplication on the concatenation of
//! everything it compares.

use crate::compare;
use crate::field::Fp;
use crate::party::Party;
use crate::programs::ProgramError;
use crate::secret::SecretVec;
use crate::transport::Transport;

/// One node: its n largest values sorted descending, padded to a power of
/// two; `None` is a zero every party knows.
type Node<E> = Vec<Option<E>>;

/// The n largest of each unit's values, in secret. `values` holds `units`
/// blocks of R rows each (unit u's row i at `u · R + i`), every value in
/// `[0, 2^(bits−2))`. Returns `units · n` values: unit u's j-th largest at
/// `u · n + j` (zeros where a unit has fewer than n rows).
///
/// Costs ⌈log₂ R⌉ levels of at most `1 + log₂ p` steps (p the next power
/// of two ≥ n), each one [`compare::lt`] and one multiplication, and
/// [`comparisons`]`(R, n)` comparisons per unit. Nothing is opened.
pub fn top_n<T: Transport>(
    party: &mut Party<T>,
    values: &SecretVec,
    units: usize,
    n: usize,
    bits: u32,
) -> Result<SecretVec, ProgramError> {
    if units == 0 || n == 0 {
        return Ok(SecretVec::from_shares(Vec::new()));
    }
    if !values.len().is_multiple_of(units) {
        return Err(ProgramError::Layout(format!(
            "{} values do not split into {units} units",
            values.len()
        )));
    }
    let rows = values.len() / units;
    // Leaf i: row i of every unit.
    let leaves: Vec<SecretVec> = (0..rows)
        .map(|i| values.select(&(0..units).map(|u| u * rows + i).collect::<Vec<_>>()))
        .collect::<Result<_, _>>()?;
    let top = tournament(leaves, n, |pairs| exchange(party, pairs, bits))?;
    let zero = SecretVec::from_shares(vec![Fp::ZERO; units]);
    let ranked: Vec<&SecretVec> = (0..n)
        .map(|j| top.get(j).and_then(Option::as_ref).unwrap_or(&zero))
        .collect();
    // `ranked` is rank-major (j · units + u); the result is unit-major.
    let order: Vec<usize> = (0..units * n).map(|x| (x % n) * units + x / n).collect();
    Ok(SecretVec::concat(&ranked).select(&order)?)
}

/// The comparisons [`top_n`] runs per unit for R rows: the tournament's
/// structure is public, so it is counted by running it on nothing.
pub fn comparisons(rows: usize, n: usize) -> usize {
    let mut count = 0;
    let counted = tournament(vec![(); rows], n, |pairs| {
        count += pairs.len();
        Ok(pairs)
    });
    debug_assert!(counted.is_ok());
    count
}

/// `(max, min)` of each pair, all pairs in one comparison and one
/// multiplication: `less = [a < b]`, `max = a + less · (b − a)`.
fn exchange<T: Transport>(
    party: &mut Party<T>,
    pairs: Vec<(SecretVec, SecretVec)>,
    bits: u32,
) -> Result<Vec<(SecretVec, SecretVec)>, ProgramError> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let lens: Vec<usize> = pairs.iter().map(|(a, _)| a.len()).collect();
    let a = SecretVec::concat(&pairs.iter().map(|(a, _)| a).collect::<Vec<_>>());
    let b = SecretVec::concat(&pairs.iter().map(|(_, b)| b).collect::<Vec<_>>());
    let less = compare::lt(party, &a, &b, bits)?;
    let moved = party.mul(&less, &b.sub(&a)?)?;
    let max = a.add(&moved)?.split(&lens)?;
    let min = b.sub(&moved)?.split(&lens)?;
    Ok(max.into_iter().zip(min).collect())
}

/// The tournament over `leaves` for any kind of value `E`: `exchange` gets
/// every pair a step compares, of all merges of a level, and returns each
/// pair as `(max, min)`. Returns the n largest, descending (`None`: zero).
/// Values must be non-negative (a public zero is the smallest value).
pub(crate) fn tournament<E, X>(
    leaves: Vec<E>,
    n: usize,
    mut exchange: X,
) -> Result<Node<E>, ProgramError>
where
    E: Clone,
    X: FnMut(Vec<(E, E)>) -> Result<Vec<(E, E)>, ProgramError>,
{
    let p = n.max(1).next_power_of_two();
    let mut level: Vec<Node<E>> = leaves
        .into_iter()
        .map(|e| {
            let mut node = vec![None; p];
            if let Some(first) = node.first_mut() {
                *first = Some(e);
            }
            node
        })
        .collect();
    while level.len() > 1 {
        let carry = if level.len() % 2 == 1 {
            level.pop()
        } else {
            None
        };
        // C_i = max(A_i, B_{p−1−i}): the p largest of A ∪ B, bitonic.
        let mut next: Vec<Node<E>> = Vec::with_capacity(level.len() / 2 + 1);
        let mut at = Vec::new();
        let mut pairs = Vec::new();
        let mut nodes = level.into_iter();
        while let (Some(a), Some(mut b)) = (nodes.next(), nodes.next()) {
            b.reverse();
            let index = next.len();
            let merged = a
                .into_iter()
                .zip(b)
                .enumerate()
                .map(|(i, (x, y))| queue_or_pass(x, y, (index, i), &mut at, &mut pairs))
                .collect();
            next.push(merged);
        }
        let maxima = exchange(pairs)?;
        for ((node, i), (max, _)) in at.into_iter().zip(maxima) {
            if let Some(slot) = next.get_mut(node).and_then(|v| v.get_mut(i)) {
                *slot = Some(max);
            }
        }
        // The bitonic merger: compare-exchange i and i + h, larger first.
        let mut h = p / 2;
        while h >= 1 {
            let mut at = Vec::new();
            let mut pairs = Vec::new();
            for (index, node) in next.iter_mut().enumerate() {
                for i in (0..p).filter(|i| i & h == 0) {
                    let x = node.get_mut(i).and_then(Option::take);
                    let y = node.get_mut(i + h).and_then(Option::take);
                    let larger = queue_or_pass(x, y, (index, i), &mut at, &mut pairs);
                    if let Some(slot) = node.get_mut(i) {
                        *slot = larger;
                    }
                }
            }
            for ((node, i), (max, min)) in at.into_iter().zip(exchange(pairs)?) {
                if let Some(node) = next.get_mut(node) {
                    if let Some(slot) = node.get_mut(i) {
                        *slot = Some(max);
                    }
                    if let Some(slot) = node.get_mut(i + h) {
                        *slot = Some(min);
                    }
                }
            }
            h /= 2;
        }
        // Only the n largest go on.
        for node in &mut next {
            for e in node.iter_mut().skip(n) {
                *e = None;
            }
        }
        next.extend(carry);
        level = next;
    }
    let mut top = level.pop().unwrap_or_else(|| vec![None; p]);
    top.truncate(n);
    Ok(top)
}

/// One slot of a merge step: when both `x` and `y` are present, queues them
/// for a compare-exchange at `slot` (node, position) and leaves the slot
/// empty until the exchange fills it; otherwise passes on the one present
/// (an absent value is a public zero, smaller than any).
fn queue_or_pass<E>(
    x: Option<E>,
    y: Option<E>,
    slot: (usize, usize),
    at: &mut Vec<(usize, usize)>,
    pairs: &mut Vec<(E, E)>,
) -> Option<E> {
    match (x, y) {
        (Some(x), Some(y)) => {
            at.push(slot);
            pairs.push((x, y));
            None
        }
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::{comparisons, tournament};

    /// The tournament on plain integers against sorting.
    fn top_plain(values: &[i64], n: usize) -> Vec<i64> {
        let top = tournament(values.to_vec(), n, |pairs| {
            Ok(pairs
                .into_iter()
                .map(|(a, b)| (a.max(b), a.min(b)))
                .collect())
        });
        let top = top.unwrap_or_default();
        top.into_iter().map(Option::unwrap_or_default).collect()
    }

    #[test]
    fn plain_tournament_finds_the_n_largest() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for rows in 0..40usize {
            for n in 1..=10usize {
                let values: Vec<i64> = (0..rows)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x % 23) as i64 * i64::from(!x.is_multiple_of(3))
                    })
                    .collect();
                let mut sorted = values.clone();
                sorted.sort_unstable_by(|a, b| b.cmp(a));
                sorted.resize(n, 0);
                assert_eq!(top_plain(&values, n), sorted, "{values:?}, n = {n}");
            }
        }
    }

    #[test]
    fn comparisons_are_counted() {
        // n = 1: a tree of maxima, R − 1 comparisons.
        assert_eq!(comparisons(0, 1), 0);
        assert_eq!(comparisons(1, 1), 0);
        assert_eq!(comparisons(7, 1), 6);
        assert_eq!(comparisons(4000, 1), 3999);
        // n = 2, two rows: one comparison; R < n needs no more than sorting.
        assert_eq!(comparisons(2, 2), 1);
        assert_eq!(comparisons(2, 3), 1);
        assert!(comparisons(100, 2) < 3 * 100);
    }
}
