"""`konveyer bench`: every figure next to its reference, measured in one run on this machine.

Prints a table (metric | konveyer | reference | ratio | target | met?) and, with --json FILE, writes the
figures and their details. PostgreSQL parts run when DATABASE_URL points at PostgreSQL; each uses a
scratch database of its own (`konveyer_bench_<random>`) created and dropped by the run, never the one named.
Every comparison with a reference is interleaved in one run and reported as the median of pairwise ratios,
with CPU time per unit of work next to the rates (a shared machine moves wall time, much less CPU time).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import botpath, catalog, delivery, engine, scale, search, workers
from bench.pgdb import DEFAULT_PREFIX, postgres_url, scratch_database
from bench.report import Report, Row, machine_info, table

log = logging.getLogger(__name__)

RSS_LIMIT_MB = 300.0
SECTIONS = ("engine", "bot", "workers", "delivery", "scale", "catalog", "search")
SEARCH_P95_MS = 50.0
CATALOG_RATE = 5_000.0  # offers a second the catalogue import must reach


@dataclass(frozen=True)
class Sizes:
    engine_cases: int
    engine_warmup: int
    people: int
    rounds: int
    recipients: int
    scale_cases: int
    scale_samples: int
    fire_samples: int
    presses: int
    pairs: int = 3  # alternating throughput rounds of Konveyer and the echo bot
    think: tuple[float, float] = (5.0, 10.0)  # open loop: seconds between one person's actions
    open_actions: int = 8  # open loop: actions per person
    worker_people: int = 50  # webhook workers run
    search_products: int = 50_000  # inline search: the catalogue's size
    search_samples: int = 30  # inline search: timed runs of each query and page
    catalog_offers: int = 1_000  # products and offers in 1C's generated import.xml / offers.xml

    @classmethod
    def full(cls) -> Sizes:
        return cls(engine_cases=50, engine_warmup=3, people=200, rounds=1, recipients=1000, scale_cases=100_000,
                   scale_samples=200, fire_samples=100, presses=20, pairs=3, open_actions=8, worker_people=50,
                   catalog_offers=100_000)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(engine_cases=10, engine_warmup=1, people=20, rounds=1, recipients=50, scale_cases=2_000,
                   scale_samples=30, fire_samples=10, presses=3, pairs=2, open_actions=3, worker_people=10,
                   search_products=5_000, search_samples=10, catalog_offers=5_000)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or not math.isfinite(a) or not math.isfinite(b):
        return None
    return a / b


async def bench_engine(report: Report, sizes: Sizes, workdir: Path, pg: str | None, db_name: str) -> None:
    targets: list[tuple[str, Callable[[], Any]]] = [
        ("SQLite", lambda: _nullcontext(f"sqlite+aiosqlite:///{workdir / 'engine.sqlite3'}",
                                        f"sqlite+aiosqlite:///{workdir / 'engine-spiff.sqlite3'}"))]
    if pg:
        targets.append(("PostgreSQL", lambda: _pg_pair(pg, db_name)))
    else:
        report.skipped["engine on PostgreSQL"] = "DATABASE_URL does not point at PostgreSQL"
    details: dict[str, Any] = {}
    for label, make in targets:
        async with make() as (url, spiff_url):
            pair = await engine.run_interleaved(url, spiff_url, workdir / f"engine-data-{label}", sizes.engine_cases,
                                                sizes.engine_warmup)
        ours, theirs, ratio = pair.konveyer, pair.spiff, pair.ratio
        report.add(Row("engine", f"cases/s, state saved every step ({label})", ours.cases_per_second, "",
                       theirs.cases_per_second, ratio, "≥ 3×", math.isfinite(ratio) and ratio >= 3,
                       "interleaved case by case, ratio = median of pairs; reference: SpiffWorkflow 3 + "
                       "serialize_json + UPDATE"))
        report.add(Row("engine", f"statements per step ({label})", ours.statements_per_step, "",
                       theirs.statements_per_step, None, "≤ 4", ours.statements_per_step <= 4,
                       "before_cursor_execute count; " + ", ".join(
                           f"{k} {v}" for k, v in ours.as_dict()["statements_by_verb_per_case"].items()) + " per case"))
        report.add(Row("engine", f"CPU per step ({label})", ours.cpu_ms_per_step, "ms", theirs.cpu_ms_per_step,
                       _ratio(theirs.cpu_ms_per_step, ours.cpu_ms_per_step), "≤ 3 ms", ours.cpu_ms_per_step <= 3,
                       f"process_time of the bench process (client side; SQLite's work is in it); "
                       f"median pair CPU ratio {pair.cpu_ratio:.2f}×"))
        server_ours, server_theirs = ours.server_cpu_ms_per_step, theirs.server_cpu_ms_per_step
        if server_ours is not None:
            report.add(Row("engine", f"database CPU per step ({label} server)", server_ours, "ms", server_theirs,
                           _ratio(server_theirs, server_ours),
                           note="user+system of the scratch database's backends (/proc), read around each case; "
                                "WAL writer and checkpointer not counted"))
        details[label] = pair.as_dict()
    cases = max(50, sizes.engine_cases * 5)
    memory = engine.konveyer_in_memory(cases)
    spiff_run = engine.spiff_in_memory(cases, serialize=False)
    spiff_ser = engine.spiff_in_memory(cases, serialize=True)
    report.add(Row("engine", "cases/s in memory (no database)", memory, "", spiff_run, _ratio(memory, spiff_run),
                   note="where the time goes; reference: SpiffWorkflow without serialising"))
    details["in_memory"] = {"konveyer_cases_per_second": memory, "spiff_cases_per_second": spiff_run,
                            "spiff_with_serialize_cases_per_second": spiff_ser,
                            "spiff_final_state_bytes": engine.spiff_state_size()}
    report.details["engine"] = details


async def bench_bot_path(report: Report, sizes: Sizes, workdir: Path, pg: str | None, db_name: str) -> int:
    if pg:
        context: Any = scratch_database(pg, db_name)
    else:
        context = _single(f"sqlite+aiosqlite:///{workdir / 'bot.sqlite3'}")
    async with context as url:
        result = await botpath.run_bot_path(url, workdir, sizes.people, sizes.pairs, think=sizes.think,
                                            open_actions=sizes.open_actions)
    db = "PostgreSQL" if pg else "SQLite"
    ours, echo = result.total(result.konveyer), result.total(result.echo)
    ratio = result.ratio
    report.add(Row("bot path", f"updates/s, {sizes.people} people, closed loop ({db})", ours.updates_per_second, "",
                   echo.updates_per_second, ratio, "≥ 0.5×", math.isfinite(ratio) and ratio >= 0.5,
                   f"{sizes.pairs} alternating rounds, ratio = median of pairs; reference: bare aiogram echo bot"))
    report.add(Row("bot path", "CPU per update (bot process)", ours.cpu_ms_per_update, "ms", echo.cpu_ms_per_update,
                   _ratio(ours.cpu_ms_per_update, echo.cpu_ms_per_update), "≤ 5 ms", ours.cpu_ms_per_update <= 5,
                   "psutil user+system of the bot process over the closed-loop rounds"))
    _cpu_rows(report, ours, echo, "closed loop", db)
    by_verb = ours.as_dict()["statements_by_verb_per_update"]
    report.add(Row("bot path", "statements per update", ours.statements_per_update, "", None, None, "", None,
                   ", ".join(f"{k} {v}" for k, v in sorted(by_verb.items())) + " per update (closed loop)"))
    o, e = result.konveyer_open, result.echo_open
    lo, le = o.as_dict()["latency"], e.as_dict()["latency"]
    load = f"{sizes.people} people, one action each {sizes.think[0]:g}–{sizes.think[1]:g} s"
    for q in ("p50", "p95", "p99"):
        report.add(Row("bot path", f"{q} action → answer, open loop ({load})", lo[f"{q}_ms"], "ms", le[f"{q}_ms"],
                       _ratio(lo[f"{q}_ms"], le[f"{q}_ms"]), "< 100 ms" if q == "p99" else "",
                       lo["p99_ms"] < 100 if q == "p99" else None))
    report.add(Row("bot path", "CPU per update, open loop", o.cpu_ms_per_update, "ms", e.cpu_ms_per_update,
                   _ratio(o.cpu_ms_per_update, e.cpu_ms_per_update), note="includes the idle polling between actions"))
    _cpu_rows(report, o, e, "open loop", db)
    ls, le_ = o.stalls, e.stalls
    if ls and le_:  # how late each bot's event loop ran during its open loop (bench.botproc.Stalls)
        for key, metric, note in (
            ("max_ms", "max lag", "a 20 ms timer's lateness: every update in the process waits as long"),
            ("max_cpu_ms", "main-thread CPU in the longest lag", "near 0: the machine did not run the bot"),
            ("p99_ms", "p99 lag", ""),
            ("full_collection_max_ms", "longest full garbage collection",
             f"{ls['full_collections']:.0f} full collections (echo {le_['full_collections']:.0f})"),
        ):
            report.add(Row("bot path", f"event loop, open loop: {metric}", ls[key], "ms", le_[key],
                           _ratio(ls[key], le_[key]), note=note))
    bo, be = o.bench_collections, e.bench_collections
    if bo and be:  # the bench's own pauses, counted as the bots' latency if they were long (botpath.settled_bench_heap)
        report.add(Row("bot path", "bench process, open loop: longest own full collection", bo["full_max_ms"], "ms",
                       be["full_max_ms"], None,
                       note=f"{bo['full']:.0f} full collections (echo's run {be['full']:.0f}); the sandbox and the "
                            "people pause for it, and the bot is timed through it"))
    report.details["bot_path"] = {**result.as_dict(), "database": db}
    return result.peak_rss


def _cpu_rows(report: Report, ours: botpath.PathResult, echo: botpath.PathResult, load: str, db: str) -> None:
    """Facts beside the bot's own CPU that explain the throughput ratio: the database server's CPU per update (where
    it can be read) and the bench process's (the sandbox and the people), which share the machine's cores."""
    server = ours.server_cpu_ms_per_update
    if server is not None:
        report.add(Row("bot path", f"database CPU per update, {load} (PostgreSQL server)", server, "ms",
                       note="user+system of the scratch database's backends (/proc), WAL writer and "
                            "checkpointer not counted; the echo bot has no database"))
    report.add(Row("bot path", f"bench process CPU per update, {load} (sandbox and people)",
                   ours.bench_cpu_ms_per_update, "ms", echo.bench_cpu_ms_per_update,
                   _ratio(ours.bench_cpu_ms_per_update, echo.bench_cpu_ms_per_update),
                   note="process_time of the bench process over the same windows"))
    if server is not None or db == "SQLite":  # on SQLite the database's work is in the bot process
        whole = ours.cpu_ms_per_update + (server or 0.0) + ours.bench_cpu_ms_per_update
        theirs = echo.cpu_ms_per_update + echo.bench_cpu_ms_per_update
        report.add(Row("bot path", f"all CPU per update, {load} (bot + database + bench)", whole, "ms", theirs,
                       _ratio(whole, theirs),
                       note="with the cores saturated (closed loop) the throughput ratio is at most the inverse"))


async def bench_workers(report: Report, sizes: Sizes, workdir: Path, pg: str | None, db_name: str) -> None:
    if not pg:
        report.skipped["webhook workers"] = "needs PostgreSQL (set DATABASE_URL=postgresql+asyncpg://...)"
        return
    results = []
    for count in (1, 2):
        async with scratch_database(pg, db_name) as url:
            results.append(await workers.run_workers(url, workdir / f"workers-{count}", sizes.worker_people, count))
    for result in results:
        label = f"{result.workers} webhook worker{'s' if result.workers > 1 else ''}, {result.people} people"
        per = " + ".join(f"{c:.1f} s" for c in result.cpu_seconds)
        report.add(Row("workers", f"updates/s, {label} (PostgreSQL)", result.updates_per_second, "",
                       note=f"delivered per worker {result.delivered}"))
        report.add(Row("workers", f"CPU per update, {label}", result.cpu_ms_per_update, "ms", target="≤ 5 ms",
                       met=result.cpu_ms_per_update <= 5, note=f"CPU of the workers: {per}"))
        if result.server_cpu_ms_per_update is not None:
            report.add(Row("workers", f"database CPU per update, {label} (PostgreSQL server)",
                           result.server_cpu_ms_per_update, "ms",
                           note="user+system of the scratch database's backends (/proc)"))
        report.add(Row("workers", f"bench process CPU per update, {label} (sandbox, balancer and people)",
                       result.bench_cpu_ms_per_update, "ms", note="process_time of the bench process"))
        problems = {k: v for k, v in result.checks.items() if k.endswith("_wrong") and v}
        report.add(Row("workers", f"updates handled twice / out of order / wrong, {label}",
                       float(sum(problems.values())), "", target="0", met=result.ok,
                       note=f"{result.checks['inbox_rows']} inbox rows for {result.checks['updates_sent']} updates; "
                            + (", ".join(f"{k} {v}" for k, v in problems.items()) or "all checks passed")))
    report.details["workers"] = [r.as_dict() for r in results]


async def bench_delivery(report: Report, sizes: Sizes, workdir: Path, pg: str | None, db_name: str) -> None:
    if pg:
        context: Any = scratch_database(pg, db_name)
    else:
        context = _single(f"sqlite+aiosqlite:///{workdir / 'delivery.sqlite3'}")
    async with context as url:
        result = await delivery.run_delivery(url, workdir, sizes.recipients)
    report.add(Row("delivery", f"messages/s to {sizes.recipients} people", result.per_second, "",
                   result.limit, result.share / 100, "≥ 0.95× of 30/s", result.share >= 95,
                   "reference: Telegram's limit, enforced by the sandbox"))
    report.add(Row("delivery", "429 received", float(result.rate_limited), "", target="0",
                   met=result.rate_limited == 0))
    report.add(Row("delivery", "messages lost", float(result.lost), "", target="0", met=result.lost == 0))
    report.add(Row("delivery", "messages sent twice", float(result.twice), "", target="0", met=result.twice == 0))
    report.details["delivery"] = result.as_dict()


async def bench_scale(report: Report, sizes: Sizes, workdir: Path, pg: str | None, db_name: str) -> int:
    if not pg:
        report.skipped["scale"] = "needs PostgreSQL (set DATABASE_URL=postgresql+asyncpg://...)"
        return 0
    async with scratch_database(pg, db_name) as url:
        result = await scale.run_scale(url, workdir, sizes.scale_cases, samples=sizes.scale_samples,
                                       fire_samples=sizes.fire_samples, presses=sizes.presses)
    t = result.timings
    size = f"{result.cases:,} cases".replace(",", " ")
    for name, label, target in (("my_tasks_handler", "«my tasks», whole handler", 20.0),
                                ("my_tasks_query", "«my tasks», its query", 20.0),
                                ("my_tasks_waiting", "«my tasks» of one whose cases wait for her move", 20.0),
                                ("due_timer_ids", "claim due timers (due_timer_ids)", 20.0),
                                ("my_cases", "a shop manager's «my cases»", None),
                                ("my_cases_busy", "«my cases» of the busiest service manager", None),
                                ("my_cases_director", "«my cases» of a director told of every process", None),
                                ("fire_timer", "fire one due timer, end to end", 20.0),
                                ("task_done", "a task done (one step, its timers cancelled)", None),
                                ("digest", "director's digest query", None)):
        for q in ("p50", "p95") if name in t else ():  # no quotes waiting at a size under twenty cases
            value = t[name][f"{q}_ms"]
            report.add(Row("scale", f"{label} {q}, {size}", value, "ms",
                           target=f"< {target:.0f} ms" if target and q == "p95" else "",
                           met=(value < target) if target and q == "p95" else None))
    report.details["scale"] = result.as_dict()
    return result.bot_peak_rss


def _server_note(server: dict[str, float], name: str, n: int) -> str:
    """The database server's CPU a unit for a file, when the child could read it (PostgreSQL on this machine)."""
    return f", PostgreSQL {server[name] * 1e6 / n:.0f} µs" if name in server else ""


async def bench_catalog(report: Report, sizes: Sizes, workdir: Path, pg: str | None, db_name: str) -> int:
    """1C's catalogue: import.xml and offers.xml of N products (two price types, two warehouses) imported by a
    process of its own; wall and CPU time per file, and that process's peak RSS."""
    targets: list[tuple[str, Callable[[], Any]]] = [
        ("SQLite", lambda: _nullcontext(f"sqlite+aiosqlite:///{workdir / 'catalog.sqlite3'}"))]
    if pg:
        targets.append(("PostgreSQL", lambda: _pg_pair(pg, db_name)))
    n = sizes.catalog_offers
    details: dict[str, Any] = {}
    for label, make in targets:
        async with make() as urls:
            url = urls[0] if isinstance(urls, tuple) else urls
            result = await catalog.measure(url, workdir / "catalog", n)
        details[label] = result
        seconds, cpu = result["seconds"], result["cpu_seconds"]
        server = result.get("server_cpu_seconds", {})  # PostgreSQL's processes serving the import

        offers_rate = n / seconds["offers.xml"]
        whole = n / (seconds["import.xml"] + seconds["offers.xml"])
        report.add(Row("catalog", f"offers/s, {n:,} offers with 2 prices and 2 warehouses (offers.xml, {label})",
                       offers_rate, "", target=f"≥ {CATALOG_RATE:,.0f}", met=offers_rate >= CATALOG_RATE,
                       note=f"CPU {cpu['offers.xml'] * 1e6 / n:.0f} µs an offer in the importing process"
                            + _server_note(server, "offers.xml", n)))
        report.add(Row("catalog", f"products/s, {n:,} products (import.xml, {label})", n / seconds["import.xml"], "",
                       note=f"CPU {cpu['import.xml'] * 1e6 / n:.0f} µs a product"
                            + _server_note(server, "import.xml", n)))
        report.add(Row("catalog", f"offers/s, the whole package (import.xml + offers.xml, {label})", whole, "",
                       target=f"≥ {CATALOG_RATE:,.0f}", met=whole >= CATALOG_RATE,
                       note=f"CPU {(cpu['import.xml'] + cpu['offers.xml']) * 1e6 / n:.0f} µs an offer"
                            + (f", PostgreSQL {sum(server.values()) * 1e6 / n:.0f} µs" if server else "")))
        rss = result["peak_rss"] / 2**20
        report.add(Row("catalog", f"peak RSS of the import ({label})", rss, "MB", target=f"< {RSS_LIMIT_MB:.0f} MB",
                       met=rss < RSS_LIMIT_MB, note=f"files {sum(result['sizes'].values()) / 2**20:.0f} MB"))
    report.details["catalog"] = details
    return 0


async def bench_search(report: Report, sizes: Sizes, workdir: Path, pg: str | None, db_name: str) -> None:
    if pg:
        context: Any = scratch_database(pg, db_name)
    else:
        context = _single(f"sqlite+aiosqlite:///{workdir / 'search.sqlite3'}")
    async with context as url:
        result = await search.run_search(url, workdir, sizes.search_products, sizes.search_samples)
    db = "PostgreSQL" if pg else "SQLite"
    size = f"{result.products:,} products".replace(",", " ")
    t = result.timings
    slowest = max(result.per_query.items(), key=lambda kv: kv[1])
    for q in ("p50", "p95"):
        value = t[f"{q}_ms"]
        report.add(Row("search", f"inline search {q}, {size} ({db})", value, "ms",
                       target=f"< {SEARCH_P95_MS:.0f} ms" if q == "p95" else "",
                       met=value < SEARCH_P95_MS if q == "p95" else None,
                       note=f"Portal.search as the inline handler calls it, {len(result.per_query)} queries × "
                            f"{result.samples}; slowest p95: «{slowest[0]}» {slowest[1]:.1f} ms" if q == "p95" else ""))
    report.add(Row("search", "CPU per inline search (bench process)", t["cpu_ms_per_search"], "ms",
                   note="client side: the ORM and the driver; the database's own work is in the wall time"))
    report.details["search"] = {**result.as_dict(), "database": db}


class _nullcontext:
    def __init__(self, *values: str) -> None:
        self.values = values

    async def __aenter__(self) -> tuple[str, ...]:
        return self.values

    async def __aexit__(self, *exc: object) -> None:
        return None


class _single(_nullcontext):
    async def __aenter__(self) -> str:  # type: ignore[override]
        return self.values[0]


class _pg_pair:
    """One scratch PostgreSQL database for both engines (separate tables)."""

    def __init__(self, base: str, name: str) -> None:
        self.context = scratch_database(base, name)

    async def __aenter__(self) -> tuple[str, str]:
        url = await self.context.__aenter__()
        return url, url

    async def __aexit__(self, *exc: Any) -> None:
        await self.context.__aexit__(*exc)


async def run(sizes: Sizes, quick: bool, workdir: Path, pg: str | None = None, db_name: str = DEFAULT_PREFIX,
              sections: tuple[str, ...] = SECTIONS) -> Report:
    report = Report(quick=quick, machine=machine_info())
    report.details["sizes"] = sizes.__dict__
    report.details["errors"] = {}
    rss: dict[str, int] = {}
    steps: dict[str, Callable[[], Awaitable[Any]]] = {
        "engine": lambda: bench_engine(report, sizes, workdir, pg, db_name),
        "bot": lambda: bench_bot_path(report, sizes, workdir, pg, db_name),
        "workers": lambda: bench_workers(report, sizes, workdir, pg, db_name),
        "delivery": lambda: bench_delivery(report, sizes, workdir, pg, db_name),
        "scale": lambda: bench_scale(report, sizes, workdir, pg, db_name),
        "search": lambda: bench_search(report, sizes, workdir, pg, db_name),
        "catalog": lambda: bench_catalog(report, sizes, workdir, pg, db_name),
    }
    for name in sections:
        began = time.perf_counter()
        log.info("bench: %s ...", name)
        try:
            value = await steps[name]()
        except Exception as exc:
            log.exception("bench: %s failed", name)
            report.details["errors"][name] = f"{type(exc).__name__}: {exc}"
            continue
        if isinstance(value, int) and value:
            rss[name] = value
        report.details.setdefault("seconds", {})[name] = round(time.perf_counter() - began, 1)
    if rss:
        peak = max(rss.values()) / 2**20
        where = ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in rss.items())
        report.add(Row("scale", "peak RSS of the bot process", peak, "MB", target=f"< {RSS_LIMIT_MB:.0f} MB",
                       met=peak < RSS_LIMIT_MB, note=where))
        report.details["bot_peak_rss_mb"] = {k: round(v / 2**20, 1) for k, v in rss.items()}
    return report


def main(args: argparse.Namespace) -> int:
    quick = bool(getattr(args, "quick", False))
    sizes = Sizes.quick() if quick else Sizes.full()
    workdir = Path(tempfile.mkdtemp(prefix="konveyer-bench-"))
    for noisy in ("aiogram", "bot", "flows", "handlers", "scheduler", "sandbox", "db", "alembic", "spiff"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        only = tuple(part.strip() for part in (getattr(args, "only", "") or "").split(",") if part.strip())
        unknown = set(only) - set(SECTIONS)
        if unknown:
            print(f"unknown parts: {', '.join(sorted(unknown))} (known: {', '.join(SECTIONS)})")
            return 2
        report = asyncio.run(run(sizes, quick, workdir, postgres_url(), sections=only or SECTIONS))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(table(report))
    for section, error in report.details["errors"].items():
        print(f"FAILED {section}: {error}")
    json_path = getattr(args, "json_path", None)
    if json_path:
        report.write_json(json_path)
        print(f"figures written to {json_path}")
    return 1 if report.details["errors"] else 0
