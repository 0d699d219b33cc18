"""Seed 4: everyone in a case talks about it in its thread. A dealer's manager comments on his request from its
card; the representative office handling it is told (and replies, which stays in the thread), another dealer is
not. An internal note of the representative office never reaches the dealer: not on the card, not as a message,
not in an export's thread."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from openpyxl import load_workbook
from sqlalchemy import select

from admin.panel import AdminPanel
from db.models import AuditEntry, Comment, StoredFile, User
from services import comments, people
from services.access import Viewer
from tests.chat import picture
from tests.conftest import Harness, library_with
from tests.test_organisations_e2e import dealer_person, organisation, raise_request, texts


async def viewer(harness: Harness, name: str) -> Viewer:
    async with harness.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.name == name))).scalar_one()
        return Viewer.of(user, await people.roles_of(session, user.id))


async def test_a_dealers_comment_reaches_the_office_handling_it_and_internal_notes_stay_inside(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "dealer_request.yaml"))
    await organisation(harness, "ООО Сад region=Москва")
    await organisation(harness, "ООО Инструмент region=Казань")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    boris = await dealer_person(harness, "Борис", "ООО Инструмент", "Менеджер дилера")
    rita = await harness.person("Рита", "representative")
    mowers = await raise_request(anna, "Газонокосилки Сада")
    await raise_request(boris, "Пилы Инструмента")
    await harness.settle()

    # Anna asks about her request from its card; a dealer's card has no button for internal notes.
    await anna.send(f"/case {mowers}")
    card = await anna.card("Газонокосилки Сада", button="Комментарий")
    assert not any("Внутренняя заметка" in b for b in anna.buttons(card))
    refusal = await anna.press_data(card["message_id"], f"c:note:{mowers}:", unchecked=True)
    assert refusal is not None and "только для представительства" in refusal, "a made-up button writes no note"
    await anna.press("💬 Комментарий", card)
    await anna.expect("Напишите комментарий")
    await anna.send("Когда будет решение по косилкам?")
    await anna.expect("Комментарий отправлен")

    # The representative office, whose review the request waits for, is told, with a button to reply.
    told = await rita.card("Комментарий по делу", "Когда будет решение по косилкам?", button="Ответить")
    assert "Анна" in told["text"]
    await rita.press("Ответить", told)
    await rita.expect("Напишите комментарий")
    await rita.send("Завтра до обеда")
    answer = await anna.card("Завтра до обеда", button="Ответить")
    assert "ответ: Анна" in answer["text"], "the reply says what it answers"

    # Rita keeps an internal note on the case, with a photo of the invoice.
    await rita.send(f"/case {mowers}")
    await rita.press("🔒 Внутренняя заметка", await rita.card("Газонокосилки Сада", button="Внутренняя заметка"))
    await rita.expect("дилер её не увидит")
    await rita.send_file("photo", picture(), "invoice.png", caption="Дилер должен за прошлую партию")
    await rita.expect("Внутренняя заметка добавлена")
    await harness.settle()

    # Anna's card shows the thread without the note; Rita's shows it.
    await anna.send(f"/case {mowers}")
    anna_card = await anna.expect("Газонокосилки Сада", "Комментарии (2)")
    assert "Когда будет решение" in anna_card["text"] and "Завтра до обеда" in anna_card["text"]
    await rita.send(f"/case {mowers}")
    rita_card = await rita.expect("Газонокосилки Сада", "Комментарии (3)")
    assert "Дилер должен" in rita_card["text"]
    await harness.settle()

    # The other dealer heard nothing of it, and the note reached no one outside, by any message or file.
    assert "косилкам" not in await texts(boris) and "Завтра до обеда" not in await texts(boris)
    assert "должен" not in await texts(anna) and "должен" not in await texts(boris)
    assert not [m for m in await anna.bot_messages() if m.get("photo") and "invoice" in str(m)]
    async with harness.core.sessionmaker() as session:
        note = (await session.execute(select(Comment).where(Comment.internal.is_(True)))).scalar_one()
        invoice = await session.get(StoredFile, note.file_id)
        assert invoice is not None and invoice.tg_file_id, "the note's photo is kept with Telegram's id"
        audited = (await session.execute(select(AuditEntry.data).where(AuditEntry.action == "case.commented"))).all()
        assert len(audited) == 3
    photo_ids = {m["photo"][-1]["file_unique_id"] for m in await anna.bot_messages() if m.get("photo")}
    assert invoice.tg_unique_id not in photo_ids

    # The export's thread: the dealer's reading of it has no note; the admin's whole export has it.
    anna_viewer, rita_viewer = await viewer(harness, "Анна"), await viewer(harness, "Рита")
    async with harness.core.sessionmaker() as session:
        for_anna = await comments.threads(session, anna_viewer, [mowers])
        for_rita = await comments.threads(session, rita_viewer, [mowers])
    assert [e.comment.text for e in for_anna[mowers]] == ["Когда будет решение по косилкам?", "Завтра до обеда"]
    assert len(for_rita[mowers]) == 3
    await harness.admin.send("/export dealer_request")
    exported = (await harness.admin.expect("Обращение дилера: 2"))["document"]
    book = load_workbook(io.BytesIO(await harness.admin.download(exported["url"])))
    sheet_text = "\n".join(str(c.value) for row in book.active.iter_rows() for c in row if c.value)  # type: ignore[union-attr]
    assert "Комментарии" in sheet_text and "Завтра до обеда" in sheet_text and "🔒 Рита" in sheet_text

    # The panel's case page shows the whole thread (the panel is the admins').
    runner = await AdminPanel(harness.core, "comments-panel-token").serve("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/cases/{mowers}?token=comments-panel-token") as response:
                page = await response.text()
        thread = page[page.index('id="comments"') :]
        assert "Когда будет решение" in thread and "Дилер должен" in thread and "написал(а) комментарий" in page
    finally:
        await runner.cleanup()
