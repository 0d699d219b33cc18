"""Seed 1's happy path (defect confirmed, repaired, fixed, back in the shop) as data both engines run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from services import people

PROCESS = "defect_return"
START = "__start__"
# The bench runs on the real clock, and seed 1's dates are of things that have happened (not after today): the goods
# came, were shipped and came back today, in the company's time zone (the demo's and the default settings').
TODAY = datetime.now(ZoneInfo("Europe/Moscow")).date().isoformat()

START_FORM: dict[str, Any] = {
    "supplier": "alpha", "quantity": 1, "purchase_sum": "125000.00", "brand": "Longines", "incoming_doc": "ВХ-42",
    "employee_name": "Иванова Марина", "arrival_date": TODAY,
    "units": [{"model": "L2.793.4", "serial": "SN-123456", "defect": "Отстают на 30 секунд в сутки",
               "photos": [{"id": 1, "name": "defect.png", "kind": "photo"}]}],
}


@dataclass(frozen=True)
class Step:
    task: str
    outcome: str
    actor: str  # a role (the one person of that role in the bench) or "initiator"
    values: dict[str, Any] = field(default_factory=dict)


HAPPY_PATH: tuple[Step, ...] = (
    Step(START, "submit", "initiator", START_FORM),
    Step("move_to_service", "done", "service_manager"),
    Step("confirm_defect", "approve", "warehouse_head", {"inspection_photos": [{"id": 2, "kind": "photo"}]}),
    Step("supplier_notified", "done", "service_manager"),
    Step("ship_to", "service_centre", "service_manager", {"ship_address": "Москва, Петровка, 10"}),
    Step("prepare_documents", "done", "service_manager"),
    Step("pack_and_ship", "done", "service_manager",
         {"shipping_date": TODAY, "waybill": "CDEK-1", "shipping_docs": [{"id": 5, "name": "act.pdf"}]}),
    Step("inform_supplier", "done", "service_manager"),
    Step("verdict", "repair", "service_manager", {"verdict_doc": [{"id": 6, "name": "verdict.pdf"}]}),
    Step("goods_back", "done", "service_manager", {"return_ship_date": TODAY}),
    Step("defect_fixed", "approve", "service_manager"),
    Step("moved_in_1c", "done", "service_manager"),
    Step("shop_received", "done", "initiator"),
)

ROLES = ("shop_manager", "shop_admin", "director", "service_manager", "warehouse_head", "accountant")


async def staff(session: AsyncSession, now: datetime, first_tg_id: int = 900_000) -> dict[str, User]:
    """One person per role of seed 1 (the shop manager is the initiator), registered as the product does."""
    users: dict[str, User] = {}
    for offset, role in enumerate(ROLES):
        user = await people.register(session, tg_id=first_tg_id + offset, name=f"bench {role}", username=None,
                                     language="ru", now=now)
        await people.grant(session, user.id, [role])
        users[role] = user
    users["initiator"] = users["shop_manager"]
    return users
