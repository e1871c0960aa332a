// The loaded configuration as GET /admin/config returns it (secrets already masked).
import { api } from "../lib/api.js";
import { h } from "../lib/dom.js";

export const title = "Config";

export async function render(root) {
  const config = await api("admin/config");
  root.append(
    h("h1", null, "Config"),
    h("p", { class: "muted" }, "The configuration this gateway loaded, with every default filled in. Secrets are masked by the gateway; they never reach this page."),
    ...Object.entries(config).map(([section, value]) => h("details", { class: "section", open: value !== null && !(Array.isArray(value) && !value.length) },
      h("summary", null, section, value === null || (Array.isArray(value) && !value.length) ? h("span", { class: "muted" }, " (not set)") : null),
      h("pre", null, JSON.stringify(value, null, 2)))),
  );
}
