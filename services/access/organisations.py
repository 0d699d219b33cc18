"""Organisations (seed 4) narrow every rule, as an AND: a dealer's staff see their own organisation's cases only,
a regional representative those of their region and the internal ones (`services.access`'s rules)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Case, Company, User, UserRole
from services.access.viewer import Viewer

INTERNAL_ROLES = ("representative", "rep_service", "regional_rep")  # and `admin`, which is a flag, not a role
EXTERNAL_ROLES = ("dealer_manager", "dealer_service", "dealer_staff")  # always bound to one organisation


def is_external(user: User) -> bool:
    return user.organisation_id is not None and not user.is_admin


def organisation_scope(viewer: Viewer) -> ColumnElement[bool] | None:
    """The organisations' narrowing of `select(Case)` for this person (None: no narrowing)."""
    user = viewer.user
    if user.is_admin:
        return None
    if user.organisation_id is not None:
        return Case.company_id == user.organisation_id
    if viewer.roles & set(EXTERNAL_ROLES):
        # A dealer's role held with no organisation (granted before grants were checked, or by hand in the
        # database): that person is of no dealer, so no dealer's case is theirs — not every dealer's.
        return Case.company_id.is_(None)
    if user.region:
        in_region = select(Company.id).where(Company.region == user.region)
        return or_(Case.company_id.is_(None), Case.company_id.in_(in_region))
    return None


def may_name_company(user: User, company: Company) -> bool:
    """A form's company field: a dealer's staff find and name only their own organisation or companies they
    added themselves (another dealer's name and details are not theirs to see)."""
    return not is_external(user) or company.id == user.organisation_id or company.created_by == user.id


async def in_organisation_scope(session: AsyncSession, user: User, company_id: int | None) -> bool:
    """The same rule for one case (by its organisation): may this person see or be told of it at all?"""
    if user.is_admin:
        return True
    if user.organisation_id is not None:
        return company_id == user.organisation_id
    if company_id is not None and await _holds_external_role(session, user.id):
        return False  # a dealer's role with no organisation: no dealer's case (`organisation_scope`)
    if user.region and company_id is not None:
        company = await session.get(Company, company_id)
        return company is not None and company.region == user.region
    return True


async def _holds_external_role(session: AsyncSession, user_id: int) -> bool:
    found = await session.execute(
        select(UserRole.role).where(UserRole.user_id == user_id, UserRole.role.in_(EXTERNAL_ROLES)).limit(1)
    )
    return found.first() is not None


async def reachable(session: AsyncSession, people: Iterable[User], company_id: int | None) -> list[User]:
    """Those of `people` whom a case of this organisation may be shown to (a role's members, a notice's
    addressees): another dealer's staff are not told of it."""
    return [p for p in people if await in_organisation_scope(session, p, company_id)]


async def organisations_own(session: AsyncSession, company_id: int | None, role: str) -> User | None:
    """The person an organisation names as its own (its card's regional representative) for a task of `role` on
    one of its cases (`assignee: organisation:<role>`): only someone who may take it — active, reachable, holding
    the role and seeing the organisation's cases. None (nobody named, or not such a person): the role's pool does
    it, so no task is left to someone who cannot. One statement, read only for such tasks."""
    if company_id is None:
        return None
    dealers_role = aliased(UserRole)
    found = (
        await session.execute(
            select(User, Company.region)
            .join(Company, Company.regional_rep_id == User.id)
            .join(UserRole, (UserRole.user_id == User.id) & (UserRole.role == role))
            .where(
                Company.id == company_id,
                User.active.is_(True),
                User.unreachable_at.is_(None),
                ~exists().where(dealers_role.user_id == User.id, dealers_role.role.in_(EXTERNAL_ROLES)),
            )
        )
    ).first()
    if found is None:
        return None
    person, region = found
    # `in_organisation_scope` for this organisation, with what was read: another dealer's person, or a
    # representative of another region, would hold a task on a case they cannot see.
    if not person.is_admin and (
        (person.organisation_id is not None and person.organisation_id != company_id)
        or (person.region and person.region != region)
    ):
        return None
    return person
