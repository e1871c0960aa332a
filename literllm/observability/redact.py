"""Secrets out of everything the gateway shows: config dumps, summaries, logs, labels.

* `redact_token(token)`: `sk-…yz` (first 3 characters, `…`, last 2) for tokens of 8
  characters or more, `***` for shorter ones, so an operator can tell keys apart
  (defined in `literllm.config.summary`, re-exported here).
* `key_label(token, description)`: what logs and metrics call a key: its description,
  else `key-` and 8 hex digits of the token's SHA-256. Never the token.
* `effective_config(config)`: the whole config as plain data (what `GET /admin/config`
  answers) with `master_key`, every `api_key` and every virtual key token passed
  through `redact_token`; any `backend_config` value whose name contains `secret`,
  `password`, `token`, `key` or `credential` replaced by `***`; and in every string,
  a URL's password (`redis://:pw@host`) and secret-named query parameters replaced by
  `***`.
* The startup summary is `literllm.config.summary` (same `redact_token`).
* `Redactor(secrets)`: the last line of defence, `scrub(text)` replaces every known
  secret substring with `***`. The secrets are compiled once into one regular
  expression shaped as a trie, so text without any of them costs one scan
  (`Redactor.from_config` collects every secret a config holds).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

import msgspec

from ..config.schema import Config
from ..config.summary import redact_token
from ..identity import key_id

__all__ = [
    "MASK",
    "Redactor",
    "config_secrets",
    "effective_config",
    "key_label",
    "mask_url_credentials",
    "redact_token",
]

MASK: Final = "***"
MIN_SECRET_LENGTH: Final = 4
"""Shorter strings are not scrubbed: they would mangle ordinary text."""

_SECRET_NAME = re.compile(r"secret|password|passwd|token|key|credential", re.IGNORECASE)
# Hook settings are free-form: these names hold secrets too (webhook headers).
_SECRET_SETTING = re.compile(
    r"secret|password|passwd|token|key|credential|authorization|cookie", re.IGNORECASE
)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:)(?P<pw>[^/@\s]+)@")
_SECRET_QUERY = re.compile(
    r"(?P<head>[?&][^=&#\s]*(?:secret|password|passwd|token|key|credential|signature)"
    r"[^=&#\s]*=)(?P<value>[^&#\s]+)",
    re.IGNORECASE,
)


def key_label(token: str, description: str | None = None) -> str:
    """The name logs, metrics and the admin API give a key: its description, else its
    id (`literllm.identity.key_id`); never the token."""
    return description if description else key_id(token)


def mask_url_credentials(text: str) -> str:
    """Mask a URL's password and its secret-named query parameters."""
    if "://" not in text and "=" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m['head']}{MASK}", text)


def _redact_strings(value: Any) -> Any:
    if isinstance(value, str):
        return mask_url_credentials(value)
    if isinstance(value, dict):
        return {k: _redact_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_strings(v) for v in value]
    return value


def _redact_backend_config(options: dict[str, Any]) -> dict[str, Any]:
    return {
        name: MASK if value is not None and _SECRET_NAME.search(name) else value
        for name, value in options.items()
    }


def effective_config(config: Config) -> dict[str, Any]:
    """The config as a dict with every default filled in and every secret redacted."""
    data: dict[str, Any] = msgspec.to_builtins(config)
    general = data["general"]
    if general.get("master_key"):
        general["master_key"] = redact_token(general["master_key"])
    for entry in (*data["models"], *data["aliases"]):
        if entry.get("api_key"):
            entry["api_key"] = redact_token(entry["api_key"])
    for key in data["keys"]:
        key["key"] = redact_token(key["key"])
    alerts = data.get("alerts")
    if alerts:
        if alerts.get("secret"):
            alerts["secret"] = redact_token(alerts["secret"])
        alerts["webhook_urls"] = [mask_url_credentials(u) for u in alerts["webhook_urls"]]
    for table in ("cache", "files", "state"):
        section = data.get(table)
        if section and section.get("backend_config"):
            section["backend_config"] = _redact_backend_config(section["backend_config"])
    keys = {key.key for key in config.keys}
    for entry in (*data.get("hooks", ()), *data.get("guardrails", ())):
        entry["settings"] = _redact_settings(entry["settings"])
        entry["keys"] = [redact_token(k) if k in keys else k for k in entry["keys"]]
    redacted: dict[str, Any] = _redact_strings(data)
    return redacted


def _redact_settings(value: Any) -> Any:
    """A hook's settings with every secret-named value masked, at any depth."""
    if isinstance(value, dict):
        return {
            name: MASK
            if isinstance(item, str | int | float) and _SECRET_SETTING.search(str(name))
            else _redact_settings(item)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_settings(item) for item in value]
    return value


def _setting_secrets(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for name, item in value.items():
            if isinstance(item, str) and _SECRET_SETTING.search(str(name)):
                yield item.removeprefix("Bearer ").removeprefix("Basic ")
                yield item
            else:
                yield from _setting_secrets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _setting_secrets(item)
    elif isinstance(value, str):
        yield from _url_secrets(value)


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex alternation shaped as a trie: at each position the engine tests one
    character class instead of every secret in turn."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + render(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # an entry that ends here (``""``) makes the rest optional; longest match first
        return f"(?:{body})?" if "" in node else body

    return render(trie)


def config_secrets(config: Config) -> Iterable[str]:
    """Every secret written in (or interpolated into) the config."""
    if config.general.master_key:
        yield config.general.master_key
    yield from (m.api_key for m in config.models if m.api_key)
    yield from (a.api_key for a in config.aliases if a.api_key)
    for key in config.keys:
        yield key.key
    for section in (config.cache, config.files, config.state):
        if section is None:
            continue
        for name, value in section.backend_config.items():
            if isinstance(value, str) and _SECRET_NAME.search(name):
                yield value
            elif isinstance(value, str):
                yield from _url_secrets(value)
    for settings in (*(h.settings for h in config.hooks), *(g.settings for g in config.guardrails)):
        yield from (secret for secret in _setting_secrets(settings) if secret)
    for url in (*(m.base_url for m in config.models), *(a.base_url for a in config.aliases)):
        if url:
            yield from _url_secrets(url)
    if config.alerts is not None:
        if config.alerts.secret:
            yield config.alerts.secret
        for url in config.alerts.webhook_urls:
            yield from _url_secrets(url)


def _url_secrets(text: str) -> Iterable[str]:
    yield from (m["pw"] for m in _URL_PASSWORD.finditer(text))
    yield from (m["value"] for m in _SECRET_QUERY.finditer(text))


class Redactor:
    """Replaces every known secret substring with `***`."""

    __slots__ = ("_pattern",)

    def __init__(self, secrets: Iterable[str]) -> None:
        words = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH})
        self._pattern = re.compile(_trie_pattern(words)) if words else None

    @classmethod
    def from_config(cls, config: Config, extra: Iterable[str] = ()) -> Redactor:
        """Every secret the config holds, plus `extra` (say, provider keys from the
        environment)."""
        return cls((*config_secrets(config), *extra))

    def scrub(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)
