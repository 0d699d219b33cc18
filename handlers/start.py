"""/start with an invite, the first admin, strangers, /help and /lang."""

from __future__ import annotations

import logging
from typing import Any, Final

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from handlers.common import menu_keyboard, say
from services import people
from services.core import Core

log = logging.getLogger(__name__)
router: Final[Router] = Router(name=__name__)
fallback: Final[Router] = Router(name=f"{__name__}.fallback")


def _lang(message: Message) -> str:
    code = (message.from_user.language_code if message.from_user else None) or "ru"
    return "en" if code.startswith("en") else "ru"


@router.message(CommandStart())
async def start(
    message: Message, command: CommandObject, session: AsyncSession, core: Core, user: User | None, roles: set[str]
) -> None:
    t = core.translator.t
    assert message.from_user is not None
    tg = message.from_user
    now = core.clock.now()
    code = (command.args or "").strip()
    if user is not None:
        if code:
            try:
                invite = await people.use_invite(session, code, now)
            except people.InviteError:
                invite = None
            if invite is not None:
                await people.grant(session, user.id, invite.roles)
                roles = roles | set(invite.roles)
        say(
            core,
            session,
            message.chat.id,
            t(
                "Welcome back, %(name)s! Your roles: %(roles)s.",
                user.language,
                name=user.name,
                roles=", ".join(sorted(roles)) or "—",
            ),
            menu_keyboard(core, user.language),
        )
        return
    name = tg.full_name or tg.username or str(tg.id)
    lang = _lang(message)
    if tg.id in core.config.admin_ids:
        user = await people.register(
            session, tg_id=tg.id, name=name, username=tg.username, language=lang, now=now, is_admin=True
        )
        say(
            core,
            session,
            message.chat.id,
            t("Welcome, %(name)s! You are an administrator. Invite people with /invite role1 role2.", lang, name=name),
            menu_keyboard(core, lang),
        )
        return
    if not code:
        say(
            core,
            session,
            message.chat.id,
            t(
                "Hello! This is a company bot; it works by invitation only. Ask your administrator for an invite link.",
                lang,
            ),
        )
        return
    try:
        invite = await people.use_invite(session, code, now)
    except people.InviteError as exc:
        say(core, session, message.chat.id, t(exc.message, lang))
        return
    user = await people.register(
        session, tg_id=tg.id, name=name, username=tg.username, language=lang, now=now, is_admin=invite.make_admin
    )
    await people.grant(session, user.id, invite.roles)
    log.info("user %s joined with roles %s", user.id, invite.roles)
    say(
        core,
        session,
        message.chat.id,
        t(
            "Welcome, %(name)s! Your roles: %(roles)s. Use the menu below.",
            lang,
            name=name,
            roles=", ".join(invite.roles),
        ),
        menu_keyboard(core, lang),
    )


@router.message(Command("help"))
async def help_command(message: Message, core: Core, session: AsyncSession, user: User | None) -> None:
    lang = user.language if user else _lang(message)
    say(
        core,
        session,
        message.chat.id,
        core.translator.t(
            "I run your company's processes. «My tasks» — what waits for you; «Start a process» — register a new "
            "case; «My cases» — where your cases stand. /lang switches the language. Admins: /invite, /users, "
            "/grant, /revoke, /processes; send a YAML file to check a process definition.",
            lang,
        ),
    )


@router.message(Command("lang"))
async def lang_command(message: Message, core: Core, session: AsyncSession, user: User | None) -> None:
    if user is None:
        return await refuse(message, core, session)
    user.language = "en" if user.language == "ru" else "ru"
    say(
        core,
        session,
        message.chat.id,
        core.translator.t("Language: English.", user.language)
        if user.language == "en"
        else core.translator.t("Language: Russian.", user.language),
        menu_keyboard(core, user.language),
    )
    return None


async def refuse(message: Message, core: Core, session: AsyncSession) -> None:
    say(
        core,
        session,
        message.chat.id,
        core.translator.t("Sorry, I don't know you yet. Ask your administrator for an invite link.", _lang(message)),
    )


@fallback.message(F.func(lambda _m: True))
async def unknown_message(message: Message, core: Core, session: AsyncSession, user: User | None, **_: Any) -> None:
    if user is None:
        return await refuse(message, core, session)
    say(
        core,
        session,
        message.chat.id,
        core.translator.t("I did not understand that. Use the menu below, or /help.", user.language),
        menu_keyboard(core, user.language),
    )
    return None


@fallback.callback_query()
async def unknown_callback(query: CallbackQuery, core: Core, user: User | None, **_: Any) -> None:
    lang = user.language if user else "ru"
    await query.answer(core.translator.t("This button is no longer valid.", lang), show_alert=True)
