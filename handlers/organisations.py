"""Organisations in chat (admins): `/org` (or `/orgs`) lists them with buttons and `/org N` opens one; a card's
buttons change a detail (the admin's next message is its value, checked), choose the regional representative,
deactivate it, and make invite links for one organisation and a role; «➕ New organisation» asks its kind and
name. `/org_new` and `/org_set` do the same in one line. Every change is audited (`services.companies`).
`/dealer_link` makes a general dealer link whose newcomers wait for an admin's «Approve / Reject» card."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import BaseFilter, Command, CommandObject
from aiogram.types import CallbackQuery, Message

from db.models import Company, User
from flows.i18n import _
from handlers.common import (
    Admin,
    AfterCommit,
    answer,
    menu_keyboard,
    register_asked_text,
)
from services.access import EXTERNAL_ROLES
from services.companies import BadDetails, BadValue, Organisations
from services.team import Team
from services.team.base import Refused, UnknownRoles
from tgbot import organisations_view, team_view
from tgbot.callbacks import ApprovalCb, OrgCb
from tgbot.render import Renderer
from tgbot.replies import Replies


def router() -> Router:
    built = Router(name=__name__)
    built.message.filter(Admin())
    built.callback_query.filter(Admin())
    built.message.register(list_organisations, Command("orgs"))
    built.message.register(org_command, Command("org"))
    register_asked_text(built, WritingValue(), on_value, drop_value, put_aside)
    built.message.register(new_organisation, Command("org_new"))
    built.message.register(edit_organisation, Command("org_set"))
    built.message.register(dealer_link, Command("dealer_link"))
    built.message.register(set_region, Command("region"))
    built.callback_query.register(ask_value, OrgCb.filter(F.action.in_({"edit", "new"})))
    built.callback_query.register(choose_rep, OrgCb.filter(F.action.in_({"reps", "rep"})))
    built.callback_query.register(switch_active, OrgCb.filter(F.action.in_({"off", "on"})))
    built.callback_query.register(organisation_button, OrgCb.filter())
    built.callback_query.register(approval_reject, ApprovalCb.filter(F.action == "reject"))
    built.callback_query.register(approval_organisation, ApprovalCb.filter(F.action == "org"))
    built.callback_query.register(approval_role, ApprovalCb.filter(F.action == "role"))
    return built


async def _link(bot: Bot, code: str) -> str:
    return f"https://t.me/{(await bot.me()).username}?start={code}"


async def list_organisations(
    message: Message, replies: Replies, renderer: Renderer, user: User, organisations: Organisations
) -> None:
    text, keyboard = organisations_view.organisations(renderer, await organisations.listed(), user.language)
    replies.say(message.chat.id, text, keyboard)


async def new_organisation(
    message: Message,
    command: CommandObject,
    replies: Replies,
    renderer: Renderer,
    user: User,
    organisations: Organisations,
) -> None:
    usage = _("Usage: /org_new dealer|supplier|client Name region=… inn=… kpp=… price=… contacts=… rep=<number>")
    await _change(message, command, replies, renderer, user, organisations, organisations.create, usage)


async def edit_organisation(
    message: Message,
    command: CommandObject,
    replies: Replies,
    renderer: Renderer,
    user: User,
    organisations: Organisations,
) -> None:
    usage = _("Usage: /org_set <number> region=… inn=… kpp=… price=… contacts=… rep=<user number> name=…")
    await _change(message, command, replies, renderer, user, organisations, organisations.edit, usage)


async def _change(
    message: Message,
    command: CommandObject,
    replies: Replies,
    renderer: Renderer,
    user: User,
    organisations: Organisations,
    action: Callable[[User, list[str]], Awaitable[Company]],
    usage: str,
) -> None:
    """Create or edit from the command's words; a wrong value or a missing detail is answered, nothing changed."""
    try:
        org = await action(user, (command.args or "").split())
    except BadValue as bad:  # a one-line command: nothing is asked again, the admin sends the command corrected
        replies.say(message.chat.id, _bad_value(renderer, bad, user.language, again=False))
        return
    except BadDetails:
        replies.say(message.chat.id, renderer.t(usage, user.language))
        return
    await _show(message.chat.id, org.id, replies, renderer, user, organisations)


async def _show(
    chat_id: int, org_id: int, replies: Replies, renderer: Renderer, user: User, organisations: Organisations
) -> None:
    org = await organisations.get(org_id)
    if org is None:
        replies.say(chat_id, renderer.t("There is no such organisation.", user.language))
        return
    rep = await organisations.person(org.regional_rep_id)
    people, by_region = await organisations.people(org.id), await organisations.by_region(org.region)
    credit = await organisations.credit(org)
    text, keyboard = organisations_view.organisation_card(renderer, org, people, rep, credit, user.language, by_region)
    replies.say(chat_id, text, keyboard)


async def dealer_link(
    message: Message, command: CommandObject, bot: Bot, replies: Replies, renderer: Renderer, user: User, team: Team
) -> None:
    """A link for many dealers' staff at once: each newcomer waits until an admin binds them."""
    words = (command.args or "").split()
    uses = int(words[0][1:]) if words and words[0][:1] == "x" and words[0][1:].isdigit() else 100
    created = await team.invite(user, [], max(1, min(uses, 1000)), False, hold=True)
    text = renderer.t(
        "A general dealer link (an admin approves each newcomer):\n%(link)s",
        user.language,
        link=await _link(bot, created.code),
    )
    replies.say(message.chat.id, text)


async def set_region(
    message: Message, command: CommandObject, replies: Replies, renderer: Renderer, user: User, team: Team
) -> None:
    """`/region 12 Москва`: a regional representative sees the cases of the organisations in that region."""
    words = (command.args or "").split(maxsplit=1)
    person = await team.find(words[0]) if words else None
    if person is None:
        replies.say(message.chat.id, renderer.t("Usage: /region <user number or @username> <region>", user.language))
        return
    person.region = words[1].strip() if len(words) > 1 else None
    text = renderer.t("%(name)s: region %(region)s", user.language, name=person.name, region=person.region or "—")
    replies.say(message.chat.id, text)


async def organisation_button(
    query: CallbackQuery,
    callback_data: OrgCb,
    bot: Bot,
    replies: Replies,
    renderer: Renderer,
    user: User,
    team: Team,
    organisations: Organisations,
    after_commit: AfterCommit,
) -> None:
    answer(after_commit, query)
    if callback_data.action == "invite":
        await _invite(callback_data, bot, replies, renderer, user, team, organisations)
        return
    await _show(user.tg_id, callback_data.org_id, replies, renderer, user, organisations)


async def _invite(
    callback_data: OrgCb, bot: Bot, replies: Replies, renderer: Renderer, user: User, team: Team, orgs: Organisations
) -> None:
    """An organisation card's invite button (an old card's, of one switched off since, is refused in words)."""
    org = await orgs.get(callback_data.org_id)
    if org is None or callback_data.arg not in EXTERNAL_ROLES:
        return
    try:
        created = await team.invite(user, [callback_data.arg], 1, False, organisation_id=org.id)
    except Refused as exc:
        replies.say(user.tg_id, renderer.t(exc.message, user.language, **exc.params))
        return
    role = renderer.role(callback_data.arg, user.language)
    text = renderer.t("Invite for %(org)s, %(role)s:\n%(link)s", user.language, org=org.name, role=role,
                      link=await _link(bot, created.code))  # fmt: skip
    replies.say(user.tg_id, text)


async def approval_reject(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    replies: Replies,
    renderer: Renderer,
    user: User,
    team: Team,
    after_commit: AfterCommit,
) -> None:
    """«Reject»: the person is told, with what to do if they do work with us; the admin, where to change their
    mind (the person's card in /users)."""
    person = await team.reject(callback_data.person_id, by=user)
    if person is not None:
        replies.say(person.tg_id, team_view.turned_away(renderer, person.language))
    text = _("Rejected. To let them in after all: their card in /users.") if person else _("Already decided.")
    answer(after_commit, query, renderer.t(text, user.language), show_alert=person is None)


async def approval_organisation(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    replies: Replies,
    renderer: Renderer,
    user: User,
    organisations: Organisations,
    after_commit: AfterCommit,
) -> None:
    """«Approve» for a dealer: the role comes next."""
    org = await organisations.get(callback_data.org_id)
    person = await organisations.person(callback_data.person_id)
    answer(after_commit, query)
    if org is not None and person is not None:
        replies.say(user.tg_id, *team_view.approval_roles(renderer, person, org, user.language))


async def approval_role(
    query: CallbackQuery,
    callback_data: ApprovalCb,
    replies: Replies,
    renderer: Renderer,
    user: User,
    team: Team,
    organisations: Organisations,
    after_commit: AfterCommit,
) -> None:
    org = await organisations.get(callback_data.org_id)
    try:
        person = await team.approve(callback_data.person_id, org.id if org else 0, callback_data.role, by=user)
    except UnknownRoles:
        answer(after_commit, query, renderer.t("Already decided.", user.language), show_alert=True)
        return
    assert org is not None
    answer(after_commit, query, renderer.t("Approved.", user.language))
    role = renderer.role(callback_data.role, person.language)
    text = renderer.t("You are in: %(org)s, %(role)s. Use the menu below.", person.language, org=org.name, role=role)
    replies.say(person.tg_id, text, menu_keyboard(team.core, renderer, person.language, [callback_data.role]))


async def org_command(
    message: Message, command: CommandObject, replies: Replies, renderer: Renderer, user: User,
    organisations: Organisations,
) -> None:  # fmt: skip
    """`/org`: the organisations with their buttons; `/org 5`: that one's card."""
    number = (command.args or "").strip().lstrip("№#")
    if number.isdigit():
        await _show(message.chat.id, int(number), replies, renderer, user, organisations)
        return
    await list_organisations(message, replies, renderer, user, organisations)


class WritingValue(BaseFilter):
    """An admin pressed a detail's button (or «➕ New organisation»): their next message is the value."""

    async def __call__(self, _event: Any, user: User | None = None) -> bool:
        return user is not None and Organisations.pending(user)


def _bad_value(renderer: Renderer, bad: BadValue, lang: str, *, again: bool = True) -> str:
    said = {
        "inn": _("This INN is not valid: an INN has 10 digits (12 for a sole trader) and its check digits must "
                 "match."),
        "kpp": _("This KPP is not valid: 9 characters, 4 digits, 2 digits or Latin capitals, 3 digits."),
        "name": _("The name cannot be empty."),
        "rep": _("There is no such person."),
        "limit": _("Write an amount in roubles, e.g. 500000 (or “-” for none)."),
        "debt": _("Write an amount in roubles, e.g. 500000 (or “-” for none)."),
        "stop": _("Answer “yes” or “no”."),
        "duplicate": _("There is already an organisation with this INN and KPP: #%(id)s %(name)s (/org %(id)s)."),
    }  # fmt: skip
    text = renderer.t(said.get(bad.field, said["name"]), lang, **bad.params)
    return text + " " + renderer.t("Send it again or /cancel.", lang) if again else text


async def ask_value(
    query: CallbackQuery, callback_data: OrgCb, replies: Replies, renderer: Renderer, user: User,
    organisations: Organisations, after_commit: AfterCommit,
) -> None:  # fmt: skip
    answer(after_commit, query)
    lang, field = user.language, callback_data.arg
    if callback_data.action == "new" and not callback_data.arg:
        replies.say(user.tg_id, *organisations_view.organisation_kinds(renderer, lang))
        return
    org = await organisations.get(callback_data.org_id)
    if callback_data.action == "new":
        Organisations.ask(user, 0, kind=callback_data.arg)
        text = renderer.t("The new organisation's name?", lang)
    elif org is not None and field in organisations_view.ORGANISATION_FIELDS:
        Organisations.ask(user, org.id, field=field)
        title = renderer.t(organisations_view.ORGANISATION_FIELDS[field], lang)
        text = renderer.t("%(org)s: the new %(field)s? (— to clear it, /cancel to keep it)", lang, org=org.name,
                          field=title)  # fmt: skip
    else:
        return
    replies.say(user.tg_id, text)


async def on_value(
    message: Message, replies: Replies, renderer: Renderer, user: User, organisations: Organisations
) -> None:
    try:
        org = await organisations.answer(user, message.text or "")
    except BadValue as bad:
        replies.say(message.chat.id, _bad_value(renderer, bad, user.language))
        return
    await _show(message.chat.id, org.id, replies, renderer, user, organisations)


async def drop_value(message: Message, replies: Replies, renderer: Renderer, user: User) -> None:
    Organisations.drop(user)
    replies.say(message.chat.id, renderer.t("Nothing changed.", user.language))


async def put_aside(message: Message, user: User) -> None:
    Organisations.drop(user)
    raise SkipHandler


async def choose_rep(
    query: CallbackQuery, callback_data: OrgCb, replies: Replies, renderer: Renderer, user: User,
    organisations: Organisations, after_commit: AfterCommit,
) -> None:  # fmt: skip
    """«👤 Regional representative»: the members of the role as buttons; a press sets one (audited)."""
    answer(after_commit, query)
    org = await organisations.get(callback_data.org_id)
    if org is None:
        return
    if callback_data.action == "reps":
        reps = await organisations.representatives()
        replies.say(user.tg_id, *organisations_view.organisation_reps(renderer, org, reps, user.language))
        return
    try:
        await organisations.set_field(user, org.id, "rep", callback_data.arg)
    except (BadValue, BadDetails):
        return
    await _show(user.tg_id, org.id, replies, renderer, user, organisations)


async def switch_active(
    query: CallbackQuery, callback_data: OrgCb, replies: Replies, renderer: Renderer, user: User,
    organisations: Organisations, after_commit: AfterCommit,
) -> None:  # fmt: skip
    answer(after_commit, query)
    try:
        org = await organisations.set_active(user, callback_data.org_id, callback_data.action == "on")
    except BadDetails:
        return
    await _show(user.tg_id, org.id, replies, renderer, user, organisations)
