"""Task cards: a task given to people (its card, with the files it needs, per reader's language), its cards edited
when the task changes (in the admin's template when they were sent in it), and the admins told when nobody has the
role a task waits for. Cards are remembered (`TaskCard`) so they can be edited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from db.models import Outbox, TaskCard, User
from flows.runtime import TaskState
from services import access, outbox
from services import people as people_repo
from services.cases import handoffs
from services.cases.state import CardRef, Loaded
from services.outbox import HTML
from tgbot.notices_base import NoticesBase, evidence_fields


class TaskCardNotices(NoticesBase):
    async def task_given(self, loaded: Loaded, task: TaskState, recipients: Sequence[User]) -> None:
        names = await self._names(loaded, [u.id for u in recipients])
        evidence = evidence_fields(loaded.state.spec, task.stage, task.key)
        head, taken = await self._card_heads(loaded, task), self._taken(loaded, task)
        task_vars: dict[str, dict[str, Any]] = {}
        for user in recipients:
            text, keyboard = self.renderer.task_card(
                loaded.state, task, user.language, names=names, viewer_id=user.id, taken=taken,
                head=head(user.language), continues=await self._continues(loaded, task, user),
            )  # fmt: skip
            plan = await self.channels.plan("task_assigned", user)
            lang = self.renderer.tr.lang(user.language)
            if lang not in task_vars:
                task_vars[lang] = self._task_vars(loaded, task, user.language)
            variables = {**task_vars[lang], "text": text}
            row = None
            if plan.telegram:
                # The files first, the card with its buttons last: under the file it is about, not scrolled away by
                # it (a chat's messages go in the order queued; a document still being rendered holds the card).
                await self._send_files(loaded, user, evidence, at_hand=True)
                row = await self._telegram("task_assigned", user, variables, keyboard)
                # No flush per card: the message and its card are inserted with the step's other rows.
                outbox.card(self.session, task.id, user.id, row)
                self._carded.add(task.id or 0)
            await self.channels.deliver(plan, variables, case_id=loaded.row.id, telegram_row=row)

    async def task_changed(self, loaded: Loaded, task: TaskState, *, fresh: bool) -> None:
        if task.id is None or (fresh and task.id not in self._carded):
            return  # created in this very step and never shown: nothing to edit
        rows: Sequence[tuple[TaskCard | CardRef, User]]
        if task.id in loaded.cards and task.id not in self._carded:
            # Read with the case; their holders come with the step's one query for people.
            preloaded = loaded.cards[task.id]
            holders = await self.people.users([card.user_id for card in preloaded])
            rows = [(card, holders[card.user_id]) for card in preloaded if card.user_id in holders]
        else:
            if task.id in self._carded:
                await outbox.flush(self.session)  # its cards of this very step are still pending: they must be found
            # The cards and their holders in one query (not the cards, then the people).
            rows = [
                (card, user)
                for card, user in (
                    await self.session.execute(
                        select(TaskCard, User)
                        .join(User, User.id == TaskCard.user_id)
                        .where(TaskCard.task_id == task.id)
                    )
                ).all()
            ]
        if not rows:
            return
        cards = [card for card, _user in rows]
        users = {user.id: user for _card, user in rows}
        self.people.remember(users.values())
        names = await self._names(loaded, [task.assignee_id, task.done_by])
        # A card an admin's template wrote stays written by it (a card of “My tasks” stays the bot's wording).
        templated: set[int] = set()
        if await self.channels.telegram_edited("task_assigned"):
            sent = await self.session.execute(
                select(Outbox.id, Outbox.payload).where(Outbox.id.in_([card.outbox_id for card in cards]))
            )
            templated = {row_id for row_id, payload in sent.all() if (payload or {}).get("parse_mode") == HTML}
        head, taken = await self._card_heads(loaded, task), self._taken(loaded, task)
        for card in cards:
            user = users.get(card.user_id)
            if user is None:
                continue
            text, keyboard = self.renderer.task_card(
                loaded.state, task, user.language, names=names, viewer_id=user.id, taken=taken,
                head=head(user.language), continues=await self._continues(loaded, task, user),
            )  # fmt: skip
            mode = None
            if card.outbox_id in templated:
                variables = {**self._task_vars(loaded, task, user.language), "text": text}
                text, mode = await self.channels.telegram(
                    "task_assigned", user, self.renderer.tr.lang(user.language), variables
                )
            # A card too long for one message was sent in pieces, its buttons on the last: that one is edited.
            self._edit_card(user, card.outbox_id, outbox.pieces(text, mode)[-1], keyboard, parse_mode=mode)

    async def _continues(self, loaded: Loaded, task: TaskState, user: User) -> handoffs.Linked | None:
        """On the first cards of a case handed on from another (the contract an agreed quote started): that case, for
        a reader who may open it — to anyone else the card says only its own case, never a number they cannot open."""
        if self.registry is None or not handoffs.first_card(loaded.row, loaded.state.data, task):
            return None
        parent = handoffs.continued_from(loaded.row, loaded.state.data)
        viewer = access.Viewer.of(user, await people_repo.roles_of(self.session, user.id))
        seen = await handoffs.opened_by(self.session, self.registry, viewer, [parent] if parent is not None else [])
        return seen[0] if seen else None

    async def nobody_has_role(self, loaded: Loaded, task: TaskState) -> None:
        renderer = self.renderer
        for admin in await people_repo.admins(self.session):
            text = renderer.t(
                "Nobody has the role “%(role)s”, so the task “%(task)s” in %(case)s waits. "
                "Invite someone with this role.",
                admin.language,
                role=renderer.role(task.role, admin.language),
                task=renderer.task_title(loaded.state.spec, task, admin.language, loaded.state.data),
                case=renderer.case_name(loaded.state, admin.language),
            )
            outbox.message(self.session, admin.tg_id, text, self.now)
