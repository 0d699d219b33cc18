"""aiogram's models are built as the bot uses them (app/lazy_models.py), not all when it starts: issue 14's
< 300 MB of the bot process, of which building all ~460 of them at import took ~105 MB."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODELS = """
from pydantic import BaseModel

def aiogram_models():
    found, todo = set(), [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    ours = [m for m in found if m.__module__.startswith("aiogram.")]
    return sorted(ours, key=lambda m: m.__module__ + m.__qualname__)
"""

UPDATE = {
    "update_id": 7,
    "message": {
        "message_id": 3,
        "date": 1764979200,
        "text": "Мои задачи",
        "chat": {"id": 42, "type": "private", "first_name": "Анна"},
        "from": {"id": 42, "is_bot": False, "first_name": "Анна", "language_code": "ru"},
        "reply_markup": {"inline_keyboard": [[{"text": "✅ Взять", "callback_data": "take:9"}]]},
        "photo": [{"file_id": "f", "file_unique_id": "u", "width": 90, "height": 90}],
    },
}


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_starting_the_bot_builds_none_of_the_telegram_types_it_has_not_met() -> None:
    """What `konveyer run` imports leaves every Telegram type unbuilt (a few methods, which name no type, are built
    as aiogram defines them); the bot's start builds the update it validates every incoming one into."""
    code = (
        "import app.application, app.cli\n"
        + MODELS
        + "built = lambda: [m.__qualname__ for m in aiogram_models() if m.__pydantic_complete__"
        " and m.__module__.startswith('aiogram.types.')]\n"
        "print(built())\n"
        "from app.lazy_models import build_update_model\n"
        "build_update_model()\n"
        "print('Update' in built(), 'SendInvoice' in built(), 'PaidMediaInfo' in built())\n"
    )
    at_start, after = _run(code).splitlines()
    assert at_start == "[]"
    assert after == "True False False"


def test_every_aiogram_model_builds_when_first_used_and_reads_an_update_as_aiogram_does() -> None:
    """Each of aiogram's models builds when first used, with the names aiogram resolves its types by, and an update
    reads and dumps the same as with every model built at import (aiogram alone, without the composition root)."""
    read = (
        MODELS + "from aiogram.methods import SendMessage\n"
        "from aiogram.types import Update, InlineKeyboardMarkup, InlineKeyboardButton\n"
        f"update = Update.model_validate({UPDATE!r})\n"
        "send = SendMessage(chat_id=42, text='x', reply_markup=InlineKeyboardMarkup("
        "inline_keyboard=[[InlineKeyboardButton(text='a', callback_data='b')]]))\n"
        "print(json.dumps([update.model_dump(mode='json'), send.model_dump(mode='json', exclude_defaults=True),"
        " type(update.message.reply_markup).__name__]))\n"
    )
    eager = _run("import json\nimport aiogram\n" + read)
    lazy = _run(
        "import json\nimport app\nimport aiogram\n" + read + "for model in aiogram_models():\n"
        "    if not model.__pydantic_generic_metadata__['parameters']:\n"
        "        model.model_rebuild()\n"
        "print([m.__qualname__ for m in aiogram_models() if not m.__pydantic_complete__"
        " and not m.__pydantic_generic_metadata__['parameters']])\n"
    )
    lazy_update, unbuilt = lazy.splitlines()
    assert lazy_update == eager
    assert json.loads(lazy_update)[0]["message"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "take:9"
    assert unbuilt == "[]"
