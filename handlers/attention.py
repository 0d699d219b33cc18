"""An admin retries the failed step of a case that needs attention (after fixing its data or definition)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from handlers.common import AfterCommit, Registered, answer
from services.access import Viewer
from services.cases import CaseService
from tgbot.callbacks import AttentionCb
from tgbot.render import Renderer


def router() -> Router:
    built = Router(name=__name__)
    built.callback_query.filter(Registered())
    built.callback_query.register(on_retry, AttentionCb.filter())
    return built


async def on_retry(
    query: CallbackQuery,
    callback_data: AttentionCb,
    cases: CaseService,
    viewer: Viewer,
    renderer: Renderer,
    after_commit: AfterCommit,
) -> None:
    count = await cases.retry_failed(viewer, callback_data.case_id)
    lang = viewer.user.language
    if count:
        text = renderer.t("The failed step is queued again: %(n)s.", lang, n=count)
    else:
        text = renderer.t("Nothing to retry in this case.", lang)
    answer(after_commit, query, text, show_alert=True)
