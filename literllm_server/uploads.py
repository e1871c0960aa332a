"""Streaming `multipart/form-data` parsing for `POST /v1/files`.

Usage in the route::

    upload = await parse_file_upload(content_type, body_chunks, limit=max_upload_bytes)
    file_object = await store.create(
        owner=owner,
        filename=upload.filename,
        purpose=upload.known_purpose or upload.purpose,
        chunks=upload.chunks,
    )

`parse_file_upload` reads the body only until the headers of the `file` part, keeping
the small form fields seen so far (the official `openai` SDK sends `purpose` first).
`upload.chunks` then yields the file's bytes as they arrive (at most one body chunk
is held at a time) and, once the file part ends, reads the rest of the form so that
a `purpose` sent after the file is known too. `known_purpose` is the purpose when it
came first (so the store rejects a bad one before writing a byte); `purpose()` gives
it once the form is complete, raising `BadRequestError(param="purpose")` when absent.

The byte limit is enforced while reading: more than `limit` body bytes raises
`PayloadTooLargeError`, from `parse_file_upload` or from iterating `chunks`.
A body that is not `multipart/form-data` raises `UnsupportedMediaTypeError`; a
malformed form, or one without a `file` part, raises `BadRequestError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from literllm import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError

__all__ = ["FileUpload", "parse_file_upload"]

FILE_FIELD: Final = "file"
_MAX_FIELD_BYTES: Final = 64 * 1024
_MAX_FIELDS: Final = 64
_MAX_BOUNDARY: Final = 256  # the longest python-multipart accepts


class _FormReader:
    """Feeds body chunks to python-multipart and collects what its callbacks report."""

    def __init__(self, boundary: bytes, body: AsyncIterator[bytes], limit: int) -> None:
        self._body = body
        self._limit = limit
        self._received = 0
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_content_type: str | None = None
        self.file_done = False
        self.complete = False
        self.pending: list[bytes] = []
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._part_name: str | None = None
        self._part_is_file = False
        self._field_value = bytearray()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    async def pump(self) -> bool:
        """Parse the next body chunk; False at the end of a complete form."""
        try:
            chunk = await anext(self._body)
        except StopAsyncIteration:
            if not self.complete:
                raise BadRequestError(
                    "The multipart body ended before its closing boundary.", param=FILE_FIELD
                ) from None
            return False
        self._received += len(chunk)
        if self._received > self._limit:
            raise PayloadTooLargeError(
                f"The request body is larger than {self._limit} bytes; raise "
                "[files] max_file_bytes to accept larger files."
            )
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise BadRequestError(f"Malformed multipart body: {exc}.") from exc
        return True

    def take_pending(self) -> bytes:
        data = b"".join(self.pending)
        self.pending.clear()
        return data

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._part_name = None
        self._part_is_file = False
        self._field_value = bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in params:
            raise BadRequestError("A multipart part has no Content-Disposition form-data name.")
        self._part_name = params[b"name"].decode("utf-8", "replace")
        if self._part_name != FILE_FIELD:
            return
        if self.filename is not None:
            raise BadRequestError("Send exactly one `file` part.", param=FILE_FIELD)
        raw_name = params.get(b"filename", b"").decode("utf-8", "replace")
        self.filename = raw_name.replace("\\", "/").rsplit("/", 1)[-1] or "upload"
        content_type = self._headers.get(b"content-type")
        self.file_content_type = content_type.decode("latin-1") if content_type else None
        self._part_is_file = True

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part_is_file:
            self.pending.append(data[start:end])
            return
        self._field_value += data[start:end]
        if len(self._field_value) > _MAX_FIELD_BYTES:
            raise BadRequestError(
                f"The form field {self._part_name!r} is longer than {_MAX_FIELD_BYTES} bytes.",
                param=self._part_name,
            )

    def _on_part_end(self) -> None:
        if self._part_is_file:
            self.file_done = True
            return
        if self._part_name is None:
            return
        if len(self.fields) >= _MAX_FIELDS:
            raise BadRequestError(f"The form has more than {_MAX_FIELDS} fields.")
        self.fields[self._part_name] = self._field_value.decode("utf-8", "replace")

    def _on_end(self) -> None:
        self.complete = True


class FileUpload:
    """The `file` part of a form being read: its name, type and a stream of its bytes."""

    def __init__(self, reader: _FormReader, filename: str) -> None:
        self._reader = reader
        self.filename = filename
        self.content_type: str | None = reader.file_content_type
        self.chunks: AsyncIterator[bytes] = self._stream()

    @property
    def fields(self) -> dict[str, str]:
        """The non-file fields read so far (all of them once `chunks` is exhausted)."""
        return dict(self._reader.fields)

    @property
    def known_purpose(self) -> str | None:
        """`purpose` if it has been read already (it precedes the file part), else None."""
        return self._reader.fields.get("purpose")

    def purpose(self) -> str:
        """The `purpose` field; call after `chunks` is exhausted if it may come late."""
        value = self._reader.fields.get("purpose")
        if value is not None:
            return value
        if not self._reader.complete:
            raise RuntimeError("purpose() is known once upload.chunks has been consumed")
        raise BadRequestError("Missing required form field: purpose.", param="purpose")

    async def _stream(self) -> AsyncIterator[bytes]:
        reader = self._reader
        while True:
            if reader.pending:
                yield reader.take_pending()
            if reader.file_done:
                break
            if not await reader.pump():
                break
        while not reader.complete and await reader.pump():
            pass
        reader.pending.clear()


async def parse_file_upload(
    content_type: str | None,
    body: AsyncIterator[bytes],
    *,
    limit: int,
    content_length: int | None = None,
) -> FileUpload:
    """Read a `POST /v1/files` form up to its `file` part; see the module docstring."""
    if content_length is not None and content_length > limit:
        raise PayloadTooLargeError(
            f"The request body is {content_length} bytes, more than the {limit} allowed; "
            "raise [server] body_limit_bytes to accept larger files."
        )
    media_type, params = parse_options_header(content_type or "")
    if media_type != b"multipart/form-data":
        raise UnsupportedMediaTypeError(
            "POST /v1/files takes multipart/form-data with a `file` part and a `purpose` field."
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequestError("The multipart/form-data Content-Type has no boundary.")
    if len(boundary) > _MAX_BOUNDARY:
        raise BadRequestError(
            f"The multipart boundary is {len(boundary)} characters long; at most "
            f"{_MAX_BOUNDARY} are accepted (RFC 2046 asks for at most 70)."
        )
    reader = _FormReader(boundary, body, limit)
    while reader.filename is None:
        if not await reader.pump():
            raise BadRequestError("Missing required form part: file.", param=FILE_FIELD)
    return FileUpload(reader, reader.filename)
