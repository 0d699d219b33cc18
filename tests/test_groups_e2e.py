"""Work happens in private chats. When people put the bot into a group chat (as on Telegram: it gets the commands
addressed to it, mentions and service messages there), it shows nothing there, takes nothing said there for a
form answer, and its own joining or removal does not make the people who did it unreachable."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from db.models import User
from tests.conftest import Harness


async def test_the_bot_in_a_group_keeps_the_work_in_private_chats(harness: Harness) -> None:
    marina = await harness.person("Марина", "shop_manager")
    boris = await harness.person("Борис", "shop_manager")
    await marina.send("▶️ Начать процесс")
    await marina.press("Возврат бракованных часов", await marina.expect("Какой процесс"))
    await marina.press("Альфа", await marina.expect("Поставщик"))
    await marina.expect("Количество")

    async def group_call(method: str, path: str = "", **body: Any) -> dict[str, Any]:
        async with harness.http.request(method, f"{harness.base}/sandbox/api/groups{path}", json=body) as response:
            answer = await response.json()
            assert response.status == 200, answer
            return dict(answer)

    group = await group_call("POST", title="Магазин", creator_id=marina.id, member_ids=[boris.id], bot=True)
    gid = group["id"]
    bot = harness.sandbox.BOT_USERNAME
    for text in (f"/start@{bot}", f"/tasks@{bot}", f"@{bot} 5", "/help"):
        await group_call("POST", f"/{gid}/messages", from_user_id=marina.id, text=text)
    await group_call("POST", f"/{gid}/messages", from_user_id=boris.id, text=f"@{bot} 7")
    await harness.settle()

    seen = await group_call("GET", f"/{gid}/messages")
    assert seen["messages"] and not any(m["from_bot"] for m in seen["messages"]), "the bot said something there"
    # «5» in the group was no answer: the form still asks for the quantity in the private chat
    await marina.send("1")
    await marina.expect("Сумма закупки")
    assert not [m for m in await boris.bot_messages() if "Количество" in (m.get("text") or "")]

    # Marina removes the bot from the group: Telegram tells the bot (my_chat_member, «kicked», from Marina), which
    # is about the group, not about Marina's private chat with it.
    bot_id = harness.sandbox.bot_user(harness.sandbox.token)["id"]
    async with harness.http.delete(f"{harness.base}/sandbox/api/groups/{gid}/members/{bot_id}?by={marina.id}") as gone:
        assert gone.status == 200
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        rows = (await session.execute(select(User).where(User.name.in_(("Марина", "Борис"))))).scalars().all()
    assert len(rows) == 2 and all(row.unreachable_at is None for row in rows)
    await marina.send("125 000")
    await marina.expect("Марка")
