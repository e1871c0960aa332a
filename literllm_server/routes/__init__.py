"""The route table: one module per group of endpoints."""

from __future__ import annotations

from ..http import Handler
from . import (
    admin,
    audio,
    batches,
    chat,
    completions,
    documents,
    files,
    health,
    images,
    messages,
    models,
    ranking,
    responses,
    ui,
)

__all__ = ["ROUTES", "dynamic_route"]

ROUTES: dict[str, dict[str, Handler]] = {
    "/v1/chat/completions": {"POST": chat.chat_completions},
    "/chat/completions": {"POST": chat.chat_completions},
    "/v1/embeddings": {"POST": chat.embeddings},
    "/embeddings": {"POST": chat.embeddings},
    "/v1/completions": {"POST": completions.completions},
    "/completions": {"POST": completions.completions},
    "/v1/moderations": {"POST": ranking.moderations},
    "/moderations": {"POST": ranking.moderations},
    "/v1/rerank": {"POST": ranking.rerank},
    "/rerank": {"POST": ranking.rerank},
    "/v1/images/generations": {"POST": images.generations},
    "/images/generations": {"POST": images.generations},
    "/v1/images/edits": {"POST": images.edits},
    "/images/edits": {"POST": images.edits},
    "/v1/images/variations": {"POST": images.variations},
    "/images/variations": {"POST": images.variations},
    "/v1/audio/speech": {"POST": audio.speech},
    "/audio/speech": {"POST": audio.speech},
    "/v1/audio/transcriptions": {"POST": audio.transcriptions},
    "/audio/transcriptions": {"POST": audio.transcriptions},
    "/v1/audio/translations": {"POST": audio.translations},
    "/audio/translations": {"POST": audio.translations},
    "/v1/search": {"POST": documents.search},
    "/search": {"POST": documents.search},
    "/v1/ocr": {"POST": documents.ocr},
    "/ocr": {"POST": documents.ocr},
    "/v1/messages": {"POST": messages.messages},
    "/v1/messages/count_tokens": {"POST": messages.count_tokens},
    "/v1/responses": {"POST": responses.create},
    "/v1/models": {"GET": models.list_models},
    "/models": {"GET": models.list_models},
    "/health": {"GET": health.health},
    "/health/liveness": {"GET": health.liveness},
    "/health/readiness": {"GET": health.readiness},
    "/openapi.json": {"GET": health.openapi},
    "/metrics": {"GET": admin.metrics},
    "/admin/keys": {"GET": admin.keys, "POST": admin.create_key},
    "/admin/spend": {"GET": admin.spend},
    "/admin/audit": {"GET": admin.audit},
    "/admin/models": {"GET": admin.models},
    "/admin/config": {"GET": admin.config},
    "/admin/traffic": {"GET": admin.traffic},
    "/admin/requests": {"GET": admin.recent_requests},
    "/v1/batches": {"GET": batches.list_batches, "POST": batches.create_batch},
    "/batches": {"GET": batches.list_batches, "POST": batches.create_batch},
    "/v1/files": {"GET": files.list_files, "POST": files.create_file},
    "/files": {"GET": files.list_files, "POST": files.create_file},
    "/ui": {"GET": ui.redirect},
}


def dynamic_route(path: str) -> dict[str, Handler] | None:
    """Routes with an id in the path."""
    if path.startswith("/ui/"):
        return {"GET": ui.asset}
    if path.startswith(("/v1/models/", "/models/")) and not path.endswith("/"):
        return {"GET": models.get_model}
    if path.startswith("/v1/responses/"):
        rest = path[len("/v1/responses/") :]
        if rest and "/" not in rest:
            return {"GET": responses.retrieve, "DELETE": responses.delete}
        response_id, _, action = rest.partition("/")
        if response_id and action == "cancel":
            return {"POST": responses.cancel}
        if response_id and action == "input_items":
            return {"GET": responses.input_items}
    if path.startswith(("/v1/batches/", "/batches/")):
        rest = path.split("/batches/", 1)[1]
        if rest and "/" not in rest:
            return {"GET": batches.retrieve_batch}
        if rest.endswith("/cancel") and rest.count("/") == 1:
            return {"POST": batches.cancel_batch}
    if path.startswith("/admin/keys/"):
        rest = path.removeprefix("/admin/keys/")
        if rest and "/" not in rest:
            return {"GET": admin.key, "PATCH": admin.update_key, "DELETE": admin.delete_key}
        if rest.endswith("/rotate") and rest.count("/") == 1:
            return {"POST": admin.rotate_key}
        return None
    if path.startswith(("/v1/files/", "/files/")):
        rest = path.split("/files/", 1)[1]
        if rest and "/" not in rest:
            return {"GET": files.retrieve_file, "DELETE": files.delete_file}
        if rest.endswith("/content") and rest.count("/") == 1:
            return {"GET": files.file_content}
    return None
