// Resolving the DID of the log being viewed, in the browser. A did:key or did:jwk needs no
// document (its key is the DID). A did:web names the host that publishes its DID document
// (`did:web:host%3Aport` at `/.well-known/did.json`, `did:web:host:a:b` at `/a/b/did.json`);
// the console's Content-Security-Policy lets it fetch from its own origin only, so a did:web
// is resolved here when it names the host this console is served from (over HTTPS, or HTTP on
// loopback, as the connector itself resolves did:web), and otherwise the page says why it
// cannot be and what to do instead.

/** Why a DID cannot be resolved from this page: `message` says what to do instead. */
export class ResolveError extends Error {}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Where the did:web `did` publishes its document: `{authority, host, path}`, or a
 * ResolveError if the DID is not a valid did:web.
 */
export function didWebLocation(did) {
  const parts = did.slice("did:web:".length).split(":");
  const authority = parts[0].replace(/%3A/gi, ":");
  const host = authority.replace(/:\d+$/, "");
  if (!host || host.includes("%") || host.includes("/")) throw new ResolveError(`\`${did}\` is not a valid did:web: its host is not one`);
  const segments = parts.slice(1);
  if (segments.some((s) => !s || s === "." || s === "..")) throw new ResolveError(`\`${did}\` is not a valid did:web: its path has an empty or relative segment`);
  const path = segments.length ? `/${segments.map(decodeURIComponent).join("/")}/did.json` : "/.well-known/did.json";
  return { authority: authority.toLowerCase(), host: host.toLowerCase(), path };
}

/** The command an auditor runs instead, when the page cannot resolve a DID. */
export const INSTEAD = "export the trail as a bundle (`symbolon audit export`, or the bundle view's export button: the bundle carries the connector's DID document) and run `symbolon audit verify <bundle.json>`, which resolves did:web over the network";

/**
 * The DID document of `did` for checking its signatures here, fetched from this origin:
 * `{document, source}` (`document` null for did:key and did:jwk, whose key is the DID), or a
 * ResolveError that says why not and what to do instead.
 */
export async function resolveDid(did, origin = location) {
  if (did.startsWith("did:key:") || did.startsWith("did:jwk:")) {
    return { document: null, source: "the key is the DID itself (no document to fetch)" };
  }
  if (!did.startsWith("did:web:")) {
    throw new ResolveError(`\`${did}\` cannot be resolved in the browser: only did:key, did:jwk and a did:web of this console's own host can be. Instead, ${INSTEAD}.`);
  }
  const where = didWebLocation(did);
  const scheme = LOOPBACK.test(where.host) ? "http" : "https";
  if (where.authority !== origin.host.toLowerCase()) {
    throw new ResolveError(`\`${did}\` is a did:web of the host ${where.authority}, and this console, served from ${origin.host}, fetches only from its own origin, so it cannot resolve it from the browser. Open the console at ${scheme}://${where.authority}/console, or ${INSTEAD}.`);
  }
  if (origin.protocol !== "https:" && !LOOPBACK.test(where.host)) {
    throw new ResolveError(`\`${did}\` resolves over HTTPS only, and this console was opened over ${origin.protocol.replace(":", "").toUpperCase()}. Open it at https://${where.authority}/console, or ${INSTEAD}.`);
  }
  let response;
  try {
    response = await fetch(where.path, { headers: { Accept: "application/did+json, application/json" }, cache: "no-store", credentials: "omit" });
  } catch (error) {
    throw new ResolveError(`the DID document of \`${did}\` could not be fetched from ${where.path} (${error.message}). Instead, ${INSTEAD}.`);
  }
  if (!response.ok) {
    throw new ResolveError(`the DID document of \`${did}\` was not served at ${where.path} (HTTP ${response.status}). Instead, ${INSTEAD}.`);
  }
  let document;
  try {
    document = await response.json();
  } catch (error) {
    throw new ResolveError(`the DID document of \`${did}\` at ${where.path} is not JSON (${error.message})`);
  }
  if (!document || document.id !== did) {
    throw new ResolveError(`the document served at ${where.path} is not the one of \`${did}\` (its id is \`${document && document.id}\`)`);
  }
  return { document, source: `the DID document at ${where.path}, fetched from this origin` };
}
