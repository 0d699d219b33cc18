"""An admin checks and loads a process definition in chat; running cases keep the version they started with."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from db.models import Case, Definition
from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"


async def test_a_broken_definition_is_explained_and_a_good_one_becomes_a_new_version(harness: Harness) -> None:
    admin = harness.admin
    manager = await harness.person("Марина", "shop_manager")
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.expect("Поставщик")  # a case in «draft» on version 1

    source = (LIBRARY / "defect_return.yaml").read_text(encoding="utf-8")
    broken = source.replace("next: inspection", "next: inspektion")
    await admin.send_file("document", broken.encode(), "defect_return.yaml")
    answer = await admin.expect("ошибки")
    assert "defect_return.yaml:" in answer["text"] and "inspektion" in answer["text"]

    # A good one is checked and named by its title, never its key; «Загрузить» loads it, no second upload.
    changed = source.replace("Возврат бракованных часов поставщику", "Возврат брака поставщику (v2)")
    await admin.send_file("document", changed.encode(), "defect_return.yaml")
    checked = await admin.expect("В «Возврат брака поставщику (v2)» (defect_return.yaml) ошибок нет")
    assert admin.buttons(checked) == ["⬆️ Загрузить"]
    await admin.press("Загрузить", checked)
    # The checked message becomes the result: one message, no button left to press twice.
    loaded = await admin.wait_for("Процесс «Возврат брака поставщику (v2)» загружен, версия 2")
    assert loaded["message_id"] == checked["message_id"] and admin.buttons(loaded) == []
    # Pressed again on a copy its Telegram had not yet updated: refused in words, nothing loaded twice.
    data = checked["inline_keyboard"][0][0]["callback_data"]
    assert await admin.press_data(checked["message_id"], data, unchecked=True) != ""

    await manager.press("Отмена", await manager.card("Поставщик", button="Отмена"))
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат брака поставщику (v2)", await manager.expect("Какой процесс"))
    await manager.expect("Поставщик")
    async with harness.core.sessionmaker() as session:
        versions = dict((await session.execute(select(Definition.id, Definition.version))).all())
        cases = list((await session.execute(select(Case).order_by(Case.id))).scalars())
    assert [versions[c.definition_id] for c in cases] == [1, 2]

    # The loaded version stays current after a restart (the library file does not take over again).
    await harness.restart()
    await manager.send("/cancel")
    await manager.send("▶️ Начать процесс")
    menu = await manager.expect("Какой процесс")
    assert "Возврат брака поставщику (v2)" in " ".join(manager.buttons(menu))

    # Sending the original text again makes its version current again, no copy under a new number (a rollback).
    await admin.send_file("document", source.encode(), "defect_return.yaml", caption="/load")
    await admin.expect("версия 1")
    await manager.send("/cancel")
    await manager.send("▶️ Начать процесс")
    menu = await manager.expect("Какой процесс")
    assert "Возврат бракованных часов поставщику" in " ".join(manager.buttons(menu))


async def test_a_definition_sent_in_chat_is_told_its_warnings_as_konveyer_check_tells_them(harness: Harness) -> None:
    """A field's label left in Russian alone loads all the same, but the admin is told, at its line, that an
    English reader gets it in Russian — in the check's answer and again in the load's."""
    admin = harness.admin
    source = (LIBRARY / "defect_return.yaml").read_text(encoding="utf-8")
    russian_only = source.replace("label: {ru: Поставщик, en: Supplier}", "label: {ru: Поставщик}")
    line = russian_only.splitlines().index(
        next(ln for ln in russian_only.splitlines() if "label: {ru: Поставщик}" in ln)
    ) + 1
    await admin.send_file("document", russian_only.encode(), "defect_return.yaml")
    checked = await admin.expect("ошибок нет", "⚠️ Предупреждения — определение загружается и так:")
    assert f"defect_return.yaml:{line}:" in checked["text"], checked["text"]
    await admin.press("Загрузить", checked)
    loaded = await admin.wait_for("загружен, версия 2", "⚠️ Предупреждения")
    assert f"defect_return.yaml:{line}:" in loaded["text"]
    # The library's own file has none: nothing to warn of, no heading.
    await admin.send_file("document", source.encode(), "defect_return.yaml")
    assert "Предупреждения" not in (await admin.expect("ошибок нет"))["text"]


async def test_every_mistake_of_a_definition_is_explained_in_one_answer(harness: Harness) -> None:
    """A field of a type there is not, a role nobody has and a stage that does not exist: the admin is told of all
    three at once, each at its line, not of the type alone and of the others only after fixing it."""
    source = (LIBRARY / "defect_return.yaml").read_text(encoding="utf-8")
    broken = (
        source.replace("{type: money, label: {ru: Сумма закупки", "{type: mony, label: {ru: Сумма закупки")
        .replace("next: inspection", "next: inspektion")
        .replace("assignee: warehouse_head", "assignee: warehouse_hed", 1)
    )
    lines = {word: next(n for n, row in enumerate(broken.splitlines(), 1) if word in row)
             for word in ("mony", "inspektion", "warehouse_hed")}
    await harness.admin.send_file("document", broken.encode(), "defect_return.yaml")
    answer = (await harness.admin.expect("ошибки"))["text"]
    said = {"mony": "purchase_sum → type", "inspektion": "«inspektion»", "warehouse_hed": "«warehouse_hed»"}
    for word, line in lines.items():
        assert any(row.startswith(f"defect_return.yaml:{line}:") and said[word] in row
                   for row in answer.splitlines()), (word, answer)


async def test_a_case_moved_onto_a_new_version_rewrites_its_open_task_cards(harness: Harness) -> None:
    """The service manager's card named the stage of version 1 after the case had moved onto version 2: the move
    edits the cards of the tasks that stay, so they read as the new version words them."""
    from services.migration import Migration

    manager = await harness.person("Марина", "shop_manager")
    service = await harness.person("Сергей", "service_manager")
    await register_defect(manager)
    card = await service.expect("Переместите товар на склад сервиса в 1С")
    assert "Брак зарегистрирован" in card["text"], card["text"]
    source = (LIBRARY / "defect_return.yaml").read_text(encoding="utf-8")
    changed = source.replace("title: {ru: Брак зарегистрирован,", "title: {ru: Брак принят к возврату,")
    await harness.admin.send_file("document", changed.encode(), "defect_return.yaml", caption="/load")
    await harness.admin.expect("версия 2")
    report = await Migration(harness.core).apply("defect_return", 1, 2, {}, by="panel")
    assert [move.moved for move in report.cases] == [True], report
    await harness.settle()
    edited = await service.find("Переместите товар на склад сервиса в 1С")
    assert edited is not None and edited["message_id"] == card["message_id"]
    assert "Брак принят к возврату" in edited["text"] and "Брак зарегистрирован" not in edited["text"], edited
