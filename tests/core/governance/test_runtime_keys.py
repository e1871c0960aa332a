"""Keys created, changed, rotated and revoked at runtime through `proxy.admin`."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest

from literllm import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    Proxy,
    RateLimitError,
)
from literllm.identity import key_id
from literllm.testing import FakeClock, FakeUpstream
from tests.support.configs import MASTER, TEAM, config
from tests.support.services import redis_url_fixture  # noqa: F401

MODELS = """
[[models]]
name = "chat"
provider_model = "mock/echo"

[[models]]
name = "other"
provider_model = "mock/echo"

[[keys]]
key = "vk-team-test-0002"
description = "team"
models = ["chat"]
"""
BODY = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}


def make(toml: str = MODELS, clock: FakeClock | None = None) -> Proxy:
    return Proxy.from_config(
        config(toml), transport=FakeUpstream(), clock=clock or FakeClock(), environ={}
    )


def as_dict(value: Any) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(value))
    return decoded


async def test_created_key_is_told_once_and_works() -> None:
    async with make() as proxy:
        created = await proxy.admin.create_key(
            {"description": "ci", "models": ["chat"], "metadata": {"owner": "ci"}},
            api_key=MASTER,
        )
        assert created.key.startswith("sk-") and len(created.key) > 40
        assert created.id == key_id(created.key)
        assert created.source == "runtime"
        answer = await proxy.chat(BODY, api_key=created.key)
        assert answer.status == 200
        with pytest.raises(PermissionDeniedError):
            await proxy.chat({**BODY, "model": "other"}, api_key=created.key)
        listed = as_dict(await proxy.admin.keys(api_key=MASTER))
        shown = as_dict(await proxy.admin.key(created.id, api_key=MASTER))
        text = msgspec.json.encode([listed, shown]).decode()
        assert created.key not in text
        assert "sha256" not in text and "key" not in shown
        sources = {k["id"]: k["source"] for k in listed["data"]}
        assert sources == {key_id(TEAM): "config", created.id: "runtime"}
        assert shown["metadata"] == {"owner": "ci"}
        assert shown["description"] == "ci"


async def test_runtime_key_limits_apply() -> None:
    async with make() as proxy:
        created = await proxy.admin.create_key({"rpm": 1}, api_key=MASTER)
        await proxy.chat(BODY, api_key=created.key)
        with pytest.raises(RateLimitError):
            await proxy.chat(BODY, api_key=created.key)
        shown = await proxy.admin.key(created.id, api_key=MASTER)
        assert shown.limits.rpm == 1 and shown.window.requests == 1


async def test_config_keys_are_read_only_and_cannot_be_shadowed() -> None:
    async with make() as proxy:
        team = key_id(TEAM)
        shown = await proxy.admin.key(team, api_key=MASTER)
        assert shown.source == "config"
        for call in (
            proxy.admin.update_key(team, {"rpm": 1}, api_key=MASTER),
            proxy.admin.rotate_key(team, {}, api_key=MASTER),
            proxy.admin.delete_key(team, api_key=MASTER),
        ):
            with pytest.raises(PermissionDeniedError) as refused:
                await call
            assert refused.value.code == "read_only_key"
        with pytest.raises(BadRequestError) as clash:
            await proxy.admin.create_key({"description": "team"}, api_key=MASTER)
        assert clash.value.param == "description"
        assert (await proxy.chat(BODY, api_key=TEAM)).status == 200


async def test_only_the_master_key_manages_keys() -> None:
    async with make() as proxy:
        with pytest.raises(PermissionDeniedError):
            await proxy.admin.create_key({}, api_key=TEAM)
        created = await proxy.admin.create_key({}, api_key=MASTER)
        with pytest.raises(PermissionDeniedError):
            await proxy.admin.keys(api_key=created.key)
        with pytest.raises(AuthenticationError):
            await proxy.admin.delete_key(created.id, api_key=None)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b'{"rpm": -1}', "rpm"),
        (b'{"budget_limit": "ten"}', "budget_limit"),
        (b'{"key": "sk-chosen"}', None),
        (b'{"expires_at": "2020-01-01T00:00:00"}', "expires_at"),
        (b'{"budget_duration": "fortnight"}', "budget_duration"),
        (b"[1", None),
    ],
)
async def test_bad_fields_are_400(body: bytes, param: str | None) -> None:
    async with make() as proxy:
        with pytest.raises(BadRequestError) as refused:
            await proxy.admin.create_key(body, api_key=MASTER)
        assert refused.value.param == param
        assert refused.value.status == 400


async def test_past_expiry_is_refused_and_expiry_ends_the_key() -> None:
    clock = FakeClock()
    async with make(clock=clock) as proxy:
        with pytest.raises(BadRequestError):
            await proxy.admin.create_key({"expires_at": "2020-01-01T00:00:00Z"}, api_key=MASTER)
        created = await proxy.admin.create_key(
            {"expires_at": _iso(clock.time() + 3600)}, api_key=MASTER
        )
        assert (await proxy.chat(BODY, api_key=created.key)).status == 200
        clock.advance(3600)
        with pytest.raises(AuthenticationError) as expired:
            await proxy.chat(BODY, api_key=created.key)
        assert expired.value.code == "key_expired"


async def test_patch_changes_what_the_key_may_do() -> None:
    async with make() as proxy:
        created = await proxy.admin.create_key({"models": ["chat"], "rpm": 5}, api_key=MASTER)
        updated = await proxy.admin.update_key(
            created.id,
            b'{"models": ["other"], "rpm": null, "description": "moved"}',
            api_key=MASTER,
        )
        assert updated.models == ["other"] and updated.limits.rpm is None
        assert updated.description == "moved"
        with pytest.raises(PermissionDeniedError):
            await proxy.chat(BODY, api_key=created.key)
        assert (await proxy.chat({**BODY, "model": "other"}, api_key=created.key)).status == 200
        await proxy.admin.update_key(created.id, {"blocked": True}, api_key=MASTER)
        with pytest.raises(AuthenticationError) as blocked:
            await proxy.chat(BODY, api_key=created.key)
        assert blocked.value.code == "key_blocked"
        with pytest.raises(BadRequestError):  # not a field PATCH may change
            await proxy.admin.update_key(created.id, {"team": "x"}, api_key=MASTER)
        with pytest.raises(NotFoundError):
            await proxy.admin.update_key("k-0000000000000000", {}, api_key=MASTER)


async def test_rotation_keeps_the_id_and_honours_the_grace_period() -> None:
    clock = FakeClock()
    async with make(clock=clock) as proxy:
        created = await proxy.admin.create_key({}, api_key=MASTER)
        rotated = await proxy.admin.rotate_key(
            created.id, {"grace_period_secs": 60}, api_key=MASTER
        )
        assert rotated.id == created.id and rotated.key != created.key
        for secret in (created.key, rotated.key):
            assert (await proxy.chat(BODY, api_key=secret)).status == 200
        clock.advance(60)
        with pytest.raises(AuthenticationError):
            await proxy.chat(BODY, api_key=created.key)
        assert (await proxy.chat(BODY, api_key=rotated.key)).status == 200
        again = await proxy.admin.rotate_key(created.id, b"", api_key=MASTER)
        with pytest.raises(AuthenticationError):  # no grace: the old secret stops at once
            await proxy.chat(BODY, api_key=rotated.key)
        assert (await proxy.chat(BODY, api_key=again.key)).status == 200


async def test_delete_revokes_at_once() -> None:
    async with make() as proxy:
        created = await proxy.admin.create_key({}, api_key=MASTER)
        assert (await proxy.chat(BODY, api_key=created.key)).status == 200
        deleted = await proxy.admin.delete_key(created.id, api_key=MASTER)
        assert deleted.deleted and deleted.id == created.id
        with pytest.raises(AuthenticationError):
            await proxy.chat(BODY, api_key=created.key)
        with pytest.raises(NotFoundError):
            await proxy.admin.delete_key(created.id, api_key=MASTER)
        assert [k.id for k in (await proxy.admin.keys(api_key=MASTER)).data] == [key_id(TEAM)]


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat()


def shared_toml(backend: str, tmp_path: Path, redis_url: str | None) -> str:
    if backend == "sqlite":
        options = f'path = "{tmp_path / "state.db"}"'
    else:
        options = f'url = "{redis_url}"\nprefix = "test-{uuid.uuid4().hex[:8]}:"'
    return f'{MODELS}\n[state]\nbackend = "{backend}"\n[state.backend_config]\n{options}\n'


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_changes_reach_another_gateway_on_refresh_and_survive_restart(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("redis_url") if backend == "redis" else None
    toml = shared_toml(backend, tmp_path, url)
    async with make(toml) as first, make(toml) as second:
        created = await first.admin.create_key({"description": "shared"}, api_key=MASTER)
        with pytest.raises(AuthenticationError):  # not seen before its refresh
            await second.chat(BODY, api_key=created.key)
        assert await second._keys.refresh()
        assert not await second._keys.refresh()  # nothing new: one version read
        assert (await second.chat(BODY, api_key=created.key)).status == 200
        await second.admin.delete_key(created.id, api_key=MASTER)
        await first._keys.refresh()
        with pytest.raises(AuthenticationError):
            await first.chat(BODY, api_key=created.key)
        kept = await first.admin.create_key({"description": "kept"}, api_key=MASTER)
    async with make(toml) as restarted:
        assert (await restarted.chat(BODY, api_key=kept.key)).status == 200
        shown = await restarted.admin.key(kept.id, api_key=MASTER)
        assert shown.description == "kept"


async def test_periodic_budget_is_shown_for_both_sources() -> None:
    clock = FakeClock(start=1_796_515_200.0)  # 2026-12-06T00:00:00Z
    toml = MODELS + 'budget_limit = 2.0\nbudget_duration = "7d"\n'
    async with make(toml, clock=clock) as proxy:
        created = await proxy.admin.create_key(
            {"budget_limit": 1.0, "budget_duration": "1mo"}, api_key=MASTER
        )
        listed = {k.id: k for k in (await proxy.admin.keys(api_key=MASTER)).data}
        runtime = listed[created.id].budget_period
        assert runtime is not None
        assert (runtime.duration, runtime.start, runtime.end) == ("1mo", "2026-12-01", "2027-01-01")
        assert runtime.spend == 0.0
        configured = listed[key_id(TEAM)]
        assert configured.budget_duration == "7d" and configured.budget_period is not None
        assert configured.budget_period.start == "2026-12-03"


async def test_every_change_is_in_the_audit_trail_without_secrets() -> None:
    clock = FakeClock()
    async with make(clock=clock) as proxy:
        created = await proxy.admin.create_key({"description": "audited"}, api_key=MASTER)
        clock.advance(1)
        await proxy.admin.update_key(created.id, {"rpm": 5}, api_key=MASTER)
        clock.advance(1)
        rotated = await proxy.admin.rotate_key(
            created.id, {"grace_period_secs": 10}, api_key=MASTER
        )
        clock.advance(1)
        await proxy.admin.delete_key(created.id, api_key=MASTER)
        trail = (await proxy.admin.audit(api_key=MASTER)).data
        assert [e.action for e in trail] == ["key.delete", "key.rotate", "key.update", "key.create"]
        assert {e.actor for e in trail} == {f"master:{key_id(MASTER)}"}
        assert {e.target for e in trail} == {created.id}
        update = trail[2]
        assert update.before is not None and update.after is not None
        assert (update.before["rpm"], update.after["rpm"]) == (None, 5)
        assert trail[1].after is not None and trail[1].after["previous_secrets"] == 1
        assert trail[0].after is None and trail[3].before is None
        text = msgspec.json.encode(trail).decode()
        for secret in (created.key, rotated.key, MASTER):
            assert secret not in text
        assert "sha256" not in text
        assert trail[3].at.endswith("Z") and trail[3].at < trail[0].at
        only = await proxy.admin.audit(api_key=MASTER, action="key.update", limit=5)
        assert [e.action for e in only.data] == ["key.update"]
        with pytest.raises(PermissionDeniedError):
            await proxy.admin.audit(api_key=TEAM)
        with pytest.raises(BadRequestError):
            await proxy.admin.audit(api_key=MASTER, limit=0)


async def test_later_work_for_a_runtime_key_needs_it_usable() -> None:
    """Batch lines run as the key that created the batch, looked up by its id."""
    async with make() as proxy:
        created = await proxy.admin.create_key({}, api_key=MASTER)
        found = proxy._auth.caller_for(created.id)
        assert found is not None and found.runtime and found.identity == created.id
        await proxy.admin.update_key(created.id, {"blocked": True}, api_key=MASTER)
        assert proxy._auth.caller_for(created.id) is None
        await proxy.admin.update_key(created.id, {"blocked": False}, api_key=MASTER)
        assert proxy._auth.caller_for(created.id) is not None
        await proxy.admin.delete_key(created.id, api_key=MASTER)
        assert proxy._auth.caller_for(created.id) is None
