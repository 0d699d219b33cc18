"""A case started by itself when another ended (seed 3: the quote agreed with a new client starts the contract) is
told to the person whose case it is, with a button to open it: no one started it by hand, so no one knew of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from services import companies
from tests.chat import Person
from tests.conftest import Harness, library_with
from tests.test_fulfillment_e2e import fulfillment, new_quote, through_the_director  # noqa: F401 (the fixture)


async def test_the_account_manager_is_told_the_contract_started_after_the_quote(
    fulfillment: Harness,  # noqa: F811
) -> None:
    manager, lawyer = fulfillment.people["Алина"], fulfillment.people["Юрист Вера"]
    await new_quote(manager, "ООО Ромашка", create=True)
    await through_the_director(fulfillment, manager)

    told = await manager.card(
        "Продолжение дела №1 («Заявка на просчёт заказа»): КП с клиентом согласовано", button="Дело"
    )
    assert told["text"].startswith("🔔 №2 · Договор: ООО Ромашка"), told["text"]
    await manager.press("Дело", told)
    card = await manager.expect("№2", "Договор: ООО Ромашка")
    assert "Этап:" in card["text"], card["text"]
    await lawyer.expect("Подготовьте договор с клиентом")  # the contract's first task, as before


async def an_old_clients_quote_agreed(shop: Harness) -> Person:
    """Алина's quote for a client with a contract is agreed: its end starts the receiving request (case №2)."""
    manager = shop.people["Алина"]
    async with shop.core.sessionmaker() as session, session.begin():
        await companies.create(session, "ООО Старый клиент", None, shop.clock.now(), {"contract_signed": True})
    await new_quote(manager, "ООО Старый клиент", create=False)
    await through_the_director(shop, manager)
    return manager


async def test_the_request_a_quote_started_comes_to_its_manager_as_one_message_saying_why(
    fulfillment: Harness,  # noqa: F811
) -> None:
    manager = await an_old_clients_quote_agreed(fulfillment)
    note = await manager.card("Заявка на приёмку товара создана", button="Дело")
    assert "Продолжение дела №1 («Заявка на просчёт заказа»): КП с клиентом согласовано." in note["text"], note["text"]
    await fulfillment.settle()
    about_it = [m["text"] for m in await manager.bot_messages() if "Продолжение дела" in (m.get("text") or "")]
    assert about_it == [note["text"]], about_it  # not a second message in a row about the same new case


async def test_a_request_started_by_another_cases_end_is_new_in_the_digest_not_moved(
    fulfillment: Harness,  # noqa: F811
) -> None:
    await an_old_clients_quote_agreed(fulfillment)
    director = fulfillment.people["Генеральный Олег"]
    await director.send("/digest")
    await director.press("Прислать сейчас", await director.card("сводку", button="Прислать сейчас"))
    text = (await director.expect("📊 Сводка"))["text"]
    assert "Новая заявка → Новая заявка" not in text and "№2" not in text, text


async def test_the_lawyers_first_card_says_which_quote_the_contract_continues(
    fulfillment: Harness,  # noqa: F811
) -> None:
    """The contract comes to the lawyer by itself when the client agrees the offer: her card says it continues quote
    №1 (she may open quotes), and keeps saying so once she has done it; the contract's card opens quote №1 in one
    press, and the quote's card says it went on as contract №2. The manager's signing card, a later one, does not."""
    manager, lawyer = fulfillment.people["Алина"], fulfillment.people["Юрист Вера"]
    await new_quote(manager, "ООО Ромашка", create=True)
    await through_the_director(fulfillment, manager)

    task = await lawyer.card("Подготовьте договор с клиентом", button="Дело")
    assert "↪️ Продолжение дела №1 («Заявка на просчёт заказа»)" in task["text"], task["text"]
    await lawyer.press("Дело", task)
    contract = await lawyer.expect("📁 №2", "Этап: Подготовка договора")
    assert "↪️ Продолжение дела №1 («Заявка на просчёт заказа»)" in contract["text"], contract["text"]
    await lawyer.press("Дело №1", contract)
    quote = await lawyer.expect("📁 №1", "Этап: КП с клиентом согласовано")
    assert "⤵️ Продолжено: дело №2 («Заключить договор с новым клиентом»)" in quote["text"], quote["text"]
    assert "📁 Дело №2" in lawyer.buttons(quote), lawyer.buttons(quote)

    await lawyer.press("Готово", task)
    await lawyer.document(b"%PDF contract", "contract.pdf")
    await lawyer.press("Подтвердить", await lawyer.expect("Проверьте"))
    signing = await manager.expect("Подпишите договор с клиентом")
    assert "Продолжение дела" not in signing["text"], signing["text"]
    done = await lawyer.wait_for("Подготовьте договор с клиентом", "Выполнено")
    assert "↪️ Продолжение дела №1 («Заявка на просчёт заказа»)" in done["text"], done["text"]


async def test_a_lawyer_who_may_not_open_quotes_reads_only_the_contract(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Where quotes are not the lawyers' business (their role is not among the quote's), the contract's card and the
    lawyer's task say what the contract is about, and never a quote number she could not open."""
    library = library_with(tmp_path)
    quote_file = library / "fulfillment_quote.yaml"
    text = quote_file.read_text(encoding="utf-8")
    roles = "roles: [account_manager, general_director, warehouse_worker, lawyer]"
    assert roles in text
    quote_file.write_text(text.replace(roles, "roles: [account_manager, general_director, warehouse_worker]"))
    shop = await harness_factory(library_dir=library)
    manager = await shop.person("Алина", "account_manager")
    await shop.person("Генеральный Олег", "general_director")
    lawyer = await shop.person("Юрист Вера", "lawyer")
    await new_quote(manager, "ООО Ромашка", create=True)
    await through_the_director(shop, manager)

    task = await lawyer.card("Подготовьте договор с клиентом", button="Дело")
    assert "ООО Ромашка" in task["text"] and "№1" not in task["text"], task["text"]
    await lawyer.press("Дело", task)
    contract = await lawyer.expect("📁 №2", "Этап: Подготовка договора")
    assert "№1" not in contract["text"] and "Продолжение" not in contract["text"], contract["text"]
    assert not [b for b in lawyer.buttons(contract) if "№1" in b], lawyer.buttons(contract)
