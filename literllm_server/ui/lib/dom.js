// Building elements from data without HTML strings: every value becomes text, so a
// model name or key description can never inject markup.

export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      element.className = value;
    } else if (name in element && typeof value !== "string") {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

export const fmt = {
  int: (v) => (v === null || v === undefined ? "–" : integer.format(v)),
  num: (v) => (v === null || v === undefined ? "–" : decimal.format(v)),
  ms: (v) => (v === null || v === undefined ? "–" : `${v >= 100 ? integer.format(v) : decimal.format(v)} ms`),
  pct: (v) => (v === null || v === undefined || Number.isNaN(v) ? "–" : `${decimal.format(v * 100)}%`),
  usd: (v) => {
    if (v === null || v === undefined) return "–";
    if (v !== 0 && Math.abs(v) < 0.01) return `$${v.toFixed(6)}`;
    return `$${v.toFixed(2)}`;
  },
  rate: (v) => {
    if (v === null || v === undefined) return "–";
    if (v > 0 && v < 0.01) return v.toPrecision(2);
    return v < 10 ? v.toFixed(2) : decimal.format(v);
  },
  time: (seconds) => (seconds ? new Date(seconds * 1000).toLocaleTimeString([], { hour12: false }) : "–"),
  // Today's times alone, older ones with their date.
  when: (seconds) => {
    if (!seconds) return "–";
    const d = new Date(seconds * 1000);
    const time = d.toLocaleTimeString([], { hour12: false });
    return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString("en-CA")} ${time}`;
  },
  datetime: (seconds) => {
    if (!seconds) return "–";
    const d = new Date(seconds * 1000);
    return `${d.toLocaleDateString("en-CA")} ${d.toLocaleTimeString([], { hour12: false })}`;
  },
  short: (v) => {
    if (v === null || v === undefined) return "";
    const a = Math.abs(v);
    if (a >= 1e6) return `${decimal.format(v / 1e6)}M`;
    if (a >= 1e3) return `${decimal.format(v / 1e3)}k`;
    return a > 0 && a < 1 ? String(Number(v.toPrecision(2))) : decimal.format(v);
  },
};

export function badge(text, kind) {
  return h("span", { class: `badge ${kind}` }, text);
}

export function notice(text, bad = false) {
  return h("p", { class: bad ? "notice bad" : "notice", role: bad ? "alert" : null }, text);
}

export function tile(label, value, sub) {
  return h("div", { class: "tile" },
    h("div", { class: "label" }, label),
    h("div", { class: "value" }, value),
    sub ? h("div", { class: "sub" }, sub) : null);
}

export function field(label, control, hint) {
  if (!control.id) control.id = `f-${Math.random().toString(36).slice(2, 9)}`;
  return h("div", { class: "field" },
    h("label", { for: control.id }, label, hint ? h("span", { class: "hint" }, ` ${hint}`) : null),
    control);
}

export function checkbox(label, checked, onchange) {
  const input = h("input", { type: "checkbox", checked, onchange });
  input.id = `c-${Math.random().toString(36).slice(2, 9)}`;
  return h("div", { class: "field inline" }, input, h("label", { for: input.id }, label));
}

// Download text as a file (the CSV export: the API needs the Bearer header, so the
// browser cannot follow a plain link to it).
export function download(text, filename, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
