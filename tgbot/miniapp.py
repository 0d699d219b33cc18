"""The Mini App for big orders (seed 4): a page Telegram opens from the «🛒 Большой заказ» button, served at
/app/order on the site-facing server, with the catalogue (words, group, in stock), the cart with quantities, and
payment and delivery; submitting takes the same path as the chat's cart (`Portal.submit_order`).

The page is plain HTML with one small script (`miniapp.js`, shipped with the package: no CDN). It reads the
`initData` Telegram hands it (`window.Telegram.WebApp.initData` inside Telegram's own script, else the URL's
`#tgWebAppData=…` fragment, as Telegram passes it) and sends it with every call as `Authorization: tma <initData>`.
Each call is checked as Telegram signs it (aiogram's `safe_parse_webapp_init_data` with the bot token; Bot API,
«Validating data received via the Mini App»): a wrong signature, or one older than a day, is 401; the person it
names acts with exactly their chat rights (`services.access.may_open_mini_app`, their organisation's price type,
their own cart) — someone unknown, inactive or not yet approved gets 403 and nothing else, and so does someone whose
roles do not see the catalogue (`access.may_browse`, read as `PortalRights.browse`: the inline search's rule).

API (POST, JSON in and out; errors are {"error": text in the person's language}):
  /app/api/me       -> {name, organisation, texts, groups: [{id, name, depth}], form: [{name, label, type,
                        required, options: [{value, title}], shown_when: {field, value} | null}], may_order}
                        (may_order false: the page keeps the cart and offers no order, as the chat does)
  /app/api/search   {text, group_id?, in_stock?, offset?} -> {items: [{id, name, article, price, stock}], next_offset}
  /app/api/cart     -> {entries: [{product_id, name, quantity, price, total}], total}
  /app/api/set      {product_id, quantity} -> the cart (0 takes the position out)
  /app/api/submit   {payment_type, delivery_type, delivery_address, comment} -> {case_id, message}; 403 for
                        someone who may not order
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp import web

from flows.i18n import _
from flows.model import local
from flows.runtime import EngineError
from services import access, outbox, people
from services.cases.service import CaseService
from services.core import Core
from services.portal import ORDER_PROCESS, Portal
from services.portal_cart import MAX_QUANTITY, CartView
from services.portal_query import Filters
from tgbot.portal_view import counted, money

log = logging.getLogger(__name__)

MAX_AGE = timedelta(days=1)  # initData older than this is refused: a link someone kept is not a login
MAX_BODY = 16 * 1024
STATIC = Path(__file__).parent
FILES = {"order": ("miniapp.html", "text/html"), "miniapp.js": ("miniapp.js", "text/javascript"),
         "miniapp.css": ("miniapp.css", "text/css")}  # fmt: skip
SHOWN_WHEN = re.compile(r"^\s*(\w+)\s*==\s*'([^']*)'\s*$")  # a simple `ask_if` the page can follow as one types

# The page's words, translated for the person (msgids in English, services/locales).
TEXTS = {
    "title": _("🛒 Big order"),
    "search": _("Name, article or barcode"),
    "all_groups": _("All groups"),
    "in_stock": _("In stock only"),
    "find": _("Find"),
    "more": _("More"),
    "nothing": _("Nothing found."),
    "add": _("Add"),
    "cart": _("Cart"),
    "empty": _("Your cart is empty."),
    "total": _("Total"),
    "details": _("Payment and delivery"),
    "submit": _("Place the order"),
    "no_price": _("no price for you"),
    "may_not_order": _("Orders are placed by your organisation's manager: you can put the cart together for them."),
}

Action = Callable[[Portal, dict[str, Any]], Awaitable[dict[str, Any]]]


class Refused(Exception):
    def __init__(self, status: int, message: str, **params: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.params = status, message, params


class MiniApp:
    def __init__(self, core: Core, bot_token: str) -> None:
        self.core = core
        self.bot_token = bot_token

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_get("/{file}", self.file)
        for name, action in (
            ("me", self.me),
            ("search", self.search),
            ("cart", self.cart),
            ("set", self.set_quantity),
            ("submit", self.submit),
        ):
            app.router.add_post(f"/api/{name}", self._endpoint(action))
        return app

    async def file(self, request: web.Request) -> web.StreamResponse:
        found = FILES.get(request.match_info["file"])
        if found is None:
            raise web.HTTPNotFound()
        name, kind = found
        return web.Response(body=(STATIC / name).read_bytes(), content_type=kind, charset="utf-8")

    def t(self, message: str, lang: str | None, **params: Any) -> str:
        return self.core.translator.t(message, lang, **params)

    def _endpoint(self, action: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            lang: str | None = None
            try:
                tg_id = self._verified(request.headers.get("Authorization", ""))
                try:
                    body = await request.json() if request.can_read_body else {}
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    raise Refused(400, _("The body is not a JSON object."))
                async with self.core.sessionmaker() as session, session.begin():
                    # The row lock keeps the page and the person's chat from changing the cart at the same time.
                    user = await people.user_by_tg(session, tg_id, lock=not self.core.sqlite)
                    if user is None or not access.may_open_mini_app(user):
                        raise Refused(403, _("You have no access to the bot yet."))
                    lang = user.language
                    portal = Portal(self.core, session, user)
                    # The page is the catalogue and a cart from it: for whom the inline search answers, no one else.
                    viewer = access.Viewer.of(user, await people.roles_of(session, user.id))
                    if not portal.rights(viewer).browse:
                        raise Refused(403, _("The catalogue is for dealers and those who serve them."))
                    answer = await action(portal, body)
            except Refused as refused:
                return web.json_response(
                    {"error": self.t(refused.message, lang, **refused.params)}, status=refused.status
                )
            except EngineError as error:  # the cart and the case stay as they were: the transaction rolled back
                return web.json_response({"error": self.t(error.message, lang, **error.params)}, status=400)
            self.core.outbox_written()
            return web.json_response(answer, dumps=lambda v: json.dumps(v, ensure_ascii=False))

        return handle

    def _verified(self, header: str) -> int:
        """The Telegram id the initData names, once its signature and age are checked."""
        scheme, _sep, init_data = header.partition(" ")
        if scheme != "tma" or not init_data:
            raise Refused(401, _("Open this page from the bot's chat in Telegram."))
        try:
            data = safe_parse_webapp_init_data(self.bot_token, init_data)
        except ValueError:
            raise Refused(401, _("Telegram's signature of this page is wrong.")) from None
        if data.user is None:
            raise Refused(401, _("Open this page from the bot's chat in Telegram."))
        if self.core.clock.now() - data.auth_date > MAX_AGE:
            raise Refused(401, _("This page was opened too long ago: open it again from the bot's chat."))
        return int(data.user.id)

    # --- the calls ----------------------------------------------------------------------------------------

    async def me(self, portal: Portal, _body: dict[str, Any]) -> dict[str, Any]:
        user, lang = portal.user, portal.user.language
        company = await portal.organisation()
        spec = self.core.registry.latest(ORDER_PROCESS)[1]
        form = []
        for name in spec.start.form:
            fdef = spec.fields[name]
            shown = SHOWN_WHEN.match(fdef.ask_if or "")
            form.append(
                {
                    "name": name,
                    "label": local(fdef.label, lang),
                    "type": fdef.type,
                    "required": bool(fdef.required),
                    "options": [{"value": k, "title": local(v, lang)} for k, v in (fdef.options or {}).items()],
                    "shown_when": {"field": shown.group(1), "value": shown.group(2)} if shown else None,
                }
            )
        return {
            "name": user.name,
            "organisation": company.name if company else None,
            "texts": {key: self.t(msgid, lang) for key, msgid in TEXTS.items()},
            "groups": [{"id": gid, "name": name, "depth": depth} for gid, name, depth in await portal.groups()],
            "form": form,
            # The chat's rule (`access.portal_rights`): the page offers the order only to someone who may place it.
            "may_order": await self._may_order(portal),
        }

    async def _may_order(self, portal: Portal) -> bool:
        roles = await people.roles_of(portal.session, portal.user.id)
        return portal.rights(access.Viewer.of(portal.user, roles)).order

    async def search(self, portal: Portal, body: dict[str, Any]) -> dict[str, Any]:
        text = str(body.get("text") or "")[:200]
        filters = Filters(words=text, in_stock=bool(body.get("in_stock")))
        group = body.get("group_id")
        offset = body.get("offset")
        offers, next_offset = await portal.find(
            filters,
            offset if isinstance(offset, int) and offset >= 0 else 0,
            group_id=group if isinstance(group, int) else None,
        )
        lang = portal.user.language
        items = [
            {
                "id": o.product.id,
                "name": o.product.name,
                "article": o.product.article or "",
                "price": money(o.price, lang) if o.price is not None else None,
                "stock": self.t("in stock: %(n)s", lang, n=counted(o.product.quantity, o.product.unit, lang))
                if o.product.quantity > 0
                else self.t("not in stock", lang),
            }
            for o in offers
        ]
        return {"items": items, "next_offset": next_offset}

    async def cart(self, portal: Portal, _body: dict[str, Any]) -> dict[str, Any]:
        return self._cart(await portal.cart(), portal.user.language)

    def _cart(self, view: CartView, lang: str) -> dict[str, Any]:
        entries = [
            {
                "product_id": e.product.id if e.product else None,
                "name": e.product.name if e.product else self.t("(no longer in the catalogue)", lang),
                "quantity": e.quantity,
                "price": money(e.price, lang),
                "total": money(e.total, lang),
            }
            for e in view.entries
        ]
        return {"entries": entries, "total": money(view.total, lang)}

    async def set_quantity(self, portal: Portal, body: dict[str, Any]) -> dict[str, Any]:
        product, count = body.get("product_id"), body.get("quantity")
        if not isinstance(product, int) or not isinstance(count, int) or not 0 <= count <= MAX_QUANTITY:
            raise Refused(400, _("A quantity is a whole number from 0 to %(n)s."), n=MAX_QUANTITY)
        await portal.set_quantity(product, count)
        return self._cart(await portal.cart(), portal.user.language)

    async def submit(self, portal: Portal, body: dict[str, Any]) -> dict[str, Any]:
        if not await self._may_order(portal):
            raise Refused(403, TEXTS["may_not_order"])
        view = await portal.cart()
        loaded = await portal.submit_order_with(CaseService(self.core, portal.session), body)
        lang, number = portal.user.language, loaded.row.id
        text = self.t(
            "Order request #%(n)s is placed from the Mini App: %(count)s positions for %(total)s.",
            lang,
            n=number,
            count=len(view.entries),
            total=money(view.total, lang),
        )
        outbox.message(portal.session, portal.user.tg_id, text, portal.now)  # the chat sees what the page did
        log.info("mini app: order request %s by user %s", number, portal.user.id)
        return {"case_id": number, "message": text, "amount": str(view.total.quantize(Decimal("0.01")))}
