"""A smoke run of `konveyer bench` at tiny sizes, so the benchmark cannot rot.

Figures are not asserted (they depend on the machine); the run must finish, measure every part and
render its table and JSON. The scale part runs only when DATABASE_URL points at PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import roundtrips
from bench.pgdb import postgres_url, scratch_database
from bench.report import Report, Row, percentile, table
from bench.run import Sizes, run
from bench.servercpu import is_local_postgres, used

TINY = Sizes(engine_cases=3, engine_warmup=0, people=4, rounds=1, recipients=8, scale_cases=300,
             scale_samples=3, fire_samples=2, presses=1, pairs=2, think=(0.2, 0.4), open_actions=2, worker_people=3,
             search_products=300, search_samples=2)


def test_percentile_interpolates() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    assert percentile([5.0], 99) == 5.0


def test_server_cpu_counts_backends_that_came_and_leaves_other_hosts_out() -> None:
    # A backend that came during the window counts from 0, one that went as last read (it adds nothing).
    assert used({1: 2.0, 2: 5.0}, {1: 2.5, 3: 0.25}) == pytest.approx(0.75)
    assert is_local_postgres("postgresql+asyncpg://postgres@127.0.0.1:5432/x")
    assert is_local_postgres("postgresql+asyncpg://postgres@localhost/x")
    assert not is_local_postgres("postgresql+asyncpg://postgres@db.example:5432/x")
    assert not is_local_postgres("sqlite+aiosqlite:///x.sqlite3")


def test_table_shows_ratio_target_and_verdict() -> None:
    report = Report(quick=True)
    report.add(Row("engine", "cases/s", 120.0, "", 10.0, 12.0, "≥ 10×", True))
    report.skipped["scale"] = "needs PostgreSQL"
    text = table(report)
    assert "engine: cases/s" in text and "12.0×" in text and "yes" in text
    assert "skipped scale: needs PostgreSQL" in text


async def test_bench_smoke(tmp_path: Path) -> None:
    pg = postgres_url()
    report = await run(TINY, True, tmp_path, pg, db_name="konveyer_bench_smoke")
    assert report.details["errors"] == {}
    sections = {row.section for row in report.rows}
    assert {"engine", "bot path", "delivery"} <= sections
    if pg:
        assert any(row.section == "scale" and "my tasks" in row.metric for row in report.rows)
        # a task done among the generated cases: real steps ran (their times are there, each above nothing)
        assert report.details["scale"]["timings"]["task_done"]["p50_ms"] > 0
    else:
        assert "scale" in report.skipped
    engine = next(r for r in report.rows if r.section == "engine")
    assert engine.konveyer and engine.reference and engine.ratio
    # The statement counter and CPU clock saw the work: a persisted step sends statements and takes CPU.
    metrics = {r.metric.split(" (")[0]: r for r in report.rows if r.section == "engine"}
    assert metrics["statements per step"].konveyer and metrics["statements per step"].konveyer >= 1
    assert metrics["CPU per step"].konveyer and metrics["CPU per step"].konveyer > 0
    pairs = report.details["bot_path"]["throughput"]
    assert len(pairs["konveyer"]) == len(pairs["echo"]) == TINY.pairs
    assert all(r["cpu_ms_per_update"] > 0 for r in pairs["konveyer"])
    assert report.details["bot_path"]["open_loop"]["konveyer"]["actions"] == TINY.people * TINY.open_actions
    # Each bot's event loop was watched while it served the open loop (its lateness is reported with the latencies).
    for kind in ("konveyer", "echo"):
        assert report.details["bot_path"]["open_loop"][kind]["event_loop"]["samples"] > 0
    assert any(row.section == "bot path" and "event loop" in row.metric for row in report.rows)
    # Beside the bot's CPU, the database server's (PostgreSQL on this machine) and the bench process's own: figures on
    # PostgreSQL, absent (None, no row) on SQLite, where the database's work is inside the bot process.
    rows = {r.metric: r for r in report.rows}
    for load in ("closed loop", "open loop"):
        bench_row = rows[f"bench process CPU per update, {load} (sandbox and people)"]
        assert bench_row.konveyer and bench_row.konveyer > 0 and bench_row.reference and bench_row.reference > 0
        db_row = rows.get(f"database CPU per update, {load} (PostgreSQL server)")
        assert (db_row is not None and db_row.konveyer is not None and db_row.konveyer >= 0) if pg else db_row is None
    # Positive where the run is long enough for the server's 10 ms ticks (the tiny open loop may read 0).
    open_loop = report.details["bot_path"]["open_loop"]["konveyer"]
    for result in [*pairs["konveyer"], open_loop]:
        assert result["bench_cpu_ms_per_update"] > 0
        server = result["server_cpu_ms_per_update"]
        assert (server is not None and (server > 0 or result is open_loop)) if pg else server is None
    assert all(r["server_cpu_ms_per_update"] is None for r in pairs["echo"])
    engine_db = [r for r in report.rows if r.section == "engine" and r.metric.startswith("database CPU per step")]
    assert [r.metric for r in engine_db] == (["database CPU per step (PostgreSQL server)"] if pg else [])
    assert all(r.konveyer and r.konveyer > 0 and r.reference and r.reference > 0 for r in engine_db)
    assert report.details["engine"]["SQLite"]["konveyer"]["server_cpu_ms_per_step"] is None
    if pg:
        for result in report.details["workers"]:
            assert result["server_cpu_ms_per_update"] > 0 and result["bench_cpu_ms_per_update"] > 0
            assert any(r.metric.startswith(f"database CPU per update, {result['workers']} webhook worker")
                       for r in report.rows)
            assert all(v == 0 for k, v in result["checks"].items() if k.endswith("_wrong")), result["checks"]
            # Each update is started by one worker: the claims ("WITH T") add up to the updates, not twice as many.
            claims = sum(n * per.get("WITH T", 0) for n, per in
                         zip(result["delivered_per_worker"], result["statements_per_update_per_worker"], strict=True))
            assert claims <= 1.2 * result["updates"], result["statements_per_update_per_worker"]
    else:
        assert "webhook workers" in report.skipped
    assert report.details["delivery"]["sent"] >= TINY.recipients
    # Inline search: the catalogue was generated and every query timed through the portal's search.
    assert report.details["search"]["products"] == TINY.search_products
    assert any(row.section == "search" and "p95" in row.metric and row.konveyer for row in report.rows)
    out = tmp_path / "bench.json"
    report.write_json(out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["rows"] and data["quick"] is True
    assert "met?" in table(report)


@pytest.mark.skipif(postgres_url() is None, reason="the round trips of a form's answer are PostgreSQL's")
async def test_an_answers_round_trips_are_measured_doing_the_same_work_both_ways() -> None:
    """`python -m bench.roundtrips`: a form's answer in a transaction and as two self-committing statements, by
    turns; each turn handles every update once and writes each question once (else it raises), and both are timed."""
    base = postgres_url()
    assert base is not None
    async with scratch_database(base, "konveyer_roundtrips_test") as url:
        figures = await roundtrips.measure(url, answers=20, rounds=2)
    assert set(figures) == {"transaction", "self-committing"}
    assert all(len(rows) == 2 and all(row[0] > 0 and row[2] > 0 for row in rows) for rows in figures.values())
    assert "self-committing / transaction, client CPU" in roundtrips.report(figures)
