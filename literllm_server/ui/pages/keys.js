// Virtual keys: list, create (secret shown once), update, rotate, revoke (/admin/keys).
import { api } from "../lib/api.js";
import { openDialog, showSecret } from "../lib/dialog.js";
import { badge, checkbox, field, fmt, h, notice } from "../lib/dom.js";
import { sortableTable } from "../lib/table.js";

export const title = "Keys";

function status(k) {
  if (k.blocked) return badge("blocked", "bad");
  if (k.expires_at && Date.parse(k.expires_at) <= Date.now()) return badge("expired", "bad");
  return badge("active", "ok");
}

function name(k) {
  return k.description || k.id;
}

function numberOrNull(input) {
  const text = input.value.trim();
  return text === "" ? null : Number(text);
}

function listOrNull(input) {
  const items = input.value.split(",").map((s) => s.trim()).filter(Boolean);
  return items.length ? items : null;
}

function limitInputs(k = null) {
  const value = (v) => (v === null || v === undefined ? "" : String(v));
  return {
    description: h("input", { type: "text", value: value(k?.description), maxlength: "200" }),
    models: h("input", { type: "text", value: k?.models ? k.models.join(", ") : "", placeholder: "every model" }),
    rpm: h("input", { type: "number", min: "1", step: "1", value: value(k?.limits.rpm), placeholder: "no limit" }),
    tpm: h("input", { type: "number", min: "1", step: "1", value: value(k?.limits.tpm), placeholder: "no limit" }),
    budget: h("input", { type: "number", min: "0", step: "any", value: value(k?.limits.budget_limit), placeholder: "no limit" }),
  };
}

function limitFields(inputs) {
  return [
    h("div", { class: "wide" }, field("Description", inputs.description)),
    h("div", { class: "wide" }, field("Models", inputs.models, "(comma-separated names or patterns; empty: every model)")),
    field("Requests per minute", inputs.rpm),
    field("Tokens per minute", inputs.tpm),
    field("Budget (USD)", inputs.budget),
  ];
}

function errorLine() {
  return h("p", { class: "error", role: "alert" });
}

export async function render(root, context) {
  let order = null; // the sort chosen, kept across refreshes
  const listing = h("div");
  const message = h("div");
  root.append(
    h("div", { class: "page-head" }, h("h1", null, "Keys"),
      h("button", { type: "button", onclick: create }, "Create key")),
    h("p", { class: "muted" }, "Keys from the config file are read-only here: change the file to change them. Keys created here are stored in the gateway's state backend."),
    message, listing);

  async function load() {
    const keys = await api("admin/keys");
    if (!context.active) return;
    listing.replaceChildren(sortableTable({
      caption: keys.data.length === 1 ? "1 key" : `${keys.data.length} keys`,
      sort: order,
      onSort: (next) => { order = next; },
      rows: keys.data,
      columns: [
        { label: "Description", value: (k) => k.description, wrap: true },
        { label: "Id", value: (k) => k.id, render: (k) => h("span", { class: "mono" }, k.id) },
        { label: "Source", value: (k) => k.source },
        { label: "Status", value: (k) => (k.blocked ? "blocked" : "active"), render: status },
        { label: "Team", value: (k) => k.team },
        { label: "Models", value: (k) => (k.models ? k.models.join(", ") : "all"), wrap: true },
        { label: "RPM", value: (k) => k.limits.rpm, numeric: true, render: (k) => fmt.int(k.limits.rpm) },
        { label: "TPM", value: (k) => k.limits.tpm, numeric: true, render: (k) => fmt.int(k.limits.tpm) },
        { label: "Budget", value: (k) => k.limits.budget_limit, numeric: true, render: (k) => (k.limits.budget_limit === null ? "–" : fmt.usd(k.limits.budget_limit)) },
        { label: "Spend", value: (k) => k.spend, numeric: true, render: (k) => fmt.usd(k.spend) },
        { label: "Expires", value: (k) => k.expires_at, render: (k) => (k.expires_at ? k.expires_at.replace("T", " ").slice(0, 16) : "never") },
        { label: "Actions", sortable: false, value: () => null, render: actions },
      ],
    }));
  }

  function actions(k) {
    if (k.source !== "runtime") return h("span", { class: "muted small" }, "config file");
    return h("div", { class: "actions" },
      h("button", { type: "button", class: "quiet", "aria-label": `Edit ${name(k)}`, onclick: () => edit(k) }, "Edit"),
      h("button", { type: "button", class: "quiet", "aria-label": `Rotate ${name(k)}`, onclick: () => rotate(k) }, "Rotate"),
      h("button", { type: "button", class: "danger", "aria-label": `Revoke ${name(k)}`, onclick: () => revoke(k) }, "Revoke"));
  }

  function create() {
    openDialog("Create a key", (body, close) => {
      const inputs = limitInputs();
      const team = h("input", { type: "text", placeholder: "none" });
      const duration = h("select", null,
        [["", "lifetime"], ["1d", "per day"], ["7d", "per 7 days"], ["30d", "per 30 days"], ["1mo", "per month"]]
          .map(([value, label]) => h("option", { value }, label)));
      const expires = h("input", { type: "datetime-local" });
      const problem = errorLine();
      const form = h("form", { onsubmit: async (event) => {
        event.preventDefault();
        const request = {
          description: inputs.description.value.trim() || null,
          models: listOrNull(inputs.models),
          rpm: numberOrNull(inputs.rpm),
          tpm: numberOrNull(inputs.tpm),
          budget_limit: numberOrNull(inputs.budget),
          team: team.value.trim() || null,
          budget_duration: duration.value || null,
          expires_at: expires.value ? new Date(expires.value).toISOString() : null,
        };
        for (const [field, value] of Object.entries(request)) if (value === null) delete request[field];
        try {
          const created = await api("admin/keys", { method: "POST", body: request });
          showSecret(body, created.key, close, `Key ${name(created)} created`);
          load();
        } catch (failure) {
          problem.textContent = failure.message;
        }
      } },
      h("div", { class: "form-grid" }, ...limitFields(inputs),
        field("Budget period", duration),
        field("Team", team),
        field("Expires (local time)", expires)),
      problem,
      h("div", { class: "buttons" },
        h("button", { type: "button", class: "quiet", onclick: close }, "Cancel"),
        h("button", { type: "submit" }, "Create key")));
      body.append(form);
    });
  }

  function edit(k) {
    openDialog(`Edit ${name(k)}`, (body, close) => {
      const inputs = limitInputs(k);
      let blocked = k.blocked;
      const problem = errorLine();
      body.append(h("form", { onsubmit: async (event) => {
        event.preventDefault();
        const changes = {
          description: inputs.description.value.trim() || null,
          models: listOrNull(inputs.models),
          rpm: numberOrNull(inputs.rpm),
          tpm: numberOrNull(inputs.tpm),
          budget_limit: numberOrNull(inputs.budget),
          blocked,
        };
        try {
          await api(`admin/keys/${encodeURIComponent(k.id)}`, { method: "PATCH", body: changes });
          close();
          message.replaceChildren(notice(`Saved ${name(k)}.`));
          load();
        } catch (failure) {
          problem.textContent = failure.message;
        }
      } },
      h("div", { class: "form-grid" }, ...limitFields(inputs),
        h("div", { class: "wide" }, checkbox("Blocked (refused with 401 until unblocked)", k.blocked, (e) => { blocked = e.target.checked; }))),
      problem,
      h("div", { class: "buttons" },
        h("button", { type: "button", class: "quiet", onclick: close }, "Cancel"),
        h("button", { type: "submit" }, "Save"))));
    });
  }

  function rotate(k) {
    openDialog(`Rotate ${name(k)}`, (body, close) => {
      const grace = h("input", { type: "number", min: "0", step: "1", value: "0" });
      const problem = errorLine();
      body.append(h("form", { onsubmit: async (event) => {
        event.preventDefault();
        try {
          const rotated = await api(`admin/keys/${encodeURIComponent(k.id)}/rotate`, {
            method: "POST", body: { grace_period_secs: Number(grace.value || 0) },
          });
          showSecret(body, rotated.key, close, `Key ${name(k)} rotated`);
          load();
        } catch (failure) {
          problem.textContent = failure.message;
        }
      } },
      h("p", null, "The key gets a new secret; its id, limits and spend stay."),
      field("Old secret keeps working for (seconds)", grace),
      problem,
      h("div", { class: "buttons" },
        h("button", { type: "button", class: "quiet", onclick: close }, "Cancel"),
        h("button", { type: "submit" }, "Rotate key"))));
    });
  }

  function revoke(k) {
    openDialog(`Revoke ${name(k)}?`, (body, close) => {
      const problem = errorLine();
      body.append(
        h("p", null, "Every secret of this key stops working at once. Its spend stays in the reports. This cannot be undone."),
        problem,
        h("div", { class: "buttons" },
          h("button", { type: "button", class: "quiet", onclick: close }, "Cancel"),
          h("button", { type: "button", class: "danger", onclick: async () => {
            try {
              await api(`admin/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
              close();
              message.replaceChildren(notice(`Revoked ${name(k)}.`));
              load();
            } catch (failure) {
              problem.textContent = failure.message;
            }
          } }, "Revoke key")));
    });
  }

  await load();
}
