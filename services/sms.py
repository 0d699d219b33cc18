"""SMS as an outbox channel: the port an SMS gateway's adapter implements (`integrations.sms`), phone numbers
in one form (E.164, parsed with `phonenumbers`), and the gateway's delivery reports written to the outbox.

An SMS goes like every other message: a row written in the transaction that caused it, claimed before the
request and delivered by `services.delivery.OutboxSender` once. What the gateway answered decides the row's
fate, and the port says it in three exceptions:
- `SmsTemporary`: nothing was sent (the gateway is down for a while, the connection was refused): try again later;
- `SmsUncertain`: the request may have been carried out (a timeout, a connection lost before the answer): the
  row is `uncertain` and never sent again — a second copy on someone's phone is worse than a rare lost one,
  which the panel lists;
- `SmsRefused`: refused for good (a number that takes no SMS, a wrong api_id, no money): the row fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Outbox
from flows.status import OutboxStatus
from services import outbox

SMS = "sms"  # the outbox channel
# Each phone number has a lane of its own in the outbox (its rows go one at a time, in order), far below any
# Telegram chat id so that a lane never shares a chat's turn.
LANE_BASE = -5 * 10**18


class SmsTemporary(Exception):
    """Nothing was sent; the same request may be made again later."""


class SmsUncertain(Exception):
    """The request may have been carried out: never send it again."""


class SmsRefused(Exception):
    """Refused for good; sending again would be refused again."""


class BadPhone(ValueError):
    pass


@dataclass(frozen=True)
class SmsReport:
    """What a gateway says became of a message it accepted."""

    external_id: str
    code: int
    text: str
    final: bool  # delivered, or never will be
    delivered: bool


class SmsGateway(Protocol):
    @property
    def configured(self) -> bool: ...

    async def send(self, phone: str, text: str) -> str:
        """Send one SMS to an E.164 number; the gateway's id of the message. Raises the exceptions above."""

    async def status(self, external_ids: Sequence[str]) -> list[SmsReport]:
        """Where the messages stand now (for those whose delivery report never came)."""

    def reports(self, form: Mapping[str, Any]) -> list[SmsReport]:
        """The delivery reports in a callback the gateway posted to us."""


def normalise_phone(raw: str, region: str = "RU") -> str:
    """A phone number as written by people (8 916 123-45-67, +7 (916) 1234567) in E.164: +79161234567."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise BadPhone(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise BadPhone(f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def lane(phone: str) -> int:
    return LANE_BASE - int(phone.lstrip("+"))


def enqueue(
    session: AsyncSession, phone: str, text: str, now: datetime, *, case_id: int | None, extra: dict[str, Any]
) -> Outbox:
    """An SMS row in the outbox (the number already in E.164)."""
    outbox.note(session, None)  # a pass finds it, not the hand-over of a chat's message
    row = Outbox(
        channel=SMS,
        chat_id=lane(phone),
        method="sendSms",
        payload={"to": phone, "text": text, **extra},
        case_id=case_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=now,
    )
    session.add(row)
    return row


async def record_reports(session: AsyncSession, reports: Sequence[SmsReport]) -> int:
    """The gateway's reports on their rows (found by its message id); a report for an unknown id is ignored."""
    count = 0
    for report in reports:
        result = await session.execute(
            update(Outbox)
            .where(Outbox.channel == SMS, Outbox.external_id == report.external_id)
            .values(report=f"{report.code} {report.text}"[:200])
        )
        count += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return count


async def awaiting_report(session: AsyncSession, sent_before: datetime, limit: int = 100) -> list[str]:
    """Ids of SMS sent a while ago of which the gateway has said nothing since (its callback lost or not set):
    asked for by status instead."""
    rows = await session.execute(
        select(Outbox.external_id)
        .where(
            Outbox.channel == SMS,
            Outbox.status == OutboxStatus.SENT,
            Outbox.external_id.is_not(None),
            Outbox.report.is_(None),
            Outbox.sent_at < sent_before,
        )
        .order_by(Outbox.id.desc())
        .limit(limit)
    )
    return [external for external in rows.scalars() if external]
