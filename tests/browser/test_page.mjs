// The inspection page in a real browser: Debian's headless Chromium driven by playwright-core.
//
// Run by meson (suite 'browser') with WEBHOOKY_BIN (the binary) and WEBHOOKY_ARTIFACTS (where
// screenshots go). It starts real receivers on 127.0.0.1 with ephemeral ports, posts deliveries
// with node's http client and checks what the page shows: live arrival over SSE without a
// reload, filters, the detail view, hostile payloads shown as text (no dialog, no page error,
// no CSP violation), replay into a second receiver, the HAR export, the admin-token prompt, and
// that the page fits 375 px and 1440 px wide screens (screenshots saved as artifacts).
//
// Exit status: 0 passed, 1 failed, 77 skipped (meson's code) only when Chromium is not
// installed. Nothing here sleeps to wait for the page: every wait is on a selector or an event.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const CHROMIUM = "/usr/bin/chromium";
const BIN = process.env.WEBHOOKY_BIN;
const ARTIFACTS = process.env.WEBHOOKY_ARTIFACTS || process.cwd();
const here = path.dirname(new URL(import.meta.url).pathname);

if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: ${CHROMIUM} is not installed (Debian package chromium; ./scripts/install-deps installs it)`);
  process.exit(77);
}
if (!BIN) {
  console.error("FAIL: WEBHOOKY_BIN is not set (run through meson test)");
  process.exit(1);
}
let chromium;
try {
  chromium = createRequire(path.join(here, "package.json"))("playwright-core").chromium;
} catch (e) {
  console.error(`FAIL: playwright-core is not installed: run 'npm ci' in ${here} (./test.sh does)\n${e.message}`);
  process.exit(1);
}

const GH_SECRET = "gh-secret";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "webhooky-browser-"));
const servers = [];
let browser = null;
let passed = 0;
let failed = 0;

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

/* Start `webhooky serve` on an ephemeral port; resolves with {url, proc}. */
function serve(name, extra) {
  return new Promise((resolve, reject) => {
    const db = path.join(tmp, name + ".db");
    const proc = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", "--db", db, "--quiet", ...extra],
      { stdio: ["ignore", "pipe", "pipe"] });
    servers.push(proc);
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`${name}: no "listening on" line in 10 s: ${err}`)), 10000);
    proc.stdout.on("data", (b) => {
      out += b;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      const page = /page +(http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], page: page ? page[1] : null, proc, stdout: () => out });
      }
    });
    proc.stderr.on("data", (b) => { err += b; });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening: ${err}`));
    });
  });
}

/* Send a request with node's http client (the path goes out as written, <, > and " raw). */
function send(base, method, rawPath, headers, body) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: rawPath, headers }, (res) => {
      let data = "";
      res.on("data", (c) => { data += c; });
      res.on("end", () => resolve({ status: res.statusCode, body: data, headers: res.headers }));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function post(base, rawPath, body, headers = {}) {
  const r = await send(base, "POST", rawPath,
    Object.assign({ "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) }, headers), body);
  check(r.status === 200, `POST ${rawPath}: status ${r.status} ${r.body}`);
  return JSON.parse(r.body).id;
}

function ghSign(body) {
  return "sha256=" + crypto.createHmac("sha256", GH_SECRET).update(body).digest("hex");
}

async function getJson(base, p, headers = {}) {
  const r = await send(base, "GET", p, headers);
  check(r.status === 200, `GET ${p}: ${r.status} ${r.body}`);
  return JSON.parse(r.body);
}

/* A fresh page that records dialogs, page errors and CSP violations. */
async function newPage(context) {
  const page = await context.newPage();
  const trouble = [];
  page.on("dialog", async (d) => {
    trouble.push("dialog: " + d.message());
    await d.dismiss();
  });
  page.on("pageerror", (e) => trouble.push("page error: " + e.message));
  page.on("console", (m) => {
    if (m.type() === "error") trouble.push("console error: " + m.text());
  });
  page.trouble = trouble;
  return page;
}

function noTrouble(page, what) {
  check(page.trouble.length === 0, `${what}: ${page.trouble.join(" | ")}`);
}

async function rowCount(page) {
  return page.locator("#rows tr[data-id]").count();
}

async function waitRows(page, n) {
  await page.waitForFunction((k) => document.querySelectorAll("#rows tr[data-id]").length === k, n);
}

/* Wait until the list shows exactly these ids, newest first. */
async function waitIds(page, list) {
  const want = [...list].sort((a, b) => b - a);
  await page.waitForFunction((w) => {
    const got = [...document.querySelectorAll("#rows tr[data-id]")].map((tr) => Number(tr.getAttribute("data-id")));
    return got.length === w.length && got.every((v, i) => v === w[i]);
  }, want);
}

/* The page fits the viewport: nothing wider than the window. */
async function noOverflow(page, what) {
  const { sw, iw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
  check(sw <= iw, `${what}: the page is ${sw} px wide in a ${iw} px window`);
}

const tests = [];
function test(name, fn) {
  tests.push({ name, fn });
}

let A, B, C;        // the receiver under test, the replay target, a scripted receiver
let context;
const ids = {};

test("the page loads with safety headers and the server prints its URL", async () => {
  check(A.page === A.url + "/_webhooky/", `serve printed the page URL ${A.page}`);
  const r = await send(A.url, "GET", "/_webhooky/", {});
  check(r.status === 200, "page status " + r.status);
  const csp = r.headers["content-security-policy"] || "";
  check(csp.includes("default-src 'self'") && !csp.includes("unsafe-inline"), "CSP: " + csp);
  check(r.headers["x-content-type-options"] === "nosniff", "nosniff on the page");
  const js = await send(A.url, "GET", "/_webhooky/ui/app.js", {});
  check(js.status === 200 && js.headers["content-type"].startsWith("text/javascript"), "app.js served");
  const redirect = await send(A.url, "GET", "/_webhooky", {});
  check(redirect.status === 301 && redirect.headers.location === "/_webhooky/", "/_webhooky redirects");
});

test("deliveries appear live without a reload", async () => {
  const page = await newPage(context);
  await page.goto(A.url + "/_webhooky/");
  await page.waitForSelector("#live.on");
  await page.evaluate(() => { window.__sameDocument = true; });
  check((await rowCount(page)) === 0, "an empty list to start with");
  await page.waitForSelector("#empty:not([hidden])");

  const good = JSON.stringify({ action: "opened", number: 7, marker: "needle-1234" });
  ids.good = await post(A.url, "/webhooks/github/acme", good, { "X-Hub-Signature-256": ghSign(good), "X-GitHub-Event": "pull_request" });
  await waitRows(page, 1);
  const bad = JSON.stringify({ action: "closed" });
  ids.bad = await post(A.url, "/webhooks/github/acme", bad, { "X-Hub-Signature-256": "sha256=" + "0".repeat(64) });
  ids.orderBad = await post(A.url, "/shop", JSON.stringify({ type: "order.created", id: "o-1", amount: "12" }));
  ids.orderGood = await post(A.url, "/shop", JSON.stringify({ type: "order.created", id: "o-2", amount: 12 }));
  ids.plain = await send(A.url, "PUT", "/elsewhere?x=1", { "Content-Type": "text/plain", "Content-Length": 11 }, "hello world")
    .then((r) => JSON.parse(r.body).id);
  await waitRows(page, 5);
  check(await page.evaluate(() => window.__sameDocument === true), "the page was not reloaded");
  const first = await page.locator("#rows tr").first().getAttribute("data-id");
  check(Number(first) === ids.plain, "newest first: " + first);
  await page.waitForFunction(() => document.getElementById("count").textContent === "5 deliveries");
  const sig = await page.locator(`#rows tr[data-id="${ids.bad}"] .c-sig`).textContent();
  check(sig.includes("invalid"), "the invalid signature shows in the list: " + sig);
  const answer = await page.locator(`#rows tr[data-id="${ids.good}"] .c-answer`).textContent();
  check(answer.includes("200"), "the answer given shows in the list: " + answer);
  noTrouble(page, "live list");
  await page.close();
});

test("filters select server-side and count what matched", async () => {
  const page = await newPage(context);
  const all = [ids.good, ids.bad, ids.orderBad, ids.orderGood, ids.plain];
  await page.goto(A.url + "/_webhooky/");
  await waitIds(page, all);
  await page.selectOption("#f-signature", "invalid");
  await waitIds(page, [ids.bad]);
  await page.waitForFunction(() => document.getElementById("count").textContent === "1 matching delivery");
  await page.selectOption("#f-signature", "");
  await page.fill("#f-q", "needle-1234");
  await waitIds(page, [ids.good]);
  await page.fill("#f-q", "");
  await page.selectOption("#f-schema", "invalid");
  await waitIds(page, [ids.orderBad]);
  await page.selectOption("#f-schema", "");
  await page.selectOption("#f-method", "PUT");
  await waitIds(page, [ids.plain]);
  // live arrivals honour the filters too
  const other = await post(A.url, "/elsewhere", "{}");
  const put = await send(A.url, "PUT", "/elsewhere", { "Content-Length": 2 }, "{}");
  ids.put2 = JSON.parse(put.body).id;
  await waitIds(page, [ids.plain, ids.put2]);
  await page.click("button[type=reset]");
  await waitIds(page, [...all, other, ids.put2]);
  await page.selectOption("#f-endpoint", "github");
  await waitIds(page, [ids.good, ids.bad]);
  await page.fill("#f-event", "order.created");
  await waitIds(page, []);
  await page.waitForFunction(() => document.getElementById("count").textContent === "0 matching deliveries");
  await page.selectOption("#f-endpoint", "shop");
  await waitIds(page, [ids.orderBad, ids.orderGood]);
  noTrouble(page, "filters");
  await page.close();
});

test("the detail view shows headers, body, verdicts and schema errors at their pointers", async () => {
  const page = await newPage(context);
  await page.goto(A.url + "/_webhooky/");
  await page.click(`#rows tr[data-id="${ids.good}"]`);
  await page.waitForSelector("#detail .sig-reason");
  check((await page.locator("#detail .detail-title").textContent()).includes("/webhooks/github/acme"), "title");
  check((await page.locator("#detail .sig-reason").textContent()).length > 0, "a signature reason");
  check((await page.locator("#detail .verdict .badge").first().textContent()) === "valid", "valid signature");
  const headers = await page.locator("#detail table.headers th").allTextContents();
  check(headers.includes("X-Hub-Signature-256") && headers.includes("X-GitHub-Event"), "headers: " + headers);
  const tree = await page.locator("#body-tree").textContent();
  check(tree.includes('"marker"') && tree.includes('"needle-1234"'), "the JSON tree: " + tree);
  await page.click('.tabs button[data-view="raw"]');
  check((await page.locator("#body-raw").textContent()).includes('"number":7'), "the raw body");
  await page.click("#copy-curl");
  const curl = await page.locator("#curl-command").textContent();
  check(curl.startsWith("curl -X 'POST' '" + A.url + "/webhooks/github/acme'") && curl.includes("X-Hub-Signature-256"), "curl: " + curl);
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#download-body")]);
  check(dl.suggestedFilename() === `delivery-${ids.good}.body`, "download name " + dl.suggestedFilename());

  await page.goto(A.url + `/_webhooky/#/d/${ids.orderBad}`);
  await page.waitForSelector("#detail .schema-errors li");
  const err = await page.locator("#detail .schema-errors li").first().textContent();
  check(err.includes("/amount"), "the schema error names /amount: " + err);
  await page.waitForSelector('#body-tree .err[data-pointer="/amount"]');
  check((await page.locator('#body-tree .err[data-pointer="/amount"] .err-note').textContent()).length > 0, "the error shows at its pointer");
  check((await page.locator("#detail .verdict .badge").nth(1).textContent()) === "invalid", "invalid schema verdict");

  await page.goto(A.url + `/_webhooky/#/d/${ids.plain}`);
  await page.waitForSelector("#body-raw");
  check((await page.locator("#body-raw").textContent()) === "hello world", "text body");
  await page.click('.tabs button[data-view="hex"]');
  check((await page.locator("#body-hex").textContent()).includes("68 65 6c 6c 6f"), "hex view");
  noTrouble(page, "detail");
  await page.close();
});

test("hostile payloads are shown as text: no dialog, no script", async () => {
  const page = await newPage(context);
  await page.goto(A.url + "/_webhooky/");
  await page.waitForSelector("#live.on");
  const before = await rowCount(page);
  const script = "<script>alert(1)</script>";
  const img = '"><img src=x onerror=alert(1)>';
  const body = `${script}${img}<a href="javascript:alert(1)">click</a><svg onload=alert(1)>`;
  // node refuses spaces in a request path; everything else goes out raw
  const raw = (t) => t.replace(/ /g, "%20");
  const r = await send(A.url, "POST", raw(`/x/${script}/${img}?next=javascript:alert(1)&q=${img}`), {
    "Content-Type": "text/html",
    "X-Evil": script + img,
    "X-Link": "javascript:alert(1)",
    "Content-Length": Buffer.byteLength(body),
  }, body);
  check(r.status === 200, "hostile delivery accepted: " + r.status + " " + r.body);
  ids.hostile = JSON.parse(r.body).id;
  const json = JSON.stringify({ type: "order.created", id: img, [script]: "javascript:alert(1)", amount: img });
  ids.hostileJson = await post(A.url, "/shop", json, { "X-Evil": img });
  // the event name comes from the body too
  ids.hostileEvent = await post(A.url, "/shop", JSON.stringify({ type: img + script, id: "x" }));
  await waitRows(page, before + 3);
  const ev = await page.locator(`#rows tr[data-id="${ids.hostileEvent}"] .c-event`).textContent();
  check(ev === img + script, "the event name is shown as text: " + ev);
  const shown = await page.locator(`#rows tr[data-id="${ids.hostile}"] .c-path`).textContent();
  check(shown.includes(script), "the path is shown as text: " + shown);
  await page.click(`#rows tr[data-id="${ids.hostile}"]`);
  await page.waitForSelector("#body-raw");
  check((await page.locator("#body-raw").textContent()) === body, "the body is shown as text");
  const evil = await page.locator("#detail table.headers td").allTextContents();
  check(evil.includes(script + img) && evil.includes("javascript:alert(1)"), "headers as text");
  await page.click("#copy-curl");
  await page.goto(A.url + `/_webhooky/#/d/${ids.hostileJson}`);
  await page.waitForSelector("#body-tree");
  check((await page.locator("#body-tree").textContent()).includes(JSON.stringify(script)), "hostile key as text");
  await page.waitForSelector("#detail .schema-errors li");
  // nothing the payloads carry became an element
  const injected = await page.evaluate(() => document.querySelectorAll("img, svg, script:not([src]), iframe, a[href^='javascript']").length);
  check(injected === 0, "elements injected from captured data: " + injected);
  noTrouble(page, "hostile payloads");
  await page.close();
});

test("replay sends the delivery to a second receiver and shows its answer", async () => {
  const page = await newPage(context);
  await page.goto(A.url + `/_webhooky/#/d/${ids.good}`);
  await page.waitForSelector("#replay-url");
  await page.fill("#replay-url", B.url + "/replayed/here?via=page");
  await page.click("#replay-form button[type=submit]");
  await page.waitForSelector("#replay-status");
  check((await page.locator("#replay-status").textContent()) === "200", "the target answered 200");
  const got = await getJson(B.url, "/_webhooky/api/deliveries?limit=10");
  check(got.deliveries.length === 1, "the target has one delivery");
  const d = got.deliveries[0];
  const sent = JSON.stringify({ action: "opened", number: 7, marker: "needle-1234" });
  check(d.method === "POST" && d.path === "/replayed/here" && d.query === "via=page", "method and URL: " + d.method + " " + d.path);
  check(d.body === sent, "the body as received");
  const sig = d.headers.find(([k]) => k === "X-Hub-Signature-256");
  check(sig && sig[1] === ghSign(sent), "the signature header as received");
  // a target that does not answer is reported, not hung on
  await page.fill("#replay-url", "http://127.0.0.1:9/nothing-listens");
  await page.click("#replay-form button[type=submit]");
  await page.waitForSelector(".replay-error");
  page.trouble = page.trouble.filter((t) => !t.includes("502 (Bad Gateway)"));
  noTrouble(page, "replay");
  await page.close();
});

test("the HAR export is valid JSON with the expected entries, honouring filters", async () => {
  const page = await newPage(context);
  await page.goto(A.url + "/_webhooky/");
  await page.waitForSelector("#rows tr");
  const all = await getJson(A.url, "/_webhooky/api/summaries?limit=1000");
  const har = await page.evaluate(async () => (await fetch("/_webhooky/api/export.har")).text());
  const doc = JSON.parse(har);
  check(doc.log.version === "1.2" && doc.log.creator.name === "webhooky", "HAR log header");
  check(doc.log.entries.length === all.matched, `entries ${doc.log.entries.length} vs ${all.matched}`);
  const e = doc.log.entries.find((x) => x._webhooky.id === ids.good);
  check(e.request.method === "POST" && e.request.url.endsWith("/webhooks/github/acme"), "entry URL " + e.request.url);
  check(e.request.postData.text.includes("needle-1234") && e.response.status === 200, "entry body and answer");
  check(e.request.headers.some((h) => h.name === "X-Hub-Signature-256"), "entry headers");
  check(!Number.isNaN(Date.parse(e.startedDateTime)), "startedDateTime");
  // the export link follows the filters
  await page.selectOption("#f-signature", "invalid");
  await page.waitForFunction(() => document.getElementById("export-har").href.includes("signature=invalid"));
  const href = await page.locator("#export-har").getAttribute("href");
  const filtered = JSON.parse(await page.evaluate(async (h) => (await fetch(h)).text(), href));
  check(filtered.log.entries.length === 1 && filtered.log.entries[0]._webhooky.id === ids.bad, "filtered HAR");
  const jsonl = await page.evaluate(async () => (await fetch("/_webhooky/api/export.jsonl?method=PUT")).text());
  check(jsonl.trim().split("\n").length === 2, "JSONL export with a filter");
  noTrouble(page, "export");
  await page.close();
});

test("delete removes a delivery", async () => {
  const page = await newPage(context);
  const victim = await post(A.url, "/to-delete", "{}");
  await page.goto(A.url + `/_webhooky/#/d/${victim}`);
  await page.waitForSelector("#delete");
  await page.click("#delete");
  await page.click("#delete");
  await page.waitForFunction((id) => !document.querySelector(`#rows tr[data-id="${id}"]`) && location.hash === "#/", victim);
  const r = await send(A.url, "GET", `/_webhooky/api/deliveries/${victim}`, {});
  check(r.status === 404, "deleted for good: " + r.status);
  noTrouble(page, "delete");
  await page.close();
});

test("the endpoints view lists every endpoint and the catch-all", async () => {
  const page = await newPage(context);
  await page.goto(A.url + "/_webhooky/#/endpoints");
  await page.waitForSelector('#endpoints .endpoint[data-name="shop"]');
  const names = await page.locator("#endpoints .endpoint").evaluateAll((els) => els.map((e) => e.dataset.name));
  check(names.includes("-") && names.includes("github") && names.includes("shop"), "endpoints: " + names);
  noTrouble(page, "endpoints");
  await page.close();
});

// The endpoints view and the attempts timeline against a receiver with a real response script:
// one message sent three times is answered 503, then reset, then 200 after 150 ms.
test("endpoints view and attempts timeline with a scripted endpoint", async () => {
  const body = JSON.stringify({ id: "msg-1", type: "order.paid" });
  const headers = { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) };
  const first = await send(C.url, "POST", "/flaky", headers, body);
  check(first.status === 503, "first attempt: " + first.status);
  let reset = null;
  await send(C.url, "POST", "/flaky", headers, body).catch((e) => { reset = e.code; });
  check(reset === "ECONNRESET", "second attempt reset: " + reset);
  const third = await send(C.url, "POST", "/flaky", headers, body);
  check(third.status === 200, "third attempt: " + third.status);
  const lastId = JSON.parse(third.body).id;

  const page = await newPage(context);
  await page.goto(C.url + "/_webhooky/#/endpoints");
  const card = '#endpoints .endpoint[data-name="flaky"]';
  await page.waitForSelector(card + " .rules li");
  const rules = await page.locator(card + " .rules li").allTextContents();
  check(rules.length === 3 && rules[0].includes("503") && rules[0].includes("used 1") &&
    rules[1].includes("reset"), "rules: " + rules);
  check((await page.locator(card).textContent()).includes("Flaky <b>orders</b>"), "description as text");
  check(!(await page.locator("#endpoints").textContent()).includes("null"), "no 'null' shown for missing parts");
  await noOverflow(page, "endpoints");
  await page.screenshot({ path: path.join(ARTIFACTS, "page-endpoints.png") });

  // the timeline of the message, from the third attempt
  await page.goto(C.url + `/_webhooky/#/d/${lastId}`);
  await page.waitForSelector("#attempts:not([hidden]) .timeline li");
  const steps = await page.locator("#attempts .timeline li").allTextContents();
  check(steps.length === 3 && steps[0].includes("503") && steps[1].includes("reset") &&
    /\+1[5-9]\dms/.test(steps[2]), "timeline: " + steps);
  check((await page.locator("#attempts .timeline li.current").textContent()).includes("#3"), "the current attempt");
  await page.locator("#attempts").scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(ARTIFACTS, "page-timeline.png") });

  // a new script from the form goes to the receiver and takes effect
  await page.goto(C.url + "/_webhooky/#/endpoints");
  await page.waitForSelector(card + " .rules li");
  await page.fill(card + " textarea", "410");
  await page.click(card + " button[type=submit]");
  await page.waitForFunction((sel) => {
    const li = document.querySelectorAll(sel);
    return li.length === 1 && li[0].textContent.includes("410") && li[0].textContent.includes("used 0");
  }, card + " .rules li");
  const after = await send(C.url, "POST", "/flaky", headers, body);
  check(after.status === 410, "the new script answers: " + after.status);
  noTrouble(page, "endpoints and timeline");
  await page.close();
});

test("screenshots at 375 px and 1440 px: readable, nothing overflows", async () => {
  for (const [w, h] of [[375, 812], [1440, 900]]) {
    const page = await newPage(context);
    await page.setViewportSize({ width: w, height: h });
    await page.goto(A.url + "/_webhooky/");
    await page.waitForSelector("#live.on");
    await page.waitForSelector("#rows tr");
    await noOverflow(page, `list at ${w}px`);
    await page.screenshot({ path: path.join(ARTIFACTS, `page-list-${w}.png`) });
    await page.goto(A.url + `/_webhooky/#/d/${ids.orderBad}`);
    await page.waitForSelector("#detail .schema-errors li");
    await noOverflow(page, `detail at ${w}px`);
    await page.screenshot({ path: path.join(ARTIFACTS, `page-detail-${w}.png`), fullPage: w < 1000 });
    noTrouble(page, `screenshots at ${w}px`);
    await page.close();
  }
});

test("with --admin-token the page asks for the token and then works, live included", async () => {
  const C = await serve("token", ["--admin-token", "s3cret-token"]);
  const open = await send(C.url, "GET", "/_webhooky/api/summaries", {});
  check(open.status === 401, "the API needs the token: " + open.status);
  const stream = await send(C.url, "GET", "/_webhooky/api/stream?since_id=0", {});
  check(stream.status === 401, "the stream needs the token: " + stream.status);
  const ctx = await browser.newContext();
  const page = await newPage(ctx);
  await page.goto(C.url + "/_webhooky/");
  await page.waitForSelector("#login:not([hidden])");
  await page.fill("#token", "wrong");
  await page.click("#login-form button[type=submit]");
  await page.waitForFunction(() => document.getElementById("login-error").textContent.includes("not accepted"));
  await page.fill("#token", "s3cret-token");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#live.on");
  await post(C.url, "/after-login", '{"ok":1}');
  await waitRows(page, 1);
  // a reload keeps the token for the tab
  await page.reload();
  await waitRows(page, 1);
  page.trouble = page.trouble.filter((t) => !t.includes("401"));
  noTrouble(page, "admin token");
  await ctx.close();
});

async function main() {
  const schemas = path.join(tmp, "schemas");
  fs.mkdirSync(schemas);
  fs.writeFileSync(path.join(schemas, "order.created.json"), JSON.stringify({
    type: "object", required: ["id"], properties: { amount: { type: "integer" }, id: { type: "string" } },
  }));
  const config = path.join(tmp, "endpoints.json");
  fs.writeFileSync(config, JSON.stringify({
    endpoints: [
      { name: "github", path: "/webhooks/github/*", signature: { scheme: "github", secrets: [GH_SECRET] } },
      { name: "shop", path: "/shop", schemas: { dir: schemas, event: "/type" } },
    ],
  }));
  A = await serve("a", ["--config", config]);
  B = await serve("b", []);
  const scripted = path.join(tmp, "scripted.json");
  fs.writeFileSync(scripted, JSON.stringify({
    endpoints: [{ name: "flaky", path: "/flaky", description: "Flaky <b>orders</b>", message_key: "/id",
      responses: "503x1/message,reset/message,200@150ms" }],
  }));
  C = await serve("c", ["--config", scripted]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  context = await browser.newContext({ acceptDownloads: true });
  context.setDefaultTimeout(10000);
  for (const t of tests) {
    const start = Date.now();
    try {
      await t.fn();
      passed++;
      console.log(`ok - ${t.name} (${Date.now() - start} ms)`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${t.name}\n  ${String(e.stack || e).split("\n").join("\n  ")}`);
    }
  }
}

try {
  await main();
} catch (e) {
  failed++;
  console.log("not ok - setup: " + (e.stack || e));
} finally {
  if (browser) await browser.close();
  for (const p of servers) if (p.exitCode === null) p.kill("SIGTERM");
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
