// The most recent requests (GET /admin/requests): metadata only, never bodies or secrets.
import { api } from "../lib/api.js";
import { badge, checkbox, field, fmt, h, notice } from "../lib/dom.js";
import { sortableTable } from "../lib/table.js";

export const title = "Requests";
const REFRESH_MS = 5_000;

function option(value, label) {
  return h("option", { value }, label);
}

export async function render(root, context) {
  let order = null; // the sort chosen, kept across refreshes
  let shown = null;
  let auto = true;
  const status = h("select", null, option("", "any"), option("ok", "succeeded"), option("error", "failed"));
  const model = h("select", null, option("", "any"));
  const key = h("select", null, option("", "any"));
  const limit = h("select", null, option("50", "50"), option("100", "100"), option("500", "500"));
  limit.value = "100";
  const listing = h("div");
  const updated = h("span", { class: "muted small" });
  const form = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); load(); } },
    field("Status", status), field("Model", model), field("Key", key), field("Show", limit),
    h("button", { type: "submit" }, "Filter"),
    checkbox(`Auto-refresh (${REFRESH_MS / 1000} s)`, true, (e) => { auto = e.target.checked; }),
    updated);
  for (const select of [status, model, key, limit]) select.addEventListener("change", () => load());
  root.append(h("h1", null, "Requests"),
    h("p", { class: "muted" }, "The latest requests this gateway answered, newest first. Prompts, answers and keys are never kept."),
    form, listing);

  const [models, keys] = await Promise.allSettled([api("admin/models"), api("admin/keys")]);
  if (models.status === "fulfilled") {
    model.append(...models.value.pools.map((p) => option(p.name, p.name)));
  }
  if (keys.status === "fulfilled") {
    key.append(...keys.value.data.map((k) => option(k.id, k.description ? `${k.description} (${k.id})` : k.id)));
  }
  key.append(option("master", "master key"));

  async function load() {
    const params = new URLSearchParams({ limit: limit.value });
    if (status.value) params.set("status", status.value);
    if (model.value) params.set("model", model.value);
    if (key.value) params.set("key", key.value);
    let report;
    try {
      report = await api(`admin/requests?${params}`);
    } catch (failure) {
      if (!context.active) return;
      shown = null;
      listing.replaceChildren(notice(failure.status === 404
        ? "This gateway does not list requests (GET /admin/requests is missing): upgrade it to see them."
        : failure.message, failure.status !== 404));
      return;
    }
    if (!context.active) return;
    updated.textContent = `Updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
    // Redrawn only when the list changed: a refresh keeps the keyboard's place otherwise.
    const seen = JSON.stringify(report.data);
    if (seen === shown) return;
    shown = seen;
    listing.replaceChildren(sortableTable({
      caption: report.data.length === 1 ? "1 request" : `${report.data.length} requests`,
      sort: order,
      onSort: (next) => { order = next; },
      rows: report.data,
      empty: "No requests match yet: send one and it appears here.",
      columns: [
        { label: "Time", value: (r) => r.time, render: (r) => fmt.when(r.time) },
        { label: "Request id", value: (r) => r.request_id, render: (r) => h("span", { class: "mono small" }, r.request_id) },
        { label: "Key", value: (r) => r.key_label || r.key_id, render: (r) => r.key_label || (r.key_id ? h("span", { class: "mono" }, r.key_id) : "–") },
        { label: "Model", value: (r) => r.model, render: (r) => (r.model ? h("span", null, r.model, r.deployment ? h("span", { class: "mono muted small" }, ` ${r.deployment}`) : null) : "–") },
        { label: "Endpoint", value: (r) => r.endpoint, render: (r) => h("span", { class: "mono small" }, r.endpoint) },
        { label: "Status", value: (r) => r.status, render: (r) => (r.status < 400
          ? badge(String(r.status), "ok")
          : h("span", null, badge(String(r.status), "bad"), r.error_type ? h("span", { class: "small" }, ` ${r.error_type}`) : null)) },
        { label: "Latency", value: (r) => r.latency_ms, numeric: true, render: (r) => fmt.ms(r.latency_ms) },
        { label: "Tokens in / out", value: (r) => (r.prompt_tokens ?? 0) + (r.completion_tokens ?? 0), numeric: true,
          render: (r) => (r.prompt_tokens === null && r.completion_tokens === null ? "–" : `${fmt.int(r.prompt_tokens)} / ${fmt.int(r.completion_tokens)}`) },
        { label: "Cost", value: (r) => r.cost_usd, numeric: true, render: (r) => fmt.usd(r.cost_usd) },
        { label: "Cache", value: (r) => r.cache, render: (r) => r.cache ?? "–" },
        { label: "Stream", value: (r) => (r.stream ? 1 : 0), render: (r) => (r.stream ? "yes" : "no") },
      ],
    }));
  }

  await load();
  context.every(REFRESH_MS, () => { if (auto) load(); });
}
