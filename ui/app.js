// dqr web UI: a small single-page app over the REST API (docs/api.md).
// Rules: every value goes into the page as text (never as HTML); the token
// lives in sessionStorage and travels only in the Authorization header;
// search keys travel only in request bodies; URLs (#/page/...) hold page
// names and de-identified labels, never PHI.

import { dryRunImages, quarantinePage, seriesThumb, viewerPage } from "./viewer.js";

export const state = { token: sessionStorage.getItem("dqr.token"), me: null, selection: [], pacsCache: null };

// ---- DOM helpers ---------------------------------------------------------
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel, root = document) => root.querySelector(sel);
function field(label, input) { return h("label", {}, label, input); }
export function show(...nodes) { const m = $("#main"); m.replaceChildren(...nodes); }
export function banner(text, kind) {
  const b = $("#banner");
  b.className = kind || "";
  b.textContent = text || "";
  b.hidden = !text;
}
function fmtBytes(n) { return n > 1 << 30 ? (n / (1 << 30)).toFixed(1) + " GiB" : n > 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : n > 1024 ? (n / 1024).toFixed(0) + " KiB" : n + " B"; }
function when(t) { return t ? new Date(t).toLocaleString() : ""; }

// ---- the API ---------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body, expired) { super(body && body.error ? body.error : "the server answered " + status); this.status = status; this.body = body; this.expired = expired; }
}

// path: under /api/v1, or a /dicom-web/ path (the same bearer token works
// there). raw: answer the Response itself; a string is the Accept header.
export async function api(method, path, body, raw) {
  const headers = {};
  if (state.token) headers.Authorization = "Bearer " + state.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (typeof raw === "string") headers.Accept = raw;
  let res;
  try {
    res = await fetch((path.startsWith("/dicom-web/") ? "" : "/api/v1") + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, { error: "dqr cannot be reached. Check that it is running, then try again." });
  }
  if (res.status === 401 && path !== "/login") {
    logout("Your session has ended. Please log in again.");
    throw new ApiError(401, { error: "Please log in again." }, true);
  }
  if (raw) { if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null)); return res; }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function logout(message) {
  if (state.token) api("POST", "/logout").catch(() => {});
  state.token = null; state.me = null; state.selection = [];
  sessionStorage.removeItem("dqr.token");
  location.hash = "#/login";
  if (message) banner(message, "info");
}

// Run an action, showing its error as a sentence in the banner.
export async function guarded(fn) {
  try { banner(""); return await fn(); } catch (e) { if (!e.expired) banner(e.message); return undefined; }
}

// ---- navigation ------------------------------------------------------------
const pages = [
  ["search", "Search"], ["import", "Import"], ["csv", "CSV import"], ["queue", "Queue"],
  ["history", "Histories"], ["archive", "Archive"], ["quarantine", "Quarantine"], ["admin", "Admin"],
];

function renderNav(current) {
  const nav = $("#nav");
  nav.replaceChildren();
  $("#who").replaceChildren();
  if (!state.me) return;
  for (const [id, label] of pages) {
    if (id === "admin" && state.me.role !== "admin") continue;
    if (id === "quarantine" && !(state.me.role === "admin" && state.me.phi)) continue;
    nav.append(h("a", { href: "#/" + id, "aria-current": current === id ? "page" : null }, label));
  }
  $("#who").append(state.me.username + " (" + state.me.role + ") ",
    h("button", { class: "secondary", onclick: () => logout("You are logged out.") }, "Log out"));
}

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const page = parts[0] || "search";
  if (!state.token) { renderNav(); return loginPage(); }
  if (!state.me) {
    const me = await guarded(() => api("GET", "/me"));
    if (!me) return;
    state.me = me;
  }
  renderNav(page === "view" ? "archive" : page);
  const fn = { search: searchPage, import: importPage, csv: csvPage, queue: queuePage, history: historyPage,
               archive: archivePage, view: viewerPage, quarantine: quarantinePage, admin: adminPage }[page] || searchPage;
  stopPolling();
  await fn(parts.slice(1));
  $("#main").focus();
}

let pollTimer = null;
function stopPolling() { if (pollTimer) clearInterval(pollTimer); pollTimer = null; }

// ---- login -----------------------------------------------------------------
function loginPage() {
  const user = h("input", { name: "username", autocomplete: "username", required: true });
  const pw = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    await guarded(async () => {
      // 401 gets our sentence; any other refusal (429 after too many failed
      // logins, 503 when the server is busy) shows the server's, which says
      // how long to wait
      const r = await api("POST", "/login", { username: user.value, password: pw.value }).catch((err) => {
        throw new ApiError(err.status, { error: err.status === 401 ? "The user name or password is wrong." : err.message });
      });
      state.token = r.token; state.me = r.user;
      sessionStorage.setItem("dqr.token", r.token);
      location.hash = "#/search";
      route();
    });
  } }, h("h1", {}, "Log in to dqr"), h("div", { class: "grid" }, field("User name", user), field("Password", pw)),
  h("div", { class: "actions" }, h("button", { type: "submit" }, "Log in")));
  show(form);
}

// ---- tables ----------------------------------------------------------------
// A sortable, filterable, paged table over rows already in memory.
function table(columns, rows, opts = {}) {
  const st = { sort: opts.sort || null, desc: false, filter: "", page: 0, size: opts.pageSize || 25 };
  const wrap = h("div", {});
  const filter = h("input", { type: "search", "aria-label": "Filter the table", placeholder: "Filter…",
    oninput: () => { st.filter = filter.value.toLowerCase(); st.page = 0; draw(); } });
  function value(r, c) { const v = c.value ? c.value(r) : r[c.key]; return v === null || v === undefined ? "" : v; }
  function draw() {
    let list = rows.filter((r) => !st.filter || columns.some((c) => String(value(r, c)).toLowerCase().includes(st.filter)));
    if (st.sort) {
      const c = columns.find((x) => x.key === st.sort);
      list = [...list].sort((a, b) => {
        const x = value(a, c), y = value(b, c);
        const nx = Number(x), ny = Number(y);
        const r = x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny) ? nx - ny : String(x).localeCompare(String(y));
        return st.desc ? -r : r;
      });
    }
    const pages = Math.max(1, Math.ceil(list.length / st.size));
    st.page = Math.min(st.page, pages - 1);
    const shown = list.slice(st.page * st.size, (st.page + 1) * st.size);
    const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", "aria-sort": st.sort === c.key ? (st.desc ? "descending" : "ascending") : null },
      c.nosort ? c.label : h("button", { class: "sort", onclick: () => { st.desc = st.sort === c.key ? !st.desc : false; st.sort = c.key; draw(); } },
        c.label + (st.sort === c.key ? (st.desc ? " ▼" : " ▲") : "")))));
    const body = h("tbody", {});
    for (const r of shown) {
      body.append(h("tr", {}, columns.map((c) => h("td", {}, c.render ? c.render(r) : String(value(r, c))))));
      if (opts.after) { const extra = opts.after(r, columns.length); if (extra) body.append(extra); }
    }
    wrap.replaceChildren(
      opts.nofilter ? "" : filter,
      h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), body)),
      h("div", { class: "pager" },
        h("button", { class: "secondary", disabled: st.page === 0, onclick: () => { st.page--; draw(); } }, "Previous"),
        h("span", {}, `Page ${st.page + 1} of ${pages} (${list.length} rows)`),
        h("button", { class: "secondary", disabled: st.page >= pages - 1, onclick: () => { st.page++; draw(); } }, "Next")));
  }
  draw();
  wrap.redraw = draw;
  return wrap;
}

// ---- search ----------------------------------------------------------------
const searchFields = [
  ["PatientName", "Patient name (wildcards * ?)"], ["PatientID", "Patient ID"], ["AccessionNumber", "Accession number"],
  ["PatientBirthDate", "Birth date (YYYYMMDD)"], ["Modality", "Modality"], ["StudyDescription", "Study description"],
  ["ReferringPhysicianName", "Referring physician"],
];

async function pacsList() { return (await api("GET", "/pacs")).pacs; }

async function searchPage() {
  const list = await guarded(pacsList);
  if (!list) return;
  if (!list.length) return show(h("div", { class: "card" }, h("h1", {}, "Search"), h("p", {}, "You may not use any PACS yet. Ask an administrator for a grant.")));
  const pacs = h("select", { name: "pacs" }, list.filter((p) => p.queryable).map((p) => h("option", { value: p.id, selected: p.default_qr }, p.label)));
  const status = h("span", { class: "muted", "aria-live": "polite" });
  const level = h("select", { name: "level" }, ["STUDY", "PATIENT"].map((l) => h("option", { value: l }, l.toLowerCase())));
  const inputs = Object.fromEntries(searchFields.map(([k]) => [k, h("input", { name: k })]));
  const from = h("input", { name: "dateFrom", placeholder: "YYYYMMDD" }), to = h("input", { name: "dateTo", placeholder: "YYYYMMDD" });
  const go = h("button", { type: "submit" }, "Search");
  const results = h("div", {});
  async function ping() {
    status.textContent = "checking the PACS…";
    go.disabled = true;
    const r = await guarded(() => api("POST", `/pacs/${pacs.value}/ping`));
    if (r && r.ok) { status.textContent = `reachable (${r.ms} ms)`; go.disabled = false; banner(""); }
    else { status.textContent = "unreachable"; banner(`This PACS cannot be reached, so searching is off: ${r ? r.error : "no answer"}`); }
  }
  pacs.addEventListener("change", ping);
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    const keys = {};
    for (const [k] of searchFields) if (inputs[k].value.trim()) keys[k] = inputs[k].value.trim();
    if (from.value || to.value) keys.StudyDate = `${from.value.trim()}-${to.value.trim()}`;
    results.replaceChildren(h("p", { "aria-live": "polite" }, "Searching…"));
    const r = await guarded(() => api("POST", "/query", { pacs: Number(pacs.value), level: level.value, keys, limit: 10000 }));
    if (!r) { results.replaceChildren(); return; }
    drawResults(results, r, Number(pacs.value));
  } }, h("h1", {}, "Search a PACS"),
  h("div", { class: "grid" }, field("PACS", pacs), h("div", {}, status), field("Level", level),
    ...searchFields.map(([k, label]) => field(label, inputs[k])), field("Study date from", from), field("Study date to", to)),
  h("div", { class: "actions" }, go));
  show(form, results);
  ping();
}

function drawResults(box, r, pacsId) {
  const rows = r.results;
  const note = r.truncated ? h("p", { class: "warn", role: "status" }, r.message) : "";
  if (r.level === "PATIENT") {
    box.replaceChildren(h("div", { class: "card" }, h("h2", {}, `${rows.length} patients`), note,
      table([{ key: "PatientName", label: "Patient name" }, { key: "PatientID", label: "Patient ID" },
             { key: "PatientBirthDate", label: "Birth date" }, { key: "NumberOfPatientRelatedStudies", label: "Studies" }], rows)));
    return;
  }
  const sel = new Map(state.selection.filter((s) => s.pacs === pacsId).map((s) => [s.study.StudyInstanceUID, s]));
  const expanded = new Map();
  const count = h("span", { "aria-live": "polite" });
  function updateCount() { count.textContent = `${sel.size} selected`; importBtn.disabled = sel.size === 0; }
  const importBtn = h("button", { onclick: () => {
    state.selection = [...sel.values()];
    location.hash = "#/import";
  } }, "Import selected");
  const tbl = table([
    { key: "_pick", label: "Select", nosort: true, render: (s) => h("input", { type: "checkbox", "aria-label": "Select study " + (s.StudyDescription || s.StudyInstanceUID),
      checked: sel.has(s.StudyInstanceUID), onchange: (e) => { if (e.target.checked) sel.set(s.StudyInstanceUID, { pacs: pacsId, study: s, series: null }); else sel.delete(s.StudyInstanceUID); updateCount(); } }) },
    { key: "PatientName", label: "Patient name" }, { key: "PatientID", label: "Patient ID" },
    { key: "StudyDate", label: "Date" }, { key: "ModalitiesInStudy", label: "Modality" },
    { key: "StudyDescription", label: "Description" }, { key: "AccessionNumber", label: "Accession" },
    { key: "NumberOfStudyRelatedInstances", label: "Images" },
    { key: "_series", label: "Series", nosort: true, render: (s) => h("button", { class: "secondary", "aria-expanded": expanded.has(s.StudyInstanceUID) ? "true" : "false",
      onclick: async () => {
        if (expanded.has(s.StudyInstanceUID)) expanded.delete(s.StudyInstanceUID);
        else {
          const q = await guarded(() => api("POST", "/query", { pacs: pacsId, level: "SERIES", keys: { StudyInstanceUID: s.StudyInstanceUID }, limit: 1000 }));
          if (q) expanded.set(s.StudyInstanceUID, q.results);
        }
        tbl.redraw();
      } }, expanded.has(s.StudyInstanceUID) ? "Hide series" : "Show series") },
  ], rows, { sort: "StudyDate", after: (s, ncol) => {
    const series = expanded.get(s.StudyInstanceUID);
    if (!series) return null;
    const chosen = sel.get(s.StudyInstanceUID);
    const boxes = series.map((se) => h("label", { class: "inline" }, h("input", { type: "checkbox", checked: !chosen || !chosen.series || chosen.series.includes(se.SeriesInstanceUID),
      onchange: (e) => {
        const cur = sel.get(s.StudyInstanceUID) || { pacs: pacsId, study: s, series: series.map((x) => x.SeriesInstanceUID) };
        let list = cur.series || series.map((x) => x.SeriesInstanceUID);
        list = e.target.checked ? [...new Set([...list, se.SeriesInstanceUID])] : list.filter((u) => u !== se.SeriesInstanceUID);
        cur.series = list.length === series.length ? null : list;
        if (list.length) sel.set(s.StudyInstanceUID, cur); else sel.delete(s.StudyInstanceUID);
        updateCount(); tbl.redraw();
      } }), `#${se.SeriesNumber || "?"} ${se.Modality || ""} ${se.SeriesDescription || ""} (${se.NumberOfSeriesRelatedInstances || "?"} images)`));
    return h("tr", { class: "sub" }, h("td", { colspan: ncol }, h("div", { class: "grid" }, boxes)));
  } });
  box.replaceChildren(h("div", { class: "card" }, h("h2", {}, `${rows.length} studies`), note, tbl,
    h("div", { class: "actions" }, importBtn, count)));
  updateCount();
}

// ---- import ----------------------------------------------------------------
// The labelling rule: no identifier of the patient ends up in a label.
function prefill(selection) {
  const subjects = new Map();
  const used = new Map();
  return selection.map((s) => {
    const pid = s.study.PatientID || s.study.PatientName || "?";
    if (!subjects.has(pid)) subjects.set(pid, "S" + String(subjects.size + 1).padStart(3, "0"));
    const subject = subjects.get(pid);
    const mod = (s.study.ModalitiesInStudy || "XX").split("\\")[0].replace(/[^A-Za-z0-9]/g, "") || "XX";
    const base = `${subject}_${mod}`;
    const n = (used.get(base) || 0) + 1;
    used.set(base, n);
    return { ...s, subject, session: n === 1 ? base : `${base}${n}` };
  });
}

async function importPage() {
  if (!state.selection.length) return show(h("div", { class: "card" }, h("h1", {}, "Import"), h("p", {}, "Select studies on the Search page first, or use CSV import.")));
  const projects = await guarded(async () => (await api("GET", "/projects")).projects.filter((p) => p.dqr_enabled));
  if (!projects) return;
  if (!projects.length) return show(h("div", { class: "card" }, h("h1", {}, "Import"), h("p", {}, "No DQR-enabled project is open to you. Ask an administrator.")));
  const project = h("select", { name: "project" }, projects.map((p) => h("option", { value: p.id }, `${p.name} (${p.id})`)));
  const rows = prefill(state.selection);
  const msg = h("p", { class: "error", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Import");
  const labelOk = (s) => /^[A-Za-z0-9_-]{1,64}$/.test(s);
  function check() {
    const seen = new Map();
    let bad = "";
    for (const r of rows) { seen.set(r.session, (seen.get(r.session) || 0) + 1); if (!labelOk(r.subject) || !labelOk(r.session)) bad = "Labels are 1 to 64 letters, digits, _ or -."; }
    for (const r of rows) {
      const dup = seen.get(r.session) > 1;
      r.sessionInput.classList.toggle("dup", dup);
      r.sessionInput.setAttribute("aria-invalid", dup || !labelOk(r.session) ? "true" : "false");
      r.subjectInput.setAttribute("aria-invalid", labelOk(r.subject) ? "false" : "true");
    }
    const dups = [...seen].filter(([, n]) => n > 1).map(([s]) => s);
    msg.textContent = dups.length ? `These session labels are used twice: ${dups.join(", ")}. Each session needs its own label.` : bad;
    submit.disabled = !!msg.textContent;
  }
  const body = h("tbody", {});
  for (const r of rows) {
    r.subjectInput = h("input", { value: r.subject, "aria-label": "Subject label for " + (r.study.StudyDescription || r.study.StudyInstanceUID), oninput: (e) => { r.subject = e.target.value.trim(); check(); } });
    r.sessionInput = h("input", { value: r.session, "aria-label": "Session label for " + (r.study.StudyDescription || r.study.StudyInstanceUID), oninput: (e) => { r.session = e.target.value.trim(); check(); } });
    body.append(h("tr", {}, h("td", {}, r.study.PatientName || ""), h("td", {}, r.study.StudyDate || ""), h("td", {}, r.study.StudyDescription || ""),
      h("td", {}, r.series ? `${r.series.length} chosen` : "all"), h("td", {}, r.subjectInput, r.knownNote = h("small", { class: "muted" })), h("td", {}, r.sessionInput)));
  }
  project.addEventListener("change", () => proposeKnownSubjects(project.value, rows, check));
  proposeKnownSubjects(project.value, rows, check);
  // The server refused a session label another subject holds: say so by the field, as for duplicates.
  function sessionTaken(err) {
    for (const r of rows) if (r.session === err.body.session) { r.sessionInput.classList.add("dup"); r.sessionInput.setAttribute("aria-invalid", "true"); r.sessionInput.focus(); }
    msg.textContent = `${err.message}. Give this study another session label.`;
    return false;
  }
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    check();
    if (submit.disabled) return;
    const byPacs = new Map();
    for (const r of rows) {
      const st = { StudyInstanceUID: r.study.StudyInstanceUID, subject: r.subject, session: r.session, ...originalIds(r.study) };
      if (r.series) st.series = r.series;
      byPacs.set(r.pacs, [...(byPacs.get(r.pacs) || []), st]);
    }
    const ok = await guarded(async () => {
      try { for (const [pacs, studies] of byPacs) await postImport({ pacs, project: project.value, studies }); }
      catch (err) { if (err.status === 409 && err.body && err.body.session) return sessionTaken(err); throw err; }
      return true;
    });
    if (ok) { state.selection = []; location.hash = "#/queue"; }
  } }, h("h1", {}, "Import into a project"), field("Project", project),
  h("p", { class: "muted" }, "Labels are prefilled by this rule: subject S001, S002, … one per patient in this list; session SUBJECT_MODALITY, numbered when a subject has several. No label carries the patient's identifiers. Edit them as you need."),
  h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["Patient", "Date", "Description", "Series", "Subject", "Session"].map((t) => h("th", { scope: "col" }, t)))), body)),
  msg, h("div", { class: "actions" }, submit));
  show(form);
  check();
}

// ---- returning patients (the project's pseudonym registry) -----------------
// What the registry needs of a query answer to recognise its patient.
function originalIds(study) {
  const ids = {};
  if (study.PatientID) ids.PatientID = study.PatientID;
  if (study.IssuerOfPatientID) ids.IssuerOfPatientID = study.IssuerOfPatientID;
  return ids;
}

// Rows of patients the project knows get their known label, and say so.
async function proposeKnownSubjects(projectId, rows, after) {
  let r;
  try { r = await api("POST", `/projects/${encodeURIComponent(projectId)}/registry/lookup`, { patients: rows.map((x) => originalIds(x.study)) }); }
  catch (e) { return; } // the form works without proposals
  rows.forEach((row, i) => {
    const known = r.known_subjects[i];
    row.knownNote.textContent = known ? ` known subject ${known}` : "";
    if (!known || row.subject === known) return;
    if (row.session.startsWith(row.subject + "_")) row.session = known + row.session.slice(row.subject.length);
    row.subject = known;
    row.subjectInput.value = known;
    row.sessionInput.value = row.session;
  });
  after();
}

// POST /imports; a label the registry refuses can be forced, after a confirm (audited).
async function postImport(body) {
  try { return await api("POST", "/imports", body); }
  catch (err) {
    if (err.status !== 409 || !err.body || !err.body.registry || body.force) throw err;
    if (!window.confirm(`${err.message}\n\nImport anyway under ${err.body.subject}? This is recorded in the audit trail.`)) throw err;
    return api("POST", "/imports", { ...body, force: true });
  }
}

// ---- CSV import ------------------------------------------------------------
async function csvPage() {
  const [plist, projects] = await Promise.all([guarded(pacsList), guarded(async () => (await api("GET", "/projects")).projects.filter((p) => p.dqr_enabled))]);
  if (!plist || !projects) return;
  const pacs = h("select", { name: "pacs" }, plist.filter((p) => p.queryable).map((p) => h("option", { value: p.id, selected: p.default_qr }, p.label)));
  const project = h("select", { name: "project" }, projects.map((p) => h("option", { value: p.id }, p.id)));
  const file = h("input", { type: "file", accept: ".csv,text/csv", name: "csv" });
  const force = h("input", { type: "checkbox", name: "force", onchange: (e) => { if (e.target.checked && !window.confirm("Import rows under labels the project's registry disagrees with? Each is recorded in the audit trail.")) e.target.checked = false; } });
  const out = h("div", {});
  let preview = null;
  const queueBtn = h("button", { disabled: true, onclick: async () => {
    const ok = await guarded(() => api("POST", "/imports", { pacs: Number(pacs.value), project: project.value, studies: preview.studies, bulk: true, force: force.checked }));
    if (ok) location.hash = "#/queue";
  } }, "Queue the import");
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    if (!file.files[0]) return banner("Choose a CSV file first.");
    const text = await file.files[0].text();
    out.replaceChildren(h("p", { "aria-live": "polite" }, "Resolving every row against the PACS…"));
    preview = await guarded(() => api("POST", "/imports/csv/preview", { pacs: Number(pacs.value), project: project.value, csv: text, force: force.checked }));
    if (!preview) return out.replaceChildren();
    const rows = [];
    for (const r of preview.rows) {
      if (r.error) rows.push({ line: r.line, result: "error", detail: r.error, session: "" });
      for (const m of r.matches) rows.push({ line: r.line, result: "match", detail: `${m.PatientName || ""} ${m.StudyDate || ""} ${m.StudyDescription || ""}${m.known_subject ? ` · known subject ${m.known_subject}` : ""}${m.conflict ? ` · ${m.conflict}` : ""}`, subject: m.subject, session: m.session });
    }
    queueBtn.disabled = preview.errors > 0 || !preview.studies.length;
    out.replaceChildren(h("div", { class: "card" }, h("h2", {}, `${preview.sessions} sessions, ${preview.errors} errors`),
      preview.errors ? h("p", { class: "error" }, "Fix the rows with errors and preview again: nothing is queued while a row has an error.") : "",
      table([{ key: "line", label: "Line" }, { key: "result", label: "Result", render: (r) => h("span", { class: r.result === "error" ? "error" : "ok" }, r.result) },
             { key: "detail", label: "Study or error" }, { key: "subject", label: "Subject" }, { key: "session", label: "Session" }], rows, { sort: "line" }),
      h("div", { class: "actions" }, queueBtn)));
  } }, h("h1", {}, "CSV bulk import"),
  h("p", { class: "muted" }, "Columns as in XNAT DQR: Accession Number, Study Date, Patient ID, Last Name, First Name, DOB, Modality (any, at least one) and Subject, Session."),
  h("div", { class: "grid" }, field("PACS", pacs), field("Project", project), field("CSV file", file), field("Force labels the registry disagrees with", force)),
  h("div", { class: "actions" }, h("button", { type: "submit" }, "Preview")));
  show(form, out);
}

// ---- queue -----------------------------------------------------------------
async function queuePage() {
  const all = h("input", { type: "checkbox" });
  const list = h("div", { "aria-live": "polite" });
  // The list carries each request's first sessions; a request whose rows
  // were asked for keeps that many across the polls, paged from its own
  // endpoint (a CSV import may have 10,000 sessions).
  const shown = new Map();
  async function load() {
    const r = await guarded(() => api("GET", "/imports?limit=100&sessions=20" + (all.checked ? "" : "&mine=1")));
    if (!r) return;
    if (!r.imports.length) return list.replaceChildren(h("p", {}, "No imports yet."));
    await Promise.all(r.imports.filter((imp) => (shown.get(imp.id) || 0) > imp.sessions.length).map(async (imp) => {
      const p = await guarded(() => api("GET", `/imports/${imp.id}/sessions?limit=${Math.min(shown.get(imp.id), 1000)}`));
      if (p) imp.sessions = p.sessions;
    }));
    const more = (imp) => imp.sessions_total > imp.sessions.length
      ? h("button", { class: "secondary", onclick: () => { shown.set(imp.id, imp.sessions.length + 100); load(); } },
          `Show more sessions (${imp.sessions.length} of ${imp.sessions_total})`)
      : "";
    list.replaceChildren(...r.imports.map((imp) => {
      const done = imp.archived + imp.rejected + imp.failed;
      return h("div", { class: "card", "data-import": imp.id },
        h("h2", {}, `Import ${imp.id} into ${imp.project} from ${imp.pacs_label || imp.pacs} `, h("span", { class: "state state-" + imp.state }, imp.state)),
        h("p", { class: "muted" }, `by ${imp.user}, ${when(imp.created)}${imp.bulk ? ", bulk" : ""}`),
        h("div", { class: "actions" },
          h("progress", { max: Math.max(imp.expected, 1), value: done, "aria-label": `Import ${imp.id} progress` }),
          h("span", {}, `expected ${imp.expected}, received ${imp.received}, archived ${imp.archived}, rejected ${imp.rejected}, failed ${imp.failed}`),
          ["queued", "waiting-window", "running"].includes(imp.state) ? h("button", { class: "secondary", onclick: () => guarded(async () => { await api("POST", `/imports/${imp.id}/cancel`); load(); }) }, "Cancel") : "",
          ["failed", "partial", "cancelled"].includes(imp.state) ? h("button", { class: "secondary", onclick: () => guarded(async () => { await api("POST", `/imports/${imp.id}/retry`); load(); }) }, "Retry") : ""),
        imp.error ? h("p", { class: "error" }, imp.error) : "",
        h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["Subject", "Session", "State", "Archived", "Attempts", "Next window"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, imp.sessions.map((s) => h("tr", {}, h("td", {}, s.subject), h("td", {}, s.archived > 0 ? h("a", { href: `#/archive/${encodeURIComponent(imp.project)}/${encodeURIComponent(s.subject)}/${encodeURIComponent(s.session)}`, title: "Its series and thumbnails" }, s.session) : s.session), h("td", { class: "state state-" + s.state }, s.state),
            h("td", {}, `${s.archived} / ${s.expected}`), h("td", {}, s.attempts), h("td", {}, s.state === "waiting-window" ? when(s.next_window) || "none this week" : "")))))),
        more(imp));
    }));
  }
  all.addEventListener("change", load);
  show(h("h1", {}, "Import queue"), state.me.role === "admin" ? h("label", { class: "inline" }, all, "Show every user's imports") : "", list);
  await load();
  pollTimer = setInterval(load, 2000);
}

// ---- histories ---------------------------------------------------------------
// What the history knows of how a session was retrieved (docs/api.md): the
// level that worked, the series that never came, and what dqr did about
// the PACS's quirks. Empty for sessions that needed none of it.
function retrievalNotes(r) {
  const missing = (r.missing_series || []).map((m) => `series ${m.series_number} (${m.modality}) ${m.arrived} of ${m.expected}`);
  return h("div", { class: "retrieval" },
    r.retrieve_level ? h("div", {}, `Level ${r.retrieve_level}`) : "",
    missing.length ? h("div", { class: "error" }, `Missing: ${missing.join(", ")}`) : "",
    r.notes ? h("div", { class: "muted" }, r.notes) : "");
}

async function historyPage() {
  const [q, i] = await Promise.all([guarded(() => api("GET", "/history/queries?limit=500")), guarded(() => api("GET", "/history/imports?limit=500"))]);
  if (!q || !i) return;
  const phi = state.me.phi;
  const reveal = (path, key) => (r) => phi ? h("button", { class: "secondary", onclick: async (e) => {
    const d = await guarded(() => api("GET", path(r)));
    if (d) e.target.replaceWith(h("code", {}, JSON.stringify(d[key])));
  } }, "Show") : h("span", { class: "muted" }, "needs the phi permission");
  show(h("h1", {}, "Histories"),
    h("p", { class: "muted" }, phi ? "Original identifiers are sealed; showing them is recorded in the audit trail." : ""),
    h("h2", {}, "Queries"),
    table([{ key: "at", label: "When", render: (r) => when(r.at) }, { key: "user", label: "User" }, { key: "pacs_label", label: "PACS" },
           { key: "level", label: "Level" }, { key: "status", label: "Status" }, { key: "results", label: "Results" }, { key: "ms", label: "ms" },
           { key: "_k", label: "Search keys", nosort: true, render: reveal((r) => `/history/queries/${r.id}/keys`, "keys") }], q.queries, { sort: "at" }),
    h("h2", {}, "Imports"),
    table([{ key: "at", label: "When", render: (r) => when(r.at) }, { key: "user", label: "User" }, { key: "pacs_label", label: "PACS" },
           { key: "project", label: "Project" }, { key: "subject", label: "Subject" },
           { key: "session", label: "Session", render: (r) => r.archived > 0 && r.project && r.subject && r.session ? h("a", { href: `#/archive/${encodeURIComponent(r.project)}/${encodeURIComponent(r.subject)}/${encodeURIComponent(r.session)}` }, r.session) : r.session || "" },
           { key: "state", label: "State" }, { key: "archived", label: "Archived" }, { key: "failed", label: "Failed" }, { key: "ms", label: "ms" },
           { key: "retrieve_level", label: "Retrieval", render: retrievalNotes },
           { key: "_i", label: "Original identifiers", nosort: true, render: (r) => r.has_identifiers ? reveal((x) => `/history/imports/${x.id}/identifiers`, "identifiers")(r) : "" }],
      i.imports, { sort: "at" }));
}

// ---- archive -----------------------------------------------------------------
async function archivePage(parts) {
  const [project, subject, session] = parts;
  const crumbs = h("p", {}, h("a", { href: "#/archive" }, "Projects"),
    project ? [" › ", h("a", { href: `#/archive/${encodeURIComponent(project)}` }, project)] : "",
    subject ? [" › ", h("a", { href: `#/archive/${encodeURIComponent(project)}/${encodeURIComponent(subject)}` }, subject)] : "",
    session ? [" › ", session] : "");
  if (!project) {
    const r = await guarded(() => api("GET", "/projects"));
    if (r) show(h("h1", {}, "Archive"), crumbs, table([{ key: "id", label: "Project", render: (p) => h("a", { href: `#/archive/${encodeURIComponent(p.id)}` }, p.id) },
      { key: "name", label: "Name" }, { key: "dqr_enabled", label: "DQR", render: (p) => p.dqr_enabled ? "enabled" : "off" }], r.projects));
    return;
  }
  if (!subject) {
    const r = await guarded(() => api("GET", `/projects/${encodeURIComponent(project)}/subjects`));
    if (r) show(h("h1", {}, `Project ${project}`), crumbs, table([{ key: "label", label: "Subject", render: (s) => h("a", { href: `#/archive/${encodeURIComponent(project)}/${encodeURIComponent(s.label)}` }, s.label) },
      { key: "sessions", label: "Sessions" }, { key: "instances", label: "Instances" }, { key: "bytes", label: "Size", render: (s) => fmtBytes(s.bytes) }], r.subjects));
    return;
  }
  if (!session) {
    const r = await guarded(() => api("GET", `/projects/${encodeURIComponent(project)}/subjects/${encodeURIComponent(subject)}/sessions`));
    if (r) show(h("h1", {}, `Subject ${subject}`), crumbs, table([{ key: "label", label: "Session", render: (s) => h("a", { href: `#/archive/${encodeURIComponent(project)}/${encodeURIComponent(subject)}/${encodeURIComponent(s.label)}` }, s.label) },
      { key: "modality", label: "Modality" }, { key: "date", label: "Date" }, { key: "series", label: "Series" }, { key: "instances", label: "Instances" },
      { key: "bytes", label: "Size", render: (s) => fmtBytes(s.bytes) }], r.sessions));
    return;
  }
  const base = `/projects/${encodeURIComponent(project)}/sessions/${encodeURIComponent(session)}`;
  const r = await guarded(() => api("GET", base));
  if (!r) return;
  const sendBox = h("div", {});
  const plist = (await guarded(pacsList)) || [];
  const storable = plist.filter((p) => p.storable && p.protocol === "dimse");
  const target = h("select", { name: "target" }, storable.map((p) => h("option", { value: p.id }, p.label)));
  const actions = h("div", { class: "actions" },
    h("button", { onclick: async () => {
      const res = await guarded(() => api("GET", base + "/download", undefined, true));
      if (!res) return;
      const url = URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: `${project}_${session}.zip` });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } }, "Download zip"),
    storable.length ? [field("Send to PACS", target), h("button", { class: "secondary", onclick: async () => {
      const s = await guarded(() => api("POST", base + "/send", { pacs: Number(target.value) }));
      if (!s) return;
      const prog = h("progress", { max: 1, value: 0, "aria-label": "Sending progress" }), text = h("span", {});
      sendBox.replaceChildren(h("div", { class: "actions", "aria-live": "polite" }, prog, text));
      const tick = setInterval(async () => {
        const st = await guarded(() => api("GET", `/sends/${s.id}`));
        if (!st) return clearInterval(tick);
        prog.max = Math.max(st.total, 1); prog.value = st.sent + st.failed;
        text.textContent = `${st.state}: ${st.sent} sent, ${st.failed} failed of ${st.total}${st.error ? " — " + st.error : ""}`;
        if (st.state !== "running") {
          clearInterval(tick);
          sendBox.append(table([{ key: "sop_uid", label: "Instance" }, { key: "status", label: "Status", render: (x) => "0x" + x.status.toString(16).padStart(4, "0") },
            { key: "ok", label: "Result", render: (x) => x.ok ? "stored" : "failed" }], st.results, { pageSize: 10 }));
        }
      }, 500);
    } }, "Send")] : "",
    state.me.role === "admin" ? h("button", { class: "danger", onclick: async () => {
      if (!confirm(`Delete session ${session} and its ${r.instances} instances? This cannot be undone.`)) return;
      if (await guarded(() => api("DELETE", base))) location.hash = `#/archive/${encodeURIComponent(project)}/${encodeURIComponent(subject)}`;
    } }, "Delete session") : "");
  show(h("h1", {}, `Session ${session}`), crumbs,
    h("div", { class: "card" }, h("p", {}, `Subject ${r.subject} · ${r.modality || ""} · ${r.instances} instances · ${fmtBytes(r.bytes)}`), actions, sendBox),
    table([{ key: "_t", label: "Preview", nosort: true, render: (s) => seriesThumb(project, session, s) },
           { key: "number", label: "Series #" }, { key: "description", label: "Description" }, { key: "modality", label: "Modality" },
           { key: "instances", label: "Instances" }, { key: "bytes", label: "Size", render: (s) => fmtBytes(s.bytes) }, { key: "uid", label: "Series UID" }], r.series, { sort: "number" }));
}

// ---- admin -------------------------------------------------------------------
const days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

async function adminPage(parts) {
  const tab = parts[0] || "pacs";
  const tabs = h("nav", { "aria-label": "Admin" }, [["pacs", "PACS"], ["users", "Users"], ["projects", "Projects"], ["site", "Site script"], ["clients", "DICOM clients"]].map(([id, l]) =>
    h("a", { href: `#/admin/${id}`, "aria-current": tab === id ? "page" : null }, l)));
  const body = h("div", {});
  show(h("h1", {}, "Administration"), tabs, body);
  if (tab === "pacs") await adminPacs(body, parts[1]);
  else if (tab === "users") await adminUsers(body);
  else if (tab === "projects") await adminProjects(body, parts[1]);
  else if (tab === "clients") await adminDicomClients(body);
  else await adminSite(body);
}

function pacsForm(p, onsave) {
  const f = {};
  const text = (k, label, v) => field(label, f[k] = h("input", { name: k, value: v ?? "" }));
  const check = (k, label, v) => h("label", { class: "inline" }, f[k] = h("input", { type: "checkbox", name: k, checked: !!v }), label);
  const sel = (k, label, opts, v) => field(label, f[k] = h("select", { name: k }, opts.map((o) => h("option", { value: o, selected: o === v }, o))));
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    const body = { label: f.label.value, aet: f.aet.value, host: f.host.value, port: Number(f.port.value), calling_aet: f.calling_aet.value || null,
      receiver_aet: f.receiver_aet.value || null, queryable: f.queryable.checked, storable: f.storable.checked, default_qr: f.default_qr.checked,
      default_store: f.default_store.checked, protocol: f.protocol.value, retrieve: f.retrieve.value, url: f.url.value || null,
      username: f.username.value || null, timezone: f.timezone.value || "UTC",
      tls: f.tls.checked, tls_ca: f.tls_ca.value || null, tls_cert: f.tls_cert.value || null, tls_key: f.tls_key.value || null };
    if (f.password.value) body.password = f.password.value;
    const r = await guarded(() => p ? api("PUT", `/pacs/${p.id}`, body) : api("POST", "/pacs", body));
    if (r) onsave(r);
  } }, h("h2", {}, p ? `Edit ${p.label}` : "New PACS"),
  h("div", { class: "grid" }, text("label", "Label", p?.label), text("aet", "AE title", p?.aet), text("host", "Host", p?.host),
    text("port", "Port", p?.port), text("calling_aet", "Calling AE (optional)", p?.calling_aet), text("receiver_aet", "dqr receiver AE (optional)", p?.receiver_aet),
    sel("protocol", "Protocol", ["dimse", "dicomweb"], p?.protocol || "dimse"), sel("retrieve", "Retrieve by", ["move", "get"], p?.retrieve || "move"),
    text("url", "DICOMweb URL", p?.url), text("username", "DICOMweb user", p?.username),
    field(p?.has_password ? "DICOMweb password (set; type to change)" : "DICOMweb password", f.password = h("input", { type: "password", name: "password", autocomplete: "new-password" })),
    text("timezone", "Time zone", p?.timezone || "UTC"),
    text("tls_ca", "TLS CA file on the dqr host (optional: system trust store)", p?.tls_ca),
    text("tls_cert", "TLS client certificate file (optional)", p?.tls_cert), text("tls_key", "TLS client key file (optional)", p?.tls_key)),
  h("div", { class: "actions" }, check("queryable", "Queryable", p ? p.queryable : true), check("storable", "Storable", p?.storable),
    check("default_qr", "Default query/retrieve PACS", p?.default_qr), check("default_store", "Default storage PACS", p?.default_store),
    check("tls", "DICOM TLS", p?.tls)),
  h("div", { class: "actions" }, h("button", { type: "submit" }, "Save")));
  return form;
}

function scheduleEditor(p, onsaved) {
  const sched = JSON.parse(JSON.stringify(p.schedule));
  const grid = h("div", { class: "week" });
  const msg = h("p", { class: "error", "aria-live": "polite" });
  function draw() {
    grid.replaceChildren();
    for (const d of days) {
      const list = sched.days[d] || (sched.days[d] = []);
      grid.append(h("strong", {}, d), h("div", {}, list.map((iv, i) => h("div", { class: "interval" },
        field("From", h("input", { value: iv.start, "aria-label": `${d} interval ${i + 1} start`, oninput: (e) => { iv.start = e.target.value; } })),
        field("To", h("input", { value: iv.end, "aria-label": `${d} interval ${i + 1} end`, oninput: (e) => { iv.end = e.target.value; } })),
        field("Threads", h("input", { type: "number", min: 1, max: 64, value: iv.threads, "aria-label": `${d} interval ${i + 1} threads`, oninput: (e) => { iv.threads = Number(e.target.value); } })),
        field("Utilization %", h("input", { type: "number", min: 1, max: 100, value: iv.utilization, "aria-label": `${d} interval ${i + 1} utilization`, oninput: (e) => { iv.utilization = Number(e.target.value); } })),
        h("button", { type: "button", class: "secondary", onclick: () => { list.splice(i, 1); draw(); } }, "Remove"))),
        h("button", { type: "button", class: "secondary", onclick: () => { list.push({ start: "00:00", end: "24:00", threads: 1, utilization: 100 }); draw(); } }, "Add interval")));
    }
  }
  draw();
  const tz = h("input", { name: "tz", value: sched.timezone });
  return h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    msg.textContent = "";
    try { const r = await api("PUT", `/pacs/${p.id}/schedule`, { timezone: tz.value, days: sched.days }); onsaved(r); }
    catch (err) { msg.textContent = err.message; }
  } }, h("h2", {}, `Availability of ${p.label}`),
  h("p", { class: "muted" }, "Transfers start only inside an interval, with at most its threads at once; at 10 % utilization, 1 s of transfer is followed by 9 s of rest."),
  field("Time zone", tz), grid, msg, h("div", { class: "actions" }, h("button", { type: "submit" }, "Save schedule")));
}

async function adminPacs(box, id) {
  const list = await guarded(pacsList);
  if (!list) return;
  const detail = h("div", {});
  const reload = () => adminPacs(box, id);
  box.replaceChildren(table([{ key: "label", label: "Label" }, { key: "aet", label: "AE" }, { key: "host", label: "Host" }, { key: "port", label: "Port" },
    { key: "protocol", label: "Protocol" }, { key: "_f", label: "Flags", nosort: true, render: (p) => [p.queryable ? "Q " : "", p.storable ? "S " : "", p.default_qr ? "default-QR " : "", p.default_store ? "default-store" : ""].join("") },
    { key: "_a", label: "Actions", nosort: true, render: (p) => h("span", { class: "actions" },
      h("button", { class: "secondary", onclick: async (e) => { const r = await guarded(() => api("POST", `/pacs/${p.id}/ping`)); if (r) e.target.textContent = r.ok ? `OK ${r.ms} ms` : "unreachable"; if (r && !r.ok) banner(r.error); } }, "Ping"),
      h("button", { class: "secondary", onclick: async () => { const full = await guarded(() => api("GET", `/pacs/${p.id}`)); if (full) detail.replaceChildren(pacsForm(full, reload), scheduleEditor(full, reload)); } }, "Edit"),
      h("button", { class: "danger", onclick: async () => { if (confirm(`Delete PACS ${p.label}?`) && await guarded(() => api("DELETE", `/pacs/${p.id}`))) reload(); } }, "Delete")) }], list),
  h("div", { class: "actions" }, h("button", { onclick: () => detail.replaceChildren(pacsForm(null, reload)) }, "New PACS")), detail);
}

async function adminUsers(box) {
  const [users, plist, projects] = await Promise.all([guarded(() => api("GET", "/users")), guarded(pacsList), guarded(() => api("GET", "/projects"))]);
  if (!users || !plist || !projects) return;
  const reload = () => adminUsers(box);
  const name = h("input", { name: "new-username" }), pw = h("input", { name: "new-password", type: "password", autocomplete: "new-password" });
  const role = h("select", { name: "new-role" }, ["user", "admin"].map((r) => h("option", { value: r }, r)));
  box.replaceChildren(table([{ key: "username", label: "User" }, { key: "role", label: "Role" }, { key: "phi", label: "phi", render: (u) => u.phi ? "yes" : "no" },
    { key: "disabled", label: "Disabled", render: (u) => u.disabled ? "yes" : "" },
    { key: "_g", label: "Grants", nosort: true, render: (u) => {
      const ps = h("select", { multiple: true, "aria-label": `PACS granted to ${u.username}` }, plist.map((p) => h("option", { value: p.id, selected: u.grants.pacs.includes(p.id) }, p.label)));
      const pr = h("select", { multiple: true, "aria-label": `Projects granted to ${u.username}` }, projects.projects.map((p) => h("option", { value: p.id, selected: u.grants.projects.includes(p.id) }, p.id)));
      return h("span", { class: "actions" }, ps, pr, h("button", { class: "secondary", onclick: async () => {
        const r = await guarded(() => api("PUT", `/users/${u.id}/grants`, { pacs: [...ps.selectedOptions].map((o) => Number(o.value)), projects: [...pr.selectedOptions].map((o) => o.value) }));
        if (r) banner(`Grants of ${u.username} saved.`, "info");
      } }, "Save grants"));
    } },
    { key: "_a", label: "Actions", nosort: true, render: (u) => h("span", { class: "actions" },
      h("button", { class: "secondary", onclick: async () => { if (await guarded(() => api("PUT", `/users/${u.id}`, { phi: !u.phi }))) reload(); } }, u.phi ? "Remove phi" : "Give phi"),
      h("button", { class: "secondary", onclick: async () => { if (await guarded(() => api("PUT", `/users/${u.id}`, { disabled: !u.disabled }))) reload(); } }, u.disabled ? "Enable" : "Disable")) }], users.users),
  h("form", { class: "card", onsubmit: async (e) => { e.preventDefault(); if (await guarded(() => api("POST", "/users", { username: name.value, password: pw.value, role: role.value }))) reload(); } },
    h("h2", {}, "New user"), h("div", { class: "grid" }, field("User name", name), field("Password (12 characters or more, not containing the user name)", pw), field("Role", role)),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create user"))));
}

// A script editor: lint shows parse and run-time errors at line:column (the
// run on the built-in sample, as an import would run it) and untouched Annex E attributes.
function scriptEditor(title, text, onsave, extra, withSite) {
  const area = h("textarea", { "aria-label": title, spellcheck: "false" });
  area.value = text || "";
  const out = h("div", { "aria-live": "polite" });
  async function lint() {
    try {
      const r = await api("POST", "/scripts/lint", { script: area.value, with_site: !!withSite });
      const runtime = r.runtime || [], failures = runtime.filter((f) => f.kind !== "rejected");
      out.replaceChildren(failures.length
        ? h("div", { class: "error" }, h("p", {}, `The script compiles (DicomEdit ${r.version}) but fails at run time on the built-in sample:`),
          h("ul", {}, failures.map((f) => h("li", {}, f.line ? `${f.script}, line ${f.line}, column ${f.column}: ${f.message}` : `${f.script}: ${f.message}`))))
        : h("p", { class: "ok" }, `The script compiles and runs on the built-in sample (DicomEdit ${r.version}).`),
        ...runtime.filter((f) => f.kind === "rejected").map((f) => h("p", { class: "muted" }, `${f.script}: ${f.message} (the built-in sample).`)),
        r.site ? h("p", { class: "muted" }, `Site step: ${r.site}.`) : "",
        h("details", {}, h("summary", {}, `${r.untouched.length} Annex E attributes ${withSite ? "the site step and this script" : "this script"} leave untouched`),
          h("ul", {}, r.untouched.map((u) => h("li", {}, `${u.tag} ${u.name} (Basic: ${u.action})`)))));
      return true;
    } catch (e) {
      out.replaceChildren(h("p", { class: "error" }, e.body && e.body.line ? `Line ${e.body.line}, column ${e.body.column}: ${e.message}` : e.message));
      return false;
    }
  }
  return h("div", { class: "card" }, h("h2", {}, title), area, out,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: lint }, "Check"),
      h("button", { type: "button", onclick: async () => { if (!area.value.trim() || await lint()) onsave(area.value.trim() ? area.value : null); } }, "Save"), extra && extra(area)));
}

async function adminProjects(box, id) {
  const r = await guarded(() => api("GET", "/projects"));
  if (!r) return;
  const reload = () => adminProjects(box, id);
  const pid = h("input", { name: "project-id" }), pname = h("input", { name: "project-name" });
  const detail = h("div", {});
  box.replaceChildren(table([{ key: "id", label: "Project" }, { key: "name", label: "Name" },
    { key: "dqr_enabled", label: "DQR", render: (p) => h("label", { class: "inline" }, h("input", { type: "checkbox", checked: p.dqr_enabled, onchange: async (e) => { await guarded(() => api("PUT", `/projects/${encodeURIComponent(p.id)}`, { dqr_enabled: e.target.checked })); } }), "enabled") },
    { key: "_s", label: "Script", nosort: true, render: (p) => h("button", { class: "secondary", onclick: () => projectDetail(detail, p.id) }, p.has_script ? "Edit script" : "Add script") }], r.projects),
  h("form", { class: "card", onsubmit: async (e) => { e.preventDefault(); if (await guarded(() => api("POST", "/projects", { id: pid.value, name: pname.value || pid.value, dqr_enabled: true }))) reload(); } },
    h("h2", {}, "New project"), h("div", { class: "grid" }, field("Project id", pid), field("Name", pname)), h("div", { class: "actions" }, h("button", { type: "submit" }, "Create project"))), detail);
  if (id) projectDetail(detail, id);
}

async function projectDetail(box, id) {
  const s = await guarded(() => api("GET", `/projects/${encodeURIComponent(id)}/script`));
  if (!s) return;
  const dry = h("div", { "aria-live": "polite" });
  const file = h("input", { type: "file" });
  box.replaceChildren(scriptEditor(`Project ${id}: DicomEdit script`, s.script, async (text) => {
    if (await guarded(() => api("PUT", `/projects/${encodeURIComponent(id)}/script`, { script: text }))) banner(`The script of ${id} is saved.`, "info");
  }, (area) => h("span", { class: "actions" }, field("Sample instance (optional)", file), h("button", { type: "button", class: "secondary", onclick: async () => {
    const body = { script: area.value || undefined };
    if (file.files[0]) {
      const bytes = new Uint8Array(await file.files[0].arrayBuffer());
      let bin = "";
      for (let i = 0; i < bytes.length; i += 8192) bin += String.fromCharCode(...bytes.subarray(i, i + 8192));
      body.instance = btoa(bin);
    }
    const r = await guarded(() => api("POST", `/projects/${encodeURIComponent(id)}/dry-run`, body));
    if (!r) return;
    dry.replaceChildren(h("h2", {}, `Dry run on the ${r.sample} sample: ${r.result}`), r.error ? h("p", { class: "error" }, r.error) : "",
      dryRunImages(r),
      table([{ key: "tag", label: "Tag" }, { key: "keyword", label: "Attribute" }, { key: "before", label: "Before" }, { key: "after", label: "After" }, { key: "change", label: "Change" }], r.changes, { pageSize: 100 }));
  } }, "Dry run")), true), h("div", { class: "card" }, dry));
}

async function adminSite(box) {
  const r = await guarded(() => api("GET", "/settings/site-script"));
  if (!r) return;
  box.replaceChildren(h("p", { class: "muted" }, r.uses_default ? `Now: the default — ${r.default}. Save an empty script to return to it.` : "Now: the script below."),
    scriptEditor("Site-wide DicomEdit script", r.script || "", async (text) => {
      if (await guarded(() => api("PUT", "/settings/site-script", { script: text }))) { banner("The site script is saved.", "info"); adminSite(box); }
    }));
}

// ---- DICOM clients (Admin → DICOM clients): the Q/R SCUs that query and
// retrieve the archive at dqr's AE, each for its projects; a C-MOVE to one
// goes to its host and port (docs/api.md, DICOM clients).
function dicomClientForm(c, projects, onsave) {
  const f = {};
  const text = (k, label, v) => field(label, f[k] = h("input", { name: "client-" + k, value: v ?? "" }));
  f.projects = h("select", { multiple: true, name: "client-projects", "aria-label": "Projects the client sees" },
    projects.map((p) => h("option", { value: p.id, selected: !!c?.projects.includes(p.id) }, p.id)));
  f.tls = h("input", { type: "checkbox", name: "client-tls", checked: !!c?.tls });
  return h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    const body = { aet: f.aet.value, host: f.host.value, port: Number(f.port.value), projects: [...f.projects.selectedOptions].map((o) => o.value),
      tls: f.tls.checked, tls_ca: f.tls_ca.value || null, tls_cert: f.tls_cert.value || null, tls_key: f.tls_key.value || null };
    const r = await guarded(() => c ? api("PUT", `/dicom-clients/${c.id}`, body) : api("POST", "/dicom-clients", body));
    if (r) onsave(r);
  } }, h("h2", {}, c ? `Edit ${c.aet}` : "New DICOM client"),
  h("p", { class: "muted" }, "A DICOM client queries (C-FIND) and retrieves (C-MOVE, C-GET) the de-identified archive at dqr's AE title and port, and sees only the projects chosen here. C-MOVE sends to its host and port."),
  h("div", { class: "grid" }, text("aet", "AE title", c?.aet), text("host", "Host", c?.host), text("port", "Port (its storage SCP)", c?.port),
    field("Projects", f.projects), text("tls_ca", "TLS CA file on the dqr host (optional: system trust store)", c?.tls_ca),
    text("tls_cert", "TLS client certificate file (optional)", c?.tls_cert), text("tls_key", "TLS client key file (optional)", c?.tls_key)),
  h("div", { class: "actions" }, h("label", { class: "inline" }, f.tls, "DICOM TLS for C-MOVE to it"), h("button", { type: "submit" }, "Save")));
}

async function adminDicomClients(box) {
  const [r, projects] = await Promise.all([guarded(() => api("GET", "/dicom-clients")), guarded(() => api("GET", "/projects"))]);
  if (!r || !projects) return;
  const detail = h("div", {});
  const reload = () => adminDicomClients(box);
  box.replaceChildren(table([{ key: "aet", label: "AE" }, { key: "host", label: "Host" }, { key: "port", label: "Port" },
    { key: "projects", label: "Projects", render: (c) => c.projects.join(", ") }, { key: "tls", label: "TLS", render: (c) => c.tls ? "yes" : "" },
    { key: "_a", label: "Actions", nosort: true, render: (c) => h("span", { class: "actions" },
      h("button", { class: "secondary", onclick: () => detail.replaceChildren(dicomClientForm(c, projects.projects, reload)) }, "Edit"),
      h("button", { class: "danger", onclick: async () => { if (confirm(`Delete DICOM client ${c.aet}?`) && await guarded(() => api("DELETE", `/dicom-clients/${c.id}`))) reload(); } }, "Delete")) }],
  r.dicom_clients),
  h("div", { class: "actions" }, h("button", { onclick: () => detail.replaceChildren(dicomClientForm(null, projects.projects, reload)) }, "New DICOM client")), detail);
}

window.addEventListener("hashchange", route);
route();
