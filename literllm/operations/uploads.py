"""Operations whose body is a `multipart/form-data` form (image edits and variations,
audio transcriptions and translations): the form travels in the request dict under
`FORM_KEY`, next to its fields, and is re-encoded for the upstream with its `model`."""

from __future__ import annotations

from typing import Any, Final

from ..errors import BadRequestError
from ..multipart import Form, encode
from ..providers.base import Adapter, Target
from ..types import UpstreamRequest
from .base import PassThrough, openai_adapter
from .catalog import unsupported

__all__ = ["FORM_KEY", "FormOperation", "form_request"]

FORM_KEY: Final = "__form__"


def form_request(form: Form) -> dict[str, Any]:
    """The request dict of a form: its fields (for routing, limits, spans) and itself."""
    request: dict[str, Any] = form.as_dict()
    request[FORM_KEY] = form
    return request


class FormOperation(PassThrough):
    file_fields: tuple[str, ...] = ("file",)
    """Parts of which at least one must be a file."""

    def validate(self, body: dict[str, Any]) -> None:
        form = body.get(FORM_KEY)
        if not isinstance(form, Form):
            raise BadRequestError(f"{self.endpoint} takes a multipart/form-data body")
        if not body.get("model"):
            raise BadRequestError(
                "missing required field 'model'", param="model", code="missing_required_field"
            )
        names = {f.name.removesuffix("[]") for f in form.files}
        if not names & set(self.file_fields):
            wanted = self.file_fields[0]
            raise BadRequestError(
                f"missing required file part {wanted!r}",
                param=wanted,
                code="missing_required_field",
            )

    def request(
        self, adapter: Adapter, target: Target, body: dict[str, Any], *, stream: bool
    ) -> UpstreamRequest:
        native = openai_adapter(adapter)
        if native is None or not self.catalog.serves(target.provider, self.kind, target.model):
            raise unsupported(target.provider, self.endpoint)
        form: Form = body[FORM_KEY].copy()
        form.set("model", target.model)
        content_type, data = encode(form)
        headers = native.headers(target)
        headers["content-type"] = content_type
        return UpstreamRequest("POST", native.url(target, self.upstream_path), headers, data)
