"""Agent and structured-output libraries against `liter-llm api` on the quick-start
config: the built-in mock provider calls their tools and fills their schemas, offline."""

from __future__ import annotations

import datetime
import json
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Literal

import httpx
import instructor
import openai
import pydantic
import pytest
from langchain_openai import ChatOpenAI
from pydantic_ai import Agent, NativeOutput
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from tests.support.paths import REPO
from tests.support.process import Gateway, Gateways

MASTER = "sk-local-dev"  # examples/quickstart.toml


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateways = Gateways(tmp_path_factory.mktemp("gateways"))
    try:
        yield gateways.start(REPO / "examples" / "quickstart.toml")
    finally:
        gateways.close()


class Forecast(pydantic.BaseModel):
    city: Annotated[str, pydantic.Field(min_length=2)]
    when: datetime.date
    temperature: Annotated[float, pydantic.Field(ge=-60, le=60)]
    sky: Literal["clear", "cloudy", "rain"]
    alerts: list[str]
    wind: Wind | None = None


class Wind(pydantic.BaseModel):
    speed_kmh: Annotated[int, pydantic.Field(gt=0)]


Forecast.model_rebuild()


@pytest.fixture
async def openai_client(gateway: Gateway) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=gateway.url + "/v1", api_key=MASTER, max_retries=0
    ) as client:
        yield client


def pydantic_ai_model(client: openai.AsyncOpenAI) -> OpenAIChatModel:
    return OpenAIChatModel("chat", provider=OpenAIProvider(openai_client=client))


async def test_pydantic_ai_agent_calls_its_tool_then_answers(
    openai_client: openai.AsyncOpenAI,
) -> None:
    agent = Agent(pydantic_ai_model(openai_client))
    seen: list[tuple[str, int]] = []

    @agent.tool_plain
    def lookup_population(city: str, year: Annotated[int, pydantic.Field(ge=1900)]) -> str:
        """The population of a city in a year."""
        seen.append((city, year))
        return "2.1 million"

    result = await agent.run("How many people lived in Paris?")
    assert seen == [("", 1900)]
    assert result.output == "echo: 2.1 million"


async def test_pydantic_ai_typed_output_after_a_tool(openai_client: openai.AsyncOpenAI) -> None:
    agent = Agent(pydantic_ai_model(openai_client), output_type=Forecast)
    calls: list[str] = []

    @agent.tool_plain
    def station(city: str) -> str:
        """The weather station nearest to the city."""
        calls.append(city)
        return "LFPG"

    result = await agent.run("Forecast for Paris, please")
    assert calls == [""]
    assert isinstance(result.output, Forecast)
    assert result.output.sky == "clear" and result.output.temperature == 0


async def test_pydantic_ai_native_output_streams(openai_client: openai.AsyncOpenAI) -> None:
    agent = Agent(pydantic_ai_model(openai_client), output_type=NativeOutput(Forecast))
    async with agent.run_stream("Forecast for Lyon") as response:
        output = await response.get_output()
    assert output == Forecast.model_validate(
        {"city": "aa", "when": "2024-01-01", "temperature": 0, "sky": "clear", "alerts": []}
    )


def langchain_llm(gateway: Gateway, http: httpx.Client) -> ChatOpenAI:
    return ChatOpenAI(
        model="chat",
        base_url=gateway.url + "/v1",
        api_key=MASTER,
        max_retries=0,
        http_client=http,
    )


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_langchain_with_structured_output(gateway: Gateway, method: str) -> None:
    with httpx.Client() as http:
        structured = langchain_llm(gateway, http).with_structured_output(Forecast, method=method)
        forecast = structured.invoke("Forecast for Nice")
    assert isinstance(forecast, Forecast) and forecast.city == "aa"


def test_langchain_bind_tools_streams_a_tool_call(gateway: Gateway) -> None:
    with httpx.Client() as http:
        call_forecast_tool(langchain_llm(gateway, http))


def call_forecast_tool(llm: ChatOpenAI) -> None:

    def get_time(zone: str) -> str:
        """The time in a zone."""
        return zone

    def get_forecast(city: str, days: int) -> str:
        """A forecast for a city."""
        return city

    bound = llm.bind_tools([get_time, get_forecast])
    chunks = list(bound.stream("call get_forecast for Rome"))
    assert len(chunks) > 3
    message = chunks[0]
    for chunk in chunks[1:]:
        message += chunk  # type: ignore[assignment]
    (call,) = message.tool_calls  # type: ignore[attr-defined]
    assert call["name"] == "get_forecast" and call["args"] == {"city": "", "days": 0}


def test_instructor_fills_the_response_model(gateway: Gateway) -> None:
    with openai.OpenAI(base_url=gateway.url + "/v1", api_key=MASTER, max_retries=0) as base:
        forecast = instructor.from_openai(base).chat.completions.create(
            model="chat",
            response_model=Forecast,
            max_retries=0,
            messages=[{"role": "user", "content": "Forecast for Oslo"}],
        )
    assert isinstance(forecast, Forecast) and forecast.when == datetime.date(2024, 1, 1)


def test_instructor_streams_partial_objects(gateway: Gateway) -> None:
    class Wind(pydantic.BaseModel):  # instructor's partials validate strictly: no dates
        direction: Literal["N", "E", "S", "W"]
        speed_kmh: Annotated[int, pydantic.Field(gt=0)]
        gusts: list[int]

    with openai.OpenAI(base_url=gateway.url + "/v1", api_key=MASTER, max_retries=0) as base:
        partials = list(
            instructor.from_openai(base).chat.completions.create_partial(
                model="chat",
                response_model=Wind,
                max_retries=0,
                messages=[{"role": "user", "content": "Wind in Oslo"}],
            )
        )
    assert len(partials) > 1
    assert partials[-1].model_dump() == {"direction": "N", "speed_kmh": 1, "gusts": []}


def test_raw_stream_tool_call_deltas(gateway: Gateway) -> None:
    """The wire itself: first delta names the call, the rest carry argument pieces."""
    body = {
        "model": "chat",
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [
            {
                "type": "function",
                "function": {"name": "f", "parameters": Forecast.model_json_schema()},
            }
        ],
        "tool_choice": "required",
    }
    with httpx.stream(
        "POST",
        gateway.url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {MASTER}"},
        timeout=10,
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: {")]
    deltas = [json.loads(line[6:])["choices"][0] for line in lines]
    first = deltas[0]["delta"]["tool_calls"][0]
    assert first["function"] == {"name": "f", "arguments": ""} and first["id"].startswith("call_")
    pieces = [d["delta"]["tool_calls"][0]["function"]["arguments"] for d in deltas[1:-1]]
    assert Forecast.model_validate_json("".join(pieces)).sky == "clear"
    assert deltas[-1]["finish_reason"] == "tool_calls"
