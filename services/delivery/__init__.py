"""Delivery of the outbox (`services.outbox`): rows written in the same transaction as the change that caused
them are delivered by `OutboxSender` within Telegram's limits, once.

Delivery guarantees:
- a row is claimed (pending -> sending, committed) before the request, so two workers never send it twice;
- a 429 puts it back with `not_before = now + retry_after`; a refused connection (nothing reached Telegram)
  retries with backoff; edits are idempotent and always retried;
- a timeout or a connection lost after the request left is ambiguous, so a new message is marked `uncertain`,
  not sent again:
  sending twice is worse for people than a rare lost message, which the admin panel lists.
- a row left in `sending` by a crashed worker (its liveness lock is free on PostgreSQL, or it was claimed
  longer ago than the lease) is marked `uncertain`, for the same reason; other workers' live rows are left
  alone. A task card among them is sent afresh and a form question is asked again: work must not wait in
  silence behind a message whose fate is unknown.
- an outcome is written only onto the claim it answers (still `sending`, the same `claimed_at`): written again
  after its acknowledgement was lost, it cannot undo what a later claim of the row did, and on PostgreSQL what it
  does beyond its row (a person marked, a fallback notice, a card re-pointed) is not done again;
- a row this sender claimed but never started (the claim committed, its answer was lost) goes back to waiting at
  once after the failure, or at the minute's sweep: sent once, not left keeping its chat busy;
- a form's answer, and an update whose end leaves only its replies and a form pointer (`outbox_answer.write_tail`),
  may claim its own first message in the statement that writes it (on SQLite in its transaction, which holds the
  write lock; `services/delivery/handing.py`): the claim commits or rolls back with the answer, its request starts
  after the commit, and until then this sender's sweep of never-started rows leaves it alone. A crash between that
  commit and the request's start leaves the row as a crash mid-request does: `uncertain` (a question is asked again,
  any other reply is listed for the admins as any uncertain message is), where a row claimed after the commit would
  have been sent after the restart — a window of the sender's next turn of its loop, against a round trip saved on
  every answer;
- per chat, one message at a time across all workers: a chat with a row `sending` anywhere is busy. One race is
  left open: an update's messages are claimed after its commit without the passes' lock (`_take_handed`), or by
  the answer's own statement before it, and the claim judges «no older row waiting, none being sent» on its
  statement's snapshot. When two transactions write to one chat and the row with the lower id commits second, a
  pass (or another worker's hand-over) that read before that commit chooses the higher one while this claim takes
  the lower: both go at once (two concurrent transactions' messages, whose order was never defined; a 429 it may
  bring is waited out like any other).
"""

from services.delivery.base import (
    LIVENESS,
    MAX_ATTEMPTS,
    SENDING_LEASE,
    SMS_MAX_ATTEMPTS,
    SMS_MAX_PAUSE,
    DocumentRenderer,
)
from services.delivery.limits import RateLimiter
from services.delivery.sender import OutboxSender
from services.delivery.telegram import RawSendMessage

__all__ = [
    "LIVENESS",
    "MAX_ATTEMPTS",
    "SENDING_LEASE",
    "SMS_MAX_ATTEMPTS",
    "SMS_MAX_PAUSE",
    "DocumentRenderer",
    "OutboxSender",
    "RateLimiter",
    "RawSendMessage",
]
