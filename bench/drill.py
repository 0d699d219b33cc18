"""The crash drill: the bot as a process of its own, killed with SIGKILL at random moments while scripted people
run seed-1 cases against `konveyer sandbox`, then restarted. At the end it counts, from the database and from
every person's chat, what a crash could have cost: answers lost or applied twice, tasks and timers lost or
doubled, messages lost or delivered twice, cases stuck. Every figure must be 0.

    konveyer drill [--kills 50] [--people 3] [--database-url postgresql+asyncpg://…] [--json FILE]

With a PostgreSQL URL (the argument or DATABASE_URL) the drill creates a scratch database of its own next to
it (never the named one) and drops it at the end; without one it uses an SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import aliased

from app.settings import SANDBOX_TOKEN
from bench.chat import REGISTER_DEFECT, Action, NoAnswer, SimPerson
from bench.pgdb import postgres_url, scratch_database
from db.models import AuditEntry, Case, InboxUpdate, Outbox, Task, Timer
from flows.status import CaseStatus, OutboxStatus, TaskStatus, TimerStatus

log = logging.getLogger(__name__)

ADMIN = 1
# How long a person waits for an answer: a restart on a loaded two-core machine can take a minute, and a person
# may meet two in a row. A longer wait is still a failure, counted as an answer lost.
ANSWER_WAIT = 300.0
# After the registration the service manager's first card is pressed «Готово» (the card changes in place), then
# the warehouse head confirms the defect with a photo.
HEAD_CONFIRMS = (
    Action("press", "Брак подтверждён", "Фото с осмотра"),
    Action("photo", "inspection.png", "Фото с осмотра"),
    Action("press", "Готово", "Проверьте"),
    Action("press", "Подтвердить", "✅"),
)


@dataclass
class DrillReport:
    kills: int = 0
    restarts: int = 0
    actions: int = 0
    answered: int = 0
    seconds: float = 0.0
    answers_lost: int = 0
    answers_applied_twice: int = 0
    tasks_doubled: int = 0
    timers_doubled: int = 0
    messages_lost: int = 0
    messages_twice: int = 0
    cases_stuck: int = 0
    cases: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not any(
            (
                self.answers_lost,
                self.answers_applied_twice,
                self.tasks_doubled,
                self.timers_doubled,
                self.messages_lost,
                self.messages_twice,
                self.cases_stuck,
            )
        )

    def lines(self) -> list[str]:
        return [
            f"kills: {self.kills} (SIGKILL at random moments), restarts: {self.restarts}, {self.seconds:.0f} s",
            f"people's actions: {self.actions}, answered: {self.answered}, cases: {self.cases}",
            f"answers lost (acknowledged or not): {self.answers_lost}",
            f"answers applied twice: {self.answers_applied_twice}",
            f"tasks lost or doubled: {self.tasks_doubled}",
            f"timers doubled: {self.timers_doubled}",
            f"messages lost: {self.messages_lost}",
            f"messages delivered twice: {self.messages_twice}",
            f"cases stuck: {self.cases_stuck}",
            *self.notes,
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A child process of ours (`konveyer sandbox`, `konveyer run`), with its output kept in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, ready: str) -> None:
        self.args, self.env, self.log_path, self.ready = args, env, log_path, ready
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 120.0) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.args, env=self.env, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise RuntimeError(f"{self.args[2:4]} exited with {self.proc.returncode}: {self.tail()}")
            with self.log_path.open("rb") as log_file:
                log_file.seek(offset)
                if self.ready.encode() in log_file.read():
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.args[2:4]} did not start in {timeout:.0f} s: {self.tail()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def wait(self) -> None:
        if self.proc is not None:
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=20)
            except TimeoutError:
                self.kill()
                await self.proc.wait()

    def tail(self, chars: int = 1500) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-chars:]


class Drill:
    def __init__(self, workdir: Path, database_url: str, *, kills: int, people: int, seed: int | None) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.kills_wanted = kills
        self.people_count = people
        self.random = random.Random(seed)
        self.report = DrillReport()
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        python = sys.executable
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.sandbox = Process(
            [python, "-m", "app.cli", "sandbox", "--port", str(self.port), "--state", str(workdir / "sandbox.json")],
            env,
            workdir / "sandbox.log",
            ready="Sandbox Bot API",
        )
        bot_env = {
            **env,
            "BOT_TOKEN": SANDBOX_TOKEN,
            "API_BASE": self.base,
            "DATABASE_URL": database_url,
            "DATA_DIR": str(workdir / "data"),
            "ADMIN_IDS": f"[{ADMIN}]",
            "SCHEDULER_INTERVAL": "1",
        }
        self.bot = Process([python, "-m", "app.cli", "run"], bot_env, workdir / "bot.log", ready="bot started")
        self.sent: Counter[int] = Counter()  # updates each person caused (messages, photos, presses)

    async def run(self) -> DrillReport:
        began = time.monotonic()
        await self.sandbox.start()
        try:
            await self.bot.start()
            async with aiohttp.ClientSession() as http:
                crew = await self._crew(http)
                stop_killing = asyncio.Event()
                killer = asyncio.create_task(self._kill_loop(stop_killing))
                try:
                    await self._work(crew)
                finally:
                    stop_killing.set()
                    await killer
                await self._quiesce()
                await self.bot.stop()
                await self._count(http, crew)
        finally:
            await self.bot.stop()
            await self.sandbox.stop()
            # Whatever happened above (a restart racing the end), no child outlives the drill.
            self.bot.kill()
            self.sandbox.kill()
        self.report.seconds = time.monotonic() - began
        return self.report

    async def _crew(self, http: aiohttp.ClientSession) -> dict[str, list[SimPerson]]:
        """The admin invites everyone the way people join (before the killing starts)."""
        admin = SimPerson(http, self.base, ADMIN, timeout=ANSWER_WAIT)
        await admin.create("Админ")
        await self._act(admin, Action("text", "/start", "Админ"))
        roles = {"shop_manager": self.people_count, "service_manager": 1, "warehouse_head": 1, "director": 1}
        crew: dict[str, list[SimPerson]] = {"admin": [admin]}
        next_id = 1000
        for role, count in roles.items():
            for _ in range(count):
                next_id += 1
                person = SimPerson(http, self.base, next_id, timeout=ANSWER_WAIT)
                await person.create(f"{role} {next_id}")
                await self._act(admin, Action("text", f"/invite {role}", "start="))
                assert admin.last is not None
                code = str(admin.last["text"]).split("start=", 1)[1].split()[0]
                await self._act(person, Action("text", f"/start {code}", f"{role} {next_id}"))
                crew.setdefault(role, []).append(person)
        return crew

    async def _act(self, person: SimPerson, action: Action) -> bool:
        self.report.actions += 1
        self.sent[person.id] += 1
        before = person.reanswered
        try:
            await person.act(action)
        except NoAnswer as error:
            self.report.notes.append(f"no answer: {error}")
            return False
        finally:
            # A question asked again after a crash is answered again: one more update the person sent.
            self.sent[person.id] += person.reanswered - before
        self.report.answered += 1
        return True

    async def _press(self, person: SimPerson, label: str) -> bool:
        """Press a button on a card that answers by changing in place (no new message to wait for)."""
        self.report.actions += 1
        self.sent[person.id] += 1
        message_id, data = person._button(label)
        async with person.http.post(
            f"{person.api}/callbacks", json={"message_id": message_id, "data": data}
        ) as response:
            if response.status != 200:
                self.report.notes.append(f"user {person.id} could not press {label!r}: {await response.text()}")
                return False
        self.report.answered += 1
        return True

    async def _work(self, crew: dict[str, list[SimPerson]]) -> None:
        """Each shop manager registers defects; the service manager and the warehouse head take them on."""
        service, head = crew["service_manager"][0], crew["warehouse_head"][0]
        staff = asyncio.Lock()  # the two of them work one card at a time, as people do
        rounds = max(1, self.kills_wanted // (4 * self.people_count) + 1)

        def more(done: int) -> bool:
            # At least `rounds`; on a loaded machine restarts are slow and fewer kills fit in them, so the people
            # go on working (up to four times as long) until the kills asked for have happened.
            return done < rounds or (self.report.kills < self.kills_wanted and done < 4 * rounds)

        async def manager(person: SimPerson) -> None:
            done = 0
            while more(done):
                done += 1
                for action in REGISTER_DEFECT:
                    if not await self._act(person, action):
                        return
                # The staff act on this case's cards, as people read which case a card is for: after a crash, a
                # fresh copy of an older case's card may come later than it and still show its buttons a moment.
                named = re.search(r"№(\d+)", str((person.last or {}).get("text") or ""))
                case = int(named.group(1)) if named else 0
                async with staff:
                    await service._wait_for("Переместите товар на склад сервиса", time.perf_counter(), case=case)
                    if not await self._press(service, "Готово"):
                        return
                    await head._wait_for("Подтвердите наличие дефекта", time.perf_counter(), case=case)
                    for action in HEAD_CONFIRMS:
                        if not await self._act(head, action):
                            return

        await asyncio.gather(*(manager(p) for p in crew["shop_manager"]))

    async def _kill_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.random.uniform(0.5, 3.0))
            if stop.is_set():
                break
            self.bot.kill()
            await self.bot.wait()
            self.report.kills += 1
            await self.bot.start()
            self.report.restarts += 1
            if self.report.kills >= self.kills_wanted:
                # Enough kills: let the people finish with a living bot.
                await stop.wait()

    async def _quiesce(self, timeout: float = 120.0) -> None:
        """Wait until nothing is left to handle or to send."""
        engine = create_async_engine(self.database_url)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                async with engine.connect() as connection:
                    inbox = (
                        await connection.execute(
                            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "pending")
                        )
                    ).scalar_one()
                    outbox = (
                        await connection.execute(
                            select(func.count())
                            .select_from(Outbox)
                            .where(Outbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
                        )
                    ).scalar_one()
                if not inbox and not outbox:
                    return
                await asyncio.sleep(0.5)
            self.report.notes.append("the bot did not settle in time")
        finally:
            await engine.dispose()

    async def _count(self, http: aiohttp.ClientSession, crew: dict[str, list[SimPerson]]) -> None:
        engine = create_async_engine(self.database_url)
        report = self.report
        try:
            async with engine.connect() as c:
                stored = Counter(
                    {
                        int(person): int(n)
                        for person, n in (
                            await c.execute(
                                select(InboxUpdate.person_id, func.count())
                                .where(InboxUpdate.status == "done")
                                .group_by(InboxUpdate.person_id)
                            )
                        ).all()
                    }
                )
                # Every action a person took is an update Telegram acknowledged to them: each must be done.
                report.answers_lost = sum(max(0, n - stored.get(pid, 0)) for pid, n in self.sent.items())
                payloads = (await c.execute(select(InboxUpdate.payload))).scalars().all()
                keys = Counter(_update_key(p) for p in payloads)
                done_twice = (
                    await c.execute(
                        select(func.count())
                        .select_from(
                            select(AuditEntry.task_id)
                            .where(AuditEntry.action == "task.done")
                            .group_by(AuditEntry.task_id)
                            .having(func.count() > 1)
                            .subquery()
                        )
                    )
                ).scalar_one()
                report.answers_applied_twice = sum(n - 1 for k, n in keys.items() if k and n > 1) + int(done_twice)
                doubled_tasks = await _groups_over_one(
                    c,
                    select(Task.case_id)
                    .where(Task.status == TaskStatus.OPEN)
                    .group_by(Task.case_id, Task.stage, Task.key, Task.visit),
                )
                doubled_timers = await _groups_over_one(
                    c,
                    select(Timer.case_id)
                    .where(Timer.status == TimerStatus.PENDING)
                    .group_by(Timer.case_id, Timer.task_id, Timer.kind, Timer.due_at),
                )
                report.tasks_doubled, report.timers_doubled = int(doubled_tasks), int(doubled_timers)
                active = (
                    await c.execute(select(Case.id, Case.attention).where(Case.status == CaseStatus.ACTIVE))
                ).all()
                report.cases = int((await c.execute(select(func.count()).select_from(Case))).scalar_one())
                open_cases = set(
                    (await c.execute(select(Task.case_id).where(Task.status == TaskStatus.OPEN))).scalars()
                )
                waiting = set(
                    (await c.execute(select(Timer.case_id).where(Timer.status == TimerStatus.PENDING))).scalars()
                )
                # A case nobody is working on, nothing is waiting for and no admin was told about.
                report.cases_stuck = sum(
                    1 for case_id, attention in active if case_id not in open_cases | waiting and not attention
                )
                rows = list(
                    (
                        await c.execute(
                            select(Outbox.chat_id, Outbox.status, Outbox.method).where(Outbox.channel == "telegram")
                        )
                    ).all()
                )
                # An edit of a card whose first send was lost goes out as a fresh message: a send too.
                lost = aliased(Outbox)
                fresh = (
                    await c.execute(
                        select(Outbox.chat_id, Outbox.status, literal("sendMessage"))
                        .join(lost, lost.id == Outbox.ref_id)
                        .where(
                            Outbox.method == "editMessageText",
                            Outbox.status == OutboxStatus.SENT,
                            lost.status.in_((OutboxStatus.UNCERTAIN, OutboxStatus.FAILED)),
                        )
                    )
                ).all()
                rows += list(fresh)
            for people in crew.values():
                for person in people:
                    await self._count_chat(http, person, rows)
        finally:
            await engine.dispose()

    async def _count_chat(self, http: aiohttp.ClientSession, person: SimPerson, rows: Any) -> None:
        """A person's chat against the outbox: every message sent once, none twice, none missing."""
        sends = [r for r in rows if r.chat_id == person.id and str(r.method).startswith("send")]
        sent = sum(1 for r in sends if r.status == OutboxStatus.SENT)
        uncertain = sum(1 for r in sends if r.status == OutboxStatus.UNCERTAIN)
        async with http.get(f"{person.api}/messages", params={"after": "0"}) as response:
            messages = (await response.json())["messages"]
        delivered = sum(1 for m in messages if m.get("from_bot"))
        if delivered < sent:
            self.report.messages_lost += sent - delivered
        if delivered > sent + uncertain:
            self.report.messages_twice += delivered - sent - uncertain
        if uncertain:
            self.report.notes.append(
                f"person {person.id}: {uncertain} message(s) of unknown fate (a kill mid-request); "
                f"{max(0, delivered - sent)} of them arrived"
            )


async def _groups_over_one(connection: Any, grouped: Any) -> int:
    """How many groups of a GROUP BY hold more than one row (a task or timer that exists twice)."""
    query = select(func.count()).select_from(grouped.having(func.count() > 1).subquery())
    return int((await connection.execute(query)).scalar_one())


def _update_key(payload: dict[str, Any]) -> str:
    """The person's own action behind an update (a message, a press): the same action stored twice is a bug."""
    message = payload.get("message") or {}
    if message:
        return f"m:{message.get('chat', {}).get('id')}:{message.get('message_id')}"
    query = payload.get("callback_query") or {}
    return f"c:{query.get('id')}" if query else ""


async def run_drill(kills: int, people: int, database_url: str | None, seed: int | None = None) -> DrillReport:
    keep = os.environ.get("KONVEYER_DRILL_KEEP")  # a folder to keep the logs and the sandbox's state in
    with tempfile.TemporaryDirectory(prefix="konveyer-drill-") as tmp:
        workdir = Path(keep) if keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        base = postgres_url(database_url)
        if base is None:
            url = f"sqlite+aiosqlite:///{workdir / 'drill.sqlite3'}"
            drill = Drill(workdir, url, kills=kills, people=people, seed=seed)
            return await drill.run()
        async with scratch_database(base, f"konveyer_drill_{secrets.token_hex(4)}") as url:
            drill = Drill(workdir, url, kills=kills, people=people, seed=seed)
            try:
                return await drill.run()
            except Exception:
                log.error("bot log:\n%s", drill.bot.tail())
                raise


def main(args: Any) -> int:
    report = asyncio.run(run_drill(args.kills, args.people, args.database_url, args.seed))
    for line in report.lines():
        print(line)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False))
    return 0 if report.clean else 1
