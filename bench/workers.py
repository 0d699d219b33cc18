"""3. Two bot workers in webhook mode on one PostgreSQL database, behind a round-robin balancer.

The sandbox posts every update to the balancer, which hands them to the workers in turn, as a load
balancer in front of several workers would. People fill seed 1's start form; nine of its answers are sent
as a burst without waiting, so they reach the two workers interleaved and only a per-person order makes them
land in the right fields. Checked afterwards: one inbox row per update, each handled (status done) once, each
person's updates handled in the order they were sent, every case holding exactly the answers given, and
every person told once that their case is registered. First one worker alone (the same setup), then two.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import secrets
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bench.botpath import make_people, prepare_database
from bench.chat import REGISTER_DEFECT, NoAnswer, SimPerson
from bench.procs import BotProcess
from bench.scenario import TODAY
from bench.servercpu import open_server_cpu
from db.engine import make_engine
from db.models import Case, InboxUpdate
from flows.status import InboxStatus
from sandbox.server import SandboxServer

log = logging.getLogger(__name__)

BEFORE, BURST, AFTER = REGISTER_DEFECT[:3], REGISTER_DEFECT[3:12], REGISTER_DEFECT[12:]
IDLE_SECONDS = 3.0  # the workers' idle CPU is measured this long before the people start
EXPECTED = {"brand": "Longines", "incoming_doc": "ВХ-42", "employee_name": "Иванова Марина",
            "arrival_date": TODAY}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Balancer:
    """Round-robin over the workers' webhook ports; passes the secret header and the answer through."""

    def __init__(self) -> None:
        self.targets: list[int] = []
        self.delivered: Counter[int] = Counter()
        self._turn = itertools.count()
        self.port = free_port()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._http = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        if not self.targets:
            return web.Response(status=502)
        port = self.targets[next(self._turn) % len(self.targets)]
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-telegram")}
        headers["Content-Type"] = "application/json"
        async with self._http.post(f"http://127.0.0.1:{port}/telegram", data=await request.read(),
                                   headers=headers) as response:
            body = await response.read()
            if 200 <= response.status < 300:
                self.delivered[port] += 1
            return web.Response(status=response.status, body=body, content_type=response.content_type)


@dataclass
class WorkersResult:
    workers: int
    people: int
    updates: int
    seconds: float
    cpu_seconds: list[float]  # per worker
    delivered: list[int]  # updates the balancer handed to each worker
    checks: dict[str, Any] = field(default_factory=dict)
    statements: list[dict[str, int]] = field(default_factory=list)  # per worker, by verb, over the run
    # CPU per second of each worker with nothing to do (before the people start): what a timed loop costs, paid
    # per second, not per update, so it weighs more per update the slower the run (a busy machine, fewer people).
    idle_cpu_ms_per_second: list[float] = field(default_factory=list)
    # The database server's backends over the run (bench.servercpu; None where they cannot be read) and this bench
    # process's own CPU over it (the sandbox, the balancer and the simulated people).
    server_cpu_seconds: float | None = None
    bench_cpu_seconds: float = 0.0

    @property
    def updates_per_second(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_update(self) -> float:
        return sum(self.cpu_seconds) * 1000 / self.updates if self.updates else math.nan

    @property
    def server_cpu_ms_per_update(self) -> float | None:
        if self.server_cpu_seconds is None or not self.updates:
            return None
        return self.server_cpu_seconds * 1000 / self.updates

    @property
    def bench_cpu_ms_per_update(self) -> float:
        return self.bench_cpu_seconds * 1000 / self.updates if self.updates else math.nan

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(v == 0 for k, v in self.checks.items() if k.endswith("_wrong"))

    def as_dict(self) -> dict[str, Any]:
        return {"workers": self.workers, "people": self.people, "updates": self.updates,
                "seconds": round(self.seconds, 3), "updates_per_second": round(self.updates_per_second, 2),
                "cpu_ms_per_update": round(self.cpu_ms_per_update, 3),
                "cpu_seconds_per_worker": [round(c, 3) for c in self.cpu_seconds],
                "server_cpu_ms_per_update": (None if self.server_cpu_ms_per_update is None
                                             else round(self.server_cpu_ms_per_update, 3)),
                "bench_cpu_ms_per_update": round(self.bench_cpu_ms_per_update, 3),
                "idle_cpu_ms_per_second_per_worker": [round(c, 2) for c in self.idle_cpu_ms_per_second],
                "delivered_per_worker": self.delivered, "checks": self.checks,
                # "WITH T" (the claim with the person's read) over 1 an update: updates started by two workers.
                "statements_per_update_per_worker": [
                    {k: round(v / n, 2) for k, v in sorted(counts.items())} if n else {}
                    for counts, n in zip(self.statements, self.delivered, strict=False)]}


async def _person(person: SimPerson) -> int:
    for action in BEFORE:
        await person.act(action)
    await person.burst(tuple(a.value for a in BURST), BURST[-1].expect)
    for action in AFTER:
        await person.act(action)
    return len(BEFORE) + len(BURST) + len(AFTER)


async def _check(database_url: str, sandbox: SandboxServer, persons: list[SimPerson]) -> dict[str, Any]:
    ids = {p.id for p in persons}
    db = make_engine(database_url)
    try:
        async with db.connect() as connection:
            rows = (await connection.execute(
                select(InboxUpdate.update_id, InboxUpdate.person_id, InboxUpdate.status, InboxUpdate.handled_at)
                .order_by(InboxUpdate.update_id))).all()
            cases = (await connection.execute(select(Case.initiator_id, Case.data))).all()
    finally:
        await db.dispose()
    mine = [r for r in rows if r.person_id in ids]
    out_of_order = 0
    last: dict[int, Any] = {}
    for row in mine:  # by update_id: each person's handling times must rise with it
        if row.handled_at is not None and row.person_id in last and row.handled_at < last[row.person_id]:
            out_of_order += 1
        if row.handled_at is not None:
            last[row.person_id] = row.handled_at
    wrong_data = sum(1 for _initiator, data in cases
                     if any(data.get(k) != v for k, v in EXPECTED.items()) or data.get("quantity") != 1)
    told = Counter(pid for pid in ids for text in sandbox.stats.texts_per_chat.get(pid, [])
                   if "зарегистрировано" in text)
    expected_updates = len(persons) * (len(BEFORE) + len(BURST) + len(AFTER))
    return {"inbox_rows": len(mine), "updates_sent": expected_updates,
            "inbox_rows_wrong": abs(len(mine) - expected_updates),
            "not_done_wrong": sum(1 for r in mine if r.status != InboxStatus.DONE),
            "order_wrong": out_of_order,
            "cases": len(cases), "case_data_wrong": wrong_data,
            "registered_told_wrong": sum(1 for pid in ids if told[pid] != 1)}


async def run_workers(database_url: str, workdir: Path, people: int, workers: int) -> WorkersResult:
    """`workers` webhook workers on a fresh database, `people` people filling the start form at once."""
    data_dir = workdir / "data"
    await prepare_database(database_url, data_dir, people)
    # Without flood limits: the bench measures the workers, not Telegram; the token is checked as Telegram does.
    sandbox = SandboxServer(callback_timeout=30.0, enforce_limits=False)
    base = await sandbox.start()
    balancer = Balancer()
    await balancer.start()
    secret = secrets.token_hex(16)
    procs: list[BotProcess] = []
    server = await open_server_cpu(database_url)
    try:
        for number in range(workers):
            port = free_port()
            # One at a time: each start runs the migrations, and two at once would race on them.
            proc = BotProcess("konveyer", "--api-base", base, "--database-url", database_url, "--data-dir",
                              str(data_dir), "--webhook-url", balancer.url, "--webhook-port", str(port),
                              "--webhook-secret", secret, log_path=workdir / f"worker-{number}.log")
            await proc.__aenter__()
            procs.append(proc)
            balancer.targets.append(port)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                         timeout=aiohttp.ClientTimeout(total=60)) as http:
            persons = await make_people(http, base, people)
            sandbox.stats.reset()
            idle = [p.cpu_seconds() for p in procs]
            await asyncio.sleep(IDLE_SECONDS)
            idle_ms = [(p.cpu_seconds() - c) * 1000 / IDLE_SECONDS for p, c in zip(procs, idle, strict=True)]
            before = [await p.statements() for p in procs]
            server_before = await server.read() if server is not None else None
            cpu = [p.cpu_seconds() for p in procs]
            bench_cpu = time.process_time()
            began = time.perf_counter()
            try:
                counts = await asyncio.gather(*(_person(p) for p in persons))
            except NoAnswer as exc:
                raise RuntimeError(f"{workers} workers: {exc}; " +
                                   " | ".join(p.log_tail(800) for p in procs)) from exc
            seconds = time.perf_counter() - began
            bench_used = time.process_time() - bench_cpu
            used = [p.cpu_seconds() - c for p, c in zip(procs, cpu, strict=True)]
            server_used = (await server.since(server_before)
                           if server is not None and server_before is not None else None)
            statements = [{verb: n - b.get(verb, 0) for verb, n in (await p.statements()).items()}
                          for p, b in zip(procs, before, strict=True)]
            checks = await _check(database_url, sandbox, persons)
        return WorkersResult(workers, people, sum(counts), seconds, used,
                             [balancer.delivered[p] for p in balancer.targets], checks, statements, idle_ms,
                             server_used, bench_used)
    finally:
        if server is not None:
            await server.close()
        # The sandbox first: it would keep posting the backlog to workers that are going away.
        await sandbox.stop()
        await balancer.stop()
        for proc in procs:
            await proc.stop()
