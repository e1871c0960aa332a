"""The built-in `mock` provider: OpenAI's wire format, answered in-process.

Requests are built exactly as for OpenAI and sent to `mock://local`; the gateway's
transport hands that scheme to `literllm.transport.mock.MockUpstream` instead of the network.
"""

from __future__ import annotations

from .openai import OpenAIAdapter

__all__ = ["MockAdapter"]


class MockAdapter(OpenAIAdapter):
    name = "mock"
    default_base_url = "mock://local/v1"

    def __init__(self) -> None:
        super().__init__(auth="none")
