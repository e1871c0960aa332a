"""Client text never becomes a raw URL path: every adapter that puts a model or
deployment name into the path quotes it, and refuses a `.` or `..` segment."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from literllm import Proxy
from literllm.errors import BadRequestError
from literllm.providers.azure import AzureAdapter
from literllm.providers.base import Target
from literllm.providers.bedrock import BedrockAdapter
from literllm.providers.bedrock_signing import AwsCredentials
from literllm.providers.gemini import GeminiAdapter
from literllm.providers.vertex import VertexAdapter
from literllm.testing import FakeClock, FakeUpstream
from literllm.transport.base import UpstreamRequest
from tests.support.configs import MASTER, config

BEDROCK_KEY = AwsCredentials(access_key_id="AKIDEXAMPLE", secret_access_key="s").to_api_key()
ADAPTERS = {
    "gemini": (GeminiAdapter(), "https://generativelanguage.googleapis.com/v1beta", "k"),
    "vertex_ai": (
        VertexAdapter(),
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1",
        "ya29.token",
    ),
    "azure": (AzureAdapter(), "https://contoso.openai.azure.com", "k"),
    "bedrock": (BedrockAdapter(), "https://bedrock-runtime.us-east-1.amazonaws.com", BEDROCK_KEY),
}
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def chat_url(provider: str, model: str) -> str:
    adapter, base_url, key = ADAPTERS[provider]
    target = Target(provider=provider, model=model, base_url=base_url, api_key=key)
    request: UpstreamRequest = adapter.chat_request(target, dict(BODY), stream=False)
    return request.url


def segments(url: str) -> list[str]:
    return urlsplit(url).path.split("/")


@pytest.mark.parametrize("provider", sorted(ADAPTERS))
@pytest.mark.parametrize("model", ["..", ".", "../../v1/files/abc", ""])
def test_a_dot_segment_model_is_refused(provider: str, model: str) -> None:
    if provider in ("azure", "bedrock") and "/" in model:
        # one segment for these: the slashes are encoded, the dots are harmless text
        url = chat_url(provider, model)
        assert ".." not in segments(url) and "%2F" in url
        return
    with pytest.raises(BadRequestError) as caught:
        chat_url(provider, model)
    assert caught.value.status == 400 and caught.value.param == "model"


@pytest.mark.parametrize("provider", sorted(ADAPTERS))
def test_spaces_and_reserved_characters_are_percent_encoded(provider: str) -> None:
    url = chat_url(provider, "my model?x=1#frag\u00e9")
    assert " " not in url and "#" not in url and "?x=1" not in url
    assert "my%20model%3Fx%3D1%23frag%C3%A9" in url


def test_gemini_and_vertex_resource_names_keep_their_slashes() -> None:
    assert "/v1beta/tunedModels/my-model:generateContent" in chat_url(
        "gemini", "tunedModels/my-model"
    )
    vertex = chat_url("vertex_ai", "publishers/google/models/gemini-2.0-flash")
    assert vertex.endswith("/publishers/google/models/gemini-2.0-flash:generateContent")


async def test_a_traversing_passthrough_model_never_reaches_the_upstream() -> None:
    upstream = FakeUpstream()
    toml = '[[aliases]]\npattern = "gemini/*"\napi_key = "AIza-test"\n'
    async with Proxy.from_config(
        config(toml), transport=upstream, clock=FakeClock(), environ={}
    ) as gateway:
        with pytest.raises(BadRequestError):
            await gateway.chat(
                {"model": "gemini/../../v1/files/abc", "messages": BODY["messages"]},
                api_key=MASTER,
            )
    assert upstream.requests == []
