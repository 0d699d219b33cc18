"""The outbox's rows: every message to a person is written here first, in the same transaction as the change
that caused it; `services.delivery.OutboxSender` delivers them within Telegram's limits, once."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from db.engine import take_ids
from db.models import Outbox, TaskCard, status_is
from db.models.delivery import CASE_FILE_ROWS, FILE_METHODS
from flows.i18n import _
from flows.status import OutboxStatus
from services import tg_html
from services.pieces import split_lines as split_lines
from services.pieces import split_text as pieces_of


async def repeat_pending(session: AsyncSession, chat_id: int, text: str) -> bool:
    """The same text already waits for this chat: a burst of fifty «I did not understand» collapses into one,
    and the answer to the person's next real message does not queue behind the others."""
    rows = await session.execute(
        select(Outbox.payload).where(
            # The status written in: the chat's waiting rows through their own index (ix_outbox_chat_waiting).
            Outbox.chat_id == chat_id, status_is(Outbox.status, OutboxStatus.PENDING), Outbox.method == "sendMessage"
        )
    )
    return any(payload.get("text") == text for payload in rows.scalars())


def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    ref_id: int | None = None,
    case_id: int | None = None,
) -> Outbox:
    values = {
        "chat_id": chat_id, "method": method, "payload": payload, "ref_id": ref_id, "case_id": case_id,
        "status": OutboxStatus.PENDING, "attempts": 0, "not_before": None, "created_at": now,
    }
    note(session, chat_id)
    step: StepMessages | None = session.info.get(_STEP)
    if step is None:
        row = Outbox(**values)
        session.add(row)
    else:
        # A step's message is a plain new object with these values (not the constructor's attribute events: a step
        # makes several, and its writer reads their values only); added to a session later, it inserts them alike.
        row = _NEW_OUTBOX()
        row.__dict__.update(values)
        step.messages.append((_pending_count(session), row))
    return row


_NEW_OUTBOX = Outbox.__mapper__.class_manager.new_instance


# --- what a transaction queued, for the sender to take straight after its commit -----------------------------
#
# After an update's transaction the sender used to make a full pass (its lock, the queue's read, the claim) to find
# the one message the update queued. Knowing the chats a transaction wrote to, it claims their first rows by one
# statement instead (`OutboxSender.notify`, `_take_handed`); anything else queued (an SMS, an e-mail, a render
# job) needs the pass.

_WRITTEN = "konveyer.outbox.written"


@dataclass
class Written:
    """The Telegram chats a session's transaction queued messages for, and whether it queued anything else."""

    chats: set[int] = field(default_factory=set)
    other: bool = False  # an SMS, an e-mail, a render job: only a full pass of the queue finds it


def note(session: AsyncSession | Session, chat_id: int | None) -> None:
    """A message (or another row: `chat_id` None, or chat 0 — e-mails and render jobs) queued in this session."""
    written: Written | None = session.info.get(_WRITTEN)
    if written is None:
        written = session.info[_WRITTEN] = Written()
    if chat_id:
        written.chats.add(chat_id)
    else:
        written.other = True


def written(session: AsyncSession) -> Written:
    """What the session queued since last asked (nothing: an empty record). Rows queued by a path that does not
    `note` them would be found by the sender's next timed pass only, so every path that writes the outbox notes."""
    record: Written | None = session.info.pop(_WRITTEN, None)
    return record if record is not None else Written()


def handed(session: AsyncSession, chats: Iterable[int]) -> None:
    """`chats` are no longer the session's to hand over: their messages were claimed in the transaction itself
    (a form's answer, `services/outbox_answer.py`)."""
    record: Written | None = session.info.get(_WRITTEN)
    if record is not None:
        record.chats -= set(chats)


def card(session: AsyncSession, task_id: int | None, user_id: int, message: Outbox) -> None:
    """A task card: `message` (queued in this unit of work) shows the task to the person; edited when it changes."""
    step: StepMessages | None = session.info.get(_STEP)
    if step is None:
        session.add(TaskCard(task_id=task_id, user_id=user_id, outbox=message))
    else:
        step.cards.append((task_id, user_id, message))


# --- a case step's messages, kept out of the unit of work ---------------------------------------------------
#
# A case step (services/cases/saving.py `save`) writes its messages and cards with its other rows in one
# statement (services/cases/pg_writes.py). Added to the session, each would be cascaded, then taken out again and
# put back once written: more client CPU than writing it. So while a step is open its messages and cards wait
# in the session's `info` as plain objects nobody attached; the store takes them. Whoever flushes meanwhile (to
# read a card of this step back) gets them written by the flush: `flush` below, or the `before_flush` hook when
# the session has other changes.

_STEP = "konveyer.outbox.step"


@dataclass
class StepMessages:
    # (how many objects the session held as new when it was queued: the order among rows added directly), row
    messages: list[tuple[int, Outbox]] = field(default_factory=list)
    cards: list[tuple[int | None, int, Outbox]] = field(default_factory=list)  # (task id, user id, its message)


def open_step(session: AsyncSession) -> bool:
    """From now on the session's messages and cards are kept for the step's writer (`take_step`). Returns
    whether this call opened it (a step within a step — a hand-off, a parent told of its child — shares it)."""
    if _STEP in session.info:
        return False
    session.info[_STEP] = StepMessages()
    return True


def close_step(session: AsyncSession, opened: bool) -> None:
    """The step is over (`opened`: its opener's call): whatever it queued and nobody took joins the unit of work,
    so it is never lost (written at the next flush, or rolled back with the rest)."""
    if opened:
        step = session.info.pop(_STEP, None)
        if step is not None:
            _attach(session.sync_session if isinstance(session, AsyncSession) else session, step)


def step_open(session: AsyncSession) -> bool:
    """A step is open: its messages and cards wait for its writer, outside the unit of work."""
    return _STEP in session.info


def take_step(session: AsyncSession) -> StepMessages | None:
    """The messages and cards queued since the step opened (or since last taken), for the step's writer."""
    step: StepMessages | None = session.info.get(_STEP)
    if step is None or not (step.messages or step.cards):
        return None
    session.info[_STEP] = StepMessages()
    return step


async def flush(session: AsyncSession) -> None:
    """`session.flush()` that also writes the open step's messages and cards (a clean session skips its
    `before_flush` hook): for a reader of rows of this very step."""
    step = session.info.get(_STEP)
    if step is not None:
        _attach(session.sync_session, step)
    await session.flush()


def _pending_count(session: Any) -> int:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    return len(sync._new)  # the position `Session.add` gives its next object (`insert_order`)


def _attach(session: Session, step: StepMessages) -> None:
    messages, cards = step.messages, step.cards
    step.messages, step.cards = [], []
    for _position, row in messages:
        session.add(row)
    for task_id, user_id, message in cards:
        if message.id is not None:  # written already (by an inner step's writer)
            session.add(TaskCard(task_id=task_id, user_id=user_id, outbox_id=message.id))
        else:
            session.add(TaskCard(task_id=task_id, user_id=user_id, outbox=message))


def _step_rows_flushed(session: Session, _context: Any, _instances: Any) -> None:
    step = session.info.get(_STEP)
    if step is not None and (step.messages or step.cards):
        _attach(session, step)


# First among the flush's hooks: on SQLite db/engine.py's numbers the flush's new messages, these included.
event.listen(Session, "before_flush", _step_rows_flushed, insert=True)


QUESTION = "question"  # a form's question: if it may not have arrived, it is asked again (`question_lost_at`)

# Why an e-mail or an SMS failed, as the sender writes it on the row (for the panel and the admins); the person
# told to send it by hand reads what it means for them instead (`tgbot.notices_other`). These reasons, and the
# others below, are stored in English (the row is the same for every reader) and are msgids: the panel shows each in
# its admin's language (`admin.words.Words.delivery_error`). Any other error is a service's own words, kept as is.
NO_SMTP = _("SMTP is not configured (SMTP_HOST, SMTP_FROM)")
NO_SMS = _("SMS is not configured (SMS_PROVIDER, SMSRU_API_ID)")
NO_ADDRESS = "no e-mail address"  # followed by the address that is not one
NOT_RENDERED = _("the document could not be rendered")
EDIT_NOT_SENT = _("the message to edit was not sent")
BLOCKED = _("the person blocked the bot")
NO_EMAIL = _("no e-mail address (neither the person's nor the organisation's)")
NO_PHONE = _("no phone number")
KNOWN_REASONS = frozenset({NO_SMTP, NO_SMS, NOT_RENDERED, EDIT_NOT_SENT, BLOCKED, NO_EMAIL, NO_PHONE})


MAX_TEXT = 4000  # Telegram refuses more than 4096 characters; the margin is for what counts double


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """A long text as several messages, cut between lines and never between a label and its value
    (`services.pieces`), so that nothing is lost to «…» — a summary's last entries must be seen before «Confirm»."""
    return pieces_of(text, limit)


ALBUM = 10  # Telegram's most files in one sendMediaGroup


def files(
    session: AsyncSession,
    chat_id: int,
    now: datetime,
    items: list[tuple[int, str, str]],
    *,
    case_id: int | None = None,
) -> None:
    """Files (stored file id, kind, caption) as Telegram shows them best: photos in albums of up to ten,
    documents grouped the same way (an album cannot mix the two). A lone file goes as itself."""
    for kind in ("photo", "document"):
        own = [(file_id, caption) for file_id, k, caption in items if (k == "photo") == (kind == "photo")]
        for start in range(0, len(own), ALBUM):
            group = own[start : start + ALBUM]
            if len(group) == 1:
                file_id, caption = group[0]
                method = "sendPhoto" if kind == "photo" else "sendDocument"
                payload: dict[str, Any] = {"file_id": file_id, "caption": caption[:1000]}
            else:
                method = "sendMediaGroup"
                payload = {"kind": kind, "media": [{"file_id": f, "caption": c[:1000]} for f, c in group]}
            enqueue(session, chat_id=chat_id, method=method, payload=payload, now=now, case_id=case_id)


def file_ids(payload: dict[str, Any]) -> list[Any]:
    """The stored files a row sends: one (`file_id`) or an album's (`media`)."""
    return [payload.get("file_id"), *(item.get("file_id") for item in payload.get("media", []))]


async def files_sent(
    session: AsyncSession, case_id: int, chat_id: int, before: dict[int, set[int]] | None = None
) -> set[int]:
    """The stored files of a case this chat was already sent, or has on their way (a row not failed: an uncertain
    one may have arrived), or this transaction queued for it: a card that brings them again repeats an album the
    person has above. Read from the outbox, so it holds after a restart: `before` is what the case's load read of
    it (by chat; the load holds the case's lock, so a second worker's step reads after this one committed), else
    the outbox is asked here."""
    if before is not None:
        sent = set(before.get(chat_id, ()))
    else:
        with session.no_autoflush:  # a step's messages are written by its writer, not by this read (see below)
            rows = await session.execute(
                select(Outbox.payload).where(
                    Outbox.case_id == case_id,
                    Outbox.chat_id == chat_id,
                    text(CASE_FILE_ROWS),  # as ix_outbox_case_files's condition spells it
                    Outbox.status != OutboxStatus.FAILED,
                )
            )
        sent = {f for payload in rows.scalars() for f in file_ids(payload)}
    step: StepMessages | None = session.info.get(_STEP)
    queued = [row for _position, row in step.messages] if step is not None else []
    queued += [row for row in session.sync_session.new if isinstance(row, Outbox)]
    for row in queued:
        if row.case_id == case_id and row.chat_id == chat_id and row.method in FILE_METHODS:
            sent.update(file_ids(row.payload))
    return {f for f in sent if isinstance(f, int)}


HTML = "HTML"  # the parse mode of a message an admin's template wrote (services/channels/)


def pieces(text: str, parse_mode: str | None = None) -> list[str]:
    """A text as the messages it takes: plain text cut between lines; HTML also with its tags closed at each cut
    and opened again after it (services/tg_html.py)."""
    return tg_html.split(text, MAX_TEXT) if parse_mode == HTML else split_text(text)


def message(
    session: AsyncSession,
    chat_id: int,
    text: str,
    now: datetime,
    reply_markup: dict[str, Any] | None = None,
    *,
    case_id: int | None = None,
    purpose: str | None = None,
    parse_mode: str | None = None,
) -> Outbox:
    """A text message; a text longer than Telegram takes goes as several, cut between lines, the buttons (and the
    purpose) on the last one, which is the row returned (a card's later edits go to it). `parse_mode` HTML: the
    text is Telegram's HTML (an admin's template), and each piece says so."""
    mode: dict[str, Any] = {"parse_mode": parse_mode} if parse_mode else {}
    *head, last = pieces(text, parse_mode)
    for piece in head:
        enqueue(session, chat_id=chat_id, method="sendMessage", payload={"text": piece, **mode}, now=now,
                case_id=case_id)  # fmt: skip
    payload: dict[str, Any] = {"text": last, **mode}
    if reply_markup:
        payload["reply_markup"] = reply_markup
    if purpose:
        payload["purpose"] = purpose
    return enqueue(session, chat_id=chat_id, method="sendMessage", payload=payload, now=now, case_id=case_id)


def edit(
    session: AsyncSession,
    chat_id: int,
    ref_id: int,
    text: str,
    now: datetime,
    reply_markup: dict[str, Any] | None = None,
    *,
    parse_mode: str | None = None,
    case_id: int | None = None,
) -> Outbox:
    """A message already queued (the outbox row `ref_id`: a task's card, the cart) edited in the person's chat to
    `text` and `reply_markup` (none: its buttons go)."""
    payload: dict[str, Any] = {"text": text}
    if parse_mode:
        payload["parse_mode"] = parse_mode
    if reply_markup:
        payload["reply_markup"] = reply_markup
    return enqueue(
        session, chat_id=chat_id, method="editMessageText", payload=payload, now=now, ref_id=ref_id, case_id=case_id
    )


async def is_message(session: AsyncSession, row_id: int, chat_id: int, message_id: int) -> bool:
    """Whether the outbox row `row_id` is the message `message_id` in `chat_id` (a button's word for the message it
    sits on, checked before an edit goes to it: never trusted). One read by the primary key."""
    found = await session.execute(select(Outbox.chat_id, Outbox.message_id).where(Outbox.id == row_id))
    row = found.first()
    return row is not None and row.chat_id == chat_id and row.message_id == message_id


# PostgreSQL: a page of messages and the cards among them in one statement, whatever their number (the rows
# travel as one JSON parameter, so the statement has one shape and is prepared once). The ids are taken in the
# messages' order (volatile functions are evaluated after the sort): a chat's messages go out in id order.
_PAGE_PG = text(
    """
    WITH m AS MATERIALIZED (
        SELECT nextval(pg_get_serial_sequence('outbox', 'id')) AS id, r.method, r.payload, r.task_id
        FROM json_to_recordset(CAST(:rows AS json)) AS r(n integer, method text, payload jsonb, task_id integer)
        ORDER BY r.n
    ), written AS (
        INSERT INTO outbox (id, channel, chat_id, method, payload, status, attempts, created_at)
        SELECT m.id, 'telegram', CAST(:chat_id AS bigint), m.method, m.payload, 'pending', 0,
               CAST(:now AS timestamptz)
        FROM m
    )
    INSERT INTO task_cards (task_id, user_id, outbox_id)
    SELECT m.task_id, CAST(:user_id AS integer), m.id FROM m WHERE m.task_id IS NOT NULL
    """
)
_OUTBOX: Table = Outbox.__table__  # type: ignore[assignment]
_CARDS: Table = TaskCard.__table__  # type: ignore[assignment]


async def page(
    session: AsyncSession, chat_id: int, user_id: int, now: datetime, messages: list[tuple[str, Any, int | None]]
) -> None:
    """Messages to one person, each (text, buttons, the task it is a card of, if any), as `message` writes them
    (a long text in pieces, the buttons on the last), and a `TaskCard` for each card — without the ORM: on
    PostgreSQL one statement, on SQLite one multi-row INSERT per table (the ids numbered here, `take_ids`)."""
    rows: list[tuple[str, dict[str, Any], int | None]] = []
    for body, reply_markup, task_id in messages:
        *head, last = split_text(body)
        rows += [("sendMessage", {"text": piece}, None) for piece in head]
        payload: dict[str, Any] = {"text": last}
        if reply_markup:
            payload["reply_markup"] = reply_markup
        rows.append(("sendMessage", payload, task_id))
    if not rows:
        return
    note(session, chat_id)
    await session.flush()  # whatever the update said before goes out before these
    if session.get_bind().dialect.name != "sqlite":
        data = [{"n": n, "method": m, "payload": p, "task_id": t} for n, (m, p, t) in enumerate(rows)]
        params = {"rows": json.dumps(data, ensure_ascii=False), "chat_id": chat_id, "user_id": user_id, "now": now}
        await session.execute(_PAGE_PG, params)
        return
    cards = sum(1 for row in rows if row[2] is not None)
    tops = await session.run_sync(take_ids, {"outbox": len(rows), "task_cards": cards})
    written = [
        {"id": tops["outbox"] + n, "channel": "telegram", "chat_id": chat_id, "method": method, "payload": payload,
         "ref_id": None, "case_id": None, "status": OutboxStatus.PENDING, "attempts": 0, "not_before": None,
         "created_at": now}
        for n, (method, payload, _task) in enumerate(rows, start=1)
    ]  # fmt: skip
    await session.execute(insert(_OUTBOX), written)
    given = [(task, tops["outbox"] + n) for n, (_m, _p, task) in enumerate(rows, start=1) if task is not None]
    if given:
        await session.execute(
            insert(_CARDS),
            [{"id": tops["task_cards"] + n, "task_id": task, "user_id": user_id, "outbox_id": outbox_id}
             for n, (task, outbox_id) in enumerate(given, start=1)],
        )  # fmt: skip


RENDER = "render"  # the channel of render jobs: documents made after the step's commit, off the event loop


def render_job(session: AsyncSession, *, payload: dict[str, Any], now: datetime, case_id: int | None) -> Outbox:
    """A document to render, claimed and run by the sender like any other row: durable (a crash re-runs it)
    and ordered before the e-mails that attach it (jobs and e-mails share chat 0, one at a time)."""
    row = enqueue(session, chat_id=0, method="renderDocument", payload=payload, now=now, case_id=case_id)
    row.channel = RENDER
    return row
