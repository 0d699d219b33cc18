"""One company, one card: an organisation with an INN and KPP another one already has is refused, naming that one —
in chat when it is created or changed, and in the panel's form — while a branch (same INN, its own KPP) is welcome."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import Company
from tests.conftest import Harness
from tests.test_organisations_e2e import organisation


async def test_the_same_company_is_not_added_twice(harness: Harness) -> None:
    garden = await organisation(harness, "ООО Сад region=Москва inn=7707083893 kpp=770701001")
    await harness.admin.send("/org_new dealer ООО Сад (копия) inn=7707083893 kpp=770701001")
    refused = await harness.admin.expect(f"с такими ИНН и КПП уже есть: №{garden} «ООО Сад» (/org {garden})")
    assert "/cancel" not in refused["text"]  # a one-line command asks nothing again: it is sent corrected
    # A branch: the same INN with a KPP of its own is another organisation.
    branch = await organisation(harness, "ООО Сад филиал region=Тверь inn=7707083893 kpp=770702001")
    assert branch != garden
    # Giving the branch the head office's KPP would make it the same company again: refused, nothing changed.
    await harness.admin.send(f"/org_set {branch} kpp=770701001")
    await harness.admin.expect(f"Организация с такими ИНН и КПП уже есть: №{garden} «ООО Сад»")
    async with harness.core.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Company)) == 2
        kept = await session.get(Company, branch)
        assert kept is not None and kept.kpp == "770702001"
