"""`User.prompt` only offered, not asked: a question nobody put to the person, whose answer their next text may be
(the quantity after «🛒 В заявку»: «25» is how many). Whatever else the person begins — a form opened, another
product's card picked — ends the offer, so the one who made it (`services.portal_cart`) and those who begin
something else (`tgbot.form_base`) meet here and neither knows the other."""

from __future__ import annotations

from typing import Any

from db.models import User

OFFERED = "offered"  # the prompt's mark: only offered


def offer(user: User, prompt: dict[str, Any]) -> None:
    user.prompt = {**prompt, OFFERED: True}


def offered(user: User | None) -> bool:
    return bool(user is not None and user.prompt and user.prompt.get(OFFERED))


def drop_offered(user: User) -> None:
    """Something else begun: an offer is over (a question asked is not: it is answered or put aside its own way)."""
    if offered(user):
        user.prompt = None
