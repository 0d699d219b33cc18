"""Webhook workers hand the update they stored straight to its handler (PostgreSQL, several workers sharing the
inbox): it is leased to the receiving worker in the INSERT itself, so no pass reads it back; the passes remain for
an update whose worker died before handling it, and for a person's update stored behind an older pending one,
which waits its turn (and is chained to the worker that handles the older one, with that one's claim)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from app.application import App
from db.models import InboxUpdate
from flows.clock import FrozenClock
from services import inbox
from tests.conftest import ADMIN_ID
from tests.inbox_harness import SECRET, answers, button, idle, inbox_rows, message, postgres_only, webhook_worker
from tgbot.middlewares import DbSessionMiddleware
from tgbot.receive import SECRET_HEADER

pytestmark = postgres_only("workers share an inbox on PostgreSQL only (on SQLite one process handles everything)")
async def _post(url: str, update: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as http, http.post(url, json=update, headers={SECRET_HEADER: SECRET}) as answer:
        assert answer.status == 200


async def _rows(app: App) -> dict[int, InboxUpdate]:
    assert app.core is not None
    return await inbox_rows(app.core)


async def _stored_elsewhere(app: App, clock: FrozenClock, update_id: int, text: str) -> None:
    """The admin's update, stored by another worker that has not handled it (nor leased it) yet."""
    assert app.core is not None
    async with app.core.db.begin() as connection:
        await inbox.store(connection, [inbox.Incoming(update_id, ADMIN_ID, message(update_id, text))], clock.now(),
                          sqlite=False)


async def _until_done(app: App, update_ids: tuple[int, ...]) -> dict[int, InboxUpdate]:
    """The rows once all of `update_ids` are done (or as they are after ten seconds)."""
    for _ in range(500):
        rows = await _rows(app)
        if all(rows[i].status == "done" for i in update_ids):
            break
        await asyncio.sleep(0.02)
    return rows


async def test_an_update_posted_to_a_worker_is_handled_by_it_without_a_pass(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with webhook_worker(tmp_path, database_url, clock) as (app, mine, url, admin):
        await _post(url, message(700001, "/start"))
        await admin.expect("администратор")  # nobody else handles updates, and this worker was given no pass
        await idle(mine)
        rows = await _rows(app)
        assert rows[700001].status == "done" and rows[700001].attempts == 0
        # The same update posted again (Telegram unsure we got it): stored once, handled once, not started again.
        await _post(url, message(700001, "/start"))
        assert not mine._busy
        assert len(await answers(admin, "администратор")) == 1


async def test_a_worker_that_died_after_storing_leaves_the_update_to_the_pass(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with webhook_worker(tmp_path, database_url, clock) as (app, mine, _url, admin):
        assert app.core is not None
        update = inbox.Incoming(700011, ADMIN_ID, message(700011, "/start"))
        async with app.core.db.begin() as connection:  # another worker stored and leased it, then died
            assert await inbox.store_leased(connection, update, clock.now())
        await mine.drain()  # its lease holds: nobody else starts it meanwhile
        assert not mine._busy and (await _rows(app))[700011].status == "pending"
        async with app.core.db.begin() as connection:  # the same, its lease run out
            await connection.execute(InboxUpdate.__table__.update().values(  # type: ignore[attr-defined]
                not_before=inbox.wall_clock() - timedelta(seconds=1)))
        await mine.drain()
        await admin.expect("администратор")
        await idle(mine)
        assert (await _rows(app))[700011].status == "done"


async def test_an_older_pending_update_of_the_person_makes_the_new_one_wait(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with webhook_worker(tmp_path, database_url, clock) as (app, mine, url, admin):
        assert app.core is not None
        await _stored_elsewhere(app, clock, 700021, "/start")  # the person's first update, at another worker
        await _post(url, message(700022, "/invite shop_manager"))
        await _post(url, message(700023, "/users"))
        assert not mine._busy, "a later update was started while the person's older one is pending"
        rows = await _rows(app)
        assert [rows[i].status for i in (700021, 700022, 700023)] == ["pending"] * 3
        assert rows[700022].not_before is None and rows[700023].not_before is None  # not leased: the passes' own
        # One pass starts the oldest; each claim leases the next, so the rest follow without another pass.
        await mine.drain()
        rows = await _until_done(app, (700021, 700022, 700023))
        assert [rows[i].status for i in (700021, 700022, 700023)] == ["done"] * 3
        # The answers in the updates' order, each waited for after the one before (the welcome also names the
        # admin, so waiting for «Админ» alone could end at the first answer, before the others were sent).
        await admin.expect("администратор")  # /start's welcome
        await admin.expect("start=")  # the invitation
        await admin.expect("Админ")  # /users' answer, the last one
        texts = [m.get("text") or "" for m in await admin.bot_messages()]
        assert json.dumps(texts).count("start=") == 1


async def _waiting_on_a_lock(app: App, statement: str) -> bool:
    """Whether a session of the database waits on a row lock in a statement starting with `statement`."""
    assert app.core is not None
    async with app.core.db.connect() as connection:
        found = await connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :statement"),
            {"statement": statement + "%"})
        return bool(found.scalar())


async def _until_a_look_waits(app: App) -> bool:
    """Whether a lease of the worker's (its look at an update stored behind, or a pass's lease) comes to wait on a lock
    held elsewhere (ten seconds)."""
    for _ in range(1000):
        if await _waiting_on_a_lock(app, "UPDATE inbox SET not_before"):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_an_update_posted_while_the_persons_older_one_is_being_claimed_starts_once_that_commits(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with webhook_worker(tmp_path, database_url, clock) as (app, mine, url, admin):
        assert app.core is not None
        await _stored_elsewhere(app, clock, 700081, "/users")
        # Another worker's handler has claimed the person's older update and not committed yet: its claim looked
        # for the person's next update before this one was stored, so it will not chain it.
        async with app.core.sessionmaker() as session, session.begin():
            assert await inbox.take(session, 700081, clock.now())
            await asyncio.wait_for(_post(url, message(700082, "/start")), 10)  # answered without waiting for it
            assert (await _rows(app))[700082].not_before is None  # stored behind the update being claimed
            assert await _until_a_look_waits(app), "nobody waits for the claim under way: it is left for a timed pass"
        # That claim committed: the update is due, leased to the worker that got it, and started — with no pass.
        await admin.expect("администратор")
        await idle(mine)
        assert (await _rows(app))[700082].status == "done"
        assert not mine._wake.is_set()


async def test_an_update_stored_behind_wakes_no_pass_when_another_persons_update_ends(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with webhook_worker(tmp_path, database_url, clock) as (app, mine, url, admin):
        assert app.core is not None
        other = ADMIN_ID + 17
        async with app.core.db.begin() as connection:  # another worker got the other person's first update
            assert await inbox.store_leased(connection, inbox.Incoming(700091, other, _from(other, 700091)),
                                            clock.now())
        await _post(url, _from(other, 700092))
        assert not mine._busy  # stored behind their first one: theirs to chain with that one's claim
        assert (await _rows(app))[700092].not_before is None
        # The admin's update is handled here and ends: it has nothing of its own behind, so no pass is woken for
        # the other person's update (a lease statement at every end, for nothing: the other worker chains it).
        await _post(url, message(700093, "/start"))
        await admin.expect("администратор")
        await idle(mine)
        assert not mine._wake.is_set(), "a pass was woken for another person's update"
        # The admin's own: stored behind their older update that a dead worker leased; the pass that takes that one
        # over chains this one with its claim, and the worker forgets it was behind.
        async with app.core.db.begin() as connection:
            assert await inbox.store_leased(connection, inbox.Incoming(700094, ADMIN_ID, message(700094, "/users")),
                                            clock.now())
            await connection.execute(InboxUpdate.__table__.update().where(  # type: ignore[attr-defined]
                InboxUpdate.update_id == 700094).values(not_before=inbox.wall_clock() - timedelta(seconds=1)))
        await _post(url, message(700095, "/start"))
        assert not mine._busy and (await _rows(app))[700095].not_before is None
        await mine.drain()
        rows = await _until_done(app, (700094, 700095))
        await idle(mine)
        assert rows[700094].status == rows[700095].status == "done"
        assert not mine._wake.is_set(), "a pass was woken for an update this worker started itself"


def _from(person: int, update_id: int) -> dict[str, Any]:
    """A message from `person` (a stranger to the bot: never handled here in these tests)."""
    update = message(update_id, "привет")
    update["message"]["from"] = {"id": person, "is_bot": False, "first_name": "Гость"}
    update["message"]["chat"] = {"id": person, "type": "private", "first_name": "Гость"}
    return update


async def test_an_update_stored_behind_a_claim_that_missed_it_is_leased_once_that_claim_commits(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with webhook_worker(tmp_path, database_url, clock) as (app, _mine, _url, _admin):
        assert app.core is not None
        first, later = (inbox.Incoming(i, ADMIN_ID, message(i, "/start")) for i in (700101, 700102))
        async with app.core.db.begin() as connection:
            await inbox.store(connection, [first], clock.now(), sqlite=False)
        async with app.core.single_statements.begin() as connection:
            assert await inbox.store_leased(connection, later, clock.now()) is False  # behind the first, unclaimed
            assert not await inbox.lease_behind(connection, later)  # the first's claim is to come, and will chain it
        # A claim of the first one that holds it when the look runs, and does not chain the later one (a plain
        # `take`, as a claim that began before the later one was stored): the look waits for it; once it commits,
        # the later one is due, and leased to the worker that stored it.
        async with app.core.sessionmaker() as session, session.begin():
            assert await inbox.take(session, 700101, clock.now())
            async with app.core.single_statements.connect() as connection:
                looked = asyncio.create_task(inbox.lease_behind(connection, later))
                for _ in range(1000):
                    if looked.done() or await _waiting_on_a_lock(app, "UPDATE inbox SET not_before"):
                        break
                    await asyncio.sleep(0.01)
                assert not looked.done(), "the look did not wait for the claim under way"
                await session.commit()
                assert await looked
                rows = await _rows(app)
                assert rows[700102].status == "pending" and rows[700102].not_before is not None
                assert not await inbox.lease_behind(connection, later)  # leased already: nobody else's to start


async def test_a_worker_stopping_leaves_the_update_it_was_looking_at_to_the_other_workers(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with webhook_worker(tmp_path, database_url, clock) as (app, mine, url, _admin):
        assert app.core is not None
        await _stored_elsewhere(app, clock, 700111, "/users")
        async with app.core.sessionmaker() as session, session.begin():
            assert await inbox.take(session, 700111, clock.now())  # another worker's claim, held (a slow handler)
            await _post(url, message(700112, "/start"))
            assert await _until_a_look_waits(app) and mine._looks, "the worker is not looking at the update behind"
            await asyncio.wait_for(mine.stop(), 30)  # a deploy: it waits a while, then gives the look up
            assert not mine._looks
            for _ in range(200):  # its statement cancelled too (the server hears of it within moments)
                if not await _waiting_on_a_lock(app, "UPDATE inbox SET not_before"):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the look's statement still waits for the claim")
            await session.rollback()
        row = (await _rows(app))[700112]
        assert row.status == "pending" and row.not_before is None  # not leased to a worker that is gone


async def test_a_refused_update_hands_the_persons_next_one_to_its_worker(
    tmp_path: Path, database_url: str, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused: list[int] = []
    real_refused = DbSessionMiddleware._refused

    async def noting_refusals(self: DbSessionMiddleware, inbox_id: int, *args: Any) -> None:
        refused.append(inbox_id)  # (the refusal itself runs as it is)
        await real_refused(self, inbox_id, *args)

    monkeypatch.setattr(DbSessionMiddleware, "_refused", noting_refusals)
    async with webhook_worker(tmp_path, database_url, clock) as (app, mine, _url, admin):
        assert app.core is not None
        # The admin's /start, then their press on the card button of a case that does not exist (refused: «This
        # case does not exist.»), then /users: all stored by another worker, none started yet.
        updates = [message(700121, "/start"), button(700122, "ad:show:999999:0:0"), message(700123, "/users")]
        async with app.core.db.begin() as connection:
            await inbox.store(connection, [inbox.Incoming(u["update_id"], ADMIN_ID, u) for u in updates],
                              clock.now(), sqlite=False)
        await mine.drain()  # the pass starts /start alone; its claim chains the button
        # The refusal's claim leases /users to this worker, which starts it once the refusal commits: no pass.
        await idle(mine)
        rows = await _rows(app)
        assert [rows[i].status for i in (700121, 700122, 700123)] == ["done"] * 3, "the next update waits for a pass"
        assert rows[700122].attempts == 0  # refused, not failed
        assert refused == [700122], "the press was not refused: the test did not reach the refusal's claim"
        await admin.expect("администратор")
        await admin.expect("Админ")  # /users' answer
        assert not mine._wake.is_set()


async def test_a_stopping_worker_leases_nothing_more(tmp_path: Path, database_url: str, clock: FrozenClock) -> None:
    async with webhook_worker(tmp_path, database_url, clock) as (app, mine, _url, _admin):
        assert app.core is not None
        await _stored_elsewhere(app, clock, 700131, "/start")
        # The worker's pass is leasing when a deploy stops the worker: its lease statement waits (the inbox held by
        # a table lock here) while `stop` runs.
        async with app.core.db.connect() as holder:
            await holder.execute(text("LOCK TABLE inbox IN SHARE MODE"))  # until the commit below
            passing = asyncio.create_task(mine.drain())
            assert await _until_a_look_waits(app), "the pass's lease does not wait"  # its UPDATE waits, as a look's
            stopping = asyncio.create_task(mine.stop())
            await asyncio.sleep(0)  # `stop` has begun
            await holder.commit()
            await asyncio.wait_for(asyncio.gather(passing, stopping), 30)
        assert not mine._busy
        row = (await _rows(app))[700131]
        assert row.status == "pending" and row.not_before is None, "leased to a worker that has stopped"
        # Nor does a pass that comes after `stop` (its loop was asking whether anything is due) lease anything.
        assert not await mine.drain()
        row = (await _rows(app))[700131]
        assert row.status == "pending" and row.not_before is None, "leased to a worker that has stopped"
