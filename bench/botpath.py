"""2. The bot path: N people work at once through the sandbox over HTTP; the same people against a bare
aiogram echo bot on the same sandbox are the ceiling. Each bot runs in its own process."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from app.container import build_core
from app.settings import Settings
from bench.chat import REGISTER_DEFECT, NoAnswer, SimPerson, echo_script, run_people
from bench.procs import BotProcess
from bench.report import latency_summary
from bench.scenario import ROLES
from sandbox.server import SandboxServer
from services import people as people_repo

log = logging.getLogger(__name__)

FIRST_PERSON = 100_000
STAFF_IDS = {role: 90_000 + n for n, role in enumerate(ROLES)}


@dataclass
class PathResult:
    kind: str
    people: int
    actions: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    peak_rss: int = 0
    sandbox: dict[str, Any] = field(default_factory=dict)

    @property
    def updates_per_second(self) -> float:
        return self.actions / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "people": self.people, "actions": self.actions,
                "seconds": round(self.seconds, 3), "updates_per_second": round(self.updates_per_second, 2),
                "latency": latency_summary(self.latencies), "peak_rss_mb": round(self.peak_rss / 2**20, 1),
                "sandbox": self.sandbox}


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


async def _measure(kind: str, persons: list[SimPerson], script: Any, rounds: int, warmup: int,
                   sandbox: SandboxServer, proc: BotProcess) -> PathResult:
    try:
        return await _measure_once(kind, persons, script, rounds, warmup, sandbox, proc)
    except NoAnswer as exc:
        raise RuntimeError(f"{kind}: {exc}; the bot's log ends with: {proc.log_tail(1500)}") from exc


async def _measure_once(kind: str, persons: list[SimPerson], script: Any, rounds: int, warmup: int,
                        sandbox: SandboxServer, proc: BotProcess) -> PathResult:
    if warmup:
        await run_people(persons[:warmup], script, 1)
    for person in persons:
        person.latencies.clear()
    sandbox.stats.reset()
    actions, seconds = await run_people(persons, script, rounds)
    latencies = [x for p in persons for x in p.latencies]
    stats = sandbox.stats.as_dict()
    stats.pop("messages_per_chat", None)
    return PathResult(kind, len(persons), actions, seconds, latencies, proc.peak_rss, stats)


async def run_bot_path(database_url: str, workdir: Path, people: int, rounds: int = 1,
                       warmup: int = 5) -> tuple[PathResult, PathResult]:
    """(konveyer, echo) for `people` people doing `rounds` times seed 1's start form in chat."""
    data_dir = workdir / "bot-data"
    await prepare_database(database_url, data_dir, people)
    # Measures how fast the bot itself serves people, next to an echo bot with its own token: Telegram's flood
    # limits would cap both at 30 msg/s and measure Telegram instead (bench/delivery.py measures those).
    sandbox = SandboxServer(callback_timeout=30.0, any_token=True, enforce_limits=False)
    base = await sandbox.start()
    try:
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
            for role, tg_id in STAFF_IDS.items():
                await SimPerson(http, base, tg_id).create(f"bench {role}")
            persons = [SimPerson(http, base, FIRST_PERSON + n) for n in range(people)]
            for person in persons:
                await person.create(f"Менеджер {person.id - FIRST_PERSON}")
            async with BotProcess("echo", "--api-base", base, log_path=workdir / "echo.log") as proc:
                echo = await _measure("echo", persons, echo_script(REGISTER_DEFECT, "Дальше"), rounds,
                                      warmup, sandbox, proc)
            echo.peak_rss = proc.peak_rss
            async with BotProcess("konveyer", "--api-base", base, "--database-url", database_url,
                                  "--data-dir", str(data_dir), log_path=workdir / "konveyer.log") as proc:
                for person in persons:
                    person.last = None
                konveyer = await _measure("konveyer", persons, REGISTER_DEFECT, rounds, warmup, sandbox, proc)
            konveyer.peak_rss = proc.peak_rss
    finally:
        await sandbox.stop()
    return konveyer, echo
