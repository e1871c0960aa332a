"""Who is calling: master key, virtual keys, refusals, and what is remembered."""

from __future__ import annotations

import pytest

from literllm.auth import Authenticator
from literllm.config import KeyConfig
from literllm.errors import AuthenticationError, PermissionDeniedError
from literllm.identity import key_id

KEYS = [
    KeyConfig(key="vk-team-a", description="Team A", models=["gpt-4o"]),
    KeyConfig(key="vk-team-b"),
]


def test_master_and_virtual_keys_are_told_apart_every_time() -> None:
    auth = Authenticator("sk-master", KEYS)
    for _ in range(3):  # the second and third calls use the remembered answer
        assert auth.authenticate("sk-master").is_master
        team_a = auth.authenticate("vk-team-a")
        assert not team_a.is_master and team_a.description == "Team A"
        assert auth.authenticate("vk-team-b").description == key_id("vk-team-b")
    with pytest.raises(PermissionDeniedError):
        team_a.check_model("gpt-4o-mini")


@pytest.mark.parametrize("guess", ["", "vk-team", "vk-team-a ", "VK-TEAM-A", "sk-master2"])
def test_a_wrong_token_is_refused_even_after_the_right_one_worked(guess: str) -> None:
    auth = Authenticator("sk-master", KEYS)
    auth.authenticate("vk-team-a")
    auth.authenticate("sk-master")
    with pytest.raises(AuthenticationError):
        auth.authenticate(guess)


def test_guesses_are_never_remembered() -> None:
    auth = Authenticator("sk-master", KEYS)
    for n in range(1000):
        with pytest.raises(AuthenticationError):
            auth.authenticate(f"guess-{n}")
    auth.authenticate("vk-team-b")
    assert len(auth._known) == 1  # bounded by the configured keys, whatever is tried


def test_a_gateway_without_keys_refuses_everyone() -> None:
    auth = Authenticator(None, [])
    with pytest.raises(AuthenticationError, match="no API keys configured"):
        auth.authenticate("anything")
    named = Authenticator(None, [], config_name="quickstart.toml")
    with pytest.raises(AuthenticationError, match=r"\[\[keys\]\] entry to quickstart.toml"):
        named.authenticate("anything")
