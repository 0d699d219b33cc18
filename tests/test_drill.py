"""The crash drill, short: the bot is SIGKILLed at least ten times while people register defects; nothing is
lost, nothing is done twice, no case is stuck. (`konveyer drill` runs the full one: 50 kills.)"""

from __future__ import annotations

import os

from bench.drill import run_drill


async def test_ten_kills_lose_nothing_and_do_nothing_twice() -> None:
    report = await run_drill(kills=10, people=1, database_url=os.environ.get("DATABASE_URL"), seed=7)
    print("\n".join(report.lines()))
    assert report.kills >= 10
    assert report.answered > 20, report.lines()
    assert report.clean, report.lines()
