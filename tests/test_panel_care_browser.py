"""What a tester acting as the admin found on a phone, in a real browser: a version made current again without a
copy of it, and nothing changed at one tap (a rollback, moving cases, a role taken) without a question that says
what will happen; a refused form keeps what was typed; the delivery page speaks the panel's language; a dealer's
role points to the panel's own pages; the people page is short, searchable, and shows an action's outcome first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page
from pydantic import SecretStr
from sqlalchemy import select

from db.models import Case, Company, Definition, Outbox, User
from flows.status import OutboxStatus
from services import outbox
from services import people as people_repo
from tests.conftest import Harness, library_with
from tests.ports import free_port
from tests.test_panel_actions import GOOD, start_letter, the_case
from tests.test_panel_browser import PHONE, browser, log_in, no_sideways_scroll, phone  # noqa: F401  (fixture)

TOKEN = "panel-care-token"
RENAMED = GOOD.replace("ru: Подготовка письма", "ru: Черновик письма")


@dataclass
class Panel:
    harness: Harness
    served: str
    page: Page

    async def load(self, text: str) -> None:
        """A definition pasted and loaded, as the admin does it."""
        await self.page.goto(f"{self.served}/processes")
        await self.page.fill("#upload textarea[name=text]", text)
        async with self.page.expect_navigation():
            await self.page.click("#upload button[value=load]")

    async def current(self) -> tuple[int, str]:
        """The version new cases start with, and its writing stage's title."""
        async with self.harness.core.sessionmaker() as session:
            definition_id, spec = self.harness.core.registry.latest("office_letter")
            row = await session.get(Definition, definition_id)
        assert row is not None
        return row.version, str(spec.stage("writing").title["ru"])  # type: ignore[index]


@pytest.fixture
async def panel(
    tmp_path: Path,
    harness_factory: Callable[..., Awaitable[Harness]],
    browser: Browser,  # noqa: F811
) -> AsyncIterator[Panel]:
    port = free_port()
    harness = await harness_factory(library_dir=library_with(tmp_path), admin_token=SecretStr(TOKEN), admin_port=port)
    served = f"http://127.0.0.1:{port}/admin"
    page = await phone(browser)
    assert await log_in(page, served, TOKEN) == 200
    yield Panel(harness, served, page)


async def asked(page: Page, selector: str, *, accept: bool) -> str:
    """What the page asks before the button at `selector` does anything, answered yes or no ("" if it asks
    nothing); a yes waits for the page it leads to."""
    said: list[str] = []

    async def answer(dialog: object) -> None:
        said.append(dialog.message)  # type: ignore[attr-defined]
        await (dialog.accept() if accept else dialog.dismiss())  # type: ignore[attr-defined]

    page.once("dialog", answer)
    if accept:
        async with page.expect_navigation():
            await page.click(selector)
    else:
        await page.click(selector)
    return said[0] if said else ""


async def test_rolling_back_makes_version_1_current_again_after_a_question(panel: Panel) -> None:
    page, served = panel.page, panel.served
    await panel.load(GOOD)
    await panel.load(RENAMED)
    assert page.url.endswith("/processes/office_letter?loaded=2")
    anna = await panel.harness.person("Анна", "clerk")
    await start_letter(anna, "Аренда")  # a running case on version 2

    await page.goto(f"{served}/processes/office_letter")
    rollback = "form.rollback[data-version='1'] button"
    question = "Новые дела пойдут по версии 1. Идущие дела остаются на своих версиях."
    assert await asked(page, rollback, accept=False) == question
    assert await panel.current() == (2, "Черновик письма")  # a «no» changes nothing

    assert await asked(page, rollback, accept=True) == question
    assert page.url.endswith("/processes/office_letter?loaded=1")
    rows = page.locator("table.cards tr:not(.head)")
    assert await rows.count() == 2, "no version is added"
    assert "текущая" in await rows.nth(1).inner_text() and "текущая" not in await rows.nth(0).inner_text()
    assert await page.locator("form.rollback").count() == 1  # version 2 may be made current again
    assert await page.locator("form.rollback").get_attribute("data-version") == "2"
    assert await panel.current() == (1, "Подготовка письма")
    await no_sideways_scroll(page)

    # Moving the running case asks first, naming how many cases go onto which version.
    await page.goto(f"{served}/processes/office_letter/versions/2?to=1")
    moving = "Перенести идущие дела версии 2 (1) на версию 1? Дело, которое нельзя перенести, останется как есть."
    assert await asked(page, "#apply", accept=False) == moving
    async with panel.harness.core.sessionmaker() as session:
        case = await the_case(panel.harness, "Аренда")
        definition = await session.get(Definition, case.definition_id)
    assert definition is not None and definition.version == 2


async def add_people(harness: Harness, count: int) -> None:
    """Staff registered earlier (an import), each with a role of the shipped processes."""
    async with harness.core.sessionmaker() as session, session.begin():
        for n in range(count):
            person = User(tg_id=900_000 + n, name=f"Сотрудник {n:02d}", username=f"staff{n:02d}", language="ru",
                          created_at=harness.core.clock.now())  # fmt: skip
            session.add(person)
            await session.flush()
            await people_repo.grant(session, person.id, ["shop_manager" if n % 2 else "service_manager"])


async def test_the_people_page_is_short_searchable_asks_before_a_role_goes_and_shows_where_tasks_went(
    panel: Panel,
) -> None:
    page, served, harness = panel.page, panel.served, panel.harness
    await panel.load(GOOD)
    anna = await harness.person("Анна", "clerk")
    boris = await harness.person("Борис", "clerk")
    await start_letter(anna, "Аренда склада")
    await boris.press("Взять", await boris.card("Подготовьте текст письма", button="Взять"))
    await boris.wait_for("Подготовьте текст письма", "Вы взяли")
    await add_people(harness, 29)  # 32 people with the admin, Anna and Boris

    await page.goto(f"{served}/people")
    assert await page.locator("tr.person").count() == 32
    height = await page.evaluate("document.documentElement.scrollHeight")
    assert height < 32 * 150, f"the people page is {height}px tall on a phone"
    await no_sideways_scroll(page)

    # Found by name or by role, by the server.
    await page.fill("#people-search input[name=q]", "борис")
    await page.press("#people-search input[name=q]", "Enter")
    await page.wait_for_url("**q=*")
    assert await page.locator("tr.person").count() == 1
    assert "Борис" in await page.locator("tr.person").inner_text()
    role = (await page.locator("tr.person form.role .tag").inner_text()).strip()
    await page.fill("#people-search input[name=q]", role)
    await page.press("#people-search input[name=q]", "Enter")
    await page.wait_for_url("**q=*")
    assert await page.locator("tr.person").count() == 2  # Anna and Boris, the clerks
    await page.goto(f"{served}/people?q=Сотрудник+07")
    assert await page.locator("tr.person").count() == 1

    # Taking Boris's role asks first, saying what becomes of his tasks; «no» keeps it.
    await page.goto(f"{served}/people?q=Борис")
    take = "tr.person form.role button[value=revoke]"
    question = (
        f"Забрать роль «{role}» у человека Борис? Его открытые задачи этой роли вернутся в общую очередь роли — "
        "их получат её остальные участники."
    )
    assert await asked(page, take, accept=False) == question
    assert await page.locator("tr.person form.role").count() == 1

    # «Yes»: where his task went is the first thing on the page, above the invite form.
    assert await asked(page, take, accept=True) == question
    moved = page.locator("#moved")
    assert "Анна" in await moved.inner_text()
    top = await moved.bounding_box()
    form = await page.locator("#invite-form").bounding_box()
    assert top is not None and form is not None and top["y"] < form["y"]
    assert top["y"] < PHONE["height"], "seen without scrolling"


async def test_a_refused_form_keeps_what_was_typed_and_a_dealers_role_points_to_the_panels_pages(
    panel: Panel,
) -> None:
    page, served, harness = panel.page, panel.served, panel.harness
    async with harness.core.sessionmaker() as session, session.begin():
        now = harness.core.clock.now()
        session.add(Company(name="Дилер Восток", kind="dealer", data={}, created_at=now, updated_at=now))
    await harness.person("Вера", "shop_manager")

    # No role chosen: refused, with the organisation and the count as the admin typed them.
    await page.goto(f"{served}/people")
    await page.select_option("#invite-form select[name=organisation]", label="Дилер Восток")
    await page.fill("#invite-form input[name=uses]", "7")
    async with page.expect_navigation():
        await page.click("#invite-form button")
    assert await page.locator("#invite-error").count() == 1
    assert await page.input_value("#invite-form input[name=uses]") == "7"
    chosen = await page.eval_on_selector("#invite-form select[name=organisation]", "s => s.selectedOptions[0].text")
    assert chosen == "Дилер Восток"

    # A dealer's role without the organisation: refused in the panel's words, the role still ticked.
    await page.select_option("#invite-form select[name=organisation]", value="")
    await page.check("#invite-form input[name=role][value=dealer_manager]")
    async with page.expect_navigation():
        await page.click("#invite-form button")
    said = await page.locator("#invite-error").inner_text()
    assert "/orgs" not in said and "форме приглашения" in said
    assert await page.is_checked("#invite-form input[name=role][value=dealer_manager]")
    assert await page.input_value("#invite-form input[name=uses]") == "7"

    # Granting a dealer's role to Vera: the panel points to its own pages, by links.
    row = page.locator("tr.person", has_text="Вера")
    await row.locator("details.grant summary").click()
    await row.locator("form.grant select[name=role]").select_option("dealer_manager")
    async with page.expect_navigation():
        await row.locator("form.grant button").click()
    said = await page.locator("#refused").inner_text()
    assert "/orgs" not in said and "Пригласить" in said
    assert await page.locator("#ways a[href='organisations']").count() == 1
    assert await page.locator("#ways a[href='people#invite-form']").count() == 1


async def test_a_refused_cancel_keeps_the_reason_typed(panel: Panel) -> None:
    page, served, harness = panel.page, panel.served, panel.harness
    await panel.load(GOOD)
    anna = await harness.person("Анна", "clerk")
    await start_letter(anna, "Аренда")
    case = await the_case(harness, "Аренда")
    await page.goto(f"{served}/cases/{case.id}")
    # An old browser ignores the field's limit; the server refuses, and the text comes back to be shortened.
    await page.eval_on_selector("#cancel textarea", "t => t.removeAttribute('maxlength')")
    reason = "Клиент передумал. " * 30
    await page.fill("#cancel textarea", reason)
    async with page.expect_navigation():
        await page.click("#cancel button")
    assert "не больше 500 символов" in await page.locator("#cancel-error").inner_text()
    assert await page.input_value("#cancel textarea") == reason
    async with harness.core.sessionmaker() as session:
        assert (await session.get(Case, case.id)).status == "active"  # type: ignore[union-attr]


async def test_the_delivery_page_says_why_in_the_panels_language(panel: Panel) -> None:
    page, served, harness = panel.page, panel.served, panel.harness
    now = harness.core.clock.now()
    raw = "Telegram server says - Forbidden: bot was blocked by the user"
    async with harness.core.sessionmaker() as session, session.begin():
        for chat, channel, error in ((501, "telegram", outbox.BLOCKED), (502, "email", outbox.NO_EMAIL),
                                     (503, "telegram", raw)):  # fmt: skip
            session.add(Outbox(chat_id=chat, channel=channel, method="sendMessage", payload={}, created_at=now,
                               status=OutboxStatus.FAILED, error=error))  # fmt: skip
    await page.goto(f"{served}/outbox")
    reasons = [(await cell.inner_text()).strip() for cell in await page.locator("#problems td.why").all()]
    assert reasons == [
        f"Ответ сервиса: {raw}",  # a service's own words, as they came, said to be its
        "нет адреса почты (ни у человека, ни у организации)",
        "человек заблокировал бота",
    ]
    assert "the person blocked the bot" not in await page.content()
    async with harness.core.sessionmaker() as session:
        assert (await session.execute(select(Outbox.error).where(Outbox.chat_id == 501))).scalar() == outbox.BLOCKED
