"""The notifier port: how the application tells people things. Services say *what* happened; an
implementation words it for each person and sends it (the chat's is `tgbot.notifier.OutboxNotifier`,
which writes outbox rows in the same transaction as the change)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Outbox, User
from flows.runtime import FieldCorrected, Notify, TaskState
from services.cases.state import Loaded
from services.people import PeopleCache

if TYPE_CHECKING:
    from services.comments import Entry
    from services.digests import Digest


class Notifier(Protocol):
    async def task_given(self, loaded: Loaded, task: TaskState, recipients: Sequence[User]) -> None:
        """A task's card to each person who may do it (with the files the task brings)."""

    async def task_changed(self, loaded: Loaded, task: TaskState, *, fresh: bool) -> None:
        """The cards already shown for a task follow its new state (`fresh`: created in this very step)."""

    async def nobody_has_role(self, loaded: Loaded, task: TaskState) -> None:
        """A task waits for a role nobody has: the admins must know."""

    async def notify(self, loaded: Loaded, effect: Notify, recipients: Sequence[User]) -> None:
        """A definition's notification, a reminder, an overdue warning, an escalation, a closed case."""

    async def task_handed_over(
        self, loaded: Loaded, task: TaskState, previous: User, holder: User, by: User | None
    ) -> None:
        """A task was taken from `previous` (reassigned to `holder`, or taken over by `by`; `by` None: an admin in
        the panel): they are told (the new holder gets the task's card by itself)."""

    async def deadline_moved(self, loaded: Loaded, task: TaskState, holder: User, by: User, reason: str) -> None:
        """An escalated task's deadline was moved by `by` for `reason`: its holder is told the new one."""

    async def deadline_followed(self, loaded: Loaded, task: TaskState, holder: User, field: str) -> None:
        """`field` was changed on the case and the task's deadline, which reads it, moved with it: its holder (or
        each person it is offered to) is told the new value and the new deadline."""

    async def registered(
        self, loaded: Loaded, user: User, notices: Sequence[Notify], waits_until: datetime | None = None
    ) -> None:
        """The person's chat registered the case: they hear so, and whom it waits for (until when, or until
        `waits_until` when its stage waits for a date), with the process's own `notices` to them in the same
        message, before anything else the registration gives."""

    async def continued(
        self, loaded: Loaded, parent: Loaded, user: User, notices: Sequence[Notify], waits_until: datetime | None = None
    ) -> None:
        """`parent`'s step started the case: its initiator hears which case it continues, where that one stands, and
        what comes next (whom it waits for, until when), with the process's own `notices` to them in the same
        message, before anything else the start gives."""

    async def stage_changed(self, loaded: Loaded, user: User, waits_until: datetime | None = None) -> None:
        """The case moved to another stage: one short line for someone following it (its initiator), with
        what happens next and until when (`waits_until`: the stage waits for that moment before its work)."""

    async def muted_responsible(self, loaded: Loaded, user: User) -> None:
        """The person became the case's responsible but had muted it: they hear so once, with a button to get its
        stage news again (their own tasks come anyway)."""

    async def cases_listed(self, loaded: Loaded, text: Any, user: User, cases: list[dict[str, Any]]) -> None:
        """One person's own cases, listed under a definition's text (`notify_cases`)."""

    async def step_failed(self, case: Case | None, step: str, error: str, person: User | None) -> None:
        """A step failed at run time: the person is told in words, each admin once with the error."""

    async def draft_expired(self, loaded: Loaded, author: User, days: int) -> None:
        """An unfinished request was closed after `days` untouched: its author is told."""

    async def work_cancelled(
        self, loaded: Loaded, tasks: Sequence[TaskState], holder: User, items: Sequence[tuple[str, int]] = ()
    ) -> None:
        """The case was cancelled while this person held these of its tasks, or the cards of these of its items
        (list, index) still moving: they may stop the work (why, when `loaded.closed_reason` says), with the
        process's own words to them on the cancel (`loaded.cancel_words`)."""

    async def cancel_words(self, loaded: Loaded, user: User) -> tuple[str, ...]:
        """The process's own words to this person on the case's cancel (its `on_cancel` notices), kept for the
        answer to their own cancel, which says them (`Cancelling.cancel`'s `answered`); their files are sent."""

    async def own_words(self, loaded: Loaded, user: User) -> tuple[str, ...]:
        """The process's own notices of this step to the person whose chat answers it (`loaded.own_words`), taken to
        be said in that answer; their files are sent first, as a notice's are."""

    async def own_words_apart(self, loaded: Loaded, user: User) -> None:
        """Those notices, where the answer is a card or the case's view rather than a line: each as its own message,
        after it."""

    async def task_released(self, loaded: Loaded, task: TaskState, previous: User, because: str) -> None:
        """A task left `previous` (`because`: `role` taken from them, `left`, `unreachable`): their cards of it say
        where it went, without buttons, and the person it went to hears why."""

    async def roles_changed(
        self, person: User, roles: Sequence[str], released: Sequence[tuple[Loaded, TaskState]]
    ) -> None:
        """An admin changed the person's roles: they hear their roles now, and which tasks left them and to whom."""

    async def person_unreachable(
        self,
        person: User,
        admins: Sequence[User],
        released: Sequence[tuple[Loaded, TaskState]],
        kept: Sequence[tuple[Loaded, TaskState]],
    ) -> None:
        """The person blocked the bot: the admins hear it, where their pool tasks went, and which tasks are still
        theirs alone (a case waiting for someone nothing reaches), with the way to hand each on."""

    async def cancel_asked(self, loaded: Loaded, asker: User, reason: str, deciders: Sequence[User]) -> None:
        """The case's initiator asks to cancel it where others decide (an order 1C has): each of them hears who asks
        and why, with the case's card a press away."""

    async def given_back(self, loaded: Loaded, author: User) -> None:
        """Someone else (an admin) cancelled the author's request before it was registered, and what it held went
        back to them (`loaded.given_back`, a msgid: an order request's positions to the cart): the author is told."""

    async def item_shown(self, loaded: Loaded, name: str, index: int, recipients: Sequence[User]) -> dict[int, int]:
        """An item's card (where it stands, its fields, buttons for its moves) to each person who moves it;
        returns which message is whose card, by user id, so that the card can be edited when the item moves."""

    async def item_changed(self, loaded: Loaded, name: str, index: int, cards: dict[str, Any]) -> None:
        """An item moved: its cards (`cards`: user id -> message) are edited in place."""

    async def item_reminder(
        self, loaded: Loaded, name: str, index: int, recipients: Sequence[User], approvers: Collection[int] = ()
    ) -> None:
        """An item has stayed at its stage as long as the stage's `remind` says; `approvers` (user ids, among the
        recipients) are those whose approval of its move it waits for."""

    async def item_rejected(
        self, loaded: Loaded, name: str, index: int, to: str, reason: str, user: User
    ) -> None:
        """The move of an item `user` asked for was rejected by its approver, for `reason`."""

    async def item_approved(
        self, loaded: Loaded, name: str, index: int, form: TaskState, approver: int | None, user: User
    ) -> None:
        """The move of an item `user` asked for is approved, but its new stage requires fields the entry lacks:
        they are told, with a button that opens `form` (the item moves when it is filled)."""

    async def item_history(self, loaded: Loaded, name: str, index: int, user: User) -> None:
        """The item's history (each stage it entered, when and by whom) to one person who asked."""

    async def field_corrected(self, loaded: Loaded, corrected: FieldCorrected, recipients: Sequence[User]) -> None:
        """A field of the case, or of one of its items, was corrected (its value before and now, who did it): told
        to those who follow the case."""

    async def digest(self, user: User, digest: Digest, chart_file_id: int | None) -> None:
        """A person's digest (`services.digests`): its chart (a stored PNG) and its text with the groups' buttons."""

    async def comment_posted(self, loaded: Loaded, entry: Entry, recipients: Sequence[User]) -> None:
        """A comment in a case's thread (with its photo or file) to each participant who may read it, with a
        button to reply."""

    async def document_arrived(
        self,
        loaded: Loaded,
        file_id: int,
        kind: str,
        number: str,
        date: str,
        replaced: bool,
        recipients: Sequence[User],
    ) -> None:
        """1C sent a document for an order (an invoice, shipment papers; `replaced`: a new version of one sent
        before), now a file on the case: each person is told, with a button to get it."""

    def email(
        self,
        to: str,
        subject: str,
        body: str,
        file_ids: list[int],
        *,
        case_id: int | None = None,
        responsible_id: int | None = None,
    ) -> None:
        """An e-mail to someone outside Telegram, about a case; `responsible_id`: who is told if it fails."""

    async def delivery_failed(self, row: Outbox, person: User) -> None:
        """An e-mail (or SMS) could not be sent: the person responsible learns it at once, with what to send
        by hand and to whom."""


NotifierFactory = Callable[[AsyncSession, PeopleCache, datetime], Notifier]
