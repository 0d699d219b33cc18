"""A button's text Telegram would cut (a long case name in «Мои дела») ends with an ellipsis within the limit, not
mid-word without a sign (`tgbot.callbacks.button_label`, used by every button made from a name or a title)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import Harness, library_with


async def test_a_long_case_name_on_a_button_ends_with_an_ellipsis_not_mid_word(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "handover.yaml"))
    clerk = await harness.person("Секретарь Анна", "clerk")
    await harness.person("Менеджер Ольга", "manager")
    client = "Общество с ограниченной ответственностью «Северо-Западная медицинская компания»"
    await clerk.send("▶️ Начать процесс")
    await clerk.press("Передача в работу", await clerk.expect("Какой процесс"))
    await clerk.expect("Клиент")
    await clerk.send(client)
    await clerk.press("Подтвердить", await clerk.expect("Проверьте"))
    await clerk.expect("зарегистрировано")
    await clerk.send("📁 Мои дела")
    listed = await clerk.card("Ваши дела", button="№1")
    [label] = [text for text in clerk.buttons(listed) if text.startswith("№1")]
    assert len(label) <= 64 and label.endswith("…") and label.startswith("№1 Заявка: Общество с ограниченной")
