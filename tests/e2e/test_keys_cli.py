"""`liter-llm keys ...` against a real gateway: create, list, show, update, rotate, revoke."""

from __future__ import annotations

import json

import httpx

from tests.support.process import Gateways, gateways_fixture, run_cli  # noqa: F401

MASTER = "sk-master-cli-0001"
TOML = f"""
[server]
host = "127.0.0.1"

[general]
master_key = "{MASTER}"

[[models]]
name = "chat"
provider_model = "mock/echo"

[[keys]]
key = "vk-config-cli-0002"
description = "from the file"
"""
BODY = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}


def test_keys_round_trip(gateways: Gateways) -> None:
    gateway = gateways.start(TOML)
    env = {"LITER_LLM_MASTER_KEY": MASTER}

    def keys(*args: str) -> str:
        done = run_cli("keys", "--url", gateway.url, *args, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    created = json.loads(
        keys("--json", "create", "--description", "cli", "--models", "chat", "--rpm", "7")
    )
    secret, key = created["key"], created["id"]
    chat = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        json=BODY,
        headers={"authorization": f"Bearer {secret}"},
    )
    assert chat.status_code == 200

    table = keys("list")
    header, *rows = table.splitlines()
    assert header.split()[:3] == ["id", "source", "description"]
    assert any(r.startswith(key) and "runtime" in r and " 7 " in r for r in rows), table
    assert any("config" in r and "from the file" in r for r in rows), table
    assert secret not in table

    shown = json.loads(keys("--json", "show", key))
    assert shown["limits"]["rpm"] == 7 and "key" not in shown

    updated = json.loads(keys("--json", "update", key, "--rpm", "none", "--block"))
    assert updated["limits"]["rpm"] is None and updated["blocked"] is True
    assert updated["description"] == "cli"  # untouched fields stay
    keys("update", key, "--unblock")

    rotated = keys("rotate", key, "--grace", "0")
    new_secret = rotated.split("secret (shown only this once): ")[1].strip()
    assert new_secret != secret and key in rotated

    assert keys("revoke", key).strip() == f"revoked {key}"
    chat = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        json=BODY,
        headers={"authorization": f"Bearer {new_secret}"},
    )
    assert chat.status_code == 401

    missing = run_cli("keys", "--url", gateway.url, "show", key, env=env)
    assert missing.returncode == 1 and "(404)" in missing.stderr
    no_master = run_cli("keys", "--url", gateway.url, "list")
    assert no_master.returncode == 2 and "LITER_LLM_MASTER_KEY" in no_master.stderr
    wrong = run_cli("keys", "--url", gateway.url, "list", env={"LITER_LLM_MASTER_KEY": "nope"})
    assert wrong.returncode == 1 and "(401)" in wrong.stderr
