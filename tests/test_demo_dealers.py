"""The demo seeds seed 4's two dealers with their people bound to them (and again on the next start, without
duplicates)."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Company, User
from sandbox.demo import DEALERS, seed
from tests.conftest import Harness


async def test_the_demo_seeds_two_dealers_with_their_people(harness: Harness) -> None:
    seeded = await seed(harness.core, harness.sandbox)
    await seed(harness.core, harness.sandbox)  # a second demo start on the same data
    # Everybody the demo lists has a person's name, never a role's key.
    assert [(name, role) for _, name, role in seeded if name == role] == []
    async with harness.core.sessionmaker() as session:
        dealers = list((await session.execute(select(Company).where(Company.kind == "dealer"))).scalars())
        bound = list((await session.execute(select(User).where(User.organisation_id.is_not(None)))).scalars())
        regional = (await session.execute(select(User).where(User.region == "Москва"))).scalars().all()
    assert sorted(d.name for d in dealers) == sorted(d.name for d in DEALERS)
    for dealer in dealers:
        staff = {u.name for u in bound if u.organisation_id == dealer.id}
        expected = next(d for d in DEALERS if d.name == dealer.name)
        assert staff == {name for _, name in expected.people}
        assert dealer.region and dealer.inn
    assert len(regional) == 1
    # The Moscow dealer's card names Moscow's regional representative, whose its order requests are; the Kazan
    # one has none (its requests go to the representatives' pool).
    assert {d.region: d.regional_rep_id for d in dealers} == {"Москва": regional[0].id, "Казань": None}
