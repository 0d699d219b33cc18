"""A form put aside (the person turned to the menu, or another form opened over it) is not closed: a button of its
old question or summary brings it back where it stopped — the other open form is put aside in turn, with its own
«Continue» — rather than answering «Эта форма уже закрыта» about a form whose answers are all still kept."""

from __future__ import annotations

from tests.chat import start_a_return_of_faulty_watches
from tests.conftest import Harness


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
