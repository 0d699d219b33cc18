"""PostgreSQL: the outbox sender's claim and outcome writes go straight to asyncpg (db/driver.py `fetch_on`), so the
claimed rows are built from the driver's records, not SQLAlchemy's rows. They must be the very values SQLAlchemy
gives: the payload a dict, the status an `OutboxStatus`, datetimes aware in UTC, every other column alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import autocommit
from db.models import Outbox
from flows.clock import FrozenClock
from flows.status import OutboxStatus
from services.delivery.base import _Outcome
from services.delivery.queue import _CLAIM_PG, QueueMixin
from tests.table_reads import rows_read

NOW = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)
PAYLOAD = {"chat_id": 5, "text": "Привет «мир»", "reply_markup": {"inline_keyboard": [[{"text": "Да", "n": 1.5}]]},
           "none": None, "flag": True}  # fmt: skip


@pytest.fixture
async def outbox(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the claim and the outcomes go to asyncpg directly on PostgreSQL only")
    async with sessionmaker() as session, session.begin():
        for n in range(1, 5):
            await session.execute(insert(Outbox).values(
                id=n, channel="telegram", chat_id=5, method="sendMessage", payload=PAYLOAD, ref_id=None,
                case_id=7 if n % 2 else None, status=OutboxStatus.PENDING, attempts=2,
                not_before=NOW - timedelta(seconds=n), created_at=NOW - timedelta(minutes=n), error="earlier",
                external_id=None,
            ))  # fmt: skip
    yield sessionmaker


def _queue(sessionmaker: async_sessionmaker[AsyncSession]) -> QueueMixin:
    queue = QueueMixin()
    queue.sessionmaker = sessionmaker
    queue.clock = FrozenClock(NOW)
    queue.key = 1234  # type: ignore[attr-defined]
    return queue


def _columns(row: Outbox) -> dict[str, tuple[type, Any]]:
    return {c.key: (type(getattr(row, c.key)), getattr(row, c.key)) for c in Outbox.__table__.columns}


async def _through_sqlalchemy(sessionmaker: async_sessionmaker[AsyncSession], ids: list[int]) -> list[Outbox]:
    """The claim as SQLAlchemy runs it and builds its rows (rolled back)."""
    async with sessionmaker() as session:
        connection = await session.connection()
        found = (await connection.execute(_CLAIM_PG, {"ids": ids, "now": NOW, "key": 1234})).all()
        await session.rollback()
    return [Outbox(**row._mapping) for row in found]


async def test_a_claimed_row_from_the_driver_is_the_row_sqlalchemy_builds(
    outbox: async_sessionmaker[AsyncSession],
) -> None:
    expected = await _through_sqlalchemy(outbox, [1, 2])
    assert [row.id for row in expected] and isinstance(expected[0].status, OutboxStatus)
    queue = _queue(outbox)
    async with outbox() as session, session.begin():
        claimed = await queue._claim(await session.connection(), [2, 1])  # the claim begins the transaction
    assert [item.row.id for item in claimed] == [2, 1]  # in the order asked
    by_id = {row.id: row for row in expected}
    for item in claimed:
        row = item.row
        assert _columns(row) == _columns(by_id[row.id])
        assert type(row.payload) is dict and row.payload == PAYLOAD
        assert type(row.status) is OutboxStatus and row.status == OutboxStatus.SENDING
        assert row.claimed_at == NOW and row.claimed_at.tzinfo == UTC
        assert row.created_at.tzinfo == UTC and row.not_before is not None and row.not_before.tzinfo == UTC
        assert row.attempts == 3 and row.claimed_by == 1234
    async with outbox() as session:  # committed
        statuses = (await session.execute(select(Outbox.id, Outbox.status).order_by(Outbox.id))).all()
    assert [tuple(s) for s in statuses] == [(1, "sending"), (2, "sending"), (3, "pending"), (4, "pending")]


async def test_outcomes_then_claim_and_plain_outcomes_write_what_sqlalchemy_would(
    outbox: async_sessionmaker[AsyncSession],
) -> None:
    queue = _queue(outbox)
    engine = outbox.kw["bind"]
    async with outbox() as session, session.begin():
        await queue._claim(await session.connection(), [1, 2])
    expected = await _through_sqlalchemy(outbox, [3])
    sent = {"status": OutboxStatus.SENT, "error": None, "not_before": None, "attempts": 3,
            "sent_at": NOW + timedelta(seconds=1), "message_id": 2**40, "external_id": None}  # fmt: skip
    retry = {**sent, "status": OutboxStatus.PENDING, "error": "429 «retry»", "not_before": NOW + timedelta(hours=1),
             "sent_at": None, "message_id": None, "external_id": "x-1"}  # fmt: skip
    autocommitted = autocommit(engine)
    assert autocommitted is not None
    async with autocommitted.connect() as connection:
        # Each outcome answers its row's claim above (an outcome is written only onto the claim it answers).
        claimed = await queue._write_and_claim(connection, [_Outcome(1, 5, sent, claimed_at=NOW)], [3, 4])
        await queue._write_rows(connection, [_Outcome(2, 5, retry, claimed_at=NOW)])
    assert [item.row.id for item in claimed] == [3, 4]
    assert _columns(claimed[0].row) == _columns(expected[0])
    async with outbox() as session:
        rows = {row.id: row for row in (await session.execute(select(Outbox))).scalars()}
    for row_id, values in ((1, sent), (2, retry)):
        assert {name: getattr(rows[row_id], name) for name in values} == values
    assert rows[3].status == rows[4].status == OutboxStatus.SENDING


async def test_a_refused_outcome_raises_as_sqlalchemy_would(outbox: async_sessionmaker[AsyncSession]) -> None:
    """Straight to the driver, a database error still reaches the sender as SQLAlchemy's exception (db.driver)."""
    queue = _queue(outbox)
    autocommitted = autocommit(outbox.kw["bind"])
    assert autocommitted is not None
    async with outbox() as session, session.begin():
        await queue._claim(await session.connection(), [1])
    bogus = {"status": "bogus", "error": None, "not_before": None, "attempts": 1, "sent_at": None,
             "message_id": None, "external_id": None}  # fmt: skip
    async with autocommitted.connect() as connection:
        with pytest.raises(IntegrityError) as raised:
            await queue._write_rows(connection, [_Outcome(1, 5, bogus, claimed_at=NOW)])
        assert getattr(raised.value.orig, "sqlstate", None) == "23514"
        failed = {**bogus, "status": OutboxStatus.FAILED}
        await queue._write_rows(connection, [_Outcome(1, 5, failed, claimed_at=NOW)])  # the connection still usable
    async with outbox() as session:
        assert (await session.get(Outbox, 1)).status == OutboxStatus.FAILED  # type: ignore[union-attr]


async def test_a_row_put_back_for_later_since_the_pass_read_it_is_not_claimed(
    outbox: async_sessionmaker[AsyncSession],
) -> None:
    """Between a pass's read and its claim, another worker's outcome write sent the row, was told 429 and put it back
    with a later `not_before`: the claim leaves it for then, though it is pending again."""
    queue = _queue(outbox)
    async with outbox() as session, session.begin():
        await session.execute(Outbox.__table__.update().where(Outbox.id == 2).values(  # type: ignore[attr-defined]
            not_before=NOW + timedelta(seconds=30), error="429"))
    async with outbox() as session, session.begin():
        claimed = await queue._claim(await session.connection(), [1, 2])
    assert [item.row.id for item in claimed] == [1]
    async with outbox() as session:
        assert (await session.get(Outbox, 2)).status == OutboxStatus.PENDING  # type: ignore[union-attr]


async def test_an_answered_messages_outcome_reads_its_own_rows_not_every_message_ever_sent(
    outbox: async_sessionmaker[AsyncSession],
) -> None:
    """Every answer from Telegram writes its message's outcome (and claims the chat's next): with five thousand
    messages sent before, each write finds its rows by their ids. Joined on the id alone, PostgreSQL hashed the
    whole outbox for every answer (a seq scan of all the messages ever sent: 3–4 ms a write at 13,000)."""
    async with outbox() as session, session.begin():
        await session.execute(text(
            "INSERT INTO outbox (id, channel, chat_id, method, payload, status, attempts, created_at, sent_at) "
            "SELECT 100 + g, 'telegram', 1000 + g % 500, 'sendMessage', CAST('{\"text\": \"earlier\"}' AS jsonb), "
            "'sent', 1, now(), now() FROM generate_series(1, 5000) AS g"))  # fmt: skip
    async with outbox() as session:  # statistics the planner believes: committed, of the grown table
        await (await session.connection()).exec_driver_sql("ANALYZE outbox")
        await session.commit()
    queue = _queue(outbox)
    async with outbox() as session, session.begin():
        await queue._claim(await session.connection(), [1, 2])
    sent = {"status": OutboxStatus.SENT, "error": None, "not_before": None, "attempts": 3,
            "sent_at": NOW + timedelta(seconds=1), "message_id": 77, "external_id": None}  # fmt: skip
    async with outbox() as session, session.begin():
        connection = await session.connection()
        before = await rows_read(session, "outbox")
        await queue._write_rows(connection, [_Outcome(1, 5, sent, claimed_at=NOW)])
        claimed = await queue._write_and_claim(connection, [_Outcome(2, 5, sent, claimed_at=NOW)], [3])
        read = await rows_read(session, "outbox") - before
    assert [item.row.id for item in claimed] == [3]
    assert read < 50, f"two outcome writes read {read} rows of the outbox"
    async with outbox() as session:
        statuses = (await session.execute(select(Outbox.id, Outbox.status).where(Outbox.id <= 4).order_by(Outbox.id)))
        assert [tuple(s) for s in statuses] == [(1, "sent"), (2, "sent"), (3, "sending"), (4, "pending")]
