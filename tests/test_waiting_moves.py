"""The cases «my tasks» lists as waiting for their responsible's hand move: only hers, only at a stage nothing else
takes on, only while nothing is open in them; read (on PostgreSQL) from her own rows of the new index, not from every
quote at «Новая заявка на просчёт» of a company whose other manager leads a thousand of them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, text

from app.container import build_core
from app.settings import Settings
from db.models import Case, Task
from flows.runtime import MOVE_TASK
from services import people
from services.access import Viewer
from services.menu import Menu
from tests.revisions import indexes_down_and_up, partial_condition
from tests.table_reads import rows_read

INDEX = "ix_cases_active_responsible"


async def test_only_her_quotes_standing_for_her_move_are_listed_and_read_from_her_own_rows(
    tmp_path: Path, database_url: str
) -> None:
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    postgresql = database_url.startswith("postgresql")
    try:
        now = core.clock.now()
        async with core.sessionmaker() as session, session.begin():
            alina = await people.register(session, tg_id=1, name="Алина", username=None, language="ru", now=now)
            marina = await people.register(session, tg_id=2, name="Марина", username=None, language="ru", now=now)
            definition_id, _spec = core.registry.latest("fulfillment_quote")

            async def quote(title: str, stage: str, lead: int, status: str = "active") -> int:
                return int((await session.execute(insert(Case).values(
                    definition_id=definition_id, process="fulfillment_quote", title=title, stage=stage,
                    status=status, visit=1, data={}, initiator_id=lead, responsible_id=lead, created_at=now,
                    updated_at=now,
                ).returning(Case.id))).scalar_one())  # fmt: skip

            waiting = await quote("ООО Ромашка: игрушки", "new", alina.id)
            await quote("ООО Лютик: посуда", "director_review", alina.id)  # the director's approval it waits for
            await quote("ООО Василёк: книги", "agreed", alina.id, status="done")  # finished
            moving = await quote("ООО Пион: одежда", "make_offer", alina.id)
            # She pressed a move whose stage asks fields first: her form is open, and is the task listed instead.
            await session.execute(insert(Task).values(
                case_id=moving, key=MOVE_TASK, stage="make_offer", visit=1, kind="form", assignee_id=alina.id,
                status="open", created_at=now,
            ))  # fmt: skip
            await quote("ООО Мак: мебель", "new", marina.id)  # another manager's
            # Her pre-order of seed 2: moved by her hand too, but once the week is confirmed (`to_do: false`).
            meat_id, _meat = core.registry.latest("meat_deal")
            await session.execute(insert(Case).values(
                definition_id=meat_id, process="meat_deal", title="ООО Мясторг", stage="preliminary", status="active",
                visit=1, data={}, initiator_id=alina.id, responsible_id=alina.id, created_at=now, updated_at=now,
            ))  # fmt: skip
            if postgresql:
                await session.execute(text(
                    "INSERT INTO cases (definition_id, process, title, stage, status, visit, data, initiator_id, "
                    "responsible_id, created_at, updated_at) SELECT definition_id, process, title || g, stage, status, "
                    "visit, data, initiator_id, responsible_id, created_at, updated_at FROM cases, "
                    "generate_series(1, 1000) g WHERE responsible_id = :marina"
                ), {"marina": marina.id})  # fmt: skip
        if postgresql:
            async with core.db.begin() as connection:
                await connection.execute(text("ANALYZE cases"))
                await connection.execute(text("ANALYZE tasks"))
        async with core.sessionmaker() as session, session.begin():
            before = await rows_read(session, "cases", "tasks") if postgresql else 0
            page = await Menu(core, session).my_tasks(Viewer.of(alina, {"account_manager"}))
            read = (await rows_read(session, "cases", "tasks") - before) if postgresql else 0
    finally:
        await core.close()
    assert [case.id for case, _spec in page.waiting] == [waiting] and not page.more_waiting
    assert page.waiting_titles == {waiting: "ООО Ромашка: игрушки"}
    assert [task.key for _state, task in page.entries] == [MOVE_TASK]  # her form, once: not as a waiting case too
    assert read < 20, read  # her own rows, not Марина's thousand quotes at the same stage


async def test_the_index_of_the_cases_a_person_leads_comes_with_its_revision_and_goes_with_it(
    empty_database_url: str,
) -> None:
    """0046 adds the index of active cases by responsible and stage, on PostgreSQL and SQLite alike; its downgrade
    drops that index and no other, and the upgrade brings it back."""
    at_head, before, again = await indexes_down_and_up(
        empty_database_url, "cases", "0045_picker_on_person", at="0046_cases_active_responsible"
    )
    assert INDEX not in before
    assert before == {name: index for name, index in at_head.items() if name != INDEX}
    assert again == at_head
    assert at_head[INDEX]["column_names"] == ["responsible_id", "process", "stage"]
    assert partial_condition(at_head, INDEX, empty_database_url) == "status = 'active'"
