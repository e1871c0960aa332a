"""What hooks cost per request: none, a no-op hook, the pattern guardrail on 2 KB.

Calls `Proxy.chat` in-process with a transport that answers at once, in interleaved
rounds (so drift hits every variant alike), and reports CPU per request and the
difference to the run without hooks. The guardrail is also timed alone on the prompt.

    .venv/bin/python -m benchmarks.hooks [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from benchmarks.inprocess import InstantUpstream
from literllm import Proxy
from literllm.config import parse_config
from literllm.config.guardrails import PatternSettings
from literllm.hooks import Completion, Hook, RequestContext
from literllm.hooks.patterns import PatternGuardrail

KEY = "sk-bench-hooks"
BASE = f"""
[general]
master_key = "{KEY}"

[[models]]
name = "gpt-4o-mini"
provider_model = "openai/gpt-4o-mini"
api_key = "sk-upstream"
base_url = "http://127.0.0.1:9/v1"
"""
GUARDRAIL = '\n[[guardrails]]\ntype = "patterns"\n'

_PROSE = (
    "Please summarise the attached quarterly report for the regional team. Revenue in "
    "2025 grew in every region, with the strongest results in the north and the weakest "
    "in the south, where two stores closed in March. "
)
_TAIL = " Questions to jane.doe@example.com or +44 20 7946 0958."
PROMPT = (_PROSE * 20)[: 2048 - len(_TAIL)] + _TAIL
"""2 KB of prose with one email address and one phone number."""
_DENSE_SENTENCE = (
    "Contact jane.doe@example.com or call +44 20 7946 0958 if order 123456 looks off. "
)
DENSE = (_DENSE_SENTENCE * 30)[:2048]
"""2 KB packed with personal data: about 25 emails and 25 phone numbers."""


class NoOpBefore(Hook):
    """A `before_request` hook that does nothing."""

    async def before_request(self, ctx: RequestContext) -> None:
        return None


class NoOp(Hook):
    """`before_request` and `on_complete` hooks that do nothing."""

    async def before_request(self, ctx: RequestContext) -> None:
        return None

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        return None


def build(extra: str = "", hooks: tuple[object, ...] = ()) -> Proxy:
    config = parse_config(BASE + extra, "bench.toml", environ={})
    return Proxy.from_config(config, transport=InstantUpstream(), hooks=hooks)  # type: ignore[arg-type]


async def per_request(proxy: Proxy, body: dict[str, Any], requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        await proxy.chat(dict(body, messages=list(body["messages"])), api_key=KEY)
    await proxy.drain_hooks()
    return (time.process_time() - started) / requests


async def run(requests: int, rounds: int) -> dict[str, float]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]}
    proxies = {
        "no hooks": build(),
        "no-op hook (before_request)": build(hooks=(NoOpBefore(),)),
        "no-op hook (before_request + on_complete)": build(hooks=(NoOp(),)),
        "patterns guardrail, 2 KB prompt": build(GUARDRAIL),
    }
    samples: dict[str, list[float]] = {name: [] for name in proxies}
    for proxy in proxies.values():
        await proxy.start()
        await per_request(proxy, body, min(requests, 2000))  # warm up
    try:
        for _ in range(rounds):
            for name, proxy in proxies.items():
                samples[name].append(await per_request(proxy, body, requests))
    finally:
        for proxy in proxies.values():
            await proxy.aclose()
    return {name: statistics.median(values) for name, values in samples.items()}


def guardrail_alone(text: str, repeat: int) -> float:
    guard = PatternGuardrail(PatternSettings())
    started = time.process_time()
    for _ in range(repeat):
        guard.redacted(text)
    return (time.process_time() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(run(args.requests, args.rounds))
    base = results["no hooks"]
    for name, seconds in results.items():
        extra = "" if name == "no hooks" else f"  (+{(seconds - base) * 1e6:.1f} us)"
        print(f"{name:45s} {seconds * 1e6:7.1f} us CPU/request{extra}")
    for name, text in (("prose", PROMPT), ("dense", DENSE)):
        seconds = guardrail_alone(text, 5000)
        print(f"{'patterns redaction alone, 2 KB ' + name:45s} {seconds * 1e6:7.1f} us")


if __name__ == "__main__":
    main()
