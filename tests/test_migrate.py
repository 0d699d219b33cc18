"""Moving running cases onto a new version of their process, from the command line: `konveyer migrate process`
reports first and changes nothing; with `--apply` each case that can move moves in a transaction of its own
(audited), one whose stage has no place in the new version stays as it was and is listed with the reason; a
stage that now requires a missing field makes the case ask its responsible for it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from admin.panel import AdminPanel
from app.container import build_core
from app.settings import Settings
from db.models import AuditEntry, Case, Definition, Outbox, Task, User
from flows.clock import FrozenClock
from flows.runtime import MOVE_TASK
from services import people as people_repo
from services.cases import CaseService
from services.migration import Migration
from tests.conftest import START, library_with

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent
PANEL_TOKEN = "panel-token-for-tests"


@dataclass
class Office:
    settings: Settings
    library: Path
    paper: int  # waits for the head's review
    cartridges: int  # approved: ordered by the buyer, budget checked by the accountant
    chairs: int  # put on hold by the head


async def _office_on_version_1(tmp_path: Path, database_url: str) -> Office:
    library = library_with(tmp_path, "supply_request.yaml")
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, library_dir=library, bot_token=None)
    core = await build_core(settings, FrozenClock(START))
    try:
        async with core.sessionmaker() as session, session.begin():
            people = {}
            for tg_id, (name, role) in enumerate(
                [("Ирина", "employee"), ("Глеб", "head"), ("Борис", "buyer"), ("Анна", "accountant")], start=11
            ):
                person = await people_repo.register(
                    session, tg_id=tg_id, name=name, username=None, language="ru", now=START
                )
                await people_repo.grant(session, person.id, [role])
                people[role] = person
            cases = CaseService(core, session)
            paper = await cases.start(people["employee"], "supply_request", {"item": "Бумага"})
            cartridges = await cases.start(people["employee"], "supply_request", {"item": "Картриджи"})
            review = cartridges.state.open_tasks()[0]
            await cases.submit(people["head"], review.id or 0, "approve", {})
            chairs = await cases.start(people["employee"], "supply_request", {"item": "Стулья"})
            await cases.move(people["head"], chairs.row.id, "on_hold")
            return Office(settings, library, paper.row.id, cartridges.row.id, chairs.row.id)
    finally:
        await core.close()


async def konveyer(office: Office, *args: str) -> tuple[int, str]:
    """The command as an admin runs it, in a process of its own."""
    env = {
        **os.environ,
        "DATABASE_URL": str(office.settings.database_url),
        "DATA_DIR": str(office.settings.data_dir),
        "LIBRARY_DIR": str(office.library),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, _log = await process.communicate()  # the report on stdout; the log on stderr
    return process.returncode or 0, out.decode()


async def _cases(office: Office) -> dict[int, tuple[int, str, str]]:
    """Each case: its version, stage and status."""
    core = await build_core(office.settings, FrozenClock(START))
    try:
        async with core.sessionmaker() as session:
            rows = await session.execute(
                select(Case.id, Definition.version, Case.stage, Case.status).join(
                    Definition, Definition.id == Case.definition_id
                )
            )
            return {case_id: (version, stage, status) for case_id, version, stage, status in rows.all()}
    finally:
        await core.close()


async def _open_tasks(office: Office, case_id: int) -> list[tuple[str, str]]:
    core = await build_core(office.settings, FrozenClock(START))
    try:
        async with core.sessionmaker() as session:
            rows = await session.execute(
                select(Task.key, Task.stage).where(Task.case_id == case_id, Task.status == "open").order_by(Task.id)
            )
            return [(key, stage) for key, stage in rows.all()]
    finally:
        await core.close()


async def test_cases_move_onto_the_new_version_after_a_report(tmp_path: Path, database_url: str) -> None:
    office = await _office_on_version_1(tmp_path, database_url)
    # version 2 is loaded
    shutil.copy(DATA / "next_versions" / "supply_request.yaml", office.library / "supply_request.yaml")
    migrate = ["migrate", "process", "supply_request", "--from", "1", "--to", "2"]

    # A mapping that names a stage the old version does not have: the request is refused as a whole.
    code, out = await konveyer(office, *migrate, "--map", "reviewing:approval")
    assert code == 2 and "В версии 1 нет этапа «reviewing»" in out, out

    # The report: what would happen to each case; nothing changes.
    before = await _cases(office)
    code, out = await konveyer(office, *migrate, "--map", "review:approval")
    assert code == 1, out
    assert "только проверка, ничего не изменено" in out, out
    assert f"№{office.paper} «Бумага»: «Рассмотрение» → «Согласование»; остаются: Согласуйте заявку" in out
    assert (
        f"№{office.cartridges} «Картриджи»: «Заказ» → «Заказ»; остаются: Закажите у поставщика; "
        "закрываются: Проверьте бюджет; новые: Согласуйте дату поставки"
    ) in out
    assert f"№{office.chairs} «Стулья»: нельзя перенести — этапу «Отложено» нет места в версии 2" in out
    assert "Можно перенести: 2, нельзя: 1." in out
    assert await _cases(office) == before

    # Applied: the two that can move do, each audited; the one on hold stays on version 1, untouched.
    code, out = await konveyer(office, *migrate, "--map", "review:approval", "--apply")
    assert code == 1 and "Перенесено: 2, не перенесено: 1." in out, out
    after = await _cases(office)
    assert after[office.paper] == (2, "approval", "active")
    assert after[office.cartridges] == (2, "ordering", "active")
    assert after[office.chairs] == before[office.chairs] == (1, "on_hold", "active")
    # The head's review is kept (now at «approval»); the budget check is closed, the delivery date is asked.
    assert await _open_tasks(office, office.paper) == [("approve_request", "approval")]
    assert await _open_tasks(office, office.cartridges) == [
        ("place_order", "ordering"),
        ("agree_delivery", "ordering"),
    ]
    core = await build_core(office.settings, FrozenClock(START))
    try:
        async with core.sessionmaker() as session:
            audit = list(
                (await session.execute(select(AuditEntry).where(AuditEntry.action == "case.migrated"))).scalars()
            )
    finally:
        await core.close()
    assert sorted(a.case_id for a in audit) == [office.paper, office.cartridges]
    assert all(a.data["to_version"] == 2 for a in audit)

    # The case on hold goes to the supplier check, which requires a supplier it lacks: it will ask for one.
    code, out = await konveyer(office, *migrate, "--map", "on_hold:supplier_check", "--apply")
    assert code == 0, out
    assert f"№{office.chairs} «Стулья»: «Отложено» → «Проверка поставщика»; запрашиваются: Поставщик" in out
    assert (await _cases(office))[office.chairs] == (2, "supplier_check", "active")
    assert await _open_tasks(office, office.chairs) == [(MOVE_TASK, "supplier_check")]


def _selected(page: str, name: str) -> str:
    """The value selected in the page's <select name=…> ("" for none)."""
    found = re.search(rf'<select name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert found is not None, name
    chosen = re.search(r'<option value="([^"]*)" selected>', found.group(1))
    return chosen.group(1) if chosen else ""


async def test_the_panel_checks_then_moves_a_versions_cases(tmp_path: Path, database_url: str) -> None:
    office = await _office_on_version_1(tmp_path, database_url)
    shutil.copy(DATA / "next_versions" / "supply_request.yaml", office.library / "supply_request.yaml")
    core = await build_core(office.settings, FrozenClock(START))  # stores version 2, as a restarted bot would
    runner = await AdminPanel(core, PANEL_TOKEN).serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/processes?token={PANEL_TOKEN}") as response:
                assert 'href="processes/supply_request/versions/2"' in await response.text()
            page_url = f"{base}/processes/supply_request/versions/1"
            async with http.get(page_url) as response:
                page = await response.text()
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf is not None
            # Version 1's stages with the running cases at each; each maps to the same stage of version 2 if
            # it has one, else to nothing yet.
            assert "Рассмотрение" in page and "Отложено" in page and "Согласование" in page
            assert (_selected(page, "map:ordering"), _selected(page, "map:review")) == ("ordering", "")

            form = {"to": "2", "map:review": "approval", "map:ordering": "ordering", "action": "check"}
            async with http.post(f"{page_url}/migrate", data=form) as response:
                assert response.status == 403  # no CSRF token: refused like every other form of the panel
            async with http.post(f"{page_url}/migrate", data={**form, "csrf": csrf.group(1)}) as response:
                report = await response.text()
            assert "Можно перенести: 2, нельзя: 1." in report
            assert "нельзя перенести: этапу «Отложено» нет места в версии 2" in report
            assert "Проверьте бюджет" in report and "Согласуйте дату поставки" in report
            assert (await _cases(office))[office.paper] == (1, "review", "active")  # a check changes nothing

            applied = {**form, "action": "apply", "csrf": csrf.group(1)}
            async with http.post(f"{page_url}/migrate", data=applied) as response:
                report = await response.text()
            assert "Перенесено: 2, не перенесено: 1." in report
            # The moved case's page reads its earlier history and tasks with the version they were written under:
            # «Рассмотрение», a stage version 2 no longer has, by its title, not its key.
            async with http.get(f"{base}/cases/{office.paper}") as response:
                page = await response.text()
            history = page[page.index("История"):]
            assert "этап «Рассмотрение»" in history and "«review»" not in page, history
            # Whoever moved it is named: the admin in the panel, not a sentence with nobody behind it.
            assert "Администратор в панели: перенесено на версию 2" in history, history
    finally:
        await runner.cleanup()
        await core.close()
    after = await _cases(office)
    assert after[office.paper] == (2, "approval", "active")
    assert after[office.cartridges] == (2, "ordering", "active")
    assert after[office.chairs] == (1, "on_hold", "active")


async def test_half_filled_forms_stay_with_tasks_that_stay_and_are_dropped_with_a_word_otherwise(
    tmp_path: Path, database_url: str
) -> None:
    office = await _office_on_version_1(tmp_path, database_url)
    shutil.copy(DATA / "next_versions" / "supply_request.yaml", office.library / "supply_request.yaml")
    core = await build_core(office.settings, FrozenClock(START))
    try:
        # The accountant is halfway through the budget check (closed by the move), the buyer through the order
        # (kept, asking the same): each has the form open.
        async with core.sessionmaker() as session, session.begin():
            tasks = {
                t.key: t
                for t in (await session.execute(select(Task).where(Task.case_id == office.cartridges))).scalars()
            }
            for key in ("check_budget", "place_order"):
                tasks[key].draft = {"outcome": None, "values": {"note": "черновик"}, "answered": [], "files": {}}
                name = "Анна" if key == "check_budget" else "Борис"
                holder = (await session.execute(select(User).where(User.name == name))).scalar_one()
                tasks[key].assignee_id = holder.id  # a pool's task: the one filling it has taken it
                holder.active_task_id = tasks[key].id
            ids = {key: (tasks[key].id, tasks[key].assignee_id) for key in ("check_budget", "place_order")}

        migration = Migration(core, "ru")
        checked = await migration.check("supply_request", 1, 2, {"review": "approval"})
        move = next(m for m in checked.cases if m.case_id == office.cartridges)
        assert move.dropped == ["Проверьте бюджет"]  # the report says so before anything changes
        report = await migration.apply("supply_request", 1, 2, {"review": "approval"})
        lines = migration.report_lines(report)
        assert any("незаконченные ответы отброшены: Проверьте бюджет" in line for line in lines)

        async with core.sessionmaker() as session:
            budget_id, anna_id = ids["check_budget"]
            order_id, boris_id = ids["place_order"]
            kept = await session.get(Task, order_id)
            assert kept is not None and kept.status == "open" and kept.draft and kept.draft["values"]
            assert (await session.get(User, boris_id)).active_task_id == order_id  # type: ignore[union-attr]
            closed = await session.get(Task, budget_id)
            assert closed is not None and closed.status == "cancelled" and closed.draft is None
            assert (await session.get(User, anna_id)).active_task_id is None  # type: ignore[union-attr]
            anna = await session.get(User, anna_id)
            assert anna is not None
            sent = (await session.execute(select(Outbox).where(Outbox.chat_id == anna.tg_id))).scalars().all()
            assert any("Незаконченный ответ на задачу «Проверьте бюджет» отброшен" in str(m.payload) for m in sent)
    finally:
        await core.close()


async def test_a_database_whose_address_holds_a_percent_sign_is_migrated(
    tmp_path: Path, empty_database_url: str
) -> None:
    """A database URL with `%` in it — a password or a Unix socket's path percent-encoded, a folder named «100%» —
    is an ordinary address: the bot starts and creates its tables there, as anywhere else."""
    from urllib.parse import quote

    from sqlalchemy import text

    if empty_database_url.startswith("postgresql"):
        socket_dir = Path("/var/run/postgresql")
        if not (socket_dir / ".s.PGSQL.5432").is_socket():
            pytest.skip("PostgreSQL's Unix socket is not on this machine")
        database = empty_database_url.rsplit("/", 1)[1]
        url = f"postgresql+asyncpg://postgres@/{database}?host={quote(str(socket_dir), safe='')}"
        settings = Settings(database_url=url, data_dir=tmp_path)
    else:
        settings = Settings(data_dir=tmp_path / "отчёты 100% готово")
    assert "%" in settings.resolved_database_url() or "%" in str(settings.data_dir)
    core = await build_core(settings)
    try:
        async with core.db.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM users"))).scalar_one() == 0
    finally:
        await core.close()
