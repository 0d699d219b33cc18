"""Exactly once: every update is stored before it is acknowledged and handled from the inbox once.

- Telegram posts the same update twice (a slow reply, a worker that died after commit): one effect.
- The bot dies between receiving an update and handling it: after the restart it is handled, once.
- A step fails at run time: nothing half-done, the person is told, the admins get the error with a
  «Retry» button, the case is marked as needing attention; after the fix the retry completes it.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import func, select, update

from app.application import App
from app.settings import LIBRARY
from db.models import Case, InboxUpdate, Outbox
from flows.clock import FrozenClock
from tests.chat import create_person
from tests.conftest import ADMIN_ID, Harness
from tests.test_outbox import sender_at_rest, sender_statements
from tests.test_webhook_e2e import webhook_bot


async def _inbox_rows(app: App) -> list[InboxUpdate]:
    assert app.core is not None
    async with app.core.sessionmaker() as session:
        return list((await session.execute(select(InboxUpdate).order_by(InboxUpdate.update_id))).scalars())


async def test_the_same_update_posted_twice_has_one_effect(tmp_path: Path, database_url: str, clock: FrozenClock):
    async with webhook_bot(tmp_path, database_url, clock) as (base, app, port), aiohttp.ClientSession() as http:
        admin = await create_person(http, base, ADMIN_ID, "Админ")
        await admin.send("/start")
        await admin.expect("администратор")
        # Telegram redelivers an update it is not sure we got: the very same update_id, twice.
        update = {
            "update_id": 900001,
            "message": {
                "message_id": 999, "date": 1798182000, "text": "/invite shop_manager",
                "chat": {"id": ADMIN_ID, "type": "private", "first_name": "Админ"},
                "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Админ"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
            },
        }
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
        for _ in range(2):
            async with http.post(f"http://127.0.0.1:{port}/telegram", json=update, headers=headers) as response:
                assert response.status == 200
        await admin.expect("start=")
        # Whatever else happens, the second delivery changes nothing: one invite, one stored update.
        await admin.send("/users")
        await admin.expect("Админ")
        invites = [m for m in await admin.bot_messages() if "start=" in (m.get("text") or "")]
        assert len(invites) == 1
        rows = [r for r in await _inbox_rows(app) if r.update_id == 900001]
        assert len(rows) == 1 and rows[0].status == "done"


async def test_a_kill_between_receiving_and_handling_loses_nothing(harness: Harness) -> None:
    """Polling: the offset moves past an update only once it is stored, so a crash right after loses nothing."""
    admin = harness.admin
    await harness.app.stop()
    # A bot that receives and stores but dies before handling anything.
    harness.app = App(harness.settings, harness.clock, scheduler_interval=3600, handle_updates=False)
    await harness.app.start()
    await admin.send("/invite accountant")
    for _ in range(200):
        rows = [r for r in await _inbox_rows(harness.app) if r.status == "pending"]
        if rows:
            break
        await admin.find("start=")  # a short pause that also proves nothing was answered yet
    assert rows, "the update was never stored"
    assert await admin.find("start=") is None
    await harness.app.stop()  # the crash: stored, acknowledged to Telegram, not handled
    assert harness.sandbox.state.updates == [] or all(
        u["update_id"] < rows[0].update_id for u in harness.sandbox.state.updates
    ), "Telegram still holds the update: the offset moved before it was stored"
    await harness.start_app()
    await admin.expect("start=")
    await harness.settle()
    invites = [m for m in await admin.bot_messages() if "start=" in (m.get("text") or "")]
    assert len(invites) == 1
    assert {r.status for r in await _inbox_rows(harness.app)} == {"done"}


async def test_a_failing_step_needs_attention_and_a_retry_completes_it(
    tmp_path: Path, database_url: str, clock: FrozenClock, harness_factory
) -> None:
    library = tmp_path / "library"
    shutil.copytree(LIBRARY, library)
    shop: Harness = await harness_factory(library_dir=library)
    from tests.test_defect_return_e2e import register_defect

    manager = await shop.person("Марина", "shop_manager")
    service = await shop.person("Сергей", "service_manager")
    head = await shop.person("Кладовщик Иван", "warehouse_head")
    await shop.person("Директор Пётр", "director")
    await register_defect(manager, supplier="Альфа")
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    await head.press("Брак подтверждён", await head.expect("Подтвердите наличие дефекта"))
    await head.photo()
    await head.press("Готово", await head.expect("Фото с осмотра", "1"))
    await head.press("Подтвердить", await head.expect("Проверьте"))
    await service.press("Готово", await service.expect("Уведомите поставщика о браке"))
    await service.press("В сервисный центр", await service.expect("Куда поставщик просит отправить часы"))
    await service.expect("Адрес отправки")
    await service.send("Москва, Петровка, 10")
    template = library / "templates" / "supplier_alpha.docx"
    kept = template.read_bytes()
    template.unlink()  # the admin's mistake: the supplier's template is gone when the letter is due
    await service.press("Подтвердить", await service.expect("Проверьте"))

    told = await service.expect("не удалось выполнить")
    assert "администраторы" in told["text"]
    alert = await shop.admin.expect("нужно вмешательство")
    assert "supplier_alpha.docx" in alert["text"] and "Повторить" in " ".join(shop.admin.buttons(alert))
    async with shop.core.sessionmaker() as session:
        case = (await session.execute(select(Case).order_by(Case.id.desc()))).scalars().first()
        assert case is not None and case.attention and "supplier_alpha.docx" in case.attention
        assert case.stage != "documents"  # nothing half-done: the step's transaction was rolled back
        failed = (
            await session.execute(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "failed"))
        ).scalar_one()
        assert failed == 1
    assert [m for m in await shop.admin.bot_messages() if "нужно вмешательство" in (m.get("text") or "")] == [alert]

    template.write_bytes(kept)  # fixed
    # The admin finds the case by its number: its card shows the failure and retries it (as the alert's button would).
    await shop.admin.send(f"/find {case.id}")
    card = await shop.admin.expect(f"🛠 №{case.id}", "Шаг не выполнился", "supplier_alpha.docx")
    await shop.admin.press("Повторить шаг", card)
    card = await service.expect("Проверьте и подпишите сопроводительный документ")
    assert "Сопроводительное" in card["text"] or card
    async with shop.core.sessionmaker() as session:
        case = await session.get(Case, case.id)
        assert case is not None and case.attention is None and case.stage == "documents"


async def test_handled_updates_are_pruned_after_a_while_and_waiting_ones_never(harness: Harness) -> None:
    from services import inbox

    await harness.admin.send("/users")
    await harness.admin.expect("Админ")
    await harness.settle()
    async with harness.core.sessionmaker() as session, session.begin():
        await inbox.store(
            session, [inbox.Incoming(update_id=987654, person_id=42, payload={"update_id": 987654})],
            harness.clock.now(), sqlite=harness.core.sqlite,
        )  # fmt: skip
        # Waiting for its retry (a day off): the bot's timed pass must not take it while the test looks.
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == 987654)
            .values(not_before=datetime.now(UTC) + timedelta(days=1))
        )
        await inbox.prune(session, harness.clock.now() - timedelta(days=7))  # a week: nothing that old yet
    assert {r.status for r in await _inbox_rows(harness.app)} == {"done", "pending"}
    async with harness.core.sessionmaker() as session, session.begin():
        await inbox.prune(session, harness.clock.now() + timedelta(seconds=1))
    assert [(r.update_id, r.status) for r in await _inbox_rows(harness.app)] == [(987654, "pending")]


async def test_an_update_telegram_delivers_twice_is_answered_once(harness: Harness) -> None:
    """The sandbox's `duplicate` fault: getUpdates gives the next update twice, with the same update_id, as
    Telegram may. The copy must change nothing: above all it must not be taken for the answer to the next question."""
    manager = await harness.person("Марина", "shop_manager")
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    await manager.expect("Количество")
    async with harness.http.post(f"{harness.base}/sandbox/api/faults", json={"kind": "duplicate", "count": 1}) as r:
        assert r.status == 200
    answer = await manager.send("1")
    await manager.expect("Сумма закупки")
    await harness.settle()
    async with harness.http.get(f"{harness.base}/sandbox/api/faults") as response:
        assert await response.json() == [], "the update was not delivered twice"
    texts = [m.get("text") or "" for m in await manager.bot_messages()]
    assert sum("Сумма закупки" in t for t in texts) == 1 and not any("Марка" in t for t in texts)
    mine = {"chat": manager.id, "message_id": answer["message_id"]}
    rows = [
        r
        for r in await _inbox_rows(harness.app)
        if {"chat": r.payload.get("message", {}).get("chat", {}).get("id"),
            "message_id": r.payload.get("message", {}).get("message_id")} == mine
    ]  # fmt: skip
    assert len(rows) == 1 and rows[0].status == "done"


async def test_a_429_on_get_updates_is_waited_out_and_polling_goes_on(harness: Harness) -> None:
    """Telegram may answer getUpdates itself with 429 «retry after N» (the sandbox's `retry_after` fault): polling
    goes on after it (tgbot/receive.py waits the N seconds) and nothing the person sent meanwhile is lost."""
    fault = {"kind": "retry_after", "retry_after": 1, "method": "getUpdates", "count": 2}
    async with harness.http.post(f"{harness.base}/sandbox/api/faults", json=fault) as response:
        assert response.status == 200
    await harness.admin.send("/users")
    await harness.admin.expect("Админ")
    await harness.admin.send("/processes")
    await harness.admin.expect("Возврат бракованных часов")
    assert harness.sandbox.stats.errors[429] >= 2  # both 429s were given, and the bot went on polling after them


async def test_an_answer_reaches_the_person_without_the_sender_reading_its_queue(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """A person's message, handled: the statement that writes the answer also claims it for the sender, which only
    sends it — no passes' lock, no read of every waiting message (a pass per update was the largest cost of an
    update after its own transaction), not even a claim of its own after the commit."""
    harness = await harness_factory(outbox_poll_interval=5.0)  # no timed pass of the sender for 25 s
    person = await harness.person("Ольга", "shop_manager")
    await harness.settle()
    await sender_at_rest(harness.app.sender, person.id)
    seen, stop_listening = sender_statements(harness.core)
    try:
        await person.send("/help")
        await person.expect("/lang")
        await harness.settle()
    finally:
        stop_listening()
    assert seen == []
    async with harness.core.sessionmaker() as session:
        answer = (
            await session.execute(select(Outbox).where(Outbox.payload["text"].as_string().contains("/lang")))
        ).scalars().one()
    assert (answer.status, answer.attempts, answer.claimed_by) == ("sent", 1, harness.app.sender.key)


async def test_a_message_with_a_nul_character_is_taken_without_it_and_the_bot_goes_on_answering(
    harness: Harness,
) -> None:
    """A text pasted from another program carries a NUL character. PostgreSQL stores none: the update could not be
    stored, the offset never moved past it, and the bot answered nobody after it. It is taken without the NUL —
    the seed-1 manager's supplier question answered, her next answer too — and everyone else is answered."""
    manager = await harness.person("Марина", "shop_manager")
    director = await harness.person("Олег", "director")
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    await manager.expect("Количество")
    await manager.send("1\x00")
    await manager.expect("Сумма закупки")
    await director.send("/help")
    await director.expect("/case")
    rows = [r for r in await _inbox_rows(harness.app) if "message" in r.payload]
    assert rows and all("\x00" not in str(r.payload) for r in rows)
