"""A burst of leads from one site form is limited the same for every worker and across a restart: the form's
allowance is a row in the database (a token bucket), not something each process keeps for itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from services.leads import LeadRefused, Leads
from tests.conftest import Harness

TOKEN = "site-form-token-7f3a9c"
PER_MINUTE = 3


def lead(name: str) -> dict[str, str]:
    return {"organisation": "Клиника «Здоровье»", "name": name, "phone": "+7 900 123-45-67"}


async def taken(leads: Leads, key: str) -> bool:
    """One submission: True when it became a lead, False when the form's allowance was spent."""
    try:
        await leads.submit("site", TOKEN, key, lead(key))
    except LeadRefused as refused:
        assert refused.status == 429
        return False
    return True


@pytest.fixture
async def office(harness_factory: Callable[..., Awaitable[Harness]]) -> Harness:
    harness = await harness_factory(lead_tokens={"site": TOKEN}, lead_rate_per_minute=PER_MINUTE)
    await harness.person("Директор Олег", "director")  # the leads' cases start in his name
    return harness


def worker(harness: Harness) -> Leads:
    """What each worker (or the bot after a restart) builds for itself: nothing of the others' counts."""
    return Leads(harness.core, {"site": TOKEN}, PER_MINUTE)


async def test_two_workers_share_one_forms_allowance_and_it_refills_with_time(office: Harness) -> None:
    first, second = worker(office), worker(office)
    assert [await taken(first, "k1"), await taken(first, "k2"), await taken(second, "k3")] == [True] * 3
    assert not await taken(second, "k4") and not await taken(first, "k4")
    await office.advance(seconds=20)  # a third of a minute: one submission's worth
    assert await taken(second, "k4")
    assert not await taken(first, "k5")


async def test_a_restart_does_not_hand_a_spammer_a_fresh_allowance(office: Harness) -> None:
    before = worker(office)
    assert [await taken(before, f"k{n}") for n in range(4)] == [True, True, True, False]
    after = worker(office)  # the bot restarted: the spent allowance is still spent
    assert not await taken(after, "k4")
    await office.advance(minutes=1)
    assert [await taken(after, f"k{n}") for n in range(4, 8)] == [True, True, True, False]


async def test_submissions_at_the_same_moment_from_two_workers_take_no_more_than_the_allowance(
    office: Harness,
) -> None:
    first, second = worker(office), worker(office)
    results = await asyncio.gather(*(taken(first if n % 2 else second, f"k{n}") for n in range(6)))
    assert sorted(results) == [False] * 3 + [True] * 3
