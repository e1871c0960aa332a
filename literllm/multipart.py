"""A `multipart/form-data` request held in memory: image edits, audio uploads.

The server reads the client's form into a `Form` (bounded by `body_limit_bytes`); the
gateway changes a field or two (`model`) and `encode` writes it for the upstream.
"""

from __future__ import annotations

import secrets

import msgspec

__all__ = ["Form", "FormFile", "encode"]


class FormFile(msgspec.Struct, frozen=True):
    name: str
    filename: str
    content_type: str
    data: bytes


class Form(msgspec.Struct):
    """Fields in the order sent (a name may repeat: `timestamp_granularities[]`)."""

    fields: list[tuple[str, str]] = msgspec.field(default_factory=list)
    files: list[FormFile] = msgspec.field(default_factory=list)

    def get(self, name: str) -> str | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def set(self, name: str, value: str) -> None:
        self.fields = [(k, v) for k, v in self.fields if k != name]
        self.fields.append((name, value))

    def as_dict(self) -> dict[str, str]:
        """The fields as a mapping (the last value of a repeated name), for logs,
        spans, limits and validation."""
        return dict(self.fields)

    def copy(self) -> Form:
        return Form(fields=list(self.fields), files=list(self.files))


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def encode(form: Form) -> tuple[str, bytes]:
    """(content type with boundary, body)."""
    boundary = "literllm" + secrets.token_hex(12)
    head = b"--" + boundary.encode()
    parts: list[bytes] = []
    for name, value in form.fields:
        parts += [
            head,
            f'\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode(),
            value.encode(),
            b"\r\n",
        ]
    for file in form.files:
        parts += [
            head,
            (
                f'\r\nContent-Disposition: form-data; name="{_quote(file.name)}"; '
                f'filename="{_quote(file.filename)}"\r\n'
                f"Content-Type: {_quote(file.content_type)}\r\n\r\n"
            ).encode(),
            file.data,
            b"\r\n",
        ]
    parts.append(head + b"--\r\n")
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)
