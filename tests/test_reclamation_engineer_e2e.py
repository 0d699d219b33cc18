"""Seed 4's reclamation at the representative's: the service engineer who accepted a reclamation into diagnosis
found its decision and the check of its repair handed to whichever engineer of the pool pressed first — another
who never saw the claim could approve it or close it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import Harness
from tests.test_dealer_portal_e2e import dealers
from tests.test_organisations_e2e import texts
from tests.test_reclamation_parts_left_e2e import diagnosed, stage_of


async def test_the_engineer_who_accepted_the_reclamation_decides_on_it_and_checks_the_repair(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Two service engineers at the representative's. Rodion accepts the reclamation into diagnosis: its decision
    and the check of the repair come to him as his own tasks, and Semyon, who never saw it, is not asked."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    sergey, semyon = people["sergey"], people["semyon"]
    rodion = await harness.person("Родион", "rep_service")
    await diagnosed(sergey, rodion, "SN-48-000803")
    await sergey.press("Готово", await sergey.card("Запчасти: добавьте их из каталога", button="Готово"))

    verdict = await rodion.card("Согласуйте ремонт", "Нож сколот", button="Согласовать")
    assert "Эта задача — ваша." in verdict["text"], verdict["text"]
    await rodion.press("Согласовать", verdict)
    await sergey.press("Готово", await sergey.card("Сообщите о выполненном ремонте", button="Готово"))
    await sergey.press("Пропустить", await sergey.expect("Фото после ремонта"))
    await sergey.press("Подтвердить", await sergey.expect("Проверьте"))
    check = await rodion.card("Проверьте ремонт и закройте рекламацию", "SN-48-000803", button="Ремонт принят")
    await rodion.press("Ремонт принят", check)
    assert await stage_of(harness) == "closed"
    seen = await texts(semyon)
    assert "Согласуйте ремонт" not in seen and "Проверьте ремонт" not in seen, seen
