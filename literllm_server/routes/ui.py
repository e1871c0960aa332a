"""The dashboard: `GET /ui` and its files under `/ui/`, static and without a key (every
figure it shows comes from the admin API, called by the page with the master key)."""

from __future__ import annotations

from literllm import NotFoundError

from ..http import Gateway, Receive, Request, Send, send_bytes

__all__ = ["asset", "redirect"]

_SECURITY = [
    # Scripts and styles from this gateway only (no inline code), data from its API only.
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


async def redirect(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    """`/ui` to `/ui/`, by a relative location, so that the page's relative links (and
    a gateway served under a path prefix) work."""
    headers = [*_SECURITY, (b"location", b"ui/"), (b"cache-control", b"no-cache")]
    await send_bytes(send, 308, b"", headers, b"text/plain; charset=utf-8")


async def asset(app: Gateway, request: Request, receive: Receive, send: Send) -> None:
    name = request.path.removeprefix("/ui/") or "index.html"
    found = app.ui.get(name)
    if found is None:
        raise NotFoundError(f"the dashboard has no file {name!r}; open /ui", code="unknown_url")
    # Not fingerprinted, so revalidated on every load (a 304 when unchanged): an upgraded
    # gateway's page is never mixed with an older script from the browser's cache.
    headers = [
        *_SECURITY,
        (b"cache-control", b"no-cache"),
        (b"etag", found.etag.encode("ascii")),
    ]
    if found.etag in request.headers.get("if-none-match", ""):
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send_bytes(send, 200, found.body, headers, found.content_type.encode("ascii"))
