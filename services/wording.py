"""Words for people, from engine state: labels in the reader's language, dates in the company's time zone,
field values and summaries. Neutral to the channel: the chat, the panel, reports and e-mail all use it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flows import forms
from flows import values as field_values
from flows.calendar import WorkCalendar
from flows.clock import Clock
from flows.context import case_context
from flows.i18n import _
from flows.items import item_work_title
from flows.model import FILE_TYPES, FieldDef, ProcessDef, TaskDef, local
from flows.runtime import START_TASK, STARTED_BY, CaseState, TaskState, task_def
from flows.spec_cache import SpecCache
from flows.status import CaseStatus
from flows.templating import TemplateError, render
from flows.values import number_sign
from services.i18n import Translator

if TYPE_CHECKING:
    from services.comments import Entry


# Roles are keys in the definitions, which give them no titles yet; the library's roles are named here, for
# the chat and the panel alike (a person must never read «shop_manager»).
ORGANISATION_KINDS = {"dealer": _("Dealer"), "supplier": _("Supplier"), "client": _("Client")}

ROLES = {
    "admin": _("Administrator"),
    "representative": _("Representative"),
    "rep_service": _("Representative's service engineer"),
    "regional_rep": _("Regional representative"),
    "dealer_manager": _("Dealer's manager"),
    "dealer_service": _("Dealer's service engineer"),
    "dealer_staff": _("Dealer's employee"),
    "shop_manager": _("Shop manager"),
    "shop_admin": _("Shop administrator"),
    "director": _("Director"),
    "service_manager": _("Service centre manager"),
    "warehouse_head": _("Head of warehouse"),
    "accountant": _("Accountant"),
    "account_manager": _("Account manager"),
    "general_director": _("General director"),
    "warehouse_worker": _("Warehouse worker"),
    "lawyer": _("Lawyer"),
    "sales_manager": _("Sales manager"),
    "commercial_director": _("Commercial director"),
    "deputy_director": _("Deputy director"),
    "production_head_1": _("Head of production 1"),
    "production_head_2": _("Head of production 2"),
    "security": _("Security"),
    "finance_director": _("Finance director"),
    "logistics_head": _("Head of logistics"),
    "logistics": _("Logistics"),
    "operator": _("Operator"),
    "production_manager": _("Production manager"),
    "security_head": _("Head of security"),
}


def words_of_key(key: str) -> str:
    """A key nobody has named yet, shown as words rather than as «some_key»."""
    return key.replace("_", " ").replace(".", " ").strip().capitalize()


def entry_name(label: str, index: int, count: int, lang: str | None = "ru") -> str:
    """A list's entry as a person reads it: «Позиции №2» among several («Watch #2» in English), «Позиции» when it
    is the only one."""
    return f"{label} {number_sign(lang)}{index + 1}" if count > 1 else label


def file_fields(spec: ProcessDef) -> list[str]:
    """The case's fields that hold files, lists whose entries hold files included."""
    return list(_file_fields(spec))


# The emoji a button's label or a decision's words begin with («✖️ Нецелевой», «↩️ Вернуть с замечаниями»).
_MARKS = re.compile(r"^[^\w«“\"'(]+")

# Per spec: every task card counts the case's files, and the fields that hold them depend on the definition alone.
_FILE_FIELDS: SpecCache[ProcessDef, None, tuple[str, ...]] = SpecCache(256)


def _file_fields(spec: ProcessDef) -> tuple[str, ...]:
    hit = _FILE_FIELDS.get(spec, None)
    if hit is not None:
        return hit
    names = tuple(
        name
        for name, fdef in spec.fields.items()
        if fdef.type in FILE_TYPES
        or (fdef.type == "list" and any(sub.type in FILE_TYPES for sub in (fdef.fields or {}).values()))
    )
    return _FILE_FIELDS.put(spec, None, names)


def file_count(spec: ProcessDef, data: Mapping[str, Any]) -> int:
    """How many files the case holds (`len(Wording.files(spec, data, file_fields(spec), lang))` without wording
    a label for each: a card shows only the number)."""
    count = 0
    for name, subs in _file_plan(spec):
        value = data.get(name)
        if subs is None:
            count += _ref_count(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    for key in subs:
                        count += _ref_count(item.get(key))
    return count


# Per spec, each field that holds files with None, or a list's name with its entries' fields that hold them: every
# task card counts the files, and which fields to look in depends on the definition alone.
_FILE_PLANS: SpecCache[ProcessDef, None, tuple[tuple[str, tuple[str, ...] | None], ...]] = SpecCache(256)


def _file_plan(spec: ProcessDef) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    hit = _FILE_PLANS.get(spec, None)
    if hit is not None:
        return hit
    plan = []
    for name in _file_fields(spec):
        fdef = spec.fields[name]
        subs = tuple(k for k, sub in (fdef.fields or {}).items() if sub.type in FILE_TYPES)
        plan.append((name, None if fdef.type in FILE_TYPES else subs))
    return _FILE_PLANS.put(spec, None, tuple(plan))


def _ref_count(value: Any) -> int:
    """`len(_refs(value))` without the list."""
    if isinstance(value, list):
        return sum(1 for ref in value if isinstance(ref, dict) and ref.get("id") is not None)
    return 1 if isinstance(value, dict) and value.get("id") is not None else 0


class Wording:
    def __init__(
        self, translator: Translator, tz: ZoneInfo, *, calendar: WorkCalendar | None = None, clock: Clock | None = None
    ) -> None:
        """`calendar` and `clock`: the case's, for how late a deadline is (`due`); without them a due date is only
        its moment (a diagram's legend, a test of the words)."""
        self.tr = translator
        self.tz = tz
        self.calendar = calendar
        self.clock = clock

    def t(self, message: str, lang: str | None, **params: Any) -> str:
        return self.tr.t(message, lang, **params)

    def when(self, moment: datetime | None, lang: str | None = None) -> str:
        """A moment in the company's time zone, in the reader's way («07.12.2026 18:00», «Dec 7, 2026 18:00»)."""
        if moment is None:
            return "—"
        return _when(moment, self.tz, self.tr.lang(lang))

    def due(self, moment: datetime | None, lang: str | None = None) -> str:
        """A task's due date for a person («01.12.2026 09:00»), marked when it has passed by the case's clock:
        «01.12.2026 09:00 ⚠️ просрочено на 3 раб. дня». How late in the calendar's working time (as deadlines are
        set): whole working days, else whole hours, else just the mark (past it out of hours, or by minutes).
        True when rendered: a card sent before the deadline keeps its words until something edits it."""
        when = self.when(moment, lang)
        if moment is None or self.clock is None or self.calendar is None:
            return when
        now = self.clock.now()
        if moment >= now:
            return when
        hours = self.calendar.working_hours_between(moment, now)
        day = self.calendar.hours.length.total_seconds() / 3600
        if hours >= day:
            late = self.tr.tn("⚠️ %(n)s working day overdue", "⚠️ %(n)s working days overdue", int(hours // day), lang)
        elif hours >= 1:
            late = self.tr.tn("⚠️ %(n)s hour overdue", "⚠️ %(n)s hours overdue", int(hours), lang)
        else:
            late = self.t("⚠️ overdue", lang)
        return f"{when} {late}"

    def comment_line(self, entry: Entry, lang: str | None) -> str:
        """One comment of a thread: who and when (🔒 for an internal note), whom it answers, what it says and
        the file it carries."""
        comment = entry.comment
        head = ("🔒 " if comment.internal else "💬 ") + f"{entry.author}, {self.when(comment.created_at, lang)}"
        if entry.reply_to is not None:
            head += " " + self.t("(reply to %(who)s)", lang, who=entry.reply_author)
        body = comment.text
        if entry.file is not None:
            body = f"{body} 📎 {entry.file.file_name}".strip()
        return f"{head}: {body}"

    def template(
        self, text: Any, spec: ProcessDef, data: dict[str, Any], lang: str | None, extra: dict[str, Any] | None = None
    ) -> str:
        source = self.tr.local(text, lang)
        try:
            return render(source, case_context(spec, data, extra, lang=self.tr.lang(lang))).strip()
        except TemplateError:
            return source

    def role(self, role: str | None, lang: str | None) -> str:
        if not role:
            return ""
        return self.t(ROLES[role], lang) if role in ROLES else words_of_key(role)

    def roles(self, roles: Any, lang: str | None) -> str:
        return ", ".join(self.role(r, lang) for r in sorted(roles)) or "—"

    def files(
        self, spec: ProcessDef, data: Mapping[str, Any], names: list[str], lang: str | None
    ) -> list[tuple[str, dict[str, Any]]]:
        """The files stored in these fields, each with the words that say what it is («Фото дефекта · Часы №2»);
        files inside list entries included — that is where the per-unit photos live."""
        found: list[tuple[str, dict[str, Any]]] = []
        for name in names:
            fdef = spec.fields.get(name)
            if fdef is None:
                continue
            if fdef.type in FILE_TYPES:
                label = self.local(fdef.label, lang)
                found += [(label, ref) for ref in _refs(data.get(name))]
            elif fdef.type == "list" and fdef.fields:
                value = data.get(name)
                entries = value if isinstance(value, list) else []
                for index, item in enumerate(entries):
                    if not isinstance(item, Mapping):
                        continue
                    entry = entry_name(self.local(fdef.entry or fdef.label, lang), index, len(entries),
                                       self.tr.lang(lang))  # fmt: skip
                    for key, sub in fdef.fields.items():
                        if sub.type in FILE_TYPES:
                            label = f"{self.local(sub.label, lang)} · {entry}"
                            found += [(label, ref) for ref in _refs(item.get(key))]
        return found

    def stage_title(self, spec: ProcessDef, stage: str, lang: str | None) -> str:
        if stage == START_TASK:
            return self.t("Filling in the request", lang)
        try:
            return self.tr.local(spec.stage(stage).title, lang)
        except KeyError:
            return stage

    def initiator(self, data: Mapping[str, Any], name: str, lang: str | None) -> str:
        """Who started a case, as its card and page say it: a person, or — when nobody in chat did — a site's form
        or the schedule (its `initiator` is then only the role's person the case was started for)."""
        started = data.get(STARTED_BY)
        if isinstance(started, dict) and "lead" in started:
            return self.t("a request from the site", lang)
        if isinstance(started, dict) and "schedule" in started:
            return self.t("the schedule", lang)
        return name

    def case_name(self, case: CaseState, lang: str | None) -> str:
        title = case.title_in(self.tr.lang(lang)) or self.tr.local(case.spec.title, lang)
        return f"{number_sign(self.tr.lang(lang))}{case.id} · {title}"

    def task_title(
        self, spec: ProcessDef, task: TaskState, lang: str | None, data: Mapping[str, Any] | None = None
    ) -> str:
        """A task's title; one about an item is named by the item over the case's `data` when given."""
        if task.key == START_TASK:
            return self.t("New case: %(process)s", lang, process=self.tr.local(spec.title, lang))
        named = item_work_title(spec, task.key, data) if data is not None else None
        if named is not None:
            return self.tr.local(named, lang)
        return self.tr.local(task_def(spec, task.stage, task.key).title, lang)

    def released_line(self, case: CaseState, task: TaskState, holder: str | None, lang: str | None) -> str:
        """Where a task went when its holder lost the role or left: «• “Task” (№12 · …) → Сергей» (a pool of one, an
        admin for a personal task), or to the role's people."""
        where = holder or self.t("to the people with the role “%(role)s”", lang, role=self.role(task.role, lang))
        title, name = self.task_title(case.spec, task, lang, case.data), self.case_name(case, lang)
        return self.t("• “%(task)s” (%(case)s) → %(where)s", lang, task=title, case=name, where=where)

    def duration(self, seconds: float, lang: str | None) -> str:
        minutes = round(seconds / 60)
        return self.t("%(h)s h %(m)02d min", lang, h=minutes // 60, m=minutes % 60)

    def outcome_label(self, tdef: TaskDef, outcome: str | None, lang: str | None) -> str:
        if outcome is None:
            return ""
        odef = tdef.outcome_defs().get(outcome)
        return self.tr.local(odef.label, lang) if odef else outcome

    def decision(self, tdef: TaskDef, outcome: str | None, lang: str | None) -> tuple[str, str]:
        """A decision made, as its result and its mark («✖️», «Отклонено»): not the button's order («Отклонить»)
        under a green tick. The words are the outcome's `done`, else its label; the mark is the one they or the
        button carry («↩️ Вернуть с замечаниями»), else a cross for an approval's «no» and a tick otherwise."""
        odef = tdef.outcome_defs().get(outcome or "")
        if odef is None:
            return "✅", outcome or ""
        label = self.tr.local(odef.label, lang)
        words = self.tr.local(odef.done, lang) if odef.done is not None else label
        mark = _MARKS.match(words) or _MARKS.match(label)
        result = _MARKS.sub("", words)
        if mark is not None:
            return mark.group().strip(), result
        return ("✖️" if tdef.kind == "approve" and outcome == "reject" else "✅"), result

    def format_field(
        self, fdef: FieldDef, value: Any, lang: str | None, spec: ProcessDef, names: dict[int, str] | None = None
    ) -> str:
        if value is None or value == "" or value == []:
            return "—"
        if fdef.type == "text" and isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
            return self.local(value, lang) or "—"  # written by the system in every language (a report's summary)
        if fdef.type in ("photo", "document"):
            files = value if isinstance(value, list) else [value]
            return self.files_words([f for f in files if isinstance(f, dict)], lang)
        if fdef.type == "directory" and fdef.directory:
            entry = spec.directory_entry(fdef.directory, str(value))
            return entry.name if entry else str(value)
        if fdef.type == "company":
            return str(value.get("name", "?")) if isinstance(value, dict) else str(value)
        if fdef.type == "user":
            return (names or {}).get(int(value), str(value)) if isinstance(value, int) else str(value)
        if fdef.type == "choice" and fdef.options:
            return self.tr.local(fdef.options.get(str(value), str(value)), lang)
        if fdef.type == "bool":
            return self.t("yes", lang) if value else self.t("no", lang)
        try:
            shown = field_values.format_value(fdef.type, value, lang=self.tr.lang(lang))
        except (ValueError, TypeError, KeyError, ArithmeticError):  # a number no answer could give (1e30): as stored
            return str(value)
        unit = fdef.unit_after(value, self.tr.lang(lang)) if fdef.type == "number" else ""
        return f"{shown} {unit}" if unit else shown  # «Количество: 2 шт», «Deferral, days: 30» (the label says it)

    def summary(
        self,
        spec: ProcessDef,
        names: list[str],
        data: dict[str, Any],
        lang: str | None,
        fields: Mapping[str, FieldDef] | None = None,
        earlier: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """One line per field, one block per list entry (its title, then its fields indented; a numbered line per
        entry when the list says how one reads, `line:`), files counted
        rather than named by their meaningless file names — to be read on a phone. `earlier`: the values later
        answers replaced (the case's EARLIER), shown under the field's line («ранее: …»)."""
        lines: list[str] = []
        fields = fields if fields is not None else spec.fields
        for name in names:
            fdef = fields[name]
            value = data.get(name)
            if fdef.hidden:
                continue
            if fdef.type == "list" and fdef.fields:
                items = value if isinstance(value, list) else []
                if fdef.line is not None:
                    lines += self._entry_lines(spec, fdef, items, data, lang)
                    lines += self.list_total(spec, fdef, items, data, lang)
                    continue
                later = {n for stage in fdef.track.stages for n in stage.requires} if fdef.track else set()
                for index, item in enumerate(items):
                    if lines and lines[-1] != "":
                        lines.append("")  # a blank line sets each entry apart
                    named = fdef.entry or fdef.label  # «Позиция №2», not «Позиции №2»
                    name_of = entry_name(self.tr.local(named, lang), index, len(items), self.tr.lang(lang))
                    lines.append(f"{name_of}:")
                    entry = item if isinstance(item, dict) else {}
                    for k, sub in fdef.fields.items():
                        if sub.hidden:
                            continue
                        if not forms.condition_holds(sub.ask_if, entry) or (k in later and entry.get(k) is None):
                            continue  # not asked for this entry, or not yet: a track's stage asks it
                        shown = _hang(self.summary_value(sub, entry.get(k), lang, spec), "      ")
                        lines.append(f"   {self.tr.local(sub.label, lang)}: {shown}")
                if items:
                    lines += self.list_total(spec, fdef, items, data, lang)
                    lines.append("")
                continue
            if name not in data:
                continue
            line = f"{self.tr.local(fdef.label, lang)}: {_hang(self.summary_value(fdef, value, lang, spec), '   ')}"
            notes = [n for n in ((earlier or {}).get(name) or []) if isinstance(n, Mapping)]
            if notes:
                if notes[-1].get("as"):  # the value now was asked in other words («Дата возврата из ремонта»)
                    line += f" ({self.tr.local(notes[-1]['as'], lang)})"
                before = ", ".join(self.summary_value(fdef, n.get("value"), lang, spec) for n in reversed(notes))
                before = _hang(before, "      ")
                line += "\n   " + self.t("earlier: %(values)s", lang, values=before)
            lines.append(line)
        while lines and lines[-1] == "":
            lines.pop()
        return lines

    def _entry_lines(
        self, spec: ProcessDef, fdef: FieldDef, items: list[Any], data: dict[str, Any], lang: str | None
    ) -> list[str]:
        """A list whose definition says how an entry reads (`line:`): its label, then a numbered line per entry."""
        if not items:
            return []
        lines = [f"{self.tr.local(fdef.label, lang)}:"]
        for index, item in enumerate(items, 1):
            entry = item if isinstance(item, dict) else {}
            lines.append(f"{index}. {self.template(fdef.line, spec, data, lang, {'item': entry})}")
        return lines

    def list_total(
        self, spec: ProcessDef, fdef: FieldDef, items: list[Any], data: dict[str, Any], lang: str | None
    ) -> list[str]:
        """The list's `total` line (what an order comes to) under its entries; nothing for an empty list."""
        if fdef.total is None or not items:
            return []
        said = self.template(fdef.total, spec, data, lang)
        return [said] if said.strip() else []

    def summary_value(self, fdef: FieldDef, value: Any, lang: str | None, spec: ProcessDef) -> str:
        if fdef.type == "photo":
            count = len(_refs(value))
            return self.photos(count, lang) if count else "—"
        if fdef.type == "document":
            refs = _refs(value)
            return self.files_words(refs, lang) if refs else "—"
        return self.format_field(fdef, value, lang, spec)

    def photos(self, count: int, lang: str | None) -> str:
        return self.tr.tn("%(n)s photo", "%(n)s photos", count, lang)

    def files_words(self, refs: list[dict[str, Any]], lang: str | None) -> str:
        """Files as a person calls them: photos counted («2 фото и act.pdf», a lone one «фото») — a photo's stored
        name is Telegram's id (photo_AQAD….jpg), which means nothing to anyone; documents by the names they came
        with."""
        photos = sum(1 for ref in refs if ref.get("kind") == "photo")
        words = [self.t("a photo", lang) if photos == 1 else self.photos(photos, lang)] if photos else []
        words += [str(ref.get("name") or self.t("file", lang)) for ref in refs if ref.get("kind") != "photo"]
        if len(words) > 1:
            return self.t("%(items)s and %(last)s", lang, items=", ".join(words[:-1]), last=words[-1])
        return words[0] if words else "—"

    def entry_words(self, fdef: FieldDef, entry: Any, lang: str | None, spec: ProcessDef) -> str:
        """One entry of a list in a line («УЗИ аппарат, Под заказ, 3 500 000,00 ₽»), for a list asked again and the
        buttons that pick an entry: its answers in the order of the list's fields (a stored entry's keys may come
        back in any order), each in the summary's words; files, unanswered fields and those not asked of it left
        out, as the summary leaves them."""
        item = entry if isinstance(entry, Mapping) else {}
        return ", ".join(
            self.summary_value(sub, item[key], lang, spec)
            for key, sub in (fdef.fields or {}).items()
            if sub.type not in FILE_TYPES
            and not sub.hidden
            and item.get(key) not in (None, "")
            and not isinstance(item[key], list)  # nested values (a list in a list) say nothing in one line
            and forms.condition_holds(sub.ask_if, item)
        )

    def _number_range(self, fdef: FieldDef, lang: str | None) -> str:
        low = _limit(fdef.min) if fdef.min is not None else None
        high = _limit(fdef.max) if fdef.max is not None else None
        whole = fdef.integer
        if low is not None and high is not None:
            text = _("Send a whole number from %(low)s to %(high)s.") if whole else _(
                "Send a number from %(low)s to %(high)s.")
        elif low is not None:
            text = _("Send a whole number, at least %(low)s.") if whole else _("Send a number, at least %(low)s.")
        else:
            text = _("Send a whole number, at most %(high)s.") if whole else _("Send a number, at most %(high)s.")
        return self.t(text, lang, low=low, high=high)

    def type_hint(self, fdef: FieldDef, lang: str | None) -> str:
        hints = {
            "number": _("Send a number."),
            "money": _("Send an amount, for example %(whole)s or %(cents)s."),
            "date": _("Send a date: DD.MM.YYYY, “Dec 7” or “today”."),
            "datetime": _("Send a date and time as DD.MM.YYYY HH:MM."),
            "photo": _("Send one or more photos."),
            "document": _("Send a file."),
            "bool": _("Choose yes or no."),
            "company": _("Type the company's name: I will find it or create it."),
        }
        message = hints.get(fdef.type)
        if fdef.contact == "phone":
            message = _("Send a phone number with its code, for example +7 900 123-45-67.")
        elif fdef.contact == "email":
            message = _("Send an e-mail address, for example name@example.com.")
        elif fdef.full_name:
            message = _("Send the surname and the first name, for example Ivanova Marina.")
        if fdef.type == "document" and fdef.multiple:  # several files in one answer: not «a file»
            if fdef.accept:
                return self.t("Send the files (%(types)s), one or several.", lang, types=", ".join(fdef.accept))
            message = _("Send the files, one or several.")
        elif fdef.type == "document" and fdef.accept:
            return self.t("Send a file (%(types)s).", lang, types=", ".join(fdef.accept))
        if fdef.type == "number" and fdef.contact is None and (fdef.min is not None or fdef.max is not None):
            return self._number_range(fdef, lang)  # said before the answer, not only after a wrong one
        if message and fdef.type == "money":  # the amounts as the reader writes them, as its refusals give them
            return self.t(message, lang, **field_values.AMOUNT_EXAMPLES)
        return self.t(message, lang) if message else ""

    def local(self, text: Any, lang: str | None) -> str:
        return local(text, self.tr.lang(lang))


# A case's status as people read it (the card's «Статус», an export's column).
STATUS_WORDS: dict[str, str] = {
    CaseStatus.DRAFT: _("draft"),
    CaseStatus.ACTIVE: _("in progress"),
    CaseStatus.DONE: _("closed"),
    CaseStatus.CANCELLED: _("cancelled"),
}


def _hang(value: str, indent: str) -> str:
    """A value of several lines with its further lines under its label, not where the next label would be: read
    so on a phone, and so a message cut inside it knows whose value goes on (`services.pieces`)."""
    return value.replace("\n", "\n" + indent)


@lru_cache(maxsize=1024)
def _when(moment: datetime, tz: ZoneInfo, lang: str) -> str:
    # A step words the same deadlines several times (the card, its notification's variables, the stage's line).
    return field_values.datetime_text(moment.astimezone(tz), lang)


def _refs(value: Any) -> list[dict[str, Any]]:
    files = value if isinstance(value, list) else [value]
    return [f for f in files if isinstance(f, dict) and f.get("id") is not None]


def _limit(number: float) -> str:
    """A bound as a person writes it: 50, not 50.0."""
    return str(int(number)) if float(number).is_integer() else str(number)
