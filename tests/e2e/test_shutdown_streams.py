"""SIGTERM: streams still running when the grace period ends get an error event and
[DONE], are logged once each without a traceback, and are charged what was relayed."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx

from tests.support.badupstream import BadUpstream, endless_stream
from tests.support.process import Gateways, gateways_fixture  # noqa: F401

MASTER = "sk-master-shutdown-0001"


def test_streams_past_the_grace_period_end_cleanly_and_are_charged(
    gateways: Gateways, tmp_path: Path
) -> None:
    database = tmp_path / "state.db"
    with BadUpstream(endless_stream) as upstream:
        gateway = gateways.start(
            f"""
[server]
host = "127.0.0.1"
shutdown_grace_secs = 1

[general]
master_key = "{MASTER}"

[[models]]
name = "gpt"
provider_model = "openai/gpt-4o"
api_key = "sk-upstream-shutdown-0002"
base_url = "{upstream.base_url}"

[state]
backend = "sqlite"

[state.backend_config]
path = "{database}"
"""
        )
        results: dict[int, list[str]] = {}
        streaming = threading.Barrier(3)

        def consume(index: int) -> None:
            events: list[str] = []
            with httpx.stream(
                "POST",
                gateway.url + "/v1/chat/completions",
                json={"model": "gpt", "messages": [{"role": "user", "content": "hi"}],
                      "stream": True},
                headers={"authorization": f"Bearer {MASTER}"},
                timeout=15,
            ) as response:  # fmt: skip
                deadline = time.monotonic() + 10
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        events.append(line[6:])
                        if len(events) == 3:
                            streaming.wait(5)
                    if time.monotonic() > deadline:
                        break
            results[index] = events

        clients = [threading.Thread(target=consume, args=(i,)) for i in range(2)]
        for client in clients:
            client.start()
        streaming.wait(10)
        gateway.signal(signal.SIGTERM)
        for client in clients:
            client.join(15)
        assert gateway.wait(timeout=20) == 0
    stderr = gateway.stderr()
    for events in results.values():
        assert events[-1] == "[DONE]"
        error = json.loads(events[-2])["error"]
        assert error["code"] == "shutting_down" and error["type"] == "service_unavailable"
    assert len(results) == 2
    assert stderr.count("ended at shutdown") == 2
    assert "Traceback" not in stderr
    with sqlite3.connect(database) as db:
        (spent,) = db.execute("SELECT amount FROM spend WHERE cap = 'global'").fetchone()
    assert spent > 0
