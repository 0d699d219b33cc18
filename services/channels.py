"""Notification channels: which kinds of notification go by Telegram, e-mail and SMS, what each says there,
and what happens when a person cannot be reached by a channel.

Per kind (`KINDS`) an admin switches each channel on or off and sets a fallback order (`channel_settings`;
without a row: Telegram only, no fallback). For each message and person `Plan` decides which channels go:
- each channel switched on goes if the person has it: Telegram unless they blocked the bot, e-mail to their
  address (else their organisation's contact e-mail), SMS to their phone;
- a channel switched on that the person lacks is never skipped in silence: a failed outbox row records it
  (the panel's delivery problems list it with the reason);
- when none of the switched-on channels reached the person, the fallback channels are tried in order and the
  first the person has goes;
- a message that then fails for good when sent (the bot blocked meanwhile, a number the SMS gateway refuses)
  moves on to the rest of the fallback (`after_failure`), if it was the only channel that went.

What each channel says comes from templates per kind and part (`PARTS`: an e-mail's subject, text and HTML; an
SMS's text; a Telegram message's text in Russian and in English): jinja2 over the variables of the kind
(`VARIABLES`), with shipped defaults an admin may replace in the panel; `check` refuses a template with a syntax
error or a variable the kind does not have. The bot's own wording of a message (a card, a reminder…, in the
reader's language) is the `text` variable. A Telegram template is Telegram's HTML (services/tg_html.py): the
variables are escaped, what the admin wrote around them must be HTML Telegram parses, and the message goes with
parse_mode HTML, cut into several when longer than Telegram takes; the shipped one is `{{ text }}`, and while an
admin has not replaced it the message goes exactly as the bot words it (plain text), its buttons unchanged either
way. A person reads the template of their language (`telegram_part`).
A person who muted a case (services/following.py) is not sent its stage lines by any channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jinja2
import jinja2.meta
import jinja2.sandbox
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ChannelSetting, Company, MessageTemplate, Outbox, User
from flows.i18n import _
from flows.status import OutboxStatus
from services import people, tg_html
from services import sms as sms_repo
from services.outbox import HTML, enqueue

log = logging.getLogger(__name__)

TELEGRAM, EMAIL, SMS = "telegram", "email", "sms"
CHANNELS = (TELEGRAM, EMAIL, SMS)
KINDS = ("notify", "task_assigned", "reminder", "escalation", "stage_change", "digest", "comment")
KIND_TITLES = {
    "notify": "A definition's notification",
    "task_assigned": "Task assigned",
    "reminder": "Reminder",
    "escalation": "Escalation",
    "stage_change": "Stage change",
    "digest": "Digest",
    "comment": "Comment on a case",
}
# The templated parts of each channel: Telegram's, one per language a person may read the bot in.
TELEGRAM_PARTS = {"ru": "telegram_ru", "en": "telegram_en"}
PARTS = {TELEGRAM: tuple(TELEGRAM_PARTS.values()), EMAIL: ("subject", "text", "html"), SMS: ("sms",)}
ALL_PARTS = ("subject", "text", "html", "sms", *TELEGRAM_PARTS.values())
TELEGRAM_MAX_SOURCE = 3000  # a Telegram template's own words, so that what it carries still fits a message

_COMMON = ("person", "organisation", "text")
_CASE = ("case_number", "case_title")
_TASK = ("task", "due")
VARIABLES: dict[str, tuple[str, ...]] = {
    "notify": (*_COMMON, *_CASE),
    "task_assigned": (*_COMMON, *_CASE, *_TASK),
    "reminder": (*_COMMON, *_CASE, *_TASK),
    "escalation": (*_COMMON, *_CASE, *_TASK, "holder"),
    "stage_change": (*_COMMON, *_CASE, "stage"),
    "digest": _COMMON,
    "comment": (*_COMMON, *_CASE, "author"),  # text: the comment's line (who, when, what, the file's name)
}

_TEXT = "{{ person }},\n\n{{ text }}\n"
_HTML = "<p>{{ person }},</p>\n{% for line in text.splitlines() %}<p>{{ line }}</p>\n{% endfor %}"
DEFAULTS: dict[str, dict[str, str]] = {
    "notify": {
        "subject": "Дело №{{ case_number }}: {{ case_title }}",
        "sms": "Дело №{{ case_number }}: {{ text|truncate(120) }}",
    },
    "task_assigned": {
        "subject": "Новая задача: {{ task }} (дело №{{ case_number }})",
        "sms": "Задача «{{ task }}» по делу №{{ case_number }}{% if due %}, срок {{ due }}{% endif %}",
    },
    "reminder": {
        "subject": "Напоминание: {{ task }} (дело №{{ case_number }})",
        "sms": "Напоминание: «{{ task }}» по делу №{{ case_number }}{% if due %}, срок {{ due }}{% endif %}",
    },
    "escalation": {
        "subject": "Просрочено: {{ task }} (дело №{{ case_number }})",
        "sms": "Просрочено: «{{ task }}» по делу №{{ case_number }}, у {{ holder }}",
    },
    "stage_change": {
        "subject": "Дело №{{ case_number }}: {{ stage }}",
        "sms": "Дело №{{ case_number }}: теперь «{{ stage }}»",
    },
    "digest": {"subject": "Сводка", "sms": "{{ text|truncate(140) }}"},
    "comment": {
        "subject": "Комментарий к делу №{{ case_number }}: {{ case_title }}",
        "sms": "Дело №{{ case_number }}, {{ author }}: {{ text|truncate(110) }}",
    },
}
_TELEGRAM = "{{ text }}"  # the bot's own wording, as it is
for _parts in DEFAULTS.values():
    _parts.setdefault("text", _TEXT)
    _parts.setdefault("html", _HTML)
    for _part in TELEGRAM_PARTS.values():
        _parts.setdefault(_part, _TELEGRAM)

# Admins' templates run sandboxed: they may only read the variables they are given. HTML (an e-mail's, a Telegram
# message's) escapes every variable.
_plain = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
_html = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=True)
# What a check fills the variables with: what people write may hold Telegram's HTML signs, and must stay text.
_SAMPLE = "x <y> & z"


def telegram_part(lang: str | None) -> str:
    """The Telegram template a person reads: their language's (Russian when it is neither)."""
    return TELEGRAM_PARTS.get(lang or "", TELEGRAM_PARTS["ru"])


class TemplateProblem(ValueError):
    """What is wrong with a template: an English msgid and its values, translated where it is shown."""

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(str(self))

    def __str__(self) -> str:
        return self.message % self.params if self.params else self.message

    def translated(self, t: Callable[..., str]) -> str:
        """In the reader's words: `t(msgid, **params)` is the translator's."""
        params = {k: t(v.message, **v.params) if isinstance(v, tg_html.Problem) else v for k, v in self.params.items()}
        return t(self.message, **params)


def _env(part: str) -> jinja2.Environment:
    return _html if part == "html" or part in TELEGRAM_PARTS.values() else _plain


def check(kind: str, part: str, source: str) -> None:
    """A template's syntax and variables, with what is wrong in words (`TemplateProblem`); a Telegram one also
    as Telegram would take it: its HTML, its length, nothing that lets people's words through unescaped."""
    if kind not in KINDS or part not in ALL_PARTS:
        raise TemplateProblem(_("unknown kind or part: %(kind)s/%(part)s"), kind=kind, part=part)
    if not source.strip():
        raise TemplateProblem(_("the template is empty"))
    env = _env(part)
    try:
        tree = env.parse(source)
        env.from_string(source)  # unknown filters and tests are found when compiled
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(_("line %(line)s: %(error)s"), line=exc.lineno, error=exc.message) from exc
    unknown = sorted(jinja2.meta.find_undeclared_variables(tree) - set(VARIABLES[kind]))
    if unknown:
        raise TemplateProblem(
            _("unknown variable(s): %(names)s; this kind has: %(known)s"),
            names=", ".join(unknown),
            known=", ".join(VARIABLES[kind]),
        )
    telegram = part in TELEGRAM_PARTS.values()
    if telegram:
        if len(source) > TELEGRAM_MAX_SOURCE:
            raise TemplateProblem(
                _("a Telegram template may have at most %(most)s characters; this one has %(count)s"),
                most=TELEGRAM_MAX_SOURCE,
                count=len(source),
            )
        if any(node.name == "safe" for node in tree.find_all(jinja2.nodes.Filter)):
            raise TemplateProblem(_("«safe» is not allowed: what people wrote would reach Telegram as HTML"))
    try:
        rendered = env.from_string(source).render(**{name: _SAMPLE for name in VARIABLES[kind]})
    except Exception as exc:  # a filter used on the wrong kind of value, a sandbox refusal
        error = f"{type(exc).__name__}: {exc}"
        raise TemplateProblem(_("the template fails when filled in: %(error)s"), error=error) from exc
    if telegram:
        if not rendered.strip():
            raise TemplateProblem(_("the template gives an empty message"))
        wrong = tg_html.problem(rendered)
        if wrong is not None:
            raise TemplateProblem(_("Telegram would refuse it: %(problem)s"), problem=wrong)


@dataclass(frozen=True)
class KindChannels:
    kind: str
    telegram: bool = True
    email: bool = False
    sms: bool = False
    fallback: tuple[str, ...] = ()

    def on(self, channel: str) -> bool:
        return bool(getattr(self, channel))


async def settings(session: AsyncSession) -> dict[str, KindChannels]:
    """Every kind's switches (the defaults for a kind nobody set). Read once per process: kept in the people
    directory, which every change of `channel_settings` clears (in every worker, see `PeopleDirectory`)."""
    directory = people.directory_of(session)
    if directory is not None:
        cached = directory.settings.get(_SETTINGS)
        if cached is not None:
            return dict(cached)
        generation = directory.generation
    found = {kind: KindChannels(kind) for kind in KINDS}
    for row in (await session.scalars(select(ChannelSetting))).all():
        if row.kind in found:
            fallback = tuple(c for c in row.fallback if c in CHANNELS)
            found[row.kind] = KindChannels(row.kind, row.telegram, row.email, row.sms, fallback)
    if directory is not None and directory.generation == generation:
        directory.settings[_SETTINGS] = dict(found)
    return found


_SETTINGS = "channel_settings"
_TEMPLATES = "message_templates"
_CUSTOM = "custom_message_templates"


async def save_settings(session: AsyncSession, value: KindChannels, now: datetime) -> None:
    if value.kind not in KINDS:
        raise ValueError(f"unknown notification kind: {value.kind}")
    fallback = [c for c in dict.fromkeys(value.fallback) if c in CHANNELS]
    row = await session.get(ChannelSetting, value.kind)
    if row is None:
        row = ChannelSetting(kind=value.kind, fallback=[], updated_at=now)
        session.add(row)
    row.telegram, row.email, row.sms, row.fallback, row.updated_at = (
        value.telegram, value.email, value.sms, fallback, now,
    )  # fmt: skip
    await session.flush()


async def custom_templates(session: AsyncSession) -> dict[tuple[str, str], str]:
    """The templates an admin wrote in place of the shipped ones."""
    rows = (await session.scalars(select(MessageTemplate))).all()
    return {(row.kind, row.part): row.source for row in rows if row.kind in KINDS and row.part in ALL_PARTS}


async def cached_custom_templates(session: AsyncSession) -> dict[tuple[str, str], str]:
    """`custom_templates`, read once per process like `settings` (every notification asks for them)."""
    directory = people.directory_of(session)
    if directory is not None:
        cached = directory.settings.get(_CUSTOM)
        if cached is not None:
            return dict(cached)
        generation = directory.generation
    found = await custom_templates(session)
    if directory is not None and directory.generation == generation:
        directory.settings[_CUSTOM] = dict(found)
    return found


async def templates(session: AsyncSession) -> dict[tuple[str, str], str]:
    """Every kind's template of every part: the admin's, else the shipped one."""
    directory = people.directory_of(session)  # cached like `settings`
    if directory is not None:
        cached = directory.settings.get(_TEMPLATES)
        if cached is not None:
            return dict(cached)
        generation = directory.generation
    found = {(kind, part): DEFAULTS[kind][part] for kind in KINDS for part in ALL_PARTS}
    found.update(await custom_templates(session))
    if directory is not None and directory.generation == generation:
        directory.settings[_TEMPLATES] = dict(found)
    return found


async def save_template(session: AsyncSession, kind: str, part: str, source: str | None, now: datetime) -> None:
    """An admin's template, checked first (`TemplateProblem`); `None` or the default brings the default back."""
    if source is None or source.strip() == DEFAULTS.get(kind, {}).get(part, "").strip():
        await session.execute(delete(MessageTemplate).where(MessageTemplate.kind == kind, MessageTemplate.part == part))
        return
    check(kind, part, source)
    row = await session.get(MessageTemplate, (kind, part))
    if row is None:
        session.add(MessageTemplate(kind=kind, part=part, source=source, updated_at=now))
    else:
        row.source, row.updated_at = source, now
    await session.flush()


def render(source: str, part: str, variables: dict[str, Any]) -> str:
    text = _env(part).from_string(source).render(**variables)
    return text.strip() if part in ("subject", "sms") or part in TELEGRAM_PARTS.values() else text


async def set_address(session: AsyncSession, user: User, *, phone: str | None, email: str | None) -> None:
    """A person's phone (normalised to E.164; `sms_repo.BadPhone` if it is none) and e-mail; empty clears."""
    user.phone = sms_repo.normalise_phone(phone) if phone and phone.strip() else None
    email = (email or "").strip()
    if email and ("@" not in email or " " in email):
        raise ValueError(f"not an e-mail address: {email!r}")
    user.email = email or None
    await session.flush()


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


_WHY = {
    TELEGRAM: "the person blocked the bot",
    EMAIL: "no e-mail address (neither the person's nor the organisation's)",
    SMS: "no phone number",
}


class Channels:
    """One unit of work's notifications: the settings, templates and organisations read once, the outbox rows
    written in the caller's transaction."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session = session
        self.now = now
        self._settings: dict[str, KindChannels] | None = None
        self._templates: dict[tuple[str, str], str] | None = None
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
            self._custom = await cached_custom_templates(self.session)
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
            rows.append(await self.write(channel, to, plan.kind, variables, case_id, notice))
        if len(rows) == 1 and plan.rest:
            row = rows[0]
            row.payload = {**row.payload, "notice": {**notice, "fallback": plan.rest}}

    async def write(
        self, channel: str, to: str, kind: str, variables: dict[str, Any], case_id: int | None, notice: dict[str, Any]
    ) -> Outbox:
        if self._templates is None:
            found = {(kind, part): DEFAULTS[kind][part] for kind in KINDS for part in ALL_PARTS}
            self._templates = {**found, **await self.custom()}
        part = {name: render(self._templates[(kind, name)], name, variables) for name in PARTS[channel]}
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
                channel, to, notice["kind"], dict(notice["vars"]), notice.get("case_id"), notice
            )
            if rest:
                fresh.payload = {**fresh.payload, "notice": {**notice, "fallback": rest}}
            break
