// Small DOM helpers: elements are built with text nodes only (never innerHTML), so nothing a
// connector or a bundle says can run as code.

/** Creates `tag` with `attrs` (on* handlers as functions) and `children` (strings or nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.className = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  if (tag === "code") {
    const parts = children.flat(Infinity);
    // A short id (`claims`) is never broken: a table column keeps at least its width.
    if (!el.className && parts.every((p) => typeof p === "string") && parts.join("").length < BREAKABLE) el.className = "short";
    append(el, parts.map(breakable));
  } else {
    append(el, children);
  }
  return el;
}

/** Ids in `code` this long or longer may wrap; shorter ones keep to one line. */
const BREAKABLE = 24;

/**
 * A string as text with a line-break opportunity (`<wbr>`) after each `:`, `/`, `#`, `?`, `&`
 * and `=`, so that a long DID, URL or id wraps between its parts rather than mid-word; other
 * children are kept as they are. Copying the text is unchanged (`<wbr>` adds no text).
 */
function breakable(child) {
  if (typeof child !== "string" || child.length < BREAKABLE) return child;
  return child.split(/(?<=[:/#?&=])/).flatMap((part, i) => (i === 0 ? [part] : [document.createElement("wbr"), part]));
}

/** Appends strings, numbers, nodes and arrays of them. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A table of `rows` with `columns` ([header, row => cell]); `empty` when there are none. */
export function table(columns, rows, empty, id) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", { id },
      h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([title, cell]) => h("td", { "data-label": title }, cell(row))))))));
}

/** A coloured label. */
export function badge(text, kind) {
  return h("span", { class: `badge ${kind || ""}` }, text);
}

/** An error in words, announced to screen readers. */
export function errorBox(error, what) {
  const words = error && error.message ? error.message : String(error);
  const status = error && error.status ? ` (HTTP ${error.status})` : "";
  return h("div", { class: "error", role: "alert" },
    h("strong", {}, what ? `${what}: ` : "Error: "), `${words}${status}`);
}

/** A definition list of [term, value] pairs. */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([t, v]) => [h("dt", {}, t), h("dd", {}, v)]));
}

/** A time as the reader's local date and time, or a dash. */
export function when(text) {
  if (!text) return "—";
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toLocaleString();
}

/** Replaces the content of `root`. */
export function show(root, ...children) {
  root.replaceChildren();
  append(root, children);
}
