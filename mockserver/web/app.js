/* webhooky inspection page.
 *
 * Everything shown here was written by whoever sent the delivery: it goes into the page as
 * text only (textContent, never innerHTML), and the server's Content-Security-Policy allows no
 * inline script or style. Plain DOM, no framework, no build step. */
"use strict";

const API = "/_webhooky/api";
const PAGE = 50;
const TOKEN_KEY = "webhooky-token";

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  rows: new Map(),      // id -> summary, the loaded rows
  oldest: null,         // smallest id loaded (paging)
  lastId: 0,            // the stream starts after this
  matched: null,
  source: null,         // the EventSource
  generation: 0,        // bumps on each reload; late answers of older ones are dropped
  selected: null,       // id shown in the detail pane
  endpoints: null,      // from /api/endpoints when the receiver has it
  events: new Set(),
};

/* ---- small DOM helpers: text only ---- */

function $(id) {
  return document.getElementById(id);
}

/* el("td", {class: "x", title: "t"}, child, "text", ...): children are nodes or strings */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

let toastTimer = null;
function toast(message) {
  const t = $("toast");
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
}

/* ---- the API ---- */

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function request(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const r = await fetch(API + path, Object.assign({}, opts, { headers, credentials: "same-origin" }));
  if (r.status === 401) {
    showLogin(state.token ? "That token was not accepted." : "");
    throw new HttpError(401, "the admin token is needed");
  }
  return r;
}

async function api(path, opts) {
  const r = await request(path, opts);
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    body = null;
  }
  if (!r.ok) {
    const msg = body && typeof body.error === "string" ? body.error : "HTTP " + r.status;
    throw new HttpError(r.status, msg);
  }
  return body;
}

function filterParams() {
  const p = new URLSearchParams();
  for (const name of ["q", "endpoint", "event", "signature", "schema", "method"]) {
    const v = $("filters").elements[name].value.trim();
    if (v) p.set(name, v);
  }
  return p;
}

/* ---- token ---- */

function showLogin(message) {
  $("login").hidden = false;
  $("deliveries-view").hidden = true;
  $("endpoints-view").hidden = true;
  $("login-error").textContent = message || "";
  $("token").focus();
}

async function login(ev) {
  ev.preventDefault();
  state.token = $("token").value;
  sessionStorage.setItem(TOKEN_KEY, state.token);
  try {
    await openSession();
    $("login").hidden = true;
    route();
    reload();
  } catch (e) {
    if (!(e instanceof HttpError && e.status === 401)) $("login-error").textContent = e.message;
  }
}

/* EventSource cannot send an Authorization header: the server turns the token into a cookie
 * (its hash, HttpOnly, SameSite=Strict) that only the event stream accepts. */
async function openSession() {
  await api("/session", { method: "POST" });
}

/* ---- formatting ---- */

function pad(n, w) {
  return String(n).padStart(w || 2, "0");
}

function shortTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso || "";
  const today = new Date();
  const time = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." +
    pad(d.getMilliseconds(), 3);
  if (d.toDateString() === today.toDateString()) return time;
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + time;
}

function bytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}

const GOOD = new Set(["valid"]);
const NEUTRAL = new Set(["not_configured", "no_schema"]);

function badge(status) {
  const s = status || "not_configured";
  const cls = GOOD.has(s) ? "ok" : NEUTRAL.has(s) ? "none" : "bad";
  return el("span", { class: "badge " + cls, text: s === "not_configured" ? "–" : s.replace("_", " "),
    title: s });
}

/* The answer the receiver gave: status or fault, and the delay. */
function answerText(d) {
  const r = d.response || {};
  let text = r.fault ? r.fault : r.status ? String(r.status) : "closed";
  if (r.delay_ms) text += " +" + r.delay_ms + "ms";
  return text;
}

function answerClass(d) {
  const r = d.response || {};
  if (r.fault || !r.status) return "bad";
  return r.status >= 200 && r.status < 300 ? "ok" : "warn";
}

function fullPath(d) {
  return d.path + (d.query !== null && d.query !== undefined ? "?" + d.query : "");
}

/* ---- the list ---- */

function rowFor(d) {
  const tr = el("tr", { "data-id": d.id, tabindex: 0, class: state.selected === d.id ? "selected" : "" },
    el("td", { class: "c-time", "data-label": "time", title: d.received_at, text: shortTime(d.received_at) }),
    el("td", { class: "c-endpoint", "data-label": "endpoint", text: d.endpoint === null ? "-" : d.endpoint }),
    el("td", { class: "c-method", "data-label": "method" }, el("span", { class: "method", text: d.method })),
    el("td", { class: "c-path", "data-label": "path", title: fullPath(d), text: fullPath(d) }),
    el("td", { class: "c-event", "data-label": "event", text: d.event || "" }),
    el("td", { class: "c-sig", "data-label": "signature" }, badge(d.signature && d.signature.status)),
    el("td", { class: "c-schema", "data-label": "schema" }, badge(d.schema && d.schema.status)),
    el("td", { class: "c-answer", "data-label": "answer" },
      el("span", { class: "answer " + answerClass(d), text: answerText(d) })),
    el("td", { class: "c-attempt", "data-label": "attempt", text: d.attempt ? "#" + d.attempt : "" }));
  return tr;
}

function noteSeen(d) {
  if (d.event && !state.events.has(d.event)) {
    state.events.add(d.event);
    $("event-names").append(el("option", { value: d.event }));
  }
  if (d.endpoint) addEndpointOption(d.endpoint);
}

function addEndpointOption(name) {
  const sel = $("f-endpoint");
  for (const o of sel.options) if (o.value === name) return;
  sel.append(el("option", { value: name, text: name }));
}

function updateCount() {
  const n = state.matched;
  const filtered = [...filterParams().keys()].length > 0;
  $("count").textContent = n === null ? "…" :
    n + (filtered ? (n === 1 ? " matching delivery" : " matching deliveries")
      : (n === 1 ? " delivery" : " deliveries"));
  $("empty").hidden = state.rows.size > 0;
  $("older").hidden = state.oldest === null || state.rows.size >= (state.matched || 0);
}

function updateExportLinks() {
  const p = filterParams().toString();
  $("export-har").href = API + "/export.har" + (p ? "?" + p : "");
  $("export-jsonl").href = API + "/export.jsonl" + (p ? "?" + p : "");
}

async function reload() {
  const gen = ++state.generation;
  closeStream();
  const p = filterParams();
  p.set("limit", PAGE);
  let page;
  try {
    page = await api("/summaries?" + p.toString());
  } catch (e) {
    if (!(e instanceof HttpError && e.status === 401)) toast("Cannot load deliveries: " + e.message);
    return;
  }
  if (gen !== state.generation) return;
  state.rows.clear();
  clear($("rows"));
  state.matched = page.matched;
  state.lastId = page.last_id;
  state.oldest = null;
  appendRows(page.deliveries);
  updateCount();
  updateExportLinks();
  openStream(gen);
}

function appendRows(list) {
  const body = $("rows");
  for (const d of list) {
    if (state.rows.has(d.id)) continue;
    state.rows.set(d.id, d);
    noteSeen(d);
    body.append(rowFor(d));
    if (state.oldest === null || d.id < state.oldest) state.oldest = d.id;
  }
}

async function loadOlder() {
  if (state.oldest === null) return;
  const gen = state.generation;
  const p = filterParams();
  p.set("limit", PAGE);
  p.set("before_id", state.oldest);
  p.set("count", "false");
  try {
    const page = await api("/summaries?" + p.toString());
    if (gen !== state.generation) return;
    appendRows(page.deliveries);
    updateCount();
  } catch (e) {
    toast("Cannot load older deliveries: " + e.message);
  }
}

/* ---- live updates ---- */

function setLive(on, text) {
  const l = $("live");
  l.textContent = text;
  l.classList.toggle("on", on);
}

function closeStream() {
  if (state.source) {
    state.source.close();
    state.source = null;
  }
}

function openStream(gen) {
  const p = filterParams();
  p.set("since_id", state.lastId);
  const src = new EventSource(API + "/stream?" + p.toString());
  state.source = src;
  setLive(false, "connecting…");
  src.addEventListener("open", () => {
    if (gen === state.generation) setLive(true, "live");
  });
  src.addEventListener("error", () => {
    if (gen !== state.generation) return;
    setLive(false, "reconnecting…");
  });
  src.addEventListener("delivery", (ev) => {
    if (gen !== state.generation) return;
    let d;
    try {
      d = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    if (state.rows.has(d.id)) return;
    state.rows.set(d.id, d);
    state.lastId = Math.max(state.lastId, d.id);
    if (state.oldest === null) state.oldest = d.id;
    noteSeen(d);
    const tr = rowFor(d);
    tr.classList.add("fresh");
    $("rows").prepend(tr);
    if (state.matched !== null) state.matched++;
    updateCount();
  });
}

/* ---- the detail view ---- */

function select(id) {
  state.selected = id;
  for (const tr of $("rows").querySelectorAll("tr.selected")) tr.classList.remove("selected");
  const tr = $("rows").querySelector('tr[data-id="' + id + '"]');
  if (tr) tr.classList.add("selected");
}

function closeDetail() {
  state.selected = null;
  $("detail").hidden = true;
  clear($("detail"));
  document.body.classList.remove("with-detail");
  for (const tr of $("rows").querySelectorAll("tr.selected")) tr.classList.remove("selected");
}

async function showDetail(id) {
  select(id);
  const pane = $("detail");
  document.body.classList.add("with-detail");
  pane.hidden = false;
  clear(pane);
  pane.append(el("p", { class: "muted", text: "Loading delivery " + id + "…" }));
  let d;
  try {
    d = await api("/deliveries/" + id);
  } catch (e) {
    clear(pane);
    pane.append(detailHeader(null, id), el("p", { class: "error", text: e.message }));
    return;
  }
  if (state.selected !== id) return;
  clear(pane);
  renderDetail(pane, d);
}

function detailHeader(d, id) {
  return el("div", { class: "detail-head" },
    el("a", { href: "#/", class: "back", text: "← list" }),
    el("h2", { class: "detail-title" },
      el("span", { class: "muted", text: "#" + id + " " }),
      d ? el("span", { class: "method", text: d.method }) : null,
      d ? " " : null,
      d ? el("span", { class: "path", text: fullPath(d) }) : null));
}

function section(title, ...children) {
  return el("section", { class: "card" }, el("h3", { text: title }), ...children);
}

function kv(rows) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v] of rows) {
    if (v === undefined || v === null || v === "") continue;
    dl.append(el("dt", { text: k }), el("dd", {}, v));
  }
  return dl;
}

function bodyBytes(d) {
  if (d.body_base64 !== undefined) {
    const bin = atob(d.body_base64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  return new TextEncoder().encode(d.body || "");
}

function header(d, name) {
  const n = name.toLowerCase();
  for (const [k, v] of d.headers) if (k.toLowerCase() === n) return v;
  return null;
}

function renderDetail(pane, d) {
  pane.append(detailHeader(d, d.id));

  const r = d.response || {};
  pane.append(section("Delivery", kv([
    ["received", d.received_at],
    ["endpoint", d.endpoint === null ? "- (catch-all)" : d.endpoint],
    ["from", d.remote_addr],
    ["body", bytes(d.body_size) + (d.truncated ? " (truncated: only the first " + bytes(bodyBytes(d).length) + " stored)" : "")],
    ["event", d.event],
    ["message id", d.message_id],
    ["message key", d.message_key],
    ["attempt", d.attempt ? "#" + d.attempt + (d.since_previous_ms !== null && d.since_previous_ms !== undefined ? " (" + d.since_previous_ms + " ms after the previous)" : "") : null],
  ])));

  pane.append(actions(d));

  const sig = d.signature || {};
  pane.append(section("Signature",
    el("p", { class: "verdict" }, badge(sig.status), " ",
      sig.scheme ? el("span", { class: "muted", text: sig.scheme }) : null,
      sig.secret_index !== null && sig.secret_index !== undefined ? el("span", { class: "muted", text: " secrets[" + sig.secret_index + "]" }) : null),
    el("p", { class: "reason sig-reason", text: sig.reason || "" })));

  const sch = d.schema || {};
  const errors = Array.isArray(sch.errors) ? sch.errors : [];
  const errList = el("ul", { class: "schema-errors" });
  for (const e of errors) {
    const ptr = typeof e.pointer === "string" ? e.pointer : "";
    errList.append(el("li", {},
      el("button", { type: "button", class: "link pointer", text: ptr || "(whole body)",
        onclick: () => focusPointer(ptr) }),
      " ", el("span", { class: "muted", text: "[" + (e.keyword || "?") + "]" }), " ",
      el("span", { text: e.message || "" })));
  }
  pane.append(section("Schema",
    el("p", { class: "verdict" }, badge(sch.status), " ",
      sch.schema ? el("span", { class: "muted", text: sch.schema }) : null),
    errors.length ? errList : null));

  pane.append(section("Answer given", kv([
    ["status", r.status ? String(r.status) : "none (connection closed)"],
    ["fault", r.fault],
    ["delay", r.delay_ms ? r.delay_ms + " ms" : null],
    ["script rule", r.rule !== null && r.rule !== undefined ? "#" + r.rule : null],
    ["answered at", d.responded_at],
  ])));

  const timeline = el("section", { class: "card", id: "attempts", hidden: true });
  pane.append(timeline);
  loadTimeline(d, timeline);

  const table = el("table", { class: "headers" });
  for (const [k, v] of d.headers) table.append(el("tr", {}, el("th", { text: k }), el("td", { text: v })));
  pane.append(section("Headers (" + d.headers.length + ")", table));

  pane.append(bodySection(d, errors));
}

/* The message's attempts, from the messages API (when the receiver has it). */
async function loadTimeline(d, box) {
  if (!d.endpoint || !d.message_key) return;
  let m;
  try {
    const res = await api("/messages?endpoint=" + encodeURIComponent(d.endpoint));
    m = (res.messages || []).find((x) => x.key === d.message_key);
  } catch (e) {
    return;
  }
  if (!m || !Array.isArray(m.attempts)) return;
  const ol = el("ol", { class: "timeline" });
  m.attempts.forEach((a, i) => {
    const what = a.fault ? a.fault : a.status ? String(a.status) : "closed";
    const cls = a.fault || !a.status ? "bad" : a.status < 300 ? "ok" : "warn";
    ol.append(el("li", { class: a.id === d.id ? "current" : "" },
      el("a", { href: "#/d/" + a.id, class: "dot " + cls, title: "delivery " + a.id, text: "#" + (i + 1) }),
      el("span", { class: "t-what", text: what + (a.delay_ms ? " +" + a.delay_ms + "ms" : "") }),
      el("span", { class: "t-when muted", text: a.since_previous_ms !== null && a.since_previous_ms !== undefined ? "+" + (a.since_previous_ms / 1000).toFixed(1) + " s" : shortTime(a.received_at) })));
  });
  clear(box);
  box.append(el("h3", { text: "Attempts (" + m.attempts.length + ", " + (m.outcome || "") + ")" }), ol);
  box.hidden = false;
}

/* ---- actions: copy as curl, download, replay, delete ---- */

function shellQuote(s) {
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

function curlCommand(d) {
  const skip = new Set(["host", "content-length", "connection", "transfer-encoding", "expect"]);
  const lines = ["curl -X " + shellQuote(d.method) + " " + shellQuote(location.origin + fullPath(d))];
  for (const [k, v] of d.headers) if (!skip.has(k.toLowerCase())) lines.push("  -H " + shellQuote(k + ": " + v));
  if (d.body_base64 !== undefined) lines.push("  --data-binary @delivery-" + d.id + ".body");
  else if (d.body) lines.push("  --data-binary " + shellQuote(d.body));
  return lines.join(" \\\n");
}

async function download(path, filename) {
  try {
    const r = await request(path);
    if (!r.ok) throw new HttpError(r.status, "HTTP " + r.status);
    const blob = await r.blob();
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    if (!(e instanceof HttpError && e.status === 401)) toast("Download failed: " + e.message);
  }
}

function actions(d) {
  const out = el("div", { class: "out" });
  const curlBtn = el("button", { type: "button", id: "copy-curl", text: "Copy as curl", onclick: async () => {
    const cmd = curlCommand(d);
    clear(out);
    const pre = el("pre", { class: "curl", id: "curl-command", text: cmd });
    out.append(pre);
    try {
      await navigator.clipboard.writeText(cmd);
      out.prepend(el("p", { class: "muted", text: "Copied to the clipboard." }));
    } catch (e) {
      out.prepend(el("p", { class: "muted", text: "Select the command below and copy it." }));
    }
  } });
  const dlBtn = el("button", { type: "button", id: "download-body", text: "Download body",
    onclick: () => download("/deliveries/" + d.id + "/body", "delivery-" + d.id + ".body") });
  const delBtn = el("button", { type: "button", id: "delete", class: "danger", text: "Delete", onclick: async () => {
    if (delBtn.dataset.armed !== "yes") {
      delBtn.dataset.armed = "yes";
      delBtn.textContent = "Delete: sure?";
      return;
    }
    try {
      await api("/deliveries/" + d.id, { method: "DELETE" });
      state.rows.delete(d.id);
      const tr = $("rows").querySelector('tr[data-id="' + d.id + '"]');
      if (tr) tr.remove();
      if (state.matched) state.matched--;
      updateCount();
      location.hash = "#/";
      toast("Delivery " + d.id + " deleted.");
    } catch (e) {
      toast("Delete failed: " + e.message);
    }
  } });
  const url = el("input", { type: "url", id: "replay-url", placeholder: "http://localhost:3000/webhook",
    "aria-label": "Replay to URL", required: true });
  const stored = sessionStorage.getItem("webhooky-replay-url");
  if (stored) url.value = stored;
  const form = el("form", { class: "replay", id: "replay-form", onsubmit: async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem("webhooky-replay-url", url.value);
    clear(out);
    out.append(el("p", { class: "muted", text: "Replaying to " + url.value + "…" }));
    try {
      const res = await api("/deliveries/" + d.id + "/replay", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ url: url.value }) });
      clear(out);
      out.append(replayResult(res));
    } catch (e) {
      clear(out);
      out.append(el("p", { class: "error replay-error", text: "Replay failed: " + e.message }));
    }
  } }, url, el("button", { type: "submit", text: "Replay" }));
  return el("section", { class: "card actions" },
    el("div", { class: "buttons" }, curlBtn, dlBtn, delBtn), form, out);
}

function replayResult(res) {
  const table = el("table", { class: "headers" });
  for (const [k, v] of res.headers || []) table.append(el("tr", {}, el("th", { text: k }), el("td", { text: v })));
  const body = res.body !== undefined ? res.body : "(binary, " + res.body_size + " bytes)";
  return el("div", { class: "replay-result", id: "replay-result" },
    el("p", {}, "Answered ", el("span", { class: "answer " + (res.status < 300 ? "ok" : "warn"), id: "replay-status", text: String(res.status) }),
      " in " + (res.duration_us / 1000).toFixed(1) + " ms by ", el("span", { class: "path", text: res.url })),
    table, el("pre", { class: "raw", text: body + (res.truncated ? "\n… (truncated)" : "") }));
}

/* ---- the body: JSON tree, raw text, hex ---- */

function escapePointer(k) {
  return String(k).replace(/~/g, "~0").replace(/\//g, "~1");
}

/* One JSON value as a tree of <details>; nodes carry their JSON pointer, the ones with schema
 * errors are marked and say why. */
function tree(value, key, pointer, errs, depth) {
  const label = [];
  if (key !== null) label.push(el("span", { class: "k", text: typeof key === "number" ? key : JSON.stringify(key) }), ": ");
  const mark = errs.get(pointer);
  const note = mark ? el("span", { class: "err-note", text: mark.join("; ") }) : null;
  if (value !== null && typeof value === "object") {
    const isArr = Array.isArray(value);
    const keys = isArr ? value.map((_, i) => i) : Object.keys(value);
    const det = el("details", { class: "node" + (mark ? " err" : ""), "data-pointer": pointer });
    det.open = depth < 4 || hasErrorBelow(pointer, errs);
    det.append(el("summary", {}, ...label,
      el("span", { class: "muted", text: isArr ? "[" + keys.length + "]" : "{" + keys.length + "}" }), note));
    const ul = el("ul");
    const max = 500;
    for (const k of keys.slice(0, max)) ul.append(el("li", {}, tree(value[k], k, pointer + "/" + escapePointer(k), errs, depth + 1)));
    if (keys.length > max) ul.append(el("li", { class: "muted", text: "… " + (keys.length - max) + " more (see Raw)" }));
    det.append(ul);
    return det;
  }
  const t = value === null ? "null" : typeof value;
  return el("div", { class: "leaf" + (mark ? " err" : ""), "data-pointer": pointer }, ...label,
    el("span", { class: "v-" + t, text: JSON.stringify(value) }), note);
}

function hasErrorBelow(pointer, errs) {
  for (const p of errs.keys()) if (p.startsWith(pointer + "/")) return true;
  return false;
}

function hexDump(data) {
  const max = Math.min(data.length, 64 * 1024);
  const lines = [];
  for (let off = 0; off < max; off += 16) {
    const chunk = data.subarray(off, Math.min(off + 16, max));
    let hex = "";
    let text = "";
    for (let i = 0; i < 16; i++) {
      if (i < chunk.length) {
        hex += chunk[i].toString(16).padStart(2, "0") + " ";
        text += chunk[i] >= 0x20 && chunk[i] < 0x7f ? String.fromCharCode(chunk[i]) : ".";
      } else {
        hex += "   ";
      }
      if (i === 7) hex += " ";
    }
    lines.push(off.toString(16).padStart(8, "0") + "  " + hex + " " + text);
  }
  if (data.length > max) lines.push("… " + (data.length - max) + " more bytes (download the body)");
  return lines.join("\n");
}

function bodySection(d, errors) {
  const binary = d.body_base64 !== undefined;
  let parsed;
  let isJson = false;
  if (!binary && d.body) {
    try {
      parsed = JSON.parse(d.body);
      isJson = true;
    } catch (e) {
      isJson = false;
    }
  }
  const errs = new Map();
  for (const e of errors) {
    const p = typeof e.pointer === "string" ? e.pointer : "";
    if (!errs.has(p)) errs.set(p, []);
    errs.get(p).push(e.message || e.keyword || "error");
  }
  const views = {};
  if (isJson) views.tree = () => el("div", { class: "tree", id: "body-tree" }, tree(parsed, null, "", errs, 0));
  if (!binary) views.raw = () => el("pre", { class: "raw", id: "body-raw", text: d.body });
  views.hex = () => el("pre", { class: "raw hex", id: "body-hex", text: hexDump(bodyBytes(d)) });
  const tabs = el("div", { class: "tabs", role: "tablist" });
  const box = el("div", { class: "body-view" });
  const names = { tree: "Tree", raw: "Raw", hex: "Hex" };
  const show = (name) => {
    for (const b of tabs.children) b.classList.toggle("current", b.dataset.view === name);
    clear(box);
    box.append(views[name]());
  };
  for (const name of Object.keys(views)) {
    tabs.append(el("button", { type: "button", class: "tab", "data-view": name, text: names[name], onclick: () => show(name) }));
  }
  if (!d.body_size) {
    return section("Body", el("p", { class: "muted", text: "(empty)" }));
  }
  show(isJson ? "tree" : binary ? "hex" : "raw");
  const ct = header(d, "Content-Type");
  return el("section", { class: "card body-card" },
    el("h3", {}, "Body ", el("span", { class: "muted", text: (ct ? ct + ", " : "") + bytes(d.body_size) })),
    tabs, box);
}

function focusPointer(ptr) {
  const tabs = document.querySelector('.tabs button[data-view="tree"]');
  if (tabs && !document.getElementById("body-tree")) tabs.click();
  for (const n of document.querySelectorAll("[data-pointer]")) {
    if (n.getAttribute("data-pointer") !== ptr) continue;
    for (let p = n.parentElement; p; p = p.parentElement) if (p.tagName === "DETAILS") p.open = true;
    n.scrollIntoView({ block: "center" });
    n.classList.add("flash");
    setTimeout(() => n.classList.remove("flash"), 1500);
    return;
  }
}

/* ---- endpoints ---- */

async function showEndpoints() {
  const box = $("endpoints");
  clear(box);
  let res;
  try {
    res = await api("/endpoints");
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) {
      box.append(el("p", { class: "muted", text: "This receiver does not describe its endpoints (no /_webhooky/api/endpoints)." }));
    } else if (!(e instanceof HttpError && e.status === 401)) {
      box.append(el("p", { class: "error", text: e.message }));
    }
    return;
  }
  state.endpoints = res.endpoints || [];
  for (const ep of state.endpoints) box.append(endpointCard(ep));
  if (!state.endpoints.length) box.append(el("p", { class: "muted", text: "No endpoints." }));
}

function ruleText(rule) {
  return JSON.stringify(rule);
}

function endpointCard(ep) {
  const resp = ep.responses || {};
  const script = resp.script;
  const used = new Map((resp.rules || []).map((r) => [r.index, r.used]));
  const rules = el("ol", { class: "rules", start: 0 });
  if (script && Array.isArray(script.rules)) {
    script.rules.forEach((rule, i) => rules.append(el("li", {},
      el("code", { text: ruleText(rule) }), el("span", { class: "muted", text: " used " + (used.get(i) || 0) + "×" }))));
  }
  const text = el("textarea", { rows: 2, class: "script-input", placeholder: "503x2,200  or JSON rules", "aria-label": "Response script for " + ep.name });
  const msg = el("p", { class: "muted" });
  const card = el("section", { class: "card endpoint", "data-name": ep.name });
  const form = el("form", { class: "script-form", onsubmit: async (ev) => {
    ev.preventDefault();
    const body = text.value.trim();
    const json = body.startsWith("[") || body.startsWith("{");
    try {
      const updated = await api("/endpoints/" + encodeURIComponent(ep.name) + "/responses", {
        method: "PUT", headers: { "Content-Type": json ? "application/json" : "text/plain" }, body });
      card.replaceWith(endpointCard(updated.name ? updated : Object.assign({}, ep, updated)));
    } catch (e) {
      msg.textContent = e.message;
      msg.className = "error";
    }
  } }, text, el("div", { class: "buttons" },
    el("button", { type: "submit", text: "Set script" }),
    el("button", { type: "button", class: "quiet", text: "Reset counters", onclick: async () => {
      try {
        const updated = await api("/endpoints/" + encodeURIComponent(ep.name) + "/reset", { method: "POST" });
        if (updated && updated.name) card.replaceWith(endpointCard(updated));
        else showEndpoints();
      } catch (e) {
        msg.textContent = e.message;
        msg.className = "error";
      }
    } })), msg);
  /* DOM append writes null as "null": leave the missing parts out */
  card.append(...[
    el("h3", {}, el("span", { text: ep.name === "-" ? "catch-all" : ep.name }), " ", el("span", { class: "path muted", text: ep.path })),
    ep.description ? el("p", { text: ep.description }) : null,
    kv([
      ["signature", ep.signature || "none"],
      ["schemas", ep.schemas ? "yes" : "no"],
      ["deliveries", resp.deliveries !== undefined ? String(resp.deliveries) : null],
      ["messages", resp.messages !== undefined ? String(resp.messages) : null],
      ["script", script ? (script.cycle ? "cycles" : "runs once through") : "default answer"],
    ]),
    script ? rules : null,
    el("a", { href: "#/", class: "quiet", text: "Show its deliveries", onclick: () => {
      addEndpointOption(ep.name);
      $("f-endpoint").value = ep.name;
      reload();
    } }),
    form].filter(Boolean));
  return card;
}

/* ---- routing ---- */

function route() {
  const h = location.hash || "#/";
  const onEndpoints = h.startsWith("#/endpoints");
  if (!$("login").hidden) return;
  $("deliveries-view").hidden = onEndpoints;
  $("endpoints-view").hidden = !onEndpoints;
  $("nav-deliveries").classList.toggle("current", !onEndpoints);
  $("nav-endpoints").classList.toggle("current", onEndpoints);
  if (onEndpoints) {
    showEndpoints();
    return;
  }
  const m = /^#\/d\/(\d+)$/.exec(h);
  if (m) showDetail(Number(m[1]));
  else closeDetail();
}

function init() {
  $("login-form").addEventListener("submit", login);
  let timer = null;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, 250);
  };
  $("filters").addEventListener("input", changed);
  $("filters").addEventListener("change", changed);
  $("filters").addEventListener("reset", () => setTimeout(reload, 0));
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); reload(); });
  $("older").addEventListener("click", loadOlder);
  const open = (ev) => {
    const tr = ev.target.closest("tr[data-id]");
    if (!tr) return;
    if (ev.type === "keydown" && ev.key !== "Enter") return;
    location.hash = "#/d/" + tr.getAttribute("data-id");
  };
  $("rows").addEventListener("click", open);
  $("rows").addEventListener("keydown", open);
  for (const id of ["export-har", "export-jsonl"]) {
    $(id).addEventListener("click", (ev) => {
      if (!state.token) return; /* a plain link works without a token */
      ev.preventDefault();
      const href = new URL($(id).href);
      download(href.pathname.slice(API.length) + href.search, id === "export-har" ? "webhooky.har" : "webhooky.jsonl");
    });
  }
  $("empty-hint").textContent = "curl -d '{\"hello\":\"world\"}' " + location.origin + "/webhook";
  window.addEventListener("hashchange", route);
  route();
  const start = state.token ? openSession().catch(() => {}) : Promise.resolve();
  start.then(reload);
}

document.addEventListener("DOMContentLoaded", init);
