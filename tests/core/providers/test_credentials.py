from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest

from literllm.errors import UpstreamError
from literllm.providers.bedrock_signing import AwsCredentials
from literllm.routing.credentials import AwsCredentialSource, VertexTokenSource

EPOCH = datetime.datetime(2025, 1, 1, 12, 0, 0)


class FakeGoogleCredentials:
    def __init__(self) -> None:
        self.token: str | None = None
        self.expiry: datetime.datetime | None = None
        self.refreshes = 0


class Clock:
    def __init__(self) -> None:
        self.now = EPOCH.replace(tzinfo=datetime.UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def _refresher(credentials: FakeGoogleCredentials) -> None:
    credentials.refreshes += 1
    credentials.token = f"ya29.token-{credentials.refreshes}"
    credentials.expiry = EPOCH + datetime.timedelta(hours=credentials.refreshes)


async def test_vertex_token_is_cached_and_refreshed_before_expiry() -> None:
    clock = Clock()
    credentials = FakeGoogleCredentials()
    source = VertexTokenSource(
        credentials=credentials, refresh=_refresher, clock=clock, refresh_margin=300
    )
    assert await source.token() == "ya29.token-1"
    clock.now += 3600 - 301  # still more than the margin before expiry
    assert await source.token() == "ya29.token-1"
    clock.now += 2  # inside the margin: refresh early
    assert await source.token() == "ya29.token-2"
    assert credentials.refreshes == 2


async def test_concurrent_callers_share_one_refresh() -> None:
    credentials = FakeGoogleCredentials()

    def slow_refresh(c: FakeGoogleCredentials) -> None:
        import time

        time.sleep(0.05)
        _refresher(c)

    source = VertexTokenSource(credentials=credentials, refresh=slow_refresh, clock=Clock())
    tokens = await asyncio.gather(*(source.token() for _ in range(5)))
    assert set(tokens) == {"ya29.token-1"} and credentials.refreshes == 1


async def test_refresh_failure_is_a_retryable_upstream_error_without_details() -> None:
    def broken(_: Any) -> None:
        raise RuntimeError("private_key=-----BEGIN PRIVATE KEY-----")

    source = VertexTokenSource(credentials=FakeGoogleCredentials(), refresh=broken)
    with pytest.raises(UpstreamError) as info:
        await source.token()
    assert info.value.retryable and "PRIVATE KEY" not in info.value.message


async def test_service_account_key_loads_through_google_auth(tmp_path: Any) -> None:
    pytest.importorskip("google.oauth2.service_account")
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "1",
        "private_key": pem,
        "client_email": "sa@p.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    seen: list[Any] = []

    def offline_refresh(credentials: Any) -> None:
        seen.append(credentials)
        credentials.token = "ya29.sa"
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        credentials.expiry = now + datetime.timedelta(hours=1)

    source = VertexTokenSource(service_account_info=info, refresh=offline_refresh)
    assert await source.token() == "ya29.sa"
    assert seen[0].service_account_email == "sa@p.iam.gserviceaccount.com"
    assert "https://www.googleapis.com/auth/cloud-platform" in seen[0].scopes


async def test_aws_source_reads_the_standard_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    pytest.importorskip("botocore")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret/key+1")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session")
    source = AwsCredentialSource(environ={})
    assert await source.credentials() == AwsCredentials(
        access_key_id="AKIAEXAMPLE", secret_access_key="secret/key+1", session_token="session"
    )
    assert await source.api_key() == "AKIAEXAMPLE:secret/key+1:session"


async def test_bedrock_api_key_wins() -> None:
    source = AwsCredentialSource(environ={"AWS_BEARER_TOKEN_BEDROCK": "ABSKbearer"})
    assert await source.api_key() == "ABSKbearer"
