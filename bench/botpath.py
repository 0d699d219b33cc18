"""2. The bot path: N people work at once through the sandbox over HTTP; the same people against a bare
aiogram echo bot are the ceiling. Each bot runs in its own process with its own sandbox, both alive for the
whole run, and the rounds alternate (echo, Konveyer, Konveyer, echo, …), so the machine's noise falls on
both; the ratio is the median of the pairs. CPU per update is the bot process's own CPU time (psutil); next to it,
the database server's backends (bench.servercpu, PostgreSQL on this machine only) and this bench process's own
CPU (the sandbox and the simulated people), which share the machine's cores with the bot.

Two load models, reported apart:
- throughput: closed loop, everyone acts as soon as the previous answer arrives (what one process can do);
- latency: open loop, each person acts every 5–10 s on their own schedule (how a shop's day feels).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from app.application import SettledHeap
from app.container import build_core
from app.settings import Settings
from bench import pgdb
from bench.botproc import TOKEN as ECHO_TOKEN
from bench.chat import REGISTER_DEFECT, Action, NoAnswer, SimPerson, echo_script, run_open_loop, run_people
from bench.procs import BotProcess
from bench.report import latency_summary
from bench.scenario import ROLES
from bench.servercpu import ServerCpu, server_cpu
from sandbox.server import SandboxServer
from services import people as people_repo

log = logging.getLogger(__name__)

FIRST_PERSON = 100_000
STAFF_IDS = {role: 90_000 + n for n, role in enumerate(ROLES)}
ECHO_SCRIPT = echo_script(REGISTER_DEFECT, "Дальше")


@dataclass
class PathResult:
    kind: str
    people: int
    actions: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    peak_rss: int = 0
    sandbox: dict[str, Any] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # the bot process's CPU over the run
    statements: dict[str, int] = field(default_factory=dict)  # what the bot sent to its database, by verb
    stalls: dict[str, float] = field(default_factory=dict)  # how late its event loop ran (bench.botproc.Stalls)
    # The database server's backends over the run (bench.servercpu); None where they cannot be read (or no database).
    server_cpu_seconds: float | None = None
    # This (bench) process over the run: the sandbox and the simulated people, the same work per request for any bot.
    bench_cpu_seconds: float = 0.0
    # This (bench) process's own full collections during the run (`BenchCollections`): while one runs, no person acts
    # and no request of the bot is answered, and the wait is counted as the bot's.
    bench_collections: dict[str, float] = field(default_factory=dict)

    @property
    def statements_per_update(self) -> float:
        return self.statements.get("total", 0) / self.actions if self.actions and self.statements else math.nan

    @property
    def updates_per_second(self) -> float:
        return self.actions / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_update(self) -> float:
        return self.cpu_seconds * 1000 / self.actions if self.actions else math.nan

    @property
    def server_cpu_ms_per_update(self) -> float | None:
        if self.server_cpu_seconds is None or not self.actions:
            return None
        return self.server_cpu_seconds * 1000 / self.actions

    @property
    def bench_cpu_ms_per_update(self) -> float:
        return self.bench_cpu_seconds * 1000 / self.actions if self.actions else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "people": self.people, "actions": self.actions,
                "seconds": round(self.seconds, 3), "updates_per_second": round(self.updates_per_second, 2),
                "cpu_ms_per_update": round(self.cpu_ms_per_update, 3),
                "server_cpu_ms_per_update": _rounded(self.server_cpu_ms_per_update),
                "bench_cpu_ms_per_update": round(self.bench_cpu_ms_per_update, 3),
                "statements_per_update": round(self.statements_per_update, 2),
                "statements_by_verb_per_update": {k: round(v / self.actions, 2) for k, v in self.statements.items()
                                                  if k != "total" and self.actions},
                "latency": latency_summary(self.latencies), "peak_rss_mb": round(self.peak_rss / 2**20, 1),
                "sandbox": self.sandbox, "event_loop": {k: round(v, 2) for k, v in self.stalls.items()},
                "bench_collections": {k: round(v, 2) for k, v in self.bench_collections.items()}}


@dataclass
class BotPath:
    konveyer: list[PathResult]  # throughput rounds, paired with `echo` by index
    echo: list[PathResult]
    konveyer_open: PathResult
    echo_open: PathResult
    peak_rss: int = 0

    @property
    def ratio(self) -> float:
        ratios = [k.updates_per_second / e.updates_per_second
                  for k, e in zip(self.konveyer, self.echo, strict=True) if e.updates_per_second > 0]
        return statistics.median(ratios) if ratios else math.nan

    @staticmethod
    def total(rounds: list[PathResult]) -> PathResult:
        first = rounds[0]
        return PathResult(first.kind, first.people, sum(r.actions for r in rounds), sum(r.seconds for r in rounds),
                          [x for r in rounds for x in r.latencies], max(r.peak_rss for r in rounds), first.sandbox,
                          sum(r.cpu_seconds for r in rounds), _added([r.statements for r in rounds]),
                          max((r.stalls for r in rounds), key=lambda s: s.get("max_ms", 0.0)),
                          None if any(r.server_cpu_seconds is None for r in rounds)
                          else sum(r.server_cpu_seconds or 0.0 for r in rounds),
                          sum(r.bench_cpu_seconds for r in rounds),
                          max((r.bench_collections for r in rounds), key=lambda c: c.get("full_max_ms", 0.0)))

    def as_dict(self) -> dict[str, Any]:
        return {"throughput": {"konveyer": [r.as_dict() for r in self.konveyer],
                               "echo": [r.as_dict() for r in self.echo],
                               "median_pair_ratio": round(self.ratio, 3)},
                "open_loop": {"konveyer": self.konveyer_open.as_dict(), "echo": self.echo_open.as_dict()}}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _added(counts: list[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for one in counts:
        for verb, count in one.items():
            total[verb] = total.get(verb, 0) + count
    return total


async def prepare_database(database_url: str, data_dir: Path, people: int) -> None:
    """The staff of seed 1 and N shop managers, registered as the product registers people."""
    core = await build_core(Settings(database_url=database_url, data_dir=data_dir, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            now = core.clock.now()
            for role, tg_id in STAFF_IDS.items():
                user = await people_repo.register(session, tg_id=tg_id, name=f"bench {role}", username=None,
                                                  language="ru", now=now)
                await people_repo.grant(session, user.id, [role])
            for n in range(people):
                user = await people_repo.register(session, tg_id=FIRST_PERSON + n, name=f"Менеджер {n}",
                                                  username=None, language="ru", now=now)
                await people_repo.grant(session, user.id, ["shop_manager"])
    finally:
        await core.close()


async def make_people(http: aiohttp.ClientSession, base: str, people: int) -> list[SimPerson]:
    for role, tg_id in STAFF_IDS.items():
        await SimPerson(http, base, tg_id).create(f"bench {role}")
    persons = [SimPerson(http, base, FIRST_PERSON + n) for n in range(people)]
    for person in persons:
        await person.create(f"Менеджер {person.id - FIRST_PERSON}")
    return persons


def settle() -> None:
    """What this (bench) process holds now stays for the rest of the bot path: frozen after a collection, so no
    full collection during a measured run walks it (`settled_bench_heap`)."""
    gc.collect()
    gc.freeze()


class BenchCollections:
    """This process's full collections while it is on a gc callback: how many, and the longest (wall clock)."""

    def __init__(self) -> None:
        self.full: list[float] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.full.append(time.perf_counter() - self._began)

    def as_dict(self) -> dict[str, float]:
        return {"full": len(self.full), "full_max_ms": max(self.full, default=0.0) * 1000}


@contextlib.contextmanager
def settled_bench_heap() -> Iterator[None]:
    """While the bot path runs, this process's long-lived objects are kept out of the collector's way.

    The sandboxes and the simulated people live here and keep everything the bots were ever sent: after the closed
    rounds some 400,000 long-lived objects, which every full collection walked — 0.3–0.8 s on this machine in which
    no person acted, no request of a bot was answered and no answer was seen, all counted as the bot's latency. In
    the open loop the first one came 5–20 s in, on the people's first button presses: a tail of up to a second
    that was the bench's, not the bot's (a person's Telegram does not pause for the bot's server). So before each
    measured run what exists is frozen (`settle`, in `Side.measure`), and what settles during a run is frozen as
    the bot process freezes its own (`SettledHeap`). Undone at the end, for the parts of the bench that follow."""
    heap = SettledHeap()
    gc.callbacks.append(heap)
    try:
        yield
    finally:
        gc.callbacks.remove(heap)
        gc.unfreeze()


@dataclass
class Side:
    """One bot under test: its sandbox, its process and its people."""

    kind: str
    sandbox: SandboxServer
    proc: BotProcess
    persons: list[SimPerson]
    script: tuple[Action, ...]
    server: ServerCpu | None = None  # its database server's backends, where they can be read

    async def measure(self, run: Any) -> PathResult:
        for person in self.persons:
            person.latencies.clear()
        settle()
        self.sandbox.stats.reset()
        before = await self.proc.statements()
        await self.proc.stalls()  # a new window: the loop's lateness during this run only
        server_before = await self.server.read() if self.server is not None else None
        cpu = self.proc.cpu_seconds()
        bench_cpu = time.process_time()
        collections = BenchCollections()
        gc.callbacks.append(collections)
        try:
            actions, seconds = await run()
        except NoAnswer as exc:
            raise RuntimeError(f"{self.kind}: {exc}; the bot's log ends with: {self.proc.log_tail(1500)}") from exc
        finally:
            gc.callbacks.remove(collections)
        bench_used = time.process_time() - bench_cpu
        used = self.proc.cpu_seconds() - cpu
        server_used = (await self.server.since(server_before)
                       if self.server is not None and server_before is not None else None)
        stalls = await self.proc.stalls()
        after = await self.proc.statements()
        sent = {verb: count - before.get(verb, 0) for verb, count in after.items()}
        stats = self.sandbox.stats.as_dict()
        stats.pop("messages_per_chat", None)
        latencies = [x for p in self.persons for x in p.latencies]
        return PathResult(self.kind, len(self.persons), actions, seconds, latencies, self.proc.peak_rss, stats, used,
                          sent, stalls, server_used, bench_used, collections.as_dict())

    async def closed(self, rounds: int = 1) -> PathResult:
        return await self.measure(lambda: run_people(self.persons, self.script, rounds))

    async def open(self, think: tuple[float, float], actions: int) -> PathResult:
        return await self.measure(lambda: run_open_loop(self.persons, self.script, think, actions))


async def run_bot_path(database_url: str, workdir: Path, people: int, pairs: int = 3, warmup: int = 5,
                       think: tuple[float, float] = (5.0, 10.0), open_actions: int = 8) -> BotPath:
    """Konveyer and the echo bot, `pairs` alternating closed-loop rounds of seed 1's start form in chat, then
    the open-loop latency run of each (`open_actions` actions per person, one every `think` seconds)."""
    data_dir = workdir / "bot-data"
    await prepare_database(database_url, data_dir, people)
    # How fast the bots themselves serve people: Telegram's flood limits would cap both at 30 msg/s and measure
    # Telegram instead (bench/delivery.py measures those). Each bot has its own sandbox, which checks its token as
    # Telegram does (the echo bot's own; Konveyer without BOT_TOKEN uses the sandbox's default).
    echo_box = SandboxServer(token=ECHO_TOKEN, callback_timeout=30.0, enforce_limits=False)
    our_box = SandboxServer(callback_timeout=30.0, enforce_limits=False)
    echo_base, our_base = await echo_box.start(), await our_box.start()
    try:
        with settled_bench_heap():
            connector = aiohttp.TCPConnector(limit=0, force_close=False)
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
                echo_people = await make_people(http, echo_base, people)
                our_people = await make_people(http, our_base, people)
                async with BotProcess("echo", "--api-base", echo_base, log_path=workdir / "echo.log") as echo_proc, \
                        BotProcess("konveyer", "--api-base", our_base, "--database-url", database_url,
                                   "--data-dir", str(data_dir), log_path=workdir / "konveyer.log") as our_proc, \
                        server_cpu(database_url) as server:
                    echo = Side("echo", echo_box, echo_proc, echo_people, ECHO_SCRIPT)
                    ours = Side("konveyer", our_box, our_proc, our_people, REGISTER_DEFECT, server)
                    for side in (echo, ours):  # warm both up (imports, caches, connections) before measuring
                        if warmup:
                            await run_people(side.persons[:warmup], side.script, 1)
                    await pgdb.analyze(database_url)
                    ours_rounds: list[PathResult] = []
                    echo_rounds: list[PathResult] = []
                    for number in range(pairs):
                        if number % 2 == 0:
                            echo_rounds.append(await echo.closed())
                            ours_rounds.append(await ours.closed())
                        else:
                            ours_rounds.append(await ours.closed())
                            echo_rounds.append(await echo.closed())
                        await pgdb.analyze(database_url)  # between rounds, as autovacuum would (bench.pgdb.analyze)
                    ours_open = await ours.open(think, open_actions)
                    echo_open = await echo.open(think, open_actions)
                result = BotPath(ours_rounds, echo_rounds, ours_open, echo_open, our_proc.peak_rss)
    finally:
        await echo_box.stop()
        await our_box.stop()
    return result
