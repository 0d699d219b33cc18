"""The cards' buttons are packed without building aiogram's models: the same strings, refused alike."""

from enum import Enum

import pytest
from aiogram.types import InlineKeyboardButton

from tgbot.callbacks import CaseCb, ItemCb, StartCb, TaskCb, button, keyboard, pack
from tgbot.render import markup


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (TaskCb(action="claim", task_id=7), ("claim", 7, "")),
        (TaskCb(action="out", task_id=123456, arg="approve"), ("out", 123456, "approve")),
        (CaseCb(action="show", case_id=42), ("show", 42, "")),
        (ItemCb(action="move", case_id=3, list="units", index=0, arg="sent"), ("move", 3, "units", 0, "sent")),
    ],
)
def test_pack_gives_what_the_model_packs(model: TaskCb | CaseCb | ItemCb, values: tuple[str | int, ...]) -> None:
    assert pack(type(model), *values) == model.pack()
    assert type(model).unpack(pack(type(model), *values)) == model


class Action(str, Enum):  # noqa: UP042 -- not a StrEnum: its str() is "Action.OUT", aiogram packs the value
    OUT = "out"


def test_pack_gives_an_enum_by_its_value_as_the_model_does() -> None:
    assert pack(TaskCb, Action.OUT, 4, "") == TaskCb(action=Action.OUT, task_id=4).pack() == "t:out:4:"


def test_pack_refuses_what_the_model_refuses() -> None:
    with pytest.raises(ValueError):
        TaskCb(action="out", task_id=1, arg="a:b").pack()
    with pytest.raises(ValueError):
        pack(TaskCb, "out", 1, "a:b")
    with pytest.raises(ValueError):
        pack(TaskCb, "out", 1, "x" * 80)
    with pytest.raises(TypeError):
        pack(TaskCb, "claim", 1)  # every field given, defaults too


def test_a_keyboard_of_buttons_is_what_the_models_dump_to() -> None:
    models = [[InlineKeyboardButton(text="✋ Take", callback_data=TaskCb(action="claim", task_id=5).pack()),
               InlineKeyboardButton(text="📁", callback_data=CaseCb(action="show", case_id=9).pack())]]
    plain = [[button("✋ Take", pack(TaskCb, "claim", 5, "")), button("📁", pack(CaseCb, "show", 9, ""))]]
    assert keyboard(plain) == markup(models)
    assert keyboard([]) is None and markup([]) is None


def test_a_process_list_sent_before_lists_carried_their_message_still_reads_as_a_press_on_a_list() -> None:
    assert StartCb.unpack("s:defect_return:0") == StartCb(process="defect_return")
    assert StartCb.unpack(StartCb(process="defect_return", picker=77).pack()).picker == 77
