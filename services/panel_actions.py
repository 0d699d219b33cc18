"""What an admin changes from the web panel: definitions (checked, loaded, rolled back), invites, roles, a person
revoked (what the panel does to cases is `services.admin_actions`, shared with the chat). Each one is written to
the audit with `by: panel` (the panel has one admin token, not a person, so the actor is the panel itself) in the
caller's transaction.

The rules are the chat's: `services.team` checks roles, `services.access` says who may hold a task, the engine
hands tasks over and cancels cases; this module only strings them together for a form."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Company, Definition, Invite, User
from flows.i18n import _
from flows.runtime import EngineError
from services import outbox, people
from services.admin_actions import PANEL
from services.core import Core
from services.library import ProcessLibrary, Upload
from services.team import Team


def audit(
    core: Core, session: AsyncSession, action: str, data: dict[str, Any], *, case_id: int | None = None
) -> None:
    """One line of the audit for a change made in the panel."""
    session.add(
        AuditEntry(case_id=case_id, actor_id=None, action=action, data={**data, "by": PANEL}, at=core.clock.now())
    )


# --- processes ---------------------------------------------------------------------------------------------


async def upload_definition(core: Core, session: AsyncSession, text: str, name: str, *, load: bool) -> Upload:
    """Check a definition (raises `flows.loader.DefinitionError` with each problem's line); `load` makes it the
    version new cases start with."""
    upload = await ProcessLibrary(core, session).upload(text.encode(), name, load=load)
    if upload.version is not None and not upload.same:
        audit(core, session, "definition.loaded", {"process": upload.key, "version": upload.version, "file": name})
    return upload


async def roll_back(core: Core, session: AsyncSession, process: str, version: int) -> int:
    """New cases start on a stored version again (an earlier one, or a later one after a rollback): that version
    becomes current, no version is added; running cases keep theirs (the migrate form moves them). Returns it."""
    row = (
        await session.execute(select(Definition).where(Definition.process == process, Definition.version == version))
    ).scalar_one_or_none()
    if row is None:
        raise EngineError(_("No such version."))
    before = (await core.registry.versions(session)).get(process)
    await core.registry.make_current(session, row)
    audit(core, session, "definition.rolled_back", {"process": process, "from": before, "version": version})
    return version


# --- people ------------------------------------------------------------------------------------------------


async def invite(
    core: Core, session: AsyncSession, roles: list[str], *, organisation_id: int | None, uses: int
) -> Invite:
    """An invite link for `uses` people with these roles (bound to an organisation when one is given; one that
    is gone, deleted meanwhile, is refused with `EngineError`)."""
    Team(core, session).check_roles(roles)
    await Team(core, session).check_invite(organisation_id, roles)
    if organisation_id is not None and await session.get(Company, organisation_id) is None:
        raise EngineError(_("There is no such organisation any more: choose another one."))
    created = await people.create_invite(
        session,
        roles=roles,
        created_by=None,
        now=core.clock.now(),
        max_uses=max(1, min(uses, 1000)),
        organisation_id=organisation_id,
    )
    audit(core, session, "person.invited", {"roles": roles, "organisation": organisation_id, "uses": uses})
    return created


async def change_role(core: Core, session: AsyncSession, user_id: int, role: str, *, grant: bool) -> list[int]:
    """Grant or revoke one role; a revoked role's tasks held by the person go back to the role's pool. Returns the
    tasks that left the person (the page then says where each went)."""
    team = Team(core, session)
    await team.change_roles(str(user_id), [role], grant=grant)
    audit(core, session, "person.granted" if grant else "person.role_revoked", {"person": user_id, "role": role})
    return [task.id for _loaded, task in team.released if task.id is not None]


async def revoke_person(core: Core, session: AsyncSession, user_id: int) -> list[int]:
    """The person no longer works here (`Team.revoke`, shared with the chat's /revoke: their tasks back to the pools,
    audited `by: panel`). They hear it at once, as from the chat's /revoke, and the menu they can no longer use goes:
    else they would learn it only at their next press. Returns the tasks that left them."""
    team = Team(core, session)
    person = await team.revoke(str(user_id), actor_id=None)
    text = _("Your access to the bot is closed. If this is a mistake, contact your administrator.")
    _tell(core, session, person, text, {"remove_keyboard": True})
    return [task.id for _loaded, task in team.released if task.id is not None]


async def restore_person(core: Core, session: AsyncSession, user_id: int) -> User:
    """A revoked person is let back in with the roles they kept (`Team.restore` audits it, `by: panel`), and told so;
    /start gives them their menu back (the chat's menu is the bot's to draw)."""
    person, _roles = await Team(core, session).restore(str(user_id), actor_id=None)
    _tell(core, session, person, _("Your access to the bot is open again. Send /start to see your menu."), None)
    return person


def _tell(core: Core, session: AsyncSession, person: User, msgid: str, markup: dict[str, Any] | None) -> None:
    payload: dict[str, Any] = {"text": core.translator.t(msgid, person.language)}
    if markup is not None:
        payload["reply_markup"] = markup
    outbox.enqueue(session, chat_id=person.tg_id, method="sendMessage", payload=payload, now=core.clock.now())


async def unreachable(session: AsyncSession) -> list[User]:
    """People the bot cannot write to (they blocked it) and people revoked: the admin's list to act on."""
    rows = await session.execute(
        select(User).where((User.unreachable_at.is_not(None)) | (User.active.is_(False))).order_by(User.id)
    )
    return list(rows.scalars())
