// Two organisations' audit bundles compared in the browser, as `symbolon audit verify A B`
// compares them (audit/src/verify.rs, `verify_pair`): each is verified on its own, then every
// head of one that the other recorded (a `witness.tree_head` entry, at the end of a
// negotiation) must verify with its log's key and match that log's entries at its size.

import { decodeHead, hex, verifyBundle, verifyHead } from "./verify.js";

function finding(severity, kind, message, index, size) {
  return { severity, kind, message, index, size };
}

/** The heads of `y` recorded in `x` that verify and match `y`'s entries; findings for the rest. */
async function witnessed(x, y, yReport, findings) {
  const documents = (bundle) => (bundle.did_documents && typeof bundle.did_documents === "object" ? bundle.did_documents : {});
  const document = documents(y)[y.log_id] || documents(x)[y.log_id];
  let matched = 0;
  for (const [position, entry] of x.entries.entries()) {
    const event = entry && entry.event;
    if (!event || event.type !== "witness.tree_head") continue;
    const jws = event.details && event.details.head;
    if (typeof jws !== "string") continue;
    let about;
    try { about = decodeHead(jws).head.log_id; } catch { about = undefined; }
    if (about !== y.log_id && event.subject !== y.log_id) continue;
    let head;
    try {
      head = await verifyHead(jws, y.log_id, document);
    } catch (error) {
      findings.push(finding("error", "witness_invalid", `entry ${position} of ${x.log_id} records a head of ${y.log_id} that does not verify: ${error.message}`, position));
      continue;
    }
    const size = head.tree_size;
    if (size > yReport.entries) {
      findings.push(finding("error", "witness_mismatch", `${x.log_id} recorded (entry ${position}) a head of ${y.log_id} at size ${size}, but ${y.log_id}'s bundle holds only ${yReport.entries} entries: entries were removed`, position, size));
      continue;
    }
    if (hex(await yReport.rootAt(size)) === head.root_hash.toLowerCase()) {
      matched += 1;
    } else {
      findings.push(finding("error", "witness_mismatch", `${y.log_id} signed a head at size ${size} (recorded by ${x.log_id} in entry ${position}) that does not match ${y.log_id}'s log: the logs disagree`, position, size));
    }
  }
  return matched;
}

/**
 * Verifies the parsed bundles `a` and `b` and compares them; resolves to `{a, b, bByA, aByB,
 * findings, valid}` (`a` and `b` as `verifyBundle` reports them).
 */
export async function verifyPair(a, b) {
  const [ra, rb] = [await verifyBundle(a), await verifyBundle(b)];
  const findings = [];
  const bByA = await witnessed(a, b, rb, findings);
  const aByB = await witnessed(b, a, ra, findings);
  if (bByA + aByB === 0 && findings.length === 0) {
    findings.push(finding("warning", "unsigned", "neither log records a head of the other: there is nothing shared to compare"));
  }
  return {
    a: ra, b: rb, bByA, aByB, findings,
    valid: ra.valid && rb.valid && !findings.some((f) => f.severity === "error"),
  };
}
