"""Admin commands in chat: invites, people and roles, process definitions, time spent, exports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyKeyboardRemove

from db.models import Invite, User
from flows.i18n import _
from flows.loader import DefinitionError
from handlers.common import Admin, AfterCommit, answer, menu_keyboard
from services.access import Viewer
from services.exports import Exports, UnknownProcess
from services.library import ProcessLibrary, Upload
from services.team import Team
from services.team.base import Refused, UnknownRoles
from services.team.invites import MAX_USES, MIN_USES
from services.worktime import MAX_DAYS, WorkTime, days_asked
from tgbot import processes_view, team_view
from tgbot.callbacks import ExportCb, InviteCb, LoadCb, RoleCb
from tgbot.render import Renderer
from tgbot.replies import Replies

log = logging.getLogger(__name__)


def router() -> Router:
    admin = Router(name=__name__)
    admin.message.filter(Admin())
    admin.message.register(invite, Command("invite"))
    admin.message.register(list_users, Command("users"))
    admin.message.register(grant_or_revoke, Command("grant", "revoke"))
    admin.message.register(restore, Command("restore"))
    admin.message.register(processes, Command("processes"))
    admin.message.register(definition_file, F.document.file_name.endswith((".yaml", ".yml")))
    admin.message.register(time_spent, Command("worktime"))
    admin.message.register(export, Command("export"))
    admin.callback_query.filter(Admin())
    admin.callback_query.register(on_export, ExportCb.filter())
    admin.callback_query.register(on_roles, RoleCb.filter())
    admin.callback_query.register(on_invite, InviteCb.filter())
    admin.callback_query.register(on_load, LoadCb.filter())
    return admin


def invite_words(args: str | None) -> tuple[list[str], int, bool]:
    """`/invite shop_manager admin x10`: the roles, how many people may use it (as typed: `Team.invite` checks
    the bounds), and whether it makes admins."""
    uses, roles = 1, []
    for word in (args or "").split():
        if word.startswith("x") and word[1:].isdigit():
            uses = int(word[1:])
        else:
            roles.append(word)
    return [r for r in roles if r != "admin"], uses, "admin" in roles


def invite_usage(renderer: Renderer, team: Team, lang: str, unknown: list[str]) -> str:
    """How /invite is typed, with the company's roles by their names (a dealer's come from /orgs): never their keys,
    which no one needs to type — a name is read as well."""
    listed = "\n".join(sorted(renderer.role(role, lang) for role in team.own_roles()))
    admin = renderer.role("admin", lang)
    text = renderer.t(INVITE_USAGE, lang, low=MIN_USES, high=MAX_USES, roles=listed, admin=admin)
    if not unknown:
        return text
    return renderer.t("Unknown roles: %(unknown)s.", lang, unknown=", ".join(unknown)) + "\n" + text


def grant_usage(renderer: Renderer, team: Team, lang: str, command: str, unknown: list[str]) -> str:
    """How /grant and /revoke are typed, or which of the roles typed are not roles; the roles by their names."""
    t = renderer.t
    if unknown:
        said = t("Unknown roles: %(unknown)s.", lang, unknown=", ".join(unknown))
    else:
        usage = _("Usage: /%(cmd)s <user id or @username> role1 role2 (roles by their names, as listed below).")
        said = t(usage, lang, cmd=command)
    known = sorted(team.known_roles(), key=lambda r: renderer.role(r, lang))
    said += "\n" + t("Roles: %(roles)s", lang, roles=", ".join(renderer.role(role, lang) for role in known))
    if command == "revoke":
        said += "\n" + t("/revoke <user id or @username> with no role closes the person's access.", lang)
    return said


INVITE_USAGE = _(
    "Usage: /invite role1 role2 [xN], or /invite alone to choose them by buttons: xN lets N people use the link, "
    "%(low)s to %(high)s (one by default); «%(admin)s» among the roles makes administrators. A dealer's roles are "
    "invited on the organisation's card (/orgs).\nRoles:\n%(roles)s"
)


async def invite(
    message: Message, command: CommandObject, bot: Bot, replies: Replies, renderer: Renderer, user: User, team: Team
) -> None:
    """`/invite Работник склада x5` makes the link at once; `/invite` alone offers the roles as buttons."""
    t = renderer.t
    if not (command.args or "").strip():
        own, pick = team.own_roles(), team_view.InvitePick()
        await in_place(None, 0, replies, user, lambda row: team_view.invite_picker(renderer, own, pick, user.language,
                                                                                  row))  # fmt: skip
        return
    words, uses, make_admin = invite_words(command.args)
    roles = team.read_roles(words)  # keys or names, «Работник склада» as typed
    make_admin, roles = make_admin or "admin" in roles, [r for r in roles if r != "admin"]
    try:
        said = await new_invite(bot, renderer, user, team, roles, uses, make_admin)
    except Refused as exc:  # a dealer's roles without their organisation, uses out of bounds
        said = t(exc.message, user.language, roles=renderer.roles(exc.roles, user.language), **exc.params)
    except UnknownRoles as exc:
        said = invite_usage(renderer, team, user.language, exc.unknown)
    replies.say(message.chat.id, said)


async def new_invite(
    bot: Bot,
    renderer: Renderer,
    user: User,
    team: Team,
    roles: list[str],
    uses: int,
    make_admin: bool,
    picker_ref: int | None = None,
) -> str:
    """The invite made, typed or pressed alike (pressed: the picker message's one invite), and what the admin reads
    of it."""
    made = await team.invite(user, roles, uses, make_admin, picker_ref=picker_ref)
    return await invite_link(bot, renderer, user, made)


async def invite_link(bot: Bot, renderer: Renderer, user: User, invite: Invite) -> str:
    """What the admin reads of an invite: whom it is for, the link to send and its code."""
    link = f"https://t.me/{(await bot.me()).username}?start={invite.code}"
    shown = renderer.roles(list(invite.roles) + (["admin"] if invite.make_admin else []), user.language)
    text = _("Invite for %(roles)s (%(uses)s use(s)):\n%(link)s\nCode: %(code)s")
    return renderer.t(text, user.language, roles=shown, uses=invite.max_uses, link=link, code=invite.code)


async def on_invite(
    query: CallbackQuery,
    callback_data: InviteCb,
    bot: Bot,
    replies: Replies,
    renderer: Renderer,
    user: User,
    team: Team,
    after_commit: AfterCommit,
) -> None:
    """A press on `/invite`'s buttons: a role, how many people or the administrator's rights changed in the same
    message; «Create link» makes the invite as `/invite` typed does and the message becomes the link."""
    t, lang, ref, own = renderer.t, user.language, callback_data.ref, team.own_roles()
    if (made := await team.picked(user, ref)) is not None:  # a double tap, a copy not yet updated, a press again
        return answer(after_commit, query, await link_again(query, ref, bot, replies, renderer, user, made))
    stale = callback_data.of != team_view.roles_mark(own)  # a process loaded since: the bits would mean other roles
    pressed = callback_data.model_copy(update={"action": "", "roles": ""}) if stale else callback_data
    pick = team_view.InvitePick.pressed([] if stale else own, pressed)
    if stale or callback_data.action != "go":
        await in_place(query, ref, replies, user, lambda row: team_view.invite_picker(renderer, own, pick, lang, row))
        said = t("The list of roles has changed: mark the roles again.", lang) if stale else None
        return answer(after_commit, query, said, stale)
    said, alert = await create_link(query, ref, pick, bot, replies, renderer, user, team)
    answer(after_commit, query, said, alert)


async def create_link(
    query: CallbackQuery,
    ref: int,
    pick: team_view.InvitePick,
    bot: Bot,
    replies: Replies,
    renderer: Renderer,
    user: User,
    team: Team,
) -> tuple[str | None, bool]:
    """«Create link» on the picker message `ref`: the message becomes the link, made once for it; what the press
    is answered, an alert when nothing was made."""
    t, lang = renderer.t, user.language
    if not (pick.roles or pick.admin):
        return t("Mark at least one role, or «%(admin)s».", lang, admin=renderer.role("admin", lang)), True
    try:
        said = await new_invite(bot, renderer, user, team, sorted(pick.roles), pick.uses, pick.admin, ref or None)
    except Refused as exc:
        return t(exc.message, lang, roles=renderer.roles(exc.roles, lang), **exc.params), True
    await in_place(query, ref, replies, user, lambda _row: (said, None))
    return None, False


async def link_again(
    query: CallbackQuery, ref: int, bot: Bot, replies: Replies, renderer: Renderer, user: User, made: Invite
) -> str:
    """A press on a picker message whose link is made: the message shows that link again (its edit may not have
    reached the admin yet), no second one is made; the press is answered that it is made."""
    link = await invite_link(bot, renderer, user, made)
    await in_place(query, ref, replies, user, lambda _row: (link, None))
    return renderer.t("The link is already made: here it is.", user.language)


async def list_users(message: Message, replies: Replies, renderer: Renderer, user: User, team: Team) -> None:
    await show_roster(None, 0, replies, renderer, user, team)


async def show_roster(
    query: CallbackQuery | None, page: int, replies: Replies, renderer: Renderer, user: User, team: Team, ref: int = 0
) -> None:
    """A page of /users: a new message, or the page pressed turned in its own message."""
    roster = await team.roster()
    page = min(max(page, 0), max(0, (len(roster) - 1) // team_view.ROSTER_PAGE))
    text = team_view.roster(renderer, roster, user.language, await team.turned_away(roster), page)
    await in_place(query, ref, replies, user, lambda row: (text, team_view.roster_keyboard(roster, page, row)))


async def in_place(
    query: CallbackQuery | None, ref: int, replies: Replies, user: User, build: Callable[[int], tuple[str, Any]]
) -> None:
    """The answer to a button edits the message pressed when its buttons said which it is (`ref`, checked against
    the message), else comes as a new message whose buttons say so."""
    pressed = query.message.message_id if query is not None and query.message is not None else 0
    if ref and await replies.is_message(ref, user.tg_id, pressed) and replies.edit(user.tg_id, ref, *build(ref)):
        return
    replies.say_editable(user.tg_id, build)


async def on_roles(
    query: CallbackQuery,
    callback_data: RoleCb,
    replies: Replies,
    renderer: Renderer,
    user: User,
    team: Team,
    after_commit: AfterCommit,
) -> None:
    """A person's button in /users shows their roles as buttons; a role's button grants or revokes it; «Revoke
    access» asks first and then closes it; a revoked person's card restores them."""
    action, ref = callback_data.action, callback_data.ref
    if action == "page":
        await show_roster(query, callback_data.user_id, replies, renderer, user, team, ref)
        return answer(after_commit, query)
    try:
        card = await team.person_card(action, callback_data.user_id, callback_data.arg, by=user)
    except Refused as exc:  # pressed twice, or the person changed meanwhile
        return answer(after_commit, query, renderer.t(exc.message, user.language, **exc.params), True)
    if card is not None:
        known, asking = team.known_roles(), action == "ask_revoke"
        # A role pressed changes the card it is on, rather than sending the card again.
        await in_place(query, ref, replies, user, lambda row: team_view.person_roles(
            renderer, card, known, user.language, ask_revoke=asking, ref=row))  # fmt: skip
        if action == "restore":
            tell_restored(replies, renderer, team, card.person, card.roles)
        elif action == "revoke":
            tell_revoked(replies, renderer, card.person)
        await tell_released(user.tg_id, replies, renderer, user, team, card.person)
    answer(after_commit, query)


async def tell_released(
    chat_id: int, replies: Replies, renderer: Renderer, user: User, team: Team, person: User
) -> None:
    """The admin who took a role or closed access learns where each of the person's tasks went."""
    moved = team_view.released_text(renderer, person, await team.where_released(), user.language)
    if moved:
        replies.say(chat_id, moved)


def tell_revoked(replies: Replies, renderer: Renderer, person: User) -> None:
    """The person whose access was closed hears it at once, and the menu they can no longer use goes away."""
    replies.say(person.tg_id, team_view.closed_access(renderer, person.language), ReplyKeyboardRemove())


async def revoke_access(chat_id: int, ref: str, replies: Replies, renderer: Renderer, user: User, team: Team) -> None:
    """`/revoke 9` (or @username) with no role: the person's access closed, as the panel's «Revoke» closes it."""
    try:
        person = await team.revoke(ref, actor_id=user.id)
    except Refused as exc:
        replies.say(chat_id, renderer.t(exc.message, user.language, **exc.params))
        return
    text = _("%(name)s's access is closed. /restore %(id)s gives it back.")
    replies.say(chat_id, renderer.t(text, user.language, name=person.name, id=person.id))
    await tell_released(chat_id, replies, renderer, user, team, person)
    tell_revoked(replies, renderer, person)


def tell_restored(replies: Replies, renderer: Renderer, team: Team, person: User, roles: list[str]) -> None:
    """The person let back in hears it, with their menu."""
    text = renderer.t("Your access is open again. Your roles: %(roles)s.", person.language,
                      roles=renderer.roles(roles, person.language))  # fmt: skip
    replies.say(person.tg_id, text, menu_keyboard(team.core, renderer, person.language, roles, bool(person.is_admin)))


async def restore(
    message: Message, command: CommandObject, replies: Replies, renderer: Renderer, user: User, team: Team
) -> None:
    """`/restore 9` (or @username): a revoked person is let back in with the roles they kept. With no one named,
    the format alone (not «There is no such person» first)."""
    if not (command.args or "").strip():
        replies.say(message.chat.id, renderer.t("Usage: /restore <user id or @username>.", user.language))
        return
    try:
        person, roles = await team.restore((command.args or "").strip(), actor_id=user.id)
    except Refused as exc:
        replies.say(message.chat.id, renderer.t(exc.message, user.language, **exc.params))
        return
    shown = renderer.roles(roles, user.language)
    replies.say(message.chat.id, renderer.t("%(name)s's access is restored; roles: %(roles)s.", user.language,
                                            name=person.name, roles=shown))  # fmt: skip
    tell_restored(replies, renderer, team, person, roles)


async def grant_or_revoke(
    message: Message, command: CommandObject, replies: Replies, renderer: Renderer, user: User, team: Team
) -> None:
    t = renderer.t
    words = (command.args or "").split()
    if command.command == "revoke" and len(words) == 1:  # a person and no role: their access, not a role
        return await revoke_access(message.chat.id, words[0], replies, renderer, user, team)
    try:
        grant = command.command == "grant"
        person, roles = await team.change_roles(words[0] if words else None, words[1:], grant=grant)
    except Refused as exc:  # a role for someone whose access is closed, or a dealer's role with no dealer
        replies.say(message.chat.id, t(exc.message, user.language, roles=renderer.roles(exc.roles, user.language),
                                       **exc.params))  # fmt: skip
        return
    except UnknownRoles as exc:
        replies.say(message.chat.id, grant_usage(renderer, team, user.language, command.command, exc.unknown))
        return
    shown = renderer.roles(roles, user.language)  # labels, not the roles' keys
    text = t("%(name)s now has: %(roles)s", user.language, name=person.name, roles=shown)
    replies.say(message.chat.id, text)
    await tell_released(message.chat.id, replies, renderer, user, team, person)


async def processes(
    message: Message, replies: Replies, renderer: Renderer, user: User, library: ProcessLibrary
) -> None:
    listed = await library.processes(user.language)
    replies.say(message.chat.id, processes_view.processes(renderer, listed, user.language))


async def definition_file(
    message: Message,
    replies: Replies,
    renderer: Renderer,
    user: User,
    downloads: dict[str, bytes],
    library: ProcessLibrary,
) -> None:
    """Check an uploaded definition; with the caption /load, make it the version new cases start with."""
    t, lang = renderer.t, user.language
    assert message.document is not None
    content = downloads.get(message.document.file_id, b"")
    name, load = message.document.file_name or "definition.yaml", (message.caption or "").strip() == "/load"
    try:
        upload = await (library.upload(content, name, load=True) if load else library.check(content, name, user))
    except DefinitionError as exc:
        problems = library.problems(exc, lang)
        text = t("The definition has mistakes:\n%(problems)s", lang, problems=problems)
        replies.say(message.chat.id, text)
        return
    warned = library.warnings(upload, lang)  # missing English texts: said as `konveyer check` and the panel say them
    if upload.version is None:
        replies.say_editable(message.chat.id, lambda ref: checked_text(renderer, upload, name, lang, ref, warned))
        return
    replies.say(message.chat.id, loaded_text(renderer, upload, lang) + warned)


def checked_text(
    renderer: Renderer, upload: Upload, name: str, lang: str, ref: int, warned: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    """A definition checked and kept: «⬆️ Load» under it, naming its own message (`ref`) to say the result in; what
    the check warns of below (`warned`)."""
    t = renderer.t
    text = t("“%(title)s” (%(file)s) has no mistakes. Load it to make it the version new cases start with.",
             lang, title=upload.title, file=name) + warned  # fmt: skip
    data = LoadCb(digest=upload.digest, ref=ref).pack()
    return text, InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=t("⬆️ Load", lang),
                                                                             callback_data=data)]])  # fmt: skip


def loaded_text(renderer: Renderer, upload: Upload, lang: str) -> str:
    if upload.same:
        same = _("“%(title)s” is the same as the current version %(version)s: nothing is loaded.")
        return renderer.t(same, lang, title=upload.title, version=upload.version)
    text = _("“%(title)s” is loaded, version %(version)s. New cases start with it; running cases keep their version.")
    return renderer.t(text, lang, title=upload.title, version=upload.version)


async def on_load(
    query: CallbackQuery, callback_data: LoadCb, replies: Replies, renderer: Renderer, user: User,
    library: ProcessLibrary, after_commit: AfterCommit,
) -> None:  # fmt: skip
    """«⬆️ Load» under a checked definition: it is loaded as it was checked, and the message says so in place of its
    button (pressed again on a copy the chat still shows, it says the check is no longer kept)."""
    upload = await library.load_checked(user, callback_data.digest)
    text = loaded_text(renderer, upload, user.language) + library.warnings(upload, user.language)
    ref = callback_data.ref
    pressed = query.message.message_id if query.message is not None else 0
    if not (ref and await replies.is_message(ref, user.tg_id, pressed) and replies.edit(user.tg_id, ref, text)):
        replies.say(user.tg_id, text)
    answer(after_commit, query)


WORKTIME_USAGE = _(
    "“%(said)s” is not a number of days. Write /worktime and how many days back, 1 to %(most)s: /worktime 7 (with "
    "nothing after it, the last 30 days)."
)


async def time_spent(
    message: Message,
    command: CommandObject,
    replies: Replies,
    renderer: Renderer,
    user: User,
    worktime: WorkTime,
) -> None:
    """Time spent on timed tasks per person over the last N days (30 by default); what is not a number of days is
    answered with how to write it."""
    days = days_asked(command.args)
    if days is None:
        said = (command.args or "").strip()[:50]
        replies.say(message.chat.id, renderer.t(WORKTIME_USAGE, user.language, said=said, most=MAX_DAYS))
        return
    report = await worktime.report(days, user.language)
    replies.say(message.chat.id, processes_view.worktime(renderer, report, user.language))


async def export(
    message: Message, command: CommandObject, replies: Replies, renderer: Renderer, viewer: Viewer, exports: Exports
) -> None:
    """`/export fulfillment_quote`: every case of a process with all its fields, as Excel (e.g. refusal reasons);
    without a process (or with one there is not) the processes are offered as buttons."""
    t, lang = renderer.t, viewer.user.language
    try:
        done = await exports.process_cases(viewer, (command.args or "").strip())
    except UnknownProcess:
        keyboard = processes_view.export_keyboard(exports.titled(lang))
        text = t("Which process's cases to export to Excel?", lang)
        if command.args and command.args.strip():
            text = t("No process is called “%(name)s”. Which one's cases to export to Excel?", lang,
                     name=command.args.strip()[:100])  # fmt: skip
        replies.say(message.chat.id, text, keyboard)
        return
    caption = t("%(title)s: %(n)s", lang, title=done.title, n=done.cases)
    replies.document(message.chat.id, done.file_id, caption)


async def on_export(
    query: CallbackQuery,
    callback_data: ExportCb,
    replies: Replies,
    renderer: Renderer,
    viewer: Viewer,
    exports: Exports,
    after_commit: AfterCommit,
) -> None:
    try:
        done = await exports.process_cases(viewer, callback_data.process)
    except UnknownProcess:  # unloaded since the button was sent
        answer(after_commit, query, renderer.t("There is no such process any more.", viewer.user.language), True)
        return
    caption = renderer.t("%(title)s: %(n)s", viewer.user.language, title=done.title, n=done.cases)
    replies.document(viewer.user.tg_id, done.file_id, caption)
    answer(after_commit, query)
