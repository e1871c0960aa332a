"""AWS credentials as values, their `Target.api_key` encoding, and SigV4 request signing.

Signing is pure computation over the request, the credentials and the clock, so the
Bedrock adapter stays sans-I/O. It uses botocore's signer (the `bedrock` extra),
imported only when a request is signed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from ..errors import ConfigError

__all__ = ["AwsCredentials", "region_from_url", "sign_request"]

_REGION = re.compile(r"bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com")


class AwsCredentials(msgspec.Struct, frozen=True, kw_only=True):
    """Static or temporary AWS credentials, resolved by the caller."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        return f"AwsCredentials(access_key_id={self.access_key_id!r}, secret_access_key=***)"

    def to_api_key(self) -> str:
        """`ACCESS_KEY_ID:SECRET[:SESSION_TOKEN]`, the form `Target.api_key` carries.

        None of the three contains a colon, while a Bedrock API key (a bearer token)
        contains none at all, so the two forms cannot be confused.
        """
        parts = [self.access_key_id, self.secret_access_key]
        if self.session_token:
            parts.append(self.session_token)
        return ":".join(parts)

    @classmethod
    def from_api_key(cls, value: str) -> AwsCredentials | None:
        """Parse `to_api_key`'s form; None for a value without a colon (a bearer key)."""
        parts = value.split(":")
        if len(parts) == 1:
            return None
        if len(parts) not in (2, 3) or not all(parts):
            raise ConfigError(
                "a bedrock api_key is either a Bedrock API key or "
                "ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]"
            )
        return cls(
            access_key_id=parts[0],
            secret_access_key=parts[1],
            session_token=parts[2] if len(parts) == 3 else None,
        )


def region_from_url(url: str) -> str:
    match = _REGION.search(url)
    if match is None:
        raise ConfigError(
            f"cannot tell the AWS region from the bedrock base_url {url!r}; "
            "use https://bedrock-runtime.<region>.amazonaws.com"
        )
    return match.group(1)


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: AwsCredentials,
    *,
    region: str,
    service: str = "bedrock",
) -> dict[str, str]:
    """The headers plus `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token`)."""
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        raise ConfigError(
            "provider 'bedrock' signs requests with botocore; install it "
            "with: pip install 'literllm[bedrock]'"
        ) from None
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = SigV4Auth(
        Credentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        ),
        service,
        region,
    )
    signer.add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}
