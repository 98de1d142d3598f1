"""Run every benchmark module and rewrite benchmarks/RESULTS.md with the figures.

Each `benchmarks/bench_*.py` exposes `run() -> list[dict]`; a dict has `name`, `value`, `unit`,
and optionally `baseline` (the naive way or a peer, measured in the same run), `goal` and `note`.
`python -m benchmarks events airspace` runs only those modules.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "RESULTS.md"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
    return "" if v is None else str(v)


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    sections: list[str] = []
    failed = 0
    for name in names:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        try:
            rows = importlib.import_module(f"benchmarks.bench_{name}").run()
        except Exception:
            traceback.print_exc()
            failed += 1
            sections.append(f"## {name}\n\nFAILED: see the output of `make bench`.\n")
            continue
        lines = [f"## {name}", "", "| benchmark | value | unit | baseline (same run) | goal | note |",
                 "|---|---|---|---|---|---|"]
        for r in rows:
            print(f"  {r['name']}: {_fmt(r['value'])} {r.get('unit', '')}  "
                  f"(baseline {_fmt(r.get('baseline'))}; goal {r.get('goal', '')})", flush=True)
            lines.append(f"| {r['name']} | {_fmt(r['value'])} | {r.get('unit', '')} | {_fmt(r.get('baseline'))} "
                         f"| {r.get('goal', '')} | {r.get('note', '')} |")
        lines.append(f"\n_{time.perf_counter() - t0:.0f} s_\n")
        sections.append("\n".join(lines))
    header = (
        "# Benchmark results\n\n"
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.\n"
        "Each figure sits beside its baseline measured in the same run. Timings are never asserted in tests.\n\n"
    )
    if argv and RESULTS.exists():
        # A partial run replaces only its own sections.
        old = RESULTS.read_text().split("\n## ")[1:]
        keep = {s.split("\n", 1)[0]: "## " + s for s in old}
        for s in sections:
            keep[s.split("\n", 1)[0][3:]] = s
        sections = [keep[k] for k in sorted(keep)]
    RESULTS.write_text(header + "\n".join(sections))
    print(f"wrote {RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Results are written. Skip interpreter teardown: MAVSDK's native library can crash while
    # destroying dozens of instances at exit, which would turn a finished run into a failure.
    os._exit(code)
