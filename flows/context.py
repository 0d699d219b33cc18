"""What templates and conditions see of a case: its fields, with directory entries resolved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.model import ProcessDef


class Entry(dict[str, Any]):
    """A directory entry or a company, as templates and conditions see it: `{{ supplier }}` prints its name,
    `{{ supplier.email }}` its e-mail, and `supplier == 'alpha'` compares its key (a company: its id)."""

    def __str__(self) -> str:
        return str(self.get("name", self.get("key", "")))

    def __getattr__(self, name: str) -> Any:
        return self.get(name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str | int) and not isinstance(other, bool):
            return self.get("key", self.get("id")) == other
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None


def case_context(
    spec: ProcessDef,
    data: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    refs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`refs` are records the case points at, loaded by the caller (companies, by their field's name)."""
    context: dict[str, Any] = dict(data)
    for name, record in (refs or {}).items():
        if isinstance(record, Mapping):
            context[name] = Entry(record)
    for name, fdef in spec.fields.items():
        value = data.get(name)
        if fdef.type == "company" and isinstance(value, Mapping) and name not in (refs or {}):
            context[name] = Entry(value)
        elif fdef.type == "directory" and fdef.directory and isinstance(value, str):
            entry = spec.directory_entry(fdef.directory, value)
            if entry is not None:
                context[name] = Entry(entry.model_dump())
        elif fdef.type == "choice" and fdef.options and isinstance(value, str):
            # Conditions compare keys; templates print labels through `<field>_label`.
            label = fdef.options.get(value)
            context[f"{name}_label"] = label if isinstance(label, str) else (label or {}).get("ru", value)
    if extra:
        context.update(extra)
    return context
