"""An order whose items are taken out by a correction (`on_change: [add, cancel_removed]`): every one removed leaves
nothing to follow, so the order goes to its track's `all_cancelled` stage with whoever that stage tells told."""

from __future__ import annotations

import pytest

from flows.items import item_states
from flows.loader import parse_definition
from flows.runtime import Engine, EngineError, Notify
from tests.test_items import CHANGING, ITEMS, MANAGER, clock, edit_items, engine, move

__all__ = ["clock", "engine"]  # the fixtures of the order's engine, shared

OPTIONAL = CHANGING.replace(
    "    label: {ru: Позиции, en: Items}\n", "    label: {ru: Позиции, en: Items}\n    required: false\n"
)


def test_an_order_whose_every_item_is_taken_out_is_called_off_and_its_manager_told(engine: Engine) -> None:
    """Each item removed: the order is called off and its manager told, as when each item is cancelled. (The
    correction used to be taken for «nothing said»: the order kept its three items and waited at «processing».)"""
    case, _ = engine.start(
        parse_definition(OPTIONAL).spec, MANAGER, {"client": "Клиника", "items": [dict(i) for i in ITEMS]}
    )
    move(engine, case, 0, "sent", tracking="RU0")
    effects = edit_items(engine, case, [])
    assert case.data["items"] == [] and item_states(case.data, "items") == []
    assert (case.stage, case.status, case.result) == ("called_off", "done", "failure")
    told = [e for e in effects if isinstance(e, Notify) and e.kind == "text"]
    assert [(n.roles, n.text) for n in told] == [(("manager",), "Заказ {{ client }}: все позиции отменены")], told


def test_the_items_of_an_order_that_must_have_them_are_not_all_taken_out(engine: Engine) -> None:
    """A required list emptied by a correction is refused, naming it — not silently kept as it was."""
    case, _ = engine.start(
        parse_definition(CHANGING).spec, MANAGER, {"client": "Клиника", "items": [dict(i) for i in ITEMS]}
    )
    with pytest.raises(EngineError, match="Позиции"):
        edit_items(engine, case, [])
    assert len(case.data["items"]) == 3 and case.stage == "processing"
