"""«Мои задачи» of someone whose cases wait for her to move them by hand (seed 3's pipelines): a quote request at
«Новая заявка на просчёт» has no task, only the buttons its responsible presses — it is the first thing she has to
do, and the page says so, with a button that opens the case and its moves."""

from __future__ import annotations

import pytest

from tests.conftest import Harness
from tests.test_fulfillment_e2e import new_quote


@pytest.fixture
async def quotes(harness: Harness) -> Harness:
    await harness.person("Алина", "account_manager")
    await harness.person("Марина", "account_manager")
    await harness.person("Генеральный Олег", "general_director")
    return harness


async def test_a_quote_waiting_for_its_manager_to_move_it_is_on_her_tasks_until_it_moves_on(quotes: Harness) -> None:
    shop = quotes
    alina, marina, director = shop.people["Алина"], shop.people["Марина"], shop.people["Генеральный Олег"]
    await new_quote(alina, "ООО Ромашка", create=True)
    await alina.expect("Этап: Новая заявка на просчёт")
    # Another manager's quote waits for her, not for Алина.
    await new_quote(marina, "ООО Лютик", create=True)
    await marina.expect("Этап: Новая заявка на просчёт")

    # Nothing waits for the director: her quote is hers to move, not his.
    await director.send("📋 Мои задачи")
    empty = await director.expect("У вас нет открытых задач")
    assert "Ромашка" not in empty["text"], empty["text"]

    await alina.send("📋 Мои задачи")
    waiting = await alina.expect("ООО Ромашка: Детские игрушки", "Новая заявка на просчёт")
    assert "нет открытых задач" not in waiting["text"] and "Лютик" not in waiting["text"], waiting["text"]
    assert "new" not in waiting["text"].split(), waiting["text"]  # the stage in words, never its key
    (entry,) = alina.buttons(waiting)
    assert entry.startswith("➡️") and "Ромашка" in entry, entry
    await alina.press("Ромашка", waiting)
    card = await alina.expect("ООО Ромашка", "Этап: Новая заявка на просчёт")
    assert "➡️ Сформировать КП" in alina.buttons(card), alina.buttons(card)
    await alina.press("Сформировать КП", card)
    card = await alina.wait_for("Этап: Сформировать КП")

    # Still hers to move on, at its next stage.
    await alina.send("📋 Мои задачи")
    await alina.expect("ООО Ромашка: Детские игрушки", "Сформировать КП")

    # To the director: the case now waits for his approval, a task of his alone.
    await alina.press("На согласование ГД", card)
    await alina.expect("Файл КП")
    await alina.document(b"%PDF offer v1", "offer_v1.pdf")
    await alina.press("Подтвердить", await alina.expect("Проверьте"))
    await director.expect("Согласуйте коммерческое предложение")
    await alina.send("📋 Мои задачи")
    await alina.expect("У вас нет открытых задач")
    await shop.settle()
    assert not await alina.find("ООО Ромашка: Детские игрушки — Согласовать КП с ГД")

    await director.send("📋 Мои задачи")
    await director.expect("Ваши открытые задачи: 1")
    await director.expect("Согласуйте коммерческое предложение")
    await shop.settle()
    assert not await director.find("➡️"), await director.find("➡️")
