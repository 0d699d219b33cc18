"""Cancelling a case: who cancels it outright where it stands (a stage's `cancel:` rule) and who asks those who
do; the cancel itself, with everyone who held or did its work told."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from db.models import OrderExport, Task, User, status_is
from flows.i18n import _
from flows.items import item_states, parse_item_approval, track_of
from flows.model import CancelDef, LocalText
from flows.runtime import START_TASK, Notify, TaskState, is_service_task
from flows.status import CaseStatus, TaskStatus
from services import access
from services import people as people_repo
from services.cases.items import ITEM_CARDS, card_key
from services.cases.saving import StepWrites
from services.cases.state import Loaded
from services.i18n import LANGUAGES

# The reason of a cancel given without one (its author dropping a request not yet registered), in each language.
WITHDRAWN = _("withdrawn by its author before it was registered")
NOT_GIVEN = _("no reason was given")


class Cancelling(StepWrites):
    """Who cancels a case where it stands, asking to, and the cancel."""

    async def cancel(
        self, user: User, case_id: int, reason: LocalText | None = None, *, answered: bool = False
    ) -> Loaded:
        """Cancel the case outright. `answered`: the caller answers the person with a message of its own, which says
        the process's words to them on the cancel too (`Notifier.cancel_words`)."""
        return (await self.cancel_or_ask(user, case_id, reason, ask=False, answered=answered))[0]

    async def cancel_rule(self, loaded: Loaded) -> CancelDef | None:
        """Who cancels the case outright where it stands, when its stage says (`cancel:`); None: as at any stage."""
        rule = self._declared_cancel(loaded)
        if rule is not None and rule.once_sent and await self.session.get(OrderExport, loaded.row.id) is None:
            return None  # no exchange has taken it yet: nobody outside would have to be told
        return rule

    @staticmethod
    def _declared_cancel(loaded: Loaded) -> CancelDef | None:
        state = loaded.state
        stage = next((s for s in state.spec.stages if s.key == state.stage), None)
        return stage.cancel if stage is not None else None

    async def cancel_rights(self, user: User, loaded: Loaded) -> tuple[bool, CancelDef | None]:
        """Whether the person cancels the case outright; else the rule under which they ask those who do (None:
        they may not). The roles a stage names cancel there always (the office at an order it may send to 1C, sent
        or not); its initiator and whoever leads it cancel outright until the rule binds them, then ask."""
        declared = self._declared_cancel(loaded)
        rule = await self.cancel_rule(loaded)
        roles = await people_repo.roles_of(self.session, user.id) if declared is not None else set()
        deciding = declared is not None and access.is_active(user) and bool(set(declared.by) & roles)
        if deciding or access.can_cancel(user, loaded.row, roles, rule):
            return True, None
        return False, rule if access.asks_to_cancel(user, loaded.row, roles, rule) else None

    async def cancel_or_ask(
        self, user: User, case_id: int, reason: LocalText | None, *, ask: bool = True, answered: bool = False
    ) -> tuple[Loaded, tuple[str, ...]]:
        """Cancel the case; or, at a stage where others cancel it (an order 1C has) and `ask`, ask them to, with
        the reason. The case and the roles asked (none: it is cancelled). `answered`: as for `cancel`."""
        loaded = await self.load(case_id)
        outright, asked = await self.cancel_rights(user, loaded)
        if ask and asked is not None:
            await self.ask_cancel(loaded, user, reason if isinstance(reason, str) else "", tuple(asked.by))
            return loaded, tuple(asked.by)
        access.require(outright, _("Only the initiator, the person leading the case or an admin can cancel it."))
        said = reason if isinstance(reason, str) else None  # the person's own words: the history keeps them
        await self.close_cancelled(loaded, user.id, reason, {"reason": said} if said else {}, answered=answered)
        return loaded, ()

    async def ask_cancel(self, loaded: Loaded, user: User, reason: str, deciders: tuple[str, ...]) -> None:
        """The request to cancel goes to the people of the deciding roles who may see the case; the history keeps
        it. The case goes on until one of them cancels it."""
        await self.save(loaded, [], user.id, "case.cancel_asked", {"reason": reason, "to": list(deciders)})
        members = {m.id: m for role in deciders for m in await self.people.members(role) if m.id != user.id}
        reached = await access.reachable(self.session, members.values(), loaded.row.company_id)
        await self.notifier.cancel_asked(loaded, user, reason, reached)

    async def close_cancelled(
        self,
        loaded: Loaded,
        actor_id: int | None,
        reason: LocalText | None,
        detail: dict[str, Any],
        *,
        answered: bool = False,
    ) -> None:
        """Cancel the loaded case. Whoever held its open work (not the one cancelling) is told by a message of its
        own, with the reason: their card only says the task is no longer needed, and an edit does not ring. So is
        whoever holds the card of an item still moving (a logistician given the order's items, whether or not he
        has moved one yet): his cards lose their buttons, and the supplier's order he was about to place is off.
        Whoever did its work before hears that it is cancelled. The process's own words on the cancel (`on_cancel`)
        to any of them are said in that message, not in a second one; to the one cancelling, when the caller
        `answered` them, in that answer (`Notifier.cancel_words`): the one message their cancel brings them."""
        work: dict[int, list[TaskState]] = {}
        for task in loaded.state.open_tasks():
            if task.assignee_id is not None and task.assignee_id != actor_id and task.key != START_TASK:
                work.setdefault(task.assignee_id, []).append(task)
        cards = await self._moving_item_cards(loaded, actor_id)
        holders = {p: await self.people.user(p) for p in sorted({*work, *cards})}
        did = await self._did_before(loaded, actor_id, set(holders))
        reason = reason or self._unsaid_reason(loaded)
        effects = self.core.engine.cancel(loaded.state, actor_id, reason)
        loaded.closed_reason = reason if isinstance(reason, str) else None  # a person's words, said as they are
        loaded.told_cancelled = set(holders)  # that message is theirs; the case's «cancelled» one would be a second
        closing = {loaded.state.initiator_id, loaded.state.responsible_id} - {actor_id, None}  # told as it closes
        answering = {actor_id} if answered and actor_id is not None else set()
        loaded.hears_cancel = {*holders, *(p.id for p in did), *(p for p in closing if p is not None), *answering}
        await self.save(loaded, effects, actor_id, "case.cancelled", detail)
        for person_id, person in holders.items():
            if person is not None:
                await self.notifier.work_cancelled(loaded, work.get(person_id, []), person, cards.get(person_id, []))
        for person in did:
            await self.notifier.notify(loaded, Notify(kind="closed", user_ids=(person.id,)), [person])
        # Words for someone no message of the cancel reached after all (a final-stage notice said it closed).
        left = await self.people.users(set(loaded.cancel_words) - answering)
        for person_id, notices in loaded.cancel_words.items():
            for notice in notices if person_id in left else []:
                await self.notifier.notify(loaded, notice, [left[person_id]])
        # The words to the one cancelling stay for the caller's answer to them.
        loaded.cancel_words = {p: words for p, words in loaded.cancel_words.items() if p in answering}

    def _unsaid_reason(self, loaded: Loaded) -> LocalText:
        """The reason a cancel nobody gave one for reads (the `on_cancel` texts' `cancel_reason` is never empty):
        a request its author dropped before it was registered, in each language."""
        said = WITHDRAWN if loaded.state.status == CaseStatus.DRAFT else NOT_GIVEN
        return {lang: self.core.translator.t(said, lang) for lang in LANGUAGES}

    async def _moving_item_cards(self, loaded: Loaded, actor_id: int | None) -> dict[int, list[tuple[str, int]]]:
        """Who holds a card of an item still moving on its track (not shipped, not cancelled: its card has moves),
        per person the items: they were given that work. A card's holder who has since left is not told."""
        held: dict[int, list[tuple[str, int]]] = {}
        state = loaded.state
        for name in state.spec.tracks():
            track = track_of(state.spec, name)
            for index, item in enumerate(item_states(state.data, name)):
                stage = track.stage(str(item.get("stage")))
                if stage.cancelled or not stage.moves:
                    continue
                for holder in (state.data.get(ITEM_CARDS) or {}).get(card_key(name, index)) or {}:
                    if holder.isdigit() and int(holder) != actor_id:
                        held.setdefault(int(holder), []).append((name, index))
        people = await self.people.users(held)
        return {p: items for p, items in held.items() if p in people and people[p].active}

    async def _did_before(self, loaded: Loaded, actor_id: int | None, holders: set[int]) -> list[User]:
        """Whoever did the case's work before and hears of the cancel by no other message (not its holders, its
        initiator, whoever leads it, nor the one cancelling): the approver of a dealer's order the dealer
        withdraws — a stage with no open work (an order going to 1C) would otherwise end with nobody on that side
        told — and whoever moved its items."""
        rows = await self.session.execute(
            select(Task.done_by, Task.key).where(Task.case_id == loaded.row.id, status_is(Task.status, TaskStatus.DONE))
        )  # the loaded case holds its open tasks only
        # Their decisions: the definition's tasks and an item's move approved (its key is the engine's own).
        did = {done_by for done_by, key in rows.all() if not is_service_task(key) or parse_item_approval(key)}
        # And whoever moved its items (the logistician who put the monitors in the warehouse): the order he is
        # carrying out is called off, not just his item cards quietly closed.
        did |= {
            step["by"]
            for name in loaded.state.spec.tracks()
            for state in item_states(loaded.state.data, name)
            for step in state.get("history") or []
            if isinstance(step.get("by"), int)
        }
        heard = {actor_id, loaded.state.initiator_id, loaded.state.responsible_id, *holders}  # told otherwise
        people = [await self.people.user(p) for p in sorted(p for p in did - heard if p is not None)]
        # Only those who may still see the case (not someone who has since left, or left the dealer's region).
        present = [p for p in people if p is not None and p.active]
        return await access.reachable(self.session, present, loaded.row.company_id)
