"""SMS through the outbox and SMS.ru's API (a local server that speaks it): each message goes once to the
normalised number; the gateway down or answering «220» delays messages but loses and doubles none; an answer
that never came marks the message uncertain instead of sending it again; refusals fail with SMS.ru's words;
delivery reports come back by the callback and, when it is lost, by status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from aiohttp import web
from sqlalchemy import select, update

from app.container import build_core
from app.settings import Settings
from db.models import Outbox
from integrations.sms import SmsRu, callback_app
from services import sms
from services.core import Core
from services.delivery import OutboxSender
from tests.smsru import SmsRuServer

API_ID = "A1B2C3D4-0000-1111-2222-333344445555"
NOW = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)


def test_phone_numbers_are_read_as_people_write_them() -> None:
    assert sms.normalise_phone("8 (916) 123-45-67") == "+79161234567"
    assert sms.normalise_phone("+7 495 120-81-15") == "+74951208115"
    assert sms.normalise_phone("9161234567") == "+79161234567"
    for wrong in ("12345", "телефон", "+7 916 123"):
        with pytest.raises(sms.BadPhone):
            sms.normalise_phone(wrong)


@pytest.fixture
async def gateway() -> AsyncIterator[SmsRuServer]:
    server = SmsRuServer(API_ID)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def core(tmp_path: Path, database_url: str) -> AsyncIterator[Core]:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url))
    try:
        yield core
    finally:
        await core.close()


async def _queue(core: Core, *texts: str, phone: str = "+79161234567") -> list[int]:
    async with core.sessionmaker() as session, session.begin():
        rows = [sms.enqueue(session, phone, text, NOW, case_id=None, extra={}) for text in texts]
        await session.flush()
        return [row.id for row in rows]


async def _rows(core: Core) -> list[Outbox]:
    async with core.sessionmaker() as session:
        return list((await session.scalars(select(Outbox).where(Outbox.channel == "sms").order_by(Outbox.id))).all())


class Sending:
    """The outbox sender running against the gateway, as in production (with short pauses between retries)."""

    def __init__(self, core: Core, gateway: SmsRuServer, *, timeout: float = 5.0, api_id: str = API_ID) -> None:
        self.bot = Bot("42:no-telegram-in-these-tests")  # no Telegram message is queued here
        adapter = SmsRu(api_id, sender="Konveyer", base_url=gateway.url, timeout=timeout)
        self.sender = OutboxSender(
            self.bot, core.sessionmaker, core.files, sms=adapter, sms_retry_base=0.05, poll_interval=0.02
        )
        self.core = core

    async def __aenter__(self) -> OutboxSender:
        self.task = asyncio.create_task(self.sender.run())
        return self.sender

    async def __aexit__(self, *_exc: object) -> None:
        self.sender.stop()
        await self.task
        await self.bot.session.close()

    async def settled(self, timeout: float = 20.0) -> list[Outbox]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await _rows(self.core)
            if all(row.status not in ("pending", "sending") for row in rows):
                return rows
            assert asyncio.get_running_loop().time() < deadline, [(r.id, r.status, r.error) for r in rows]
            await asyncio.sleep(0.02)


async def test_an_sms_goes_once_to_the_number_and_its_delivery_report_comes_back(
    core: Core, gateway: SmsRuServer
) -> None:
    await _queue(core, "Задача «Оплатите счёт» по делу №7")
    sending = Sending(core, gateway)
    async with sending:
        (row,) = await sending.settled()
    assert row.status == "sent" and row.external_id == gateway.sent[0].sms_id
    assert [(s.to, s.text, s.sender) for s in gateway.sent] == [
        ("79161234567", "Задача «Оплатите счёт» по делу №7", "Konveyer")
    ]

    # SMS.ru posts the report to our callback, which answers «100» as SMS.ru asks.
    async def record(reports: list[sms.SmsReport]) -> int:
        async with core.sessionmaker() as session, session.begin():
            return await sms.record_reports(session, reports)

    runner = web.AppRunner(callback_app(SmsRu(API_ID), record, "callback-token-0123456789"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        base = f"http://127.0.0.1:{port}/sms/smsru"
        assert await gateway.report(f"{base}/callback-token-0123456789", (row.external_id or "", 103)) == "100"
        assert "404" in await gateway.report(f"{base}/a-guessed-token", (row.external_id or "", 104))
    finally:
        await runner.cleanup()
    (row,) = await _rows(core)
    assert row.report == "103 delivered"  # the guessed token's «not delivered» changed nothing


async def test_a_lost_report_is_asked_for_by_status(core: Core, gateway: SmsRuServer) -> None:
    await _queue(core, "Напоминание")
    sending = Sending(core, gateway)
    async with sending as sender:
        (row,) = await sending.settled()
        assert row.report is None
        gateway.status_of[row.external_id or ""] = 104  # the callback never came; SMS.ru knows it expired
        async with core.sessionmaker() as session, session.begin():  # sent a while ago
            await session.execute(update(Outbox).values(sent_at=datetime.now(UTC) - timedelta(minutes=30)))
        assert await sender.poll_sms_reports() == 1
    (row,) = await _rows(core)
    assert row.report == "104 expired"


async def test_a_gateway_outage_delays_but_loses_and_doubles_nothing(core: Core, gateway: SmsRuServer) -> None:
    await gateway.stop()  # down: connections refused
    texts = [f"Сообщение {n}" for n in range(5)]
    await _queue(core, *texts[:3])
    await _queue(core, *texts[3:], phone="+74951208115")
    sending = Sending(core, gateway)
    async with sending:
        # Each number's first message is tried and put back to wait (not dropped); the rest wait behind it. Read
        # between two tries: a busy machine may catch one in flight (`sending`), so look again until it is back.
        for _ in range(200):
            waiting = await _rows(core)
            firsts = [waiting[0], waiting[3]]
            if all(row.status == "pending" for row in waiting) and all(row.attempts >= 1 for row in firsts):
                break
            await asyncio.sleep(0.05)
        assert all(row.status == "pending" for row in waiting)  # waiting, not dropped
        assert all(row.attempts >= 1 and "unreachable" in (row.error or "") for row in firsts)
        assert all(row.attempts == 0 for row in waiting if row not in firsts)  # never sent ahead of the first
        gateway.outage = 4  # back, but «220: service unavailable» for a while
        await gateway.start()
        rows = await sending.settled()
    assert [row.status for row in rows] == ["sent"] * 5
    assert gateway.requests >= 5 + 4
    # Every message once, and one number's messages in the order they were written.
    assert sorted(s.text for s in gateway.sent) == sorted(texts)
    assert [s.text for s in gateway.sent if s.to == "79161234567"] == texts[:3]
    assert len({row.external_id for row in rows}) == 5


async def test_an_answer_that_never_came_is_not_sent_again(core: Core, gateway: SmsRuServer) -> None:
    gateway.late = 1.0  # SMS.ru takes the message and answers after we stopped waiting
    await _queue(core, "Просрочено: «Оплатите счёт»")
    sending = Sending(core, gateway, timeout=0.3)
    async with sending:
        (row,) = await sending.settled()
        await asyncio.sleep(0.3)  # more passes of the sender: nothing goes again
    assert row.status == "uncertain" and "no answer" in (row.error or "")
    assert len(gateway.sent) == 1 and gateway.requests == 1


async def test_refusals_fail_with_the_gateways_words(core: Core, gateway: SmsRuServer) -> None:
    gateway.no_sms.add("79161234567")
    await _queue(core, "Номер без SMS")
    sending = Sending(core, gateway)
    async with sending:
        (row,) = await sending.settled()
    assert row.status == "failed" and (row.error or "").startswith("SMS.ru 207")

    await _queue(core, "Чужой api_id")
    sending = Sending(core, gateway, api_id="wrong")
    async with sending:
        rows = await sending.settled()
    assert rows[-1].status == "failed" and (rows[-1].error or "").startswith("SMS.ru 200")
    assert gateway.sent == []
