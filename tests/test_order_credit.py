"""The dealer's credit state decides who approves an order request: the admins keep a credit limit, the debt and
«stop shipments» on the organisation (each change audited); a request above what the limit leaves, or from a
stopped dealer, goes to the representative office too even below 300 000 ₽, and its card says why."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.container import build_core
from app.settings import Settings
from db.models import AuditEntry
from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import load_file
from flows.model import local
from flows.runtime import START_TASK, CaseState, Engine, TaskState
from flows.templating import render
from services import companies
from services.portal import credit_data

SPEC = load_file(Path(__file__).resolve().parent.parent / "flows" / "library" / "order_request.yaml").spec
DEALER, REGIONAL, OFFICE = 1, 2, 3
FORM = {"payment_type": "deferred", "delivery_type": "pickup"}


async def test_admins_keep_a_dealers_credit_state_and_every_change_is_audited(
    tmp_path: Path, database_url: str
) -> None:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            now = core.clock.now()
            garden = await companies.create_organisation(session, "dealer", "ООО Сад", None, now, {})
            assert companies.credit(garden) == companies.Credit(None, Decimal(0), False)
            await companies.update_details(session, garden, {"limit": "500 000", "debt": "420000,50"}, now)
            credit = companies.credit(garden)
            assert (credit.limit, credit.debt, credit.left) == (
                Decimal(500000),
                Decimal("420000.50"),
                Decimal("79999.50"),
            )
            assert credit.exceeded_by(Decimal(80000)) and not credit.exceeded_by(Decimal(79999))
            # A wrong value changes nothing, not even the good ones beside it.
            with pytest.raises(companies.BadValue, match="stop"):
                await companies.update_details(session, garden, {"debt": "0", "stop": "maybe"}, now)
            assert companies.credit(garden).debt == Decimal("420000.50")
            await companies.update_details(session, garden, {"stop": "да"}, now)
            assert companies.credit(garden).stopped
            await companies.update_details(session, garden, {"stop": "нет", "limit": "-"}, now)
            assert companies.credit(garden) == companies.Credit(None, Decimal("420000.50"), False)
            changes = [
                (a.data["field"], a.data["from"], a.data["to"])
                for a in (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
                if a.data.get("organisation") == garden.id and "field" in a.data
            ]
            assert changes == [
                ("limit", None, "500000.00"),
                ("debt", None, "420000.50"),
                ("stop", None, True),
                ("stop", True, None),
                ("limit", "500000.00", None),
            ]
    finally:
        await core.close()


@pytest.fixture
def engine() -> Engine:
    return Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))


def open_task(case: CaseState, key: str) -> TaskState:
    return next(t for t in case.open_tasks() if t.key == key)


def approve(engine: Engine, case: CaseState, key: str, user: int, role: str) -> None:
    task = open_task(case, key)
    engine.claim(case, task, user, {role})
    task.id = task.id or id(task)
    engine.submit(case, task, "approve", {}, user)


def ordered(engine: Engine, amount: str, credit: companies.Credit | None) -> CaseState:
    """The regional representative has approved a request for `amount` of a dealer in this credit state."""
    data: dict[str, Any] = {
        "dealer_name": "ООО Сад",
        "positions": [{"product": "p-1", "name": "Косилка", "quantity": 1, "price": amount, "total": amount}],
        "amount": amount,
    }
    if credit is not None:
        data |= credit_data(credit, Decimal(amount))
    case, _ = engine.start(SPEC, DEALER, data)
    task = open_task(case, START_TASK)
    task.id = 1
    engine.submit(case, task, "submit", dict(FORM), DEALER)
    assert case.stage == "region_approval"
    approve(engine, case, "region_decision", REGIONAL, "regional_rep")
    return case


def office_card(case: CaseState) -> str:
    tdef = next(t for t in SPEC.stage("office_approval").tasks if t.key == "office_decision")
    # As a Russian reader's card says it (the text is given per language).
    return render(local(tdef.text or "", "ru"), Engine(WorkCalendar(), FrozenClock(datetime.now(UTC))).context(case))


def test_the_credit_state_sends_a_small_request_to_the_office_with_the_reason(engine: Engine) -> None:
    # Within the limit (or without one, as before credit states existed): the regional approval is enough.
    within = companies.Credit(Decimal(500000), Decimal(400000), False)
    assert ordered(engine, "100000.00", within).stage == "approved"
    assert ordered(engine, "120000.00", None).stage == "approved"
    assert ordered(engine, "120000.00", companies.Credit(None, Decimal(900000), False)).stage == "approved"

    # Above what the limit leaves: the office approves too, and its card says why.
    over = ordered(engine, "120000.00", within)
    assert over.stage == "office_approval"
    card = office_card(over)
    assert card.startswith("⚠️ Сумма больше остатка кредитного лимита: осталось 100\xa0000,00 ₽")
    assert "лимит 500\xa0000,00 ₽, долг 400\xa0000,00 ₽" in card and "итого 120\xa0000,00 ₽" in card
    approve(engine, over, "office_decision", OFFICE, "representative")
    assert over.stage == "approved"

    # A stopped dealer: the office decides at any amount.
    stopped = ordered(engine, "1000.00", companies.Credit(None, Decimal(0), True))
    assert stopped.stage == "office_approval"
    assert office_card(stopped).startswith("⛔ Дилеру остановлены отгрузки.")

    # Large requests go to the office as before, with no credit reason on the card.
    large = ordered(engine, "300000.00", companies.Credit(Decimal(1000000), Decimal(0), False))
    assert large.stage == "office_approval" and office_card(large).startswith("ООО Сад:")


def test_requests_under_way_take_from_the_limit_and_an_exceeded_limit_says_by_how_much(engine: Engine) -> None:
    # 40 000 ₽ left by the debt, 31 500 ₽ of it promised to a request under way: 8 500 ₽ left for this one.
    promised = companies.Credit(Decimal(100000), Decimal(60000), False, Decimal(31500), 1)
    over = ordered(engine, "18700.00", promised)
    assert over.stage == "office_approval"
    assert office_card(over).startswith(
        "⚠️ Сумма больше остатка кредитного лимита: осталось 8\xa0500,00 ₽ (лимит 100\xa0000,00 ₽, долг "
        "60\xa0000,00 ₽, другие заявки в работе (1): 31\xa0500,00 ₽)"
    )
    # Already past the limit with what is under way: the card says by how much, not a negative remainder.
    past = ordered(engine, "1000.00", companies.Credit(Decimal(100000), Decimal(60000), False, Decimal(50000), 2))
    assert office_card(past).startswith("⚠️ Кредитный лимит уже превышен на 10\xa0000,00 ₽ (лимит 100\xa0000,00 ₽")
    # Nothing under way: the card does not mention it.
    alone = ordered(engine, "50000.00", companies.Credit(Decimal(100000), Decimal(60000), False))
    assert "в работе" not in office_card(alone)
