/* The scenario simulator (/ui): load a period, change levers, run up to three scenarios,
 * compare them person by person, see each project's pool as a waterfall, download rule sets and
 * results. It only calls the JSON API; every number shown is a decimal string from a result
 * document, or an exact decimal sum/difference of such strings (Incentive.Dec, BigInt).
 */
"use strict";

(() => {
  const { Dec, group, signed, el, svg, clear, $, $$, showErrors, status, download, api } = Incentive;
  const MAX_SCENARIOS = 3;
  const LETTERS = ["A", "B", "C"];
  const CAPS = ["caps.person_project_max", "caps.person_period_max", "caps.person_period_salary_multiple",
    "caps.period_budget"];
  const SCALARS = ["split.result_weight", "split.lookback_days", "split.vacancy", ...CAPS, "caps.redistribute",
    "people.leaver"];
  const DEFAULTS = { "caps.redistribute": "none", "people.leaver": "pay" }; // the engine's, when a rule set omits them
  const REASONS = { vacant_role: "vacant roles", vacant_stage: "vacant stages", no_contributors: "no contributors",
    leaver: "leavers", caps: "caps" };

  const S = {
    initialised: false,
    rulesets: [],
    base: null, // {ref: id or rule-set object, canonical, id, version, sha256, label}
    inputText: null, // the period input exactly as loaded (sent as it is: numbers keep their decimal text)
    input: null,
    inputLabel: "",
    baseline: null, // {name, result, runId?}
    scenarios: [], // after a run: [{name, result, patch, sha256}]
    cards: [],
    cardSeq: 0,
    sort: { key: "amount-0", dir: -1 },
  };

  // ---------------------------------------------------------------------------------------
  // start

  async function init() {
    if (S.initialised) return;
    showErrors($("#load-errors"), []);
    try {
      const list = await api("GET", "/v1/rulesets");
      S.rulesets = list.rulesets;
      const select = clear($("#ruleset-select"));
      for (const rs of S.rulesets) select.append(el("option", { value: rs.id, text: `${rs.id} (v${rs.version})` }));
      const preferred = S.rulesets.find((r) => r.id === "ltc-default") || S.rulesets[0];
      if (preferred) select.value = preferred.id;
      S.initialised = true;
      $("#load").hidden = false;
    } catch (err) {
      if (err.status === 403) showKeyProblem(err.message);
      else if (err.status !== 401) {
        $("#load").hidden = false;
        showErrors($("#load-errors"), err.errors, "The rule sets could not be loaded:");
      }
      return;
    }
    loadRuns();
    if ($("#ruleset-select").value) await selectRuleset($("#ruleset-select").value);
  }

  /** a key whose role may not simulate (payroll): say so where the key is entered */
  function showKeyProblem(message) {
    Incentive.forgetKey();
    $("#key-panel").hidden = false;
    $("#key-status").hidden = true;
    $("#api-key-error").textContent = `This key cannot use the simulator (it needs a manager or hr key): ${message}`;
    $("#api-key").focus();
  }

  async function loadRuns() {
    const select = $("#run-select");
    try {
      const out = await api("GET", "/v1/runs");
      clear(select).append(el("option", { value: "", text: out.runs.length ? "(no run chosen)" : "(no closed runs yet)" }));
      for (const r of out.runs.slice().reverse()) {
        select.append(el("option", { value: r.run_id,
          text: `${r.period_id} · run ${r.run_id} · ${r.ruleset.id} v${r.ruleset.version} · ${r.status} · paid ${group(r.totals.paid)} ${r.currency}` }));
      }
    } catch (err) {
      if (err.status === 403) {
        select.disabled = true;
        $("#run-load").disabled = true;
        $("#run-help").textContent = "Closed runs are not available with this key (listing runs needs an hr or "
          + "payroll key, and a run's stored input an hr key). Upload the period input instead.";
      } else if (err.status !== 401) {
        $("#run-help").textContent = `Runs could not be listed: ${err.message}`;
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // the base rule set and the period input

  async function selectRuleset(id) {
    showErrors($("#load-errors"), []);
    try {
      const rs = await api("GET", `/v1/rulesets/${encodeURIComponent(id)}`);
      await setBase({ ref: rs.id, canonical: rs.canonical, id: rs.id, version: rs.version, sha256: rs.sha256,
        label: `${rs.id} v${rs.version} (bundled)` });
    } catch (err) {
      if (err.status !== 401) showErrors($("#load-errors"), err.errors, "The rule set could not be loaded:");
    }
  }

  async function onRulesetFile() {
    const file = $("#ruleset-file").files[0];
    if (!file) return;
    showErrors($("#load-errors"), []);
    try {
      const text = await file.text();
      const v = await api("POST", "/v1/rulesets/validate", { json: { toml: text } });
      await setBase({ ref: v.canonical, canonical: v.canonical, id: v.id, version: v.version, sha256: v.sha256,
        label: `${v.id} v${v.version} (uploaded: ${file.name})` });
    } catch (err) {
      if (err.status !== 401) showErrors($("#load-errors"), err.errors, `The rule set ${file.name} is not valid:`);
    }
  }

  async function setBase(base, recompute = true) {
    S.base = base;
    $("#ruleset-current").textContent = `Base rule set: ${base.label}, sha256 ${base.sha256.slice(0, 12)}.`;
    resetCards();
    if (recompute && S.inputText) {
      S.baseline = null; // a run's result is the baseline only under the run's own rule set
      await computeBaseline();
    }
  }

  async function onInputFiles() {
    const files = Array.from($("#input-file").files);
    if (!files.length) return;
    showErrors($("#load-errors"), []);
    let text;
    let label;
    try {
      if (files.length === 1 && /\.json$/i.test(files[0].name)) {
        text = await files[0].text();
        label = files[0].name;
        try {
          JSON.parse(text);
        } catch (e) {
          showErrors($("#load-errors"), [{ path: files[0].name, message: `not valid JSON: ${e.message}` }],
            "The file could not be read:");
          return;
        }
      } else {
        status($("#load-status"), "Reading the tables…");
        const form = new FormData();
        for (const f of files) form.append("files", f, f.name);
        text = await (await api("POST", "/ui/tables", { body: form, raw: true })).text();
        label = files.map((f) => f.name).join(", ");
      }
    } catch (err) {
      status($("#load-status"), "");
      if (err.status !== 401) showErrors($("#load-errors"), err.errors, "The tables could not be read:");
      return;
    }
    S.inputText = text;
    S.input = JSON.parse(text);
    S.inputLabel = label;
    S.baseline = null;
    $("#run-select").value = "";
    await computeBaseline();
  }

  function simulationBody(scenarios) {
    // the input goes as it was loaded, byte for byte: JSON.parse would turn its numbers into floats
    return `{"input":${S.inputText},"rules":${JSON.stringify(S.base.ref)},"scenarios":${JSON.stringify(scenarios)}}`;
  }

  async function computeBaseline() {
    status($("#load-status"), "Computing the baseline…");
    hideResults();
    try {
      const out = await api("POST", "/v1/simulations", { json: simulationBody([]) });
      S.baseline = { name: "Baseline", result: out.result };
      status($("#load-status"), `Loaded ${S.inputLabel}: period ${out.result.period.id}, `
        + `${out.result.totals.people} people with lines, paid ${group(out.result.totals.paid)} ${out.result.ruleset.currency}.`);
      renderOverview();
    } catch (err) {
      status($("#load-status"), "");
      $("#overview").hidden = true;
      $("#scenarios").hidden = true;
      if (err.status !== 401) showErrors($("#load-errors"), err.errors, "The period input was refused:");
    }
  }

  async function loadRun() {
    const runId = $("#run-select").value;
    if (!runId) return;
    showErrors($("#load-errors"), []);
    status($("#load-status"), `Loading run ${runId}…`);
    try {
      const id = encodeURIComponent(runId);
      const [run, inputResponse, rules] = await Promise.all([
        api("GET", `/v1/runs/${id}`),
        api("GET", `/v1/runs/${id}/input`, { raw: true }),
        api("GET", `/ui/runs/${id}/ruleset`),
      ]);
      const text = await inputResponse.text();
      const bundled = S.rulesets.find((r) => r.id === rules.id && r.sha256 === rules.sha256);
      if (bundled) $("#ruleset-select").value = bundled.id;
      await setBase({ ref: bundled ? bundled.id : rules.canonical, canonical: rules.canonical, id: rules.id,
        version: rules.version, sha256: rules.sha256,
        label: `${rules.id} v${rules.version} (of run ${runId}${bundled ? ", bundled" : ""})` }, false);
      S.inputText = text;
      S.input = JSON.parse(text);
      S.inputLabel = `the input of run ${runId}`;
      S.baseline = { name: `Run ${runId}`, result: run.result, runId };
      hideResults();
      status($("#load-status"), `Run ${runId} of period ${run.period_id} (${run.status}, closed by ${run.closed_by} `
        + `at ${run.created_at}) is the baseline.`);
      renderOverview();
    } catch (err) {
      status($("#load-status"), "");
      if (err.status !== 401) showErrors($("#load-errors"), err.errors, `Run ${runId} could not be loaded:`);
    }
  }

  function hideResults() {
    S.scenarios = [];
    $("#compare").hidden = true;
    $("#waterfall").hidden = true;
  }

  // ---------------------------------------------------------------------------------------
  // the period: projects with pools and events, people with amounts

  function unitPlaces(doc) { return Dec.places(doc.ruleset.unit || "0.01"); }

  function statementUrl(runId, personId) {
    return `/ui/runs/${encodeURIComponent(runId)}/people/${encodeURIComponent(personId)}/statement`;
  }

  function statementLink(runId, personId, text) {
    const url = statementUrl(runId, personId);
    // window.open keeps this tab's sessionStorage (the key) for the new tab; a plain target=_blank does not
    return el("a", { href: url, class: "statement-link", onclick: (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
      ev.preventDefault();
      window.open(url, "_blank");
    } }, text);
  }

  function renderOverview() {
    const doc = S.baseline.result;
    const cur = doc.ruleset.currency;
    const dl = clear($("#overview-summary"));
    const add = (k, ...v) => dl.append(el("div", {}, el("dt", { text: k }), el("dd", {}, ...v)));
    add("Period", `${doc.period.id} (${doc.period.start} to ${doc.period.end})`);
    add("Input", `${S.inputLabel} · sha256 `, el("span", { id: "overview-input-sha", title: doc.input_sha256,
      dataset: { value: doc.input_sha256 }, text: doc.input_sha256.slice(0, 12) }));
    add("Baseline", S.baseline.runId ? `stored result of run ${S.baseline.runId}` : `computed with ${S.base.label}`);
    add("Pools", el("span", { class: "money", dataset: { value: doc.totals.pools }, text: `${group(doc.totals.pools)} ${cur}` }));
    add("Paid", el("span", { class: "money", id: "overview-paid", dataset: { value: doc.totals.paid }, text: `${group(doc.totals.paid)} ${cur}` }));
    add("Forfeited", el("span", { class: "money", dataset: { value: doc.totals.forfeited }, text: `${group(doc.totals.forfeited)} ${cur}` }));
    add("Lines and people", `${doc.totals.lines} lines, ${doc.totals.people} people`);

    const pbody = clear($("#projects-table tbody"));
    for (const p of doc.projects) {
      const events = el("ul", { class: "events" });
      for (const e of p.events || []) {
        events.append(el("li", {}, `${e.kind} ${e.date}: `, el("span", { class: "money", text: group(e.amount) }),
          ` (base ${group(e.base)} × ${e.margin_multiplier} × ${e.type_multiplier})`));
      }
      if (!(p.events || []).length) events.append(el("li", { class: "muted", text: p.won_on ? "none in the period" : "not won" }));
      const forfeits = (p.forfeited || []).map((f) => `${REASONS[f.reason] || f.reason} ${group(f.amount)}`).join(", ");
      pbody.append(el("tr", { dataset: { project: p.project_id } },
        el("th", { scope: "row" }, el("span", { class: "id", text: p.project_id }), p.name ? ` ${p.name}` : "",
          el("br"), el("small", { class: "muted", text: [p.customer, p.type, p.won_on ? `won ${p.won_on}` : "not won"].filter(Boolean).join(" · ") })),
        el("td", {}, events),
        el("td", { class: "num", dataset: { col: "pool", value: p.pool }, text: group(p.pool) }),
        el("td", { class: "num", dataset: { col: "paid", value: p.paid }, text: group(p.paid) }),
        el("td", { class: "num", dataset: { col: "forfeited", value: p.forfeited_total }, title: forfeits || null },
          group(p.forfeited_total), forfeits ? el("small", { class: "muted block", text: forfeits }) : null)));
    }

    const lines = new Map();
    for (const ln of doc.lines) {
      if (!lines.has(ln.person_id)) lines.set(ln.person_id, []);
      lines.get(ln.person_id).push(`${ln.project_id} ${ln.role}`);
    }
    const body = clear($("#people-table tbody"));
    for (const p of doc.people) {
      const who = [el("span", { class: "id", text: p.person_id }), p.name ? ` ${p.name}` : ""];
      body.append(el("tr", { dataset: { person: p.person_id } },
        el("th", { scope: "row" }, S.baseline.runId ? statementLink(S.baseline.runId, p.person_id, who) : who,
          p.leaver ? el("small", { class: "tag", text: "leaver" }) : null),
        el("td", { text: p.cost_center || "" }),
        el("td", { class: "small", text: (lines.get(p.person_id) || []).join(", ") }),
        el("td", { class: "num", dataset: { col: "total", value: p.total }, text: group(p.total) }),
        el("td", { class: "num", text: p.cap === null ? "none" : group(p.cap) })));
    }
    $("#overview").hidden = false;
    $("#scenarios").hidden = false;
  }

  // ---------------------------------------------------------------------------------------
  // scenario cards: the levers

  function baseValue(path) {
    const [table, key] = path.split(".");
    const t = S.base.canonical[table] || {};
    if (t[key] !== undefined) return String(t[key]);
    return DEFAULTS[path];
  }

  function resetCards() {
    clear($("#scenario-cards"));
    S.cards = [];
    addCard();
  }

  function nextLetter() {
    const used = new Set(S.cards.map((c) => c.letter));
    return LETTERS.find((l) => !used.has(l));
  }

  function wireField(card, field, uid) {
    const input = field.querySelector("[data-path]");
    const path = input.dataset.path;
    const id = `${uid}-${path.replace(/[^A-Za-z0-9]+/g, "-")}`;
    input.id = id;
    const label = field.querySelector("label[data-for]");
    if (label) label.htmlFor = id;
    const described = [];
    const help = field.querySelector("[data-help-for]");
    if (help) { help.id = `${id}-help`; described.push(help.id); }
    const error = field.querySelector("[data-error-for]");
    if (error) { error.id = `${id}-error`; described.push(error.id); }
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
  }

  function weightField(table, name, value) {
    const path = `${table}.${name}`;
    return el("div", { class: "field weight", dataset: { field: path } },
      el("label", { "data-for": path, text: name }),
      el("input", { type: "text", inputmode: "decimal", autocomplete: "off", spellcheck: "false", "data-path": path,
        value }),
      el("p", { class: "help", "data-help-for": path }, "base ", el("span", { class: "base-value", text: value })),
      el("p", { class: "field-error", "data-error-for": path }));
  }

  function addCard() {
    if (S.cards.length >= MAX_SCENARIOS || !S.base) return;
    const letter = nextLetter();
    const uid = `s${++S.cardSeq}`;
    const node = $("#scenario-template").content.firstElementChild.cloneNode(true);
    node.dataset.card = uid;
    const canonical = S.base.canonical;
    for (const table of ["roles", "stages"]) {
      const box = node.querySelector(`[data-group="${table}"] .weight-fields`);
      for (const [name, value] of Object.entries(canonical[table] || {})) box.append(weightField(table, name, String(value)));
      const groupError = node.querySelector(`[data-error-for="${table}"]`);
      groupError.id = `${uid}-${table}-error`;
      node.querySelector(`[data-group="${table}"]`).setAttribute("aria-describedby", groupError.id);
    }
    for (const field of node.querySelectorAll(".field")) if (field.querySelector("[data-path]")) wireField(node, field, uid);
    node.querySelector('[data-path="name"]').value = `Scenario ${letter}`;
    for (const path of SCALARS) {
      const input = node.querySelector(`[data-path="${path}"]`);
      const v = baseValue(path);
      input.value = v === undefined ? "" : v;
      const shown = node.querySelector(`[data-help-for="${path}"] .base-value`);
      if (shown) shown.textContent = `Base: ${v === undefined ? "none" : shown.closest(".field").querySelector("select") ? input.selectedOptions[0]?.textContent || v : v}.`;
    }
    const card = { uid, letter, node, timer: null, seq: 0 };
    node.setAttribute("aria-label", `Scenario ${letter}`);
    node.querySelector(".remove-scenario").addEventListener("click", () => removeCard(card));
    node.addEventListener("input", (ev) => { if (ev.target.matches("[data-path]")) scheduleValidation(card); });
    node.addEventListener("change", (ev) => { if (ev.target.matches("select[data-path]")) scheduleValidation(card); });
    S.cards.push(card);
    $("#scenario-cards").append(node);
    updateCardButtons();
    return card;
  }

  function removeCard(card) {
    S.cards = S.cards.filter((c) => c !== card);
    card.node.remove();
    updateCardButtons();
    $("#add-scenario").focus();
  }

  function updateCardButtons() {
    $("#add-scenario").disabled = S.cards.length >= MAX_SCENARIOS;
    $("#run-scenarios").disabled = S.cards.length === 0;
    for (const c of S.cards) c.node.querySelector(".remove-scenario").hidden = S.cards.length <= 1;
  }

  function value(card, path) { return card.node.querySelector(`[data-path="${CSS.escape(path)}"]`).value.trim(); }

  function same(a, b) {
    if (b === undefined) return a === "";
    try { return Dec.cmp(a, b) === 0; } catch (_) { return String(a) === String(b); }
  }

  function jsonValue(path, v) {
    if (path === "split.lookback_days" && /^\d+$/.test(v)) return Number(v);
    return v; // decimal text: the service reads it exactly
  }

  /** the scenario's rules_patch: only what differs from the base rule set */
  function cardPatch(card) {
    const patch = {};
    const put = (table, key, v) => { (patch[table] = patch[table] || {})[key] = v; };
    for (const path of SCALARS) {
      const [table, key] = path.split(".");
      const v = value(card, path);
      const b = (S.base.canonical[table] || {})[key];
      if (CAPS.includes(path) && v === "") {
        if (b !== undefined) put(table, key, null);
        continue;
      }
      const bv = b === undefined ? DEFAULTS[path] : String(b);
      if (!same(v, bv)) put(table, key, jsonValue(path, v));
    }
    for (const table of ["roles", "stages"]) {
      const names = Object.keys(S.base.canonical[table] || {});
      const values = Object.fromEntries(names.map((n) => [n, value(card, `${table}.${n}`)]));
      if (names.some((n) => !same(values[n], String(S.base.canonical[table][n])))) patch[table] = values;
    }
    return patch;
  }

  /** the base rule set with the patch merged in, as the service does (null removes a key) */
  function merged(base, patch) {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else if (v && typeof v === "object" && !Array.isArray(v) && out[k] && typeof out[k] === "object"
        && !["roles", "stages", "project_types"].includes(k)) out[k] = merged(out[k], v);
      else out[k] = v;
    }
    return out;
  }

  function describePatch(patch) {
    const parts = [];
    for (const [table, body] of Object.entries(patch)) {
      if (table === "roles" || table === "stages") {
        const changed = Object.entries(body).filter(([n, v]) => !same(v, String(S.base.canonical[table][n])));
        parts.push(`${table}: ${changed.map(([n, v]) => `${n} ${S.base.canonical[table][n]} → ${v}`).join(", ")}`);
        continue;
      }
      for (const [key, v] of Object.entries(body)) {
        const path = `${table}.${key}`;
        parts.push(`${path} ${baseValue(path) ?? "none"} → ${v === null ? "none" : v}`);
      }
    }
    return parts.length ? `Changed: ${parts.join("; ")}.` : "Same as the base rule set.";
  }

  function scheduleValidation(card) {
    clearTimeout(card.timer);
    card.timer = setTimeout(() => validateCard(card), 250);
  }

  async function validateCard(card) {
    const seq = ++card.seq;
    const patch = cardPatch(card);
    card.node.querySelector(".changes").textContent = describePatch(patch);
    const errors = [];
    if (!value(card, "name")) errors.push({ path: "name", message: "give the scenario a name" });
    try {
      await api("POST", "/v1/rulesets/validate", { json: { rules: merged(S.base.canonical, patch) } });
    } catch (err) {
      if (err.status === 401) return false;
      for (const e of err.errors) errors.push({ path: e.path.replace(/^rules\.?/, ""), message: e.message });
    }
    if (seq !== card.seq) return null; // a newer edit is being checked
    showFieldErrors(card, errors);
    return errors.length === 0;
  }

  function showFieldErrors(card, errors) {
    for (const node of card.node.querySelectorAll("[data-error-for]")) node.textContent = "";
    for (const input of card.node.querySelectorAll("[data-path]")) input.removeAttribute("aria-invalid");
    card.node.classList.toggle("has-errors", errors.length > 0);
    const targets = $$("[data-error-for]", card.node).map((n) => n.dataset.errorFor).filter((k) => k !== "*");
    for (const e of errors) {
      const path = e.path || "";
      let best = null;
      for (const key of targets) {
        if (path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`)) {
          if (!best || key.length > best.length) best = key;
        }
      }
      const box = card.node.querySelector(`[data-error-for="${CSS.escape(best || "*")}"]`);
      const msg = best === path || !path ? e.message : `${path}: ${e.message}`;
      box.textContent = box.textContent ? `${box.textContent} ${msg}` : msg;
      const input = best && card.node.querySelector(`[data-path="${CSS.escape(best)}"]`);
      if (input) input.setAttribute("aria-invalid", "true");
      else if (best) for (const i of card.node.querySelectorAll(`[data-path^="${CSS.escape(best)}."]`)) i.setAttribute("aria-invalid", "true");
    }
  }

  // ---------------------------------------------------------------------------------------
  // running the scenarios

  async function runScenarios() {
    showErrors($("#run-errors"), []);
    if (!S.cards.length || !S.inputText) return;
    const checks = await Promise.all(S.cards.map(validateCard));
    if (checks.some((ok) => ok === false)) {
      status($("#run-status"), "");
      showErrors($("#run-errors"), [{ path: "", message: "fix the values marked in the scenarios first" }],
        "The scenarios cannot run yet:");
      const first = $("[aria-invalid=true]", $("#scenario-cards"));
      if (first) first.focus();
      return;
    }
    const scenarios = S.cards.map((c) => ({ name: value(c, "name"), rules_patch: cardPatch(c) }));
    status($("#run-status"), `Running ${scenarios.length} scenario${scenarios.length > 1 ? "s" : ""}…`);
    $("#run-scenarios").disabled = true;
    try {
      const out = await api("POST", "/v1/simulations", { json: simulationBody(scenarios) });
      if (!S.baseline.runId) S.baseline = { name: "Baseline", result: out.result };
      S.scenarios = out.scenarios.map((s, k) => ({ name: s.name, result: s.result, sha256: s.ruleset_sha256,
        patch: scenarios[k].rules_patch, apiDeltas: s.deltas }));
      status($("#run-status"), `Ran ${S.scenarios.length} scenario${S.scenarios.length > 1 ? "s" : ""}: `
        + S.scenarios.map((s) => `${s.name} paid ${group(s.result.totals.paid)}`).join(", ") + ".");
      renderCompare();
      renderWaterfall(true);
    } catch (err) {
      status($("#run-status"), "");
      if (err.status === 401) return;
      const general = [];
      for (const e of err.errors) {
        const m = /^scenarios\[(\d+)\](?:\.(rules_patch|name))?\.?(.*)$/.exec(e.path || "");
        const card = m && S.cards[Number(m[1])];
        if (card) {
          const path = m[2] === "name" ? "name" : m[3];
          showFieldErrors(card, [{ path, message: e.message }]);
        }
        general.push(e);
      }
      showErrors($("#run-errors"), general, "The simulation was refused:");
    } finally {
      $("#run-scenarios").disabled = false;
    }
  }

  // ---------------------------------------------------------------------------------------
  // comparison: side by side, per-person (or per-line) deltas, sortable and filterable

  function results() { return [S.baseline, ...S.scenarios]; }

  function buildRows(view) {
    const rows = new Map();
    const all = results();
    const personInfo = new Map();
    all.forEach((r) => { for (const p of r.result.people) if (!personInfo.has(p.person_id)) personInfo.set(p.person_id, p); });
    const row = (key, init) => { if (!rows.has(key)) rows.set(key, { key, amounts: all.map(() => null), pairs: new Set(), ...init }); return rows.get(key); };
    all.forEach((r, k) => {
      if (view === "people") {
        for (const p of r.result.people) row(p.person_id, { person: p.person_id }).amounts[k] = p.total;
        for (const ln of r.result.lines) row(ln.person_id, { person: ln.person_id }).pairs.add(`${ln.project_id}\u0000${ln.role}`);
      } else {
        for (const ln of r.result.lines) {
          const x = row(`${ln.person_id}/${ln.project_id}/${ln.role}`, { person: ln.person_id, project: ln.project_id, role: ln.role });
          x.amounts[k] = ln.amount;
          x.pairs.add(`${ln.project_id}\u0000${ln.role}`);
        }
      }
    });
    const places = unitPlaces(S.baseline.result);
    const zero = Dec.str(Dec.zero, places);
    for (const x of rows.values()) {
      const info = personInfo.get(x.person) || {};
      x.name = info.name || "";
      x.cc = info.cost_center || "";
      x.leaver = !!info.leaver;
      x.deltas = x.amounts.map((a, k) => (k === 0 ? null : Dec.str(Dec.sub(a ?? zero, x.amounts[0] ?? zero), places)));
      x.changed = x.deltas.some((d) => d !== null && !Dec.isZero(d));
      x.lines = Array.from(x.pairs).map((p) => p.replace("\u0000", " ")).sort().join(", ");
    }
    return Array.from(rows.values());
  }

  function filterRows(rows, view) {
    const project = $("#filter-project").value;
    const role = $("#filter-role").value;
    const cc = $("#filter-cc").value;
    const text = $("#filter-text").value.trim().toLowerCase();
    const changedOnly = $("#filter-changed").checked;
    return rows.filter((x) => {
      if (cc && x.cc !== cc) return false;
      if (text && !x.person.toLowerCase().includes(text) && !x.name.toLowerCase().includes(text)) return false;
      if (changedOnly && !x.changed) return false;
      if (view === "lines") return (!project || x.project === project) && (!role || x.role === role);
      if (project || role) {
        return Array.from(x.pairs).some((p) => {
          const [pj, r] = p.split("\u0000");
          return (!project || pj === project) && (!role || r === role);
        });
      }
      return true;
    });
  }

  function sortValue(x, key) {
    if (key === "person") return x.person;
    if (key === "name") return x.name;
    if (key === "cc") return x.cc;
    if (key === "project") return x.project || "";
    if (key === "role") return x.role || "";
    const [kind, k] = key.split("-");
    return (kind === "amount" ? x.amounts : x.deltas)[Number(k)] ?? "0";
  }

  function sortRows(rows) {
    const { key, dir } = S.sort;
    const numeric = key.startsWith("amount-") || key.startsWith("delta-");
    return rows.slice().sort((a, b) => {
      const va = sortValue(a, key);
      const vb = sortValue(b, key);
      const c = numeric ? Dec.cmp(va, vb) : String(va).localeCompare(String(vb));
      return c * dir || a.key.localeCompare(b.key);
    });
  }

  function currentView() { return $("#filters").elements.view.value; }

  function fillFilter(select, values, allText) {
    const keep = select.value;
    clear(select).append(el("option", { value: "", text: allText }));
    for (const v of values) select.append(el("option", { value: v, text: v }));
    select.value = values.includes(keep) ? keep : "";
  }

  function resultCard(r, k) {
    const doc = r.result;
    const cur = doc.ruleset.currency;
    const card = el("article", { class: "card result-card", dataset: { result: String(k) }, "aria-label": r.name });
    card.append(el("h3", { text: r.name }));
    const dl = el("dl", { class: "summary compact" });
    const add = (label, node) => dl.append(el("div", {}, el("dt", { text: label }), el("dd", {}, node)));
    add("Paid", el("span", { class: "money", dataset: { col: "paid", value: doc.totals.paid }, text: `${group(doc.totals.paid)} ${cur}` }));
    add("Forfeited", el("span", { class: "money", dataset: { col: "forfeited", value: doc.totals.forfeited }, text: `${group(doc.totals.forfeited)} ${cur}` }));
    if (k > 0) {
      const d = Dec.str(Dec.sub(doc.totals.paid, S.baseline.result.totals.paid), unitPlaces(doc));
      add("Paid vs baseline", el("span", { class: `money delta ${deltaClass(d)}`, dataset: { col: "paid-delta", value: d }, text: signed(d) }));
      const people = buildPeopleDeltaCounts(k);
      add("People", `${people.up} up, ${people.down} down, ${people.same} unchanged`);
      card.append(el("p", { class: "help", text: describePatch(r.patch) }));
    } else {
      add("Rule set", `${doc.ruleset.id} v${doc.ruleset.version}`);
      add("People", `${doc.totals.people} with lines`);
    }
    card.insertBefore(dl, card.children[1] || null);
    const tomlName = `${doc.ruleset.id}${k > 0 ? `-${slug(r.name)}` : ""}.toml`;
    card.append(el("div", { class: "downloads", role: "group", "aria-label": `Downloads for ${r.name}` },
      el("button", { type: "button", class: "small", dataset: { download: "toml" }, onclick: () => downloadToml(r, k, tomlName) }, "Rule set (TOML)"),
      el("button", { type: "button", class: "small", dataset: { download: "json" }, onclick: () => download(`result-${slug(r.name)}.json`, `${JSON.stringify(doc, null, 2)}\n`, "application/json") }, "Result (JSON)"),
      el("button", { type: "button", class: "small", dataset: { download: "csv" }, onclick: () => download(`result-${slug(r.name)}.csv`, resultCsv(r), "text/csv") }, "Result (CSV)")));
    return card;
  }

  function buildPeopleDeltaCounts(k) {
    const base = new Map(S.baseline.result.people.map((p) => [p.person_id, p.total]));
    const now = new Map(results()[k].result.people.map((p) => [p.person_id, p.total]));
    let up = 0; let down = 0; let same = 0;
    for (const id of new Set([...base.keys(), ...now.keys()])) {
      const c = Dec.cmp(now.get(id) ?? "0", base.get(id) ?? "0");
      if (c > 0) up++; else if (c < 0) down++; else same++;
    }
    return { up, down, same };
  }

  function slug(text) { return String(text).replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "result"; }

  function deltaClass(d) { const s = Dec.sign(d); return s > 0 ? "up" : s < 0 ? "down" : "same"; }

  async function downloadToml(r, k, filename) {
    try {
      const response = await api("POST", "/ui/rulesets/toml", { raw: true,
        json: { rules: S.base.ref, rules_patch: k > 0 ? r.patch : {}, name: k > 0 ? r.name : null } });
      download(filename, await response.text(), "application/toml");
    } catch (err) {
      if (err.status !== 401) showErrors($("#run-errors"), err.errors, "The rule set could not be written:");
    }
  }

  function csvCell(v) {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  function resultCsv(r) {
    const doc = r.result;
    const people = new Map(doc.people.map((p) => [p.person_id, p]));
    const head = ["scenario", "period_id", "ruleset_id", "ruleset_version", "ruleset_sha256", "person_id", "name",
      "cost_center", "project_id", "role", "ideal", "final_unrounded", "amount", "currency", "binding"];
    const out = [head.join(",")];
    for (const ln of doc.lines) {
      const p = people.get(ln.person_id) || {};
      out.push([r.name, doc.period.id, doc.ruleset.id, doc.ruleset.version, doc.ruleset.sha256, ln.person_id, p.name,
        p.cost_center, ln.project_id, ln.role, ln.ideal, ln.final_unrounded, ln.amount, doc.ruleset.currency,
        (ln.binding || []).join(" ")].map(csvCell).join(","));
    }
    return `${out.join("\r\n")}\r\n`;
  }

  function renderCompare() {
    const cards = clear($("#result-cards"));
    results().forEach((r, k) => cards.append(resultCard(r, k)));
    const projects = new Set(); const roles = new Set(); const ccs = new Set();
    for (const r of results()) {
      for (const ln of r.result.lines) { projects.add(ln.project_id); roles.add(ln.role); }
      for (const p of r.result.people) if (p.cost_center) ccs.add(p.cost_center);
    }
    fillFilter($("#filter-project"), Array.from(projects).sort(), "all projects");
    fillFilter($("#filter-role"), Array.from(roles).sort(), "all roles");
    fillFilter($("#filter-cc"), Array.from(ccs).sort(), "all cost centers");
    $("#compare").hidden = false;
    renderTable();
  }

  function sortHeader(key, text, numeric) {
    const active = S.sort.key === key;
    const dir = active ? (S.sort.dir > 0 ? "ascending" : "descending") : "none";
    return el("th", { scope: "col", class: numeric ? "num" : null, "aria-sort": dir },
      el("button", { type: "button", class: "sort", dataset: { sort: key },
        onclick: () => {
          S.sort = { key, dir: S.sort.key === key ? -S.sort.dir : numeric ? -1 : 1 };
          renderTable();
          const again = $(`#compare-table button[data-sort="${key}"]`);
          if (again) again.focus();
        } },
      text, el("span", { class: "sort-mark", "aria-hidden": "true", text: active ? (S.sort.dir > 0 ? " ▲" : " ▼") : "" })));
  }

  function renderTable() {
    const view = currentView();
    const all = results();
    const places = unitPlaces(S.baseline.result);
    const rows = sortRows(filterRows(buildRows(view), view));
    const head = clear($("#compare-table thead"));
    const cols = [sortHeader("person", "Person"), sortHeader("cc", "Cost center")];
    if (view === "lines") cols.push(sortHeader("project", "Project"), sortHeader("role", "Role"));
    else cols.push(el("th", { scope: "col", text: "Projects and roles" }));
    all.forEach((r, k) => {
      cols.push(sortHeader(`amount-${k}`, r.name, true));
      if (k > 0) cols.push(sortHeader(`delta-${k}`, `Δ ${r.name}`, true));
    });
    cols.push(el("th", { scope: "col", text: "Why" }));
    head.append(el("tr", {}, cols));

    const body = clear($("#compare-table tbody"));
    const sums = all.map(() => Dec.zero);
    const dsums = all.map(() => Dec.zero);
    for (const x of rows) {
      const cells = [
        el("th", { scope: "row" },
          S.baseline.runId ? statementLink(S.baseline.runId, x.person, el("span", { class: "id", text: x.person })) : el("span", { class: "id", text: x.person }),
          x.name ? ` ${x.name}` : "", x.leaver ? el("small", { class: "tag", text: "leaver" }) : null),
        el("td", { text: x.cc }),
      ];
      if (view === "lines") cells.push(el("td", { text: x.project }), el("td", { text: x.role }));
      else cells.push(el("td", { class: "small", text: x.lines }));
      all.forEach((r, k) => {
        const a = x.amounts[k];
        if (a !== null) sums[k] = Dec.add(sums[k], a);
        cells.push(el("td", { class: `num${a === null ? " muted" : ""}`, dataset: { col: `amount-${k}`, value: a ?? "" },
          title: a === null ? "no line in this result" : null, text: a === null ? "–" : group(a) }));
        if (k > 0) {
          const d = x.deltas[k];
          dsums[k] = Dec.add(dsums[k], d);
          cells.push(el("td", { class: `num delta ${deltaClass(d)}`, dataset: { col: `delta-${k}`, value: d }, text: signed(d) }));
        }
      });
      cells.push(el("td", {}, el("button", { type: "button", class: "small why",
        "aria-label": `Why: statement of ${x.person}`, onclick: () => openWhy(x.person) }, "Why?")));
      body.append(el("tr", { dataset: { key: x.key, person: x.person } }, cells));
    }
    const foot = clear($("#compare-table tfoot"));
    const fcells = [el("th", { scope: "row", colspan: view === "lines" ? 4 : 3, text: `Sum of the ${rows.length} rows shown` })];
    all.forEach((r, k) => {
      const s = Dec.str(sums[k], places);
      fcells.push(el("td", { class: "num", dataset: { col: `sum-${k}`, value: s }, text: group(s) }));
      if (k > 0) {
        const d = Dec.str(dsums[k], places);
        fcells.push(el("td", { class: `num delta ${deltaClass(d)}`, dataset: { col: `dsum-${k}`, value: d }, text: signed(d) }));
      }
    });
    fcells.push(el("td"));
    foot.append(el("tr", {}, fcells));
    const total = view === "lines" ? new Set(all.flatMap((r) => r.result.lines.map((l) => l.line_id))).size
      : new Set(all.flatMap((r) => r.result.people.map((p) => p.person_id))).size;
    status($("#compare-caption"), `${rows.length} of ${total} ${view === "lines" ? "lines" : "people"} shown; `
      + `amounts in ${S.baseline.result.ruleset.currency}${view === "people" ? " (period totals)" : ""}; `
      + "Δ is the scenario minus the baseline.");
  }

  // ---------------------------------------------------------------------------------------
  // waterfall: pool -> ideal split -> caps and redistribution -> rounding -> paid and forfeited

  function waterfallSteps(doc, projectId) {
    const p = doc.projects.find((x) => x.project_id === projectId);
    const lines = doc.lines.filter((ln) => ln.project_id === projectId);
    const places = unitPlaces(doc);
    const splitForfeit = {};
    for (const e of p.events || []) {
      for (const [reason, amount] of Object.entries(e.forfeited_unrounded || {})) {
        splitForfeit[reason] = Dec.add(splitForfeit[reason] || Dec.zero, amount);
      }
    }
    const ideal = Dec.sum(lines.map((l) => l.ideal));
    const cut = Dec.sum(lines.map((l) => Dec.min0(l.optimizer_adjustment)));
    const uplift = Dec.sum(lines.map((l) => Dec.max0(l.optimizer_adjustment)));
    const final = Dec.sum(lines.map((l) => l.final_unrounded));
    const rounding = Dec.sub(p.paid, final);
    const steps = [{ label: "Pool", kind: "total", value: Dec.parse(p.pool_unrounded ?? p.pool),
      source: `the events' amounts (pool_unrounded; rounded pool ${p.pool})` }];
    for (const [reason, amount] of Object.entries(splitForfeit)) {
      if (!Dec.isZero(amount)) steps.push({ label: `Not split: ${REASONS[reason] || reason}`, kind: "down", value: Dec.neg(amount), source: `events' forfeited_unrounded.${reason}` });
    }
    steps.push({ label: "Ideal split", kind: "subtotal", value: ideal, source: `Σ ideal of ${lines.length} lines` });
    if (!Dec.isZero(cut)) steps.push({ label: "Cut by caps and leavers", kind: "down", value: cut, source: "Σ negative optimizer_adjustment" });
    if (!Dec.isZero(uplift)) steps.push({ label: "Redistributed", kind: "up", value: uplift, source: "Σ positive optimizer_adjustment" });
    steps.push({ label: "After caps", kind: "subtotal", value: final, source: "Σ final_unrounded" });
    steps.push({ label: "Rounding", kind: Dec.sign(rounding) < 0 ? "down" : "up", value: rounding, source: `paid − Σ final_unrounded (unit ${doc.ruleset.unit})` });
    steps.push({ label: "Paid", kind: "total", value: Dec.parse(p.paid), source: "paid" });
    steps.push({ label: "Forfeited", kind: "forfeit", value: Dec.parse(p.forfeited_total), source: (p.forfeited || []).length
      ? `forfeited: ${p.forfeited.map((f) => `${f.reason} ${f.amount}`).join(", ")}` : "forfeited (none)" });
    return { project: p, steps, places };
  }

  function renderWaterfall(reset) {
    const all = results();
    const psel = $("#wf-project");
    const rsel = $("#wf-result");
    if (reset) {
      const keepP = psel.value;
      const keepR = rsel.value;
      clear(psel);
      const byPool = S.baseline.result.projects.slice().sort((a, b) => Dec.cmp(b.pool, a.pool) || a.project_id.localeCompare(b.project_id));
      for (const p of S.baseline.result.projects) {
        psel.append(el("option", { value: p.project_id, text: `${p.project_id}${p.name ? ` · ${p.name}` : ""} (pool ${group(p.pool)})` }));
      }
      psel.value = S.baseline.result.projects.some((p) => p.project_id === keepP) ? keepP : (byPool[0] || {}).project_id || "";
      clear(rsel);
      all.forEach((r, k) => rsel.append(el("option", { value: String(k), text: r.name })));
      rsel.value = keepR && Number(keepR) < all.length ? keepR : String(all.length > 1 ? 1 : 0);
    }
    const r = all[Number(rsel.value)];
    const chart = clear($("#wf-chart"));
    const tbody = clear($("#wf-table tbody"));
    if (!r || !psel.value || !r.result.projects.some((p) => p.project_id === psel.value)) {
      chart.append(el("p", { class: "muted", text: "This project is not in that result." }));
      $("#waterfall").hidden = false;
      return;
    }
    const { project, steps, places } = waterfallSteps(r.result, psel.value);
    const cur = r.result.ruleset.currency;
    $("#wf-caption").textContent = `${project.project_id}${project.name ? ` ${project.name}` : ""} under ${r.name}, in ${cur}. `
      + `Pool ${project.pool} = paid ${project.paid} + forfeited ${project.forfeited_total}`
      + `${project.reconciles === false ? " (does NOT reconcile)" : " (reconciles to the cent)"}.`;
    // running totals and bar geometry (floats only for drawing)
    let running = Dec.zero;
    const bars = steps.map((s) => {
      let from; let to;
      if (s.kind === "total" || s.kind === "subtotal") { from = Dec.zero; to = s.value; running = s.value; }
      else if (s.kind === "forfeit") { from = running; to = Dec.add(running, s.value); }
      else { from = running; to = Dec.add(running, s.value); running = to; }
      return { ...s, from, to, running: s.kind === "forfeit" ? to : running };
    });
    for (const b of bars) {
      const shown = Dec.str(b.value, Math.max(places, Dec.parse(b.value).s));
      tbody.append(el("tr", { class: `wf-${b.kind}`, dataset: { step: b.label } },
        el("th", { scope: "row", text: b.label }),
        el("td", { class: "num", dataset: { value: shown }, text: b.kind === "down" || b.kind === "up" ? signed(shown) : group(shown) }),
        el("td", { class: "num", text: group(Dec.str(b.running, Math.max(places, Dec.parse(b.running).s))) }),
        el("td", { class: "small", text: b.source })));
    }
    chart.append(drawWaterfall(bars, places, `${project.project_id} under ${r.name}`));
    $("#waterfall").hidden = false;
  }

  function drawWaterfall(bars, places, title) {
    const W = 760; const H = 330; const top = 28; const bottom = 64; const left = 8; const right = 8;
    const max = Math.max(1e-9, ...bars.map((b) => Math.max(Dec.approx(b.from), Dec.approx(b.to))));
    const y = (v) => top + (H - top - bottom) * (1 - v / max);
    const slot = (W - left - right) / bars.length;
    const bw = Math.min(64, slot * 0.62);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "wf-svg-title", class: "waterfall" },
      svg("title", { id: "wf-svg-title", text: `Waterfall of ${title}: ${bars.map((b) => `${b.label} ${Dec.str(b.value, places)}`).join(", ")}` }));
    root.append(svg("line", { x1: left, x2: W - right, y1: y(0), y2: y(0), class: "axis" }));
    bars.forEach((b, i) => {
      const x = left + slot * i + (slot - bw) / 2;
      const y1 = y(Math.max(Dec.approx(b.from), Dec.approx(b.to)));
      const y2 = y(Math.min(Dec.approx(b.from), Dec.approx(b.to)));
      root.append(svg("rect", { x, y: y1, width: bw, height: Math.max(1, y2 - y1), class: `bar ${b.kind}` }));
      if (i < bars.length - 1 && b.kind !== "forfeit") {
        const level = y(Dec.approx(b.kind === "total" || b.kind === "subtotal" ? b.to : b.to));
        root.append(svg("line", { x1: x + bw, x2: x + slot, y1: level, y2: level, class: "connector" }));
      }
      const text = Dec.str(b.value, places);
      root.append(svg("text", { x: x + bw / 2, y: y1 - 6, class: "value", "text-anchor": "middle",
        text: b.kind === "up" || b.kind === "down" ? signed(text) : group(text) }));
      const words = b.label.split(" ");
      const lines = [];
      for (const w of words) {
        if (lines.length && (lines[lines.length - 1] + " " + w).length <= 12) lines[lines.length - 1] += ` ${w}`;
        else lines.push(w);
      }
      const label = svg("text", { x: x + bw / 2, y: H - bottom + 16, class: "label", "text-anchor": "middle" });
      lines.slice(0, 3).forEach((ln, j) => label.append(svg("tspan", { x: x + bw / 2, dy: j ? 13 : 0, text: ln })));
      root.append(label);
    });
    return root;
  }

  // ---------------------------------------------------------------------------------------
  // "why?": a person's statement under one of the results, in a dialog

  let whyPerson = null;

  function openWhy(personId) {
    whyPerson = personId;
    const sel = clear($("#why-result"));
    results().forEach((r, k) => sel.append(el("option", { value: String(k), text: r.name })));
    sel.value = String(results().length > 1 ? 1 : 0);
    renderWhy();
    const dialog = $("#why-dialog");
    if (!dialog.open) dialog.showModal();
    $("#why-close").focus();
  }

  function renderWhy() {
    const r = results()[Number($("#why-result").value)];
    const body = $("#why-body");
    const st = Incentive.statementData(r.result, whyPerson);
    if (!st) {
      clear(body).append(el("p", { text: `${whyPerson} has no line under ${r.name}.` }));
      return;
    }
    Incentive.renderStatement(body, st, { level: 3, runId: r.runId || null, source: `${r.name} (simulation, not stored)` });
    if (r.runId) {
      body.prepend(el("p", {}, statementLink(r.runId, whyPerson, "Open the printable statement of this run")));
    }
    $("#why-title").textContent = `Statement of ${whyPerson} under ${r.name}`;
  }

  // ---------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("#ruleset-select").addEventListener("change", (ev) => selectRuleset(ev.target.value));
    $("#ruleset-file").addEventListener("change", onRulesetFile);
    $("#input-file").addEventListener("change", onInputFiles);
    $("#run-load").addEventListener("click", loadRun);
    $("#add-scenario").addEventListener("click", () => {
      const card = addCard();
      if (card) card.node.querySelector('[data-path="name"]').focus();
    });
    $("#run-scenarios").addEventListener("click", runScenarios);
    $("#filters").addEventListener("input", renderTable);
    $("#filters").addEventListener("change", renderTable);
    $("#filters").addEventListener("submit", (ev) => ev.preventDefault());
    $("#wf-project").addEventListener("change", () => renderWaterfall(false));
    $("#wf-result").addEventListener("change", () => renderWaterfall(false));
    $("#why-result").addEventListener("change", renderWhy);
    $("#why-close").addEventListener("click", () => $("#why-dialog").close());
  });
  Incentive.onReady(init);
})();
