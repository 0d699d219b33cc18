"""Seed 4: an order request 1C has is not the dealer's to cancel alone. Once an exchange has sent it to 1C (or 1C
accepted it), the dealer's «Отменить дело» asks the office — said from its first question, and on the button that
sends the request; the office cancels it, everyone on it hears, and the next `type=sale&mode=query` carries it to
1C as cancelled (the same `Документ`, `Отменен` = `true`) until 1C confirms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from lxml import etree

from db.models import Case
from tests.conftest import Harness
from tests.test_case_cancel_e2e import cancel_case
from tests.test_dealer_orders_e2e import COMBI, TRIMMER, place_order
from tests.test_dealer_portal_e2e import dealers, status_document
from tests.test_onec_exchange_e2e import _exchange


def documents(answer: str) -> dict[str, dict[str, str]]:
    """The query's documents by `Ид`: their `Номер` and requisites by name."""
    root = etree.fromstring(answer.encode())
    found = {}
    for doc in root.iter("Документ"):
        values = {v.findtext("Наименование"): v.findtext("Значение") or "" for v in doc.iter("ЗначениеРеквизита")}
        found[doc.findtext("Ид") or ""] = {"Номер": doc.findtext("Номер") or "", **values}
    return found


async def test_an_order_1c_has_is_cancelled_by_the_office_at_the_dealers_request_and_1c_is_told(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, regina, rita = people["anna"], people["regina"], people["rita"]
    await onec.checkauth()

    order = await place_order(harness, anna, ("combi 48", COMBI))
    await regina.press("Согласовать", await regina.card("Согласуйте заявку дилера", button="Согласовать"))
    await anna.expect("одобрена и передаётся в 1С")
    assert str(order) in documents((await onec.call("query", kind="sale"))[1])
    assert (await onec.call("success", kind="sale"))[1].startswith("success")
    accepted = status_document(order, [("Номер по 1С", "УТ-000123")])
    assert (await onec.call("file", kind="sale", filename="o-1.xml", body=accepted))[1].startswith("success")
    await anna.expect("принята в 1С под номером УТ-000123")

    # The dealer presses «Отменить дело»: 1C has the order, so it is a request to the office, not a cancellation —
    # and she reads so before she writes why, and on the button she confirms it with (not «Отменить дело» again).
    await anna.send(f"/case {order}")
    await anna.press("Отменить дело", await anna.card(f"№{order}", button="Отменить дело"))
    asked = await anna.expect("На этапе «Принята в 1С»", "могут отменить только сотрудники с ролью «Представитель»",
                              "Напишите причину", "уйдёт им вместе с просьбой отменить дело")  # fmt: skip
    assert "Отменить дело №" not in asked["text"], asked["text"]
    await anna.send("Клиент передумал")
    confirm = await anna.expect("Попросить сотрудников с ролью «Представитель» отменить дело",
                                "Причина: Клиент передумал")  # fmt: skip
    assert anna.buttons(confirm) == ["📨 Попросить отменить", "↩️ Не отменять"], anna.buttons(confirm)
    await anna.press("Попросить отменить", confirm)
    answer = await anna.expect("просьба об отмене", "сотрудникам с ролью «Представитель»")
    assert "отменено" not in answer["text"], answer["text"]
    async with harness.core.sessionmaker() as session:
        case = await session.get(Case, order)
        assert case is not None and (case.status, case.stage) == ("active", "in_1c")
    assert str(order) not in documents((await onec.call("query", kind="sale"))[1])

    # The office hears who asks and why, and cancels it from the card: everyone on it hears, 1C too.
    asked = await rita.expect("просит отменить", f"№{order}", "Причина: Клиент передумал")
    await rita.press("Дело", asked)
    await cancel_case(rita, await rita.card(f"№{order}", button="Отменить дело"), "По просьбе дилера")
    await anna.expect("отменено", "По просьбе дилера")
    await regina.expect("Дело отменено", f"№{order}", "По просьбе дилера")
    sent = documents((await onec.call("query", kind="sale"))[1])
    assert sent[str(order)]["Номер"] == str(order) and sent[str(order)]["Отменен"] == "true", sent
    # Sent again until 1C confirms it, then no more.
    assert documents((await onec.call("query", kind="sale"))[1])[str(order)]["Отменен"] == "true"
    assert (await onec.call("success", kind="sale"))[1].startswith("success")
    assert str(order) not in documents((await onec.call("query", kind="sale"))[1])


async def test_an_order_a_query_sent_is_asked_to_cancel_and_one_1c_never_saw_the_dealer_cancels(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Sent in a query 1C has not yet confirmed, the order may be in 1C already: the dealer asks. One approved and
    not yet sent, the dealer cancels as before, and 1C is never told of an order it never had."""
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, regina = people["anna"], people["regina"]
    await onec.checkauth()

    sent = await place_order(harness, anna, ("combi 48", COMBI))
    await regina.press("Согласовать", await regina.card("Согласуйте заявку дилера", COMBI, button="Согласовать"))
    await anna.expect("одобрена и передаётся в 1С")
    assert str(sent) in documents((await onec.call("query", kind="sale"))[1])
    await anna.send(f"/case {sent}")
    await anna.press("Отменить дело", await anna.card(f"№{sent}", button="Отменить дело"))
    await anna.expect(f"Дело №{sent}", "уже передано в 1С: отменить его теперь могут только сотрудники с ролью "
                      "«Представитель»", "Напишите причину")  # fmt: skip
    await anna.send("Ошиблись складом")
    await anna.press("Попросить отменить", await anna.expect("Попросить", "Причина: Ошиблись складом"))
    await anna.expect("просьба об отмене")

    kept = await place_order(harness, anna, ("SBC 900", TRIMMER))
    await regina.press("Согласовать", await regina.card("Согласуйте заявку дилера", TRIMMER, button="Согласовать"))
    await anna.expect("одобрена и передаётся в 1С")
    await anna.send(f"/case {kept}")
    await cancel_case(anna, await anna.card(f"№{kept}", button="Отменить дело"), "Не нужна")
    assert str(kept) not in documents((await onec.call("query", kind="sale"))[1])


async def test_the_office_cancels_an_approved_order_no_exchange_has_taken_yet(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The office is offered «Отменить дело» on an approved order before any exchange took it: pressing it cancels
    (it was refused, as the office is neither its initiator nor its lead); 1C, which never had it, is not told."""
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, regina, rita = people["anna"], people["regina"], people["rita"]
    await onec.checkauth()

    order = await place_order(harness, anna, ("combi 48", COMBI))
    await regina.press("Согласовать", await regina.card("Согласуйте заявку дилера", button="Согласовать"))
    await anna.expect("одобрена и передаётся в 1С")
    await rita.send(f"/case {order}")
    await cancel_case(rita, await rita.card(f"№{order}", button="Отменить дело"), "Дилер звонил, отказ")
    await anna.expect("отменено", "Дилер звонил, отказ")
    async with harness.core.sessionmaker() as session:
        case = await session.get(Case, order)
        assert case is not None and case.status == "cancelled"
    assert str(order) not in documents((await onec.call("query", kind="sale"))[1])
