"""Who is calling: the master key, a virtual key, or nobody.

Tokens are looked up by their SHA-256 digest and then compared with
`hmac.compare_digest`, so lookup time does not depend on how much of a guess matches.
An empty token never authenticates anyone.

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

from .config import CONFIG_FILENAME, KeyConfig
from .errors import AuthenticationError, PermissionDeniedError
from .identity import MASTER_KEY_ID, key_id

__all__ = ["Authenticator", "Caller"]

_GLOB = re.compile(r"[*?\[]")


class Caller(msgspec.Struct, frozen=True):
    is_master: bool
    key: KeyConfig | None
    identity: str
    description: str

    def may_use(self, model: str) -> bool:
        """An empty `models` list allows every model; an entry is a name or a glob
        (`"anthropic/*"`, matched case-sensitively with `fnmatchcase`)."""
        if self.is_master or self.key is None or not self.key.models:
            return True
        allowed = self.key.models
        return model in allowed or any(
            fnmatchcase(model, entry) for entry in allowed if _GLOB.search(entry)
        )

    def check_model(self, model: str) -> None:
        if not self.may_use(model):
            raise PermissionDeniedError(
                f"this API key may not use model {model!r}; it is limited to: "
                + ", ".join(self.key.models if self.key else ())
                + " (names or glob patterns such as 'anthropic/*')",
                param="model",
            )


class Authenticator:
    def __init__(
        self,
        master_key: str | None,
        keys: list[KeyConfig],
        *,
        config_name: str = CONFIG_FILENAME,
    ) -> None:
        self._config_name = config_name
        self._master = master_key or None
        self._master_digest = (
            hashlib.sha256(self._master.encode()).digest() if self._master else None
        )
        self._keys: dict[bytes, tuple[str, Caller]] = {}
        for key in keys:
            if key.key:
                digest = hashlib.sha256(key.key.encode()).digest()
                label = key.description or key_id(key.key)
                self._keys[digest] = (key.key, Caller(False, key, key_id(key.key), label))
        self._master_caller = Caller(True, None, MASTER_KEY_ID, "master")
        self._known: dict[str, Caller] = {}

    def caller_for(self, identity: str) -> Caller | None:
        """The caller whose key has this identity (`Caller.identity`), for work done
        later on a key's behalf (batch lines); None when the key is gone from the config."""
        if identity == MASTER_KEY_ID:
            return self._master_caller if self._master is not None else None
        for _, caller in self._keys.values():
            if caller.identity == identity:
                return caller
        return None

    def labels(self) -> list[str]:
        """What logs and metrics call each key: its description, else its key id."""
        return [caller.description for _, caller in self._keys.values()]

    @property
    def closed(self) -> bool:
        """No master key and no virtual keys: nobody can call the API."""
        return self._master is None and not self._keys

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
        raise AuthenticationError("invalid API key")
