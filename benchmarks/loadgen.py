"""Drive one target with wrk and account the CPU its process tree spent meanwhile."""

from __future__ import annotations

import json
import os
import resource
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from . import proc

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "wrk" / "post.lua"


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    body: str  # file under benchmarks/bodies/
    connections: int


@dataclass
class RunResult:
    scenario: str
    connections: int
    target: str
    rep: int
    requests: int
    seconds: float
    rps: float
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    errors: int
    cpu_s: float
    cpu_ms_per_req: float | None
    upstream_cpu_ms_per_req: float | None
    other_load_cores: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def wrk(
    url: str,
    body: Path,
    token: str,
    connections: int,
    seconds: float,
    cpus: set[int] | None,
    threads: int = 1,
) -> dict[str, object]:
    """Run wrk once; return the JSON summary that wrk/post.lua prints."""
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "--timeout",
        "30s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(body),
        token,
    ]
    out = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    ).stdout
    for line in out.splitlines():
        if line.startswith("BENCHJSON "):
            summary: dict[str, object] = json.loads(line[len("BENCHJSON ") :])
            return summary
    raise RuntimeError(f"wrk printed no summary:\n{out}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    target_name: str,
    base: str,
    token: str,
    pid: int,
    scenario: Scenario,
    rep: int,
    seconds: float,
    cpus: set[int] | None,
    upstream_pid: int | None = None,
) -> RunResult:
    """One wrk run against `pid`'s server; `upstream_pid` is the mock it forwards to, if any.

    other_load_cores is what the rest of the machine (other users, not target, mock or
    wrk) kept busy during the run, in cores: a run with much of it is suspect.
    """
    before = proc.cpu_seconds(pid)
    up_before = proc.cpu_seconds(upstream_pid) if upstream_pid else 0.0
    wrk_before = _children_cpu()
    busy_before = proc.machine_busy_seconds()
    s = wrk(
        base + scenario.path,
        HERE / "bodies" / scenario.body,
        token,
        scenario.connections,
        seconds,
        cpus,
    )
    busy = proc.machine_busy_seconds() - busy_before
    wrk_cpu = _children_cpu() - wrk_before
    cpu = proc.cpu_seconds(pid) - before
    up_cpu = proc.cpu_seconds(upstream_pid) - up_before if upstream_pid else 0.0
    lat = s["latency_us"]
    assert isinstance(lat, dict)
    requests = int(str(s["requests"]))
    duration = int(str(s["duration_us"])) / 1e6
    errors = sum(
        int(str(s[k]))
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return RunResult(
        scenario=scenario.name,
        connections=scenario.connections,
        target=target_name,
        rep=rep,
        requests=requests,
        seconds=duration,
        rps=requests / duration if duration else 0.0,
        p50_us=int(lat["50"]),
        p90_us=int(lat["90"]),
        p99_us=int(lat["99"]),
        max_us=int(lat["max"]),
        errors=errors,
        cpu_s=cpu,
        cpu_ms_per_req=cpu * 1000 / requests if requests else None,
        upstream_cpu_ms_per_req=up_cpu * 1000 / requests if requests and upstream_pid else None,
        other_load_cores=max(0.0, busy - cpu - up_cpu - wrk_cpu) / duration if duration else 0.0,
    )
