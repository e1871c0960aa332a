"""Fixtures for the server's tests."""

from __future__ import annotations

import pytest

from literllm.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
