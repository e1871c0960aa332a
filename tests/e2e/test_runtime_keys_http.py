"""Runtime keys over HTTP: the admin routes on one gateway, and a change made through
one of three processes sharing a real redis-server reaching the others within a second."""

from __future__ import annotations

import time

import httpx

from tests.e2e.test_multiprocess_redis import MASTER, redis_toml, start_three
from tests.support.process import Gateway, Gateways, gateways_fixture  # noqa: F401
from tests.support.services import redis_url_fixture  # noqa: F401

CHAT = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[keys]]
key = "vk-config-key-0009"
description = "from the file"
"""
BODY = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
ADMIN = {"authorization": f"Bearer {MASTER}"}


def chat_status(gateway: Gateway, secret: str) -> int:
    response = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        json=BODY,
        headers={"authorization": f"Bearer {secret}"},
        timeout=10,
    )
    return response.status_code


def wait_for(gateway: Gateway, secret: str, status: int, since: float) -> float:
    """Seconds from `since` until `gateway` answers `status` for `secret` (polling
    every 20 ms, for 3 s at most)."""
    while time.monotonic() - since < 3.0:
        if chat_status(gateway, secret) == status:
            return time.monotonic() - since
        time.sleep(0.02)
    raise AssertionError(f"{gateway.url} never answered {status} for the key")


def test_admin_key_routes(gateways: Gateways) -> None:
    gateway = gateways.start(
        f'[server]\nhost = "127.0.0.1"\n[general]\nmaster_key = "{MASTER}"\n{CHAT}'
    )
    assert "vanish on restart" in gateway.stderr()
    with httpx.Client(base_url=gateway.url, headers=ADMIN, timeout=10) as client:
        created = client.post("/admin/keys", json={"description": "ci", "rpm": 10})
        assert created.status_code == 201, created.text
        secret, key = created.json()["key"], created.json()["id"]
        assert chat_status(gateway, secret) == 200
        listed = client.get("/admin/keys").json()["data"]
        assert [k["source"] for k in listed] == ["config", "runtime"]
        assert secret not in client.get("/admin/keys").text
        assert client.get(f"/admin/keys/{key}").json()["limits"]["rpm"] == 10
        patched = client.patch(f"/admin/keys/{key}", json={"rpm": 20})
        assert patched.json()["limits"]["rpm"] == 20
        bad = client.patch(f"/admin/keys/{key}", json={"rpm": "many"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "rpm"
        rotated = client.post(f"/admin/keys/{key}/rotate", json={"grace_period_secs": 0})
        assert rotated.status_code == 200 and rotated.json()["id"] == key
        assert chat_status(gateway, secret) == 401
        assert chat_status(gateway, rotated.json()["key"]) == 200
        assert client.delete(f"/admin/keys/{key}").json() == {
            "id": key,
            "object": "key",
            "deleted": True,
        }
        assert chat_status(gateway, rotated.json()["key"]) == 401
        missing = client.get(f"/admin/keys/{key}")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "key_not_found"
        assert client.put(f"/admin/keys/{key}").status_code == 405
        not_master = client.post(
            "/admin/keys", json={}, headers={"authorization": "Bearer vk-config-key-0009"}
        )
        assert not_master.status_code == 403
        config_id = listed[0]["id"]
        read_only = client.delete(f"/admin/keys/{config_id}")
        assert read_only.status_code == 403
        assert read_only.json()["error"]["code"] == "read_only_key"
        by_key = client.get("/admin/spend", params={"group_by": "key,period"})
        assert by_key.status_code == 200 and by_key.json()["object"] == "spend_report"
        csv = client.get("/admin/spend", params={"group_by": "model", "format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines()[0] == "model,spend"
        bad = client.get("/admin/spend", params={"group_by": "colour"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "group_by"
        trail = client.get("/admin/audit", params={"limit": 2}).json()["data"]
        assert [e["action"] for e in trail] == ["key.delete", "key.rotate"]
        assert client.get("/admin/audit", params={"limit": "x"}).status_code == 400
        paths = client.get("/openapi.json").json()["paths"]
        assert {"get", "patch", "delete"} <= set(paths["/admin/keys/{key_id}"])
    gateway.stop()
    assert secret not in gateway.stderr() + gateway.stdout()


def test_create_use_revoke_across_three_processes(gateways: Gateways, redis_url: str) -> None:
    one, two, three = start_three(gateways, redis_toml(redis_url, CHAT))
    created = httpx.post(f"{one.url}/admin/keys", json={"description": "e2e"}, headers=ADMIN)
    made = time.monotonic()
    assert created.status_code == 201, created.text
    secret, key = created.json()["key"], created.json()["id"]
    assert chat_status(one, secret) == 200  # at once where it was made
    # every other process polls the version each 0.5 s (slack for a loaded machine)
    seen = [wait_for(gateway, secret, 200, made) for gateway in (two, three)]
    assert max(seen) < 1.5, seen
    for gateway in (one, two, three):
        assert chat_status(gateway, secret) == 200

    revoked = httpx.delete(f"{three.url}/admin/keys/{key}", headers=ADMIN)
    gone_at = time.monotonic()
    assert revoked.status_code == 200, revoked.text
    assert chat_status(three, secret) == 401
    gone = [wait_for(gateway, secret, 401, gone_at) for gateway in (one, two)]
    assert max(gone) < 1.5, gone
    listed = httpx.get(f"{two.url}/admin/keys", headers=ADMIN).json()["data"]
    assert [k["source"] for k in listed] == ["config"]
