"""Seed 4: admins keep the dealers' details — in chat from an organisation's card (a detail's button, then its
value; the regional representative picked by a button; deactivation) and in the panel's form. A wrong INN or
KPP is refused and asked again; every change is in the audit log with what it was and what it became."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import aiohttp
from sqlalchemy import select

from admin.panel import AdminPanel
from db.models import AuditEntry, Company, User
from services import companies
from services.companies import CHANGED
from tests.conftest import Harness, library_with
from tests.test_organisations_e2e import dealer_person

TOKEN = "organisation-editing-token"


async def changes(harness: Harness, org_id: int) -> list[dict[str, object]]:
    async with harness.core.sessionmaker() as session:
        rows = (await session.execute(select(AuditEntry).where(AuditEntry.action == CHANGED).order_by(AuditEntry.id)))
        return [a.data | {"by": a.actor_id} for a in rows.scalars() if a.data.get("organisation") == org_id]


async def test_an_admin_keeps_a_dealers_details_in_chat_and_each_change_is_audited(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "dealer_request.yaml"))
    admin = harness.admin
    await harness.person("Регина", "regional_rep")

    await admin.send("/org")
    await admin.press("Новая организация", await admin.expect("Организаций пока нет"))
    await admin.press("Дилер", await admin.expect("какого вида"))
    await admin.expect("Название новой организации")
    await admin.send("ООО Лес")
    card = await admin.card("ООО Лес", "ИНН/КПП", button="ИНН")
    number = re.match(r"№(\d+)", card["text"])
    assert number is not None
    org_id = int(number.group(1))

    # A wrong INN (its check digits do not match) is refused and asked again; the right one is kept.
    await admin.press("✏️ ИНН", card)
    await admin.expect("новое значение «ИНН»")
    await admin.send("7707083894")
    await admin.expect("ИНН неверен")
    await admin.send("7707083893")
    card = await admin.expect("ООО Лес", "7707083893")
    await admin.press("✏️ КПП", card)
    await admin.send("77070101")
    await admin.expect("КПП неверен")
    await admin.send("770701001")
    card = await admin.expect("ООО Лес", "7707083893 / 770701001")
    await admin.press("✏️ Регион", card)
    await admin.send("Москва")
    card = await admin.expect("ООО Лес", "Регион: Москва")

    # The regional representative is picked from the role's members by a button.
    await admin.press("Региональный представитель", card)
    await admin.press("Регина", await admin.expect("кто региональный представитель"))
    card = await admin.expect("ООО Лес", "Региональный представитель: Регина")

    # A dealer's manager joins; the admin deactivates the dealer: it is offered nowhere, its people see nothing.
    await dealer_person(harness, "Лев", "ООО Лес", "Менеджер дилера")
    await admin.send(f"/org {org_id}")
    await admin.press("Отключить", await admin.card("ООО Лес", button="Отключить"))
    await admin.expect("ООО Лес", "Отключена")
    async with harness.core.sessionmaker() as session:
        org = await session.get(Company, org_id)
        lev = (await session.execute(select(User).where(User.name == "Лев"))).scalar_one()
        assert org is not None and not org.active and not lev.active
        admin_id = (await session.execute(select(User.id).where(User.is_admin.is_(True)))).scalars().first()
        regina_id = (await session.execute(select(User.id).where(User.name == "Регина"))).scalar_one()

    audited = await changes(harness, org_id)
    assert [(a.get("field"), a.get("from"), a.get("to")) for a in audited[1:]] == [
        ("inn", None, "7707083893"),
        ("kpp", None, "770701001"),
        ("region", None, "Москва"),
        ("rep", None, regina_id),
        ("active", True, False),
    ], "every change, and only the accepted values"
    assert audited[0].get("created") == {"kind": "dealer", "name": "ООО Лес"}
    assert {a["by"] for a in audited} == {admin_id}
    assert audited[-1]["people"] == [lev.id]


async def test_an_admin_edits_an_organisation_in_the_panel(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "dealer_request.yaml"))
    await harness.person("Регина", "regional_rep")
    await harness.admin.send("/org_new dealer ООО Сад region=Москва inn=7701234560")
    await harness.admin.expect("ООО Сад", "7701234560")
    async with harness.core.sessionmaker() as session:
        org_id = (await session.execute(select(Company.id))).scalar_one()
        regina_id = (await session.execute(select(User.id).where(User.name == "Регина"))).scalar_one()

    runner = await AdminPanel(harness.core, TOKEN).serve("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/organisations?token={TOKEN}") as response:
                assert f'href="organisations/{org_id}"' in await response.text()
            async with http.get(f"{base}/organisations/{org_id}") as response:
                page = await response.text()
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf is not None and 'value="7701234560"' in page and "Регина" in page
            form = {
                "name": "ООО Сад и Парк", "inn": "7701234560", "kpp": "770101001", "region": "Москва",
                "price": "Дилерская", "contacts": "+7 495 000-00-01", "rep": str(regina_id), "active": "1",
            }  # fmt: skip

            # Without the form's CSRF token nothing is saved.
            async with http.post(f"{base}/organisations/{org_id}", data=form, allow_redirects=False) as response:
                assert response.status == 403
            # A wrong INN: the form comes back with the reason, and nothing of it is kept.
            wrong = form | {"csrf": csrf.group(1), "inn": "7701234567"}  # its check digit is wrong
            async with http.post(f"{base}/organisations/{org_id}", data=wrong, allow_redirects=False) as response:
                assert response.status == 400 and "ИНН неверен" in await response.text()
            async with harness.core.sessionmaker() as session:
                org = await session.get(Company, org_id)
                assert org is not None and org.name == "ООО Сад" and org.kpp is None

            # The dealer's credit state is kept on the same form.
            right = form | {"csrf": csrf.group(1), "limit": "500 000", "debt": "120000", "stop": "1"}
            async with http.post(f"{base}/organisations/{org_id}", data=right, allow_redirects=False) as response:
                assert response.status == 303
            async with http.get(f"{base}/organisations/{org_id}") as response:
                page = await response.text()
        history = page[page.index('id="history"') :]
        assert "ООО Сад → ООО Сад и Парк" in history and "КПП: — → 770101001" in history
        assert "Кредитный лимит: — → 500\xa0000,00 ₽" in history and "Стоп-отгрузка" in history  # as the card says
        assert "Администратор в панели" in history and "—:" not in history, history  # who, not «—»
        assert 'id="stop" name="stop" value="1" checked' in page
    finally:
        await runner.cleanup()

    async with harness.core.sessionmaker() as session:
        org = await session.get(Company, org_id)
        assert org is not None
        assert (org.name, org.kpp, org.price_type, org.regional_rep_id) == (
            "ООО Сад и Парк", "770101001", "Дилерская", regina_id
        )
        assert companies.credit(org) == companies.Credit(Decimal(500000), Decimal(120000), True)
    audited = await changes(harness, org_id)
    fields = [a.get("field") for a in audited if a.get("by") is None and "field" in a]
    # The panel's changes, each audited; the INN sent unchanged is no change.
    assert fields == ["name", "kpp", "price", "contacts", "rep", "limit", "debt", "stop"]
    await harness.admin.send(f"/org {org_id}")
    await harness.admin.expect("ООО Сад и Парк", "770101001", "Регина", "долг: 120\xa0000,00 ₽", "Стоп-отгрузка")
