"""«Какой процесс начать?» is a choice made once: the list a person chose from says what was chosen and keeps no
buttons, and a list a newer one replaced loses its buttons. A press on either that still reaches the bot (a phone
that had not yet shown the change, a double tap) is answered plainly and starts nothing — it used to start one more
case each time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from db.models import Case
from tests.chat import Person
from tests.conftest import Harness

CYCLE = "Сбор предварительных заявок"  # weekly_orders: no start form, a press registers the case at once


async def cases_started(harness: Harness) -> int:
    async with harness.core.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Case))).scalar_one())


async def the_list(harness: Harness) -> tuple[Person, dict[str, Any], str]:
    """Кирилл, a commercial director, asks for the list: it, and its button for the weekly cycle as it was sent."""
    kirill = await harness.person("Кирилл", "commercial_director")
    await kirill.send("▶️ Начать процесс")
    picker = await kirill.expect("Какой процесс начать?")
    data = next(k["callback_data"] for row in picker["inline_keyboard"] for k in row if CYCLE in k["text"])
    return kirill, picker, data


async def test_a_list_chosen_from_says_what_was_chosen_and_a_second_press_on_it_starts_nothing(
    harness: Harness,
) -> None:
    kirill, picker, data = await the_list(harness)
    await kirill.press(CYCLE, picker)
    await kirill.expect("зарегистрировано")
    chosen = await kirill.no_buttons_left(picker["message_id"])
    assert chosen["text"] == f"Выбран процесс «{CYCLE}»."
    assert await cases_started(harness) == 1

    # His phone still showed the buttons and he pressed again: told so, and no second cycle.
    said = await kirill.press_data(picker["message_id"], data, unchecked=True)
    assert said == f"Процесс «{CYCLE}» уже выбран в этом списке.", said
    await harness.settle()
    assert await cases_started(harness) == 1


async def test_a_list_a_newer_one_replaced_loses_its_buttons_and_a_press_on_it_starts_nothing(
    harness: Harness,
) -> None:
    kirill, older, data = await the_list(harness)
    await kirill.send("▶️ Начать процесс")
    newer = await kirill.expect("Какой процесс начать?")
    left = await kirill.no_buttons_left(older["message_id"])
    assert left["text"] == "Какой процесс начать?"

    said = await kirill.press_data(older["message_id"], data, unchecked=True)
    assert said == "Этот список устарел — выберите в новом, ниже.", said
    # A list from before lists were told apart (its buttons name only the process) is as old.
    said = await kirill.press_data(older["message_id"], "s:weekly_orders:0", unchecked=True)
    assert said == "Этот список устарел — выберите в новом, ниже.", said
    await harness.settle()
    assert await cases_started(harness) == 0

    await kirill.press(CYCLE, newer)  # the newer list works as ever
    await kirill.expect("зарегистрировано")
    # The newer list used too, the older one no longer points to it: a list below has no buttons left either.
    said = await kirill.press_data(older["message_id"], data, unchecked=True)
    assert said == "Этот список устарел. Чтобы начать ещё один процесс, нажмите «▶️ Начать процесс».", said
    await harness.settle()
    assert await cases_started(harness) == 1
