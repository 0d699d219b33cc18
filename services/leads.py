"""Leads from a web site's form: a submission starts a case of the process whose definition names the form.

The form posts its fields with the form's token (settings `lead_tokens`: form -> token) and, preferably, an
idempotency key; a submission with a key already seen returns the case it made (a double click, a browser's retry
make one lead). Without a key, the submission's own contents are the key. A burst is limited per form by a token
bucket kept in the database (`lead_buckets`): `per_minute` submissions at once, refilled at `per_minute` a minute,
the same for every worker and after a restart.
The case is started in the name of the first active person of the lead's `initiator` role, as a scheduled start
is, and the definition's first stage gives its work (the sales managers' pool).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Lead, LeadBucket
from flows.i18n import _
from flows.model import LeadFormDef, ProcessDef, local
from flows.values import InvalidAnswer, parse_contact, parse_full_name, parse_text
from services import people
from services.cases import CaseService
from services.core import Core
from services.i18n import LANGUAGES

log = logging.getLogger(__name__)

MAX_KEY = 128  # characters of an idempotency key (the column's size)
MAX_VALUE = 4000  # characters of one posted value


Problem = tuple[str, dict[str, Any]]  # a msgid and its parameters (worded by the front end, in its language)


class LeadRefused(Exception):
    """The submission is not taken: an HTTP status, a msgid with its parameters, and the fields at fault."""

    def __init__(
        self, status: int, message: str, fields: Mapping[str, Problem] | None = None, **params: Any
    ) -> None:
        super().__init__(message % params if params else message)
        self.status, self.message, self.params = status, message, params
        self.fields: dict[str, Problem] = dict(fields or {})  # posted name -> what is wrong with it


@dataclass(frozen=True)
class LeadForm:
    process: str
    spec: ProcessDef
    lead: LeadFormDef

    def fields(self, lang: str) -> list[tuple[str, str, bool]]:
        """The form's inputs for a page: posted name, the field's label, required."""
        required = set(self.spec.start.form)
        return [
            (param, local(self.spec.fields[name].label, lang), name in required and self.spec.fields[name].required)
            for name, param in self.lead.map.items()
        ]


@dataclass(frozen=True)
class LeadAccepted:
    case_id: int
    created: bool  # False: the same submission came before, and this is its case


TAKE_ATTEMPTS = 8  # compare-and-set rounds lost to other workers before a submission is refused as a burst


class Leads:
    def __init__(self, core: Core, tokens: Mapping[str, str], per_minute: int) -> None:
        self.core = core
        self.tokens = dict(tokens)
        self.per_minute = per_minute

    def form(self, name: str) -> LeadForm | None:
        """The form by its key, from the processes in use now (a form no process names is unknown)."""
        for spec in self.core.registry.current_specs():
            for lead in spec.leads:
                if lead.form == name:
                    return LeadForm(process=spec.process, spec=spec, lead=lead)
        return None

    async def submit(
        self, name: str, token: str | None, key: str | None, params: Mapping[str, str]
    ) -> LeadAccepted:
        form = self.form(name)
        if form is None:
            raise LeadRefused(404, _("There is no such form."))
        await self._throttle(name)
        expected = self.tokens.get(name)
        if not expected or not token or not hmac.compare_digest(token.encode(), expected.encode()):
            raise LeadRefused(401, _("The form's token is missing or wrong."))
        data = self._values(form, params)
        key = (key or "").strip() or _content_key(params)
        if len(key) > MAX_KEY:
            raise LeadRefused(400, _("The idempotency key is too long."), {"idempotency_key": (_("Too long"), {})})
        try:
            return await self._create(form, key, data)
        except IntegrityError:
            # The same submission came twice at once: the other one made the case.
            found = await self._existing(name, key)
            if found is None:
                raise
            return found

    async def _throttle(self, name: str) -> None:
        """Take a token from the form's bucket, or refuse the submission (429). Time is the company clock, so a test
        moves it rather than sleeps."""
        for _attempt in range(TAKE_ATTEMPTS):
            if await self._take(name):
                return
        raise LeadRefused(429, _("Too many submissions of this form; please try again in a minute."))

    async def _take(self, name: str) -> bool:
        """One compare-and-set round: True when a token was taken; raises when the bucket is empty; False when
        another worker changed the bucket meanwhile (try again)."""
        now = self.core.clock.now()
        capacity = float(self.per_minute)
        try:
            async with self.core.sessionmaker() as session, session.begin():
                bucket = await session.get(LeadBucket, name)
                if bucket is None:
                    session.add(LeadBucket(form=name, tokens=capacity - 1, version=1, updated_at=now))
                    return True
                return await self._take_from(session, bucket, now, capacity)
        except IntegrityError:
            return False  # another worker made the form's row first

    @staticmethod
    async def _take_from(session: AsyncSession, bucket: LeadBucket, now: datetime, capacity: float) -> bool:
        """Spend a token of the bucket as this worker read it; False if another worker changed it meanwhile."""
        elapsed = max((now - bucket.updated_at).total_seconds(), 0.0)
        tokens = min(capacity, bucket.tokens + elapsed * capacity / 60)
        if tokens < 1:
            raise LeadRefused(429, _("Too many submissions of this form; please try again in a minute."))
        taken = await session.execute(
            update(LeadBucket)
            .where(LeadBucket.form == bucket.form, LeadBucket.version == bucket.version)
            .values(tokens=tokens - 1, version=bucket.version + 1, updated_at=max(now, bucket.updated_at))
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(taken, "rowcount", 0) == 1)

    def _values(self, form: LeadForm, params: Mapping[str, str]) -> dict[str, Any]:
        """The case's fields from the posted values, each read as the field's type; every field at fault named."""
        spec = form.spec
        data: dict[str, Any] = {}
        wrong: dict[str, Problem] = {}
        today = self.core.clock.now().astimezone(self.core.calendar.tz).date()
        for name, param in form.lead.map.items():
            fdef = spec.fields[name]
            raw = params.get(param)
            text = raw.strip() if isinstance(raw, str) else ""
            if not text:
                if name in spec.start.form and fdef.required:
                    wrong[param] = (_("Required"), {})
                continue
            if len(text) > MAX_VALUE:
                wrong[param] = (_("Too long"), {})
                continue
            options = {k: local(v) for k, v in (fdef.options or {}).items()} if fdef.type == "choice" else None
            try:
                data[name] = parse_text(
                    fdef.type, text, options=options, today=today, minimum=fdef.min, maximum=fdef.max,
                    integer=fdef.integer, negative=fdef.negative,
                )
            except InvalidAnswer as error:
                wrong[param] = (error.message, error.params)
                continue
            contact = form.lead.contacts.get(name) or fdef.contact
            try:
                if contact is not None:
                    data[name] = parse_contact(contact, text, self.core.calendar.country)
                elif fdef.full_name:
                    data[name] = parse_full_name(text)
            except InvalidAnswer as error:
                wrong[param] = (error.message, error.params)
        if wrong:
            # The visitor reads the fields as the form labels them; `fields` keeps the posted names for the page.
            labels = {param: spec.fields[name].label for name, param in form.lead.map.items()}
            names = {lang: ", ".join(local(labels[p], lang) for p in wrong) for lang in LANGUAGES}
            raise LeadRefused(400, _("Please check the fields: %(names)s"), wrong, names=names)
        return data

    async def _existing(self, name: str, key: str) -> LeadAccepted | None:
        async with self.core.sessionmaker() as session:
            row = (await session.execute(select(Lead).where(Lead.form == name, Lead.key == key))).scalar_one_or_none()
        return LeadAccepted(case_id=row.case_id or 0, created=False) if row is not None else None

    async def _create(self, form: LeadForm, key: str, data: dict[str, Any]) -> LeadAccepted:
        name = form.lead.form
        async with self.core.sessionmaker() as session, session.begin():
            row = (await session.execute(select(Lead).where(Lead.form == name, Lead.key == key))).scalar_one_or_none()
            if row is not None:
                return LeadAccepted(case_id=row.case_id or 0, created=False)
            members = await people.members(session, form.lead.initiator)
            if not members:
                raise LeadRefused(503, _("Nobody can take leads yet; please try again later."))
            lead = Lead(form=name, key=key, created_at=self.core.clock.now())
            session.add(lead)
            await session.flush()  # the unique (form, key) refuses a twin submitted at the same moment
            loaded = await CaseService(self.core, session).start(
                members[0], form.process, data, scheduled=True, started_by={"lead": name}
            )
            lead.case_id = loaded.row.id
            case_id = loaded.row.id
        self.core.outbox_written()
        log.info("lead from form %s: case %s", name, case_id)
        return LeadAccepted(case_id=case_id, created=True)


def _content_key(params: Mapping[str, str]) -> str:
    """A submission without a key: the same contents are the same lead."""
    body = json.dumps(sorted((k, v) for k, v in params.items() if k != "token"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()
