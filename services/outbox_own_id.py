"""A message whose buttons name its own outbox row — a «Which process?» list, a cart, a settings message: a press says
which message it was on and an edit goes to it. The row's id is known only once it is written: the message used to
be flushed (an INSERT), then its buttons set (an UPDATE), then a person's column that keeps the list (users.
picker_ref) written — three statements. Now its buttons carry OWN_ID, a number no row has, and whoever writes the
row puts the row's id in its place: an update's last write or a form's answer in its one statement
(services/outbox_answer.py), anything else the flush (`_own_ids_flushed`: the INSERT, then the UPDATE, as before).
A column that is to hold the id (`id_goes_to`) is set by the same write."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from db.models import Outbox
from services.outbox import message

OWN_ID = 9_999_999_999  # above any outbox row's id this product will have; a button's field equal to it is this
# A field of a button's callback data (fields are «:»-separated) that is OWN_ID: the same pattern in Python and in
# PostgreSQL (services/outbox_answer.py), over the buttons' JSON text.
OWN_ID_FIELD = f':{OWN_ID}(?=[:"])'
_OWN = "konveyer.outbox.own_id"


@dataclass
class OwnId:
    """A message whose buttons carry OWN_ID, and the (object, attribute) pairs that are to hold its id."""

    row: Outbox
    owners: list[tuple[Any, str]] = field(default_factory=list)


def own_id_message(
    session: AsyncSession, chat_id: int, text: str, now: datetime, reply_markup: dict[str, Any] | None
) -> Outbox:
    """`message` whose buttons carry OWN_ID, written with its own id in its place (see above)."""
    row = message(session, chat_id, text, now, reply_markup)
    if reply_markup and re.search(OWN_ID_FIELD, json.dumps(reply_markup)):
        session.info.setdefault(_OWN, []).append(OwnId(row))
    return row


def id_goes_to(session: AsyncSession, row: Outbox, obj: Any, attribute: str) -> None:
    """`obj.attribute` is to hold the id of `row` (an `own_id_message`): set now when it is written, else set by
    whoever writes it (untouched until then: no statement can write a number that is not the id)."""
    if row.id is not None:
        setattr(obj, attribute, row.id)
        return
    own = next((o for o in own_ids(session) if o.row is row), None)
    if own is None:
        raise ValueError("the message was not written by own_id_message")
    own.owners.append((obj, attribute))


def own_ids(session: AsyncSession | Session) -> list[OwnId]:
    """The messages whose own id is still to be put in their buttons."""
    found: list[OwnId] = session.info.get(_OWN, [])
    return found


def with_own_id(payload: dict[str, Any], row_id: int) -> dict[str, Any]:
    """`payload` with its buttons' OWN_ID fields replaced by `row_id`."""
    markup = payload.get("reply_markup")
    if not markup:
        return payload
    return {**payload, "reply_markup": json.loads(re.sub(OWN_ID_FIELD, f":{row_id}", json.dumps(markup)))}


def own_id_written(session: AsyncSession | Session, own: OwnId, row_id: int) -> None:
    """`own`'s message was written as `row_id` with its buttons filled in (and its owners' columns, when they were):
    the objects say so and nothing is left to write of it."""
    own.row.__dict__["payload"] = with_own_id(own.row.__dict__["payload"], row_id)
    for obj, attribute in own.owners:
        set_committed_value(obj, attribute, row_id)
    session.info[_OWN] = [o for o in own_ids(session) if o is not own]


def _own_ids_flushed(session: Session, _context: Any) -> None:
    """The unit of work wrote such a message: its buttons and the columns that hold its id are set now, written by
    the next flush (a commit flushes until nothing is left)."""
    waiting = session.info.get(_OWN)
    if not waiting:
        return
    left = []
    for own in waiting:
        if own.row.id is None:
            left.append(own)
            continue
        own.row.payload = with_own_id(own.row.payload, own.row.id)
        for obj, attribute in own.owners:
            setattr(obj, attribute, own.row.id)
    session.info[_OWN] = left


event.listen(Session, "after_flush_postexec", _own_ids_flushed)
