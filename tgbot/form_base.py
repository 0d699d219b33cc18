"""The ground every form in chat stands on (`tgbot.conversation.Conversation` is built on it): the form's shape
for a task (its case's definition and data, the fields asked), the draft saved on the task row with the messages
queued, the next question or the summary asked (what a question offers is `tgbot.form_offers`'s), and the stamp
every form button carries.

The draft lives on the task row and the person's `active_task_id` points at it, so a restart in the
middle of a form loses nothing. Every button carries a stamp of the question it was sent with (`step_stamp`);
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

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from db.models import Case, Outbox, Task, User
from flows import forms
from flows.context import case_labels
from flows.form_shape import comment_field as comment_field  # re-exported: the conversation names it
from flows.form_shape import form_shape
from flows.i18n import _
from flows.items import item_of_form, parse_item_task
from flows.model import FieldDef, ProcessDef
from flows.runtime import (
    COMMENT_FILE_SUFFIX,
    CONTINUED_AT,
    EDIT_PREFIX,
    MOVE_TASK,
    START_TASK,
    EngineError,
    TaskState,
    form_data,
    is_correction,
    task_def,
)
from flows.status import TaskStatus
from services import outbox, outbox_answer
from services import people as people_repo
from services.cases import CaseService, task_state
from services.core import Core
from services.people import FormTask, PersonRead, prompts
from tgbot import form_offers
from tgbot.callbacks import FormCb, pack
from tgbot.render import Renderer, pieces, renderer_for
from tgbot.render_forms import CANCEL, CHANGE_MIND, LATER

log = logging.getLogger(__name__)


@dataclass
class FormCase:
    """What a form step needs of its case."""

    spec: ProcessDef
    data: dict[str, Any]
    task: TaskState
    company_id: int | None = None  # the case's organisation: whom a «person» field may name
    # An item's form (`data` is its entry): the case's own data, where the other items are.
    case_data: dict[str, Any] | None = None


class FormError(EngineError):
    """A problem with the answer; the question is asked again. `day`: the date the refusal suggests (the working day
    after a day off), offered there as a button."""

    def __init__(self, message: str, *, day: date | None = None, **params: Any) -> None:
        super().__init__(message, **params)
        self.day = day


@dataclass
class IncomingFile:
    kind: str  # photo | document
    content: bytes
    name: str
    mime_type: str | None
    tg_file_id: str
    tg_unique_id: str | None
    album: str | None = None  # Telegram's media_group_id: several files the person sent at once
    caption: str | None = None  # the words sent with it: a photo given as a decision's comment is read by them


SUMMARY_ROW = "summary_row"  # in a draft: the outbox row of the summary last shown
# In a draft: the album (media_group_id) whose files are being received, and the question asked after its first
# file — the rest of the album updates that question's count instead of asking again for every photo.
ALBUM, ALBUM_ROW = "album", "album_row"
# In a draft: the question last asked (its buttons: options, «Skip», «Back»…) — once answered, that message shows
# the answer chosen (`FormBase.picked`) or at least loses its buttons (`FormBase.answered`), as a task's card does
# once it is decided: pressed again, an old button would only be refused. (Named for the pickers it began with.)
PICKER_ROW = "picker_row"
# A form's task: the plain row read with the person (`services.people.FormTask`, the answers' way), or a row of the
# session (a form opened from a card, a re-ask). Its draft is written by `Conversation._save` either way.
AnyTask = Task | FormTask


class FormBase:
    """A person's form: what every kind of answer (`tgbot.form_answers`), correction (`tgbot.form_corrections`)
    and ending (`tgbot.conversation`) works with."""

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

    def offers(self, loaded: FormCase) -> form_offers.QuestionOffers:
        """What the question offers (`tgbot.form_offers`); made for each question, as the person may switch language
        mid-form (`Conversation.ask_again_in`)."""
        return form_offers.QuestionOffers(
            r=self.r, session=self.session, user=self.user, lang=self.lang, now=self.cases.now,
            spec=loaded.spec, data=loaded.data, company_id=loaded.company_id,
            item=item_of_form(loaded.task.key), case_data=loaded.case_data,
        )  # fmt: skip

    def say(self, text: str, keyboard: dict[str, Any] | None = None, *, purpose: str | None = None) -> None:
        outbox.message(self.session, self.user.tg_id, text, self.cases.now, keyboard, purpose=purpose)

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
        loaded = FormCase(
            spec=spec,
            data=form_data(case.data, state_task),
            task=state_task,
            company_id=case.company_id,
            case_data=case.data if item_of_form(state_task.key) is not None else None,
        )
        fields, names = form_shape(spec, state_task, outcome)
        # Its questions, summary and refusals name each field as this case reads it (a label written as a template).
        return loaded, dict(case_labels(spec, fields, case.data)), list(names)

    async def begin(self, task: AnyTask, outcome: str, *, heading: str | None = None) -> bool:
        """Start (or resume) the form for this outcome. False if the outcome needs no answers. `heading`: what the
        form is about, said above its first question in the same message (a reclamation's product, from the card
        it was pressed on)."""
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
                # and offers to keep it; skipping never erases it. A fact of one round of a loop (`fresh`) is
                # asked anew: the last round's waybill is not this round's.
                kept = [name for name in names if name not in fields or not fields[name].fresh]
                forms.remember_current(kept, draft, loaded.data)
                self.offers(loaded).defaults(fields, names, draft)
        task.draft = copy.deepcopy(draft)
        self.user.active_task_id = task.id
        prompts.drop_offered(self.user)  # a quantity offered after «В заявку»: the form's answers are not it
        await self.ask(task, heading=heading)
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

    async def _save(
        self, task: AnyTask, draft: dict[str, Any] | None, summary: Outbox | None = None, key: str = SUMMARY_ROW
    ) -> None:
        """The draft, with the messages queued so far, in one statement (`outbox_answer.with_draft`); `summary`: the
        message the draft remembers (under `key`: `SUMMARY_ROW`, or `ALBUM_ROW`)."""
        if isinstance(task, Task) and not inspect(task).persistent:
            task.draft = draft  # a row the unit of work has yet to write: it writes the draft with it
            if summary is not None:
                await self.session.flush()
                task.draft = {**(draft or {}), key: summary.id}
            return
        link = (key, summary) if summary is not None else None
        written = await outbox_answer.with_draft(self.session, task.id, draft, link)
        if isinstance(task, Task):
            set_committed_value(task, "draft", written)  # written: nothing left for the unit of work
        else:
            task.draft = written

    async def ask(
        self,
        task: AnyTask,
        *,
        album: str | None = None,
        warning: str | None = None,
        day: date | None = None,
        heading: str | None = None,
    ) -> None:
        """The form's next question, or its summary. `album`: a file of that album (media_group_id) has just come.
        `warning`: what was wrong with the answer just given, said above the question in the same message — a
        mistake costs the person one message to read, not a warning and the question again; `day`: the date it
        suggests instead, offered as a button («📅 28.12.2026»). `heading`: what the form is about (`begin`), above
        the question too."""
        assert task.draft is not None
        warning = "\n\n".join(said for said in (heading, warning) if said) or None
        if self.user.question_lost_at is not None:
            self.user.question_lost_at = None  # a new question: whatever was lost before is asked here
        loaded, fields, names = await self.form_of(task, task.draft.get("outcome"))
        draft = copy.deepcopy(task.draft)
        names = forms.asked(fields, names, draft["values"], loaded.data)  # `ask_if`: skipped ones not shown
        step = forms.next_step(fields, names, draft)
        step_no = step_stamp(step, draft)
        if step is None:
            title = self.r.form_title(loaded.spec, loaded.task, loaded.data, self.lang)
            # A field changed from the case card: «Изменить: Файл КП» over «Файл КП: offer.pdf» would name it twice.
            edit = loaded.task.key.startswith(EDIT_PREFIX)
            changed = fields.get(loaded.task.key.removeprefix(EDIT_PREFIX)) if edit else None
            title = "" if changed is not None and changed.type != "list" else title
            decision = self._decision(loaded, draft.get("outcome"))
            # What the case starts with, not asked (`start.shows`: an order's positions and total from the cart).
            given = loaded.spec.start.shows if loaded.task.key == START_TASK else []
            text, keyboard = self.r.form_summary(
                loaded.spec, fields, names, draft, task.id, self.lang, title, decision=decision,
                given=self.r.summary(loaded.spec, given, loaded.data, self.lang) if given else None,
                cancel=self._cancel_label(loaded, draft.get("outcome")),
            )  # fmt: skip
            # No files sent back with it: the person's own are right above in the chat, the case's are a tap away
            # («📎 Files» on its card) — sending them again with every summary floods a phone.
            self.answered(draft)
            *head, last = pieces(f"{warning}\n\n{text}" if warning else text)
            for piece in head:
                self.say(piece)
            row = outbox.message(
                self.session,
                self.user.tg_id,
                last,
                self.cases.now,
                with_step(keyboard, step_no),
                purpose=outbox.QUESTION,
            )
            # Remembered so that its buttons can be taken away once the form is confirmed or cancelled.
            await self._save(task, draft, summary=row)
            return
        offers = self.offers(loaded)
        options = await offers.options(step)
        # A date's example is one its rules take on the other answers too (a return not before the shipping answered);
        # a number's range is narrowed by its bounds that are other values of the case (at most the report's kilos).
        fdef = step.field
        ruled = fdef is not None and (fdef.type == "date" or (fdef.type == "number" and bool(fdef.bounds())))
        around = offers.around(fields, draft, step) if ruled else None
        options += form_offers.offers(self.r, self.user, self.lang, step, around)
        options += offers.same_as(step)
        if fdef is not None and fdef.type == "date" and day is not None and day.isoformat() not in dict(options):
            options.append((day.isoformat(), form_offers.suggested_day(self.r, day, self.lang)))
        text, keyboard = self.r.question(
            loaded.spec,
            fields,
            step,
            task.id,
            self.lang,
            options=options,
            collected=len(forms.collected_files(draft, step)),
            can_back=bool(draft["answered"]),
            cancel=self._cancel_label(loaded, draft.get("outcome")),
            correction=is_correction(task.key),
            around=around,
        )
        keyboard = with_step(keyboard, step_no)
        if warning:
            text = f"{warning}\n\n{text}"
        if album is not None and step.is_file and draft.get(ALBUM) == album and isinstance(draft.get(ALBUM_ROW), int):
            # The rest of an album sent at once: the question asked after its first file shows the new count.
            outbox.edit(self.session, self.user.tg_id, draft[ALBUM_ROW], text, self.cases.now, keyboard)
            await self._save(task, draft)
            return
        draft.pop(ALBUM, None)
        self.answered(draft)
        text, keyboard = offers.kept(task.id, step, draft, text, keyboard, step_no)
        row = outbox.message(self.session, self.user.tg_id, text, self.cases.now, keyboard, purpose=outbox.QUESTION)
        if album is not None and step.is_file:
            draft[ALBUM] = album
            await self._save(task, draft, row, key=ALBUM_ROW)
            return
        # Remembered, so that once answered it shows the answer (`picked`) or loses its buttons (`answered`) — if it
        # has buttons that answer it: a question with «Back» and «Cancel» alone is answered by typing, and taking
        # those off would cost every typed answer a request to Telegram (the bot's path: `konveyer bench --only bot`).
        await self._save(task, draft, row if answering_buttons(keyboard) else None, key=PICKER_ROW)

    def picked(
        self, fields: dict[str, FieldDef], draft: dict[str, Any], step: forms.Step, choice: str, asked: str = ""
    ) -> None:
        """The question just answered shows what was chosen under it, and no buttons: pressed again, an old
        supplier's button would only be refused. `asked`: the question's text where it is not a field's label
        («Работы — добавить?»)."""
        row_id = draft.pop(PICKER_ROW, None)
        if not isinstance(row_id, int):
            row_id = draft.pop(ALBUM_ROW, None)  # the question that counted an album's photos
        if isinstance(row_id, int):
            label = forms.step_label(fields, step, self.r.tr.lang(self.lang)) if step.field is not None else ""
            if asked:
                text = f"{asked}\n✅ {choice}"
            else:
                text = f"✏️ {label}\n✅ {choice}" if label else f"✅ {choice}"
            outbox.edit(self.session, self.user.tg_id, row_id, text, self.cases.now)

    def answered(self, draft: dict[str, Any]) -> None:
        """The question last asked, answered (by text, a file, or a button `picked` did not show), loses its
        buttons: its text stays as asked, the answer is right below it in the chat."""
        for key in (PICKER_ROW, ALBUM_ROW):
            row_id = draft.pop(key, None)
            if isinstance(row_id, int):
                outbox.enqueue(self.session, chat_id=self.user.tg_id, method="editMessageReplyMarkup", payload={},
                               now=self.cases.now, ref_id=row_id)  # fmt: skip

    def _cancel_label(self, loaded: FormCase, outcome: str | None) -> str:
        """What the form's «cancel» button says: a request is not made; a move (the case's or an item's), a
        correction or a decision is not made (the task stays, undecided); a task's answers wait till later."""
        key = loaded.task.key
        if key == START_TASK:
            # A request another case handed on (its number told, that case pointing at it) is work given, not one's
            # own draft: left till later, never dropped by a press (its card cancels it, with a reason).
            return LATER if CONTINUED_AT in loaded.data else CANCEL
        moving = key == MOVE_TASK or item_of_form(key) is not None  # an item's move, or a correction of its field
        if moving or is_correction(key) or self._decision(loaded, outcome) is not None:
            return CHANGE_MIND
        return LATER

    def _decision(self, loaded: FormCase, outcome: str | None) -> str | None:
        """The label of the answer chosen, for tasks that ask for a decision (approve, choice); a form's or a
        confirmation's single outcome («Fill in», «Done») decides nothing worth repeating."""
        task = loaded.task
        if outcome is None or task.key in (START_TASK, MOVE_TASK) or is_correction(task.key):
            return None
        tdef = task_def(loaded.spec, task.stage, task.key)
        if tdef.kind not in ("approve", "choice"):
            return None
        return self.r.outcome_label(tdef, outcome, self.lang)

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
            notice = _(
                "I am not sure my last question reached you, so your message was not recorded as its answer. "
                "Here is the question again, please answer it once more."
            )
        else:
            notice = _("I am not sure my last question reached you, so here it is again.")
        self.say(self.r.t(notice, self.lang))
        await self.ask(task)
        return True

    def today(self) -> date:
        return self.core.clock.now().astimezone(self.core.calendar.tz).date()


def step_stamp(step: forms.Step | None, draft: dict[str, Any]) -> int:
    """Which question a button belongs to, as a number that fits in callback data: the outcome and the
    question's path; for the summary, the outcome and every answer — an old summary must not confirm
    answers it did not show. (A counter of answers would repeat after «correct a field».)"""
    if step is not None:
        key = f"{draft.get('outcome')}|{step.path}"
    else:
        # A comment's photos (`comment_file_key`) are not among the answers a summary shows («Что исправить?: (фото)»):
        # the later pages of an album sent as the comment come after its summary, which still confirms them all.
        shown = {k: v for k, v in draft["values"].items() if not k.endswith(COMMENT_FILE_SUFFIX)}
        key = f"{draft.get('outcome')}|#summary|" + json.dumps(shown, sort_keys=True, default=str)
    return zlib.crc32(key.encode()) % 1_000_000_000


# A form's buttons that only move about it or leave it: they answer no question.
NAVIGATION = frozenset({"back", "cancel", "later"})


def answering_buttons(keyboard: dict[str, Any] | None) -> bool:
    """Whether the question's keyboard has a button that answers it (an option, «Skip», «Keep», «Done», the kept
    file offered), not only the form's «Back» and «Cancel»."""
    for row in (keyboard or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data") or ""
            if data.startswith("f:") and _form_fields(data)[0] not in NAVIGATION:
                return True
    return False


def with_step(keyboard: dict[str, Any] | None, step_no: int) -> dict[str, Any] | None:
    """Stamp every form button with the step it belongs to."""
    if not keyboard:
        return keyboard

    for row in keyboard.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data and data.startswith("f:"):
                action, task_id, arg, _step = _form_fields(data)
                button["callback_data"] = pack(FormCb, action, int(task_id), arg, step_no)
    return keyboard


def _form_fields(data: str) -> list[str]:
    """A form button's packed fields (action, task id, arg, step) as `FormCb.pack` wrote them: split, not read back
    into the model — a question's buttons are stamped on every answer (`pack` refuses a separator in a value, so
    the split is exact; anything else is refused as `FormCb.unpack` refuses it)."""
    _prefix, *fields = data.split(FormCb.__separator__)
    if len(fields) != len(_FORM_FIELDS):
        raise TypeError(f"Callback data {FormCb.__name__!r} takes {len(_FORM_FIELDS)} values, {len(fields)} given")
    return fields


_FORM_FIELDS = tuple(FormCb.model_fields)
