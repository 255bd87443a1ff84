// Browsing the audit trail from the server, as an auditor (signed in with an AuditorCredential)
// or as the operator: the latest signed tree head, verified here; the entries page by page;
// for a chosen entry its inclusion proof, checked here against the head; and a consistency
// proof between an earlier head and the latest one. Every check is done in this browser with
// proofs.js and verify.js, and shows each step with why it failed. The log's key comes from
// its DID (did:key, did:jwk) or, for a did:web, from the DID document this console's own origin
// publishes (did.js); a did:web of another host is not resolved, and the page says so.

import { ApiError, auditorSession, get, read, readerToken, setAuditorSession } from "./api.js";
import { badge, errorBox, facts, h, show, table, when } from "./dom.js";
import { checkConsistency, checkInclusion } from "./proofs.js";
import { decodeHead, verifyHead } from "./verify.js";
import { auditorSignIn } from "./signin.js";
import { resolveDid } from "./did.js";

const PAGE = 25;
const EARLIER_KEY = "symbolon.earlierHead";

function steps(result, id) {
  return h("ol", { class: "checks", id }, result.steps.map((s) => h("li", { class: s.status },
    badge(s.status, s.status === "passed" ? "ok" : s.status === "failed" ? "bad" : "muted"), " ",
    h("strong", {}, s.name), s.detail ? [": ", h("span", { class: "detail" }, s.detail)] : null)));
}

function short(did) {
  return did && did.length > 40 ? `${did.slice(0, 40)}…` : did;
}

/** The trail of this connector: head, entries, inclusion and consistency proofs. */
export async function trailView(root, { signal }) {
  if (!readerToken()) {
    const box = h("div", { id: "auditor-signin-box" });
    show(root, h("h1", {}, "Audit trail"),
      h("p", {}, "Reading the trail needs an auditor's sign-in with an AuditorCredential (or the operator's admin token). To verify a bundle file instead, no sign-in is needed: ",
        h("a", { href: "#/audit" }, "open the bundle verifier"), "."),
      box);
    await auditorSignIn(box, () => {
      window.dispatchEvent(new Event("symbolon-account"));
      trailView(root, { signal });
    });
    return;
  }
  const session = auditorSession();
  const logId = session ? session.log_id : (await get("/api/v1/identity")).did;
  // The log's key, resolved once for this visit: every head below is checked with it.
  let resolved = null;
  let unresolved = null;
  try {
    resolved = await resolveDid(logId);
  } catch (error) {
    unresolved = error;
  }
  const verify = async (jws) => {
    if (unresolved) throw new Error(`the log's key cannot be had here: ${unresolved.message}`);
    return verifyHead(jws, logId, resolved.document);
  };
  const keySource = resolved
    ? h("span", { id: "head-key" }, resolved.source)
    : h("span", { id: "head-key", class: "bad" }, `not resolved: ${unresolved.message}`);

  const headBox = h("div", { id: "head", "aria-live": "polite" });
  const entriesBox = h("div", { id: "entries-box" });
  const inclusionBox = h("div", { id: "inclusion-result", "aria-live": "polite" });
  const consistencyBox = h("div", { id: "consistency-result", "aria-live": "polite" });
  const earlier = h("textarea", { id: "earlier-head", spellcheck: "false", autocomplete: "off" });
  let latest = null;
  let from = 0;

  const loadHead = async () => {
    const answer = await read("/api/v1/audit/head");
    let verdict;
    if (unresolved) {
      verdict = [badge("cannot be verified here", "warn"), " the log's DID could not be resolved from the browser (see “Key”)."];
    } else {
      try {
        await verify(answer.jws);
        verdict = badge("signature verified here", "ok");
      } catch (error) {
        verdict = [badge("does not verify", "bad"), " ", error.message];
      }
    }
    latest = answer;
    if (!sessionStorage.getItem(EARLIER_KEY)) sessionStorage.setItem(EARLIER_KEY, answer.jws);
    if (!earlier.value) earlier.value = sessionStorage.getItem(EARLIER_KEY);
    headBox.replaceChildren(facts([
      ["Log", h("code", {}, logId)],
      ["Key", keySource],
      ["Entries", h("span", { id: "head-size" }, String(answer.head.tree_size))],
      ["Root", h("code", { id: "head-root" }, answer.head.root_hash)],
      ["Signed", when(answer.head.timestamp)],
      ["Signature", h("span", { id: "head-signature" }, verdict)],
    ]));
  };

  const checkEntry = async (entry) => {
    inclusionBox.replaceChildren(h("p", { class: "muted" }, `Checking entry ${entry.index}…`));
    const headJws = latest.jws;
    const size = decodeHead(headJws).head.tree_size;
    let proof;
    try {
      proof = await read(`/api/v1/audit/proof/inclusion?index=${entry.index}&tree_size=${size}`);
    } catch (error) {
      inclusionBox.replaceChildren(errorBox(error, "The inclusion proof could not be had"));
      return;
    }
    const result = await checkInclusion(logId, headJws, entry, proof, verify);
    const failed = result.steps.find((s) => s.status === "failed");
    inclusionBox.replaceChildren(
      h("h3", {}, `Inclusion of entry ${entry.index}`),
      result.valid
        ? h("p", { class: "success verdict", id: "inclusion-verdict", role: "status" },
          `Entry ${entry.index} is in the log the signed head over ${size} entries commits to.`)
        : h("p", { class: "error verdict", id: "inclusion-verdict", role: "alert" },
          `Entry ${entry.index} is not proven. Failed: “${failed.name}”: ${failed.detail}`),
      steps(result, "inclusion-steps"),
      h("details", {}, h("summary", {}, "The entry as checked"), h("pre", {}, JSON.stringify(entry, null, 2))));
  };

  const loadEntries = async () => {
    const end = latest.head.tree_size;
    const to = Math.min(end, from + PAGE);
    const page = await read(`/api/v1/audit/entries?from=${from}&to=${to}`);
    const entries = page.entries;
    entriesBox.replaceChildren(
      h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", id: "entries-prev", disabled: from === 0,
          onclick: () => { from = Math.max(0, from - PAGE); loadEntries().catch(fail); } }, "← Earlier"),
        h("span", { id: "entries-range" }, end ? `Entries ${from}–${from + entries.length - 1} of ${end} (the signed head's)` : "The log is empty."),
        h("button", { type: "button", class: "secondary", id: "entries-next", disabled: to >= end,
          onclick: () => { from += PAGE; loadEntries().catch(fail); } }, "Later →")),
      table([
        ["#", (e) => String(e.index)],
        ["Type", (e) => h("code", { class: "nowrap" }, e.event.type)],
        ["Time", (e) => when(e.event.time)],
        ["Actor", (e) => h("code", {}, short(e.event.actor))],
        ["Subject", (e) => short(e.event.subject)],
        ["Outcome", (e) => e.event.outcome],
        ["Proof", (e) => h("button", { type: "button", class: "secondary", "data-index": String(e.index),
          "aria-label": `Check inclusion of entry ${e.index}`, onclick: () => checkEntry(e) }, "Check inclusion")],
      ], entries, "No entries on this page.", "trail-entries"));
  };

  const fail = (error) => {
    if (error instanceof ApiError && error.status === 401 && session) {
      // Ended at the connector (expired, signed out elsewhere, or the connector restarted).
      setAuditorSession(null);
      window.dispatchEvent(new Event("symbolon-account"));
      entriesBox.replaceChildren(errorBox(error, "The auditor session ended"),
        h("button", { type: "button", id: "sign-in-again", onclick: () => trailView(root, { signal }) }, "Sign in again"));
    } else {
      entriesBox.replaceChildren(errorBox(error, "The trail could not be read"));
    }
  };

  const checkHeads = async () => {
    consistencyBox.replaceChildren(h("p", { class: "muted" }, "Checking…"));
    const result = await checkConsistency(logId, earlier.value.trim(), latest.jws,
      (a, b) => read(`/api/v1/audit/proof/consistency?from=${a}&to=${b}`), verify);
    const failed = result.steps.find((s) => s.status === "failed");
    consistencyBox.replaceChildren(
      result.valid
        ? h("p", { class: "success verdict", id: "consistency-verdict", role: "status" },
          "Consistent: the latest head's log holds the earlier head's entries unchanged.")
        : h("p", { class: "error verdict", id: "consistency-verdict", role: "alert" },
          `Not consistent. Failed: “${failed.name}”: ${failed.detail}`),
      steps(result, "consistency-steps"));
  };

  show(root,
    h("h1", {}, "Audit trail"),
    session
      ? h("p", { class: "notice", id: "reader" }, `Signed in as auditor ${session.auditor}, read-only, until ${when(session.expires_at)}.`)
      : h("p", { class: "notice", id: "reader" }, "Read with the operator's admin token."),
    h("p", { class: "muted" }, "Every check below is done in this browser (WebCrypto SHA-256, Ed25519, P-256), from what the connector serves: the signed head, the entries and the proofs."),
    h("h2", {}, "Signed tree head"),
    headBox,
    h("div", { class: "row" }, h("button", { type: "button", class: "secondary", id: "refresh-head", onclick: async () => {
      try { await loadHead(); await loadEntries(); } catch (error) { fail(error); }
    } }, "Load the latest head")),
    h("h2", {}, "Entries"),
    entriesBox,
    inclusionBox,
    h("h2", {}, "Consistency between two heads"),
    h("form", { class: "stack", id: "consistency-form", onsubmit: (event) => { event.preventDefault(); checkHeads(); } },
      h("label", { for: "earlier-head" }, "An earlier signed head (compact JWS): the first one this tab saw, or one you kept — from a bundle, a partner's witness record, an earlier visit", earlier),
      h("div", { class: "row" },
        h("button", { type: "submit", id: "check-consistency" }, "Check that the latest head extends it"),
        h("button", { type: "button", class: "secondary", id: "pin-head", onclick: () => {
          sessionStorage.setItem(EARLIER_KEY, latest.jws);
          earlier.value = latest.jws;
        } }, "Keep the latest head as the earlier one"))),
    consistencyBox);
  try {
    await loadHead();
    await loadEntries();
  } catch (error) {
    if (signal.aborted) return;
    fail(error);
  }
}
