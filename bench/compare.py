"""Two source trees of Konveyer (say, before and after a change to persistence), run by turns in one go:

    git archive <old-commit> | tar -x -C /tmp/old
    python -m bench.compare /tmp/old . --runs 3 --cases 10 [--database-url postgresql+asyncpg://...]

Each run is a fresh process in one tree that interleaves that tree's engine with SpiffWorkflow case by case
(`bench.engine.run_interleaved`), so every run carries its own reference; the runs alternate A B B A …
Printed per tree (medians over runs): the ratio to Spiff, statements and CPU milliseconds per step; and the
new/old CPU per step taken run pair by run pair. Without --database-url it runs on SQLite files.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ONE_RUN = r'''
import asyncio, json, pathlib, sys, tempfile
from bench import engine
from bench.pgdb import scratch_database

async def main(cases, warmup, base):
    folder = pathlib.Path(tempfile.mkdtemp(prefix="konveyer-compare-"))
    if base:
        async with scratch_database(base, "konveyer_compare") as url:
            pair = await engine.run_interleaved(url, url, folder / "data", cases, warmup)
    else:
        pair = await engine.run_interleaved(f"sqlite+aiosqlite:///{folder}/k.sqlite3",
                                            f"sqlite+aiosqlite:///{folder}/s.sqlite3", folder / "data", cases, warmup)
    print(json.dumps({"ratio": pair.ratio, "cpu_ratio": pair.cpu_ratio,
                      "cases_per_second": pair.konveyer.cases_per_second,
                      "statements_per_step": pair.konveyer.statements_per_step,
                      "cpu_ms_per_step": pair.konveyer.cpu_ms_per_step,
                      "spiff_cpu_ms_per_step": pair.spiff.cpu_ms_per_step}))

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
'''
FIGURES = ("ratio", "cpu_ratio", "cases_per_second", "statements_per_step", "cpu_ms_per_step", "spiff_cpu_ms_per_step")


def run_once(tree: Path, cases: int, warmup: int, base: str) -> dict[str, float]:
    # cwd = the tree: its packages come first on sys.path, whatever is installed.
    done = subprocess.run([sys.executable, "-c", ONE_RUN, str(cases), str(warmup), base], cwd=tree,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"the run in {tree} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare")
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--database-url", default="", help="PostgreSQL server to make scratch databases on")
    args = parser.parse_args(argv)
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    results: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for number in range(args.runs):
        for name in ("old", "new") if number % 2 == 0 else ("new", "old"):
            figures = run_once(trees[name], args.cases, args.warmup, args.database_url)
            results[name].append(figures)
            print(name, {k: round(v, 3) for k, v in figures.items()}, flush=True)
    for name, runs in results.items():
        print(f"{name} (median of {len(runs)} runs):",
              {k: round(statistics.median(r[k] for r in runs), 3) for k in FIGURES})
    pairs = [n["cpu_ms_per_step"] / o["cpu_ms_per_step"] for o, n in zip(results["old"], results["new"], strict=True)]
    print("new/old CPU per step, median of run pairs:", round(statistics.median(pairs), 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
