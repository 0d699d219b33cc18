"""«Stuck at a stage» in the digest means longer on the stage than the stage is expected to take: a case that has
just come to its stage is not stuck, even when its task is late from the start (a deadline counted from a date in
the case's data); the task is listed as overdue, the case as stuck once it outstays the working days a stage
without a deadline of its own is given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import Harness, library_with

HEADING = "📊 Сводка"


async def _digest_now(harness: Harness, when: str) -> str:
    manager = harness.people["Ольга"]
    await manager.send("/digest")
    await manager.press("Прислать сейчас", await manager.card("сводк", button="Прислать сейчас"))
    return str((await manager.expect(HEADING, when))["text"])


async def test_a_case_just_come_to_its_stage_is_not_stuck_though_its_task_is_late_from_the_start(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "late_shipment.yaml"))
    manager = await harness.person("Ольга", "manager")
    await harness.person("Иван", "storekeeper")
    # Monday 21 December 10:00: goods shipped on the 1st are registered; receiving them was due on the 3rd.
    await manager.send("▶️ Начать процесс")
    await manager.press("Приёмка отгрузки", await manager.expect("Какой процесс"))
    await manager.expect("Поставщик")
    await manager.send("ООО Ромашка")
    await manager.expect("Дата отгрузки")
    await manager.send("01.12.2026")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await harness.settle()

    text = await _digest_now(harness, "21.12.2026 10:00")
    assert "⏰ Просрочено: 1" in text, text  # the task is late, and said so
    assert "Застряли" not in text, text  # the case came to its stage this minute

    # Thursday 10:00: three working days on the stage, the norm of a stage whose deadline was gone when it came.
    await harness.move_to(datetime(2026, 12, 24, 7, 0, tzinfo=UTC))
    assert "Застряли" not in await _digest_now(harness, "24.12.2026 10:00")
    await harness.move_to(datetime(2026, 12, 24, 7, 1, tzinfo=UTC))
    text = await _digest_now(harness, "24.12.2026 10:01")
    assert "🐢 Застряли на этапе: 1" in text and "«Приёмка» с 21.12.2026 10:00" in text, text
    assert "(норма: до 24.12.2026 10:00)" in text, text
    assert "стади" not in text, text
