"""1C's papers for a dealer's order and the dealer's debt, over the exchange as 1C sends them (type=sale,
mode=file): an invoice in a CommerceML `Контейнер` with the order's own document, a УПД naming the order by 1C's
number in its `Основание`; each becomes a printable Excel file on the order's case with 1C's number, date,
positions, sums and VAT, the dealer is told with a button to get it and sees it in the list of requests; the
same file again attaches nothing, a changed invoice replaces the older version; the other dealer gets nothing,
not even by a forged button. The debt 1C gives on the dealer's `Контрагент` (its mutual settlements) is kept with
its date, shown to the dealer and the approvers, and sends a request above what the limit leaves to the office."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from db.models import Case, Company, OneCDocument, StoredFile
from tests.chat import Person
from tests.conftest import Harness
from tests.test_dealer_portal_e2e import add_to_cart, dealers, status_document
from tests.test_onec_exchange_e2e import OneC, _exchange
from tests.test_organisations_e2e import texts

NS = ' xmlns="urn:1C.ru:commerceml_2"'
GARDEN = (
    "<Контрагент><Ид>b2f1-sad</Ид><Наименование>ООО Сад</Наименование><Роль>Покупатель</Роль>"
    "<ИНН>7707083893</ИНН><КПП>770101001</КПП>{extra}</Контрагент>"
)
US = "<Контрагент><Ид>our</Ид><Наименование>ООО Штига</Наименование><Роль>Продавец</Роль></Контрагент>"


def cml(
    body: str, *, namespace: bool = True, encoding: str = "windows-1251", stamp: str = "2026-12-02T10:00:00"
) -> bytes:
    xml = (
        f'<?xml version="1.0" encoding="{encoding}"?><КоммерческаяИнформация{NS if namespace else ""}'
        f' ВерсияСхемы="2.08" ДатаФормирования="{stamp}">{body}</КоммерческаяИнформация>'
    )
    return xml.encode("cp1251" if encoding == "windows-1251" else "utf-8")


def goods(*lines: tuple[str, str, str, int, str, str, str]) -> str:
    """Positions: (1C Ид, article, name, quantity, price, sum, VAT in the sum) at 20 %."""
    return (
        "<Товары>"
        + "".join(
            f"<Товар><Ид>{pid}</Ид><Артикул>{article}</Артикул><Наименование>{name}</Наименование>"
            f'<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>'
            f"<ЦенаЗаЕдиницу>{price}</ЦенаЗаЕдиницу><Количество>{quantity}</Количество><Сумма>{total}</Сумма>"
            f"<СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога>"
            f"</СтавкиНалогов><Налоги><Налог><Наименование>НДС</Наименование><УчтеноВСумме>true</УчтеноВСумме>"
            f"<Сумма>{vat}</Сумма><Ставка>20</Ставка></Налог></Налоги></Товар>"
            for pid, article, name, quantity, price, total, vat in lines
        )
        + "</Товары>"
    )


COMBI = ("guid-0", "2L0481848", "Газонокосилка STIGA Combi 48")


def paper(
    operation: str, onec_id: str, version: str, number: str, amount: str, vat: str, lines: str, extra: str = ""
) -> str:
    return (
        f"<Документ><Ид>{onec_id}</Ид><НомерВерсии>{version}</НомерВерсии><Номер>{number}</Номер>"
        f"<Дата>2026-12-02</Дата><ХозОперация>{operation}</ХозОперация><Роль>Продавец</Роль><Валюта>руб</Валюта>"
        f"<Курс>1</Курс><Сумма>{amount}</Сумма><Контрагенты>{GARDEN.format(extra='')}{US}</Контрагенты>"
        f"<Время>10:00:00</Время><СрокПлатежа>2026-12-09</СрокПлатежа>{extra}<Налоги><Налог><Наименование>НДС"
        f"</Наименование><УчтеноВСумме>true</УчтеноВСумме><Сумма>{vat}</Сумма></Налог></Налоги>{lines}</Документ>"
    )


def invoice_in_container(case_id: int, version: str = "1", quantity: int = 2) -> bytes:
    """CommerceML 3's way (Bitrix reads it so): the order's document and its invoice in one `Контейнер`."""
    total = 31500 * quantity
    lines = goods((*COMBI, quantity, "31500.00", f"{total}.00", f"{total / 6:.2f}"))
    order = (
        f"<Документ><Ид>{case_id}</Ид><Номер>{case_id}</Номер><Дата>2026-12-01</Дата>"
        "<ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль><Валюта>руб</Валюта><Курс>1</Курс>"
        f"<Сумма>63000.00</Сумма></Документ>"
    )
    invoice = paper("Счет на оплату", "inv-7c1e", version, "СЧ-000045", f"{total}.00", f"{total / 6:.2f}", lines)
    return cml(f"<Контейнер>{order}{invoice}</Контейнер>")


def upd_by_ground() -> bytes:
    """A shipment (УПД) naming the order by 1C's number in its `Основание`; no namespace, UTF-8 with a BOM."""
    lines = goods((*COMBI, 2, "31500.00", "63000.00", "10500.00"))
    ground = "<Основание>Заказ клиента ЗК-000123 от 02.12.2026</Основание>"
    kind = (
        "<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Вид документа</Наименование>"
        "<Значение>УПД (статус 1)</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>"
    )
    body = paper("Отпуск товара", "upd-90af", "3", "РН-77", "63000.00", "10500.00", lines, ground + kind)
    return b"\xef\xbb\xbf" + cml(body, namespace=False, encoding="UTF-8")


async def order(anna: Person, regina: Person) -> None:
    await add_to_cart(anna, "Combi", "Газонокосилка STIGA Combi 48")
    await anna.send("/cart")
    cart = await anna.expect("Ваша корзина")
    await anna.press("➕ №1", cart)
    await anna.press("Оформить заявку", await anna.wait_for("Ваша корзина", "× 2"))  # the same message, edited
    await anna.press("Предоплата", await anna.expect("Оплата"))
    await anna.press("Самовывоз", await anna.expect("Доставка"))
    await anna.press("Пропустить", await anna.expect("Комментарий"))
    await anna.press("Подтвердить", await anna.expect("Проверьте"))
    await anna.expect("передана на согласование")


async def sent(onec: OneC, name: str, body: bytes) -> list[str]:
    status, answer = await onec.call("file", kind="sale", filename=name, body=body)
    assert status == 200, answer
    return answer.split("\n")


async def sheet_of(person: Person, caption: str, before: int) -> list[list[object]]:
    """The newest document (with this caption) after the `before` ones she had, read as a workbook."""
    for _ in range(100):
        found = [m for m in await person.bot_messages() if m.get("document") and caption in (m.get("text") or "")]
        if len(found) > before:
            break
        await asyncio.sleep(0.1)  # the outbox sends it in a moment
    assert len(found) > before, f"{person.name} got no document {caption!r}"
    book = load_workbook(io.BytesIO(await person.download(found[-1]["document"]["url"])))
    assert book.active is not None
    return [list(row) for row in book.active.iter_rows(values_only=True)]


async def test_1c_papers_become_files_on_the_order_and_only_its_dealer_gets_them(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, boris, regina = people["anna"], people["boris"], people["regina"]
    await order(anna, regina)
    async with harness.core.sessionmaker() as session:
        case_id = (await session.execute(select(Case.id).where(Case.process == "order_request"))).scalar_one()
    await regina.press("Согласовать", await regina.card("Согласуйте заявку дилера", "ООО Сад", button="Согласовать"))
    await anna.expect("одобрена и передаётся в 1С")
    accepted = status_document(case_id, [("Номер по 1С", "ЗК-000123")])
    assert (await sent(onec, "orders-1.xml", accepted))[0] == "success"
    await anna.expect("принята в 1С под номером ЗК-000123")

    # The invoice, in a container with the order: a file on the case, Anna told with a button.
    answer = await sent(onec, "documents-1.xml", invoice_in_container(case_id))
    assert answer[:2] == ["success", "moved 0, unchanged 1, unknown 0"], answer
    assert "documents: attached 1, removed 0, unchanged 0, unknown 0" in answer
    # The case is named in brackets: «по №12 · …» would need a declension no template can make.
    told = await anna.expect("Из 1С пришёл документ «Счёт на оплату № СЧ-000045 от 02.12.2026» (дело №", f"№{case_id}")
    await anna.press("Получить документ", told)
    rows = await sheet_of(anna, "Документ из 1С", 0)
    assert rows[0][0] == "Счёт на оплату № СЧ-000045 от 02.12.2026 (версия 1)"
    assert ["Продавец", "ООО Штига"] == rows[1][:2] and ["Покупатель", "ООО Сад"] == rows[2][:2]
    assert ["Оплатить до", "09.12.2026"] == rows[4][:2]
    header = next(i for i, r in enumerate(rows) if r[0] == "№")
    assert rows[header][:9] == ["№", "Артикул", "Наименование", "Ед.", "Количество", "Цена", "Ставка НДС", "НДС",
                                "Сумма"] or rows[header][2] == "Наименование товара"  # fmt: skip
    assert rows[header + 1][:9] == [1, "2L0481848", "Газонокосилка STIGA Combi 48", "шт", 2, 31500, "20%", 10500,
                                    63000]  # fmt: skip
    assert [r[7:9] for r in rows[header + 3 :]] == [["Итого, руб", 63000], ["в т. ч. НДС", 10500]]

    # The same file again: nothing attached, nobody told again.
    again = await sent(onec, "documents-2.xml", invoice_in_container(case_id))
    assert "documents: attached 0, removed 0, unchanged 1, unknown 0" in again

    # The УПД names the order by 1C's number only.
    answer = await sent(onec, "documents-3.xml", upd_by_ground())
    assert "documents: attached 1, removed 0, unchanged 0, unknown 0" in answer, answer
    await anna.expect("«УПД № РН-77 от 02.12.2026»")

    # 1C changes the invoice (3 mowers now): a new version replaces the old on the case.
    answer = await sent(onec, "documents-4.xml", invoice_in_container(case_id, version="2", quantity=3))
    assert "documents: attached 1, removed 0, unchanged 0, unknown 0" in answer
    changed = await anna.expect("1С изменила документ «Счёт на оплату № СЧ-000045 от 02.12.2026»")
    await anna.press("Получить документ", changed)
    rows = await sheet_of(anna, "Документ из 1С", 1)
    assert rows[0][0].endswith("(версия 2)") and any(r[4] == 3 and r[8] == 94500 for r in rows if len(r) > 8)

    async with harness.core.sessionmaker() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        refs = case.data["onec_documents"]
        assert len(refs) == 2 and all(r["name"].endswith(".xlsx") for r in refs)
        versions = (
            await session.execute(select(OneCDocument.kind, OneCDocument.version).order_by(OneCDocument.id))
        ).all()
        assert [tuple(v) for v in versions] == [("invoice", "1"), ("upd", "3"), ("invoice", "2")]
        old_file = (await session.scalars(select(OneCDocument.file_id).order_by(OneCDocument.id))).first()
        assert old_file is not None and old_file not in {r["id"] for r in refs}
        assert (
            await session.scalar(select(func.count()).select_from(StoredFile).where(StoredFile.case_id == case_id)) == 3
        )

    # Her list: the request with its two current papers, a button for each.
    await anna.send("/orders")
    listed = await anna.expect("Заявки, сначала новые", f"№{case_id}")
    assert "📄 Счёт на оплату № СЧ-000045 от 02.12.2026" in listed["text"]
    assert "📄 УПД № РН-77 от 02.12.2026" in listed["text"]
    await anna.press("УПД № РН-77", listed)
    rows = await sheet_of(anna, "Документ из 1С", 2)
    assert rows[0][0] == "УПД № РН-77 от 02.12.2026 (версия 3)"

    # Boris, of the other dealer, forges the button with the case's and the file's numbers: refused, no file.
    await boris.send("/orders")
    his = await boris.expect("Заявок пока нет")
    for file_id in [r["id"] for r in refs] + [old_file]:
        refused = await boris.press_data(his["message_id"], f"c:doc:{case_id}:{file_id}", unchecked=True)
        assert refused == "У вас нет доступа к этому делу.", refused
    await harness.settle()
    assert await boris.documents() == []
    assert "СЧ-000045" not in await texts(boris) and "РН-77" not in await texts(boris)
    # Anna cannot get the replaced version through her own case either: only the case's current files.
    refused = await anna.press_data(listed["message_id"], f"c:doc:{case_id}:{old_file}", unchecked=True)
    assert refused == "Этого документа больше нет в заявке."


async def test_1c_gives_the_dealers_debt_which_the_approval_rule_reads(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, regina, rita = people["anna"], people["regina"], people["rita"]
    async with harness.core.sessionmaker() as session:
        garden_id = (await session.execute(select(Company.id).where(Company.name == "ООО Сад"))).scalar_one()
    await harness.admin.send(f"/org_set {garden_id} limit=500000")
    await harness.admin.expect("ООО Сад")

    # 1C's counterparty with its mutual settlements (as of the file's date when no date is given).
    settlements = (
        "<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Задолженность</Наименование>"
        "<Значение>480000.00</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>"
    )
    body = f"<Классификатор><Ид>cl</Ид><Наименование>Контрагенты</Наименование><Контрагенты>" \
           f"{GARDEN.format(extra=settlements)}</Контрагенты></Классификатор>"  # fmt: skip
    answer = await sent(onec, "contragents-1.xml", cml(body))
    assert "organisations: created 0, updated 1, unchanged 0, skipped 0" in answer, answer
    # An older figure, sent late, does not overwrite it; the same one again changes nothing.
    older = GARDEN.format(extra=(
        "<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Долг</Наименование><Значение>100</Значение>"
        "</ЗначениеРеквизита><ЗначениеРеквизита><Наименование>Дата задолженности</Наименование>"
        "<Значение>01.11.2026</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>"))  # fmt: skip
    assert "organisations: created 0, updated 0, unchanged 1, skipped 0" in await sent(
        onec, "contragents-2.xml", cml(f"<Классификатор><Ид>cl</Ид><Контрагенты>{older}</Контрагенты></Классификатор>")
    )
    async with harness.core.sessionmaker() as session:
        garden = await session.get(Company, garden_id)
        assert garden is not None
        assert (garden.data["debt"], garden.data["debt_on"], garden.data["credit_limit"]) == (
            "480000.00", "2026-12-02", "500000.00")  # fmt: skip

    # The admin's card of the organisation says it and its date.
    await harness.admin.send(f"/org {garden_id}")
    await harness.admin.expect("ООО Сад", "Долг по данным 1С на 02.12.2026: 480\xa0000,00 ₽")

    # Anna sees it over her list; her 63 000 ₽ request is above the 20 000 ₽ the limit leaves: the office approves.
    await anna.send("/orders")
    await anna.expect("Ваш долг по данным 1С на 02.12.2026: 480\xa0000,00\xa0₽", "остаток 20\xa0000,00\xa0₽")
    await order(anna, regina)
    task = await regina.card("Согласуйте заявку дилера", "ООО Сад", button="Согласовать")
    assert "Долг дилера по 1С на 02.12.2026: 480\xa0000,00 ₽" in task["text"]
    assert "Сумма больше остатка кредитного лимита" in task["text"]
    await regina.press("Согласовать", task)
    office = await rita.card("Согласуйте заявку дилера от представительства", button="Согласовать")
    assert "Долг дилера по 1С на 02.12.2026" in office["text"]
    async with harness.core.sessionmaker() as session:
        case = (await session.execute(select(Case).where(Case.process == "order_request"))).scalar_one()
        assert case.stage == "office_approval"
        assert (case.data["credit_debt"], case.data["credit_debt_on"], case.data["over_credit"]) == (
            "480000.00", "2026-12-02", True)  # fmt: skip


async def test_papers_name_their_order_every_way_1c_does_and_strangers_are_counted(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Without a container or an `Основание`: a requisite «Номер заказа на сайте», or `Основания/Основание/Номер`;
    a document for an order we do not have is counted as unknown and changes nothing; a deleted one (1C's
    `ПометкаУдаления`) leaves the case without its file."""
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, regina = people["anna"], people["regina"]
    await order(anna, regina)
    async with harness.core.sessionmaker() as session:
        case_id = (await session.execute(select(Case.id).where(Case.process == "order_request"))).scalar_one()
    assert (await onec.checkauth())[0] == "success"
    lines = goods((*COMBI, 2, "31500.00", "63000.00", "10500.00"))
    by_requisite = paper(
        "Счет на оплату", "inv-a", "1", "СЧ-1", "63000.00", "10500.00", lines,
        "<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Номер заказа на сайте</Наименование>"
        f"<Значение>{case_id}</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>",
    )  # fmt: skip
    by_grounds = paper(
        "Реализация товаров и услуг", "ship-b", "1", "РН-2", "63000.00", "10500.00", lines,
        f"<Основания><Основание><Номер>{case_id}</Номер></Основание></Основания>",
    )  # fmt: skip
    stranger = paper("Счет на оплату", "inv-c", "1", "СЧ-3", "1.00", "0.17", lines, "<Основание>99999</Основание>")
    answer = await sent(onec, "documents-1.xml", cml(by_requisite + by_grounds + stranger))
    assert "documents: attached 2, removed 0, unchanged 0, unknown 1" in answer, answer
    await anna.expect("«Счёт на оплату № СЧ-1 от 02.12.2026»")
    await anna.expect("«Реализация товаров (накладная) № РН-2 от 02.12.2026»")
    deleted = by_grounds.replace("<Номер>РН-2</Номер>", "<ПометкаУдаления>true</ПометкаУдаления><Номер>РН-2</Номер>")
    answer = await sent(onec, "documents-2.xml", cml(deleted))
    assert "documents: attached 0, removed 1, unchanged 0, unknown 0" in answer, answer
    async with harness.core.sessionmaker() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        assert [r["name"] for r in case.data["onec_documents"]] == ["invoice_СЧ-1_2026-12-02_v1.xlsx"]
        assert case.stage == "region_approval", "papers do not move the order"
