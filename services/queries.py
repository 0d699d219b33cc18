"""Read-only queries behind lists people page through, shaped to the indexes in db/models/ (cases.py).

They read what `CaseService.load` reads, for a page of cases at once and without row locks: a page of
«my tasks» costs a few statements instead of a few per card.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Company, Task, Timer, status_is
from flows.runtime import START_TASK, CaseState
from flows.status import TaskStatus, TimerStatus
from services.cases import case_state, load_work
from services.core import Core

# `status = 'open'` written out, not bound: the partial indexes are `WHERE status = 'open'`, and a planner
# can use one only when it sees that very constant (a bound parameter hides it from PostgreSQL's generic
# plans, which asyncpg's prepared statements get after a few runs, and from SQLite always).
OPEN: ColumnElement[bool] = status_is(Task.status, TaskStatus.OPEN)


def open_tasks_page(
    user_id: int, roles: Iterable[str], limit: int, scope: ColumnElement[bool] | None = None
) -> Select[Task]:
    """Open tasks a person can act on, the soonest due first and those without a due date last: the ones
    assigned to them and the ones waiting in the pool of any of their roles.

    Each source is its own branch with its own LIMIT, glued by UNION ALL: a branch is a short range scan of
    a partial index already in the page's order (ix_tasks_open_assignee_due, ix_tasks_open_pool_due), so a
    page costs the same with 50 or 50,000 tasks waiting. One query with OR, or with `role IN (...)`, has to
    read every matching task and sort them (55 ms for 52,000 in the bench).
    """
    if scope is not None:
        # A person narrowed to organisations (`access.visible_tasks`): each branch keeps only their tasks,
        # so another dealer's pool does not crowd theirs out of the page. Not cached: the scope is theirs.
        return _build_page(tuple(sorted(set(roles))), limit, scope).params(user_id=user_id)
    return _open_tasks_page(tuple(sorted(set(roles))), limit).params(user_id=user_id)


@functools.lru_cache(maxsize=256)
def _open_tasks_page(roles: tuple[str, ...], limit: int) -> Select[Task]:
    # Built once per set of roles (a handful in a company): building this statement costs more than
    # running it. The person is a bound parameter, so the statement is shared.
    return _build_page(roles, limit, None)


def _pools(roles: tuple[str, ...], limit: int, scope: ColumnElement[bool] | None) -> Any:
    """The page's (id, due_at) candidates: one branch per source, each with its own LIMIT."""
    narrowed = () if scope is None else (scope,)

    def branch(*conditions: ColumnElement[bool]) -> Select[Any]:
        inner = (
            select(Task.id, Task.due_at)
            .where(OPEN, Task.key != START_TASK, *conditions, *narrowed)
            .order_by(Task.due_at.asc().nulls_last(), Task.id)
            .limit(limit)
            .subquery()  # SQLite allows LIMIT in a UNION's parts only inside a subquery
        )
        return select(inner.c.id, inner.c.due_at)

    branches = [branch(Task.assignee_id == bindparam("user_id", type_=Integer))]
    branches += [branch(Task.assignee_id.is_(None), Task.role == role) for role in roles]
    return union_all(*branches).subquery("page")


def _build_page(roles: tuple[str, ...], limit: int, scope: ColumnElement[bool] | None) -> Select[Task]:
    page = _pools(roles, limit, scope)
    return (
        select(Task).join(page, Task.id == page.c.id).order_by(page.c.due_at.asc().nulls_last(), page.c.id).limit(limit)
    )


# What a card shows of a task and of its case (`CaseState` and `TaskState` without the rest of the case).
_TASK_COLUMNS = (
    Task.id, Task.case_id, Task.key, Task.stage, Task.visit, Task.kind, Task.role, Task.assignee_id, Task.status,
    Task.due_at, Task.created_at, Task.outcome, Task.done_by, Task.done_at,
)  # fmt: skip
_CASE_COLUMNS = (
    Case.definition_id, Case.title, Case.titles, Case.stage.label("case_stage"), Case.status.label("case_status"),
    Case.data, Case.initiator_id, Case.responsible_id, Case.visit.label("case_visit"), Case.result,
)  # fmt: skip


def my_tasks_page(
    user_id: int, roles: Iterable[str], limit: int, scope: ColumnElement[bool] | None = None
) -> Select[Any]:
    """“My tasks” in one statement: the page of `open_tasks_page` (`draft` 0; unordered here, the caller sorts
    by due date) and the person's unfinished requests (open start forms, `draft` 1), each row with what its card
    shows of its case."""
    key = tuple(sorted(set(roles)))
    if scope is not None:
        return _build_tasks_and_drafts(key, limit, scope).params(user_id=user_id)
    return _tasks_and_drafts(key, limit).params(user_id=user_id)


@functools.lru_cache(maxsize=256)
def _tasks_and_drafts(roles: tuple[str, ...], limit: int) -> Select[Any]:
    return _build_tasks_and_drafts(roles, limit, None)


def _build_tasks_and_drafts(roles: tuple[str, ...], limit: int, scope: ColumnElement[bool] | None) -> Select[Any]:
    page = _pools(roles, limit, scope)
    first = (
        select(page.c.id, literal_column("0").label("draft"))
        .order_by(page.c.due_at.asc().nulls_last(), page.c.id)
        .limit(limit)
        .subquery()
    )
    drafts: Any = select(Task.id, literal_column("1").label("draft")).where(
        Task.assignee_id == bindparam("user_id", type_=Integer), Task.key == START_TASK, OPEN
    )
    picked = union_all(select(first.c.id, first.c.draft), drafts).subquery("picked")
    return (
        select(picked.c.draft, *_TASK_COLUMNS, *_CASE_COLUMNS)
        .join_from(picked, Task, Task.id == picked.c.id)
        .join(Case, Case.id == Task.case_id)
    )


async def case_states(core: Core, session: AsyncSession, case_ids: Iterable[int]) -> dict[int, CaseState]:
    """The cases with their open tasks, companies and timed work, as `CaseService.load` builds them, for
    showing only: no row locks, and the state's data is the row's own (not a copy to change)."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    rows = list((await session.execute(select(Case).where(Case.id.in_(ids)))).scalars())
    tasks: dict[int, list[Task]] = {}
    for task in (await session.execute(select(Task).where(Task.case_id.in_(ids), OPEN).order_by(Task.id))).scalars():
        tasks.setdefault(task.case_id, []).append(task)
    states: dict[int, CaseState] = {}
    for row in rows:
        spec = await core.registry.spec(session, row.definition_id)
        template = core.registry.title_template(spec)
        states[row.id] = case_state(row, spec, tasks.get(row.id, []), data=row.data, title_template=template)
    await _load_refs(session, list(states.values()))
    await load_work(session, list(states.values()))
    return states


async def _load_refs(session: AsyncSession, states: list[CaseState]) -> None:
    """Companies the cases point at (as CaseService._refs), in one statement."""
    wanted: list[tuple[CaseState, str, int]] = []
    for state in states:
        for name, fdef in state.spec.fields.items():
            value = state.data.get(name)
            if fdef.type == "company" and isinstance(value, dict) and isinstance(value.get("id"), int):
                wanted.append((state, name, value["id"]))
    if not wanted:
        return
    companies = {
        c.id: c
        for c in (await session.execute(select(Company).where(Company.id.in_({w[2] for w in wanted})))).scalars()
    }
    for state, name, company_id in wanted:
        company = companies.get(company_id)
        if company is not None:
            state.refs[name] = {**company.data, "id": company.id, "name": company.name}


async def waits_until(session: AsyncSession, case_id: int) -> datetime | None:
    """When a case standing at a stage that waits (`wait: at planned_ship_date 08:00`) goes on by itself: its
    pending wait's moment, None when it waits for nothing. Without it, a deal ready to ship days from now shows a
    stage with no task and no date — a case that looks stuck."""
    found = await session.execute(
        select(func.min(Timer.due_at)).where(
            Timer.case_id == case_id, Timer.kind == "wait", status_is(Timer.status, TimerStatus.PENDING)
        )
    )
    return found.scalar()
