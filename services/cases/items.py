"""Items of a case that move along their own tracks (`track:` of a list field): what their effects do, and the
commands that move them (`ItemCommands`, a part of `CaseService`).

Each item has its own card, sent to the item's people when its track begins and edited in place whenever it
moves. Which messages are an item's cards is kept in the case's data (`ITEM_CARDS`), beside the items' states:
the case stays one row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from db.models import User
from flows.i18n import _
from flows.items import item_edit_key, track_of
from flows.runtime import EngineError, ItemApproval, ItemMoved, ItemReminder, pending_approval
from services import access
from services import people as people_repo
from services.cases.effects import handles
from services.cases.saving import StepWrites
from services.cases.state import Loaded

if TYPE_CHECKING:
    from services.cases.service import CaseService

ITEM_CARDS = "__item_cards__"  # {"<list>#<index>": {"<user id>": outbox id of the card}}


def card_key(name: str, index: int) -> str:
    return f"{name}#{index}"


def item_cards(loaded: Loaded, name: str, index: int) -> dict[str, Any]:
    cards = loaded.state.data.setdefault(ITEM_CARDS, {})
    found: dict[str, Any] = cards.setdefault(card_key(name, index), {})
    return found


async def item_people(service: CaseService, loaded: Loaded, name: str) -> list[User]:
    """Who moves the items of a list: the track's role, or the case's responsible."""
    track = track_of(loaded.state.spec, name)
    if track.role is not None:
        members = await service.people.members(track.role)
        return await access.reachable(service.session, members, loaded.row.company_id)
    state = loaded.state
    person = await service.people.user(state.responsible_id or state.initiator_id)
    return [person] if person is not None else []


@handles(ItemMoved)
async def item_moved(service: CaseService, loaded: Loaded, effect: ItemMoved, actor_id: int | None) -> None:
    action = "item.started" if effect.previous is None else "item.moved"
    detail = {"list": effect.list, "index": effect.index, "from": effect.previous, "to": effect.stage}
    service.store.audit(loaded, actor_id, action, detail)
    cards = item_cards(loaded, effect.list, effect.index)
    if cards:
        await service.notifier.item_changed(loaded, effect.list, effect.index, cards)
        return
    recipients = await item_people(service, loaded, effect.list)
    shown = await service.notifier.item_shown(loaded, effect.list, effect.index, recipients)
    cards.update({str(user_id): outbox_id for user_id, outbox_id in shown.items()})


async def refresh_item_cards(service: CaseService, loaded: Loaded) -> None:
    """The case has closed: every item card shows it, and its move buttons come off."""
    cards = loaded.state.data.get(ITEM_CARDS)
    if not isinstance(cards, dict):
        return
    for key, holders in cards.items():
        name, _sep, index = str(key).rpartition("#")
        if holders and index.isdigit() and name in loaded.state.spec.tracks():
            await service.notifier.item_changed(loaded, name, int(index), holders)


@handles(ItemReminder)
async def item_reminder(service: CaseService, loaded: Loaded, effect: ItemReminder, actor_id: int | None) -> None:
    """The item's people are reminded; an item held by a move's approval reminds its approver too (the approval
    has no deadline of its own, and the item's people can do nothing until it is decided)."""
    recipients = await item_people(service, loaded, effect.list)
    deciding: set[int] = set()
    waiting = pending_approval(loaded.state, effect.list, effect.index)
    if waiting is not None:
        approvers: list[User] = []
        if waiting.assignee_id is not None:
            holder = await service.people.user(waiting.assignee_id)
            approvers = [holder] if holder is not None else []
        elif waiting.role:
            members = await service.people.members(waiting.role)
            approvers = await access.reachable(service.session, members, loaded.row.company_id)
        known = {user.id for user in recipients}
        recipients = [*recipients, *(user for user in approvers if user.id not in known)]
        deciding = {user.id for user in approvers}
    await service.notifier.item_reminder(loaded, effect.list, effect.index, recipients, deciding)


@handles(ItemApproval)
async def item_approval(service: CaseService, loaded: Loaded, effect: ItemApproval, actor_id: int | None) -> None:
    """A move waiting for approval, approved or rejected: audited, the item's cards show it, a rejection is told
    to the person who asked for the move, with its reason, and so is an approval whose move still asks for fields,
    with the button that opens its form."""
    detail = {"list": effect.list, "index": effect.index, "to": effect.to, "reason": effect.reason}
    service.store.audit(loaded, actor_id, f"item.approval_{effect.decision}", detail)
    cards = item_cards(loaded, effect.list, effect.index)
    moved = effect.decision == "approved" and effect.form is None
    if cards and not moved:  # an approved move that goes at once edits the cards as the item moves
        await service.notifier.item_changed(loaded, effect.list, effect.index, cards)
    if effect.form is not None and effect.form.assignee_id is not None:
        person = await service.people.user(effect.form.assignee_id)
        if person is not None:
            await service.notifier.item_approved(loaded, effect.list, effect.index, effect.form, effect.by, person)
    if effect.decision == "rejected" and effect.mover is not None:
        mover = await service.people.user(effect.mover)
        if mover is not None:
            await service.notifier.item_rejected(
                loaded, effect.list, effect.index, effect.to, effect.reason or "", mover
            )


class ItemCommands(StepWrites):
    """The commands on a case's items: the moves a person may make, a move, a field's correction asked, a fresh card."""

    async def item_moves(self, user: User, loaded: Loaded, name: str, index: int) -> list[str]:
        roles = await people_repo.roles_of(self.session, user.id)
        return self.core.engine.item_moves(loaded.state, name, index, user.id, roles, user.is_admin)

    async def move_item(self, user: User, case_id: int, name: str, index: int, to: str) -> Loaded:
        """Move an item of the case along its track (or give the mover the form its new stage asks for); the
        case's stage follows its items in the same step."""
        loaded = await self.in_scope(user, await self.load(case_id))
        if name not in loaded.state.spec.tracks():
            raise EngineError(_("This case has no such items."))
        roles = await people_repo.roles_of(self.session, user.id)
        effects = self.core.engine.move_item(loaded.state, name, index, to, user.id, roles, user.is_admin)
        await self.save(loaded, effects, user.id, "item.move", {"list": name, "index": index, "to": to})
        return loaded

    async def request_item_edit(self, user: User, case_id: int, name: str, index: int, field: str) -> Loaded:
        """Ask the person for a new value of one field of an item (its stage's `editable`), in their chat, as
        `request_edit` does for a field of the case."""
        loaded = await self.in_scope(user, await self.load(case_id))
        if name not in loaded.state.spec.tracks():
            raise EngineError(_("This case has no such items."))
        roles = await people_repo.roles_of(self.session, user.id)
        engine = self.core.engine
        effects = engine.request_item_edit(loaded.state, name, index, field, user.id, roles, user.is_admin)
        loaded.asked_in_chat = (item_edit_key(name, index, field), loaded.state.stage)
        detail = {"list": name, "index": index, "field": field}
        await self.save(loaded, effects, user.id, "item.edit_requested", detail)
        return loaded

    async def show_item(self, user: User, case_id: int, name: str, index: int) -> None:
        """A fresh card of an item for this person (theirs went up the chat, or they were not among its people
        when its track began); it is edited with the others from now on."""
        loaded = await self.in_scope(user, await self.load(case_id))
        shown = await self.notifier.item_shown(loaded, name, index, [user])
        item_cards(loaded, name, index).update({str(k): v for k, v in shown.items()})
        await self.store.write_case(loaded)
