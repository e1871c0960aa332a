// Every deployment of every pool: provider, health, cooldown, latency (GET /admin/models).
import { api } from "../lib/api.js";
import { badge, checkbox, fmt, h } from "../lib/dom.js";
import { sortableTable } from "../lib/table.js";

export const title = "Models";
const REFRESH_MS = 5_000;

function secondsLeft(d) {
  return d.cooldown_until ? Math.max(0, Math.round(d.cooldown_until - Date.now() / 1000)) : null;
}

function coolingDown(d) {
  return d.cooling_down ?? d.state === "cooling_down";
}

// Health as the gateway sees it: a request or probe succeeded (healthy), the probe fails
// or the deployment is cooling down (unhealthy), or nothing has told yet (unknown).
export function stateBadge(d) {
  if (coolingDown(d)) {
    const left = secondsLeft(d);
    return badge(left === null ? "cooling down" : `cooling down, ${left} s left`, "warn");
  }
  const health = d.health ?? (d.healthy ? "healthy" : "unhealthy");
  if (health === "healthy") return badge(d.state === "half_open" ? "healthy (on trial)" : "healthy", "ok");
  if (health === "unhealthy") return badge(d.healthy ? "unhealthy" : "unhealthy (probe failing)", "bad");
  return badge("no traffic yet", "neutral");
}

function cooldown(d) {
  if (!coolingDown(d)) return "no";
  const left = secondsLeft(d);
  return `until ${fmt.time(d.cooldown_until)}${left === null ? "" : ` (${left} s)`}`;
}

export async function render(root, context) {
  let auto = true;
  const body = h("div");
  const strategy = h("p", { class: "muted" });
  root.append(
    h("div", { class: "page-head" }, h("h1", null, "Models"),
      checkbox(`Auto-refresh (${REFRESH_MS / 1000} s)`, true, (e) => { auto = e.target.checked; })),
    strategy, body);

  const orders = new Map(); // each pool's sort, kept across refreshes
  let shown = null;

  async function load() {
    const report = await api("admin/models");
    if (!context.active) return;
    // Redrawn only when something changed, so a refresh does not take the keyboard's
    // focus away from a table for nothing (a cooldown's countdown always changes).
    const seen = JSON.stringify(report);
    if (seen === shown && !report.pools.some((p) => p.deployments.some((d) => d.cooldown_until))) return;
    shown = seen;
    strategy.textContent = `Routing strategy: ${report.strategy}. ${report.pools.length} model names, ${report.pools.reduce((n, p) => n + p.deployments.length, 0)} deployments.`;
    body.replaceChildren(...report.pools.map((pool) => h("section", { class: "pool" },
      h("h2", null, pool.name),
      pool.fallbacks.length ? h("p", { class: "muted small" }, `Falls back to: ${pool.fallbacks.join(", ")}`) : null,
      sortableTable({
        caption: `Deployments of ${pool.name}`,
        sort: orders.get(pool.name) ?? null,
        onSort: (next) => orders.set(pool.name, next),
        rows: pool.deployments,
        columns: [
          { label: "Deployment", value: (d) => d.deployment, render: (d) => h("span", { class: "mono" }, d.deployment) },
          { label: "Provider", value: (d) => d.provider || d.provider_model.split("/")[0] },
          { label: "Provider model", value: (d) => d.provider_model, render: (d) => h("span", { class: "mono" }, d.provider_model) },
          { label: "Health", value: (d) => d.health ?? d.state, render: stateBadge },
          { label: "Cooldown", value: (d) => d.cooldown_until, render: cooldown },
          { label: "In flight", value: (d) => d.in_flight, numeric: true },
          { label: "Latency", value: (d) => d.latency_ms, render: (d) => fmt.ms(d.latency_ms), numeric: true },
        ],
      }))));
  }

  await load();
  context.every(REFRESH_MS, () => { if (auto) load().catch(() => {}); });
}
