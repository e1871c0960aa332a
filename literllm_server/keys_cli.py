"""`liter-llm keys ...`: manage the runtime keys of a running gateway over its admin API.

The master key comes from `LITER_LLM_MASTER_KEY` (never a flag: flags show in `ps`).
People get tables; scripts get the API's JSON with `--json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

__all__ = ["add_keys_parser", "run_keys"]

_MASTER_ENV = "LITER_LLM_MASTER_KEY"
_URL_ENV = "LITER_LLM_URL"
_DEFAULT_URL = "http://127.0.0.1:4000"
_TIMEOUT_SECS = 30.0


def _limit(text: str) -> int | None:
    """A limit argument: a whole number, or `none` to remove the limit."""
    if text.lower() == "none":
        return None
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _money(text: str) -> float | None:
    if text.lower() == "none":
        return None
    value = float(text)
    if value < 0:
        raise ValueError(text)
    return value


def _models(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _limits(parser: argparse.ArgumentParser) -> None:
    """Options left out are absent from the namespace (so PATCH sends only what is given)."""
    add = parser.add_argument
    add("--description", default=argparse.SUPPRESS, help="what the key is for")
    add("--models", type=_models, default=argparse.SUPPRESS, help="comma-separated models")
    add("--rpm", type=_limit, default=argparse.SUPPRESS, help="requests/minute (none: no limit)")
    add("--tpm", type=_limit, default=argparse.SUPPRESS, help="tokens/minute (none: no limit)")
    add("--budget", type=_money, default=argparse.SUPPRESS, help="USD cap (none: no cap)")


def add_keys_parser(commands: Any) -> None:
    keys = commands.add_parser(
        "keys",
        help="manage the runtime keys of a running gateway",
        description="Create, list, show, update, rotate and revoke keys through a running "
        f"gateway's admin API. The master key is read from {_MASTER_ENV}.",
    )
    keys.add_argument(
        "--url",
        default=os.environ.get(_URL_ENV, _DEFAULT_URL),
        help=f"the gateway (default: {_URL_ENV} or {_DEFAULT_URL})",
    )
    keys.add_argument("--json", action="store_true", help="print the API's JSON")
    # --url and --json are taken after the action too (`liter-llm keys list --json`)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS, help="the gateway")
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the API's JSON"
    )
    actions = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    parents = [common]

    create = actions.add_parser(
        "create", help="create a key and print its secret (once)", parents=parents
    )
    _limits(create)
    add = create.add_argument
    add("--team", default=argparse.SUPPRESS, help="the team the key belongs to")
    add("--expires-at", default=argparse.SUPPRESS, help="ISO 8601 with zone: 2027-01-01T00:00Z")
    add("--budget-duration", default=argparse.SUPPRESS, help='budget period: "1d", "1mo"')
    add("--metadata", type=json.loads, default=argparse.SUPPRESS, help="a JSON object")
    create.add_argument("--blocked", action="store_true", help="create it blocked")

    actions.add_parser(
        "list", help="every key (config file and runtime), never a secret", parents=parents
    )
    show = actions.add_parser("show", help="one key", parents=parents)
    show.add_argument("id")

    update = actions.add_parser("update", help="change a runtime key", parents=parents)
    update.add_argument("id")
    _limits(update)
    blocked = update.add_mutually_exclusive_group()
    blocked.add_argument(
        "--block", dest="blocked", action="store_const", const=True, default=argparse.SUPPRESS
    )
    blocked.add_argument(
        "--unblock", dest="blocked", action="store_const", const=False, default=argparse.SUPPRESS
    )

    rotate = actions.add_parser("rotate", help="a new secret for a runtime key", parents=parents)
    rotate.add_argument("id")
    rotate.add_argument(
        "--grace", type=int, default=0, metavar="SECS", help="the old secret works this long"
    )

    revoke = actions.add_parser(
        "revoke", help="delete a runtime key (stops working at once)", parents=parents
    )
    revoke.add_argument("id")


def _request(
    url: str, method: str, path: str, master: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=method)
    request.add_header("authorization", f"Bearer {master}")
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECS) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"error": {"message": raw.decode(errors="replace")[:500]}}


def _chosen(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    """The fields the user gave (`--rpm none` is given, as null)."""
    return {
        "budget_limit" if name == "budget" else name: getattr(args, name)
        for name in names
        if hasattr(args, name)
    }


def _call(args: argparse.Namespace, master: str) -> tuple[int, Any]:
    url = args.url
    limits = ("description", "models", "rpm", "tpm", "budget")
    if args.action == "create":
        body = _chosen(args, (*limits, "team", "expires_at", "budget_duration", "metadata"))
        if args.blocked:
            body["blocked"] = True
        return _request(url, "POST", "/admin/keys", master, body)
    if args.action == "list":
        return _request(url, "GET", "/admin/keys", master)
    path = f"/admin/keys/{urllib.parse.quote(args.id, safe='')}"
    if args.action == "show":
        return _request(url, "GET", path, master)
    if args.action == "update":
        body = _chosen(args, (*limits, "blocked"))
        return _request(url, "PATCH", path, master, body)
    if args.action == "rotate":
        return _request(url, "POST", path + "/rotate", master, {"grace_period_secs": args.grace})
    return _request(url, "DELETE", path, master)


def run_keys(args: argparse.Namespace) -> int:
    master = os.environ.get(_MASTER_ENV, "")
    if not master:
        print(f"error: set {_MASTER_ENV} to the gateway's master key", file=sys.stderr)
        return 2
    try:
        status, answer = _call(args, master)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        print(f"error: cannot reach the gateway at {args.url}: {reason}", file=sys.stderr)
        return 1
    if status >= 400:
        detail = answer.get("error", {}) if isinstance(answer, dict) else {}
        print(f"error ({status}): {detail.get('message', answer)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2))
    elif args.action == "list":
        print(_table(answer["data"]))
    elif args.action == "revoke":
        print(f"revoked {answer['id']}")
    else:
        print(_table([answer]))
        if "key" in answer:
            print(f"\nsecret (shown only this once): {answer['key']}")
    return 0


_COLUMNS = ("id", "source", "description", "models", "rpm", "tpm", "budget", "spend", "expires")


def _row(key: dict[str, Any]) -> list[str]:
    limits = key.get("limits", {})
    budget = limits.get("budget_limit")
    description = key.get("description") or ""
    if key.get("blocked"):
        description = f"{description} (blocked)".strip()
    return [
        key["id"],
        key.get("source", ""),
        description,
        ",".join(key.get("models") or []) or "*",
        "-" if limits.get("rpm") is None else str(limits["rpm"]),
        "-" if limits.get("tpm") is None else str(limits["tpm"]),
        "-" if budget is None else f"${budget:.2f}",
        f"${key.get('spend', 0.0):.4f}",
        key.get("expires_at") or "-",
    ]


def _table(keys: list[dict[str, Any]]) -> str:
    rows = [list(_COLUMNS), *(_row(key) for key in keys)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
