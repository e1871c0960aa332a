"""`GET /ui`: the dashboard's packaged files, with strict headers, nothing else."""

from __future__ import annotations

import http.client
import re
import sys
from collections.abc import Iterator

import pytest

from literllm import Proxy
from literllm_server.static import StaticFiles
from tests.support.configs import MOCK_POOL, config
from tests.support.paths import REPO
from tests.support.server import ServerThread

UI = REPO / "literllm_server" / "ui"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(Proxy.from_config(config(MOCK_POOL), environ={})) as running:
        yield running


def get(
    server: ServerThread, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with `path` sent exactly as written (no client-side normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def source_files() -> dict[str, bytes]:
    return {
        str(path.relative_to(UI)): path.read_bytes()
        for path in sorted(UI.rglob("*"))
        if path.is_file()
    }


def test_ui_redirects_to_the_folder_by_a_relative_location(server: ServerThread) -> None:
    status, headers, body = get(server, "/ui")
    assert status == 308 and headers["location"] == "ui/" and body == b""


def test_the_page_and_every_file_it_loads_are_served_with_their_type(
    server: ServerThread,
) -> None:
    status, headers, page = get(server, "/ui/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert page == (UI / "index.html").read_bytes()
    loaded = re.findall(rb'(?:src|href)="([^"#:]+)"', page)
    assert b"app.js" in loaded and b"vendor/uPlot.iife.min.js" in loaded
    # Follow the module imports too: the whole graph must resolve on the server.
    pending, seen = [name.decode() for name in loaded], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        status, headers, body = get(server, f"/ui/{name}")
        assert status == 200, name
        assert body == (UI / name).read_bytes(), name
        kind = {"js": "text/javascript", "css": "text/css"}[name.rsplit(".", 1)[1]]
        assert headers["content-type"] == f"{kind}; charset=utf-8", name
        base = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
        for imported in re.findall(r'from "\./([^"]+)"|from "\.\./([^"]+)"', body.decode()):
            here, parent = imported
            pending.append(base + here if here else parent)
    assert {"lib/api.js", "pages/keys.js", "pages/overview.js"} <= seen


def test_headers_forbid_inline_code_sniffing_framing_and_stale_copies(
    server: ServerThread,
) -> None:
    for path in ("/ui/", "/ui/app.js", "/ui/vendor/uPlot.min.css"):
        _, headers, _ = get(server, path)
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self';" in policy
        assert "unsafe" not in policy and "frame-ancestors 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-cache"
        assert "set-cookie" not in headers
        etag = headers["etag"]
        status, again, body = get(server, path, {"if-none-match": etag})
        assert status == 304 and body == b"" and again["etag"] == etag


def test_the_page_has_no_inline_script_or_style_and_loads_nothing_from_elsewhere() -> None:
    for name, body in source_files().items():
        if name.startswith("vendor/"):
            continue
        text = body.decode()
        assert "http://" not in text and "https://" not in text, name
        assert "innerHTML" not in text and "eval(" not in text, name
        if name.endswith(".html"):
            assert re.findall(r"<script(?![^>]*\ssrc=)", text) == [], name
            assert "<style" not in text and " style=" not in text, name
            assert not re.search(r"\son\w+=", text), name  # no inline event handlers


@pytest.mark.parametrize(
    "path",
    [
        "/ui/../pyproject.toml",
        "/ui/..%2fstatic.py",
        "/ui/%2e%2e/static.py",
        "/ui/%2e%2e%2fstatic.py",
        "/ui/vendor/../../static.py",
        "/ui/vendor/..%2f..%2fstatic.py",
        "/ui/..\\static.py",
        "/ui//etc/passwd",
        "/ui/%2fetc%2fpasswd",
        "/ui/./index.html",
        "/ui/vendor/",
        "/ui/vendor",
        "/ui/lib",
        "/ui/index.html%00.js",
        "/ui/no-such-file.js",
    ],
)
def test_no_path_reaches_another_file(server: ServerThread, path: str) -> None:
    status, headers, body = get(server, path)
    assert status == 404, (path, body[:200])
    assert headers["content-type"] == "application/json"
    assert b"import" not in body and b"root:" not in body


def test_files_of_other_kinds_in_the_folder_are_not_served(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    package = tmp_path_factory.mktemp("pkgroot") / "uipkg"
    (package / "ui" / "deep").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "ui" / "index.html").write_text("<p>hi</p>")
    (package / "ui" / "secret.py").write_text("KEY = 1")
    (package / "ui" / "deep" / "x.js").write_text("1")
    sys.path.insert(0, str(package.parent))
    try:
        files = StaticFiles("uipkg", "ui")
        assert files.get("index.html") is not None
        assert files.get("deep/x.js") is not None
        assert files.get("secret.py") is None and files.get("__init__.py") is None
        assert files.get("../__init__.py") is None
    finally:
        sys.path.remove(str(package.parent))
        sys.modules.pop("uipkg", None)


def _palettes() -> tuple[dict[str, str], dict[str, str]]:
    css = (UI / "app.css").read_text()
    light = css.split(":root {", 1)[1].split("}", 1)[0]
    dark = css.split("@media (prefers-color-scheme: dark)", 1)[1].split("}", 1)[0]

    def colours(block: str) -> dict[str, str]:
        return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-f]{6});", block))

    return colours(light), colours(dark)


def _contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, bl = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * bl

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("palette", [0, 1], ids=["light", "dark"])
def test_text_colours_meet_wcag_aa_contrast_in_light_and_dark(palette: int) -> None:
    colours = _palettes()[palette]
    pairs = [
        ("text", "bg"),
        ("text", "surface"),
        ("muted", "bg"),
        ("muted", "surface"),
        ("accent", "surface"),
        ("accent", "bg"),
        ("accent-text", "accent"),
        ("ok", "ok-bg"),
        ("warn", "warn-bg"),
        ("bad", "bad-bg"),
        ("surface", "bad"),  # a danger button's label
    ]
    for foreground, background in pairs:
        ratio = _contrast(colours[foreground], colours[background])
        assert ratio >= 4.5, (foreground, background, round(ratio, 2))
