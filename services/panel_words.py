"""The words the panel shows for a case, as its search matches them: the number, the titles in every language, the
process's and the stage's titles, every field's raw value and what the panel shows for it (choice labels,
formatted money and dates, people's names), and its amounts; and what a search text asks for (words, amounts
however they are typed). services/case_search.py keeps them in SQL."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, User
from flows.model import FieldDef, ProcessDef
from flows.values import typed_amount
from services.core import Core


async def specs_of(core: Core, session: AsyncSession, cases: Iterable[Case]) -> dict[int, ProcessDef]:
    specs: dict[int, ProcessDef] = {}
    for case in cases:
        if case.definition_id not in specs:
            specs[case.definition_id] = await core.registry.spec(session, case.definition_id)
    return specs


async def names_of(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict((await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))).all())


def _field_words(
    core: Core, spec: ProcessDef, fdef: FieldDef, value: Any, lang: str, names: dict[int, str]
) -> list[str]:
    """The raw value and the words the panel shows for it, for matching a search text."""
    if value is None:
        return []
    if fdef.type == "list" and fdef.fields:
        words: list[str] = []
        for item in value if isinstance(value, list) else []:
            if isinstance(item, dict):
                for key, sub in fdef.fields.items():
                    words += _field_words(core, spec, sub, item.get(key), lang, names)
        return words
    if fdef.type == "text" and isinstance(value, dict):
        return [str(text) for text in value.values()]  # a report's summary: found by its words in any language
    shown = core.wording.format_field(fdef, value, lang, spec, names)
    # Money by its amount (`case_amounts`), not its stored «2150000.00»: «150000.00» is not found inside it.
    return [shown] if fdef.type == "money" else [str(value), shown]


def _field_amounts(fdef: FieldDef, value: Any) -> list[Decimal]:
    """The amounts and numbers of a field (a list's entries' too), for a search by an amount however it is typed."""
    if fdef.type == "list" and fdef.fields:
        found: list[Decimal] = []
        for item in value if isinstance(value, list) else []:
            if isinstance(item, dict):
                for key, sub in fdef.fields.items():
                    found += _field_amounts(sub, item.get(key))
        return found
    if fdef.type not in ("money", "number") or value is None or isinstance(value, bool):
        return []
    try:
        return [Decimal(str(value))]
    except InvalidOperation:
        return []


def case_amounts(case: Case, spec: ProcessDef) -> set[Decimal]:
    return {amount for name, fdef in spec.fields.items() for amount in _field_amounts(fdef, case.data.get(name))}


# An amount typed as people type money: grouped by spaces («150 000», «1 250,50») or commas («150,000.00»), or plain
# digits with or without cents («150000», «150000.00»); a whole word, so «SN-123456» stays a word of its own.
_AMOUNT_RE = re.compile(
    r"(?<!\S)(?:\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?"
    r"|\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?"
    r"|\d+(?:[.,]\d{1,2})?)(?!\S)"
)


@dataclass(frozen=True)
class SearchTerm:
    """One of the things a search text asks for: a word found in the case's words, or an amount among its amounts
    (digits may be either: a case's number, a serial's part, an amount)."""

    word: str | None
    amount: Decimal | None = None

    def found_in(self, words: str, amounts: set[Decimal]) -> bool:
        return (self.word is not None and self.word in words) or (self.amount is not None and self.amount in amounts)


def search_terms(text: str, lang: str) -> list[SearchTerm]:
    """What a search text asks for, every part of it at once: «Иванов Казань» is a case with both words, «150 000»
    one amount."""
    terms: list[SearchTerm] = []
    rest = []
    last = 0
    for match in _AMOUNT_RE.finditer(text):
        rest.append(text[last : match.start()])
        last = match.end()
        typed = match.group(0)
        terms.append(SearchTerm(typed.casefold(), typed_amount(typed, lang)))  # as typed in a text, or an amount
    rest.append(text[last:])
    terms += [SearchTerm(word) for word in " ".join(rest).casefold().split()]
    return terms


def case_words(core: Core, case: Case, spec: ProcessDef, lang: str, names: dict[int, str]) -> str:
    # The title in every language: a case is found by the words of any of its titles.
    words = [str(case.id), f"№{case.id}", case.title, *(case.titles or {}).values()]
    template = core.registry.title_template(spec)
    if isinstance(template, dict):  # a case stored without its title in a language is found by it too
        words += [core.registry.case_title(spec, case, other) for other in template if other not in (case.titles or {})]
    words.append(core.translator.local(spec.title, lang))
    words.append(core.wording.stage_title(spec, case.stage, lang))
    for name, fdef in spec.fields.items():
        words += _field_words(core, spec, fdef, case.data.get(name), lang, names)
    return "\n".join(words).casefold()


def user_ids(spec: ProcessDef, data: dict[str, Any]) -> set[int]:
    ids = set()
    for name, fdef in spec.fields.items():
        if fdef.type == "user" and isinstance(data.get(name), int):
            ids.add(data[name])
    return ids
