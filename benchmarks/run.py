"""Run the whole benchmark suite and write benchmarks/results/latest.{md,json}.

    benchmarks/run.sh            # quick: 2 reps x 2 s per run, a few minutes
    benchmarks/run.sh --full     # 3 reps x 5 s, more TTFC samples, the 50 ms upstream too
    benchmarks/run.sh --long     # add the RSS growth run (>= 300,000 requests at c64)

See benchmarks/README.md for what every number means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import loadgen, proc, report, targets, ttfc
from .loadgen import Scenario
from .targets import Target

HERE = Path(__file__).resolve().parent
ORDER = ("mock", "floor", "floor-aiohttp", "gateway", "litellm")
# mock and the floors are addressed by upstream path; gateway and litellm by model name
DIRECT = {"mock", "floor", "floor-aiohttp"}

SCENARIOS = [
    Scenario("chat", "/v1/chat/completions", "chat.json", 1),
    Scenario("chat", "/v1/chat/completions", "chat.json", 64),
    Scenario("stream", "/v1/chat/completions", "stream.json", 1),
    Scenario("stream", "/v1/chat/completions", "stream.json", 64),
    Scenario("embeddings", "/v1/embeddings", "embeddings.json", 1),
    Scenario("embeddings", "/v1/embeddings", "embeddings.json", 64),
]
# --full only: a provider that thinks for 50 ms, and streams sent one SSE event per write
EXTRA = [
    Scenario("chat-50ms", "/v1/chat/completions", "chat-slow.json", 64),
    Scenario("stream-paced", "/v1/chat/completions", "stream-paced.json", 64),
]
UPSTREAM_PREFIX = {"chat-50ms": "/slow", "stream-paced": "/paced"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmarks/run.sh", description=__doc__.split("\n")[0])
    p.add_argument(
        "--full",
        action="store_true",
        help="3 reps x 5 s, the 50 ms and paced scenarios, more TTFC samples",
    )
    p.add_argument(
        "--scenarios",
        help="comma list of scenario names to run (chat, stream, embeddings, "
        "chat-50ms, stream-paced); default all of the mode",
    )
    p.add_argument("--duration", type=float, help="seconds per wrk run (quick 2, full 5)")
    p.add_argument("--reps", type=int, help="repetitions of every run (quick 2, full 3)")
    p.add_argument(
        "--targets",
        default=",".join(ORDER),
        help="comma list out of mock,floor,floor-aiohttp,gateway,litellm (mock always runs)",
    )
    p.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin servers to CPU 1 and wrk + mock to CPU 0",
    )
    p.add_argument("--ttfc-count", type=int, help="streams per TTFC probe (quick 300, full 1000)")
    p.add_argument("--long", action="store_true", help="also run the RSS growth test")
    p.add_argument("--long-requests", type=int, default=300_000)
    p.add_argument("--long-checkpoint", type=int, default=30_000)
    p.add_argument(
        "--long-target",
        default="gateway",
        help="target of the long run (falls back to floor when gateway is missing)",
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="first wait up to S seconds for the machine to be idle (other work "
        "below 0.3 cores over 3 s)",
    )
    p.add_argument(
        "--out", type=Path, default=HERE / "results", help="directory for latest.md and latest.json"
    )
    args = p.parse_args(argv)
    args.duration = args.duration or (5.0 if args.full else 2.0)
    args.reps = args.reps or (3 if args.full else 2)
    args.ttfc_count = args.ttfc_count or (1000 if args.full else 300)
    return args


def _run_text(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "n/a"
    return (out.stdout + out.stderr).strip().splitlines()[0] if (out.stdout + out.stderr) else ""


def wait_quiet(limit: float) -> float:
    """Wait until the machine is nearly idle, or `limit` seconds; return the last load."""
    deadline = time.monotonic() + limit
    while True:
        before = proc.machine_busy_seconds()
        time.sleep(3)
        load = (proc.machine_busy_seconds() - before) / 3
        if load < 0.3 or time.monotonic() > deadline:
            return load
        log(f"machine busy ({load:.2f} cores), waiting")


def environment(args: argparse.Namespace) -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = _run_text(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(
        [
            "git",
            "-C",
            str(HERE.parent),
            "status",
            "--porcelain",
            "--",
            "literllm",
            "literllm_server",
        ],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    litellm_py = targets.LITELLM_BIN.parent / "python"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": commit,
        "uncommitted_gateway_files": len(dirty),
        "command": "benchmarks/run.sh " + " ".join(sys.argv[1:]),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "nginx": _run_text(["nginx", "-v"]),
        "wrk": _run_text(["wrk", "-v"]),
        "litellm": _run_text(
            [str(litellm_py), "-c", "import importlib.metadata as m; print(m.version('litellm'))"]
        )
        if litellm_py.exists()
        else "not installed",
        "pinned": args.pin,
        "duration_s": args.duration,
        "reps": args.reps,
        "load_before": os.getloadavg()[0],
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_times(python: Path, module: str, reps: int) -> dict[str, Any]:
    """`python -c 'import m'` minus `python -c pass`: the fastest of `reps` wall times (other
    load only ever adds), the median CPU time, and the cumulative -X importtime figure."""

    def timed(code: str) -> tuple[float, float]:
        cpu0 = _children_cpu()
        began = time.perf_counter()
        subprocess.run([str(python), "-c", code], check=True, cwd=HERE.parent, capture_output=True)
        return time.perf_counter() - began, _children_cpu() - cpu0

    bare = [timed("pass") for _ in range(reps)]
    full = [timed(f"import {module}") for _ in range(reps)]
    wall = min(w for w, _ in full) - min(w for w, _ in bare)
    cpu = statistics.median(c for _, c in full) - statistics.median(c for _, c in bare)
    trace = subprocess.run(
        [str(python), "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
    ).stderr
    cumulative = -1.0
    for line in trace.splitlines():
        parts = [x.strip() for x in line.split("|")]
        # the module may appear again, nested and tiny, when a submodule re-imports it
        if len(parts) == 3 and parts[2] == module:
            cumulative = max(cumulative, int(parts[1]) / 1000)
    return {
        "module": module,
        "wall_ms": wall * 1000,
        "cpu_ms": cpu * 1000,
        "importtime_ms": cumulative,
    }


def start_targets(args: argparse.Namespace, result: dict[str, Any]) -> dict[str, Target]:
    wanted = {t.strip() for t in args.targets.split(",")} | {"mock"}
    makers = {
        "mock": targets.mock,
        "floor": targets.floor,
        "floor-aiohttp": targets.floor_aiohttp,
        "gateway": targets.gateway,
        "litellm": targets.litellm,
    }
    missing = {"gateway": targets.gateway_available(), "litellm": targets.litellm_available()}
    running: dict[str, Target] = {}
    for name in ORDER:
        if name not in wanted:
            continue
        if missing.get(name):
            result["skipped"][name] = missing[name]
            log(f"skip {name}: {missing[name]}")
            continue
        target = makers[name](args.pin)
        startups: list[float] = []
        # one start for litellm (about 5 s each); the others are restarted to get a median
        attempts = 1 if name == "litellm" else (3 if args.full else 2)
        try:
            for i in range(attempts):
                startups.append(target.start())
                if i < attempts - 1:
                    target.stop()
        except RuntimeError as exc:
            result["skipped"][name] = str(exc)
            log(f"skip {name}: {exc}")
            target.stop()
            continue
        time.sleep(0.5)
        result["targets"][name] = {
            "startup_s": statistics.median(startups),
            "startup_all_s": startups,
            "rss_idle_kib": proc.rss_kib(target.pid),
        }
        log(f"started {name}: first 200 after {statistics.median(startups):.3f} s")
        running[name] = target
    return running


def mock_capacity(mock: Target, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The mock alone, with a core to itself when pinned: proof that it is not the bottleneck."""
    if args.pin:
        proc.pin_tree(mock.pid, targets.SERVER_CPUS)
    rows = []
    try:
        for sc in (s for s in SCENARIOS if s.connections == 64):
            r = loadgen.measure(
                "mock",
                mock.base,
                "",
                mock.pid,
                sc,
                0,
                args.duration,
                targets.DRIVER_CPUS if args.pin else None,
            )
            rows.append(r.as_dict())
            log(f"mock capacity {sc.name}: {r.rps:,.0f}/s")
    finally:
        if args.pin:
            proc.pin_tree(mock.pid, targets.DRIVER_CPUS)
    return rows


def path_for(target: str, sc: Scenario) -> Scenario:
    if target in DIRECT and sc.name in UPSTREAM_PREFIX:
        return Scenario(sc.name, UPSTREAM_PREFIX[sc.name] + sc.path, sc.body, sc.connections)
    return sc


def one_run(
    name: str, running: dict[str, Target], sc: Scenario, rep: int, seconds: float, pin: bool
) -> loadgen.RunResult:
    """Measure one target. The mock measured directly moves to the servers' core meanwhile,
    so that it is placed like every other target (wrk on one core, server on the other)."""
    t, mock = running[name], running["mock"]
    driver = targets.DRIVER_CPUS if pin else None
    if name != "mock":
        return loadgen.measure(
            name,
            t.base,
            t.token,
            t.pid,
            path_for(name, sc),
            rep,
            seconds,
            driver,
            upstream_pid=mock.pid,
        )
    if pin:
        proc.pin_tree(mock.pid, targets.SERVER_CPUS)
    try:
        return loadgen.measure(
            name, t.base, t.token, t.pid, path_for(name, sc), rep, seconds, driver
        )
    finally:
        if pin:
            proc.pin_tree(mock.pid, targets.DRIVER_CPUS)


def matrix(running: dict[str, Target], args: argparse.Namespace) -> list[dict[str, Any]]:
    for name in running:  # warm-up, not recorded
        for sc in (SCENARIOS[1], SCENARIOS[3]):
            one_run(name, running, sc, -1, 2.0 if name == "litellm" else 1.0, args.pin)
    rows = []
    scenarios = SCENARIOS + (EXTRA if args.full else [])
    if args.scenarios:
        wanted = set(args.scenarios.split(","))
        scenarios = [sc for sc in SCENARIOS + EXTRA if sc.name in wanted]
    for sc in scenarios:
        for rep in range(args.reps):
            for name in running:
                r = one_run(name, running, sc, rep, args.duration, args.pin)
                rows.append(r.as_dict())
                cpu = f"{r.cpu_ms_per_req:.3f}" if r.cpu_ms_per_req is not None else "n/a"
                log(
                    f"{sc.name} c{sc.connections} rep{rep} {name}: {r.rps:,.0f}/s "
                    f"p50 {r.p50_us / 1000:.2f} ms p99 {r.p99_us / 1000:.2f} ms "
                    f"cpu {cpu} ms/req errors {r.errors} other load {r.other_load_cores:.2f}"
                )
    return rows


def ttfc_runs(running: dict[str, Target], args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.pin:
        os.sched_setaffinity(0, targets.DRIVER_CPUS)
    rows = []
    try:
        for rep in range(args.reps):
            for name, t in running.items():
                count = min(args.ttfc_count, 100) if name == "litellm" else args.ttfc_count
                if args.pin and name == "mock":
                    proc.pin_tree(t.pid, targets.SERVER_CPUS)
                try:
                    r = ttfc.probe(t.base, t.token, count)
                finally:
                    if args.pin and name == "mock":
                        proc.pin_tree(t.pid, targets.DRIVER_CPUS)
                rows.append({"target": name, "rep": rep, **r})
                log(
                    f"ttfc rep{rep} {name}: p50 {r['ttfc_p50_us']:.0f} us "
                    f"p99 {r['ttfc_p99_us']:.0f} us"
                )
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return rows


def long_run(running: dict[str, Target], args: argparse.Namespace) -> dict[str, Any]:
    name = args.long_target if args.long_target in running else "floor"
    t = running[name]
    sc = SCENARIOS[1]
    done = 0
    samples: list[tuple[int, int]] = [(0, proc.rss_kib(t.pid))]
    rss_checkpoint = None
    began = time.perf_counter()
    cpu0 = proc.cpu_seconds(t.pid)
    while done < args.long_requests:
        r = one_run(name, running, sc, 0, 3.0, args.pin)
        if r.errors:
            log(f"long run: {r.errors} errors in a segment")
        done += r.requests
        rss = proc.rss_kib(t.pid)
        samples.append((done, rss))
        if rss_checkpoint is None and done >= args.long_checkpoint:
            rss_checkpoint = (done, rss)
        log(f"long run {name}: {done:,} requests, RSS {rss / 1024:.1f} MiB")
    assert rss_checkpoint is not None
    return {
        "target": name,
        "requests": done,
        "seconds": time.perf_counter() - began,
        "cpu_ms_per_req": (proc.cpu_seconds(t.pid) - cpu0) * 1000 / done,
        "checkpoint_requests": rss_checkpoint[0],
        "rss_checkpoint_kib": rss_checkpoint[1],
        "rss_final_kib": samples[-1][1],
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path("/usr/sbin/nginx").exists():
            sys.exit(f"{tool} not found: see benchmarks/README.md (apt-get install ...)")
    if args.pin and (os.cpu_count() or 1) < 2:
        args.pin = False
    if args.wait_quiet:
        log(f"machine load before start: {wait_quiet(args.wait_quiet):.2f} cores")
    result: dict[str, Any] = {
        "env": environment(args),
        "targets": {},
        "skipped": {},
        "imports": [],
        "mock_capacity": [],
        "runs": [],
        "ttfc": [],
        "long": None,
    }
    log(f"quick={not args.full} duration={args.duration}s reps={args.reps} pin={args.pin}")
    result["imports"].append(import_times(targets.PROJECT_PY, "literllm", 9))
    if (HERE.parent / "literllm_server" / "app.py").exists():
        result["imports"].append(import_times(targets.PROJECT_PY, "literllm_server.app", 9))
    wanted = args.targets.split(",")
    if "litellm" in wanted and targets.litellm_available() is None:
        result["imports"].append(import_times(targets.LITELLM_BIN.parent / "python", "litellm", 3))
    for imp in result["imports"]:
        log(f"import {imp['module']}: {imp['wall_ms']:.0f} ms")
    running: dict[str, Target] = {}
    try:
        running = start_targets(args, result)
        result["mock_capacity"] = mock_capacity(running["mock"], args)
        result["runs"] = matrix(running, args)
        result["ttfc"] = ttfc_runs(running, args)
        for name, t in running.items():
            result["targets"][name]["rss_after_load_kib"] = proc.rss_kib(t.pid)
        if args.long:
            result["long"] = long_run(running, args)
    finally:
        for t in reversed(list(running.values())):
            t.stop()
    result["env"]["load_after"] = os.getloadavg()[0]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "latest.md").write_text(report.render(result))
    log(f"wrote {args.out / 'latest.md'} and latest.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
