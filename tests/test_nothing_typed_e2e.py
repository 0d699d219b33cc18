"""«нет» typed at a question that may be left empty means there is nothing to record — as «⏭ Пропустить» does —
not a malformed amount: a meat wholesaler's manager whose client owes nothing wrote «нет» at «Дебиторская
задолженность клиента» and was told to enter an amount. At a question that must be answered it is still refused, and
where «нет» is an answer (yes or no, a text) it is kept as typed."""

from __future__ import annotations

import pytest

from flows.values import means_nothing
from tests.chat import Person, start_a_deal_with_a_new_client
from tests.conftest import Harness


async def _to_the_receivables(manager: Person) -> None:
    await start_a_deal_with_a_new_client(manager, "ООО Мясной двор")
    for answer in ("1500", "0", "450 000", "29.12.2026"):  # a pre-order ships next week
        await manager.expect("✏️")
        await manager.send(answer)
    await manager.press("Предоплата", await manager.expect("Условия оплаты"))
    await manager.expect("Дебиторская задолженность клиента")


async def test_a_manager_whose_client_owes_nothing_types_no_and_the_deal_goes_on(harness: Harness) -> None:
    manager = await harness.person("Антон", "sales_manager")
    await _to_the_receivables(manager)
    await manager.send("нет")
    summary = await manager.expect("Проверьте")
    assert "Дебиторская задолженность клиента: —" in summary["text"], summary["text"]
    assert "Введите сумму" not in summary["text"]
    await manager.press("Подтвердить", summary)
    await manager.expect("Мясной двор")


async def test_no_at_a_question_that_must_be_answered_is_still_refused(harness: Harness) -> None:
    manager = await harness.person("Антон", "sales_manager")
    await start_a_deal_with_a_new_client(manager, "ООО Мясной двор")
    await manager.expect("Объём, производство 1")
    await manager.send("нет")
    await manager.expect("Отправьте число", "Объём, производство 1")


@pytest.mark.parametrize("typed", ["нет", "Нет.", "-", "—", "пропустить", "нету", "no", "skip", "none", "не знаю"])
def test_what_reads_as_nothing_to_record(typed: str) -> None:
    assert means_nothing(typed)


@pytest.mark.parametrize("typed", ["0", "нет долга 5000", "125 000", "да", "некоторые"])
def test_what_is_an_answer_of_its_own(typed: str) -> None:
    assert not means_nothing(typed)



async def test_no_typed_when_correcting_the_amount_from_the_summary_clears_it(harness: Harness) -> None:
    """The client paid off his debt while the manager was filling the form: «нет» at the corrected question is no
    debt, and the summary says so («—»), not the 50 000 typed before. (Where the question offers a value the case
    already has — «Оставить как есть» — «нет» is refused instead: skipping there would keep that value.)"""
    manager = await harness.person("Антон", "sales_manager")
    await _to_the_receivables(manager)
    await manager.send("50 000")
    summary = await manager.expect("Проверьте")
    await manager.press("Исправить поле", summary)
    await manager.press("Дебиторская задолженность", await manager.expect("Какое поле исправить"))
    await manager.expect("Дебиторская задолженность клиента")
    await manager.send("нет")
    summary = await manager.expect("Проверьте")
    assert "Дебиторская задолженность клиента: —" in summary["text"], summary["text"]
