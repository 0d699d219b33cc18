"""Leads from the site's form (seed 5's medical deal): a lead is a sales managers' task whatever optional field the
visitor left empty, and a form sent with something wrong in it is refused in words the visitor understands — the
fields named as the form shows them, a phone that is not a phone number and an e-mail that is not an address
refused — and makes no case."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import Case
from tests.conftest import Harness
from tests.ports import free_port
from tests.test_medical_order_e2e import LEAD as DEAL_LEAD
from tests.test_medical_order_e2e import TOKEN

LEAD = {**DEAL_LEAD, "message": "Нужен аппарат УЗИ"}


@pytest.fixture
async def office(harness_factory: Callable[..., Awaitable[Harness]]) -> Harness:
    return await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN}, lead_rate_per_minute=10)


async def post(office: Harness, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The site's form posts its fields, form-encoded, as the page does."""
    url = f"http://127.0.0.1:{office.settings.leads_port}/leads/site"
    async with office.http.post(url, data={"token": TOKEN, **body}) as response:
        return response.status, await response.json()


async def cases(office: Harness) -> int:
    async with office.core.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Case))).scalar_one())


async def test_a_lead_without_its_optional_fields_goes_to_the_sales_managers(office: Harness) -> None:
    manager = await office.person("Менеджер Ольга", "sales_manager")
    director = await office.person("Директор Олег", "director")  # the leads' cases start in his name

    # The visitor wrote no message and no e-mail: both are optional on the form.
    status, body = await post(office, {k: v for k, v in LEAD.items() if k not in ("message", "email")})
    assert status == 201, body
    assert body["message"].startswith("Спасибо! Заявка получена")

    # The lead is the manager's task at once; nobody is asked to finish the site's form in chat.
    card = await manager.card("Возьмите заявку в работу", button="Взять в работу")
    assert "Клиника «Здоровье»" in card["text"]
    await office.settle()
    async with office.core.sessionmaker() as session:
        deal = (await session.execute(select(Case).where(Case.process == "medical_order"))).scalar_one()
    assert deal.stage == "new" and "request" not in deal.data
    # The case came from the site: its card says so rather than naming the director as if he had started it.
    await manager.send(f"/case {deal.id}")
    shown = (await manager.expect("Процесс:", "Инициатор:"))["text"]
    assert "Инициатор: заявка с сайта" in shown and "Директор Олег" not in shown, shown
    assert await director.find("Запрос клиента") is None
    assert await director.find("Заполнение заявки") is None


@pytest.mark.parametrize(
    ("wrong", "says", "field"),
    [
        ({"organisation": ""}, "Проверьте поля: Клиент (организация)", "Обязательное поле"),
        ({"phone": "abc"}, "Проверьте поля: Телефон", "Это не номер телефона"),
        ({"phone": "+7 900 12"}, "Проверьте поля: Телефон", "Это не номер телефона"),
        ({"email": "bad"}, "Проверьте поля: Эл. почта", "Это не адрес электронной почты"),
        ({"email": "anna@"}, "Проверьте поля: Эл. почта", "Это не адрес электронной почты"),
    ],
    ids=["no organisation", "letters for a phone", "too few digits", "no @", "no domain"],
)
async def test_a_lead_with_a_field_wrong_is_refused_by_the_fields_label_and_makes_no_case(
    office: Harness, wrong: dict[str, str], says: str, field: str
) -> None:
    await office.person("Директор Олег", "director")
    status, body = await post(office, {**LEAD, **wrong})
    assert status == 400, body
    assert body["message"] == says
    (name,) = wrong
    assert list(body["fields"]) == [name]  # keyed by the posted name, for the page's script
    assert body["fields"][name].startswith(field)
    assert await cases(office) == 0


async def test_several_wrong_fields_are_named_together_in_the_forms_order(office: Harness) -> None:
    await office.person("Директор Олег", "director")
    status, body = await post(office, {**LEAD, "organisation": " ", "phone": "abc", "email": "bad"})
    assert status == 400
    assert body["message"] == "Проверьте поля: Клиент (организация), Телефон, Эл. почта"
    assert await cases(office) == 0


async def test_a_lead_sent_at_night_is_due_in_office_hours(office: Harness) -> None:
    manager = await office.person("Менеджер Ольга", "sales_manager")
    await office.person("Директор Олег", "director")
    await office.advance(hours=13)  # Monday 23:00 in Moscow
    status, body = await post(office, LEAD)
    assert status == 201, body
    card = await manager.card("Возьмите заявку в работу", button="Взять в работу")
    assert "Срок: 22.12.2026 11:00" in card["text"], card["text"]  # two working hours from Tuesday's 9:00


async def test_a_lead_with_a_nul_character_pasted_in_is_taken_without_it(office: Harness) -> None:
    """Text pasted from another program brought a NUL character into the contact's name and the page's key: the
    lead is taken without it, as the visitor sees it — PostgreSQL stores no NUL in text, and the visitor got «500
    Internal Server Error» and no lead."""
    manager = await office.person("Менеджер Ольга", "sales_manager")
    await office.person("Директор Олег", "director")
    status, body = await post(office, {**LEAD, "name": "Анна\x00 Петрова", "idempotency_key": "k-\x00-1"})
    assert status == 201, body
    card = await manager.card("Возьмите заявку в работу", button="Взять в работу")
    assert "Анна Петрова" in card["text"], card["text"]
    async with office.core.sessionmaker() as session:
        deal = (await session.execute(select(Case).where(Case.process == "medical_order"))).scalar_one()
    assert deal.data["contact_name"] == "Анна Петрова", deal.data
    # The same submission again (the key without its NUL, as it was kept) is the same lead.
    status, body = await post(office, {**LEAD, "name": "Анна Петрова", "idempotency_key": "k--1"})
    assert (status, body["created"]) == (200, False), body


async def test_the_site_is_answered_in_the_language_its_request_asks_for(office: Harness) -> None:
    """The clinic's site has an English version. A visitor there is thanked and told what to fix in English — by
    the browser's Accept-Language, or by the `lang` field a site's own form sends, which wins over the browser's;
    a language the bot does not speak gets the company's. The answer keeps its shape: `fields` keyed by the posted
    names, the case once."""
    await office.person("Директор Олег", "director")
    url = f"http://127.0.0.1:{office.settings.leads_port}/leads/site"

    async def send(body: dict[str, Any], accept: str | None = None) -> tuple[int, dict[str, Any]]:
        headers = {"Accept-Language": accept} if accept else {}
        async with office.http.post(url, data={"token": TOKEN, **body}, headers=headers) as response:
            return response.status, await response.json()

    status, body = await send({**LEAD, "phone": "abc", "email": "bad"}, "en-GB,en;q=0.9,ru;q=0.5")
    assert status == 400, body
    assert body["message"] == "Please check the fields: Phone, Email", body
    assert list(body["fields"]) == ["phone", "email"], body  # keyed by the posted names, as ever
    assert body["fields"]["phone"].startswith("That is not a phone number"), body
    status, body = await send({**LEAD, "organisation": "", "lang": "en"}, "ru-RU,ru;q=0.9")
    assert (status, body["message"]) == (400, "Please check the fields: Client (organisation)"), body
    status, body = await send({**LEAD, "organisation": "", "lang": "ru"}, "en-US,en")
    assert (status, body["message"]) == (400, "Проверьте поля: Клиент (организация)"), body
    status, body = await send({**LEAD, "organisation": ""}, "de-DE,de;q=0.9")
    assert (status, body["message"]) == (400, "Проверьте поля: Клиент (организация)"), body
    assert await cases(office) == 0

    status, body = await send({**LEAD, "idempotency_key": "en-1", "lang": "en"})
    assert status == 201 and body["message"].startswith("Thank you! Your request is received"), body
    case = body["case"]
    # The same submission again, from the Russian version: the same case, said in Russian.
    status, body = await send({**LEAD, "idempotency_key": "en-1", "lang": "ru"})
    assert (status, body["case"], body["created"]) == (200, case, False), body
    assert body["message"].startswith("Спасибо! Заявка получена"), body
    # Without a key the contents are the lead: the language it is answered in is not part of them.
    status, body = await send({**LEAD, "message": "Второй запрос"}, "en")
    assert status == 201 and body["message"].startswith("Thank you!"), body
    second = body["case"]
    status, body = await send({**LEAD, "message": "Второй запрос", "lang": "ru"})
    assert (status, body["case"]) == (200, second), body
    assert await cases(office) == 2
