// browser.mjs — the web UI in Debian's headless Chromium, driven by
// playwright-core: one "ok"/"FAIL" line per step, a screenshot per step,
// and axe-core on every page (serious and critical findings fail).
// Usage: node browser.mjs CONFIG.json (written by ui_e2e.py)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
let failed = 0, shot = 0;

function result(name, ok, detail) {
  console.log((ok ? "ok   " : "FAIL ") + name + (ok || !detail ? "" : ": " + String(detail).slice(0, 400)));
  if (!ok) failed++;
}

async function step(page, name, fn) {
  try {
    const detail = await fn();
    result(name, detail === undefined || detail === true, detail);
  } catch (e) {
    result(name, false, e.message.split("\n")[0]);
  }
  shot++;
  const file = `${cfg.shots}/${String(shot).padStart(2, "0")}-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase().slice(0, 50)}.png`;
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
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
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(cfg.users[user]);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Search a PACS" }).waitFor();
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
// bypassCSP only so that axe-core can be injected; the CSP header itself is checked below.
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true, acceptDownloads: true });
const page = await context.newPage();
const urls = [];
page.on("request", (r) => urls.push(r.url()));
let dialogs = 0;
page.on("dialog", async (d) => { if (d.type() !== "confirm") dialogs++; await d.accept(); });

try {
  await step(page, "login page", async () => {
    const res = await page.goto(cfg.base + "/");
    const csp = res.headers()["content-security-policy"] || "";
    await page.getByLabel("User name").waitFor();
    await axe(page, "login");
    return csp.includes("script-src 'self'") && !csp.includes("unsafe-inline") ? true : "CSP header: " + csp;
  });
  await step(page, "wrong password shows a sentence", async () => {
    await page.getByLabel("User name").fill("alice");
    await page.getByLabel("Password").fill("nope-nope");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator("#banner", { hasText: "The user name or password is wrong." }).waitFor({ timeout: 5000 });
  });
  await step(page, "log in as alice", async () => {
    await login(page, "alice");
    await page.getByText("reachable").waitFor({ timeout: 10000 });
    await axe(page, "search");
  });
  await step(page, "an unreachable PACS: a banner, and no search", async () => {
    await page.getByLabel("PACS").selectOption({ label: "Down PACS" });
    await page.locator("#banner", { hasText: "This PACS cannot be reached" }).waitFor({ timeout: 15000 });
    const disabled = await page.getByRole("button", { name: "Search" }).isDisabled();
    await page.getByLabel("PACS").selectOption({ label: "Hospital PACS" });
    await page.getByText("reachable (").waitFor({ timeout: 10000 });
    return disabled || "the Search button stayed enabled";
  });
  await step(page, "search by patient name wildcard", async () => {
    await page.getByLabel("Patient name (wildcards * ?)").fill(cfg.name_prefix);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("heading", { name: /studies$/ }).waitFor();
    const h = await page.getByRole("heading", { name: /studies$/ }).textContent();
    return h === `${cfg.name_count} studies` || h;
  });
  await step(page, "search by study date range", async () => {
    await page.getByLabel("Patient name (wildcards * ?)").fill("");
    await page.getByLabel("Study date from").fill(cfg.date_from);
    await page.getByLabel("Study date to").fill(cfg.date_to);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("heading", { name: `${cfg.date_count} studies` }).waitFor({ timeout: 10000 });
  });
  await step(page, "a patient name made of markup shows as text", async () => {
    await page.getByLabel("Study date from").fill("");
    await page.getByLabel("Study date to").fill("");
    await page.getByLabel("Patient ID").fill(cfg.xss_pid);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("heading", { name: /studies$/ }).waitFor();
    const cell = await page.locator("td", { hasText: cfg.xss }).first().textContent();
    const imgs = await page.locator("main img").count();
    return cell === cfg.xss && imgs === 0 && dialogs === 0 || `cell=${cell} imgs=${imgs} dialogs=${dialogs}`;
  });
  await step(page, "select two studies, expand one to its series", async () => {
    await page.getByLabel("Patient ID").fill("");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("heading", { name: /studies$/ }).waitFor();
    const rows = page.locator("tbody tr").filter({ has: page.locator("input[type=checkbox]") });
    await rows.nth(0).locator("input[type=checkbox]").check();
    await rows.nth(1).locator("input[type=checkbox]").check();
    await rows.nth(0).getByRole("button", { name: "Show series" }).click();
    await page.locator("tr.sub input[type=checkbox]").first().waitFor();
    const n = await page.locator("tr.sub input[type=checkbox]").count();
    return n === 2 || `series checkboxes: ${n}`;
  });
  await step(page, "import page: labels prefilled, duplicates flagged", async () => {
    await page.getByRole("button", { name: "Import selected" }).click();
    await page.getByRole("heading", { name: "Import into a project" }).waitFor();
    await axe(page, "import");
    const sessions = page.getByLabel(/^Session label/);
    await sessions.nth(1).fill(await sessions.nth(0).inputValue());
    const msg = await page.locator("p.error").textContent();
    const disabled = await page.getByRole("button", { name: "Import" }).isDisabled();
    return msg.includes("used twice") && disabled || `msg=${msg} disabled=${disabled}`;
  });
  await step(page, "import two studies with relabels", async () => {
    const subjects = page.getByLabel(/^Subject label/), sessions = page.getByLabel(/^Session label/);
    await subjects.nth(0).fill("UI01");
    await sessions.nth(0).fill("UI01_CT");
    await subjects.nth(1).fill("UI02");
    await sessions.nth(1).fill("UI02_CT");
    await page.getByRole("button", { name: "Import" }).click();
    await page.getByRole("heading", { name: "Import queue" }).waitFor();
  });
  await step(page, "the queue reaches done", async () => {
    await page.locator(".card .state-done").first().waitFor({ timeout: 60000 });
    await page.waitForFunction(() => [...document.querySelectorAll("h2 .state")].every((e) => e.textContent === "done"), null, { timeout: 60000 });
    await axe(page, "queue");
    const text = await page.locator("main").textContent();
    return text.includes("UI01_CT") && text.includes("UI02_CT") || text.slice(0, 300);
  });
  await step(page, "browse to the sessions and check the labels", async () => {
    await page.goto(cfg.base + "/#/archive/P1");
    await page.getByRole("link", { name: "UI01" }).click();
    await page.getByRole("link", { name: "UI01_CT" }).click();
    await page.getByRole("heading", { name: "Session UI01_CT" }).waitFor();
    await axe(page, "archive");
    const t = await page.locator("main").textContent();
    return t.includes("Subject UI01") || t.slice(0, 200);
  });
  await step(page, "download the session as a zip", async () => {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download zip" }).click()]);
    const path = await dl.path();
    const head = readFileSync(path).subarray(0, 2).toString();
    return head === "PK" && dl.suggestedFilename() === "P1_UI01_CT.zip" || `${head} ${dl.suggestedFilename()}`;
  });
  await step(page, "send the session to a storable PACS", async () => {
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.getByText(/done: \d+ sent, 0 failed/).waitFor({ timeout: 30000 });
  });
  await step(page, "query history", async () => {
    await page.goto(cfg.base + "/#/history");
    await page.getByRole("heading", { name: "Queries" }).waitFor();
    await axe(page, "histories");
    const rows = await page.locator("table").first().locator("tbody tr").count();
    const hidden = await page.getByText("needs the phi permission").count();
    return rows >= 4 && hidden > 0 || `rows=${rows} phi-hidden=${hidden}`;
  });
  await step(page, "CSV preview shows rows with line numbers", async () => {
    await page.goto(cfg.base + "/#/csv");
    await page.getByRole("heading", { name: "CSV bulk import" }).waitFor();
    await page.getByLabel("CSV file").setInputFiles({ name: "list.csv", mimeType: "text/csv",
      buffer: Buffer.from(`Patient ID,Subject,Session\n${cfg.xss_pid},S09,S09_CT\nNOBODY,S10,S10_CT\n`) });
    await page.getByRole("button", { name: "Preview" }).click();
    await page.getByRole("heading", { name: /sessions, 1 errors/ }).waitFor({ timeout: 20000 });
    await axe(page, "csv");
    const disabled = await page.getByRole("button", { name: "Queue the import" }).isDisabled();
    return disabled || "queue button enabled despite an error";
  });
  await step(page, "no token, PHI or search key in any URL", async () => {
    const bad = urls.filter((u) => /token|dqr_[0-9a-f]{20}|DQRC|PatientName|onerror/i.test(decodeURIComponent(u)));
    return bad.length === 0 || bad.slice(0, 3).join(" ");
  });
  await step(page, "an ended session returns to login", async () => {
    await page.evaluate(() => sessionStorage.setItem("dqr.token", "dqr_expired"));
    await page.goto(cfg.base + "/#/queue");
    await page.reload();
    await page.getByRole("heading", { name: "Log in to dqr" }).waitFor({ timeout: 10000 });
    const t = await page.locator("#banner").textContent();
    return t.includes("log in again") || t;
  });
  await step(page, "a user without a grant does not see another PACS", async () => {
    await login(page, "bob");
    const options = await page.getByLabel("PACS").locator("option").allTextContents();
    return options.join(",") === "Hospital PACS" || options.join(",");
  });
  await step(page, "admin: PACS registry and the week schedule editor", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await login(page, "admin");
    await page.goto(cfg.base + "/#/admin/pacs");
    await page.getByRole("row", { name: /Hospital PACS/ }).getByRole("button", { name: "Edit" }).click();
    await page.getByRole("heading", { name: "Availability of Hospital PACS" }).waitFor();
    await page.getByLabel("mon interval 1 end").fill("12:00");
    await page.getByLabel("mon interval 1 start").fill("00:00");
    await page.locator("strong", { hasText: "mon" }).locator("xpath=following-sibling::div[1]").getByRole("button", { name: "Add interval" }).click();
    await page.getByLabel("mon interval 2 start").fill("11:00");
    await page.getByLabel("mon interval 2 end").fill("13:00");
    await page.getByRole("button", { name: "Save schedule" }).click();
    await page.locator("form p.error", { hasText: "intervals 00:00-12:00 and 11:00-13:00 overlap" }).waitFor({ timeout: 5000 });
    await axe(page, "admin PACS");
  });
  await step(page, "admin: the PACS form sends the DICOM TLS fields", async () => {
    await page.getByLabel("DICOM TLS").check();
    await page.getByLabel(/^TLS CA file/).fill("/nonexistent/pacs-ca.crt");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.locator("#banner", { hasText: "'tls_ca': dqr cannot read /nonexistent/pacs-ca.crt" }).waitFor({ timeout: 5000 });
  });
  await step(page, "history: the retrieval level that worked and what dqr did about the PACS", async () => {
    await page.goto(cfg.base + "/#/history");
    await page.getByRole("heading", { name: "Imports" }).waitFor();
    const row = page.getByRole("row", { name: /QK01_CT/ });
    const t = await row.textContent({ timeout: 5000 });
    const hdr = await page.getByRole("columnheader", { name: "Retrieval" }).count();
    return hdr === 1 && t.includes("Level SERIES") && /refused the STUDY-level C-MOVE/.test(t) || `header ${hdr}: ${t}`;
  });
  await step(page, "admin: project script with lint errors and a dry run", async () => {
    await page.goto(cfg.base + "/#/admin/projects/P1");
    const area = page.getByLabel("Project P1: DicomEdit script");
    await area.fill('version "6.3"\n(0010,0010) := \n');
    await page.getByRole("button", { name: "Check" }).click();
    const err = await page.getByText(/^Line 2, column/).textContent({ timeout: 5000 });
    // parses, but fails at run time on the built-in sample (StudyTime is TM)
    await area.fill('version "6.3"\n(0008,0030) := shiftDateByIncrement[(0008,0030), "2", "days"]\n');
    await page.getByRole("button", { name: "Check" }).click();
    const rt = await page.getByText(/fails at run time on the built-in sample/).textContent({ timeout: 5000 });
    const rtLine = await page.getByText(/^project script, line 2, column 16: shiftDateByIncrement/).textContent({ timeout: 5000 });
    await area.fill('version "6.3"\n(0008,1030) := "Brain"\n');
    await page.getByRole("button", { name: "Check" }).click();
    await page.getByText(/compiles and runs on the built-in sample/).waitFor({ timeout: 5000 });
    const dryButtons = await page.getByRole("button", { name: "Dry run" }).evaluateAll((l) => l.map((e) => e.outerHTML));
    if (dryButtons.length !== 1) return "dry run buttons: " + dryButtons.join(" | ");
    await page.getByRole("button", { name: "Dry run" }).click();
    await page.getByRole("heading", { name: /Dry run on the built-in sample/ }).waitFor();
    const row = await page.locator("tr", { hasText: "StudyDescription" }).textContent();
    await axe(page, "admin projects");
    return err.startsWith("Line 2") && rt && rtLine.includes("VR TM") && row.includes("MR BRAIN") && row.includes("Brain") ||
      `${err} / ${rtLine} / ${row}`;
  });
  await step(page, "admin: users and grants", async () => {
    await page.goto(cfg.base + "/#/admin/users");
    await page.getByRole("cell", { name: "bob" }).waitFor();
    await axe(page, "admin users");
  });
  await step(page, "tablet width stays usable", async () => {
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.goto(cfg.base + "/#/search");
    await page.getByRole("heading", { name: "Search a PACS" }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    return overflow <= 0 || `page is ${overflow}px wider than the screen`;
  });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
