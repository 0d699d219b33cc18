"""A task whose deadline has passed says so, and how late in working time, wherever a person reads its due date:
its card (brought back by the overdue notice or by «My tasks») and the case's card (/case). The mark is right when
the text is rendered, by the case's clock (moved here, never slept through)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from db.models import Case
from tests.conftest import Harness
from tests.test_escalations_e2e import PAST_DUE, _invoice_taken_by_anna, _office


async def test_a_late_task_is_marked_overdue_by_how_many_working_hours_and_days(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _office(harness_factory, tmp_path)
    anna, manager = harness.people["Анна"], harness.people["Ольга"]
    await _invoice_taken_by_anna(harness)
    card = await anna.card("Оплатите счёт", "Срок: 22.12.2026 18:00", button="Готово")
    assert "просрочено" not in card["text"]  # before the deadline: just the date
    async with harness.core.sessionmaker() as session:
        case_id = (await session.execute(select(Case.id))).scalar_one()

    # Tuesday 18:01, a minute after the deadline and after working hours: late, by no working time yet.
    await harness.move_to(PAST_DUE)
    overdue = await anna.expect("Просрочено", "Оплатите счёт")
    await anna.press("Открыть задачу", overdue)
    reopened = await anna.expect("Оплатите счёт", "Срок: 22.12.2026 18:00 ⚠️ просрочено")
    assert "просрочено на" not in reopened["text"], reopened["text"]
    # The card sent before the deadline is not edited at it: it keeps the words it was rendered with.
    sent = next(m for m in await anna.bot_messages() if m["message_id"] == card["message_id"])
    assert "просрочено" not in sent["text"], sent["text"]

    # Wednesday 12:30 (Moscow): three and a half working hours late — counted in hours, not as a day.
    await harness.move_to(datetime(2026, 12, 23, 9, 30, tzinfo=UTC))
    await anna.send("📋 Мои задачи")
    await anna.expect("Оплатите счёт", "Срок: 22.12.2026 18:00 ⚠️ просрочено на 3 ч")

    # Friday 12:00: Wednesday and Thursday whole and three hours of Friday — two working days.
    await harness.move_to(datetime(2026, 12, 25, 9, 0, tzinfo=UTC))
    await anna.send("📋 Мои задачи")
    await anna.expect("Оплатите счёт", "Срок: 22.12.2026 18:00 ⚠️ просрочено на 2 раб. дня")
    await manager.send(f"/case {case_id}")
    await manager.expect("Оплатите счёт", "срок 22.12.2026 18:00 ⚠️ просрочено на 2 раб. дня")


async def test_an_english_reader_reads_the_late_mark_in_english(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _office(harness_factory, tmp_path)
    anna = harness.people["Анна"]
    await _invoice_taken_by_anna(harness)
    await anna.send("/lang")
    await anna.expect("Language: English.")
    # Monday 28 December 12:00 (Moscow): Wednesday to Friday whole and Monday's three hours — three working days.
    await harness.move_to(datetime(2026, 12, 28, 9, 0, tzinfo=UTC))
    await anna.send("📋 My tasks")
    await anna.expect("Due: Dec 22, 2026 18:00 ⚠️ 3 working days overdue")
