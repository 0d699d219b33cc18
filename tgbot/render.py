"""Message texts and keyboards built from engine state. Plain text (no parse mode): user data is never markup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from flows.forms import Step, can_add_entry, can_remove_entry, describe_current, entry_title, step_label
from flows.items import entry_of, item_state, parse_item_approval, parse_item_task, track_of
from flows.model import FieldDef, ProcessDef
from flows.runtime import (
    EARLIER,
    START_TASK,
    CaseState,
    TaskState,
    call_children,
    call_links,
    open_item_moves,
    pending_approval,
    task_def,
    task_entry,
)
from flows.status import CaseStatus, TaskStatus
from flows.templating import names_read
from services.core import Core
from services.outbox import MAX_TEXT as MAX_TEXT  # the tests' measure of a message
from services.outbox import split_text
from services.wording import Wording, file_count
from tgbot.callbacks import AttentionCb, CaseCb, EscalationCb, FormCb, ItemCb, StartCb, TaskCb, button, keyboard, pack

# Long texts are cut between lines by the outbox (`services.outbox.split_text`), never clipped with «…».
pieces = split_text


def markup(rows: list[list[InlineKeyboardButton]]) -> dict[str, Any] | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(inline_keyboard=rows).model_dump(exclude_none=True)


@dataclass(frozen=True)
class CardHead:
    """The part of a task's card that is the same for all its readers of one language (`Renderer.task_card_head`);
    `files`: how many files the case holds, for the card's «📎 Files (n)» button (0 on a card with no such row)."""

    lines: tuple[str, ...]
    files: int


# Card heads' texts by (source, definition, language, the values read): `Renderer._head_text`. The definition
# itself is kept with the text (its id alone could name a newer one once it is gone).
_HEAD_TEXTS: dict[tuple[Any, ...], tuple[ProcessDef, str]] = {}
_HEAD_TEXTS_KEPT = 4096
# Dicts in their own order (a text may print them in it); non-string keys, dates, subclasses of str, int, dict and
# list (a choice carries its label) and dataclasses refused, so never kept: only plain JSON values make a key.
_KEY_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS


def renderer_for(core: Core) -> Renderer:
    """The chat's renderer over the shared texts (cheap: it holds the translator and the time zone)."""
    return Renderer(core.translator, core.calendar.tz)


class Renderer(Wording):
    """Wording plus the chat's cards and keyboards."""

    # --- task cards -----------------------------------------------------------------------------------

    def task_card_head(
        self, case: CaseState, task: TaskState, lang: str | None, extra: dict[str, Any] | None = None
    ) -> CardHead:
        """What a task's card says to every reader of one language (its title, case, stage, entry, text and due
        date): rendered once and shared when a task goes to a role of several people."""
        spec = case.spec
        tdef = task_def(spec, task.stage, task.key)
        lines = [
            f"📌 {self.approval_title(case, task, lang) or self.task_title(spec, task, lang)}",
            self.case_name(case, lang),
            self.t("Stage: %(stage)s", lang, stage=self.stage_title(spec, task.stage, lang)),
        ]
        entry = task_entry(spec, case.data, task)
        if entry is not None:  # a for_each task: its entry's fields, and `item` for its text
            extra = {**(extra or {}), "item": entry[1]}
            lines += self.summary(spec, list(entry[0].fields or {}), entry[1], lang, fields=entry[0].fields)
        if tdef.text:
            body = self._head_text(tdef.text, spec, case.data, lang, extra)
            if body:
                lines += ["", body]
        lines.append("")
        if task.due_at is not None:
            lines.append(self.t("Due: %(when)s", lang, when=self.when(task.due_at)))
        files = file_count(spec, case.data) if task.key != START_TASK and case.id is not None else 0
        return CardHead(tuple(lines), files)

    def _head_text(
        self, text: Any, spec: ProcessDef, data: dict[str, Any], lang: str | None, extra: dict[str, Any] | None
    ) -> str:
        """`template(text, …)` of a card head, kept per process by what it reads: its source, the definition, the
        language and the values of the names the source reads (and of `<name>` for `<name>_label`). A task's head
        is rendered when it is given and again when it closes, mostly over the same values; the context and the
        render (~4% of a step's CPU) are then skipped. Values orjson cannot encode exactly are not kept."""
        source = self.tr.local(text, lang)
        names = names_read(source)
        key: tuple[Any, ...] | None = None
        if names is not None:
            read = {name for name in names if name in data}
            read.update(name[:-6] for name in names if name.endswith("_label") and name[:-6] in data)
            try:
                key = (source, id(spec), self.tr.lang(lang),
                       orjson.dumps([(name, data[name]) for name in sorted(read)], option=_KEY_OPTIONS),
                       orjson.dumps([(name, extra[name]) for name in sorted(names) if name in extra] if extra else [],
                                    option=_KEY_OPTIONS))  # fmt: skip
            except TypeError:
                key = None
        if key is not None:
            found = _HEAD_TEXTS.get(key)
            if found is not None and found[0] is spec:
                return found[1]
        body = self.template(text, spec, data, lang, extra)
        if key is not None:
            if len(_HEAD_TEXTS) >= _HEAD_TEXTS_KEPT:
                _HEAD_TEXTS.clear()
            _HEAD_TEXTS[key] = (spec, body)
        return body

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
    ) -> tuple[str, dict[str, Any] | None]:
        """The card a person sees for a task, and its buttons for that person. `taken`: the holder pressed
        «Take» (a pool of one is given its task without anyone taking it, and the card must not say so).
        `head`: `task_card_head` of this task in this language, when it is already rendered."""
        spec = case.spec
        tdef = task_def(spec, task.stage, task.key)
        if head is None:
            head = self.task_card_head(case, task, lang, extra)
        lines = list(head.lines)
        # Buttons as the dicts their models dump to (a card is rendered on every step; the models cost more).
        rows: list[list[dict[str, Any]]] = []
        task_id = task.id or 0
        if task.status == TaskStatus.DONE:
            outcome = self.outcome_label(tdef, task.outcome, lang)
            who = names.get(task.done_by or 0, "?")
            lines.append(self.t("✅ Done: %(outcome)s (%(who)s)", lang, outcome=outcome, who=who))
        elif task.status == TaskStatus.CANCELLED:
            lines.append(self.t("✖️ No longer needed.", lang))
        elif task.assignee_id is None:
            lines.append(self.t("Waiting for someone with the role to take it.", lang))
            rows.append([button(self.t("✋ Take", lang), pack(TaskCb, "claim", task_id, ""))])
        elif task.assignee_id != viewer_id:
            lines.append(self.t("Taken by %(who)s.", lang, who=names.get(task.assignee_id, "?")))
        else:
            if task.role is not None:
                lines.append(self.t("You took this task.", lang) if taken else self.t("This task is yours.", lang))
            if tdef.timing:
                rows.append(self._timing_row(task, lang, lines))
            for key, outcome_def in tdef.outcome_defs().items():
                label = self.tr.local(outcome_def.label, lang)
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
            lines.append(
                self.t(
                    "⏱ Working since %(when)s; done before: %(spent)s",
                    lang,
                    when=self.when(task.work_started_at),
                    spent=self.duration(worked, lang),
                )
            )
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
            when=self.when(task.created_at),
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
            when=self.when(task.created_at),
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

    # --- escalations ----------------------------------------------------------------------------------

    def escalation_buttons(self, task: TaskState, case_id: int, lang: str | None) -> dict[str, Any] | None:
        """What the person a late task escalated to can do about it. Each button names who held the task then,
        so a press after it changed hands is refused as stale."""
        task_id, holder = task.id or 0, task.assignee_id or 0

        def button(text: str, action: str) -> InlineKeyboardButton:
            data = EscalationCb(action=action, task_id=task_id, holder=holder).pack()
            return InlineKeyboardButton(text=self.t(text, lang), callback_data=data)

        # A personal task too: it goes to a member of the roles that may do it (refused in words if there is none).
        rows = [
            [button("👥 Reassign", "reassign")],
            [button("🗓 Extend the deadline", "extend"), button("🙋 Take over", "take")],
        ]
        show = CaseCb(action="show", case_id=case_id).pack()
        rows.append([InlineKeyboardButton(text=self.t("📁 Case", lang), callback_data=show)])
        return markup(rows)

    def reassign_picker(
        self, spec: ProcessDef, task: TaskState, holder: int, people: list[tuple[int, str]], lang: str | None
    ) -> tuple[str, dict[str, Any] | None]:
        text = self.t("Whom to give «%(task)s» to?", lang, task=self.task_title(spec, task, lang))
        rows = [
            [
                InlineKeyboardButton(
                    text=name,
                    callback_data=EscalationCb(action="to", task_id=task.id or 0, holder=holder, arg=user_id).pack(),
                )
            ]
            for user_id, name in people
        ]
        return text, markup(rows)

    def deadline_picker(
        self, spec: ProcessDef, task: TaskState, choices: list[tuple[int, Any]], lang: str | None
    ) -> tuple[str, dict[str, Any] | None]:
        title = self.task_title(spec, task, lang)
        text = self.t("«%(task)s» is due %(when)s. New deadline:", lang, task=title, when=self.when(task.due_at))
        rows = [
            [
                InlineKeyboardButton(
                    text=self.t("+%(n)s working days — %(when)s", lang, n=days, when=self.when(due_at)),
                    callback_data=EscalationCb(action="days", task_id=task.id or 0, arg=days).pack(),
                )
            ]
            for days, due_at in choices
        ]
        return text, markup(rows)

    def case_button(self, case_id: int, lang: str | None) -> dict[str, Any] | None:
        return keyboard([[button(self.t("📁 Case", lang), pack(CaseCb, "show", case_id, ""))]])

    # --- item cards -----------------------------------------------------------------------------------

    def item_title(self, case: CaseState, name: str, index: int, lang: str | None) -> str:
        """How an item is named: its track's `title` over the entry, else «Items №2»."""
        track = track_of(case.spec, name)
        fallback = f"{self.local(case.spec.fields[name].label, lang)} №{index + 1}"
        if track.title is None:
            return fallback
        entry = entry_of(case.data, name, index) or {}
        return self.template(track.title, case.spec, case.data, lang, {"item": entry}) or fallback

    def form_title(self, spec: ProcessDef, task: TaskState, data: dict[str, Any], lang: str | None) -> str:
        """A form's title; an item's form is named after the item (`data` is its entry) and its new stage."""
        item = parse_item_task(task.key)
        track = spec.fields[item[0]].track if item is not None and item[0] in spec.fields else None
        if item is None or track is None or track.title is None:
            return self.task_title(spec, task, lang)
        name = self.template(track.title, spec, {}, lang, {"item": data})
        try:
            stage = self.local(track.stage(item[2]).title, lang)
        except KeyError:
            return self.task_title(spec, task, lang)
        return f"{name} → {stage}" if name else self.task_title(spec, task, lang)

    def approval_title(self, case: CaseState, task: TaskState, lang: str | None) -> str | None:
        """An item's move waiting for approval, named by the item: «Согласуйте: Аппарат УЗИ → Отправлен»."""
        approval = parse_item_approval(task.key)
        if approval is None or approval[0] not in case.spec.tracks():
            return None
        name, index, to = approval
        return self.t(
            "Approve: %(item)s → %(stage)s",
            lang,
            item=self.item_title(case, name, index, lang),
            stage=self.item_stage_title(case, name, to, lang),
        )

    def item_stage_title(self, case: CaseState, name: str, stage: str | None, lang: str | None) -> str:
        try:
            return self.local(track_of(case.spec, name).stage(stage or "").title, lang)
        except KeyError:
            return "—"

    def item_card(self, case: CaseState, name: str, index: int, lang: str | None) -> tuple[str, dict[str, Any] | None]:
        """An item's card: where it stands and since when, its fields, a button per move its stage allows (the
        engine re-checks who presses), its history and its case."""
        spec = case.spec
        state = item_state(case.data, name, index) or {}
        stage = str(state.get("stage") or "")
        since = state.get("since")
        lines = [f"📦 {self.item_title(case, name, index, lang)}", self.case_name(case, lang)]
        where = self.t("Stage: %(stage)s", lang, stage=self.item_stage_title(case, name, stage, lang))
        if isinstance(since, str):
            where += " " + self.t("(since %(when)s)", lang, when=self.when(datetime.fromisoformat(since)))
        lines.append(where)
        fields = spec.fields[name].fields or {}
        lines += self.summary(spec, list(fields), entry_of(case.data, name, index) or {}, lang, fields=fields)
        rows: list[list[InlineKeyboardButton]] = []
        waiting = pending_approval(case, name, index)
        if case.status == CaseStatus.ACTIVE and waiting is not None:
            lines += ["", self.t("⏳ Waiting for approval to go to «%(stage)s».", lang,
                                 stage=self.item_stage_title(case, name, waiting.key.rpartition(">")[2], lang))]
        elif case.status == CaseStatus.ACTIVE and case.id is not None and stage:
            for move in open_item_moves(case, name, index, stage):
                label = (
                    self.local(move.label, lang)
                    if move.label
                    else "➡️ " + self.item_stage_title(case, name, move.to, lang)
                )
                data = ItemCb(action="move", case_id=case.id, list=name, index=index, arg=move.to).pack()
                rows.append([InlineKeyboardButton(text=label[:60], callback_data=data)])
        elif case.status != CaseStatus.ACTIVE:
            lines += ["", self.t("The case is closed.", lang)]
        if case.id is not None:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=self.t("📜 History", lang),
                        callback_data=ItemCb(action="history", case_id=case.id, list=name, index=index).pack(),
                    ),
                    InlineKeyboardButton(
                        text=self.t("📁 Case", lang), callback_data=CaseCb(action="show", case_id=case.id).pack()
                    ),
                ]
            )
        return "\n".join(lines), markup(rows)

    def item_history(self, case: CaseState, name: str, index: int, lang: str | None, names: dict[int, str]) -> str:
        """Each stage the item entered: when, and who moved it there."""
        state = item_state(case.data, name, index) or {}
        lines = [
            self.t(
                "📜 History of «%(item)s», %(case)s",
                lang,
                item=self.item_title(case, name, index, lang),
                case=self.case_name(case, lang),
            )
        ]
        for step in state.get("history") or []:
            at = step.get("at")
            when = self.when(datetime.fromisoformat(at)) if isinstance(at, str) else "—"
            line = f"{when} — {self.item_stage_title(case, name, step.get('to'), lang)}"
            if step.get("approval"):
                line = f"{when} — {self._approval_step(case, name, step, lang)}"
            by = step.get("by")
            if isinstance(by, int):
                line += f" · {names.get(by, '?')}"
            lines.append(line)
        return "\n".join(lines)

    def item_waits(self, case: CaseState, name: str, index: int, to: str, lang: str | None) -> str:
        return self.t(
            "⏳ «%(item)s» will go to «%(stage)s» once approved; the approver has it.",
            lang,
            item=self.item_title(case, name, index, lang),
            stage=self.item_stage_title(case, name, to, lang),
        )

    def _approval_step(self, case: CaseState, name: str, step: dict[str, Any], lang: str | None) -> str:
        stage = self.item_stage_title(case, name, step.get("for"), lang)
        decision = step.get("approval")
        if decision == "asked":
            return self.t("approval asked to go to «%(stage)s»", lang, stage=stage)
        if decision == "approved":
            return self.t("approved to go to «%(stage)s»", lang, stage=stage)
        return self.t("not approved to go to «%(stage)s» (%(reason)s)", lang, stage=stage,
                      reason=step.get("reason") or "—")

    def item_lines(self, case: CaseState, lang: str | None) -> list[str]:
        """Where each item of the case stands, one line each (for the case's card)."""
        lines: list[str] = []
        for name in case.spec.tracks():
            entries = case.data.get(name)
            for index in range(len(entries) if isinstance(entries, list) else 0):
                state = item_state(case.data, name, index)
                if state is None:
                    continue
                stage = self.item_stage_title(case, name, state.get("stage"), lang)
                lines.append(f"📦 {self.item_title(case, name, index, lang)}: {stage}")
        return lines

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

    # --- case card ------------------------------------------------------------------------------------

    def case_card(
        self,
        case: CaseState,
        lang: str | None,
        *,
        names: dict[int, str],
        open_tasks: list[TaskState],
        files: dict[int, str] | None = None,
    ) -> str:
        spec = case.spec
        status = {
            CaseStatus.DRAFT: self.t("draft", lang),
            CaseStatus.ACTIVE: self.t("in progress", lang),
            CaseStatus.DONE: self.t("closed", lang),
            CaseStatus.CANCELLED: self.t("cancelled", lang),
        }.get(case.status, case.status)
        lines = [
            f"📁 {self.case_name(case, lang)}",
            self.t("Process: %(p)s", lang, p=self.tr.local(spec.title, lang)),
            self.t("Stage: %(stage)s", lang, stage=self.stage_title(spec, case.stage, lang)),
            self.t("Status: %(s)s", lang, s=status),
            self.t("Initiator: %(who)s", lang, who=names.get(case.initiator_id, "?")),
        ]
        parent, child = call_links(case)
        if parent is not None:
            lines.append(self.t("↖️ Called by case №%(case)s (/case %(case)s)", lang, case=parent))
        for waited in ([child] if child is not None else []) + sorted(call_children(case).values()):
            lines.append(self.t("↘️ Waiting for case №%(case)s (/case %(case)s)", lang, case=waited))
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
                    task=self.task_title(spec, task, lang),
                    who=holder,
                    when=self.when(task.due_at),
                )
            )
        items = self.item_lines(case, lang)
        if items:
            lines += ["", *items]
        lines.append("")
        for line in self.summary(spec, list(spec.fields), case.data, lang, earlier=case.data.get(EARLIER)):
            lines.append(line)
        return "\n".join(lines)

    # --- forms ----------------------------------------------------------------------------------------

    def question(
        self,
        fields: Mapping[str, FieldDef],
        step: Step,
        task_id: int,
        lang: str | None,
        *,
        options: list[tuple[str, str]],
        collected: int,
        can_back: bool,
    ) -> tuple[str, dict[str, Any] | None]:
        rows: list[list[InlineKeyboardButton]] = []
        if step.is_more:
            label = self.tr.local(fields[step.name].label, lang)
            text = self.t("Add one more «%(label)s»?", lang, label=label)
            rows.append(
                [
                    InlineKeyboardButton(
                        text=self.t("Yes", lang), callback_data=FormCb(action="yes", task_id=task_id).pack()
                    ),
                    InlineKeyboardButton(
                        text=self.t("No, that's all", lang), callback_data=FormCb(action="no", task_id=task_id).pack()
                    ),
                ]
            )
        else:
            assert step.field is not None
            fdef = step.field
            text = f"✏️ {step_label(fields, step, self.tr.lang(lang))}"
            if fdef.hint:
                text += f"\n{self.tr.local(fdef.hint, lang)}"
            hint = self.type_hint(fdef, lang)
            if hint:
                text += f"\n{hint}"
            if step.is_file and collected:
                text += "\n" + self.t("Received: %(n)s. Send more or press «Done».", lang, n=collected)
            if step.can_keep:
                # Asked again (a returned request, a correction): what the case has now, and a way to keep it.
                order = fields[step.name].fields if step.whole else None
                now = describe_current(step, self.tr.lang(lang), dict(options), order=order)
                if fdef.type == "photo" and not step.whole:  # photos counted: their file names mean nothing
                    count = len(step.current) if isinstance(step.current, list) else 1
                    now = self.t("%(n)s photo(s)", lang, n=count)
                text += "\n" + self.t("Now: %(value)s", lang, value=now)
                rows.append(
                    [
                        InlineKeyboardButton(
                            text=self.t("✅ Keep as it is", lang),
                            callback_data=FormCb(action="keep", task_id=task_id).pack(),
                        )
                    ]
                )
            for key, label in options:
                rows.append(
                    [
                        InlineKeyboardButton(
                            text=label[:60], callback_data=FormCb(action="pick", task_id=task_id, arg=key).pack()
                        )
                    ]
                )
            if step.is_file and (collected or fdef.multiple):
                rows.append(
                    [
                        InlineKeyboardButton(
                            text=self.t("✅ Done", lang), callback_data=FormCb(action="files", task_id=task_id).pack()
                        )
                    ]
                )
            if not fdef.required:
                rows.append(
                    [
                        InlineKeyboardButton(
                            text=self.t("⏭ Skip", lang), callback_data=FormCb(action="skip", task_id=task_id).pack()
                        )
                    ]
                )
        nav = []
        if can_back:
            nav.append(
                InlineKeyboardButton(
                    text=self.t("⬅️ Back", lang), callback_data=FormCb(action="back", task_id=task_id).pack()
                )
            )
        nav.append(
            InlineKeyboardButton(
                text=self.t("✖️ Cancel", lang), callback_data=FormCb(action="cancel", task_id=task_id).pack()
            )
        )
        rows.append(nav)
        return text, markup(rows)

    def form_summary(
        self,
        spec: ProcessDef,
        fields: Mapping[str, FieldDef],
        names: list[str],
        draft: dict[str, Any],
        task_id: int,
        lang: str | None,
        title: str,
        decision: str | None = None,
    ) -> tuple[str, dict[str, Any] | None]:
        """The answers to confirm, the decision first (what «Confirm» will do), in full: the caller sends a
        long one as several messages (`pieces`)."""
        lines = [self.t("Please check:", lang), title, ""]
        if decision:
            lines += [self.t("Decision: %(decision)s", lang, decision=decision), ""]
        lines += self.summary(spec, names, draft["values"], lang, fields)
        rows = [
            [
                InlineKeyboardButton(
                    text=self.t("✅ Confirm", lang), callback_data=FormCb(action="confirm", task_id=task_id).pack()
                )
            ]
        ]
        if names:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=self.t("✏️ Correct a field", lang),
                        callback_data=FormCb(action="edit", task_id=task_id).pack(),
                    )
                ]
            )
        rows.append(
            [
                InlineKeyboardButton(
                    text=self.t("⬅️ Back", lang), callback_data=FormCb(action="back", task_id=task_id).pack()
                ),
                InlineKeyboardButton(
                    text=self.t("✖️ Cancel", lang), callback_data=FormCb(action="cancel", task_id=task_id).pack()
                ),
            ]
        )
        return "\n".join(lines), markup(rows)

    def entry_picker(
        self,
        fields: Mapping[str, FieldDef],
        names: list[str],
        name: str,
        draft: dict[str, Any],
        task_id: int,
        lang: str | None,
    ) -> dict[str, Any] | None:
        """The entries of a list, to correct one; add one, or enter the whole list again. Buttons carry numbers
        (list, entry), not names: two field keys would not fit in a button's 64 bytes."""
        top = names.index(name)
        label = self.tr.local(fields[name].label, lang)
        items = draft["values"].get(name) or []
        rows = [
            [
                InlineKeyboardButton(
                    text=f"{label} №{index + 1}: {entry_title(item, fields[name].fields or {})}"[:60],
                    callback_data=FormCb(action="entry", task_id=task_id, arg=f"{top}.{index}").pack(),
                )
            ]
            for index, item in enumerate(items)
        ]
        if can_add_entry(fields, names, draft, name):
            rows.append(
                [
                    InlineKeyboardButton(
                        text=self.t("➕ Add an entry", lang),
                        callback_data=FormCb(action="add", task_id=task_id, arg=str(top)).pack(),
                    )
                ]
            )
        rows.append(
            [
                InlineKeyboardButton(
                    text=self.t("🔁 Enter the whole list again", lang),
                    callback_data=FormCb(action="all", task_id=task_id, arg=str(top)).pack(),
                )
            ]
        )
        rows.append(self._back_to_summary(task_id, lang))
        return markup(rows)

    def entry_field_picker(
        self,
        fields: Mapping[str, FieldDef],
        names: list[str],
        name: str,
        index: int,
        draft: dict[str, Any],
        task_id: int,
        lang: str | None,
    ) -> dict[str, Any] | None:
        """The fields of one entry, to correct one of them or all; or take the entry out."""
        top = names.index(name)
        sub_fields = fields[name].fields or {}
        rows = [
            [
                InlineKeyboardButton(
                    text=self.tr.local(sub.label, lang)[:60],
                    callback_data=FormCb(action="sub", task_id=task_id, arg=f"{top}.{index}.{number}").pack(),
                )
            ]
            for number, sub in enumerate(sub_fields.values())
        ]
        rows.append(
            [
                InlineKeyboardButton(
                    text=self.t("🔁 The whole entry", lang),
                    callback_data=FormCb(action="sub", task_id=task_id, arg=f"{top}.{index}").pack(),
                )
            ]
        )
        if can_remove_entry(fields, names, draft, name):
            rows.append(
                [
                    InlineKeyboardButton(
                        text=self.t("🗑 Remove this entry", lang),
                        callback_data=FormCb(action="drop", task_id=task_id, arg=f"{top}.{index}").pack(),
                    )
                ]
            )
        rows.append(self._back_to_summary(task_id, lang))
        return markup(rows)

    def _back_to_summary(self, task_id: int, lang: str | None) -> list[InlineKeyboardButton]:
        return [
            InlineKeyboardButton(
                text=self.t("⬅️ Back", lang), callback_data=FormCb(action="resume", task_id=task_id).pack()
            )
        ]

    def field_picker(
        self, fields: Mapping[str, FieldDef], names: list[str], task_id: int, lang: str | None
    ) -> dict[str, Any] | None:
        rows = [
            [
                InlineKeyboardButton(
                    text=self.tr.local(fields[n].label, lang)[:60],
                    callback_data=FormCb(action="field", task_id=task_id, arg=n).pack(),
                )
            ]
            for n in names
        ]
        rows.append(
            [
                InlineKeyboardButton(
                    text=self.t("⬅️ Back", lang), callback_data=FormCb(action="resume", task_id=task_id).pack()
                )
            ]
        )
        return markup(rows)
