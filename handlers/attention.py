"""An admin retries the failed step of a case that needs attention (after fixing its data or definition)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from handlers.common import AfterCommit, Registered, answer
from services import access, attention
from services.core import Core
from tgbot.callbacks import AttentionCb


def router() -> Router:
    built = Router(name=__name__)
    built.callback_query.filter(Registered())
    built.callback_query.register(on_retry, AttentionCb.filter())
    return built


async def on_retry(
    query: CallbackQuery,
    callback_data: AttentionCb,
    session: AsyncSession,
    core: Core,
    user: User,
    roles: set[str],
    after_commit: AfterCommit,
) -> None:
    t = core.translator.t
    access.require(access.can_retry(access.Viewer.of(user, roles)), t("Only an admin can retry a step.", user.language))
    count = await attention.retry(session, callback_data.case_id)
    if count:
        text = t("The failed step is queued again: %(n)s.", user.language, n=count)
    else:
        text = t("Nothing to retry in this case.", user.language)
    answer(after_commit, query, text, show_alert=True)
