"""The bench's outputs: results.json (for comparing commits), summary.md, and growth.png."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from tests.bench.overhead import table as overhead_table
from tests.bench.paging import RATIOS
from tests.bench.seed import GROWTH_SIZES

Result = dict[str, float]
# The targets: app CPU ms per request (list_tagged: the default page, 50 tasks with 3 tags each).
# The growth figures: the list of a user with 100, 10,000 and 100,000 tasks (tests/bench/seed.py). The tag
# budget is judged on `tag_half`, whose page is full at every size; `tag`'s is 10 rows at 100 tasks, 50 above.
GROWTH_KINDS = {
    "default": "default",
    "filtered": "status+due_date",
    "tag": "tag_ids (a tenth)",
    "tag_half": "tag_ids (half)",
}
CPU_BUDGET = {"list_tagged": 0.9, "get": 0.6, "create": 1.1, "update": 1.0, "complete": 1.0, "delete": 0.7}
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "bench"
LATEST, EARLIER = COMMITTED / "latest.json", COMMITTED / "after.json"


def last_committed() -> dict[str, Any]:
    """The last run committed to docs/bench/ (latest.json, else the run before it had that name)."""
    for path in (LATEST, EARLIER):
        if path.exists():
            data: dict[str, Any] = json.loads(path.read_text())
            return data
    return {}


PGBENCH_FOR = {"list_default": "list_default", "list_filtered": "list_filtered", "get": "get"}


def line(r: Result, last: Result | None = None) -> str:
    text = (
        f"{r['rps']:.0f} req/s, p50 {r['p50_us'] / 1000:.2f} ms, p99 {r['p99_us'] / 1000:.2f} ms, "
        f"{r['errors']:.0f} errors, {r['cpu_ms_per_request']:.3f} ms CPU/req"
    )
    if last:
        text += f" (last committed: {last['rps']:.0f} req/s, p50 {last['p50_us'] / 1000:.2f} ms, "
        text += f"{last['cpu_ms_per_request']:.3f} ms CPU/req)"
    return text


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
    last: dict[str, Any],
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
    (folder / "summary.md").write_text(summary(data, last))
    plot(growth, folder / "growth.png")


def summary(data: dict[str, Any], last: dict[str, Any]) -> str:
    ops, floor, pg = data["operations"], data["operations"]["floor"]["rps"], data["pgbench_tps"]
    before = last.get("operations", {})
    out = [
        f"# make bench at {data['commit']}",
        "",
        f"wrk -c{data['run']['connections']}, {data['run']['seconds']} s per operation; shared 2-core machine.",
        "",
    ]
    out += [f"Last committed run (docs/bench/): {last.get('commit', 'none')}.", ""]
    out += ["| operation | req/s | p50 ms | p99 ms | errors | app CPU ms/req (budget) | last committed CPU ms/req "
            "| of floor | of pgbench |"]  # fmt: skip
    out += ["|---|---|---|---|---|---|---|---|---|"]
    for name, r in ops.items():
        budget = f" (≤ {CPU_BUDGET[name]})" if name in CPU_BUDGET else ""
        of_pg = f"{r['rps'] / pg[PGBENCH_FOR[name]]:.0%}" if name in PGBENCH_FOR else "-"
        out.append(
            f"| {name} | {r['rps']:.0f} | {r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} | {r['errors']:.0f} "
            f"| {r['cpu_ms_per_request']:.3f}{budget} | {was(before.get(name), 'cpu_ms_per_request', 1, '.3f')} "
            f"| {r['rps'] / floor:.0%} | {of_pg} |"
        )
    if "list_tagged" in ops:
        ratio = ops["list_tagged"]["cpu_ms_per_request"] / ops["list_default"]["cpu_ms_per_request"]
        out += ["", f"List with 3 tags on every task / default list, app CPU per request: {ratio:.2f}x (target ≤ 1.3x)"]
    out += ["", "pgbench (same SQL, " + ", ".join(f"{k} {v:.0f} tps" for k, v in pg.items()) + ")", ""]
    out += [growth_table(data["growth"]), ""]
    out += [paging_table(data["growth"], last.get("growth", {})), ""]
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
    heads = " | ".join(f"{label} p50 / p99 ms" for label in GROWTH_KINDS.values())
    rows = [f"| tasks of the user | {heads} | CPU ms/req (default) |", "|---|" + "---|" * (len(GROWTH_KINDS) + 1)]
    for size in GROWTH_SIZES:
        cells = [growth[f"grow_{kind}_{size}"] for kind in GROWTH_KINDS if f"grow_{kind}_{size}" in growth]
        figures = " | ".join(f"{r['p50_us'] / 1000:.2f} / {r['p99_us'] / 1000:.2f}" for r in cells)
        rows.append(f"| {size:,} | {figures} | {cells[0]['cpu_ms_per_request']:.3f} |")
    lo, hi = GROWTH_SIZES[0], GROWTH_SIZES[-1]
    for kind in GROWTH_KINDS:
        if f"grow_{kind}_{hi}" in growth:
            ratio = growth[f"grow_{kind}_{hi}"]["p50_us"] / growth[f"grow_{kind}_{lo}"]["p50_us"]
            rows.append(f"\np50 at {hi:,} / p50 at {lo:,} tasks ({kind}): {ratio:.2f}x (target ≤ 1.5x)")
    return "\n".join(rows)


def was(result: Result | None, key: str, scale: float, spec: str) -> str:
    return format(result[key] / scale, spec) if result else "-"


def paging_table(growth: dict[str, Result], last: dict[str, Result]) -> str:
    rows = ["| figure (wrk -c8) | p50 ms | last committed p50 ms | CPU ms/req |", "|---|---|---|---|"]
    names = sorted({name for pair in RATIOS.values() for name in pair[:2]})
    for name in names:
        r = growth[name]
        rows.append(f"| {name} | {r['p50_us'] / 1000:.2f} | {was(last.get(name), 'p50_us', 1000, '.2f')} "
                    f"| {r['cpu_ms_per_request']:.3f} |")  # fmt: skip
    for label, (top, bottom, target) in RATIOS.items():
        rows.append(f"\np50 {label}: {growth[top]['p50_us'] / growth[bottom]['p50_us']:.2f}x (target ≤ {target}x)")
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
