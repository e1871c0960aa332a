"""Helpers shared by the governance tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from literllm.governance import Governor
from literllm.pricing import ModelPrice, Pricing

BACKENDS = ["memory", "sqlite", "redis"]

PRICED_MODEL = "openai/test-model"
"""Costs $0.001 per input token and $0.002 per output token."""
OTHER_MODEL = "openai/other-model"


class FakeClock:
    """Moves only when told to; `sleep` advances it at once."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self._origin = start

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now - self._origin

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def priced_table() -> Pricing:
    return Pricing(
        {
            PRICED_MODEL: ModelPrice(input=0.001, output=0.002, max_output_tokens=100),
            OTHER_MODEL: ModelPrice(input=0.01, output=0.02),
        }
    )


GovernorFactory = Callable[..., Governor]
