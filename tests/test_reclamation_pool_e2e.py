"""A reclamation accepted into diagnosis by one of the representative's two service engineers. Taking it is the whole
task (`done_when_taken`): the card in the pool says so on its button — it read «✋ Взять» «to work on it», and Родион
who pressed it found the task done with nothing to work on and no word of what came next."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import Harness
from tests.test_dealer_portal_e2e import dealers, file_reclamation


async def test_an_engineer_of_two_accepts_the_reclamation_with_one_press_and_is_told_where_it_went(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    sergey, semyon = people["sergey"], people["semyon"]
    rodion = await harness.person("Родион", "rep_service")  # the pool is two now: the task waits to be taken
    await file_reclamation(sergey, "SN-48-000735")

    card = await rodion.card("Примите рекламацию в диагностику", "SN-48-000735", button="Взять в работу")
    assert "Нажмите «✋ Взять в работу», чтобы принять её." in card["text"], card["text"]
    assert "✋ Взять" not in [b for b in rodion.buttons(card) if b != "✋ Взять в работу"]
    said = await rodion.press("Взять в работу", card)
    assert said == "Готово ✅", said
    # Where the case is now, and whom it waits for: the dealer's engineer's diagnosis.
    await rodion.expect("✅ Готово.", "этап: Диагностика", "Ждёт: Сергей")
    # The other engineer's copy says who accepted it, and offers nothing to press.
    other = await semyon.wait_for("Примите рекламацию в диагностику", "✋ Взято в работу (Родион)")
    assert semyon.buttons(other) == ["📁 Дело", "📎 Файлы (1)"], semyon.buttons(other)
    await sergey.card("Проведите диагностику", button="Заполнить")
