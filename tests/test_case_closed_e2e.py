"""How a case ended reaches the person who led it, not only the one who started it: a clerk registers a request, a
manager takes it and leads it to its end, and both hear that it closed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from admin.words import Words
from tests.conftest import Harness, library_with


async def _taken(harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path) -> Harness:
    harness = await harness_factory(library_dir=library_with(tmp_path, "handover.yaml"))
    clerk = await harness.person("Секретарь Анна", "clerk")
    manager = await harness.person("Менеджер Ольга", "manager")
    await clerk.send("▶️ Начать процесс")
    await clerk.press("Передача в работу", await clerk.expect("Какой процесс"))
    await clerk.expect("Клиент")
    await clerk.send("ООО Вектор")
    await clerk.press("Подтвердить", await clerk.expect("Проверьте"))
    await clerk.expect("зарегистрировано")
    await manager.press("Готово", await manager.card("Возьмите заявку", button="Готово"))  # hers: the only manager
    return harness


async def test_the_manager_who_led_a_request_hears_it_closed_as_its_author_does(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _taken(harness_factory, tmp_path)
    clerk, manager = harness.people["Секретарь Анна"], harness.people["Менеджер Ольга"]
    await manager.press("Согласовать", await manager.card("Завершите заявку", button="Согласовать"))
    await clerk.expect("Дело закрыто", "Заявка: ООО Вектор", "Выполнена")
    await manager.expect("Дело закрыто", "Заявка: ООО Вектор", "Выполнена")


async def test_a_finished_case_is_called_by_one_word_in_the_chat_and_in_the_panel(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The manager's card of a request led to its end says it is «Завершено», the word the admin panel's filter
    finds it by — not «закрыто» in the chat and «Завершено» in the panel, two words she would take for two
    statuses; an English reader reads «Finished» in both."""
    harness = await _taken(harness_factory, tmp_path)
    manager = harness.people["Менеджер Ольга"]
    await manager.press("Согласовать", await manager.card("Завершите заявку", button="Согласовать"))
    await manager.expect("Дело закрыто")
    words = {lang: Words(harness.core, lang) for lang in ("ru", "en")}
    assert (words["ru"].case_status("done"), words["en"].case_status("done")) == ("Завершено", "Finished")
    await manager.send("/case 1")
    card = await manager.expect("№1", "Статус:")
    assert "Статус: Завершено\n" in card["text"], card["text"]
    await manager.send("/lang")
    await manager.expect("Language: English")
    await manager.send("/case 1")
    card = await manager.expect("#1", "Status:")
    assert "Status: Finished\n" in card["text"], card["text"]


async def test_a_request_its_manager_turned_down_is_told_closed_to_both(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _taken(harness_factory, tmp_path)
    clerk, manager = harness.people["Секретарь Анна"], harness.people["Менеджер Ольга"]
    await manager.press("Отклонить", await manager.card("Завершите заявку", button="Отклонить"))
    await manager.expect("Причина отказа")
    await manager.send("Клиент ушёл к другому")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await clerk.expect("Дело закрыто", "Отказ")
    await manager.expect("Дело закрыто", "Отказ")
