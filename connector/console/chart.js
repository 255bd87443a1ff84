// An SVG bar chart of a study's released counts; suppressed cells are drawn as dashed empty
// bars labelled "suppressed", so that what was withheld is visible as such.

const NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function label(cell) {
  if (cell.group !== undefined) return cell.treatment !== undefined ? `${cell.group} / ${cell.treatment}` : String(cell.group);
  if (cell.from !== undefined || cell.to !== undefined) {
    if (cell.from === null || cell.from === undefined) return `< ${cell.to}`;
    if (cell.to === null || cell.to === undefined) return `≥ ${cell.from}`;
    return `${cell.from}–${cell.to}`;
  }
  return "";
}

/** The cells of a result: the first array of objects with `count` or `suppressed`. */
export function cellsOf(result) {
  if (Array.isArray(result)) {
    if (result.length && result.every((c) => c && typeof c === "object" && ("count" in c || "suppressed" in c))) return result;
    for (const item of result) {
      const found = cellsOf(item);
      if (found) return found;
    }
    return null;
  }
  if (result && typeof result === "object") {
    for (const key of ["groups", "cells", "bins"]) {
      if (Array.isArray(result[key])) {
        const found = cellsOf(result[key]);
        if (found) return found;
      }
    }
    for (const value of Object.values(result)) {
      const found = cellsOf(value);
      if (found) return found;
    }
  }
  return null;
}

/** A bar chart of `cells` (each `{count}` or `{suppressed: true}` with a group or a bin). */
export function barChart(cells, title) {
  const width = Math.max(320, 70 * cells.length + 60);
  const height = 240;
  const top = 24, bottom = 44, left = 48;
  const counts = cells.map((c) => (c.suppressed ? 0 : Number(c.count) || 0));
  const max = Math.max(1, ...counts);
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": "chart-title" });
  svg.append(el("title", { id: "chart-title" }, title));
  const plot = height - top - bottom;
  svg.append(el("line", { x1: left, y1: top + plot, x2: width - 8, y2: top + plot, stroke: "#57606a" }));
  svg.append(el("text", { x: 4, y: top + 4 }, String(max)));
  svg.append(el("text", { x: 4, y: top + plot }, "0"));
  const step = (width - left - 8) / cells.length;
  cells.forEach((cell, i) => {
    const x = left + i * step + step * 0.15;
    const w = step * 0.7;
    const g = el("g", { class: cell.suppressed ? "cell suppressed-cell" : "cell" });
    if (cell.suppressed) {
      g.append(el("rect", { class: "suppressed", x, y: top + plot * 0.4, width: w, height: plot * 0.6 }));
      g.append(el("text", { x: x + 2, y: top + plot * 0.4 - 4 }, "suppressed"));
    } else {
      const bar = (counts[i] / max) * plot;
      g.append(el("rect", { class: "bar", x, y: top + plot - bar, width: w, height: Math.max(bar, 1) }));
      g.append(el("text", { x: x + 2, y: top + plot - bar - 4 }, String(cell.count)));
    }
    g.append(el("text", { x, y: height - bottom + 16 }, label(cell)));
    svg.append(g);
  });
  return svg;
}
