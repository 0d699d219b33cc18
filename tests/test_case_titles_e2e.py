"""A case's title in its reader's language: a process whose `start.title` is written per language names each case
in Russian for those who read Russian and in English for those who read English — in notices, task cards, «My cases»,
a case's card and an admin's search."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import update

from db.models import Case
from tests.conftest import Harness, library_with
from tests.test_defect_return_e2e import register_defect

RUSSIAN = "Longines, 1 шт. — ООО «Альфа Тайм»"
ENGLISH = "Longines, 1 pc — ООО «Альфа Тайм»"


async def test_each_person_reads_the_cases_title_in_their_language(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Ольга", "shop_admin")
    director = await harness.person("Director Peter", "director", language="en")
    service = await harness.person("Sergey", "service_manager", language="en")
    await harness.person("Кладовщик Иван", "warehouse_head")
    await register_defect(manager)

    # The director reads English: the notice names the case in English, the Russian title nowhere.
    note = await director.expect("New defective return")
    assert f"#1 · {ENGLISH}" in note["text"] and "шт." not in note["text"], note["text"]

    # So does the service manager's task card; he does the task, which makes the case one of his.
    card = await service.card("Move the goods to the service warehouse in 1C", button="Done")
    assert f"#1 · {ENGLISH}" in card["text"], card["text"]
    await service.press("Done", card)
    await service.send("📁 My cases")
    listed = await service.card("Your cases", button="#1")
    assert any(label.startswith(f"#1 {ENGLISH}") for label in service.buttons(listed)), service.buttons(listed)

    # The case's card, asked for by number.
    await director.send("/case 1")
    shown = await director.expect("📁 #1")
    assert ENGLISH in shown["text"] and RUSSIAN not in shown["text"], shown["text"]

    # The Russian reader keeps the Russian title, and an admin finds the case by the words of either title.
    await manager.send("📁 Мои дела")
    mine = await manager.card("Ваши дела", button="№1")
    assert any(label.startswith(f"№1 {RUSSIAN}") for label in manager.buttons(mine)), manager.buttons(mine)
    await harness.admin.send("/find 1 pc —")
    found = await harness.admin.expect("№1")
    assert RUSSIAN in found["text"], found["text"]


async def forget_titles(harness: Harness, case_id: int) -> None:
    """The case as one started before titles were kept per language (migration 0029): nothing in `titles`."""
    async with harness.core.sessionmaker() as session, session.begin():
        await session.execute(update(Case).where(Case.id == case_id).values(titles=None))


async def test_a_case_stored_without_its_english_title_is_named_in_english_all_the_same(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Ольга", "shop_admin")
    director = await harness.person("Director Peter", "director", language="en")
    service = await harness.person("Sergey", "service_manager", language="en")
    await register_defect(manager)
    await service.card("Move the goods to the service warehouse in 1C", button="Done")
    await forget_titles(harness, 1)

    # English readers read the title its process gives the case in English, made from the case's answers.
    await service.send("📋 My tasks")
    task = await service.card("Move the goods to the service warehouse in 1C", button="Done")
    assert f"#1 · {ENGLISH}" in task["text"], task["text"]
    await director.send("/case 1")
    shown = await director.expect("📁 #1")
    assert ENGLISH in shown["text"] and RUSSIAN not in shown["text"], shown["text"]
    # «My cases», once the task done makes the case one of his.
    await service.press("Done", task)
    await service.wait_for("Move the goods to the service warehouse in 1C", "✅")
    await forget_titles(harness, 1)  # the step wrote them afresh
    await service.send("📁 My cases")
    listed = await service.card("Your cases", button="#1")
    assert f"#1 · {ENGLISH}" in listed["text"], listed["text"]
    assert any(label.startswith(f"#1 {ENGLISH}") for label in service.buttons(listed)), service.buttons(listed)
    # The Russian reader's is the stored one; the row is left as its steps wrote it.
    await manager.send("/case 1")
    assert RUSSIAN in (await manager.expect("📁 №1"))["text"]
    async with harness.core.sessionmaker() as session:
        assert (await session.get(Case, 1)).titles is None  # type: ignore[union-attr]


async def test_a_case_on_a_version_with_one_title_is_named_by_the_current_versions_english_one(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    # The library before titles were written per language: the case starts on a version with a Russian title only.
    library = library_with(tmp_path)
    written = (library / "defect_return.yaml").read_text(encoding="utf-8")
    before = re.sub(r"(?m)^  title: \{ru: (\"[^\"]+\"), en: .*\}$", r"  title: \1", written)
    assert before != written
    (library / "defect_return.yaml").write_text(before, encoding="utf-8")
    harness = await harness_factory(library_dir=library)
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Ольга", "shop_admin")
    director = await harness.person("Director Peter", "director", language="en")
    await register_defect(manager)
    await director.expect("New defective return")
    async with harness.core.sessionmaker() as session:
        assert (await session.get(Case, 1)).titles is None  # type: ignore[union-attr]

    # The process gets its English title; the running case stays on its version, and is read in English all the same.
    (library / "defect_return.yaml").write_text(written, encoding="utf-8")
    await harness.restart()
    await director.send("/case 1")
    shown = await director.expect("📁 #1")
    assert ENGLISH in shown["text"] and RUSSIAN not in shown["text"], shown["text"]
    await manager.send("/case 1")
    assert RUSSIAN in (await manager.expect("📁 №1"))["text"]
