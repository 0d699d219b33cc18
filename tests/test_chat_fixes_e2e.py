"""Small things testers found in chat: /worktime with words it cannot read says how to write it, /export takes a
process by its title, a rejected order request says why where the dealer reads it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import Harness
from tests.test_dealer_orders_e2e import COMBI, place_order
from tests.test_dealer_portal_e2e import dealers


async def test_a_dealer_reads_why_his_order_request_was_rejected(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The regional representative rejects a request with a reason: the dealer's notice, the request in her
    /orders and its card opened from there say «Причина: …»."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    anna, regina = people["anna"], people["regina"]
    sent = await place_order(harness, anna, ("combi 48", COMBI))
    await regina.press("Отклонить", await regina.card("Согласуйте заявку дилера", button="Отклонить"))
    await regina.expect("Причина отказа")
    await regina.send("Склад пуст до конца месяца")
    await regina.press("Подтвердить", await regina.expect("Проверьте"))
    await anna.expect("Заявка отклонена. Причина: Склад пуст до конца месяца")
    await anna.send("/orders")
    listed = await anna.expect("Заявки, сначала новые", f"№{sent}")
    # Under the request's own line, where she reads that it is rejected.
    reason = rf"№{sent} .* — Отклонена\n    Причина: Склад пуст до конца месяца"
    assert re.search(reason, listed["text"]), listed["text"]
    # The request's card, opened from there, says it too, under its status.
    await anna.press(f"№{sent}", listed)
    card = await anna.expect(f"№{sent}", "Статус:")
    assert re.search(r"Статус: .*\nПричина: Склад пуст до конца месяца\n", card["text"]), card["text"]


async def test_worktime_with_an_unreadable_period_says_how_to_write_it(harness: Harness) -> None:
    """«/worktime abc» is not «the last 30 days»: the admin is told what was not understood and how the command is
    written, and no report over a period he did not ask for comes."""
    admin = harness.admin
    for said in ("abc", "7 дней", "-5", "0"):
        await admin.send(f"/worktime {said}")
        told = await admin.expect(f"«{said}» — не число дней")
        assert "/worktime 7" in told["text"], told["text"]
    await harness.settle()
    assert await admin.find("учёта времени не было") is None
    await admin.send("/worktime 7")
    await admin.expect("За последние 7 дн. учёта времени не было.")


async def test_export_takes_a_process_by_its_title_as_diagram_does(harness: Harness) -> None:
    """«/export Заявка на просчёт заказа» — the process as the admin reads it, in any case — sends its cases, as
    «/diagram» with a title does; a title that is no process's says so and offers the processes."""
    admin = harness.admin
    await admin.send("/export  заявка на просчёт ЗАКАЗА")
    # The process is found by its title; with no cases yet it says so instead of sending an empty workbook.
    await admin.expect("«Заявка на просчёт заказа»", "выгружать нечего")
    await admin.send("/export Поставка луны")
    offered = await admin.expect("Процесса «Поставка луны» нет")
    assert "Заявка на просчёт заказа" in admin.buttons(offered), offered
