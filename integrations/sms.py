"""SMS through SMS.ru's HTTP API (the `services.sms.SmsGateway` port): `sms/send` and `sms/status` with
`json=1`, and the delivery-report callback SMS.ru posts to us (`data[]` entries, each
«sms_status\\n<sms_id>\\n<status code>\\n<unix time>»; SMS.ru wants «100» back).

Codes that matter here: 100 accepted; 220 the service is unavailable for a while and 231 the per-minute limit of
one text to one number (both: try again later); anything else from 200 up (200 wrong api_id, 201 no money,
202 wrong recipient, 207 the number takes no SMS, …) is a refusal for good. Delivery reports: 100-102 on the
way, 103 delivered, 110 read, 104-108 and 150 not delivered and never will be.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
from aiohttp import web

from services.sms import SmsRefused, SmsReport, SmsTemporary, SmsUncertain

log = logging.getLogger(__name__)

DEFAULT_URL = "https://sms.ru"
OK = 100
TEMPORARY = {220, 231}
DELIVERED = {103, 110}
UNDELIVERED = {104, 105, 106, 107, 108, 150}


class SmsRu:
    def __init__(
        self, api_id: str | None, *, sender: str | None = None, base_url: str = DEFAULT_URL, timeout: float = 20.0
    ) -> None:
        self.api_id = api_id
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    @property
    def configured(self) -> bool:
        return bool(self.api_id)

    async def _post(self, method: str, form: dict[str, str]) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession(timeout=self.timeout) as http,
            http.post(f"{self.base_url}/{method}", data={"api_id": self.api_id or "", "json": "1", **form}) as answer,
        ):
            if answer.status == 503:
                raise SmsTemporary(f"SMS.ru: HTTP {answer.status}")
            if answer.status >= 500:
                raise SmsUncertain(f"SMS.ru: HTTP {answer.status}")
            if answer.status != 200:
                raise SmsRefused(f"SMS.ru: HTTP {answer.status}")
            body: dict[str, Any] = await answer.json(content_type=None)
            return body

    async def send(self, phone: str, text: str) -> str:
        to = phone.lstrip("+")
        form = {"to": to, "msg": text}
        if self.sender:
            form["from"] = self.sender
        try:
            body = await self._post("sms/send", form)
        except aiohttp.ClientConnectorError as exc:  # the request never left: nothing was sent
            raise SmsTemporary(f"SMS.ru unreachable: {exc}") from exc
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            # It left and no (readable) answer came: SMS.ru may have accepted it.
            raise SmsUncertain(f"SMS.ru: no answer ({type(exc).__name__}: {exc})") from exc
        _check(body)
        entry = (body.get("sms") or {}).get(to) or {}
        _check(entry)
        sms_id = entry.get("sms_id")
        if not sms_id:
            raise SmsUncertain(f"SMS.ru accepted the request without an sms_id: {body}")
        return str(sms_id)

    async def status(self, external_ids: Sequence[str]) -> list[SmsReport]:
        if not external_ids:
            return []
        try:
            body = await self._post("sms/status", {"sms_id": ",".join(external_ids)})
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise SmsTemporary(f"SMS.ru status: {exc}") from exc
        _check(body)
        reports = []
        for sms_id, entry in (body.get("sms") or {}).items():
            if entry.get("status") == "OK":
                reports.append(
                    _report(str(sms_id), int(entry.get("status_code", 0)), str(entry.get("status_text", "")))
                )
        return reports

    def reports(self, form: Mapping[str, Any]) -> list[SmsReport]:
        found = []
        for key, value in form.items():
            if not key.startswith("data["):
                continue
            lines = str(value).splitlines()
            if len(lines) >= 3 and lines[0] == "sms_status" and lines[2].strip().isdigit():
                code = int(lines[2])
                found.append(_report(lines[1].strip(), code, ""))
        return found


def _check(body: Mapping[str, Any]) -> None:
    code = int(body.get("status_code", 0) or 0)
    if body.get("status") == "OK" and code == OK:
        return
    said = f"SMS.ru {code}: {body.get('status_text') or 'error'}"
    if code in TEMPORARY:
        raise SmsTemporary(said)
    raise SmsRefused(said)


REPORT_TEXT = {
    100: "queued",
    101: "sent to the operator",
    102: "on the way",
    103: "delivered",
    104: "expired",
    105: "deleted by the operator",
    106: "phone failure",
    107: "not delivered",
    108: "rejected",
    110: "read",
    150: "no route to the number",
}


def _report(sms_id: str, code: int, text: str) -> SmsReport:
    return SmsReport(
        external_id=sms_id,
        code=code,
        text=text or REPORT_TEXT.get(code, "?"),
        final=code in DELIVERED | UNDELIVERED,
        delivered=code in DELIVERED,
    )


def callback_app(gateway: SmsRu, record: Callable[[list[SmsReport]], Awaitable[int]], token: str) -> web.Application:
    """The endpoint SMS.ru posts delivery reports to: POST /sms/smsru/<token> (the token, a long random string
    in SMSRU_CALLBACK_TOKEN, keeps others from posting reports). Answers «100», as SMS.ru asks."""

    async def callback(request: web.Request) -> web.Response:
        if request.match_info["token"] != token:
            raise web.HTTPNotFound()
        form = await request.post()
        # aiohttp keeps repeated `data[]` keys; each entry is one report.
        items = [(f"data[{i}]", v) for i, (k, v) in enumerate(form.items()) if k.startswith("data[")]
        reports = gateway.reports(dict(items))
        if reports:
            try:
                await asyncio.shield(record(reports))
            except Exception:
                log.exception("SMS.ru callback: recording %s report(s) failed", len(reports))
                raise web.HTTPInternalServerError() from None  # SMS.ru posts it again later
        return web.Response(text="100")

    app = web.Application()
    app.router.add_post("/sms/smsru/{token}", callback)
    return app
