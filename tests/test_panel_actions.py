"""What an admin changes in the panel, over real HTTP against the running bot: a definition checked (mistakes
with their lines), loaded and rolled back; invite links with a QR code, roles granted and revoked, a person
revoked; cases found by stage, lateness and attention; a task reassigned, a failed step retried, a case
cancelled with a reason. Every change is in the audit, and none is done without a session and its CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import docx
import pytest
from sqlalchemy import select

from admin.panel import AdminPanel
from app.application import bot_username
from db.models import AuditEntry, Case, Definition, StoredFile, Task, User
from tests.chat import Person, create_person
from tests.conftest import Harness, library_with
from tests.test_admin_panel import WallClock

TOKEN = "panel-actions-token"
DATA = Path(__file__).parent / "data" / "panel"
GOOD = (DATA / "office_letter.yaml").read_text(encoding="utf-8")
BROKEN = (DATA / "office_letter_broken.yaml").read_text(encoding="utf-8")


@dataclass
class Office:
    """The bot with its panel, an admin logged into the panel, and the office's letterhead template at hand."""

    harness: Harness
    base: str
    http: aiohttp.ClientSession
    csrf: str
    library: Path
    clock: WallClock = field(default_factory=WallClock)  # the panel's wall clock (sessions, tokens), moved by tests

    async def post(self, path: str, data: Any = None, **fields: Any) -> aiohttp.ClientResponse:
        form = data if data is not None else {"csrf": self.csrf, **fields}
        response = await self.http.post(f"{self.base}/{path}", data=form, allow_redirects=False)
        await response.read()
        return response

    async def page(self, path: str, **params: str) -> str:
        async with self.http.get(f"{self.base}/{path}", params=params) as response:
            assert response.status == 200, path
            return await response.text()

    async def audit(self, action: str) -> list[AuditEntry]:
        async with self.harness.core.sessionmaker() as session:
            query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            return list((await session.execute(query)).scalars())


def add_letterhead(library: Path) -> None:
    """The template the letter is printed from, put where the definition looks for it (the admin's fix)."""
    letterhead = docx.Document()
    letterhead.add_paragraph("ООО «Офис» · {{ subject }}")
    letterhead.save(str(library / "templates" / "office_letter.docx"))


async def panel_login(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(f"{base}/?token={TOKEN}") as response:
        assert response.status == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', await response.text())
    assert csrf is not None
    return csrf.group(1)


@pytest.fixture
async def office(tmp_path: Path, harness_factory: Callable[..., Awaitable[Harness]]) -> AsyncIterator[Office]:
    library = library_with(tmp_path)
    harness = await harness_factory(library_dir=library)
    bot = harness.app.bot
    assert bot is not None
    clock = WallClock()
    runner = await AdminPanel(harness.core, TOKEN, now=clock, bot_name=lambda: bot_username(bot)).serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            yield Office(harness, base, http, await panel_login(http, base), library, clock)
    finally:
        await runner.cleanup()


async def load_letter(office: Office) -> None:
    response = await office.post("processes/upload", text=GOOD, action="load")
    assert response.status == 303


async def start_letter(clerk: Person, subject: str) -> None:
    """A clerk starts a letter in chat, as people do."""
    await clerk.send("▶️ Начать процесс")
    await clerk.press("Письмо на бланке", await clerk.expect("Какой процесс"))
    await clerk.expect("Тема письма")
    await clerk.send(subject)
    await clerk.press("Подтвердить", await clerk.expect("Проверьте"))


async def the_case(office: Office | Harness, subject: str) -> Case:
    harness = office.harness if isinstance(office, Office) else office
    async with harness.core.sessionmaker() as session:
        case = (await session.execute(select(Case).where(Case.title == f"Письмо: {subject}"))).scalar_one()
    return case


async def open_task(office: Office, case_id: int) -> Task:
    async with office.harness.core.sessionmaker() as session:
        query = select(Task).where(Task.case_id == case_id, Task.status == "open")
        return (await session.execute(query)).scalar_one()


async def test_a_definition_is_checked_line_by_line_loaded_and_rolled_back(office: Office) -> None:
    # A mistake is shown with its line, and that line is marked in the text shown back.
    form = aiohttp.FormData()
    form.add_field("csrf", office.csrf)
    form.add_field("file", BROKEN.encode(), filename="office_letter.yaml", content_type="application/x-yaml")
    form.add_field("action", "load")
    response = await office.post("processes/upload", form)
    assert response.status == 422
    page = await response.text()
    assert page.count('id="problems"') == 1 and page.index('id="problems"') < page.index('class="cards"')
    problems = page[page.index('id="problems"') :]
    assert "строка 19" in problems and "clerck" in problems
    assert '<span id="line-19" class="bad">' in page and "assignee: clerck" in page
    async with office.harness.core.sessionmaker() as session:
        assert (await session.execute(select(Definition).where(Definition.process == "office_letter"))).first() is None

    # Checked only: valid, not stored.
    response = await office.post("processes/upload", text=GOOD, action="check")
    assert response.status == 200 and 'id="valid"' in await response.text()
    assert await office.audit("definition.loaded") == []

    await load_letter(office)
    page = await office.page("processes/office_letter", loaded="1")
    assert 'id="loaded"' in page and 'src="processes/office_letter/1.svg"' in page
    async with office.http.get(f"{office.base}/processes/office_letter/1.svg") as response:
        assert response.status == 200 and "Подготовка письма" in await response.text()

    # Version 2 renames a stage; rolling back to 1 makes version 1 current again (no version is added), and new
    # cases start on it; version 2 can be made current again the same way.
    renamed = GOOD.replace("ru: Подготовка письма", "ru: Черновик письма")
    assert (await office.post("processes/upload", text=renamed, action="load")).status == 303
    assert office.harness.core.registry.latest("office_letter")[1].stage("writing").title["ru"] == "Черновик письма"
    page = await office.page("processes/office_letter")
    assert 'data-version="1"' in page and 'data-version="2"' not in page  # the current version offers no rollback
    response = await office.post("processes/office_letter/versions/1/rollback")
    assert response.status == 303 and response.headers["Location"].endswith("?loaded=1")
    assert office.harness.core.registry.latest("office_letter")[1].stage("writing").title["ru"] == "Подготовка письма"
    # The current version's own text loaded again is said to be it, and stored as nothing new (not «version 3»).
    response = await office.post("processes/upload", text=GOOD, action="load")
    assert response.status == 303 and response.headers["Location"].endswith("?same=1")
    page = await office.page("processes/office_letter", same="1")
    assert 'id="same"' in page and 'id="loaded"' not in page and "Текст совпадает с текущей версией 1" in page
    async with office.harness.core.sessionmaker() as session:
        stored = select(Definition.version).where(Definition.process == "office_letter")
        assert sorted((await session.execute(stored)).scalars()) == [1, 2]
    clerk = await office.harness.person("Анна", "clerk")
    await start_letter(clerk, "Аренда")
    async with office.harness.core.sessionmaker() as session:
        case = await the_case(office, "Аренда")
        definition = await session.get(Definition, case.definition_id)
        versions = (await session.execute(select(Definition.version, Definition.is_current)
                                          .where(Definition.process == "office_letter")
                                          .order_by(Definition.version))).all()  # fmt: skip
    assert definition is not None and definition.version == 1
    assert [tuple(v) for v in versions] == [(1, True), (2, False)]
    page = await office.page("processes/office_letter")
    assert 'data-version="2"' in page and 'data-version="1"' not in page
    # Version 2's text uploaded again makes version 2 current again: no copy of it under a number of its own.
    assert (await office.post("processes/upload", text=renamed, action="load")).status == 303
    assert office.harness.core.registry.latest("office_letter")[1].stage("writing").title["ru"] == "Черновик письма"
    async with office.harness.core.sessionmaker() as session:
        versions = (await session.execute(select(Definition.version, Definition.is_current)
                                          .where(Definition.process == "office_letter")
                                          .order_by(Definition.version))).all()  # fmt: skip
    assert [tuple(v) for v in versions] == [(1, False), (2, True)]

    loaded = [entry.data for entry in await office.audit("definition.loaded")]
    # The second «2» is version 2's text uploaded again: audited as loaded, as it was an admin's upload.
    assert [(d["version"], d["by"]) for d in loaded] == [(1, "panel"), (2, "panel"), (2, "panel")]
    [rolled] = await office.audit("definition.rolled_back")
    assert rolled.data == {"process": "office_letter", "from": 2, "version": 1, "by": "panel"}


async def test_an_invite_with_its_qr_code_roles_granted_and_revoked_and_a_person_revoked(office: Office) -> None:
    await load_letter(office)
    response = await office.post("people/invite", data={"csrf": office.csrf, "role": "clerk", "uses": "1"})
    assert response.status == 200
    page = await response.text()
    link = re.search(r'id="invite-link" href="(https://t\.me/[^"?]+\?start=([^"]+))"', page)
    assert link is not None, page[page.index('id="invite"') - 200 :][:800]
    assert 'id="qr" src="data:image/svg+xml;base64,' in page
    # The code in the link lets a newcomer in with the role.
    newcomer = await create_person(office.harness.http, office.harness.base, 5001, "Вера")
    await newcomer.send(f"/start {link.group(2)}")
    await newcomer.expect("Вера")
    async with office.harness.core.sessionmaker() as session:
        vera = (await session.execute(select(User).where(User.tg_id == 5001))).scalar_one()
    assert "Делопроизводитель" not in page  # (roles come from the definition: «clerk» has no label of its own)

    response = await office.post("people/invite", data={"csrf": office.csrf, "uses": "1"})
    assert response.status == 400 and 'id="invite-error"' in await response.text()

    assert (await office.post(f"people/{vera.id}/roles", role="director", action="grant")).status == 303
    assert (await office.post(f"people/{vera.id}/roles", role="clerk", action="revoke")).status == 303
    page = await office.page("people")
    row = page[page.index(f'data-person="{vera.id}"') :]
    row = row[: row.index("</tr>")]
    assert "Директор" in row and 'name="role" value="clerk"><span' not in row

    await start_letter(await office.harness.person("Анна", "clerk"), "Пропуск")
    assert (await office.post(f"people/{vera.id}/revoke")).status == 303
    async with office.harness.core.sessionmaker() as session:
        vera = await session.get(User, vera.id)
    assert vera is not None and not vera.active
    page = await office.page("people")
    assert "Вера" in page[page.index('id="unreachable"') :]

    assert [e.data for e in await office.audit("person.invited")] == [
        {"roles": ["clerk"], "organisation": None, "uses": 1, "by": "panel"}
    ]
    assert [e.data["role"] for e in await office.audit("person.granted")] == ["director"]
    assert [e.data["role"] for e in await office.audit("person.role_revoked")] == ["clerk"]
    assert [e.data["person"] for e in await office.audit("person.revoked")] == [vera.id]


async def test_cases_are_found_a_task_reassigned_a_failed_step_retried_and_a_case_cancelled(office: Office) -> None:
    harness = office.harness
    await load_letter(office)
    anna = await harness.person("Анна", "clerk")
    boris = await harness.person("Борис", "clerk")
    await start_letter(anna, "Аренда склада")
    await start_letter(anna, "Поставка бумаги")
    lease, paper = await the_case(office, "Аренда склада"), await the_case(office, "Поставка бумаги")

    # The writing task waits in the clerks' pool; the admin gives it to Boris.
    task = await open_task(office, lease.id)
    page = await office.page(f"cases/{lease.id}")
    assert f'data-task="{task.id}"' in page and "Борис" in page
    response = await office.post(f"cases/{lease.id}/tasks/{task.id}/reassign", to=str(anna.id + 10**6))
    assert response.status == 409  # nobody with that number may hold it
    async with harness.core.sessionmaker() as session:
        boris_row = (await session.execute(select(User).where(User.name == "Борис"))).scalar_one()
    assert (await office.post(f"cases/{lease.id}/tasks/{task.id}/reassign", to=str(boris_row.id))).status == 303
    assert (await open_task(office, lease.id)).assignee_id == boris_row.id
    await harness.settle()
    card = await boris.card("Подготовьте текст письма", "Аренда склада", button="Готово")

    # Boris is done; the letter cannot be printed: the letterhead template is missing. The case needs attention.
    await boris.press("Готово", card)
    await harness.settle()
    lease = await the_case(office, "Аренда склада")
    assert lease.attention and "office_letter.docx" in lease.attention

    page = await office.page("", status="attention")
    assert f'data-case="{lease.id}"' in page and f'data-case="{paper.id}"' not in page

    # The admin adds the template and retries: the letter is made and the clerks are asked to sign it.
    add_letterhead(office.library)
    assert (await office.post(f"cases/{lease.id}/retry")).status == 303
    await harness.settle()
    lease = await the_case(office, "Аренда склада")
    assert lease.attention is None and lease.stage == "printing"
    async with harness.core.sessionmaker() as session:
        files = list((await session.execute(select(StoredFile).where(StoredFile.case_id == lease.id))).scalars())
    assert [f.file_name for f in files] == ["Письмо — Аренда склада.docx"]

    # Found by stage, by lateness (the paper's letter was due in two days), by a word of its title.
    page = await office.page("", process="office_letter", stage="writing")
    assert f'data-case="{paper.id}"' in page and f'data-case="{lease.id}"' not in page
    assert f'data-case="{paper.id}"' not in await office.page("", overdue="1")
    harness.clock.advance(days=3)
    page = await office.page("", overdue="1")
    assert f'data-case="{paper.id}"' in page and f'data-case="{lease.id}"' not in page
    page = await office.page("", q="аренда")
    assert f'data-case="{lease.id}"' in page and f'data-case="{paper.id}"' not in page

    # A cancel needs a reason; with one, the case stops and its history says why, and who did it.
    assert (await office.post(f"cases/{paper.id}/cancel", reason="  ")).status == 409
    assert (await office.post(f"cases/{paper.id}/cancel", reason="Бумагу привезли сами")).status == 303
    paper = await the_case(office, "Поставка бумаги")
    assert paper.status == "cancelled"
    page = await office.page(f"cases/{paper.id}")
    assert "Администратор в панели: дело отменено: Бумагу привезли сами" in page
    # Under its status, not only deep in its history (as the chat's card says it).
    assert '<p id="end-reason"><b>Причина:</b> Бумагу привезли сами</p>' in page, page
    assert 'id="cancel"' not in page and "data-task=" not in page
    assert (await office.post(f"cases/{paper.id}/cancel", reason="ещё раз")).status == 409

    [reassigned] = await office.audit("task.reassigned")
    assert reassigned.data["to"] == boris_row.id and reassigned.data["by"] == "panel"
    assert [e.case_id for e in await office.audit("case.retried")] == [lease.id]
    assert [e.data["reason"] for e in await office.audit("case.cancelled")] == ["Бумагу привезли сами"]


async def test_no_change_without_a_session_or_with_a_forged_csrf_token(office: Office) -> None:
    await load_letter(office)
    await start_letter(await office.harness.person("Анна", "clerk"), "Аренда")
    case = await the_case(office, "Аренда")
    task = await open_task(office, case.id)
    actions = {
        "processes/upload": {"text": GOOD.replace("Письмо на бланке", "Подделка"), "action": "load"},
        "processes/office_letter/versions/1/rollback": {},
        "people/invite": {"role": "clerk"},
        "people/1/roles": {"role": "director", "action": "grant"},
        f"people/{task.assignee_id or 2}/revoke": {},
        f"cases/{case.id}/tasks/{task.id}/reassign": {"to": "1"},
        f"cases/{case.id}/retry": {},
        f"cases/{case.id}/cancel": {"reason": "подделка"},
    }
    before = len(await office.audit("case.started"))
    async with aiohttp.ClientSession() as stranger:
        for path, fields in actions.items():
            async with stranger.post(f"{office.base}/{path}", data=fields, allow_redirects=False) as response:
                assert response.status == 401, path
    for path, fields in actions.items():
        response = await office.post(path, data={"csrf": "forged", **fields})
        assert response.status == 403, path
        response = await office.post(path, data=fields)  # no token at all
        assert response.status == 403, path
    async with office.harness.core.sessionmaker() as session:
        audit = list((await session.execute(select(AuditEntry.action))).scalars())
        case = await session.get(Case, case.id)
    assert case is not None and case.status == "active"
    assert len([a for a in audit if a == "case.started"]) == before
    assert not {"definition.rolled_back", "person.invited", "person.granted", "person.revoked", "case.cancelled"} & set(
        audit
    )
    assert audit.count("definition.loaded") == 1  # the one real upload


async def test_a_filter_nobody_offers_a_gone_organisation_nothing_to_retry_and_a_long_reason_are_said_in_words(
    office: Office,
) -> None:
    harness = office.harness
    await load_letter(office)
    anna = await harness.person("Анна", "clerk")
    await start_letter(anna, "Аренда склада")
    lease = await the_case(office, "Аренда склада")

    # A status no list offers (an edited link) filters nothing: the list is shown.
    assert f'data-case="{lease.id}"' in await office.page("", status="bogus")

    # «Повторить» on a case whose steps all went well: said so, and its history does not say it was retried.
    response = await office.post(f"cases/{lease.id}/retry")
    assert response.status == 409 and "В этом деле нечего повторять" in await response.text()
    assert await office.audit("case.retried") == []
    assert "повторил" not in await office.page(f"cases/{lease.id}")

    # A reason longer than the form allows is refused by the server too, and the case goes on.
    response = await office.post(f"cases/{lease.id}/cancel", reason="я" * 501)
    assert response.status == 409 and "не больше 500 символов" in await response.text()
    assert (await the_case(office, "Аренда склада")).status == "active"
    assert (await office.post(f"cases/{lease.id}/cancel", reason="я" * 500)).status == 303

    # An invite for an organisation that is gone is refused in words, and none is made.
    response = await office.post("people/invite", role="clerk", organisation="987654", uses="1")
    assert response.status == 400 and "Такой организации больше нет" in await response.text()
    assert await office.audit("person.invited") == []


async def test_a_processes_versions_are_named_by_their_files_and_versions_never_by_server_paths(office: Office) -> None:
    library = str(office.library)
    page = await office.page("processes")
    assert "defect_return.yaml" in page and library not in page and "/flows/" not in page

    # A changed text of the library's process is loaded as a file, then the admin rolls back to the first one: no
    # version is added, and the first is named by its file as before.
    form = aiohttp.FormData()
    form.add_field("csrf", office.csrf)
    text = (office.library / "defect_return.yaml").read_text(encoding="utf-8") + "\n# checked by the office\n"
    form.add_field("file", text.encode(), filename="defect_return.yaml", content_type="application/x-yaml")
    form.add_field("action", "load")
    assert (await office.post("processes/upload", form)).status == 303
    assert (await office.post("processes/defect_return/versions/1/rollback")).status == 303

    page = await office.page("processes/defect_return")
    files = re.findall(r'<td data-label="[^"]*" class="muted">([^<]*)</td>', page)
    assert files == ["defect_return.yaml", "defect_return.yaml"], "newest first"
    assert library not in page and library not in await office.page("processes")
    async with office.harness.core.sessionmaker() as session:
        query = select(Definition.path).where(Definition.process == "defect_return").order_by(Definition.version)
        paths = list((await session.execute(query)).scalars())
    assert paths[1:] == ["upload:defect_return.yaml"]


async def test_the_panel_says_where_the_tasks_of_someone_whose_role_it_took_went(office: Office) -> None:
    """Boris holds a letter's writing task; the admin takes his clerk role in the panel: the task goes back to the
    clerks (Anna, the only one left, gets it) and the people page says so, linked to the case."""
    harness = office.harness
    await load_letter(office)
    anna = await harness.person("Анна", "clerk")
    boris = await harness.person("Борис", "clerk")
    await start_letter(anna, "Аренда склада")
    lease = await the_case(office, "Аренда склада")
    await boris.press("Взять", await boris.card("Подготовьте текст письма", button="Взять"))
    await boris.wait_for("Подготовьте текст письма", "Вы взяли")
    async with harness.core.sessionmaker() as session:
        boris_id = (await session.execute(select(User.id).where(User.name == "Борис"))).scalar_one()
    task = await open_task(office, lease.id)
    assert task.assignee_id == boris_id

    response = await office.post(f"people/{boris_id}/roles", role="clerk", action="revoke")
    assert response.status == 303 and response.headers["Location"] == f"/admin/people?moved={task.id}"
    page = await office.page("people", moved=str(task.id))
    moved = page[page.index('id="moved"') :]
    moved = moved[: moved.index("</div>")]
    assert "Куда ушли задачи" in moved and f'href="cases/{lease.id}"' in moved, moved
    assert f"№{lease.id} · Письмо: Аренда склада</a> — «Подготовьте текст письма» → Анна" in moved, moved
    assert 'id="moved"' not in await office.page("people")  # the plain page says nothing of it
