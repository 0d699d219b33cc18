"""The panel's case search over every case, by SQL: the words the panel shows for a case cannot be read out of its
JSON by a query (choice labels, formatted money and dates, people's names), so they are kept in `case_search`, one
row a case, written here from the case as of its `version`: before a search asks, the rows of the newest cases
written since are brought up to date, at most the setting `case_search_bound` (a step moves the case's version on,
so a step's own write costs nothing more); the scheduler's tick brings the rest up to date in the background, a
bounded batch a tick, and the search says how many are not yet found (a fresh upgrade, or a burst of changes).
The search is then one query, paged and newest first, narrowed by the panel's filters; each term a
`LIKE '%word%'` served by a trigram index (PostgreSQL's pg_trgm GIN, SQLite's FTS5 table; migration
0041_case_search)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, bindparam, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, CaseSearch
from services import panel_words
from services.core import Core
from services.i18n import LANGUAGES

BATCH = 500  # cases whose words are (re)written a statement
YIELD_EVERY = 25  # cases whose words are made between two turns of the event loop (~40 ms)
# How many stale cases a search and a tick bring up to date are settings (`case_search_bound`,
# `case_search_tick_bound`: app/settings.py says why they are what they are).
# The tick leaves a case alone until it has been still this long: a case in work changes step after step, and
# writing its words after each (~1.5 ms) would cost the bot as much again as the steps; a search writes the
# newest changed cases itself, so nothing goes unfound meanwhile.
SETTLED = timedelta(minutes=10)
FTS = "case_search_fts"
_FTS_MIN = 3  # a trigram index cannot serve a shorter word


def amount_token(amount: Decimal) -> str:
    """An amount as stored and asked for: «125000» for 125 000,00 and for 125000 alike."""
    return format(amount.normalize(), "f")


def _stale() -> Select[Any]:
    # A case's version against its row's: both read from indexes (cases' ix_cases_search_stale, case_search's
    # ix_case_search_version), never from a case's JSON.
    return (
        select(Case.id)
        .outerjoin(CaseSearch, CaseSearch.case_id == Case.id)
        .where(or_(CaseSearch.case_id.is_(None), CaseSearch.version != Case.version))
    )


async def bring_up_to_date(
    core: Core, session: AsyncSession, limit: int, changed_before: datetime | None = None
) -> int:
    """Writes the search rows of at most `limit` cases that have none, or one of an older version of the case, the
    newest first (as the panel lists them); how many stale cases are left for later (the scheduler's tick brings
    them up to date a batch at a time). Not committed here: the caller commits its session or transaction."""
    stale = _stale() if changed_before is None else _stale().where(Case.updated_at < changed_before)
    ids = list((await session.execute(stale.order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit))).scalars())
    for start in range(0, len(ids), BATCH):
        await _write(core, session, ids[start : start + BATCH])
    if len(ids) < limit:
        return 0
    return (await session.execute(select(func.count()).select_from(stale.subquery()))).scalar_one()


async def _write(core: Core, session: AsyncSession, ids: list[int]) -> None:
    # By number: two writers (a search and the scheduler) take the rows' locks in one order.
    cases = list((await session.execute(select(Case).where(Case.id.in_(ids)).order_by(Case.id))).scalars())
    specs = await panel_words.specs_of(core, session, cases)
    people = [i for c in cases for i in panel_words.user_ids(specs[c.definition_id], c.data)]
    names = await panel_words.names_of(session, people)
    rows = []
    for n, case in enumerate(cases, 1):
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # the words are CPU work: people's updates are served between cases meanwhile
        spec = specs[case.definition_id]
        words = dict.fromkeys(
            line for lang in LANGUAGES for line in panel_words.case_words(core, case, spec, lang, names).split("\n")
        )
        amounts = sorted({amount_token(a) for a in panel_words.case_amounts(case, spec)})
        rows.append(
            {"case_id": case.id, "version": case.version, "words": "\n".join(words),
             "amounts": f" {' '.join(amounts)} " if amounts else ""}
        )  # fmt: skip
    if rows:
        await _upsert(session, rows)
    for case in cases:
        session.expunge(case)  # read for its words only: the session keeps no 500 cases a batch


async def _upsert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # Two searches at once may write the same case's row: the later one's wins (they are the same words).
    sqlite = session.get_bind().dialect.name == "sqlite"
    insert = (sqlite_insert if sqlite else pg_insert)(CaseSearch).values(rows)
    changed = {"version": insert.excluded.version, "words": insert.excluded.words, "amounts": insert.excluded.amounts}
    await session.execute(insert.on_conflict_do_update(index_elements=["case_id"], set_=changed))


def _literal(value: str) -> Any:
    # Rendered into the statement, not bound: a prepared statement's generic plan cannot then choose a full scan
    # made for a short word when the word at hand is long enough for the trigram index (as the catalogue's search).
    return bindparam(None, value, type_=Text, literal_execute=True)


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def narrowed(query: Select[Any], terms: list[panel_words.SearchTerm], *, sqlite: bool) -> Select[Any]:
    """`query` over cases, joined to their search rows and kept to those holding every term: a word among the
    words, or an amount among the amounts (digits may be either)."""
    query = query.join(CaseSearch, CaseSearch.case_id == Case.id)
    conditions: list[ColumnElement[bool]] = []
    for term in terms:
        either: list[ColumnElement[bool]] = []
        if term.word is not None:
            either.append(CaseSearch.words.like(_literal(_like(term.word)), escape="\\"))
        if term.amount is not None:
            either.append(CaseSearch.amounts.like(_literal(f"% {amount_token(term.amount)} %")))
        conditions.append(or_(*either) if len(either) > 1 else either[0])
    query = query.where(and_(*conditions))
    if sqlite:
        # FTS5 names the rows holding every trigram of the plain words of 3+ characters: a superset of the
        # matches, which the LIKE conditions above narrow exactly. An amount's term is a word OR an amount: not there.
        words = [t.word for t in terms if t.amount is None and t.word is not None and len(t.word) >= _FTS_MIN]
        if words:
            # Every trigram of them (detail=none keeps no positions, so no phrase of a word's own): a superset.
            grams = dict.fromkeys(word[i : i + 3] for word in words for i in range(len(word) - 2))
            match = " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)
            indexed = text(f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH :match").bindparams(match=match)
            query = query.where(CaseSearch.case_id.in_(indexed))
    return query
