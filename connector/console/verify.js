// An independent verifier of Symbolon audit bundles (`symbolon-audit-bundle/1`), running in
// the browser with WebCrypto only, so that an auditor need not trust the connector that
// produced the bundle. It follows `symbolon audit verify` (docs/auditing.md):
// - each entry's Merkle leaf is SHA-256(0x00 || RFC 8785 canonical JSON of the entry), interior
//   nodes SHA-256(0x01 || left || right), the tree as RFC 9162 builds it;
// - every entry sits at its `index`, and its `prev` is the leaf hash of the entry before
//   (64 zeros for entry 0): the first broken link names the changed entry;
// - every head is a compact JWS (`typ` symbolon-sth+jwt, EdDSA or ES256) signed by the key of
//   the log's DID (from the bundle's DID documents, or a did:key / did:jwk itself) over
//   `{log_id, tree_size, root_hash, timestamp}`, and its root must match the entries at its size.
// Embedded credentials' proofs are checked by creds.js (the bundle view runs both).

export const BUNDLE_FORMAT = "symbolon-audit-bundle/1";
export const STH_TYP = "symbolon-sth+jwt";
const ZERO = "0".repeat(64);
const MAX_LISTED = 20;

const encoder = new TextEncoder();

/** RFC 8785 canonical JSON of a parsed JSON value. */
export function canonical(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("a number is not finite");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object") {
    // Object.keys sorted by UTF-16 code units, as RFC 8785 requires.
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  throw new Error(`a value of type ${typeof value} is not JSON`);
}

export function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of the concatenated byte arrays `parts`, with WebCrypto. */
export async function sha256(...parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(length);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

/** A Merkle leaf's hash: SHA-256(0x00 ‖ data). */
export const leafHash = (bytes) => sha256(Uint8Array.of(0), bytes);
/** An interior node's hash: SHA-256(0x01 ‖ left ‖ right). */
export const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

/** The Merkle tree of a list of leaf hashes, with its subtree hashes cached. */
class Tree {
  constructor(leaves) { this.leaves = leaves; this.cache = new Map(); }
  /** MTH(D[start : start + size]) as RFC 9162 §2.1.1 defines it. */
  async hash(start, size) {
    if (size === 1) return this.leaves[start];
    const key = `${start}:${size}`;
    const known = this.cache.get(key);
    if (known) return known;
    let k = 1;
    while (k * 2 < size) k *= 2;
    const value = await nodeHash(await this.hash(start, k), await this.hash(start + k, size - k));
    this.cache.set(key, value);
    return value;
  }
  async rootAt(size) {
    if (size === 0) return sha256();
    return this.hash(0, size);
  }
}

export function b64urlBytes(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
export function base58(text) {
  let n = 0n;
  for (const c of text) {
    const d = B58.indexOf(c);
    if (d < 0) throw new Error("not base58btc");
    n = n * 58n + BigInt(d);
  }
  const bytes = [];
  while (n > 0n) { bytes.unshift(Number(n % 256n)); n /= 256n; }
  for (const c of text) { if (c !== "1") break; bytes.unshift(0); }
  return Uint8Array.from(bytes);
}

function bytesToB64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// P-256: a compressed point is expanded to a JWK (y² = x³ − 3x + b mod p).
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
function modpow(base, exp, mod) {
  let r = 1n; base %= mod;
  while (exp > 0n) { if (exp & 1n) r = (r * base) % mod; base = (base * base) % mod; exp >>= 1n; }
  return r;
}
function p256Jwk(compressed) {
  const x = BigInt(`0x${hex(compressed.slice(1))}`);
  let y = modpow((((x * x * x - 3n * x + B) % P) + P) % P, (P + 1n) / 4n, P);
  if ((y & 1n) !== BigInt(compressed[0] & 1)) y = P - y;
  const fixed = (n) => Uint8Array.from(n.toString(16).padStart(64, "0").match(/../g), (b) => parseInt(b, 16));
  return { kty: "EC", crv: "P-256", x: bytesToB64url(fixed(x)), y: bytesToB64url(fixed(y)) };
}

/** A JWK from a multibase key (Ed25519 or compressed P-256, multicodec-prefixed). */
function multibaseJwk(text) {
  if (!text.startsWith("z")) throw new Error("the multibase key is not base58btc (`z…`)");
  const bytes = base58(text.slice(1));
  if (bytes[0] === 0xed && bytes[1] === 0x01 && bytes.length === 34) {
    return { kty: "OKP", crv: "Ed25519", x: bytesToB64url(bytes.slice(2)) };
  }
  if (bytes[0] === 0x80 && bytes[1] === 0x24 && bytes.length === 35) return p256Jwk(bytes.slice(2));
  throw new Error("the multibase key is neither Ed25519 nor P-256");
}

/** The JWK of `kid`, signer of the log `did`, from `document` or from the DID itself. */
export function findKey(did, kid, document) {
  if (document) {
    if (document.id !== did) throw new Error(`the DID document given is not the one of \`${did}\``);
    const methods = Array.isArray(document.verificationMethod) ? document.verificationMethod : [];
    for (const method of methods) {
      if (!method || typeof method.id !== "string") continue;
      const absolute = method.id.startsWith("#") ? `${did}${method.id}` : method.id;
      const wanted = kid.startsWith("did:") ? absolute === kid : absolute.split("#")[1] === kid.replace(/^#/, "");
      if (!wanted) continue;
      if (typeof method.publicKeyMultibase === "string") return multibaseJwk(method.publicKeyMultibase);
      if (method.publicKeyJwk) return method.publicKeyJwk;
    }
    throw new Error(`the DID document of \`${did}\` has no verification method \`${kid}\``);
  }
  if (did.startsWith("did:key:")) return multibaseJwk(did.slice(8));
  if (did.startsWith("did:jwk:")) return JSON.parse(new TextDecoder().decode(b64urlBytes(did.slice(8))));
  throw new Error(`the bundle holds no DID document of \`${did}\`, and it cannot be resolved offline`);
}

/** Why a head is refused: `kind` as the command line names it, and the words. */
class HeadError extends Error {
  constructor(kind, message) { super(message); this.kind = kind; }
}

/** Decodes a signed tree head without checking it. */
export function decodeHead(jws) {
  const parts = String(jws).trim().split(".");
  if (parts.length !== 3) throw new HeadError("malformed_head", "not a compact JWS");
  let header, head;
  try {
    header = JSON.parse(new TextDecoder().decode(b64urlBytes(parts[0])));
    head = JSON.parse(new TextDecoder().decode(b64urlBytes(parts[1])));
  } catch (error) {
    throw new HeadError("malformed_head", `not a compact JWS: ${error.message}`);
  }
  if (header.typ !== STH_TYP) throw new HeadError("malformed_head", `the JWS \`typ\` is not \`${STH_TYP}\``);
  if (!["EdDSA", "ES256"].includes(header.alg)) throw new HeadError("malformed_head", `the algorithm \`${header.alg}\` is not accepted`);
  const fields = ["log_id", "root_hash", "timestamp", "tree_size"];
  if (!head || typeof head !== "object" || Object.keys(head).sort().join() !== fields.join()
      || typeof head.log_id !== "string" || !Number.isSafeInteger(head.tree_size) || head.tree_size < 0
      || !/^[0-9a-f]{64}$/i.test(head.root_hash) || typeof head.timestamp !== "string") {
    throw new HeadError("malformed_head", "the payload is not a tree head {log_id, tree_size, root_hash, timestamp}");
  }
  return { header, head, signingInput: `${parts[0]}.${parts[1]}`, signature: parts[2] };
}

/** Verifies a signed tree head of the log `logId`; its head, or a HeadError. */
export async function verifyHead(jws, logId, document) {
  const { header, head, signingInput, signature } = decodeHead(jws);
  if (head.log_id !== logId) throw new HeadError("wrong_log_id", `the head is for the log \`${head.log_id}\`, not \`${logId}\``);
  const kid = header.kid || logId;
  const did = kid.split("#")[0];
  if (did !== logId) throw new HeadError("forged_head", `the key \`${kid}\` does not belong to the log \`${logId}\``);
  let jwk;
  try { jwk = findKey(did, kid, document); } catch (error) { throw new HeadError("forged_head", `the signing key of the head cannot be found: ${error.message}`); }
  const algorithm = header.alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
  if ((header.alg === "EdDSA") !== (jwk.kty === "OKP" && jwk.crv === "Ed25519")) {
    throw new HeadError("forged_head", `the key does not match the algorithm \`${header.alg}\``);
  }
  let key, sig;
  try {
    key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, algorithm, false, ["verify"]);
    sig = b64urlBytes(signature);
  } catch (error) {
    throw new HeadError("forged_head", `the key or signature cannot be used: ${error.message}`);
  }
  const verifyAlg = header.alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  const ok = await crypto.subtle.verify(verifyAlg, key, sig, encoder.encode(signingInput));
  if (!ok) throw new HeadError("forged_head", "the signature does not verify");
  return head;
}

function finding(severity, kind, message, at, size) {
  return { severity, kind, message, index: at, size };
}

function isEntry(value) {
  return value && typeof value === "object" && !Array.isArray(value)
    && Object.keys(value).sort().join() === "event,index,prev"
    && Number.isSafeInteger(value.index) && value.index >= 0 && typeof value.prev === "string"
    && value.event && typeof value.event === "object"
    && ["type", "time", "actor", "subject", "outcome"].every((f) => typeof value.event[f] === "string");
}

/**
 * Verifies a parsed bundle; resolves to `{logId, entries, verifiedHeads, signedSize, valid,
 * findings, rootAt}` where each finding names its kind, the entry (`index`) or head size
 * (`size`), and `rootAt(size)` is the Merkle root of the bundle's first `size` entries.
 */
export async function verifyBundle(bundle) {
  const findings = [];
  if (!bundle || typeof bundle !== "object" || !Array.isArray(bundle.entries) || !Array.isArray(bundle.heads)) {
    throw new Error("this is not an audit bundle: `entries` and `heads` are missing");
  }
  if (bundle.format !== BUNDLE_FORMAT) findings.push(finding("error", "malformed_bundle", `the bundle format is not \`${BUNDLE_FORMAT}\``));
  const logId = typeof bundle.log_id === "string" ? bundle.log_id : "";
  if (!/^did:[a-z0-9]+:.+/.test(logId)) findings.push(finding("error", "malformed_bundle", "the bundle's `log_id` is not a DID"));

  // The leaves, recomputed.
  const leaves = [];
  const entries = [];
  for (const [position, value] of bundle.entries.entries()) {
    try {
      leaves.push(await leafHash(encoder.encode(canonical(value))));
    } catch (error) {
      findings.push(finding("error", "malformed_entry", error.message, position));
      leaves.push(new Uint8Array(32));
    }
    if (isEntry(value)) entries.push(value);
    else {
      findings.push(finding("error", "malformed_entry", `entry at position ${position} is not a log entry`, position));
      entries.push(null);
    }
  }
  const tree = new Tree(leaves);
  const n = leaves.length;

  // Order: every entry at its index.
  const indices = entries.map((e, p) => (e ? e.index : p));
  let located = null;
  if (indices.every((i, p) => i === p)) {
    located = new Set();
    for (const [position, entry] of entries.entries()) {
      if (!entry) continue;
      const expected = position === 0 ? ZERO : hex(leaves[position - 1]);
      if (entry.prev.toLowerCase() === expected) continue;
      if (position === 0) {
        findings.push(finding("error", "changed_entry", "entry 0 was changed: its `prev` is not zero", 0));
        located.add(0);
      } else if (entries[position - 1]) {
        findings.push(finding("error", "changed_entry", `entry ${position - 1} was changed: entry ${position} records a different hash for it`, position - 1));
        located.add(position - 1);
      }
    }
  } else {
    const seen = new Map();
    indices.forEach((index, position) => {
      if (seen.has(index)) findings.push(finding("error", "duplicated_entry", `entry ${index} appears twice, at positions ${seen.get(index)} and ${position}`, index));
      else seen.set(index, position);
    });
    const max = Math.max(0, ...indices);
    const missing = [];
    for (let i = 0; i <= max; i++) if (!seen.has(i)) missing.push(i);
    for (const i of missing.slice(0, MAX_LISTED)) findings.push(finding("error", "removed_entry", `entry ${i} was removed: no entry in the bundle has index ${i}`, i));
    if (missing.length > MAX_LISTED) findings.push(finding("error", "removed_entry", `${missing.length - MAX_LISTED} more entries were removed`));
    if (indices.some((i, p) => p > 0 && i < indices[p - 1])) {
      const sorted = [...indices].sort((a, b) => a - b);
      const moved = indices.map((i, p) => [i, p]).filter(([i, p]) => i !== sorted[p]);
      findings.push(finding("error", "reordered_entries", `entries were reordered: ${moved.slice(0, MAX_LISTED).map(([i, p]) => `position ${p} holds entry ${i}`).join(", ")}`, moved.length ? moved[0][1] : 0));
    }
  }

  // Heads: signatures, forks.
  const document = bundle.did_documents && typeof bundle.did_documents === "object" ? bundle.did_documents[logId] : undefined;
  const heads = new Map();
  for (const [position, jws] of bundle.heads.entries()) {
    let size;
    try { size = decodeHead(jws).head.tree_size; } catch { size = undefined; }
    try {
      const head = await verifyHead(jws, logId, document);
      const other = heads.get(head.tree_size);
      if (other && other.root_hash.toLowerCase() !== head.root_hash.toLowerCase()) {
        findings.push(finding("error", "fork", `two validly signed heads for size ${head.tree_size} have different roots (${other.root_hash} and ${head.root_hash}): the log forked`, undefined, head.tree_size));
      } else if (!other) heads.set(head.tree_size, head);
    } catch (error) {
      const kind = error.kind || "forged_head";
      const what = kind === "malformed_head" ? `head ${position} is malformed: ${error.message}`
        : kind === "wrong_log_id" ? `head ${position}: ${error.message}`
          : `head ${position}${size !== undefined ? ` (size ${size})` : ""} is forged: ${error.message}`;
      findings.push(finding("error", kind, what, position, size));
    }
  }

  // Heads against the entries.
  const sizes = [...heads.keys()].sort((a, b) => a - b);
  const matches = new Map();
  for (const size of sizes) {
    if (size > n) continue;
    matches.set(size, hex(await tree.rootAt(size)) === heads.get(size).root_hash.toLowerCase());
  }
  const accounted = Math.max(n, ...entries.filter(Boolean).map((e) => e.index + 1));
  const beyond = sizes.find((s) => s > accounted);
  if (beyond !== undefined) {
    findings.push(finding("error", "truncated", `a signed head covers ${beyond} entries but the bundle holds ${n}: entries ${accounted}..${beyond} were removed`, accounted, beyond));
  }
  const matched = [...matches.entries()];
  let intervalReported = false;
  for (const [size, ok] of matched) {
    if (ok) continue;
    const later = matched.find(([s, o]) => s > size && o);
    if (later) {
      findings.push(finding("error", "fork", `the signed heads at sizes ${size} and ${later[0]} fork: the log the head at ${later[0]} signs has a different root at size ${size}`, undefined, size));
      continue;
    }
    findings.push(finding("error", "head_mismatch", `the entries do not match the signed head at size ${size}`, undefined, size));
    if (intervalReported) continue;
    intervalReported = true;
    if (!located) continue;
    const start = matched.filter(([s, o]) => s < size && o).map(([s]) => s).pop() || 0;
    if ([...located].some((i) => i >= start && i < size)) continue;
    if (size === n && n > 0) {
      findings.push(finding("error", "changed_entry", `entry ${n - 1} (the last) was changed, or entries ${start}..${n} were rewritten together with their hash chain`, n - 1, size));
    } else {
      findings.push(finding("error", "changed_range", `one or more of entries ${start}..${size} were changed and the hash chain rewritten to hide which`, start, size));
    }
  }
  const signedSize = Math.max(0, ...matched.filter(([, ok]) => ok).map(([s]) => s));
  if (heads.size === 0 && n > 0) {
    findings.push(finding("error", "unsigned", "no validly signed head covers the log: its entries cannot be checked"));
  } else if (signedSize < n && matched.every(([, ok]) => ok)) {
    findings.push(finding("warning", "unsigned", `entries ${signedSize}..${n} are not covered by a signed head yet`, signedSize));
  }
  const credentials = Array.isArray(bundle.credentials) ? bundle.credentials.length : 0;
  return {
    logId, entries: n, verifiedHeads: heads.size, signedSize, credentials,
    valid: !findings.some((f) => f.severity === "error"), findings,
    rootAt: (size) => tree.rootAt(size),
  };
}
