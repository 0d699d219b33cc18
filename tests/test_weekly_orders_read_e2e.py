"""Seed 2, Turmyasovo: the week as its people read it in their chats — the commercial director's cycle said to be
registered before its report comes, a production head asked how many kilos knowing how many he may say, the
general director not told of receivables nobody entered."""

from __future__ import annotations

from tests.conftest import Harness
from tests.test_weekly_orders_e2e import new_deal, plant
from tests.test_weekly_orders_shortfall_e2e import plain, start_the_cycle

__all__ = ["plant"]  # the fixture, used by name


async def test_the_commercial_director_reads_his_cycle_registered_before_its_report_and_task(plant: Harness) -> None:
    """Кирилл starts the week's cycle by hand. His chat says first that it is registered, then brings the report
    and his task to review it — it brought the report and the task first, and «зарегистрировано» under them, as if
    the cycle had been registered after he was asked to work on it."""
    h, kirill = plant, plant.people["Кирилл"]
    await new_deal(h.people["Антон"], "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    await kirill.send("▶️ Начать процесс")
    picker = await kirill.expect("Какой процесс")
    await kirill.press("Сбор предварительных заявок", picker)
    await kirill.expect("Рассмотрите предварительные заявки")
    await h.settle()
    after = [m for m in await kirill.bot_messages() if m["message_id"] > picker["message_id"]]
    said = [f"📎 {m['document']['file_name']}" if m.get("document") else plain(m) for m in after]
    assert len(said) == 3, said
    assert "зарегистрировано" in said[0] and "Этап: Анализ предварительных заявок" in said[0], said
    assert said[1].startswith("📎 Предварительные заявки") and "Рассмотрите предварительные заявки" in said[2], said
    assert "зарегистрировано" not in " ".join(said[1:]), said  # said once


async def test_a_production_head_asked_how_many_kilos_reads_the_range_he_may_answer(plant: Harness) -> None:
    """Пётр makes less than the 1 800 kg of the report: the question «Сколько кг» says at once that he may answer from
    0 to 1 800 — he learnt the upper limit only from the refusal of a larger figure."""
    h, p = plant, plant.people
    await new_deal(p["Антон"], "ООО Вкусный двор", "1 500", "300", "420 000", "29.12.2026", "Предоплата", None)
    await new_deal(p["Белла"], "ИП Смирнов", "300", "100", "150 000", "30.12.2026", "Отсрочка", None)
    await start_the_cycle(h)
    await p["Пётр"].press("Выпустим меньше", await p["Пётр"].card("производство №1 выпустит", button="Выпустим меньше"))
    question = await p["Пётр"].expect("Сколько кг выпустит производство №1")
    assert "Отправьте число от 0 до 1 800." in plain(question), plain(question)
    await p["Пётр"].send("1 500")
    summary = await p["Пётр"].expect("Проверьте")
    assert "Сколько кг выпустит производство №1: 1 500" in plain(summary), plain(summary)
