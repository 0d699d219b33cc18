"""Processes are picked by their titles (the start menu, /export, /diagram, the panel's filter): no two in the
shipped library may read the same in any language — seed 3's shipment and seed 4's dealer order were both «Заявка
на отгрузку»."""

from __future__ import annotations

from collections import Counter

from flows.loader import load_library
from flows.model import local
from tests.conftest import LIBRARY


def test_no_two_processes_of_the_library_share_a_title() -> None:
    specs = [loaded.spec for loaded in load_library(LIBRARY).values()]
    for lang in ("ru", "en"):
        titles = Counter(local(spec.title, lang) for spec in specs)
        assert [title for title, count in titles.items() if count > 1] == [], lang
