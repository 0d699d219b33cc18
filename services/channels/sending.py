"""One unit of work's notifications: for each message and person a `Plan` of the channels that go (and of those
that could not), the messages written in the caller's transaction, and the fallback after a message failed for
good (`after_failure`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Company, Outbox, User
from flows.status import OutboxStatus
from services import sms as sms_repo
from services import tg_html
from services.channels.switches import KindChannels, settings
from services.channels.texts import (
    CHANNELS,
    EMAIL,
    PARTS,
    SMS,
    TELEGRAM,
    TELEGRAM_PARTS,
    custom_templates,
    render,
    shipped,
    telegram_part,
)
from services.outbox import BLOCKED, HTML, NO_EMAIL, NO_PHONE, enqueue

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """Which channels a message goes by to one person, with the addresses, and what was missing."""

    kind: str
    user: User
    going: list[tuple[str, str]] = field(default_factory=list)  # (channel, address)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (channel, why)
    rest: list[str] = field(default_factory=list)  # fallback channels not tried yet

    @property
    def telegram(self) -> bool:
        return any(channel == TELEGRAM for channel, _ in self.going)


_WHY = {TELEGRAM: BLOCKED, EMAIL: NO_EMAIL, SMS: NO_PHONE}  # shown translated in the panel


class Channels:
    """One unit of work's notifications: the settings, templates and organisations read once, the outbox rows
    written in the caller's transaction."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session = session
        self.now = now
        self._settings: dict[str, KindChannels] | None = None
        self._custom: dict[tuple[str, str], str] | None = None
        self._orgs: dict[int, Company | None] = {}

    async def _kind(self, kind: str) -> KindChannels:
        if self._settings is None:
            self._settings = await settings(self.session)
        return self._settings[kind]

    async def organisation(self, user: User) -> Company | None:
        org_id = user.organisation_id
        if org_id is None:
            return None
        if org_id not in self._orgs:
            self._orgs[org_id] = await self.session.get(Company, org_id)
        return self._orgs[org_id]

    async def custom(self) -> dict[tuple[str, str], str]:
        """The admins' templates, read once for the unit of work."""
        if self._custom is None:
            self._custom = await custom_templates(self.session)
        return self._custom

    async def common(self, user: User) -> dict[str, Any]:
        """The variables every kind has: the person's name and their organisation's."""
        org = await self.organisation(user)
        return {"person": user.name, "organisation": org.name if org is not None else ""}

    async def telegram_edited(self, kind: str) -> bool:
        """Whether an admin replaced a Telegram template of the kind (in any language)."""
        custom = await self.custom()
        return any((kind, part) in custom for part in TELEGRAM_PARTS.values())

    async def telegram(
        self, kind: str, user: User, lang: str | None, variables: dict[str, Any]
    ) -> tuple[str, str | None]:
        """A Telegram message's text and parse mode: the admin's template of the kind in the person's language over
        the variables (`text`: the bot's own wording), as HTML; without one, the bot's wording as plain text. A
        template that fails when filled in or gives HTML Telegram would refuse (it was checked when saved, so only
        with values nobody foresaw) gives way to the bot's wording: the message is never lost to it."""
        text = str(variables["text"])
        source = (await self.custom()).get((kind, telegram_part(lang)))
        if source is None:
            return text, None
        part = telegram_part(lang)
        try:
            shown = render(source, part, {**await self.common(user), **variables})
        except Exception:
            log.exception("the Telegram template %s/%s failed; the bot's wording goes instead", kind, part)
            return text, None
        wrong = tg_html.problem(shown)
        if wrong is not None or not shown.strip():
            log.warning("the Telegram template %s/%s gave what Telegram refuses (%s)", kind, part, wrong or "empty")
            return text, None
        return shown, HTML

    async def address(self, user: User, channel: str) -> str | None:
        if channel == TELEGRAM:
            return None if user.unreachable_at is not None else str(user.tg_id)
        if channel == SMS:
            return user.phone or None
        org = await self.organisation(user)
        return user.email or (org.email if org is not None else None) or None

    async def plan(self, kind: str, user: User) -> Plan:
        setting = await self._kind(kind)
        plan = Plan(kind, user)
        tried = [channel for channel in CHANNELS if setting.on(channel)]
        for channel in tried:
            to = await self.address(user, channel)
            if to:
                plan.going.append((channel, to))
            else:
                plan.missing.append((channel, _WHY[channel]))
        fallback = [channel for channel in setting.fallback if channel not in tried]
        while not plan.going and fallback:
            channel = fallback.pop(0)
            to = await self.address(user, channel)
            if to:
                plan.going.append((channel, to))
            else:
                plan.missing.append((channel, _WHY[channel]))
        plan.rest = fallback
        return plan

    async def deliver(
        self, plan: Plan, variables: dict[str, Any], *, case_id: int | None, telegram_row: Outbox | None = None
    ) -> None:
        """Writes the plan's e-mail and SMS rows and a failed row for each channel the person lacked. The one
        row that goes carries what the rest of the fallback needs if it then fails for good."""
        user = plan.user
        variables = {**await self.common(user), **variables}
        notice = {"kind": plan.kind, "user_id": user.id, "person": user.name, "case_id": case_id, "vars": variables}
        for channel, why in plan.missing:
            self._failed(channel, user, plan.kind, why, case_id)
        rows: list[Outbox] = []
        for channel, to in plan.going:
            if channel == TELEGRAM:
                if telegram_row is not None:
                    rows.append(telegram_row)
                continue
            rows.append(await self.write(channel, to, plan.kind, variables, case_id, notice, user.language))
        if len(rows) == 1 and plan.rest:
            row = rows[0]
            row.payload = {**row.payload, "notice": {**notice, "fallback": plan.rest}}

    async def write(
        self,
        channel: str,
        to: str,
        kind: str,
        variables: dict[str, Any],
        case_id: int | None,
        notice: dict[str, Any],
        lang: str | None,
    ) -> Outbox:
        """An e-mail or SMS row: each part the admin's template, else the shipped one in the reader's language."""
        custom = await self.custom()
        part = {
            name: render(custom.get((kind, name)) or shipped(kind, name, lang), name, variables)
            for name in PARTS[channel]
        }
        extra = {"person": notice["person"], "user_id": notice["user_id"], "notification": kind}
        if channel == SMS:
            return sms_repo.enqueue(self.session, to, part["sms"], self.now, case_id=case_id, extra=extra)
        payload = {"to": to, "subject": part["subject"], "body": part["text"], "html": part["html"], "file_ids": []}
        row = enqueue(self.session, chat_id=0, method="email", payload={**payload, **extra}, now=self.now,
                      case_id=case_id)  # fmt: skip
        row.channel = EMAIL
        return row

    def _failed(self, channel: str, user: User, kind: str, why: str, case_id: int | None) -> None:
        """A channel the person lacks, on the record: a failed row the panel lists (nobody sends it)."""
        row = Outbox(
            channel=channel,
            chat_id=user.tg_id if channel == TELEGRAM else 0,
            method="unreachable",
            payload={"person": user.name, "user_id": user.id, "notification": kind},
            case_id=case_id,
            status=OutboxStatus.FAILED,
            attempts=0,
            created_at=self.now,
            error=why,
        )
        self.session.add(row)


def notices(rows: Iterable[Outbox]) -> list[Outbox]:
    """The rows among those failed for good that are notifications: their fallback is `after_failure`'s, and
    without one the panel lists them (nobody is asked to send a reminder by hand)."""
    return [row for row in rows if "notification" in row.payload or isinstance(row.payload.get("notice"), dict)]


async def after_failure(session: AsyncSession, rows: Sequence[Outbox], now: datetime) -> None:
    """Notifications that failed for good when sent: the next fallback channel the person has goes instead;
    each one the person lacks is recorded as failed, as when planned."""
    channels = Channels(session, now)
    for row in notices(rows):
        if not isinstance(row.payload.get("notice"), dict):
            continue  # no fallback left: the panel lists it
        notice = dict(row.payload["notice"])
        user = await session.get(User, notice.get("user_id"))
        rest = [c for c in notice.get("fallback", []) if c in CHANNELS and c != row.channel]
        if user is None:
            continue
        while rest:
            channel = rest.pop(0)
            if channel == TELEGRAM:
                continue  # Telegram's wording (cards, buttons) is the notifier's, made when the message was
            to = await channels.address(user, channel)
            if not to:
                channels._failed(channel, user, notice["kind"], _WHY[channel], notice.get("case_id"))
                continue
            fresh = await channels.write(
                channel, to, notice["kind"], dict(notice["vars"]), notice.get("case_id"), notice, user.language
            )
            if rest:
                fresh.payload = {**fresh.payload, "notice": {**notice, "fallback": rest}}
            break
