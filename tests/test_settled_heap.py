"""What becomes permanent after start-up is frozen once it has piled up, and only a bounded number of times."""

import gc

from app.application import SettledHeap


def _after_full_collection(heap: SettledHeap) -> None:
    heap("stop", {"generation": 2, "collected": 0, "uncollectable": 0})


def test_a_full_collection_leaving_many_survivors_freezes_them() -> None:
    gc.collect()
    kept = [[index] for index in range(50)]  # long-lived objects of the running bot
    gc.collect()
    before = gc.get_freeze_count()
    heap = SettledHeap(freeze_at=10)
    try:
        heap("start", {"generation": 2, "collected": 0, "uncollectable": 0})
        heap("stop", {"generation": 1, "collected": 0, "uncollectable": 0})
        assert gc.get_freeze_count() == before, "only the end of a full collection freezes"
        _after_full_collection(heap)
        assert gc.get_freeze_count() >= before + len(kept)
        assert heap.freezes == 1
    finally:
        gc.unfreeze()


def test_few_survivors_are_left_to_the_collector() -> None:
    gc.collect()
    before = gc.get_freeze_count()
    heap = SettledHeap(freeze_at=10**9)
    _after_full_collection(heap)
    assert gc.get_freeze_count() == before and heap.freezes == 0


def test_a_heap_that_keeps_growing_stops_being_frozen() -> None:
    heap = SettledHeap(freeze_at=1)
    kept: list[list[int]] = []
    try:
        for round_ in range(SettledHeap.MAX_FREEZES + 5):
            kept.extend([round_] for _ in range(5))  # more that lives on, every round
            gc.collect()
            _after_full_collection(heap)
        assert heap.freezes == SettledHeap.MAX_FREEZES
    finally:
        gc.unfreeze()
