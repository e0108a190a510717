"""The bench's outputs: results.json (for comparing commits), summary.md, and growth.png."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from tests.bench.overhead import table as overhead_table
from tests.bench.seed import GROWTH_SIZES

Result = dict[str, float]
# The targets: app CPU ms per request.
CPU_BUDGET = {"list_default": 1.5, "get": 1.0, "create": 2.0, "update": 2.0, "complete": 2.0, "delete": 2.0}
PGBENCH_FOR = {"list_default": "list_default", "list_filtered": "list_filtered", "get": "get"}


def line(r: Result) -> str:
    return (
        f"{r['rps']:.0f} req/s, p50 {r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms, "
        f"{r['errors']:.0f} errors, {r['cpu_ms_per_request']:.3f} ms CPU/req"
    )


def commit() -> str:
    out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def write(
    folder: Path,
    results: dict[str, Result],
    growth: dict[str, Result],
    pg: dict[str, float],
    pool: dict[str, int],
    overhead: dict[str, Any],
    **run: Any,
) -> None:
    data = {
        "commit": commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "shared": True},
        "run": run,
        "operations": results,
        "growth": growth,
        "pgbench_tps": pg,
        "pool": pool,
        "overhead": overhead,
    }
    (folder / "results.json").write_text(json.dumps(data, indent=2))
    (folder / "summary.md").write_text(summary(data))
    plot(growth, folder / "growth.png")


def summary(data: dict[str, Any]) -> str:
    ops, floor, pg = data["operations"], data["operations"]["floor"]["rps"], data["pgbench_tps"]
    out = [
        f"# make bench at {data['commit']}",
        "",
        f"wrk -c{data['run']['connections']}, {data['run']['seconds']} s per operation; shared 2-core machine.",
        "",
    ]
    out += ["| operation | req/s | p50 ms | p99 ms | errors | app CPU ms/req (budget) | of floor | of pgbench |"]
    out += ["|---|---|---|---|---|---|---|---|"]
    for name, r in ops.items():
        budget = f" (≤ {CPU_BUDGET[name]})" if name in CPU_BUDGET else ""
        of_pg = f"{r['rps'] / pg[PGBENCH_FOR[name]]:.0%}" if name in PGBENCH_FOR else "-"
        out.append(
            f"| {name} | {r['rps']:.0f} | {r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} | {r['errors']:.0f} "
            f"| {r['cpu_ms_per_request']:.3f}{budget} | {r['rps'] / floor:.0%} | {of_pg} |"
        )
    if "list_tagged" in ops:
        ratio = ops["list_tagged"]["cpu_ms_per_request"] / ops["list_default"]["cpu_ms_per_request"]
        out += ["", f"List with 3 tags on every task / default list, app CPU per request: {ratio:.2f}x (target ≤ 1.3x)"]
    out += ["", "pgbench (same SQL, " + ", ".join(f"{k} {v:.0f} tps" for k, v in pg.items()) + ")", ""]
    out += [growth_table(data["growth"]), ""]
    p = data["pool"]
    out.append(
        f"Pool: {p['workers']} workers x pool_size {p['pool_size']}; "
        f"PostgreSQL sessions opened during the load: {p['sessions_opened']}"
    )
    if data.get("overhead"):
        out += ["", "Cost of metrics and rate limiting (tests/bench/overhead.py; target: < 5 % CPU per request):", ""]
        out.append(overhead_table(data["overhead"]))
    return "\n".join(out) + "\n"


def growth_table(growth: dict[str, Result]) -> str:
    rows = ["| tasks of the user | default p50 / p99 ms | status+due_date p50 / p99 ms | tag_ids p50 / p99 ms "
            "| CPU ms/req (default) |"]  # fmt: skip
    rows.append("|---|---|---|---|---|")
    for size in GROWTH_SIZES:
        d, f, t = (growth[f"grow_{kind}_{size}"] for kind in ("default", "filtered", "tag"))
        rows.append(
            f"| {size:,} | {d['p50_us'] / 1000:.2f} / {d['p99_us'] / 1000:.2f} "
            f"| {f['p50_us'] / 1000:.2f} / {f['p99_us'] / 1000:.2f} "
            f"| {t['p50_us'] / 1000:.2f} / {t['p99_us'] / 1000:.2f} | {d['cpu_ms_per_request']:.3f} |"
        )
    lo, hi = GROWTH_SIZES[0], GROWTH_SIZES[-1]
    for kind in ("default", "filtered", "tag"):
        ratio = growth[f"grow_{kind}_{hi}"]["p50_us"] / growth[f"grow_{kind}_{lo}"]["p50_us"]
        rows.append(f"\np50 at {hi:,} / p50 at {lo:,} tasks ({kind}): {ratio:.2f}x (target ≤ 1.5x)")
    return "\n".join(rows)


def plot(growth: dict[str, Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for kind, label in (("default", "default page"), ("filtered", "status=pending&sort=due_date")):
        for pct, style in (("p50", "-o"), ("p99", "--o")):
            ys = [growth[f"grow_{kind}_{s}"][f"{pct}_us"] / 1000 for s in GROWTH_SIZES]
            ax.plot(GROWTH_SIZES, ys, style, label=f"{label} {pct}")
    ax.set_xscale("log")
    ax.set_xlabel("tasks of the user")
    ax.set_ylabel("latency (ms), wrk -c8")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title("List latency against tasks per user")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
