"""Diagrams in chat: `/diagram` picks a process by a button (or by name) and sends its picture; a case card's
«Схема» sends the case's process with the stage it stands at highlighted."""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image
from sqlalchemy import select

from db.models import Case, User
from flows.model import local
from services.access import Viewer
from services.diagrams import CURRENT, Diagrams, stage_node
from services.people import roles_of
from tests.chat import Person
from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop


async def picture(person: Person, *caption: str) -> tuple[dict[str, Any], bytes]:
    """The next photo whose caption has these words, and its bytes as the person downloads them."""
    message = await person.expect(*caption)
    assert message["photos"], f"{message['text']!r} came without a picture"
    return message, await person.download(message["photos"][0]["url"])


def png_size(data: bytes) -> tuple[int, int]:
    """The picture's size as the person gets it: Telegram (and the sandbox) keeps a photo re-encoded as JPEG, at
    most 1280 px on its longer side, whatever the bot uploaded."""
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG", "not a picture Telegram made"
        return image.size


async def test_an_admin_picks_a_process_and_gets_its_diagram(shop: Harness) -> None:
    admin = shop.admin
    await admin.send("/diagram")
    menu = await admin.expect("Схему какого процесса показать?")
    assert "Сделка" in admin.buttons(menu) and "meat_deal" not in " ".join(admin.buttons(menu))
    await admin.press("Сделка", menu)
    _, png = await picture(admin, "Сделка")
    width, height = png_size(png)
    assert 200 < width <= 1280 and 200 < height <= 1280  # the largest size Telegram keeps of a photo

    # Named after the command (by key or by title), the picture comes at once.
    await admin.send("/diagram Возврат бракованных часов поставщику")
    message, png = await picture(admin, "Возврат бракованных часов поставщику")
    assert png_size(png)[1] > 200 and not message.get("inline_keyboard")
    await admin.send("/diagram no_such_process")
    offered = await admin.expect("Процесса «no_such_process» нет")
    assert "Сделка" in admin.buttons(offered)


async def test_people_see_only_the_processes_they_take_part_in(shop: Harness) -> None:
    manager = shop.people["Марина"]  # a shop manager: the defect return only
    await manager.send("/diagram")
    menu = await manager.expect("Схему какого процесса показать?")
    assert manager.buttons(menu) == ["Возврат бракованных часов поставщику"]
    await manager.send("/diagram meat_deal")
    await manager.expect("Процесса «meat_deal» нет")


async def test_the_case_card_sends_the_diagram_with_the_current_stage_highlighted(shop: Harness) -> None:
    manager = shop.people["Марина"]
    await register_defect(manager)
    async with shop.core.sessionmaker() as session:
        case = (await session.execute(select(Case))).scalar_one()
        user = (await session.execute(select(User).where(User.tg_id == manager.id))).scalar_one()
        viewer = Viewer.of(user, await roles_of(session, user.id))
    await manager.send(f"/case {case.id}")
    card = await manager.card(f"№{case.id}", button="Схема")
    await manager.press("Схема", card)
    message, png = await picture(manager, f"№{case.id}", "сейчас:")
    png_size(png)

    # The caption names the stage the case stands at; the drawing highlights that stage and no other.
    stage_title = message["text"].split("сейчас: ", 1)[1]
    spec = shop.core.registry.known()["defect_return"]
    index = next(i for i, s in enumerate(spec.stages) if local(s.title) == stage_title)
    assert spec.stages[index].key == case.stage
    async with shop.core.sessionmaker() as session:
        graph, caption = await Diagrams(shop.core, session).case_graph(viewer, case.id)
    assert caption == message["text"]
    highlighted = re.findall(rf"^\s*(\w+) \[[^\]]*penwidth={CURRENT['penwidth']}", graph.source, re.MULTILINE)
    assert highlighted == [stage_node(index)]
