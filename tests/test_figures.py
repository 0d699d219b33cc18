"""Representatives' figures below chat: what each dealer ordered (approved requests, in the month they were
submitted) and what 1C shipped to them (in the month of 1C's shipment date), per period; who sees whose figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.container import build_core
from app.settings import Settings
from db.models import User
from flows.clock import FrozenClock
from services import access, companies
from services import people as people_repo
from services.cases.service import CaseService
from services.core import Core
from services.figures import Figures, period, shipment_day
from services.sales_exchange import SalesExchange
from tests.test_dealer_portal_e2e import status_document

POSITION = {"product": "guid-7", "name": "Газонокосилка", "article": "2L0481848", "quantity": 1}


async def person(
    core: Core, tg_id: int, name: str, roles: list[str], *, org: int | None = None, region: str = ""
) -> User:
    async with core.sessionmaker() as session, session.begin():
        user = await people_repo.register(
            session, tg_id=tg_id, name=name, username=None, language="ru", now=core.clock.now()
        )
        user.organisation_id = org
        user.region = region or None
        await people_repo.grant(session, user.id, roles)
        return user


async def dealer(core: Core, name: str, region: str) -> int:
    async with core.sessionmaker() as session, session.begin():
        company = await companies.create_organisation(
            session, "dealer", name, None, core.clock.now(), {"region": region}
        )
        return company.id


async def order(core: Core, by: User, approver: User | None, amount: str) -> int:
    """A request as the cart makes it, its form filled, and (given an approver) approved by the region."""
    data: dict[str, Any] = {
        "dealer_name": "",
        "positions": [{**POSITION, "price": amount, "total": amount}],
        "amount": amount,
    }
    async with core.sessionmaker() as session, session.begin():
        cases = CaseService(core, session)
        initiator = await session.get(User, by.id)
        assert initiator is not None
        loaded = await cases.start(initiator, "order_request", data)
        start = next(t for t in loaded.state.tasks if t.status == "open")
        await cases.submit(
            initiator, start.id or 0, "submit", {"payment_type": "prepayment", "delivery_type": "pickup"}
        )
        case_id = loaded.row.id
    if approver is not None:
        async with core.sessionmaker() as session, session.begin():
            cases = CaseService(core, session)
            rep = await session.get(User, approver.id)
            assert rep is not None
            task = next(t for t in (await cases.load(case_id)).state.tasks if t.status == "open")
            await cases.claim(rep, task.id or 0)
            await cases.submit(rep, task.id or 0, "approve", {})
    return case_id


async def shipped_by_1c(core: Core, case_id: int, day: str) -> None:
    async with core.sessionmaker() as session, session.begin():
        document = status_document(case_id, [("Дата отгрузки по 1С", day), ("Номер отгрузки по 1С", "РН-1")])
        assert (await SalesExchange(core, session).apply(document)).moved == [case_id]


async def figures_of(core: Core, user: User, key: str = "month") -> dict[str, tuple[int, Decimal, int, Decimal]]:
    async with core.sessionmaker() as session:
        row = await session.get(User, user.id)
        assert row is not None
        viewer = access.Viewer.of(row, await people_repo.roles_of(session, row.id))
        report = await Figures(core, session).build(viewer, key)
        return {d.dealer: (d.orders, d.ordered, d.shipments, d.shipped) for d in report.dealers}


def test_periods_are_calendar_ones() -> None:
    today = date(2026, 11, 25)
    assert (period("month", today).start, period("month", today).end) == (date(2026, 11, 1), date(2026, 12, 1))
    assert (period("last_month", date(2026, 1, 9)).start, period("last_month", date(2026, 1, 9)).last) == (
        date(2025, 12, 1),
        date(2025, 12, 31),
    )
    assert (period("quarter", today).start, period("quarter", today).end) == (date(2026, 10, 1), date(2027, 1, 1))
    assert (period("year", today).start, period("year", today).last) == (date(2026, 1, 1), date(2026, 12, 31))
    assert shipment_day("2026-12-03 10:00:00 РН-77") == date(2026, 12, 3)
    assert shipment_day("05.11.2026 РН-5") == date(2026, 11, 5)
    assert shipment_day("вчера") is None


async def test_figures_follow_the_orders_and_1c_shipments_each_seeing_only_their_dealers(
    tmp_path: Path, database_url: str
) -> None:
    clock = FrozenClock(datetime(2026, 10, 15, 9, 0, tzinfo=UTC))
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None), clock)
    try:
        garden = await dealer(core, "ООО Сад", "Север")
        forest = await dealer(core, "ООО Лес", "Север")
        field = await dealer(core, "ООО Поле", "Юг")
        anna = await person(core, 10, "Анна", ["dealer_manager"], org=garden)
        lev = await person(core, 11, "Лев", ["dealer_manager"], org=forest)
        polina = await person(core, 12, "Полина", ["dealer_manager"], org=field)
        stas = await person(core, 13, "Стас", ["dealer_staff"], org=garden)
        regina = await person(core, 20, "Регина", ["regional_rep"], region="Север")
        yuri = await person(core, 21, "Юрий", ["regional_rep"], region="Юг")
        olga = await person(core, 30, "Ольга", ["representative"])

        # October: Сад orders 100 ₽; 1C ships it on 5 November.
        october = await order(core, anna, regina, "100.00")
        clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
        await shipped_by_1c(core, october, "05.11.2026")
        # November: Сад 200 ₽ (shipped on the 20th) and 300 ₽ still waiting for approval; Лес 500 ₽; Поле 700 ₽,
        # which 1C ships on 3 December.
        november = await order(core, anna, regina, "200.00")
        await order(core, anna, None, "300.00")
        await order(core, lev, regina, "500.00")
        december = await order(core, polina, yuri, "700.00")
        clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
        await shipped_by_1c(core, november, "2026-11-20")
        await shipped_by_1c(core, december, "2026-12-03")

        d = Decimal
        everyone = {
            "ООО Сад": (1, d("200.00"), 2, d("300.00")),
            "ООО Лес": (1, d("500.00"), 0, d(0)),
            "ООО Поле": (1, d("700.00"), 0, d(0)),
        }
        assert await figures_of(core, olga) == everyone
        # The regional representative: the dealers of their region only; a dealer: their own only.
        assert await figures_of(core, regina) == {k: everyone[k] for k in ("ООО Сад", "ООО Лес")}
        assert await figures_of(core, yuri) == {"ООО Поле": everyone["ООО Поле"]}
        assert await figures_of(core, anna) == {"ООО Сад": everyone["ООО Сад"]}
        assert await figures_of(core, lev) == {"ООО Лес": everyone["ООО Лес"]}
        # Other periods: October's order is last month's; the quarter has December's shipment too.
        assert await figures_of(core, olga, "last_month") == {"ООО Сад": (1, d("100.00"), 0, d(0))}
        quarter = {
            "ООО Сад": (2, d("300.00"), 2, d("300.00")),
            "ООО Лес": (1, d("500.00"), 0, d(0)),
            "ООО Поле": (1, d("700.00"), 1, d("700.00")),
        }
        assert await figures_of(core, olga, "quarter") == quarter
        assert await figures_of(core, olga, "year") == quarter
        # A dealer's staff member without the manager's role gets no figures at all.
        with pytest.raises(access.AccessDenied):
            await figures_of(core, stas)
    finally:
        await core.close()
