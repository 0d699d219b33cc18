"""Seed 3 as its people played it in the demo: what they read in the chat when an agreed quote hands the client on,
a client whose name carries its own quotes, a file answered and corrected, a warehouse date on a day off, and the
payment marked on the last task."""

from __future__ import annotations

from tests.chat import Person
from tests.conftest import Harness
from tests.test_fulfillment_e2e import (  # noqa: F401 (the fixture)
    a_request_for_a_client_under_contract,
    fulfillment,
)


async def texts_of(shop: Harness, person: Person) -> list[str]:
    """Everything the bot said to the person, in the order their chat shows it."""
    await shop.settle()
    return [m.get("text") or m.get("caption") or "" for m in await person.bot_messages()]


async def test_a_request_filed_by_hand_says_it_is_created_once(fulfillment: Harness) -> None:  # noqa: F811
    await a_request_for_a_client_under_contract(fulfillment, "Заявка на отгрузку")
    texts = await texts_of(fulfillment, fulfillment.people["Алина"])
    assert [t for t in texts if "Заявка на отгрузку создана. Направьте её на склад" in t], texts[-4:]
    assert not [t for t in texts if "Заявка создана: заявка" in t], texts[-4:]
