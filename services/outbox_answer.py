"""A form's answer written in one statement: its task's draft, the messages the update queued and the person's form
pointer (`with_draft`); an update that ends with only messages and that pointer to write, the same way (`write_tail`).
On PostgreSQL data-modifying CTEs straight to the driver (`_ANSWER_PG`), which also claim each offered chat's first
message for the sender where a pass would (`services/answer_claim.py`, `services/delivery/handing.py`); on SQLite one
step document (db/step_writes.py), whose call on the connection's thread also claims (`_claim_on_thread`). The
outbox's rows themselves are `services/outbox.py`'s."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy import inspect as inspect_object
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from db import driver, step_writes
from db.engine import id_tops, numbering_here, remember_id_tops, take_ids
from db.models import Outbox, Task, TaskCard, User, UTCDateTime
from db.recordset import json_text, rows_json
from flows.status import OutboxStatus
from services import outbox, outbox_own_id
from services.answer_claim import HANDING, Behind, Handing, Offer

_OUTBOX: Table = Outbox.__table__  # type: ignore[assignment]


# PostgreSQL: a form's answer — its task's draft and the messages the update queued — in one statement. The
# messages are numbered from the outbox's sequence in the order they were added (volatile functions run after the
# sort); `:link` names the ordinal of one of them whose new id the draft records under `:link_key` (a summary's
# message, whose buttons come off when the form ends). Built once: the rows travel as one JSON parameter.
_NAMES = [column.name for column in Outbox.__table__.columns if column.name != "id"]
# A claimed message is written as the sender's claim leaves a row (services/delivery/queue.py `_claim_of`).
_CLAIMED_AS = {
    "status": "CASE WHEN k.new_id IS NULL THEN m.status ELSE 'sending' END",
    "attempts": "m.attempts + CASE WHEN k.new_id IS NULL THEN 0 ELSE 1 END",
    "claimed_at": "CASE WHEN k.new_id IS NULL THEN m.claimed_at ELSE CAST(:claimed_at AS timestamptz) END",
    "claimed_by": "CASE WHEN k.new_id IS NULL THEN m.claimed_by ELSE CAST(:key AS integer) END",
    # A message whose buttons carry their own row (services/outbox_own_id.py): its id put in their place.
    "payload": """CASE WHEN m.ord = ANY(CAST(:own_ords AS integer[])) THEN jsonb_set(m."payload", '{reply_markup}',
        CAST(regexp_replace(CAST(m."payload" -> 'reply_markup' AS text), CAST(:own_field AS text), ':' || m.new_id, 'g')
             AS jsonb)) ELSE m."payload" END""",
}
# The claim's «chat's turn» (no message of the chat pending before it or being sent) is the one of
# services/delivery/queue.py `_claim_handed_of`, written here for rows not in the table yet: the two must stay the same.
_ANSWER_PG = text(
    f"""
    WITH m AS MATERIALIZED (
        SELECT nextval(pg_get_serial_sequence('outbox', 'id')) AS new_id, r.ordinality AS ord,
               {", ".join(f'r."{name}"' for name in _NAMES)}
        FROM json_populate_recordset(NULL::outbox, CAST(:rows AS json)) WITH ORDINALITY AS r
        ORDER BY r.ordinality
    ), claim AS MATERIALIZED (
        -- The first message of each offered chat, where it is the chat's turn: a Telegram message due now and
        -- nothing of its chat waiting or being sent, by any worker (the chat's partial index, ix_outbox_chat_waiting).
        SELECT f.new_id FROM (
            SELECT DISTINCT ON (m.chat_id) m.new_id, m.chat_id, m.channel, m.not_before FROM m
            WHERE m.chat_id = ANY(CAST(:offered AS bigint[])) AND m.status = 'pending' ORDER BY m.chat_id, m.ord
        ) AS f
        WHERE f.channel = 'telegram' AND (f.not_before IS NULL OR f.not_before <= CAST(:claimed_at AS timestamptz))
          AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.chat_id = f.chat_id
                          AND (o.status = 'pending' OR o.status = 'sending'))
    ), written AS (
        INSERT INTO outbox (id, {", ".join(f'"{name}"' for name in _NAMES)})
        SELECT m.new_id, {", ".join(_CLAIMED_AS.get(name, f'm."{name}"') for name in _NAMES)}
        FROM m LEFT JOIN claim AS k ON k.new_id = m.new_id
    ), drafted AS (
        UPDATE tasks SET draft = CASE WHEN CAST(:link AS integer) IS NULL THEN CAST(:draft AS jsonb)
            ELSE jsonb_set(CAST(:draft AS jsonb), ARRAY[CAST(:link_key AS text)],
                           to_jsonb((SELECT m.new_id FROM m WHERE m.ord = CAST(:link AS integer))))
            END
        WHERE id = CAST(:task_id AS integer)
    ), pointed AS (
        UPDATE users SET
            active_task_id = CASE WHEN CAST(:set_task AS boolean) THEN CAST(:active_task_id AS integer)
                ELSE active_task_id END,
            question_lost_at = CASE WHEN CAST(:set_lost AS boolean) THEN CAST(:question_lost_at AS timestamptz)
                ELSE question_lost_at END,
            picker_ref = CASE WHEN CAST(:set_picker AS boolean) THEN COALESCE(
                (SELECT m.new_id FROM m WHERE m.ord = CAST(:picker_link AS integer)), CAST(:picker_ref AS integer))
                ELSE picker_ref END,
            picker_chosen = CASE WHEN CAST(:set_chosen AS boolean) THEN CAST(:picker_chosen AS varchar)
                ELSE picker_chosen END
        WHERE id = CAST(:person_id AS integer)
    )
    SELECT array_agg(m.new_id ORDER BY m.ord), (SELECT array_agg(k.new_id) FROM claim AS k) FROM m
    """
)
_TASKS: Table = Task.__table__  # type: ignore[assignment]
_USERS: Table = User.__table__  # type: ignore[assignment]
_LOST_AT: UTCDateTime = _USERS.c.question_lost_at.type  # type: ignore[assignment]
_STEP_TABLES = step_writes.step_tables()
_CLEAR_DRAFT = update(_TASKS).where(_TASKS.c.id == bindparam("task_id")).values(draft=None)


# A person's columns an answer writes with its draft when they changed: which task their next answer goes to,
# «a question may not have arrived» (cleared by a new question), and their newest «Which process?» list with what was
# chosen from it (`services.menu`). Anything else of theirs goes the usual way.
_POINTER = frozenset({"active_task_id", "question_lost_at", "picker_ref", "picker_chosen"})


async def write_tail(session: AsyncSession) -> bool:
    """An update's last write, before its commit: when all it leaves for the unit of work is messages (no card) and
    the form pointer of one person (`_POINTER`), they go as a form's answer goes (`with_draft`, no draft): one
    statement that also claims each chat's first message for the sender — not the unit of work's INSERT and UPDATE
    at the commit, then the sender's claim after it. Returns whether it wrote them (otherwise the commit does)."""
    sync = session.sync_session
    if sync.deleted or not all(isinstance(obj, Outbox) for obj in sync.new):
        return False
    if outbox.step_open(session):
        return False  # a step still open keeps messages of its own: its writer's to write
    only_pointer, pointer = _unwritten(sync)
    if not only_pointer or not (sync.new or pointer):
        return False
    await with_draft(session, None, None)
    return True


def _unwritten(sync: Session, task_id: int | None = None) -> tuple[bool, tuple[User, dict[str, Any]] | None]:
    """What the unit of work would write of the rows it holds: whether that is at most one person's form pointer
    (`_POINTER`), and that person with those columns' values (None: no pointer changed). False when anything else
    changed (then it all goes by the unit of work, as before). The draft of `task_id`'s row is not «anything else»:
    the answer writes it."""
    found: tuple[User, dict[str, Any]] | None = None
    for obj in sync.dirty:
        state = inspect_object(obj)
        # A column set to the value it had is listed, but the unit of work would not write it.
        changed = {name for name in state.committed_state if state.attrs[name].history.has_changes()}
        if not changed or (isinstance(obj, Task) and state.identity == (task_id,) and changed <= {"draft"}):
            continue
        if found is not None or not isinstance(obj, User) or not changed <= _POINTER:
            return False, None
        found = (obj, {name: state.dict.get(name) for name in changed})
    return True, found


async def with_draft(
    session: AsyncSession, task_id: int | None, draft: dict[str, Any] | None, link: tuple[str, Outbox] | None = None
) -> dict[str, Any] | None:
    """A form's answer written: the task's draft, every message the update has queued (and nobody flushed) and the
    person's form pointer when only it changed (`_POINTER`) in one statement — on PostgreSQL data-modifying CTEs, on
    SQLite one step document written in one call (db/step_writes.py) — not the unit of work's UPDATEs and INSERT.
    `link` (key, message): the draft records that message's id under the key. `task_id` None: no draft, the rest
    alike (`write_tail`). The messages rejoin the session persistent and clean (on SQLite, when SQLite numbered
    them, they stay out of it: their ids are not known here), the person clean. Returns the draft as written."""
    sync = session.sync_session
    pending = list(sync.new)
    if any(isinstance(obj, TaskCard) for obj in pending):
        await session.flush()  # a card names its message: both go the usual way, first
        pending = []
    only_pointer, pointer = _unwritten(sync, task_id)
    if not only_pointer:
        pointer = None  # the person's row goes by the unit of work with the rest
    messages: list[Outbox] = [obj for obj in pending if isinstance(obj, Outbox)]
    messages.sort(key=lambda obj: inspect_object(obj).insert_order or 0)
    owns, pointer, links = _own_ids(session, messages, pointer)
    if owns is None:
        # A message whose own id goes where this statement cannot write it: the unit of work writes them (and fills
        # the id in, `outbox_own_id._own_ids_flushed`), first; the answer's draft and pointer go on as without messages.
        await session.flush()
        messages = []
        owns, links = {}, {}
        only_pointer, pointer = _unwritten(sync, task_id)
        if not only_pointer:
            pointer = None
    for message in messages:
        sync.expunge(message)
    if link is not None and link[1] not in messages:
        if link[1].id is None:
            raise ValueError("the message a draft names must be written with it")
        draft, link = {**(draft or {}), link[0]: link[1].id}, None  # flushed already: its id is known
    values = [{name: _value(message, name) for name in _NAMES} for message in messages]
    if session.get_bind().dialect.name != "sqlite":
        params: dict[str, Any] = {
            "rows": rows_json(values),
            "draft": None if draft is None else json_text(draft),
            "link": messages.index(link[1]) + 1 if link is not None else None,
            "link_key": link[0] if link is not None else None,
            "task_id": task_id,
            "person_id": pointer[0].id if pointer is not None else None,
            "set_task": pointer is not None and "active_task_id" in pointer[1],
            "active_task_id": pointer[1].get("active_task_id") if pointer is not None else None,
            "set_lost": pointer is not None and "question_lost_at" in pointer[1],
            # Through the column's type, as the unit of work binds it: a naive datetime is refused, not taken as local.
            "question_lost_at": _LOST_AT.process_bind_param(pointer[1].get("question_lost_at"), sync.get_bind().dialect)
            if pointer is not None else None,
            "set_picker": pointer is not None and ("picker_ref" in pointer[1] or "picker_ref" in links),
            "picker_ref": pointer[1].get("picker_ref") if pointer is not None else None,
            "picker_link": links["picker_ref"] + 1 if "picker_ref" in links else None,
            "own_ords": [index + 1 for index in owns],
            "own_field": outbox_own_id.OWN_ID_FIELD,
            "set_chosen": pointer is not None and "picker_chosen" in pointer[1],
            "picker_chosen": pointer[1].get("picker_chosen") if pointer is not None else None,
        }
        # Asked last, when nothing but the statement can fail before `_settle` gives the offer back.
        offer = _offer(session, messages)
        params["offered"] = offer.chats if offer is not None else []
        params["claimed_at"] = offer.now if offer is not None else None
        params["key"] = offer.key if offer is not None else None
        # Straight to the driver (no autoflush either: the rest of the unit of work goes at the commit): SQLAlchemy's
        # execution path around it cost ~0.2 ms of client CPU an answer (1.05 → 0.84 ms a transaction, by turns).
        ids: list[int] = []
        claimed_ids: list[int] | None = None
        try:
            ids, claimed_ids = (await driver.fetch(session, _ANSWER_PG, params, begin=True))[0]
            for index, own in owns.items():  # as the statement wrote them (the sender sends the claimed as they are)
                outbox_own_id.own_id_written(session, own, ids[index])
        finally:
            if offer is not None:  # also when the statement failed: the sender takes its offer back
                _settle(session, offer, messages, ids or [], set(claimed_ids or []))
        for message, message_id in zip(messages, ids or [], strict=True):
            message.id = message_id
        numbered = True
    else:
        # Asked before anything is read or written, so that whatever fails from here gives it back (`_settle`).
        # PostgreSQL asks last; here the calls between hold SQLite's write lock already and take microseconds, so
        # the offer's moment (its place in the limits, `offer.now`) is as close to the write.
        sqlite_offer = _offer(session, messages)
        written: list[int] = []  # the messages' ids once the document is written
        claimed: set[int] = set()
        try:
            numbered = link is not None or bool(owns) or numbering_here(sync)
            if numbered and messages:
                top = (await session.run_sync(take_ids, {"outbox": len(messages)}))["outbox"]
                for n, message in enumerate(messages, start=1):
                    message.id = top + n
            for index, own in owns.items():  # numbered above: the buttons and the columns that name the row
                assert own.row.id is not None
                values[index]["payload"] = outbox_own_id.with_own_id(values[index]["payload"], own.row.id)
                if pointer is not None:
                    for name, position in links.items():
                        if position == index:
                            pointer[1][name] = own.row.id
            doc: dict[str, Any] = {}
            if messages:
                # Without ids SQLite numbers them, in the document's order (one multi-row INSERT, row by row).
                doc["outbox"] = [step_writes.new_row(_OUTBOX, {**row, **({"id": m.id} if numbered else {})})
                                 for row, m in zip(values, messages, strict=True)]  # fmt: skip
            if link is not None and draft is not None:
                draft = {**draft, link[0]: link[1].id}
            # No task: an update's tail (`write_tail`), which has no draft to write.
            if task_id is not None and draft is not None:
                doc["task_updates"] = [step_writes.row(_TASKS, {"id": task_id, "draft": draft})]
            elif task_id is not None:
                # The document cannot say NULL.
                await (await session.connection()).execute(_CLEAR_DRAFT, {"task_id": task_id})
            if pointer is not None:
                doc["user_updates"] = [step_writes.row(_USERS, {"id": pointer[0].id, **pointer[1]})]
            numbers: list[int] = [message.id for message in messages if message.id is not None]
            tops: list[int] = []
            prepare = None
            if sqlite_offer is not None:
                # The claim on the connection's thread, in the document's own call: its messages numbered there if
                # they are not yet (a claim hands the sender its rows by id), the offered chats' rows in flight read,
                # the claimed rows written as the sender's claim leaves them — no statement of its own.
                prepare = _claim_on_thread(sqlite_offer, values, doc, numbers, claimed, tops)
            if doc:
                await step_writes.write(session, doc, _STEP_TABLES, prepare)
            if tops:  # numbered on the thread: this transaction's later rows are numbered past them (`take_ids`)
                remember_id_tops(sync, tops)
            if sqlite_offer is not None:
                for message, message_id in zip(messages, numbers, strict=True):
                    message.id = message_id
                numbered = True
            for index, own in owns.items():
                outbox_own_id.own_id_written(session, own, numbers[index])
            written = numbers
        finally:
            if sqlite_offer is not None:  # also when something failed: the sender takes its offer back
                _settle(session, sqlite_offer, messages, written, claimed if written else set())
    if numbered:
        for message in messages:
            make_transient_to_detached(message)
            sync.add(message)  # persistent and clean: a later change is an UPDATE
    if pointer is not None:
        for name, value in pointer[1].items():
            set_committed_value(pointer[0], name, value)  # written: nothing left for the unit of work
    if link is not None and draft is not None:
        return {**draft, link[0]: link[1].id}
    return draft


def _own_ids(
    session: AsyncSession, messages: list[Outbox], pointer: tuple[User, dict[str, Any]] | None
) -> tuple[dict[int, outbox_own_id.OwnId] | None, tuple[User, dict[str, Any]] | None, dict[str, int]]:
    """The messages among `messages` whose buttons carry their own row (`outbox_own_id.own_id_message`), by
    position; the pointer with their owners' columns added; which column takes which message's id (`links`). None for
    the first when an owner is not a column this statement writes (another object, or a person beside the
    pointer's)."""
    waiting = {id(own.row): own for own in outbox_own_id.own_ids(session)}
    owns = {index: waiting[id(m)] for index, m in enumerate(messages) if id(m) in waiting}
    links: dict[str, int] = {}
    for index, own in owns.items():
        for obj, attribute in own.owners:
            if not isinstance(obj, User) or attribute not in _POINTER or attribute in links:
                return None, pointer, {}
            if pointer is None:
                pointer = (obj, {})
            elif pointer[0] is not obj:
                return None, pointer, {}
            links[attribute] = index
    if any(name in links for name in pointer[1]) if pointer is not None else False:
        return None, pointer, {}  # the same column set by hand too: the unit of work's order decides
    return owns, pointer, links


def _offer(session: AsyncSession, messages: list[Outbox]) -> Offer | None:
    """What the sender lets this answer claim (`Handing.offer`): nothing outside an update's transaction, nor in a
    savepoint (its rollback would take the rows back while the transaction goes on to commit)."""
    handing: Handing | None = session.info.get(HANDING)
    if handing is None or not messages or session.in_nested_transaction():
        return None
    # Only messages waiting to go: a row written as it ended (an «unreachable» record, `status` failed) is no claim's.
    return handing.offer({
        m.chat_id for m in messages
        if m.chat_id and _value(m, "channel") == "telegram" and _value(m, "status") == OutboxStatus.PENDING
    })


# The tables' highest ids, as `take_ids` reads them (`db.engine.id_tops`), compiled once for the thread's cursor.
_TOPS = str(select(*id_tops()).compile(dialect=sqlite.dialect()))
# Which of some chats have a message waiting or being sent: the term is the partial index's condition
# (ix_outbox_chat_waiting), so SQLite reads that index.
_BUSY_IN = "SELECT DISTINCT chat_id FROM outbox WHERE chat_id IN ({}) AND (status = 'pending' OR status = 'sending')"


def _claim_on_thread(
    offer: Offer, values: list[dict[str, Any]], doc: dict[str, Any], ids: list[int], claimed: set[int],
    tops: list[int],
) -> Callable[[sqlite3.Cursor], step_writes.Prepared]:
    """SQLite: `_ANSWER_PG`'s `claim` as the answer's document's `prepare` (db/step_writes.py), run on the
    connection's thread in the answer's transaction, which holds SQLite's write lock — nothing changes between the
    read and the write. The first waiting message of each offered chat is claimed if it is a Telegram message due
    now and nothing of its chat waits or is being sent. Fills `ids` (the messages numbered past the outbox's top when
    they were not: the tables' maxima read as `take_ids` reads them, left in `tops` with the outbox's moved past
    these messages, for the caller to remember), `claimed`, and rewrites the document's messages accordingly."""

    def prepare(cursor: sqlite3.Cursor) -> step_writes.Prepared:
        ran: step_writes.Prepared = []
        if len(ids) < len(values):
            read = [top or 0 for top in cursor.execute(_TOPS).fetchone()]
            ran.append((_TOPS, ()))
            ids[:] = [read[0] + n for n in range(1, len(values) + 1)]
            tops[:] = [read[0] + len(values), *read[1:]]
        first: dict[int, int] = {}  # chat → the position of its first waiting message
        for position, row in enumerate(values):
            if row["chat_id"] in offer.chats and row["status"] == OutboxStatus.PENDING:
                first.setdefault(row["chat_id"], position)
        due = {chat_id: position for chat_id, position in first.items()
               if values[position]["channel"] == "telegram"
               and (values[position]["not_before"] is None or values[position]["not_before"] <= offer.now)}  # fmt: skip
        if due:
            chats = tuple(sorted(due))
            sql = _BUSY_IN.format(", ".join("?" * len(chats)))
            busy = {chat_id for (chat_id,) in cursor.execute(sql, chats).fetchall()}
            ran.append((sql, chats))
            for chat_id, position in due.items():
                if chat_id not in busy:
                    row = values[position]
                    row.update(status=OutboxStatus.SENDING, attempts=(row["attempts"] or 0) + 1,
                               claimed_at=offer.now, claimed_by=offer.key)  # fmt: skip
                    claimed.add(ids[position])
        doc["outbox"] = [step_writes.new_row(_OUTBOX, {**row, "id": row_id})
                         for row, row_id in zip(values, ids, strict=True)]  # fmt: skip
        return ran

    return prepare


def _settle(session: AsyncSession, offer: Offer, messages: list[Outbox], ids: list[int], claimed: set[int]) -> None:
    """Tell the sender which messages the answer claimed (their objects as the claim left them) and, for each,
    the answer's other messages of its chat behind it; an empty claim gives the offer back."""
    handing: Handing = session.info[HANDING]
    rows: list[Outbox] = []
    behind: dict[int, list[Behind]] = {}
    chats: dict[int, int] = {}
    for message, message_id in zip(messages, ids, strict=False):  # no ids: the statement failed, nothing claimed
        if message_id in claimed:
            # The message object rejoins the session as the row now is; the sender gets a copy of its own, which is
            # what it sends: a form's save is the last write of its messages in the update (nothing replaces a
            # column of theirs before the commit).
            message.__dict__.update(status=OutboxStatus.SENDING, attempts=(_value(message, "attempts") or 0) + 1,
                                    claimed_at=offer.now, claimed_by=offer.key)  # fmt: skip
            rows.append(Outbox(**{name: _value(message, name) for name in _NAMES}, id=message_id))
            chats[message.chat_id] = message_id
        elif message.chat_id in chats and _value(message, "status") == OutboxStatus.PENDING:  # not a record of an end
            waiting = (message_id, _value(message, "not_before"), _value(message, "channel"))
            behind.setdefault(message.chat_id, []).append(waiting)
    handing.settle(session.sync_session, offer, rows, behind)
    # Claimed already: nothing for the sender's hand-over after the commit (a message queued to the chat
    # after this statement notes the chat again).
    outbox.handed(session, chats)


def _value(row: Outbox, name: str) -> Any:
    """A column's value on a message not flushed: what was set, else the column's Python default."""
    if name in row.__dict__:
        return row.__dict__[name]
    default = _OUTBOX.c[name].default
    return default.arg if default is not None and default.is_scalar else None  # type: ignore[attr-defined]
