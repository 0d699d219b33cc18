"""The port between an update's transaction and the sender, for an answer that claims its own first message.

Handed over after the commit (`services/outbox.py` `written`, then `OutboxSender.notify`), a message still costs the
sender a statement of its own: the claim. A form's answer writes its messages with one statement
(`services/outbox_answer.py` `with_draft`); that statement claims the first of them itself where the sender would (a
Telegram message due now, nothing of its chat waiting or in flight anywhere, the limits allow), and once the
transaction commits the sender starts the request at once: no claim, no pass. The sender's side is
`services/delivery/handing.py`; the update's transaction carries it in its session's `info` under `HANDING`
(`tgbot/middlewares.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from db.models import Outbox

HANDING = "konveyer.outbox.handing"
Behind = tuple[int, datetime | None, str]  # a row waiting behind a claimed one of its chat: id, not_before, channel


@dataclass(eq=False)  # one offer is one statement's: told apart by identity
class Offer:
    """The chats whose first message this statement may claim for the sender `key`, at the sender's `now`."""

    key: int
    now: datetime
    chats: list[int]


class Handing(Protocol):
    """The sender, for a transaction that claims its own messages: what it may claim, then what it claimed. After
    that the transaction's end tells the sender (its session's commit or rollback, `services/delivery/handing.py`)."""

    def offer(self, chats: set[int]) -> Offer | None: ...

    def settle(
        self, session: Session, offer: Offer, claimed: list[Outbox], behind: dict[int, list[Behind]]
    ) -> None: ...
