"""A person filling a task's form in chat: one question at a time, answers checked, a summary to confirm.

The draft lives on the task row and the person's `active_task_id` points at it, so a restart in the
middle of a form loses nothing. Every button carries the number of answers given when it was sent;
a button from an older question is refused instead of answering the wrong field.
"""

from __future__ import annotations

import copy
import json
import logging
import zlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from db.models import Case, Outbox, Task, User
from flows import forms
from flows import values as field_values
from flows.i18n import _
from flows.items import item_state, parse_item_task
from flows.model import FieldDef, ProcessDef, local
from flows.runtime import (
    EDIT_PREFIX,
    MOVE_TASK,
    START_TASK,
    EngineError,
    TaskState,
    form_data,
    form_fields,
    pending_approval,
    task_def,
    task_fields,
)
from flows.status import CaseStatus, TaskStatus
from services import access, companies, outbox
from services import people as people_repo
from services.cases import CaseService, Loaded, task_state
from services.core import Core
from services.files import file_ref
from services.people import FormTask, PersonRead
from tgbot.callbacks import FormCb, TaskCb
from tgbot.render import Renderer, pieces, renderer_for

log = logging.getLogger(__name__)


@dataclass
class FormCase:
    """What a form step needs of its case."""

    spec: ProcessDef
    data: dict[str, Any]
    task: TaskState
    company_id: int | None = None  # the case's organisation: whom a «person» field may name


class FormError(EngineError):
    """A problem with the answer; the question is asked again."""


@dataclass
class IncomingFile:
    kind: str  # photo | document
    content: bytes
    name: str
    mime_type: str | None
    tg_file_id: str
    tg_unique_id: str | None


SUMMARY_ROW = "summary_row"  # in a draft: the outbox row of the summary last shown
# A form's task: the plain row read with the person (`services.people.FormTask`, the answers' way), or a row of the
# session (a form opened from a card, a re-ask). Its draft is written by `Conversation._save` either way.
AnyTask = Task | FormTask


def comment_field(required: bool) -> FieldDef:
    return FieldDef(type="text", label={"ru": "Комментарий", "en": "Comment"}, required=required)


class Conversation:
    def __init__(
        self,
        core: Core,
        session: AsyncSession,
        user: User,
        cases: CaseService | None = None,
        renderer: Renderer | None = None,
        form: PersonRead | None = None,
    ) -> None:
        self.core = core
        self.session = session
        self.user = user
        self.lang = user.language
        self._held: dict[int, Case] = {}
        # The form's task and its case as read with the person, as plain rows: an answer reads nothing again.
        self._form_task = form.task if form is not None else None
        self._form_case = form.case if form is not None else None
        self.cases = cases or CaseService(core, session)
        self.r = renderer or renderer_for(core)

    def say(self, text: str, keyboard: dict[str, Any] | None = None, *, purpose: str | None = None) -> None:
        outbox.message(self.session, self.user.tg_id, text, self.cases.now, keyboard, purpose=purpose)

    # --- the shape of the form ------------------------------------------------------------------------

    async def form_of(self, task: AnyTask, outcome: str | None) -> tuple[FormCase, dict[str, FieldDef], list[str]]:
        # A form step needs the definition, the task and the case's data — not the whole case under a lock:
        # every answer comes through here, and other people may be working on the same case.
        if task.status != TaskStatus.OPEN:
            raise EngineError(_("This task is already done or no longer needed."))
        # A case row of the session first (a step of this update may have changed it), then the one read with the
        # person, else a read.
        case: Case | people_repo.FormCase | None = self.session.sync_session.identity_map.get(
            identity_key(Case, task.case_id)
        )
        if case is None and self._form_case is not None and self._form_case.id == task.case_id:
            case = self._form_case
        if case is None:
            case = await self.session.get(Case, task.case_id)
            if case is None:
                raise EngineError(_("This case does not exist."))
            self._held[case.id] = case  # the session only keeps rows someone holds: an answer reads this twice
        spec = await self.core.registry.spec(self.session, case.definition_id)
        state_task = task_state(task)
        # An item's form asks the fields of its entry, and shows what the entry already has; any other form the
        # case's fields as this task asks them (a loop's own wording of a field, its date rules).
        loaded = FormCase(spec=spec, data=form_data(case.data, state_task), task=state_task, company_id=case.company_id)
        fields: dict[str, FieldDef] = form_fields(spec, state_task, outcome)
        names = task_fields(spec, state_task, outcome)
        if outcome is not None and task.key != START_TASK:
            odef = task_def(spec, task.stage, task.key).outcome_defs().get(outcome)
            if odef is not None and odef.comment is not None:
                key = f"{task.key}_comment"
                fields[key] = comment_field(odef.comment == "required")
                names.append(key)
        return loaded, fields, names

    # --- starting and resuming ------------------------------------------------------------------------

    async def begin(self, task: AnyTask, outcome: str) -> bool:
        """Start (or resume) the form for this outcome. False if the outcome needs no answers."""
        loaded, fields, names = await self.form_of(task, outcome)
        if not names:
            return False
        if task.draft and task.draft.get("outcome") == outcome:
            draft = task.draft
        else:
            draft = forms.new_draft(outcome)
            if task.key in (START_TASK, MOVE_TASK) or parse_item_task(task.key) is not None:
                # What the case already has (carried over by a hand-off) is not asked again.
                forms.prefill(fields, names, draft, loaded.data)
            else:
                # Asked again (a returned request, a correction): each question shows the value the case has
                # and offers to keep it; skipping never erases it.
                forms.remember_current(names, draft, loaded.data)
        task.draft = copy.deepcopy(draft)
        self.user.active_task_id = task.id
        await self.ask(task)
        return True

    async def active_task(self) -> AnyTask | None:
        task_id = self.user.active_task_id
        if task_id is None:
            return None
        task: AnyTask | None
        held = self.session.sync_session.identity_map.get(identity_key(Task, task_id))
        if held is None and self._form_task is not None and self._form_task.id == task_id:
            task = self._form_task  # as read with the person: no statement
        else:
            task = await self.session.get(Task, task_id)
        if task is None or task.status != TaskStatus.OPEN or task.draft is None or task.assignee_id != self.user.id:
            self.user.active_task_id = None
            return None
        return task

    async def _save(self, task: AnyTask, draft: dict[str, Any] | None, summary: Outbox | None = None) -> None:
        """The draft, with the messages queued so far, in one statement (`outbox.with_draft`); `summary`: the
        message the draft remembers (`SUMMARY_ROW`)."""
        if isinstance(task, Task) and not inspect(task).persistent:
            task.draft = draft  # a row the unit of work has yet to write: it writes the draft with it
            if summary is not None:
                await self.session.flush()
                task.draft = {**(draft or {}), SUMMARY_ROW: summary.id}
            return
        link = (SUMMARY_ROW, summary) if summary is not None else None
        written = await outbox.with_draft(self.session, task.id, draft, link)
        if isinstance(task, Task):
            set_committed_value(task, "draft", written)  # written: nothing left for the unit of work
        else:
            task.draft = written

    async def ask(self, task: AnyTask) -> None:
        assert task.draft is not None
        if self.user.question_lost_at is not None:
            self.user.question_lost_at = None  # a new question: whatever was lost before is asked here
        loaded, fields, names = await self.form_of(task, task.draft.get("outcome"))
        draft = copy.deepcopy(task.draft)
        names = forms.asked(fields, names, draft["values"], loaded.data)  # `ask_if`: skipped ones not shown
        step = forms.next_step(fields, names, draft)
        step_no = step_stamp(step, draft)
        if step is None:
            title = self.r.form_title(loaded.spec, loaded.task, loaded.data, self.lang)
            decision = self._decision(loaded, draft.get("outcome"))
            text, keyboard = self.r.form_summary(
                loaded.spec, fields, names, draft, task.id, self.lang, title, decision=decision
            )
            attached = self.r.files(loaded.spec, draft["values"], names, self.lang)
            if attached:
                # The files are part of what «Confirm» confirms: seen as albums right above the summary.
                items = [(ref["id"], ref.get("kind") or "document", label) for label, ref in attached]
                outbox.files(self.session, self.user.tg_id, self.cases.now, items)
            *head, last = pieces(text)
            for piece in head:
                self.say(piece)
            row = outbox.message(
                self.session,
                self.user.tg_id,
                last,
                self.cases.now,
                _with_step(keyboard, step_no),
                purpose=outbox.QUESTION,
            )
            # Remembered so that its buttons can be taken away once the form is confirmed or cancelled.
            await self._save(task, draft, summary=row)
            return
        options = await self.options(loaded, step)
        text, keyboard = self.r.question(
            fields,
            step,
            task.id,
            self.lang,
            options=options,
            collected=len(forms.collected_files(draft, step)),
            can_back=bool(draft["answered"]),
        )
        self.say(text, _with_step(keyboard, step_no), purpose=outbox.QUESTION)
        await self._save(task, draft)

    def _decision(self, loaded: FormCase, outcome: str | None) -> str | None:
        """The label of the answer chosen, for tasks that ask for a decision (approve, choice); a form's or a
        confirmation's single outcome («Submit», «Done») decides nothing worth repeating."""
        task = loaded.task
        if outcome is None or task.key in (START_TASK, MOVE_TASK) or task.key.startswith(EDIT_PREFIX):
            return None
        tdef = task_def(loaded.spec, task.stage, task.key)
        if tdef.kind not in ("approve", "choice"):
            return None
        return self.r.outcome_label(tdef, outcome, self.lang)

    async def options(self, loaded: FormCase, step: forms.Step) -> list[tuple[str, str]]:
        fdef = step.field
        if fdef is None:
            return []
        spec = loaded.spec
        if fdef.type == "choice" and fdef.options:
            return [(k, self.r.local(v, self.lang)) for k, v in fdef.options.items()]
        if fdef.type == "directory" and fdef.directory:
            return [(e.key, e.name) for e in spec.directories.get(fdef.directory, [])]
        if fdef.type == "bool":
            return [("1", self.r.t("Yes", self.lang)), ("0", self.r.t("No", self.lang))]
        if fdef.type == "user":
            people = await people_repo.members(self.session, fdef.role) if fdef.role else []
            # Another dealer's staff are neither offered nor named on this organisation's case.
            people = await access.reachable(self.session, people, loaded.company_id)
            return [(str(u.id), u.name) for u in people]
        return []

    # --- answers --------------------------------------------------------------------------------------

    async def _current(
        self, task: AnyTask, step_no: int | None
    ) -> tuple[FormCase, dict[str, FieldDef], list[str], dict[str, Any], forms.Step | None]:
        assert task.draft is not None
        loaded, fields, names = await self.form_of(task, task.draft.get("outcome"))
        draft = copy.deepcopy(task.draft)
        names = forms.asked(fields, names, draft["values"], loaded.data)
        step = forms.next_step(fields, names, draft)
        if step_no is not None and step_no >= 0 and step_no != step_stamp(step, draft):
            raise EngineError(_("That question was already answered; please use the latest message."))
        return loaded, fields, names, draft, step

    async def reasked(self, task: AnyTask, *, answering: bool = True) -> bool:
        """The last question may not have reached the person (its send was uncertain or failed): ask it again
        rather than take this message for its answer — it may answer a question they never saw. `answering`:
        the person has just written (they are told their message was not recorded), not the scheduler's re-ask."""
        if self.user.question_lost_at is None:
            return False
        if answering:
            notice = "I am not sure my last question reached you, so your message was not recorded as its answer. " \
                "Here is the question again, please answer it once more."
        else:
            notice = "I am not sure my last question reached you, so here it is again."
        self.say(self.r.t(notice, self.lang))
        await self.ask(task)
        return True

    async def answer_text(self, task: AnyTask, text: str) -> None:
        if await self.reasked(task):
            return
        loaded, fields, _names, draft, step = await self._current(task, None)
        if step is None:
            self.say(self.r.t("The form is complete. Press «Confirm» or correct a field.", self.lang))
            return
        if step.is_more:
            raise FormError(_("Please answer with the buttons: add one more or not."))
        assert step.field is not None
        fdef = step.field
        if step.is_file:
            raise FormError(_("Please send a photo or a file here, not text."))
        if fdef.type == "company":
            await self._find_company(task, draft, step, text)
            return
        options = dict(await self.options(loaded, step))
        kind = "choice" if fdef.type in ("choice", "directory", "user") else fdef.type
        today = self.today()
        try:
            value = field_values.parse_text(
                kind,
                text,
                options=options or None,
                today=today,
                minimum=fdef.min,
                maximum=fdef.max,
                integer=fdef.integer,
                negative=fdef.negative,
                prefer=forms.date_preference(fdef),
            )
        except field_values.InvalidAnswer as exc:
            raise FormError(exc.message, **exc.params) from None
        stored = int(value) if fdef.type == "user" else field_values.to_json(kind, value)
        broken = forms.date_rule_problem(
            fdef, stored, *self._around(loaded, fields, draft, step), today, self.r.tr.lang(self.lang)
        )
        if broken is not None:
            raise FormError(broken[0], **broken[1])
        forms.answer(draft, step, stored)
        task.draft = draft
        await self.ask(task)

    def today(self) -> date:
        return self.core.clock.now().astimezone(self.core.calendar.tz).date()

    @staticmethod
    def _around(
        loaded: FormCase, fields: dict[str, FieldDef], draft: dict[str, Any], step: forms.Step
    ) -> tuple[dict[str, FieldDef], dict[str, Any]]:
        """The other fields a question's date rules may name, and their values now: the form's answers over the
        case's, and for a list entry its own fields first."""
        known = {**loaded.data, **draft["values"]}
        if step.index is None:
            return fields, known
        entry_fields = fields[step.name].fields or {}
        entries = draft["values"].get(step.name) or []
        entry = entries[step.index] if step.index < len(entries) else {}
        return {**fields, **entry_fields}, {**known, **entry}

    async def pick(self, task: AnyTask, key: str, step_no: int) -> None:
        loaded, _fields, _names, draft, step = await self._current(task, step_no)
        if step is None or step.field is None:
            raise EngineError(_("That question was already answered; please use the latest message."))
        if step.field.type == "company":
            forms.answer(draft, step, await self._company_value(draft, key))
            task.draft = draft
            await self.ask(task)
            return
        options = dict(await self.options(loaded, step))
        if key not in options:
            raise EngineError(_("That option is no longer available."))
        value: Any = key
        if step.field.type == "bool":
            value = key == "1"
        elif step.field.type == "user":
            value = int(key)
        forms.answer(draft, step, value)
        task.draft = draft
        await self.ask(task)

    async def _find_company(self, task: AnyTask, draft: dict[str, Any], step: forms.Step, text: str) -> None:
        name = " ".join(text.split())
        if len(name) < 2:
            raise FormError(_("Type at least two letters of the company's name."))
        found = [c for c in await companies.search(self.session, name) if access.may_name_company(self.user, c)]
        exact = [c for c in found if c.name.casefold() == name.casefold()]
        if len(exact) == 1:
            forms.answer(draft, step, {"id": exact[0].id, "name": exact[0].name})
            task.draft = draft
            await self.ask(task)
            return
        draft["company_query"] = name
        task.draft = draft
        step_no = step_stamp(step, draft)
        rows = [
            [
                InlineKeyboardButton(
                    text=c.name[:60],
                    callback_data=FormCb(action="pick", task_id=task.id, arg=f"c{c.id}", step=step_no).pack(),
                )
            ]
            for c in found[:8]
        ]
        rows.append(
            [
                InlineKeyboardButton(
                    text=self.r.t("➕ Create «%(name)s»", self.lang, name=name[:40]),
                    callback_data=FormCb(action="pick", task_id=task.id, arg="new", step=step_no).pack(),
                )
            ]
        )
        text_out = (
            self.r.t("«%(name)s»: is it one of these? Or create a new company.", self.lang, name=name)
            if found
            else self.r.t("There is no company «%(name)s» yet. Create it?", self.lang, name=name)
        )
        self.say(text_out, InlineKeyboardMarkup(inline_keyboard=rows).model_dump(exclude_none=True))
        await self._save(task, draft)

    async def _company_value(self, draft: dict[str, Any], key: str) -> dict[str, Any]:
        if key == "new":
            name = draft.pop("company_query", None)
            if not name:
                raise EngineError(_("Type the company's name first."))
            company = await companies.create(self.session, name, self.user.id, self.cases.now)
        elif key.startswith("c") and key[1:].isdigit():
            found = await companies.get(self.session, int(key[1:]))
            if found is None or not access.may_name_company(self.user, found):
                raise EngineError(_("That option is no longer available."))
            company = found
        else:
            raise EngineError(_("That option is no longer available."))
        return {"id": company.id, "name": company.name}

    async def answer_file(self, task: AnyTask, incoming: IncomingFile) -> None:
        if await self.reasked(task):
            return
        _loaded, _fields, _names, draft, step = await self._current(task, None)
        if step is None or step.field is None:
            raise FormError(_("No file is expected now."))
        fdef = step.field
        if not step.is_file:
            raise FormError(_("Please answer with text here: %(label)s."), label=local(fdef.label, self.lang))
        if fdef.type == "photo" and incoming.kind != "photo" and not (incoming.mime_type or "").startswith("image/"):
            raise FormError(_("Please send a photo here."))
        if fdef.accept:
            suffix = incoming.name.rsplit(".", 1)[-1].lower() if "." in incoming.name else ""
            if incoming.kind == "photo" or suffix not in [a.lower().lstrip(".") for a in fdef.accept]:
                raise FormError(_("This field takes only %(types)s files."), types=", ".join(fdef.accept))
        stored = await self.core.files.add(
            self.session,
            content=incoming.content,
            name=incoming.name,
            kind=incoming.kind,
            now=self.cases.now,
            case_id=task.case_id,
            user_id=self.user.id,
            mime_type=incoming.mime_type,
            tg_file_id=incoming.tg_file_id,
            tg_unique_id=incoming.tg_unique_id,
        )
        forms.add_file(draft, step, file_ref(stored))
        if not fdef.multiple:
            forms.answer(draft, step, forms.collected_files(draft, step))
        task.draft = draft
        await self.ask(task)

    async def files_done(self, task: AnyTask, step_no: int) -> None:
        _loaded, _fields, _names, draft, step = await self._current(task, step_no)
        if step is None or not step.is_file:
            raise EngineError(_("That question was already answered; please use the latest message."))
        files = forms.collected_files(draft, step)
        if not files and step.field is not None and step.field.required:
            raise EngineError(_("Send at least one file first."))
        forms.answer(draft, step, files or None)
        task.draft = draft
        await self.ask(task)

    async def more(self, task: AnyTask, yes: bool, step_no: int) -> None:
        _loaded, _fields, _names, draft, step = await self._current(task, step_no)
        if step is None or not step.is_more:
            raise EngineError(_("That question was already answered; please use the latest message."))
        forms.answer(draft, step, yes)
        task.draft = draft
        await self.ask(task)

    async def skip(self, task: AnyTask, step_no: int) -> None:
        _loaded, _fields, _names, draft, step = await self._current(task, step_no)
        if step is None or step.field is None:
            raise EngineError(_("That question was already answered; please use the latest message."))
        if step.field.required:
            raise EngineError(_("This field is required and cannot be skipped."))
        forms.answer(draft, step, None)
        task.draft = draft
        await self.ask(task)

    async def back(self, task: AnyTask, step_no: int) -> None:
        await self._current(task, step_no)
        draft = copy.deepcopy(task.draft or forms.new_draft())
        if not forms.back(draft):
            raise EngineError(_("This is the first question."))
        task.draft = draft
        await self.ask(task)

    async def edit(self, task: AnyTask, step_no: int) -> None:
        _loaded, fields, names, _draft, step = await self._current(task, step_no)
        if step is not None:
            raise EngineError(_("Finish the form first; then you can correct any field."))
        top = [n for n in names]
        self.say(
            self.r.t("Which field do you want to correct?", self.lang),
            _with_step(self.r.field_picker(fields, top, task.id, self.lang), step_no),
        )

    async def edit_field(self, task: AnyTask, name: str, step_no: int) -> None:
        _loaded, fields, names, draft, _step = await self._current(task, step_no)
        if name not in names:
            raise EngineError(_("That option is no longer available."))
        if fields[name].type == "list" and draft["values"].get(name):
            # A list is corrected one entry at a time (or one added, or one taken out), not asked all again.
            label = self.r.local(fields[name].label, self.lang)
            self.say(
                self.r.t("Which entry of «%(label)s» do you want to correct?", self.lang, label=label),
                _with_step(self.r.entry_picker(fields, names, name, draft, task.id, self.lang), step_no),
            )
            return
        forms.reset_field(draft, name)
        task.draft = draft
        await self.ask(task)

    async def _summary_state(
        self, task: AnyTask, step_no: int
    ) -> tuple[dict[str, FieldDef], list[str], dict[str, Any]]:
        """The form at its summary (the only place corrections start from), or a refusal."""
        _loaded, fields, names, draft, step = await self._current(task, step_no)
        if step is not None:
            raise EngineError(_("Finish the form first; then you can correct any field."))
        return fields, names, draft

    @staticmethod
    def _entry_ref(
        fields: dict[str, FieldDef], names: list[str], draft: dict[str, Any], arg: str
    ) -> tuple[str, int | None, str | None]:
        """A button's «list.entry.field» (numbers, to fit in the button): the list's name, the entry, the field."""
        try:
            numbers = [int(part) for part in arg.split(".")]
            if any(number < 0 for number in numbers):
                raise IndexError(arg)  # never sent by the bot: a made-up button
            name = names[numbers[0]]
            subs = list(fields[name].fields or {})
            index = numbers[1] if len(numbers) > 1 else None
            sub = subs[numbers[2]] if len(numbers) > 2 else None
            if not subs or (index is not None and not 0 <= index < len(draft["values"].get(name) or [])):
                raise IndexError(index)  # not a list, or an entry no longer there
        except (ValueError, IndexError):
            raise EngineError(_("That option is no longer available.")) from None
        return name, index, sub

    async def pick_entry(self, task: AnyTask, arg: str, step_no: int) -> None:
        """One entry picked: which of its fields to correct, or all of it, or take it out."""
        fields, names, draft = await self._summary_state(task, step_no)
        name, index, _sub = self._entry_ref(fields, names, draft, arg)
        if index is None:
            raise EngineError(_("That option is no longer available."))
        label = self.r.local(fields[name].label, self.lang)
        self.say(
            self.r.t("%(label)s №%(n)s: what do you want to correct?", self.lang, label=label, n=index + 1),
            _with_step(self.r.entry_field_picker(fields, names, name, index, draft, task.id, self.lang), step_no),
        )

    async def correct_entry(self, task: AnyTask, arg: str, step_no: int) -> None:
        fields, names, draft = await self._summary_state(task, step_no)
        name, index, sub = self._entry_ref(fields, names, draft, arg)
        if index is None:
            raise EngineError(_("That option is no longer available."))
        forms.reset_entry(fields, draft, name, index, sub)
        task.draft = draft
        await self.ask(task)

    async def change_entries(self, task: AnyTask, action: str, arg: str, step_no: int) -> None:
        """«➕ Add an entry», «🗑 Remove this entry», «🔁 Enter the whole list again»."""
        fields, names, draft = await self._summary_state(task, step_no)
        name, index, _sub = self._entry_ref(fields, names, draft, arg)
        fdef = fields[name]
        try:
            if action == "add":
                forms.add_entry(fields, names, draft, name)
            elif action == "drop" and index is not None:
                forms.remove_entry(fields, names, draft, name, index)
                label = self.r.local(fdef.label, self.lang)
                said = self.r.t("🗑 %(label)s №%(n)s is removed.", self.lang, label=label, n=index + 1)
                if fdef.count is not None:
                    count = self.r.local(fields[fdef.count].label, self.lang)
                    said += " " + self.r.t(
                        "«%(label)s» is now %(value)s.",
                        self.lang,
                        label=count,
                        value=len(draft["values"].get(name) or []),
                    )
                self.say(said)
            elif action == "all":
                forms.reset_field(draft, name)
            else:
                raise EngineError(_("That option is no longer available."))
        except field_values.InvalidAnswer as exc:
            raise EngineError(exc.message, **exc.params) from None
        task.draft = draft
        await self.ask(task)

    async def press(self, button: FormCb) -> None:
        """A button of the open form: the form's task must still be the one the button belongs to."""
        task = await self.active_task()
        if task is None or task.id != button.task_id:
            raise EngineError(_("This form is no longer open."))
        action, step = button.action, button.step
        if action == "pick":
            await self.pick(task, button.arg, step)
        elif action == "files":
            await self.files_done(task, step)
        elif action in ("yes", "no"):
            await self.more(task, action == "yes", step)
        elif action == "skip":
            await self.skip(task, step)
        elif action == "keep":
            await self.keep(task, step)
        elif action == "back":
            await self.back(task, step)
        elif action == "edit":
            await self.edit(task, step)
        elif action == "field":
            await self.edit_field(task, button.arg, step)
        elif action == "entry":
            await self.pick_entry(task, button.arg, step)
        elif action == "sub":
            await self.correct_entry(task, button.arg, step)
        elif action in ("add", "drop", "all"):
            await self.change_entries(task, action, button.arg, step)
        elif action == "resume":
            await self.resume(task)
        elif action == "confirm":
            await self.confirm(task, step)
        elif action == "cancel":
            await self.cancel(task, step)

    async def keep(self, task: AnyTask, step_no: int) -> None:
        """«Keep as it is»: the field keeps the value the case has; on to the next question."""
        _loaded, fields, _names, draft, step = await self._current(task, step_no)
        if step is None or not forms.keep(fields, draft, step):
            raise FormError(_("There is nothing to keep here; please answer the question."))
        task.draft = draft
        await self.ask(task)

    async def put_aside(self) -> bool:
        """The person turned to something else (/start, the menu) with a form open: say which form it is and
        close it for answers, keeping the draft — the next message must not be saved as a field unseen.
        «Continue» opens it again where it stopped. False if no form was open."""
        task = await self.active_task()
        if task is None:
            return False
        loaded, _fields, _names = await self.form_of(task, (task.draft or {}).get("outcome"))
        self.user.active_task_id = None
        text = self.r.t(
            "📝 The form «%(task)s» (case №%(case)s) is put aside; your answers are kept. Continue it now or later "
            "from «My tasks».",
            self.lang,
            task=self.r.task_title(loaded.spec, loaded.task, self.lang),
            case=task.case_id,
        )
        resume = InlineKeyboardButton(
            text=self.r.t("▶️ Continue", self.lang), callback_data=TaskCb(action="resume", task_id=task.id).pack()
        )
        self.say(text, InlineKeyboardMarkup(inline_keyboard=[[resume]]).model_dump(exclude_none=True))
        return True

    async def resume(self, task: AnyTask) -> None:
        await self.ask(task)

    async def confirm(self, task: AnyTask, step_no: int) -> Loaded:
        form, fields, names, draft, step = await self._current(task, step_no)
        if step is not None:
            raise EngineError(_("The form is not complete yet."))
        values = {k: v for k, v in draft["values"].items() if k in names}
        # Said here in the person's language (the engine checks it again, for every other way in): a date
        # corrected from the summary may no longer fit another.
        broken = forms.form_rule_problem(fields, values, form.data, self.today(), self.r.tr.lang(self.lang))
        if broken is not None:
            raise EngineError(broken[0], **broken[1])
        loaded = await self.cases.submit(self.user, task.id, draft["outcome"], values)
        self.user.active_task_id = None
        self._finished(draft)
        item = parse_item_task(task.key)
        if item is not None and pending_approval(loaded.state, item[0], item[1]) is not None:
            self.say(self.r.item_waits(loaded.state, *item, self.lang))
            return loaded
        if item is not None:
            name, index, _to = item
            found = item_state(loaded.state.data, name, index) or {}
            self.say(
                self.r.t(
                    "✅ «%(item)s» — now «%(stage)s». %(case)s — stage: %(case_stage)s.",
                    self.lang,
                    item=self.r.item_title(loaded.state, name, index, self.lang),
                    stage=self.r.item_stage_title(loaded.state, name, found.get("stage"), self.lang),
                    case=self.r.case_name(loaded.state, self.lang),
                    case_stage=self.r.stage_title(loaded.state.spec, loaded.state.stage, self.lang),
                )
            )
            return loaded
        if task.key in (START_TASK, MOVE_TASK) and loaded.state.status == CaseStatus.ACTIVE:
            if await self.cases.allowed_moves(self.user, loaded):
                # A pipeline moved by hand: show where the case stands and where it can go next.
                from tgbot.case_view import case_view

                self.say(*(await case_view(self.cases, self.user, loaded)))
                return loaded
        if task.key == START_TASK:
            self.say(
                self.r.t(
                    "✅ Case %(case)s is registered. Stage: %(stage)s.",
                    self.lang,
                    case=self.r.case_name(loaded.state, self.lang),
                    stage=self.r.stage_title(loaded.state.spec, loaded.state.stage, self.lang),
                )
            )
        else:
            self.say(
                self.r.t(
                    "✅ Done. %(case)s — stage: %(stage)s.",
                    self.lang,
                    case=self.r.case_name(loaded.state, self.lang),
                    stage=self.r.stage_title(loaded.state.spec, loaded.state.stage, self.lang),
                )
            )
        return loaded

    def _finished(self, draft: dict[str, Any] | None) -> None:
        """The form is over: its summary's «Confirm / Correct / Back / Cancel» come off, so that an old summary
        does not look like something still waiting for an answer."""
        row_id = (draft or {}).get(SUMMARY_ROW)
        if isinstance(row_id, int):
            outbox.enqueue(
                self.session,
                chat_id=self.user.tg_id,
                method="editMessageReplyMarkup",
                payload={},
                now=self.cases.now,
                ref_id=row_id,
            )

    async def cancel(self, task: AnyTask, step_no: int | None = None) -> None:
        if step_no is not None:
            await self._current(task, step_no)
        self.user.active_task_id = None
        self._finished(task.draft)
        await self._save(task, None)
        if task.key == START_TASK:
            await self.cases.cancel(self.user, task.case_id)
            self.say(self.r.t("The request is cancelled; nothing was registered.", self.lang))
        else:
            self.say(self.r.t("Cancelled. The task stays with you; open it from «My tasks» when ready.", self.lang))


def step_stamp(step: forms.Step | None, draft: dict[str, Any]) -> int:
    """Which question a button belongs to, as a number that fits in callback data: the outcome and the
    question's path; for the summary, the outcome and every answer — an old summary must not confirm
    answers it did not show. (A counter of answers would repeat after «correct a field».)"""
    if step is not None:
        key = f"{draft.get('outcome')}|{step.path}"
    else:
        key = f"{draft.get('outcome')}|#summary|" + json.dumps(draft["values"], sort_keys=True, default=str)
    return zlib.crc32(key.encode()) % 1_000_000_000


def _with_step(keyboard: dict[str, Any] | None, step_no: int) -> dict[str, Any] | None:
    """Stamp every form button with the step it belongs to."""
    if not keyboard:
        return keyboard
    from tgbot.callbacks import FormCb

    for row in keyboard.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data and data.startswith("f:"):
                parsed = FormCb.unpack(data)
                button["callback_data"] = FormCb(
                    action=parsed.action, task_id=parsed.task_id, arg=parsed.arg, step=step_no
                ).pack()
    return keyboard
