"""The admin's actions on cases (`services.admin_actions`, shared by the chat and the panel) are the admin's only:
anyone else is refused before anything is read or changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from db.models import User
from services.access import AccessDenied
from services.admin_actions import AdminActions
from services.cases import CaseService
from tests.conftest import Harness


async def test_someone_who_is_not_an_admin_is_refused_every_admin_action(harness: Harness) -> None:
    await harness.person("Марина", "shop_manager", "director")
    async with harness.core.sessionmaker() as session:
        marina = (await session.execute(select(User).where(User.name == "Марина"))).scalar_one()
        actions = AdminActions(CaseService(harness.core, session), marina)
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: actions.find("1", "ru"),
            lambda: actions.find("Longines", "ru"),
            lambda: actions.case(1),
            lambda: actions.candidates(1),
            lambda: actions.reassign(1, marina.id),
            lambda: actions.ask_cancel_reason(1),
            lambda: actions.cancel(1, "так надо"),
            lambda: actions.retry(1),
            lambda: actions.needing_attention(),
            lambda: actions.unreachable(),
        ]
        for call in calls:
            with pytest.raises(AccessDenied):
                await call()
        assert marina.prompt is None
