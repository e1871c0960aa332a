"""The accepted backend schemes match what the installed opendal registers."""

from __future__ import annotations

import pytest

from literllm.config.backends import OPENDAL_SCHEMES, UNAVAILABLE_OPENDAL_SCHEMES

opendal = pytest.importorskip("opendal")


def _registered(scheme: str) -> bool:
    try:
        opendal.Operator(scheme)
    except opendal.exceptions.Unsupported as exc:
        return "not registered" not in str(exc)
    except Exception:  # a registered scheme that wants options (root, bucket, ...)
        return True
    return True


@pytest.mark.parametrize("scheme", sorted(OPENDAL_SCHEMES))
def test_accepted_scheme_is_registered(scheme: str) -> None:
    assert _registered(scheme)


@pytest.mark.parametrize("scheme", sorted(UNAVAILABLE_OPENDAL_SCHEMES))
def test_unavailable_scheme_is_not_registered(scheme: str) -> None:
    assert not _registered(scheme)


def test_underscore_spellings_are_what_opendal_also_accepts() -> None:
    assert _registered("mini_moka") and _registered("hdfs_native")
