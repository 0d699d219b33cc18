"""Telegram templates per kind of notification, end to end: an admin writes the task-assigned template in the panel
(with its session and CSRF token) for each language, and the accountants see their new task's card in chat (the
sandbox, over HTTP) worded by it, in their own language, in Telegram's HTML, with what people wrote escaped and the
card's buttons as before; a template Telegram would refuse, or one Jinja cannot read, is refused with what is
wrong (in the panel's language) and nothing changes; back to the default, the card is the bot's own wording again."""

from __future__ import annotations

import html

from sqlalchemy import select

from db.models import MessageTemplate
from tests.test_channels_e2e import Office, office, raise_invoice

__all__ = ["office"]  # the fixture, shared with tests/test_channels_e2e.py

RU = "notifications/templates/task_assigned/telegram_ru"
EN = "notifications/templates/task_assigned/telegram_en"
RU_SOURCE = "<b>Новая задача</b> для {{ person }}: «{{ task }}», дело №{{ case_number }}\n{{ text }}"
EN_SOURCE = "<b>New task</b> for {{ person }}: {{ task }} (case {{ case_number }})\n{{ text }}"


def bold(message: dict[str, object]) -> list[str]:
    text = str(message["text"])
    entities = message.get("entities") or []
    assert isinstance(entities, list)
    return [text[e["offset"] : e["offset"] + e["length"]] for e in entities if e["type"] == "bold"]


async def saved(office: Office) -> dict[str, str]:
    async with office.harness.core.sessionmaker() as session:
        rows = (await session.scalars(select(MessageTemplate))).all()
    return {f"{row.kind}/{row.part}": row.source for row in rows}


async def test_the_task_assigned_telegram_template_words_the_card_people_see(office: Office) -> None:
    harness = office.harness
    manager, anna = harness.people["Ольга"], harness.people["Анна"]
    bob = await harness.person("Bob", "accountant", language="en")

    # Broken templates are refused with what is wrong, in the panel's language, and nothing is saved.
    said = await office.refused(RU, {"source": "{{ task }"})
    assert "строка 1" in said and 'id="error"' in said
    assert html.escape("{{ task }") in said  # what the admin wrote stays in the form
    said = await office.refused(RU, {"source": "<b>{{ task }}\n{{ text }}"})
    assert "Telegram его не примет" in said and html.escape("<b> не закрыт") in said
    said = await office.refused(RU, {"source": "<font color=red>{{ task }}</font>"})
    assert html.escape("Telegram не знает тег <font>") in said
    said = await office.refused(RU, {"source": "{{ text|safe }}"})
    assert "«safe» не допускается" in said
    said = await office.refused(EN, {"source": "{{ task }} {{ amount }}"})
    assert "неизвестные переменные: amount" in said and "case_number" in said
    assert await saved(office) == {}

    # Without the session's CSRF token nothing is saved.
    async with office.http.post(f"{office.panel}/{RU}", data={"source": RU_SOURCE}) as response:
        assert response.status == 403
    assert await saved(office) == {}

    await office.post(RU, {"source": RU_SOURCE})
    await office.post(EN, {"source": EN_SOURCE})
    page = await office.page()
    assert html.escape(RU_SOURCE) in page and html.escape(EN_SOURCE) in page
    assert await saved(office) == {"task_assigned/telegram_ru": RU_SOURCE, "task_assigned/telegram_en": EN_SOURCE}

    # What people wrote (here the supplier's name) is shown as it was written, never taken as HTML.
    number = await raise_invoice(manager, "ООО <Ромашка> & Co")
    card = await anna.card("Новая задача для Анна", button="Взять")
    assert card["text"].startswith(f"Новая задача для Анна: «Оплатите счёт», дело №{number}\n📌 Оплатите счёт")
    assert "ООО <Ромашка> & Co" in card["text"]
    assert bold(card) == ["Новая задача"]
    english = await bob.card("New task for Bob", button="Take")
    assert english["text"].startswith(f"New task for Bob: Pay the invoice (case {number})\n📌 Pay the invoice")
    assert bold(english) == ["New task"] and "ООО <Ромашка> & Co" in english["text"]

    # Taken by Anna: the cards change as before, still worded by the template.
    await anna.press("Взять", card)
    taken = await anna.wait_for("Новая задача для Анна", "Вы взяли эту задачу")
    assert taken["message_id"] == card["message_id"] and bold(taken) == ["Новая задача"]
    await harness.settle()

    # Back to the default: the next card is the bot's own wording, as plain text.
    await office.post(RU, {"default": "1", "source": ""})
    assert await saved(office) == {"task_assigned/telegram_en": EN_SOURCE}
    await raise_invoice(manager, "ООО Лютик")
    plain = await anna.card("Оплатите счёт", "Лютик", button="Взять")
    assert plain["text"].startswith("📌 Оплатите счёт") and not plain.get("entities")
