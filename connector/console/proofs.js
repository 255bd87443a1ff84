// Inclusion and consistency proofs of the audit log, checked in the browser with WebCrypto
// against signed tree heads, with the audit crate's tree hashing (audit/src/merkle.rs, RFC 9162):
// a leaf is SHA-256(0x00 ‖ RFC 8785 JSON of the entry), an interior node
// SHA-256(0x01 ‖ left ‖ right). Inclusion follows RFC 9162 §2.1.3.2, consistency §2.1.4.2; the
// roots are those the heads sign, never the ones the proof itself claims. Each check is a list
// of steps, each passed or failed with why; the steps after a failed one are not taken.

import { canonical, hex, leafHash, nodeHash, verifyHead } from "./verify.js";

const encoder = new TextEncoder();

/** 32 bytes from 64 hex digits, or an Error naming `what`. */
function hash(text, what) {
  if (typeof text !== "string" || !/^[0-9a-fA-F]{64}$/.test(text)) throw new Error(`${what} is not 64 hex digits`);
  return Uint8Array.from(text.match(/../g), (b) => parseInt(b, 16));
}

function hashes(list, what) {
  if (!Array.isArray(list)) throw new Error(`${what} is not a list of hashes`);
  return list.map((h, i) => hash(h, `${what} ${i}`));
}

function size(value, what) {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${what} is not a size`);
  return BigInt(value);
}

/**
 * The root the audit `path` leads to from `leaf`, leaf `index` of a tree of `treeSize` leaves
 * (RFC 9162 §2.1.3.2), or an Error saying why the path is not one.
 */
export async function inclusionRoot(leaf, index, treeSize, path) {
  let fn = size(index, "the index");
  let sn = size(treeSize, "the tree size") - 1n;
  if (fn > sn) throw new Error(`leaf index ${index} is out of range for a tree of ${treeSize} entries`);
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) throw new Error("the proof is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error("the proof is too short");
  return r;
}

const same = (a, b) => hex(a) === hex(b);

/**
 * Checks that the tree of `newSize` leaves with root `newRoot` extends the tree of `oldSize`
 * leaves with root `oldRoot` by `proof` (RFC 9162 §2.1.4.2); throws an Error saying which
 * root the proof does not reach.
 */
export async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  const [m, n] = [size(oldSize, "the earlier size"), size(newSize, "the later size")];
  if (m > n) throw new Error(`the earlier size ${oldSize} is larger than the later ${newSize}`);
  if (m === n) {
    if (proof.length) throw new Error("equal sizes take an empty proof");
    if (!same(oldRoot, newRoot)) throw new Error(`two heads over ${oldSize} entries sign different roots: the log forked`);
    return;
  }
  if (m === 0n) {
    if (proof.length) throw new Error("an empty earlier tree takes an empty proof");
    return;
  }
  const path = (m & (m - 1n)) === 0n ? [oldRoot, ...proof] : [...proof];
  if (!path.length) throw new Error("the proof is empty");
  let fn = m - 1n;
  let sn = n - 1n;
  while ((fn & 1n) === 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new Error("the proof is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error("the proof is too short");
  if (!same(fr, oldRoot)) {
    throw new Error(`the proof does not lead to the earlier head's root (it leads to ${hex(fr)}): the log the later head signs does not hold the earlier ${oldSize} entries unchanged — it was rewritten or forked`);
  }
  if (!same(sr, newRoot)) {
    throw new Error(`the proof does not lead from the earlier head's root to the later head's root (it leads to ${hex(sr)}): the log the later head signs does not hold the earlier ${oldSize} entries unchanged — it was rewritten or forked — or the proof is wrong`);
  }
}

/**
 * Runs `checks` ([name, async () => detail]) in order; resolves to `{valid, steps}` where each
 * step is `{name, status: passed|failed|skipped, detail}`.
 */
export async function runChecks(checks) {
  const steps = [];
  let failed = false;
  for (const [name, check] of checks) {
    if (failed) {
      steps.push({ name, status: "skipped", detail: "not checked: an earlier check failed" });
      continue;
    }
    try {
      steps.push({ name, status: "passed", detail: (await check()) || "" });
    } catch (error) {
      failed = true;
      steps.push({ name, status: "failed", detail: error && error.message ? error.message : String(error) });
    }
  }
  return { valid: !failed, steps };
}

/**
 * Checks that `entry` is in the log of `logId` that the signed head `headJws` commits to, by
 * the inclusion `proof` the connector served (`{index, tree_size, leaf_hash, root_hash, path}`).
 * `verify(jws)` checks a head's signature (by default with the key the DID itself names; a
 * did:web's with the document the page resolved).
 */
export function checkInclusion(logId, headJws, entry, proof, verify = (jws) => verifyHead(jws, logId)) {
  let head;
  let leaf;
  let root;
  return runChecks([
    ["The signed head verifies", async () => {
      head = await verify(headJws);
      return `signed by the key of ${logId} over ${head.tree_size} entries`;
    }],
    ["The proof is for this entry and this head's size", () => {
      if (proof.index !== entry.index) throw new Error(`the proof is for entry ${proof.index}, not ${entry.index}`);
      if (proof.tree_size !== head.tree_size) throw new Error(`the proof is for ${proof.tree_size} entries, the head signs ${head.tree_size}`);
      return `entry ${entry.index} of ${head.tree_size}`;
    }],
    [`The entry's leaf hash, computed here, is the proof's`, async () => {
      leaf = await leafHash(encoder.encode(canonical(entry)));
      if (hex(leaf) !== String(proof.leaf_hash).toLowerCase()) {
        throw new Error(`the entry shown hashes to ${hex(leaf)}, the proof is for ${proof.leaf_hash}: the entry is not the one the log holds`);
      }
      return hex(leaf);
    }],
    ["The audit path leads from the leaf to a root", async () => {
      const path = hashes(proof.path, "path hash");
      root = await inclusionRoot(leaf, entry.index, head.tree_size, path);
      return `${path.length} hash${path.length === 1 ? "" : "es"}, to ${hex(root)}`;
    }],
    ["That root is the one the head signs", () => {
      if (hex(root) !== head.root_hash.toLowerCase()) throw new Error(`the path leads to ${hex(root)}, the head signs ${head.root_hash}`);
      return head.root_hash.toLowerCase();
    }],
  ]);
}

/**
 * Checks that the log of `logId` as the signed head `laterJws` commits to extends the one
 * `earlierJws` commits to; `fetchProof(from, to)` gets the consistency proof
 * (`{old_size, new_size, path}`) once both heads verified; `verify` as for checkInclusion.
 */
export function checkConsistency(logId, earlierJws, laterJws, fetchProof, verify = (jws) => verifyHead(jws, logId)) {
  let earlier;
  let later;
  let proof;
  return runChecks([
    ["The earlier head verifies", async () => {
      earlier = await verify(earlierJws);
      return `${earlier.tree_size} entries, root ${earlier.root_hash}, signed ${earlier.timestamp}`;
    }],
    ["The later head verifies", async () => {
      later = await verify(laterJws);
      return `${later.tree_size} entries, root ${later.root_hash}, signed ${later.timestamp}`;
    }],
    ["The later head is not smaller", () => {
      if (later.tree_size < earlier.tree_size) throw new Error(`the later head signs ${later.tree_size} entries, fewer than the earlier ${earlier.tree_size}: swap them, or the log was truncated`);
      return `${earlier.tree_size} → ${later.tree_size}`;
    }],
    ["The connector serves a proof for these sizes", async () => {
      proof = await fetchProof(earlier.tree_size, later.tree_size);
      if (proof.old_size !== earlier.tree_size || proof.new_size !== later.tree_size) {
        throw new Error(`the proof is for sizes ${proof.old_size} → ${proof.new_size}`);
      }
      return `${proof.path.length} hash${proof.path.length === 1 ? "" : "es"}`;
    }],
    ["The proof leads from the earlier head's root to the later head's root", async () => {
      await verifyConsistency(earlier.tree_size, later.tree_size, hash(earlier.root_hash, "the earlier root"),
        hash(later.root_hash, "the later root"), hashes(proof.path, "proof hash"));
      return "the later log holds the earlier one unchanged, with entries appended";
    }],
  ]);
}
