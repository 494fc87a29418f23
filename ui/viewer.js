// dqr web UI: looking at images — series thumbnails, the frame viewer, the
// quarantine review, and the dry run's before/after pictures. The archive's
// images come from WADO-RS (/dicom-web: .../thumbnail, .../frames/{n}/rendered,
// docs/dicomweb.md), the quarantine's from the API, all as PNG fetched with
// the token and shown through blob: URLs; nothing is kept beyond the page.
import { api, guarded, h, show, banner, state } from "./app.js";

// ---- images behind the Authorization header ---------------------------------
const thumbs = new Map(); // thumbnail path → blob: URL, for the page's life

async function blobUrl(path) {
  const res = await api("GET", path.replace(/^\/api\/v1/, ""), undefined, "image/png");
  return URL.createObjectURL(await res.blob());
}

// An <img> that loads path (an /api/v1 or /dicom-web URL) once it is in the page.
export function authImage(path, alt, cls) {
  const img = h("img", { alt, class: cls || null });
  const cached = thumbs.get(path);
  if (cached) { img.src = cached; return img; }
  blobUrl(path).then((u) => { thumbs.set(path, u); img.src = u; })
    .catch(() => { img.alt = alt + " (no preview)"; img.classList.add("noimage"); });
  return img;
}

// The thumbnail cell of a series row: a link to the viewer.
export function seriesThumb(project, session, s) {
  if (!s.thumbnail) return "";
  return h("a", { href: `#/view/${encodeURIComponent(project)}/${encodeURIComponent(session)}/${encodeURIComponent(s.uid)}`,
                  class: "thumb-link", title: "Open in the viewer" },
    authImage(s.thumbnail, `Series ${s.number || ""} ${s.description || ""}`.trim() + " thumbnail", "thumb"));
}

// ---- the frame viewer -------------------------------------------------------
// Every frame of every instance of a series, in Instance Number order, one
// slider position each. Window: the dataset's, a preset, or dragged.
export async function viewerPage(parts) {
  const [project, session, series] = parts;
  const base = `/projects/${encodeURIComponent(project)}/sessions/${encodeURIComponent(session)}`;
  const r = await guarded(() => api("GET", `${base}/series/${encodeURIComponent(series)}/instances`));
  if (!r) return;
  const frames = r.instances.filter((inst) => inst.study_uid && inst.series_uid).flatMap((inst) => Array.from({ length: inst.frames }, (_, f) => ({ inst, n: f + 1 })));
  const st = { idx: 0, win: null, preset: "default", seq: 0, busy: false, again: false };
  const cache = new Map();
  const img = h("img", { id: "viewer-image", alt: "", draggable: "false" });
  const pos = h("span", { id: "frame-pos", "aria-live": "polite" });
  const wl = h("span", { id: "window-shown", class: "muted" });
  const slider = h("input", { type: "range", min: 1, max: Math.max(frames.length, 1), value: 1, "aria-label": "Frame",
    oninput: () => go(Number(slider.value) - 1) });
  const preset = h("select", { "aria-label": "Window preset", onchange: () => {
    st.preset = preset.value;
    const p = r.presets.find((x) => x.name === preset.value);
    st.win = p ? { center: p.center, width: p.width } : null;
    draw();
  } }, h("option", { value: "default" }, "From the dataset"),
  r.presets.map((p) => h("option", { value: p.name }, `${p.label} (${p.center}/${p.width})`)));

  // WADO-RS rendered: a preset or a drag is window=centre,width
  function url() {
    const { inst, n } = frames[st.idx];
    const w = st.win ? `?window=${Math.round(st.win.center)},${Math.max(1, Math.round(st.win.width))}` : "";
    return `/dicom-web/projects/${encodeURIComponent(project)}/studies/${encodeURIComponent(inst.study_uid)}` +
      `/series/${encodeURIComponent(inst.series_uid)}/instances/${encodeURIComponent(inst.sop_uid)}/frames/${n}/rendered${w}`;
  }
  // One request at a time; a change made meanwhile is drawn when it ends.
  async function draw() {
    if (!frames.length) return;
    const { inst, n } = frames[st.idx];
    pos.textContent = `Frame ${st.idx + 1} of ${frames.length}` + (inst.frames > 1 ? ` (instance ${inst.number ?? ""}, frame ${n} of ${inst.frames})` : ` (instance ${inst.number ?? ""})`);
    slider.value = st.idx + 1;
    const w = st.win || (inst.window.center !== null && inst.window.width !== null ? inst.window : null);
    wl.textContent = w ? `Window ${Math.round(w.center)} / ${Math.round(w.width)}` : "Window: from the pixel values";
    const key = url();
    if (cache.has(key)) return showImage(cache.get(key));
    if (st.busy) { st.again = true; return; }
    st.busy = true;
    try {
      const u = await blobUrl(key);
      if (cache.size > 300) { const [k, old] = cache.entries().next().value; URL.revokeObjectURL(old); cache.delete(k); }
      cache.set(key, u);
      if (key === url()) showImage(u);
    } catch (e) { banner(e.message); }
    st.busy = false;
    if (st.again) { st.again = false; draw(); }
  }
  // data-frame says which frame the image shows, once it has loaded
  function showImage(u) {
    const n = String(st.idx + 1);
    if (img.src === u) { img.dataset.frame = n; return; }
    img.onload = () => { img.dataset.frame = n; };
    img.src = u;
  }
  function go(i) { st.idx = Math.min(Math.max(i, 0), frames.length - 1); draw(); }

  const stage = h("div", { class: "viewer-stage", tabindex: 0, role: "group",
    "aria-label": "Image: scroll or arrow keys change the frame, drag changes the window",
    onwheel: (e) => { e.preventDefault(); go(st.idx + (e.deltaY > 0 ? 1 : -1)); },
    onkeydown: (e) => {
      const step = { ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1, PageUp: -10 }[e.key];
      if (step) { e.preventDefault(); go(st.idx + step); }
      else if (e.key === "Home") { e.preventDefault(); go(0); }
      else if (e.key === "End") { e.preventDefault(); go(frames.length - 1); }
    } }, img);
  // Drag: right/left widens/narrows the window, down/up raises/lowers its centre.
  stage.addEventListener("pointerdown", (e) => {
    const inst = frames[st.idx].inst;
    const start = st.win || (inst.window.center !== null && inst.window.width !== null ? { ...inst.window } : { center: 40, width: 400 });
    const x0 = e.clientX, y0 = e.clientY, scale = Math.max(start.width, 10) / 200;
    stage.setPointerCapture(e.pointerId);
    const move = (m) => {
      st.win = { center: start.center + (m.clientY - y0) * scale, width: Math.max(1, start.width + (m.clientX - x0) * scale) };
      st.preset = "custom"; preset.value = "default";
      draw();
    };
    const up = () => { stage.removeEventListener("pointermove", move); stage.removeEventListener("pointerup", up); };
    stage.addEventListener("pointermove", move);
    stage.addEventListener("pointerup", up);
  });
  const crumbs = h("p", {}, h("a", { href: "#/archive" }, "Projects"), " › ",
    h("a", { href: `#/archive/${encodeURIComponent(project)}` }, project), " › ", `session ${session}`, " › ", "viewer");
  show(h("h1", {}, `Series ${series}`), crumbs,
    h("div", { class: "card viewer" }, stage,
      h("div", { class: "actions" }, h("button", { class: "secondary", onclick: () => go(st.idx - 1) }, "Previous frame"),
        slider, h("button", { class: "secondary", onclick: () => go(st.idx + 1) }, "Next frame"), pos),
      h("div", { class: "actions" }, preset, wl)),
    h("p", { class: "muted" }, "Scroll the wheel over the image, or use the arrow keys, to move through the frames; drag to change the window. The images are the archived, de-identified ones."));
  if (!frames.length) return banner("This series has no images to show.");
  draw();
  stage.focus();
}

// ---- the quarantine review ---------------------------------------------------
// Frames the burned-in text check refused, with the words' boxes drawn over
// them. The image is the ORIGINAL frame (it may show PHI): admins with the
// phi permission only, and each view is in the audit trail.
export async function quarantinePage() {
  if (!(state.me.role === "admin" && state.me.phi))
    return show(h("h1", {}, "Quarantine"), h("p", {}, "Reviewing refused images needs an administrator with the phi permission."));
  const box = h("div", {}, h("p", {}, "Loading…"));
  show(h("h1", {}, "Quarantine"),
    h("p", { class: "muted" }, "Instances the burned-in text check refused. The images are the originals and may show patient information: viewing them is recorded in the audit trail. Release masks the boxes with black and archives the instance; delete removes it."),
    box);
  const r = await guarded(() => api("GET", "/quarantine"));
  const list = r ? r.quarantine || r.items || [] : [];
  box.replaceChildren(list.length ? h("div", { class: "qgrid" }, list.map(quarantineCard))
    : h("p", { id: "quarantine-empty" }, r ? "Nothing is waiting for review." : "The quarantine cannot be read now."));
}

// The boxes ({left, top, width, height} in pixels of the frame) as an SVG
// over the image, in the image's own coordinates once it has loaded.
function boxesOver(item, img) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "boxes");
  svg.setAttribute("aria-hidden", "true");
  const size = () => svg.setAttribute("viewBox", `0 0 ${img.naturalWidth || 1} ${img.naturalHeight || 1}`);
  size();
  img.addEventListener("load", size);
  for (const b of item.boxes || []) {
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", b.left); rect.setAttribute("y", b.top);
    rect.setAttribute("width", b.width); rect.setAttribute("height", b.height);
    rect.setAttribute("class", "box");
    svg.append(rect);
  }
  return svg;
}

function quarantineCard(item) {
  const where = [item.project, item.subject, item.session_label].filter(Boolean).join(" / ");
  const frame = item.frame ?? 1;
  const img = authImage(`/api/v1/quarantine/${item.id}/frame.png`, `Refused frame ${frame} of quarantined instance ${item.id}`);
  const card = h("figure", { class: "card qitem", "data-id": item.id },
    h("div", { class: "qimage" }, img, boxesOver(item, img)),
    h("figcaption", {}, h("strong", {}, `#${item.id}`), ` ${where} · frame ${frame} · `,
      h("span", { class: "qcount" }, `${(item.boxes || []).length} box${(item.boxes || []).length === 1 ? "" : "es"}`),
      item.reason ? h("div", { class: "muted" }, item.reason) : "",
      h("div", { class: "actions" },
        h("button", { onclick: async () => {
          const ok = await guarded(() => api("POST", `/quarantine/${item.id}/release`));
          if (ok) { banner(`Instance #${item.id} was masked and archived${ok.session ? " in session " + ok.session : ""}.`, "info"); card.remove(); }
        } }, "Release (mask and archive)"),
        h("button", { class: "danger", onclick: async () => {
          if (!confirm(`Delete quarantined instance #${item.id}? This cannot be undone.`)) return;
          if (await guarded(() => api("DELETE", `/quarantine/${item.id}`))) { banner(`Instance #${item.id} was deleted.`, "info"); card.remove(); }
        } }, "Delete"))));
  return card;
}

// ---- the dry run's images ------------------------------------------------------
// before: the sample as uploaded (shown only in this answer, to its uploader);
// after: the same frame de-identified and pixel-cleaned. PNG as data: URLs.
export function dryRunImages(r) {
  if (!r.images || (!r.images.before && !r.images.after)) return "";
  const fig = (src, caption) => h("figure", { class: "dry-image" },
    src ? h("img", { src: "data:image/png;base64," + src, alt: caption }) : h("p", { class: "muted" }, "no image"), h("figcaption", {}, caption));
  return h("div", { class: "dry-images" }, fig(r.images.before, "Before: the sample as uploaded"),
    fig(r.images.after, r.result !== "ok" ? "After: nothing (the sample is not archived)"
      : r.pixel_error ? `After: not archived — ${r.pixel_error}` : "After: de-identified and pixel-cleaned, as archived"));
}
