"""Webhook workers sharing one inbox: a pass leases the updates it starts, so another worker's pass does not start
them too; a lease that runs out (its worker died) lets another worker have them; `take` still decides."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services import inbox
from tests.conftest import START


def _update(update_id: int, person: int) -> inbox.Incoming:
    payload = {"update_id": update_id, "message": {"message_id": update_id, "date": 1798182000, "text": "hi",
                                                   "chat": {"id": person, "type": "private", "first_name": "P"},
                                                   "from": {"id": person, "is_bot": False, "first_name": "P"}}}
    return inbox.Incoming(update_id=update_id, person_id=person, payload=payload)


async def _lease(sessionmaker: async_sessionmaker[AsyncSession], **kwargs: object) -> list[int]:
    async with sessionmaker() as session, session.begin():
        return [due.update_id for due in await inbox.lease(await session.connection(), **kwargs)]  # type: ignore[arg-type]


async def _pending(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessionmaker() as session:
        return [due.update_id for due in await inbox.pending(session)]


async def test_a_leased_update_is_not_started_twice_and_a_lapsed_lease_frees_it(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        sqlite = (await session.connection()).dialect.name == "sqlite"
        await inbox.store(session, [_update(11, 1), _update(12, 1), _update(21, 2)], START, sqlite=sqlite)

    # A worker that died right after its pass: its lease has run out, so the updates are due again.
    assert await _lease(sessionmaker, until=inbox.wall_clock() - timedelta(seconds=1)) == [11, 21]
    # Two workers' passes at once: each update (the oldest of each person) goes to one of them.
    first, second = await asyncio.gather(_lease(sessionmaker), _lease(sessionmaker))
    assert sorted(first + second) == [11, 21]
    assert await _lease(sessionmaker) == [] and await _pending(sessionmaker) == []
    # A worker that stops gives back what it leased and did not start: due again at once.
    async with sessionmaker() as session, session.begin():
        await inbox.release(await session.connection(), [11, 21])
    assert await _pending(sessionmaker) == [11, 21]
    assert await _lease(sessionmaker) == [11, 21]

    # The worker handles person 1's first update; their next one is due (to whoever looks first), once.
    async with sessionmaker() as session, session.begin():
        assert await inbox.take(session, 11, START)
    assert await _lease(sessionmaker) == [12]
    assert await _lease(sessionmaker) == []
    # The lease is no claim: a worker still running a lapsed lease's update and one that leased it anew
    # meet in `take`, and only one of them handles it.
    async with sessionmaker() as session, session.begin():
        assert await inbox.take(session, 21, START)
    async with sessionmaker() as session, session.begin():
        assert not await inbox.take(session, 21, START)
