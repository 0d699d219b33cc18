"""What an update answers in chat, written to the outbox in the update's transaction: it goes out once, after
the change commits (and not at all if the update fails)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Outbox, User
from flows.clock import Clock
from services import outbox, outbox_own_id
from services.menu import PAGE, TaskPage
from tgbot.menu_view import waiting_list
from tgbot.render import Renderer


class Replies:
    def __init__(self, session: AsyncSession, clock: Clock, renderer: Renderer) -> None:
        self.session = session
        self.clock = clock
        self.r = renderer

    def say(self, chat_id: int, text: str, keyboard: Any = None) -> None:
        markup = keyboard.model_dump(exclude_none=True) if hasattr(keyboard, "model_dump") else keyboard
        outbox.message(self.session, chat_id, text, self.clock.now(), markup)

    def say_editable(self, chat_id: int, build: Callable[[int], tuple[str, Any]]) -> Outbox:
        """A message whose buttons show their answer in it (the cart): `build(ref)` gives its text and buttons, the
        buttons carrying `ref`, its outbox row (`edit` then goes to it). Built with `outbox_own_id.OWN_ID` for it, which
        the row's write replaces with its id (`outbox_own_id.own_id_message`); the row."""
        text, keyboard = build(outbox_own_id.OWN_ID)
        return outbox_own_id.own_id_message(self.session, chat_id, text, self.clock.now(), _markup(keyboard))

    def edit(self, chat_id: int, ref_id: int, text: str, keyboard: Any = None) -> bool:
        """The message of the outbox row `ref_id` edited in place (as a task's card is); False when the text no
        longer fits one message (the caller sends it anew)."""
        if len(outbox.pieces(text)) > 1:
            return False
        outbox.edit(self.session, chat_id, ref_id, text, self.clock.now(), _markup(keyboard))
        return True

    def drop_buttons(self, chat_id: int, ref_id: int) -> None:
        """The buttons of the message of the outbox row `ref_id` taken away (a cart shown anew below it)."""
        outbox.enqueue(
            self.session, chat_id=chat_id, method="editMessageReplyMarkup", payload={}, now=self.clock.now(),
            ref_id=ref_id,
        )  # fmt: skip

    async def is_message(self, ref_id: int, chat_id: int, message_id: int) -> bool:
        """Whether a button's word for the message it sits on (`ref_id`) is true of the message pressed."""
        return ref_id > 0 and await outbox.is_message(self.session, ref_id, chat_id, message_id)

    async def say_once(self, chat_id: int, text: str, keyboard: Any = None) -> None:
        """A reply that repeats itself (fifty «I did not understand» for a burst of fifty messages) is written
        only while the same one is not already waiting: the burst gets one, and the person's next real answer
        does not queue behind the rest."""
        if not await outbox.repeat_pending(self.session, chat_id, text):
            self.say(chat_id, text, keyboard)

    def document(self, chat_id: int, file_id: int, caption: str) -> None:
        """A stored file (an export, a report)."""
        payload = {"file_id": file_id, "caption": caption}
        outbox.enqueue(self.session, chat_id=chat_id, method="sendDocument", now=self.clock.now(), payload=payload)

    def photo(self, chat_id: int, file_id: int, caption: str, keyboard: Any = None) -> None:
        """A stored picture (a process diagram, a chart), with buttons under it if given."""
        payload: dict[str, Any] = {"file_id": file_id, "caption": caption[:1000]}
        if keyboard is not None:
            payload["reply_markup"] = (
                keyboard.model_dump(exclude_none=True) if hasattr(keyboard, "model_dump") else keyboard
            )
        outbox.enqueue(self.session, chat_id=chat_id, method="sendPhoto", now=self.clock.now(), payload=payload)

    async def task_page(self, chat_id: int, user: User, page: TaskPage) -> None:
        """“My tasks”: a heading and one card per task, remembered (`TaskCard`) so the cards follow the task; the
        messages and the cards written together (`outbox.page`)."""
        lang = user.language
        messages: list[tuple[str, Any, int | None]] = []
        for state, task in page.drafts:
            messages.append((*self.r.draft_card(state, task, lang), None))
        if not page.entries:
            if not page.drafts and not page.waiting:  # truly nothing: no task, no request, no case to move on
                messages.append((self.r.t("You have no open tasks. 🎉", lang), None, None))
        else:
            count = f"{PAGE}+" if page.more else len(page.entries)
            messages.append((self.r.t("Your open tasks: %(n)s", lang, n=count), None, None))
            for state, task in page.entries:
                extra = {"case": {"id": state.id, "title": state.title}, "stock": page.stock}
                text, keyboard = self.r.task_card(state, task, lang, names=page.names, viewer_id=user.id, extra=extra)
                messages.append((text, keyboard, task.id))
        if page.waiting:  # last, under the cards: the cases only the reader's hand move takes on
            listed, buttons = waiting_list(self.r, page.waiting, lang, page.waiting_titles, more=page.more_waiting)
            messages.append((listed, _markup(buttons), None))
        await outbox.page(self.session, chat_id, user.id, self.clock.now(), messages)


def _markup(keyboard: Any) -> Any:
    return keyboard.model_dump(exclude_none=True) if hasattr(keyboard, "model_dump") else keyboard
