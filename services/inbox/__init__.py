"""The durable inbox: updates are rows before they are acknowledged, handled from the table once, in
per-person order, and marked done in the same transaction as everything they changed.

- `store` is idempotent: Telegram redelivers (a slow reply, a dead worker) and the same `update_id` is
  then simply not stored again (storing.py, with the variants that also say whether the update is due).
- `pending` and `lease` find the updates whose turn it is (leasing.py).
- `take` is the claim inside the handling transaction: it moves the row from pending to done only if it
  is still pending and no older update of the same person is; on PostgreSQL the row stays locked until
  the transaction ends, so a second worker waits and then finds it done. If the handling fails, the
  transaction rolls back and the row is pending again (claim.py).
- failures are counted (`failed_attempt`); a step that keeps failing is parked as `failed` with its error
  and case, for the admins to see and retry (`retry`) (failures.py).

«An older update of the same person is still pending» is defined once, `base.older_pending`, for all of them.
Everything is used as `from services import inbox; inbox.store(…)`: the names are re-exported here.
"""

from services.inbox.base import LEASE, Due, Incoming, wall_clock
from services.inbox.claim import take, take_with_person, take_with_person_and_next
from services.inbox.failures import MAX_ATTEMPTS, RETRY_DELAY, failed_attempt, give_up, prune, retry
from services.inbox.leasing import any_due, lease, lost_questions, pending, release
from services.inbox.storing import lease_behind, store, store_due, store_leased

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "RETRY_DELAY",
    "Due",
    "Incoming",
    "any_due",
    "failed_attempt",
    "give_up",
    "lease",
    "lease_behind",
    "lost_questions",
    "pending",
    "prune",
    "release",
    "retry",
    "store",
    "store_due",
    "store_leased",
    "take",
    "take_with_person",
    "take_with_person_and_next",
    "wall_clock",
]
