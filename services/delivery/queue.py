"""The outbox as the sender reads and writes it: what waits and which chats are busy (one statement), the claim
(pending -> sending, one `UPDATE … RETURNING`) with the rows its requests need, and the outcomes (on PostgreSQL one
statement, its rows as one JSON parameter; on SQLite one executemany; on PostgreSQL, plain outcomes that claim their
chats' next rows are one statement with that claim).
Core statements built once: the ORM's loading and unit of work cost more than the rest of a pass. On PostgreSQL the
claim, the outcomes and the two together go straight to the driver (`db.driver.fetch_on`, compiled once per process),
as the pass's lock and queue read do: SQLAlchemy's execution path around them (compile-cache lookup, execution
context, result processing) cost more client CPU than the statements; the claimed rows' values go through the
columns' own result processing (`_values`), so they are what SQLAlchemy would give. SQLite runs them through
SQLAlchemy, as before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Integer,
    Table,
    Text,
    TextualSelect,
    Update,
    and_,
    any_,
    bindparam,
    column,
    exists,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db import driver
from db.driver import result_processors
from db.models import Outbox, StoredFile, TaskCard, User, status_is
from db.recordset import rows_json
from flows.status import OutboxStatus, transition
from services.delivery.base import SenderBase, _Claimed, _Outcome
from services.files import NOT_RENDERED
from services.outbox import file_ids


class QueueMixin(SenderBase):
    async def _claim(self, connection: AsyncConnection, ids: list[int]) -> list[_Claimed]:
        """pending -> sending for `ids` in one statement; a row another worker took first is not returned."""
        # Core statements built once, on a connection (the pass's transaction, or an outcome's write that claims a
        # chat's next row): the ORM's bulk UPDATE … RETURNING cost more than the rest of the pass. The rows come back
        # as plain `Outbox` objects outside any session (nothing loads or flushes them; they carry the claimed
        # values to the request and its outcome).
        params = {"ids": ids, "now": self.clock.now(), "key": self.key}
        if connection.dialect.name == "postgresql":
            found = await driver.fetch_on(connection, _CLAIM_PG, params)
            return await self._claimed(connection, ids, _values(connection, found))
        result = await connection.execute(_CLAIM_SQLITE, params)
        return await self._claimed(connection, ids, [dict(row._mapping) for row in result.all()])

    async def _write_and_claim(
        self, connection: AsyncConnection, outcomes: list[_Outcome], ids: list[int]
    ) -> list[_Claimed]:
        """PostgreSQL, plain outcomes only: their rows' columns (`_write_rows`) and the claim of `ids` (`_claim`) as
        one statement — a data-modifying CTE writes the outcomes, the statement's own UPDATE claims. Atomic as one
        (autocommit: no BEGIN and COMMIT around it); a row another worker took first is not returned, as in
        `_claim`, and no row is both written and claimed (the claim skips the CTE's rows)."""
        params = {"outcomes": rows_json(_outcome_rows(outcomes)), "ids": ids, "now": self.clock.now(), "key": self.key}
        found = await driver.fetch_on(connection, _OUTCOMES_THEN_CLAIM, params)
        return await self._claimed(connection, ids, _values(connection, found))

    async def _claim_handed(
        self, connection: AsyncConnection, chats: list[int]
    ) -> tuple[list[_Claimed], dict[int, list[tuple[int, datetime | None, str]]]]:
        """The first waiting row of each of `chats`, pending -> sending, where it is the chat's turn (`_HANDED_PG`):
        the rows claimed, and for each of their chats with more rows waiting, those rows in order (id, not_before,
        channel; for the claimed message's answer to claim the next, as after a pass)."""
        params = {"chats": chats, "now": self.clock.now(), "key": self.key}
        if connection.dialect.name == "postgresql":
            found = [tuple(record) for record in await driver.fetch_on(connection, _HANDED_PG, params)]
            values = _values(connection, [record[:-1] for record in found])
            # Asked only when a claimed row said rows of its chat wait behind it (an answer of two messages).
            crowded = [row["chat_id"] for row, record in zip(values, found, strict=True) if record[-1]]
        else:
            values = [dict(row._mapping) for row in (await connection.execute(_HANDED_SQLITE, params)).all()]
            # SQLite's RETURNING names its columns unqualified, which a subquery of the same table would misread;
            # the claimed chats' waiting rows are asked apart (in the process: no round trip).
            crowded = [row["chat_id"] for row in values]
        behind: dict[int, list[tuple[int, datetime | None, str]]] = {}
        if crowded:
            for row_id, chat_id, not_before, channel in await connection.execute(_WAITING_IN, {"chats": crowded}):
                behind.setdefault(chat_id, []).append((row_id, not_before, channel))
        return await self._claimed(connection, sorted(row["id"] for row in values), values), behind

    async def _claimed(
        self, connection: AsyncConnection, ids: list[int], found: Sequence[Mapping[str, Any]]
    ) -> list[_Claimed]:
        """The claimed rows (`found`: each one's columns, as `UPDATE … RETURNING` gave them) in `ids`' order, with
        what their requests need: the message an edit edits, the stored files sent."""
        rows = {values["id"]: Outbox(**values) for values in found}
        ref_ids = [row.ref_id for row in rows.values() if row.ref_id]
        refs = (
            {r.id: Outbox(**r._mapping) for r in (await connection.execute(_REFS, {"ids": ref_ids})).all()}
            if ref_ids
            else {}
        )
        wanted = list({f for row in rows.values() for f in file_ids(row.payload) if isinstance(f, int)})
        files = (
            {f.id: StoredFile(**f._mapping) for f in (await connection.execute(_FILES, {"ids": wanted})).all()}
            if wanted
            else {}
        )
        claimed = []
        for row_id in ids:  # in the outbox's order
            row = rows.get(row_id)
            if row is None:
                continue
            file_ref = row.payload.get("file_id")
            album = [files[f] for f in file_ids(row.payload) if f in files] if row.method == "sendMediaGroup" else []
            claimed.append(
                _Claimed(
                    row,
                    refs.get(row.ref_id) if row.ref_id else None,
                    files.get(file_ref) if isinstance(file_ref, int) else None,
                    album,
                )
            )
        return claimed

    async def _write_outcomes(self, session: AsyncSession, outcomes: list[_Outcome]) -> None:
        if not outcomes:
            return
        written = await self._write_rows(await session.connection(), outcomes)
        if written is not None:
            # What an outcome does beyond its row (a person marked, a fallback notice, a card re-pointed) follows its
            # row: an outcome fenced off (written already, its acknowledgement lost; or its row swept meanwhile)
            # must not do it again.
            outcomes = [o for o in outcomes if o.row_id in written]
        blocked = {o.chat_id for o in outcomes if o.blocked}
        if blocked:
            # Telegram: 403 «bot was blocked by the user». Marked for the admins (the update about it, when it
            # comes, also returns the person's pool tasks).
            await session.execute(
                update(User)
                .where(User.tg_id.in_(blocked), User.unreachable_at.is_(None))
                .values(unreachable_at=self.clock.now())
            )
        lost = {o.chat_id for o in outcomes if o.question_lost}
        if lost:
            await session.execute(
                update(User).where(User.tg_id.in_(lost)).values(question_lost_at=self.clock.now())
            )
        undelivered = [o.undelivered for o in outcomes if o.undelivered is not None]
        if undelivered and self.on_failed is not None:
            await self.on_failed(session, undelivered)
        for o in outcomes:
            if o.replaces is not None:
                # Later edits of the card go to the fresh message.
                await session.execute(
                    update(TaskCard).where(TaskCard.outbox_id == o.replaces).values(outbox_id=o.row_id)
                )
            if o.rendered is not None:
                file_id, path, size = o.rendered
                await session.execute(
                    update(StoredFile)
                    .where(StoredFile.id == file_id, StoredFile.path == NOT_RENDERED)
                    .values(path=path, size=size)
                )
            for stored_id, tg_file_id in o.learned:
                await session.execute(
                    update(StoredFile)
                    .where(StoredFile.id == stored_id, StoredFile.tg_file_id.is_(None))
                    .values(tg_file_id=tg_file_id)
                )


    async def _write_rows(self, connection: AsyncConnection, outcomes: list[_Outcome]) -> set[int] | None:
        """The outcomes' own columns: on PostgreSQL one statement (`_OUTCOMES`, the rows as one JSON parameter,
        straight to the driver), on SQLite one executemany (UPDATE by primary key); every row carries the same
        columns. Each status came through transition() from `sending`, the status of the row this sender claimed;
        a row no longer under the claim its outcome answers is skipped (the fence). Statements built once: nothing
        here for the ORM to track. Returns the ids written (PostgreSQL; SQLite: None, all of them)."""
        if connection.dialect.name == "postgresql":
            found = await driver.fetch_on(connection, _OUTCOMES, {"outcomes": rows_json(_outcome_rows(outcomes))})
            return {int(record[0]) for record in found}
        await connection.execute(_OUTCOME, [{"row_id": o.row_id, "fence": o.claimed_at,
                                             **{f"v_{k}": v for k, v in o.values.items()}}
                                            for o in outcomes])  # fmt: skip
        return None  # SQLite: one process, whose writes' acknowledgements are not lost


def _queue() -> CompoundSelect:
    """The first thousand pending rows (id order restored by the caller) and, after them, every chat with a row
    being sent (here or by another worker)."""
    # The waiting rows through their own partial index, already in id order (`ix_outbox_waiting`, whose condition
    # the written-in status matches): through the primary key PostgreSQL walked every message ever sent whenever its
    # statistics, or a generic plan's guess for a bound status, promised many waiting (5.5–7.9 ms a pass in the bot
    # bench's open loop, 0.5 ms otherwise).
    waiting = (
        select(Outbox.id, Outbox.chat_id, Outbox.not_before, Outbox.channel, literal(True).label("waiting"))
        .where(status_is(Outbox.status, OutboxStatus.PENDING))
        .order_by(Outbox.id)
        .limit(1000)
        .subquery()
    )
    sending = (
        select(
            literal(None, Integer).label("id"),
            Outbox.chat_id,
            literal(None, Outbox.not_before.type).label("not_before"),
            literal(None, Outbox.channel.type).label("channel"),
            literal(False).label("waiting"),
        )
        .where(status_is(Outbox.status, OutboxStatus.SENDING))
        .distinct()
    )
    return union_all(select(waiting), sending)


_QUEUE = _queue()

# A sent (or failed, or postponed) row's outcome: the columns `OutboxSender._outcome` sets, by primary key.
_OUTCOME_COLUMNS = ("status", "error", "not_before", "attempts", "sent_at", "message_id", "external_id")
_OUTBOX: Table = Outbox.__table__  # type: ignore[assignment]
# An outcome is written only onto the claim it answers: the row still `sending`, under the same `claimed_at`. A write
# whose acknowledgement was lost is written again (the sender keeps its outcomes until a write succeeds); meanwhile a
# 429's «pending again» may have let another claim take the row and send it, and the replay must not put it back.


def _outcome_rows(outcomes: list[_Outcome]) -> list[dict[str, Any]]:
    """PostgreSQL: the outcomes as `_OUTCOMES`' JSON rows — id, the columns written, the claim they answer."""
    return [{"id": o.row_id, **o.values, "claimed_at": o.claimed_at} for o in outcomes]


# SQLite: one executemany of this.
_OUTCOME = (
    update(_OUTBOX)
    .where(
        _OUTBOX.c.id == bindparam("row_id", type_=Integer),
        status_is(_OUTBOX.c.status, OutboxStatus.SENDING),
        _OUTBOX.c.claimed_at.is_not_distinct_from(bindparam("fence", type_=_OUTBOX.c.claimed_at.type)),
    )
    .values({name: bindparam(f"v_{name}", type_=_OUTBOX.c[name].type) for name in _OUTCOME_COLUMNS})
)
# PostgreSQL: every outcome in one statement, from one JSON parameter typed by the outbox's own columns
# (`json_populate_recordset`); by itself, or as the CTE of `_OUTCOMES_THEN_CLAIM`.
# The rows are found by their ids as an array (`= ANY(ARRAY(…))`, evaluated once), through the primary key: joined
# on `outbox.id = r.id` alone, the planner took the function for a hundred rows and hashed the whole outbox instead
# (a seq scan of every message ever sent, on each answer, up to the size where an index scan of a hundred rows
# costs less: 3–4 ms a write at 13,000 rows in the bot bench).
_OUTCOMES: TextualSelect = (
    text(
        "UPDATE outbox SET " + ", ".join(f'{name} = r."{name}"' for name in _OUTCOME_COLUMNS) + " "
        "FROM json_populate_recordset(NULL::outbox, CAST(:outcomes AS json)) AS r "
        "WHERE outbox.id = ANY(ARRAY(SELECT CAST(e ->> 'id' AS integer) "
        "FROM json_array_elements(CAST(:outcomes AS json)) AS e)) AND outbox.id = r.id "
        "AND outbox.status = 'sending' AND outbox.claimed_at IS NOT DISTINCT FROM r.claimed_at RETURNING outbox.id"
    )
    .bindparams(bindparam("outcomes", type_=Text()))
    .columns(column("id", Integer()))
)


def _claim_of(ids: ColumnElement[bool]) -> Update:
    """pending -> sending for the rows `ids` picks and still due; a row another worker took first is not returned.

    Due is checked here too, not only by the pass that read the queue: between that read and this claim another
    worker's outcome write may have claimed the row, sent it, been told 429 and put it back for later (`flush`
    takes no passes' lock). PostgreSQL re-checks both conditions on a row changed meanwhile."""
    now = bindparam("now", type_=_OUTBOX.c.claimed_at.type)
    return (
        update(_OUTBOX)
        .where(ids, status_is(_OUTBOX.c.status, OutboxStatus.PENDING),
               or_(_OUTBOX.c.not_before.is_(None), _OUTBOX.c.not_before <= now))
        .values(
            status=transition(OutboxStatus.PENDING, OutboxStatus.SENDING),
            attempts=_OUTBOX.c.attempts + 1,
            claimed_at=now,
            claimed_by=bindparam("key", type_=_OUTBOX.c.claimed_by.type),
        )
        .returning(*_OUTBOX.c)
    )


# The claim: on PostgreSQL its ids as one array parameter (one statement shape, compiled once for the driver),
# on SQLite an expanding IN through SQLAlchemy.
_CLAIM_PG = _claim_of(_OUTBOX.c.id == any_(bindparam("ids", type_=ARRAY(Integer))))
_CLAIM_SQLITE = _claim_of(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))


def _claim_handed_of(chats: ColumnElement[bool]) -> Update:
    """The claim (`_claim_of`) of the first waiting row of each of `chats` where a pass would claim it: a Telegram
    message with no older row of its chat waiting and no row of its chat being sent, here or by another worker.
    Without the passes' lock, a pass of another worker that read the queue before this claim may choose the same
    row: PostgreSQL re-checks `status = 'pending'` on a row changed meanwhile, so one of the two claims gets it.
    A form's answer claims its own new rows by the same rule, in text SQL (`services/outbox_answer.py` `_ANSWER_PG`,
    its `claim` CTE): the two must stay the same."""
    older, busy = _OUTBOX.alias("older"), _OUTBOX.alias("busy")
    first = ~exists().where(older.c.chat_id == _OUTBOX.c.chat_id, status_is(older.c.status, OutboxStatus.PENDING),
                            older.c.id < _OUTBOX.c.id)  # fmt: skip
    free = ~exists().where(busy.c.chat_id == _OUTBOX.c.chat_id, status_is(busy.c.status, OutboxStatus.SENDING))
    telegram = _OUTBOX.c.channel == literal_column("'telegram'")
    return _claim_of(and_(chats, telegram, first, free))


# PostgreSQL returns with each claimed row whether rows of its chat wait behind it.
_LATER = _OUTBOX.alias("later")


_BEHIND = exists().where(
    _LATER.c.chat_id == _OUTBOX.c.chat_id, status_is(_LATER.c.status, OutboxStatus.PENDING), _LATER.c.id > _OUTBOX.c.id
)
_HANDED_PG = _claim_handed_of(_OUTBOX.c.chat_id == any_(bindparam("chats", type_=ARRAY(BigInteger)))).returning(
    _BEHIND.label("behind")
)
_HANDED_SQLITE = _claim_handed_of(_OUTBOX.c.chat_id.in_(bindparam("chats", expanding=True)))
# The rows waiting in some chats, in their order.
_WAITING_IN = (
    select(_OUTBOX.c.id, _OUTBOX.c.chat_id, _OUTBOX.c.not_before, _OUTBOX.c.channel)
    .where(_OUTBOX.c.chat_id.in_(bindparam("chats", expanding=True)), status_is(_OUTBOX.c.status, OutboxStatus.PENDING))
    .order_by(_OUTBOX.c.id)
)


def _outcomes_then_claim() -> Update:
    """PostgreSQL: `_OUTCOMES` in a CTE, and `_CLAIM_PG` of the chats' next rows as the statement itself, built once.
    The two UPDATEs see one snapshot and touch different rows (written ones were `sending`, claimed ones must be
    `pending`; `NOT IN done` makes sure); a claimed row another worker changed meanwhile is re-checked by PostgreSQL
    against `status = 'pending'`."""
    done = _OUTCOMES.cte("done")
    return _CLAIM_PG.where(_OUTBOX.c.id.not_in(select(done.c.id))).add_cte(done)


_OUTCOMES_THEN_CLAIM = _outcomes_then_claim()
_NAMES = tuple(c.name for c in _OUTBOX.c)


def _values(connection: AsyncConnection, found: Sequence[Any]) -> list[dict[str, Any]]:
    """The outbox's rows as the driver returned them (every column, in the table's order), each column's value
    through its type's own result processing, as SQLAlchemy's result would give it: statuses as `OutboxStatus`,
    datetimes aware in UTC (the payload is already a dict: SQLAlchemy's asyncpg dialect gives every connection a
    JSON codec)."""
    processors = result_processors(_OUTBOX, connection.dialect)
    return [
        {
            name: value if process is None or value is None else process(value)
            for name, value, process in zip(_NAMES, record, processors, strict=True)
        }
        for record in found
    ]
# What a claimed row's request needs: the message it edits, the stored files it sends.
_REFS = select(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
_FILES_TABLE: Table = StoredFile.__table__  # type: ignore[assignment]
_FILES = select(_FILES_TABLE).where(_FILES_TABLE.c.id.in_(bindparam("ids", expanding=True)))


