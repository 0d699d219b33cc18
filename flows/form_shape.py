"""A form's shape: the fields it asks by name and the order it asks them in, for a task and the outcome chosen
(`flows.runtime.form_fields`, `task_fields`), with the outcome's comment when it takes one.

The shape depends only on the definition, the task's stage and key and the outcome: it is worked out once per
process (every answer asks for it, most twice), not rebuilt from the definition each time.
"""

from __future__ import annotations

from flows.model import FieldDef, OutcomeDef, ProcessDef
from flows.runtime import START_TASK, TaskState, form_fields, task_def, task_fields
from flows.spec_cache import SpecCache

_SHAPES: SpecCache[ProcessDef, tuple[str, str, str | None], tuple[dict[str, FieldDef], tuple[str, ...]]] = SpecCache(
    1024
)


COMMENT_LABEL = {"ru": "Комментарий", "en": "Comment"}


def comment_field(outcome: OutcomeDef) -> FieldDef:
    """The comment an outcome asks for (`<task>_comment`), by the outcome's `comment_label`: an approval's own
    «Отклонить» asks for «Причина отказа», so the approver is asked why, not for «a comment», and the reason reads
    so where it is shown; an outcome that names none («Вернуть с замечаниями») asks for «Комментарий»."""
    label = outcome.comment_label if outcome.comment_label is not None else COMMENT_LABEL
    return FieldDef(type="text", label=label, required=outcome.comment == "required")


def form_shape(spec: ProcessDef, task: TaskState, outcome: str | None) -> tuple[dict[str, FieldDef], tuple[str, ...]]:
    """The fields a task's form asks by name, and their names in the order asked. Shared between callers: copy
    the dict before changing it."""
    part = (task.stage, task.key, outcome)
    known = _SHAPES.get(spec, part)
    if known is not None:
        return known
    fields: dict[str, FieldDef] = form_fields(spec, task, outcome)
    names = task_fields(spec, task, outcome)
    if outcome is not None and task.key != START_TASK:
        odef = task_def(spec, task.stage, task.key).outcome_defs().get(outcome)
        if odef is not None and odef.comment is not None:
            comment = f"{task.key}_comment"
            fields[comment] = comment_field(odef)
            names.append(comment)
    return _SHAPES.put(spec, part, (fields, tuple(names)))
