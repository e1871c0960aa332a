"""Turn the raw results of benchmarks/run.py into the markdown report."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

ORDER = ("mock", "floor", "floor-aiohttp", "gateway", "litellm")


@dataclass
class Agg:
    rps: float
    rps_min: float
    rps_max: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float | None
    cpu_min: float | None
    cpu_max: float | None
    errors: int
    reps: int
    other_load: float


def aggregate(runs: list[dict[str, Any]]) -> dict[tuple[str, int, str], Agg]:
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        groups[(r["scenario"], r["connections"], r["target"])].append(r)
    out = {}
    for key, rs in groups.items():
        rps = [r["rps"] for r in rs]
        cpu = [r["cpu_ms_per_req"] for r in rs if r["cpu_ms_per_req"] is not None]
        out[key] = Agg(
            rps=statistics.median(rps),
            rps_min=min(rps),
            rps_max=max(rps),
            p50_ms=statistics.median(r["p50_us"] for r in rs) / 1000,
            p99_ms=statistics.median(r["p99_us"] for r in rs) / 1000,
            cpu_ms=statistics.median(cpu) if cpu else None,
            cpu_min=min(cpu) if cpu else None,
            cpu_max=max(cpu) if cpu else None,
            errors=sum(r["errors"] for r in rs),
            reps=len(rs),
            other_load=max(r.get("other_load_cores", 0.0) for r in rs),
        )
    return out


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "-"
    return f"{a / b:.2f}x" if a / b < 10 else f"{a / b:.0f}x"


def _f(x: float | None, fmt: str = "{:.3f}") -> str:
    return "-" if x is None else fmt.format(x)


def ttfc_medians(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r["target"]].append(r)
    return {
        t: {
            k: statistics.median(x[k] for x in rs)
            for k in ("ttfc_p50_us", "ttfc_p99_us", "total_p50_us")
        }
        for t, rs in by.items()
    }


def checks(
    result: dict[str, Any], agg: dict[tuple[str, int, str], Agg]
) -> list[tuple[str, str, str, bool | None]]:
    """(target of issue 9, limit, measured, passed) for the gateway; None = not measured."""
    g = "gateway"
    rows: list[tuple[str, str, str, bool | None]] = []

    def get(sc: str, c: int, t: str) -> Agg | None:
        return agg.get((sc, c, t))

    def add(name: str, limit: str, value: float | None, fmt: str, ok: bool | None) -> None:
        rows.append(
            (
                name,
                limit,
                "pending" if value is None else fmt.format(value),
                None if value is None else ok,
            )
        )

    for sc, c, limit in (("chat", 64, 0.25), ("stream", 64, 0.4)):
        a = get(sc, c, g)
        v = a.cpu_ms if a else None
        add(
            f"CPU per {sc} request (c{c})",
            f"<= {limit} ms",
            v,
            "{:.3f} ms",
            v is not None and v <= limit,
        )
    mock1, gw1 = get("chat", 1, "mock"), get("chat", 1, g)
    for label, attr, limit in (("p50", "p50_ms", 0.5), ("p99", "p99_ms", 1.5)):
        v = getattr(gw1, attr) - getattr(mock1, attr) if gw1 and mock1 else None
        add(
            f"added latency {label}, chat c1",
            f"<= {limit} ms",
            v,
            "{:.3f} ms",
            v is not None and v <= limit,
        )
    for sc in ("chat", "stream"):
        gw, ll = get(sc, 64, g), get(sc, 64, "litellm")
        v = gw.rps / ll.rps if gw and ll else None
        add(f"{sc} throughput c64 vs LiteLLM", ">= 30x", v, "{:.1f}x", v is not None and v >= 30)
    gw, fl = get("chat", 64, g), get("chat", 64, "floor")
    v = gw.rps / fl.rps * 100 if gw and fl else None
    add("chat throughput c64 vs floor", ">= 60%", v, "{:.0f}%", v is not None and v >= 60)
    fa = get("chat", 64, "floor-aiohttp")
    v = gw.rps / fa.rps * 100 if gw and fa else None
    add(
        "chat throughput c64 vs aiohttp floor (the issue's reference stack)",
        ">= 60%",
        v,
        "{:.0f}%",
        v is not None and v >= 60,
    )
    tt = ttfc_medians(result["ttfc"])
    v = (
        (tt[g]["ttfc_p50_us"] - tt["mock"]["ttfc_p50_us"]) / 1000
        if g in tt and "mock" in tt
        else None
    )
    add("added time to first chunk p50, c1", "<= 1 ms", v, "{:.3f} ms", v is not None and v <= 1)
    tg = result["targets"].get(g, {})
    v = tg.get("startup_s")
    add("start to first response", "< 1 s", v, "{:.2f} s", v is not None and v < 1)
    imp = next((i for i in result["imports"] if i["module"] == "literllm"), None)
    v = imp["wall_ms"] if imp else None
    add("import literllm", "< 150 ms", v, "{:.0f} ms", v is not None and v < 150)
    v = tg["rss_idle_kib"] / 1024 if "rss_idle_kib" in tg else None
    add("idle RSS", "< 80 MB", v, "{:.1f} MiB", v is not None and v < 80 * 1e6 / 2**20)
    lr = result.get("long")
    v = None
    if lr and lr["target"] == g:
        v = (lr["rss_final_kib"] / lr["rss_checkpoint_kib"] - 1) * 100
    add("RSS after 300k vs after 30k", "<= +10%", v, "{:+.1f}%", v is not None and v <= 10)
    return rows


def render(result: dict[str, Any]) -> str:
    env = result["env"]
    agg = aggregate(result["runs"])
    out = ["# liter-llm benchmark results", ""]
    out.append(f"Command: `{env['command']}`  ")
    dirty = env.get("uncommitted_gateway_files", 0)
    tree = f" plus {dirty} uncommitted files in literllm/ and literllm_server/" if dirty else ""
    out.append(f"Date: {env['date']}, commit `{env['commit']}`{tree}  ")
    out.append(
        f"Machine: {env['cpu']}, {env['cores']} cores, Linux {env['kernel']}, "
        f"Python {env['python']}, {env['nginx']}, {env['wrk']}, LiteLLM {env['litellm']}  "
    )
    pin = "servers on CPU 1, wrk + mock + probes on CPU 0" if env["pinned"] else "no CPU pinning"
    out.append(
        f"Runs: {env['reps']} repetitions x {env['duration_s']:g} s per target and "
        f"scenario, interleaved; {pin}. Load average before {env['load_before']:.2f}, "
        f"after {env.get('load_after', 0):.2f}."
    )
    out.append("")
    for name, why in result["skipped"].items():
        out.append(f"- **{name} not measured**: {why}")
    if result["skipped"]:
        out.append("")

    out += [
        "## Targets of issue 9 (the gateway, everything on)",
        "",
        "| target | limit | measured | result |",
        "|---|---|---|---|",
    ]
    for name, limit, measured, ok in checks(result, agg):
        verdict = "pending" if ok is None else ("PASS" if ok else "FAIL")
        out.append(f"| {name} | {limit} | {measured} | {verdict} |")
    out.append("")

    out += [
        "## Throughput, latency and CPU per request",
        "",
        "Medians over the repetitions, (min-max) in brackets. Added latency is the "
        "target's percentile minus the mock's at the same concurrency. CPU is utime + stime "
        "of the target's process tree divided by the requests completed. Other load is the "
        "most CPU (in cores) that the rest of the machine used during any repetition: "
        "a high figure marks a run disturbed by other work.",
        "",
    ]
    scenarios: list[tuple[str, int]] = []
    for r in result["runs"]:
        if (r["scenario"], r["connections"]) not in scenarios:
            scenarios.append((r["scenario"], r["connections"]))
    for sc, c in scenarios:
        out += [
            f"### {sc}, {c} connection{'s' if c > 1 else ''}",
            "",
            "| target | req/s | p50 ms | p99 ms | added p50 / p99 ms | CPU ms/req "
            "| vs LiteLLM | vs floor | errors | other load |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        mock, ll, fl = (
            agg.get((sc, c, "mock")),
            agg.get((sc, c, "litellm")),
            agg.get((sc, c, "floor")),
        )
        relative = ("floor", "floor-aiohttp", "gateway")
        for t in ORDER:
            a = agg.get((sc, c, t))
            if a is None:
                continue
            added = (
                "-"
                if t == "mock" or mock is None
                else f"{a.p50_ms - mock.p50_ms:.3f} / {a.p99_ms - mock.p99_ms:.3f}"
            )
            out.append(
                f"| {t} | {a.rps:,.0f} ({a.rps_min:,.0f}-{a.rps_max:,.0f}) | {a.p50_ms:.3f} "
                f"| {a.p99_ms:.3f} | {added} | {_f(a.cpu_ms)} ({_f(a.cpu_min)}-{_f(a.cpu_max)}) "
                f"| {_ratio(a.rps, ll.rps if ll else None) if t in relative else '-'} "
                f"| {_ratio(a.rps, fl.rps if fl else None) if t in relative[1:] else '-'} "
                f"| {a.errors} | {a.other_load:.2f} |"
            )
        out.append("")

    tt = ttfc_medians(result["ttfc"])
    if tt:
        out += [
            "## Streaming: time to first chunk, 1 connection",
            "",
            "Raw-socket client (benchmarks/ttfc.py), sequential streams over one keep-alive "
            "connection; medians over the repetitions.",
            "",
            "| target | TTFC p50 us | TTFC p99 us | added p50 us | whole stream p50 us |",
            "|---|---|---|---|---|",
        ]
        for t in ORDER:
            if t in tt:
                d = tt[t]
                added = (
                    "-"
                    if t == "mock" or "mock" not in tt
                    else f"{d['ttfc_p50_us'] - tt['mock']['ttfc_p50_us']:.0f}"
                )
                out.append(
                    f"| {t} | {d['ttfc_p50_us']:.0f} | {d['ttfc_p99_us']:.0f} | {added} "
                    f"| {d['total_p50_us']:.0f} |"
                )
        out.append("")

    out += [
        "## Start-up and memory",
        "",
        "| target | spawn to first 200 | RSS idle MiB | RSS after load MiB |",
        "|---|---|---|---|",
    ]
    for t in ORDER:
        d = result["targets"].get(t)
        if d:
            after = d.get("rss_after_load_kib")
            out.append(
                f"| {t} | {d['startup_s']:.3f} s | {d['rss_idle_kib'] / 1024:.1f} | "
                f"{_f(after / 1024 if after else None, '{:.1f}')} |"
            )
    out += [
        "",
        "| import | wall, fastest (minus bare interpreter) | CPU, median "
        "| -X importtime cumulative |",
        "|---|---|---|---|",
    ]
    for i in result["imports"]:
        cpu = f"{i['cpu_ms']:.0f} ms" if "cpu_ms" in i else "-"
        out.append(
            f"| `import {i['module']}` | {i['wall_ms']:.0f} ms | {cpu} "
            f"| {i['importtime_ms']:.0f} ms |"
        )
    out.append("")

    if result["mock_capacity"]:
        out += [
            "## Mock upstream capacity (nginx + Lua, 1 worker, own core when pinned)",
            "",
            "| scenario | req/s | p50 ms | p99 ms | CPU ms/req |",
            "|---|---|---|---|---|",
        ]
        for r in result["mock_capacity"]:
            out.append(
                f"| {r['scenario']} c{r['connections']} | {r['rps']:,.0f} | "
                f"{r['p50_us'] / 1000:.3f} | {r['p99_us'] / 1000:.3f} | "
                f"{_f(r['cpu_ms_per_req'], '{:.4f}')} |"
            )
        out.append("")

    lr = result.get("long")
    if lr:
        growth = (lr["rss_final_kib"] / lr["rss_checkpoint_kib"] - 1) * 100
        out += [
            "## Long run (chat, 64 connections)",
            "",
            f"{lr['target']}: {lr['requests']:,} requests in {lr['seconds']:.0f} s, "
            f"{lr['cpu_ms_per_req']:.3f} ms CPU per request. RSS after "
            f"{lr['checkpoint_requests']:,} requests "
            f"{lr['rss_checkpoint_kib'] / 1024:.1f} MiB, "
            f"after {lr['requests']:,} {lr['rss_final_kib'] / 1024:.1f} MiB "
            f"({growth:+.1f}%).",
            "",
        ]
        samples = lr["samples"]
        half = next((rss for n, rss in samples if n >= lr["requests"] / 2), samples[-1][1])
        out.append(
            f"Growth over the second half of the run: "
            f"{(lr['rss_final_kib'] / half - 1) * 100:+.1f}% (a leak keeps growing; a "
            f"bounded structure filling up levels off).  "
        )
        step = max(1, len(samples) // 10)
        curve = ", ".join(f"{n // 1000}k: {rss / 1024:.1f}" for n, rss in samples[::step])
        out += [
            f"RSS (MiB) by requests served: {curve}, "
            f"{samples[-1][0] // 1000}k: {samples[-1][1] / 1024:.1f}.",
            "",
        ]
    return "\n".join(out)
