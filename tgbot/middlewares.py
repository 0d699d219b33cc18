"""Outer middlewares: one database transaction per update, and the person behind it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TgUser
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from flows.runtime import EngineError
from services import answer_claim, attention, inbox, outbox, outbox_answer, people
from services.access import Viewer
from services.admin_actions import AdminActions
from services.cases import CaseService
from services.comments import Comments
from services.companies import Organisations
from services.core import Core
from services.diagrams import Diagrams
from services.digests import Digests
from services.escalations import Escalations
from services.exports import Exports
from services.figures import Figures
from services.library import ProcessLibrary
from services.menu import Menu
from services.portal import Portal
from services.reclamations import Reclamations
from services.team import Team
from services.worktime import WorkTime
from tgbot.admin_buttons import AdminButtons
from tgbot.buttons import CardButtons, EscalationButtons
from tgbot.conversation import Conversation
from tgbot.render import Renderer, renderer_for
from tgbot.replies import Replies

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class PersonLocks:
    """Updates from one person are handled one at a time, in arrival order (asyncio.Lock is FIFO).

    aiogram handles updates concurrently; without this, two quick answers could both read the same
    half-filled form and one would be lost. Across workers the row lock on the user does the same.
    """

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


SERVICES = "konveyer_services"  # the update's `UpdateServices` in aiogram's data


class UpdateServices:
    """The update's services, by the names handlers ask for, each made the first time a handler asks for it
    (`ServicesMiddleware`) and shared within the update (`buttons` works with the same `conversation` and `cases`).
    Each is a few attributes over the session; a stranger (no user yet) gets None for those that act for a person.

    Made lazily because aiogram copies the whole data dict into every filter call on the way to the handler
    (a text answer passes ~30 filters): twenty services in it cost more than the routing itself."""

    __slots__ = ("core", "form", "made", "renderer", "roles", "session", "user")

    def __init__(
        self,
        core: Core,
        session: AsyncSession,
        renderer: Renderer,
        user: User | None,
        roles: set[str],
        form: people.PersonRead | None,
    ) -> None:
        self.core, self.session, self.renderer = core, session, renderer
        self.user, self.roles, self.form = user, roles, form
        self.made: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        made = self.made
        if name not in made:
            made[name] = self._make(name)
        return made[name]

    def _make(self, name: str) -> Any:
        core, session, renderer, user = self.core, self.session, self.renderer, self.user
        simple = _OVER_SESSION.get(name)
        if simple is not None:
            return simple(core, session)
        if name == "renderer":
            return renderer
        if name == "replies":
            return Replies(session, core.clock, renderer)
        if name == "cases":
            return CaseService(core, session)
        if name == "comments":
            return Comments(self.get("cases"))
        if user is None:
            return None  # viewer, conversation, buttons, portal, escalation_buttons, admin_buttons
        if name == "viewer":
            return Viewer.of(user, self.roles)
        if name == "conversation":
            return Conversation(core, session, user, self.get("cases"), renderer, self.form)
        if name == "buttons":
            return CardButtons(self.get("cases"), self.get("conversation"), renderer)
        if name == "portal":
            return Portal(core, session, user)
        if name == "escalation_buttons":
            return EscalationButtons(Escalations(self.get("cases"), user), self.get("conversation"), renderer)
        if name == "admin_buttons" and user.is_admin:
            return AdminButtons(AdminActions(self.get("cases"), user), renderer, self.get("conversation").lang)
        return None


_OVER_SESSION: dict[str, Callable[[Core, AsyncSession], Any]] = {
    "team": Team,
    "organisations": Organisations,
    "menu": Menu,
    "library": ProcessLibrary,
    "worktime": WorkTime,
    "exports": Exports,
    "diagrams": Diagrams,
    "digests": Digests,
    "figures": Figures,
    "reclamations": Reclamations,
}
SERVICE_NAMES: frozenset[str] = frozenset(_OVER_SESSION) | {
    "renderer", "replies", "cases", "comments", "viewer", "conversation", "buttons", "portal", "escalation_buttons",
    "admin_buttons",
}  # fmt: skip


class ServicesMiddleware(BaseMiddleware):
    """Inner middleware (on the dispatcher's observers, so around every handler once it is chosen): gives the
    handler the services its signature names, and only those."""

    def __init__(self) -> None:
        # The names per handler's callback (its signature does not change), worked out at its first update.
        self._names: dict[Callable[..., Any], tuple[str, ...]] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        services: UpdateServices | None = data.get(SERVICES)
        chosen = data.get("handler")
        if services is not None and chosen is not None:
            names = self._names.get(chosen.callback)
            if names is None:
                names = self._names[chosen.callback] = tuple(
                    sorted(SERVICE_NAMES if chosen.varkw else SERVICE_NAMES & chosen.params)
                )
            for name in names:
                data[name] = services.get(name)
        return await handler(event, data)


MAX_FILE_BYTES = 20 * 1024 * 1024  # Telegram's own limit for bots; a local Bot API server has none


class DbSessionMiddleware(BaseMiddleware):
    """One update is one transaction: all it changes, and every message it queues, commit together."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.locks = PersonLocks()
        self.renderer = renderer_for(core)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None:
            return await self._handle(handler, event, data, None)
        async with self.locks.hold(tg_user.id):
            return await self._handle(handler, event, data, tg_user)

    async def _download_files(self, event: TelegramObject, bot: Any, tg_user: TgUser | None) -> dict[str, bytes]:
        """Fetch the message's file if someone will use it: a person filling a form or keeping it for one (any active
        person), or an admin (a definition).
        A stranger's files are not downloaded at all."""
        message = event.message if isinstance(event, Update) else None
        if message is None or bot is None or tg_user is None or message.chat.type != "private":
            return {}
        wanted = [message.photo[-1]] if message.photo else []
        if message.document is not None:
            wanted.append(message.document)  # type: ignore[arg-type]
        if not wanted:
            return {}
        # Who may send a file now, in one statement on a plain connection (on PostgreSQL without BEGIN and ROLLBACK
        # around it): no ORM session and no person loaded for a look before the update's own transaction.
        async with self.core.single_statements.connect() as connection:
            found = (await connection.execute(_FILE_TAKER, {"tg": tg_user.id})).first()
        # Anyone active: a file sent with no question waiting is kept for the next one (`tgbot.stray_files`).
        if found is None or not (found.active or found.is_admin or Comments.prompt_pending(found.prompt)):
            return {}
        downloads: dict[str, bytes] = {}
        for item in wanted:
            if (item.file_size or 0) > MAX_FILE_BYTES:
                continue  # the form says the file is missing and asks again
            content = await bot.download(item.file_id)
            if content is not None:
                downloads[item.file_id] = content.read()
        return downloads

    async def _handle(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any], tg_user: TgUser | None
    ) -> Any:
        inbox_id: int | None = data.get("inbox_update_id")
        # Files are fetched before the transaction opens: on SQLite a transaction holds the one write lock,
        # and a slow 20 MB upload must not stall everybody else's updates.
        try:
            data["downloads"] = await self._download_files(event, data.get("bot"), tg_user)
        except Exception as error:
            if inbox_id is None:
                raise
            await self._failed(inbox_id, error, event, data)  # counted like any failure: retried, then parked
            return None
        attention.current_step.set(attention.StepRecord())
        # The processor's list for the person's next update, leased with this one's claim; given only once committed.
        following: list[inbox.Due] | None = data.get("inbox_following")
        chained: inbox.Due | None = None
        async with self.core.sessionmaker() as session:
            data["after_commit"] = []
            try:
                if self.core.handing is not None:  # a form's answer claims its own messages (`services.outbox_answer`)
                    session.info[answer_claim.HANDING] = self.core.handing
                async with session.begin():
                    # The update from the inbox is taken in its own transaction: done together with its effects.
                    # On PostgreSQL the claim and the person's read are one statement. The person comes as a
                    # `User` of the session, the form's task and case as plain rows (read once for the update).
                    person = people.PersonRead()
                    if inbox_id is not None and tg_user is not None and not self.core.sqlite:
                        if following is not None:  # a webhook worker: the person's next update leased with the claim
                            took, chained = await inbox.take_with_person_and_next(
                                session, inbox_id, tg_user.id, self.core.clock.now()
                            )
                        else:
                            took = await inbox.take_with_person(session, inbox_id, tg_user.id, self.core.clock.now())
                        if took is None:
                            data.get("inbox_declined", set()).add(inbox_id)
                            return None  # handled already (a redelivery), or an older update of this person is first
                        person = took
                    else:
                        if inbox_id is not None and not await inbox.take(session, inbox_id, self.core.clock.now()):
                            data.get("inbox_declined", set()).add(inbox_id)
                            return None
                        if tg_user is not None:
                            person = await people.user_and_roles(session, tg_user.id, lock=not self.core.sqlite)
                    user, roles = person.user, person.roles
                    data["session"] = session
                    data["core"] = self.core
                    data["user"], data["roles"] = user, roles
                    if user is not None:
                        # Kept apart from the row: after a rollback the row is expired, and errors still need it.
                        data["lang"] = user.language
                    data[SERVICES] = UpdateServices(self.core, session, self.renderer, user, roles, person)
                    result = await handler(event, data)
                    # What is left is often only its replies and the person's form pointer: one statement, which also
                    # claims the first reply for the sender, rather than the commit's INSERT and UPDATE and the
                    # sender's claim after it (`outbox_answer.write_tail`; anything else: the commit writes it all).
                    await outbox_answer.write_tail(session)
            except EngineError as refusal:
                if inbox_id is None:
                    raise
                await self._refused(inbox_id, refusal, event, data)
                return None
            except Exception as error:
                if inbox_id is None:
                    raise
                await self._failed(inbox_id, error, event, data)
                return None
            # What the update queued: the sender takes its chats' messages without reading its whole queue.
            self.core.outbox_written(outbox.written(session))
            if chained is not None and following is not None:
                following.append(chained)
            for deferred in data.get("after_commit", []):
                with contextlib.suppress(Exception):  # an expired button answer is not worth an error
                    await deferred()
            return result

    async def _refused(self, inbox_id: int, refusal: EngineError, event: TelegramObject, data: dict[str, Any]) -> None:
        """A refusal is the update's outcome: marked done with its reply, in one transaction. A webhook worker's
        claim here chains the person's next stored update as the handled update's claim does (that one, with its
        lease, was rolled back with the refused transaction): else that update waits for a timed pass."""
        text = self.core.translator.t(refusal.message, update_lang(event, data), **refusal.params)
        query = event.callback_query if isinstance(event, Update) else None
        chat_id = _chat_id(event)
        following: list[inbox.Due] | None = data.get("inbox_following")
        tg_user: TgUser | None = data.get("event_from_user")
        chained: inbox.Due | None = None
        async with self.core.sessionmaker() as session, session.begin():
            if following is not None and tg_user is not None and not self.core.sqlite:
                took, chained = await inbox.take_with_person_and_next(
                    session, inbox_id, tg_user.id, self.core.clock.now()
                )
                if took is None:
                    data.get("inbox_declined", set()).add(inbox_id)  # given back at once, as a declined claim is
                    return
            elif not await inbox.take(session, inbox_id, self.core.clock.now()):
                data.get("inbox_declined", set()).add(inbox_id)
                return
            if query is None and chat_id is not None:
                outbox.message(session, chat_id, text, self.core.clock.now())
        self.core.outbox_written(outbox.written(session))
        if chained is not None and following is not None:
            following.append(chained)
        if query is not None:
            with contextlib.suppress(Exception):
                await query.answer(text[:200], show_alert=True)

    async def _failed(self, inbox_id: int, error: Exception, event: TelegramObject, data: dict[str, Any]) -> None:
        """Rolled back; tried again shortly, and after the last try the case needs attention (`services.attention`)."""
        log.exception("update %s failed", inbox_id, exc_info=error)
        record = attention.current_step.get() or attention.StepRecord()
        case_id, step = record.case_id, record.step or _step_of(event)
        now, said = self.core.clock.now(), attention.describe(error, self.core.translator)
        async with self.core.sessionmaker() as session, session.begin():
            parked = await inbox.failed_attempt(session, inbox_id, said, now, case_id)
            person = await people.user_by_tg(session, _person_id(event)) if parked else None
        if parked:
            await attention.step_failed(self.core, case_id=case_id, step=step, error=said, person=person, now=now)
        else:
            self.core.outbox_written()


_FILE_TAKER = select(User.active_task_id, User.is_admin, User.prompt, User.active).where(
    User.tg_id == bindparam("tg", type_=User.tg_id.type)
)


def _chat_id(event: TelegramObject) -> int | None:
    if not isinstance(event, Update):
        return None
    if event.message is not None:
        return event.message.chat.id
    if event.callback_query is not None and event.callback_query.message is not None:
        return event.callback_query.message.chat.id
    return None


def _person_id(event: TelegramObject) -> int:
    if isinstance(event, Update):
        if event.message is not None and event.message.from_user is not None:
            return event.message.from_user.id
        if event.callback_query is not None:
            return event.callback_query.from_user.id
    return 0


def _step_of(event: TelegramObject) -> str:
    """The person's action in their own words: the label of the button they pressed, or what they wrote."""
    if isinstance(event, Update) and event.callback_query is not None:
        query = event.callback_query
        markup = getattr(query.message, "reply_markup", None)
        for row in getattr(markup, "inline_keyboard", None) or []:
            for button in row:
                if button.callback_data == query.data:
                    return f"«{button.text}»"
        return "«…»"
    if isinstance(event, Update) and event.message is not None:
        return f"message «{(event.message.text or event.message.caption or '')[:60]}»"
    return "update"


def update_lang(update: TelegramObject, data: dict[str, Any]) -> str:
    if data.get("lang"):
        return str(data["lang"])
    tg_user: TgUser | None = data.get("event_from_user")
    return "en" if tg_user and (tg_user.language_code or "").startswith("en") else "ru"
