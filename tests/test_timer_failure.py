"""A timer whose firing fails: its step is rolled back whole, the timer is kept as failed, the case marked as
needing attention and the admins told; the timers after it still fire, and a retry puts it back in line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.container import build_core
from app.settings import Settings
from db.models import Case, Outbox, Timer
from scheduler.timers import fire_timer, tick
from services import attention
from services import people as people_repo


async def test_a_failing_timer_is_kept_failed_and_the_others_fire(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None))
    try:
        now = core.clock.now()
        async with core.sessionmaker() as session, session.begin():
            admin = await people_repo.register(session, tg_id=7, name="Админ", username=None, language="ru", now=now)
            admin.is_admin = True
            definition_id, _spec = core.registry.latest("defect_return")
            # A case on a stage its definition no longer has: waking it there raises.
            case = Case(definition_id=definition_id, process="defect_return", title="", stage="gone",
                        status="active", visit=1, data={}, initiator_id=admin.id, created_at=now, updated_at=now)
            session.add(case)
            await session.flush()
            broken = Timer(case_id=case.id, kind="wait", due_at=now - timedelta(minutes=2), status="pending",
                           payload={"stage": "gone", "visit": 1})
            # Due after it, for a stage the case has left: it fires and does nothing.
            later = Timer(case_id=case.id, kind="wait", due_at=now - timedelta(minutes=1), status="pending",
                          payload={"stage": "registered", "visit": 1})
            session.add_all([broken, later])
        assert await tick(core) == 2
        assert not await fire_timer(core, broken.id, now)  # taken already
        async with core.sessionmaker() as session:
            timers = {t.id: t for t in (await session.execute(select(Timer))).scalars()}
            assert timers[broken.id].status == "failed" and timers[broken.id].fired_at is not None
            assert timers[later.id].status == "fired"
            stored = await session.get(Case, case.id)
            assert stored is not None and (stored.attention or "").startswith("timer: wait: KeyError")
            told = (await session.execute(select(Outbox.payload).where(Outbox.chat_id == 7))).scalars().all()
            assert any("timer: wait" in p["text"] for p in told)
        async with core.sessionmaker() as session, session.begin():
            assert await attention.retry(session, case.id) == 1
        async with core.sessionmaker() as session:
            assert (await session.get(Timer, broken.id)).status == "pending"  # type: ignore[union-attr]
    finally:
        await core.close()


def test_a_step_that_fails_on_a_condition_is_said_in_words_and_a_fault_of_ours_by_its_exception(
    tmp_path: Path,
) -> None:
    """The admins read what to fix in a definition in their language — not «ExpressionError: the condition divides
    by zero»; a fault in our code keeps its exception's name for whoever reads the log with them."""
    from flows.expressions import evaluate
    from services.i18n import Translator

    translator = Translator(tmp_path / "mo")
    try:
        evaluate("days / (days - 5) > 100", {"days": 5})
    except Exception as error:
        said = attention.describe(error, translator)
    assert said == "В определении процесса нужно исправить условие: условие делит на ноль", said
    try:
        evaluate("days > 'много'", {"days": 5})
    except Exception as error:
        said = attention.describe(error, translator)
    assert said == "В определении процесса нужно исправить условие: условие сравнивает 5 и 'много' — их нельзя сравнить"
    try:  # a condition's error with no words of its own yet: the analyst's English, under the same heading
        evaluate("'a' in days", {"days": 5})
    except Exception as error:
        said = attention.describe(error, translator)
    assert said.startswith("В определении процесса нужно исправить условие: cannot look for"), said
    assert attention.describe(RuntimeError("boom"), translator) == "RuntimeError: boom"
