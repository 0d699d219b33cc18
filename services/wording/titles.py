"""Titles and names in words: a role, a stage, a task, a case, who started it, where a released task went, a
decision made, a comment's line, a duration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flows.items import item_work_title
from flows.model import ProcessDef, TaskDef
from flows.runtime import START_TASK, STARTED_BY, CaseState, TaskState, task_def
from flows.values import number_sign
from services.wording.files import MARKS
from services.wording.names import ROLES, words_of_key
from services.wording.values import ValueWords

if TYPE_CHECKING:
    from services.comments import Entry


class TitleWords(ValueWords):
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

    def role(self, role: str | None, lang: str | None) -> str:
        if not role:
            return ""
        return self.t(ROLES[role], lang) if role in ROLES else words_of_key(role)

    def roles(self, roles: Any, lang: str | None) -> str:
        return ", ".join(self.role(r, lang) for r in sorted(roles)) or "—"

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
        mark = MARKS.match(words) or MARKS.match(label)
        result = MARKS.sub("", words)
        if mark is not None:
            return mark.group().strip(), result
        return ("✖️" if tdef.kind == "approve" and outcome == "reject" else "✅"), result
