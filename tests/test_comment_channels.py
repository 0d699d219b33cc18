"""A comment goes by the people's channels like every other notification: with e-mail switched on for comments,
the dealer's manager gets the representative's comment by e-mail as well as in Telegram; an internal note still
reaches no dealer by any channel."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.container import build_core
from app.settings import Settings
from db.models import Outbox, User
from services import channels, people
from services.access import Viewer
from services.cases.service import CaseService
from services.comments import Comments
from services.core import Core
from tests.test_sales_exchange import order
from tests.test_sales_exchange import people as dealer_and_rep


async def comment(core: Core, author_id: int, case_id: int, text: str, *, internal: bool = False) -> None:
    async with core.sessionmaker() as session, session.begin():
        author = await session.get(User, author_id)
        assert author is not None
        viewer = Viewer.of(author, await people.roles_of(session, author.id))
        thread = Comments(CaseService(core, session))
        await thread.ask(viewer, case_id, internal)
        await thread.post(viewer, text, None)


async def rows_for(core: Core, user: User, since: int) -> list[tuple[str, str]]:
    """(channel, what) of the rows written for a person after row `since`."""
    async with core.sessionmaker() as session:
        rows = (await session.scalars(select(Outbox).where(Outbox.id > since).order_by(Outbox.id))).all()
    found = []
    for row in rows:
        if row.channel == "telegram" and row.chat_id == user.tg_id:
            found.append(("telegram", str(row.payload.get("text", ""))))
        elif row.channel == "email" and row.payload.get("user_id") == user.id:
            found.append(("email", f"{row.payload['to']} | {row.payload['subject']} | {row.payload['body']}"))
    return found


async def last_row(core: Core) -> int:
    async with core.sessionmaker() as session:
        return int(await session.scalar(select(Outbox.id).order_by(Outbox.id.desc()).limit(1)) or 0)


async def test_switching_e_mail_on_for_comments_mails_the_dealer_but_never_an_internal_note(
    tmp_path: Path, database_url: str
) -> None:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None))
    try:
        anna, regina = await dealer_and_rep(core)
        case_id = await order(core, anna, regina, "200.00")
        async with core.sessionmaker() as session, session.begin():
            anna_row = await session.get(User, anna.id)
            assert anna_row is not None
            await channels.set_address(session, anna_row, phone=None, email="anna@sad.example")
            # Out of the box a comment goes by Telegram only.
            assert (await channels.settings(session))["comment"] == channels.KindChannels("comment")

        start = await last_row(core)
        await comment(core, regina.id, case_id, "Отгрузим в четверг")
        assert [channel for channel, _ in await rows_for(core, anna, start)] == ["telegram"]

        async with core.sessionmaker() as session, session.begin():
            await channels.save_settings(session, channels.KindChannels("comment", email=True), core.clock.now())
        start = await last_row(core)
        await comment(core, regina.id, case_id, "Счёт выставлен")
        got = await rows_for(core, anna, start)
        assert [channel for channel, _ in got] == ["telegram", "email"]
        mail = got[1][1]
        assert mail.startswith(f"anna@sad.example | Комментарий к делу №{case_id}: ")
        assert "Регина" in mail and "Счёт выставлен" in mail

        # An internal note of the office: not in Telegram, not by e-mail, not to the dealer's contact address.
        start = await last_row(core)
        await comment(core, regina.id, case_id, "Дилер просит скидку, не давать", internal=True)
        assert await rows_for(core, anna, start) == []
        async with core.sessionmaker() as session:
            later = (await session.scalars(select(Outbox).where(Outbox.id > start))).all()
        assert not any(
            "скидку" in str(row.payload) for row in later if row.chat_id == anna.tg_id or row.channel != "telegram"
        )
    finally:
        await core.close()
