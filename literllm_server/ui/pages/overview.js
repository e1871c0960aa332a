// Traffic at a glance: the last hour or day from GET /admin/traffic, and the deployments.
import { api } from "../lib/api.js";
import { chart } from "../lib/chart.js";
import { badge, checkbox, clear, fmt, h, notice, tile } from "../lib/dom.js";
import { stateBadge } from "./models.js";

export const title = "Overview";
const REFRESH_MS = 10_000;

export async function render(root, context) {
  let range = "1h";
  let auto = true;
  const hour = h("button", { type: "button", "aria-pressed": "true", onclick: () => choose("1h") }, "Last hour");
  const day = h("button", { type: "button", "aria-pressed": "false", onclick: () => choose("24h") }, "Last day");
  const updated = h("span", { class: "muted small" });
  const tiles = h("div", { class: "tiles", "aria-live": "off" });
  const charts = h("div", { class: "charts" });
  const messages = h("div");
  const deployments = h("div");
  root.append(
    h("div", { class: "page-head" },
      h("h1", null, "Overview"),
      h("div", { class: "toolbar" },
        h("div", { class: "segmented", role: "group", "aria-label": "Time window" }, hour, day),
        h("button", { type: "button", class: "quiet", onclick: () => load() }, "Refresh"),
        checkbox(`Auto-refresh (${REFRESH_MS / 1000} s)`, true, (e) => { auto = e.target.checked; }),
        updated)),
    messages, tiles, charts,
    h("h2", null, "Deployments"), deployments);

  const plots = [];
  context.onLeave(() => plots.forEach((p) => p.destroy()));

  function choose(next) {
    range = next;
    hour.setAttribute("aria-pressed", String(next === "1h"));
    day.setAttribute("aria-pressed", String(next === "24h"));
    plots.splice(0).forEach((p) => p.destroy());
    clear(charts);
    load();
  }

  async function load() {
    const [traffic, models] = await Promise.allSettled([
      api(`admin/traffic?window=${range}`),
      api("admin/models"),
    ]);
    if (!context.active) return;
    clear(messages);
    if (traffic.status === "fulfilled") {
      showTraffic(traffic.value);
    } else {
      clear(tiles);
      const missing = traffic.reason.status === 404;
      messages.append(notice(missing
        ? "This gateway does not report traffic (GET /admin/traffic is missing): upgrade it to see the charts. Spend, keys, models and config below still work."
        : `Traffic could not be read: ${traffic.reason.message}`, !missing));
    }
    if (models.status === "fulfilled") showDeployments(models.value);
    else deployments.replaceChildren(notice(models.reason.message, true));
    updated.textContent = `Updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
  }

  function showTraffic(report) {
    const t = report.totals;
    const seconds = report.buckets.length * report.bucket_seconds;
    const last = report.buckets[report.buckets.length - 1];
    const span = range === "1h" ? "last hour" : "last 24 hours";
    // With a shared state backend the counts are every process's, percentiles this one's.
    const scope = report.shared ? `${span}, all processes` : span;
    tiles.replaceChildren(
      tile("Requests", fmt.int(t.requests), scope),
      tile("Requests/s", fmt.rate(t.requests / seconds), last ? `last ${report.bucket_seconds / 60} min: ${fmt.rate(last.requests / report.bucket_seconds)}/s` : null),
      tile("Error rate", t.requests ? fmt.pct(t.errors / t.requests) : "–", `${fmt.int(t.errors)} errors`),
      tile("Latency p50", fmt.ms(t.p50_ms), span),
      tile("Latency p99", fmt.ms(t.p99_ms), span),
      tile("Tokens", fmt.int(t.prompt_tokens + t.completion_tokens), `${fmt.int(t.prompt_tokens)} in, ${fmt.int(t.completion_tokens)} out`),
      tile("Spend", fmt.usd(t.cost_usd), scope),
    );
    const b = report.buckets;
    const xs = b.map((x) => x.start);
    const per = report.bucket_seconds;
    const datasets = [
      [xs, b.map((x) => x.requests / per), b.map((x) => x.errors / per)],
      [xs, b.map((x) => x.p50_ms), b.map((x) => x.p99_ms)],
      [xs, b.map((x) => x.prompt_tokens), b.map((x) => x.completion_tokens)],
      [xs, b.map((x) => x.cost_usd)],
    ];
    if (plots.length) {
      plots.forEach((p, i) => p.update(datasets[i]));
      return;
    }
    const bucket = per >= 900 ? `${per / 60} min` : "minute";
    plots.push(
      chart({ title: "Requests per second", data: datasets[0], series: [
        { label: "requests/s", color: "--c1", format: fmt.rate },
        { label: "errors/s", color: "--c2", format: fmt.rate }] }),
      chart({ title: "Latency (ms)", data: datasets[1], series: [
        { label: "p50", color: "--c3", format: fmt.ms },
        { label: "p99", color: "--c4", format: fmt.ms }] }),
      chart({ title: `Tokens per ${bucket}`, data: datasets[2], series: [
        { label: "prompt", color: "--c5", format: fmt.int },
        { label: "completion", color: "--c6", format: fmt.int }] }),
      chart({ title: `Spend per ${bucket} (USD)`, data: datasets[3], series: [
        { label: "spend", color: "--c4", format: fmt.usd, bars: true }] }),
    );
    charts.replaceChildren(...plots.map((p) => p.element));
  }

  function showDeployments(report) {
    const all = report.pools.flatMap((pool) => pool.deployments);
    const failing = all.filter((d) => (d.health ?? (d.state === "healthy" ? "healthy" : "unhealthy")) === "unhealthy").length;
    deployments.replaceChildren(
      h("p", null,
        badge(failing ? `${failing} of ${all.length} unhealthy or cooling down` : `${all.length} deployments, none failing`, failing ? "warn" : "ok"), " ",
        h("a", { href: "#/models" }, "All deployments")),
      h("ul", { class: "deployments" }, all.map((d) =>
        h("li", null, h("span", { class: "mono" }, d.deployment), " ",
          h("span", { class: "muted" }, d.provider_model), " ", stateBadge(d)))),
    );
  }

  await load();
  context.every(REFRESH_MS, () => { if (auto) load(); });
}
