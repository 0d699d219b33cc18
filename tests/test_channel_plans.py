"""Which channels a notification goes by, per person: the kind's switches, the person's addresses (and their
organisation's contact e-mail), the fallback order when none of the switched-on channels reaches them, and the
rest of the fallback when the one that went fails for good. What a person lacks is always on the record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.container import build_core
from app.settings import Settings
from db.models import Company, Outbox, User
from services import channels
from services.channels import Channels, KindChannels
from services.core import Core
from services.sms import BadPhone

NOW = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)


@pytest.fixture
async def core(tmp_path: Path, database_url: str) -> AsyncIterator[Core]:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url))
    try:
        yield core
    finally:
        await core.close()


async def _person(session: AsyncSession, tg_id: int, name: str, **fields: object) -> User:
    user = User(tg_id=tg_id, name=name, language="ru", created_at=NOW, **fields)
    session.add(user)
    await session.flush()
    return user


async def _rows(session: AsyncSession) -> list[Outbox]:
    await session.flush()
    return list((await session.scalars(select(Outbox).order_by(Outbox.id))).all())


async def test_a_dealers_person_without_an_address_gets_the_e_mail_at_the_dealers_contact(core: Core) -> None:
    async with core.sessionmaker() as session, session.begin():
        dealer = Company(name="Сад и Парк", data={}, kind="dealer", email="office@sadpark.example",
                         created_at=NOW, updated_at=NOW)  # fmt: skip
        session.add(dealer)
        await session.flush()
        pavel = await _person(session, 501, "Павел", organisation_id=dealer.id)
        await channels.save_settings(session, KindChannels("reminder", telegram=True, email=True), NOW)
        plan = await Channels(session, NOW).plan("reminder", pavel)
        assert plan.going == [("telegram", "501"), ("email", "office@sadpark.example")] and plan.missing == []


async def test_the_fallback_is_tried_in_order_and_what_is_missing_is_recorded(core: Core) -> None:
    async with core.sessionmaker() as session, session.begin():
        await channels.save_settings(
            session, KindChannels("escalation", telegram=True, fallback=("sms", "email", "telegram")), NOW
        )
        vera = await _person(session, 502, "Вера", unreachable_at=NOW, email="vera@office.example")
        with pytest.raises(BadPhone):
            await channels.set_address(session, vera, phone="+7 916 123", email=vera.email)
        assert vera.phone is None  # a wrong number is refused, not kept half-right
        sender = Channels(session, NOW)
        plan = await sender.plan("escalation", vera)
        assert plan.going == [("email", "vera@office.example")]
        assert [channel for channel, _why in plan.missing] == ["telegram", "sms"]
        await sender.deliver(plan, {"text": "Просрочено", "task": "Оплатите счёт", "due": "", "holder": "Анна",
                                    "case_number": 7, "case_title": "ООО Ромашка"}, case_id=None)  # fmt: skip
        rows = await _rows(session)
    assert [(r.channel, r.status, r.error) for r in rows[:2]] == [
        ("telegram", "failed", "the person blocked the bot"),
        ("sms", "failed", "no phone number"),
    ]
    mail = rows[2]
    assert (mail.channel, mail.status, mail.payload["to"]) == ("email", "pending", "vera@office.example")
    assert mail.payload["subject"] == "Просрочено: Оплатите счёт (дело №7)"
    assert "notice" not in mail.payload  # nothing left to fall back to: Telegram was tried first


async def test_a_message_that_fails_for_good_moves_on_to_the_rest_of_the_fallback(core: Core) -> None:
    async with core.sessionmaker() as session, session.begin():
        await channels.save_settings(session, KindChannels("task_assigned", fallback=("sms", "email")), NOW)
        boris = await _person(session, 503, "Борис")
        await channels.set_address(session, boris, phone="8 916 765-43-21", email="boris@office.example")
        sender = Channels(session, NOW)
        plan = await sender.plan("task_assigned", boris)
        telegram = Outbox(channel="telegram", chat_id=503, method="sendMessage", payload={"text": "Задача"},
                          status="pending", attempts=0, created_at=NOW)  # fmt: skip
        session.add(telegram)
        variables = {"text": "Задача", "task": "Оплатите счёт", "due": "", "case_number": 8, "case_title": "Лютик"}
        await sender.deliver(plan, variables, case_id=8, telegram_row=telegram)
        assert telegram.payload["notice"]["fallback"] == ["sms", "email"]

        telegram.status, telegram.error = "failed", "Forbidden: bot was blocked by the user"  # as the sender writes
        await channels.after_failure(session, [telegram], NOW)
        rows = await _rows(session)
    sms = rows[-1]
    assert (sms.channel, sms.payload["to"], sms.payload["text"]) == (
        "sms",
        "+79167654321",
        "Задача «Оплатите счёт» по делу №8",
    )
    assert sms.payload["notice"]["fallback"] == ["email"]  # if the SMS fails too, the e-mail is next
