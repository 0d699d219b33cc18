"""Shipments and sales per dealer (`/figures`): who sees them, and whose."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import ColumnElement, false, select

from db.models import Case, Company
from services.access.viewer import Viewer, is_active

FIGURES_ROLES = ("representative", "regional_rep", "dealer_manager", "director")


def can_see_figures(viewer: Viewer) -> bool:
    """Shipments and sales per dealer (`/figures`): the representatives, admins, the company's director, and a
    dealer's manager (who sees their own organisation's only — `figures_scope`)."""
    return is_active(viewer.user) and roles_see_figures(viewer.roles, viewer.is_admin)


def roles_see_figures(roles: Iterable[str], is_admin: bool) -> bool:
    """The same by roles alone: whether the menu offers «📈 Figures» (a newcomer has no row to ask yet)."""
    return is_admin or bool(set(roles) & set(FIGURES_ROLES))


def figures_reach(viewer: Viewer) -> Literal["every", "own"] | None:
    """Whose figures /help tells this person they get: a dealer's staff their own organisation's (`figures_scope`),
    the others who see figures every dealer's (a regional representative's region reads as «each dealer» too)."""
    if not roles_see_figures(viewer.roles, viewer.is_admin):
        return None
    return "own" if viewer.user.organisation_id is not None and not viewer.is_admin else "every"


def figures_scope(viewer: Viewer) -> ColumnElement[bool]:
    """Which dealers' figures this person gets, a filter on `Case.company_id`: a dealer's staff their own
    organisation only; a regional representative the dealers of their region — one with no region set yet sees
    and approves every dealer's requests (`organisation_scope`), so counts every dealer too; the representative
    office, the director and admins every dealer."""
    user = viewer.user
    if not can_see_figures(viewer):
        return false()
    if viewer.is_admin:
        return Case.company_id.is_not(None)
    if user.organisation_id is not None:
        return Case.company_id == user.organisation_id
    if user.region:
        return Case.company_id.in_(select(Company.id).where(Company.region == user.region))
    if {"representative", "regional_rep", "director"} & set(viewer.roles):  # the director: the whole company's
        return Case.company_id.is_not(None)
    return false()
