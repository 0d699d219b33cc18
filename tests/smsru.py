"""A local HTTP server that speaks SMS.ru's API as its documentation describes it: `POST /sms/send` and
`POST /sms/status` with `json=1`, its error codes (200 wrong api_id, 202 wrong recipient, 207 a number that
takes no SMS, 220 the service unavailable for a while), and the delivery-report callback it posts to a
client's URL (`data[]` entries «sms_status\\n<sms_id>\\n<code>\\n<unix time>», answered «100»). The tests take it
down, make it answer 220, or make it answer too late, as the real one sometimes does."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web


@dataclass
class Sent:
    sms_id: str
    to: str
    text: str
    sender: str | None


@dataclass
class SmsRuServer:
    api_id: str
    sent: list[Sent] = field(default_factory=list)
    requests: int = 0  # every request to sms/send, answered or not
    outage: int = 0  # the next this many sends are answered 220
    late: float = 0.0  # seconds a send waits after taking the message before it answers
    no_sms: set[str] = field(default_factory=set)  # numbers that answer 207
    status_of: dict[str, int] = field(default_factory=dict)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        if not self.port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
        app = web.Application()
        app.router.add_post("/sms/send", self.send)
        app.router.add_post("/sms/status", self.status)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()
        return self.url

    async def stop(self) -> None:
        """Down: connections to its port are refused until `start` again."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @staticmethod
    def _error(code: int, text: str) -> web.Response:
        return web.json_response({"status": "ERROR", "status_code": code, "status_text": text})

    async def send(self, request: web.Request) -> web.Response:
        self.requests += 1
        form = await request.post()
        if form.get("api_id") != self.api_id:
            return self._error(200, "Неправильный api_id")
        if self.outage > 0:
            self.outage -= 1
            return self._error(220, "Сервис временно недоступен, попробуйте чуть позже")
        if not form.get("msg"):
            return self._error(203, "Нет текста сообщения")
        to = str(form.get("to") or "")
        if not to.isdigit() or not 11 <= len(to) <= 15:
            entry = {"status": "ERROR", "status_code": 202, "status_text": "Неправильно указан номер телефона"}
        elif to in self.no_sms:
            entry = {"status": "ERROR", "status_code": 207, "status_text": "На этот номер нельзя отправлять"}
        else:
            sms_id = f"{len(self.sent):06d}-{1000000 + len(self.sent)}"
            self.sent.append(Sent(sms_id, to, str(form["msg"]), str(form["from"]) if form.get("from") else None))
            self.status_of[sms_id] = 102
            entry = {"status": "OK", "status_code": 100, "sms_id": sms_id}
        if self.late:
            await asyncio.sleep(self.late)  # taken, and the answer comes after the client gave up waiting
        return web.json_response({"status": "OK", "status_code": 100, "sms": {to: entry}, "balance": 4122.56})

    async def status(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("api_id") != self.api_id:
            return self._error(200, "Неправильный api_id")
        found = {}
        for sms_id in str(form.get("sms_id") or "").split(","):
            code = self.status_of.get(sms_id)
            if code is None:
                found[sms_id] = {"status": "ERROR", "status_code": -1, "status_text": "Сообщение не найдено"}
            else:
                found[sms_id] = {"status": "OK", "status_code": code, "cost": 0.5, "status_text": ""}
        return web.json_response({"status": "OK", "status_code": 100, "sms": found, "balance": 4122.56})

    async def report(self, callback_url: str, *codes: tuple[str, int]) -> str:
        """SMS.ru's delivery-report callback: one POST, a `data[]` entry per message."""
        data = aiohttp.FormData()
        for sms_id, code in codes:
            self.status_of[sms_id] = code
            data.add_field("data[]", f"sms_status\n{sms_id}\n{code}\n{int(time.time())}")
        async with aiohttp.ClientSession() as http, http.post(callback_url, data=data) as answer:
            return await answer.text()
