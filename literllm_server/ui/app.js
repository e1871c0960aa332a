// The dashboard's shell: sign in, navigation between pages (hash routes), refreshing.
import { api, session, signInMessage } from "./lib/api.js";
import { clear, h, notice } from "./lib/dom.js";
import * as configPage from "./pages/config.js";
import * as keysPage from "./pages/keys.js";
import * as modelsPage from "./pages/models.js";
import * as overviewPage from "./pages/overview.js";
import * as requestsPage from "./pages/requests.js";
import * as spendPage from "./pages/spend.js";

const PAGES = {
  overview: overviewPage,
  spend: spendPage,
  keys: keysPage,
  models: modelsPage,
  requests: requestsPage,
  config: configPage,
};

const view = document.getElementById("view");
const signin = document.getElementById("signin");
const top = document.getElementById("top");
const form = document.getElementById("signin-form");
const input = document.getElementById("master-key");
const error = document.getElementById("signin-error");

let current = null; // { timers, cleanups }

function leave() {
  if (!current) return;
  current.timers.forEach(clearInterval);
  current.cleanups.forEach((fn) => fn());
  current = null;
}

function showSignIn(message = "") {
  leave();
  clear(view);
  top.hidden = true;
  signin.hidden = false;
  error.textContent = message;
  document.title = "Sign in · liter-llm";
  input.focus();
}

async function show() {
  if (!session.key) {
    showSignIn();
    return;
  }
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1];
  if (!PAGES[name]) {
    location.replace("#/overview");
    return;
  }
  leave();
  signin.hidden = true;
  top.hidden = false;
  for (const link of top.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === `#/${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const page = PAGES[name];
  document.title = `${page.title} · liter-llm`;
  const mine = { timers: [], cleanups: [] };
  current = mine;
  const context = {
    // Runs `fn` every `ms` while this page is shown and the tab is visible.
    every(ms, fn) {
      mine.timers.push(setInterval(() => {
        if (!document.hidden && current === mine) fn();
      }, ms));
    },
    onLeave(fn) {
      mine.cleanups.push(fn);
    },
    get active() {
      return current === mine;
    },
  };
  clear(view);
  const root = h("div", { class: `page page-${name}` });
  view.append(root);
  try {
    await page.render(root, context);
  } catch (failure) {
    if (current === mine) root.append(notice(failure.message, true));
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = input.value.trim();
  if (!key) {
    error.textContent = "Enter the master key.";
    return;
  }
  error.textContent = "";
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    await api("admin/models", { key });
    session.set(key);
    input.value = "";
    if (location.hash.startsWith("#/")) await show();
    else location.hash = "#/overview"; // shown by the hashchange listener
    view.parentElement.focus();
  } catch (failure) {
    error.textContent = signInMessage(failure);
    input.select();
  } finally {
    button.disabled = false;
  }
});

document.getElementById("signout").addEventListener("click", () => {
  session.clear();
  showSignIn("Signed out.");
});

document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main").focus();
});

window.addEventListener("literllm:unauthorized", () => {
  session.clear();
  showSignIn("The gateway no longer accepts this key. Sign in again.");
});

window.addEventListener("hashchange", () => {
  show().then(() => document.getElementById("main").focus({ preventScroll: true }));
});

show();
