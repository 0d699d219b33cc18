"""Simulated people: they act in the sandbox over HTTP and time how long the bot takes to answer."""

from __future__ import annotations

import asyncio
import io
import logging
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from PIL import Image

log = logging.getLogger(__name__)

# What the bot says (in Russian) when it is not sure its last question arrived and asks it again (tgbot/conversation.py
# `reasked`): the person's message after it was not taken as the answer, so they answer again.
REASKED = "мой последний вопрос до вас дошёл"



def _picture() -> bytes:
    """A small real PNG: the sandbox decodes photos as Telegram does."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 40, 40)).save(out, format="PNG")
    return out.getvalue()


PHOTO = _picture()


class NoAnswer(Exception):
    pass


@dataclass(frozen=True)
class Action:
    kind: Literal["text", "photo", "press"]
    value: str  # the text to send, or (part of) the label of the button to press
    expect: str  # a fragment of the bot's answer


# Seed 1's start form, filled in chat the way a shop manager does it (form answers and button presses).
REGISTER_DEFECT: tuple[Action, ...] = (
    Action("text", "▶️ Начать процесс", "Какой процесс"),
    Action("press", "Возврат бракованных часов", "Поставщик"),
    Action("press", "Альфа", "Количество"),
    Action("text", "1", "Сумма закупки"),
    Action("text", "125 000", "Марка"),
    Action("text", "Longines", "Входящий номер"),
    Action("text", "ВХ-42", "ФИО сотрудника"),
    Action("text", "Иванова Марина", "Дата поступления"),
    Action("text", "сегодня", "Модель"),  # the goods came today (a date of the past)
    Action("text", "L2.793.4", "Серийный номер"),
    Action("text", "SN-123456", "Описание дефекта"),
    Action("text", "Отстают на 30 секунд в сутки", "Фото дефекта"),
    Action("photo", "defect.png", "Фото дефекта"),
    Action("press", "Готово", "Проверьте"),
    Action("press", "Подтвердить", "зарегистрировано"),
)


def echo_script(script: tuple[Action, ...], button: str) -> tuple[Action, ...]:
    """The same actions (kinds and texts) against the echo bot, which answers each with a message."""
    out: list[Action] = []
    for action in script:
        if action.kind == "text":
            out.append(Action("text", action.value, action.value))
        elif action.kind == "photo":
            out.append(Action("photo", action.value, "photo"))
        else:
            out.append(Action("press", button, "pressed"))
    # the echo bot's first answer carries the button; a script must not start with a press
    return tuple(out)


@dataclass
class SimPerson:
    http: aiohttp.ClientSession
    base: str
    id: int
    timeout: float = 180.0  # generous: on a loaded 2-core machine a backlog of 200 people takes a while
    seen: int = 0
    last: dict[str, Any] | None = None  # the bot message the last action was answered with
    latencies: list[float] = field(default_factory=list)
    reanswered: int = 0  # questions answered again after the bot re-asked them

    @property
    def api(self) -> str:
        return f"{self.base}/sandbox/api/users/{self.id}"

    async def create(self, name: str, language: str = "ru") -> None:
        payload = {"id": self.id, "first_name": name, "username": f"u{self.id}", "language_code": language,
                   "label": name}
        async with self.http.post(f"{self.base}/sandbox/api/users", json=payload) as response:
            if response.status != 200:
                raise RuntimeError(f"sandbox refused user {self.id}: {await response.text()}")

    async def act(self, action: Action, scheduled: float | None = None) -> float:
        """Do one action and wait for the answer; returns the seconds from the action to the answer.

        `scheduled`: when the action was due (open loop); if the person is still waiting for the previous
        answer by then, that wait counts too, so a slow bot cannot hide its backlog (coordinated omission)."""
        began = time.perf_counter()
        await self._send(action)
        await self._wait_for(action.expect, began, again=action if action.kind != "press" else None)
        elapsed = time.perf_counter() - (began if scheduled is None else min(began, scheduled))
        self.latencies.append(elapsed)
        return elapsed

    async def _send(self, action: Action) -> None:
        if action.kind == "text":
            async with self.http.post(f"{self.api}/messages", json={"text": action.value}) as response:
                body = await response.json()
                if response.status != 200:
                    raise NoAnswer(f"user {self.id} could not send {action.value!r}: {body}")
                self.seen = max(self.seen, int(body["message_id"]))
        elif action.kind == "photo":
            form = aiohttp.FormData()
            form.add_field("photo", PHOTO, filename=action.value)
            async with self.http.post(f"{self.api}/messages", data=form) as response:
                body = await response.json()
                if response.status != 200:
                    raise NoAnswer(f"user {self.id} could not send a photo: {body}")
                self.seen = max(self.seen, int(body["message_id"]))
        else:
            message_id, data = self._button(action.value)
            async with self.http.post(f"{self.api}/callbacks",
                                      json={"message_id": message_id, "data": data}) as response:
                if response.status != 200:
                    raise NoAnswer(f"user {self.id} could not press {action.value!r}: {await response.text()}")
                await response.read()

    def _button(self, label: str) -> tuple[int, str]:
        if self.last is None:
            raise NoAnswer(f"user {self.id}: no message with a button {label!r}")
        for row in self.last.get("inline_keyboard") or []:
            for key in row:
                if label in key["text"] and key.get("callback_data"):
                    return int(self.last["message_id"]), str(key["callback_data"])
        raise NoAnswer(f"user {self.id}: no button {label!r} in {str(self.last.get('text'))[:200]!r}")

    async def _wait_for(self, fragment: str, began: float, again: Action | None = None, case: int = 0) -> None:
        """Wait for a bot message holding `fragment` (and naming case №`case`, where given: a fresh copy of an older
        case's card, sent after a crash, is not this one's). When the bot says it is not sure its question reached
        the person (a crash mid-send) and asks it again, the person answers it again, as people do (`again`)."""
        deadline = began + self.timeout
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise NoAnswer(f"user {self.id} got no answer with {fragment!r} in {self.timeout:.0f} s")
            params = {"after": str(self.seen), "wait": f"{min(remaining, 5.0):.3f}"}
            async with self.http.get(f"{self.api}/messages", params=params) as response:
                body = await response.json()
            for message in body["messages"]:
                if not message.get("from_bot") or message["message_id"] <= self.seen:
                    continue
                self.seen = int(message["message_id"])
                text = message.get("text") or message.get("caption") or ""
                if fragment in text and (not case or re.search(rf"№{case}(?!\d)", text)):
                    self.last = message
                    return
                if again is not None and REASKED in text:
                    log.info("user %s: the bot asked again after a crash; answering again", self.id)
                    self.reanswered += 1
                    await self._send(again)

    async def burst(self, texts: tuple[str, ...], expect: str) -> None:
        """Several messages at once, without waiting for answers (then wait for `expect`): the bot must take
        them in the order they were sent, or the answers land in the wrong fields."""
        began = time.perf_counter()
        for value in texts:
            async with self.http.post(f"{self.api}/messages", json={"text": value}) as response:
                body = await response.json()
                if response.status != 200:
                    raise NoAnswer(f"user {self.id} could not send {value!r}: {body}")
                self.seen = max(self.seen, int(body["message_id"]))
        await self._wait_for(expect, began)

    async def run(self, script: tuple[Action, ...], rounds: int) -> int:
        done = 0
        for _ in range(rounds):
            for action in script:
                await self.act(action)
                done += 1
        return done


async def run_people(people: list[SimPerson], script: tuple[Action, ...], rounds: int) -> tuple[int, float]:
    """Everyone works at once; returns (actions answered, seconds)."""
    began = time.perf_counter()
    counts = await asyncio.gather(*(p.run(script, rounds) for p in people))
    return sum(counts), time.perf_counter() - began


async def run_open_loop(people: list[SimPerson], script: tuple[Action, ...], think: tuple[float, float],
                        actions: int, seed: int = 1) -> tuple[int, float]:
    """A realistic load: each person acts every `think` seconds (uniform) on their own schedule, started at
    a random moment of the first interval; arrivals do not wait for the bot (open loop). Returns
    (actions answered, seconds)."""
    rng = random.Random(seed)
    began = time.perf_counter()
    plans = [[rng.uniform(0, think[1])] for _ in people]
    for plan in plans:
        for _ in range(actions - 1):
            plan.append(plan[-1] + rng.uniform(*think))

    async def one(person: SimPerson, plan: list[float]) -> int:
        for action, at in zip(script[:actions], plan, strict=False):
            due = began + at
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await person.act(action, scheduled=due)
        return min(actions, len(script))

    counts = await asyncio.gather(*(one(p, plan) for p, plan in zip(people, plans, strict=True)))
    return sum(counts), time.perf_counter() - began
