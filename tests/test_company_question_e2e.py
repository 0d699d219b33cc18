"""A company typed at a form's question and not found is offered to be created — or typed again: a manager who
mistyped the client's name («ООО Мясной двр») had only «Создать» under «Компании … пока нет», and no way back but to
create the misspelt company or leave the form."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Company
from services import companies
from tests.chat import start_a_process
from tests.conftest import Harness


async def companies_named(harness: Harness) -> list[str]:
    async with harness.core.sessionmaker() as session:
        return list((await session.execute(select(Company.name).order_by(Company.id))).scalars())


async def test_a_mistyped_company_is_typed_again_and_nothing_is_created(harness: Harness) -> None:
    manager = await harness.person("Антон", "sales_manager")
    await start_a_process(manager, "Сделка", "Клиент")
    await manager.send("ООО Мясной двр")
    offer = await manager.expect("Компании «ООО Мясной двр» пока нет. Создать?")
    assert manager.buttons(offer) == ["➕ Создать «ООО Мясной двр»", "✏️ Ввести заново"], manager.buttons(offer)

    await manager.press("Ввести заново", offer)
    await manager.expect("Клиент")  # the question again, the offer's buttons gone
    await manager.no_buttons_left(offer["message_id"])
    assert await companies_named(harness) == []

    await manager.send("ООО Мясной двор")
    offer = await manager.expect("Компании «ООО Мясной двор» пока нет. Создать?")
    await manager.press("Создать", offer)
    await manager.expect("✏️ Объём")  # on to the volumes
    assert await companies_named(harness) == ["ООО Мясной двор"]
    # The offer now reads as the question answered, and says the client was added: not «…пока нет. Создать?» left
    # standing with its buttons gone, as if nothing had been created.
    answered = await manager.no_buttons_left(offer["message_id"])
    assert answered["text"] == "✏️ Клиент\n✅ ООО Мясной двор — добавлена в справочник", answered["text"]


async def test_a_company_like_the_one_typed_is_not_it_and_the_name_is_typed_again(harness: Harness) -> None:
    async with harness.core.sessionmaker() as session, session.begin():  # a client the directory already holds
        await companies.create(session, "ООО Мясной двор", None, harness.clock.now())
    manager = await harness.person("Антон", "sales_manager")
    await start_a_process(manager, "Сделка", "Клиент")
    await manager.send("Мясной")
    offer = await manager.expect("«Мясной»: это одна из этих компаний?")
    assert manager.buttons(offer)[-1] == "✏️ Ввести заново", manager.buttons(offer)
    await manager.press("Ввести заново", offer)
    await manager.expect("Клиент")
    assert await companies_named(harness) == ["ООО Мясной двор"]


async def test_a_company_picked_from_those_found_reads_as_the_answer_under_its_question(harness: Harness) -> None:
    async with harness.core.sessionmaker() as session, session.begin():
        await companies.create(session, "ООО Мясной двор", None, harness.clock.now())
    manager = await harness.person("Антон", "sales_manager")
    await start_a_process(manager, "Сделка", "Клиент")
    await manager.send("Мясной")
    offer = await manager.expect("«Мясной»: это одна из этих компаний?")
    await manager.press("ООО Мясной двор", offer)
    await manager.expect("✏️ Объём")
    answered = await manager.no_buttons_left(offer["message_id"])
    assert answered["text"] == "✏️ Клиент\n✅ ООО Мясной двор", answered["text"]


async def test_type_again_pressed_twice_asks_once_and_the_second_press_says_why(harness: Harness) -> None:
    """A double tap on «✏️ Ввести заново» (the second before the phone removed the buttons), or a press on an older
    offer after a newer name was typed: the question is asked once, and the newer offer stands."""
    manager = await harness.person("Антон", "sales_manager")
    await start_a_process(manager, "Сделка", "Клиент")
    await manager.send("ООО Мясной двр")
    offer = await manager.expect("Компании «ООО Мясной двр» пока нет. Создать?")
    retype = next(b["callback_data"] for row in offer["inline_keyboard"] for b in row if "Ввести заново" in b["text"])
    await manager.press("Ввести заново", offer)
    await manager.expect("Клиент")
    await harness.settle()
    asked = len(await manager.bot_messages())

    again = await manager.press_data(offer["message_id"], retype, unchecked=True)
    assert again and "Название уже можно ввести заново" in again, again
    await harness.settle()
    assert len(await manager.bot_messages()) == asked  # the question is not asked a second time

    await manager.send("ООО Мясной двор")
    newer = await manager.expect("Компании «ООО Мясной двор» пока нет. Создать?")
    stale = await manager.press_data(offer["message_id"], retype, unchecked=True)
    assert stale and "последнее сообщение" in stale, stale
    await manager.press("Создать", newer)  # the newer offer was not undone by the old button
    await manager.expect("✏️")
    assert await companies_named(harness) == ["ООО Мясной двор"]


async def test_an_older_offers_create_does_not_create_the_newer_name(harness: Harness) -> None:
    """«ООО Рога» typed, then «ООО Копыта»: a press on the first offer's «Создать» (a double tap, or a press that came
    before its buttons went) created «ООО Копыта» — the name typed last. Now it is told to use the latest message,
    and the newer offer creates its own name."""
    manager = await harness.person("Антон", "sales_manager")
    await start_a_process(manager, "Сделка", "Клиент")
    await manager.send("ООО Рога")
    older = await manager.expect("Компании «ООО Рога» пока нет. Создать?")
    create = next(b["callback_data"] for row in older["inline_keyboard"] for b in row if "Создать" in b["text"])
    await manager.send("ООО Копыта")
    newer = await manager.expect("Компании «ООО Копыта» пока нет. Создать?")
    stale = await manager.press_data(older["message_id"], create, unchecked=True)
    assert stale and "последнее сообщение" in stale, stale
    await harness.settle()
    assert await companies_named(harness) == []
    await manager.press("Создать", newer)
    await manager.expect("✏️")
    assert await companies_named(harness) == ["ООО Копыта"]
