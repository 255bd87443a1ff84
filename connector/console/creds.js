// The proofs of the credentials and presentations an audit bundle embeds, checked in the
// browser with WebCrypto, as `symbolon audit verify` checks them (audit/src/credentials.rs):
// only the proofs — a credential's signature by its issuer, a presentation's by its holder and
// those of the credentials inside — since validity windows have usually passed by audit time
// and revocation status is not available offline. What is checked here:
// - vc+jwt and vp+jwt (compact JWS, EdDSA or ES256), bare, enveloped as
//   `data:application/vc+jwt,…`, or as an Enveloped… object;
// - SD-JWT VCs: the issuer's JWT, and that every disclosure is one the issuer signed a digest of;
//   a Key Binding JWT, when one ends it, signed by the holder key (`cnf.jwk`) over exactly what
//   was presented (`sd_hash`) — not its age, which has passed by audit time;
// - Data Integrity credentials with one `eddsa-jcs-2022` proof (RFC 8785 JSON, Ed25519); other
//   suites (`eddsa-rdfc-2022`, `ecdsa-rdfc-2019`: RDF canonicalisation) and proof sets are not
//   checked here, and each one is named in a warning, left to the command line.
// Issuer keys: did:key and did:jwk from the DID itself, did:web from the bundle's DID documents,
// or from this console's own origin when the DID names it (did.js); any other did:web is named.

import { b64urlBytes, base58, canonical, findKey, sha256 } from "./verify.js";
import { resolveDid } from "./did.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAX_DEPTH = 4;

/** Why a credential's proof does not check, in words. */
class ProofError extends Error {
  constructor(message, missing) { super(message); this.missing = missing; }
}

function json(bytes, what) {
  try { return JSON.parse(decoder.decode(bytes)); } catch (error) { throw new ProofError(`${what} is not JSON (${error.message})`); }
}

function id(value) {
  if (typeof value === "string") return value;
  return value && typeof value === "object" && typeof value.id === "string" ? value.id : undefined;
}

function types(value) {
  const t = value && value.type;
  return Array.isArray(t) ? t : typeof t === "string" ? [t] : [];
}

/** A compact JWS (or SD-JWT: the issuer's JWT and its disclosures), decoded without checking. */
function decodeJws(token) {
  const [jwt, ...disclosures] = token.trim().split("~");
  const parts = jwt.split(".");
  if (parts.length !== 3) throw new ProofError("it is not a compact JWS");
  let header, payload;
  try {
    header = json(b64urlBytes(parts[0]), "the JWS header");
    payload = json(b64urlBytes(parts[1]), "the JWS payload");
  } catch (error) {
    throw error instanceof ProofError ? error : new ProofError(`it is not a compact JWS (${error.message})`);
  }
  return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: parts[2], sd: token.includes("~"), disclosures: disclosures.filter(Boolean) };
}

/** The document of `did` from the bundle, or this origin; null for did:key and did:jwk. */
async function documentOf(did, documents) {
  if (documents && documents[did]) return documents[did];
  if (!did.startsWith("did:web:")) return null;
  try {
    return (await resolveDid(did)).document;
  } catch (error) {
    throw new ProofError(`the bundle holds no DID document for \`${did}\`, and ${error.message.replace(/^`[^`]*` /, "the DID ")}`, did);
  }
}

/** Checks the JWS signature of `jws` by a key of `signer`. */
async function checkSignature(jws, signer, documents) {
  const { header, signingInput, signature } = jws;
  if (!signer || !signer.startsWith("did:")) throw new ProofError("it names no signer DID (issuer or holder)");
  const kid = header.kid ? (header.kid.startsWith("#") ? `${signer}${header.kid}` : header.kid) : signer;
  if (kid.split("#")[0] !== signer) throw new ProofError(`the key \`${kid}\` does not belong to \`${signer}\``);
  if (!["EdDSA", "ES256"].includes(header.alg)) throw new ProofError(`the algorithm \`${header.alg}\` is not one checked here (EdDSA, ES256)`);
  let jwk;
  try {
    const document = await documentOf(signer, documents);
    jwk = findKey(signer, kid === signer && document ? firstMethod(document) : kid, document);
  } catch (error) {
    if (error instanceof ProofError) throw error;
    throw new ProofError(`the key of \`${signer}\` cannot be found: ${error.message}`);
  }
  if ((header.alg === "EdDSA") !== (jwk.kty === "OKP" && jwk.crv === "Ed25519")) {
    throw new ProofError(`the key of \`${signer}\` does not match the algorithm \`${header.alg}\``);
  }
  if (!(await verifiesWith(jws, jwk))) {
    throw new ProofError(`the signature of \`${signer}\` does not verify: the ${jws.kind} was changed after it was signed, or not signed by that key`);
  }
}

/** Whether the compact JWS `jws` (EdDSA or ES256, as its header says) verifies with `jwk`. */
async function verifiesWith(jws, jwk) {
  const { header, signingInput, signature } = jws;
  let key, sig;
  try {
    const algorithm = header.alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
    key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, algorithm, false, ["verify"]);
    sig = b64urlBytes(signature);
  } catch (error) {
    throw new ProofError(`the key or signature cannot be used: ${error.message}`);
  }
  const verifyAlg = header.alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  return crypto.subtle.verify(verifyAlg, key, sig, encoder.encode(signingInput));
}

function firstMethod(document) {
  const methods = Array.isArray(document.verificationMethod) ? document.verificationMethod : [];
  return methods.length ? methods[0].id : document.id;
}

/** Every `_sd` digest and array-element digest (`{"...": d}`) in an SD-JWT payload. */
function digests(value, found = new Set()) {
  if (Array.isArray(value)) value.forEach((v) => digests(v, found));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "_sd" && Array.isArray(v)) v.forEach((d) => found.add(d));
      else if (k === "..." && typeof v === "string") found.add(v);
      else digests(v, found);
    }
  }
  return found;
}

async function checkDisclosures(jws) {
  const signed = digests(jws.payload);
  for (const [n, disclosure] of jws.disclosures.entries()) {
    if (disclosure.split(".").length === 3) continue; // the Key Binding JWT, a presenter's
    const b64 = b64url(await sha256(encoder.encode(disclosure)));
    if (!signed.has(b64)) throw new ProofError(`disclosure ${n + 1} is not one the issuer signed a digest of: it was changed or added`);
  }
}

function b64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Checks the Key Binding JWT that ends the SD-JWT `token` (RFC 9901 §7.3), if one does: its
 * `typ`, its signature by the holder key the issuer signed (`cnf.jwk`), and its `sd_hash` over
 * exactly the issuer's JWT and the disclosures presented. Its `iat`, nonce and audience were
 * checked when it was presented and logged; its age is not an audit's concern.
 */
async function checkKeyBinding(token, jws) {
  const text = token.trim();
  const at = text.lastIndexOf("~");
  const kbText = text.slice(at + 1);
  if (!kbText) return;
  const kb = decodeJws(kbText);
  if (kb.header.typ !== "kb+jwt") throw new ProofError("its Key Binding JWT's `typ` is not `kb+jwt`");
  const cnf = jws.payload.cnf;
  const jwk = cnf && typeof cnf === "object" ? cnf.jwk : undefined;
  if (!jwk || typeof jwk !== "object") throw new ProofError("it ends with a Key Binding JWT, but the issuer signed no holder key (`cnf.jwk`)");
  if (!["EdDSA", "ES256"].includes(kb.header.alg) || (kb.header.alg === "EdDSA") !== (jwk.kty === "OKP" && jwk.crv === "Ed25519")) {
    throw new ProofError(`its Key Binding JWT's algorithm \`${kb.header.alg}\` does not match the holder key (\`cnf.jwk\`)`);
  }
  if (!(await verifiesWith(kb, jwk))) {
    throw new ProofError("its Key Binding JWT's signature does not verify with the holder key (`cnf.jwk`): another key signed it, or it was changed");
  }
  const expected = b64url(await sha256(encoder.encode(text.slice(0, at + 1))));
  if (kb.payload.sd_hash !== expected) {
    throw new ProofError("its Key Binding JWT's `sd_hash` does not match the SD-JWT presented: disclosures were added or removed after the holder signed it");
  }
}

/**
 * Checks an `eddsa-jcs-2022` proof of the JSON credential `document` (Data Integrity EdDSA
 * Cryptosuites §3.3): Ed25519 over SHA-256(JCS(the proof without `proofValue`)) ‖
 * SHA-256(JCS(the document without `proof`)), by a key of the issuer, for `assertionMethod`.
 */
async function checkJcs(document, proof, documents) {
  const issuer = id(document.issuer);
  const method = typeof proof.verificationMethod === "string" ? proof.verificationMethod : "";
  if (!issuer) throw new ProofError("it names no issuer");
  if (method.split("#")[0] !== issuer) throw new ProofError(`the proof's key \`${method}\` does not belong to the issuer \`${issuer}\``);
  if (proof.proofPurpose !== "assertionMethod") throw new ProofError(`the proof's purpose is \`${proof.proofPurpose}\`, not \`assertionMethod\``);
  if (typeof proof.proofValue !== "string" || !proof.proofValue.startsWith("z")) throw new ProofError("the proof's `proofValue` is not base58btc multibase");
  const config = { ...proof };
  delete config.proofValue;
  if (config["@context"] !== undefined && canonical(config["@context"]) !== canonical(document["@context"])) {
    throw new ProofError("the proof's @context differs from the document's");
  }
  const unsecured = { ...document };
  delete unsecured.proof;
  const hash = new Uint8Array(64);
  hash.set(await sha256(encoder.encode(canonical(config))), 0);
  hash.set(await sha256(encoder.encode(canonical(unsecured))), 32);
  let jwk;
  try {
    jwk = findKey(issuer, method, await documentOf(issuer, documents));
  } catch (error) {
    if (error instanceof ProofError) throw error;
    throw new ProofError(`the key of \`${issuer}\` cannot be found: ${error.message}`);
  }
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") throw new ProofError(`the key \`${method}\` is not an Ed25519 key`);
  let ok;
  try {
    const key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
    ok = await crypto.subtle.verify({ name: "Ed25519" }, key, base58(proof.proofValue.slice(1)), hash);
  } catch (error) {
    throw new ProofError(`the key or proof value cannot be used: ${error.message}`);
  }
  if (!ok) throw new ProofError(`the eddsa-jcs-2022 proof of \`${issuer}\` does not verify: the credential was changed after it was signed, or not signed by that key`);
}

/** A string credential or presentation without its `data:application/…,` envelope. */
function unwrap(value) {
  if (typeof value === "string") {
    const at = value.indexOf(",");
    return value.startsWith("data:application/") && at > 0 ? value.slice(at + 1) : value;
  }
  if (value && typeof value === "object" && types(value).some((t) => t.startsWith("Enveloped")) && typeof value.id === "string") {
    return unwrap(value.id);
  }
  return value;
}

/**
 * Checks one embedded item: resolves to `{checked, warning?}`, or throws a ProofError saying
 * why its proof fails. `presentation`: whether it was embedded as one.
 */
async function checkItem(value, presentation, documents, depth = 0) {
  if (depth > MAX_DEPTH) throw new ProofError("it nests too deeply");
  const item = unwrap(value);
  if (item && typeof item === "object") {
    const proof = Array.isArray(item.proof) && item.proof.length === 1 ? item.proof[0] : item.proof;
    if (proof && typeof proof === "object" && !Array.isArray(proof) && proof.cryptosuite === "eddsa-jcs-2022") {
      await checkJcs(item, proof, documents);
      return {};
    }
    if (item.proof) return { warning: `its Data Integrity proof (${Array.isArray(item.proof) ? "a proof set" : item.proof.cryptosuite || "unknown suite"}) is not checked in the browser: run \`symbolon audit verify\`` };
    throw new ProofError("it carries no proof");
  }
  if (typeof item !== "string") throw new ProofError("it is neither a JWT nor a JSON credential");
  const jws = decodeJws(item);
  const body = jws.payload.vp && typeof jws.payload.vp === "object" ? jws.payload.vp : jws.payload;
  const isPresentation = types(body).includes("VerifiablePresentation") || (presentation && !types(body).includes("VerifiableCredential"));
  jws.kind = isPresentation ? "presentation" : "credential";
  const signer = isPresentation
    ? id(body.holder) || jws.payload.iss || (jws.header.kid || "").split("#")[0]
    : id(body.issuer) || jws.payload.iss;
  await checkSignature(jws, signer, documents);
  if (jws.sd) {
    await checkDisclosures(jws);
    await checkKeyBinding(item, jws);
  }
  const warnings = [];
  if (isPresentation) {
    const inner = body.verifiableCredential === undefined ? [] : [body.verifiableCredential].flat();
    for (const [n, credential] of inner.entries()) {
      try {
        const result = await checkItem(credential, false, documents, depth + 1);
        if (result.warning) warnings.push(`credential ${n + 1} inside: ${result.warning}`);
      } catch (error) {
        throw new ProofError(`credential ${n + 1} inside (${summary(credential)}): ${error.message}`, error.missing);
      }
    }
  }
  return warnings.length ? { warning: warnings.join("; ") } : {};
}

/** A short description of a credential: its types and issuer, when it can be read. */
export function summary(value) {
  try {
    const item = unwrap(value);
    const body = typeof item === "string" ? decodeJws(item).payload : item;
    const inner = body.vp && typeof body.vp === "object" ? body.vp : body;
    const named = types(inner).filter((t) => t !== "VerifiableCredential" && t !== "VerifiablePresentation");
    const kind = named.length ? named.join(", ") : types(inner)[0] || body.vct || "credential";
    const by = id(inner.issuer) || id(inner.holder) || body.iss;
    return by ? `${kind} by ${by}` : kind;
  } catch {
    return "unreadable";
  }
}

/**
 * Checks every credential and presentation `bundle` embeds (the entries' `details.credential`
 * and `details.presentation`, and the bundle's `credentials`); resolves to
 * `{checked, findings}`, each finding `{severity, kind, message, index?, credential?}` naming
 * the place (`the credential in entry 4`, `credential 2 of the bundle's credentials`) and why.
 */
export async function checkCredentials(bundle) {
  const items = [];
  (Array.isArray(bundle.entries) ? bundle.entries : []).forEach((entry, position) => {
    const details = entry && entry.event && entry.event.details;
    if (!details || typeof details !== "object") return;
    if (details.credential !== undefined) items.push({ value: details.credential, presentation: false, index: position, place: `the credential in entry ${position}` });
    if (details.presentation !== undefined) items.push({ value: details.presentation, presentation: true, index: position, place: `the presentation in entry ${position}` });
  });
  (Array.isArray(bundle.credentials) ? bundle.credentials : []).forEach((value, n) => {
    items.push({ value, presentation: false, credential: n, place: `credential ${n + 1} of the bundle's credentials` });
  });
  const documents = bundle.did_documents && typeof bundle.did_documents === "object" ? bundle.did_documents : {};
  const findings = [];
  let checked = 0;
  for (const item of items) {
    const what = `${item.place} (${summary(item.value)})`;
    try {
      const result = await checkItem(item.value, item.presentation, documents);
      if (result.warning) findings.push({ severity: "warning", kind: "credential_unchecked", message: `${what}: ${result.warning}`, index: item.index, credential: item.credential });
      else checked += 1;
    } catch (error) {
      const missing = error instanceof ProofError && error.missing;
      findings.push({
        severity: "error",
        kind: missing ? "missing_did_document" : "credential_invalid",
        message: missing ? `${what} cannot be checked: ${error.message}` : `${what} fails its proof check: ${error.message}`,
        index: item.index,
        credential: item.credential,
      });
    }
  }
  return { total: items.length, checked, findings };
}
