"""Cancelling a case from its card: the person who may (its initiator, an admin) writes why, then confirms or keeps
the case. The reason is kept on the person (`User.prompt`) between the steps, goes to the case's history and to
everyone who held its work. A card older than the stage the case is at now does not cancel it: what the person saw
is no longer what would be cancelled. Where its stage names others who cancel it (an order 1C has), each step says
the rule it asks under, so the person knows from the first question that confirming sends them a request."""

from __future__ import annotations

from typing import Any

from db.models import User
from flows.i18n import _
from flows.model import CancelDef
from flows.runtime import EngineError
from flows.status import CaseStatus
from services import access
from services.cases import CaseService, Loaded

WRITING = "case_cancel_reason"  # `User.prompt` kind: the next text is why this case is cancelled
CONFIRMING = "case_cancel_confirm"  # the reason is written: the person confirms the cancellation or keeps the case
MAX_REASON = 500


def writing_reason(user: User | None) -> bool:
    """Read off the person alone: the bot's filters ask it before any service is made."""
    return user is not None and bool(user.prompt and user.prompt.get("kind") == WRITING)


def cancel_asked(user: User | None) -> int | None:
    """The case whose cancellation waits for this person (its reason, or the confirmation after it), if any."""
    prompt = (user.prompt if user is not None else None) or {}
    return int(prompt["case_id"]) if prompt.get("kind") in (WRITING, CONFIRMING) else None


class CaseCancel:
    def __init__(self, cases: CaseService, user: User) -> None:
        self.cases = cases
        self.user = user

    async def ask(self, case_id: int, seen_stage: str) -> tuple[Loaded, bool, CancelDef | None]:
        """The cancel button was pressed on a card that showed `seen_stage` (empty on cards made before the stage
        was written in the button). The case, whether the card was current (only then is the reason asked), and
        the rule under which the person only asks others to cancel it (None: they cancel it themselves)."""
        loaded = await self.cases.load(case_id, lock=False)
        # At an order 1C has, the office cancels: the dealer asks it.
        outright, asked = await self.cases.cancel_rights(self.user, loaded)
        refused = _("Only the initiator, the person leading the case or an admin can cancel it.")
        access.require(outright or asked is not None, refused)
        if loaded.state.status not in (CaseStatus.DRAFT, CaseStatus.ACTIVE):
            raise EngineError(_("This case is already closed."))
        if seen_stage and seen_stage != loaded.state.stage:
            return loaded, False, asked
        self.user.prompt = {"kind": WRITING, "case_id": case_id}
        return loaded, True, asked

    async def reason(self, text: str) -> tuple[Loaded, CancelDef | None]:
        """The reason came: it is kept for the confirmation. The case, and the rule under which confirming only
        asks others to cancel it (None: it cancels)."""
        prompt: dict[str, Any] = self.user.prompt or {}
        reason = text.strip()
        if not any(ch.isalnum() for ch in reason):  # «.», «-»: no reason anybody could read
            raise EngineError(_("Please write the reason in words."))
        if len(reason) > MAX_REASON:
            raise EngineError(_("The reason is too long: at most %(n)s characters, please."), n=MAX_REASON)
        case_id = int(prompt["case_id"])
        loaded = await self.cases.load(case_id, lock=False)
        self.user.prompt = {"kind": CONFIRMING, "case_id": case_id, "reason": reason}
        return loaded, (await self.cases.cancel_rights(self.user, loaded))[1]

    async def confirm(self, case_id: int) -> tuple[Loaded, tuple[str, ...]]:
        """The case cancelled, or (where others cancel it) the roles asked to. The answer saying so says the
        process's own words to this person on the cancel too (`Notifier.cancel_words`)."""
        prompt = self.user.prompt or {}
        if prompt.get("kind") != CONFIRMING or prompt.get("case_id") != case_id:
            raise EngineError(_("This question is no longer open: press “✖️ Cancel the case” on the case card again."))
        self.user.prompt = None
        return await self.cases.cancel_or_ask(self.user, case_id, str(prompt["reason"]), answered=True)

    def keep(self) -> None:
        """The person keeps the case (or turned to something else): no cancellation waits any more."""
        if (self.user.prompt or {}).get("kind") in (WRITING, CONFIRMING):
            self.user.prompt = None
