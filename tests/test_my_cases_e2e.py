"""«📁 Мои дела» in chat: besides what a person started or worked on, the cases they are told about as they go (the
director and the shop admin get every registered claim's notice), open ones first with their whole titles, the
finished ones behind «Закрытые дела»."""

from __future__ import annotations

from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect, shop  # noqa: F401 (the fixture)


async def test_the_director_and_the_shop_admin_find_the_claims_they_are_told_about(shop: Harness) -> None:  # noqa: F811
    manager, admin, director = shop.people["Марина"], shop.people["Ольга"], shop.people["Директор Пётр"]
    accountant, head = shop.people["Анна"], shop.people["Кладовщик Иван"]
    await register_defect(manager, arrival="18.12.2026")
    for person in (admin, director):
        await person.expect("Новый возврат брака")

    # Told of the claim, they find it in their cases: its whole title and stage in the text, a button to open it.
    for person in (admin, director):
        await person.send("📁 Мои дела")
        listed = await person.card("Ваши дела", "№1 · ", "Longines", "Брак зарегистрирован", button="№1")
        assert "…" not in listed["text"], listed["text"]
        await person.press("№1", listed)
        await person.expect("№1", "Longines")
    # The accountant is told only of a return by offset, at its end: a registered claim is not hers to follow.
    await accountant.send("📁 Мои дела")
    await accountant.expect("У вас пока нет дел")

    # The warehouse head finds no defect: the claim ends and leaves the open list for the closed one.
    await shop.people["Сергей"].press("Готово", await shop.people["Сергей"].expect("Переместите товар"))
    await head.press("Брака нет", await head.expect("Подтвердите наличие дефекта"))
    await head.press("Пропустить", await head.expect("Фото с осмотра"))
    await head.expect("Комментарий")
    await head.send("Часы идут точно, брака нет")
    await head.press("Подтвердить", await head.expect("Проверьте"))
    await director.expect("Брак не подтверждён")
    # It closes once the service manager has moved the goods back to the shop in 1C.
    await shop.people["Сергей"].press("Готово", await shop.people["Сергей"].expect("переместите товар обратно"))
    await shop.settle()
    await director.send("📁 Мои дела")
    nothing_open = await director.card("Открытых дел у вас нет", button="🗄 Закрытые дела")
    await director.press("Закрытые дела", nothing_open)
    closed = await director.card("Закрытые дела:", "№1 · ", "Longines", button="№1")
    assert "Брак не подтверждён — товар возвращён в магазин" in closed["text"], closed["text"]
