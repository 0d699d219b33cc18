"""Seed 3, the commercial offer on its way through the director, from each person's side: the director returns it
with what to fix, in words or as a photo of the offer marked up by hand, and the manager gets that photo with her
task; the director's card comes under its file, not above it; the approved offer comes with the news that it is
approved, to be sent on to the client; and a case whose task a worker has taken says whom it waits for by name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from db.models import AuditEntry, StoredFile
from tests.chat import Person, picture
from tests.conftest import Harness
from tests.panel_pages import case_fields
from tests.test_fulfillment_e2e import an_offer_for_the_director, at_the_warehouse, correct_warehouse_date
from tests.test_fulfillment_e2e import fulfillment as fulfillment  # the fixture: the warehouse's five people


def before_its_card(messages: list[dict[str, Any]], card: dict[str, Any], name: str) -> dict[str, Any]:
    """The document `name` the bot sent this person, checked to have come before `card` (the card with buttons
    last, so that the buttons stay at the bottom of the chat, under the file they are about)."""
    sent = [m for m in messages if (m.get("document") or {}).get("file_name") == name]
    assert sent, [(m["message_id"], (m.get("text") or "")[:80]) for m in messages]
    assert sent[-1]["message_id"] < card["message_id"], (sent[-1]["message_id"], card["message_id"])
    return sent[-1]


async def director_returns_with_a_photo(director: Person, caption: str | None) -> dict[str, Any]:
    """The director presses «Вернуть с замечаниями» and, asked what to fix, photographs the marked-up offer; the
    summary he confirms is returned."""
    card = await director.card("Согласуйте коммерческое предложение", button="Вернуть")
    await director.press("Вернуть с замечаниями", card)
    question = await director.expect("Что исправить?")
    assert "Комментарий" not in question["text"], question["text"]
    await director.send_file("photo", picture(120, 90), "offer_marked.png", caption=caption)
    summary = await director.expect("Проверьте")
    await director.press("Подтвердить", summary)
    return summary


async def an_offer_at_the_director(shop: Harness) -> tuple[Person, Person]:
    """Алина sends an offer to the general director (`an_offer_for_the_director`): Алина and the director."""
    manager, director = shop.people["Алина"], shop.people["Генеральный Олег"]
    await an_offer_for_the_director(manager)
    return manager, director


async def the_corrected_offer_sent(manager: Person, what: str) -> None:
    """The offer returned, Алина opens «Исправьте КП по замечанию директора», sends the corrected offer's file and
    says `what` she corrected."""
    await manager.press("Заполнить", await manager.card("Исправьте КП по замечанию директора", button="Заполнить"))
    await manager.expect("Исправленный файл КП")
    await manager.document(b"%PDF offer v2", "offer_v2.pdf")
    await manager.expect("Что исправлено в КП")
    await manager.send(what)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))


async def test_the_director_returns_the_offer_as_a_photo_of_it_marked_up_and_the_manager_gets_the_photo(
    fulfillment: Harness,
) -> None:
    shop = fulfillment
    manager, director = await an_offer_at_the_director(shop)

    summary = await director_returns_with_a_photo(director, "Цена хранения завышена — см. пометки")
    assert "Что исправить?: Цена хранения завышена — см. пометки" in summary["text"], summary["text"]
    task = await manager.expect("Исправьте КП по замечанию директора")
    assert "Директор вернул КП на доработку: Цена хранения завышена — см. пометки" in task["text"], task["text"]
    await shop.settle()
    photos = [m for m in await manager.bot_messages() if m.get("photos")]
    assert len(photos) == 1 and "Что исправить?" in (photos[0]["text"] or ""), [m["text"] for m in photos]
    assert photos[0]["message_id"] < task["message_id"]  # the photo, then the task with its button under it

    # The photo is a file of the case, kept with the decision it came with.
    async with shop.core.sessionmaker() as session:
        kept = (await session.execute(select(StoredFile).where(StoredFile.kind == "photo"))).scalars().all()
        done = (await session.execute(select(AuditEntry).where(AuditEntry.action == "task.done"))).scalars().all()
    assert [f.case_id for f in kept] == [1], [(f.id, f.case_id) for f in kept]
    returned = [e for e in done if (e.data or {}).get("outcome") == "reject"]
    assert [ref["id"] for ref in returned[0].data["values"]["approve_offer_comment_file"]] == [kept[0].id]

    # The corrected offer goes back; the director returns it again with a photo and no words: «(фото)».
    await the_corrected_offer_sent(manager, "Пересчитали хранение")
    await director.expect("КП прислано повторно")
    await director_returns_with_a_photo(director, None)
    task = await manager.expect("Исправьте КП по замечанию директора", "Директор вернул КП на доработку: (фото)")
    await shop.settle()
    photos = [m for m in await manager.bot_messages() if m.get("photos")]
    assert len(photos) == 2 and photos[1]["message_id"] < task["message_id"], [m["message_id"] for m in photos]

    history = await case_fields(shop, 1, "ru", start='id="history"', until="</ul>")
    assert "Что исправить?: Цена хранения завышена — см. пометки" in history, history
    assert f'<a href="files/{kept[0].id}">📎</a>' in history, history  # the photo, from its decision's line
    assert "Что исправить?: (фото)" in history, history


async def test_a_remark_in_words_leaves_no_photo_of_an_earlier_round(fulfillment: Harness) -> None:
    """Returned first with a photo, then with words only: the second task brings no photo of the first round."""
    shop = fulfillment
    manager, director = await an_offer_at_the_director(shop)
    await director_returns_with_a_photo(director, "См. фото")
    await the_corrected_offer_sent(manager, "Исправили")
    await director.press("Вернуть с замечаниями", await director.card("КП прислано повторно", button="Вернуть"))
    await director.expect("Что исправить?")
    await director.send("Добавьте срок действия")
    await director.press("Подтвердить", await director.expect("Проверьте"))
    await manager.expect("Директор вернул КП на доработку: Добавьте срок действия")
    await shop.settle()
    assert len([m for m in await manager.bot_messages() if m.get("photos")]) == 1  # the first round's, once
    async with shop.core.sessionmaker() as session:
        done = (await session.execute(select(AuditEntry).where(AuditEntry.action == "task.done"))).scalars().all()
    last = [e for e in done if (e.data or {}).get("outcome") == "reject"][-1]
    assert not last.data["values"].get("approve_offer_comment_file"), last.data


async def test_the_directors_card_comes_under_the_offer_and_the_approved_offer_comes_to_the_manager(
    fulfillment: Harness,
) -> None:
    shop = fulfillment
    manager, director = await an_offer_at_the_director(shop)
    card = await director.card("Согласуйте коммерческое предложение", button="Согласовать")
    await shop.settle()
    before_its_card(await director.bot_messages(), card, "offer_v1.pdf")

    await director.press("Согласовать", card)
    notice = await manager.expect("КП согласовано директором — отправьте его клиенту")
    await shop.settle()
    # The offer to send comes with the words that say to send it (she uploaded it; the bot never sent it to her).
    sent = before_its_card(await manager.bot_messages(), notice, "offer_v1.pdf")
    assert "Файл КП" in (sent["text"] or ""), sent["text"]


async def test_a_task_a_worker_has_taken_waits_for_him_by_name(fulfillment: Harness) -> None:
    shop = fulfillment
    manager, timur = shop.people["Алина"], shop.people["Кладовщик Тимур"]
    await at_the_warehouse(shop, "Заявка на обработку товара", "1800", "23.12.2026")
    await timur.press("Взять", await timur.card("Обработайте товар по заявке", button="Взять"))
    await timur.wait_for("Обработайте товар по заявке", "Вы взяли")

    await correct_warehouse_date(manager, "25.12.2026")
    said = await manager.expect("Ждёт:")
    assert "Ждёт: Кладовщик Тимур (Работник склада)" in said["text"], said["text"]


async def test_an_offer_marked_up_on_three_pages_comes_back_to_the_manager_whole(fulfillment: Harness) -> None:
    """The director photographs the three pages he marked up and sends them at once, as one album: Telegram brings
    each page as an update of its own. The first answers «Что исправить?»; the other two belong to it — not files
    «kept for the next question» — and the manager gets all three with her task."""
    shop = fulfillment
    manager, director = await an_offer_at_the_director(shop)
    card = await director.card("Согласуйте коммерческое предложение", button="Вернуть")
    await director.press("Вернуть с замечаниями", card)
    await director.expect("Что исправить?")
    await director.album([picture(120, 90), picture(121, 90), picture(122, 90)], "marked-offer")
    summary = await director.expect("Проверьте")
    await shop.settle()
    said = [m.get("text") or "" for m in await director.bot_messages()]
    assert not any("Сохранил" in text for text in said), said
    await director.press("Подтвердить", summary)  # the summary asked after the first page confirms all three
    task = await manager.expect("Исправьте КП по замечанию директора")
    await shop.settle()
    pages = [m for m in await manager.bot_messages() if m.get("photos")]
    assert len(pages) == 3 and pages[-1]["message_id"] < task["message_id"], [m["message_id"] for m in pages]
