"""What each channel says: the kinds of notification and their variables, the templated parts of each channel, the
shipped defaults, an admin's templates (checked first: `check`, `TemplateProblem`) and their rendering."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import jinja2
import jinja2.meta
import jinja2.sandbox
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import MessageTemplate
from flows.i18n import _
from services import people, tg_html

TELEGRAM, EMAIL, SMS = "telegram", "email", "sms"
CHANNELS = (TELEGRAM, EMAIL, SMS)
KINDS = ("notify", "task_assigned", "reminder", "escalation", "stage_change", "digest", "comment")
KIND_TITLES = {
    "notify": _("A definition's notification"),
    "task_assigned": _("Task assigned"),
    "reminder": _("Reminder"),
    "escalation": _("Escalation"),
    "stage_change": _("Stage change"),
    "digest": _("Digest"),
    "comment": _("Comment on a case"),
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
        "sms": "Просрочено: «{{ task }}» по делу №{{ case_number }}, исполнитель: {{ holder }}",
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
# What an English reader's e-mail and SMS say where an admin has not written the part: the e-mail's subject and the
# SMS are the shipped words around the bot's own (its `text`, already in the reader's language), so they come in
# both languages; an admin's template is one for everyone.
DEFAULTS_EN: dict[str, dict[str, str]] = {
    "notify": {
        "subject": "Case #{{ case_number }}: {{ case_title }}",
        "sms": "Case #{{ case_number }}: {{ text|truncate(120) }}",
    },
    "task_assigned": {
        "subject": "New task: {{ task }} (case #{{ case_number }})",
        "sms": "Task “{{ task }}” on case #{{ case_number }}{% if due %}, due {{ due }}{% endif %}",
    },
    "reminder": {
        "subject": "Reminder: {{ task }} (case #{{ case_number }})",
        "sms": "Reminder: “{{ task }}” on case #{{ case_number }}{% if due %}, due {{ due }}{% endif %}",
    },
    "escalation": {
        "subject": "Overdue: {{ task }} (case #{{ case_number }})",
        "sms": "Overdue: “{{ task }}” on case #{{ case_number }}, held by {{ holder }}",
    },
    "stage_change": {
        "subject": "Case #{{ case_number }}: {{ stage }}",
        "sms": "Case #{{ case_number }}: now “{{ stage }}”",
    },
    "digest": {"subject": "Digest", "sms": "{{ text|truncate(140) }}"},
    "comment": {
        "subject": "Comment on case #{{ case_number }}: {{ case_title }}",
        "sms": "Case #{{ case_number }}, {{ author }}: {{ text|truncate(110) }}",
    },
}
_TELEGRAM = "{{ text }}"  # the bot's own wording, as it is
for _parts in (*DEFAULTS.values(), *DEFAULTS_EN.values()):
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
            raise TemplateProblem(_("“safe” is not allowed: what people wrote would reach Telegram as HTML"))
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


_CUSTOM = "custom_templates"


@people.cached_setting(_CUSTOM)
async def custom_templates(session: AsyncSession) -> dict[tuple[str, str], str]:
    """The templates an admin wrote in place of the shipped ones (cached like `settings`: every step that
    notifies someone asks whether a template replaces the bot's wording)."""
    rows = (await session.scalars(select(MessageTemplate))).all()
    return {(row.kind, row.part): row.source for row in rows if row.kind in KINDS and row.part in ALL_PARTS}


def shipped(kind: str, part: str, lang: str | None) -> str:
    """The part as the bot ships it, in the reader's language (Russian when it is neither)."""
    return (DEFAULTS_EN if lang == "en" else DEFAULTS)[kind][part]


async def templates(session: AsyncSession, lang: str | None) -> dict[tuple[str, str], str]:
    """Every kind's template of every part: the admin's, else the shipped one in `lang` (the panel's)."""
    found = {(kind, part): shipped(kind, part, lang) for kind in KINDS for part in ALL_PARTS}
    found.update(await custom_templates(session))
    return found


async def save_template(session: AsyncSession, kind: str, part: str, source: str | None, now: datetime) -> None:
    """An admin's template, checked first (`TemplateProblem`); `None` or a shipped one (in either language: the
    panel shows its admin's) brings the shipped ones back."""
    if source is None or source.strip() in {d.get(kind, {}).get(part, "").strip() for d in (DEFAULTS, DEFAULTS_EN)}:
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
