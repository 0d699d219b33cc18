"""Whoever takes a case becomes its responsible and follows it: he hears where it goes, one line a stage, without
pressing «Следить» — until he says he has heard enough."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import Harness, library_with


async def test_the_manager_who_takes_a_request_hears_where_it_goes_until_he_mutes_it(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "service_visit.yaml"))
    director = await harness.person("Директор Олег", "director")
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    await harness.person("Менеджер Игорь", "sales_manager")
    engineer = await harness.person("Инженер Семён", "engineer")
    await director.send("▶️ Начать процесс")
    await director.press("Выезд инженера к клиенту", await director.expect("Какой процесс"))
    await director.expect("Клиент")
    await director.send("Клиника «Здоровье»")
    await director.press("Подтвердить", await director.expect("Проверьте"))

    # She takes it from the sales managers' pool: the case is hers, and she follows it.
    await manager.press("Взять", await manager.card("Возьмите заявку в работу", button="Взять"))
    await engineer.press("Готово", await engineer.card("Съездите к клиенту", button="Готово"))
    line = await manager.expect("📍", "Клиника «Здоровье»")  # the director's quote: no task of hers, still news
    assert "Коммерческое предложение" in line["text"], line["text"]
    number = re.search(r"№(\d+)", line["text"])
    assert number is not None, line["text"]
    await manager.send(f"/case {number.group(1)}")
    card = await manager.expect("Клиника «Здоровье»", "Этап")
    assert [b for b in manager.buttons(card) if "Не следить за делом" in b], manager.buttons(card)

    # Heard enough: the line's own button stops it, and the installation is not news to her any more.
    await manager.press("Не присылать новости", line)
    await director.press("Готово", await director.card("Утвердите предложение", button="Готово"))
    await engineer.card("Смонтируйте оборудование", button="Готово")
    await harness.settle()
    assert not [
        m for m in await manager.bot_messages() if "📍" in (m["text"] or "") and m["message_id"] > line["message_id"]
    ]


async def test_a_manager_who_stopped_following_a_request_and_then_takes_it_stays_quiet_and_is_told_so(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "service_visit.yaml"))
    director = await harness.person("Директор Олег", "director")
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    await harness.person("Менеджер Игорь", "sales_manager")
    engineer = await harness.person("Инженер Семён", "engineer")
    await director.send("▶️ Начать процесс")
    await director.press("Выезд инженера к клиенту", await director.expect("Какой процесс"))
    await director.expect("Клиент")
    await director.send("Клиника «Здоровье»")
    await director.press("Подтвердить", await director.expect("Проверьте"))

    # Before taking it she follows the request from its card, then says she has heard enough.
    offer = await manager.card("Возьмите заявку в работу", button="Взять")
    number = re.search(r"№(\d+)", offer["text"])
    assert number is not None, offer["text"]
    await manager.send(f"/case {number.group(1)}")
    await manager.press("Следить за делом", await manager.expect("Клиника «Здоровье»", "Этап"))
    followed = await manager.expect("Клиника «Здоровье»", "Этап")  # the card again, as she now has it
    await manager.press("Не следить за делом", followed)
    quiet = await manager.expect("Клиника «Здоровье»", "Этап")
    assert "🔔 Следить за делом" in manager.buttons(quiet), manager.buttons(quiet)

    # Taking it makes the case hers, not her mute undone: she is told once, with a way back to the news.
    await manager.press("Взять", offer)
    told = await manager.expect("Теперь вы ведёте дело", "отключили его новости")
    assert manager.buttons(told) == ["🔔 Следить за делом"], manager.buttons(told)
    await engineer.press("Готово", await engineer.card("Съездите к клиенту", button="Готово"))
    await director.card("Утвердите предложение", button="Готово")
    await harness.settle()
    news = [m for m in await manager.bot_messages() if "📍" in (m["text"] or "")]
    assert not news, [m["text"] for m in news]
    assert len([m for m in await manager.bot_messages() if "Теперь вы ведёте дело" in (m["text"] or "")]) == 1

    # The button turns the news back on: the installation is news to her again.
    await manager.press("Следить за делом", told)
    await director.press("Готово", await director.card("Утвердите предложение", button="Готово"))
    await manager.expect("📍", "Клиника «Здоровье»")
