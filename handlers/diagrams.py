"""`/diagram`: a process drawn as a picture — chosen by a button, or named after the command."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from handlers.common import AfterCommit, Registered, answer
from services.access import Viewer
from services.diagrams import Diagrams
from tgbot.callbacks import DiagramCb
from tgbot.processes_view import diagram_keyboard
from tgbot.render import Renderer
from tgbot.replies import Replies


def router() -> Router:
    diagrams = Router(name=__name__)
    diagrams.message.filter(Registered())
    diagrams.callback_query.filter(Registered())
    diagrams.message.register(diagram, Command("diagram"))
    diagrams.callback_query.register(on_pick, DiagramCb.filter())
    return diagrams


async def diagram(
    message: Message, command: CommandObject, replies: Replies, renderer: Renderer, viewer: Viewer, diagrams: Diagrams
) -> None:
    """`/diagram` offers the processes as buttons; `/diagram meat_deal` (or its title) sends the picture at once."""
    lang = viewer.user.language
    named = diagrams.find(viewer, command.args) if command.args else []
    if len(named) == 1:
        picture = await diagrams.process_picture(viewer, named[0][0])
        replies.photo(message.chat.id, picture.file_id, picture.caption)
        return
    if named:  # the words name several: those, to pick one
        replies.say(message.chat.id, renderer.t("Which of these to draw?", lang), diagram_keyboard(named))
        return
    listed = diagrams.processes(viewer)
    if not listed:
        replies.say(message.chat.id, renderer.t("There are no processes you take part in.", lang))
        return
    text = renderer.t("Which process to draw?", lang)
    if command.args:
        text = renderer.t("No process is called “%(name)s”. Which one to draw?", lang, name=command.args.strip()[:100])
    replies.say(message.chat.id, text, diagram_keyboard(listed))


async def on_pick(
    query: CallbackQuery,
    callback_data: DiagramCb,
    replies: Replies,
    viewer: Viewer,
    diagrams: Diagrams,
    after_commit: AfterCommit,
) -> None:
    picture = await diagrams.process_picture(viewer, callback_data.process)
    replies.photo(viewer.user.tg_id, picture.file_id, picture.caption)
    answer(after_commit, query)
