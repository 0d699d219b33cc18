"""Drive people through the sandbox's user API over real HTTP, so tests read like a conversation."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from PIL import Image

# Telegram delivers about one message a second per chat (the sandbox enforces it), and a card may bring its files
# first: on a loaded two-core machine an answer can trail by many seconds without anything being wrong.
DEFAULT_TIMEOUT = 30.0


def picture(width: int = 64, height: int = 48) -> bytes:
    """A small real PNG: the sandbox decodes a photo as Telegram does and refuses bytes that are no image."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (180, 40, 40)).save(out, format="PNG")
    return out.getvalue()


class ChatError(AssertionError):
    pass


@dataclass
class Person:
    http: aiohttp.ClientSession
    base: str
    id: int
    name: str
    seen: int = 0  # messages up to this id were already looked at by `expect`
    log: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"{self.base}/sandbox/api/users/{self.id}"

    async def send(self, text: str) -> dict[str, Any]:
        async with self.http.post(f"{self.api}/messages", json={"text": text}) as response:
            body = await response.json()
            if response.status != 200:
                raise ChatError(f"{self.name} could not send {text!r}: {body}")
            self.seen = max(self.seen, body["message_id"])
            return dict(body)

    async def send_file(
        self, kind: str, content: bytes, filename: str, caption: str | None = None, content_type: str | None = None
    ) -> dict[str, Any]:
        """`content_type`: the MIME type the person's app names (a picture sent as a file: «image/png»)."""
        form = aiohttp.FormData()
        form.add_field(kind, content, filename=filename, content_type=content_type)
        if caption:
            form.add_field("caption", caption)
        async with self.http.post(f"{self.api}/messages", data=form) as response:
            body = await response.json()
            if response.status != 200:
                raise ChatError(f"{self.name} could not send a {kind}: {body}")
            self.seen = max(self.seen, body["message_id"])
            return dict(body)

    async def album(self, photos: list[bytes], album_id: str) -> None:
        """Several photos picked at once on the phone: Telegram sends them as messages of one album."""
        for n, content in enumerate(photos):
            form = aiohttp.FormData()
            form.add_field("photo", content, filename=f"IMG_{n:04}.png")
            form.add_field("media_group_id", album_id)
            async with self.http.post(f"{self.api}/messages", data=form) as response:
                body = await response.json()
                if response.status != 200:
                    raise ChatError(f"{self.name} could not send an album: {body}")
                self.seen = max(self.seen, body["message_id"])

    async def photo(self, content: bytes | None = None, filename: str = "defect.png") -> None:
        await self.send_file("photo", content if content is not None else picture(), filename)

    async def document(self, content: bytes, filename: str) -> None:
        await self.send_file("document", content, filename)

    async def chat(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.api}/messages", params={"after": "0"}) as response:
            body = await response.json()
            return list(body["messages"])

    async def bot_messages(self) -> list[dict[str, Any]]:
        return [m for m in await self.chat() if m["from_bot"] and not m.get("deleted")]

    async def expect(self, *fragments: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Wait for a new bot message (after the last one expected) containing every fragment."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for message in await self.bot_messages():
                if message["message_id"] <= self.seen:
                    continue
                text = message.get("text") or ""
                if all(f in text for f in fragments):
                    self.seen = message["message_id"]
                    return message
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                texts = [(m["message_id"], (m.get("text") or "")[:300]) for m in (await self.bot_messages())[-8:]]
                raise ChatError(f"{self.name} did not get a message with {fragments}; last messages: {texts}")
            async with self.http.get(
                f"{self.api}/messages", params={"after": str(self.seen), "wait": str(min(remaining, 1.0))}
            ):
                pass

    async def find(self, *fragments: str) -> dict[str, Any] | None:
        """The newest bot message (edited or not) that contains every fragment."""
        for message in reversed(await self.bot_messages()):
            if all(f in (message.get("text") or "") for f in fragments):
                return message
        return None

    async def wait_for(self, *fragments: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Like `find`, but waits: also sees edits of older messages (task cards)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await self.find(*fragments)
            if found is not None:
                return found
            if asyncio.get_running_loop().time() > deadline:
                texts = [(m["message_id"], (m.get("text") or "")[:300]) for m in (await self.bot_messages())[-8:]]
                raise ChatError(f"{self.name} never saw {fragments}; last messages: {texts}")
            await asyncio.sleep(0.05)

    async def card(
        self, *fragments: str, button: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        """The newest message with these fragments that still has buttons (a task card, not a reminder)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for message in reversed(await self.bot_messages()):
                text = message.get("text") or ""
                keys = [k["text"] for row in message.get("inline_keyboard") or [] for k in row]
                if all(f in text for f in fragments) and keys and (button is None or any(button in k for k in keys)):
                    self.seen = max(self.seen, message["message_id"])
                    return message
            if asyncio.get_running_loop().time() > deadline:
                texts = [(m["message_id"], (m.get("text") or "")[:200]) for m in (await self.bot_messages())[-6:]]
                raise ChatError(f"{self.name} has no card with {fragments}; last messages: {texts}")
            await asyncio.sleep(0.05)

    async def press(
        self, button: str, message: dict[str, Any] | None = None, *, in_message: str | None = None
    ) -> str | None:
        """Press the inline button whose text contains `button` on the given (or newest matching) message."""
        candidates = [message] if message is not None else list(reversed(await self.bot_messages()))
        for candidate in candidates:
            if in_message and in_message not in (candidate.get("text") or ""):
                continue
            for row in candidate.get("inline_keyboard") or []:
                for key in row:
                    if button in key["text"] and key.get("callback_data"):
                        return await self.press_data(candidate["message_id"], key["callback_data"])
        raise ChatError(f"{self.name} has no button {button!r}" + (f" in {in_message!r}" if in_message else ""))

    async def open_web_app(
        self, button: str, message: dict[str, Any], *, auth_date: int | None = None
    ) -> dict[str, Any]:
        """Tap a web_app button as a Telegram client does: the sandbox answers the launch URL with signed initData
        (`auth_date`: when Telegram says it was opened — the bot's clock in these tests)."""
        payload: dict[str, Any] = {"message_id": message["message_id"], "text": button}
        if auth_date is not None:
            payload["auth_date"] = auth_date
        async with self.http.post(f"{self.api}/web_app", json=payload) as response:
            body = await response.json()
            if response.status != 200:
                raise ChatError(f"{self.name} could not open the Mini App {button!r}: {body}")
            return dict(body)

    async def press_data(self, message_id: int, data: str, *, unchecked: bool = False) -> str | None:
        """Press by callback data. `unchecked`: a press no up-to-date client could send (a button the bot removed a
        moment ago, or data a modified client made up); the sandbox refuses those unless told."""
        payload = {"message_id": message_id, "data": data, "unchecked": unchecked}
        async with self.http.post(f"{self.api}/callbacks", json=payload) as response:
            body = await response.json()
            if response.status != 200:
                raise ChatError(f"{self.name} could not press: {body}")
            return body.get("text")

    async def inline(self, query: str, offset: str = "") -> dict[str, Any]:
        """Type `@bot query` (or scroll to `offset`): the bot's answer, with the `query_id` to pick a result of."""
        payload = {"query": query, "offset": offset, "wait": DEFAULT_TIMEOUT}
        async with self.http.post(f"{self.api}/inline_queries", json=payload) as response:
            body = await response.json()
            if response.status != 200 or not body.get("answered"):
                raise ChatError(f"{self.name} got no answer to the inline query {query!r}: {body}")
            return dict(body)

    async def choose(self, answer: dict[str, Any], title: str) -> dict[str, Any]:
        """Tap the inline result titled so: it goes to the chat as this person's message via the bot."""
        result = next((r for r in answer["results"] if title in r["title"]), None)
        if result is None:
            raise ChatError(f"{self.name} has no inline result {title!r}: {[r['title'] for r in answer['results']]}")
        payload = {"query_id": answer["query_id"], "result_id": result["id"]}
        async with self.http.post(f"{self.api}/inline_results", json=payload) as response:
            body = await response.json()
            if response.status != 200:
                raise ChatError(f"{self.name} could not pick {title!r}: {body}")
            self.seen = max(self.seen, body["message_id"])
            return dict(body)

    def buttons(self, message: dict[str, Any]) -> list[str]:
        return [key["text"] for row in message.get("inline_keyboard") or [] for key in row]

    async def no_buttons_left(self, message_id: int, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The message once an edit has taken its buttons away (the edit goes out through the outbox, after the
        update that made it)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            message = next(m for m in await self.bot_messages() if m["message_id"] == message_id)
            if not self.buttons(message):
                return message
            if asyncio.get_running_loop().time() > deadline:
                raise ChatError(f"{self.name}'s message {message_id} still has buttons: {self.buttons(message)}")
            await asyncio.sleep(0.05)

    async def documents(self) -> list[dict[str, Any]]:
        return [m["document"] for m in await self.bot_messages() if m.get("document")]

    async def download(self, url: str) -> bytes:
        async with self.http.get(url) as response:
            return await response.read()


async def create_person(
    http: aiohttp.ClientSession, base: str, user_id: int, name: str, language: str = "ru", label: str | None = None
) -> Person:
    payload = {
        "id": user_id,
        "first_name": name,
        "username": f"u{user_id}",
        "language_code": language,
        "label": label or name,
    }
    async with http.post(f"{base}/sandbox/api/users", json=payload) as response:
        assert response.status == 200, await response.text()
    return Person(http=http, base=base, id=user_id, name=name)


async def start_a_process(person: Person, process: str, question: str) -> dict[str, Any]:
    """«▶️ Начать процесс», the process pressed in the list: its form's first question (`question` in it)."""
    await person.send("▶️ Начать процесс")
    await person.press(process, await person.expect("Какой процесс"))
    return await person.expect(question)


async def start_a_return_of_faulty_watches(manager: Person) -> None:
    """A shop manager starts a return of faulty watches to the supplier Альфа and is asked the quantity (seed 1's
    first form, a few fields in)."""
    await manager.press("Альфа", await start_a_process(manager, "Возврат бракованных часов", "Поставщик"))
    await manager.expect("Количество")


async def a_return_up_to_the_employee(manager: Person) -> dict[str, Any]:
    """A shop manager starts a return of faulty watches (`start_a_return_of_faulty_watches`) and answers up to
    «ФИО сотрудника»: one watch bought for 10 000, a Tissot, incoming number ВХ-1. That question is returned."""
    await start_a_return_of_faulty_watches(manager)
    for answer, next_label in (("1", "Сумма закупки"), ("10000", "Марка"), ("Tissot", "Входящий номер")):
        await manager.send(answer)
        await manager.expect(next_label)
    await manager.send("ВХ-1")
    return await manager.expect("ФИО сотрудника")


async def a_return_up_to_the_arrival_date(manager: Person) -> dict[str, Any]:
    """`a_return_up_to_the_employee`, the employee Иванова Марина: the question «Дата поступления товара»."""
    await a_return_up_to_the_employee(manager)
    await manager.send("Иванова Марина")
    return await manager.expect("Дата поступления товара")


async def describe_the_faulty_watch(manager: Person) -> None:
    """The manager, past the arrival date of a return, says which watch is faulty and how (model, serial number,
    defect), sends a photo of the defect and is done with the photos."""
    for label, answer in (("Модель", "L2.793.4"), ("Серийный номер", "SN-1"), ("Описание дефекта", "Отстают")):
        await manager.expect(label)
        await manager.send(answer)
    await manager.expect("Фото дефекта")
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "1"))


async def start_a_deal_with_a_new_client(manager: Person, client: str) -> None:
    """A manager starts a deal (seed 2) for a client not in the directory yet: types its name and adds it with
    «Создать»; the form goes on to the volumes."""
    await start_a_process(manager, "Сделка", "Клиент")
    await manager.send(client)
    await manager.press("Создать", await manager.expect(client, "Создать"))
