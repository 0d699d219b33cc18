"""What the dealer portal offers a person: ordering, reclamations, the cart, /orders and the catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from flows.model import ProcessDef
from services.access.cases import can_start
from services.access.viewer import Viewer, is_active


def may_start_for_dealer(viewer: Viewer, spec: ProcessDef | None) -> bool:
    """The dealer portal's processes (an order request from the cart, a reclamation from a product's card) are
    the dealer's: started by someone its definition lets start it who is bound to a dealer (None: the process
    is not loaded here)."""
    return spec is not None and viewer.user.organisation_id is not None and can_start(viewer.user, viewer.roles, spec)


@dataclass(frozen=True)
class PortalRights:
    """What the portal's buttons offer a person: a button they may not use is not shown."""

    order: bool  # «📝 Place the order», «🛒 Big order» (an order request from the cart)
    reclaim: bool  # «🛠 Reclamation» on a product's card (its initiator later picks its parts from the cart)
    # /orders: the organisation's requests, for a role the order process names (a dealer's service engineer is
    # not one: /help does not offer it, and /orders says so rather than «no requests yet»)
    orders: bool = False
    browse: bool = False  # the catalogue itself: the inline search, a product's card, its Excel file (`may_browse`)

    @property
    def cart(self) -> bool:
        """The cart feeds an order request or a reclamation's parts: of use to someone who may do either."""
        return self.order or self.reclaim


def portal_rights(viewer: Viewer, order: ProcessDef | None, reclamation: ProcessDef | None) -> PortalRights:
    sees_orders = (
        order is not None and is_active(viewer.user) and (viewer.is_admin or bool(set(viewer.roles) & set(order.roles)))
    )
    return PortalRights(
        may_start_for_dealer(viewer, order),
        may_start_for_dealer(viewer, reclamation),
        sees_orders,
        may_browse(viewer, order, reclamation),
    )


def may_browse(viewer: Viewer, order: ProcessDef | None, reclamation: ProcessDef | None) -> bool:
    """The maker's catalogue (its stock by warehouse, a dealer's prices) is for those who work with it: a dealer's
    staff, the maker's people with a role in the portal's processes (None: not loaded here), admins. Someone of
    another process (seed 5's medical sales manager) gets no results instead of the maker's stock."""
    user = viewer.user
    if user.is_admin or user.organisation_id is not None:
        return True
    return any(set(viewer.roles) & set(spec.roles) for spec in (order, reclamation) if spec is not None)
