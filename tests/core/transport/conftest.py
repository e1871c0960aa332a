"""Fixtures shared by the core tests: raw HTTP servers for the HTTP client's tests."""

from tests.support.rawhttp import serve, transport  # noqa: F401 (fixtures)
