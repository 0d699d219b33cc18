"""Issue 12, seed 1 from each person's side: the evidence travels as albums, a case can be muted, long texts
are split rather than cut, and a failed e-mail is told to the person who caused it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.models import Outbox
from tests.chat import Person
from tests.conftest import Harness, library_with
from tests.test_admin_panel import Panel, png
from tests.test_admin_panel import panel as panel  # the fixture: the web panel over the same app
from tests.test_defect_return_e2e import confirm_defect_and_ship
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop


async def register_with_photos(manager: Person, photos: int, *, description: str = "Отстают на 30 секунд") -> list[str]:
    """Seed 1's request with several photos of the defect, as a shop manager takes them on a phone. Returns the
    summary she confirmed, as the messages it came in."""
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    for question, answer in (
        ("Количество", "1"),
        ("Сумма закупки", "125 000"),
        ("Марка", "Longines"),
        ("Входящий номер", "ВХ-42"),
        ("ФИО сотрудника", "Иванова Марина"),
        ("Дата поступления", "18.12.2026"),
        ("Часы №1: Модель", "L2.793.4"),
        ("Серийный номер", "SN-123456"),
        ("Описание дефекта", description),
    ):
        await manager.expect(question)
        await manager.send(answer)
    await manager.expect("Фото дефекта")
    for n in range(photos):
        await manager.send_file("photo", png(40 + n, 30), f"defect{n}.png")
    await manager.press("Готово", await manager.expect("Фото дефекта", str(photos)))
    summary = await manager.expect("Проверьте")
    confirm = await manager.card(button="Подтвердить")  # a long summary's buttons are under its last piece
    shown = pieces_from(await manager.bot_messages(), summary, confirm)
    await manager.press("Подтвердить", confirm)
    await manager.expect("зарегистрировано")
    return shown


def after(messages: list[dict[str, Any]], message_id: int) -> list[dict[str, Any]]:
    return [m for m in messages if m["message_id"] > message_id]


async def fault(shop: Harness, **spec: Any) -> None:
    async with shop.http.post(f"{shop.base}/sandbox/api/faults", json=spec) as response:
        assert response.status == 200, await response.text()


async def test_the_photos_to_judge_come_as_one_album_once_even_when_the_answer_is_lost(shop: Harness) -> None:
    manager, service, head = shop.people["Марина"], shop.people["Сергей"], shop.people["Кладовщик Иван"]
    await register_with_photos(manager, 3)
    await shop.settle()
    # Telegram carries the album out but its answer never reaches the bot: it must not be sent a second time.
    # (Two: flood control may refuse the first try before the fault has its say.)
    await fault(shop, kind="drop_after", method="sendMediaGroup", count=2)
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))

    card = await head.expect("Подтвердите наличие дефекта")
    await shop.settle()
    async with shop.http.delete(f"{shop.base}/sandbox/api/faults"):
        pass
    shown = [m for m in await head.bot_messages() if m.get("photos")]
    assert len(shown) == 3, [(m["text"], m.get("media_group_id")) for m in shown]  # three photos, once each
    assert all(m["message_id"] < card["message_id"] for m in shown)  # the card with its buttons under them
    assert len({m.get("media_group_id") for m in shown}) == 1 and shown[0].get("media_group_id")
    # One watch: its photos are «Фото дефекта · Часы», no «№1».
    assert all("Фото дефекта · Часы ·" in (m["text"] or "") and "Часы №1" not in (m["text"] or "") for m in shown)
    async with shop.core.sessionmaker() as session:
        to_head = (Outbox.method == "sendMediaGroup") & (Outbox.chat_id == head.id)
        albums = (await session.execute(select(Outbox).where(to_head))).scalars().all()
    # Its fate unknown to the bot: listed for the admins, never resent.
    assert [a.status for a in albums] == ["uncertain"], [(a.attempts, a.error) for a in albums]

    # The head judges with the album in view and adds his own photo; he can have all the case's files again.
    await head.press("Брак подтверждён", card)
    await head.send_file("photo", png(20, 20), "inspection.png")
    await head.press("Готово", await head.expect("Фото с осмотра", "1"))
    await head.press("Подтвердить", await head.expect("Проверьте"))
    await confirm_defect_and_ship(shop, first_round=False)
    await shop.settle()

    await service.send("/case 1")
    case_card = await service.expect("📁 №1")
    last = (await service.bot_messages())[-1]["message_id"]
    notice = await service.press("Файлы", case_card)
    assert notice and "6" in notice, notice  # 3 + 1 photos, the accompanying document, the signed act
    await shop.settle()
    files = after(await service.bot_messages(), last)
    photos = [m for m in files if m.get("photos")]
    documents = [m for m in files if m.get("document")]
    assert len(photos) == 4 and len({m.get("media_group_id") for m in photos}) == 1
    assert sum("Фото с осмотра" in (m["text"] or "") for m in photos) == 1
    names = sorted(m["document"]["file_name"] for m in documents)
    assert len(documents) == 2 and "act.pdf" in names and any(n.endswith(".docx") for n in names), names
    assert len({m.get("media_group_id") for m in documents}) == 1 and documents[0].get("media_group_id")


async def test_a_muted_case_sends_its_initiator_no_stage_lines_until_unmuted(shop: Harness) -> None:
    manager, service, head = shop.people["Марина"], shop.people["Сергей"], shop.people["Кладовщик Иван"]
    await register_with_photos(manager, 1)
    await manager.send("/case 1")
    card = await manager.expect("📁 №1")
    notice = await manager.press("Не присылать новости", card)
    assert notice and "ваши задачи по-прежнему придут" in notice, notice
    card = await manager.expect("📁 №1")
    assert any("Снова получать" in b for b in manager.buttons(card)), manager.buttons(card)

    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    judge = await head.expect("Подтвердите наличие дефекта")
    await shop.settle()
    assert not [m for m in after(await manager.bot_messages(), card["message_id"]) if "📍" in (m["text"] or "")]

    await manager.press("Снова получать", card)
    card = await manager.expect("📁 №1")
    assert any("Не присылать" in b for b in manager.buttons(card))
    await head.press("Брак подтверждён", judge)
    await head.send_file("photo", png(20, 20), "inspection.png")
    await head.press("Готово", await head.expect("Фото с осмотра", "1"))
    await head.press("Подтвердить", await head.expect("Проверьте"))
    line = await manager.expect("📍")
    assert "№1" in line["text"] and "Ждёт: Сергей (Менеджер сервисного центра)" in line["text"], line["text"]


async def test_a_photo_received_is_kept_when_the_question_after_it_is_done(shop: Harness) -> None:
    manager, service, head = shop.people["Марина"], shop.people["Сергей"], shop.people["Кладовщик Иван"]
    await register_with_photos(manager, 1)
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    await head.press("Брак подтверждён", await head.expect("Подтвердите наличие дефекта"))
    question = await head.expect("Фото с осмотра")
    await head.send_file("photo", png(20, 20), "inspection.png")
    received = await head.expect("Получено: 1")
    # The question's buttons went to the message that counts what came; it offers «Готово» and no «Пропустить» (which
    # read as throwing the photo away): pressed, the photo he sent is kept.
    assert question["message_id"] != received["message_id"]
    assert not any("Пропустить" in b for b in head.buttons(received)), head.buttons(received)
    await head.press("Готово", received)
    summary = await head.expect("Проверьте")
    assert "Фото с осмотра: —" not in summary["text"] and "Фото с осмотра" in summary["text"], summary["text"]
    await head.press("Подтвердить", summary)
    await manager.expect("📍", "Ждёт: Сергей (Менеджер сервисного центра)")


def pieces_from(messages: list[dict[str, Any]], first: dict[str, Any], last: dict[str, Any]) -> list[str]:
    return [m["text"] or "" for m in messages if first["message_id"] <= m["message_id"] <= last["message_id"]]


def whole(parts: list[str], *fragments: str) -> None:
    """A text that came in several messages: every part within Telegram's limit, none cut with «…», and
    together they hold everything."""
    assert len(parts) >= 2, [p[:80] for p in parts]
    assert all(len(p) <= 4096 and not p.rstrip().endswith("…") for p in parts)
    joined = "\n".join(parts)
    assert all(f in joined for f in fragments), [f for f in fragments if f not in joined]


async def test_long_texts_come_in_pieces_cut_between_lines_never_clipped(shop: Harness) -> None:
    manager, director, head = shop.people["Марина"], shop.people["Директор Пётр"], shop.people["Кладовщик Иван"]
    service = shop.people["Сергей"]
    # A defect told at length: the summary, the notices, the cards all outgrow one message.
    description = "Отстают на 30 секунд в сутки " * 136 + "КОНЕЦ ОПИСАНИЯ"
    summary = await register_with_photos(manager, 1, description=description)
    whole(summary, "Проверьте", "Longines", "SN-123456", "КОНЕЦ ОПИСАНИЯ", "Фото дефекта")

    note = await director.expect("Новый возврат брака")
    end = await director.expect("Оформил(а)")
    whole(pieces_from(await director.bot_messages(), note, end), "КОНЕЦ ОПИСАНИЯ", "Иванова Марина")

    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    title = await head.expect("Подтвердите наличие дефекта")
    card = await head.card(button="Брак подтверждён")
    whole(pieces_from(await head.bot_messages(), title, card), "КОНЕЦ ОПИСАНИЯ", "Срок:")

    await head.send("/case 1")
    top = await head.expect("📁 №1")
    case_card = await head.card("Фото дефекта", button="Файлы")
    whole(pieces_from(await head.bot_messages(), top, case_card), "Этап:", "КОНЕЦ ОПИСАНИЯ", "Фото дефекта: 1 фото")


async def test_a_failed_e_mail_is_told_at_once_to_whoever_sent_it_with_what_to_send_by_hand(
    shop: Harness, panel: Panel
) -> None:
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    await register_with_photos(manager, 1)
    await confirm_defect_and_ship(shop)  # his last step sends the shipment data to the supplier by e-mail

    # This shop has no mail server configured: the e-mail fails, and he is the one who must send it himself.
    told = await service.expect("Почта у бота не настроена")
    text = told["text"]
    # What it means for him, not the configuration's words: those are the admins' business.
    assert "письмо на service@alpha-time.example (дело №1) не ушло — отправьте его сами" in text, text
    assert "SMTP" not in text, text
    assert "Кому: service@alpha-time.example" in text and "Тема: Возврат брака Longines" in text, text
    assert "накладная СДЭК 1234567" in text and "Адрес доставки: Москва, Петровка, 10" in text, text
    assert "Приложите к письму файлы (2)" in text and any("Дело" in b for b in service.buttons(told)), text
    await shop.settle()
    assert not [m for m in await manager.bot_messages() if "не ушло" in (m["text"] or "")]

    async with panel.client() as http:
        await panel.login(http)
        async with http.get(f"{panel.base}/outbox") as response:
            page = await response.text()
    row = page[page.index("service@alpha-time.example") - 400 : page.index("service@alpha-time.example") + 400]
    assert 'href="cases/1"' in row and "Эл. почта" in row and "почта не настроена (SMTP_HOST, SMTP_FROM)" in row, row


async def leave_office(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> tuple[Harness, Person, Person, Person]:
    """The leave-request office: Ольга (employee) asks for 14 days; the head and HR are there to act on it.
    Returns the harness and the three people, with Ольга's request just confirmed."""
    harness = await harness_factory(library_dir=library_with(tmp_path, "leave_request.yaml"))
    olga = await harness.person("Ольга", "employee")
    head = await harness.person("Руководитель Игорь", "department_head")
    hr = await harness.person("Кадровик Нина", "hr")
    await olga.send("▶️ Начать процесс")
    await olga.press("Заявление на отпуск", await olga.expect("Какой процесс"))
    await olga.expect("Сколько дней")
    await olga.send("14")
    await olga.press("Подтвердить", await olga.expect("Проверьте"))
    return harness, olga, head, hr


async def test_muted_her_own_task_still_comes_only_the_stage_lines_stop(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness, olga, head, hr = await leave_office(harness_factory, tmp_path)
    await olga.expect("зарегистрировано")

    await head.press("Готово", await head.expect("Согласуйте отпуск"))
    line = await olga.expect("📍")  # followed: she hears the case moved on
    assert "Оформление в отделе кадров" in line["text"], line["text"]
    await olga.press("Не присылать новости", line)
    await hr.press("Готово", await hr.expect("Оформите приказ об отпуске"))  # on to the timesheet: no line
    await hr.press("Готово", await hr.expect("Отметьте отпуск в табеле"))
    card = await olga.expect("Подпишите приказ об отпуске")  # hers to do: muting does not hide it
    await harness.settle()
    assert not [
        m for m in await olga.bot_messages() if "📍" in (m["text"] or "") and m["message_id"] > line["message_id"]
    ]
    await olga.press("Готово", card)
    await olga.expect("Дело закрыто")


async def test_the_head_follows_a_leave_he_approved_and_stops_when_he_has_heard_enough(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Anyone who may see a case can follow it from its card: one line each time it moves on, until they stop."""
    harness, olga, head, hr = await leave_office(harness_factory, tmp_path)
    registered = await olga.expect("зарегистрировано")
    number = re.search(r"№(\d+)", registered["text"])
    assert number is not None, registered["text"]

    await head.press("Готово", await head.expect("Согласуйте отпуск"))
    await head.send(f"/case {number.group(1)}")
    card = await head.card("Отпуск 14 дн.", button="Следить за делом")  # the case's card, not «✅ Готово. …» before it
    await head.press("Следить за делом", card)
    await head.card("Отпуск 14 дн.", button="Не следить за делом")

    await hr.press("Готово", await hr.expect("Оформите приказ об отпуске"))
    line = await head.expect("📍")  # he follows it now: the case's next stage, in one line
    assert "Отметка в табеле" in line["text"], line["text"]
    await head.press("Не присылать новости", line)  # the line's own button stops following
    await head.card("Отпуск 14 дн.", button="Следить за делом")

    await hr.press("Готово", await hr.expect("Отметьте отпуск в табеле"))
    await olga.expect("Подпишите приказ об отпуске")
    await harness.settle()
    assert not [
        m for m in await head.bot_messages() if "📍" in (m["text"] or "") and m["message_id"] > line["message_id"]
    ]
