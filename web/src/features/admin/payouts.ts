// Payout runs: start one (every creator whose payable balance reaches the threshold is paid;
// a rerun pays nobody twice), see each run's payouts, settle them, download the CSV.
import { api, download, problemText } from "../../core/api";
import { announce, h, replace, toast } from "../../core/dom";
import { dateTime, money, t, type Key } from "../../core/i18n";
import type { Payout, PayoutRun } from "../../core/types";

function payoutRow(p: Payout, reload: () => void): HTMLElement {
  const ref = h("input", { id: `ref-${p.id}`, placeholder: "PSP-123", size: 10 });
  const settle = async (status: "paid" | "failed") => {
    try {
      await api.settlePayout(p.id, status, ref.value.trim());
      announce(t("payouts.settled"));
      reload();
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  };
  return h(
    "tr",
    { "data-payout": p.id },
    h("th", { scope: "row" }, p.handle ? `@${p.handle}` : p.creator_id.slice(0, 8)),
    h("td", { class: "num" }, money(p.amount_minor, p.currency)),
    h("td", null, String(p.entry_count)),
    h("td", null, t(`payout.${p.status}` as Key), p.provider_reference ? ` · ${p.provider_reference}` : ""),
    h(
      "td",
      null,
      p.status === "created"
        ? h(
            "div",
            { class: "row" },
            h("label", { for: `ref-${p.id}`, class: "sr-only" }, t("payouts.reference")),
            ref,
            h("button", { type: "button", onclick: () => void settle("paid") }, t("payouts.markPaid")),
            h("button", { type: "button", class: "ghost", onclick: () => void settle("failed") }, t("payouts.markFailed")),
          )
        : null,
    ),
  );
}

export async function mountPayouts(panel: HTMLElement): Promise<void> {
  const runs = h("div", { class: "runs" });
  let cursor: string | null = null;
  const more = h("button", { type: "button", hidden: true, onclick: () => void load(false) }, t("common.more"));
  const threshold = h("input", { id: "run-threshold", type: "number", min: 0, step: 0.01 });
  const form = h(
    "form",
    {
      class: "card-form",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const run = await api.runPayouts(threshold.value === "" ? null : Math.round(parseFloat(threshold.value) * 100));
          toast(t("payouts.ran", { n: run.payouts.length }));
          announce(t("payouts.ran", { n: run.payouts.length }));
          await load(true);
        } catch (error) {
          toast(t("common.error", { detail: problemText(error) }), "error");
        }
      },
    },
    h("h2", null, t("payouts.run")),
    h("p", { class: "muted" }, t("payouts.hint")),
    h("label", { for: "run-threshold" }, t("payouts.threshold")),
    threshold,
    h("button", { type: "submit", class: "primary" }, t("payouts.start")),
  );
  function runView(run: PayoutRun): HTMLElement {
    const csv = h("button", { type: "button" }, t("payouts.csv"));
    csv.addEventListener("click", () => void download(new URL(run.csv_url, location.href).pathname, `payouts-${run.id.slice(0, 8)}.csv`).catch((e) => toast(t("common.error", { detail: problemText(e) }), "error")));
    return h(
      "section",
      { class: "run", "aria-label": `${t("payouts.runOf", { when: dateTime(run.created_at) })}` },
      h("div", { class: "row spread" }, h("h3", null, t("payouts.runOf", { when: dateTime(run.created_at) })), csv),
      h("p", { class: "muted small" }, `${t("payouts.threshold")}: ${money(run.threshold_minor, "EUR")} · ${t("payouts.count", { n: run.payouts.length })}`),
      run.payouts.length
        ? h(
            "div",
            { class: "table-wrap", tabindex: 0 },
            h(
              "table",
              null,
              h("thead", null, h("tr", null, [t("admissions.creator"), t("earnings.amount"), t("payouts.entries"), t("merchant.status"), ""].map((c) => h("th", { scope: "col" }, c)))),
              h("tbody", null, run.payouts.map((p) => payoutRow(p, () => void load(true)))),
            ),
          )
        : null,
    );
  }
  async function load(reset: boolean): Promise<void> {
    if (reset) cursor = null;
    try {
      const page = await api.payoutRuns(cursor);
      if (reset) replace(runs);
      page.items.forEach((r) => runs.append(runView(r)));
      if (reset && !page.items.length) runs.append(h("p", { class: "muted" }, t("payouts.none")));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  replace(panel, form, h("h2", null, t("payouts.runs")), runs, more);
  await load(true);
}
