"""/start with an invite, the first admin, strangers, /help and /lang."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message

from db.models import User
from flows.i18n import _
from handlers import forms
from handlers.common import ACommand, AfterCommit, answer, menu_keyboard
from services.access import Viewer, figures_reach
from services.companies import Organisations
from services.menu import Menu
from services.portal import Portal
from services.team import Team
from services.team.joining import Joined, Newcomer, Welcome
from tgbot import team_view
from tgbot.conversation import Conversation
from tgbot.menu_view import help_text
from tgbot.render import Renderer
from tgbot.replies import Replies
from tgbot.stray_files import keep_stray
from tgbot.stray_words import tasks_to_open

log = logging.getLogger(__name__)

# After these a person is in: they get the menu keyboard.
WITH_MENU = (Welcome.BACK, Welcome.FIRST_ADMIN, Welcome.JOINED)


def router() -> Router:
    start_router = Router(name=__name__)
    start_router.message.filter(ACommand())  # commands alone: any other message passes with one check
    # Before any router takes it (the dealer's, the admins'): a command to other work puts an open form aside.
    start_router.message.register(forms.put_aside, forms.LeavingCommand())
    start_router.message.register(start, CommandStart())
    start_router.message.register(help_command, Command("help"))
    start_router.message.register(lang_command, Command("lang", "language"))
    return start_router


def fallback(admins_only: Iterable[str] = ()) -> Router:
    """Last in the chain: whatever no other router took — an admins' command (`admins_only`) from someone who is not
    one is answered as such."""
    last = Router(name=f"{__name__}.fallback")
    if admins_only:
        last.message.register(admins_command, Command(*sorted(admins_only)))
    # /cancel that no open form or question took: there is nothing to cancel, which is worth saying so.
    last.message.register(nothing_to_cancel, Command("cancel"))
    last.message.register(unknown_message)  # no filter: it takes every message, with no thread hop for a magic one
    last.callback_query.register(unknown_callback)
    return last


def _lang(message: Message) -> str:
    code = (message.from_user.language_code if message.from_user else None) or "ru"
    return "en" if code.startswith("en") else "ru"


async def start(
    message: Message,
    command: CommandObject,
    replies: Replies,
    renderer: Renderer,
    user: User | None,
    roles: set[str],
    team: Team,
    organisations: Organisations,
    conversation: Conversation | None = None,
) -> None:
    """/start: a known person, the first admin, a stranger, or a newcomer with an invite."""
    assert message.from_user is not None
    tg = message.from_user
    newcomer = Newcomer(tg.id, tg.full_name or tg.username or str(tg.id), tg.username, _lang(message))
    joined = await team.join(newcomer, user, roles, (command.args or "").strip())
    admin = user is not None and bool(user.is_admin)
    menu = joined.outcome in WITH_MENU
    keyboard = menu_keyboard(team.core, renderer, joined.language, joined.roles, admin) if menu else None
    replies.say(message.chat.id, team_view.welcome(renderer, joined), keyboard)
    await tell_admins(joined, replies, renderer, team, organisations)
    if conversation is not None:
        await conversation.put_aside()  # a form left open is named, not hidden behind the greeting


async def tell_admins(
    joined: Joined, replies: Replies, renderer: Renderer, team: Team, organisations: Organisations
) -> None:
    """What the admins hear of a /start: someone joined by an invite (its maker hears it), someone waits for their
    approval, an old invite mixing roles was refused (they make a new one)."""
    if joined.outcome is Welcome.JOINED:
        person, admins = await team.to_tell_of(joined)
        for admin in admins:
            if person is not None:
                replies.say(admin.tg_id, team_view.joined_by_invite(renderer, person, joined, admin.language))
    if joined.outcome is Welcome.HELD and joined.person_id is not None:
        await ask_admins(joined.person_id, replies, renderer, team, organisations)
    if joined.mixed is not None:
        for administrator in await team.admins():
            replies.say(administrator.tg_id, team_view.mixed_invite(renderer, joined.mixed, administrator.language))


async def ask_admins(
    person_id: int, replies: Replies, renderer: Renderer, team: Team, organisations: Organisations
) -> None:
    """Someone joined by a general dealer link: every admin gets the «Approve / Reject» card."""
    person = await organisations.person(person_id)
    dealers = await organisations.listed("dealer", active_only=True)
    for admin in await team.admins():
        if person is not None:
            replies.say(admin.tg_id, *team_view.approval_card(renderer, person, dealers, admin.language))


async def help_command(
    message: Message,
    replies: Replies,
    renderer: Renderer,
    user: User | None,
    viewer: Viewer | None = None,
    portal: Portal | None = None,
    menu: Menu | None = None,
    conversation: Conversation | None = None,
) -> None:
    lang = user.language if user else _lang(message)
    rights = portal.rights(viewer) if viewer is not None and portal is not None else None
    admin = viewer is not None and viewer.is_admin
    figures = figures_reach(viewer) if viewer is not None else None
    startable = menu.startable(viewer) if viewer is not None and menu is not None else []
    replies.say(message.chat.id, help_text(renderer, lang, rights, admin, figures=figures, startable=startable))
    if conversation is not None:
        await conversation.ask_again_in(lang)  # a form's open question, below the help rather than above it


async def lang_command(
    message: Message,
    replies: Replies,
    renderer: Renderer,
    user: User | None,
    team: Team,
    viewer: Viewer | None = None,
    conversation: Conversation | None = None,
) -> None:
    if user is None:
        return await refuse(message, replies, renderer)
    team.switch_language(user)
    replies.say(
        message.chat.id,
        renderer.t("Language: English.", user.language)
        if user.language == "en"
        else renderer.t("Language: Russian.", user.language),
        menu_keyboard(team.core, renderer, user.language, *_roles(viewer)),
    )
    if conversation is not None:
        await conversation.ask_again_in(user.language)  # a form's open question, in the language just chosen
    return None


async def refuse(message: Message, replies: Replies, renderer: Renderer) -> None:
    replies.say(
        message.chat.id,
        renderer.t("Sorry, I don't know you yet. Ask your administrator for an invite link.", _lang(message)),
    )


async def admins_command(
    message: Message, replies: Replies, renderer: Renderer, team: Team, user: User | None, viewer: Viewer | None = None
) -> None:
    if user is None:  # (someone whose access is closed is told so before: `handlers.closed`)
        return await refuse(message, replies, renderer)
    text = renderer.t("This command is for administrators. /help lists what you can do here.", user.language)
    await replies.say_once(message.chat.id, text, menu_keyboard(team.core, renderer, user.language, *_roles(viewer)))
    return None


async def nothing_to_cancel(
    message: Message, replies: Replies, renderer: Renderer, team: Team, user: User | None, viewer: Viewer | None = None
) -> None:
    if user is None:
        return await refuse(message, replies, renderer)
    text = renderer.t("Nothing to cancel: no form or question is open.", user.language)
    replies.say(message.chat.id, text, menu_keyboard(team.core, renderer, user.language, *_roles(viewer)))
    return None


NOT_UNDERSTOOD = _("I did not understand that. Use the menu below, or /help.")
# A video is kept nowhere (no question takes one): saying so tells the person not to count it as handed in.
STRAY_FILE = _(
    "The file is not saved: no question is waiting for a file. Open the task (“📋 My tasks”) or the case that asks for "
    "it and send it when asked."
)


async def unknown_message(
    message: Message,
    replies: Replies,
    renderer: Renderer,
    team: Team,
    user: User | None,
    viewer: Viewer | None = None,
    downloads: dict[str, bytes] | None = None,
) -> None:
    # No **kwargs here: a handler taking them is given every service the update could have (`ServicesMiddleware`).
    if user is None:  # (someone known whose access is closed is told so before: `handlers.closed`)
        return await refuse(message, replies, renderer)
    if (message.photo or message.document) and viewer is not None:
        # A file with no question asking for one is kept and offered at the next question for a file.
        told = await keep_stray(team.core, replies.session, renderer, viewer, message, downloads or {})
        if told is not None:
            replies.say(message.chat.id, *told)
        return None
    if not message.video and viewer is not None:  # words typed instead of a press on a task's card: the tasks
        tasks = await tasks_to_open(team.core, replies.session, renderer, viewer)
        if tasks is not None:
            return await replies.say_once(message.chat.id, *tasks)
    said = STRAY_FILE if message.video else NOT_UNDERSTOOD
    menu = menu_keyboard(team.core, renderer, user.language, *_roles(viewer))
    await replies.say_once(message.chat.id, renderer.t(said, user.language), menu)
    return None


async def unknown_callback(
    query: CallbackQuery, renderer: Renderer, user: User | None, after_commit: AfterCommit
) -> None:
    """Answered after the update's transaction, as every button is: not a call to Telegram while its claim is held
    (and Telegram refusing a late answer does not fail the update)."""
    lang = user.language if user else "ru"
    answer(after_commit, query, renderer.t("This button is no longer valid.", lang), show_alert=True)


def _roles(viewer: Viewer | None) -> tuple[frozenset[str], bool]:
    return (viewer.roles, viewer.is_admin) if viewer is not None else (frozenset(), False)
