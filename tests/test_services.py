"""The application services the handlers call, without a chat in between: the admin invites a shop manager,
the newcomer joins by the link once, the rules of `services.access` decide what the menu offers and who may
export a process."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.container import build_core
from app.settings import Settings
from flows.runtime import EngineError
from services import people as people_repo
from services.access import AccessDenied, Viewer
from services.exports import Exports, UnknownProcess
from services.menu import Menu
from services.team import Team
from services.team.base import Refused, UnknownRoles
from services.team.joining import Newcomer, Welcome


async def test_an_invite_brings_one_newcomer_in_with_its_roles(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            team = Team(core, session)
            admin = await people_repo.register(
                session, tg_id=1, name="Админ", username=None, language="ru", now=core.clock.now(), is_admin=True
            )
            with pytest.raises(UnknownRoles) as refused:
                await team.invite(admin, ["shop_manager", "astronaut"], 1, False)
            assert refused.value.unknown == ["astronaut"]
            invite = await team.invite(admin, ["shop_manager"], 1, False)

            newcomer = Newcomer(tg_id=2, name="Продавец", username="seller", language="ru")
            joined = await team.join(newcomer, None, set(), invite.code)
            assert (joined.outcome, joined.roles) == (Welcome.JOINED, ["shop_manager"])
            second = await team.join(Newcomer(3, "Ещё один", None, "ru"), None, set(), invite.code)
            assert second.outcome is Welcome.REFUSED
            stranger = await team.join(Newcomer(4, "Прохожий", None, "ru"), None, set(), "")
            assert stranger.outcome is Welcome.STRANGER

            person, roles = await team.change_roles("@seller", ["accountant"], grant=True)
            assert (person.name, roles) == ("Продавец", ["accountant", "shop_manager"])
            with pytest.raises(Refused):  # nobody by that name: invited, not granted
                await team.change_roles("@nobody", ["accountant"], grant=True)
            assert [(user.name, roles) for user, roles in await team.roster()] == [
                ("Админ", []),
                ("Продавец", ["accountant", "shop_manager"]),
            ]
    finally:
        await core.close()


async def test_the_menu_and_exports_follow_the_access_rules(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            now = core.clock.now()
            admin = await people_repo.register(
                session, tg_id=1, name="Админ", username=None, language="ru", now=now, is_admin=True
            )
            seller = await people_repo.register(
                session, tg_id=2, name="Продавец", username=None, language="ru", now=now
            )
            menu, exports = Menu(core, session), Exports(core, session)

            startable = [spec.process for spec in menu.startable(Viewer.of(seller, {"shop_manager"}))]
            assert "defect_return" in startable
            assert "weekly_orders" not in startable
            assert menu.startable(Viewer.of(seller, set())) == []
            # An admin may start every process the menu offers (a dealer's order request starts from the cart).
            offered = [spec for spec in core.registry.current_specs() if spec.start.menu]
            assert len(menu.startable(Viewer.of(admin, set()))) == len(offered)
            assert await menu.my_cases(Viewer.of(seller, {"shop_manager"})) == []

            with pytest.raises(AccessDenied):
                await exports.process_cases(Viewer.of(seller, {"shop_manager"}), "defect_return")
            with pytest.raises(UnknownProcess):
                await exports.process_cases(Viewer.of(admin, set()), "no_such_process")
            with pytest.raises(EngineError, match="no cases yet"):  # no empty workbook: said in words
                await exports.process_cases(Viewer.of(admin, set()), "defect_return")
    finally:
        await core.close()
