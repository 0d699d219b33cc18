"""Webhook delivery: while a webhook URL is set, the oldest pending update is POSTed to it, one at a time, and
retried with backoff until the bot answers 2xx (Telegram keeps an update until the webhook accepts it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import aiohttp

from .botapi import BotApi
from .errors import ApiError
from .hub import Hub
from .params import Params, Upload

logger = logging.getLogger("sandbox.server")


class WebhookDelivery:
    def __init__(self, hub: Hub, bot_api: BotApi) -> None:
        self.hub = hub
        self.bot_api = bot_api
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _loop(self) -> None:
        hub = self.hub
        state = hub.state
        backoff = 0.5
        while not hub.closing and state.webhook.url:
            if not state.updates:
                await hub.wait_change(5.0)
                continue
            webhook = state.webhook
            update = state.updates[0]
            headers = {"Content-Type": "application/json"}
            if webhook.secret_token:
                headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
            if self._http is None:
                self._http = aiohttp.ClientSession()
            # A `duplicate` fault: the update goes out twice (as Telegram does after a webhook timeout).
            copies = 2 if self.hub.faults.duplicate_next() else 1
            try:
                for _ in range(copies - 1):
                    async with self._http.post(
                        webhook.url, data=json.dumps(update), headers=headers, timeout=aiohttp.ClientTimeout(total=60)
                    ) as resp:
                        await resp.read()
                async with self._http.post(
                    webhook.url,
                    data=json.dumps(update),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as resp:
                    status = resp.status
                    reply: tuple[dict[str, Any], dict[str, Upload]] = ({}, {})
                    if 200 <= status < 300:
                        reply = await self._read_reply(resp)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                self._failed(f"Connection failed: {type(exc).__name__}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if not 200 <= status < 300:
                self._failed(f"Wrong response from the webhook: {status}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.5
            hub.stats.webhook_deliveries += 1
            if state.updates and state.updates[0]["update_id"] == update["update_id"]:
                state.updates.pop(0)
                state.dirty = True
            await self._run_reply(*reply)

    def _failed(self, message: str) -> None:
        webhook = self.hub.state.webhook
        self.hub.stats.webhook_failures += 1
        webhook.last_error_date = int(time.time())
        webhook.last_error_message = message
        logger.warning("Sandbox webhook delivery to %s failed: %s", webhook.url, message)

    @staticmethod
    async def _read_reply(resp: aiohttp.ClientResponse) -> tuple[dict[str, Any], dict[str, Upload]]:
        """Telegram lets a webhook answer with a method call in the response body (JSON or multipart)."""
        values: dict[str, Any] = {}
        files: dict[str, Upload] = {}
        if resp.content_type == "application/json":
            body = await resp.read()
            if body.strip():
                with contextlib.suppress(ValueError):
                    data = json.loads(body)
                    if isinstance(data, dict):
                        values = data
        elif resp.content_type.startswith("multipart/"):
            reader = aiohttp.MultipartReader.from_response(resp)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                    continue
                raw = bytes(await part.read())
                if part.filename:
                    files[part.name] = Upload(part.filename, part.headers.get("Content-Type"), raw)
                else:
                    values[part.name] = raw.decode("utf-8")
        return values, files

    async def _run_reply(self, values: dict[str, Any], files: dict[str, Upload]) -> None:
        method = values.pop("method", None)
        if not isinstance(method, str) or not method:
            return
        try:
            await self.bot_api.call(self.hub.default_bot_token, method, Params(values, files))
        except ApiError as exc:
            logger.warning("Webhook reply method %s failed: %s", method, exc.description)
