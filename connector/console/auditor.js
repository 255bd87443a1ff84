// The auditor's bundle view: load an audit bundle (a file, pasted JSON, or this connector's
// export with the auditor's session or the admin token) and verify it here, in the browser,
// with verify.js, and the proofs of the credentials it embeds with creds.js.

import { read, readerToken } from "./api.js";
import { badge, errorBox, facts, h, show, table, when } from "./dom.js";
import { verifyBundle } from "./verify.js";
import { verifyPair } from "./pair.js";
import { checkCredentials } from "./creds.js";

const MAX_BYTES = 256 * 1024 * 1024;
const MAX_ROWS = 500;

function findingText(f) {
  const where = f.index !== undefined ? `entry ${f.index}` : f.size !== undefined ? `head at size ${f.size}`
    : f.credential !== undefined ? `credential ${f.credential + 1}` : "bundle";
  return [badge(f.severity, f.severity === "error" ? "bad" : "warn"), " ", h("code", {}, f.kind), ` (${where}): ${f.message}`];
}

function credentialsText(check) {
  if (!check.total) return "none";
  const failed = check.findings.filter((f) => f.severity === "error").length;
  const unchecked = check.findings.filter((f) => f.severity === "warning").length;
  return [`${check.total}: ${check.checked} proof${check.checked === 1 ? "" : "s"} verified here`,
    failed ? `, ${failed} failing` : "", unchecked ? `, ${unchecked} left to \`symbolon audit verify\` (see the findings)` : ""].join("");
}

function report(result, bundle) {
  const errors = result.findings.filter((f) => f.severity === "error");
  const flagged = new Set(result.findings.filter((f) => f.index !== undefined && f.kind.includes("entr")).map((f) => f.index));
  const verdict = result.valid
    ? h("p", { class: "success verdict", id: "verdict", role: "status" },
      `Verified: ${result.entries} entries, ${result.verifiedHeads} validly signed head${result.verifiedHeads === 1 ? "" : "s"}; the entries match the heads up to size ${result.signedSize}.`)
    : h("p", { class: "error verdict", id: "verdict", role: "alert" },
      `Not valid: ${errors.length} problem${errors.length === 1 ? "" : "s"} found. The first: ${errors[0].message}`);
  const rows = bundle.entries.slice(0, MAX_ROWS).map((e, position) => ({ e: e || {}, position }));
  return [
    verdict,
    facts([
      ["Log", h("code", {}, result.logId)],
      ["Entries", String(result.entries)],
      ["Valid signed heads", `${result.verifiedHeads} of ${bundle.heads.length}`],
      ["Signed size", String(result.signedSize)],
      ["Embedded credentials", h("span", { id: "credentials-checked" }, credentialsText(result.credentialCheck))],
    ]),
    h("h2", {}, "Findings"),
    result.findings.length
      ? h("ol", { class: "findings", id: "findings" }, result.findings.map((f) => h("li", {}, findingText(f))))
      : h("p", { id: "findings" }, "No finding: every entry, link and head checks."),
    h("h2", {}, "Entries"),
    table([
      ["#", (r) => [String(r.e.index ?? r.position), flagged.has(r.position) ? [" ", badge("fails", "bad")] : null]],
      ["Type", (r) => h("code", { class: "nowrap" }, r.e.event ? r.e.event.type : "?")],
      ["Time", (r) => when(r.e.event && r.e.event.time)],
      ["Subject", (r) => (r.e.event ? r.e.event.subject : "")],
      ["Outcome", (r) => (r.e.event ? r.e.event.outcome : "")],
    ], rows, "The bundle holds no entries.", "entries"),
    bundle.entries.length > MAX_ROWS ? h("p", { class: "muted" }, `Only the first ${MAX_ROWS} of ${bundle.entries.length} entries are listed; all were verified.`) : null,
  ];
}

/** The comparison of two organisations' bundles, as `symbolon audit verify A B` reports it. */
function pairReport(result) {
  const errors = result.findings.filter((f) => f.severity === "error");
  const own = (r) => (r.valid ? "verifies" : `does not verify (${r.findings.filter((f) => f.severity === "error").length} problems)`);
  return [
    result.valid
      ? h("p", { class: "success verdict", id: "pair-verdict", role: "status" },
        `Both logs verify and agree: ${result.a.logId} records ${result.bByA} head${result.bByA === 1 ? "" : "s"} of the other, which match its entries; ${result.b.logId} records ${result.aByB}.`)
      : h("p", { class: "error verdict", id: "pair-verdict", role: "alert" },
        `Not valid: ${errors.length ? errors[0].message : "a log does not verify on its own"}`),
    facts([
      ["First log", [h("code", {}, result.a.logId), ` ${own(result.a)}`]],
      ["Second log", [h("code", {}, result.b.logId), ` ${own(result.b)}`]],
      ["Heads of the second witnessed by the first", String(result.bByA)],
      ["Heads of the first witnessed by the second", String(result.aByB)],
    ]),
    result.findings.length
      ? h("ol", { class: "findings", id: "pair-findings" }, result.findings.map((f) => h("li", {}, findingText(f))))
      : h("p", { id: "pair-findings" }, "No finding: every head each log recorded of the other matches."),
  ];
}

/** The auditor's bundle verification. */
export async function auditorView(root) {
  const out = h("div", { id: "audit-result", "aria-live": "polite" });
  const pairOut = h("div", { id: "pair-result", "aria-live": "polite" });
  let first = null;
  const check = async (text, origin) => {
    out.replaceChildren(h("p", { class: "muted" }, `Verifying ${origin}…`));
    let bundle;
    try {
      bundle = JSON.parse(text);
    } catch (error) {
      out.replaceChildren(errorBox(error, `${origin} is not JSON`));
      return;
    }
    try {
      const result = await verifyBundle(bundle);
      // The embedded credentials' proofs, checked here too: their findings join the log's.
      result.credentialCheck = await checkCredentials(bundle);
      result.findings.push(...result.credentialCheck.findings);
      result.valid = result.valid && !result.credentialCheck.findings.some((f) => f.severity === "error");
      first = bundle;
      pairOut.replaceChildren();
      out.replaceChildren(...report(result, bundle).filter(Boolean));
    } catch (error) {
      out.replaceChildren(errorBox(error, `${origin} cannot be verified`));
    }
  };
  const file = h("input", { type: "file", id: "bundle-file", accept: "application/json,.json", onchange: async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    if (chosen.size > MAX_BYTES) {
      out.replaceChildren(errorBox(new Error(`the file is larger than ${MAX_BYTES} bytes`), "The bundle was not read"));
      return;
    }
    await check(await chosen.text(), `“${chosen.name}”`);
    file.value = "";
  } });
  const other = h("input", { type: "file", id: "bundle-file-2", accept: "application/json,.json", onchange: async () => {
    const chosen = other.files && other.files[0];
    if (!chosen) return;
    other.value = "";
    if (!first) {
      pairOut.replaceChildren(errorBox(new Error("verify a first bundle above, then choose the other organisation's"), "Nothing to compare with"));
      return;
    }
    if (chosen.size > MAX_BYTES) {
      pairOut.replaceChildren(errorBox(new Error(`the file is larger than ${MAX_BYTES} bytes`), "The bundle was not read"));
      return;
    }
    pairOut.replaceChildren(h("p", { class: "muted" }, `Comparing with “${chosen.name}”…`));
    try {
      const result = await verifyPair(first, JSON.parse(await chosen.text()));
      pairOut.replaceChildren(...pairReport(result));
    } catch (error) {
      pairOut.replaceChildren(errorBox(error, `“${chosen.name}” cannot be compared`));
    }
  } });
  const pasted = h("textarea", { id: "bundle-text", spellcheck: "false", placeholder: "{\"format\": \"symbolon-audit-bundle/1\", …}" });
  const own = readerToken()
    ? h("button", { type: "button", class: "secondary", id: "fetch-bundle", onclick: async () => {
      try {
        const bundle = await read("/api/v1/audit/export");
        await check(JSON.stringify(bundle), "this connector's bundle");
      } catch (error) {
        out.replaceChildren(errorBox(error, "The bundle could not be exported"));
      }
    } }, "Verify this connector's current bundle")
    : null;
  show(root,
    h("h1", {}, "Auditor: verify an audit bundle"),
    h("p", {}, "The bundle is checked in this browser with its own implementation (WebCrypto SHA-256, Ed25519 and P-256): the hash chain, the Merkle tree, every signed head, and the proofs of the credentials and presentations it embeds (vc+jwt, vp+jwt, SD-JWT, eddsa-jcs-2022). Nothing is sent to the connector; only a did:web signer's DID document the bundle lacks is fetched, and only when the DID names this console's own host."),
    h("p", { class: "muted" }, "To browse this connector's trail and check its proofs against its signed heads, ", h("a", { href: "#/trail" }, "sign in with an AuditorCredential"), "."),
    h("form", { class: "stack", onsubmit: (event) => { event.preventDefault(); check(pasted.value, "the pasted bundle"); } },
      h("label", { for: "bundle-file" }, "Bundle file (from `symbolon audit export`)", file),
      h("label", { for: "bundle-text" }, "…or paste the bundle's JSON", pasted),
      h("div", { class: "row" }, h("button", { type: "submit", id: "verify-pasted" }, "Verify pasted bundle"), own)),
    out,
    h("h2", {}, "Compare with another organisation's bundle"),
    h("p", {}, "Partners record each other's signed heads at the end of each negotiation. Choose the partner's bundle to check, as `symbolon audit verify A B` does, that every head each log recorded of the other verifies and matches that log's entries."),
    h("form", { class: "stack", onsubmit: (event) => event.preventDefault() },
      h("label", { for: "bundle-file-2" }, "The other organisation's bundle", other)),
    pairOut);
}
