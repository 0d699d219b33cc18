"""Seed 4: the regional representative of the dealer's region approves its order request. A dealer whose card names
its regional representative has its requests go to that person alone, theirs at once; the other representatives
are not told of them. A dealer whose card names nobody, or names someone who no longer has the role, has its
requests offered to the representatives' pool as before — no request waits for someone who cannot approve it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from db.models import User
from tests.chat import Person
from tests.conftest import Harness
from tests.test_dealer_orders_e2e import COMBI, TRIMMER, place_order
from tests.test_dealer_portal_e2e import dealers
from tests.test_onec_exchange_e2e import _exchange
from tests.test_organisations_e2e import texts

TASK = "Согласуйте заявку дилера"


async def names_its_rep(harness: Harness, org_name: str, rep_name: str) -> None:
    """The admin opens the dealer's card and picks its regional representative by a button."""
    admin = harness.admin
    await admin.send("/orgs")
    await admin.press(org_name, await admin.card("Организации", button=org_name))
    card = await admin.card(org_name, "ИНН/КПП", button="Региональный представитель")
    await admin.press("Региональный представитель", card)
    await admin.press(rep_name, await admin.expect("кто региональный представитель"))
    await admin.expect(org_name, f"Региональный представитель: {rep_name}")


async def offered_to_pool(person: Person, *fragments: str) -> None:
    """The request's card comes to `person` as a pool's: anyone of the role may take it."""
    card = await person.card(TASK, *fragments, button="✋ Взять")
    assert "Эта задача — ваша" not in card["text"], card["text"]


async def test_the_dealers_own_regional_representative_gets_its_request_and_the_others_do_not(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, boris, regina = people["anna"], people["boris"], people["regina"]
    # Two more regional representatives, of no region: they see every dealer's cases.
    roman = await harness.person("Роман", "regional_rep")
    renat = await harness.person("Ренат", "regional_rep")
    await names_its_rep(harness, "ООО Сад", "Регина")

    # Сад names Регина: its request is hers at once — no «Взять», no race — and Роман and Ренат hear nothing.
    await place_order(harness, anna, ("combi 48", COMBI))
    card = await regina.card(TASK, "ООО Сад", button="Согласовать")
    assert "Эта задача — ваша" in card["text"] and "✋ Взять" not in regina.buttons(card), card
    registered = await anna.find("зарегистрировано")
    assert registered is not None and "Ждёт: Регина (Региональный представитель)" in registered["text"]
    await harness.settle()
    assert TASK not in await texts(roman) and TASK not in await texts(renat)
    await regina.press("Согласовать", card)
    await anna.expect("одобрена и передаётся в 1С")

    # Инструмент (Казань) names nobody: its request is the pool's, as before — Роман and Ренат may each take it,
    # Регина (Москва) is not told of another region's dealer.
    await place_order(harness, boris, ("SBC 900", TRIMMER))
    await offered_to_pool(roman, "ООО Инструмент")
    await offered_to_pool(renat, "ООО Инструмент")
    await harness.settle()
    assert "ООО Инструмент" not in await texts(regina)

    # Регина no longer has the role: Сад's next request goes to the pool, not to her.
    async with harness.core.sessionmaker() as session:
        regina_id = (await session.execute(select(User.id).where(User.name == "Регина"))).scalar_one()
    await harness.admin.send(f"/revoke {regina_id} regional_rep")
    await harness.admin.expect("Регина — роли теперь: —")
    await place_order(harness, anna, ("combi 48", COMBI))
    await offered_to_pool(roman, "ООО Сад")
    await offered_to_pool(renat, "ООО Сад")
