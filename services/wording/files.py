"""Files in words: which fields of a case hold files, how many it holds, and each file named by what it is (photos
counted, documents by their names)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flows.form_shape import COMMENT_LABEL, comment_field
from flows.model import FILE_TYPES, ProcessDef, TaskDef
from flows.runtime import COMMENT_FILE_SUFFIX, base_key, entry_index
from flows.spec_cache import SpecCache
from services.wording.base import WordingBase
from services.wording.names import entry_name

# The emoji a button's label or a decision's words begin with («✖️ Нецелевой», «↩️ Вернуть с замечаниями»).
MARKS = re.compile(r"^[^\w«“\"'(]+")


def file_fields(spec: ProcessDef) -> list[str]:
    """The case's fields that hold files, lists whose entries hold files included."""
    return list(_file_fields(spec))


# Per spec: every task card counts the case's files, and the fields that hold them depend on the definition alone.
_FILE_FIELDS: SpecCache[ProcessDef, None, tuple[str, ...]] = SpecCache(256)


def _file_fields(spec: ProcessDef) -> tuple[str, ...]:
    hit = _FILE_FIELDS.get(spec, None)
    if hit is not None:
        return hit
    names = tuple(
        name
        for name, fdef in spec.fields.items()
        if fdef.type in FILE_TYPES
        or (fdef.type == "list" and any(sub.type in FILE_TYPES for sub in (fdef.fields or {}).values()))
    )
    return _FILE_FIELDS.put(spec, None, names)


def case_file_names(spec: ProcessDef, data: Mapping[str, Any]) -> list[str]:
    """Where the case keeps its files: the fields that hold them, and the photos (or files) its decisions' comments
    were given as (`flows.runtime.comment_file_key`: the director's offer marked up by hand) — the case's «📎 Files»."""
    return [*_file_fields(spec), *_comment_file_names(spec, data)]


def _comment_file_names(spec: ProcessDef, data: Mapping[str, Any]) -> list[str]:
    """The keys of the decisions' comment files the case holds now, of tasks its definition has (a for_each task's
    entries each keep their own; the task's own key repeats the last of them, so it is not counted twice)."""
    names = [
        key
        for key, value in data.items()
        if key.endswith(COMMENT_FILE_SUFFIX) and _refs(value) and _comment_task(spec, key) is not None
    ]
    keys = [n.removesuffix(COMMENT_FILE_SUFFIX) for n in names]
    entries = {base_key(k) for k in keys if entry_index(k) is not None}
    return [n for n, k in zip(names, keys, strict=True) if k not in entries]


def _comment_task(spec: ProcessDef, name: str) -> TaskDef | None:
    key = base_key(name.removesuffix(COMMENT_FILE_SUFFIX))
    return next((t for stage in spec.stages for t in stage.tasks if t.key == key), None)


def file_count(spec: ProcessDef, data: Mapping[str, Any]) -> int:
    """How many files the case holds (`len(Wording.files(spec, data, case_file_names(spec, data), lang))` without
    wording a label for each: a card shows only the number)."""
    count = sum(_ref_count(data.get(name)) for name in _comment_file_names(spec, data))
    for name, subs in _file_plan(spec):
        value = data.get(name)
        if subs is None:
            count += _ref_count(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    for key in subs:
                        count += _ref_count(item.get(key))
    return count


# Per spec, each field that holds files with None, or a list's name with its entries' fields that hold them: every
# task card counts the files, and which fields to look in depends on the definition alone.
_FILE_PLANS: SpecCache[ProcessDef, None, tuple[tuple[str, tuple[str, ...] | None], ...]] = SpecCache(256)


def _file_plan(spec: ProcessDef) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    hit = _FILE_PLANS.get(spec, None)
    if hit is not None:
        return hit
    plan = []
    for name in _file_fields(spec):
        fdef = spec.fields[name]
        subs = tuple(k for k, sub in (fdef.fields or {}).items() if sub.type in FILE_TYPES)
        plan.append((name, None if fdef.type in FILE_TYPES else subs))
    return _FILE_PLANS.put(spec, None, tuple(plan))


def _ref_count(value: Any) -> int:
    """`len(_refs(value))` without the list."""
    if isinstance(value, list):
        return sum(1 for ref in value if isinstance(ref, dict) and ref.get("id") is not None)
    return 1 if isinstance(value, dict) and value.get("id") is not None else 0


def _refs(value: Any) -> list[dict[str, Any]]:
    files = value if isinstance(value, list) else [value]
    return [f for f in files if isinstance(f, dict) and f.get("id") is not None]


class FileWords(WordingBase):
    def files(
        self, spec: ProcessDef, data: Mapping[str, Any], names: list[str], lang: str | None
    ) -> list[tuple[str, dict[str, Any]]]:
        """The files stored in these fields, each with the words that say what it is («Фото дефекта · Часы №2»);
        files inside list entries included — that is where the per-unit photos live."""
        found: list[tuple[str, dict[str, Any]]] = []
        for name in names:
            fdef = spec.fields.get(name)
            if fdef is None:
                found += [(label, ref) for label, ref in self._comment_files(spec, data, name, lang)]
                continue
            if fdef.type in FILE_TYPES:
                label = self.field_label(spec, fdef, data, lang)
                found += [(label, ref) for ref in _refs(data.get(name))]
            elif fdef.type == "list" and fdef.fields:
                value = data.get(name)
                entries = value if isinstance(value, list) else []
                for index, item in enumerate(entries):
                    if not isinstance(item, Mapping):
                        continue
                    entry = entry_name(self.local(fdef.entry or fdef.label, lang), index, len(entries),
                                       self.tr.lang(lang))  # fmt: skip
                    if fdef.track is not None and fdef.track.title is not None:
                        # An item of a track by its name, as its card calls it («Приходный ордер · Кардиомонитор»),
                        # not «Позиция №2» that nobody reading the file knows.
                        named = self.template(fdef.track.title, spec, dict(data), lang, {"item": dict(item)})
                        entry = named or entry
                    for key, sub in fdef.fields.items():
                        if sub.type in FILE_TYPES:
                            label = f"{self.local(sub.label, lang)} · {entry}"
                            found += [(label, ref) for ref in _refs(item.get(key))]
        return found

    def _comment_files(
        self, spec: ProcessDef, data: Mapping[str, Any], name: str, lang: str | None
    ) -> list[tuple[str, dict[str, Any]]]:
        """The photo a decision's comment was given as (`flows.runtime.comment_file_key`), named as the comment was
        asked and by the decision it came with («Что исправить? · Возвращено с замечаниями»): not a field of the
        definition, so found by the task it is of."""
        tdef = _comment_task(spec, name) if name.endswith(COMMENT_FILE_SUFFIX) else None
        if tdef is None:
            return []
        odef = tdef.outcome_defs().get(str(data.get(name.removesuffix(COMMENT_FILE_SUFFIX))))
        label = self.local(comment_field(odef).label if odef is not None else COMMENT_LABEL, lang)
        if odef is not None:
            decided = MARKS.sub("", self.local(odef.done if odef.done is not None else odef.label, lang))
            label = f"{label} · {decided}" if decided else label
        return [(label, ref) for ref in _refs(data.get(name))]

    def photos(self, count: int, lang: str | None) -> str:
        return self.tr.tn("%(n)s photo", "%(n)s photos", count, lang)

    def files_words(self, refs: list[dict[str, Any]], lang: str | None) -> str:
        """Files as a person calls them: photos counted («2 фото и act.pdf», a lone one «фото») — a photo's stored
        name is Telegram's id (photo_AQAD….jpg), which means nothing to anyone; documents by the names they came
        with."""
        photos = sum(1 for ref in refs if ref.get("kind") == "photo")
        words = [self.t("a photo", lang) if photos == 1 else self.photos(photos, lang)] if photos else []
        words += [str(ref.get("name") or self.t("file", lang)) for ref in refs if ref.get("kind") != "photo"]
        if len(words) > 1:
            return self.t("%(items)s and %(last)s", lang, items=", ".join(words[:-1]), last=words[-1])
        return words[0] if words else "—"
