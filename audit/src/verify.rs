//! Offline verification of a bundle, and of two organisations' bundles against each other.
//!
//! How tampering is located:
//! - **removed, reordered, duplicated entries**: every entry records its `index`; a gap, a
//!   descent or a repeat in the sequence names the entries concerned;
//! - **a changed entry**: every entry records the leaf hash of the one before it (`prev`).
//!   Changing entry *k* changes its leaf hash, so entry *k + 1*'s `prev` no longer matches:
//!   the first entry whose chain breaks names the changed one. The last entry has no successor;
//!   a change to it shows as a mismatch with the signed head covering it;
//! - **a rewritten chain**: a tamperer who rewrites `prev` fields after the change still cannot
//!   match the signed heads, whose roots commit to every byte; the report then names the first
//!   interval between signed heads whose root no longer matches;
//! - **forged heads and forks**: every head's signature is checked with the log's DID key; two
//!   valid heads for one size with different roots fork, and so does a head whose root differs
//!   from a later head's tree (the entries match the later one).

use std::collections::{BTreeMap, BTreeSet};

use symbolon_identity::Did;

use crate::bundle::{AuditBundle, BUNDLE_FORMAT};
use crate::credentials::check_credentials;
use crate::event::{canonical_value, Entry, GENESIS_PREV};
use crate::head::{HeadError, SignedTreeHead, TreeHead};
use crate::kind::EventKind;
use crate::merkle::MerkleTree;
use crate::report::{BundleReport, Finding, FindingKind as K, PairReport};

/// Most entries named one by one in a finding of one kind.
const MAX_LISTED: usize = 20;

/// The recomputed log.
pub(crate) struct Recomputed {
    pub(crate) tree: MerkleTree,
    pub(crate) entries: Vec<Option<Entry>>,
}

/// Verifies a bundle offline: recomputes the tree, checks every head's signature and root,
/// the hash chain, the order of entries, and every embedded credential's proof.
pub fn verify_bundle(bundle: &AuditBundle) -> BundleReport {
    verify_recomputed(bundle).0
}

fn verify_recomputed(bundle: &AuditBundle) -> (BundleReport, Recomputed) {
    let mut findings = Vec::new();
    if bundle.format != BUNDLE_FORMAT {
        findings.push(Finding::error(
            K::MalformedBundle,
            format!("the bundle format is not `{BUNDLE_FORMAT}`"),
        ));
    }
    if Did::parse(&bundle.log_id).is_err() {
        findings.push(Finding::error(
            K::MalformedBundle,
            "the bundle's `log_id` is not a DID",
        ));
    }
    let log = recompute(bundle, &mut findings);
    let located = if check_structure(&log, &mut findings) {
        Some(check_chain(&log, &mut findings))
    } else {
        None
    };
    let heads = check_heads(bundle, &mut findings);
    let signed_size = compare_heads(&log, &heads, located.as_ref(), &mut findings);
    let checked = check_credentials(bundle, &log, &mut findings);
    let report = BundleReport {
        log_id: bundle.log_id.clone(),
        entries: log.tree.len(),
        verified_heads: heads.len() as u64,
        signed_size,
        credentials_checked: checked.checked,
        missing_did_documents: checked.missing_documents.into_iter().collect(),
        findings,
    };
    (report, log)
}

fn recompute(bundle: &AuditBundle, findings: &mut Vec<Finding>) -> Recomputed {
    let mut tree = MerkleTree::new();
    let mut entries = Vec::with_capacity(bundle.entries.len());
    for (position, value) in bundle.entries.iter().enumerate() {
        let position = position as u64;
        match canonical_value(value) {
            Ok((_, hash)) => {
                tree.push_hash(hash);
            }
            Err(e) => {
                findings.push(Finding::error(K::MalformedEntry, e.to_string()).at(position));
                tree.push_hash(GENESIS_PREV);
            }
        }
        match serde_json::from_value::<Entry>(value.clone()) {
            Ok(entry) => entries.push(Some(entry)),
            Err(e) => {
                findings.push(
                    Finding::error(
                        K::MalformedEntry,
                        format!("entry at position {position} is not a log entry: {e}"),
                    )
                    .at(position),
                );
                entries.push(None);
            }
        }
    }
    Recomputed { tree, entries }
}

/// Checks the `index` sequence; true when every entry sits at its index.
fn check_structure(log: &Recomputed, findings: &mut Vec<Finding>) -> bool {
    // A malformed entry is taken to sit at its position; it is reported already.
    let indices: Vec<u64> = log
        .entries
        .iter()
        .enumerate()
        .map(|(p, e)| e.as_ref().map_or(p as u64, |e| e.index))
        .collect();
    if indices.iter().enumerate().all(|(p, i)| *i == p as u64) {
        return true;
    }
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for (position, index) in indices.iter().enumerate() {
        if let Some(first) = seen.insert(*index, position) {
            findings.push(
                Finding::error(
                    K::DuplicatedEntry,
                    format!("entry {index} appears twice, at positions {first} and {position}"),
                )
                .at(*index),
            );
        }
    }
    let max = indices.iter().copied().max().unwrap_or(0);
    let missing: Vec<u64> = (0..=max).filter(|i| !seen.contains_key(i)).collect();
    for index in missing.iter().take(MAX_LISTED) {
        findings.push(
            Finding::error(
                K::RemovedEntry,
                format!("entry {index} was removed: no entry in the bundle has index {index}"),
            )
            .at(*index),
        );
    }
    if missing.len() > MAX_LISTED {
        findings.push(Finding::error(
            K::RemovedEntry,
            format!("{} more entries were removed", missing.len() - MAX_LISTED),
        ));
    }
    let descends = indices.windows(2).any(|w| matches!(w, [a, b] if b < a));
    if descends {
        let mut sorted = indices.clone();
        sorted.sort_unstable();
        let moved: Vec<String> = indices
            .iter()
            .zip(&sorted)
            .enumerate()
            .filter(|(_, (i, s))| i != s)
            .take(MAX_LISTED)
            .map(|(p, (i, _))| format!("position {p} holds entry {i}"))
            .collect();
        let first = indices
            .iter()
            .zip(&sorted)
            .position(|(i, s)| i != s)
            .unwrap_or(0);
        findings.push(
            Finding::error(
                K::ReorderedEntries,
                format!("entries were reordered: {}", moved.join(", ")),
            )
            .at(first as u64),
        );
    }
    false
}

/// Checks the hash chain; returns the indices of the entries it shows changed.
fn check_chain(log: &Recomputed, findings: &mut Vec<Finding>) -> BTreeSet<u64> {
    let mut changed = BTreeSet::new();
    for (position, entry) in log.entries.iter().enumerate() {
        let Some(entry) = entry else { continue };
        let position = position as u64;
        let expected = match position.checked_sub(1) {
            None => Some(GENESIS_PREV),
            Some(before) => log.tree.leaf(before),
        };
        if entry.prev_hash() == expected {
            continue;
        }
        let Some(before) = position.checked_sub(1) else {
            findings.push(
                Finding::error(
                    K::ChangedEntry,
                    "entry 0 was changed: its `prev` is not zero",
                )
                .at(0),
            );
            changed.insert(0);
            continue;
        };
        if log
            .entries
            .get(before as usize)
            .is_some_and(Option::is_none)
        {
            continue;
        }
        findings.push(
            Finding::error(
                K::ChangedEntry,
                format!(
                    "entry {before} was changed: entry {position} records a different hash for it"
                ),
            )
            .at(before),
        );
        changed.insert(before);
    }
    changed
}

/// Verifies each head's signature; returns the valid ones by size (one per size).
fn check_heads(bundle: &AuditBundle, findings: &mut Vec<Finding>) -> BTreeMap<u64, TreeHead> {
    let document = bundle.did_documents.get(&bundle.log_id);
    let mut heads: BTreeMap<u64, TreeHead> = BTreeMap::new();
    for (position, jws) in bundle.heads.iter().enumerate() {
        let position = position as u64;
        let size = SignedTreeHead::decode(jws).ok().map(|h| h.head.tree_size);
        let finding = match SignedTreeHead::verify(jws, Some(&bundle.log_id), document) {
            Ok(signed) => {
                let head = signed.head;
                match heads.get(&head.tree_size) {
                    Some(other) if other.root_hash != head.root_hash => {
                        findings.push(
                            Finding::error(
                                K::Fork,
                                format!(
                                    "two validly signed heads for size {} have different roots ({} and {}): the log forked",
                                    head.tree_size,
                                    hex::encode(other.root_hash),
                                    hex::encode(head.root_hash)
                                ),
                            )
                            .size(head.tree_size),
                        );
                    }
                    Some(_) => {}
                    None => {
                        heads.insert(head.tree_size, head);
                    }
                }
                continue;
            }
            Err(HeadError::Malformed(why)) => Finding::error(
                K::MalformedHead,
                format!("head {position} is malformed: {why}"),
            ),
            Err(e @ HeadError::WrongLogId { .. }) => {
                Finding::error(K::WrongLogId, format!("head {position}: {e}"))
            }
            Err(e) => Finding::error(
                K::ForgedHead,
                format!(
                    "head {position}{} is forged: {e}",
                    size.map(|s| format!(" (size {s})")).unwrap_or_default()
                ),
            ),
        };
        let finding = finding.at(position);
        findings.push(match size {
            Some(size) => finding.size(size),
            None => finding,
        });
    }
    heads
}

/// Compares the valid heads with the recomputed tree; returns the largest matching size.
fn compare_heads(
    log: &Recomputed,
    heads: &BTreeMap<u64, TreeHead>,
    located: Option<&BTreeSet<u64>>,
    findings: &mut Vec<Finding>,
) -> u64 {
    let n = log.tree.len();
    let matches: BTreeMap<u64, bool> = heads
        .iter()
        .filter(|(size, _)| **size <= n)
        .map(|(size, head)| (*size, log.tree.root_at(*size).ok() == Some(head.root_hash)))
        .collect();
    // The entries the bundle's indices account for: a gap inside them is a removed entry,
    // reported as such by `check_structure`; only what lies beyond the last index is a
    // truncation (one removed entry is not also reported as a removed tail).
    let accounted = log
        .entries
        .iter()
        .flatten()
        .map(|entry| entry.index.saturating_add(1))
        .max()
        .unwrap_or(0)
        .max(n);
    if let Some((size, _)) = heads.range(accounted + 1..).next() {
        findings.push(
            Finding::error(
                K::Truncated,
                format!(
                    "a signed head covers {size} entries but the bundle holds {n}: entries {accounted}..{size} were removed"
                ),
            )
            .at(accounted)
            .size(*size),
        );
    }
    let mut interval_reported = false;
    for (size, ok) in &matches {
        if *ok {
            continue;
        }
        let later_match = matches
            .range(size + 1..)
            .find(|(_, ok)| **ok)
            .map(|(s, _)| *s);
        if let Some(later) = later_match {
            findings.push(
                Finding::error(
                    K::Fork,
                    format!(
                        "the signed heads at sizes {size} and {later} fork: the log the head at {later} signs has a different root at size {size}"
                    ),
                )
                .size(*size),
            );
            continue;
        }
        findings.push(
            Finding::error(
                K::HeadMismatch,
                format!("the entries do not match the signed head at size {size}"),
            )
            .size(*size),
        );
        if interval_reported {
            continue;
        }
        interval_reported = true;
        let Some(located) = located else { continue };
        let start = matches
            .range(..*size)
            .filter(|(_, ok)| **ok)
            .map(|(s, _)| *s)
            .next_back()
            .unwrap_or(0);
        if located.range(start..*size).next().is_some() {
            continue;
        }
        if *size == n && n > 0 {
            let last = n - 1;
            findings.push(
                Finding::error(
                    K::ChangedEntry,
                    format!(
                        "entry {last} (the last) was changed, or entries {start}..{n} were rewritten together with their hash chain"
                    ),
                )
                .at(last)
                .size(*size),
            );
        } else {
            findings.push(
                Finding::error(
                    K::ChangedRange,
                    format!(
                        "one or more of entries {start}..{size} were changed and the hash chain rewritten to hide which"
                    ),
                )
                .at(start)
                .size(*size),
            );
        }
    }
    let signed_size = matches
        .iter()
        .filter(|(_, ok)| **ok)
        .map(|(s, _)| *s)
        .max()
        .unwrap_or(0);
    if heads.is_empty() && n > 0 {
        findings.push(Finding::error(
            K::Unsigned,
            "no validly signed head covers the log: its entries cannot be checked",
        ));
    } else if signed_size < n && matches.values().all(|ok| *ok) {
        findings.push(
            Finding::warning(
                K::Unsigned,
                format!("entries {signed_size}..{n} are not covered by a signed head yet"),
            )
            .at(signed_size),
        );
    }
    signed_size
}

/// Confirms that two organisations' logs agree about their shared events: every head of B
/// that A recorded (a `witness.tree_head` event) must be validly signed by B and match B's
/// log recomputed at that size, and the other way round. Each bundle is verified too.
pub fn verify_pair(a: &AuditBundle, b: &AuditBundle) -> PairReport {
    let (ra, la) = verify_recomputed(a);
    let (rb, lb) = verify_recomputed(b);
    let mut findings = Vec::new();
    let b_by_a = check_witnessed(a, &la, b, &lb, &mut findings);
    let a_by_b = check_witnessed(b, &lb, a, &la, &mut findings);
    if b_by_a + a_by_b == 0 && findings.is_empty() {
        findings.push(Finding::warning(
            K::Unsigned,
            "neither log records a head of the other: there is nothing shared to compare",
        ));
    }
    PairReport {
        a: ra,
        b: rb,
        b_heads_witnessed_by_a: b_by_a,
        a_heads_witnessed_by_b: a_by_b,
        findings,
    }
}

/// Checks the heads of `y` witnessed in `x`; returns how many matched.
fn check_witnessed(
    x: &AuditBundle,
    lx: &Recomputed,
    y: &AuditBundle,
    ly: &Recomputed,
    findings: &mut Vec<Finding>,
) -> u64 {
    let document = y
        .did_documents
        .get(&y.log_id)
        .or_else(|| x.did_documents.get(&y.log_id));
    let mut matched = 0;
    for (position, entry) in lx.entries.iter().enumerate() {
        let Some(entry) = entry else { continue };
        if entry.event.kind != EventKind::WitnessTreeHead.as_str() {
            continue;
        }
        let Some(jws) = entry
            .event
            .details
            .as_ref()
            .and_then(|d| d.get("head"))
            .and_then(|h| h.as_str())
        else {
            continue;
        };
        match SignedTreeHead::decode(jws) {
            Ok(h) if h.head.log_id == y.log_id => {}
            _ if entry.event.subject == y.log_id => {}
            _ => continue,
        }
        let position = position as u64;
        let head = match SignedTreeHead::verify(jws, Some(&y.log_id), document) {
            Ok(signed) => signed.head,
            Err(e) => {
                findings.push(
                    Finding::error(
                        K::WitnessInvalid,
                        format!(
                            "entry {position} of {} records a head of {} that does not verify: {e}",
                            x.log_id, y.log_id
                        ),
                    )
                    .at(position),
                );
                continue;
            }
        };
        let size = head.tree_size;
        match ly.tree.root_at(size) {
            Ok(root) if root == head.root_hash => matched += 1,
            Ok(_) => findings.push(
                Finding::error(
                    K::WitnessMismatch,
                    format!(
                        "{y_id} signed a head at size {size} (recorded by {x_id} in entry {position}) that does not match {y_id}'s log: the logs disagree",
                        y_id = y.log_id,
                        x_id = x.log_id
                    ),
                )
                .at(position)
                .size(size),
            ),
            Err(_) => findings.push(
                Finding::error(
                    K::WitnessMismatch,
                    format!(
                        "{x_id} recorded (entry {position}) a head of {y_id} at size {size}, but {y_id}'s bundle holds only {n} entries: entries were removed",
                        y_id = y.log_id,
                        x_id = x.log_id,
                        n = ly.tree.len()
                    ),
                )
                .at(position)
                .size(size),
            ),
        }
    }
    matched
}
