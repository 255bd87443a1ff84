// The console's shell: hash routes, the operator's sign-in with the admin token, and the
// account bar (operator, auditor, or neither). Each view renders into #view and may watch
// something until the route changes.

import { auditorSession, get, setToken, token } from "./api.js";
import { errorBox, h, show } from "./dom.js";
import { identityView, issuerView, negotiationsView, offersView, peersView } from "./operator.js";
import { sessionsView, sessionView } from "./sessions.js";
import { auditorView } from "./auditor.js";
import { auditorSignOut } from "./signin.js";
import { trailView } from "./trail.js";

const routes = [
  [/^\/identity$/, identityView, true],
  [/^\/peers$/, peersView, true],
  [/^\/offers$/, offersView, true],
  [/^\/negotiations$/, negotiationsView, true],
  [/^\/sessions$/, sessionsView, true],
  [/^\/sessions\/(.+)$/, sessionView, true],
  [/^\/issuer$/, issuerView, true],
  [/^\/audit$/, auditorView, false],
  [/^\/trail$/, trailView, false],
];

let current = null;

function signIn(root, then) {
  const input = h("input", { id: "token", type: "password", autocomplete: "off", required: true,
    "aria-describedby": "token-help" });
  const status = h("div", { id: "signin-status", "aria-live": "assertive" });
  const form = h("form", { class: "stack", id: "signin", onsubmit: async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    status.replaceChildren(h("p", { class: "muted" }, "Checking the token…"));
    try {
      await get("/api/v1/identity");
      renderAccount();
      then();
    } catch (error) {
      setToken(null);
      status.replaceChildren(errorBox(error, "Sign-in failed"));
      input.focus();
    }
  } },
  h("label", { for: "token" }, "Admin token", input),
  h("p", { id: "token-help", class: "muted" },
    "The token in this connector's data directory (the file admin.token). It is kept in this tab only, until you sign out or close it."),
  h("div", {}, h("button", { type: "submit" }, "Sign in")),
  status);
  show(root, h("h1", {}, "Operator sign-in"), form,
    h("p", {}, "Auditors sign in with an AuditorCredential to ", h("a", { href: "#/trail" }, "browse the audit trail"),
      ", or verify a bundle without signing in: ", h("a", { href: "#/audit" }, "open the bundle verifier"), "."));
  input.focus();
}

function renderAccount() {
  const account = document.getElementById("account");
  const auditor = auditorSession();
  if (auditor) {
    account.replaceChildren(h("span", { class: "muted", id: "account-auditor", title: auditor.auditor }, "Auditor (read-only)"),
      h("button", { class: "secondary", id: "auditor-signout", type: "button", onclick: async () => {
        await auditorSignOut(auditor);
        renderAccount();
        route();
      } }, "Sign out"));
  } else if (token()) {
    account.replaceChildren(h("span", { class: "muted" }, "Operator"),
      h("button", { class: "secondary", id: "signout", type: "button", onclick: () => {
        setToken(null);
        renderAccount();
        route();
      } }, "Sign out"));
  } else {
    account.replaceChildren(h("span", { class: "muted" }, "Not signed in"));
  }
}

async function route() {
  if (current) current.abort();
  current = new AbortController();
  const signal = current.signal;
  const path = (location.hash || "#/identity").slice(1);
  for (const link of document.querySelectorAll("#nav a")) {
    if (path.startsWith(link.getAttribute("href").slice(1))) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const root = document.getElementById("view");
  const found = routes.map(([re, view, operator]) => [path.match(re), view, operator]).find(([m]) => m);
  if (!found) {
    show(root, h("h1", {}, "Not found"), h("p", {}, `There is no view “${path}”. `, h("a", { href: "#/identity" }, "Go to the identity view.")));
    return;
  }
  const [match, view, operator] = found;
  if (operator && !token()) {
    signIn(root, route);
    return;
  }
  show(root, h("p", { class: "muted" }, "Loading…"));
  try {
    await view(root, { params: match.slice(1).map(decodeURIComponent), signal });
  } catch (error) {
    if (!signal.aborted) show(root, errorBox(error, "This view could not be shown"));
  }
}

window.addEventListener("hashchange", () => {
  route();
  document.getElementById("main").focus({ preventScroll: true });
});
window.addEventListener("symbolon-account", renderAccount);
renderAccount();
route();
