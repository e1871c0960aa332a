"""What hooks cost per request: none, a no-op hook, the pattern guardrail on 2 KB.

Calls `Proxy.chat` in-process with a transport that answers after one event-loop turn
(as a socket read would: the background `on_complete` worker then runs between
requests, as in a server), in interleaved rounds (so drift hits every variant alike),
each round in another order, and reports the minimum and the median of the rounds'
CPU per request and their difference to the gateway without hooks. The hook steps
and the guardrail are also timed alone.

    .venv/bin/python -m benchmarks.hooks [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from benchmarks.inprocess import ANSWER, InstantUpstream
from literllm import Proxy
from literllm.auth import Caller
from literllm.clock import SystemClock
from literllm.config import parse_config
from literllm.config.guardrails import PatternSettings
from literllm.hooks import Completion, Hook, HookSet, Registered, RequestContext
from literllm.hooks.patterns import PatternGuardrail
from literllm.outcome import Outcome
from literllm.types import UpstreamRequest, UpstreamResponse

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


class OneTurnUpstream(InstantUpstream):
    """Answers at once, after letting the event loop run other tasks once."""

    async def send(self, request: UpstreamRequest, *, timeout: float) -> UpstreamResponse:
        await asyncio.sleep(0)
        return UpstreamResponse(200, {"content-type": "application/json"}, ANSWER)


def build(extra: str = "", hooks: tuple[object, ...] = ()) -> Proxy:
    config = parse_config(BASE + extra, "bench.toml", environ={})
    return Proxy.from_config(config, transport=OneTurnUpstream(), hooks=hooks)  # type: ignore[arg-type]


async def per_request(proxy: Proxy, body: dict[str, Any], requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        await proxy.chat(dict(body, messages=list(body["messages"])), api_key=KEY)
    await proxy.drain_hooks()
    return (time.process_time() - started) / requests


def rotated(variants: dict[str, Any], turn: int) -> list[tuple[str, Any]]:
    """The variants in a different order each round (none always runs first)."""
    items = list(variants.items())
    shift = turn % len(items)
    return items[shift:] + items[:shift]


async def run(requests: int, rounds: int) -> dict[str, list[float]]:
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
        for turn in range(rounds):
            for name, proxy in rotated(proxies, turn):
                samples[name].append(await per_request(proxy, body, requests))
    finally:
        for proxy in proxies.values():
            await proxy.aclose()
    return samples


class QueuedNoOp(NoOp):
    """A no-op `on_complete` that awaits (so it runs in the background task)."""

    async def on_complete(self, ctx: RequestContext, completion: Completion) -> None:
        await asyncio.sleep(0)


async def machinery(hook: object | None, requests: int) -> float:
    """The hook steps of one request alone (select, before_request, finish, the
    background call), per request, with one event-loop turn a request as above; with
    `hook` None the same loop without them (the baseline)."""
    hooks = HookSet([Registered(hook)], clock=SystemClock()) if hook is not None else None
    caller = Caller(is_master=True, key=None, identity="master", description="master")
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]}
    outcome = Outcome(0.0)
    started = time.process_time()
    for _ in range(requests):
        if hooks is not None:
            selected = hooks.select(caller, body, "chat", None)
            assert selected is not None
            await selected.before_request(body)
            selected.finish(outcome, None, None)
        await asyncio.sleep(0)
    if hooks is not None:
        await hooks.aclose()
    return (time.process_time() - started) / requests


async def machinery_rounds(requests: int, rounds: int) -> dict[str, list[float]]:
    variants: dict[str, object | None] = {
        "baseline (no hooks)": None,
        "no-op before_request": NoOpBefore(),
        "no-op before_request + on_complete": NoOp(),
        "no-op before_request + awaiting on_complete": QueuedNoOp(),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for turn in range(rounds):
        for name, hook in rotated(variants, turn):
            samples[name].append(await machinery(hook, requests))
    return samples


def report(samples: dict[str, list[float]], title: str) -> None:
    base = next(iter(samples.values()))
    base_min, base_median = min(base), statistics.median(base)
    print(f"{title:45s} {'min':>7s} {'added':>7s} {'median':>7s} {'added':>7s}")
    for name, values in samples.items():
        low, middle = min(values), statistics.median(values)
        print(
            f"{name:45s} {low * 1e6:7.1f} {(low - base_min) * 1e6:+7.1f}"
            f" {middle * 1e6:7.1f} {(middle - base_median) * 1e6:+7.1f}"
        )


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
    report(asyncio.run(run(args.requests, args.rounds)), "Proxy.chat, CPU per request (us)")
    alone = asyncio.run(machinery_rounds(args.requests * 4, args.rounds))
    report(alone, "hook steps alone, CPU per request (us)")
    for name, text in (("prose", PROMPT), ("dense", DENSE)):
        runs = [guardrail_alone(text, 2000) for _ in range(args.rounds)]
        print(
            f"{'patterns redaction alone, 2 KB ' + name:45s} {min(runs) * 1e6:7.1f}"
            f" (min) {statistics.median(runs) * 1e6:7.1f} (median) us"
        )


if __name__ == "__main__":
    main()
