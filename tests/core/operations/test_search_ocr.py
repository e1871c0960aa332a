"""`/v1/search` and `/v1/ocr` through `Proxy`: each provider's wire format, the Rust
liter-llm's shapes back, prices per query and per page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jsonschema
import msgspec
import pytest

from literllm import BadRequestError, Pricing, Proxy
from literllm.testing import FakeClock, FakeUpstream, Reply
from literllm_server.openapi import openapi_document
from tests.support.configs import MASTER, config

MODELS = """
[general]
master_key = "sk-master-test-0001"
enable_cost_tracking = true

[[models]]
name = "tavily"
provider_model = "tavily/search"
api_key = "tvly-secret"

[[models]]
name = "brave"
provider_model = "brave/web"
api_key = "brave-secret"

[[models]]
name = "perplexity"
provider_model = "perplexity/search"
api_key = "pplx-secret"

[[models]]
name = "ocr"
provider_model = "mistral/mistral-ocr-latest"
api_key = "mistral-secret"

[[models]]
name = "mock"
provider_model = "mock/anything"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-up"
"""


def schema(name: str) -> dict:
    document = openapi_document()
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


def check(value: object, name: str) -> None:
    jsonschema.Draft202012Validator(schema(name)).validate(value)


def make(upstream: FakeUpstream) -> Proxy:
    return Proxy.from_config(config(MODELS), transport=upstream, clock=FakeClock(), environ={})


async def test_tavily_search() -> None:
    upstream = FakeUpstream()
    upstream.script(
        Reply(
            200,
            json={
                "query": "q",
                "results": [
                    {"title": "A", "url": "https://a.example", "content": "about a", "score": 0.9},
                    {
                        "title": "B",
                        "url": "https://b.example",
                        "content": "about b",
                        "published_date": "2026-01-02",
                    },
                ],
            },
        )
    )
    async with make(upstream) as proxy:
        answer = await proxy.search(
            {
                "model": "tavily",
                "query": "gateways",
                "max_results": 2,
                "search_domain_filter": ["a.example"],
            },
            api_key=MASTER,
        )
    request = upstream.requests[0]
    assert request.url == "https://api.tavily.com/search"
    assert request.headers["authorization"] == "Bearer tvly-secret"
    assert msgspec.json.decode(request.body) == {
        "query": "gateways",
        "max_results": 2,
        "include_domains": ["a.example"],
    }
    body = answer.json()
    check(body, "SearchResponse")
    assert body["results"][1] == {
        "title": "B",
        "url": "https://b.example",
        "snippet": "about b",
        "date": "2026-01-02",
    }
    price = Pricing.load().unit_price("tavily/search", "query")
    assert float(answer.headers["x-literllm-response-cost"]) == pytest.approx(price)


async def test_brave_search_is_a_get_with_its_token() -> None:
    upstream = FakeUpstream()
    upstream.script(
        Reply(
            200,
            json={
                "web": {
                    "results": [
                        {"title": "T", "url": "https://t.example", "description": "d", "age": "1d"}
                    ]
                }
            },
        )
    )
    async with make(upstream) as proxy:
        answer = await proxy.search(
            {"model": "brave", "query": "x y", "max_results": 50, "country": "FR"},
            api_key=MASTER,
        )
    request = upstream.requests[0]
    assert request.method == "GET" and request.headers["x-subscription-token"] == "brave-secret"
    parts = urlsplit(request.url)
    assert parts.path == "/res/v1/web/search"
    assert parse_qs(parts.query) == {"q": ["x y"], "count": ["20"], "country": ["FR"]}
    assert answer.json()["results"] == [
        {"title": "T", "url": "https://t.example", "snippet": "d", "date": "1d"}
    ]


async def test_perplexity_and_mock_search_speak_the_same_shape() -> None:
    upstream = FakeUpstream()
    upstream.script(
        Reply(200, json={"results": [{"title": "P", "url": "https://p", "snippet": "s"}]}),
        url="perplexity",
    )
    async with make(upstream) as proxy:
        answer = await proxy.search({"model": "perplexity", "query": "q"}, api_key=MASTER)
        mocked = await proxy.search(
            {"model": "mock", "query": "q", "max_results": 2}, api_key=MASTER
        )
    assert upstream.requests[0].url == "https://api.perplexity.ai/search"
    assert answer.json() == {
        "results": [{"title": "P", "url": "https://p", "snippet": "s"}],
        "model": "perplexity",
    }
    check(mocked.json(), "SearchResponse")
    assert len(mocked.json()["results"]) == 2


async def test_mistral_ocr() -> None:
    upstream = FakeUpstream()
    upstream.script(
        Reply(
            200,
            json={
                "pages": [
                    {
                        "index": 1,
                        "markdown": "# Title",
                        "images": [{"id": "img-0.jpeg", "top_left_x": 1}],
                        "dimensions": {"dpi": 200, "height": 2200, "width": 1700},
                    }
                ],
                "model": "mistral-ocr-2505",
                "usage_info": {"pages_processed": 1, "doc_size_bytes": 100},
            },
        )
    )
    async with make(upstream) as proxy:
        answer = await proxy.ocr(
            {
                "model": "ocr",
                "document": {"type": "base64", "data": "iVBORw0K", "media_type": "image/png"},
                "pages": [2],
            },
            api_key=MASTER,
        )
    request = upstream.requests[0]
    assert request.url == "https://api.mistral.ai/v1/ocr"
    assert msgspec.json.decode(request.body) == {
        "model": "mistral-ocr-latest",
        "document": {"type": "image_url", "image_url": "data:image/png;base64,iVBORw0K"},
        "pages": [1],
    }
    body = answer.json()
    check(body, "OcrResponse")
    assert body["pages"] == [
        {
            "index": 1,
            "markdown": "# Title",
            "images": [{"id": "img-0.jpeg"}],
            "dimensions": {"width": 1700, "height": 2200},
        }
    ]
    price = Pricing.load().unit_price("mistral/mistral-ocr-latest", "page")
    assert float(answer.headers["x-literllm-response-cost"]) == pytest.approx(price)


async def test_mock_ocr_of_a_url() -> None:
    async with make(FakeUpstream()) as proxy:
        answer = await proxy.ocr(
            {"model": "mock", "document": {"type": "document_url", "url": "https://d/x.pdf"}},
            api_key=MASTER,
        )
    check(answer.json(), "OcrResponse")
    assert "https://d/x.pdf" in answer.json()["pages"][0]["markdown"]


@pytest.mark.parametrize(
    ("call", "body", "param"),
    [
        ("search", {"model": "mock"}, "query"),
        ("search", {"model": "mock", "query": "q", "max_results": 0}, "max_results"),
        ("search", {"model": "mock", "query": "q", "extra": 1}, None),
        ("ocr", {"model": "mock", "document": {"type": "other"}}, "document.type"),
        (
            "ocr",
            {"model": "mock", "document": {"type": "document_url", "url": "u"}, "pages": [0]},
            "pages",
        ),
    ],
)
async def test_bad_requests(call: str, body: dict, param: str | None) -> None:
    async with make(FakeUpstream()) as proxy:
        with pytest.raises(BadRequestError) as caught:
            await getattr(proxy, call)(body, api_key=MASTER)
    if param is not None:
        assert caught.value.param == param


async def test_providers_without_search_or_ocr_answer_400() -> None:
    upstream = FakeUpstream()
    async with make(upstream) as proxy:
        with pytest.raises(BadRequestError, match="'openai' does not offer /v1/search"):
            await proxy.search({"model": "gpt", "query": "q"}, api_key=MASTER)
        with pytest.raises(BadRequestError, match="'tavily' does not offer /v1/ocr"):
            await proxy.ocr(
                {"model": "tavily", "document": {"type": "document_url", "url": "u"}},
                api_key=MASTER,
            )
    assert not upstream.requests
