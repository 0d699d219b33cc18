"""Who hears a case's stage lines: its initiator mutes or unmutes it, anyone else who may see it follows it or
stops; whoever comes to lead it follows it (the rows are `services.following`'s)."""

from __future__ import annotations

from db.models import User
from services import access, following
from services.cases.base import CaseServiceBase
from services.cases.state import Loaded


class Followers(CaseServiceBase):
    """A person mutes a case, or follows it, and whether they hear it."""

    async def mute(self, viewer: access.Viewer, case_id: int, muted: bool) -> Loaded:
        """A person who may see the case asks for no more stage lines about it (or for them): the initiator
        mutes or unmutes their case, anyone else stops or starts following it."""
        loaded = await self.visible(viewer, case_id)
        await following.set_muted(self.session, loaded.row.id, viewer.user.id, muted, self.now)
        if viewer.user.id != loaded.state.initiator_id:  # (their mute row: taking the case later keeps it quiet)
            await following.set_following(self.session, loaded.row.id, viewer.user.id, not muted, self.now)
        return loaded

    async def muted(self, user: User, case_id: int, initiator_id: int | None = None) -> bool:
        """Whether the person gets no stage lines about the case: muted by its initiator, not followed by others."""
        if initiator_id is not None and user.id != initiator_id:
            return not await following.is_following(self.session, case_id, user.id)
        return await following.is_muted(self.session, case_id, user.id)


async def follow_taken(service: CaseServiceBase, loaded: Loaded) -> None:
    """Whoever becomes the case's responsible in this step (a lead taken) follows it: where it goes is theirs
    to hear, until they stop following it (its card, a news line's button). Its initiator follows it anyway.
    Someone who muted the case before stays muted, and is told so once, with a button to hear it again."""
    taken = loaded.state.responsible_id
    if taken is None or taken == loaded.row.responsible_id:
        return
    initiator = taken == loaded.state.initiator_id
    if await following.responsible_follows(service.session, loaded.row.id, taken, service.now, initiator=initiator):
        return
    person = await service.people.user(taken)
    if person is not None and person.active:
        await service.notifier.muted_responsible(loaded, person)
