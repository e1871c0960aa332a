"""Who is calling: the master key, a virtual key, or nobody.

Tokens are looked up by their SHA-256 digest and then compared with
`hmac.compare_digest`, so lookup time does not depend on how much of a guess matches.
An empty token never authenticates anyone.

Keys created at runtime (`proxy.admin.create_key`) are known here only by the SHA-256
of their secret: `set_runtime_keys` replaces them all at once, whenever the key store
sees a change. A runtime key may expire, be blocked, or (after a rotation) answer to a
previous secret until that secret's grace period ends; times come from the injected
clock. The configured keys are looked up first, so a runtime key never shadows one.

A token that has authenticated is remembered (at most one entry per configured key),
so later requests with it skip the hash: inside a busy request loop, OpenSSL's
SHA-256 costs several microseconds. A guess that is not a key is never remembered
and always takes the digest path; the remembered lookup is a dict of randomized
string hashes, which tells a guesser nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from fnmatch import fnmatchcase

import msgspec

from .clock import Clock, SystemClock
from .config import CONFIG_FILENAME, KeyConfig
from .config.schema import TeamConfig
from .errors import AuthenticationError, PermissionDeniedError
from .identity import MASTER_KEY_ID, key_id

__all__ = ["Authenticator", "Caller", "RuntimeKey"]

_GLOB = re.compile(r"[*?\[]")


def _allows(allowed: list[str] | tuple[str, ...], model: str) -> bool:
    return model in allowed or any(
        fnmatchcase(model, entry) for entry in allowed if _GLOB.search(entry)
    )


class Caller(msgspec.Struct, frozen=True):
    is_master: bool
    key: KeyConfig | None
    identity: str
    description: str
    runtime: bool = False
    """A key created through the admin API (not from the config file)."""
    team_models: tuple[str, ...] = ()
    """The models of the key's team, when it has a team that lists some."""

    def may_use(self, model: str) -> bool:
        """An empty `models` list allows every model; an entry is a name or a glob
        (`"anthropic/*"`, matched case-sensitively with `fnmatchcase`). A key of a team
        that lists models may use only those too."""
        if self.is_master or self.key is None:
            return True
        if self.team_models and not _allows(self.team_models, model):
            return False
        return not self.key.models or _allows(self.key.models, model)

    def check_model(self, model: str) -> None:
        if not self.may_use(model):
            allowed = [
                name
                for name in (self.key.models if self.key and self.key.models else self.team_models)
                if not self.team_models or _allows(self.team_models, name)
            ]
            raise PermissionDeniedError(
                f"this API key may not use model {model!r}; it is limited to: "
                + (", ".join(allowed) or "no model (its models and its team's do not meet)")
                + " (names or glob patterns such as 'anthropic/*')",
                param="model",
            )


class RuntimeKey(msgspec.Struct, frozen=True, kw_only=True):
    """One secret of a runtime key, as the authenticator knows it."""

    digest: bytes
    """SHA-256 of the secret."""
    caller: Caller
    not_after: float | None = None
    """Wall-clock time from which this secret no longer works (expiry, or the end of a
    rotated-out secret's grace period)."""
    blocked: bool = False


class Authenticator:
    def __init__(
        self,
        master_key: str | None,
        keys: list[KeyConfig],
        *,
        config_name: str = CONFIG_FILENAME,
        clock: Clock | None = None,
        teams: list[TeamConfig] | None = None,
    ) -> None:
        self._config_name = config_name
        self._clock = clock or SystemClock()
        self._team_models = {team.name: tuple(team.models) for team in teams or ()}
        self._runtime: dict[bytes, RuntimeKey] = {}
        self._master = master_key or None
        self._master_digest = (
            hashlib.sha256(self._master.encode()).digest() if self._master else None
        )
        self._keys: dict[bytes, tuple[str, Caller]] = {}
        for key in keys:
            if key.key:
                digest = hashlib.sha256(key.key.encode()).digest()
                label = key.description or key_id(key.key)
                caller = Caller(
                    False, key, key_id(key.key), label, team_models=self.team_models(key.team)
                )
                self._keys[digest] = (key.key, caller)
        self._master_caller = Caller(True, None, MASTER_KEY_ID, "master")
        self._known: dict[str, Caller] = {}

    def caller_for(self, identity: str) -> Caller | None:
        """The caller whose key has this identity (`Caller.identity`), for work done
        later on a key's behalf (batch lines); None when the key is gone (from the config,
        or revoked, blocked or expired for a runtime key)."""
        if identity == MASTER_KEY_ID:
            return self._master_caller if self._master is not None else None
        for _, caller in self._keys.values():
            if caller.identity == identity:
                return caller
        now = self._clock.time()
        for runtime in self._runtime.values():  # a runtime key still allowed to work
            usable = runtime.not_after is None or now < runtime.not_after
            if runtime.caller.identity == identity and not runtime.blocked and usable:
                return runtime.caller
        return None

    def set_runtime_keys(self, keys: list[RuntimeKey]) -> None:
        """Replace every runtime key (the key store calls this on each change)."""
        runtime = {key.digest: key for key in keys if key.digest not in self._keys}
        self._runtime = runtime

    def team_models(self, team: str | None) -> tuple[str, ...]:
        """The models the team `team` is limited to (empty: no team limit)."""
        return self._team_models.get(team, ()) if team is not None else ()

    def teams(self) -> set[str]:
        return set(self._team_models)

    def config_ids(self) -> set[str]:
        """The key ids of the configured keys."""
        return {caller.identity for _, caller in self._keys.values()}

    def labels(self) -> list[str]:
        """What logs and metrics call each key: its description, else its key id."""
        return [caller.description for _, caller in self._keys.values()]

    @property
    def closed(self) -> bool:
        """No master key and no virtual keys: nobody can call the API."""
        return self._master is None and not self._keys and not self._runtime

    def authenticate(self, token: str | None) -> Caller:
        if self.closed:
            raise AuthenticationError(
                "this gateway has no API keys configured, so every request is refused; "
                "the operator must set [general] master_key (or LITER_LLM_MASTER_KEY, or "
                f"--master-key) or add a [[keys]] entry to {self._config_name}",
                code="no_keys_configured",
            )
        if not token:
            raise AuthenticationError(
                "missing API key: send it as 'Authorization: Bearer <key>' "
                "(or the x-api-key or api-key header)"
            )
        known = self._known.get(token)
        if known is not None:
            return known
        caller = self._check(token)
        if not caller.runtime:  # a runtime key may expire or be revoked: checked each time
            self._known[token] = caller
        return caller

    def _check(self, token: str) -> Caller:
        encoded = token.encode()
        digest = hashlib.sha256(encoded).digest()
        if (
            self._master is not None
            and self._master_digest is not None
            and hmac.compare_digest(digest, self._master_digest)
            and hmac.compare_digest(encoded, self._master.encode())
        ):
            return self._master_caller
        found = self._keys.get(digest)
        if found is not None and hmac.compare_digest(encoded, found[0].encode()):
            return found[1]
        runtime = self._runtime.get(digest)
        if runtime is not None and hmac.compare_digest(digest, runtime.digest):
            if runtime.blocked:
                raise AuthenticationError("this API key is blocked", code="key_blocked")
            if runtime.not_after is not None and self._clock.time() >= runtime.not_after:
                raise AuthenticationError("this API key has expired", code="key_expired")
            return runtime.caller
        raise AuthenticationError("invalid API key")
