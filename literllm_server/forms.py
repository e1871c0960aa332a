"""Read a whole `multipart/form-data` body into a `Form` (image edits, audio uploads).

Unlike `/v1/files` uploads, which stream to storage, these forms go to a provider in
one request, so they are held in memory: at most `body_limit_bytes`, enforced while
reading, with at most 64 parts.
"""

from __future__ import annotations

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from literllm import (
    BadRequestError,
    Form,
    FormFile,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

from .http import Receive, Request, body_chunks

__all__ = ["read_form"]

_MAX_BOUNDARY = 256  # the longest python-multipart accepts

_MAX_PARTS = 64


class _Collector:
    def __init__(self) -> None:
        self.form = Form()
        self.complete = False
        self._headers: dict[bytes, bytes] = {}
        self._name = bytearray()
        self._value = bytearray()
        self._data = bytearray()
        self._parts = 0

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._name.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_part_data": lambda d, s, e: self._data.extend(d[s:e]),
            "on_part_end": self._end,
            "on_end": self._done,
        }

    def _begin(self) -> None:
        self._parts += 1
        if self._parts > _MAX_PARTS:
            raise BadRequestError(f"the form has more than {_MAX_PARTS} parts")
        self._headers = {}
        self._data = bytearray()

    def _header_end(self) -> None:
        self._headers[bytes(self._name).lower()] = bytes(self._value)
        self._name.clear()
        self._value.clear()

    def _end(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in params:
            raise BadRequestError("a multipart part has no Content-Disposition form-data name")
        name = params[b"name"].decode("utf-8", "replace")
        if b"filename" in params:
            filename = params[b"filename"].decode("utf-8", "replace")
            content_type = self._headers.get(b"content-type", b"application/octet-stream")
            self.form.files.append(
                FormFile(
                    name=name,
                    filename=filename.replace("\\", "/").rsplit("/", 1)[-1] or "upload",
                    content_type=content_type.decode("latin-1"),
                    data=bytes(self._data),
                )
            )
        else:
            self.form.fields.append((name, self._data.decode("utf-8", "replace")))

    def _done(self) -> None:
        self.complete = True


async def read_form(request: Request, receive: Receive, limit: int) -> Form:
    """The request's form (415 when it is not multipart, 413 past `limit`)."""
    length = request.headers.get("content-length")
    if (
        length is not None
        and length.isascii()
        and length.isdigit()
        and (len(length) > 18 or int(length) > limit)
    ):
        raise _too_large(limit)
    media_type, params = parse_options_header(request.headers.get("content-type", ""))
    if media_type != b"multipart/form-data":
        raise UnsupportedMediaTypeError(
            f"{request.path} takes multipart/form-data (the openai SDK sends it)"
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequestError("the multipart/form-data Content-Type has no boundary")
    if len(boundary) > _MAX_BOUNDARY:
        raise BadRequestError(
            f"the multipart boundary is {len(boundary)} characters long; at most "
            f"{_MAX_BOUNDARY} are accepted (RFC 2046 asks for at most 70)"
        )
    collector = _Collector()
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    received = 0
    async for chunk in body_chunks(receive):
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        try:
            parser.write(chunk)
        except MultipartParseError as exc:
            raise BadRequestError(f"malformed multipart body: {exc}") from exc
    if not collector.complete:
        raise BadRequestError("the multipart body ended before its closing boundary")
    return collector.form


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the request body is larger than body_limit_bytes ({limit} bytes); send less, or "
        "raise [server] body_limit_bytes in liter-llm-proxy.toml"
    )
