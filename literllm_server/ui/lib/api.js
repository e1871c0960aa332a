// The admin API, called with the master key from this tab's session storage.

const STORE = "literllm.masterKey";

export const session = {
  get key() {
    return sessionStorage.getItem(STORE);
  },
  set(key) {
    sessionStorage.setItem(STORE, key);
  },
  clear() {
    sessionStorage.removeItem(STORE);
  },
};

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Relative to the page (/ui/), so a gateway served under a path prefix works too.
const BASE = new URL("../", document.baseURI);

export async function api(path, { method = "GET", body, text = false, key } = {}) {
  const headers = { authorization: `Bearer ${key ?? session.key ?? ""}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(new URL(path, BASE), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, "The gateway did not answer. Is it still running?", "network");
  }
  if (!response.ok) {
    let message = `The gateway answered ${response.status}.`;
    let code = null;
    try {
      const error = (await response.json()).error;
      message = error?.message ?? message;
      code = error?.code ?? null;
    } catch {
      // not JSON: keep the status line
    }
    const failure = new ApiError(response.status, message, code);
    if (response.status === 401 && key === undefined) {
      window.dispatchEvent(new CustomEvent("literllm:unauthorized", { detail: failure }));
    }
    throw failure;
  }
  return text ? response.text() : response.json();
}

// What to tell someone whose key was refused at sign in.
export function signInMessage(error) {
  if (error.status === 401) return "That key is not the master key: the gateway refused it.";
  if (error.status === 403) {
    return "That is a virtual key, not the master key. Sign in with [general] master_key.";
  }
  return error.message;
}
