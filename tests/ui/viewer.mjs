// viewer.mjs — the web UI's images in Debian's headless Chromium (driven by
// playwright-core): series thumbnails, the frame viewer (keys, wheel,
// slider, presets, drag), the dry run's before/after pictures and the
// quarantine review. The archive's images must come from WADO-RS
// (/dicom-web .../thumbnail and .../frames/{n}/rendered): the page's
// requests are recorded and checked. One "ok"/"FAIL" line per step; the named screenshots
// are the ones docs/user-guide.md shows. Usage: node viewer.mjs CONFIG.json
// (written by viewer_e2e.py)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
let failed = 0;

function result(name, ok, detail) {
  console.log((ok ? "ok   " : "FAIL ") + name + (ok || !detail ? "" : ": " + String(detail).slice(0, 400)));
  if (!ok) failed++;
}

async function step(page, name, fn, shot) {
  try {
    const detail = await fn();
    result(name, detail === undefined || detail === true, detail);
  } catch (e) {
    result(name, false, e.message.split("\n")[0]);
  }
  if (shot) await page.screenshot({ path: `${cfg.shots}/${shot}.png`, fullPage: true }).catch(() => {});
}

async function axe(page, name) {
  await page.addScriptTag({ content: axeSource });
  const r = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  result(`axe: no serious accessibility finding on ${name}`, bad.length === 0,
         bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`).join("; "));
}

async function login(page, user) {
  await page.goto(cfg.base + "/");
  const out = page.getByRole("button", { name: "Log out" });
  await page.getByLabel("User name").or(out).first().waitFor();
  if (await out.count()) await out.click();
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(cfg.users[user]);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Search a PACS" }).waitFor();
}

// A digest of what an <img> shows (its decoded pixels, drawn on a canvas).
async function pixelsOf(page, selector) {
  return await page.evaluate((sel) => {
    const img = document.querySelector(sel);
    if (!img || !img.complete || !img.naturalWidth) return null;
    const c = document.createElement("canvas");
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let hsh = 0;
    for (let i = 0; i < d.length; i += 4) hsh = (hsh * 31 + d[i]) >>> 0;
    return `${c.width}x${c.height}:${hsh}`;
  }, selector);
}

// Wait until the viewer shows frame n (its label and its loaded image).
async function shows(page, n) {
  await page.waitForFunction((k) => {
    const img = document.querySelector("#viewer-image"), pos = document.querySelector("#frame-pos");
    return img && pos && pos.textContent.startsWith(`Frame ${k} of`) && img.dataset.frame === String(k)
      && img.complete && img.naturalWidth > 0;
  }, n, { timeout: 10000 });
  return await pixelsOf(page, "#viewer-image");
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
const page = await context.newPage();
page.on("dialog", async (d) => await d.accept());
page.on("pageerror", (e) => result("no script error in the page", false, e.message));
const requested = []; // the paths of every image the page asked for
page.on("request", (q) => { const u = new URL(q.url()); if (!u.pathname.startsWith("/ui")) requested.push(u.pathname + u.search); });
const images = (re) => requested.filter((u) => re.test(u));
const oldRoutes = /^\/api\/v1\/projects\/.*(thumbnail\.png|\/frames\/)/;
const archive = `${cfg.base}/#/archive/${cfg.project}/${cfg.subject}/${cfg.session}`;

try {
  await login(page, "alice");
  await step(page, "the session page shows a thumbnail per series, decoded", async () => {
    await page.goto(archive);
    await page.waitForFunction(() => {
      const t = [...document.querySelectorAll("img.thumb")];
      return t.length === 2 && t.every((i) => i.complete && i.naturalWidth > 0);
    }, null, { timeout: 10000 });
    const sizes = await page.$$eval("img.thumb", (t) => t.map((i) => [i.naturalWidth, i.naturalHeight]));
    await axe(page, "the session page");
    return sizes.every(([w, h]) => w > 0 && h > 0 && w <= 128) ? true : JSON.stringify(sizes);
  }, "archive-thumbnails");
  await step(page, "the thumbnails come from WADO-RS (/dicom-web .../thumbnail)", async () => {
    const dw = images(new RegExp(`^/dicom-web/projects/${cfg.project}/studies/[0-9.]+/series/[0-9.]+/thumbnail$`));
    return new Set(dw).size === 2 && !images(oldRoutes).length ? true : JSON.stringify(requested.slice(-8));
  });

  let first, second;
  await step(page, "a thumbnail opens the viewer on frame 1", async () => {
    await page.locator(`a.thumb-link[href*="${cfg.series}"]`).click();
    first = await shows(page, 1);
    const label = await page.locator("#frame-pos").textContent();
    return label.startsWith(`Frame 1 of ${cfg.slices}`) ? true : label;
  });
  await step(page, "the arrow key shows the next frame, and the image differs", async () => {
    await page.locator(".viewer-stage").focus();
    await page.keyboard.press("ArrowDown");
    second = await shows(page, 2);
    return second !== first ? true : "same image";
  }, "viewer");
  await step(page, "the mouse wheel scrolls frames", async () => {
    const box = await page.locator(".viewer-stage").boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, 120);
    const third = await shows(page, 3);
    await page.mouse.wheel(0, -120);
    const back = await shows(page, 2);
    return third !== second && back === second ? true : "wheel did not move frames";
  });
  await step(page, "the slider and End go to a frame", async () => {
    await page.getByLabel("Frame", { exact: true }).fill("5");
    await shows(page, 5);
    await page.locator(".viewer-stage").focus();
    await page.keyboard.press("End");
    await shows(page, cfg.slices);
  });
  await step(page, "a window preset changes the image", async () => {
    await page.keyboard.press("Home");
    const before = await shows(page, 1);
    await page.getByLabel("Window preset").selectOption("lung");
    await page.locator("#window-shown", { hasText: "Window -600 / 1500" }).waitFor({ timeout: 5000 });
    await page.waitForFunction(() => document.querySelector("#viewer-image").src.startsWith("blob:"), null);
    await page.waitForTimeout(300);
    const lung = await shows(page, 1);
    return lung !== before ? true : "same image under the lung window";
  }, "viewer-lung");
  await step(page, "the viewer's frames come from WADO-RS rendered, a preset as window=c,w", async () => {
    const frame = new RegExp(`^/dicom-web/projects/${cfg.project}/studies/[0-9.]+/series/${cfg.series.replace(/\./g, "\\.")}` +
      "/instances/[0-9.]+/frames/1/rendered");
    const plain = images(new RegExp(frame.source + "$")), lung = images(new RegExp(frame.source + "\\?window=-600,1500$"));
    return plain.length >= 1 && lung.length === 1 && images(/\/rendered/).length >= cfg.slices && !images(oldRoutes).length
      ? true : JSON.stringify(requested.slice(-8));
  });
  await step(page, "dragging over the image changes the window", async () => {
    const before = await pixelsOf(page, "#viewer-image");
    const box = await page.locator(".viewer-stage").boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 - 150, box.y + box.height / 2 + 40, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => !document.querySelector("#window-shown").textContent.includes("-600 / 1500"), null, { timeout: 5000 });
    await page.waitForTimeout(500);
    const after = await shows(page, 1);
    return after !== before ? true : "same image after the drag";
  });
  await axe(page, "the viewer");
  await step(page, "a multi-frame instance scrolls through its frames", async () => {
    await page.goto(`${cfg.base}/#/view/${cfg.project}/${cfg.session}/${cfg.multiframe}`);
    await page.locator("#frame-pos", { hasText: `frame 1 of ${cfg.frames}` }).waitFor({ timeout: 10000 });
    const a = await shows(page, 1);
    const label = await page.locator("#frame-pos").textContent();
    await page.locator(".viewer-stage").focus();
    await page.keyboard.press("ArrowDown");
    const b = await shows(page, 2);
    return label.includes(`frame 1 of ${cfg.frames}`) && a !== b ? true : label;
  });
  await step(page, "a user who may not review the quarantine does not see it", async () => {
    const links = await page.locator("#nav a", { hasText: "Quarantine" }).count();
    return links === 0 ? true : "the Quarantine link is shown to alice";
  });

  await login(page, "admin");
  await step(page, "the dry run shows the sample before and after", async () => {
    await page.goto(`${cfg.base}/#/admin/projects/${cfg.project}`);
    await page.getByLabel("Sample instance (optional)").setInputFiles(cfg.sample);
    await page.getByRole("button", { name: "Dry run" }).click();
    await page.waitForFunction(() => {
      const t = [...document.querySelectorAll(".dry-image img")];
      return t.length === 2 && t.every((i) => i.complete && i.naturalWidth > 0);
    }, null, { timeout: 10000 });
    const caps = await page.$$eval(".dry-image figcaption", (c) => c.map((x) => x.textContent));
    return caps[0].startsWith("Before") && caps[1].startsWith("After") ? true : JSON.stringify(caps);
  }, "dry-run");
  await step(page, "an admin with the phi permission has the quarantine page", async () => {
    await page.locator("#nav a", { hasText: "Quarantine" }).click();
    await page.getByRole("heading", { name: "Quarantine" }).waitFor();
    if (!cfg.quarantine) return true;
    await page.locator(`.qitem[data-id="${cfg.quarantine.id}"]`).waitFor({ timeout: 10000 });
    await page.waitForFunction(() => [...document.querySelectorAll(".qimage img")].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
    const rects = await page.locator(`.qitem[data-id="${cfg.quarantine.id}"] rect.box`).count();
    return rects === cfg.quarantine.boxes && rects > 0 ? true : `${rects} boxes drawn, ${cfg.quarantine.boxes} expected`;
  }, "quarantine");
  if (cfg.quarantine) {
    await axe(page, "the quarantine page");
    await step(page, "release masks and archives a quarantined instance", async () => {
      await page.locator(`.qitem[data-id="${cfg.quarantine.id}"]`).getByRole("button", { name: /Release/ }).click();
      await page.locator("#banner", { hasText: "masked and archived" }).waitFor({ timeout: 15000 });
      return await page.locator(`.qitem[data-id="${cfg.quarantine.id}"]`).count() === 0 ? true : "still listed";
    });
    await step(page, "delete removes a quarantined instance", async () => {
      await page.locator(`.qitem[data-id="${cfg.quarantine.other}"]`).getByRole("button", { name: "Delete" }).click();
      await page.locator("#banner", { hasText: "was deleted" }).waitFor({ timeout: 10000 });
      return await page.locator(`.qitem[data-id="${cfg.quarantine.other}"]`).count() === 0 ? true : "still listed";
    });
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
