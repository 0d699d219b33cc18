"""What an admin types into the panel's forms and gets wrong: the form comes back at once with what is wrong next
to the field, in the panel's language, with what was typed still in it, nothing saved and the database free for
everyone else; the organisation's form keeps what was typed and refuses an amount in exponent notation; unknown
filters, organisations that are gone, a retry with nothing to retry and a reason too long are refused in words.
Over real HTTP against the running app (aiohttp client)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape

import aiohttp
import pytest
from sqlalchemy import select

from admin.panel import AdminPanel
from db.models import Company, User
from services import companies
from tests.conftest import Harness

TOKEN = "panel-forms-token-for-tests"


@dataclass
class Admin:
    harness: Harness
    base: str
    http: aiohttp.ClientSession
    csrf: str

    async def post(self, path: str, **fields: str) -> tuple[int, str]:
        # A form refused must come back at once: a handler waiting on its own transaction would hang here.
        timeout = aiohttp.ClientTimeout(total=10)
        form = {"csrf": self.csrf, **fields}
        async with self.http.post(f"{self.base}/{path}", data=form, allow_redirects=False, timeout=timeout) as r:
            return r.status, unescape(await r.text())

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(f"{self.base}/{path}") as response:
            return response.status, unescape(await response.text())

    async def admin_user(self) -> User:
        async with self.harness.core.sessionmaker() as session:
            return (await session.scalars(select(User).where(User.is_admin.is_(True)))).first()  # type: ignore[return-value]

    async def organisation(self, name: str, **details: str) -> int:
        now = self.harness.core.clock.now()
        async with self.harness.core.sessionmaker() as session, session.begin():
            org = await companies.create_organisation(session, "dealer", name, None, now, details)
            return org.id

    async def company(self, org_id: int) -> Company:
        async with self.harness.core.sessionmaker() as session:
            org = await session.get(Company, org_id)
            assert org is not None
            return org


@pytest.fixture
async def admin(harness: Harness) -> AsyncIterator[Admin]:
    runner = await AdminPanel(harness.core, TOKEN).serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/?token={TOKEN}") as response:
                csrf = re.search(r'name="csrf" value="([^"]+)"', await response.text())
            assert csrf is not None
            yield Admin(harness, base, http, csrf.group(1))
    finally:
        await runner.cleanup()


def form_of(page: str, form_id: str) -> str:
    start = page.index(f'id="{form_id}"')
    return page[start : page.index("</form>", start)]


def row_of(page: str, form_id: str) -> str:
    """The form and what follows it up to the end of its table row (where the field's error is shown)."""
    start = page.index(f'id="{form_id}"')
    return page[start : page.index("</tr>", start)]


async def test_a_wrong_phone_or_e_mail_comes_back_in_the_form_at_once_and_nothing_is_locked(admin: Admin) -> None:
    person = await admin.admin_user()
    org_id = await admin.organisation("ООО Почта")

    status, page = await admin.post(f"notifications/people/{person.id}", phone="12345", email="")
    assert status == 400
    row = row_of(page, f"person-{person.id}")
    assert 'value="12345"' in row and "номер телефона" in row, "the error next to the field, what was typed kept"

    status, page = await admin.post(f"notifications/people/{person.id}", phone="+7 916 123 45 67", email="bad")
    assert status == 400
    row = row_of(page, f"person-{person.id}")
    assert 'value="bad"' in row and 'value="+7 916 123 45 67"' in row and "адрес электронной почты" in row
    assert "not an e-mail" not in page and "not a" not in row

    status, page = await admin.post(f"notifications/organisations/{org_id}", email="bad mail")
    assert status == 400
    row = row_of(page, f"org-{org_id}")
    assert 'value="bad mail"' in row and "адрес электронной почты" in row and "not an e-mail" not in page

    # Nothing of it was saved, and the database is free: the next save goes through at once.
    assert (await admin.admin_user()).phone is None and (await admin.company(org_id)).email is None
    status, _page = await admin.post(f"notifications/people/{person.id}", phone="+7 916 123 45 67", email="a@b.ru")
    assert status == 303
    assert (await admin.admin_user()).phone == "+79161234567"


async def test_a_refused_organisation_form_keeps_what_was_typed_and_an_exponent_is_no_amount(admin: Admin) -> None:
    regina = await admin.harness.person("Регина, региональный представитель (Москва)", "regional_rep")
    async with admin.harness.core.sessionmaker() as session, session.begin():
        rep = (await session.scalars(select(User).where(User.tg_id == regina.id))).one()
        rep.region = "Москва"
        rep_id = rep.id
    org_id = await admin.organisation("ООО Сад", inn="7701234560")
    form = {
        "name": "ООО Сад и Парк", "inn": "123", "kpp": "770101001", "region": "Москва", "price": "Дилерская",
        "contacts": "", "rep": str(rep_id), "limit": "", "debt": "", "active": "1",
    }  # fmt: skip

    # A wrong INN: the form comes back with what the admin wrote, not with what is kept.
    status, page = await admin.post(f"organisations/{org_id}", **form)
    assert status == 400 and "ИНН неверен" in page
    fields = form_of(page, "organisation")
    assert 'id="inn" name="inn" value="123"' in fields and 'value="ООО Сад и Парк"' in fields
    assert 'value="7701234560"' not in fields and f'<option value="{rep_id}" selected>' in fields
    # The representative's region is not said twice.
    assert "Регина, региональный представитель (Москва)</option>" in fields
    assert (await admin.company(org_id)).name == "ООО Сад"

    # «1e9» is no amount, as in the chat: refused, nothing kept.
    status, page = await admin.post(f"organisations/{org_id}", **(form | {"inn": "7701234560", "limit": "1e9"}))
    assert status == 400 and 'id="limit" name="limit" value="1e9"' in form_of(page, "organisation")
    assert companies.credit(await admin.company(org_id)).limit is None
    status, _page = await admin.post(f"organisations/{org_id}", **(form | {"inn": "7701234560", "limit": "500 000"}))
    assert status == 303
    assert str(companies.credit(await admin.company(org_id)).limit) == "500000.00"
