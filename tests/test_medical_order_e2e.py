"""Seed 5, a medical equipment deal from end to end: a lead from the site's form (posted twice, one case), the sales
managers' pool, the client's qualification in a called case, the contract agreed by the client and the director,
a prepayment by letter of credit that asks its own fields, three items — one in stock, two made to order by
different suppliers — moving on their own cards while the deal follows them, reminders for an item stuck at customs,
and the accountant closing the payment: the deal ends paid («Заказ оплачен»)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from admin.words import Words
from db.models import AuditEntry, Case, Lead, Task, User
from flows.items import item_states
from tests.chat import Person
from tests.conftest import Harness
from tests.panel_pages import case_fields
from tests.ports import free_port
from tests.test_case_cancel_e2e import cancel_case

TOKEN = "site-form-token-7f3a9c"
LEAD = {
    "organisation": "Клиника «Здоровье»",
    "name": "Анна Петрова",
    "phone": "+7 900 123-45-67",
    "email": "anna@zdorovie.example",
    "message": "Нужны аппарат УЗИ, кардиомонитор и дефибриллятор",
}


async def _post(harness: Harness, body: dict[str, Any], *, token: str = TOKEN, key: str | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    headers = {"X-Form-Token": token}
    if key is not None:
        headers["Idempotency-Key"] = key
    url = f"http://127.0.0.1:{harness.settings.leads_port}/leads/site"
    async with harness.http.post(url, headers=headers, **({"data": body} if kw.get("form") else {"json": body})) as r:
        return r.status, await r.json()


async def _deal(harness: Harness) -> Case:
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        return (await session.execute(select(Case).where(Case.process == "medical_order"))).scalar_one()


async def _answer(person: Person, label: str, answer: str) -> None:
    """One question of a form: a button when the question offers it, else a typed answer."""
    question = await person.expect(label)
    if answer in person.buttons(question):
        await person.press(answer, question)
    else:
        await person.send(answer)


async def _move(person: Person, item: str, to: str, *answers: tuple[str, str]) -> None:
    """Press the move on the item's card; what the new stage requires is asked; then the card shows the stage."""
    await person.press(to, await person.card(f"📦 {item}", button=to))
    for label, answer in answers:
        if answer.startswith("file:"):
            await person.expect(label)
            await person.document(b"%PDF " + answer.encode(), answer.removeprefix("file:"))
        else:
            await _answer(person, label, answer)
    if answers:
        await person.press("Подтвердить", await person.expect("Проверьте"))
    await person.wait_for(f"📦 {item}", f"Этап: {to}")


async def _cancel_item(person: Person, item: str, reason: str) -> None:
    """Cancel the item from its card («✖️ Отменить позицию»: an act, not a stage to go to), saying why."""
    await person.press("Отменить позицию", await person.card(f"📦 {item}", button="Отменить позицию"))
    await _answer(person, "Причина отмены", reason)
    await person.press("Подтвердить", await person.expect("Проверьте"))
    await person.wait_for(f"📦 {item}", "Этап: Отменена")


async def _ask(person: Person, item: str, to: str) -> None:
    """Press a move that waits for approval: nothing is asked yet (the approver decides first); the card waits."""
    notice = await person.press(to, await person.card(f"📦 {item}", button=to))
    assert notice is not None and f"«{item}» перейдёт в «{to}» после согласования" in notice
    assert "запрос у согласующего: Директор." in notice, notice  # whom to chase, named
    await person.wait_for(f"📦 {item}", f"Ждёт согласования перехода в «{to}»")  # the card, without its moves


async def _fill_approved(person: Person, item: str, to: str, label: str, answer: str) -> None:
    """Approved: the mover is told what the new stage still requires, opens the form from that message, fills it
    in, and the item moves."""
    approved = await person.expect(f"Согласовано: «{item}» → «{to}»")
    assert f"Осталось заполнить: {label}" in approved["text"]
    await person.press("Заполнить", approved)
    await _answer(person, label, answer)
    await person.press("Подтвердить", await person.expect("Проверьте"))
    await person.wait_for(f"📦 {item}", f"Этап: {to}")


ITEMS = [
    # name, quantity, availability, supplier, price, payment, delivery: in the order they are asked
    ("Аппарат УЗИ", "1", "Под заказ", "Siemens Healthineers", "4 500 000", "Аккредитив", "Авиа"),
    ("Кардиомонитор", "2", "В наличии", None, "350 000", "Предоплата", "Самовывоз со склада"),
    ("Дефибриллятор", "1", "Под заказ", "ООО «Медтехника»", "900 000", "Аккредитив", "Авто"),
]


async def test_a_lead_from_the_site_becomes_a_deal_that_follows_its_items_to_the_payment(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN}, lead_rate_per_minute=10)
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    other_manager = await harness.person("Менеджер Игорь", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    logistics = await harness.person("Логист Пётр", "logistics")
    accountant = await harness.person("Бухгалтер Вера", "accountant")

    # A sales manager starts a deal from the menu; the client's qualification is not offered there: only a deal
    # starts it, and waits for it.
    await manager.send("▶️ Начать процесс")
    offered = manager.buttons(await manager.expect("Какой процесс"))
    assert any("медоборудование" in label for label in offered)
    assert not any("Квалификация" in label for label in offered)

    # The site's form: a wrong token is refused, a missing phone is named, a double submit makes one case.
    status, body = await _post(harness, LEAD, token="wrong")
    assert status == 401
    status, body = await _post(harness, {**LEAD, "phone": ""}, key="k-0")
    assert status == 400 and list(body["fields"]) == ["phone"]
    status, first = await _post(harness, LEAD, key="lead-42", form=True)
    assert status == 201 and first["created"] is True
    status, again = await _post(harness, LEAD, key="lead-42", form=True)
    assert status == 200 and again["created"] is False and again["case"] == first["case"]
    async with harness.core.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Lead))).scalar_one() == 1
        assert (await session.execute(select(func.count()).select_from(Case))).scalar_one() == 1
    deal = await _deal(harness)
    assert deal.stage == "new" and deal.data["phone"] == "+7 900 123-45-67"

    # Every sales manager sees the lead in the pool; the one who takes it leads the deal: one press puts the lead in
    # work (not «Взять» and then «Готово»), and the card says so.
    card = await other_manager.card("Возьмите заявку в работу", button="Взять")
    assert "Клиника «Здоровье»" in card["text"]
    assert await manager.press("Взять", await manager.card("Возьмите заявку в работу", button="Взять")) == "Готово ✅"
    taken = await manager.wait_for("Возьмите заявку в работу", f"✋ Взято в работу ({manager.name})")
    assert "Готово" not in " ".join(manager.buttons(taken)) and "Взять" not in " ".join(manager.buttons(taken))

    # «Новая»: the qualification runs as a case of its own, and the deal waits for it.
    task = await manager.expect("Квалифицируйте клиента")
    deal = await _deal(harness)
    assert deal.stage == "qualification" and deal.responsible_id is not None
    await manager.press("Целевой клиент", task)
    await _answer(manager, "Тип клиента", "Частная клиника")
    await _answer(manager, "Бюджет", "6 500 000")
    await _answer(manager, "Кто принимает решение", "Главный врач")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))

    # «Согласование договора»: the items and the contract, then the client's answer and the director's approval.
    task = await manager.expect("Соберите заказ и подготовьте договор")
    await manager.press("Готово", task)
    for number, (name, quantity, availability, supplier, price, payment, delivery) in enumerate(ITEMS, 1):
        await _answer(manager, f"Позиция №{number}: Наименование", name)
        await _answer(manager, f"Позиция №{number}: Количество", quantity)
        await _answer(manager, f"Позиция №{number}: Наличие", availability)
        if supplier is not None:  # asked only for an item to order
            await _answer(manager, f"Позиция №{number}: Поставщик", supplier)
        await _answer(manager, f"Позиция №{number}: Цена", price)
        await _answer(manager, f"Позиция №{number}: Способ оплаты", payment)
        question = await manager.expect(f"Позиция №{number}: Способ доставки")
        await manager.press(delivery, question)
        more = await manager.expect("— добавить?")
        assert more["text"] == f"Позиция №{number + 1} — добавить?"  # one entry, in the singular, by its number
        await manager.press("Да" if number < len(ITEMS) else "Нет", more)
    await manager.expect("Договор")
    await manager.document(b"%PDF contract", "contract.pdf")
    summary = await manager.expect("Проверьте")
    assert "Трек-номер" not in summary["text"]  # what the track requires is asked on the item's card, later
    assert "Итого: 6\xa0100\xa0000,00 ₽" in summary["text"]  # what the order comes to, confirmed with it
    # Correcting an item offers what it is asked here only: not its track's fields, nor a supplier for one in stock.
    await manager.press("Исправить поле", summary)
    await manager.press("Позиции", await manager.expect("Какое поле исправить"))
    await manager.press("Кардиомонитор", await manager.expect("Какую запись «Позиции» исправить"))
    picker = await manager.expect("Позиция №2: что исправить")
    assert manager.buttons(picker)[:6] == [
        "Наименование",
        "Количество",
        "Наличие",
        "Цена",
        "Способ оплаты",
        "Способ доставки",
    ]
    assert not {"Трек-номер", "Приходный ордер склада", "Поставщик"} & set(manager.buttons(picker))
    await manager.press("Цена", picker)
    await _answer(manager, "Позиция №2: Цена", "350 000")
    summary = await manager.expect("Проверьте")
    await manager.press("Подтвердить", summary)

    # The director sends the contract back: the manager hears why at once — not after telling the client's answer
    # to a contract that is no longer on the table — and the client's answer is no longer asked for this one.
    approval = await director.expect("Согласуйте договор")
    assert "Аппарат УЗИ × 1 по 4\xa0500\xa0000,00 ₽; Кардиомонитор × 2 по 350\xa0000,00 ₽;" in approval["text"]
    assert "Итого: 6\xa0100\xa0000,00 ₽." in approval["text"]  # what the director commits the company to
    await manager.card("Ответ клиента по договору", button="Клиент согласовал")
    await director.press("Отклонить", approval)
    await director.expect("Причина отказа")
    await director.send("Цена УЗИ занижена, пересчитайте")
    await director.press("Подтвердить", await director.expect("Проверьте"))
    told = await manager.expect("Клиника «Здоровье»: директор вернул договор на доработку")
    assert "Цена УЗИ занижена, пересчитайте" in told["text"]
    withdrawn = await manager.wait_for("Ответ клиента по договору", "Задача больше не нужна")
    assert not manager.buttons(withdrawn) or "Клиент согласовал" not in " ".join(manager.buttons(withdrawn))
    task = await manager.card("Соберите заказ и подготовьте договор", button="Готово")
    assert "Директор вернул договор: Цена УЗИ занижена, пересчитайте" in task["text"]
    await manager.press("Готово", task)
    await manager.press("Оставить", await manager.expect("Позиция №1", "Сейчас"))
    await manager.press("Оставить", await manager.expect("Договор"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))

    approval = await director.expect("Согласуйте договор")
    await director.press("Согласовать", approval)
    answer = await manager.card("Ответ клиента по договору", button="Клиент согласовал")
    await manager.press("Клиент согласовал", answer)

    # «Предоплата»: the items are paid in two ways — a prepayment and a letter of credit — and the terms of both
    # are asked, not one «Тип оплаты» for the deal; no item is deferred, so a deferral's are not.
    terms = await manager.card("Условия оплаты", button="Готово")
    # Its card names what its form will ask of this order, not the deferral's agreement it never asks.
    assert "Понадобится: Сумма предоплаты, Дата предоплаты, Номер аккредитива, Банк-эмитент и ещё 2" in terms["text"]
    assert "отсрочк" not in terms["text"].lower(), terms["text"]
    await manager.press("Готово", terms)
    asked = []
    for label, answer in (
        ("Сумма предоплаты", "700 000"),
        ("Дата предоплаты", "сегодня"),
        ("Номер аккредитива", "LC-2026-118"),
        ("Банк-эмитент", "Сбербанк"),
        ("Сумма аккредитива", "5 750 000"),
        ("Аккредитив действует до", "31.03.2027"),
    ):
        question = await manager.expect(label)
        asked.append(question["text"])
        await manager.send(answer)
    summary = await manager.expect("Проверьте")
    assert "Тип оплаты" not in summary["text"] and "Соглашение об отсрочке" not in summary["text"]
    assert not any("Тип оплаты" in text or "Отсрочка, дней" in text for text in asked)
    await manager.press("Подтвердить", summary)

    deal = await _deal(harness)
    assert deal.stage == "order_sent" and deal.data["lc_bank"] == "Сбербанк" and deal.data["prepayment_amount"]
    assert "deferral_days" not in deal.data and "payment_type" not in deal.data
    # The client named as typed, without a legal form, still reads right: not «Заказ Клиника «Здоровье»».
    await logistics.expect("Клиника «Здоровье»: позиции заказа в работе — ведите каждую по её карточке.")

    # Items at their own pace: the one in stock goes straight to the warehouse (no «Отправлен» for it).
    monitor = await logistics.card("📦 Кардиомонитор", "Этап: Оформление")
    assert "Отправлен" not in " ".join(logistics.buttons(monitor))
    await _move(logistics, "Кардиомонитор", "На складе", ("Приходный ордер", "file:receipt-2.pdf"))

    # An item to order is sent only with the director's approval, each on its own. He decides first — ordering from
    # the supplier spends the company's money; the tracking number exists only once the item is ordered and sent.
    await _ask(logistics, "Аппарат УЗИ", "Отправлен")
    approval = await director.expect("Согласуйте: Аппарат УЗИ → Отправлен")
    assert "Siemens Healthineers" in approval["text"] and "Трек-номер" not in approval["text"]
    await director.press("Отклонить", approval)
    await director.expect("Причина отказа")
    await director.send("Сначала подтвердите цену у Siemens")
    summary = await director.expect("Проверьте")
    assert "Согласуйте: Аппарат УЗИ → Отправлен" in summary["text"]  # the item by its name, not «Позиция №1»
    await director.press("Подтвердить", summary)
    refused = await logistics.expect("«Аппарат УЗИ» не переходит в «Отправлен»")
    assert "Сначала подтвердите цену у Siemens" in refused["text"]
    await logistics.wait_for("📦 Аппарат УЗИ", "Этап: Оформление")
    await _ask(logistics, "Аппарат УЗИ", "Отправлен")  # asked again, after the price is confirmed
    await director.press("Согласовать", await director.expect("Согласуйте: Аппарат УЗИ → Отправлен"))
    # Approved: the logistician is told in chat, with the button that opens the form; the card says it too.
    approved = await logistics.expect("Согласовано: «Аппарат УЗИ» → «Отправлен» (Директор Олег)")
    assert "Осталось заполнить: Трек-номер" in approved["text"] and "sent" not in approved["text"]
    card = await logistics.wait_for("📦 Аппарат УЗИ", "Переход в «Отправлен» согласован")
    assert "Этап: Оформление" in card["text"]
    await logistics.press("Заполнить", approved)
    await logistics.expect("Трек-номер")
    # The form left unanswered: the move's button opens it again, and the director is not asked twice.
    await logistics.press("Отправлен", await logistics.card("📦 Аппарат УЗИ", button="Отправлен"))
    await _answer(logistics, "Трек-номер", "DHL-5531")
    await logistics.press("Подтвердить", await logistics.expect("Проверьте"))
    await logistics.wait_for("📦 Аппарат УЗИ", "Этап: Отправлен")
    await _ask(logistics, "Дефибриллятор", "Отправлен")
    await director.press("Согласовать", await director.expect("Согласуйте: Дефибриллятор → Отправлен"))
    await _fill_approved(logistics, "Дефибриллятор", "Отправлен", "Трек-номер", "CDEK-0042")
    assert (await _deal(harness)).stage == "order_sent"
    await logistics.press("История", await logistics.card("📦 Аппарат УЗИ", "Этап: Отправлен"))
    history = await logistics.expect("История «Аппарат УЗИ»")
    assert "не согласован переход в «Отправлен» (Сначала подтвердите цену у Siemens) · Директор Олег" in history["text"]
    assert "согласован переход в «Отправлен» · Директор Олег" in history["text"]
    assert history["text"].rstrip().endswith("Отправлен · Логист Пётр")  # moved when the logistician filled it in
    async with harness.core.sessionmaker() as session:
        asked = select(AuditEntry.action).where(AuditEntry.action.like("item.approval%"))
        actions = (await session.execute(asked)).scalars()
        assert sorted(actions) == ["item.approval_approved"] * 2 + ["item.approval_asked"] * 3 + [
            "item.approval_rejected"
        ]
    await _move(logistics, "Аппарат УЗИ", "На таможне")
    await _move(logistics, "Дефибриллятор", "На таможне")
    await manager.expect("Клиника «Здоровье»: заказ на таможенном оформлении.")
    assert (await _deal(harness)).stage == "customs"

    # The defibrillator clears quickly; the ultrasound sits at customs and the logistician is reminded.
    await _move(
        logistics,
        "Дефибриллятор",
        "На складе",
        ("Номер таможенной декларации", "10702010/011226/0001"),
        ("Дата таможенной декларации", "01.12.2026"),
        ("Приходный ордер", "file:receipt-3.pdf"),
    )
    assert (await _deal(harness)).stage == "customs"
    await harness.advance(days=6)  # three working days, whatever the weekend
    await logistics.expect("«Аппарат УЗИ» всё ещё на этапе «На таможне»")
    await _move(
        logistics,
        "Аппарат УЗИ",
        "На складе",
        ("Номер таможенной декларации", "10702010/081226/0002"),
        ("Дата таможенной декларации", "08.12.2026"),
        ("Приходный ордер", "file:receipt-1.pdf"),
    )
    await manager.expect("Клиника «Здоровье»: все позиции заказа на складе")
    assert (await _deal(harness)).stage == "warehouse"

    for name, *_rest in ITEMS:
        await _move(logistics, name, "Отгружен клиенту", ("Накладная с подписью клиента", f"file:{name}.pdf"))
    await accountant.expect("Клиника «Здоровье»: заказ отгружен клиенту")
    deal = await _deal(harness)
    assert deal.stage == "shipped" and [s["stage"] for s in item_states(deal.data, "items")] == ["shipped"] * 3

    # Until the closing documents are attached and the payment closed, both are reminded.
    await harness.advance(days=3)
    await manager.expect("Приложите подписанные закрывающие документы")
    task = await manager.card("Приложите подписанные закрывающие документы", button="Готово")
    await manager.press("Готово", task)
    await manager.document(b"%PDF upd", "upd.pdf")
    await manager.press("Готово", await manager.expect("Закрывающие документы", "1"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    task = await accountant.card("Закройте оплату заказа", button="Готово")
    assert "Клиника «Здоровье»: 6\xa0100\xa0000,00 ₽. Предоплата 700\xa0000,00 ₽ получена " in task["text"]
    assert "Аккредитив № LC-2026-118, Сбербанк, на 5\xa0750\xa0000,00 ₽ до 31.03.2027." in task["text"]
    # The papers her card brings name each item as its card does, not «Позиция №2» that nobody on the deal says.
    papers = [m.get("text") or m.get("caption") or "" for m in await accountant.bot_messages() if m.get("document")]
    assert "Накладная с подписью клиента · Кардиомонитор · №1 · Клиника «Здоровье»" in papers, papers
    assert not any("Позиция №" in caption for caption in papers), papers
    await accountant.press("Готово", task)
    await accountant.expect("Платёжное поручение")
    await accountant.document(b"%PDF payment", "payment.pdf")
    await accountant.press("Подтвердить", await accountant.expect("Проверьте"))

    deal = await _deal(harness)
    assert deal.stage == "paid" and deal.status == "done" and deal.result == "success"
    await manager.expect("Дело закрыто", "— Заказ оплачен")  # a result, not something still to do


async def test_the_site_form_page_and_a_burst_of_submissions(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory(
        leads_port=free_port(), lead_tokens={"site": TOKEN}, lead_rate_per_minute=3, leads_page_token=True
    )
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    await harness.person("Директор Олег", "director")

    # The demo's page: the definition's labels, a fresh idempotency key, and the form's token.
    async with harness.http.get(f"http://127.0.0.1:{harness.settings.leads_port}/leads/site") as response:
        page = await response.text()
    assert response.status == 200 and "Клиент (организация) *" in page and TOKEN in page
    assert 'name="idempotency_key"' in page and 'name="phone" required' in page

    # No key: the same contents are the same lead.
    status, first = await _post(harness, LEAD, form=True)
    status_again, again = await _post(harness, LEAD, form=True)
    assert (status, status_again) == (201, 200) and first["case"] == again["case"]
    await manager.card("Возьмите заявку в работу", "Клиника «Здоровье»")  # one lead, one task

    # A burst from one form: the fourth within a minute is refused; a minute later the form takes leads again.
    status, body = await _post(harness, {**LEAD, "name": "Третий"}, key="k-3")
    assert status == 201
    status, body = await _post(harness, {**LEAD, "name": "Четвёртый"}, key="k-4")
    assert status == 429 and "попробуйте через минуту" in body["message"]
    await harness.advance(minutes=1)
    status, body = await _post(harness, {**LEAD, "name": "Четвёртый"}, key="k-4")
    assert status == 201
    async with harness.core.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Case))).scalar_one() == 3


async def _a_lead_taken(harness: Harness, manager: Person, key: str) -> None:
    """A lead from the site, taken by `manager`, the one sales manager (a pool of one: one button puts it in work)."""
    status, _body = await _post(harness, LEAD, key=key)
    assert status == 201
    await manager.press("Взять в работу", await manager.card("Возьмите заявку в работу", button="Взять в работу"))


async def _order_being_assembled(harness: Harness, manager: Person, key: str, first_item: str) -> None:
    """A lead from the site taken by `manager` (`_a_lead_taken`), the client qualified as a target (a private
    clinic, 6 500 000, the chief physician decides), «Соберите заказ и подготовьте договор» opened and item №1
    named `first_item`: how many of it is asked next."""
    await _a_lead_taken(harness, manager, key)
    await manager.press("Целевой клиент", await manager.expect("Квалифицируйте клиента"))
    await _answer(manager, "Тип клиента", "Частная клиника")
    # The qualification's card was what came of the lead taken: no «✅ Готово … этап: Новая: квалификация клиента»
    # behind it.
    assert await manager.find("✅ Готово", "квалификация клиента") is None
    await _answer(manager, "Бюджет", "6 500 000")
    await _answer(manager, "Кто принимает решение", "Главный врач")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.press("Готово", await manager.expect("Соберите заказ и подготовьте договор"))
    await _answer(manager, "Позиция №1: Наименование", first_item)


async def _lead_to_contract_approval(harness: Harness, manager: Person, items: list[tuple[str, ...]]) -> None:
    """A lead from the site taken by `manager`, qualified, its order put together with `items` and its contract
    attached: the deal is at «Согласование договора», the client's answer and the director's approval asked."""
    await _order_being_assembled(harness, manager, "lead-contract", items[0][0])
    for number, (name, quantity, availability, supplier, price, payment, delivery) in enumerate(items, 1):
        if number > 1:  # item №1 is named already
            await _answer(manager, f"№{number}: Наименование", name)
        await _answer(manager, f"№{number}: Количество", quantity)
        await _answer(manager, f"№{number}: Наличие", availability)
        if supplier is not None:
            await _answer(manager, f"№{number}: Поставщик", supplier)
        await _answer(manager, f"№{number}: Цена", price)
        await _answer(manager, f"№{number}: Способ оплаты", payment)
        await _answer(manager, f"№{number}: Способ доставки", delivery)
        await manager.press("Да" if number < len(items) else "Нет", await manager.expect("Позиция №", "— добавить?"))
    await manager.expect("Договор")
    await manager.document(b"%PDF contract", "contract.pdf")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))


async def _contract_agreed(
    harness: Harness, manager: Person, director: Person, items: list[tuple[str, ...]]
) -> dict[str, Any]:
    """Up to the contract's approval (`_lead_to_contract_approval`), then the director approves it and the client
    agrees: the manager's «Условия оплаты» card, which comes next."""
    await _lead_to_contract_approval(harness, manager, items)
    await director.press("Согласовать", await director.card("Согласуйте договор", button="Согласовать"))
    await manager.press("Клиент согласовал", await manager.card("Ответ клиента по договору", button="Клиент"))
    return await manager.card("Условия оплаты", button="Готово")


async def test_the_clients_refusal_ends_the_contracts_approval_without_waiting_for_the_director(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    await _lead_to_contract_approval(harness, manager, ITEMS[1:2])
    await director.card("Согласуйте договор", button="Согласовать")

    # The client refused: the deal is lost at once, not when the director has approved a contract nobody will sign.
    await manager.press("Клиент отказался", await manager.card("Ответ клиента по договору", button="Клиент"))
    await _answer(manager, "Почему клиент отказался", "Выбрали предложение конкурента дешевле")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    deal = await _deal(harness)
    assert deal.stage == "lost" and deal.status == "done" and deal.result == "failure"

    # The director's approval is withdrawn, and he is told why.
    withdrawn = await director.wait_for("Согласуйте договор", "Задача больше не нужна")
    assert "Согласовать" not in " ".join(director.buttons(withdrawn))
    told = await director.expect("Клиент отказался от договора: Выбрали предложение конкурента дешевле")
    assert "Клиника «Здоровье»" in told["text"]
    # The manager's closing message says why, and so does the deal's card.
    closed = await manager.expect("Дело закрыто", "Сделка проиграна")
    assert "Клиент отказался от договора: Выбрали предложение конкурента дешевле" in closed["text"]
    await manager.send(f"/case {deal.id}")
    card = await manager.expect("Причина проигрыша")
    assert "Причина проигрыша: Выбрали предложение конкурента дешевле" in card["text"]


async def test_the_manager_waiting_for_the_directors_approval_hears_it_with_his_next_task_in_one_message(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """Ольга told the client's consent and waits for the director. He approves the contract: she is told so, in the
    card of her next task «Условия оплаты» — one message that says both, not a notice and then the card."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    await _lead_to_contract_approval(harness, manager, ITEMS[1:2])
    await manager.press("Клиент согласовал", await manager.card("Ответ клиента по договору", button="Клиент"))
    await manager.expect("Ждёт: Директор Олег")  # her answer is in; the deal waits for the director
    waiting = max(m["message_id"] for m in await manager.bot_messages())

    await director.press("Согласовать", await director.card("Согласуйте договор", button="Согласовать"))
    terms = await manager.card("Условия оплаты", button="Готово")
    assert "✅ Директор согласовал договор" in terms["text"], terms["text"]
    news = [m["message_id"] for m in await manager.bot_messages() if m["message_id"] > waiting]
    assert news == [terms["message_id"]], [m["text"] for m in await manager.bot_messages()][-3:]


async def test_a_director_who_approves_before_the_client_answers_is_heard_at_once_and_not_again_with_the_next_task(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The director approves first, while Ольга still waits for the client: she hears it at that moment, not only
    when she has told the client's answer. She then tells the client's consent: her next task «Условия оплаты» comes,
    and no second message of the approval behind it."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    await _lead_to_contract_approval(harness, manager, ITEMS[1:2])
    answer = await manager.card("Ответ клиента по договору", button="Клиент")

    await director.press("Согласовать", await director.card("Согласуйте договор", button="Согласовать"))
    told = await manager.expect("✅ Директор согласовал договор — ждём ответа клиента.")
    assert "Клиника «Здоровье»" in told["text"], told["text"]  # which deal, as every notice of it says
    assert await director.find("ждём ответа клиента") is None  # his own approval is no news to him

    await manager.press("Клиент согласовал", answer)
    terms = await manager.card("Условия оплаты", button="Готово")
    assert "✅ Директор согласовал договор" in terms["text"], terms["text"]  # the card says where the deal stands
    approvals = [m["message_id"] for m in await manager.bot_messages() if "Директор согласовал" in (m["text"] or "")]
    assert approvals == [told["message_id"], terms["message_id"]], [m["text"] for m in await manager.bot_messages()]


async def test_a_lead_that_is_no_buyer_closes_the_deal_saying_why(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    await _a_lead_taken(harness, manager, "lead-used")
    await manager.press("Нецелевой", await manager.expect("Квалифицируйте клиента"))
    await _answer(manager, "Почему нецелевой", "Нужно только б/у оборудование")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))

    # The reason given in the qualification is the deal's: on its card and in the message that closes it.
    deal = await _deal(harness)
    assert deal.stage == "lost" and deal.data["lost_reason"] == "Нужно только б/у оборудование"
    closed = await director.expect("Дело закрыто", "Сделка проиграна")  # the lead came in his name
    assert "Клиент нецелевой: Нужно только б/у оборудование" in closed["text"]
    await manager.expect("Клиент нецелевой: Нужно только б/у оборудование")
    await director.send(f"/case {deal.id}")
    assert "Причина проигрыша: Нужно только б/у оборудование" in (await director.expect("Причина проигрыша"))["text"]


async def _start_a_deal_by_hand(manager: Person) -> dict[str, Any]:
    """A sales manager starts a deal in chat for a clinic she found herself; the summary she confirmed."""
    await manager.send("▶️ Начать процесс")
    await manager.press("медоборудование", await manager.expect("Какой процесс"))
    await _answer(manager, "Клиент (организация)", "Клиника «Здоровье»")
    await _answer(manager, "Контактное лицо", "Анна Петрова")
    await _answer(manager, "Телефон", "+7 900 123-45-67")
    await manager.press("Пропустить", await manager.expect("Эл. почта"))
    await manager.press("Пропустить", await manager.expect("Запрос клиента"))
    summary = await manager.expect("Проверьте")
    await manager.press("Подтвердить", summary)
    return summary


async def test_a_deal_a_manager_starts_by_hand_is_hers_and_goes_straight_to_the_qualification(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory()
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    other_manager = await harness.person("Менеджер Игорь", "sales_manager")
    await harness.person("Директор Олег", "director")
    summary = await _start_a_deal_by_hand(manager)

    # She started it: it is hers already — no «new lead» to her or to the other managers, nothing to take; the
    # qualification's task comes at once, with what the deal has (no form asking for the request again).
    task = await manager.expect("Квалифицируйте клиента")
    assert "Клиника «Здоровье», +7 900 123-45-67" in task["text"] and "123-45-67:" not in task["text"]
    since = [m for m in await manager.bot_messages() if m["message_id"] > summary["message_id"]]
    assert not [m for m in since if "Запрос клиента" in (m.get("text") or "")]
    deal = await _deal(harness)
    for person in (manager, other_manager):
        said = " ".join(m.get("text") or "" for m in await person.bot_messages())
        assert "Новая заявка" not in said and "Возьмите заявку в работу" not in said, person.name
    async with harness.core.sessionmaker() as session:
        her = (await session.execute(select(User.id).where(User.tg_id == manager.id))).scalar_one()
        assert deal.stage == "qualification" and deal.responsible_id == her
        qualification = (
            await session.execute(select(Case).where(Case.process == "medical_qualification"))
        ).scalar_one()
        assert qualification.status == "active" and qualification.stage == "qualify"
        assert qualification.initiator_id == her
        assert not (await session.execute(select(Task).where(Task.key == "take_lead"))).scalars().all()

    # The qualification answered, the deal goes on to the contract in her hands.
    await manager.press("Целевой клиент", task)
    await _answer(manager, "Тип клиента", "Частная клиника")
    await _answer(manager, "Бюджет", "5 000 000")
    await _answer(manager, "Кто принимает решение", "Главный врач")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("Соберите заказ и подготовьте договор")


async def test_a_budget_said_as_about_twelve_million_is_recorded_as_that_and_up_to_is_asked_again(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The manager qualifying a client writes the budget as he heard it. «до 12 млн» is the most the client will
    pay, not what he will: refused, with the amount he may mean and how to write an estimate. «около 12 млн» is an
    estimate: recorded as 12 000 000, and he reads that above the next question and on the summary."""
    harness = await harness_factory()
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    await harness.person("Директор Олег", "director")
    await _start_a_deal_by_hand(manager)
    await manager.press("Целевой клиент", await manager.expect("Квалифицируйте клиента"))
    await _answer(manager, "Тип клиента", "Частная клиника")

    await _answer(manager, "Бюджет", "до 12 млн")
    refused = await manager.expect("⚠️", "✏️ Бюджет")
    assert refused["text"].startswith(
        "⚠️ «до 12 млн» — это предел, а не сумма: введите саму сумму, например 12\u00a0000\u00a0000, или примерную: "
        "«около 12 млн»"
    ), refused["text"]
    await manager.send("около 12 млн")
    question = await manager.expect("✏️ Кто принимает решение")
    recorded = "ℹ️ «около 12 млн» записано как 12\u00a0000\u00a0000,00\u00a0₽."
    assert question["text"].startswith(recorded), question["text"]
    await manager.send("Главный врач")
    summary = await manager.expect("Проверьте")
    assert "Бюджет: 12\u00a0000\u00a0000,00\u00a0₽" in summary["text"], summary["text"]
    await manager.press("Подтвердить", summary)
    await manager.expect("Соберите заказ и подготовьте договор")
    async with harness.core.sessionmaker() as session:
        qualification = (
            await session.execute(select(Case).where(Case.process == "medical_qualification"))
        ).scalar_one()
    assert qualification.data["budget"] == "12000000.00", qualification.data


async def _order_sent(harness: Harness, manager: Person, director: Person, prepayment: str = "700 000") -> Case:
    """A lead taken by `manager`, its order of the monitors (2 × 350 000, in stock) and a defibrillator (to order),
    the contract agreed and the prepayment's terms given (`prepayment` received): the deal is at «Заказ отправлен»,
    the items on their cards."""
    await manager.press("Готово", await _contract_agreed(harness, manager, director, ITEMS[1:3]))
    for label, answer in (("Сумма предоплаты", prepayment), ("Дата предоплаты", "сегодня"),
                          ("Номер аккредитива", "LC-7"), ("Банк-эмитент", "Сбербанк"),
                          ("Сумма аккредитива", "900 000"), ("Аккредитив действует до", "31.03.2027")):  # fmt: skip
        await _answer(manager, label, answer)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    deal = await _deal(harness)
    assert deal.stage == "order_sent"
    return deal


async def _order_sent_to_logistics(
    harness_factory: Callable[..., Awaitable[Harness]], prepayment: str = "700 000"
) -> tuple[Harness, Case, Person, Person, Person]:
    """The sales manager Ольга, the director Олег and the logistician Пётр; Ольга's order sent (`_order_sent`, with
    `prepayment` received), its items on Пётр's cards. Returns the harness, the deal, and Ольга, Олег and Пётр."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    logistics = await harness.person("Логист Пётр", "logistics")
    deal = await _order_sent(harness, manager, director, prepayment)
    return harness, deal, manager, director, logistics


async def _defibrillator_sent(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> tuple[Harness, Case, Person, Person, Person]:
    """The order sent to the logistician (`_order_sent_to_logistics`), and the director Олег has approved sending the
    defibrillator (to order): the logistician Пётр is told so and asked its tracking number. Returns the harness, the
    deal, and Ольга, Олег and Пётр."""
    harness, deal, manager, director, logistics = await _order_sent_to_logistics(harness_factory)
    await _ask(logistics, "Дефибриллятор", "Отправлен")
    await director.press("Согласовать", await director.expect("Согласуйте: Дефибриллятор → Отправлен"))
    return harness, deal, manager, director, logistics


async def test_an_item_cancelled_asks_why_and_its_manager_and_its_approver_are_told(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The director approved ordering the defibrillator from its supplier, then the client dropped it: the
    logistician cancels the item — asked why first (changing his mind there cancels nothing) — and the deal's
    manager and the director who approved the order hear which item and why, while the deal goes on."""
    harness, deal, manager, director, logistics = await _defibrillator_sent(harness_factory)
    await logistics.expect("Согласовано: «Дефибриллятор» → «Отправлен»")

    # One tap is not enough: the reason is asked; «Передумать» there leaves the item where it was.
    await logistics.press("Отменить позицию", await logistics.card("📦 Дефибриллятор", button="Отменить позицию"))
    await logistics.press("Передумать", await logistics.expect("Причина отмены"))
    await logistics.expect("Отменено: «Дефибриллятор» остаётся на этапе «Оформление»")
    deal = await _deal(harness)
    assert item_states(deal.data, "items")[1]["stage"] == "ordering"
    async with harness.core.sessionmaker() as session:
        forms = (await session.execute(select(Task).where(Task.case_id == deal.id, Task.status == "open"))).scalars()
        assert not [t.key for t in forms if t.key.endswith(">cancelled")]  # no form left in «Мои задачи»

    await _cancel_item(logistics, "Дефибриллятор", "Клиент отказался от позиции")
    card = await logistics.wait_for("📦 Дефибриллятор", "Этап: Отменена")
    assert "Причина отмены: Клиент отказался от позиции" in card["text"], card["text"]
    for person in (manager, director):
        told = await person.expect("Позиция «Дефибриллятор» отменена: Клиент отказался от позиции")
        assert "Клиника «Здоровье»" in told["text"] and "cancel" not in told["text"], told["text"]
    await harness.settle()
    texts = [m.get("text") or "" for m in await logistics.bot_messages()]
    assert not [t for t in texts if "Позиция «Дефибриллятор» отменена" in t]  # he cancelled it: not told again
    deal = await _deal(harness)
    assert (deal.stage, deal.status) == ("order_sent", "active")  # the monitors are still coming


async def test_an_order_whose_every_item_is_cancelled_closes_and_its_manager_and_director_are_told(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """A cancelled item leaves what the order comes to; and once every item is cancelled nothing is left to ship:
    the deal does not wait at «Заказ отправлен» with no task and nobody told — it closes, saying so."""
    harness, deal, manager, director, logistics = await _order_sent_to_logistics(harness_factory)

    await _cancel_item(logistics, "Дефибриллятор", "Клиент отказался от позиции")
    await manager.send(f"/case {deal.id}")
    card = await manager.expect(f"№{deal.id}", "Итого")
    assert "Итого: 700\xa0000,00 ₽" in card["text"], card["text"]  # not 1 600 000: the defibrillator is not coming

    await _cancel_item(logistics, "Кардиомонитор", "Нет в наличии у поставщика")
    for person in (manager, director):
        await person.expect("все позиции отменены, отгружать нечего — сделка закрыта")
    deal = await _deal(harness)
    assert (deal.stage, deal.status, deal.result) == ("items_cancelled", "done", "failure")


async def test_a_cancelled_qualification_withdraws_the_deal_without_calling_the_client_no_buyer(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The manager cancels the client's qualification (a duplicate lead): nobody judged the client, so the deal is
    withdrawn — not lost as «Клиент нецелевой:» with nothing after the colon — and the manager and the director
    are told."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    await _a_lead_taken(harness, manager, "lead-twice")
    await manager.expect("Квалифицируйте клиента")
    async with harness.core.sessionmaker() as session:
        child = (await session.execute(select(Case).where(Case.process == "medical_qualification"))).scalar_one()
    await manager.send(f"/case {child.id}")
    await cancel_case(manager, await manager.card(f"№{child.id}", button="Отменить дело"), "Дубль заявки")

    deal = await _deal(harness)
    assert (deal.stage, deal.status, deal.result) == ("withdrawn", "done", "failure")
    told = await director.expect("Квалификация клиента Клиника «Здоровье» отменена")
    assert "Заявка снята" in told["text"] and "нецелевой" not in told["text"], told["text"]
    # The manager's came as the case closed, before the answer to her cancellation.
    texts = [m.get("text") or "" for m in await manager.bot_messages()]
    assert any("Заявка снята" in t and "Квалификация клиента Клиника «Здоровье» отменена" in t for t in texts), texts


async def test_the_manager_who_took_a_lead_may_cancel_the_deal_he_leads(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """A lead from the site was started by nobody in chat: the manager who took it leads the deal, and its card
    offers him «Отменить дело» (a duplicate found later), as it does the initiator of a case he started."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    other = await harness.person("Менеджер Игорь", "sales_manager")
    await harness.person("Директор Олег", "director")  # the lead comes in his name
    status, _body = await _post(harness, LEAD, key="lead-dup")
    assert status == 201
    await manager.press("Взять", await manager.card("Возьмите заявку в работу", button="Взять"))
    await manager.expect("Квалифицируйте клиента")
    deal = await _deal(harness)
    await other.send(f"/case {deal.id}")
    assert "Отменить дело" not in other.buttons(await other.expect(f"№{deal.id}", "Этап"))  # not his deal
    await manager.send(f"/case {deal.id}")
    await cancel_case(manager, await manager.card(f"№{deal.id}", button="Отменить дело"), "Дубль: клиент уже в работе")
    deal = await _deal(harness)
    assert deal.status == "cancelled"


async def test_a_mistyped_tracking_number_is_corrected_on_the_items_card_and_the_deal_hears_it(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The logistician typed the defibrillator's tracking number with two digits swapped. «✏️ Трек-номер» on the
    item's card asks it again, offering the one it has: the item stays where it is, its card shows the right number
    with the mistyped one under it, its history says who changed what, the deal's card has the new number, and the
    manager who gives the client the number hears it — the logistician is not told what he has just done."""
    harness, deal, manager, _director, logistics = await _defibrillator_sent(harness_factory)
    await _fill_approved(logistics, "Дефибриллятор", "Отправлен", "Трек-номер", "RU100200030")
    card = await logistics.card("📦 Дефибриллятор", "Этап: Отправлен", button="✏️ Трек-номер")
    assert "Трек-номер: RU100200030" in card["text"], card["text"]
    # The monitor is still being ordered: it has no tracking number to correct yet.
    monitor = await logistics.card("📦 Кардиомонитор", "Этап: Оформление")
    assert not [label for label in logistics.buttons(monitor) if label.startswith("✏️")], logistics.buttons(monitor)

    await logistics.press("✏️ Трек-номер", card)
    await logistics.expect("Трек-номер", "Сейчас: RU100200030")
    await logistics.send("RU100200300")
    await logistics.press("Подтвердить", await logistics.expect("Проверьте"))
    await logistics.expect("«Дефибриллятор»: Трек-номер — теперь RU100200300.")
    card = await logistics.wait_for("📦 Дефибриллятор", "Трек-номер: RU100200300")
    assert "ранее: RU100200030" in card["text"] and "Этап: Отправлен" in card["text"], card["text"]
    await logistics.press("История", card)
    history = await logistics.expect("История «Дефибриллятор»")
    assert (
        history["text"].splitlines()[-1].endswith(" — «Трек-номер» исправлено: RU100200030 → RU100200300 · Логист Пётр")
    ), history["text"]

    told = await manager.expect("«Дефибриллятор»: Трек-номер — теперь RU100200300, было RU100200030 (Логист Пётр)")
    assert "Клиника «Здоровье»" in told["text"] and "tracking" not in told["text"], told["text"]
    await manager.send(f"/case {deal.id}")
    view = await manager.expect(f"№{deal.id}", "Трек-номер")
    assert "Трек-номер: RU100200300" in view["text"] and "RU100200030" not in view["text"], view["text"]
    await harness.settle()
    texts = [m.get("text") or "" for m in await logistics.bot_messages()]
    assert not [t for t in texts if "было RU100200030" in t]  # he corrected it himself: not told again

    async with harness.core.sessionmaker() as session:
        (corrected,) = (
            (
                await session.execute(
                    select(AuditEntry).where(AuditEntry.case_id == deal.id, AuditEntry.action == "item.corrected")
                )
            )
            .scalars()
            .all()
        )
    assert corrected.data == {"list": "items", "index": 1, "field": "tracking", "from": "RU100200030",
                              "to": "RU100200300"}  # fmt: skip
    deal = await _deal(harness)
    assert deal.data["items"][1]["tracking"] == "RU100200300" and item_states(deal.data, "items")[1]["stage"] == "sent"
    # The panel's history of the deal says it in words, the item by its name.
    spec = harness.core.registry.library["medical_order"].spec
    said = Words(harness.core, "ru").history(corrected, spec, {}, {}, deal.data)
    assert "«Дефибриллятор»: «Трек-номер» изменено с RU100200030 на RU100200300" in said, said


async def test_the_deals_card_says_how_many_of_what_and_what_is_left_to_pay_in_each_readers_language(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """Two monitors read «Количество: 2 шт» to the manager and «Quantity: 2 pcs» to an English logistician; once
    the prepayment is in, the deal's card says what the client still owes: the order's total less it."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    peter = await harness.person("Logistician Peter", "logistics", language="en")
    deal = await _order_sent(harness, manager, director)

    await manager.send(f"/case {deal.id}")
    card = await manager.expect(f"№{deal.id}", "Итого")
    assert "   Количество: 2 шт\n" in card["text"] and "   Количество: 1 шт\n" in card["text"], card["text"]
    # 2 × 350 000 and 900 000, less the prepayment of 700 000.
    assert "Итого: 1\xa0600\xa0000,00 ₽\nК оплате: 900\xa0000,00 ₽" in card["text"], card["text"]

    await peter.send(f"/case {deal.id}")
    card = await peter.expect(f"#{deal.id}", "Total")
    assert "   Quantity: 2 pcs\n" in card["text"] and "   Quantity: 1 pc\n" in card["text"], card["text"]
    assert "Total: 1,600,000.00 ₽\nTo pay: 900,000.00 ₽" in card["text"], card["text"]


async def test_a_client_who_prepaid_more_than_the_order_now_comes_to_is_owed_the_difference_not_asked_for_it(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The client prepaid 1 000 000; then the defibrillator (900 000) is cancelled and the order comes to 700 000. The
    deal's card says the client has overpaid 300 000 — to the manager in Russian, to the logistician in English —
    not «К оплате: -300 000,00 ₽», an amount to pay below zero."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    peter = await harness.person("Logistician Peter", "logistics", language="en")
    deal = await _order_sent(harness, manager, director, prepayment="1 000 000")
    await manager.send(f"/case {deal.id}")
    card = await manager.expect(f"№{deal.id}", "Итого")
    assert "Итого: 1\xa0600\xa0000,00 ₽\nК оплате: 600\xa0000,00 ₽" in card["text"], card["text"]

    await peter.press("Cancel the item", await peter.card("📦 Дефибриллятор", button="Cancel the item"))
    await peter.expect("Why it is cancelled")
    await peter.send("The client dropped it")
    await peter.press("Confirm", await peter.expect("check:"))
    await manager.expect("Позиция «Дефибриллятор» отменена")
    await manager.send(f"/case {deal.id}")
    card = await manager.expect(f"№{deal.id}", "Итого")
    assert "Итого: 700\xa0000,00 ₽\nПереплата: 300\xa0000,00 ₽" in card["text"], card["text"]
    assert "К оплате" not in card["text"] and "-300" not in card["text"], card["text"]
    await peter.send(f"/case {deal.id}")
    card = await peter.expect(f"#{deal.id}", "Total")
    assert "Total: 700,000.00 ₽\nOverpaid: 300,000.00 ₽" in card["text"], card["text"]
    assert "To pay" not in card["text"], card["text"]


async def test_the_panel_shows_where_each_item_stands_and_what_the_order_comes_to(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """An admin opens the deal in the panel to see which item holds the order back: each item's block says where it
    stands on its track (the defibrillator cancelled, the monitors still being ordered), and under the items what
    the order comes to and what is left to pay, as the deal's card in chat says — in Russian and in English."""
    harness, deal, _manager, _director, logistics = await _order_sent_to_logistics(harness_factory)
    await _cancel_item(logistics, "Дефибриллятор", "Клиент отказался от позиции")

    for lang, stages, total in (
        ("ru", ("Этап: Оформление", "Этап: Отменена"), ("Итого: 700\xa0000,00 ₽", "К оплате: 0,00 ₽")),
        ("en", ("Stage: Ordering", "Stage: Cancelled"), ("Total: 700,000.00 ₽", "To pay: 0.00 ₽")),
    ):
        data = await case_fields(harness, deal.id, lang)
        blocks = data.split('class="entry"')[1:]
        assert [stage in block for stage, block in zip(stages, blocks, strict=True)] == [True, True], data
        for line in total:
            assert f'<div class="total">{line}</div>' in data, data


async def test_the_accountant_closing_the_payment_is_told_what_is_left_to_pay_after_the_prepayment(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The client prepaid 500 000; the defibrillator was cancelled, the monitors (700 000) shipped. The accountant
    who closes the order's payment reads what the order came to, the prepayment, and what is still to come from the
    client — 200 000 — rather than working it out from the total, which is not what she is waiting for."""
    harness, _order, _manager, _director, logistics = await _order_sent_to_logistics(harness_factory, "500 000")
    vera = await harness.person("Accountant Vera", "accountant", language="en")
    await _cancel_item(logistics, "Дефибриллятор", "Клиент отказался от позиции")
    await _move(logistics, "Кардиомонитор", "На складе", ("Приходный ордер", "file:receipt.pdf"))
    await _move(logistics, "Кардиомонитор", "Отгружен клиенту", ("Накладная с подписью клиента", "file:note.pdf"))

    task = await vera.card("Close the order's payment", button="Done")
    assert "Клиника «Здоровье»: 700,000.00 ₽. Prepayment of 500,000.00 ₽ received " in task["text"], task["text"]
    assert "To pay: 200,000.00 ₽." in task["text"], task["text"]


async def test_an_items_approval_waiting_is_named_by_the_item_in_the_digest_and_the_admins_card(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The director has not yet approved ordering the defibrillator. His digest lists it among what waits for him,
    and the deal's card and the admin's /find card among the case's open tasks, by the item's name — «Согласуйте:
    Дефибриллятор → Отправлен», as his task's card says — not «Позиция №2», which leaves him to find out which item
    that is."""
    harness, deal, manager, director, logistics = await _order_sent_to_logistics(harness_factory)
    await _ask(logistics, "Дефибриллятор", "Отправлен")
    await director.expect("Согласуйте: Дефибриллятор → Отправлен")

    await director.send("/digest")
    await director.press("Прислать сейчас", await director.expect("сводк"))
    digest = await director.expect("Ждут вас")
    assert "«Согласуйте: Дефибриллятор → Отправлен»" in digest["text"], digest["text"]
    assert "Позиция №" not in digest["text"], digest["text"]

    await manager.send(f"/case {deal.id}")  # the deal's card lists its open work the same way
    card = await manager.expect(f"№{deal.id}", "Согласуйте")
    assert "• Согласуйте: Дефибриллятор → Отправлен — " in card["text"], card["text"]

    await harness.admin.send(f"/find {deal.id}")
    card = await harness.admin.expect(f"№{deal.id}", "Согласуйте")
    assert "• Согласуйте: Дефибриллятор → Отправлен — " in card["text"], card["text"]
    assert "👤 Согласуйте: Дефибриллятор → Отправлен" in harness.admin.buttons(card), harness.admin.buttons(card)


async def test_an_item_left_waiting_for_the_directors_approval_reminds_him_not_only_the_logistician(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The logistician asked to order the defibrillator; the director has not decided, and his approval has no
    deadline. Three working days on, the item's reminder goes to the director whose decision it waits for, with
    the approval a press away — and the logistician's says what it waits for and with whom, rather than pressing
    him about an item whose card offers him nothing to do."""
    harness, _order, _manager, director, logistics = await _order_sent_to_logistics(harness_factory)
    await _ask(logistics, "Дефибриллятор", "Отправлен")
    await director.expect("Согласуйте: Дефибриллятор → Отправлен")

    await harness.advance(days=6)  # three working days, whatever the weekend
    told = await director.expect("«Дефибриллятор» всё ещё на этапе «Оформление»")
    assert "ждёт вашего согласования перехода в «Отправлен»" in told["text"], told["text"]
    await director.press("Открыть задачу", told)
    approval = await director.expect("Согласуйте: Дефибриллятор → Отправлен")
    assert "Согласовать" in director.buttons(approval), director.buttons(approval)
    reminded = await logistics.expect("«Дефибриллятор» всё ещё на этапе «Оформление»")
    assert "переход в «Отправлен» ждёт согласования (Директор)" in reminded["text"], reminded["text"]
    # The monitors wait for nobody's approval: their reminder is the logistician's alone, as before.
    await logistics.wait_for("«Кардиомонитор» всё ещё на этапе «Оформление»")
    await harness.settle()
    texts = [m.get("text") or "" for m in await director.bot_messages()]
    assert not [t for t in texts if "«Кардиомонитор» всё ещё" in t], texts


async def test_a_manager_who_switches_language_in_the_middle_of_the_order_is_asked_its_question_again_in_hers(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """Halfway through putting the order together the manager switches to English: the question she is at is asked
    again in English, with English buttons — not left in Russian above «Language: English.» — and the answers she
    gave are kept."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    await harness.person("Директор Олег", "director")
    await _order_being_assembled(harness, manager, "lead-lang", "Кардиомонитор")
    await _answer(manager, "Позиция №1: Количество", "2")
    await manager.expect("Позиция №1: Наличие")

    await manager.send("/lang")
    await manager.expect("Language: English.")
    question = await manager.expect("Item #1: Availability")
    assert {"In stock", "To order"} <= set(manager.buttons(question)), manager.buttons(question)
    await manager.press("In stock", question)
    await manager.expect("Item #1: Price")
    async with harness.core.sessionmaker() as session:
        form = (await session.execute(select(Task).where(Task.key == "prepare_contract"))).scalar_one()
    assert form.draft is not None and "Кардиомонитор" in str(form.draft), form.draft


async def test_a_quantity_no_order_has_is_refused_not_carried_to_the_directors_approval(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """A stuck key types 99 999 999 999 999 999 999 monitors: the question says it takes 1 to 100 000 and asks
    again, rather than taking it and handing the director a contract of 35 000 000 000 000 000 000 000 000 ₽ to
    approve."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    await harness.person("Директор Олег", "director")
    await _order_being_assembled(harness, manager, "lead-huge", "Кардиомонитор")
    question = await manager.expect("Позиция №1: Количество")
    assert "Отправьте целое число от 1 до 100\u00a0000." in question["text"], question["text"]
    await manager.send("99999999999999999999")
    refused = await manager.expect("Введите число от 1 до 100\u00a0000", "Позиция №1: Количество")
    assert "Наличие" not in refused["text"]
    await manager.send("2")
    await manager.expect("Позиция №1: Наличие")


async def test_a_prepayment_larger_than_the_order_is_refused_at_once_naming_the_orders_total(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The order comes to 1 600 000 (two monitors and a defibrillator); the manager types a prepayment of 16 000 000
    (a zero too many). He is told at once that the prepayment cannot be more than the order's total, with the total,
    and asked the amount again — not taken, to show up later on the deal's card as «Переплата: 14 400 000,00 ₽».
    The whole total prepaid is taken; in English the same refusal reads in English."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    await manager.press("Готово", await _contract_agreed(harness, manager, director, ITEMS[1:3]))

    await manager.expect("Сумма предоплаты")
    await manager.send("16 000 000")
    refused = await manager.expect("не может быть больше")
    assert refused["text"].startswith(
        "⚠️ «Сумма предоплаты» не может быть больше, чем сумма заказа: 1\xa0600\xa0000,00\xa0₽.\n\n✏️ Сумма предоплаты"
    ), refused["text"]  # the question, asked again under it
    assert "Дата предоплаты" not in refused["text"]
    await manager.send("1 600 000")  # the whole order prepaid: no more than it comes to
    await manager.expect("Дата предоплаты")
    await manager.send("/lang en")
    await manager.press("Back", await manager.expect("Prepayment date"))
    await manager.expect("Prepayment amount")
    await manager.send("1 600 000.01")
    refused = await manager.expect("cannot be more than")
    assert refused["text"].startswith(
        "⚠️ “Prepayment amount” cannot be more than the order's total: 1,600,000.00\xa0₽.\n\n✏️ Prepayment amount"
    ), refused["text"]
    await manager.send("700 000")
    for label, answer in (("Prepayment date", "today"), ("Letter of credit number", "LC-7"),
                          ("Issuing bank", "Сбербанк"), ("Letter of credit amount", "900 000"),
                          ("Letter of credit valid until", "31.03.2027")):  # fmt: skip
        await _answer(manager, label, answer)
    await manager.press("Confirm", await manager.expect("check:"))
    deal = await _deal(harness)
    assert deal.stage == "order_sent" and deal.data["prepayment_amount"] == "700000.00", deal.data


async def test_a_second_move_pressed_while_an_items_form_is_open_asks_to_finish_that_form_first(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The logistician presses «На складе» on the monitors' card and is asked the warehouse receipt; before sending
    it he presses «Отменить позицию» on the same card, then on the defibrillator's. One form at a time: each press
    tells him the receipt's form is still open — finish it or cancel it first — and asks the receipt again; no second
    form opens (his next answer would have gone to it), nothing is cancelled. The receipt sent, the monitors move."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    logistics = await harness.person("Логист Пётр", "logistics")
    deal = await _order_sent(harness, manager, director)
    await logistics.press("На складе", await logistics.card("📦 Кардиомонитор", button="На складе"))
    await logistics.expect("Приходный ордер склада")

    for item in ("Кардиомонитор", "Дефибриллятор"):
        await logistics.press("Отменить позицию", await logistics.card(f"📦 {item}", button="Отменить позицию"))
        told = await logistics.expect("ещё открыта")
        assert told["text"] == (
            f"Форма «Кардиомонитор → На складе» (дело №{deal.id}) ещё открыта: сначала заполните её или отмените."
        ), told["text"]
        again = await logistics.expect("Приходный ордер склада")
        assert "Причина отмены" not in again["text"]
    async with harness.core.sessionmaker() as session:
        keys = (await session.execute(select(Task.key).where(Task.case_id == deal.id))).scalars().all()
        assert not [key for key in keys if key.endswith(">cancelled")], keys  # no second form behind the first

    await logistics.document(b"%PDF receipt", "receipt.pdf")
    await logistics.press("Подтвердить", await logistics.expect("Проверьте"))
    await logistics.wait_for("📦 Кардиомонитор", "Этап: На складе")
    states = item_states((await _deal(harness)).data, "items")
    assert [state["stage"] for state in states] == ["warehouse", "ordering"], states


async def test_the_panel_shows_of_each_item_only_what_it_has(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """An admin reads the deal in the panel: the monitors are in stock — no supplier was ever asked of them — and
    neither item has been sent, so neither has a tracking number or a customs declaration yet. Each item's block
    lists what the item has (the defibrillator's supplier, to order), not «Поставщик: —» and a row of dashes for
    what its stage has not reached."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    deal = await _order_sent(harness, manager, director)

    data = await case_fields(harness, deal.id, "ru")
    monitors, defibrillator = data.split('class="entry"')[1:]
    assert "Кардиомонитор" in monitors and "Поставщик" not in monitors, monitors
    assert "Поставщик: ООО «Медтехника»" in defibrillator, defibrillator
    for block in (monitors, defibrillator):
        assert "Этап: Оформление" in block and "Способ оплаты:" in block, block
        assert "Трек-номер" not in block and "таможенной декларации" not in block, block
        assert "Причина отмены" not in block and ": —<" not in block, block


async def test_the_manager_hears_the_tracking_number_the_moment_an_item_is_sent(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The director approved ordering the defibrillator and the logistician sends it with tracking number
    CDEK-0042. The deal's manager, who gives the client the number to follow the parcel by, hears it then — not only
    if it is mistyped and corrected later, nor by opening the deal's card to look; the logistician who typed it is
    not told what he has just done."""
    harness, _order, manager, _director, logistics = await _defibrillator_sent(harness_factory)
    await _fill_approved(logistics, "Дефибриллятор", "Отправлен", "Трек-номер", "CDEK-0042")

    told = await manager.expect("Позиция «Дефибриллятор» отправлена поставщиком, трек-номер: CDEK-0042")
    assert "Клиника «Здоровье»" in told["text"] and "tracking" not in told["text"], told["text"]
    await harness.settle()
    texts = [m.get("text") or "" for m in await logistics.bot_messages()]
    assert not [t for t in texts if "трек-номер: CDEK-0042" in t], texts


async def test_an_item_the_client_drops_while_its_order_waits_for_the_directors_approval_can_be_cancelled(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The logistician asked to order the defibrillator; before the director decides, the client drops it. The
    item's card, waiting for the approval, still offers «Отменить позицию»: the logistician cancels it saying why,
    rather than waiting for the director to refuse an order nobody wants. The director's approval is withdrawn —
    nothing is left to decide — the manager hears which item and why, and the monitors carry on."""
    harness, _order, manager, director, logistics = await _order_sent_to_logistics(harness_factory)
    await _ask(logistics, "Дефибриллятор", "Отправлен")
    await director.expect("Согласуйте: Дефибриллятор → Отправлен")

    waiting = "Ждёт согласования перехода в «Отправлен»"
    card = await logistics.card("📦 Дефибриллятор", waiting, button="Отменить позицию")
    assert "Отправлен" not in " ".join(logistics.buttons(card)), logistics.buttons(card)  # asked once already
    await _cancel_item(logistics, "Дефибриллятор", "Клиент отказался от позиции")

    withdrawn = await director.wait_for("Согласуйте: Дефибриллятор → Отправлен", "Задача больше не нужна")
    assert "Согласовать" not in " ".join(director.buttons(withdrawn)), director.buttons(withdrawn)
    for person in (manager, director):  # the director is told why his approval is no longer needed
        await person.expect("Позиция «Дефибриллятор» отменена: Клиент отказался от позиции")
    deal = await _deal(harness)
    assert [s["stage"] for s in item_states(deal.data, "items")] == ["ordering", "cancelled"]
    assert (deal.stage, deal.status) == ("order_sent", "active")


async def test_an_order_called_off_after_a_prepayment_tells_the_accountant_to_return_it(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The client prepaid 700 000, then dropped both the defibrillator and the monitors: the deal closes with
    nothing to ship. The money is still the client's: the accountant hears the order is called off and that the
    prepayment of 700 000 received on its date is to be returned — no closing-of-payment task ever comes to her for
    it — and the manager's and the director's message says so too."""
    harness, _order, manager, director, logistics = await _order_sent_to_logistics(harness_factory)
    vera = await harness.person("Бухгалтер Вера", "accountant")
    await _cancel_item(logistics, "Дефибриллятор", "Клиент отказался от позиции")
    await _cancel_item(logistics, "Кардиомонитор", "Клиент отказался от заказа")

    told = await vera.expect("Клиника «Здоровье»: заказ отменён — верните клиенту предоплату 700\xa0000,00 ₽")
    assert "полученную 21.12.2026." in told["text"], told["text"]
    for person in (manager, director):
        closing = await person.expect("все позиции отменены, отгружать нечего — сделка закрыта")
        assert "Предоплату 700\xa0000,00 ₽ нужно вернуть клиенту." in closing["text"], closing["text"]


async def test_an_english_accountant_reads_a_one_day_deferral_in_the_singular(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The client pays for the monitors a day after they are shipped. The English accountant who closes the order's
    payment reads «Deferral: 1 day.» — not «1 days» — and the Russian manager's deal is unchanged."""
    _harness, _director, vera = await _monitors_shipped_on_deferral(harness_factory, "1", "Accountant Vera", "en")

    task = await vera.card("Close the order's payment", button="Done")
    assert "Клиника «Здоровье»: 700,000.00 ₽. Deferral: 1 day." in task["text"], task["text"]


async def test_a_deal_cancelled_while_its_items_travel_tells_the_logistician_who_moves_them(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The logistician has put the monitors in the warehouse and is about to order the defibrillator when the
    client walks away and the manager cancels the deal. He hears it, with the reason — not only finds his item cards
    quietly saying «Дело закрыто» while he goes on ordering from the supplier."""
    _harness, deal, manager, _director, logistics = await _order_sent_to_logistics(harness_factory)
    await _move(logistics, "Кардиомонитор", "На складе", ("Приходный ордер", "file:receipt.pdf"))
    await manager.send(f"/case {deal.id}")
    await cancel_case(manager, await manager.card(f"№{deal.id}", button="Отменить дело"), "Клиент ушёл к конкуренту")

    told = await logistics.expect("Клиент ушёл к конкуренту")
    assert f"№{deal.id}" in told["text"] and "отмен" in told["text"], told["text"]


async def test_the_move_that_brings_the_whole_order_to_the_warehouse_is_answered_with_that_news_in_one_message(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The client dropped the defibrillator; Пётр puts the monitors, all that is left, in the warehouse. The answer
    to his move says where the item is now and, in the same message, the process's news for him that the whole
    order is there to ship — not that news first and the answer to what he did after it. The manager hears the news
    as before."""
    _harness, _deal, manager, _director, logistics = await _order_sent_to_logistics(harness_factory)
    await _cancel_item(logistics, "Дефибриллятор", "Клиент отказался от позиции")
    await _move(logistics, "Кардиомонитор", "На складе", ("Приходный ордер", "file:receipt.pdf"))

    answer = await logistics.expect("«Кардиомонитор» — теперь «На складе»")
    assert "Клиника «Здоровье»: все позиции заказа на складе — пора отгружать." in answer["text"], answer["text"]
    assert answer["text"].startswith("✅"), answer["text"]  # the answer to his move first
    news = [m["message_id"] for m in await logistics.bot_messages() if "пора отгружать" in (m.get("text") or "")]
    assert news == [answer["message_id"]], news  # one message, not a notice of its own besides
    await manager.expect("Клиника «Здоровье»: все позиции заказа на складе — пора отгружать.")


async def test_the_receipt_one_item_came_in_with_is_offered_for_the_next_item_by_one_press(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """One warehouse receipt often covers several items of an order. Пётр has put the monitors in the warehouse with
    theirs; when the defibrillator comes in from customs, its receipt question offers that very scan by the
    monitors' name — one press, not the scan found and sent again. The declaration, which no other item has, he
    types as before."""
    harness, _deal_row, _manager, _director, logistics = await _defibrillator_sent(harness_factory)
    await _fill_approved(logistics, "Дефибриллятор", "Отправлен", "Трек-номер", "CDEK-0042")
    await _move(logistics, "Кардиомонитор", "На складе", ("Приходный ордер", "file:receipt.pdf"))
    await _move(logistics, "Дефибриллятор", "На таможне")

    await logistics.press("На складе", await logistics.card("📦 Дефибриллятор", button="На складе"))
    declaration = await logistics.expect("Номер таможенной декларации")
    assert not any("Кардиомонитор" in b for b in logistics.buttons(declaration)), logistics.buttons(declaration)
    await logistics.send("10702010/011226/0001")
    await _answer(logistics, "Дата таможенной декларации", "01.12.2026")
    receipt = await logistics.expect("Приходный ордер")
    assert "receipt.pdf (Кардиомонитор)" in logistics.buttons(receipt), logistics.buttons(receipt)
    await logistics.press("receipt.pdf (Кардиомонитор)", receipt)
    answered = await logistics.wait_for("Приходный ордер", "✅ receipt.pdf (Кардиомонитор)")
    assert not logistics.buttons(answered)
    summary = await logistics.expect("Проверьте")
    assert "Приходный ордер склада: receipt.pdf" in summary["text"], summary["text"]
    await logistics.press("Подтвердить", summary)
    await logistics.wait_for("📦 Дефибриллятор", "Этап: На складе")

    monitors, defibrillator = (await _deal(harness)).data["items"]
    assert defibrillator["warehouse_receipt"][0]["id"] == monitors["warehouse_receipt"][0]["id"]
    assert defibrillator["declaration_number"] == "10702010/011226/0001"


async def test_a_deal_cancelled_as_a_whole_after_a_prepayment_tells_the_accountant_to_return_it(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The client prepaid 700 000 and then walked away from the whole order: the manager cancels the deal at once,
    with the reason, rather than cancelling its items one by one. The money is still the client's all the same: the
    accountant hears the order is called off and that the prepayment of 700 000 received on its date is to be
    returned — as she would had every item been cancelled."""
    harness, deal, manager, _director, _logistics = await _order_sent_to_logistics(harness_factory)
    vera = await harness.person("Бухгалтер Вера", "accountant")
    await manager.send(f"/case {deal.id}")
    await cancel_case(manager, await manager.card(f"№{deal.id}", button="Отменить дело"), "Клиент ушёл к конкуренту")

    told = await vera.expect("Клиника «Здоровье»: заказ отменён — верните клиенту предоплату 700\xa0000,00 ₽")
    assert "полученную 21.12.2026. Причина отмены: Клиент ушёл к конкуренту" in told["text"], told["text"]
    assert (await _deal(harness)).status == "cancelled"


async def test_the_accountant_closing_the_payment_of_a_cancelled_deal_hears_it_in_one_message(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The monitors are shipped (the defibrillator was dropped) and the accountant holds «Закройте оплату заказа»
    when the client walks away from the deal and the manager cancels it. She hears it in one message: her payment
    task is off, and the prepayment of 700 000 is to be returned — not one message for each, and the reason once."""
    harness, deal, manager, _director, logistics = await _order_sent_to_logistics(harness_factory)
    vera = await harness.person("Бухгалтер Вера", "accountant")
    await _cancel_item(logistics, "Дефибриллятор", "Клиент отказался от позиции")
    await _move(logistics, "Кардиомонитор", "На складе", ("Приходный ордер", "file:receipt.pdf"))
    await _move(logistics, "Кардиомонитор", "Отгружен клиенту", ("Накладная с подписью клиента", "file:note.pdf"))
    await vera.card("Закройте оплату заказа", button="Готово")
    before = len(await vera.bot_messages())

    await manager.send(f"/case {deal.id}")
    await cancel_case(manager, await manager.card(f"№{deal.id}", button="Отменить дело"), "Клиент ушёл к конкуренту")

    told = await vera.expect("верните клиенту предоплату 700\xa0000,00 ₽")
    assert "работу над «Закройте оплату заказа» можно остановить" in told["text"], told["text"]
    assert "Отменил: Менеджер Ольга" in told["text"], told["text"]
    assert told["text"].count("Клиент ушёл к конкуренту") == 1, told["text"]
    await harness.settle()
    new = [m.get("text") or "" for m in (await vera.bot_messages())[before:] if m.get("text")]
    assert [t for t in new if "отмен" in t] == [told["text"]], new


async def test_a_logistician_who_never_moved_an_item_hears_the_deal_cancelled_and_a_newcomer_does_not(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """Two logisticians were given the order's items; Пётр puts the monitors in the warehouse, Иван has not touched
    them yet. The manager cancels the deal: Иван hears it in one line with the reason and which of his items he can
    stop working on — not only finds his cards closed. A logistician who joined after the order went out holds no
    card of it and hears nothing."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    petr = await harness.person("Логист Пётр", "logistics")
    ivan = await harness.person("Логист Иван", "logistics")
    deal = await _order_sent(harness, manager, director)
    await ivan.card("📦 Дефибриллятор", button="Отменить позицию")
    anna = await harness.person("Логист Анна", "logistics")
    await _move(petr, "Кардиомонитор", "На складе", ("Приходный ордер", "file:receipt.pdf"))

    await manager.send(f"/case {deal.id}")
    await cancel_case(manager, await manager.card(f"№{deal.id}", button="Отменить дело"), "Клиент ушёл к конкуренту")

    told = await ivan.expect(f"№{deal.id}", "Клиент ушёл к конкуренту")
    assert "работу над «Кардиомонитор», «Дефибриллятор» можно остановить" in told["text"], told["text"]
    await harness.settle()
    texts = [m.get("text") or "" for m in await ivan.bot_messages()]
    assert len([t for t in texts if "Клиент ушёл к конкуренту" in t]) == 1, texts
    assert not [m for m in await anna.bot_messages() if f"№{deal.id}" in (m.get("text") or "")]


async def test_a_client_on_a_thirty_day_deferral_is_not_chased_for_the_payment_before_it_ends(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The client pays for the monitors 30 days after they are shipped on Monday 21.12 — through Wednesday 20.01,
    as the accountant counts it, and her card says so. A week on, the closing documents are late and the director
    hears of them, but not of the payment: the client is within his terms. On the 20th itself the client may still
    pay all day: no one is chased in its morning. Once the day has closed unpaid, the accountant is told and the
    director hears of the payment too."""
    from datetime import UTC, datetime

    harness, director, accountant = await _monitors_shipped_on_deferral(harness_factory, "30", "Бухгалтер Вера", "ru")
    await accountant.card("Закройте оплату заказа", "Отсрочка 30 дн.", "Срок: 20.01.2027 18:00", button="Готово")

    # Wednesday 30.12, seven working days after the shipping: the documents are late, the payment is not.
    await harness.move_to(datetime(2026, 12, 30, 12, 0, tzinfo=UTC))
    await director.expect("Эскалация", "Приложите подписанные закрывающие документы")
    assert not [m for m in await director.bot_messages() if "Эскалация" in (m.get("text") or "")
                and "Закройте оплату заказа" in (m.get("text") or "")]  # fmt: skip
    assert not [m for m in await accountant.bot_messages() if "Просрочено" in (m.get("text") or "")]

    # Tuesday 19.01 at the close: a working day before the deferral's end, the reminder names it.
    await harness.move_to(datetime(2027, 1, 19, 15, 0, tzinfo=UTC))
    await accountant.expect("Напоминание", "«Закройте оплату заказа» — 20.01.2027 18:00")

    # Wednesday 20.01 at 10:00, the deferral's last day: the client may still pay; no one is chased.
    await harness.move_to(datetime(2027, 1, 20, 7, 0, tzinfo=UTC))
    assert not [m for m in await accountant.bot_messages() if "Просрочено" in (m.get("text") or "")]
    assert not [m for m in await director.bot_messages() if "Эскалация" in (m.get("text") or "")
                and "Закройте оплату заказа" in (m.get("text") or "")]  # fmt: skip

    # The 20th has closed (18:00 Moscow) unpaid.
    await harness.move_to(datetime(2027, 1, 20, 15, 1, tzinfo=UTC))
    await accountant.expect("Просрочено", "Закройте оплату заказа")
    await director.wait_for("Эскалация", "Закройте оплату заказа")


async def _monitors_shipped_on_deferral(
    harness_factory: Callable[..., Awaitable[Harness]], days: str, accountant: str, lang: str
) -> tuple[Harness, Person, Person]:
    """Two monitors in stock sold on a deferral of `days`, the contract agreed and the monitors shipped to the
    client: the order's payment is the accountant's now. The harness, the director and the accountant."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    director = await harness.person("Директор Олег", "director")
    logistics = await harness.person("Логист Пётр", "logistics")
    payer = await harness.person(accountant, "accountant", language=lang)
    monitors = ("Кардиомонитор", "2", "В наличии", None, "350 000", "Отсрочка", "Самовывоз со склада")
    await manager.press("Готово", await _contract_agreed(harness, manager, director, [monitors]))
    await manager.expect("Соглашение об отсрочке")
    await manager.document(b"%PDF deferral", "deferral.pdf")
    await _answer(manager, "Отсрочка, дней", days)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await _move(logistics, "Кардиомонитор", "На складе", ("Приходный ордер", "file:receipt.pdf"))
    await _move(logistics, "Кардиомонитор", "Отгружен клиенту", ("Накладная с подписью клиента", "file:note.pdf"))
    return harness, director, payer


async def test_a_manager_who_keeps_the_books_cancelling_a_prepaid_deal_hears_it_in_her_answer_alone(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """In a small firm the sales manager Ольга keeps the books too. The client prepaid 700 000 and walks away; she
    cancels the deal herself. The answer to her cancel says it is cancelled and that the prepayment is to be
    returned — not a second message telling her, the accountant, what she has just done."""
    harness = await harness_factory(leads_port=free_port(), lead_tokens={"site": TOKEN})
    olga = await harness.person("Менеджер Ольга", "sales_manager", "accountant")
    director = await harness.person("Директор Олег", "director")
    await harness.person("Логист Пётр", "logistics")
    deal = await _order_sent(harness, olga, director)
    before = len(await olga.bot_messages())

    await olga.send(f"/case {deal.id}")
    answer = await cancel_case(olga, await olga.card(f"№{deal.id}", button="Отменить дело"), "Клиент ушёл к конкуренту")

    assert "отменено" in answer["text"], answer["text"]
    assert "верните клиенту предоплату 700\xa0000,00 ₽, полученную 21.12.2026." in answer["text"], answer["text"]
    await harness.settle()
    new = [m.get("text") or "" for m in (await olga.bot_messages())[before:] if m.get("text")]
    assert [t for t in new if "предоплату" in t] == [answer["text"]], new


async def test_an_admin_who_keeps_the_books_cancelling_a_prepaid_deal_in_chat_hears_it_in_her_answer_alone(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The owner is the bot's admin and keeps the books. She cancels a prepaid deal from /find: her answer says it
    is cancelled, why, and that the prepayment is to be returned, the reason once — one message, as when the
    manager cancels it from the deal's card."""
    harness, deal, _manager, _director, _logistics = await _order_sent_to_logistics(harness_factory)
    admin = harness.admin
    await admin.send(f"/grant {admin.id} accountant")
    await admin.expect("Бухгалтер")
    before = len(await admin.bot_messages())

    await admin.send(f"/find {deal.id}")
    await admin.press("Отменить дело", await admin.card(f"🛠 №{deal.id}", button="Отменить дело"))
    await admin.expect("Почему отменяется")
    await admin.send("Клиент ушёл к конкуренту")
    answer = await admin.expect("отменено")

    assert "верните клиенту предоплату 700\xa0000,00 ₽, полученную 21.12.2026." in answer["text"], answer["text"]
    assert answer["text"].count("Клиент ушёл к конкуренту") == 1, answer["text"]
    await harness.settle()
    new = [m.get("text") or "" for m in (await admin.bot_messages())[before:] if m.get("text")]
    assert [t for t in new if "предоплату" in t] == [answer["text"]], new
