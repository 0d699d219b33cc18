"""Organisations from 1C: the `Контрагенты` of 1C's CommerceML 2 documents (type=sale) and of a classifier's
`Контрагенты` block are upserted by 1C's `Ид`, else by INN — a new one becomes a dealer without people, a known
one's details change through the admin's checks and audit (marked as 1C's), a wrong INN is skipped with a line
saying so and nothing else is lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import func, select

from app.container import build_core
from app.settings import Settings
from db.models import Company, User
from services import companies
from services.core import Core
from services.sales_exchange import SalesExchange
from tests.conftest import Harness
from tests.test_onec_exchange_e2e import _exchange


def contragent(onec_id: str, name: str, inn: str, kpp: str = "", role: str = "Покупатель", extra: str = "") -> str:
    kpp_tag = f"<КПП>{kpp}</КПП>" if kpp else ""
    return (
        f"<Контрагент><Ид>{onec_id}</Ид><Наименование>{name}</Наименование>"
        f"<ОфициальноеНаименование>{name}</ОфициальноеНаименование><Роль>{role}</Роль>"
        f"<ИНН>{inn}</ИНН>{kpp_tag}{extra}</Контрагент>"
    )


GARDEN_1C = contragent(
    "b2f1-sad", "ООО «Сад и огород»", "7707083893", "770701001",
    extra=(
        "<АдресРегистрации><Представление>Москва, ул. Садовая, 1</Представление></АдресРегистрации>"
        "<Контакты><Контакт><Тип>Телефон рабочий</Тип><Значение>+7 495 123-45-67</Значение></Контакт>"
        "<Контакт><Тип>Почта</Тип><Значение>sad@example.ru</Значение></Контакт></Контакты>"
        # A representative's nested counterparty is a person, not an organisation of ours.
        "<Представители><Представитель><Отношение>Контактное лицо</Отношение>"
        "<Контрагент><Ид>p-1</Ид><Наименование>Иванов И.И.</Наименование></Контрагент>"
        "</Представитель></Представители>"
    ),
)  # fmt: skip


def document(number: int, *parties: str) -> str:
    return (
        f"<Документ><Ид>{number}</Ид><Номер>{number}</Номер><Дата>2026-12-02</Дата>"
        "<ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль><Валюта>руб</Валюта><Курс>1</Курс>"
        f"<Сумма>100.00</Сумма><Контрагенты>{''.join(parties)}</Контрагенты></Документ>"
    )


def commerceml(*parts: str) -> bytes:
    xml = (
        '<?xml version="1.0" encoding="windows-1251"?>'
        '<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.05"'
        ' ДатаФормирования="2026-12-02T10:00:00">' + "".join(parts) + "</КоммерческаяИнформация>"
    )
    return xml.encode("cp1251")


# Two orders of the same dealer, a new dealer, one whose INN fails its check digits, and us as the seller;
# the classifier block names one more dealer.
FILE = commerceml(
    "<Классификатор><Ид>cl-1</Ид><Наименование>Контрагенты</Наименование><Контрагенты>"
    + contragent("c3d4-les", "ИП Лесников", "500100732259")
    + "</Контрагенты></Классификатор>",
    document(9001, GARDEN_1C, contragent("our-firm", "ООО Штига", "7707083893", role="Продавец")),
    document(9002, GARDEN_1C),
    document(
        9003, contragent("a1-new", "ООО Новый дилер", "7736050003"), contragent("bad-1", "ООО Кривой", "7707083894")
    ),
)


async def apply(core: Core, content: bytes) -> companies.FromOneC:
    async with core.sessionmaker() as session, session.begin():
        return (await SalesExchange(core, session).apply(content)).organisations


async def test_1c_counterparties_become_our_dealers(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            garden = await companies.create_organisation(
                session, "dealer", "ООО Сад", None, core.clock.now(), {"inn": "7707083893", "region": "Москва"}
            )
            garden_id = garden.id

        result = await apply(core, FILE)
        assert (result.created, result.updated, result.unchanged) == (2, 1, 0)
        assert result.skipped == ["«ООО Кривой» (Ид bad-1): INN 7707083894 is not valid, skipped"]

        async with core.sessionmaker() as session:
            rows = {c.name: c for c in (await session.scalars(select(Company))).all()}
            assert sorted(rows) == ["ИП Лесников", "ООО «Сад и огород»", "ООО Новый дилер"]
            garden = rows["ООО «Сад и огород»"]
            assert garden.id == garden_id  # found by INN, renamed, and now known by 1C's Ид
            assert (garden.onec_id, garden.kpp, garden.region) == ("b2f1-sad", "770701001", "Москва")
            assert garden.contacts == (
                "Адрес: Москва, ул. Садовая, 1; Телефон рабочий: +7 495 123-45-67; Почта: sad@example.ru"
            )
            new = rows["ООО Новый дилер"]
            assert (new.kind, new.inn, new.onec_id) == ("dealer", "7736050003", "a1-new")
            assert rows["ИП Лесников"].inn == "500100732259"
            people = await session.scalar(
                select(func.count()).select_from(User).where(User.organisation_id.is_not(None))
            )
            assert people == 0  # dealers without people: an admin invites them
            history = await companies.Organisations(core, session).history(garden_id)
            from_1c = [(a.actor_id, a.data.get("via"), a.data.get("field")) for a in history if a.data.get("via")]
            assert from_1c == [(None, "1C", "name"), (None, "1C", "kpp"), (None, "1C", "contacts")]

        # The same file again changes nothing; 1C renaming the dealer is found by its Ид, whatever the INN says.
        again = await apply(core, FILE)
        assert (again.created, again.updated, again.unchanged, len(again.skipped)) == (0, 0, 3, 1)
        renamed = commerceml(document(9004, contragent("a1-new", "ООО Новый дилер Юг", "7736050003")))
        assert (await apply(core, renamed)).updated == 1
        async with core.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(Company)) == 3
            assert await session.scalar(select(Company.name).where(Company.onec_id == "a1-new")) == "ООО Новый дилер Юг"
    finally:
        await core.close()


async def test_1c_sends_its_counterparties_over_the_exchange_and_is_told_what_was_skipped(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness, onec = await _exchange(harness_factory)
    assert (await onec.checkauth())[0] == "success"
    status, answer = await onec.call("file", kind="sale", filename="orders-7.xml", body=FILE)
    assert status == 200
    assert answer.split("\n") == [
        "success",
        "moved 0, unchanged 0, unknown 3",
        "organisations: created 3, updated 0, unchanged 0, skipped 1",
        "documents: attached 0, removed 0, unchanged 0, unknown 0",
        "«ООО Кривой» (Ид bad-1): INN 7707083894 is not valid, skipped",
    ]
    async with harness.core.sessionmaker() as session:
        dealers = (await session.scalars(select(Company.name).where(Company.kind == "dealer"))).all()
    assert sorted(dealers) == ["ИП Лесников", "ООО «Сад и огород»", "ООО Новый дилер"]
