"""Helpers shared by the governance tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

from collections.abc import Callable

from literllm.governance.governor import Governor
from literllm.pricing import ModelPrice, Pricing
from literllm.testing import FakeClock  # noqa: F401 (re-exported for the tests)

BACKENDS = ["memory", "sqlite", "redis"]

PRICED_MODEL = "openai/test-model"
"""Costs $0.001 per input token and $0.002 per output token."""
OTHER_MODEL = "openai/other-model"


def priced_table() -> Pricing:
    return Pricing(
        {
            PRICED_MODEL: ModelPrice(input=0.001, output=0.002, max_output_tokens=100),
            OTHER_MODEL: ModelPrice(input=0.01, output=0.02),
        }
    )


GovernorFactory = Callable[..., Governor]
