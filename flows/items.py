"""Item tracks: each entry of a list field moves along its own stages (an order's items), kept with the case.

An item's state lives in the case's data, beside the list, under `ITEMS`: per list, one record per entry (same
index) with its stage, the visit of that stage, when it got there and its history. The case stays one row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.forms import asked
from flows.model import FieldDef, ItemStageDef, ProcessDef, TrackDef, local
from flows.templating import LANG_KEY, TemplateError, render
from flows.values import number_sign

ITEMS = "__items__"
ITEM_TASK = "__item__:"  # «fill what the item's next stage requires»: `__item__:<list>#<index>><stage>`
ITEM_APPROVAL = "__itemok__:"  # «approve this item's move»: `__itemok__:<list>#<index>><stage>`
ITEM_EDIT = "__itemedit__:"  # «correct this field of the item»: `__itemedit__:<list>#<index>><field>`


def track_of(spec: ProcessDef, name: str) -> TrackDef:
    fdef = spec.fields.get(name)
    if fdef is None or fdef.track is None:
        raise KeyError(name)
    return fdef.track


def item_states(data: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The states of a list's items (empty until the track has begun)."""
    items = data.get(ITEMS)
    states = items.get(name) if isinstance(items, dict) else None
    return states if isinstance(states, list) else []


def item_state(data: dict[str, Any], name: str, index: int) -> dict[str, Any] | None:
    states = item_states(data, name)
    return states[index] if 0 <= index < len(states) and isinstance(states[index], dict) else None


def entry_of(data: dict[str, Any], name: str, index: int) -> dict[str, Any] | None:
    entries = data.get(name)
    if isinstance(entries, list) and 0 <= index < len(entries) and isinstance(entries[index], dict):
        return entries[index]
    return None


def item_task_key(name: str, index: int, to: str) -> str:
    return f"{ITEM_TASK}{name}#{index}>{to}"


def parse_item_task(key: str) -> tuple[str, int, str] | None:
    """The list, entry and target stage of an item's form task, or None for any other task."""
    return _parse(key, ITEM_TASK)


def item_approval_key(name: str, index: int, to: str) -> str:
    return f"{ITEM_APPROVAL}{name}#{index}>{to}"


def parse_item_approval(key: str) -> tuple[str, int, str] | None:
    """The list, entry and target stage of an approval an item's move waits for, or None for any other task."""
    return _parse(key, ITEM_APPROVAL)


def item_edit_key(name: str, index: int, field: str) -> str:
    return f"{ITEM_EDIT}{name}#{index}>{field}"


def parse_item_edit(key: str) -> tuple[str, int, str] | None:
    """The list, entry and field of an item's correction, or None for any other task."""
    return _parse(key, ITEM_EDIT)


def item_of_form(key: str) -> tuple[str, int] | None:
    """The list and entry whose fields a form fills (an item's move or a correction of one of its fields), or None
    for a form of the case's own fields."""
    found = parse_item_task(key) or parse_item_edit(key)
    return (found[0], found[1]) if found is not None else None


def is_item_work(key: str) -> bool:
    """A task about one item (its move's form, its approval, a correction): it belongs to the item, not to the
    case's stage."""
    return key.startswith((ITEM_TASK, ITEM_APPROVAL, ITEM_EDIT))


def _parse(key: str, prefix: str) -> tuple[str, int, str] | None:
    if not key.startswith(prefix):
        return None
    head, _sep, to = key.removeprefix(prefix).partition(">")
    name, _sep, index = head.partition("#")
    return (name, int(index), to) if index.isdigit() and to else None


def move_approval(track: TrackDef, stage: str, to: str) -> str | None:
    """The role whose approval a move from `stage` to `to` waits for: the move's own, else the target stage's."""
    move = next((m for m in track.stage(stage).moves if m.to == to), None)
    return (move.approval if move is not None else None) or track.stage(to).approval


def approved_moves(state: dict[str, Any] | None) -> set[str]:
    """The stages an item's moves were approved to since it last moved: an approval stands until the item moves
    (its form may still wait to be filled), and the latest decision on a stage is the one that counts."""
    decided: dict[str, str] = {}
    for step in reversed((state or {}).get("history") or []):
        if step.get("to") is not None:
            break  # it moved since: an approval is for one move from where it stood
        if step.get("approval") and isinstance(step.get("for"), str):
            decided.setdefault(step["for"], step["approval"])
    return {to for to, decision in decided.items() if decision == "approved"}


def item_task_title(
    spec: ProcessDef, name: str, index: int, to: str, data: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """An item's move, «Аппарат УЗИ → Отправлен»: the item named by its track's `title` over its entry (given the
    case's `data`), else as one entry of its list («Позиция №3»)."""
    stage = track_of(spec, name).stage(to).title
    return {lang: f"{item_name(spec, name, index, lang, data)} → {local(stage, lang)}" for lang in ("ru", "en")}


def item_name(
    spec: ProcessDef,
    name: str,
    index: int,
    lang: str,
    data: Mapping[str, Any] | None = None,
    entry: Mapping[str, Any] | None = None,
) -> str:
    """How an item is named: its track's `title` over its entry (given, or found in the case's `data`), else as one
    entry of its list («Позиция №3»)."""
    fdef = spec.fields[name]
    if entry is None and data is not None:
        entry = entry_of(dict(data), name, index)
    title = fdef.track.title if fdef.track is not None else None
    if entry is not None and title is not None:
        try:
            named = " ".join(render(local(title, lang), {"item": entry, LANG_KEY: lang}).split())
        except TemplateError:
            named = ""
        if named:
            return named
    return f"{local(fdef.entry or fdef.label, lang)} {number_sign(lang)}{index + 1}"


def item_edit_title(
    spec: ProcessDef,
    name: str,
    index: int,
    field: str,
    data: Mapping[str, Any] | None = None,
    entry: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """A correction of an item's field, «Изменить: Трек-номер — Аппарат УЗИ», as a case field's is «Изменить: …»;
    the item named from the case's `data` or its `entry`."""
    label = entry_fields(spec, name)[field].label
    return {
        lang: f"{prefix}: {local(label, lang)} — {item_name(spec, name, index, lang, data, entry)}"
        for lang, prefix in (("ru", "Изменить"), ("en", "Change"))
    }


def correctable(spec: ProcessDef, data: dict[str, Any], name: str, index: int) -> list[str]:
    """The fields of an item its people may correct where it stands: its stage's `editable` that the entry is
    asked (an `ask_if` that skips a field for this entry skips its correction too)."""
    state = item_state(data, name, index)
    entry = entry_of(data, name, index)
    if state is None or entry is None:
        return []
    try:
        editable = track_of(spec, name).stage(str(state.get("stage"))).editable
    except KeyError:  # a stage a version moved away from
        return []
    fields = entry_fields(spec, name)
    return [f for f in asked(fields, editable, entry) if f in fields]


def corrections(state: Mapping[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """The values corrections replaced, per field, oldest first, as a case keeps its own (`EARLIER`): what a card
    shows under the field («ранее: …»)."""
    earlier: dict[str, list[dict[str, Any]]] = {}
    for step in (state or {}).get("history") or []:
        if isinstance(step.get("corrected"), str) and "was" in step:
            earlier.setdefault(step["corrected"], []).append({"value": step["was"], "at": step.get("at")})
    return earlier


def approver_of(track: TrackDef, to: str) -> str | None:
    """The role that approves moves into `to` (from a move that asks for it, else the stage's own)."""
    for stage in track.stages:
        for move in stage.moves:
            if move.to == to and move.approval:
                return move.approval
    return track.stage(to).approval


def item_approval_title(
    spec: ProcessDef, name: str, index: int, to: str, data: Mapping[str, Any] | None = None
) -> dict[str, str]:
    moved = item_task_title(spec, name, index, to, data)
    return {lang: f"{prefix}: {moved[lang]}" for lang, prefix in (("ru", "Согласуйте"), ("en", "Approve"))}


def item_work_title(spec: ProcessDef, key: str, data: Mapping[str, Any]) -> dict[str, str] | None:
    """A task about one item (its move's form, its approval, a correction) titled with the item named over the
    case's `data` («Согласуйте: Дефибриллятор → Отправлен»), or None for any other task. Without the data a title
    can only say the item's place («Позиция №2»), which leaves the reader to find out which item that is."""
    for parse, title in (
        (parse_item_task, item_task_title),
        (parse_item_approval, item_approval_title),
        (parse_item_edit, item_edit_title),
    ):
        found = parse(key)
        if found is not None and found[0] in spec.tracks():
            try:
                return title(spec, *found, data)
            except KeyError:  # a stage or field an earlier version had
                return None
    return None


def entry_fields(spec: ProcessDef, name: str) -> dict[str, FieldDef]:
    return dict(spec.fields[name].fields or {})


def counted_floor(track: TrackDef, states: list[dict[str, Any]]) -> int | None:
    """The lowest stage (its rank) among the items that count (not at a cancelled stage); None if none counts."""
    ranks = []
    for state in states:
        stage: ItemStageDef | None = next((s for s in track.stages if s.key == state.get("stage")), None)
        if stage is not None and not stage.cancelled:
            ranks.append(track.rank(stage.key))
    return min(ranks) if ranks else None
