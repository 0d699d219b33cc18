"""Invites an admin makes fit whom they are for: an organisation switched off takes no new people (no invite
buttons on its card, a link made before refused when used)."""

from __future__ import annotations

import re

from sqlalchemy import select

from db.models import User
from tests.chat import create_person
from tests.conftest import Harness
from tests.test_organisations_e2e import dealer_person, organisation


async def test_a_switched_off_organisation_takes_no_new_people(harness: Harness) -> None:
    admin = harness.admin
    garden = await organisation(harness, "ООО Сад region=Москва")
    await dealer_person(harness, "Лев", "ООО Сад", "Менеджер дилера")
    # A link made while it worked, kept for later.
    await admin.send(f"/org {garden}")
    old_card = await admin.card("ООО Сад", button="Приглашение: Менеджер дилера")
    await admin.press("Приглашение: Менеджер дилера", old_card)
    code = re.search(r"start=(\S+)", (await admin.expect("start=", "ООО Сад"))["text"])
    assert code is not None

    await admin.send(f"/org {garden}")
    await admin.press("Отключить", await admin.expect("ООО Сад", "ИНН/КПП"))
    card = await admin.expect("ООО Сад", "Отключена")
    assert not [b for b in admin.buttons(card) if "Приглашение" in b], "no invite buttons on its card"
    await admin.send(f"/org {garden}")
    card = await admin.expect("ООО Сад", "Отключена")
    assert not [b for b in admin.buttons(card) if "Приглашение" in b]

    # The old card's button is refused in words; the link made before is refused to whoever opens it.
    await admin.press("Приглашение: Сервисник дилера", old_card)
    await admin.expect("«ООО Сад» отключена", f"/org {garden}")
    harness._next_id += 1
    late = await create_person(harness.http, harness.base, harness._next_id, "Опоздавший")
    await late.send(f"/start {code.group(1)}")
    await late.expect("организацию, которая отключена")
    async with harness.core.sessionmaker() as session:
        assert (await session.execute(select(User).where(User.name == "Опоздавший"))).scalar_one_or_none() is None
        lev = (await session.execute(select(User).where(User.name == "Лев"))).scalar_one()

    # Its people, switched off with it, come back only once it works again.
    await admin.send(f"/restore {lev.id}")
    await admin.expect("«ООО Сад», а она отключена: сначала включите её")
