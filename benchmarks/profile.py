"""Profile one target under wrk load with py-spy and print where its time goes.

    benchmarks/.venv-tools/bin/pip install py-spy      # once
    .venv/bin/python -m benchmarks.profile --scenario chat --seconds 8
    .venv/bin/python -m benchmarks.profile --target floor --scenario stream

Starts the mock and the target (pinned as in run.py), drives 64 connections for a little
longer than the sampling window, and prints the top functions by own time and the
project's functions by inclusive time, as shares of all samples. The raw collapsed stacks
go to benchmarks/.run/profile-<target>-<scenario>.txt (feed them to flamegraph.pl).
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import threading
from pathlib import Path

from . import loadgen, targets
from .loadgen import Scenario

HERE = Path(__file__).resolve().parent
PY_SPY = HERE / ".venv-tools" / "bin" / "py-spy"
SCENARIOS = {
    "chat": Scenario("chat", "/v1/chat/completions", "chat.json", 64),
    "stream": Scenario("stream", "/v1/chat/completions", "stream.json", 64),
    "embeddings": Scenario("embeddings", "/v1/embeddings", "embeddings.json", 64),
}


def summarize(raw: Path, top: int, packages: tuple[str, ...]) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)", ")", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "own time:"]
    lines += [f"{n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    lines += ["", f"inclusive, frames of {', '.join(packages)}:"]
    picked = [(f, n) for f, n in inclusive.most_common() if any(p in f for p in packages)]
    lines += [f"{n / total:6.1%}  {f}" for f, n in picked[:top]]
    return "\n".join(lines)


def by_file(raw: Path, top: int) -> str:
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        match = re.search(r"\(([^()]*?):\d+\)$", stack.split(";")[-1])
        own[match.group(1) if match else "?"] += n
    return "\n".join(f"{n / total:6.1%}  {f}" for f, n in own.most_common(top))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", choices=("gateway", "floor"), default="gateway")
    p.add_argument("--scenario", choices=sorted(SCENARIOS), default="chat")
    p.add_argument("--seconds", type=float, default=8.0, help="sampling window")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--config", type=Path, help="gateway config (default benchmarks/gateway.toml)")
    p.add_argument("--by-file", action="store_true", help="also sum own time per source file")
    args = p.parse_args()
    if not PY_SPY.exists():
        raise SystemExit(f"{PY_SPY} missing: benchmarks/.venv-tools/bin/pip install py-spy")
    mock = targets.mock(pin=True)
    if args.target == "gateway":
        target = targets.gateway(pin=True, config=args.config)
    else:
        target = targets.floor(pin=True)
    sc = SCENARIOS[args.scenario]
    raw = targets.RUN_DIR / f"profile-{args.target}-{args.scenario}.txt"
    try:
        mock.start()
        target.start()
        load = threading.Thread(
            target=loadgen.measure,
            args=(
                target.name,
                target.base,
                target.token,
                target.pid,
                sc,
                0,
                args.seconds + 2,
                targets.DRIVER_CPUS,
            ),
        )
        load.start()
        subprocess.run(
            [
                str(PY_SPY),
                "record",
                "-p",
                str(target.pid),
                "-d",
                f"{args.seconds:g}",
                "-r",
                "250",
                "-f",
                "raw",
                "-o",
                str(raw),
                "--nonblocking",
            ],
            check=True,
            capture_output=True,
            timeout=args.seconds + 30,
        )
        load.join()
    finally:
        target.stop()
        mock.stop()
    print(summarize(raw, args.top, ("literllm", "benchmarks/floor")))
    if args.by_file:
        print("\nown time per file:")
        print(by_file(raw, args.top))


if __name__ == "__main__":
    main()
