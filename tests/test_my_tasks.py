"""«My tasks»: the page's order (soonest due first, no due date last) over one's own tasks and one's roles'
pools, read through the partial indexes; and the button in chat, whose cards can be acted on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.container import build_core
from app.settings import Settings
from db.models import Case, Task, TaskCard
from flows.runtime import START_TASK
from services import people as people_repo
from services.queries import case_states, open_tasks_page
from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect


async def test_the_page_is_in_due_order_over_own_tasks_and_pools(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None))
    try:
        now = core.clock.now()
        async with core.sessionmaker() as session, session.begin():
            me = await people_repo.register(session, tg_id=1, name="Я", username=None, language="ru", now=now)
            other = await people_repo.register(session, tg_id=2, name="Другой", username=None, language="ru", now=now)
            definition_id, spec = core.registry.latest("defect_return")
            case = Case(
                definition_id=definition_id,
                process="defect_return",
                title="",
                stage="registered",
                status="active",
                visit=1,
                data={},
                initiator_id=other.id,
                created_at=now,
                updated_at=now,
            )
            session.add(case)
            await session.flush()

            def task(
                name: str,
                hours: float | None,
                *,
                role: str | None = None,
                assignee: int | None = None,
                status: str = "open",
                key: str = "move_to_service",
            ) -> Task:
                row = Task(
                    case_id=case.id,
                    key=key,
                    stage="registered",
                    visit=1,
                    kind="confirm",
                    role=role,
                    assignee_id=assignee,
                    status=status,
                    due_at=None if hours is None else now + timedelta(hours=hours),
                    created_at=now,
                )
                session.add(row)
                return row

            expected = [
                task("mine_overdue", -5, assignee=me.id),
                task("pool_a_soon", 1, role="a"),
                task("mine_later", 3, assignee=me.id),
                task("pool_b_later", 4, role="b"),
                task("mine_no_due", None, assignee=me.id),
                task("pool_a_no_due", None, role="a"),
            ]
            # Not on the page: someone else's, a pool not mine, taken from my pool, done, the start form.
            theirs = task("theirs", -10, assignee=other.id)
            task("pool_c", -10, role="c")
            taken = task("taken_from_pool", -10, role="a", assignee=other.id)
            task("mine_done", -10, assignee=me.id, status="done")
            task("the_start_form", -10, assignee=me.id, key=START_TASK)
            await session.flush()
            ids = [t.id for t in expected]

        async with core.sessionmaker() as session:
            page = list((await session.execute(open_tasks_page(me.id, {"a", "b"}, 11))).scalars())
            assert [t.id for t in page] == ids
            page = list((await session.execute(open_tasks_page(me.id, {"b", "a"}, 3))).scalars())
            assert [t.id for t in page] == ids[:3]
            page = list((await session.execute(open_tasks_page(other.id, set(), 11))).scalars())
            assert [t.id for t in page] == [theirs.id, taken.id]
            states = await case_states(core, session, [case.id, case.id])
            assert list(states) == [case.id] and states[case.id].spec is spec
            assert {t.id for t in states[case.id].tasks} >= {*ids, theirs.id, taken.id}
    finally:
        await core.close()


async def test_my_tasks_in_chat_shows_cards_that_work(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    service = await harness.person("Сергей", "service_manager")
    await service.send("📋 Мои задачи")
    await service.expect("У вас нет открытых задач")
    await register_defect(manager)
    await service.expect("Переместите товар на склад сервиса в 1С")
    seen = len(await service.bot_messages())

    await service.send("📋 Мои задачи")
    await service.expect("Ваши открытые задачи: 1")
    card = await service.expect("Переместите товар на склад сервиса в 1С")
    assert len(await service.bot_messages()) == seen + 2
    async with harness.core.sessionmaker() as session:
        cards = (await session.execute(select(TaskCard))).scalars().all()
        assert len({c.outbox_id for c in cards}) == len(cards) == 2  # the first card and the page's
    await service.press("Готово", card)
    await harness.settle()
    await service.send("📋 Мои задачи")
    await service.expect("У вас нет открытых задач")
