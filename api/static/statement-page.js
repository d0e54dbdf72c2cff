/* The printable statement page: /ui/runs/{run_id}/people/{person_id}/statement */
"use strict";

(() => {
  const { $, api, showErrors, status } = Incentive;
  let loaded = false;

  async function load() {
    if (loaded) return;
    const page = $("#statement-page");
    const runId = page.dataset.runId;
    const personId = page.dataset.personId;
    const url = `/v1/runs/${encodeURIComponent(runId)}/people/${encodeURIComponent(personId)}/statement`;
    showErrors($("#statement-errors"), []);
    try {
      const st = await api("GET", url);
      Incentive.renderStatement($("#statement"), st, { level: 1, runId: st.run_id });
      document.title = `Payout statement ${st.person.person_id} · ${st.period.id} · Incentive`;
      status($("#statement-status"), "");
      loaded = true;
    } catch (err) {
      status($("#statement-status"), "");
      if (err.status !== 401) showErrors($("#statement-errors"), err.errors || [{ path: "", message: String(err) }],
        "The statement could not be loaded:");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#print-statement").addEventListener("click", () => window.print());
  });
  Incentive.onReady(load);
})();
