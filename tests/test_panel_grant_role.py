"""Granting a role on the people page: nothing is chosen for the admin. The selector starts at «— выберите роль —»
(required in the browser), and a grant that names no role, or one no process knows, changes nothing and brings the
people page back with the words by the person's row. Over real HTTP against the running bot."""

from __future__ import annotations

import re

from sqlalchemy import select

from db.models import User
from services.people import repository
from tests.test_panel_actions import Office, load_letter
from tests.test_panel_actions import office as office  # the fixture: the bot with its panel, an admin logged in


async def test_a_grant_without_a_chosen_role_grants_nothing_and_says_so(office: Office) -> None:
    await load_letter(office)  # the office's roles: clerk, director
    await office.harness.person("Анна", "clerk")
    async with office.harness.core.sessionmaker() as session:
        person = (await session.execute(select(User).where(User.name == "Анна"))).scalar_one()

    page = await office.page("people")
    row = page[page.index(f'data-person="{person.id}"') :].split("</tr>")[0]
    grant = row[row.index('class="inline grant"') :]
    select_html = grant[grant.index("<select") : grant.index("</select>")]
    assert re.search(r'<select name="role" required', select_html)  # the browser will not send it empty
    first = re.search(r"<option[^>]*>([^<]*)</option>", select_html)
    assert first is not None and first.group(0).startswith('<option value=""') and first.group(1) == "— выберите роль —"
    assert select_html.count("selected") == 1  # the empty choice, not the first role

    for sent in ("", "chief_of_everything"):  # nothing chosen (an old page), or a role no process has
        response = await office.post(f"people/{person.id}/roles", role=sent, action="grant")
        assert response.status == 400, sent
        page = await response.text()
        said = page[page.index('id="role-error"') :].split("</p>")[0]
        assert ("Выберите в списке роль" if not sent else "Такой роли нет") in said
        assert "chief_of_everything" not in page  # the key typed is not echoed back
        row = page[page.index(f'data-person="{person.id}"') :].split("</tr>")[0]
        assert 'id="role-error"' in row  # by Анна's row, on the people page as it was
        assert 'id="people"' in page and 'id="invite-form"' in page

    async with office.harness.core.sessionmaker() as session:
        assert set(await repository.roles_of(session, person.id)) == {"clerk"}  # nothing granted
    assert await office.audit("person.granted") == []
