// Earnings: balances per currency (pending during the return window, payable, in payout, paid),
// the ledger (cursor pages, CSV) and payouts.
import { api, download, problemText } from "../../core/api";
import { h, replace, toast } from "../../core/dom";
import { dateTime, money, t, type Key } from "../../core/i18n";
import { statCards } from "../../core/charts";
import type { LedgerEntry } from "../../core/types";
import { admissionStatus } from "./programme";

function entryRow(e: LedgerEntry): HTMLElement {
  return h(
    "tr",
    null,
    h("td", null, dateTime(e.created_at)),
    h("td", null, t(`ledger.${e.kind}` as Key)),
    h("td", { class: "num" }, money(e.amount_minor, e.currency)),
    h("td", null, e.memo || ""),
  );
}

export async function mountEarnings(panel: HTMLElement): Promise<void> {
  const balances = h("div", null, t("common.loading"));
  const ledger = h("tbody");
  const more = h("button", { type: "button", hidden: true }, t("common.more"));
  const payouts = h("tbody");
  let cursor: string | null = null;
  const csv = h("button", { type: "button" }, t("earnings.csv"));
  csv.addEventListener("click", () => void download("/v1/me/earnings/ledger.csv", "clipshop-earnings.csv").catch((e) => toast(t("common.error", { detail: problemText(e) }), "error")));
  const table = (caption: string, head: string[], body: HTMLElement) =>
    h("div", { class: "table-wrap", tabindex: 0 }, h("table", null, h("caption", { class: "sr-only" }, caption), h("thead", null, h("tr", null, head.map((c) => h("th", { scope: "col" }, c)))), body));
  replace(
    panel,
    h("section", { "aria-labelledby": "earn-title" }, h("h2", { id: "earn-title" }, t("earnings.title")), balances),
    h(
      "section",
      { "aria-labelledby": "ledger-title" },
      h("div", { class: "row spread" }, h("h2", { id: "ledger-title" }, t("earnings.ledger")), csv),
      table(t("earnings.ledger"), [t("earnings.when"), t("earnings.kind"), t("earnings.amount"), t("earnings.memo")], ledger),
      more,
    ),
    h("section", { "aria-labelledby": "payout-title" }, h("h2", { id: "payout-title" }, t("earnings.payouts")), table(t("earnings.payouts"), [t("earnings.when"), t("earnings.amount"), t("merchant.status"), t("earnings.paidAt")], payouts)),
  );
  async function loadLedger(): Promise<void> {
    try {
      const page = await api.ledger(cursor);
      page.items.forEach((e) => ledger.append(entryRow(e)));
      if (!ledger.children.length) ledger.append(h("tr", null, h("td", { colspan: 4, class: "muted" }, t("earnings.noEntries"))));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      toast(t("common.error", { detail: problemText(error) }), "error");
    }
  }
  more.addEventListener("click", () => void loadLedger());
  try {
    const [summary, paid] = await Promise.all([api.earnings(), api.payouts()]);
    replace(
      balances,
      summary.admission_status ? h("p", null, `${t("programme.status")}: `, h("strong", null, admissionStatus(summary.admission_status))) : h("p", { class: "muted" }, t("programme.notApplied")),
      summary.balances.length
        ? summary.balances.map((b) =>
            statCards([
              [`${t("earnings.pending")} (${b.currency})`, money(b.pending_minor, b.currency)],
              [t("earnings.payable"), money(b.payable_minor, b.currency)],
              [t("earnings.inPayout"), money(b.in_payout_minor, b.currency)],
              [t("earnings.paid"), money(b.paid_minor, b.currency)],
            ]),
          )
        : h("p", { class: "muted" }, t("earnings.none")),
      h("p", { class: "muted small" }, t("earnings.explain")),
    );
    replace(
      payouts,
      paid.items.length
        ? paid.items.map((p) => h("tr", null, h("td", null, dateTime(p.created_at)), h("td", { class: "num" }, money(p.amount_minor, p.currency)), h("td", null, t(`payout.${p.status}` as Key)), h("td", null, dateTime(p.paid_at))))
        : h("tr", null, h("td", { colspan: 4, class: "muted" }, t("common.none"))),
    );
  } catch (error) {
    replace(balances, h("p", { role: "alert" }, t("common.error", { detail: problemText(error) })));
  }
  await loadLedger();
}
