"""Admin commands in chat: invites, people and roles, process definitions."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, User, WorkPeriod
from flows.loader import DefinitionError, parse_definition
from flows.model import ReportColumn, ReportDef
from handlers.common import Admin, say
from services import outbox, people, reports
from services.core import Core

log = logging.getLogger(__name__)
router: Final[Router] = Router(name=__name__)
router.message.filter(Admin())


def known_roles(core: Core) -> set[str]:
    return {role for loaded in core.registry.library.values() for role in loaded.spec.roles}


@router.message(Command("invite"))
async def invite(
    message: Message, command: CommandObject, bot: Bot, session: AsyncSession, core: Core, user: User
) -> None:
    t = core.translator.t
    words = (command.args or "").split()
    uses = 1
    roles: list[str] = []
    for word in words:
        if word.startswith("x") and word[1:].isdigit():
            uses = max(1, min(int(word[1:]), 1000))
        else:
            roles.append(word)
    make_admin = "admin" in roles
    roles = [r for r in roles if r != "admin"]
    unknown = sorted(set(roles) - known_roles(core))
    if (not roles and not make_admin) or unknown:
        say(
            core,
            session,
            message.chat.id,
            t(
                "Usage: /invite role1 role2 [x5 for five people]. Unknown roles: %(unknown)s. Roles: %(roles)s",
                user.language,
                unknown=", ".join(unknown) or "—",
                roles=", ".join(sorted(known_roles(core))),
            ),
        )
        return
    created = await people.create_invite(
        session, roles=roles, created_by=user.id, now=core.clock.now(), max_uses=uses, make_admin=make_admin
    )
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={created.code}"
    say(
        core,
        session,
        message.chat.id,
        t(
            "Invite for %(roles)s (%(uses)s use(s)):\n%(link)s\nCode: %(code)s",
            user.language,
            roles=", ".join(roles + (["admin"] if make_admin else [])),
            uses=uses,
            link=link,
            code=created.code,
        ),
    )


@router.message(Command("users"))
async def list_users(message: Message, session: AsyncSession, core: Core, user: User) -> None:
    rows = list((await session.execute(select(User).order_by(User.id))).scalars())
    lines = []
    for person in rows:
        roles = sorted(await people.roles_of(session, person.id))
        admin = " ⭐" if person.is_admin else ""
        lines.append(f"{person.id}. {person.name}{admin} @{person.username or '—'}: {', '.join(roles) or '—'}")
    say(core, session, message.chat.id, "\n".join(lines)[:4000])


async def _target(session: AsyncSession, ref: str) -> User | None:
    if ref.startswith("@"):
        return (await session.execute(select(User).where(User.username == ref[1:]))).scalar_one_or_none()
    if ref.isdigit():
        return await session.get(User, int(ref))
    return None


@router.message(Command("grant", "revoke"))
async def grant_or_revoke(
    message: Message, command: CommandObject, session: AsyncSession, core: Core, user: User
) -> None:
    t = core.translator.t
    words = (command.args or "").split()
    target = await _target(session, words[0]) if words else None
    roles = words[1:]
    unknown = sorted(set(roles) - known_roles(core))
    if target is None or not roles or unknown:
        say(
            core,
            session,
            message.chat.id,
            t(
                "Usage: /%(cmd)s <user id or @username> role1 role2. Unknown: %(unknown)s",
                user.language,
                cmd=command.command,
                unknown=", ".join(unknown) or "—",
            ),
        )
        return
    if command.command == "grant":
        await people.grant(session, target.id, roles)
    else:
        await people.revoke(session, target.id, roles)
    now_roles = sorted(await people.roles_of(session, target.id))
    say(
        core,
        session,
        message.chat.id,
        t("%(name)s now has: %(roles)s", user.language, name=target.name, roles=", ".join(now_roles) or "—"),
    )


@router.message(Command("processes"))
async def processes(message: Message, session: AsyncSession, core: Core, user: User) -> None:
    versions = await core.registry.versions(session)
    lines = [
        f"{key} v{versions.get(key, '?')}: {core.translator.local(loaded.spec.title, user.language)}"
        for key, loaded in sorted(core.registry.library.items())
    ]
    say(core, session, message.chat.id, "\n".join(lines) or "—")


@router.message(F.document.file_name.endswith((".yaml", ".yml")))
async def definition_file(
    message: Message, session: AsyncSession, core: Core, user: User, downloads: dict[str, bytes]
) -> None:
    """Check an uploaded definition; with the caption /load, make it the version new cases start with."""
    t = core.translator.t
    assert message.document is not None
    content = downloads.get(message.document.file_id, b"")
    name = message.document.file_name or "definition.yaml"
    try:
        loaded = parse_definition(content.decode("utf-8", errors="replace"), name)
    except DefinitionError as exc:
        say(
            core,
            session,
            message.chat.id,
            t(
                "The definition has mistakes:\n%(problems)s",
                user.language,
                problems="\n".join(str(p) for p in exc.problems[:30]),
            )[:4000],
        )
        return
    if (message.caption or "").strip() == "/load":
        await core.registry.add(session, loaded, core.clock.now())
        versions = await core.registry.versions(session)
        say(
            core,
            session,
            message.chat.id,
            t(
                "Loaded %(key)s, version %(version)s. New cases start with it; running cases keep their version.",
                user.language,
                key=loaded.key,
                version=versions.get(loaded.key),
            ),
        )
    else:
        say(
            core,
            session,
            message.chat.id,
            t("%(key)s is valid. Send it again with the caption /load to use it.", user.language, key=loaded.key),
        )


@router.message(Command("worktime"))
async def worktime(message: Message, command: CommandObject, session: AsyncSession, core: Core, user: User) -> None:
    """Time spent on timed tasks per person over the last N days (30 by default)."""
    t = core.translator.t
    days = int(command.args) if command.args and command.args.strip().isdigit() else 30
    now = core.clock.now()
    since = now - timedelta(days=days)
    rows = (
        await session.execute(
            select(User.name, Case.process, WorkPeriod.started_at, WorkPeriod.ended_at)
            .join(User, User.id == WorkPeriod.user_id)
            .join(Case, Case.id == WorkPeriod.case_id)
            .where(WorkPeriod.started_at >= since)
        )
    ).all()
    totals: dict[tuple[str, str], float] = {}
    for name, process, started, ended in rows:
        totals[(name, process)] = totals.get((name, process), 0.0) + ((ended or now) - started).total_seconds()
    if not totals:
        say(core, session, message.chat.id, t("No timed work in the last %(days)s days.", user.language, days=days))
        return
    lines = [t("Time spent in the last %(days)s days:", user.language, days=days)]
    for (name, process), seconds in sorted(totals.items()):
        title = (
            core.translator.local(core.registry.library[process].spec.title, user.language)
            if process in core.registry.library
            else process
        )
        lines.append(f"{name} — {title}: {core.wording.duration(seconds, user.language)}")
    by_person: dict[str, float] = {}
    for (name, _process), seconds in totals.items():
        by_person[name] = by_person.get(name, 0.0) + seconds
    lines.append("")
    lines += [
        t(
            "%(name)s in total: %(spent)s",
            user.language,
            name=name,
            spent=core.wording.duration(seconds, user.language),
        )
        for name, seconds in sorted(by_person.items())
    ]
    say(core, session, message.chat.id, "\n".join(lines)[:4000])


@router.message(Command("export"))
async def export(message: Message, command: CommandObject, session: AsyncSession, core: Core, user: User) -> None:
    """`/export fulfillment_quote`: every case of a process with all its fields, as Excel (e.g. refusal reasons)."""
    t = core.translator.t
    process = (command.args or "").strip()
    if process not in core.registry.library:
        say(
            core,
            session,
            message.chat.id,
            t(
                "Usage: /export <process>. Processes: %(list)s",
                user.language,
                list=", ".join(sorted(core.registry.library)),
            ),
        )
        return
    spec = core.registry.library[process].spec
    columns = [
        ReportColumn(field="id", label="№"),
        ReportColumn(field="title", label=t("Case", user.language)),
        ReportColumn(field="stage", label=t("Stage", user.language)),
        ReportColumn(field="responsible", label=t("Responsible", user.language)),
    ]
    columns += [
        ReportColumn(field=name, label=fdef.label) for name, fdef in spec.fields.items() if fdef.type not in ("list",)
    ]
    report = ReportDef(process=process, columns=columns, to="-", title=spec.title)
    rows = await reports.build_rows(core, session, report, user.language, include_closed=True)
    headers = [core.translator.local(c.label, user.language) for c in columns]
    title = core.translator.local(spec.title, user.language)
    content = reports.to_xlsx(title, headers, rows, {}, "")
    stored = await core.files.add(
        session,
        content=content,
        name=f"{title}.xlsx",
        kind="document",
        now=core.clock.now(),
        case_id=None,
        user_id=user.id,
        mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    outbox.enqueue(
        session,
        chat_id=message.chat.id,
        method="sendDocument",
        now=core.clock.now(),
        payload={"file_id": stored.id, "caption": t("%(title)s: %(n)s", user.language, title=title, n=len(rows))},
    )
