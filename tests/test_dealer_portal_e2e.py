"""Seed 4 in chat: a dealer finds products with the inline search (`@bot косилка`) at their own prices only, puts
three positions into the cart and orders them; the regional representative and the office approve; 1C takes the
order over the exchange and later sends its status back, which moves the case. A dealer's service engineer files
a reclamation from a product's card and adds a part from the catalogue; it runs to the end. The other dealer sees
none of it — not the prices, not the requests, not the reclamation."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import get_args

from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from db.models import Case, User
from flows.model import StageColour
from integrations.onec.importer import import_files
from services.sales_exchange import parse_documents
from tests.chat import Person
from tests.conftest import Harness, library_with
from tests.test_onec_exchange_e2e import OneC, _exchange
from tests.test_organisations_e2e import dealer_person, organisation, texts
from tgbot.portal_view import MARKS

GROUPS = ("Газонокосилки", "Триммеры", "Запчасти")
IMAGE = "import_files/t1/guid-1.jpg"  # the Twinclip's photo, as 1C names the files it sends with the package
# name, article, barcode, group, wholesale price, retail price, stock in Moscow, stock in Kazan
PRODUCTS = [
    ("Газонокосилка STIGA Combi 48", "2L0481848", "8019720000011", "Газонокосилки", "31500", "39900", "4", "2"),
    ("Газонокосилка STIGA Twinclip 55", "2L0556848", "8019720000028", "Газонокосилки", "52000", "64900", "0", "3"),
    ("Газонокосилка STIGA Multiclip 50", "2L0500848", "8019720000035", "Газонокосилки", "44000", "54900", "0", "0"),
    ("Триммер STIGA SBC 900", "2T1090048", "8019720000042", "Триммеры", "18700", "23500", "7", "0"),
    ("Нож для газонокосилки 48 см", "1111-9101-01", "8019720000059", "Запчасти", "1350", "1900", "25", "10"),
]


def garden_package(folder: Path) -> list[Path]:
    """import.xml and offers.xml as 1C writes them (CommerceML 2.08): groups nested under «Садовая техника», two
    price types, stock by warehouse as `Склад` attributes."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" '
        'ВерсияСхемы="2.08" ДатаФормирования="2026-12-01T08:00:00">'
    )
    groups = "".join(f"<Группа><Ид>g-{g}</Ид><Наименование>{g}</Наименование></Группа>" for g in GROUPS)
    picture = f"<Картинка>{IMAGE}</Картинка>"
    goods = "".join(
        f"<Товар><Ид>guid-{n}</Ид><Штрихкод>{barcode}</Штрихкод><Артикул>{article}</Артикул>"
        f'<Наименование>{name}</Наименование><БазоваяЕдиница Код="796" НаименованиеПолное="Штука" '
        f'МеждународноеСокращение="PCE">шт</БазоваяЕдиница><Группы><Ид>g-{group}</Ид></Группы>'
        f"{picture if n == 1 else ''}</Товар>"
        for n, (name, article, barcode, group, *_rest) in enumerate(PRODUCTS)
    )
    catalogue_xml = (
        f"{head}<Классификатор><Ид>cls-1</Ид><Наименование>Классификатор</Наименование><Группы><Группа>"
        f"<Ид>g-root</Ид><Наименование>Садовая техника</Наименование><Группы>{groups}</Группы></Группа></Группы>"
        f'</Классификатор><Каталог СодержитТолькоИзменения="false"><Ид>cat-1</Ид><ИдКлассификатора>cls-1'
        f"</ИдКлассификатора><Наименование>Каталог</Наименование><Товары>{goods}</Товары></Каталог>"
        f"</КоммерческаяИнформация>\n"
    )
    kinds = "".join(
        f"<ТипЦены><Ид>{pid}</Ид><Наименование>{name}</Наименование><Валюта>RUB</Валюта></ТипЦены>"
        for pid, name in (("pt-opt", "Оптовая"), ("pt-rozn", "Розничная"))
    )
    stores = "".join(
        f"<Склад><Ид>{wid}</Ид><Наименование>{name}</Наименование></Склад>"
        for wid, name in (("w-msk", "Склад Москва"), ("w-kzn", "Склад Казань"))
    )
    offers = "".join(
        f"<Предложение><Ид>guid-{n}</Ид><Наименование>{name}</Наименование><Цены>"
        f"<Цена><ИдТипаЦены>pt-opt</ИдТипаЦены><ЦенаЗаЕдиницу>{opt}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена>"
        f"<Цена><ИдТипаЦены>pt-rozn</ИдТипаЦены><ЦенаЗаЕдиницу>{rozn}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена>"
        f"</Цены><Количество>{int(msk) + int(kzn)}</Количество>"
        f'<Склад ИдСклада="w-msk" КоличествоНаСкладе="{msk}"/><Склад ИдСклада="w-kzn" КоличествоНаСкладе="{kzn}"/>'
        f"</Предложение>"
        for n, (name, _article, _barcode, _group, opt, rozn, msk, kzn) in enumerate(PRODUCTS)
    )
    offers_xml = (
        f'{head}<ПакетПредложений СодержитТолькоИзменения="false"><Ид>cat-1#</Ид><Наименование>Пакет предложений'
        f"</Наименование><ИдКаталога>cat-1</ИдКаталога><ИдКлассификатора>cls-1</ИдКлассификатора>"
        f"<ТипыЦен>{kinds}</ТипыЦен><Склады>{stores}</Склады><Предложения>{offers}</Предложения>"
        f"</ПакетПредложений></КоммерческаяИнформация>\n"
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "import.xml").write_text(catalogue_xml, encoding="utf-8")
    (folder / "offers.xml").write_text(offers_xml, encoding="utf-8")
    return [folder / "import.xml", folder / "offers.xml"]


async def load_catalogue(harness: Harness, folder: Path, onec: OneC | None) -> None:
    """The maker's catalogue: 1C sends it over the exchange (or, without 1C, the importer reads the same files)."""
    files = garden_package(folder)
    if onec is None:
        result = await import_files(harness.core.sessionmaker, harness.core.clock, files)
        assert (result.counts["products"], result.counts["prices"]) == (5, 10), result.counts
        return
    assert (await onec.checkauth())[0] == "success"
    await onec.call("init")
    photo = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 140, 60)).save(photo, format="JPEG")
    await onec.send(IMAGE, photo.getvalue(), 1 << 20)
    for path in files:
        await onec.send(path.name, path.read_bytes(), 1 << 20)
        answer, _ = await onec.load(path.name)
        assert answer[0] == "success", answer


async def dealers(harness: Harness, folder: Path, onec: OneC | None = None) -> dict[str, Person]:
    await load_catalogue(harness, folder, onec)
    await organisation(harness, "ООО Сад region=Москва inn=7707083893 kpp=770101001 price=Оптовая")
    await organisation(harness, "ООО Инструмент region=Казань inn=1655000003 price=Розничная")
    people = {
        "anna": await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера"),
        "sergey": await dealer_person(harness, "Сергей", "ООО Сад", "Сервисник дилера"),
        "boris": await dealer_person(harness, "Борис", "ООО Инструмент", "Менеджер дилера"),
        "regina": await harness.person("Регина", "regional_rep"),
        "rita": await harness.person("Рита", "representative"),
        "semyon": await harness.person("Семён", "rep_service"),
    }
    async with harness.core.sessionmaker() as session:
        regina_id = (await session.execute(select(User.id).where(User.name == "Регина"))).scalar_one()
    await harness.admin.send(f"/region {regina_id} Москва")
    await harness.admin.expect("Регина", "Москва")
    return people


async def add_to_cart(person: Person, query: str, title: str, button: str = "В заявку") -> None:
    """Find the product inline, pick it (its card comes), press «В заявку» (someone who may not order: «В
    корзину», for a reclamation's parts)."""
    answer = await person.inline(query)
    await person.choose(answer, title)
    card = await person.expect(title, "Ваша цена")
    await person.press(button, card)


async def test_a_dealer_orders_from_the_inline_catalogue_and_1c_moves_the_order(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, boris, regina, rita = people["anna"], people["boris"], people["regina"], people["rita"]

    # The search: by name, by article, by barcode; the dealer's own (wholesale) prices, personal results.
    found = await anna.inline("газонокосилка stiga")
    assert found["is_personal"] is True
    assert [r["title"] for r in found["results"]] == sorted(p[0] for p in PRODUCTS[:3])  # by name
    combi = next(r for r in found["results"] if "Combi" in r["title"])
    assert "31\xa0500,00\xa0₽" in combi["description"] and "39\xa0900" not in combi["description"]
    assert [r["title"] for r in (await anna.inline("2T1090048"))["results"]] == ["Триммер STIGA SBC 900"]
    assert [r["title"] for r in (await anna.inline("8019720000059"))["results"]] == ["Нож для газонокосилки 48 см"]
    # Filters: in stock only; a price range in her price type; a group.
    in_stock = await anna.inline("газонокосилка stiga !")
    assert [r["title"] for r in in_stock["results"]] == [p[0] for p in PRODUCTS[:2]]
    ranged = await anna.inline("stiga от 40000 до 50000")
    assert [r["title"] for r in ranged["results"]] == ["Газонокосилка STIGA Multiclip 50"]
    assert [r["title"] for r in (await anna.inline("#Триммеры"))["results"]] == ["Триммер STIGA SBC 900"]
    # Nothing found: Telegram would show nothing at all, so the answer's button says so and opens how to search.
    nothing = await anna.inline("стартер   электрический")
    assert nothing["results"] == []
    assert nothing["button"]["text"] == "Ничего не найдено по «стартер электрический» — как искать"
    await anna.send("/start " + nothing["button"]["start_parameter"])
    await anna.expect("Ищите в каталоге по названию, артикулу или штрихкоду")
    assert (await anna.inline("stiga"))["button"] is None, "a search that finds something has no such button"
    # Boris's dealer buys at retail: he never gets Garden's prices.
    theirs = await boris.inline("газонокосилка stiga")
    assert "39\xa0900,00\xa0₽" in theirs["results"][0]["description"]
    assert not any("31\xa0500" in r["description"] for r in theirs["results"])

    # The card: stock by warehouse and her price; «В заявку» three products, one of them twice.
    picked = await anna.choose(found, "Газонокосилка STIGA Combi 48")
    card = await anna.expect("Газонокосилка STIGA Combi 48", "Ваша цена: 31\xa0500,00\xa0₽")
    # The picked result's name links to the card too (a tap later on opens it again).
    [link] = [e["url"] for e in picked["entities"] if e["type"] == "text_link"]
    await anna.send("/start " + link.split("start=")[1])
    assert (await anna.expect("Газонокосилка STIGA Combi 48", "Ваша цена"))["text"] == card["text"]
    assert "Склад Москва: 4 шт" in card["text"] and "Склад Казань: 2 шт" in card["text"]
    assert "39\xa0900" not in card["text"]
    await anna.press("В заявку", card)
    await anna.press("В заявку", card)
    # The Twinclip came with its photo: its card is the photo with the card as its caption.
    await anna.choose(await anna.inline("twinclip"), "Газонокосилка STIGA Twinclip 55")
    photo_card = await anna.expect("Газонокосилка STIGA Twinclip 55", "Ваша цена: 52\xa0000,00\xa0₽")
    assert photo_card["photos"] and photo_card["photos"][0]["width"] == 640
    await anna.press("В заявку", photo_card)
    await add_to_cart(anna, "SBC 900", "Триммер STIGA SBC 900")

    # The cart becomes the request; the form asks only payment and delivery.
    await anna.send("/cart")
    cart = await anna.expect("Ваша корзина", "Итого: 133\xa0700,00\xa0₽")
    assert "Газонокосилка STIGA Combi 48 × 2 = 63\xa0000,00\xa0₽" in cart["text"]
    await anna.press("Оформить заявку", cart)
    await anna.press("Предоплата", await anna.expect("Оплата"))
    await anna.no_buttons_left(cart["message_id"])
    await anna.press("Доставка по адресу", await anna.expect("Доставка"))
    await anna.expect("Адрес доставки")
    await anna.send("Москва, Садовая ул., 1")
    await anna.press("Пропустить", await anna.expect("Комментарий"))
    await anna.press("Подтвердить", await anna.expect("Проверьте"))
    # Registering it is one message: that it is registered, whom it waits for and until when, with the process's
    # own word on where it went.
    registered = await anna.expect("зарегистрировано", "передана на согласование")
    assert "Ждёт: Регина (Региональный представитель) — до " in registered["text"].split("\n")[0]
    async with harness.core.sessionmaker() as session:
        order = (await session.execute(select(Case).where(Case.process == "order_request"))).scalar_one()
    assert order.data["amount"] == "133700.00" and len(order.data["positions"]) == 3
    assert order.data["positions"][0]["price"] == "31500.00", "the wholesale price is snapshotted"

    # Approval: the regional representative, then (above 300 000? no: 133 700) straight to approved.
    task = await regina.card("Согласуйте заявку дилера", "ООО Сад", button="Согласовать")
    # She weighs the terms with the amount: prepaid or deferred, and where it goes.
    assert "итого 133\xa0700,00 ₽. Предоплата; доставка по адресу: Москва, Садовая ул., 1." in task["text"]
    assert "Комментарий дилера" not in task["text"]  # she wrote none
    await regina.press("Согласовать", task)
    await anna.expect("одобрена и передаётся в 1С")
    await regina.wait_for("Согласуйте заявку дилера", "✅ Согласовано (")
    # One event, one message: the process's «одобрена» is not followed by a generic «📍 …: теперь «Одобрена…»».
    await harness.settle()
    after = [m["text"] for m in await anna.bot_messages() if m["message_id"] > registered["message_id"]]
    assert not any(t.startswith("📍") for t in after), after
    assert sum("передана на согласование" in (m.get("text") or "") for m in await anna.bot_messages()) == 1

    # 1C fetches the order, but does not confirm: the next query returns it again; then it confirms.
    status, first = await onec.call("query", kind="sale")
    assert status == 200 and [d["Ид"] for d in parse_documents(first.encode())] == [str(order.id)], first
    _, again = await onec.call("query", kind="sale")
    assert [d["Ид"] for d in parse_documents(again.encode())] == [str(order.id)], again
    assert "<Ид>guid-0</Ид>" in again and "ООО Сад" in again and "<Сумма>63000.00</Сумма>" in again
    assert "<ЦенаЗаЕдиницу>31500.00</ЦенаЗаЕдиницу>" in again and "<ИНН>7707083893</ИНН>" in again
    assert (await onec.call("success", kind="sale"))[1].startswith("success")
    assert "<Документ>" not in (await onec.call("query", kind="sale"))[1]

    # Later 1C sends its status back: accepted, then shipped.
    accepted = status_document(order.id, [("Номер по 1С", "ЗК-000123"), ("Проведен", "true")])
    status, answer = await onec.call("file", kind="sale", filename="orders-1.xml", body=accepted)
    assert (status, answer.split("\n")[0]) == (200, "success"), answer
    await anna.expect("принята в 1С под номером ЗК-000123")
    # The payment: 1C sends the file, then (as some 1C versions do) asks to import it again: moved once only.
    paid = status_document(order.id, [("Дата оплаты по 1С", "2026-12-02"), ("Номер оплаты по 1С", "ПП-5")])
    status, answer = await onec.call("file", kind="sale", filename="orders-p.xml", body=paid)
    assert (status, answer.split("\n")[:2]) == (200, ["success", "moved 1, unchanged 0, unknown 0"]), answer
    await anna.expect("Оплата заявки получена 02.12.2026 (№ ПП-5)")
    status, answer = await onec.call("import", kind="sale", filename="orders-p.xml")
    assert (status, answer.split("\n")[:2]) == (200, ["success", "moved 0, unchanged 1, unknown 0"]), answer
    async with harness.core.sessionmaker() as session:
        assert (await session.get(Case, order.id)).stage == "paid"  # type: ignore[union-attr]
    shipped = status_document(order.id, [("Дата отгрузки по 1С", "2026-12-03"), ("Номер отгрузки по 1С", "РН-77")])
    assert (await onec.call("file", kind="sale", filename="orders-2.xml", body=shipped))[1].startswith("success")
    await anna.expect("Заявка отгружена 03.12.2026 (№ РН-77)")
    # Her list of requests shows where each stands.
    await anna.send("/orders")
    await anna.expect("Заявки, сначала новые", f"№{order.id}", "133\xa0700,00\xa0₽ — Отгружена")
    await boris.send("/orders")
    await boris.expect("Заявок пока нет")
    # Without the session's cookie nothing is sent.
    onec.cookie = None
    assert (await onec.call("query", kind="sale"))[0] == 401
    async with harness.core.sessionmaker() as session:
        done = await session.get(Case, order.id)
        assert done is not None and done.stage == "shipped" and done.status == "done"
    await harness.settle()

    # The other dealer saw none of it; the office was not asked (below the limit).
    assert "Сад" not in await texts(boris) and "133 700" not in await texts(boris)
    assert "Согласуйте крупную заявку" not in await texts(rita)


async def test_the_inline_search_answers_fifty_a_page_with_the_offset_of_the_next(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Sixty trimmers: Telegram gets fifty with `next_offset`, asks from there and gets the other ten and no
    offset; every page personal, at the dealer's own price."""
    harness = await harness_factory()
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" '
        'ВерсияСхемы="2.08" ДатаФормирования="2026-12-01T08:00:00">'
    )
    goods = "".join(
        f"<Товар><Ид>t-{n}</Ид><Артикул>T-{n:02d}</Артикул><Наименование>Триммер модель {n:02d}</Наименование></Товар>"
        for n in range(60)
    )
    offers = "".join(
        f"<Предложение><Ид>t-{n}</Ид><Наименование>Триммер модель {n:02d}</Наименование><Цены><Цена>"
        f"<ИдТипаЦены>pt-opt</ИдТипаЦены><ЦенаЗаЕдиницу>{1000 + n}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена>"
        f"</Цены><Количество>1</Количество></Предложение>"
        for n in range(60)
    )
    (tmp_path / "import.xml").write_text(
        f"{head}<Каталог><Ид>cat-1</Ид><Наименование>Каталог</Наименование><Товары>{goods}</Товары></Каталог>"
        "</КоммерческаяИнформация>\n",
        encoding="utf-8",
    )
    (tmp_path / "offers.xml").write_text(
        f"{head}<ПакетПредложений><Ид>cat-1#</Ид><Наименование>Пакет</Наименование><ИдКаталога>cat-1</ИдКаталога>"
        "<ТипыЦен><ТипЦены><Ид>pt-opt</Ид><Наименование>Оптовая</Наименование><Валюта>RUB</Валюта></ТипЦены>"
        f"</ТипыЦен><Предложения>{offers}</Предложения></ПакетПредложений></КоммерческаяИнформация>\n",
        encoding="utf-8",
    )
    result = await import_files(
        harness.core.sessionmaker, harness.core.clock, [tmp_path / "import.xml", tmp_path / "offers.xml"]
    )
    assert (result.counts["products"], result.counts["prices"]) == (60, 60), result.counts
    await organisation(harness, "ООО Сад region=Москва inn=7707083893 price=Оптовая")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")

    first = await anna.inline("триммер")
    assert (len(first["results"]), first["next_offset"], first["is_personal"]) == (50, "50", True)
    rest = await anna.inline("триммер", offset=first["next_offset"])
    assert (len(rest["results"]), rest["next_offset"] or "", rest["is_personal"]) == (10, "", True)  # no more
    titles = [r["title"] for r in first["results"] + rest["results"]]
    assert sorted(titles) == [f"Триммер модель {n:02d}" for n in range(60)]
    shown = {r["title"]: r["description"] for r in first["results"] + rest["results"]}
    assert "1\xa0059,00\xa0₽" in shown["Триммер модель 59"] and "1\xa0000,00\xa0₽" in shown["Триммер модель 00"]


def status_document(case_id: int, requisites: list[tuple[str, str]]) -> bytes:
    """A document as 1C's «Обмен с сайтом» sends an order's status back (windows-1251, the namespace)."""
    values = "".join(
        f"<ЗначениеРеквизита><Наименование>{k}</Наименование><Значение>{v}</Значение></ЗначениеРеквизита>"
        for k, v in requisites
    )
    xml = (
        '<?xml version="1.0" encoding="windows-1251"?>'
        '<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.08"'
        ' ДатаФормирования="2026-12-02T10:00:00">'
        f"<Документ><Ид>{case_id}</Ид><Номер>{case_id}</Номер><Дата>2026-12-02</Дата>"
        f"<ХозОперация>Заказ товара</ХозОперация><Роль>Продавец</Роль><Валюта>руб</Валюта><Курс>1</Курс>"
        f"<Сумма>133700.00</Сумма><ЗначенияРеквизитов>{values}</ЗначенияРеквизитов></Документ>"
        "</КоммерческаяИнформация>"
    )
    return xml.encode("cp1251")


async def file_reclamation(engineer: Person, serial: str) -> None:
    """From the product's card: the reclamation's product is the catalogue's."""
    await engineer.choose(await engineer.inline("combi 48"), "Газонокосилка STIGA Combi 48")
    await engineer.press("Рекламация", await engineer.expect("Газонокосилка STIGA Combi 48", "Ваша цена"))
    await engineer.expect("Серийный номер")
    await engineer.send(serial)
    await engineer.expect("Дата продажи")
    await engineer.send("15.11.2026")
    await engineer.expect("Описание дефекта")
    await engineer.send("Не запускается двигатель")
    await engineer.expect("Фото дефекта")
    await engineer.photo()
    await engineer.press("Готово", await engineer.expect("Фото дефекта", "1"))
    await engineer.press("Подтвердить", await engineer.expect("Проверьте"))


async def test_a_reclamation_with_a_part_from_the_catalogue_runs_to_the_end(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    sergey, semyon, boris = people["sergey"], people["semyon"], people["boris"]

    await file_reclamation(sergey, "SN-48-000731")

    # The representative's engineer takes it into diagnosis.
    card = await semyon.card("Примите рекламацию в диагностику", "SN-48-000731", button="Взять в работу")
    await semyon.press("Взять в работу", card)  # taking it is accepting it: no «Готово» after

    # The dealer's engineer: the diagnosis with its works, and a part from the catalogue through the cart.
    await sergey.press("Заполнить", await sergey.card("Проведите диагностику", button="Заполнить"))
    await sergey.expect("Результат диагностики")
    await sergey.send("Сломан нож, погнут вал")
    # The works are optional: asked whether there are any first (a diagnosis may need none).
    await sergey.press("Да", await sergey.expect("Работы — добавить?"))
    await sergey.expect("Что сделать")
    await sergey.send("Замена ножа")
    await sergey.expect("Нормочасы")
    await sergey.send("1,5")
    await sergey.press("Нет", await sergey.expect("Работа №2 — добавить?"))
    summary = await sergey.expect("Проверьте")
    # A press leaves no message of its own: each «— добавить?» keeps what was answered under it.
    assert not (await sergey.wait_for("Работы — добавить?\n✅ Да")).get("inline_keyboard")
    await sergey.wait_for("Работа №2 — добавить?\n✅ Нет, это всё")
    # The only work needs no number, and is named in the singular: «Работа:», not «Работы №1:».
    work = "\nРабота:\n   Что сделать: Замена ножа\n"
    assert work in summary["text"] and "№1" not in summary["text"], summary["text"]
    await sergey.press("Подтвердить", summary)
    await add_to_cart(sergey, "нож 48", "Нож для газонокосилки 48 см", "В корзину")
    await sergey.send("/cart")
    cart = await sergey.expect("Ваша корзина", "Нож для газонокосилки 48 см × 1")
    await sergey.press("В рекламацию", cart)
    await sergey.expect("Запчасти добавлены в рекламацию")
    # The cart has gone on: its message keeps the lines it showed, without buttons acting on a cart no longer there.
    assert "Нож для газонокосилки 48 см × 1" in (await sergey.no_buttons_left(cart["message_id"]))["text"]

    # Approved by the representative's engineer (who sees the part), repaired, sent back once, repaired, closed.
    verdict = await semyon.card("Согласуйте ремонт", "Нож для газонокосилки 48 см × 1", button="Согласовать")
    # A fraction printed by the definition's text reads as Russian writes it: «1,5 н/ч», not «1.5 н/ч».
    assert "Замена ножа (1,5 н/ч)" in verdict["text"], verdict["text"]
    await semyon.press("Согласовать", verdict)
    # No «Рекламация по Газонокосилка …»: the product's name stands where no declension is needed.
    await sergey.expect("Рекламация одобрена: Газонокосилка STIGA Combi 48. Выполняйте ремонт.")
    await sergey.press("Готово", await sergey.card("Сообщите о выполненном ремонте", button="Готово"))
    await sergey.press("Пропустить", await sergey.expect("Фото после ремонта"))
    await sergey.press("Подтвердить", await sergey.expect("Проверьте"))
    # The first repair is not right: the representative's engineer sends it back with what is wrong.
    check = await semyon.card("Проверьте ремонт и закройте рекламацию", "SN-48-000731", button="Ремонт принят")
    await semyon.press("Вернуть на доработку", check)
    await semyon.expect("Комментарий")
    await semyon.send("Нож установлен без шайбы")
    await semyon.press("Подтвердить", await semyon.expect("Проверьте"))
    redo = await sergey.card("Ремонт не принят", "Нож установлен без шайбы", button="Готово")
    await sergey.press("Готово", redo)
    await sergey.press("Пропустить", await sergey.expect("Фото после ремонта"))
    await sergey.press("Подтвердить", await sergey.expect("Проверьте"))
    await semyon.press("Ремонт принят", await semyon.card("Проверьте ремонт", button="Ремонт принят"))
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        case = (await session.execute(select(Case).where(Case.process == "reclamation"))).scalar_one()
    assert case.stage == "closed" and case.data["parts"][0]["article"] == "1111-9101-01"
    assert case.data["product"] == "guid-0" and case.data["parts"][0]["price"] == "1350.00"

    # The staff's list: chronological, with the colour mark of its status; the other dealer has none of it.
    await semyon.send("/reclamations")
    listed = await semyon.expect("Рекламации, сначала ранние")
    assert re.search(rf"⚪ №{case.id} .* Газонокосилка STIGA Combi 48, № SN-48-000731 — Закрыта", listed["text"])
    # Each opens from the list by its button, as an order request does.
    await semyon.press(f"№{case.id}", listed)
    await semyon.expect(f"№{case.id}", "Рекламация", "SN-48-000731")
    await boris.send("/reclamations")
    await boris.expect("Рекламаций пока нет")
    assert "SN-48-000731" not in await texts(boris)


async def test_a_reclamation_the_representatives_engineer_rejects_ends_with_his_reason(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The other way out of the decision: no parts needed, the repair rejected with a comment the dealer's engineer
    is told; the staff's list marks it red."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    sergey, semyon, boris = people["sergey"], people["semyon"], people["boris"]
    await file_reclamation(sergey, "SN-48-000733")
    accept = await semyon.card("Примите рекламацию в диагностику", "SN-48-000733", button="Взять в работу")
    await semyon.press("Взять в работу", accept)
    await sergey.press("Заполнить", await sergey.card("Проведите диагностику", button="Заполнить"))
    await sergey.expect("Результат диагностики")
    await sergey.send("Вал погнут ударом о камень")
    # No work needed: the diagnosis goes without inventing one.
    await sergey.press("Нет, не нужно", await sergey.expect("Работы — добавить?"))
    summary = await sergey.expect("Проверьте")
    assert "Что сделать" not in summary["text"], summary["text"]
    await sergey.press("Подтвердить", summary)
    await sergey.press("Готово", await sergey.card("Запчасти: добавьте их из каталога", button="Готово"))

    verdict = await semyon.card("Согласуйте ремонт", "Вал погнут ударом о камень", button="Отклонить")
    await semyon.press("Отклонить", verdict)
    await semyon.expect("Причина отказа")
    await semyon.send("Механическое повреждение, не гарантийный случай")
    await semyon.press("Подтвердить", await semyon.expect("Проверьте"))
    await sergey.expect("Рекламация отклонена: Механическое повреждение, не гарантийный случай")
    # His card shows what he decided as its result, with a cross: not the button's «Отклонить» under a green tick.
    decided = await semyon.wait_for("Согласуйте ремонт", "✖️ Отклонено (")
    assert "Решение:" not in decided["text"] and "Отклонить" not in decided["text"], decided["text"]
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        case = (await session.execute(select(Case).where(Case.process == "reclamation"))).scalar_one()
    assert (case.stage, case.status, case.result) == ("rejected", "done", "failure")
    assert case.data.get("parts") in (None, [])

    await semyon.send("/reclamations")
    listed = await semyon.expect("Рекламации, сначала ранние")
    assert re.search(rf"🔴 №{case.id} .*SN-48-000733 — Отклонена", listed["text"]), listed["text"]
    await boris.send("/reclamations")
    await boris.expect("Рекламаций пока нет")
    assert "SN-48-000733" not in await texts(boris)


async def test_a_works_standard_hours_are_taken_as_the_engineer_writes_them_with_their_unit(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """«Нормочасы» is a number of hours, «ч»: the dealer's engineer writes «1,5 ч» (his English colleague «2 h»), and
    it is taken — not refused with «Введите число (единица: ч)», which names the very unit he typed."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    sergey, semyon = people["sergey"], people["semyon"]
    await file_reclamation(sergey, "SN-48-000734")
    accept = await semyon.card("Примите рекламацию в диагностику", "SN-48-000734", button="Взять в работу")
    await semyon.press("Взять в работу", accept)
    await sergey.press("Заполнить", await sergey.card("Проведите диагностику", button="Заполнить"))
    await sergey.expect("Результат диагностики")
    await sergey.send("Сломан нож")
    await sergey.press("Да", await sergey.expect("Работы — добавить?"))
    await sergey.expect("Что сделать")
    await sergey.send("Замена ножа")
    await sergey.expect("Нормочасы")
    await sergey.send("1,5 ч")
    await sergey.press("Да", await sergey.expect("Работа №2 — добавить?"))
    await sergey.expect("Что сделать")
    await sergey.send("Проверка вала")
    await sergey.expect("Нормочасы")
    await sergey.send("2 h")
    await sergey.press("Нет", await sergey.expect("Работа №3 — добавить?"))
    await sergey.press("Подтвердить", await sergey.expect("Проверьте"))
    await sergey.press("Готово", await sergey.card("Запчасти: добавьте их из каталога", button="Готово"))
    verdict = await semyon.card("Согласуйте ремонт", "SN-48-000734", button="Согласовать")
    assert "Работы: Замена ножа (1,5 н/ч); Проверка вала (2 н/ч)." in verdict["text"], verdict["text"]


async def test_the_staffs_reclamation_list_comes_ten_a_page_oldest_first(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Eleven reclamations filed a minute apart: the first page has the ten oldest in the order they came, «▶️»
    gives the eleventh; the other dealer has none of them."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    sergey, semyon, boris = people["sergey"], people["semyon"], people["boris"]
    serials = [f"SN-P-{n:02d}" for n in range(1, 12)]
    for serial in serials:
        await file_reclamation(sergey, serial)
        harness.clock.advance(minutes=1)
    await harness.settle()

    await semyon.send("/reclamations")
    first = await semyon.expect("Рекламации, сначала ранние (страница 1 из 2)")
    lines = first["text"].split("\n")[1:]
    assert [re.search(r"SN-P-\d\d", line).group(0) for line in lines] == serials[:10]  # type: ignore[union-attr]
    assert all(line.startswith("🔵 №") and line.endswith("— Зарегистрирована") for line in lines), lines
    assert semyon.buttons(first)[-1] == "▶️" and len(semyon.buttons(first)) == 11  # each claim's «📁 №N», then on
    await semyon.press("▶️", first)
    second = await semyon.expect("Рекламации, сначала ранние (страница 2 из 2)")
    assert "SN-P-11" in second["text"] and "SN-P-10" not in second["text"]
    assert semyon.buttons(second)[-1] == "◀️" and len(semyon.buttons(second)) == 2
    await boris.send("/reclamations")
    await boris.expect("Рекламаций пока нет")


async def test_each_dealer_exports_exactly_what_the_search_shows_him_at_his_own_prices(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "files")
    # «🔎 Каталог» opens the inline search in this chat (Telegram puts «@bot » into her input field).
    await people["anna"].send("/catalog")
    prompt = await people["anna"].expect("Ищите в каталоге по названию, артикулу или штрихкоду")
    keys = [key for row in prompt["inline_keyboard"] for key in row]
    assert {"text": "🔎 Каталог", "switch_inline_query_current_chat": ""} in keys, keys
    for person, price in ((people["anna"], 4), (people["boris"], 5)):  # wholesale for ООО Сад, retail for the other
        found = await person.inline("газонокосилка stiga !")
        await person.send("/catalog_excel газонокосилка stiga !")
        document = (await person.expect("Каталог: товаров — 2 — «газонокосилка stiga !»"))["document"]
        assert document["file_name"] == "catalogue.xlsx"
        sheet = load_workbook(io.BytesIO(await person.download(document["url"]))).active
        assert sheet is not None
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert rows[0] == ["Наименование", "Артикул", "Штрихкод", "Ед.", "Ваша цена, ₽", "Остаток, всего",
                           "Склад Казань", "Склад Москва"]
        # A warehouse with none of it is an empty cell, as on the product's card it is not listed.
        shown = [(p[0], p[1], p[2], "шт", float(p[price]), int(p[6]) + int(p[7]), int(p[7]) or None, int(p[6]) or None)
                 for p in PRODUCTS[:2]]
        assert [tuple(r) for r in rows[1:]] == shown
        assert [r[0] for r in rows[1:]] == [r["title"] for r in found["results"]]


async def test_a_reclamation_begun_before_the_colours_keeps_its_mark_after_the_update(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A reclamation started on the definition of the previous release (no `colour:` yet) stays on it; after the
    update its stage is marked in the staff's list by the colour the current definition gives that stage, as it
    was marked before (not a black circle until it ends)."""
    library = library_with(tmp_path)
    current = (library / "reclamation.yaml").read_text(encoding="utf-8")
    (library / "reclamation.yaml").write_text(re.sub(r"\n +colour: \w+", "", current), encoding="utf-8")
    harness = await harness_factory(library_dir=library)
    people = await dealers(harness, tmp_path / "1c")
    await file_reclamation(people["sergey"], "SN-48-000732")
    await harness.settle()

    (library / "reclamation.yaml").write_text(current, encoding="utf-8")  # the release with the colours
    await harness.restart()
    async with harness.core.sessionmaker() as session:
        case = (await session.execute(select(Case).where(Case.process == "reclamation"))).scalar_one()
    assert case.definition_id != harness.core.registry.current["reclamation"]  # still on the older version
    await people["semyon"].send("/reclamations")
    listed = await people["semyon"].expect("Рекламации, сначала ранние")
    assert re.search(rf"🔵 №{case.id} .* — Зарегистрирована", listed["text"]), listed["text"]


def test_every_stage_colour_has_its_mark_in_chat_and_its_row_in_the_panel() -> None:
    """A definition may give any of the colours: each has its circle in the chat list (a missing one would break
    the whole list) and its row style in the panel."""
    styles = (Path(__file__).parent.parent / "admin" / "templates" / "base.html").read_text(encoding="utf-8")
    assert set(MARKS) == set(get_args(StageColour))
    assert {colour for colour in get_args(StageColour) if f"tr.colour-{colour}{{" in styles} == set(MARKS)
