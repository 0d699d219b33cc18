"""Filling a form one field at a time, as a chat does it.

A draft is plain JSON (kept on the task row, so a half-filled form survives a restart):
    {"outcome": str | None, "values": {...}, "answered": [path, ...], "files": {path: [file, ...]}}
A path is a top-level field ("supplier"), a field of one entry of a list ("units.0.serial"), or the
question whether to add another entry to a list without a fixed count ("units.more.2").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flows.model import FILE_TYPES, FieldDef, local


@dataclass(frozen=True)
class Step:
    path: str
    name: str  # the top-level field
    field: FieldDef | None  # None for «add another entry?»
    index: int | None = None  # entry of a list
    sub: str | None = None  # field of that entry

    @property
    def is_more(self) -> bool:
        return self.field is None

    @property
    def is_file(self) -> bool:
        return self.field is not None and self.field.type in FILE_TYPES


def new_draft(outcome: str | None = None, values: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"outcome": outcome, "values": dict(values or {}), "answered": [], "files": {}}


def _list_count(fdef: FieldDef, values: dict[str, Any]) -> int | None:
    if fdef.count is None:
        return None
    raw = values.get(fdef.count)
    try:
        return max(0, min(int(raw), fdef.max_items)) if raw is not None else None
    except (TypeError, ValueError):
        return None


def next_step(fields: Mapping[str, FieldDef], names: list[str], draft: dict[str, Any]) -> Step | None:
    """The first question not answered yet, or None when the form is complete."""
    values: dict[str, Any] = draft["values"]
    answered = set(draft["answered"])
    for name in names:
        fdef = fields[name]
        if fdef.type != "list":
            if name not in answered:
                return Step(path=name, name=name, field=fdef)
            continue
        assert fdef.fields is not None
        items: list[dict[str, Any]] = values.setdefault(name, [])
        count = _list_count(fdef, values)
        if count is not None and len(items) > count:
            # Fewer units now: forget those entries entirely, or raising the count again would
            # bring them back as «answered» but empty.
            del items[count:]
            draft["answered"] = [p for p in draft["answered"] if not _entry_index_at_least(p, name, count)]
            answered = set(draft["answered"])
        index = 0
        while True:
            if index < len(items) or (count is not None and index < count):
                if index >= len(items):
                    items.append({})
                for sub_name, sub in fdef.fields.items():
                    path = f"{name}.{index}.{sub_name}"
                    if path not in answered:
                        return Step(path=path, name=name, field=sub, index=index, sub=sub_name)
                index += 1
                continue
            if count is None and index < fdef.max_items:
                more = f"{name}.more.{index}"
                if index < fdef.min_items:
                    items.append({})
                    continue
                if more not in answered:
                    return Step(path=more, name=name, field=None, index=index)
                if draft.get("more", {}).get(more):
                    items.append({})
                    continue
            break
    return None


def _entry_index_at_least(path: str, name: str, index: int) -> bool:
    parts = path.split(".")
    return len(parts) == 3 and parts[0] == name and parts[1].isdigit() and int(parts[1]) >= index


def answer(draft: dict[str, Any], step: Step, value: Any) -> None:
    values: dict[str, Any] = draft["values"]
    if step.is_more:
        draft.setdefault("more", {})[step.path] = bool(value)
    elif step.index is not None and step.sub is not None:
        values[step.name][step.index][step.sub] = value
    else:
        values[step.name] = value
    draft["files"].pop(step.path, None)
    if step.path not in draft["answered"]:
        draft["answered"].append(step.path)


def back(draft: dict[str, Any]) -> bool:
    """Forget the last answer so it is asked again. False when nothing was answered yet."""
    if draft["files"]:
        draft["files"] = {}
        return True
    if not draft["answered"]:
        return False
    path: str = draft["answered"].pop()
    parts = path.split(".")
    values: dict[str, Any] = draft["values"]
    if len(parts) == 1:
        values.pop(path, None)
    elif parts[1] == "more":
        draft.get("more", {}).pop(path, None)
        # A «no» closed the list; a «yes» opened an empty entry that must go too.
        items = values.get(parts[0]) or []
        while items and not items[-1] and len(items) > int(parts[2]):
            items.pop()
    else:
        items = values.get(parts[0]) or []
        index = int(parts[1])
        if index < len(items):
            items[index].pop(parts[2], None)
            if not items[index] and index == len(items) - 1:
                items.pop()
    return True


def reset_field(draft: dict[str, Any], name: str) -> None:
    """Ask a top-level field (and, for a list, all its entries) again, e.g. when corrected from the summary."""
    draft["answered"] = [p for p in draft["answered"] if p.split(".")[0] != name]
    draft["values"].pop(name, None)
    more: dict[str, bool] = draft.get("more", {})
    for key in [k for k in more if k.startswith(f"{name}.")]:
        del more[key]
    draft["files"] = {}


def add_file(draft: dict[str, Any], step: Step, file: dict[str, Any]) -> int:
    """Collect one more file for a file field; returns how many are collected for it now."""
    collected: list[dict[str, Any]] = draft["files"].setdefault(step.path, [])
    collected.append(file)
    return len(collected)


def collected_files(draft: dict[str, Any], step: Step) -> list[dict[str, Any]]:
    return list(draft["files"].get(step.path, []))


def step_label(fields: Mapping[str, FieldDef], step: Step, lang: str) -> str:
    if step.field is None:
        return ""
    label = local(step.field.label, lang)
    if step.index is not None:
        parent = local(fields[step.name].label, lang)
        return f"{parent} №{step.index + 1}: {label}"
    return label


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def prefill(fields: Mapping[str, FieldDef], names: list[str], draft: dict[str, Any], data: Mapping[str, Any]) -> None:
    """Take what the case already knows (a hand-off carried it over) as answered; the summary still shows it."""
    values: dict[str, Any] = draft["values"]
    for name in names:
        value = data.get(name)
        if _empty(value):
            continue
        fdef = fields[name]
        if fdef.type == "list" and fdef.fields and isinstance(value, list):
            items = [dict(item) for item in value if isinstance(item, dict)]
            values[name] = items
            for index, item in enumerate(items):
                draft["answered"] += [f"{name}.{index}.{sub}" for sub in fdef.fields if sub in item]
            if fdef.count is None:
                more = f"{name}.more.{len(items)}"
                draft.setdefault("more", {})[more] = False
                draft["answered"].append(more)
        else:
            values[name] = value
            draft["answered"].append(name)
