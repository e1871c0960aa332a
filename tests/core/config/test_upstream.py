"""The `[upstream]` extension table: documented defaults, checked bounds."""

from __future__ import annotations

import pytest

from literllm.config import UpstreamConfig, parse_config
from literllm.errors import ConfigError
from literllm.transport.client import DEFAULTS


def test_defaults_are_the_documented_ones_and_the_transports() -> None:
    config = parse_config("", "c.toml", environ={})
    assert config.upstream == UpstreamConfig()
    limits = config.upstream
    assert (limits.max_response_bytes, limits.max_event_bytes) == (32 << 20, 8 << 20)
    assert (limits.max_connections, limits.max_connections_per_host) == (512, 256)
    assert (limits.pool_timeout_secs, limits.idle_timeout_secs) == (30.0, 15.0)
    assert {
        "max_response_bytes": limits.max_response_bytes,
        "max_event_bytes": limits.max_event_bytes,
        "max_connections": limits.max_connections,
        "max_connections_per_host": limits.max_connections_per_host,
        "pool_timeout": limits.pool_timeout_secs,
        "idle_timeout": limits.idle_timeout_secs,
    } == DEFAULTS


def test_values_are_read_and_checked() -> None:
    text = "[upstream]\nmax_response_bytes = 1024\nidle_timeout_secs = 0\n"
    config = parse_config(text, "c.toml", environ={})
    assert config.upstream.max_response_bytes == 1024
    assert config.upstream.idle_timeout_secs == 0
    for bad in ("max_connections = 0", "pool_timeout_secs = 0", "max_event_bytes = -1"):
        with pytest.raises(ConfigError, match=r"\[upstream\]"):
            parse_config(f"[upstream]\n{bad}\n", "c.toml", environ={})
