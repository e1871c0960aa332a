"""Resolve `[[hooks]] path = "package.module:factory"` and check it can take the settings.

The loader runs this so that a wrong path or signature stops startup with the file and
line; `literllm.hooks` calls the same function to build the hook.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["check_factory", "resolve_factory"]


def resolve_factory(path: str) -> Callable[..., Any]:
    """Import `package.module:attribute` (dots allowed after the colon); `ValueError` if not."""
    module_name, colon, attribute = path.partition(":")
    if not colon or not module_name or not attribute:
        raise ValueError(f'"{path}" is not of the form "package.module:factory"')
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f'cannot import module "{module_name}" ({exc})') from None
    except Exception as exc:  # the user's module failed while importing
        raise ValueError(
            f'importing module "{module_name}" failed ({type(exc).__name__}: {exc})'
        ) from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f'module "{module_name}" has no attribute "{attribute}"')
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f'"{path}" is not callable; expected a class or a function')
    return target  # type: ignore[no-any-return]


def check_factory(factory: Callable[..., Any], settings: dict[str, Any]) -> None:
    """`ValueError` unless `factory(**settings)` binds to the factory's signature."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: trust them
        return
    try:
        signature.bind(**settings)
    except TypeError as exc:
        raise ValueError(f"the factory cannot take these settings ({exc})") from None
