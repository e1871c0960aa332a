// A modal <dialog>: focus moves into it, Escape closes it, focus returns afterwards.
import { h } from "./dom.js";

export function openDialog(title, build) {
  const opener = document.activeElement;
  const heading = h("h2", { id: `d-${Math.random().toString(36).slice(2, 9)}` }, title);
  const body = h("div");
  const dialog = h("dialog", { "aria-labelledby": heading.id }, heading, body);
  const close = () => dialog.close();
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  build(body, close);
  dialog.showModal();
  const first = dialog.querySelector("input, select, textarea") || dialog.querySelector("button");
  if (first) first.focus();
  return { dialog, body, close };
}

// The secret of a created or rotated key: shown once, with a copy button.
export function showSecret(body, secret, close, what) {
  const status = h("span", { role: "status", class: "small" });
  const code = h("code", { id: "new-secret", class: "mono" }, secret);
  const copy = h("button", { type: "button", onclick: async () => {
    try {
      await navigator.clipboard.writeText(secret);
      status.textContent = "Copied.";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      status.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
    }
  } }, "Copy key");
  body.replaceChildren(
    h("div", { class: "secret" },
      h("p", null, h("strong", null, `${what}. Copy the key now:`), " the gateway shows it only this once and keeps only its hash."),
      code,
      h("div", { class: "actions" }, copy, status)),
    h("div", { class: "buttons" }, h("button", { type: "button", class: "quiet", onclick: close }, "Done")),
  );
  copy.focus();
}
