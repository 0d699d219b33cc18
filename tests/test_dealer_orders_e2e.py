"""Seed 4's order requests after they are made: an approved request 1C does not take is put to the office, a
request moved by hand reads well without 1C's dates, a draft cancelled before it was registered is not one of the
dealer's requests, and the summaries show a position to a line; 1C's documents about them arrive in the chunks the
site's `file_limit` asks for."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.models import Case, Company, Task
from services import companies
from tests.chat import Person
from tests.conftest import Harness
from tests.test_access_closed_e2e import menu_of
from tests.test_case_cancel_e2e import cancel_case
from tests.test_dealer_portal_e2e import add_to_cart, dealers, status_document
from tests.test_onec_exchange_e2e import _exchange
from tests.test_organisations_e2e import dealer_person, texts

COMBI, TRIMMER = "Газонокосилка STIGA Combi 48", "Триммер STIGA SBC 900"


async def place_order(harness: Harness, anna: Person, *products: tuple[str, str]) -> int:
    """Each product into the cart from the inline search, then «Оформить заявку»: paid in advance, picked up.
    The request's case number."""
    for query, title in products:
        await add_to_cart(anna, query, title)
    await anna.send("/cart")
    await send_the_cart(anna, await anna.expect("Ваша корзина"))
    return await newest_order_id(harness)


async def send_the_cart(anna: Person, cart: dict[str, Any], *summary: str) -> None:
    """«Оформить заявку» on the cart's message: paid in advance, picked up, no comment, confirmed on a summary with
    `summary` in it; the request goes to approval."""
    await anna.press("Оформить заявку", cart)
    await anna.press("Предоплата", await anna.expect("Оплата"))
    await anna.press("Самовывоз", await anna.expect("Доставка"))
    await anna.press("Пропустить", await anna.expect("Комментарий"))
    await anna.press("Подтвердить", await anna.expect("Проверьте", *summary))
    await anna.expect("передана на согласование")


async def approved_order(harness: Harness, anna: Person, regina: Person, product: tuple[str, str]) -> int:
    """`place_order` of the one product, approved by the regional representative `regina`: the dealer is told it
    is passed to 1C. The request's case number."""
    order = await place_order(harness, anna, product)
    await regina.press("Согласовать", await regina.card("Согласуйте заявку дилера", product[1], button="Согласовать"))
    await anna.expect("одобрена и передаётся в 1С")
    return order


async def newest_order_id(harness: Harness) -> int:
    async with harness.core.sessionmaker() as session:
        return int((await session.execute(select(Case.id).order_by(Case.id.desc()).limit(1))).scalar_one())


async def test_an_approved_request_1c_does_not_take_is_put_to_the_office(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """1C takes an approved request at its next exchange. One it has not taken by the afternoon (1C down, the
    exchange broken) becomes the office's task; 1C taking it later closes the task, and a representative who
    entered it into 1C by hand says so and the dealer is told."""
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, regina, rita = people["anna"], people["regina"], people["rita"]

    first = await approved_order(harness, anna, regina, ("combi 48", COMBI))
    # The morning passes with 1C silent: nobody is bothered yet.
    await harness.advance(hours=3)
    await harness.settle()
    assert await rita.find("1С не приняла") is None
    # By the afternoon the office has it.
    await harness.advance(hours=2)
    task = await rita.card("1С не приняла одобренную заявку", "ООО Сад", "31\xa0500,00", button="Заявка в 1С")
    assert "проверьте обмен с 1С" in task["text"]
    # 1C comes back and takes it: the task closes by itself.
    accepted = status_document(first, [("Номер по 1С", "ЗК-000200")])
    assert (await onec.call("file", kind="sale", filename="o-1.xml", body=accepted))[1].startswith("success")
    await anna.expect("принята в 1С под номером ЗК-000200")
    async with harness.core.sessionmaker() as session:
        overdue = select(Task).where(Task.case_id == first, Task.key == "onec_overdue")
        kept = (await session.execute(overdue)).scalar_one()
    assert kept.status == "cancelled", kept.status

    # A second request 1C never takes: the representative enters it into 1C by hand and says so.
    second = await approved_order(harness, anna, regina, ("SBC 900", TRIMMER))
    await harness.advance(hours=24)  # approved at 15:00: half a working day is up the next morning
    await rita.press("Заявка в 1С", await rita.card("1С не приняла", "18\xa0700,00", button="Заявка в 1С"))
    await anna.expect("Заявка принята в 1С.")
    async with harness.core.sessionmaker() as session:
        case = await session.get(Case, second)
    assert case is not None and case.stage == "in_1c"
    # Entered by hand, it is no longer offered to 1C.
    assert f"<Ид>{second}</Ид>" not in (await onec.call("query", kind="sale"))[1]

    # With 1C still down, the office marks it paid and shipped by hand: no 1C dates, no empty brackets.
    await rita.send(f"/case {second}")
    await rita.press("Оплачена", await rita.card(f"№{second}", button="Оплачена"))
    paid = await anna.expect("Оплата заявки получена")
    await rita.send(f"/case {second}")
    await rita.press("Отгружена", await rita.card(f"№{second}", button="Отгружена"))
    shipped = await anna.expect("Заявка отгружена")
    for notice, text in ((paid, "Оплата заявки получена."), (shipped, "Заявка отгружена.")):
        assert notice["text"].endswith(f"\n{text}") and "()" not in notice["text"], notice["text"]


async def test_a_request_dropped_before_it_was_sent_is_not_among_the_dealers_requests(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """«Отменено, ничего не зарегистрировано» means what it says: /orders does not list it as «Заполнение
    заявки», for its author or her colleague; nor one still being filled in — only what was sent. One being filled
    in counts against the credit limit already, and /orders says so: not «Заявок пока нет» under «заявки в работе
    (1)», but that one of them is not sent yet and no request is sent yet."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    anna = people["anna"]
    damir = await dealer_person(harness, "Дамир", "ООО Сад", "Сотрудник дилера")

    await add_to_cart(anna, "combi 48", COMBI)
    await anna.send("/cart")
    await anna.press("Оформить заявку", await anna.expect("Ваша корзина"))
    await anna.press("Отмена", await anna.expect("Оплата"))
    await anna.expect("Отменено, ничего не зарегистрировано")
    for person in (anna, damir):
        await person.send("/orders")
        await person.expect("Заявок пока нет")
    # Another begun and not yet sent: not a request yet either.
    await anna.send("/cart")
    await anna.press("Оформить заявку", await anna.expect("Ваша корзина"))
    await anna.expect("Оплата")
    for person in (damir, anna):
        await person.send("/orders")
        told = await person.expect("Отправленных заявок пока нет.")
        assert "заявки в работе (1, из них ещё не отправлены: 1): 31\xa0500,00" in told["text"], told["text"]
        assert "Заявок пока нет" not in told["text"], told["text"]

    # Sent, it is listed.
    sent = await place_order(harness, anna, ("SBC 900", TRIMMER))
    await damir.send("/orders")
    listed = await damir.expect("Заявки, сначала новые", f"№{sent}")
    assert "Заполнение заявки" not in listed["text"], listed["text"]


async def test_a_dealers_menu_and_commands_lead_somewhere(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A dealer's employee: no «📈 Показатели» he may not open; «▶️ Начать процесс» points to the catalogue, where
    requests begin; /cancel with nothing open says so; /language is /lang; a request in /orders opens."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    anna = people["anna"]
    damir = await dealer_person(harness, "Дамир", "ООО Сад", "Сотрудник дилера")

    assert "📈 Показатели" not in [key for row in await menu_of(damir) or [] for key in row]
    assert "📈 Показатели" in [key for row in await menu_of(anna) or [] for key in row]
    await damir.send("▶️ Начать процесс")
    # He orders and files no reclamations: he is pointed to requests alone.
    pointed = await damir.expect("Заявки оформляются из каталога")
    assert "🔎 Каталог" in damir.buttons(pointed), pointed
    await damir.send("/cancel")
    await damir.expect("Отменять нечего")
    await damir.send("/language")
    await damir.expect("Language: English")
    await damir.send("/lang")
    await damir.expect("Язык: русский")

    sent = await place_order(harness, anna, ("combi 48", COMBI))
    await damir.send("/orders")
    await damir.press(f"№{sent}", await damir.expect("Заявки, сначала новые", f"№{sent}"))
    card = await damir.expect(f"№{sent}", "Заявка дилера на отгрузку", "Позиции:")
    assert f"1. {COMBI}" in card["text"], card["text"]


async def test_a_dealers_requests_under_way_take_from_what_its_credit_limit_leaves(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Garden's limit leaves it 40 000 ₽. A request of 31 500 ₽ is within it and the regional approval is enough. A
    second of 18 700 ₽, sent while the first is under way, is within the 40 000 ₽ alone but not beside the first
    (8 500 ₽ left): the office approves it too and reads why, and the dealer and the admin read what is under way —
    so splitting an order no longer passes what one request would not. Once the first is shipped (1C's debt holds
    it from then on) it takes from the limit no more."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    anna, regina, rita = people["anna"], people["regina"], people["rita"]
    async with harness.core.sessionmaker() as session:
        garden_id = (await session.execute(select(Company.id).where(Company.name == "ООО Сад"))).scalar_one()
    await harness.admin.send(f"/org_set {garden_id} limit=100000 debt=60000")
    await harness.admin.expect("ООО Сад", "остаток: 40\xa0000,00 ₽")

    first = await place_order(harness, anna, ("combi 48", COMBI))
    first_task = await regina.card("Согласуйте заявку дилера", COMBI, button="Согласовать")
    assert "⚠️" not in first_task["text"], first_task["text"]
    await regina.press("Согласовать", first_task)
    await anna.expect("одобрена и передаётся в 1С")

    second = await place_order(harness, anna, ("SBC 900", TRIMMER))
    second_task = await regina.card("Согласуйте заявку дилера", TRIMMER, button="Согласовать")
    assert "осталось 8\xa0500,00 ₽" in second_task["text"], second_task["text"]
    await regina.press("Согласовать", second_task)
    office = await rita.card("Согласуйте заявку дилера", TRIMMER, button="Согласовать")
    assert office["text"].count("⚠️ Сумма больше остатка кредитного лимита: осталось 8\xa0500,00 ₽ (лимит "
                                "100\xa0000,00 ₽, долг 60\xa0000,00 ₽, другие заявки в работе (1): 31\xa0500,00 ₽)"
                                ) == 1, office["text"]  # fmt: skip

    # Both under way: the dealer reads them beside the limit, as does the admin on the organisation's card.
    await anna.send("/orders")
    await anna.expect("заявки в работе (2): 50\xa0200,00", "превышен на 10\xa0200,00")
    await harness.admin.send(f"/org {garden_id}")
    await harness.admin.expect("Заявки в работе (2): 50\xa0200,00 ₽", "превышен на 10\xa0200,00 ₽")

    # The first is shipped: from now on it is 1C's debt, not a request under way.
    await rita.send(f"/case {first}")
    await rita.press("Отгружена", await rita.card(f"№{first}", button="Отгружена"))
    await anna.expect("Заявка отгружена")
    await anna.send("/orders")
    await anna.expect("заявки в работе (1): 18\xa0700,00", "остаток 21\xa0300,00")
    async with harness.core.sessionmaker() as session:
        assert await companies.pending_orders(session, garden_id) == (1, Decimal("18700.00"), 0)
        case = await session.get(Case, second)
        assert case is not None and case.stage == "office_approval"
    # A cart sent and still at its payment question counts too: answered later, another sent meanwhile was
    # checked with it.
    await add_to_cart(anna, "combi 48", COMBI)
    await anna.send("/cart")
    await anna.press("Оформить заявку", await anna.expect("Ваша корзина"))
    await anna.expect("Оплата")
    async with harness.core.sessionmaker() as session:
        assert await companies.pending_orders(session, garden_id) == (2, Decimal("50200.00"), 1)  # one not sent yet
    # The admin's card of the organisation says so too, in the chat's words: not «Заявки в работе (2)» alone, which
    # left him looking in vain for the second among its sent requests.
    await harness.admin.send(f"/org {garden_id}")
    card = await harness.admin.expect("ООО Сад", "Заявки в работе (2, из них ещё не отправлены: 1): 50\xa0200,00 ₽")
    assert "ещё не в долге по 1С, учтены в остатке лимита" in card["text"], card["text"]


async def test_a_request_the_dealer_withdraws_after_its_approval_is_told_to_its_approver(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Approved, the request is going to 1C with no task open on the maker's side. The dealer withdraws it: the
    regional representative who approved it hears it with the reason, and the dealer's list says it is cancelled —
    not «Одобрена, передаётся в 1С»."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    anna, regina = people["anna"], people["regina"]
    sent = await approved_order(harness, anna, regina, ("combi 48", COMBI))

    await anna.send(f"/case {sent}")
    await cancel_case(anna, await anna.card(f"№{sent}", button="Отменить дело"), "Клиент отказался от газонокосилки")
    told = await regina.expect("Дело отменено", f"№{sent}")
    assert "Причина: Клиент отказался от газонокосилки" in told["text"] and "Анна" in told["text"], told["text"]
    await anna.send("/orders")
    listed = await anna.expect("Заявки, сначала новые", f"№{sent}")
    assert "Отменено на этапе «Одобрена, передаётся в 1С»" in listed["text"], listed["text"]


async def test_1c_sends_its_word_on_an_order_in_chunks_of_the_size_the_site_asked_for(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """At `mode=init` the site tells 1C how big a piece of a file may be; 1C cuts a longer file of documents into
    pieces of that size and sends each with `mode=file` — as an XML file, or zipped when the site accepts zip. A
    piece is not the file: the site keeps it and answers «success» until the file is whole, then reads it, so the
    order is accepted once and the dealer told once (here a long comment makes the document longer than a piece)."""
    harness, onec = await _exchange(harness_factory, onec_file_limit=512)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, regina = people["anna"], people["regina"]
    first = await approved_order(harness, anna, regina, ("combi 48", COMBI))
    second = await approved_order(harness, anna, regina, ("SBC 900", TRIMMER))

    remark = ("Комментарий менеджера", "Резерв на складе Москва до конца недели, отгрузка после оплаты. " * 8)
    plain = status_document(first, [("Номер по 1С", "ЗК-000501"), remark])
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("orders-2.xml", status_document(second, [("Номер по 1С", "ЗК-000502"), remark]))
    assert (await onec.checkauth())[0] == "success"
    terms = (await onec.call("init", kind="sale"))[1]
    limit = int(terms.split("file_limit=")[1])
    for name, body in (("orders-1.xml", plain), ("orders-2.zip", packed.getvalue())):
        assert len(body) > 2 * limit, len(body)
        for start in range(0, len(body), limit):
            status, answer = await onec.call("file", kind="sale", filename=name, body=body[start : start + limit])
            assert (status, answer.split("\n")[0]) == (200, "success"), (name, start, answer)
    await anna.expect("принята в 1С под номером ЗК-000501")
    await anna.expect("принята в 1С под номером ЗК-000502")
    # Newer 1C asks to import the file it sent: read once more, nothing moves twice.
    status, answer = await onec.call("import", kind="sale", filename="orders-1.xml")
    assert (status, answer.split("\n")[:2]) == (200, ["success", "moved 0, unchanged 1, unknown 0"]), answer
    await harness.settle()
    told = [m for m in await anna.bot_messages() if "принята в 1С" in (m.get("text") or "")]
    assert len(told) == 2, [m["text"] for m in told]
    async with harness.core.sessionmaker() as session:
        for case_id, number in ((first, "ЗК-000501"), (second, "ЗК-000502")):
            case = await session.get(Case, case_id)
            assert case is not None and (case.stage, case.data["onec_number"]) == ("in_1c", number)


async def test_1cs_payment_and_shipment_read_as_dates_in_the_readers_language(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """1C writes when an order was paid and shipped as a moment of its own («2026-12-21T14:35:00», as Bitrix's site
    side reads it). The dealer reads the day as she reads every date — «21.12.2026», her English colleague «Dec 21,
    2026» — with 1C's number of the payment or shipment, never 1C's timestamp."""
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, regina = people["anna"], people["regina"]
    emma = await dealer_person(harness, "Emma", "ООО Сад", "Менеджер дилера", language="en")
    order = await approved_order(harness, anna, regina, ("combi 48", COMBI))

    paid = status_document(order, [("Дата оплаты по 1С", "2026-12-21T14:35:00"), ("Номер оплаты по 1С", "ПП-5")])
    assert (await onec.call("file", kind="sale", filename="o-1.xml", body=paid))[1].startswith("success")
    told = await anna.expect("Оплата заявки получена")
    assert told["text"].endswith("\nОплата заявки получена 21.12.2026 (№ ПП-5)."), told["text"]
    await anna.send(f"/case {order}")
    card = await anna.expect(f"№{order}", "Дата оплаты по 1С")
    assert "Дата оплаты по 1С: 21.12.2026\nНомер оплаты в 1С: ПП-5" in card["text"], card["text"]
    shipment = [("Дата отгрузки по 1С", "2026-12-22T09:05:00"), ("Номер отгрузки по 1С", "РН-77")]
    shipped = status_document(order, shipment)
    assert (await onec.call("file", kind="sale", filename="o-2.xml", body=shipped))[1].startswith("success")
    told = await anna.expect("Заявка отгружена")
    assert told["text"].endswith("\nЗаявка отгружена 22.12.2026 (№ РН-77)."), told["text"]
    await emma.send(f"/case {order}")
    card = await emma.expect(f"#{order}", "Shipped in 1C on")
    assert "Paid in 1C on: Dec 21, 2026" in card["text"] and "Shipped in 1C on: Dec 22, 2026" in card["text"], card
    for text in (await texts(anna), await texts(emma)):
        assert "T14:35" not in text and "T09:05" not in text and "2026-12-2" not in text, text


async def test_a_dealers_comment_on_an_approved_request_reaches_whoever_approved_it(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Approved, the request waits for 1C with no task open on the maker's side. The dealer asks about it in its
    thread: the regional representative who approved it is told (with «Ответить»), and her answer reaches the
    dealer — the question does not sit in a thread nobody reads."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    anna, regina = people["anna"], people["regina"]
    sent = await approved_order(harness, anna, regina, ("combi 48", COMBI))

    await anna.send(f"/case {sent}")
    await anna.press("Комментарий", await anna.card(f"№{sent}", button="Комментарий"))
    await anna.expect("Напишите комментарий")
    await anna.send("Сможете отгрузить в пятницу?")
    await anna.expect("Комментарий отправлен")
    told = await regina.card("Комментарий по делу", "Сможете отгрузить в пятницу?", button="Ответить")
    await regina.press("Ответить", told)
    await regina.expect("Напишите комментарий")
    await regina.send("Да, в пятницу с утра")
    await anna.card("Да, в пятницу с утра", button="Ответить")


async def test_1c_saying_an_order_is_cancelled_by_its_status_alone_cancels_it(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """1C's exchange rules may write an order's status «Отменен» without the «Отменен = true» flag. The request is
    cancelled all the same, and Anna is told so — not «Заявка принята в 1С» for an order 1C has cancelled; one
    1C had accepted before, whose status comes as «Отменён», too."""
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, regina = people["anna"], people["regina"]
    first = await place_order(harness, anna, ("combi 48", COMBI))
    await regina.press("Согласовать", await regina.card("Согласуйте заявку дилера", COMBI, button="Согласовать"))
    await anna.expect("одобрена и передаётся в 1С")
    second = await place_order(harness, anna, ("SBC 900", TRIMMER))
    await regina.press("Согласовать", await regina.card("Согласуйте заявку дилера", TRIMMER, button="Согласовать"))
    await anna.expect("одобрена и передаётся в 1С")
    accepted = status_document(second, [("Номер по 1С", "ЗК-000701"), ("Статус заказа", "Согласован")])
    assert (await onec.call("file", kind="sale", filename="o-1.xml", body=accepted))[1].startswith("success")
    await anna.expect("принята в 1С под номером ЗК-000701")

    for order, said in ((first, "Отменен"), (second, "Отменён")):
        cancelled = status_document(order, [("Номер по 1С", f"ЗК-{order:06}"), ("Статус заказа", said)])
        status, answer = await onec.call("file", kind="sale", filename=f"c-{order}.xml", body=cancelled)
        assert (status, answer.split("\n")[:2]) == (200, ["success", "moved 1, unchanged 0, unknown 0"]), answer
        await anna.expect("Заявка отменена в 1С.")
    await harness.settle()
    told = [m.get("text") or "" for m in await anna.bot_messages()]
    assert not any(f"под номером ЗК-{first:06}" in t for t in told), told
    async with harness.core.sessionmaker() as session:
        for order in (first, second):
            case = await session.get(Case, order)
            assert case is not None and (case.stage, case.status) == ("cancelled", "done"), (order, case)


async def test_a_dealer_reads_on_the_card_what_was_decided_and_when_and_the_reason_once(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The regional representative rejects the request with her reason. The dealer's manager opens its card: it says
    the request was rejected, by whom and when, and the reason once, as the process told it her («Причина»); the
    approver's words under the decision are the office's, and only the office's card quotes them there."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    anna, regina, rita = people["anna"], people["regina"], people["rita"]
    sent = await place_order(harness, anna, ("combi 48", COMBI))
    await regina.press("Отклонить", await regina.card("Согласуйте заявку дилера", COMBI, button="Отклонить"))
    await regina.expect("Причина отказа")
    await regina.send("Нет на складе до марта")
    await regina.press("Подтвердить", await regina.expect("Проверьте"))
    await anna.expect("Заявка отклонена. Причина: Нет на складе до марта")

    await anna.send(f"/case {sent}")
    dealers_card = (await anna.card(f"№{sent}", "Решения:", button="Схема"))["text"]
    decided = dealers_card.split("Решения:\n", 1)[1].split("\n", 1)[0]
    assert decided.startswith("• ✖️ Отклонено — Регина, ") and "Нет на складе" not in decided, dealers_card
    assert dealers_card.count("Нет на складе до марта") == 1 and "Причина: Нет на складе до марта" in dealers_card

    await rita.send(f"/case {sent}")
    office_card = (await rita.card(f"№{sent}", "Решения:", button="Схема"))["text"]
    assert "• ✖️ Отклонено — Регина, " in office_card and ": «Нет на складе до марта»" in office_card, office_card
