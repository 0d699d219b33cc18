"""The menu's buttons typed by hand — «начать процесс», «Мои задачи» without the emoji — work as the buttons do;
inside a form the same words stay an answer (a field may well be «Мои задачи»)."""

from __future__ import annotations

from tests.conftest import Harness


async def test_the_menus_words_typed_by_hand_work_as_its_buttons(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await manager.send("начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс начать?"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    await manager.expect("Количество")
    await manager.send("Мои задачи")  # a form is open: these words are its answer, refused as not a number
    await manager.expect("число")
    await manager.send("📋 Мои задачи")  # the button itself leaves the form for the menu
    await manager.expect("отложена")
    await manager.send("МОИ ДЕЛА")
    await manager.expect("Ваши дела")
