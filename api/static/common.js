/* Incentive UI: what every page shares.
 *
 * - the API key: asked for once, kept in this tab's sessionStorage, sent as a Bearer token;
 * - `api()`: calls the JSON API, turns an error body {"errors": [{path, message}]} into an ApiError;
 * - `Dec`: exact decimal arithmetic on the API's decimal strings (BigInt, never binary floats);
 * - small DOM helpers. Everything that shows data uses textContent (never innerHTML).
 */
"use strict";

const Incentive = (() => {
  const KEY_NAME = "incentive.apiKey";
  const readyCallbacks = [];

  // ---------------------------------------------------------------------------------------
  // exact decimals: {v: BigInt, s: scale}, value = v / 10^s

  const DEC_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

  function dec(x) {
    if (x !== null && typeof x === "object" && typeof x.v === "bigint") return x;
    const text = String(x).trim();
    const m = DEC_RE.exec(text);
    if (!m || (m[2] === "" && (m[3] || "") === "")) throw new Error(`not a decimal number: ${text}`);
    const frac = m[3] || "";
    let v = BigInt((m[2] || "0") + frac);
    let s = frac.length;
    const exp = m[4] ? parseInt(m[4], 10) : 0;
    if (exp > 0) {
      if (exp >= s) { v *= 10n ** BigInt(exp - s); s = 0; } else { s -= exp; }
    } else if (exp < 0) {
      s -= exp;
    }
    return { v: m[1] === "-" ? -v : v, s };
  }

  function align(a, b) {
    a = dec(a); b = dec(b);
    const s = Math.max(a.s, b.s);
    return [a.v * 10n ** BigInt(s - a.s), b.v * 10n ** BigInt(s - b.s), s];
  }

  const Dec = {
    parse: dec,
    zero: { v: 0n, s: 0 },
    add(a, b) { const [x, y, s] = align(a, b); return { v: x + y, s }; },
    sub(a, b) { const [x, y, s] = align(a, b); return { v: x - y, s }; },
    neg(a) { a = dec(a); return { v: -a.v, s: a.s }; },
    cmp(a, b) { const [x, y] = align(a, b); return x < y ? -1 : x > y ? 1 : 0; },
    sign(a) { a = dec(a); return a.v < 0n ? -1 : a.v > 0n ? 1 : 0; },
    isZero(a) { return dec(a).v === 0n; },
    sum(items) { return items.reduce((acc, x) => Dec.add(acc, x), Dec.zero); },
    min0(a) { return Dec.sign(a) < 0 ? dec(a) : Dec.zero; },
    max0(a) { return Dec.sign(a) > 0 ? dec(a) : Dec.zero; },
    /** the exact text with `places` decimals (padding; rounding half-even if fewer) */
    str(a, places) {
      a = dec(a);
      let { v, s } = a;
      if (places === undefined) places = s;
      if (places > s) { v *= 10n ** BigInt(places - s); s = places; }
      if (places < s) {
        const f = 10n ** BigInt(s - places);
        const neg = v < 0n;
        let q = (neg ? -v : v) / f;
        const r = (neg ? -v : v) % f;
        if (r * 2n > f || (r * 2n === f && q % 2n === 1n)) q += 1n;
        v = neg ? -q : q;
        s = places;
      }
      const neg = v < 0n;
      let digits = (neg ? -v : v).toString();
      if (s > 0) {
        digits = digits.padStart(s + 1, "0");
        digits = `${digits.slice(0, -s)}.${digits.slice(-s)}`;
      }
      return (neg && v !== 0n ? "-" : "") + digits;
    },
    /** a float for geometry only (bar heights), never for a number that is shown */
    approx(a) { return Number(Dec.str(a)); },
    places(text) { const d = dec(text); return d.s; },
  };

  /** "1234567.89" -> "1,234,567.89"; the digits themselves are untouched */
  function group(text) {
    if (text === null || text === undefined) return "";
    const m = /^(-?)(\d+)(\.\d+)?$/.exec(String(text));
    if (!m) return String(text);
    return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (m[3] || "");
  }

  /** a difference for display: "+1,234.50", "−12.00" (a real minus sign), "0.00" */
  function signed(text) {
    const g = group(text);
    if (g.startsWith("-")) return `\u2212${g.slice(1)}`;
    return Dec.isZero(text) ? g : `+${g}`;
  }

  // ---------------------------------------------------------------------------------------
  // DOM

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "text") node.textContent = v; else node.setAttribute(k, String(v));
    }
    for (const c of children.flat()) if (c) node.append(c);
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }

  function showErrors(container, errors, title) {
    clear(container);
    if (!errors || !errors.length) return;
    const list = el("ul");
    for (const e of errors) {
      list.append(el("li", {}, e.path ? el("code", { text: e.path }) : null, e.path ? ": " : "", e.message));
    }
    container.append(el("p", { class: "errors-title", text: title || "The service refused the request:" }), list);
  }

  function status(node, text) { node.textContent = text || ""; }

  function download(filename, content, type) {
    const blob = content instanceof Blob ? content : new Blob([content], { type: type || "text/plain" });
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: filename, class: "visually-hidden" });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 1000);
  }

  // ---------------------------------------------------------------------------------------
  // the API key and calls

  class ApiError extends Error {
    constructor(status, errors) {
      super(errors.map((e) => (e.path ? `${e.path}: ` : "") + e.message).join("; ") || `HTTP ${status}`);
      this.status = status;
      this.errors = errors;
    }
  }

  function getKey() { try { return sessionStorage.getItem(KEY_NAME); } catch (_) { return null; } }
  function setKey(key) { sessionStorage.setItem(KEY_NAME, key); }
  function forgetKey() { try { sessionStorage.removeItem(KEY_NAME); } catch (_) { /* no storage */ } }

  async function api(method, path, opts = {}) {
    const key = getKey();
    const headers = { Accept: "application/json", ...(opts.headers || {}) };
    if (key) headers.Authorization = `Bearer ${key}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = typeof opts.json === "string" ? opts.json : JSON.stringify(opts.json);
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body, cache: "no-store", credentials: "omit" });
    } catch (err) {
      throw new ApiError(0, [{ path: "", message: `the service cannot be reached (${err.message})` }]);
    }
    if (!response.ok) {
      let errors;
      try {
        errors = (await response.json()).errors;
      } catch (_) { errors = null; }
      if (!Array.isArray(errors)) errors = [{ path: "", message: `HTTP ${response.status} ${response.statusText}` }];
      const error = new ApiError(response.status, errors);
      if (response.status === 401) keyRefused(error.message);
      throw error;
    }
    if (opts.raw) return response;
    const type = response.headers.get("content-type") || "";
    return type.includes("json") ? response.json() : response.text();
  }

  function keyRefused(message) {
    forgetKey();
    showKeyPanel(`The key was refused: ${message}`);
  }

  function showKeyPanel(message) {
    const panel = $("#key-panel");
    if (!panel) return;
    panel.hidden = false;
    $("#key-status").hidden = true;
    $("#api-key-error").textContent = message || "";
    const input = $("#api-key");
    input.setAttribute("aria-invalid", message ? "true" : "false");
    input.focus();
  }

  function keyAccepted() {
    $("#key-panel").hidden = true;
    $("#key-status").hidden = false;
    for (const fn of readyCallbacks) fn();
  }

  /** run `fn` whenever a key is accepted (at start if the tab has one; again after a refused key is replaced) */
  function onReady(fn) { readyCallbacks.push(fn); }

  function initKey() {
    $("#key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = $("#api-key").value.trim();
      if (!value) { showKeyPanel("Enter a key."); return; }
      setKey(value);
      $("#api-key").value = "";
      $("#api-key-error").textContent = "";
      keyAccepted();
    });
    $("#key-forget").addEventListener("click", () => {
      forgetKey();
      window.location.reload();
    });
    if (getKey()) keyAccepted(); else showKeyPanel("");
  }

  document.addEventListener("DOMContentLoaded", initKey);

  // a person's lines joined with their projects' events: the shape of
  // GET /v1/runs/{id}/people/{pid}/statement (incentive.explain.statement_data), from a result document
  function statementData(doc, personId) {
    const person = doc.people.find((p) => p.person_id === personId);
    if (!person) return null;
    const projects = new Map(doc.projects.map((p) => [p.project_id, p]));
    const lines = doc.lines.filter((ln) => ln.person_id === personId).map((ln) => {
      const proj = projects.get(ln.project_id) || {};
      const events = new Map((proj.events || []).map((e) => [e.event_id, e]));
      return { ...ln, project_name: proj.name || null, project_pool: proj.pool || null,
        breakdown: (ln.breakdown || []).map((b) => ({ ...b, event: events.get(b.event_id) || {} })) };
    });
    return { period: doc.period, ruleset: doc.ruleset, input_sha256: doc.input_sha256, engine: doc.engine,
      person, lines, currency: (doc.ruleset || {}).currency || "" };
  }

  return { Dec, group, signed, el, svg, clear, $, $$, showErrors, status, download, api, ApiError, getKey,
    forgetKey, onReady, statementData };
})();
