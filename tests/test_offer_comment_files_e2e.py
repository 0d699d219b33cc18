"""Seed 3, the files a director's decision on the offer came with, from each person's side: a photo of the marked-up
offer becomes a file of the case only once he confirms the return (one he thought better of is not the case's); the
photo he returned it with is among the case's files, named by the decision; and an offer that went round twice
comes to the manager, once approved, as the file the director approved — the corrected one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from db.models import StoredFile
from tests.chat import Person, picture
from tests.conftest import Harness
from tests.panel_pages import case_fields
from tests.test_fulfillment_e2e import an_offer_for_the_director
from tests.test_fulfillment_e2e import fulfillment as fulfillment  # the fixture: the warehouse's five people
from tests.test_offer_review_e2e import before_its_card, director_returns_with_a_photo


async def photos_kept(shop: Harness) -> list[int | None]:
    """The case each stored photo belongs to (None: no case's)."""
    async with shop.core.sessionmaker() as session:
        return list((await session.execute(select(StoredFile.case_id).where(StoredFile.kind == "photo"))).scalars())


async def the_director_begins_to_return_it_with_a_photo(director: Person) -> dict[str, Any]:
    """«Вернуть с замечаниями», and the marked-up offer photographed as what to fix: the summary he is to confirm."""
    await director.press("Вернуть с замечаниями", await director.card("Согласуйте коммерческое", button="Вернуть"))
    await director.expect("Что исправить?")
    await director.send_file("photo", picture(120, 90), "offer_marked.png", caption="Цена хранения завышена")
    return await director.expect("Проверьте")


async def test_a_photo_the_director_thought_better_of_is_no_file_of_the_case(fulfillment: Harness) -> None:
    """He photographs his remarks, then changes his mind at the summary and approves the offer as it is: the photo of
    a return never made is not among the case's files — not in the panel, not in the case's «📎 Файлы»."""
    shop = fulfillment
    manager, director = shop.people["Алина"], shop.people["Генеральный Олег"]
    await an_offer_for_the_director(manager)
    summary = await the_director_begins_to_return_it_with_a_photo(director)
    assert await photos_kept(shop) == [None]  # not the case's while the return is not confirmed
    await director.press("Передумать", summary)
    await director.press("Согласовать", await director.card("Согласуйте коммерческое", button="Согласовать"))
    await manager.expect("КП согласовано директором")

    assert await photos_kept(shop) == [None]
    files = await case_fields(shop, 1, "ru", start='id="files"', until="</ul>")
    assert "offer_v1.pdf" in files and "Фото" not in files, files
    await manager.send("/case 1")
    card = await manager.expect("№1", "Этап:")
    assert "📎 Файлы (1)" in manager.buttons(card), manager.buttons(card)
    await shop.advance(days=1, hours=1)  # a day on, the photo no decision took is deleted with the strays
    assert await photos_kept(shop) == []


async def test_a_return_confirmed_two_days_after_its_photo_still_brings_the_photo(fulfillment: Harness) -> None:
    """The director photographs his remarks and leaves the summary unconfirmed over the weekend: the photo, no
    case's file while he thinks, is not deleted with the files sent for no question — it comes to the manager."""
    shop = fulfillment
    manager, director = shop.people["Алина"], shop.people["Генеральный Олег"]
    await an_offer_for_the_director(manager)
    summary = await the_director_begins_to_return_it_with_a_photo(director)
    await shop.advance(days=2)
    assert await photos_kept(shop) == [None]
    await director.press("Подтвердить", summary)
    task = await manager.expect("Исправьте КП по замечанию директора")
    await shop.settle()
    photos = [m for m in await manager.bot_messages() if m.get("photos")]
    assert len(photos) == 1 and photos[0]["message_id"] < task["message_id"], [m["message_id"] for m in photos]
    assert await photos_kept(shop) == [1]


async def test_a_photo_sent_and_then_replaced_by_words_is_no_file_of_the_case(fulfillment: Harness) -> None:
    """The photo first, then «Назад» and the remark typed instead: the return goes with the words, and the photo
    that is not its remark is no file of the case; the one he then confirms with is."""
    shop = fulfillment
    manager, director = shop.people["Алина"], shop.people["Генеральный Олег"]
    await an_offer_for_the_director(manager)
    summary = await the_director_begins_to_return_it_with_a_photo(director)
    await director.press("Назад", summary)
    await director.expect("Что исправить?")
    await director.send("Снизьте цену хранения")
    await director.press("Подтвердить", await director.expect("Проверьте"))
    await manager.expect("Директор вернул КП на доработку: Снизьте цену хранения")
    assert await photos_kept(shop) == [None]


async def test_the_photo_the_offer_was_returned_with_is_among_the_files_of_the_case(fulfillment: Harness) -> None:
    """The manager opens the case: «📎 Файлы (2)» — the offer and the director's photo, which comes named by his
    decision, not by a key of the bot."""
    shop = fulfillment
    manager, director = shop.people["Алина"], shop.people["Генеральный Олег"]
    await an_offer_for_the_director(manager)
    await director_returns_with_a_photo(director, "Цена хранения завышена")
    await manager.expect("Исправьте КП по замечанию директора")
    await shop.settle()
    before = len(await manager.bot_messages())

    await manager.send("/case 1")
    card = await manager.expect("№1", "Этап:")
    assert "📎 Файлы (2)" in manager.buttons(card), manager.buttons(card)
    said = await manager.press("Файлы", card)
    await shop.settle()
    sent = (await manager.bot_messages())[before:]
    photos = [m for m in sent if m.get("photos")]
    assert len(photos) == 1, [(m.get("text") or "")[:80] for m in sent]
    caption = photos[0]["text"] or ""
    assert "Что исправить? · Возвращено с замечаниями" in caption, caption
    assert "comment" not in caption and "approve_offer" not in caption, caption
    assert any((m.get("document") or {}).get("file_name") == "offer_v1.pdf" for m in sent), sent
    assert said is None or "comment" not in said, said

    # Its task card counts it too: the same two files.
    task = await manager.card("Исправьте КП по замечанию директора", button="Заполнить")
    assert "📎 Файлы (2)" in manager.buttons(task), manager.buttons(task)


async def test_an_offer_approved_the_second_time_comes_to_the_manager_as_corrected(fulfillment: Harness) -> None:
    """Returned, corrected (a new file), approved: the news that it is approved brings the corrected offer, the one
    the director approved — not the one he returned."""
    shop = fulfillment
    manager, director = shop.people["Алина"], shop.people["Генеральный Олег"]
    await an_offer_for_the_director(manager)
    await director_returns_with_a_photo(director, "Цена хранения завышена")
    await manager.press("Заполнить", await manager.card("Исправьте КП по замечанию директора", button="Заполнить"))
    await manager.expect("Исправленный файл КП")
    await manager.document(b"%PDF offer v2", "offer_v2.pdf")
    await manager.expect("Что исправлено в КП")
    await manager.send("Пересчитали хранение")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    card = await director.card("КП прислано повторно", button="Согласовать")
    await director.press("Согласовать", card)

    notice = await manager.expect("КП согласовано директором — отправьте его клиенту")
    await shop.settle()
    messages = await manager.bot_messages()
    before_its_card(messages, notice, "offer_v2.pdf")
    assert not any((m.get("document") or {}).get("file_name") == "offer_v1.pdf" for m in messages), [
        (m.get("document") or {}).get("file_name") for m in messages
    ]
