"""Credentials that take I/O to obtain: Vertex AI OAuth tokens and AWS credentials.

The provider adapters are sans-I/O and take a credential string in `Target.api_key`;
these sources produce that string. Blocking library calls (google-auth token refresh,
botocore's credential chain) run in a worker thread, one at a time per source.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..errors import ConfigError, UpstreamError
from ..providers.base import Credential
from ..providers.bedrock_signing import AwsCredentials

__all__ = ["AwsCredentialSource", "VertexTokenSource", "credential_source"]

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def _load_google_credentials(
    service_account_file: str | None, service_account_info: Mapping[str, Any] | None
) -> Any:
    try:
        import google.auth
        from google.oauth2 import service_account
    except ImportError:
        raise ConfigError(
            "provider 'vertex_ai' obtains OAuth tokens with google-auth; "
            "install it with: pip install 'literllm[vertex]'"
        ) from None
    scopes = [CLOUD_PLATFORM_SCOPE]
    if service_account_info is not None:
        return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            dict(service_account_info), scopes=scopes
        )
    if service_account_file:
        return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            service_account_file, scopes=scopes
        )
    credentials, _project = google.auth.default(scopes=scopes)
    return credentials


def _refresh(credentials: Any) -> None:
    from google.auth.transport.requests import Request

    credentials.refresh(Request())


class VertexTokenSource:
    """An OAuth access token for Vertex AI, refreshed `refresh_margin` seconds before
    it expires.

    Credentials come from a service-account key (a file path or its parsed JSON) or,
    with neither, from application default credentials (`GOOGLE_APPLICATION_CREDENTIALS`,
    gcloud's user credentials, or the metadata server). `credentials` and `refresh`
    replace google-auth in tests.
    """

    def __init__(
        self,
        *,
        service_account_file: str | None = None,
        service_account_info: Mapping[str, Any] | None = None,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
        credentials: Any = None,
        refresh: Callable[[Any], None] | None = None,
    ) -> None:
        self._file = service_account_file
        self._info = service_account_info
        self._margin = refresh_margin
        self._clock = clock
        self._credentials = credentials
        self._refresh = refresh or _refresh
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        credentials = self._credentials
        if credentials is None or not getattr(credentials, "token", None):
            return False
        expiry: datetime.datetime | None = getattr(credentials, "expiry", None)
        if expiry is None:
            return True
        if expiry.tzinfo is None:  # google-auth keeps naive UTC datetimes
            expiry = expiry.replace(tzinfo=datetime.UTC)
        return expiry.timestamp() - self._margin > self._clock()

    def _obtain(self) -> str:
        if self._credentials is None:
            self._credentials = _load_google_credentials(self._file, self._info)
        self._refresh(self._credentials)
        return str(self._credentials.token)

    async def token(self) -> str:
        if self._fresh():
            return str(self._credentials.token)
        async with self._lock:
            if self._fresh():
                return str(self._credentials.token)
            try:
                return await asyncio.to_thread(self._obtain)
            except ConfigError:
                raise
            except Exception as exc:  # google-auth raises many kinds; none is the caller's
                raise UpstreamError(
                    f"could not obtain a Vertex AI access token "
                    f"({type(exc).__name__}); check the service account or "
                    "application default credentials",
                    status=502,
                    retryable=True,
                ) from None


class AwsCredentialSource:
    """The credential string the Bedrock adapter takes as `Target.api_key`.

    `AWS_BEARER_TOKEN_BEDROCK` (a Bedrock API key) wins when set; otherwise botocore's
    standard chain: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`,
    the shared config and credentials files (`AWS_PROFILE`), SSO, web identity, and
    container or instance metadata. Temporary credentials are refreshed by botocore.
    """

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        profile: str | None = None,
        session: Any = None,
    ) -> None:
        self._environ = environ
        self._profile = profile
        self._session = session
        self._credentials: Any = None
        self._lock = asyncio.Lock()

    def _frozen(self) -> AwsCredentials:
        if self._credentials is None:
            session = self._session
            if session is None:
                try:
                    import botocore.session
                except ImportError:
                    raise ConfigError(
                        "provider 'bedrock' resolves AWS credentials with "
                        "botocore; install it with: "
                        "pip install 'literllm[bedrock]'"
                    ) from None
                session = botocore.session.Session(profile=self._profile)
            self._credentials = session.get_credentials()
            if self._credentials is None:
                raise ConfigError(
                    "no AWS credentials found for provider 'bedrock': set "
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, "
                    "or AWS_BEARER_TOKEN_BEDROCK"
                )
        frozen = self._credentials.get_frozen_credentials()
        return AwsCredentials(
            access_key_id=frozen.access_key,
            secret_access_key=frozen.secret_key,
            session_token=frozen.token or None,
        )

    async def credentials(self) -> AwsCredentials:
        async with self._lock:
            return await asyncio.to_thread(self._frozen)

    async def api_key(self) -> str:
        bearer = (self._environ or {}).get("AWS_BEARER_TOKEN_BEDROCK")
        if bearer:
            return bearer
        return (await self.credentials()).to_api_key()


def credential_source(
    plan: Credential, environ: Mapping[str, str]
) -> Callable[[], Awaitable[str]] | None:
    """What fetches a short-lived credential for `plan` (None: `plan.api_key` is it)."""
    if plan.source == "google_service_account":
        return VertexTokenSource(service_account_file=plan.service_account_file).token
    if plan.source == "aws_chain":
        return AwsCredentialSource(environ=environ).api_key
    return None
