"""Small things a person meets in chat: a command sent in the middle of a form leaves it in a clear state (/help asks
the question again below its answer; a command that turns to other work puts the form aside, saying how to go on),
a task given to the case's responsible says it is theirs as any other, and «Готово» on a task with no questions says
in the chat what happens now."""

from __future__ import annotations

from tests.chat import start_a_return_of_faulty_watches
from tests.conftest import Harness
from tests.test_access_closed_e2e import an_offer_returned_to_her
from tests.test_fulfillment_e2e import fulfillment  # noqa: F401 (the fixture)
from tests.test_weekly_orders_e2e import msk, plant  # noqa: F401 (the fixture)


async def test_help_in_the_middle_of_a_form_asks_the_question_again(harness: Harness) -> None:
    """/help at «Количество»: the help, and under it the question she was at — the answer she types next is its
    answer, as after /lang."""
    manager = await harness.person("Марина", "shop_manager")
    await start_a_return_of_faulty_watches(manager)
    await manager.send("/help")
    await manager.expect("Я веду процессы вашей компании")
    await manager.expect("Количество")  # asked again, below the help
    await manager.send("3")
    await manager.expect("Сумма закупки")


async def test_a_command_to_other_work_puts_the_form_aside_saying_how_to_go_on(harness: Harness) -> None:
    """/tasks is «📋 Мои задачи» typed: the form is put aside, as by the button, with «Продолжить»; so is it by a
    command the bot does not know (/menu), which is not left hanging over a form that would take the next message
    unseen."""
    manager = await harness.person("Марина", "shop_manager")
    await start_a_return_of_faulty_watches(manager)
    await manager.send("/tasks")
    aside = await manager.expect("отложена")
    await manager.press("Продолжить", aside)
    await manager.expect("Количество")
    await manager.send("/menu")
    await manager.press("Продолжить", await manager.expect("отложена"))
    await manager.expect("Количество")
    await manager.send("3")
    await manager.expect("Сумма закупки")


async def test_a_task_of_the_cases_responsible_says_it_is_hers(fulfillment: Harness) -> None:  # noqa: F811
    """The offer returned by the director: correcting it is the account manager's own task (the case's responsible),
    and its card says «Эта задача — ваша.» as a card of a role's task does."""
    manager, director = fulfillment.people["Алина"], fulfillment.people["Генеральный Олег"]
    await an_offer_returned_to_her(manager, director)
    card = await manager.card("Исправьте КП по замечанию директора", button="Заполнить")
    assert "Эта задача — ваша." in card["text"], card["text"]


async def test_done_on_a_task_without_questions_says_what_happens_now(plant: Harness) -> None:  # noqa: F811
    """A week without pre-orders: the commercial director presses «Готово» on his review and reads in the chat that
    it is done and where the cycle is now (the finance director's report), not only a notice that flashes away."""
    kirill = plant.people["Кирилл"]
    await plant.move_to(msk(24, 9, 1))
    card = await kirill.card("Рассмотрите предварительные заявки", button="Готово")
    await kirill.press("Готово", card)
    await kirill.expect("✅ Готово.", "этап: Финансовый отчёт недели")
