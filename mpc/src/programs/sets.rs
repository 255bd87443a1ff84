//! The identifier-set programs: `psi-cardinality` and `psi-membership`.

use super::layout::Layout;
use super::{LocalTable, ProgramError, Roles};
use crate::error::MpcError;
use crate::field::Fp;
use crate::helped_psi;
use crate::joint::link_private;
use crate::party::Party;
use crate::psi::{self, PsiMode, PsiOutput};
use crate::secret::SecretVec;
use crate::transport::Transport;
use serde_json::{json, Value};

fn ids(input: Option<&LocalTable>) -> &[String] {
    input.and_then(|t| t.ids.as_deref()).unwrap_or(&[])
}

/// `psi-cardinality`: PSI in count mode when there are two input parties
/// and a recipient among them (that recipient receives and forwards the
/// size to the other recipients): helped by the third party with AES on
/// shares in a three-party session, DH PSI otherwise; private joint linkage
/// when there are more input parties.
pub(crate) fn cardinality<T: Transport>(
    party: &mut Party<T>,
    roles: &Roles,
    layout: &Layout,
    input: Option<&LocalTable>,
) -> Result<Option<Value>, ProgramError> {
    let me = party.index();
    let mine = ids(input);
    let receiver = roles
        .recipients
        .iter()
        .copied()
        .find(|r| roles.inputs.contains(r));
    let size = match (roles.inputs.as_slice(), receiver) {
        (&[a, b], Some(r)) if party.parties() == 3 => {
            // The session's third party helps: AES on shares, no group operation.
            let sender = if r == a { b } else { a };
            let size = helped_psi::count(party, r, sender, mine)?.map(|c| c as u64);
            forward(party, r, &roles.recipients, size)?
        }
        (&[a, b], Some(r)) => {
            let sender = if r == a { b } else { a };
            let chan = party.channel();
            let mut size = None;
            if me == r {
                if let PsiOutput::Count(c) = psi::receive(chan, sender, mine, PsiMode::Count)? {
                    size = Some(c as u64);
                }
            } else if me == sender {
                let theirs = psi::send(chan, r, mine, PsiMode::Count)?;
                if Some(&theirs) != layout.rows.get(r) {
                    return Err(ProgramError::Layout(format!(
                        "party {r} announced {:?} rows but sent {theirs} items",
                        layout.rows.get(r)
                    )));
                }
            } else {
                chan.skip_rounds(psi::ROUNDS);
            }
            forward(party, r, &roles.recipients, size)?
        }
        _ => {
            let table = link_private(party, mine, &[])?;
            let in_inputs = present_at_all(party, &table.presence, &table.in_all, roles)?;
            party
                .open_to(&in_inputs.sum(), &roles.recipients)?
                .and_then(|v| v.first().map(|c| c.value() as u64))
        }
    };
    Ok(size.map(|s| json!({ "intersection": s })))
}

/// One round in which `from` sends `value` to the other recipients; every
/// recipient returns it. Skipped when `from` is the only recipient.
fn forward<T: Transport>(
    party: &mut Party<T>,
    from: usize,
    recipients: &[usize],
    value: Option<u64>,
) -> Result<Option<u64>, ProgramError> {
    let me = party.index();
    if recipients.iter().all(|&r| r == from) {
        return Ok(value);
    }
    let chan = party.channel();
    let out = if me == from {
        let v = value.unwrap_or_default().to_le_bytes();
        recipients
            .iter()
            .filter(|&&r| r != from)
            .map(|&r| {
                let mut m = chan.message(r);
                m.extend_from_slice(&v);
                (r, m)
            })
            .collect()
    } else {
        Vec::new()
    };
    let listen: &[usize] = if me != from && recipients.contains(&me) {
        &[from]
    } else {
        &[]
    };
    let got = chan.exchange(out, listen)?;
    if me == from {
        return Ok(value);
    }
    match got.first() {
        None => Ok(None),
        Some(m) => {
            let b: [u8; 8] = m.payload().try_into().map_err(|_| MpcError::Malformed {
                peer: from,
                reason: "the forwarded intersection size is not 8 bytes",
            })?;
            Ok(Some(u64::from_le_bytes(b)))
        }
    }
}

/// The secret 0/1 column "held by every input party" of a joint table.
pub(crate) fn present_at_all<T: Transport>(
    party: &mut Party<T>,
    presence: &[SecretVec],
    in_all: &SecretVec,
    roles: &Roles,
) -> Result<SecretVec, ProgramError> {
    if roles.inputs.len() == party.parties() {
        return Ok(in_all.clone());
    }
    let mut acc: Option<SecretVec> = None;
    for &p in &roles.inputs {
        let col = presence
            .get(p)
            .ok_or(MpcError::Unlucky("missing presence"))?;
        acc = Some(match acc {
            None => col.clone(),
            Some(a) => party.mul(&a, col)?,
        });
    }
    Ok(acc.unwrap_or_else(|| SecretVec::from_shares(vec![Fp::ZERO; in_all.len()])))
}

/// `psi-membership`: for each recipient in turn, PSI in which-mode with
/// every other input party in turn (helped by the third party in a
/// three-party session, DH PSI otherwise).
pub(crate) fn membership<T: Transport>(
    party: &mut Party<T>,
    roles: &Roles,
    input: Option<&LocalTable>,
) -> Result<Option<Value>, ProgramError> {
    let me = party.index();
    let mine = ids(input);
    let mut per_party: Vec<(usize, Vec<usize>)> = Vec::new();
    let helped = party.parties() == 3;
    for &r in &roles.recipients {
        for &s in roles.inputs.iter().filter(|&&s| s != r) {
            if helped {
                if let Some(found) = helped_psi::which(party, r, s, mine)? {
                    per_party.push((s, found));
                }
                continue;
            }
            let chan = party.channel();
            if me == r {
                if let PsiOutput::Which(found) = psi::receive(chan, s, mine, PsiMode::Which)? {
                    per_party.push((s, found));
                }
            } else if me == s {
                psi::send(chan, r, mine, PsiMode::Which)?;
            } else {
                chan.skip_rounds(psi::ROUNDS);
            }
        }
    }
    if !roles.recipients.contains(&me) {
        return Ok(None);
    }
    let mut hits = vec![0usize; mine.len()];
    let mut parties = Vec::new();
    for (s, found) in &per_party {
        for &i in found {
            if let Some(h) = hits.get_mut(i) {
                *h += 1;
            }
        }
        let list: Vec<&String> = found.iter().filter_map(|&i| mine.get(i)).collect();
        parties.push(json!({"party": s, "ids": list}));
    }
    let in_all: Vec<&String> = mine
        .iter()
        .zip(&hits)
        .filter(|(_, &h)| h == per_party.len())
        .map(|(id, _)| id)
        .collect();
    Ok(Some(json!({"in_all": in_all, "per_party": parties})))
}
