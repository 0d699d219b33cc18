"""Organisations from 1C's catalogue exchange: an import.xml that carries 1C's counterparties (`Контрагенты`, in
the classifier or at the top of the document, with or without the urn:1C.ru:commerceml_2 namespace) makes them our
organisations — found by 1C's Ид, else by INN, never twice, an INN that fails its check digits skipped with a line
saying so — through `konveyer catalog import FILE` and through the exchange as 1C calls it; `konveyer catalog
stats --json` counts them beside the catalogue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli import main
from db.engine import make_engine, make_sessionmaker, migrate
from db.models import Company
from services import catalogue, companies
from tests import commerceml as cml
from tests.conftest import START, Harness
from tests.test_onec_exchange_e2e import _exchange

GARDEN = (
    "<Контрагент><Ид>b2f1-sad</Ид><Наименование>ООО «Сад и огород»</Наименование>"
    "<ПолноеНаименование>Общество с ограниченной ответственностью «Сад и огород»</ПолноеНаименование>"
    "<Роль>Покупатель</Роль><ИНН>7707083893</ИНН><КПП>770701001</КПП>"
    "<АдресРегистрации><Представление>Москва, ул. Садовая, 1</Представление></АдресРегистрации>"
    "<Контакты><Контакт><Тип>Телефон рабочий</Тип><Значение>+7 495 123-45-67</Значение></Контакт>"
    "<Контакт><Тип>Почта</Тип><Значение>sad@example.ru</Значение></Контакт></Контакты>"
    # A representative's nested counterparty is a person of the dealer, not an organisation of ours.
    "<Представители><Представитель><Отношение>Контактное лицо</Отношение>"
    "<Контрагент><Ид>p-1</Ид><Наименование>Иванов И.И.</Наименование></Контрагент>"
    "</Представитель></Представители></Контрагент>"
)
FORESTER = (  # a sole trader: a 12-digit INN, no KPP; its name only in full, its address as Адрес
    "<Контрагент><Ид>c3d4-les</Ид><ПолноеНаименование>ИП Лесников Пётр Ильич</ПолноеНаименование>"
    "<ИНН>500100732259</ИНН><Адрес><Представление>Тверь, ул. Лесная, 5</Представление></Адрес></Контрагент>"
)
NEW_DEALER = (
    "<Контрагент><Ид>a1-new</Ид><Наименование>ООО Новый дилер</Наименование><ИНН>7736050003</ИНН>"
    "<КПП>773601001</КПП></Контрагент>"
)
WRONG_INN = "<Контрагент><Ид>bad-1</Ид><Наименование>ООО Кривой</Наименование><ИНН>7707083894</ИНН></Контрагент>"
SELLER = (  # the maker itself: that is us
    "<Контрагент><Ид>org-1</Ид><Наименование>ООО «Завод»</Наименование><Роль>Продавец</Роль>"
    "<ИНН>7702070139</ИНН></Контрагент>"
)
COUNTERPARTIES = f"<Контрагенты>{GARDEN}{FORESTER}{NEW_DEALER}{WRONG_INN}{SELLER}</Контрагенты>"
CATALOGUE = {"groups": 5, "products": 5, "offers": 0, "price_types": 0, "prices": 0, "warehouses": 0, "stock": 0}
READ = {"organisations": 4, "organisations_created": 2, "organisations_updated": 1, "organisations_skipped": 1}


def import_xml(namespace: bool) -> str:
    """The 2.08 import.xml of tests/commerceml.py with 1C's counterparties: in the classifier (namespaced), or at
    the top of the document, after the catalogue (without the namespace)."""
    text = cml.import_xml("2.08", namespace=namespace)
    if namespace:
        return text.replace("</Классификатор>", COUNTERPARTIES + "</Классификатор>")
    return text.replace("</КоммерческаяИнформация>", COUNTERPARTIES + "</КоммерческаяИнформация>")


async def _companies(database_url: str) -> dict[str, Company]:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return {c.name: c for c in (await session.scalars(select(Company))).all()}
    finally:
        await engine.dispose()


async def _an_admins_dealer(database_url: str) -> int:
    """The dealer an admin made before 1C sent anything: the same INN as 1C's «Сад и огород»."""
    engine = make_engine(database_url)
    await migrate(engine)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            garden = await companies.create_organisation(
                session, "dealer", "ООО Сад", None, START, {"inn": "7707083893", "region": "Москва"}
            )
            return garden.id
    finally:
        await engine.dispose()


async def _konveyer(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """`konveyer …` as an admin runs it (its own event loop, in a thread of its own)."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    return code, capsys.readouterr().out


@pytest.mark.parametrize("namespace", [True, False], ids=["namespace-classifier", "no-namespace-top"])
async def test_konveyer_catalog_import_makes_1c_counterparties_our_organisations(
    namespace: bool,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    garden_id = await _an_admins_dealer(database_url)
    path = cml.write(tmp_path, "import.xml", import_xml(namespace))

    code, out = await _konveyer(capsys, "catalog", "import", str(path), "--database-url", database_url)
    assert code == 0, out
    said = out.splitlines()
    assert said[0].startswith("import ") and all(f"{key} {value}" in said[0] for key, value in READ.items())
    assert said[1] == "organisation «ООО Кривой» (Ид bad-1): INN 7707083894 is not valid, skipped"

    code, out = await _konveyer(capsys, "catalog", "stats", "--json", "--database-url", database_url)
    assert code == 0 and json.loads(out) == {**CATALOGUE, "organisations": 3}

    found = await _companies(database_url)
    assert sorted(found) == ["ИП Лесников Пётр Ильич", "ООО «Сад и огород»", "ООО Новый дилер"]
    garden = found["ООО «Сад и огород»"]
    assert garden.id == garden_id  # found by INN: renamed as 1C names it, and now known by 1C's Ид
    assert (garden.onec_id, garden.inn, garden.kpp, garden.region) == ("b2f1-sad", "7707083893", "770701001", "Москва")
    assert garden.contacts == "Адрес: Москва, ул. Садовая, 1; Телефон рабочий: +7 495 123-45-67; Почта: sad@example.ru"
    forester = found["ИП Лесников Пётр Ильич"]
    assert (forester.kind, forester.onec_id, forester.inn, forester.kpp) == ("dealer", "c3d4-les", "500100732259", None)
    assert forester.contacts == "Адрес: Тверь, ул. Лесная, 5"
    assert (found["ООО Новый дилер"].onec_id, found["ООО Новый дилер"].kpp) == ("a1-new", "773601001")

    # The same file again: every organisation found by its Ид, nothing created twice, nothing changed.
    code, out = await _konveyer(capsys, "catalog", "import", str(path), "--database-url", database_url)
    assert code == 0 and "organisations 4, organisations_created 0" in out and "organisations_updated 0" in out
    assert len(await _companies(database_url)) == 3


async def test_1c_sends_its_counterparties_with_the_catalogue_over_the_exchange(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness, onec = await _exchange(harness_factory)
    # Two exchanges, as 1C runs them: the second finds the organisations the first made, and makes none twice.
    for namespace, created in ((True, 3), (False, 0)):
        assert (await onec.checkauth())[0] == "success"
        assert (await onec.call("init"))[1].startswith("zip=yes")
        await onec.send("import.xml", import_xml(namespace).encode(), 1 << 20)
        answer, _calls = await onec.load("import.xml")
        assert answer[0] == "success", answer
        counts = dict(item.rsplit(" ", 1) for item in answer[1].split(", "))
        assert {key: value for key, value in counts.items() if key.startswith("organisations")} == {
            "organisations": "4",
            "organisations_created": str(created),
            "organisations_updated": "0",
            "organisations_skipped": "1",
        }
        assert (await onec.call("complete"))[1] == "success"

    async with harness.core.sessionmaker() as session:
        stats = await catalogue.stats(session)
        assert stats == {**CATALOGUE, "organisations": 3}
        dealers = (await session.scalars(select(Company.onec_id).order_by(Company.onec_id))).all()
        assert dealers == ["a1-new", "b2f1-sad", "c3d4-les"]
        assert await session.scalar(select(func.count()).select_from(Company).where(Company.name == "ООО Кривой")) == 0
