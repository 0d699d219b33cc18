"""A case's title in its reader's language: a process whose `start.title` is written per language names each case
in Russian for those who read Russian and in English for those who read English — in notices, task cards, «My cases»,
a case's card and an admin's search."""

from __future__ import annotations

from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect

RUSSIAN = "Longines, 1 шт. — ООО «Альфа Тайм»"
ENGLISH = "Longines, 1 pcs — ООО «Альфа Тайм»"


async def test_each_person_reads_the_cases_title_in_their_language(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Ольга", "shop_admin")
    director = await harness.person("Director Peter", "director", language="en")
    service = await harness.person("Sergey", "service_manager", language="en")
    await harness.person("Кладовщик Иван", "warehouse_head")
    await register_defect(manager)

    # The director reads English: the notice names the case in English, the Russian title nowhere.
    note = await director.expect("New defective return")
    assert f"№1 · {ENGLISH}" in note["text"] and "шт." not in note["text"], note["text"]

    # So does the service manager's task card; he does the task, which makes the case one of his.
    card = await service.card("Move the goods to the service warehouse in 1C", button="Done")
    assert f"№1 · {ENGLISH}" in card["text"], card["text"]
    await service.press("Done", card)
    await service.send("📁 My cases")
    listed = await service.card("Your cases", button="№1")
    assert any(label.startswith(f"№1 {ENGLISH}") for label in service.buttons(listed)), service.buttons(listed)

    # The case's card, asked for by number.
    await director.send("/case 1")
    shown = await director.expect("📁 №1")
    assert ENGLISH in shown["text"] and RUSSIAN not in shown["text"], shown["text"]

    # The Russian reader keeps the Russian title, and an admin finds the case by the words of either title.
    await manager.send("📁 Мои дела")
    mine = await manager.card("Ваши дела", button="№1")
    assert any(label.startswith(f"№1 {RUSSIAN}") for label in manager.buttons(mine)), manager.buttons(mine)
    await harness.admin.send("/find 1 pcs")
    found = await harness.admin.expect("№1")
    assert RUSSIAN in found["text"], found["text"]
