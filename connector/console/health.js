// A health offer's terms in words: its HealthDCAT-AP description (connector/src/health/dcat.rs,
// as the operator gave it and as peers announce it), whether a data permit is needed, and the
// Art. 54 prohibitions the operator dropped. Shown for this connector's offers and for the
// offers peers announce.

import { facts, h, table } from "./dom.js";

/** The health categories of HealthDCAT-AP (EHDS Art. 51), by code. */
const CATEGORIES = {
  EHRS: "Electronic health data from EHRs",
  DIOH: "Factors impacting on health (socio-economic, environmental, behavioural)",
  NRPE: "Healthcare needs, resources, provision, access, expenditure and financing",
  RPDG: "Pathogens that impact human health",
  HRAD: "Healthcare-related administrative data",
  HGPD: "Human genetic, epigenomic and genomic data",
  HPML: "Other human molecular (omic) data",
  PGEH: "Data generated automatically by medical devices",
  WELA: "Data from wellness applications",
  IDHP: "Health professionals' status, specialisation and institution",
  PHDR: "Population-based health data registries",
  MRMR: "Medical and mortality registries",
  EHCT: "Clinical trials, studies and investigations",
  EMRD: "Other health data from medical devices",
  RMMD: "Registries for medicinal products and medical devices",
  RQSH: "Research cohorts, questionnaires and surveys",
  EINS: "Biobanks and associated databases",
};

/** The GDPR legal bases, by DPV code. */
const BASES = {
  "A6-1-a": "consent (GDPR Art. 6(1)(a))",
  "A6-1-b": "contract (Art. 6(1)(b))",
  "A6-1-c": "legal obligation (Art. 6(1)(c))",
  "A6-1-d": "vital interests (Art. 6(1)(d))",
  "A6-1-e": "public interest or official authority (Art. 6(1)(e))",
  "A6-1-f": "legitimate interests (Art. 6(1)(f))",
  "A9-2-a": "explicit consent (Art. 9(2)(a))",
  "A9-2-b": "employment and social security (Art. 9(2)(b))",
  "A9-2-c": "vital interests (Art. 9(2)(c))",
  "A9-2-h": "health or social care (Art. 9(2)(h))",
  "A9-2-i": "public health (Art. 9(2)(i))",
  "A9-2-j": "research or statistics (Art. 9(2)(j))",
};

const text = (value) => (value === undefined || value === null || value === "" ? null : String(value));
const list = (items, each) => (Array.isArray(items) && items.length ? items.map(each).join("; ") : null);

function agent(a) {
  if (!a || typeof a !== "object") return null;
  return [text(a.name), a.id ? [" ", h("code", {}, a.id)] : null, a.email ? ` <${a.email}>` : null, a.url ? ` ${a.url}` : null];
}

function contact(c) {
  if (!c || typeof c !== "object") return null;
  return [c.email, c.url].filter(Boolean).join(", ") || null;
}

function ages(d) {
  if (d.min_typical_age === undefined && d.max_typical_age === undefined) return null;
  if (d.max_typical_age === undefined || d.max_typical_age === null) return `${d.min_typical_age} and older`;
  if (d.min_typical_age === undefined || d.min_typical_age === null) return `up to ${d.max_typical_age}`;
  return `${d.min_typical_age} to ${d.max_typical_age} years`;
}

function period(p) {
  if (!p || typeof p !== "object") return null;
  return p.end ? `${p.start} to ${p.end}` : `from ${p.start}`;
}

function number(n) {
  return Number.isFinite(n) ? n.toLocaleString("en") : null;
}

/**
 * The health terms `health` (`{requires_permit, without, dcat}`) as readable fields, in a
 * `<details>` element (open when `open`); null when there are none.
 */
export function healthTerms(health, open) {
  if (!health || typeof health !== "object") return null;
  const d = health.dcat && typeof health.dcat === "object" ? health.dcat : null;
  const rows = [
    ["Data permit", health.requires_permit ? "needed: a DataPermitCredential from a health data access body (EHDS Art. 68)" : "not needed"],
  ];
  if (Array.isArray(health.without) && health.without.length) rows.push(["Art. 54 prohibitions dropped", health.without.join(", ")]);
  if (d) {
    rows.push(
      ["Health data access body", agent(d.hdab)],
      ["Publisher", agent(d.publisher)],
      ["Contact", contact(d.contact_point)],
      ["Health categories", list(d.health_categories, (c) => (CATEGORIES[c] ? `${CATEGORIES[c]} (${c})` : c))],
      ["Health themes", list(d.health_themes, (c) => c.label || c.iri)],
      ["Coding systems", list(d.coding_systems, (c) => c.label || c.iri)],
      ["Keywords", list(d.keywords, String)],
      ["Dataset type", text(d.dataset_type)],
      ["Provenance", text(d.provenance)],
      ["Records", number(d.number_of_records)],
      ["Unique individuals", number(d.number_of_unique_individuals)],
      ["Typical ages", ages(d)],
      ["Population covered", text(d.population_coverage)],
      ["Retention period", period(d.retention_period)],
      ["Legal basis", list(d.legal_basis, (c) => BASES[c] || c)],
      ["Personal data", d.personal_data ? "yes: health data (GDPR Art. 9)" : "no"],
      ["Access", "non-public, under Regulation (EU) 2025/327 (EHDS)"],
    );
  }
  const shown = rows.filter(([, value]) => value !== null && value !== undefined);
  const variables = d && Array.isArray(d.variables) && d.variables.length
    ? [h("p", { class: "muted" }, "Variables:"), table([
      ["Name", (v) => h("code", {}, v.name)],
      ["Title", (v) => v.title],
      ["Type", (v) => v.datatype],
      ["Description", (v) => v.description],
    ], d.variables, "", undefined)]
    : null;
  return h("details", { class: "health", open: open || undefined },
    h("summary", {}, d ? "Health dataset (HealthDCAT-AP)" : "Health data terms (EHDS)"),
    facts(shown), variables);
}
