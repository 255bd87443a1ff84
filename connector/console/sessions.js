// MPC sessions: the list, and one session with each party's status, live progress from the
// server-sent events, and the result as a chart with suppressed cells marked.

import { events, get } from "./api.js";
import { badge, errorBox, facts, h, show, table, when } from "./dom.js";
import { barChart, cellsOf } from "./chart.js";

function stateBadge(state) {
  return badge(state, state === "completed" ? "ok" : state === "failed" || state === "cancelled" ? "bad" : "warn");
}

/** Every session this connector takes part in. */
export async function sessionsView(root) {
  const sessions = await get("/api/v1/sessions");
  show(root, h("h1", {}, "MPC sessions"),
    table([
      ["Session", (s) => h("a", { href: `#/sessions/${encodeURIComponent(s.id)}`, "data-id": s.id }, h("code", {}, s.id))],
      ["Program", (s) => s.program],
      ["Role", (s) => (s.analyst ? "analyst" : `party ${s.index}`)],
      ["Parties", (s) => String(s.parties.length)],
      ["State", (s) => [stateBadge(s.state), s.code ? [" ", h("code", {}, s.code)] : null]],
      ["Updated", (s) => when(s.updated)],
    ], sessions, "No session yet.", "sessions"));
}

function partiesTable(session) {
  const rows = session.parties.map((p, i) => ({ ...p, i }));
  return table([
    ["#", (p) => String(p.i)],
    ["DID", (p) => h("code", {}, p.did)],
    ["Roles", (p) => p.roles.join(", ")],
    ["Transfer", (p) => (p.transfer_state ? badge(p.transfer_state, p.transfer_state === "TERMINATED" ? "bad" : "ok") : h("span", { class: "muted" }, "—"))],
    ["Code", (p) => (p.code ? h("code", {}, p.code) : "—")],
  ], rows, "No parties.", "parties");
}

function progress(p) {
  if (!p) return h("span", { class: "muted" }, "not running here");
  return `${p.messages_sent} messages sent, ${p.messages_received} received; ${p.bytes_sent} bytes sent, ${p.bytes_received} received`;
}

async function resultPart(session) {
  if (!session.has_result) return h("p", { class: "muted" }, session.state === "completed" ? "No result was delivered to this connector." : "The result is shown once the session completes.");
  try {
    const result = await get(`/api/v1/sessions/${encodeURIComponent(session.id)}/result`);
    const cells = cellsOf(result);
    const suppressed = cells ? cells.filter((c) => c.suppressed).length : 0;
    return h("div", { id: "result" },
      cells ? [barChart(cells, `Counts of ${session.program}`),
        h("p", { id: "suppressed-note" }, suppressed ? `${suppressed} cell${suppressed === 1 ? " was" : "s were"} suppressed (fewer rows than the minimum group size).` : "No cell was suppressed.")] : null,
      h("details", {}, h("summary", {}, "Result as JSON"), h("pre", {}, JSON.stringify(result, null, 2))));
  } catch (error) {
    return errorBox(error, "The result could not be read");
  }
}

/** One session, kept current by its event stream until it ends or the view changes. */
export async function sessionView(root, { params, signal }) {
  const id = params[0];
  const live = h("p", { id: "live", class: "muted", role: "status" }, "Connecting to live progress…");
  const body = h("div", {});
  let updates = 0;
  const plural = (n) => `${n} live update${n === 1 ? "" : "s"}`;
  let pending = null;
  let result = null;
  let ended = false;
  const render = async (session) => {
    const final = ["completed", "failed", "cancelled"].includes(session.state);
    // The result is read once, when the session has ended.
    ended = final;
    if (final && !pending) pending = resultPart(session);
    if (pending) result = await pending;
    body.replaceChildren(
      facts([
        ["Program", session.program],
        ["State", [stateBadge(session.state), session.code ? [" ", h("code", {}, session.code)] : null]],
        ["Reason", session.reason || "—"],
        ["This connector", session.analyst ? "analyst" : `party ${session.index}`],
        ["Progress", progress(session.progress)],
        ["Manifest digest", h("code", {}, session.digest)],
        ["Updated", when(session.updated)],
      ]),
      h("h2", {}, "Parties"), partiesTable(session),
      h("h2", {}, "Result"),
      result || h("p", { class: "muted" }, "The result is shown once the session completes."));
  };
  await render(await get(`/api/v1/sessions/${encodeURIComponent(id)}`));
  show(root, h("h1", {}, "Session ", h("code", {}, id)), live, body);
  events(`/api/v1/sessions/${encodeURIComponent(id)}/events`, (name, data) => {
    if (name !== "session") return;
    const session = JSON.parse(data);
    updates += 1;
    live.textContent = `Live: ${session.state} (updated ${when(session.updated)}); ${plural(updates)} received.`;
    render(session);
  }, signal).then(() => {
    if (!signal.aborted) live.textContent = ended ? `The session has ended; ${plural(updates)} received.` : "The live stream closed; reload to reconnect.";
  }).catch((error) => {
    if (!signal.aborted) live.replaceWith(errorBox(error, "Live progress stopped"));
  });
}
