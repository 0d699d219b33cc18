"""What the panel says instead of internal keys: labels of statuses, roles and channels, and each history
entry as a sentence. Every text is an English msgid translated by the gettext catalogs (services/locales),
like the bot's texts; the panel speaks the settings' default language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_datetime
from babel.units import format_unit

from db.models import AuditEntry, Task
from flows.form_shape import COMMENT_LABEL, comment_field
from flows.i18n import _
from flows.items import (
    entry_fields,
    item_approval_title,
    item_edit_title,
    item_name,
    item_task_title,
    parse_item_approval,
    parse_item_edit,
    parse_item_task,
    track_of,
)
from flows.model import ProcessDef
from flows.runtime import START_TASK, task_def
from flows.values import number_sign
from services import outbox
from services.core import Core
from services.wording.names import ROLES, STATUS_WORDS

# A case's status in the chat's words (one table: a person sees one word for one status wherever it is said).
CASE_STATUS = STATUS_WORDS
TASK_STATUS = {"open": _("Open"), "done": _("Done"), "cancelled": _("Not needed any more")}
OUTBOX_STATUS = {
    "pending": _("Waiting"),
    "sending": _("Sending"),
    "sent": _("Sent"),
    "failed": _("Failed"),
    "uncertain": _("Unknown whether delivered"),
}
CHANNEL = {"telegram": _("Telegram"), "email": _("E-mail"), "sms": _("SMS")}
# The parts of a notification's templates (services/channels/ PARTS).
PART = {
    "subject": _("subject"),
    "text": _("text"),
    "html": _("HTML"),
    "sms": _("text"),
    "telegram_ru": _("in Russian"),
    "telegram_en": _("in English"),
}
# A file's size in the first of these it is under 1024 of (1024 to the next: the way file managers count).
FILE_UNITS = ("digital-byte", "digital-kilobyte", "digital-megabyte", "digital-gigabyte")
RESULT = {"success": _("successfully"), "failure": _("without success")}


class Words:
    def __init__(self, core: Core, lang: str) -> None:
        self.core = core
        self.lang = lang

    def t(self, message: str, **params: Any) -> str:
        return self.core.translator.t(message, self.lang, **params)

    @property
    def no(self) -> str:
        """The sign before a number as the reader writes it: «№3» in Russian, «#3» in English, as the chat says it."""
        return number_sign(self.lang)

    def file_size(self, size: int | None) -> str:
        """A file's size as people read it, in their language's units («512 Б», «1,2 кБ», «3,4 МБ»; CLDR's)."""
        amount, step = float(size or 0), 0
        while amount >= 1024 and step < len(FILE_UNITS) - 1:
            amount, step = amount / 1024, step + 1
        return format_unit(amount, FILE_UNITS[step], length="short", format="#,##0.#", locale=self.lang)

    def _label(self, labels: dict[str, str], key: str | None) -> str:
        if key is None:
            return ""
        if key in labels:
            return self.t(labels[key])
        # A key nobody has named yet: shown as words, never as «some_key».
        return key.replace("_", " ").replace(".", " ").strip().capitalize()

    def case_status(self, status: str) -> str:
        return self._label(CASE_STATUS, status)

    def task_status(self, status: str) -> str:
        return self._label(TASK_STATUS, status)

    def outbox_status(self, status: str) -> str:
        return self._label(OUTBOX_STATUS, status)

    def channel(self, channel: str) -> str:
        return self._label(CHANNEL, channel)

    def delivery_error(self, error: str | None) -> str:
        """Why a message did not go out: a reason the bot itself wrote, in the admin's language; a service's own
        answer (Telegram's, the mail server's) as it came, under a label that says whose words they are."""
        if not error:
            return ""
        if error in outbox.KNOWN_REASONS:
            return self.t(error)
        if error.startswith(outbox.NO_ADDRESS + ": "):
            return self.t("not an e-mail address: %(to)s", to=error.removeprefix(outbox.NO_ADDRESS + ": "))
        return self.t("The service answered: %(error)s", error=error)

    def part(self, part: str) -> str:
        return self._label(PART, part)

    def role(self, role: str | None) -> str:
        return self._label(ROLES, role)

    def when_short(self, moment: Any) -> str:
        """A history entry's moment without its year: «21.12 10:00» in Russian, «Dec 21, 10:00» in English (whose
        reader would take «21.12» for nothing or «12.10» for October 12th)."""
        if moment is None:
            return "—"
        local = moment.astimezone(self.core.wording.tz)
        if self.lang == "ru":
            return str(local.strftime("%d.%m %H:%M"))
        return str(format_datetime(local, "MMM d, HH:mm", locale=self.lang))

    def task_title(self, spec: ProcessDef, stage: str, key: str, data: dict[str, Any] | None = None) -> str:
        """A task's title; an item's move or its approval names the item from the case's `data` («Согласуйте:
        Аппарат УЗИ → Отправлен»), not by its place in the list."""
        if key == START_TASK:
            return self.t("New case: %(process)s", process=self.core.translator.local(spec.title, self.lang))
        moved, asked, edit = parse_item_task(key), parse_item_approval(key), parse_item_edit(key)
        item = moved or asked
        try:  # a case moved onto a version without that stage, track stage or task: its key in words, not a 500
            if data is not None and item is not None and item[0] in spec.tracks():
                name, index, to = item
                titled = (item_task_title if moved else item_approval_title)(spec, name, index, to, data)
                return self.core.translator.local(titled, self.lang)
            if data is not None and edit is not None and edit[0] in spec.tracks():
                return self.core.translator.local(item_edit_title(spec, *edit, data), self.lang)
            return self.core.translator.local(task_def(spec, stage, key).title, self.lang)
        except KeyError:
            return self._label({}, key)

    def outcome(self, spec: ProcessDef, stage: str, key: str, outcome: str | None, *, mark: bool = False) -> str:
        """What was decided, as its result («Отклонено»; `mark`: «✖️ Отклонено»), not the button's order. A task with
        one way to finish («Готово», «Заполнить») decided nothing: it is simply done."""
        if not outcome:
            return ""
        try:
            tdef = task_def(spec, stage, key)
        except KeyError:
            return self._label({}, outcome)
        if not tdef.names_its_outcome():  # taken is said: «✋ Взято в работу»; «Оплачено» too
            return ""
        sign, result = self.core.wording.decision(tdef, outcome, self.lang)
        return f"{sign} {result}" if mark else result

    def _comment(self, spec: ProcessDef, task: Task | None, data: dict[str, Any]) -> str:
        """The comment given with a decision, named as it was asked («; Причина отказа: …»): the history is where
        an admin reads why a request was turned down or sent back."""
        said = (data.get("values") or {}).get(f"{task.key}_comment") if task is not None else None
        if task is None or not isinstance(said, str) or not said.strip():
            return ""
        try:
            odef = task_def(spec, task.stage, task.key).outcome_defs().get(str(data.get("outcome")))
        except KeyError:  # a task of a version that no longer has it: still its comment, by the usual name
            odef = None
        label = comment_field(odef).label if odef is not None else COMMENT_LABEL
        return f"; {self.core.translator.local(label, self.lang)}: {said.strip()}"

    def stage(self, spec: ProcessDef, stage: str | None) -> str:
        return self.core.wording.stage_title(spec, stage, self.lang) if stage else "—"

    def _task_by_key(self, spec: ProcessDef, key: str) -> str:
        found = next((t for stage in spec.stages for t in stage.tasks if t.key == key), None)
        return self.core.translator.local(found.title, self.lang) if found else self._label({}, key)

    def _process(self, key: Any) -> str:
        loaded = self.core.registry.library.get(str(key))
        return self.core.translator.local(loaded.spec.title, self.lang) if loaded else self._label({}, str(key))

    def holder(self, task: Task, names: dict[int, str]) -> str:
        if task.assignee_id is not None:
            return names.get(task.assignee_id) or "?"
        return self.role(task.role) if task.role else self.t("the case's responsible")

    def field_label(self, spec: ProcessDef, name: str, case_data: dict[str, Any] | None = None) -> str:
        """A field's label; with the case's data, as the case reads it (a label written as a template)."""
        fdef = spec.fields.get(name)
        if fdef is None:
            return self._label({}, name)
        if case_data is not None:
            return self.core.wording.field_label(spec, fdef, case_data, self.lang)
        return self.core.translator.local(fdef.label, self.lang)

    def _item(self, spec: ProcessDef, action: str, data: dict[str, Any], case_data: dict[str, Any] | None) -> str:
        """An item's step in the case's history: «Аппарат УЗИ: «Отправлен» → «На таможне»» — the item named as its
        card names it (without the case's data, or with no title for its track, «Позиция №2»)."""
        name, index = str(data.get("list", "")), data.get("index")
        fdef = spec.fields.get(name)
        called = (fdef.entry or fdef.label) if fdef else None  # «Позиция №2», one of «Позиции»
        item = f"{self.core.translator.local(called, self.lang) if called else name} №{(index or 0) + 1}"
        if fdef is not None and isinstance(index, int):
            item = item_name(spec, name, index, self.core.translator.lang(self.lang), case_data)

        def stage(key: Any) -> str:
            try:
                return self.core.translator.local(track_of(spec, name).stage(str(key)).title, self.lang)
            except KeyError:
                return self._label({}, str(key)) if key else "—"

        if action == "item.started":
            return self.t("“%(item)s”: stage “%(to)s”", item=item, to=stage(data.get("to")))
        if action == "item.moved":
            moved = {"item": item, "from": stage(data.get("from")), "to": stage(data.get("to"))}
            return self.t("“%(item)s”: “%(from)s” → “%(to)s”", **moved)
        if action == "item.move":
            return self.t("asked to move “%(item)s” to “%(to)s”", item=item, to=stage(data.get("to")))
        if action == "item.move_withdrawn":
            return self.t("withdrew the move of “%(item)s” to “%(to)s”", item=item, to=stage(data.get("to")))
        if action == "item.approval_asked":
            return self.t("“%(item)s”: approval asked to go to “%(to)s”", item=item, to=stage(data.get("to")))
        if action == "item.approval_approved":
            return self.t("“%(item)s”: approved to go to “%(to)s”", item=item, to=stage(data.get("to")))
        if action == "item.approval_rejected":
            return self.t("“%(item)s”: not approved to go to “%(to)s” (%(reason)s)", item=item,
                          to=stage(data.get("to")), reason=data.get("reason") or "—")
        if action in ("item.corrected", "item.edit_requested", "item.edit_withdrawn"):
            return self._item_field(spec, action, item, data)
        return self.t("reminder about “%(item)s”", item=item)

    def _item_field(self, spec: ProcessDef, action: str, item: str, data: dict[str, Any]) -> str:
        """A correction of an item's field in the case's history: asked, withdrawn, or made (old → new)."""
        name, field = str(data.get("list", "")), str(data.get("field", ""))
        fdef = entry_fields(spec, name).get(field) if name in spec.tracks() else None
        label = self.core.translator.local(fdef.label, self.lang) if fdef is not None else self._label({}, field)
        if action == "item.edit_requested":
            return self.t("“%(item)s”: asked to change “%(field)s”", item=item, field=label)
        if action == "item.edit_withdrawn":
            return self.t("“%(item)s”: left “%(field)s” as it was", item=item, field=label)
        if fdef is None:
            return self.t("“%(item)s”: “%(field)s” changed", item=item, field=label)
        wording = self.core.wording
        old = wording.summary_value(fdef, data.get("from"), self.lang, spec)
        new = wording.summary_value(fdef, data.get("to"), self.lang, spec)
        return self.t("“%(item)s”: “%(field)s” changed from %(old)s to %(new)s", item=item, field=label, old=old,
                      new=new)  # fmt: skip

    def _changes(self, spec: ProcessDef, data: dict[str, Any], case_data: dict[str, Any] | None) -> str:
        """«; «Дата поступления товара» changed from 25.12.2026 to 22.01.2027» for each value an answer replaced."""
        before = data.get("before")
        values = data.get("values") or {}
        if not isinstance(before, dict):
            return ""
        said = []
        for name, old in before.items():
            fdef = spec.fields.get(name)
            if fdef is None:
                continue
            wording = self.core.wording
            said.append(
                self.t(
                    "“%(field)s” changed from %(old)s to %(new)s",
                    field=self.field_label(spec, name, case_data),
                    old=wording.summary_value(fdef, old, self.lang, spec),
                    new=wording.summary_value(fdef, values.get(name), self.lang, spec),
                )
            )
        return "".join("; " + line for line in said)

    def _released(self, title: str, because: object) -> str:
        """Why a task left its holder, as the holder's notice said: an entry written before the reason was kept
        says none rather than a wrong one."""
        if because == "role":
            return self.t("task “%(task)s” went back to its role (its holder lost the role)", task=title)
        if because == "left":
            return self.t("task “%(task)s” was handed on: an administrator closed its holder's access", task=title)
        if because == "unreachable":
            return self.t("task “%(task)s” was handed on: the bot cannot reach its holder", task=title)
        return self.t("task “%(task)s” was handed on", task=title)

    def history(
        self,
        entry: AuditEntry,
        spec: ProcessDef,
        tasks: dict[int, Task],
        names: dict[int, str],
        case_data: dict[str, Any] | None = None,
    ) -> str:
        """One history entry as a sentence: «Анна: задача «Подтвердить дефект» — выполнено (Подтвердить)». An item's
        task names the item as the case's data does («Аппарат УЗИ → Отправлен», not «Позиция №1 → Отправлен»)."""
        data = entry.data or {}
        task = tasks.get(entry.task_id) if entry.task_id is not None else None
        title = ""
        if task is not None:
            title = self.task_title(spec, task.stage, task.key, case_data)
        elif isinstance(data.get("task"), str):  # a task whose row is not at hand: its title by its key
            title = self._task_by_key(spec, data["task"])
        action = entry.action
        if action == "case.started":
            text = self.t("case started")
            if data.get("from_case"):
                text += " " + self.t("(from case #%(case)s)", case=data["from_case"])
        elif action == "task.claimed":
            text = self.t("task “%(task)s” — taken", task=title)
        elif action == "task.done":
            outcome = self.outcome(spec, task.stage, task.key, data.get("outcome")) if task else ""
            text = self.t("task “%(task)s” — done", task=title)
            if outcome:
                text += f" ({outcome})"
            filled = [self.field_label(spec, n, case_data) for n in (data.get("values") or {}) if n in spec.fields]
            if filled:
                text += "; " + self.t("filled in: %(fields)s", fields=", ".join(filled))
            text += self._comment(spec, task, data)
            text += self._changes(spec, data, case_data)
        elif action == "stage.entered":
            text = self.t("stage “%(to)s”", to=self.stage(spec, data.get("to")))
            if data.get("from") and data.get("from") != data.get("to"):  # the same stage again: its name once
                text = self.t(
                    "stage “%(from)s” → “%(to)s”",
                    to=self.stage(spec, data.get("to")),
                    **{"from": self.stage(spec, data.get("from"))},
                )
        elif action == "case.called":
            text = self.t("started “%(process)s” (case #%(case)s)", process=self._process(data.get("process")),
                          case=data.get("case", "?"))  # fmt: skip
        elif action == "case.call_returned":
            text = self.t("case #%(case)s it started has ended", case=data.get("case", "?"))
        elif action == "case.child_moved":
            text = self.t("case #%(case)s it started moved on", case=data.get("case", "?"))
        elif action == "case.handoff":
            text = self.t("handed over to case #%(case)s", case=data.get("case", "?"))
        elif action == "email.queued":
            text = self.t(
                "e-mail to %(to)s queued: “%(subject)s”", to=data.get("to", "?"), subject=data.get("subject", "")
            )
        elif action == "case.closed":
            text = self.t("case closed: %(status)s", status=self.case_status(str(data.get("status"))).lower())
            if data.get("result"):
                text += " " + self._label(RESULT, data["result"])
        elif action == "case.cancelled":
            text = self.t("case cancelled")
            if data.get("reason"):
                text += ": " + str(data["reason"])
        elif action == "case.cancel_asked":
            text = self.t("asked to cancel the case") + ": " + str(data.get("reason") or "")
        elif action == "case.move":
            text = self.t("moved the case to stage “%(to)s”", to=self.stage(spec, data.get("to")))
        elif action == "case.move_withdrawn":
            text = self.t("withdrew the move to stage “%(to)s”", to=self.stage(spec, data.get("to")))
        elif action == "case.edit_requested":
            field = self.field_label(spec, str(data.get("field")), case_data)
            text = self.t("asked to change “%(field)s”", field=field)
        elif action == "work.started":
            text = self.t("work on task “%(task)s” started", task=title)
        elif action == "work.paused":
            text = self.t("work on task “%(task)s” paused", task=title)
        elif action == "timer.remind":
            text = self.t("reminder about task “%(task)s”", task=title)
        elif action == "timer.overdue":
            text = self.t("task “%(task)s” is overdue", task=title)
        elif action == "timer.wait":
            text = self.t("waiting time is over")
        elif action == "task.released":
            text = self._released(title, data.get("because"))
        elif action == "case.tasks_released":
            text = self.t("tasks handed on to those who may do them")
        elif action == "case.draft_expired":
            text = self.t("the unfinished request was closed after %(days)s days", days=data.get("days", "?"))
        elif action == "case.retried":
            text = self.t("an admin retried the failed step")
        elif action in ("item.started", "item.moved", "item.move", "item.move_withdrawn", "timer.item") or (
            action.startswith(("item.approval_", "item.edit_")) or action == "item.corrected"
        ):
            text = self._item(spec, action, data, case_data)
        elif action == "task.escalated":
            recipients = ", ".join(names.get(i, "?") for i in data.get("to") or [])
            text = self.t("task “%(task)s” escalated to %(who)s", task=title, who=recipients or "—")
        elif action == "task.reassigned":
            holder = names.get(int(data.get("to") or 0), "?")
            text = self.t("task “%(task)s” reassigned to %(who)s", task=title, who=holder)
        elif action == "task.taken_over":
            text = self.t("took over task “%(task)s”", task=title)
        elif action == "task.deadline_moved":
            when = self.core.wording.when(_moment(data.get("to")), self.lang)
            text = self.t("moved the deadline of “%(task)s” to %(when)s: %(reason)s", task=title, when=when,
                          reason=data.get("reason", ""))
        elif action == "case.commented":
            text = self.t("wrote an internal note") if data.get("internal") else self.t("wrote a comment")
        elif action == "case.migrated":
            text = self.t("moved to version %(version)s", version=data.get("to_version", "?"))
            if data.get("by") == "cli":  # nobody of the company's people, yet someone did it: say who
                return self.t("An admin on the command line") + ": " + text
        else:
            text = self._label({}, action)
        who = names.get(entry.actor_id) if entry.actor_id is not None else None
        if who is None and data.get("by") == "panel":
            who = self.t("An admin in the panel")
        return f"{who}: {text}" if who else text[:1].upper() + text[1:]


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
