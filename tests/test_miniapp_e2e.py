"""The Mini App for big orders over HTTP, as Telegram's web view calls it: every call carries the initData Telegram
signed (the sandbox signs it with the bot's token, exactly per the Bot API); a forged or altered one, one older than
a day, or one naming somebody the bot does not know gets nothing; each dealer sees their own prices and changes only
their own cart; a refused order leaves the cart and the cases as they were."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from sqlalchemy import func, select

from app.settings import SANDBOX_TOKEN
from db.models import Case
from sandbox.webapp import sign_init_data
from tests.chat import Person
from tests.conftest import Harness
from tests.ports import free_port
from tests.test_dealer_order_again_e2e import KNIFE, knives_by_the_set
from tests.test_dealer_portal_e2e import dealers

WEBAPP_URL = "https://konveyer.test/app/order"  # Telegram opens only HTTPS; the tests reach the server directly


async def mini_app_harness(harness_factory: Callable[..., Awaitable[Harness]]) -> tuple[Harness, str]:
    port = free_port()
    harness = await harness_factory(leads_port=port, webapp_url=WEBAPP_URL)
    return harness, f"http://127.0.0.1:{port}/app"


async def tap_big_order(harness: Harness, person: Person) -> dict[str, Any]:
    """The person sends /cart and taps «🛒 Большой заказ» as a Telegram client does: the sandbox answers the launch
    URL and the initData Telegram signs (opened now by the bot's clock)."""
    await person.send("/cart")
    cart = await person.expect("орзин")  # «Корзина пуста…» or «Ваша корзина…»
    assert "🛒 Большой заказ" in person.buttons(cart)
    opened = await person.open_web_app("🛒 Большой заказ", cart, auth_date=int(harness.clock.now().timestamp()))
    assert opened["url"] == WEBAPP_URL
    return opened


async def open_big_order(harness: Harness, person: Person) -> str:
    return str((await tap_big_order(harness, person))["init_data"])


async def call(
    http: aiohttp.ClientSession, base: str, name: str, init_data: str | None, **body: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"tma {init_data}"} if init_data is not None else {}
    async with http.post(f"{base}/api/{name}", json=body, headers=headers) as response:
        return response.status, await response.json()


def altered(init_data: str, **changes: str) -> str:
    fields = dict(parse_qsl(init_data))
    fields.update(changes)
    return urlencode(fields)


async def orders(harness: Harness) -> int:
    async with harness.core.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(Case).where(Case.process == "order_request"))
    return int(count or 0)


async def test_the_mini_app_acts_only_for_the_person_telegram_signed_for(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness, base = await mini_app_harness(harness_factory)
    people = await dealers(harness, tmp_path / "1c")
    anna, boris = people["anna"], people["boris"]
    http = harness.http

    # The page and its script come from our server (nothing from the internet).
    async with http.get(f"{base}/order") as page:
        html = await page.text()
    assert page.status == 200 and '<script src="miniapp.js">' in html and "https://" not in html
    async with http.get(f"{base}/miniapp.js") as script:
        assert script.status == 200 and "tgWebAppData" in await script.text()

    anna_data = await open_big_order(harness, anna)
    status, me = await call(http, base, "me", anna_data)
    assert status == 200 and (me["name"], me["organisation"]) == ("Анна", "ООО Сад") and me["may_order"]
    assert [f["name"] for f in me["form"]] == ["payment_type", "delivery_type", "delivery_address", "comment"]
    payment = me["form"][0]
    assert payment["label"] == "Оплата" and [o["title"] for o in payment["options"]] == [
        "Предоплата",
        "Отсрочка платежа",
    ]
    status, found = await call(http, base, "search", anna_data, text="газонокосилка stiga", in_stock=True)
    assert [(i["name"], i["price"]) for i in found["items"]] == [
        ("Газонокосилка STIGA Combi 48", "31\xa0500,00\xa0₽"),
        ("Газонокосилка STIGA Twinclip 55", "52\xa0000,00\xa0₽"),
    ], "in stock only, at her wholesale prices"
    combi, twinclip = (i["id"] for i in found["items"])
    status, cart = await call(http, base, "set", anna_data, product_id=combi, quantity=5)
    assert status == 200 and cart["total"] == "157\xa0500,00\xa0₽"

    # Forged: the hash of other data, or her data with Boris's id put in — 401, and her cart is as it was.
    forged = altered(anna_data, hash="0" * 64)
    assert (await call(http, base, "set", forged, product_id=twinclip, quantity=1))[0] == 401
    anna_user = json.loads(dict(parse_qsl(anna_data))["user"])
    posing = altered(anna_data, user=json.dumps({**anna_user, "id": boris.id}, separators=(",", ":")))
    assert (await call(http, base, "cart", posing))[0] == 401
    status, refused = await call(http, base, "cart", None)
    assert status == 401 and "из чата с ботом" in refused["error"]
    # Signed by another bot's token: not ours.
    assert (await call(http, base, "cart", sign_init_data("777:another-bot", dict(parse_qsl(anna_data)))))[0] == 401

    # Boris has his own cart and his own (retail) prices; what he does never touches Anna's.
    boris_data = await open_big_order(harness, boris)
    status, theirs = await call(http, base, "cart", boris_data)
    assert status == 200 and theirs["entries"] == []
    _, his_search = await call(http, base, "search", boris_data, text="combi")
    assert his_search["items"][0]["price"] == "39\xa0900,00\xa0₽"
    await call(http, base, "set", boris_data, product_id=combi, quantity=1)
    _, mine = await call(http, base, "cart", anna_data)
    assert [(e["name"], e["quantity"]) for e in mine["entries"]] == [("Газонокосилка STIGA Combi 48", 5)]
    assert [e["quantity"] for e in (await call(http, base, "cart", boris_data))[1]["entries"]] == [1]

    # Somebody Telegram vouches for but the bot does not know (never joined): nothing.
    stranger = {"user": json.dumps({"id": 999_001, "first_name": "Чужой"})}
    stranger["auth_date"] = str(int(harness.clock.now().timestamp()))
    status, refused = await call(http, base, "search", sign_init_data(SANDBOX_TOKEN, stranger), text="stiga")
    assert status == 403 and "items" not in refused

    # The dealer's service engineer (his chat offers no «Большой заказ»: he may not order) opening the page anyway
    # puts a cart together but is told who orders, and his order is refused with the same words.
    sergey = people["sergey"]
    his = {"user": json.dumps({"id": sergey.id, "first_name": sergey.name}), "auth_date": stranger["auth_date"]}
    his_data = sign_init_data(SANDBOX_TOKEN, his)
    status, seen = await call(http, base, "me", his_data)
    assert status == 200 and seen["may_order"] is False and "менеджер" in seen["texts"]["may_not_order"]
    assert (await call(http, base, "set", his_data, product_id=combi, quantity=2))[0] == 200
    status, refused = await call(http, base, "submit", his_data, payment_type="prepayment", delivery_type="pickup")
    assert status == 403 and refused["error"] == seen["texts"]["may_not_order"]
    assert [e["quantity"] for e in (await call(http, base, "cart", his_data))[1]["entries"]] == [2]

    # An order without the payment and delivery details is refused; the cart and the cases stay as they were.
    status, refused = await call(http, base, "submit", anna_data, payment_type="prepayment")
    assert status == 400 and "Доставка" in refused["error"]
    status, refused = await call(http, base, "submit", anna_data, payment_type="barter", delivery_type="pickup")
    assert status == 400 and "Оплата" in refused["error"]
    assert await orders(harness) == 0
    assert [e["quantity"] for e in (await call(http, base, "cart", anna_data))[1]["entries"]] == [5]

    # A day later the same initData is stale: 401 until she opens the page again from the chat.
    harness.clock.advance(days=1, minutes=1)
    status, refused = await call(http, base, "cart", anna_data)
    assert status == 401 and "слишком давно" in refused["error"]
    fresh = await open_big_order(harness, anna)
    status, placed = await call(http, base, "submit", fresh, payment_type="prepayment", delivery_type="pickup")
    assert status == 200 and placed["amount"] == "157500.00"
    async with harness.core.sessionmaker() as session:
        order = (await session.execute(select(Case).where(Case.process == "order_request"))).scalar_one()
    assert order.id == placed["case_id"] and order.stage == "region_approval"
    assert order.data["positions"][0]["price"] == "31500.00" and order.data["delivery_type"] == "pickup"
    await anna.expect(f"№{order.id}", "Mini App")
    assert (await call(http, base, "cart", fresh))[1]["entries"] == []


async def test_the_mini_app_answers_only_those_the_catalogue_is_for(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Seed 5's sales manager gets no results from `@bot газонокосилка`; opening the Mini App's page (a link passed
    on, a button forwarded) gave him the maker's catalogue and stock all the same. Now the page answers him as the
    inline search does — nothing, and why — while the maker's representative, whose role is in the portal's
    processes, still finds the mowers."""
    harness, base = await mini_app_harness(harness_factory)
    people = await dealers(harness, tmp_path / "1c")
    medical = await harness.person("Марина", "sales_manager")
    http, opened = harness.http, str(int(harness.clock.now().timestamp()))

    def signed(person: Person) -> str:  # as Telegram signs the page's initData for whoever opens it
        return sign_init_data(SANDBOX_TOKEN, {"user": json.dumps({"id": person.id, "first_name": person.name}),
                                              "auth_date": opened})  # fmt: skip

    assert (await medical.inline("газонокосилка"))["results"] == []
    his = signed(medical)
    for name, body in (("search", {"text": "газонокосилка"}), ("me", {}), ("cart", {}),
                       ("set", {"product_id": 1, "quantity": 1})):  # fmt: skip
        status, refused = await call(http, base, name, his, **body)
        assert status == 403 and refused == {"error": "Каталог — для дилеров и тех, кто с ними работает."}, (
            name, status, refused)  # fmt: skip

    status, found = await call(http, base, "search", signed(people["rita"]), text="газонокосилка")
    assert status == 200 and "Газонокосилка STIGA Combi 48" in [i["name"] for i in found["items"]], found
    assert {i["price"] for i in found["items"]} == {None}  # the office has no dealer's prices


def test_the_mini_app_address_must_be_https() -> None:
    """Telegram refuses a message whose web_app button is not HTTPS, so such an address is refused at start."""
    from pydantic import ValidationError

    from app.settings import Settings

    assert Settings(webapp_url=WEBAPP_URL).webapp_url == WEBAPP_URL
    with pytest.raises(ValidationError, match="https"):
        Settings(webapp_url="http://shop.example.com/app/order")


async def test_the_mini_app_and_the_inline_search_say_the_stock_in_the_products_unit(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """1C sells the mower knives by the set: the Big order page says «в наличии: 35 компл» beside a knife (and
    «in stock: 35 sets» once Anna reads English), as the chat's inline search does — not a bare «35» a dealer
    would read as pieces."""
    harness, base = await mini_app_harness(harness_factory)
    folder = tmp_path / "1c"
    anna = (await dealers(harness, folder))["anna"]
    await knives_by_the_set(harness, folder)
    found = await anna.inline("нож")
    assert "в наличии: 35 компл" in found["results"][0]["description"], found["results"]
    async with aiohttp.ClientSession() as http:
        anna_data = await open_big_order(harness, anna)
        status, page = await call(http, base, "search", anna_data, text="нож")
        assert status == 200 and [(i["name"], i["stock"]) for i in page["items"]] == [
            (KNIFE, "в наличии: 35 компл")
        ], page
        await anna.send("/lang")
        await anna.expect("Language: English.")
        status, page = await call(http, base, "search", anna_data, text="нож")
        assert status == 200 and [i["stock"] for i in page["items"]] == ["in stock: 35 sets"], page
