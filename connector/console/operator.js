// The operator's views: identity and held credentials, peers, offers (with the policy and
// its diagnostics), negotiations and transfers, and the issuer's request queue.

import { ApiError, get, post } from "./api.js";
import { badge, errorBox, facts, h, show, table, when } from "./dom.js";
import { healthTerms } from "./health.js";

function expiry(until) {
  if (!until) return h("span", { class: "muted" }, "no expiry stated");
  const days = Math.floor((new Date(until).getTime() - Date.now()) / 86400000);
  if (Number.isNaN(days)) return until;
  if (days < 0) return h("span", { class: "bad" }, `expired ${when(until)}`);
  return h("span", { class: days < 14 ? "warn" : "" }, `${when(until)} (in ${days} day${days === 1 ? "" : "s"})`);
}

/** The connector's DID and held credentials, each verified now. */
export async function identityView(root) {
  const me = await get("/api/v1/identity");
  show(root,
    h("h1", {}, "Identity"),
    facts([
      ["DID", h("code", { id: "did" }, me.did)],
      ["URL", h("code", {}, me.url || "—")],
      ["Trust list", me.trust_list ? badge("installed", "ok") : badge("none installed: no issuer is trusted", "bad")],
    ]),
    h("h2", {}, "Held credentials"),
    table([
      ["Types", (c) => c.types.join(", ")],
      ["Issuer", (c) => h("code", {}, c.issuer)],
      ["Format", (c) => c.format],
      ["Valid until", (c) => expiry(c.valid_until)],
      ["Verification", (c) => c.verified ? badge("verified", "ok") : [badge("does not verify", "bad"), " ", c.error || ""]],
    ], me.credentials, "This connector holds no credentials.", "credentials"));
}

/** The peers on the peer network, with their verified roles or why they were refused. */
export async function peersView(root) {
  let peers;
  try {
    peers = await get("/api/v1/peers");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      show(root, h("h1", {}, "Peers"), h("p", { class: "notice", id: "peers-off" }, error.message));
      return;
    }
    throw error;
  }
  const catalog = await get("/api/v1/catalog/federated").catch(() => []);
  show(root,
    h("h1", {}, "Peers"),
    table([
      ["DID", (p) => h("code", {}, p.did || p.peer_id)],
      ["Roles", (p) => p.roles.length ? p.roles.join(", ") : h("span", { class: "muted" }, "none verified")],
      ["Authentication", (p) => p.authenticated ? badge("verified", "ok") : [badge("refused", "bad"), " ", p.reason || "not yet authenticated"]],
      ["Reachable", (p) => p.reachable ? "yes" : h("span", { class: "warn" }, "no")],
      ["Last seen", (p) => when(p.last_seen)],
    ], peers, "No peer is known yet.", "peers"),
    h("h2", {}, "Offers announced by peers"),
    table([
      ["Offer", (a) => h("code", {}, a.offer_id)],
      ["Title", (a) => (a.offer && (a.offer.title || a.offer["dct:title"])) || "—"],
      ["Provider", (a) => h("code", {}, a.issuer)],
      ["Announced", (a) => when(a.issued_at)],
      ["Health data", (a) => (a.offer && a.offer.health ? healthTerms(a.offer.health) : h("span", { class: "muted" }, "—"))],
    ], catalog, "No offer was announced.", "federated"));
}

function policyDetails(offer) {
  const reading = h("div", { class: "reading" }, h("span", { class: "muted" }, "Reading the policy…"));
  post("/api/v1/policies/reading", { policy: offer.policy })
    .then((answer) => reading.replaceChildren(h("p", {}, h("strong", {}, "In plain words: ")),
      h("ul", {}, answer.reading.map((sentence) => h("li", {}, sentence)))))
    .catch((error) => reading.replaceChildren(errorBox(error, "The policy could not be read")));
  const parts = [reading, h("details", {}, h("summary", {}, "Policy text"), h("pre", {}, offer.policy))];
  if (offer.health) parts.push(healthTerms(offer.health));
  return h("div", {}, parts);
}

function diagnosticsBox(error) {
  const body = error.body || {};
  const items = Array.isArray(body.diagnostics) ? body.diagnostics : [];
  return h("div", { class: "error", role: "alert", id: "offer-error" },
    h("strong", {}, "The offer was not created: "), error.message,
    items.length ? h("ol", { class: "findings", id: "diagnostics" }, items.map((d) =>
      h("li", {}, `line ${d.line}, column ${d.column}: ${d.message}`, d.help ? h("div", { class: "muted" }, `help: ${d.help}`) : null))) : null,
    body.rendered ? h("pre", {}, body.rendered) : null);
}

function offerForm(onCreated) {
  const status = h("div", { "aria-live": "assertive", id: "offer-status" });
  const field = (label, input) => h("label", {}, label, input);
  const id = h("input", { id: "offer-id", required: true, pattern: "[A-Za-z0-9._:\\-]{1,200}" });
  const title = h("input", { id: "offer-title", required: true });
  const kind = h("select", { id: "offer-kind" }, h("option", { value: "dataset" }, "dataset"), h("option", { value: "computation" }, "computation"));
  const decision = h("select", { id: "offer-decision" }, h("option", { value: "auto" }, "the policy decides"), h("option", { value: "manual" }, "the operator decides"));
  const policy = h("textarea", { id: "offer-policy", required: true, spellcheck: "false" },
    'policy "name" {\n  permit use on offer "my-offer"\n  when holder.role == "Hospital" and holder.member_of == "hds"\n}\n');
  const form = h("form", { class: "stack", id: "offer-form", onsubmit: async (event) => {
    event.preventDefault();
    status.replaceChildren(h("p", { class: "muted" }, "Checking the policy…"));
    try {
      const created = await post("/api/v1/offers", { id: id.value.trim(), title: title.value.trim(),
        kind: kind.value, decision: decision.value, policy: policy.value });
      const warnings = created.warnings || [];
      status.replaceChildren(h("p", { class: "success", role: "status" }, `Offer “${created.id}” was created.`,
        warnings.map((w) => h("div", { class: "warn" }, `warning: ${w}`))));
      onCreated();
    } catch (error) {
      status.replaceChildren(error instanceof ApiError && error.status === 422 ? diagnosticsBox(error) : errorBox(error, "The offer was not created"));
    }
  } },
  field("Id", id), field("Title", title), field("Kind", kind), field("Who answers requests", decision),
  field("Usage policy", policy), h("div", {}, h("button", { type: "submit" }, "Create offer")));
  return [form, status];
}

/** This connector's offers with their policies, and a form to publish one. */
export async function offersView(root) {
  const list = h("div", { id: "offers-list" });
  const refresh = async () => {
    try {
      const offers = await get("/api/v1/offers");
      list.replaceChildren(table([
        ["Id", (o) => h("code", {}, o.id)],
        ["Title", (o) => [o.title, o.description ? h("div", { class: "muted" }, o.description) : null]],
        ["Kind", (o) => `${o.kind} (${o.action})`],
        ["Decision", (o) => o.decision],
        ["Policy", policyDetails],
      ], offers, "This connector publishes no offers yet.", "offers"));
    } catch (error) {
      list.replaceChildren(errorBox(error, "The offers could not be read"));
    }
  };
  await refresh();
  show(root, h("h1", {}, "Offers"), list, h("h2", {}, "Publish an offer"),
    h("p", { class: "muted" }, "The policy is checked before the offer is published; if it does not check, each problem is shown with its line and column."),
    offerForm(refresh));
}

function reasons(list) {
  return list && list.length ? h("ul", {}, list.map((r) => h("li", {}, r))) : h("span", { class: "muted" }, "—");
}

/** Negotiations, agreements' transfers, with their states and reasons. */
export async function negotiationsView(root) {
  const [negotiations, transfers] = await Promise.all([get("/api/v1/negotiations"), get("/api/v1/transfers")]);
  const stateBadge = (s) => badge(s, /TERMINATED/.test(s) ? "bad" : /FINALIZED|COMPLETED|STARTED|VERIFIED|AGREED/.test(s) ? "ok" : "");
  show(root,
    h("h1", {}, "Negotiations and transfers"),
    h("h2", {}, "Contract negotiations"),
    table([
      ["Offer", (n) => h("code", {}, n.offer_id)],
      ["Role", (n) => n.role],
      ["Counterparty", (n) => h("code", {}, n.counterparty)],
      ["State", (n) => stateBadge(n.state)],
      ["Agreement", (n) => n.agreement_id ? h("code", {}, n.agreement_id) : "—"],
      ["Reasons", (n) => reasons(n.reason)],
      ["Updated", (n) => when(n.updated)],
    ], negotiations, "No negotiation yet.", "negotiations"),
    h("h2", {}, "Transfer processes"),
    table([
      ["Offer", (t) => h("code", {}, t.offer_id)],
      ["Role", (t) => t.role],
      ["Format", (t) => t.format],
      ["Counterparty", (t) => h("code", {}, t.counterparty)],
      ["State", (t) => [stateBadge(t.state), t.code ? [" ", h("code", {}, t.code)] : null]],
      ["Reasons", (t) => reasons(t.reason)],
      ["Updated", (t) => when(t.updated)],
    ], transfers, "No transfer yet.", "transfers"));
}

/** The issuer's queue of credential requests, with approve and reject. */
export async function issuerView(root) {
  const status = h("div", { "aria-live": "assertive", id: "issuer-status" });
  const render = async () => {
    const requests = await get("/api/v1/issuer/requests");
    show(root, h("h1", {}, "Issuer: credential requests"), status,
      table([
        ["Holder", (r) => h("code", {}, r.holder)],
        ["Types", (r) => r.credential_types.join(", ")],
        ["Status", (r) => badge(r.status, r.status === "ISSUED" ? "ok" : r.status === "REJECTED" ? "bad" : "warn")],
        ["Reasons", (r) => reasons(r.reasons)],
        ["Received", (r) => when(r.created)],
        ["Decide", (r) => r.status !== "RECEIVED" ? "—" : decide(r)],
      ], requests, "No credential request was received.", "requests"));
  };
  const decide = (r) => {
    const reason = h("input", { "aria-label": `Reason to reject the request of ${r.holder}`, placeholder: "reason to reject",
      "data-reason": r.issuer_pid });
    const act = async (what, body) => {
      try {
        await post(`/api/v1/issuer/requests/${encodeURIComponent(r.issuer_pid)}/${what}`, body);
        status.replaceChildren(h("p", { class: "success", role: "status" }, `The request of ${r.holder} was ${what === "approve" ? "approved" : "rejected"}.`));
        await render();
      } catch (error) {
        status.replaceChildren(errorBox(error, `The request could not be ${what === "approve" ? "approved" : "rejected"}`));
      }
    };
    return h("div", { class: "row" },
      h("button", { type: "button", "data-approve": r.issuer_pid, onclick: () => act("approve", {}) }, "Approve"),
      reason,
      h("button", { type: "button", class: "secondary", "data-reject": r.issuer_pid, onclick: () => act("reject", { reason: reason.value }) }, "Reject"));
  };
  await render();
}
