"""The admin panel: sessions (login, expiry, logout, throttle, CSRF), the case list with step, deadline and
holder, search, the case page with labels instead of keys and readable history, files behind the session,
and delivery problems with case and recipient. Over real HTTP against the running app (aiohttp client)."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import func, select

from admin.cases import one_per_move
from admin.panel import AdminPanel
from db.models import AuditEntry, Outbox, StoredFile
from services import channels, companies
from services.panel_sessions import PanelSession, SessionPolicy
from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect

TOKEN = "panel-token-for-tests"


def png(width: int = 4, height: int = 3) -> bytes:
    """A real (decodable) PNG, so a browser's <img> gets a natural size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xd0\x30\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class WallClock:
    """The panel's wall clock, moved by the test to reach a session's idle timeout without sleeping."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment


@dataclass
class Panel:
    base: str
    clock: WallClock
    harness: Harness

    def client(self) -> aiohttp.ClientSession:
        # unsafe=True: aiohttp keeps no cookies for bare IP hosts otherwise (browsers do).
        return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def login(self, http: aiohttp.ClientSession) -> str:
        async with http.get(f"{self.base}/?token={TOKEN}") as response:
            assert response.status == 200
            assert "token" not in str(response.url)
            page = await response.text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        return csrf.group(1)


@pytest.fixture
async def panel(harness: Harness) -> AsyncIterator[Panel]:
    clock = WallClock()
    policy = SessionPolicy(idle=timedelta(hours=12), tries_before_wait=3, first_wait=timedelta(seconds=30))
    runner = await AdminPanel(harness.core, TOKEN, policy=policy, now=clock).serve("127.0.0.1", 0)
    port = runner.addresses[0][1]
    try:
        yield Panel(f"http://127.0.0.1:{port}/admin", clock, harness)
    finally:
        await runner.cleanup()


async def test_login_makes_a_server_side_session_and_the_token_never_becomes_the_cookie(panel: Panel) -> None:
    async with panel.client() as http:
        async with http.get(f"{panel.base}/") as response:
            assert response.status == 401  # the login page
            assert 'name="token"' in await response.text()
        async with http.get(f"{panel.base}/?token={TOKEN}", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/admin/"  # the token is dropped from the URL
            cookie = response.headers["Set-Cookie"]
            assert TOKEN not in cookie
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
            assert "Secure" not in cookie  # plain http here; see the proxy test below
        async with http.get(f"{panel.base}/people") as response:
            assert response.status == 200
        # The login form works as well, and goes back to where the admin was going.
    async with panel.client() as http:
        async with http.post(f"{panel.base}/login", data={"token": TOKEN, "next": "/admin/people"}) as response:
            assert response.status == 200 and str(response.url).endswith("/admin/people")
        # A redirect target outside the panel is not followed (no open redirect).
        async with http.post(
            f"{panel.base}/login", data={"token": TOKEN, "next": "https://evil.example/"}, allow_redirects=False
        ) as response:
            assert response.headers["Location"] == "/admin/"
    async with panel.harness.core.sessionmaker() as session:
        stored = list((await session.execute(select(PanelSession))).scalars())
    assert stored and all(TOKEN not in str(s.data) and len(s.id_hash) == 64 for s in stored)


async def test_secure_cookie_behind_a_proxy_that_says_https(harness: Harness) -> None:
    runner = await AdminPanel(harness.core, TOKEN, behind_proxy=True).serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(
                f"{base}/?token={TOKEN}", headers={"X-Forwarded-Proto": "https"}, allow_redirects=False
            ) as response:
                assert response.status == 303
                assert "Secure" in response.headers["Set-Cookie"]
    finally:
        await runner.cleanup()


async def test_sessions_expire_when_idle_and_end_at_logout(panel: Panel) -> None:
    async with panel.client() as http:
        csrf = await panel.login(http)
        panel.clock.moment += timedelta(hours=11)
        async with http.get(f"{panel.base}/people") as response:
            assert response.status == 200  # still in use: the idle time starts again
        panel.clock.moment += timedelta(hours=11)
        async with http.get(f"{panel.base}/people") as response:
            assert response.status == 200
        panel.clock.moment += timedelta(hours=12, minutes=1)
        async with http.get(f"{panel.base}/people") as response:
            assert response.status == 401  # idle too long

        csrf = await panel.login(http)
        cookie = next(c for c in http.cookie_jar if c.key == "konveyer_panel").value
        async with http.post(f"{panel.base}/logout", data={"csrf": csrf}) as response:
            assert response.status == 200 and str(response.url).endswith("/admin/login")
        async with http.get(f"{panel.base}/people") as response:
            assert response.status == 401
    # The old cookie is dead on the server too, not just forgotten by this browser.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as thief:
        thief.cookie_jar.update_cookies({"konveyer_panel": cookie})
        async with thief.get(f"{panel.base}/people") as response:
            assert response.status == 401


async def test_wrong_tokens_are_throttled_per_address(panel: Panel) -> None:
    async with panel.client() as http:
        for _ in range(2):
            async with http.get(f"{panel.base}/?token=wrong-token-guess") as response:
                assert response.status == 401
                assert "Неверный токен" in await response.text()
        async with http.post(f"{panel.base}/login", data={"token": "another-guess"}) as response:
            assert response.status == 429  # the third wrong token earns a wait
            assert response.headers["Retry-After"] == "30"
            assert "Повторите через 30" in await response.text()
        # While waiting, even the right token is not tried: guessing gains nothing.
        async with http.get(f"{panel.base}/?token={TOKEN}") as response:
            assert response.status == 429
        panel.clock.moment += timedelta(seconds=31)
        async with http.get(f"{panel.base}/?token=wrong-again") as response:
            assert response.status == 429
            assert response.headers["Retry-After"] == "60"  # the wait doubles
        panel.clock.moment += timedelta(seconds=61)
        async with http.get(f"{panel.base}/?token={TOKEN}") as response:
            assert response.status == 200  # and the right token works once the wait is over


async def test_a_post_needs_the_sessions_csrf_token(panel: Panel) -> None:
    async with panel.client() as http:
        csrf = await panel.login(http)
        async with http.post(f"{panel.base}/logout", data={"csrf": "forged"}) as response:
            assert response.status == 403
        async with http.post(f"{panel.base}/logout", data={}) as response:
            assert response.status == 403
        async with http.get(f"{panel.base}/people") as response:
            assert response.status == 200  # the forged logouts did nothing
        async with http.post(f"{panel.base}/logout", headers={"X-CSRF-Token": csrf}) as response:
            assert response.status == 200
        async with http.get(f"{panel.base}/people") as response:
            assert response.status == 401


async def test_case_list_page_files_and_delivery_speak_in_labels(panel: Panel) -> None:
    harness = panel.harness
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Сергей", "service_manager")
    await register_defect(manager)
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        photo = (await session.execute(select(StoredFile).where(StoredFile.kind == "photo"))).scalars().first()
        failed = (await session.execute(select(func.count()).select_from(Outbox))).scalar_one()
    assert photo is not None and failed

    async with panel.client() as http:
        async with http.get(f"{panel.base}/files/{photo.id}") as response:
            assert response.status == 401  # files only inside a session
        await panel.login(http)
        async with http.get(f"{panel.base}/") as response:
            page = await response.text()
        row = page[page.index('data-case="1"') :]
        row = row[: row.index("</tr>")]
        assert "Longines" in row and "Брак зарегистрирован" in row  # the current step by its title
        assert "Сергей" in row  # the holder: the one service manager the task went to
        assert re.search(r'class="deadline"><span >\d\d\.\d\d\.\d{4} \d\d:\d\d', row)
        for query, found in (("SN-123456", True), ("longines", True), ("Альфа", True), ("Breguet", False)):
            async with http.get(f"{panel.base}/", params={"q": query}) as response:
                assert ('data-case="1"' in await response.text()) is found, query
        async with http.get(f"{panel.base}/", params={"status": "done"}) as response:
            assert 'data-case="1"' not in await response.text()

        async with http.get(f"{panel.base}/cases/1") as response:
            page = await response.text()
        assert f'<img src="files/{photo.id}"' in page
        assert "Фото 1" in page and photo.file_name not in page  # not Telegram's photo_AQAD….jpg
        assert re.search(r'class="muted">\d\d\.\d\d \d\d:\d\d</span> Марина: дело начато', page)  # «21.12 10:00»
        assert "этап «Регистрация брака»" in page or "этап «" in page
        for raw in ("case.started", "stage.entered", "{'", "service_manager", ">active<", ">open<"):
            assert raw not in page, raw
        async with http.get(f"{panel.base}/files/{photo.id}") as response:
            assert response.status == 200
            assert response.headers["Content-Disposition"].startswith("inline")
            assert "sandbox" in response.headers["Content-Security-Policy"]
        async with http.get(f"{panel.base}/people") as response:
            page = await response.text()
        assert "Менеджер магазина" in page
        row = page[page.index(f'data-person="{photo.uploaded_by}"'):].split("</tr>")[0]
        assert 'class="organisation none">—' in row  # Марина: no dealer (hidden on a phone)


async def test_delivery_problems_show_case_recipient_and_channel(panel: Panel) -> None:
    harness = panel.harness
    manager = await harness.person("Марина", "shop_manager")
    await register_defect(manager)
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        user_row = (await session.execute(select(Outbox).where(Outbox.chat_id == manager.id))).scalars().first()
        assert user_row is not None
        user_row.status, user_row.error = "failed", "Forbidden: bot was blocked by the user"
        session.add(
            Outbox(
                channel="email",
                chat_id=0,
                method="email",
                payload={"to": "supplier@example.com", "subject": "Отгрузка", "case_id": 1},
                status="failed",
                error="SMTP is not configured",
                created_at=harness.clock.now(),
            )
        )
        await session.commit()
    async with panel.client() as http:
        await panel.login(http)
        async with http.get(f"{panel.base}/outbox") as response:
            page = await response.text()
    assert "Марина" in page and "Forbidden: bot was blocked" in page
    assert "supplier@example.com" in page and "Эл. почта" in page and 'href="cases/1"' in page
    assert "Не доставлено" in page and ">failed<" not in page


def test_a_short_token_is_refused(harness: Harness) -> None:
    with pytest.raises(ValueError):
        AdminPanel(harness.core, "short")


async def test_the_panel_speaks_english_through_the_catalogs(harness: Harness) -> None:
    manager = await harness.person("Marina", "shop_manager")
    await harness.person("Sergey", "service_manager")
    await register_defect(manager)
    runner = await AdminPanel(harness.core, TOKEN, language="en").serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/") as response:
                assert "Admin token" in await response.text()
            async with http.get(f"{base}/?token={TOKEN}") as response:
                page = await response.text()
            assert "Current step" in page and "Held by" in page and "Текущий шаг" not in page
            # A number the English way, «#1», as the chat says it to an English reader; «№» is Russian.
            assert '<a href="cases/1">#1</a>' in page and "№" not in page, page
            async with http.get(f"{base}/cases/1") as response:
                page = await response.text()
            assert "Marina: case started" in page and "In progress" in page
            assert "<h2>#1 · " in page and "№" not in page, page
            # The history's moments in the English way, the month named: «Dec 21, 10:00», not «21.12 10:00».
            history = page[page.index('id="history"') :]
            assert re.search(r'class="muted">[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d</span> Marina: case started', history)
            assert not re.search(r"\d\d\.\d\d \d\d:\d\d", history), history
            async with http.get(f"{base}/people") as response:
                assert "Shop manager" in await response.text()
    finally:
        await runner.cleanup()


async def test_the_english_panel_shows_the_e_mail_and_sms_its_admin_reads(harness: Harness) -> None:
    """The shipped e-mail subject and SMS in the English panel are the English ones an English reader gets; saving
    them as they are keeps the shipped ones (a Russian reader goes on getting the Russian), as «Default» does."""
    runner = await AdminPanel(harness.core, TOKEN, language="en").serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/?token={TOKEN}") as response:
                csrf = re.search(r'name="csrf" value="([^"]+)"', await response.text())
            assert csrf is not None
            async with http.get(f"{base}/notifications") as response:
                page = await response.text()
            assert "New task: {{ task }} (case #{{ case_number }})" in page, page
            assert "Новая задача" not in page and "Дело №" not in page, page
            source = "New task: {{ task }} (case #{{ case_number }})"
            form = {"csrf": csrf.group(1), "source": source}
            async with http.post(f"{base}/notifications/templates/task_assigned/subject", data=form) as response:
                assert response.status == 200
    finally:
        await runner.cleanup()
    async with harness.core.sessionmaker() as session:
        assert await channels.custom_templates(session) == {}


@pytest.mark.parametrize(("language", "one_c"), [("en", "1C"), ("ru", "1С")])  # Latin C; Cyrillic С
async def test_an_organisation_1c_made_names_1c_in_the_panels_letters(
    harness: Harness, language: str, one_c: str
) -> None:
    """A dealer's card 1C's exchange created: its history says who made it, «1C» to an English admin (the Russian
    word's С is a Cyrillic letter, which an English reader's search for «1C» does not find)."""
    async with harness.core.sessionmaker() as session, session.begin():
        company = await companies.create_organisation(
            session, "dealer", "Garden Ltd", None, datetime(2026, 12, 21, 7, tzinfo=UTC), {}, via=companies.ONEC
        )
    runner = await AdminPanel(harness.core, TOKEN, language=language).serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/?token={TOKEN}") as response:
                assert response.status == 200
            async with http.get(f"{base}/organisations/{company.id}") as response:
                page = await response.text()
    finally:
        await runner.cleanup()
    history = re.sub(r"<[^>]+>", " ", page[page.index('id="history"') :])
    assert re.search(rf"\b{one_c}\b", history), history
    assert not re.search("1[СC]", history.replace(one_c, "")), history


def test_history_sentences_and_labels_never_show_keys(harness: Harness) -> None:
    from datetime import UTC, datetime

    from admin.words import Words
    from db.models import AuditEntry, Task
    from flows.items import item_task_key

    spec = harness.core.registry.library["defect_return"].spec
    stage = next(s for s in spec.stages if s.tasks)
    tdef = stage.tasks[0]
    outcome = next(iter(tdef.outcome_defs()))
    task = Task(
        id=7,
        case_id=1,
        key=tdef.key,
        stage=stage.key,
        visit=1,
        kind=tdef.kind,
        role="warehouse_head",
        assignee_id=None,
        status="done",
        outcome=outcome,
    )
    words = Words(harness.core, "ru")
    at = datetime(2027, 1, 12, 7, 4, tzinfo=UTC)
    done = AuditEntry(
        case_id=1,
        task_id=7,
        actor_id=5,
        action="task.done",
        data={"task": tdef.key, "outcome": outcome, "values": {}},
        at=at,
    )
    title = harness.core.translator.local(tdef.title, "ru")
    assert len(tdef.outcome_defs()) == 1  # its one button («Готово») is no decision to name
    assert words.history(done, spec, {7: task}, {5: "Анна"}) == f"Анна: задача «{title}» — выполнено"
    # A decision reads as what was decided, not as its button's order: «Отклонено», not «Отклонить».
    order = harness.core.registry.library["order_request"].spec
    office = next(s for s in order.stages if any(t.kind == "approve" for t in s.tasks))
    decision = next(t for t in office.tasks if t.kind == "approve")
    assert words.outcome(order, office.key, decision.key, "reject") == "Отклонено"
    assert words.outcome(order, office.key, decision.key, "reject", mark=True) == "✖️ Отклонено"
    assert words.outcome(order, office.key, decision.key, "approve", mark=True) == "✅ Согласовано"
    assert words.when_short(at) == "12.01 10:04"
    closed = AuditEntry(case_id=1, action="case.closed", data={"status": "done", "result": "success"}, at=at)
    assert words.history(closed, spec, {}, {}) == "Дело закрыто: завершено успешно"
    odd = AuditEntry(case_id=1, action="sms.some_new_thing", data={}, at=at)
    assert words.history(odd, spec, {}, {}) == "Sms some new thing"  # unknown: words, not a dotted key
    assert words.holder(task, {}) == "Заведующий складом"
    assert words.case_status("cancelled") == "Отменено" and words.task_status("open") == "Открыта"
    # An item's move names the item as the case holds it («Аппарат УЗИ»), not by its place in the list.
    medical = harness.core.registry.library["medical_order"].spec
    sent = Task(id=8, case_id=1, key=item_task_key("items", 1, "sent"), stage="order_sent", visit=1, kind="form",
                role=None, assignee_id=5, status="done", outcome="submit")  # fmt: skip
    moved = AuditEntry(case_id=1, task_id=8, actor_id=5, action="task.done", data={"outcome": "submit"}, at=at)
    items = {"items": [{"name": "Кардиомонитор"}, {"name": "Аппарат УЗИ"}]}
    said = words.history(moved, medical, {8: sent}, {5: "Анна"}, items)
    assert said == "Анна: задача «Аппарат УЗИ → Отправлен» — выполнено", said


def test_escalations_and_version_moves_read_as_sentences(harness: Harness) -> None:
    from admin.words import Words
    from db.models import AuditEntry

    spec = harness.core.registry.library["defect_return"].spec
    words = Words(harness.core, "ru")
    at = datetime(2027, 1, 12, 7, 4, tzinfo=UTC)
    names = {5: "Вера", 6: "Анна", 7: "Борис"}

    def said(action: str, data: dict, actor: int | None = 5) -> str:  # type: ignore[type-arg]
        return words.history(AuditEntry(case_id=1, actor_id=actor, action=action, data=data, at=at), spec, {}, names)

    # A task named by its key only (its row not at hand) reads by its title in the definition, never its key.
    confirm = harness.core.translator.local(
        next(t for st in spec.stages for t in st.tasks if t.key == "confirm_defect").title, "ru"
    )
    escalated = said("task.escalated", {"task": "confirm_defect", "to": [5]}, actor=None)
    assert escalated == f"Задача «{confirm}» эскалирована: Вера", escalated
    assert said("task.reassigned", {"task": "confirm_defect", "from": 6, "to": 7}).endswith("передана: Борис")
    moved = said("task.deadline_moved", {"task": "x", "to": "2027-01-14T15:00:00+00:00", "reason": "Ждём акт"})
    assert moved == "Вера: перенес(ла) срок задачи «X» на 14.01.2027 18:00: Ждём акт"
    assert said("case.migrated", {"to_version": 4, "by": "panel"}, actor=None) == (
        "Администратор в панели: перенесено на версию 4")
    assert said("case.migrated", {"to_version": 4, "by": "cli"}, actor=None) == (
        "Администратор (командная строка): перенесено на версию 4")
    # Why a task left its holder, as the notice said: closed access is not a lost role, an old entry says no reason.
    assert said("task.released", {"task": "confirm_defect", "because": "left"}, actor=None) == (
        f"Задача «{confirm}» передана другому: администратор закрыл доступ исполнителю")
    assert "вернулась к роли (у исполнителя больше нет этой роли)" in said(
        "task.released", {"task": "confirm_defect", "because": "role"}, actor=None)
    assert said("task.released", {"task": "confirm_defect"}, actor=None) == f"Задача «{confirm}» передана другому"
    # A process the case started and waits for, in words (the medical deal's qualification), not «Case called».
    called = said("case.called", {"process": "medical_qualification", "case": 8})
    assert called == "Вера: запущен процесс «Квалификация клиента» (дело №8)", called
    assert said("case.call_returned", {"case": 8}) == "Вера: запущенное дело №8 завершено"
    # Entering the stage it was at (a call returned to it) reads as the stage, not «Новая → Новая».
    first = spec.stages[0]
    again = said("stage.entered", {"from": first.key, "to": first.key}, actor=None)
    assert again == f"Этап «{harness.core.translator.local(first.title, 'ru')}»", again


def test_an_items_approval_and_a_cancellations_reason_read_as_sentences(harness: Harness) -> None:
    from admin.words import Words
    from db.models import AuditEntry

    spec = harness.core.registry.library["medical_order"].spec
    words = Words(harness.core, "ru")
    at = datetime(2027, 1, 12, 7, 4, tzinfo=UTC)

    def said(action: str, data: dict) -> str:  # type: ignore[type-arg]
        entry = AuditEntry(case_id=1, actor_id=5, action=action, data=data, at=at)
        return words.history(entry, spec, {}, {5: "Олег"})

    item = {"list": "items", "index": 0, "to": "sent"}
    # By its name where the case's data is at hand (the case's page); else as one entry of its list.
    named = words.history(AuditEntry(case_id=1, actor_id=5, action="item.approval_asked", data=item, at=at), spec,
                          {}, {5: "Олег"}, {"items": [{"name": "Аппарат УЗИ"}]})  # fmt: skip
    assert named == "Олег: «Аппарат УЗИ»: запрошено согласование перехода в «Отправлен»", named
    assert said("item.approval_asked", item) == "Олег: «Позиция №1»: запрошено согласование перехода в «Отправлен»"
    assert said("item.approval_approved", item) == "Олег: «Позиция №1»: согласован переход в «Отправлен»"
    rejected = said("item.approval_rejected", {**item, "reason": "Дорого"})
    assert rejected == "Олег: «Позиция №1»: не согласован переход в «Отправлен» (Дорого)"
    # A move its mover thought better of («↩️ Передумать» at the reason): in words, not «Item move withdrawn».
    withdrawn = said("item.move_withdrawn", {**item, "to": "cancelled"})
    assert withdrawn == "Олег: отменён перевод «Позиция №1» на этап «Отменена»", withdrawn
    assert said("case.cancelled", {"reason": "Клиент передумал"}).endswith(": Клиент передумал")


def test_a_stage_moved_by_hand_is_one_line_of_the_history() -> None:
    """The step audits the person's move and the stage entered; the history shows the move once. A stage entered
    later (the move waited for a form) or by the process itself stays a line of its own."""
    at, later = datetime(2026, 12, 21, 10, 0, tzinfo=UTC), datetime(2026, 12, 21, 11, 0, tzinfo=UTC)

    def entry(action: str, when: datetime, **data: object) -> AuditEntry:
        return AuditEntry(case_id=1, action=action, data=data, at=when)

    moved = entry("case.move", at, to="make_offer")
    entered = entry("stage.entered", at, to="make_offer", **{"from": "new"})
    waited = entry("case.move", at, to="refused")
    after_form = entry("stage.entered", later, to="refused", **{"from": "make_offer"})
    by_itself = entry("stage.entered", later, to="agreed", **{"from": "client_review"})
    assert one_per_move([moved, entered, waited, after_form, by_itself]) == [moved, waited, after_form, by_itself]
