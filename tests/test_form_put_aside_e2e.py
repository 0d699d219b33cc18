"""A form put aside (the person turned to the menu, or another form opened over it) is not closed: a button of its
old question or summary brings it back where it stopped — the other open form is put aside in turn, with its own
«Continue» — rather than answering «Эта форма уже закрыта» about a form whose answers are all still kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from db.models import Case
from tests.chat import start_a_return_of_faulty_watches
from tests.conftest import Harness, library_with


async def test_a_button_of_a_form_put_aside_brings_it_back_where_it_stopped(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await start_a_return_of_faulty_watches(manager)
    question = await manager.find("Количество")
    assert question is not None and "⬅️ Назад" in manager.buttons(question)

    # She turns to the menu: the form is put aside, its answers kept.
    await manager.send("📋 Мои задачи")
    await manager.expect("отложена")

    # The old question's «Назад» is a button of that form: it comes back, at the question it stopped at.
    await manager.press("⬅️ Назад", question)
    again = await manager.expect("Количество")
    assert "уже закрыта" not in " ".join(m.get("text") or "" for m in await manager.bot_messages())
    await manager.send("3")
    await manager.expect("Сумма закупки")  # the answer counts: the form goes on from where it was
    assert again["message_id"] > question["message_id"]


async def test_confirm_on_the_summary_of_a_form_put_aside_confirms_it_and_the_other_stays_open(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A leave request and a supply request filled to their summaries, the second opened over the first: «Подтвердить»
    on the first summary registers the first (its answers are all there, unchanged), and the second form stays open
    — it used to put the second aside and show the first summary again, the two taking turns at every press."""
    harness = await harness_factory(library_dir=library_with(tmp_path, "leave_request.yaml", "supply_request.yaml"))
    olga = await harness.person("Ольга", "employee")
    summaries = []
    for process, question, answer in (("Заявление на отпуск", "Сколько дней", "14"),
                                      ("Заявка на снабжение", "Что нужно", "Бумага А4")):  # fmt: skip
        await olga.send("▶️ Начать процесс")
        await olga.press(process, await olga.expect("Какой процесс"))
        await olga.expect(question)
        await olga.send(answer)
        summaries.append(await olga.expect("Проверьте", answer))

    await olga.press("Подтвердить", summaries[0])
    await olga.expect("зарегистрировано", "Отпуск 14")
    await olga.press("Подтвердить", summaries[1])
    await olga.expect("зарегистрировано", "Бумага А4")
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        titles = sorted((await session.execute(select(Case.title))).scalars())
    assert titles == ["Бумага А4", "Отпуск 14 дн."]
    assert "отложена" not in " ".join(m.get("text") or "" for m in (await olga.bot_messages())[-4:])
