"""The bench's own process (the sandboxes and the simulated people) must not pause a measured run of the bot path:
what it holds from earlier rounds is frozen before each run, so no full collection walks it while people wait."""

from __future__ import annotations

import gc
from types import SimpleNamespace
from typing import Any

from bench.botpath import Side, settled_bench_heap
from sandbox.stats import SandboxStats


class _QuietBot:
    """A bot process that answers the bench's questions and did nothing."""

    peak_rss = 0

    async def statements(self) -> dict[str, int]:
        return {}

    async def stalls(self) -> dict[str, float]:
        return {}

    def cpu_seconds(self) -> float:
        return 0.0


async def test_the_history_of_earlier_rounds_is_frozen_before_people_start_acting() -> None:
    history = [{"message_id": n, "text": "Поставщик?"} for n in range(5_000)]  # what the sandbox was sent so far
    side = Side("konveyer", SimpleNamespace(stats=SandboxStats()), _QuietBot(), [], ())  # type: ignore[arg-type]
    frozen_when_people_began: list[int] = []

    async def people_act() -> tuple[int, float]:
        frozen_when_people_began.append(gc.get_freeze_count())
        return 0, 0.0

    with settled_bench_heap():
        before = gc.get_freeze_count()
        await side.measure(people_act)
    assert frozen_when_people_began[0] >= before + len(history)
    assert gc.get_freeze_count() == 0, "the parts of the bench that follow get their heap back"
    assert not any(type(callback).__name__ == "SettledHeap" for callback in gc.callbacks)


def test_what_settles_during_a_run_is_frozen_after_a_full_collection() -> None:
    with settled_bench_heap():
        gc.collect()
        before = gc.get_freeze_count()
        kept: list[Any] = [[n] for n in range(30_000)]  # more than the bot process's own threshold
        gc.collect()
        assert gc.get_freeze_count() >= before + len(kept)
    assert gc.get_freeze_count() == 0


async def test_a_pause_of_the_bench_itself_during_a_run_is_reported() -> None:
    side = Side("konveyer", SimpleNamespace(stats=SandboxStats()), _QuietBot(), [], ())  # type: ignore[arg-type]

    async def people_act_through_a_full_collection() -> tuple[int, float]:
        gc.collect()
        return 1, 1.0

    with settled_bench_heap():
        result = await side.measure(people_act_through_a_full_collection)
    assert result.bench_collections["full"] >= 1
    assert result.bench_collections["full_max_ms"] > 0
    assert result.as_dict()["bench_collections"]["full"] >= 1
