"""The dashboard's files (`literllm_server/ui/`), read from the installed package once,
on the first request for one of them.

Only files found in that folder when it is read can be served: a name is looked up in
that table, never joined to a path on disk, so no name (`..`, `%2e%2e`, a symlink, an
absolute path) can reach another file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = ["Asset", "StaticFiles"]

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
"""The kinds of file served; any other file in the folder is not."""

_MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


class StaticFiles:
    """The files of one package folder, by their path relative to it (`vendor/x.js`)."""

    def __init__(self, package: str, folder: str) -> None:
        self._package = package
        self._folder = folder
        self._assets: dict[str, Asset] | None = None

    def get(self, name: str) -> Asset | None:
        if self._assets is None:
            self._assets = _read(files(self._package).joinpath(self._folder))
        return self._assets.get(name)


def _read(root: Traversable) -> dict[str, Asset]:
    assets: dict[str, Asset] = {}
    if not root.is_dir():
        return assets
    pending: list[tuple[Traversable, str, int]] = [(root, "", 0)]
    while pending:
        folder, prefix, depth = pending.pop()
        for entry in folder.iterdir():
            name = prefix + entry.name
            if entry.is_dir():
                if depth < _MAX_DEPTH:
                    pending.append((entry, name + "/", depth + 1))
                continue
            suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
            content_type = _TYPES.get(suffix)
            if content_type is None:
                continue
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            assets[name] = Asset(body, content_type, etag)
    return assets
