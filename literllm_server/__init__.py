"""The HTTP shell of liter-llm: an ASGI app over `literllm.Proxy` and the command line."""

from .app import create_app

__all__ = ["create_app"]
