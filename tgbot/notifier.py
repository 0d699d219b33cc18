"""The chat's notifier: words each message in the reader's language and writes it to the outbox, in the
same transaction as the change that caused it. Task cards are remembered (`TaskCard`) so they can be
edited when the task changes.

`OutboxNotifier` puts together its parts: what they share (`tgbot.notices_base`), task cards
(`tgbot.notices_cards`), notices about a case (`tgbot.notices_case`), a case another one handed on to
(`tgbot.notices_handoff`), about its items (`tgbot.notices_items`) and
the rest — digests, comments, 1C's documents, e-mail (`tgbot.notices_other`)."""

from __future__ import annotations

from tgbot.notices_base import send_files
from tgbot.notices_cards import TaskCardNotices
from tgbot.notices_case import NOTICE_KINDS, CaseNotices
from tgbot.notices_handoff import HandOffNotices
from tgbot.notices_items import ItemNotices
from tgbot.notices_other import OtherNotices

__all__ = ["NOTICE_KINDS", "OutboxNotifier", "send_files"]


class OutboxNotifier(TaskCardNotices, CaseNotices, HandOffNotices, ItemNotices, OtherNotices):
    """The `services.notifier.Notifier` port for the chat."""
