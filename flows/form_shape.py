"""A form's shape: the fields it asks by name and the order it asks them in, for a task and the outcome chosen
(`flows.runtime.form_fields`, `task_fields`), with the outcome's comment when it takes one.

The shape depends only on the definition, the task's stage and key and the outcome: it is worked out once per
process (every answer asks for it, most twice), not rebuilt from the definition each time.
"""

from __future__ import annotations

from flows.model import DEFAULT_OUTCOMES, FieldDef, OutcomeDef, ProcessDef
from flows.runtime import START_TASK, TaskState, form_fields, task_def, task_fields
from flows.spec_cache import SpecCache

_SHAPES: SpecCache[ProcessDef, tuple[str, str, str | None], tuple[dict[str, FieldDef], tuple[str, ...]]] = SpecCache(
    1024
)


def comment_field(required: bool, outcome: OutcomeDef | None = None) -> FieldDef:
    """The comment an outcome asks for (`<task>_comment`). A plain rejection's asks for its reason by that name:
    the approver who pressed «Отклонить» is asked why, not for «a comment», and the reason reads so where it is
    shown. A rejection a definition names otherwise («Вернуть с замечаниями») keeps «Комментарий»."""
    if outcome is not None and outcome.label == DEFAULT_OUTCOMES["approve"]["reject"].label:
        return FieldDef(type="text", label={"ru": "Причина отказа", "en": "Reason for rejection"}, required=required)
    return FieldDef(type="text", label={"ru": "Комментарий", "en": "Comment"}, required=required)


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
            fields[comment] = comment_field(odef.comment == "required", odef)
            names.append(comment)
    return _SHAPES.put(spec, part, (fields, tuple(names)))
