"""A call that returns, in chat: an order waits at «Проверка клиента» while a lawyer checks the client in a case
of its own; the lawyer's answer decides where the order goes, and the lawyer's note comes back into it. And a
cancelled order takes its waiting check with it, telling the lawyer."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from app.settings import LIBRARY
from db.models import Case
from flows.runtime import CALLED_BY
from tests.conftest import Harness, library_with
from tests.test_case_cancel_e2e import cancel_case
from tests.test_panel_actions import Office
from tests.test_panel_actions import office as office  # the fixture: the bot with its panel, an admin logged in

DATA = Path(__file__).parent / "data"


async def _shop(harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path) -> Harness:
    harness = await harness_factory(library_dir=library_with(tmp_path, "client_order.yaml", "client_check.yaml"))
    await harness.person("Менеджер Ольга", "manager")
    await harness.person("Юрист Игорь", "lawyer")
    return harness


async def _order(harness: Harness, client: str) -> None:
    manager = harness.people["Менеджер Ольга"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Заказ клиента", await manager.expect("Какой процесс"))
    await manager.expect("Клиент")
    await manager.send(client)
    await manager.expect("Сумма заказа")
    await manager.send("250 000")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")


async def _cases(harness: Harness) -> dict[str, Case]:
    async with harness.core.sessionmaker() as session:
        return {c.process: c for c in (await session.execute(select(Case))).scalars()}


async def test_the_order_waits_for_the_client_check_and_takes_its_answer_back(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _shop(harness_factory, tmp_path)
    manager, lawyer = harness.people["Менеджер Ольга"], harness.people["Юрист Игорь"]
    await _order(harness, "ООО Вектор")
    card = await lawyer.expect("Проверьте клиента")
    assert "Клиент: ООО Вектор, лимит 250000" in card["text"]  # the mapped fields, money became a number

    cases = await _cases(harness)
    order, check = cases["client_order"], cases["client_check"]
    assert order.stage == "qualification" and order.status == "active"  # the parent waits
    assert check.parent_id == order.id and check.data[CALLED_BY]["case"] == order.id

    # Each card links to the other.
    await manager.send(f"/case {check.id}")
    await manager.expect(f"Вызвано из дела №{order.id}")
    await manager.send(f"/case {order.id}")
    await manager.expect(f"Ждёт дело №{check.id}")

    await lawyer.press("Согласовать", card)
    await lawyer.expect("Заключение")
    await lawyer.send("Долгов нет")
    await lawyer.press("Подтвердить", await lawyer.expect("Проверьте"))
    note = await manager.expect("Клиент ООО Вектор одобрен")
    assert "Долгов нет" in note["text"]  # `back` brought the child's field into the parent

    cases = await _cases(harness)
    assert cases["client_check"].status == "done" and cases["client_check"].result == "success"
    order = cases["client_order"]
    assert order.stage == "approved" and order.result == "success" and order.attention is None
    assert order.data["qualification"] == "success" and order.data["risk_note"] == "Долгов нет"


async def test_a_rejected_check_declines_the_order(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _shop(harness_factory, tmp_path)
    lawyer = harness.people["Юрист Игорь"]
    await _order(harness, "ИП Должник")
    await lawyer.press("Отклонить", await lawyer.expect("Проверьте клиента"))
    await lawyer.expect("Заключение")
    await lawyer.send("Три суда")
    await lawyer.expect("Причина отказа")
    await lawyer.send("Не работаем")
    await lawyer.press("Подтвердить", await lawyer.expect("Проверьте"))
    await harness.people["Менеджер Ольга"].expect("Дело закрыто")
    await harness.settle()
    order = (await _cases(harness))["client_order"]
    assert order.stage == "declined" and order.result == "failure" and order.data["qualification"] == "failure"


async def test_cancelling_the_order_cancels_the_check_and_tells_the_lawyer(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _shop(harness_factory, tmp_path)
    manager, lawyer = harness.people["Менеджер Ольга"], harness.people["Юрист Игорь"]
    await _order(harness, "ООО Вектор")
    await lawyer.expect("Проверьте клиента")
    order_id = (await _cases(harness))["client_order"].id
    await manager.send(f"/case {order_id}")
    await cancel_case(manager, await manager.expect(f"№{order_id}", "Ждёт дело"), "Клиент передумал")
    await lawyer.expect(f"его вызвало дело №{order_id}")
    await lawyer.wait_for("Проверьте клиента", "✖️")  # the card says it is no longer needed
    cases = await _cases(harness)
    assert cases["client_order"].status == "cancelled" and cases["client_check"].status == "cancelled"


async def test_a_check_left_as_an_unfinished_request_is_closed_and_the_order_goes_on(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    # The order gives the check no limit: the check waits for its start form, which nobody finishes.
    library = tmp_path / "library"
    shutil.copytree(LIBRARY, library)
    shutil.copy(DATA / "client_check.yaml", library / "client_check.yaml")
    source = (DATA / "client_order.yaml").read_text(encoding="utf-8")
    (library / "client_order.yaml").write_text(source.replace(", limit: amount}", "}"), encoding="utf-8")
    harness = await harness_factory(library_dir=library)
    await harness.person("Менеджер Ольга", "manager")
    await harness.person("Юрист Игорь", "lawyer")
    await _order(harness, "ООО Вектор")
    # Its start form, a card: after «зарегистрировано», which now comes first.
    await harness.people["Менеджер Ольга"].wait_for("Новое дело: Проверка клиента")
    assert (await _cases(harness))["client_check"].status == "draft"
    await harness.advance(days=8)
    cases = await _cases(harness)
    assert cases["client_check"].status == "cancelled"
    assert cases["client_order"].stage == "declined" and cases["client_order"].data["qualification"] == "cancelled"


def _check_told_on_cancel(told: str = "lawyer") -> str:
    """The client check telling the lawyers (or whoever `told` names) when it is called off, and why."""
    said = (f'on_cancel:\n  - notify: [{told}]\n    text: "Проверка клиента {{{{ client }}}} снята. Причина: '
            '{{ cancel_reason }}"\nstages:\n')  # fmt: skip
    return (DATA / "client_check.yaml").read_text(encoding="utf-8").replace("stages:\n", said, 1)


def _library_told_on_cancel(tmp_path: Path, told: str = "lawyer") -> Path:
    library = library_with(tmp_path, "client_order.yaml")
    (library / "client_check.yaml").write_text(_check_told_on_cancel(told), encoding="utf-8")
    return library


async def test_a_check_cancelled_with_its_order_tells_the_lawyers_why_the_order_was_cancelled(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The client check tells the lawyers why it is called off. Cancelled with its order, its reason is the
    order's: the second lawyer reads «Причина: Клиент передумал», not «Причина: » and nothing after it."""
    harness = await harness_factory(library_dir=_library_told_on_cancel(tmp_path))
    manager = await harness.person("Менеджер Ольга", "manager")
    await harness.person("Юрист Игорь", "lawyer")
    anna = await harness.person("Юрист Анна", "lawyer")
    await _order(harness, "ООО Вектор")
    await anna.expect("Проверьте клиента")
    order_id = (await _cases(harness))["client_order"].id
    await manager.send(f"/case {order_id}")
    await cancel_case(manager, await manager.expect(f"№{order_id}", "Ждёт дело"), "Клиент передумал")

    told = await anna.expect("Проверка клиента ООО Вектор снята")
    assert "Причина: Клиент передумал" in told["text"], told["text"]


async def test_a_check_cancelled_with_its_order_from_the_panel_tells_the_lawyers_the_admins_reason(
    office: Office,
) -> None:
    """The same from the admin panel: the admin cancels the order with a reason, and the lawyer reads it in the
    check's words, as when its manager cancels it in chat."""
    for name in ("client_check", "client_order"):  # the check first: the order calls it
        text = _check_told_on_cancel() if name == "client_check" else (DATA / f"{name}.yaml").read_text("utf-8")
        assert (await office.post("processes/upload", text=text, action="load")).status == 303
    harness = office.harness
    await harness.person("Менеджер Ольга", "manager")
    await harness.person("Юрист Игорь", "lawyer")
    anna = await harness.person("Юрист Анна", "lawyer")
    await _order(harness, "ООО Вектор")
    await anna.expect("Проверьте клиента")
    order_id = (await _cases(harness))["client_order"].id

    assert (await office.post(f"cases/{order_id}/cancel", reason="Клиент передумал")).status == 303

    told = await anna.expect("Проверка клиента ООО Вектор снята")
    assert "Причина: Клиент передумал" in told["text"], told["text"]


async def test_a_check_left_unfinished_tells_the_lawyers_why_it_was_closed(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The order gives the check no limit, and nobody finishes its start form: closed for age, the check tells the
    lawyers why in its own words — that it was never finished — not «Причина: » and nothing after it."""
    library = _library_told_on_cancel(tmp_path)
    order = library / "client_order.yaml"
    order.write_text(order.read_text(encoding="utf-8").replace(", limit: amount}", "}"), encoding="utf-8")
    harness = await harness_factory(library_dir=library)
    await harness.person("Менеджер Ольга", "manager")
    anna = await harness.person("Юрист Анна", "lawyer")
    await _order(harness, "ООО Вектор")
    await harness.people["Менеджер Ольга"].wait_for("Новое дело: Проверка клиента")

    await harness.advance(days=8)

    told = await anna.expect("Проверка клиента ООО Вектор снята")
    assert "Причина: начата больше 7 дн. назад и не закончена" in told["text"], told["text"]


async def test_a_manager_dropping_a_check_she_has_not_finished_hears_its_words_in_her_answer_alone(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The check tells its initiator and the lawyers when it is called off. The order gives it no limit, so its
    start form waits for the manager; she opens it and drops it with /cancel. Her answer says nothing was
    registered and, in the check's words, why it was called off — one message; the lawyer reads the same reason."""
    library = _library_told_on_cancel(tmp_path, "initiator, lawyer")
    order = library / "client_order.yaml"
    order.write_text(order.read_text(encoding="utf-8").replace(", limit: amount}", "}"), encoding="utf-8")
    harness = await harness_factory(library_dir=library)
    olga = await harness.person("Менеджер Ольга", "manager")
    anna = await harness.person("Юрист Анна", "lawyer")
    await _order(harness, "ООО Вектор")
    card = await olga.wait_for("Новое дело: Проверка клиента")
    await olga.press(olga.buttons(card)[0], card)
    await olga.expect("Лимит")
    before = len(await olga.bot_messages())

    await olga.send("/cancel")

    answer = await olga.expect("Отменено, ничего не зарегистрировано.")
    said = "Проверка клиента ООО Вектор снята. Причина: автор отозвал заявку до регистрации"
    assert said in answer["text"], answer["text"]
    assert said in (await anna.expect("Проверка клиента ООО Вектор снята"))["text"]
    await harness.settle()
    new = [m.get("text") or "" for m in (await olga.bot_messages())[before:] if m.get("text")]
    assert [t for t in new if "снята" in t] == [answer["text"]], new
