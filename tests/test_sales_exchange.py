"""The sale side of 1C's exchange, below HTTP: what `mode=query` sends (approved orders only, until 1C confirms
them with `mode=success`; an order approved after the query waits for the next one), and what 1C's documents do to
the order cases (forward only, never past an approval, not for orders we do not have, no DTD)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from app.container import build_core
from app.settings import Settings
from db.models import Case, User
from flows.loader import load_library
from integrations.onec.importer import import_files
from services import companies
from services import people as people_repo
from services.cases.service import CaseService
from services.core import Core
from services.sales_exchange import ONEC_STATUSES, BadDocument, SalesExchange, parse_documents, status_key
from tests import commerceml as cml
from tests.test_dealer_portal_e2e import status_document

POSITION = {"product": "guid-7", "name": "Газонокосилка", "article": "2L0481848", "quantity": 2}


async def people(core: Core) -> tuple[User, User]:
    async with core.sessionmaker() as session, session.begin():
        now = core.clock.now()
        garden = await companies.create_organisation(
            session, "dealer", "ООО Сад", None, now, {"inn": "7707083893", "price": "Оптовая"}
        )
        anna = await people_repo.register(session, tg_id=10, name="Анна", username=None, language="ru", now=now)
        anna.organisation_id = garden.id
        regina = await people_repo.register(session, tg_id=11, name="Регина", username=None, language="ru", now=now)
        await people_repo.grant(session, anna.id, ["dealer_manager"])
        await people_repo.grant(session, regina.id, ["regional_rep"])
        return anna, regina


async def order(
    core: Core, anna: User, regina: User, amount: str, *, approve: bool = True, position: dict[str, Any] = POSITION
) -> int:
    """A request as the cart makes it, its form filled, approved by the regional representative."""
    data: dict[str, Any] = {
        "dealer_name": "ООО Сад",
        "positions": [{**position, "price": "100.00", "total": amount}],
        "amount": amount,
    }
    async with core.sessionmaker() as session, session.begin():
        cases = CaseService(core, session)
        anna_row = await session.get(User, anna.id)
        assert anna_row is not None
        loaded = await cases.start(anna_row, "order_request", data)
        start = next(t for t in loaded.state.tasks if t.status == "open")
        values = {"payment_type": "deferred", "delivery_type": "pickup"}
        await cases.submit(anna_row, start.id or 0, "submit", values)
        case_id = loaded.row.id
    if approve:
        async with core.sessionmaker() as session, session.begin():
            cases = CaseService(core, session)
            regina_row = await session.get(User, regina.id)
            assert regina_row is not None
            loaded = await cases.load(case_id)
            task = next(t for t in loaded.state.tasks if t.status == "open")
            await cases.claim(regina_row, task.id or 0)
            await cases.submit(regina_row, task.id or 0, "approve", {})
    return case_id


async def exchange(core: Core, call: str, *args: Any) -> Any:
    async with core.sessionmaker() as session, session.begin():
        return await getattr(SalesExchange(core, session), call)(*args)


def ordered(xml: bytes) -> list[str]:
    return [d["Номер"] for d in parse_documents(xml)]


async def test_query_sends_approved_orders_until_1c_confirms_them(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None))
    try:
        anna, regina = await people(core)
        first = await order(core, anna, regina, "200.00")
        waiting = await order(core, anna, regina, "300.00", approve=False)
        sent = await exchange(core, "query")
        assert ordered(sent) == [str(first)], "only approved orders go to 1C"
        document = etree.fromstring(sent).find("Документ")
        assert document is not None
        assert document.findtext("ХозОперация") == "Заказ товара" and document.findtext("Сумма") == "200.00"
        assert document.findtext("Контрагенты/Контрагент/ИНН") == "7707083893"
        assert document.findtext("Товары/Товар/Ид") == "guid-7" and document.findtext("Товары/Товар/Количество") == "2"
        requisites = {
            r.findtext("Наименование"): r.findtext("Значение")
            for r in document.findall("ЗначенияРеквизитов/ЗначениеРеквизита")
        }
        assert requisites["Метод оплаты"] == "Отсрочка платежа" and requisites["Способ доставки"] == "Самовывоз"

        # No success: the same orders again. Meanwhile another is approved; success covers only what was sent.
        assert ordered(await exchange(core, "query")) == [str(first)]
        later = await order(core, anna, regina, "400.00")
        assert await exchange(core, "success") == 1
        assert ordered(await exchange(core, "query")) == [str(later)]
        assert await exchange(core, "success") == 1
        assert ordered(await exchange(core, "query")) == []

        # 1C's documents: shipped first, then an older «accepted» that must not move it back.
        shipped = status_document(first, [("Дата отгрузки по 1С", "2026-12-03"), ("Номер по 1С", "ЗК-1")])
        result = await exchange(core, "apply", shipped)
        assert result.moved == [first]
        stale = status_document(first, [("Проведен", "true")])
        assert (await exchange(core, "apply", stale)).unchanged == [first]
        # Not approved yet: 1C's word does not skip the approval. Unknown numbers are counted, not guessed.
        assert (await exchange(core, "apply", status_document(waiting, [("Проведен", "true")]))).unchanged == [waiting]
        assert (await exchange(core, "apply", status_document(99999, [("Проведен", "true")]))).unknown == ["99999"]
        # From 300 000 ₽ the representative office approves too: after the region it is not yet 1C's.
        large = await order(core, anna, regina, "350000.00")
        async with core.sessionmaker() as session:
            assert (await session.get(Case, large)).stage == "office_approval"  # type: ignore[union-attr]
        assert ordered(await exchange(core, "query")) == []
        cancelled = status_document(later, [("Отменен", "true")])
        assert (await exchange(core, "apply", cancelled)).moved == [later]
        async with core.sessionmaker() as session:
            stages = {c: (await session.get(Case, c)).stage for c in (first, waiting, later)}  # type: ignore[union-attr]
        assert stages == {first: "shipped", waiting: "region_approval", later: "cancelled"}
    finally:
        await core.close()


def test_a_document_with_a_dtd_or_that_is_not_commerceml_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(BadDocument):
        parse_documents(bomb)
    with pytest.raises(BadDocument):
        parse_documents("<Каталог/>".encode())
    with pytest.raises(BadDocument):
        parse_documents(b"not xml")


def test_1cs_order_statuses_are_kept_by_their_keys_and_an_unknown_one_as_1c_wrote_it() -> None:
    """1C's «Статус заказа» is stored by its key, which order_request's `onec_status` reads in each language; a
    status 1C's configuration added is stored as written, and shown so."""
    library = load_library(Path(__file__).resolve().parent.parent / "flows" / "library")
    options = library["order_request"].spec.fields["onec_status"].options or {}
    assert set(ONEC_STATUSES.values()) == set(options)
    assert status_key("Закрыт") == "closed" and status_key("к выполнению /  в резерве ") == "reserved"
    assert status_key("Ожидается предоплата (до отгрузки)") == "prepayment_before_shipment"
    assert status_key("Отменён") == "cancelled"
    assert status_key("Ждёт машину") == "Ждёт машину"


async def test_an_order_names_each_products_own_unit_to_1c(tmp_path: Path, database_url: str) -> None:
    """1C's catalogue sells brushes by the set («компл»): an order of two sets tells 1C «2 компл», not «2 шт» — a
    piece where 1C counts sets would be another quantity — with the unit's OKEI code, by which 1C finds its unit:
    the code 1C's catalogue gave the product, kept from its import.xml and sent back as it came (704 here); when
    the catalogue gave the name alone (CommerceML 2.04), OKEI's code for that name (839 for «компл»). A product in
    pieces goes as before, «шт» with 796."""
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None))
    try:
        brushes = {"product": "prod-4", "name": "Щётка угольная 6x10", "article": "BR-610", "quantity": 2}
        drills = {**brushes, "product": "prod-1", "name": "Дрель"}
        anna, regina = await people(core)
        for version, code in (("2.04", "839"), ("2.08", "704"), ("2.10", "704")):
            (tmp_path / "import.xml").write_text(cml.import_xml(version), encoding="utf-8")
            await import_files(core.sessionmaker, core.clock, [tmp_path / "import.xml"])
            sets = await order(core, anna, regina, "200.00", position=brushes)
            pieces = await order(core, anna, regina, "200.00", position=drills)
            sent = etree.fromstring(await exchange(core, "query"))
            units = {d.findtext("Номер"): d.find("Товары/Товар/БазоваяЕдиница") for d in sent.iter("Документ")}
            brush, drill = units[str(sets)], units[str(pieces)]
            said = (version, etree.tostring(sent, encoding="unicode"))
            assert brush is not None and (brush.text, brush.get("Код")) == ("компл", code), said
            assert drill is not None and (drill.text, drill.get("Код")) == ("шт", "796"), said
            assert drill.get("НаименованиеПолное") == "Штука" and drill.get("МеждународноеСокращение") == "PCE", said
            await exchange(core, "success")
    finally:
        await core.close()
