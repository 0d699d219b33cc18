"""3. Delivery: one notification to N people through the outbox, against the sandbox enforcing Telegram's
limits (30 messages/s in total, 1/s per chat, 429 with retry_after past that).

The notification is made the way the product makes it: N people hold the role `director`, a shop manager
registers a seed 1 case, and the stage «registered» notifies shop_admin and director. The real `App`
(its outbox sender with the settings' limits) delivers it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from app.application import App
from app.settings import Settings
from bench.scenario import PROCESS, START_FORM
from db.models import Outbox
from flows.status import OutboxStatus
from sandbox.server import SandboxServer
from services import people as people_repo
from services.cases import CaseService

log = logging.getLogger(__name__)

FIRST_RECIPIENT = 300_000
INITIATOR = 299_999
LIMIT = 30.0  # Telegram: messages per second in total


@dataclass
class DeliveryResult:
    recipients: int
    messages: int
    sent: int
    seconds: float
    rate_limited: int
    lost: int
    twice: int
    statuses: dict[str, int] = field(default_factory=dict)
    limit: float = LIMIT

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def share(self) -> float:
        return self.per_second / self.limit * 100

    def as_dict(self) -> dict[str, Any]:
        return {"recipients": self.recipients, "messages": self.messages, "sent": self.sent,
                "seconds": round(self.seconds, 3), "per_second": round(self.per_second, 2),
                "share_of_limit_pct": round(self.share, 1), "limit_per_second": self.limit,
                "rate_limited_429": self.rate_limited, "lost": self.lost, "sent_twice": self.twice,
                "statuses": self.statuses}


async def _create_users(http: aiohttp.ClientSession, base: str, ids: list[int]) -> None:
    semaphore = asyncio.Semaphore(50)

    async def one(user_id: int) -> None:
        async with semaphore, http.post(f"{base}/sandbox/api/users",
                                        json={"id": user_id, "first_name": f"Директор {user_id}"}) as response:
            if response.status != 200:
                raise RuntimeError(await response.text())

    await asyncio.gather(*(one(i) for i in ids))


async def run_delivery(database_url: str, workdir: Path, recipients: int,
                       timeout: float | None = None) -> DeliveryResult:
    sandbox = SandboxServer(global_rate=LIMIT, per_chat_rate=1.0)
    base = await sandbox.start()
    settings = Settings(api_base=base, database_url=database_url, data_dir=workdir / "delivery-data",
                        bot_token=None, admin_ids=[])
    app = App(settings, run_scheduler=False)
    try:
        ids = [FIRST_RECIPIENT + n for n in range(recipients)]
        async with aiohttp.ClientSession() as http:
            await _create_users(http, base, [INITIATOR, *ids])
        await app.start()
        core = app.core
        assert core is not None
        async with core.sessionmaker() as session, session.begin():
            now = core.clock.now()
            manager = await people_repo.register(session, tg_id=INITIATOR, name="Менеджер", username=None,
                                                 language="ru", now=now)
            await people_repo.grant(session, manager.id, ["shop_manager", "service_manager"])
            for tg_id in ids:
                user = await people_repo.register(session, tg_id=tg_id, name=f"Директор {tg_id}", username=None,
                                                  language="ru", now=now)
                await people_repo.grant(session, user.id, ["director"])
        await asyncio.sleep(0.5)  # let the sender settle after start
        sandbox.stats.reset()
        began = time.perf_counter()
        async with core.sessionmaker() as session, session.begin():
            service = CaseService(core, session)
            loaded = await service.start(manager, PROCESS)
            start = next(t for t in loaded.state.open_tasks())
            assert start.id is not None
            await service.submit(manager, start.id, "submit", dict(START_FORM))
        committed = datetime.now(UTC)  # the messages exist from here on; the rate is the sender's
        core.outbox_written()
        deadline = began + (timeout if timeout is not None else 60 + recipients / LIMIT * 3)
        statuses: dict[str, int] = {}
        last_sent = began
        while time.perf_counter() < deadline:
            async with core.sessionmaker() as session:
                rows = (await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))).all()
                statuses = {str(s): int(n) for s, n in rows}
            if not statuses.get(OutboxStatus.PENDING) and not statuses.get(OutboxStatus.SENDING):
                break
            await asyncio.sleep(0.1)
        async with core.sessionmaker() as session:
            expected = collections.Counter(
                int(chat) for chat, in (await session.execute(
                    select(Outbox.chat_id).where(Outbox.method.like("send%")))).all())
            last = (await session.execute(select(func.max(Outbox.sent_at)))).scalar_one()
        got = sandbox.stats.messages_per_chat
        lost = sum(max(0, n - got.get(chat, 0)) for chat, n in expected.items())
        twice = sum(max(0, got.get(chat, 0) - expected.get(chat, 0)) for chat in set(got) | set(expected))
        if last is not None:
            seconds = (last - committed).total_seconds()
        else:
            seconds = last_sent - began
        return DeliveryResult(recipients=recipients, messages=sum(expected.values()),
                              sent=sum(got.values()), seconds=max(seconds, 1e-6),
                              rate_limited=sandbox.stats.rate_limited, lost=lost, twice=twice, statuses=statuses)
    finally:
        await app.stop()
        await sandbox.stop()
