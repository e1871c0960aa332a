// Spend by key, team, model, end user and day (GET /admin/spend), with CSV export.
import { api } from "../lib/api.js";
import { chart } from "../lib/chart.js";
import { checkbox, download, field, fmt, h, notice, tile } from "../lib/dom.js";
import { sortableTable } from "../lib/table.js";

export const title = "Spend";

const GROUPS = [
  ["key", "Key"],
  ["team", "Team"],
  ["model", "Model"],
  ["end_user", "End user"],
  ["", "Nothing (total)"],
];

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export async function render(root, context) {
  const group = h("select", null, GROUPS.map(([value, label]) => h("option", { value }, label)));
  group.value = "key";
  let byDay = false;
  const start = h("input", { type: "date" });
  const end = h("input", { type: "date" });
  start.value = isoDay(new Date(Date.now() - 29 * 86400_000));
  const summary = h("div", { class: "tiles" });
  const plotBox = h("div", { class: "charts" });
  const tableBox = h("div");
  const status = h("div");
  const exportButton = h("button", { type: "button", class: "quiet", onclick: exportCsv }, "Export CSV");
  const form = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); load(); } },
    field("Group by", group),
    checkbox("Split by day", false, (e) => { byDay = e.target.checked; }),
    field("From (UTC)", start),
    field("To (UTC)", end),
    h("button", { type: "submit" }, "Show"),
    exportButton);
  root.append(h("h1", null, "Spend"), form, status, summary, plotBox, tableBox);
  let plot = null;
  context.onLeave(() => plot && plot.destroy());

  let labels = new Map();

  function query(withDay, csv = false) {
    const params = new URLSearchParams();
    const groups = [group.value, withDay ? "period" : ""].filter(Boolean);
    if (groups.length) params.set("group_by", groups.join(","));
    if (start.value) params.set("start", start.value);
    if (end.value) params.set("end", end.value);
    if (csv) params.set("format", "csv");
    return `admin/spend?${params}`;
  }

  async function exportCsv() {
    try {
      const text = await api(query(byDay, true), { text: true });
      download(text, `spend-${group.value || "total"}${byDay ? "-by-day" : ""}.csv`, "text/csv");
    } catch (failure) {
      status.replaceChildren(notice(failure.message, true));
    }
  }

  async function load() {
    status.replaceChildren();
    let lifetime, report, days, keys;
    try {
      [lifetime, report, days, keys] = await Promise.all([
        api("admin/spend"),
        api(query(byDay)),
        api(`admin/spend?${new URLSearchParams({ group_by: "period", ...(start.value && { start: start.value }), ...(end.value && { end: end.value }) })}`),
        api("admin/keys"),
      ]);
    } catch (failure) {
      status.replaceChildren(notice(failure.message, true));
      return;
    }
    if (!context.active) return;
    labels = new Map(keys.data.map((k) => [k.id, k.description]));
    const global = lifetime.global;
    summary.replaceChildren(
      tile("In this range", fmt.usd(report.total), `${report.start ?? "beginning"} to ${report.end ?? "today"}`),
      tile("All time", fmt.usd(global.spend), "every request, every key"),
      tile("Global budget", global.limits.budget_limit === null ? "none" : fmt.usd(global.limits.budget_limit),
        global.remaining_budget === null ? null : `${fmt.usd(global.remaining_budget)} left`),
      tile("Master key", fmt.usd(lifetime.master.spend), "spent with the master key"),
    );
    showChart(days);
    showTable(report);
  }

  function showChart(days) {
    if (plot) plot.destroy();
    plot = null;
    const rows = [...days.data].sort((a, b) => a.period.localeCompare(b.period));
    if (!rows.length) {
      plotBox.replaceChildren(h("p", { class: "empty" }, "No spend recorded in this range yet."));
      return;
    }
    const categories = rows.map((r) => r.period);
    plot = chart({
      title: "Spend per day (USD, UTC days)",
      data: [categories.map((_, i) => i), rows.map((r) => r.spend ?? 0)],
      categories,
      series: [{ label: "spend", color: "--c1", format: fmt.usd, bars: true }],
      yFormat: (v) => (v === null ? "" : `$${fmt.short(v)}`),
    });
    plotBox.replaceChildren(plot.element);
  }

  function showTable(report) {
    report.data = report.data.map((r) => ({ ...r, spend: r.spend ?? 0 }));
    const max = Math.max(0, ...report.data.map((r) => r.spend));
    const columns = [];
    const names = [...report.group_by].sort((a, b) => (b === "period") - (a === "period"));
    for (const name of names) {
      if (name === "key" || name === "end_user") {
        columns.push({
          label: "Key",
          value: (r) => labels.get(r.key) || r.key,
          render: (r) => (r.key ? [labels.get(r.key) ? `${labels.get(r.key)} ` : "", h("span", { class: "mono muted" }, r.key)] : "–"),
        });
      }
      if (name === "end_user") columns.push({ label: "End user", value: (r) => r.end_user });
      if (name === "team") columns.push({ label: "Team", value: (r) => r.team });
      if (name === "model") columns.push({ label: "Model", value: (r) => r.model, render: (r) => h("span", { class: "mono" }, r.model) });
      if (name === "period") columns.push({ label: "Day (UTC)", value: (r) => r.period });
    }
    columns.push(
      { label: "Spend", value: (r) => r.spend, render: (r) => fmt.usd(r.spend), numeric: true },
      { label: "Share", sortable: false, value: (r) => r.spend, render: (r) => {
        const bar = h("div", { class: "bar", "aria-hidden": "true" });
        bar.style.width = `${max > 0 ? Math.max(1, (r.spend / max) * 100) : 0}%`;
        return h("div", { class: "share" }, bar);
      } },
    );
    tableBox.replaceChildren(sortableTable({
      caption: `Spend ${report.group_by.length ? `by ${report.group_by.join(" and ").replace("end_user", "end user").replace("period", "day")}` : "in total"}: ${fmt.usd(report.total)}`,
      columns,
      rows: report.data,
      sort: { index: columns.length - 2, descending: true },
      empty: "No spend recorded in this range.",
    }));
  }

  await load();
}
