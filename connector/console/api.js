// The management API client: the admin token lives in this tab's session storage only and is
// sent as `Authorization: Bearer`, as the command line sends it; it never appears in a URL.
// An auditor's session (from signing in with an AuditorCredential) is kept the same way and
// sent only to the audit API.

const KEY = "symbolon.adminToken";
const AUDITOR_KEY = "symbolon.auditorSession";

/** An answer of the API that is not a success, or a connector that did not answer. */
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** The admin token of this tab, if signed in. */
export function token() {
  return sessionStorage.getItem(KEY);
}

/** Keeps `value` as this tab's admin token; `null` signs out. */
export function setToken(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

/** The auditor's session of this tab (`{session, auditor, log_id, expires_at}`), if any. */
export function auditorSession() {
  try {
    const value = JSON.parse(sessionStorage.getItem(AUDITOR_KEY));
    if (value && typeof value.session === "string" && new Date(value.expires_at).getTime() > Date.now()) return value;
  } catch {
    // Not JSON: forgotten below.
  }
  sessionStorage.removeItem(AUDITOR_KEY);
  return null;
}

/** Keeps `value` as this tab's auditor session; `null` forgets it. */
export function setAuditorSession(value) {
  if (value) sessionStorage.setItem(AUDITOR_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(AUDITOR_KEY);
}

/** The token that reads the audit trail: the auditor's session, else the admin token. */
export function readerToken() {
  const session = auditorSession();
  return session ? session.session : token();
}

function headers(json, bearer) {
  const out = { Accept: "application/json" };
  const t = bearer === undefined ? token() : bearer;
  if (t) out.Authorization = `Bearer ${t}`;
  if (json) out["Content-Type"] = "application/json";
  return out;
}

/**
 * Calls `path` with `method` and an optional JSON `body`; the answer's JSON, or an ApiError.
 * `bearer`: the token to send (`null` for none); the admin token when left out.
 */
export async function call(method, path, body, bearer) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: headers(body !== undefined, bearer),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    throw new ApiError(0, "network", `the connector did not answer (${error.message})`);
  }
  const text = await response.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!response.ok) {
    let message = json && typeof json.message === "string" ? json.message : `${response.status} ${response.statusText}`;
    if (response.status === 401 && bearer === undefined) message = `${message}. Sign in again with the admin token.`;
    throw new ApiError(response.status, (json && json.error) || "http", message, json);
  }
  return json;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});
/** Reads the audit API with the auditor's session, or the admin token. */
export const read = (path) => call("GET", path, undefined, readerToken());

/**
 * Reads the server-sent events of `path` with the admin token (EventSource cannot send a
 * header), calling `onEvent(name, data)` for each, until the stream ends or `signal` aborts.
 */
export async function events(path, onEvent, signal) {
  let response;
  try {
    response = await fetch(path, { headers: { ...headers(false), Accept: "text/event-stream" }, signal, cache: "no-store" });
  } catch (error) {
    if (signal && signal.aborted) return;
    throw new ApiError(0, "network", `the event stream did not open (${error.message})`);
  }
  if (!response.ok || !response.body) {
    const json = await response.json().catch(() => null);
    throw new ApiError(response.status, (json && json.error) || "http", (json && json.message) || `${response.status}`, json);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    let chunk;
    try { chunk = await reader.read(); } catch (error) {
      if (signal && signal.aborted) return;
      throw error;
    }
    if (chunk.done) return;
    buffer += chunk.value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) onEvent(name, data.join("\n"));
    }
  }
}
