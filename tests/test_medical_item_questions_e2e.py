"""Seed 5's order put together as the manager works it with the client: each item is asked what it is and how many
are wanted first, then whether it is in stock (and, when it is to order, from whom), then its price."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.chat import Person
from tests.conftest import Harness
from tests.ports import free_port
from tests.test_medical_order_e2e import TOKEN, _order_being_assembled


async def _asked_and_answered(person: Person, answer: str | None) -> str:
    """The item's next question, whatever it is: its label, as the person reads it; `answer` given to it."""
    question = await person.expect("Позиция №1: ")
    label = question["text"].split("Позиция №1: ", 1)[1].split("\n", 1)[0]
    if answer is not None:
        if answer in person.buttons(question):
            await person.press(answer, question)
        else:
            await person.send(answer)
    return label


async def test_an_item_is_asked_what_and_how_many_before_whether_it_is_in_stock(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The client asks for one ultrasound machine: the manager names it and says how many, and only then whether it
    is in stock — it is to order, so its supplier is asked next — and then its price."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    await harness.person("Директор Олег", "director")
    await _order_being_assembled(harness, manager, "lead-order", "Аппарат УЗИ")
    asked = [await _asked_and_answered(manager, answer) for answer in ("1", "Под заказ", "Siemens Healthineers", None)]
    assert asked == ["Количество", "Наличие", "Поставщик", "Цена"], asked
