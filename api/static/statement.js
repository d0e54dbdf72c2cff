/* A payout statement, rendered from the statement data of the API
 * (GET /v1/runs/{run_id}/people/{person_id}/statement, or Incentive.statementData(result, person)).
 * Every number is the result document's own decimal string, shown as it is: nothing is recomputed.
 */
"use strict";

(() => {
  const { el, clear } = Incentive;

  const BINDING = [
    [/^person_project_cap\[([^,\]]+),([^\]]+)\]$/, (m) => `the cap per person per project (${m[2]})`],
    [/^person_period_cap\[([^\]]+)\]$/, () => "the person's period cap"],
    [/^budget$/, () => "the period budget"],
    [/^leaver$/, () => "the leaver policy (left by the period end: forfeit)"],
    [/^scope\[([^,\]]+)\]$/, (m) => `project ${m[1]}'s money is paid out in full (what caps cut goes to the rest of the project)`],
    [/^scope\[([^,\]]+),([^\]]+)\]$/, (m) => `the money of role ${m[2]} in project ${m[1]} is paid out in full (what caps cut goes to the same role)`],
  ];

  function bindingText(b) {
    for (const [re, fn] of BINDING) {
      const m = re.exec(b);
      if (m) return fn(m);
    }
    return b;
  }

  function num(text, extra) {
    return el("td", { class: `num${extra ? ` ${extra}` : ""}`, text: text === null || text === undefined ? "" : text });
  }

  function th(text, cls) { return el("th", { scope: "col", class: cls || null, text }); }

  /** a wide table scrolls inside its own frame on a narrow screen (the page does not) */
  function scroll(table) { return el("div", { class: "table-scroll" }, table); }

  function h(level, text, attrs) { return el(`h${Math.min(6, level)}`, attrs || {}, text); }

  function eventTable(b, currency) {
    const ev = b.event || {};
    const table = el("table", { class: "data statement-parts" },
      el("caption", {},
        el("strong", { text: `Event ${b.event_id}` }),
        ` (${ev.kind || "?"}, ${b.date}): amount ${ev.amount ?? "?"} ${currency} = base ${ev.base ?? "?"}`
        + ` × margin multiplier ${ev.margin_multiplier ?? "?"} × type multiplier ${ev.type_multiplier ?? "?"};`
        + ` result part ${ev.result_part ?? "?"}, process part ${ev.process_part ?? "?"}`),
      el("thead", {}, el("tr", {}, th("Part"), th("Your effort", "num"), th("Role's effort", "num"),
        th("Role's money", "num"), th("Your amount", "num"))));
    const body = el("tbody");
    const r = b.result || {};
    body.append(el("tr", { class: "part-result" }, el("th", { scope: "row", text: "result (lookback window)" }),
      num(r.effort), num(r.role_effort), num(r.role_money), num(r.amount)));
    for (const s of b.process || []) {
      body.append(el("tr", { class: "part-process" }, el("th", { scope: "row", text: `process: ${s.stage}` }),
        num(s.effort), num(s.role_effort), num(s.role_money), num(s.amount)));
    }
    table.append(body);
    return table;
  }

  function stepsTable(ln, currency) {
    const adj = ln.optimizer_adjustment;
    const sign = adj === undefined ? 0 : Incentive.Dec.sign(adj);
    const binding = (ln.binding || []).map(bindingText);
    let capsLabel;
    if (sign < 0) capsLabel = "Cut by caps";
    else if (sign > 0) capsLabel = "Uplift: money cut from others, redistributed";
    else capsLabel = binding.length ? "Caps: at the limit, no change" : "Caps: none applied";
    const rows = [
      ["Ideal amount (the parts above, summed)", ln.ideal, "step-ideal"],
      [capsLabel, adj, "step-caps"],
      ["After caps and redistribution", ln.final_unrounded, "step-final"],
      [`Rounding to the unit${ln.rounding_unit_change > 0 ? " (one extra unit: largest remainder)"
        : ln.rounding_unit_change < 0 ? " (a unit taken back to keep a cap)" : ""}`, ln.rounding_adjustment, "step-rounding"],
    ];
    const body = el("tbody");
    for (const [label, value, cls] of rows) {
      body.append(el("tr", { class: cls }, el("th", { scope: "row", text: label }), num(value)));
    }
    if (binding.length) {
      body.append(el("tr", { class: "step-binding" }, el("td", { colspan: 2 },
        "Bound by: ", binding.join("; "), ` (${(ln.binding || []).join(", ")})`)));
    }
    body.append(el("tr", { class: "step-amount" }, el("th", { scope: "row", text: "Amount paid for this line" }),
      el("td", { class: "num line-amount", dataset: { line: ln.line_id || "" } },
        el("strong", { text: ln.amount }), ` ${currency}`)));
    return el("table", { class: "data statement-steps" },
      el("thead", {}, el("tr", {}, th("From ideal to paid"), th(currency, "num"))), body);
  }

  /**
   * Render statement data `st` into `container`.
   * opts: {level: heading level of the title (1 on the page, 2 in a dialog), runId, source}
   */
  function renderStatement(container, st, opts = {}) {
    const level = opts.level || 1;
    const cur = st.currency || "";
    const p = st.person;
    const rs = st.ruleset || {};
    clear(container);
    const article = el("article", { class: "statement", "aria-labelledby": "statement-title" });
    article.append(h(level, `Payout statement: ${p.person_id}${p.name ? ` (${p.name})` : ""}`,
      { id: "statement-title" }));
    const meta = el("dl", { class: "statement-meta" });
    const add = (k, v) => { if (v !== null && v !== undefined && v !== "") meta.append(el("dt", { text: k }), el("dd", { text: v })); };
    add("Period", `${st.period.id} (${st.period.start} to ${st.period.end})`);
    add("Cost center", p.cost_center);
    add("Rule set", `${rs.id} v${rs.version} (sha256 ${String(rs.sha256 || "").slice(0, 12)})`);
    add(opts.runId ? "Run" : "Computed", opts.runId || opts.source || "simulation (not stored)");
    add("Input", `sha256 ${String(st.input_sha256 || "").slice(0, 12)}`);
    add("Currency", cur);
    article.append(meta);

    // the summary first: what is paid, line by line, and the total
    const summary = el("section", { class: "statement-summary", "aria-labelledby": "summary-title" });
    summary.append(h(level + 1, "Summary", { id: "summary-title" }));
    const sbody = el("tbody");
    for (const ln of st.lines) {
      sbody.append(el("tr", { dataset: { line: ln.line_id || "" } },
        el("td", { text: `${ln.project_id}${ln.project_name ? ` · ${ln.project_name}` : ""}` }),
        el("td", { text: ln.role }), num(ln.ideal, "detail"), num(ln.final_unrounded, "detail"),
        num(ln.amount, "summary-amount")));
    }
    summary.append(scroll(el("table", { class: "data" },
      el("thead", {}, el("tr", {}, th("Project"), th("Role"), th("Ideal", "num detail"),
        th("After caps", "num detail"), th(`Paid (${cur})`, "num"))),
      sbody,
      el("tfoot", {}, el("tr", {}, el("th", { scope: "row", colspan: 2, text: "Total" }), el("td", { class: "detail" }),
        el("td", { class: "detail" }),
        el("td", { class: "num" }, el("strong", { class: "statement-total-inline", text: p.total })))))));
    const notes = [];
    if (p.cap !== null && p.cap !== undefined) notes.push(`Your period cap: ${p.cap} ${cur}.`);
    if (p.ideal_total !== undefined) notes.push(`Ideal total before caps: ${p.ideal_total}.`);
    if (p.leaver) notes.push("You left on or before the period end.");
    if (notes.length) summary.append(el("p", { class: "help", text: notes.join(" ") }));
    article.append(summary);

    // each project and role: each event, the result part and the process parts stage by stage,
    // then the caps, the redistribution and the rounding
    for (const ln of st.lines) {
      const sec = el("section", { class: "statement-line", dataset: { line: ln.line_id || "" } });
      sec.append(h(level + 1, `Project ${ln.project_id}${ln.project_name ? ` · ${ln.project_name}` : ""}, role ${ln.role}`));
      if (ln.project_pool !== null && ln.project_pool !== undefined) {
        sec.append(el("p", { class: "help", text: `The project's pool this period: ${ln.project_pool} ${cur}.` }));
      }
      if (!(ln.breakdown || []).length) sec.append(el("p", { text: "No event of the period gives this line money." }));
      for (const b of ln.breakdown || []) sec.append(scroll(eventTable(b, cur)));
      sec.append(scroll(stepsTable(ln, cur)));
      article.append(sec);
    }
    article.append(el("p", { class: "statement-total" }, "Total payout: ",
      el("strong", { id: "statement-total", text: p.total }), ` ${cur}`));
    article.append(el("p", { class: "help statement-foot", text: "Effort is fte × days (× score for process parts) in "
      + "the window; a part is your effort's share of the role's money. Unrounded amounts have six decimals; "
      + "paid amounts are rounded to the unit so that, per project, lines and forfeits add up to the pool exactly." }));
    container.append(article);
  }

  Incentive.renderStatement = renderStatement;
  Incentive.bindingText = bindingText;
})();
