"""A bounded schemathesis pass over `GET /openapi.json` against `liter-llm api`.

Every operation the document declares gets valid requests (positive) and requests that
break its declared schema (negative); the gateway must never answer 5xx and must answer
only statuses the document declares, with the declared content type. (Unknown query
parameters are ignored, as OpenAI's API does, so schemathesis's "negative data is
rejected" check is not run.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    CheckFunction,
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from tests.support.process import Gateway, Gateways

MASTER = "sk-master-schemathesis"
CONFIG = f"""
[general]
master_key = "{MASTER}"

[[models]]
name = "chat"
provider_model = "mock/echo"

[[keys]]
key = "vk-schemathesis-team"
models = ["chat"]
"""

EXAMPLES = 15  # per operation and mode: about 30 s for both modes on a 2-core machine
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


_BODY_CHECKED = (
    "POST /v1/chat/completions",
    "POST /v1/embeddings",
    "POST /v1/files",
    "POST /v1/messages/count_tokens",
)
_INTEGERS = ("max_tokens", "max_completion_tokens", "n", "dimensions")


def _no_integral_floats(case: schemathesis.Case) -> bool:
    """JSON Schema counts 3.0 as an integer; OpenAI's API (and so the gateway) refuses a
    decimal number where it wants an integer, which the schema language cannot say."""
    body = case.body
    return not isinstance(body, dict) or not any(isinstance(body.get(k), float) for k in _INTEGERS)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("schemathesis")
    files = f'\n[files]\nbackend = "fs"\n[files.backend_config]\nroot = "{root / "files"}"\n'
    gateways = Gateways(root)
    try:
        yield gateways.start(CONFIG + files)
    finally:
        gateways.close()


def exercise(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base_url: str,
    checks: list[CheckFunction],
) -> None:
    headers = {"authorization": f"Bearer {MASTER}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode).filter(_no_integral_floats))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=checks, timeout=10)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_only_declared_answers(gateway: Gateway, mode: GenerationMode) -> None:
    document = httpx.get(gateway.url + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    started = time.monotonic()
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        checks = list(CHECKS)
        if mode is GenerationMode.POSITIVE and operation.label in _BODY_CHECKED:
            # A body the document calls valid must not be refused with 400. (Query values
            # such as `after` are checked against stored state: no schema says which.)
            checks.append(positive_data_acceptance)
        try:
            exercise(operation, mode, gateway.url, checks)
        except Unsatisfiable:  # nothing to break in an operation without inputs
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        tested.append(operation.label)
    assert "POST /v1/chat/completions" in tested and "POST /v1/files" in tested
    assert time.monotonic() - started < 120
