"""Processes are picked by their titles (the start menu, /export, /diagram, the panel's filter): no two in the
shipped library may read the same in any language — seed 3's shipment and seed 4's dealer order were both «Заявка
на отгрузку»."""

from __future__ import annotations

from collections import Counter

import yaml

from flows.loader import load_library
from flows.model import local
from tests.conftest import LIBRARY


def test_no_two_processes_of_the_library_share_a_title() -> None:
    specs = [loaded.spec for loaded in load_library(LIBRARY).values()]
    for lang in ("ru", "en"):
        titles = Counter(local(spec.title, lang) for spec in specs)
        assert [title for title, count in titles.items() if count > 1] == [], lang


def _english_texts(node: object, within: str = "") -> list[tuple[str, str]]:
    """(where, text) of every text an English reader reads in a definition: the English of a text given in both
    languages, and a text given once (it is everyone's) — a value the process sets (a production's name) is data."""
    if isinstance(node, dict):
        if {"ru", "en"} <= node.keys() and all(isinstance(v, str) for v in node.values()):
            return [(within, node["en"])]
        parts = [(key, value) for key, value in node.items() if key != "set"]
        return [text for key, value in parts for text in _english_texts(value, f"{within}.{key}")]
    if isinstance(node, list):
        return [text for n, value in enumerate(node) for text in _english_texts(value, f"{within}[{n}]")]
    return [(within, node)] if isinstance(node, str) else []


def test_an_english_reader_reads_no_before_a_number_not_the_russian_sign() -> None:
    """«№» is Russian: an English reader sees «SBC 900, No. SN-1» as a reclamation's title and «No.» over a report's
    column, never «№» (a case's number reads «#12» in English)."""
    for path in sorted(LIBRARY.glob("*.yaml")):
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        signs = [(where, text) for where, text in _english_texts(definition) if "№" in text]
        assert signs == [], path.name
