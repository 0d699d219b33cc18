"""An update's claim with its person's read (PostgreSQL: one statement, sent straight to the driver) gives the
person exactly as the ORM's own read does: their row's values with their types (aware times), their roles, the
task of the form they fill (its status as the status type) and its case."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import driver
from db.models import Case, Definition, Task, User, UserRole
from services import inbox, people
from services.inbox import claim

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
TG = 4242


def _as_read(person: people.PersonRead) -> dict[str, Any]:
    assert person.user is not None
    user = {name: getattr(person.user, name) for name in ("id", "tg_id", "name", "language", "is_admin", "active",
                                                           "active_task_id", "prompt", "question_lost_at")}
    return {"user": user, "types": {name: type(value) for name, value in user.items()}, "roles": person.roles,
            "task": person.task, "task_status_type": type(person.task.status) if person.task else None,
            "case": person.case}  # fmt: skip


async def test_the_claims_person_is_the_person_the_orm_reads(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite claims with `take` and reads the person apart")
    async with sessionmaker() as session, session.begin():
        definition = Definition(process="p", version=1, digest="d", source="", path="p.yaml", created_at=NOW)
        user = User(tg_id=TG, name="Ольга", language="ru", is_admin=False, active=True, created_at=NOW,
                    question_lost_at=NOW - timedelta(minutes=3), prompt={"ask": "serial"})  # fmt: skip
        session.add_all([definition, user])
        await session.flush()
        session.add(UserRole(user_id=user.id, role="service_manager"))
        case = Case(definition_id=definition.id, process="p", title="Гарантия", stage="check", status="active",
                    visit=1, data={"serial": "A-17"}, initiator_id=user.id, created_at=NOW, updated_at=NOW)  # fmt: skip
        session.add(case)
        await session.flush()
        task = Task(case_id=case.id, key="check", stage="check", visit=1, kind="form", status="open",
                    assignee_id=user.id, draft={"serial": "A-17"}, due_at=NOW + timedelta(days=1),
                    created_at=NOW)  # fmt: skip
        session.add(task)
        await session.flush()
        user.active_task_id = task.id
        for update_id in (11, 12):  # the person's update, and their next one already stored behind it
            await session.execute(text(
                "INSERT INTO inbox (update_id, person_id, payload, status, attempts, received_at) "
                "VALUES (:id, :tg, '{\"n\": 1}', 'pending', 0, :now)"
            ), {"id": update_id, "tg": TG, "now": NOW})  # fmt: skip

    async with sessionmaker() as session, session.begin():
        expected = _as_read(await people.user_and_roles(session, TG, lock=True))
    assert expected["task"] is not None and expected["case"] is not None
    assert expected["user"]["question_lost_at"] == NOW - timedelta(minutes=3)

    async with sessionmaker() as session, session.begin():
        took = await inbox.take_with_person(session, 11, TG, NOW)
        assert took is not None and _as_read(took) == expected
        await session.rollback()
    async with sessionmaker() as session, session.begin():
        took, following = await inbox.take_with_person_and_next(session, 11, TG, NOW)
        assert took is not None and _as_read(took) == expected
        assert following is not None and following.update_id == 12 and following.person_id == TG
        assert json.loads(following.raw) == {"n": 1}
    # Both went straight to the driver (compiled for it), not through SQLAlchemy's execution.
    assert id(claim._TAKE_WITH_PERSON) in driver._SQL and id(claim._TAKE_WITH_PERSON_AND_NEXT) in driver._SQL
    async with sessionmaker() as session, session.begin():  # handled now: a second claim is declined
        assert await inbox.take_with_person(session, 11, TG, NOW) is None
