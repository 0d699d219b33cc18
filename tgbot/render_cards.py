"""Task and case cards in chat: a task's card (its head shared by every reader of one language, and the buttons
for each), an unfinished request's card, the case's card and the case buttons under notices."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from aiogram.types import InlineKeyboardButton

from flows.forms import asked
from flows.i18n import _
from flows.items import parse_item_approval
from flows.model import ProcessDef, TaskDef
from flows.runtime import (
    EARLIER,
    MOVE_TASK,
    START_TASK,
    CaseState,
    TaskState,
    call_children,
    call_links,
    task_def,
    task_entry,
)
from flows.spec_cache import SpecCache
from flows.status import TaskStatus
from flows.templating import names_read
from services.cases.handoffs import Linked
from services.wording.files import file_count
from services.wording.names import STATUS_WORDS
from tgbot.callbacks import AttentionCb, CaseCb, StartCb, TaskCb, button, button_label, keyboard, pack
from tgbot.render_base import markup
from tgbot.render_items import ItemCards

_ASKS_SHOWN = 4  # fields named on a card's «Понадобится» line; the rest counted
_FILE_MARKS = {"document": "📎", "photo": "📷"}  # a field there that asks for a file, marked on that line


@dataclass(frozen=True)
class CardHead:
    """The part of a task's card that is the same for all its readers of one language (`Renderer.task_card_head`);
    `files`: how many files the case holds, for the card's «📎 Files (n)» button (0 on a card with no such row)."""

    lines: tuple[str, ...]
    files: int


@dataclass(frozen=True)
class TaskWords:
    """What a task's card says that the definition, the task's stage and key and the language alone decide
    (`TaskCards.task_words`). `title`: the card's first line, None for an item's approval (named by its item, so by
    the case's data); `outcomes`: each outcome's key and label, a button each."""

    tdef: TaskDef
    title: str | None
    stage: str
    outcomes: tuple[tuple[str, str], ...]
    # «Понадобится: Расчёт закупки (файл)» — what pressing its button will ask for, said on the card of an open task:
    # a production manager read «Сделайте расчёт закупки» and «Готово», and learnt of the file only after pressing.
    asks: str = ""
    # When some of those fields are asked only if their `ask_if` holds (a deferral's agreement only for an order with
    # a deferred item), or are named by a label written as a template: each field's name and label, worded per card
    # over the case's data instead of `asks`.
    asks_if: tuple[tuple[str, str], ...] = ()
    labels_read: bool = False  # some of those labels are templates: read over the case's data on each card


# A task's words per definition by (stage, key, language): every card of a step (given, then edited when it
# closes) looked up its definition and worded its title, stage and buttons again.
_TASK_WORDS: SpecCache[ProcessDef, tuple[str, str, str], TaskWords] = SpecCache(4096)
# Card heads' texts per definition by (source, language, the values read): `TaskCards.kept_template`.
_HEAD_TEXTS: SpecCache[ProcessDef, tuple[str, str, bytes, bytes], str] = SpecCache(4096)
# Dicts in their own order (a text may print them in it); non-string keys, dates, subclasses of str, int, dict and
# list (a choice carries its label) and dataclasses refused, so never kept: only plain JSON values make a key.
_KEY_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS


@lru_cache(maxsize=2048)
def _reads(source: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The names a text reads, sorted, and the case's fields whose values it prints (those names, and `<name>` of
    each `<name>_label`), sorted: a kept text's key. None when the text does not parse."""
    names = names_read(source)
    if names is None:
        return None
    fields = names | {name[:-6] for name in names if name.endswith("_label")}
    return tuple(sorted(names)), tuple(sorted(fields))


class TaskCards(ItemCards):
    """Wording plus task, draft and case cards (`tgbot.render.Renderer` has them); an item's title and lines come
    with the case's and the task's cards, hence the items' base."""

    def waiting_for(
        self,
        case: CaseState,
        names: dict[int, str],
        lang: str | None,
        *,
        until: datetime | None = None,
        skip: Callable[[TaskState], bool] | None = None,
    ) -> str:
        """Whom the case waits for now and until when («Ждёт: Бухгалтер — до 09.12.2026 18:00.»), else until when
        it waits for a date before its work begins (`until`); "" when neither. The next task's title is an order to
        its doer («Согласуйте заявку»), not news for someone else. `skip`: tasks the reader holds (their cards say
        it)."""
        waits: dict[str, str] = {}
        for t in case.open_tasks():
            if skip is not None and skip(t):
                continue
            who = self._holder(t, names, lang)
            if who and who not in waits:
                # A deadline already past when the case came (one set from a date in its data) is said to be late.
                waits[who] = self.t("%(who)s — due %(when)s", lang, who=who, when=self.due(t.due_at, lang)) \
                    if t.due_at else who
        if waits:
            return self.t("Waiting for: %(who)s.", lang, who="; ".join(waits.values()))
        if until is not None:
            return self.t("⏳ Waits until %(when)s, then its work begins.", lang, when=self.when(until, lang))
        return ""

    def _holder(self, task: TaskState, names: dict[int, str], lang: str | None) -> str | None:
        """Who a task waits for: its role while nobody has taken it from the pool, then the one who took it (the
        role beside: «Кладовщик Тимур (Работник склада)») — not «a warehouse worker» when Тимур is at it."""
        name = names.get(task.assignee_id or 0)
        if task.role is None:
            return name
        role = self.role(task.role, lang)
        return f"{name} ({role})" if name else role

    def task_words(self, spec: ProcessDef, task: TaskState, lang: str | None) -> TaskWords:
        """`TaskWords` of a task in a language, worked out once per process."""
        key = self.tr.lang(lang)
        part = (task.stage, task.key, key)
        known = _TASK_WORDS.get(spec, part)
        if known is not None:
            return known
        tdef = task_def(spec, task.stage, task.key)
        # `approval_title` names an item's approval by its item (the case's data); any other task by its title.
        title = None if parse_item_approval(task.key) is not None else f"📌 {self.task_title(spec, task, key)}"
        stage = self.t("Stage: %(stage)s", key, stage=self.stage_title(spec, task.stage, key))
        outcomes = tuple((name, self.tr.local(odef.label, key)) for name, odef in tdef.outcome_defs().items())
        labels = self._ask_labels(spec, tdef, key) if task.key != START_TASK else []
        read = any(ref.label_template is not None or spec.fields[ref.field].label_template is not None
                   for ref in tdef.fields if ref.field in spec.fields)  # fmt: skip
        if read or any(spec.fields[name].ask_if is not None for name, _label in labels):
            words = TaskWords(tdef, title, stage, outcomes, asks_if=tuple(labels), labels_read=read)
        else:
            words = TaskWords(tdef, title, stage, outcomes, self._asks([label for _name, label in labels], key))
        return _TASK_WORDS.put(spec, part, words)

    def _ask_labels(
        self, spec: ProcessDef, tdef: TaskDef, lang: str, data: dict[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        """The fields the task asks when it is answered, by the names its questions use (as the case of `data` reads
        them, a label written as a template): a file or photos marked so (something to prepare before pressing: 📎,
        📷)."""
        labels: list[tuple[str, str]] = []
        for ref in tdef.fields:
            fdef = spec.fields.get(ref.field)
            if fdef is None or fdef.hidden:
                continue
            asked_as = ref.apply(fdef)
            if data is None:
                label = self.tr.local(asked_as.label, lang)
            else:
                label = self.field_label(spec, asked_as, data, lang)
            labels.append((ref.field, f"{_FILE_MARKS[fdef.type]} {label}" if fdef.type in _FILE_MARKS else label))
        return labels

    def asks(self, words: TaskWords, case: CaseState, lang: str | None) -> str:
        """«Понадобится: …» on a task's card: what its form will ask of this case — not the letter of credit's
        four fields on an order paid in advance, which its form never asks."""
        if not words.asks_if:
            return words.asks
        key = self.tr.lang(lang)
        labels = self._ask_labels(case.spec, words.tdef, key, case.data) if words.labels_read else words.asks_if
        wanted = set(asked(case.spec.fields, [name for name, _label in labels], {}, case.data))
        return self._asks([label for name, label in labels if name in wanted], key)

    def _asks(self, labels: list[str], lang: str) -> str:
        """The first few of `labels`, the rest counted."""
        if not labels:
            return ""
        shown = ", ".join(labels[:_ASKS_SHOWN])
        if len(labels) > _ASKS_SHOWN:
            shown = self.t("%(fields)s and %(n)s more", lang, fields=shown, n=len(labels) - _ASKS_SHOWN)
        return self.t("You will be asked for: %(fields)s", lang, fields=shown)

    def task_card_head(
        self, case: CaseState, task: TaskState, lang: str | None, extra: dict[str, Any] | None = None
    ) -> CardHead:
        """What a task's card says to every reader of one language (its title, case, stage, entry, text and due
        date): rendered once and shared when a task goes to a role of several people."""
        spec = case.spec
        words = self.task_words(spec, task, lang)
        title = words.title
        if title is None:
            title = f"📌 {self.approval_title(case, task, lang) or self.task_title(spec, task, lang)}"
        stage = words.stage
        if task.key == MOVE_TASK:  # its stage is where the case goes once the form is in; the card says where it is
            stage = self.t("Stage: %(stage)s", lang, stage=self.stage_title(spec, case.stage, lang))
        lines = [title, self.case_name(case, lang), stage]
        entry = task_entry(spec, case.data, task)
        if entry is not None:  # a for_each task: its entry's fields, and `item` for its text
            extra = {**(extra or {}), "item": entry[1]}
            lines += self.summary(spec, list(entry[0].fields or {}), entry[1], lang, fields=entry[0].fields)
        text = words.tdef.text
        if text:
            body = self.kept_template(text, spec, case.data, lang, extra)
            if body:
                lines += ["", body]
        lines.append("")
        if task.due_at is not None:
            lines.append(self.t("Due: %(when)s", lang, when=self.due(task.due_at, lang)))
        files = file_count(spec, case.data) if task.key != START_TASK and case.id is not None else 0
        return CardHead(tuple(lines), files)

    def kept_template(
        self, text: Any, spec: ProcessDef, data: dict[str, Any], lang: str | None, extra: dict[str, Any] | None
    ) -> str:
        """`template(text, …)` of a card head or a definition's notice, kept per process by what it reads: its
        source, the definition, the language and the values of the names the source reads (and of `<name>` for
        `<name>_label`). A task's head is rendered when it is given and again when it closes, and a notice's text
        for every case, mostly over the same values; the context and the render (~4% of a step's CPU) are then
        skipped. Values orjson cannot encode exactly are not kept."""
        source = self.tr.local(text, lang)
        reads = _reads(source)
        key: tuple[str, str, bytes, bytes] | None = None
        if reads is not None:
            names, fields = reads
            try:
                key = (source, self.tr.lang(lang),
                       orjson.dumps([(name, data[name]) for name in fields if name in data], option=_KEY_OPTIONS),
                       orjson.dumps([(name, extra[name]) for name in names if name in extra] if extra else [],
                                    option=_KEY_OPTIONS))  # fmt: skip
            except TypeError:
                key = None
        if key is None:
            return self.template(text, spec, data, lang, extra)
        found = _HEAD_TEXTS.get(spec, key)
        if found is not None:
            return found
        return _HEAD_TEXTS.put(spec, key, self.template(text, spec, data, lang, extra))

    def task_card(
        self,
        case: CaseState,
        task: TaskState,
        lang: str | None,
        *,
        names: dict[int, str],
        viewer_id: int,
        extra: dict[str, Any] | None = None,
        taken: bool = False,
        head: CardHead | None = None,
        continues: Linked | None = None,
    ) -> tuple[str, dict[str, Any] | None]:
        """The card a person sees for a task, and its buttons for that person. `taken`: the holder pressed
        «Take» (a pool of one is given its task without anyone taking it, and the card must not say so).
        `head`: `task_card_head` of this task in this language, when it is already rendered. `continues`: the case
        this one continues, on the first cards of a case handed on, for a reader who may open that one."""
        words = self.task_words(case.spec, task, lang)
        if head is None:
            head = self.task_card_head(case, task, lang, extra)
        lines = list(head.lines)
        if continues is not None:  # under the case's name, which it explains
            lines.insert(2, self.continues_line(continues, lang))
        # Buttons as the dicts their models dump to (a card is rendered on every step; the models cost more).
        rows: list[list[dict[str, Any]]] = []
        task_id = task.id or 0
        asks = self.asks(words, case, lang) if task.status == TaskStatus.OPEN else ""
        if asks:
            lines.append(asks)
        if task.status == TaskStatus.DONE:
            who = names.get(task.done_by or 0, "?")
            if words.tdef.names_its_outcome():
                # What was decided, as its result with its own mark («✖️ Отклонено»), not the button's order.
                mark, outcome = self.decision(words.tdef, task.outcome, lang)
                lines.append(f"{mark} {outcome} ({who})")
            else:  # the task's one way to finish («Done»): nothing was chosen, so nothing to name
                lines.append(self.t("✅ Done (%(who)s)", lang, who=who))
        elif task.status == TaskStatus.CANCELLED:
            lines.append(self.t("✖️ No longer needed.", lang))
        elif task.assignee_id is None and words.tdef.done_when_taken and words.outcomes:
            # Taking it is the whole task (a reclamation accepted into diagnosis): the button says so, not «✋ Взять»
            # «to work on it» — a service engineer pressed that and found the task done, with nothing to work on.
            label = words.outcomes[0][1]
            lines.append(self.t("Press “%(button)s” to accept it.", lang, button=label))
            rows.append([button(label, pack(TaskCb, "claim", task_id, ""))])
        elif task.assignee_id is None:
            # The card goes to the role's people only: it tells them what to do, not that someone is awaited.
            lines.append(self.t("Press “✋ Take” to work on it.", lang))
            rows.append([button(self.t("✋ Take", lang), pack(TaskCb, "claim", task_id, ""))])
        elif task.assignee_id != viewer_id:
            lines.append(self.t("Taken by %(who)s.", lang, who=names.get(task.assignee_id, "?")))
        else:
            # A task given to a person (the case's responsible, its initiator) is theirs too: only a role's task is
            # «taken». (The condition was the one for «You took this task», kept when a pool of one got «yours».)
            if taken and task.role is not None:
                lines.append(self.t("You took this task.", lang))
            elif task.key != START_TASK:
                lines.append(self.t("This task is yours.", lang))
            if words.tdef.timing:
                rows.append(self._timing_row(task, lang, lines))
            for key, label in words.outcomes:
                rows.append([button(label, pack(TaskCb, "out", task_id, key))])
        if task.key != START_TASK and case.id is not None:
            row = [button(self.t("📁 Case", lang), pack(CaseCb, "show", case.id, ""))]
            if head.files:
                # The files come with the card once; this brings them back when the chat has scrolled away.
                row.append(button(self.t("📎 Files (%(n)s)", lang, n=head.files), pack(CaseCb, "files", case.id, "")))
            rows.append(row)
        return "\n".join(lines), keyboard(rows)

    def _timing_row(self, task: TaskState, lang: str | None, lines: list[str]) -> list[dict[str, Any]]:
        worked = task.worked_seconds
        if task.work_started_at is not None:
            when = self.when(task.work_started_at, lang)
            if worked < 60:  # the first stretch: «до этого: 0 ч 00 мин» said nothing
                lines.append(self.t("⏱ Working since %(when)s", lang, when=when))
            else:
                text = _("⏱ Working since %(when)s; done before: %(spent)s")
                lines.append(self.t(text, lang, when=when, spent=self.duration(worked, lang)))
            return [button(self.t("⏸ Pause", lang), pack(TaskCb, "work", task.id or 0, "pause"))]
        if worked:
            lines.append(self.t("⏱ Time spent: %(spent)s (paused)", lang, spent=self.duration(worked, lang)))
        label = self.t("▶️ Resume", lang) if worked else self.t("▶️ Start work", lang)
        return [button(label, pack(TaskCb, "work", task.id or 0, "start"))]

    def draft_card(self, case: CaseState, task: TaskState, lang: str | None) -> tuple[str, dict[str, Any] | None]:
        """An unfinished request: continue it where it stopped, or drop it."""
        text = self.t(
            "📝 Unfinished request: %(process)s (started %(when)s).",
            lang,
            process=self.local(case.spec.title, lang),
            when=self.when(task.created_at, lang),
        )
        discard = InlineKeyboardButton(
            text=self.t("🗑 Discard", lang), callback_data=TaskCb(action="discard", task_id=task.id or 0).pack()
        )
        return text, self._continue_or(task, discard, lang)

    def draft_or_fresh(self, case: CaseState, task: TaskState, lang: str | None) -> tuple[str, dict[str, Any] | None]:
        """Starting a process again while a request of it is unfinished: continue that one, or start anew."""
        text = self.t(
            "You have an unfinished request: %(process)s (started %(when)s). Continue it or start a new one?",
            lang,
            process=self.local(case.spec.title, lang),
            when=self.when(task.created_at, lang),
        )
        fresh = InlineKeyboardButton(
            text=self.t("🆕 Start anew", lang), callback_data=StartCb(process=case.spec.process, fresh=1).pack()
        )
        return text, self._continue_or(task, fresh, lang)

    def _continue_or(self, task: TaskState, other: InlineKeyboardButton, lang: str | None) -> dict[str, Any] | None:
        resume = InlineKeyboardButton(
            text=self.t("▶️ Continue", lang), callback_data=TaskCb(action="resume", task_id=task.id or 0).pack()
        )
        return markup([[resume, other]])

    def retry_button(self, case_id: int, lang: str | None) -> dict[str, Any] | None:
        return markup(
            [
                [
                    InlineKeyboardButton(
                        text=self.t("🔁 Retry", lang), callback_data=AttentionCb(action="retry", case_id=case_id).pack()
                    ),
                    InlineKeyboardButton(
                        text=self.t("📁 Case", lang), callback_data=CaseCb(action="show", case_id=case_id).pack()
                    ),
                ]
            ]
        )

    def continues_line(self, parent: Linked, lang: str | None) -> str:
        """«↪️ Продолжение дела №1 («Заявка на просчёт заказа»)»: the case this one was handed on from."""
        return self.t("↪️ Continues case #%(case)s (“%(process)s”)", lang, case=parent.id,
                      process=self.tr.local(parent.title, lang))  # fmt: skip

    def continued_line(self, child: Linked, lang: str | None) -> str:
        """«⤵️ Продолжено: дело №2 («Заключить договор с новым клиентом»)»: a case this one handed its work on to."""
        return self.t("⤵️ Continued: case #%(case)s (“%(process)s”)", lang, case=child.id,
                      process=self.tr.local(child.title, lang))  # fmt: skip

    def case_link(self, case_id: int, lang: str | None) -> InlineKeyboardButton:
        """«📁 Дело №1»: another case's card, from this one's."""
        label = self.t("📁 Case #%(case)s", lang, case=case_id)
        return InlineKeyboardButton(text=label, callback_data=CaseCb(action="show", case_id=case_id).pack())

    def case_button(self, case_id: int, lang: str | None) -> dict[str, Any] | None:
        return keyboard([[button(self.t("📁 Case", lang), pack(CaseCb, "show", case_id, ""))]])

    def cases_buttons(self, cases: list[dict[str, Any]], lang: str | None) -> dict[str, Any] | None:
        """Under a list of a person's cases (`notify_cases`): a button to open each, one a row, so a case listed is
        a press away rather than a search. Telegram takes 100 buttons; a list that long is a report, not a notice."""
        rows = []
        for case in cases[:50]:
            label = button_label(self.t("📁 #%(id)s %(title)s", lang, id=case["id"], title=case["title"]))
            rows.append([button(label, pack(CaseCb, "show", case["id"], ""))])
        return keyboard(rows)

    def stage_line_buttons(self, case_id: int, lang: str | None) -> dict[str, Any] | None:
        """Under a stage line: the case, and quiet for those who need no more of these lines."""
        return keyboard(
            [
                [
                    button(self.t("📁 Case", lang), pack(CaseCb, "show", case_id, "")),
                    button(self.t("🔕 Mute the case", lang), pack(CaseCb, "mute", case_id, "")),
                ]
            ]
        )

    def unmute_button(self, case_id: int, own: bool, lang: str | None) -> dict[str, Any] | None:
        """Stage news about a case back on: the card's own button, worded as there (`tgbot.case_view`)."""
        label = self.t("🔔 Unmute the case", lang) if own else self.t("🔔 Follow the case", lang)
        return keyboard([[button(label, pack(CaseCb, "unmute", case_id, ""))]])

    def waits_line(self, waits_until: datetime | None, lang: str | None) -> list[str]:
        """A stage that waits for its moment (a deal ready to ship on its planned date) says until when: with no
        task and no date it would look stuck."""
        if waits_until is None:
            return []
        return [self.t("⏳ Waits until %(when)s, then its work begins.", lang, when=self.when(waits_until, lang))]

    def case_card(
        self,
        case: CaseState,
        lang: str | None,
        *,
        names: dict[int, str],
        open_tasks: list[TaskState],
        files: dict[int, str] | None = None,
        waits_until: datetime | None = None,
        reason: str | None = None,
        decided: Sequence[str] = (),
        continues: Linked | None = None,
        continued: Sequence[Linked] = (),
    ) -> str:
        """`reason`: why the case ended, rejected or cancelled (`services.end_reasons`), under its status;
        `decided`: the decisions taken on it (`decision_lines`), under its open work; `continues`, `continued`: the
        case it was handed on from and those it handed on to, which the reader may open (`services.cases.handoffs`)."""
        spec = case.spec
        status = self.t(STATUS_WORDS[case.status], lang) if case.status in STATUS_WORDS else case.status
        lines = [
            f"📁 {self.case_name(case, lang)}",
            self.t("Process: %(p)s", lang, p=self.tr.local(spec.title, lang)),
            self.t("Stage: %(stage)s", lang, stage=self.stage_title(spec, case.stage, lang)),
            *self.waits_line(waits_until, lang),
            self.t("Status: %(s)s", lang, s=status),
            *([self.t("Reason: %(reason)s", lang, reason=reason)] if reason else []),
            self.t("Initiator: %(who)s", lang, who=self.initiator(case.data, names.get(case.initiator_id, "?"), lang)),
        ]
        if continues is not None:
            lines.append(self.continues_line(continues, lang))
        lines += [self.continued_line(one, lang) for one in continued]
        parent, child = call_links(case)
        if parent is not None:
            lines.append(self.t("↖️ Called by case #%(case)s (/case %(case)s)", lang, case=parent))
        for waited in ([child] if child is not None else []) + sorted(call_children(case).values()):
            lines.append(self.t("↘️ Waiting for case #%(case)s (/case %(case)s)", lang, case=waited))
        for task in open_tasks:
            holder = (
                names.get(task.assignee_id, "")
                if task.assignee_id
                else self.t("role %(r)s", lang, r=self.role(task.role, lang))
            )
            lines.append(
                self.t(
                    "• %(task)s — %(who)s, due %(when)s",
                    lang,
                    task=self.task_title(spec, task, lang, case.data),
                    who=holder,
                    when=self.due(task.due_at, lang),
                )
            )
        if decided:
            lines += ["", *decided]
        items = self.item_lines(case, lang)
        if items:
            lines += ["", *items]
        lines.append("")
        for line in self.summary(spec, list(spec.fields), case.data, lang, earlier=case.data.get(EARLIER)):
            lines.append(line)
        return "\n".join(lines)
