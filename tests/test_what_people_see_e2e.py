"""Seed 1 from each person's side (issue 12): the evidence comes with the task, summaries read on a phone,
and no internal key of the definition ever reaches a chat."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from flows.status import CaseStatus, TaskStatus
from tests.chat import Person
from tests.conftest import Harness
from tests.test_defect_return_e2e import confirm_defect_and_ship, inform_supplier, register_defect
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"


def photos_after(messages: list[dict[str, Any]], message_id: int) -> list[dict[str, Any]]:
    return [m for m in messages if m["message_id"] > message_id and m.get("photos")]


async def test_the_warehouse_head_gets_the_defect_photos_with_his_task(shop: Harness) -> None:
    manager, service, head = shop.people["Марина"], shop.people["Сергей"], shop.people["Кладовщик Иван"]
    await register_defect(manager)
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))

    card = await head.expect("Подтвердите наличие дефекта")
    # He is the only head of warehouse: the task is given to him, he did not take it.
    assert "Эта задача — ваша." in card["text"] and "Вы взяли" not in card["text"], card["text"]
    due = re.search(r"Срок: (\S+ \S+)", card["text"])
    assert due is not None
    # The initiator follows her case: one line when it changes stage, with whom it waits for and until when — not
    # the next task's order to the warehouse («Подтвердите наличие дефекта»), which is not hers to do.
    line = await manager.expect("📍")
    assert "теперь «Проверка брака на складе»" in line["text"], line["text"]
    assert f"Ждёт: Кладовщик Иван (Заведующий складом) — до {due.group(1)}." in line["text"], line["text"]
    assert "Подтвердите" not in line["text"] and "Дальше" not in line["text"], line["text"]
    await shop.settle()
    photos = photos_after(await head.bot_messages(), 0)
    assert len(photos) == 1, "the photo the manager took comes with the card that asks to judge it"
    assert photos[0]["message_id"] < card["message_id"]  # above it: the card's buttons stay at the bottom
    # The only watch of the case needs no number: «Часы», not «Часы №1».
    assert "Фото дефекта · Часы ·" in photos[0]["text"] and "Часы №1" not in photos[0]["text"], photos[0]["text"]
    assert any("📎 Файлы (1)" in b for b in head.buttons(card))

    # The case card counts the photos instead of naming files, and sends them again on request.
    await head.press("Дело", card)
    case_card = await head.expect("📁 №")
    assert "Фото дефекта: 1 фото" in case_card["text"], case_card["text"]
    assert ".png" not in case_card["text"] and "photo_" not in case_card["text"]
    last = (await head.bot_messages())[-1]["message_id"]
    notice = await head.press("Файлы", case_card)
    assert notice and "1" in notice
    await shop.settle()
    again = photos_after(await head.bot_messages(), last)
    assert len(again) == 1 and "Фото дефекта" in again[0]["text"]


def raw_keys(definition: dict[str, Any]) -> set[str]:
    """Every key of a definition a person must never read: roles, stages, tasks, outcomes, fields, choice
    options, directory entries, the process itself, and the engine's statuses."""
    keys = {definition["process"], *definition.get("roles", [])}
    keys |= {s.value for s in CaseStatus} | {s.value for s in TaskStatus}
    keys |= {"approve", "reject", "done", "submit"}  # the default outcomes of approve/confirm/form tasks

    def fields(spec: dict[str, Any]) -> None:
        for name, fdef in spec.items():
            keys.add(name)
            keys.update((fdef.get("options") or {}).keys())
            fields(fdef.get("fields") or {})

    fields(definition.get("fields") or {})
    for entries in (definition.get("directories") or {}).values():
        keys.update(entry["key"] for entry in entries)
    for stage in definition["stages"]:
        keys.add(stage["key"])
        for task in stage.get("tasks") or []:
            keys.add(task["key"])
            keys.update((task.get("outcomes") or {}).keys())
    return keys


def leaks(text: str, keys: set[str]) -> set[str]:
    """Keys that appear as words; part of an e-mail address or a domain («service@alpha-time.example») is
    the address, not the key."""
    found = set()
    for key in keys:
        if re.search(rf"(?<![\w@./-]){re.escape(key)}(?![\w@/-]|\.\w)", text):
            found.add(key)
    return found


async def everything_said(people: list[Person]) -> list[tuple[str, str]]:
    said = []
    for person in people:
        for message in await person.bot_messages():
            said.append((person.name, message.get("text") or ""))
            said += [(person.name, f"[button] {b}") for b in person.buttons(message)]
    return said


async def test_no_internal_word_reaches_anyone_on_the_repair_path(shop: Harness) -> None:
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    await register_defect(manager, supplier="Helvetia")
    await confirm_defect_and_ship(shop)
    await inform_supplier(service)
    await service.press("Ремонт", await service.expect("Поставщик получил товар"))
    await service.document(b"%PDF verdict", "verdict.pdf")
    await service.press("Подтвердить", await service.expect("Проверьте"))

    card = await service.expect("Проконтролируйте готовность")
    assert "Решение поставщика: Ремонт." in card["text"], card["text"]
    await service.press("Готово", card)
    await service.send("сегодня")  # the supplier sent it back today (21.12.2026)
    await service.press("Подтвердить", await service.expect("Проверьте"))

    # The summary says first what «Confirm» will decide.
    await service.press("Не устранён", await service.expect("Дефект устранён?"))
    await service.send("сегодня")
    await service.send("Всё ещё отстают")
    summary = await service.expect("Проверьте")
    lines = summary["text"].split("\n")
    assert "Решение: Не устранён — повторить" in lines[:4], summary["text"]
    assert lines.index("Решение: Не устранён — повторить") < lines.index("Комментарий: Всё ещё отстают")
    await service.press("Подтвердить", summary)
    await service.expect("Уведомите поставщика о браке")
    await shop.settle()

    keys = raw_keys(yaml.safe_load((LIBRARY / "defect_return.yaml").read_text(encoding="utf-8")))
    assert {"repair", "shop_manager", "in_transit", "active", "helvetia"} <= keys  # the scan knows what to look for
    everyone = [shop.admin, *shop.people.values()]
    said = await everything_said(everyone)
    assert len(said) > 40
    found = [(who, sorted(leaks(text, keys)), text[:200]) for who, text in said if leaks(text, keys)]
    assert not found, found


def test_the_leak_scan_catches_what_it_must() -> None:
    keys = {"repair", "shop_manager", "helvetia", "done"}
    assert leaks("Решение поставщика: repair.", keys) == {"repair"}
    assert leaks("Ваши роли: shop_manager.", keys) == {"shop_manager"}
    assert leaks("done: service_centre", keys) == {"done"}
    assert not leaks("returns@helvetia.example, verdict_repair.pdf, Helvetia Watch Service", keys)


async def test_start_or_the_menu_during_a_form_names_it_and_saves_nothing_unseen(shop: Harness) -> None:
    manager = shop.people["Марина"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    await manager.expect("Количество")

    await manager.send("/start")
    await manager.expect("С возвращением")
    aside = await manager.expect("отложена")
    assert "«Новое дело: Возврат бракованных часов поставщику»" in aside["text"], aside["text"]
    # The form is closed for answers: the next message is not taken as the quantity.
    await manager.send("2")
    await manager.expect("Не удалось понять")
    # A file sent with no question asking for one: she is told it is kept for the next question for a file, not that
    # it was not understood.
    await manager.document(b"%PDF act", "act.pdf")
    await manager.expect("Сохранил — предложу этот файл")
    await manager.press("Продолжить", aside)
    question = await manager.expect("Количество")
    assert "Сейчас" not in question["text"]  # still unanswered: «2» went nowhere
    await manager.send("1")
    await manager.expect("Сумма закупки")

    # A menu button does its work and says which form it put aside.
    await manager.send("📋 Мои задачи")
    aside = await manager.expect("отложена")
    await manager.expect("Незаконченная заявка")  # «My tasks» lists the unfinished request
    await manager.press("Продолжить", aside)
    await manager.expect("Сумма закупки")
    await manager.send("125 000")
    await manager.expect("Марка")


async def test_a_finished_summary_loses_its_buttons(shop: Harness) -> None:
    manager, service, head = shop.people["Марина"], shop.people["Сергей"], shop.people["Кладовщик Иван"]
    await register_defect(manager)
    await shop.settle()
    summary = await manager.find("Проверьте")
    assert summary is not None and not summary.get("inline_keyboard"), summary  # confirmed: nothing to press

    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    await head.press("Брака нет", await head.expect("Подтвердите наличие дефекта"))
    await head.press("Пропустить", await head.expect("Фото с осмотра"))
    await head.send("Брака нет")
    summary = await head.expect("Проверьте")
    assert "Решение: Брака нет" in summary["text"]
    await head.press("Передумать", summary)  # the decision not made: the task stays, undecided
    await head.expect("Задача остаётся за вами")
    await shop.settle()
    cancelled = await head.find("Проверьте")
    assert cancelled is not None and not cancelled.get("inline_keyboard"), cancelled
