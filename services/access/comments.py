"""A case's comment thread: read by whoever may see the case; an internal note by the internal side only. A
decision's comment (the case card's «Решения»): the internal side's words are the internal side's."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, User
from flows.model import ProcessDef
from services.access.cases import can_see
from services.access.organisations import EXTERNAL_ROLES
from services.access.viewer import Viewer, is_active


def sees_internal(viewer: Viewer) -> bool:
    """The internal side (the representative office, admins): writes and reads internal notes. Anyone bound to
    an organisation or holding an external role is outside it, whatever else they hold."""
    user = viewer.user
    if not is_active(user):
        return False
    if user.is_admin:
        return True
    return user.organisation_id is None and not viewer.roles & set(EXTERNAL_ROLES)


def may_read_decision_comment(viewer: Viewer, author_organisation_id: int | None) -> bool:
    """The words an approver or a chooser gave with a decision, under it on the case card: the internal side reads
    every one; a dealer's staff those of their own organisation's people. The office's approver writes for the
    office; what the dealer must know of a decision (a rejection's reason, what to redo) the process tells them in
    its own message, and the card's «Причина». The decision itself — what, by whom, when — everyone on the case
    sees."""
    if sees_internal(viewer):
        return True
    own = viewer.user.organisation_id
    return own is not None and author_organisation_id == own


def may_read_comment(viewer: Viewer, internal: bool) -> bool:
    """A comment of a case the person may see: an internal note only for the internal side."""
    return not internal or sees_internal(viewer)


async def comment_readers(
    session: AsyncSession, case: Case, spec: ProcessDef, candidates: Iterable[Viewer], internal: bool
) -> list[User]:
    """Those of a case's participants a comment may reach: they may see the case, and, for an internal note,
    are of the internal side."""
    return [v.user for v in candidates if may_read_comment(v, internal) and await can_see(session, v, case, spec)]
