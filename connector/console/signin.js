// The auditor's sign-in: the connector hands out a challenge, the auditor creates a
// presentation of its AuditorCredential for it with the command line
// (`symbolon audit present`), pastes the token here, and gets a short-lived, read-only session
// for the audit API, kept in this tab's session storage. A challenge opens one session; after
// a refusal a new one is asked for and shown all the same.

import { call, setAuditorSession } from "./api.js";
import { errorBox, facts, h, when } from "./dom.js";

/** Asks for a challenge (no token is sent). */
function newChallenge() {
  return call("POST", "/api/v1/console/auditor/challenge", {}, null);
}

/** The sign-in form, into `root`; `then()` once signed in. */
export async function auditorSignIn(root, then) {
  const challengeBox = h("div", { id: "auditor-challenge-box" });
  const status = h("div", { id: "auditor-status", "aria-live": "assertive" });
  const pasted = h("textarea", { id: "auditor-token", spellcheck: "false", required: true, autocomplete: "off",
    placeholder: "eyJ…", "aria-describedby": "auditor-command" });
  let current = null;

  const showChallenge = async () => {
    current = null;
    try {
      current = await newChallenge();
    } catch (error) {
      challengeBox.replaceChildren(errorBox(error, "No challenge could be had"));
      return;
    }
    const command = `symbolon audit present --data-dir YOUR-DATA-DIR --to ${current.audience} --challenge ${current.challenge}`;
    challengeBox.replaceChildren(
      facts([
        ["Connector", h("code", { id: "auditor-audience" }, current.audience)],
        ["Challenge", h("code", { id: "auditor-challenge" }, current.challenge)],
        ["Valid until", `${when(current.expires_at)} (${Math.round(current.expires_in / 60)} min)`],
      ]),
      h("p", {}, "With the data directory that holds your AuditorCredential, run:"),
      h("pre", { id: "auditor-command" }, command),
      h("p", { class: "muted" }, "and paste the token it prints below within two minutes. The challenge opens one session."));
  };

  const form = h("form", { class: "stack", id: "auditor-signin", onsubmit: async (event) => {
    event.preventDefault();
    if (!current) return;
    const challenge = current.challenge;
    status.replaceChildren(h("p", { class: "muted" }, "Checking the presentation…"));
    try {
      const opened = await call("POST", "/api/v1/console/auditor/session",
        { challenge, token: pasted.value.trim() }, null);
      setAuditorSession(opened);
      pasted.value = "";
      status.replaceChildren();
      then(opened);
    } catch (error) {
      status.replaceChildren(errorBox(error, "Sign-in refused"),
        h("p", { class: "notice", role: "status" }, "A new challenge is shown above: create the presentation again for it."));
      pasted.value = "";
      await showChallenge();
    }
  } },
  h("label", { for: "auditor-token" }, "Presentation token (from `symbolon audit present`)", pasted),
  h("div", {}, h("button", { type: "submit", id: "auditor-submit" }, "Sign in as auditor")));

  root.replaceChildren(
    h("h2", {}, "Sign in with an AuditorCredential"),
    h("p", {}, "An auditor presents an AuditorCredential from an issuer this connector's trust list trusts. The session that opens can read the audit trail only, and ends after a few minutes."),
    challengeBox, form, status);
  await showChallenge();
}

/** Ends the auditor's session here and on the connector (which forgets it either way). */
export async function auditorSignOut(session) {
  setAuditorSession(null);
  if (!session) return;
  try {
    await call("DELETE", "/api/v1/console/auditor/session", undefined, session.session);
  } catch {
    // Ended already (expired): nothing to end.
  }
}
