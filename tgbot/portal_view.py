"""The dealer portal's messages: inline results of the catalogue, a product's card, the cart, the reclamations'
list for the staff (plain text, as every message of the bot; only an inline result's own text is HTML).
Texts are msgids in English (services/locales); nothing internal reaches a person."""

from __future__ import annotations

import html
from decimal import Decimal

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InlineQueryResultUnion,
    InputTextMessageContent,
    WebAppInfo,
)

from flows.i18n import _
from flows.units import unit_text
from flows.values import format_value, number_sign
from services.access import PortalRights
from services.companies import Credit
from services.i18n import LANGUAGES
from services.onec_documents.sheet import shown_date
from services.onec_documents.sheet import title as document_title
from services.portal_cart import CartEntry, CartView
from services.portal_catalogue import Card, Export, Offer
from services.reclamations import ReclamationPage
from tgbot.callbacks import (
    CartCb,
    CartEditCb,
    CaseCb,
    OrdersCb,
    ProductCb,
    ReclamationsCb,
    TaskCb,
    button_label,
)
from tgbot.render import Renderer

# A dealer's person whose price is not set (their price type is not in the catalogue, or the product has no price
# in it): said plainly, with whom to ask, instead of a dash.
NO_PRICE = _("Your price is not set yet: ask your regional representative or the representative office.")


def money(value: Decimal | None, lang: str | None) -> str:
    """An amount in roubles as a case's card shows it to this reader: «6 100,00 ₽» in Russian, «6,100.00 ₽» in
    English (`flows.values.format_value`, which cards and summaries use)."""
    return "—" if value is None else format_value("money", value, lang=lang if lang in LANGUAGES else "ru")


def quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


def counted(value: Decimal, unit: str | None, lang: str) -> str:
    """«35 компл», «35 sets»: a quantity of a product in its own unit (none when 1C gave it none)."""
    return f"{quantity(value)} {unit_text(unit, lang, value)}".rstrip()


def product_link(bot_username: str, product_id: int) -> str:
    """The link an inline result's message carries: the bot reads the product from it (and a tap opens the card)."""
    return f"https://t.me/{bot_username}?start=product-{product_id}"


# The deep link an empty search's button opens: the chat's word on how the catalogue is searched.
HOW_TO_SEARCH = "how_to_search"


def nothing_found(r: Renderer, lang: str, query: str) -> InlineQueryResultsButton:
    """The button above an empty inline answer: what was not found (a long query cut), and a tap opens the chat
    with how to search. A button's label is short on a phone, so the query is cut at 24 characters."""
    typed = " ".join(query.split())
    typed = typed if len(typed) <= 24 else typed[:23] + "…"
    return InlineQueryResultsButton(
        text=r.t("Nothing found for “%(query)s” — how to search", lang, query=typed), start_parameter=HOW_TO_SEARCH
    )


def inline_results(r: Renderer, offers: list[Offer], lang: str, bot_username: str) -> list[InlineQueryResultUnion]:
    results: list[InlineQueryResultUnion] = []
    for offer in offers:
        product = offer.product
        in_stock = product.quantity > 0
        stock = r.t("in stock: %(n)s", lang, n=counted(product.quantity, product.unit, lang)) if in_stock else None
        details = [
            r.t("art. %(article)s", lang, article=product.article) if product.article else None,
            money(offer.price, lang) if offer.price is not None else None,
            stock or r.t("not in stock", lang),
        ]
        link = html.escape(product_link(bot_username, product.id), quote=True)
        text = f'🔎 <a href="{link}">{html.escape(product.name)}</a>'
        results.append(
            InlineQueryResultArticle(
                id=str(product.id),
                title=product.name[:200],
                description=" · ".join(d for d in details if d),
                input_message_content=InputTextMessageContent(message_text=text, parse_mode="HTML"),
            )
        )
    return results


def catalogue_button(r: Renderer, lang: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=r.t("🔎 Catalogue", lang), switch_inline_query_current_chat="")


def big_order_rows(r: Renderer, lang: str, webapp_url: str | None) -> list[list[InlineKeyboardButton]]:
    """«🛒 Большой заказ» opens the Mini App (an inline web_app button: Telegram hands it the person's signed
    initData, which a reply-keyboard button would not)."""
    if not webapp_url:
        return []
    return [[InlineKeyboardButton(text=r.t("🛒 Big order", lang), web_app=WebAppInfo(url=webapp_url))]]


def add_label(r: Renderer, rights: PortalRights, lang: str) -> str:
    """The button that puts a product into the cart: «To the request» for someone who orders, «To the cart» for
    someone whose cart only feeds a reclamation's parts."""
    return r.t("🛒 To the request", lang) if rights.order else r.t("🛒 To the cart", lang)


def catalogue_prompt(
    r: Renderer, lang: str, rights: PortalRights, webapp_url: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    text = (
        r.t(
            "Search the catalogue by name, article or barcode. Filters: “!” — in stock only, “from 1000”, “to 50000” — "
            "your price, “#Group” — a group.",
            lang,
        )
        + "\n"
        + r.t("“/catalog_excel query” sends the same search as an Excel file.", lang)
    )
    cart = InlineKeyboardButton(text=r.t("🧺 Cart", lang), callback_data=CartCb(action="show").pack())
    excel = InlineKeyboardButton(text=r.t("📥 Excel", lang), callback_data=CartCb(action="excel").pack())
    rows = [
        [catalogue_button(r, lang)],
        [cart, excel] if rights.cart else [excel],
        *big_order_rows(r, lang, webapp_url if rights.order else None),
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def export_headers(r: Renderer, lang: str) -> list[str]:
    return [
        r.t("Product name", lang),
        r.t("Article", lang),
        r.t("Barcode", lang),
        r.t("Unit", lang),
        r.t("Your price, ₽", lang),
        r.t("In stock, total", lang),
    ]


def export_caption(r: Renderer, export: Export, query: str, lang: str) -> str:
    caption = r.t("Catalogue: %(n)s products", lang, n=len(export.offers))
    if query.strip():
        caption += " — " + r.t("“%(text)s”", lang, text=query.strip()[:200])
    if export.truncated:
        caption += "\n" + r.t("Only the first %(n)s: narrow the search for the rest.", lang, n=len(export.offers))
    return caption


def product_card(r: Renderer, card: Card, lang: str, rights: PortalRights) -> tuple[str, InlineKeyboardMarkup]:
    """The product with this person's price and its stock; the buttons are only those the person may use."""
    product = card.offer.product
    lines = [product.name]
    if product.article:
        lines.append(r.t("Article: %(article)s", lang, article=product.article))
    if product.barcode:
        lines.append(r.t("Barcode: %(barcode)s", lang, barcode=product.barcode))
    if card.group:
        lines.append(" / ".join(card.group))
    if card.offer.price is not None:
        lines.append(r.t("Your price: %(price)s", lang, price=money(card.offer.price, lang)))
    elif card.dealer:  # their price type is not in the catalogue, or this product has no price in it
        lines.append(r.t(NO_PRICE, lang))
    # The total is what the search shows; 1C may send it alone (no warehouses), so the breakdown only follows it.
    total = product.quantity if product.quantity > 0 else sum((s.quantity for s in card.stock), Decimal(0))
    if total > 0:
        lines.append(r.t("In stock: %(n)s", lang, n=counted(total, product.unit, lang)))
        lines += [f"• {s.warehouse}: {counted(s.quantity, product.unit, lang)}" for s in card.stock]
    else:
        lines.append(r.t("Not in stock.", lang))
    if card.in_cart:
        lines.append(r.t("In your cart: %(n)s", lang, n=card.in_cart))
    pid = product.id
    rows: list[list[InlineKeyboardButton]] = []
    if rights.cart:
        add = ProductCb(action="add", product_id=pid).pack()
        rows.append([InlineKeyboardButton(text=add_label(r, rights, lang), callback_data=add)])
        cart = InlineKeyboardButton(text=r.t("🧺 Cart", lang), callback_data=CartCb(action="show").pack())
        rows.append([cart, catalogue_button(r, lang)])
    else:
        rows.append([catalogue_button(r, lang)])
    if rights.reclaim:
        rows.append(
            [
                InlineKeyboardButton(
                    text=r.t("🛠 Reclamation", lang), callback_data=ProductCb(action="reclaim", product_id=pid).pack()
                )
            ]
        )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def reclamation_heading(r: Renderer, product: str, lang: str, *, begun: bool = False) -> str:
    """Above the first question of a reclamation pressed on a product's card: the product it is about, and, pressed
    again, that it is the reclamation begun on it that goes on."""
    if begun:
        return r.t("🛠 Reclamation: %(product)s — going on with the one you began, your answers kept", lang,
                   product=product)  # fmt: skip
    return r.t("🛠 New reclamation: %(product)s", lang, product=product)


def cart_message(
    r: Renderer,
    view: CartView,
    lang: str,
    reclamations: list[tuple[int, str]],
    rights: PortalRights,
    webapp_url: str | None = None,
    ref: int = 0,
) -> tuple[str, InlineKeyboardMarkup]:
    """The cart: its positions with today's prices; order it (someone who may), send it to a reclamation waiting
    for parts, or change quantities («➖»/«➕» per position, «✏️» to type one). `ref`: this message's outbox row,
    which the buttons that change the cart edit in place."""
    webapp_url = webapp_url if rights.order else None
    if not view.entries:
        button = add_label(r, rights, lang)
        text = r.t("Your cart is empty. Find products in the catalogue and press “%(button)s”.", lang, button=button)
        empty = [[catalogue_button(r, lang)], *big_order_rows(r, lang, webapp_url)]
        return text, InlineKeyboardMarkup(inline_keyboard=empty)
    lines = [r.t("🧺 Your cart:", lang)]
    rows: list[list[InlineKeyboardButton]] = []
    for n, entry in enumerate(view.entries, 1):
        gone = " ".join(w for w in (entry.gone_name, r.t("(no longer in the catalogue)", lang)) if w)
        name = entry.product.name if entry.product else gone
        lines.append(f"{n}. {name} × {entry.quantity} = {money(entry.total, lang)}{_beyond_stock(r, entry, lang)}")
        if entry.product is None:  # ordering asks to remove it first: it goes alone, not with the whole cart
            drop = CartEditCb(action="drop", product_id=entry.line_id, ref=ref, version=view.version).pack()
            rows.append([InlineKeyboardButton(text=f"🗑 {number_sign(lang)}{n}", callback_data=drop)])
        else:
            pid = entry.product.id
            minus, typed, plus = (
                CartEditCb(action=a, product_id=pid, ref=ref, version=view.version).pack()
                for a in ("minus", "qty", "plus")
            )
            # «➖ 1» read as «minus one»: the sign says it is the position's number.
            at = f"{number_sign(lang)}{n}"
            rows.append(
                [
                    InlineKeyboardButton(text=f"➖ {at}", callback_data=minus),
                    InlineKeyboardButton(text=f"✏️ {at}", callback_data=typed),
                    InlineKeyboardButton(text=f"➕ {at}", callback_data=plus),
                ]
            )
    lines.append(r.t("Total: %(total)s", lang, total=money(view.total, lang)))
    if any(e.product is not None and e.price is None for e in view.entries):
        lines.append(r.t(NO_PRICE, lang))
    if rights.order:
        order = CartCb(action="order", version=view.version, ref=ref).pack()
        rows.append([InlineKeyboardButton(text=r.t("📝 Place the order", lang), callback_data=order)])
    for task_id, title in reclamations:
        label = button_label(r.t("🛠 To the reclamation: %(title)s", lang, title=title))
        parts = CartCb(action="parts", arg=str(task_id), ref=ref).pack()
        rows.append([InlineKeyboardButton(text=label, callback_data=parts)])
    clear = CartEditCb(action="clear", product_id=0, ref=ref, version=view.version).pack()
    rows.append(
        [catalogue_button(r, lang), InlineKeyboardButton(text=r.t("🗑 Empty the cart", lang), callback_data=clear)]
    )
    rows += big_order_rows(r, lang, webapp_url)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def parts_left_question(
    r: Renderer, view: CartView, lang: str, task_id: int, case_id: int, ref: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """«Готово» on a reclamation's parts task with products in the cart: what the cart holds, and the two ways on —
    they are its parts («🛠 В рекламацию», as the cart's own button), or none are needed (the task done, the cart kept).
    `ref`: this message's outbox row, whose buttons go once the parts are in."""
    names = "; ".join(f"{e.product.name if e.product else e.gone_name} × {e.quantity}" for e in view.entries)
    title = f"{number_sign(lang)}{case_id}"
    to_reclamation = button_label(r.t("🛠 To the reclamation: %(title)s", lang, title=title))
    no_parts = r.t("🚫 No parts needed", lang)
    text = r.t(
        "🧺 Your cart holds: %(lines)s. Are these the parts for reclamation %(case)s? “%(parts)s” makes them its "
        "parts. If it needs none, press “%(none)s”: the cart stays as it is.",
        lang, lines=names, case=title, parts=to_reclamation, none=no_parts,
    )  # fmt: skip
    parts = CartCb(action="parts", arg=str(task_id), ref=ref).pack()
    none = TaskCb(action="noparts", task_id=task_id).pack()
    rows = [
        [InlineKeyboardButton(text=to_reclamation, callback_data=parts)],
        [InlineKeyboardButton(text=no_parts, callback_data=none)],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def _beyond_stock(r: Renderer, entry: CartEntry, lang: str) -> str:
    """« ⚠️ в наличии: 5 шт» after a line asking more than the stock (1C's total): said, not refused — the rest
    may come, and the office decides."""
    product = entry.product
    if product is None or entry.quantity <= product.quantity:
        return ""
    if product.quantity <= 0:  # «в наличии: 0 шт» read as a figure to check; it is none at all
        return " ⚠️ " + r.t("not in stock", lang)
    return " ⚠️ " + r.t("in stock: %(n)s", lang, n=counted(product.quantity, product.unit, lang))


def quantity_question(r: Renderer, entry: CartEntry, lang: str) -> str:
    """«✏️» on a cart's line: the number is the next message, in the product's own unit, which the question names
    («Сейчас 40 компл»: a bare «40» read as pieces)."""
    name, unit = (entry.product.name, entry.product.unit) if entry.product else ("", None)
    return r.t(
        "How many “%(name)s” do you want? Now %(n)s. Type a number (0 takes it out of the cart), or /cancel.",
        lang,
        name=name,
        n=counted(Decimal(entry.quantity), unit, lang),
    )


# A stage's colour (`colour:` in the definition) as a mark: the staff read the list by colour.
MARKS = {
    "blue": "🔵",
    "purple": "🟣",
    "yellow": "🟡",
    "green": "🟢",
    "brown": "🟤",
    "orange": "🟠",
    "red": "🔴",
    "grey": "⚪",
}


def reclamations_page(r: Renderer, page: ReclamationPage, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    if not page.rows:
        return r.t("No reclamations yet.", lang), None
    lines = [r.t("Reclamations, oldest first (page %(n)s of %(of)s):", lang, n=page.number + 1, of=page.pages)]
    for row in page.rows:
        if row.colour is not None and row.status != "cancelled":
            mark = MARKS[row.colour]
        else:  # no colour given, or cancelled midway: black while open, then white or red by how it ended
            mark = "⚫" if row.status == "active" else ("⚪" if row.result == "success" else "🔴")
        when = r.when(row.created_at, lang)
        lines.append(f"{mark} {number_sign(lang)}{row.case_id} {when} — {row.title} — {row.stage_title}")
    rows = _opening(page, lang)  # a button per claim opens its card, as the order requests' list does
    nav = []
    if page.number > 0:
        nav.append(InlineKeyboardButton(text="◀️", callback_data=ReclamationsCb(page=page.number - 1).pack()))
    if page.number + 1 < page.pages:
        nav.append(InlineKeyboardButton(text="▶️", callback_data=ReclamationsCb(page=page.number + 1).pack()))
    if nav:
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def _opening(page: ReclamationPage, lang: str) -> list[list[InlineKeyboardButton]]:
    """«📁 №N» for each case of the page, five to a row."""
    opens = [
        InlineKeyboardButton(
            text=f"📁 {number_sign(lang)}{row.case_id}", callback_data=CaseCb(action="show", case_id=row.case_id).pack()
        )
        for row in page.rows
    ]
    return [opens[start : start + 5] for start in range(0, len(opens), 5)]


def credit_line(r: Renderer, credit: Credit | None, debt_on: str | None, lang: str) -> str | None:
    """The dealer's credit state as their manager and the office see it: the debt (as of 1C's date) and the limit."""
    if credit is None or (
        credit.limit is None and not credit.debt and not debt_on and not credit.stopped and not credit.pending_count
    ):
        return None
    parts = [
        r.t("Your debt as of %(date)s: %(debt)s", lang, date=shown_date(debt_on, lang), debt=money(credit.debt, lang))
        if debt_on
        else r.t("Your debt: %(debt)s", lang, debt=money(credit.debt, lang))
    ]
    if credit.pending_count:
        count, pending, drafts = credit.pending_count, money(credit.pending, lang), credit.pending_drafts
        parts.append(
            # a cart being made a request counts before it is sent, so /orders does not list it yet: say so
            r.t("requests under way (%(count)s, of them not sent yet: %(drafts)s): %(sum)s", lang, count=count,
                drafts=drafts, sum=pending)
            if drafts
            else r.t("requests under way (%(count)s): %(sum)s", lang, count=count, sum=pending)
        )  # fmt: skip
    if credit.limit is not None and credit.left is not None and credit.left < 0:
        limit, over = money(credit.limit, lang), money(-credit.left, lang)
        parts.append(r.t("credit limit %(limit)s, exceeded by %(over)s", lang, limit=limit, over=over))
    elif credit.limit is not None:
        left = money(credit.left, lang)
        parts.append(r.t("credit limit %(limit)s, left %(left)s", lang, limit=money(credit.limit, lang), left=left))
    line = "💳 " + "; ".join(parts)
    if credit.stopped:
        line += "\n" + r.t("⛔ Shipments are stopped: every request goes to the office for approval.", lang)
    return line


def orders_page(
    r: Renderer, page: ReclamationPage, lang: str, credit: str | None = None, unsent: int = 0
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A dealer's order requests, newest first: number, date, amount, where each stands, and the papers 1C sent for
    each (a button per paper gets its file); a button per request opens its card; `credit`: the dealer's credit
    line on top; `unsent`: requests being sent (still at their payment and delivery questions), which it lacks."""
    rows: list[list[InlineKeyboardButton]] = []
    head = [credit] if credit else []
    if not page.rows:
        none = r.t("No order requests sent yet.", lang) if unsent else r.t("No order requests yet.", lang)
        return "\n".join([*head, none]), None
    lines = [*head, r.t("Order requests, newest first (page %(n)s of %(of)s):", lang, n=page.number + 1, of=page.pages)]
    for row in page.rows:
        amount = money(Decimal(row.amount), lang) if row.amount else "—"
        lines.append(f"{number_sign(lang)}{row.case_id} {r.when(row.created_at, lang)} — {amount} — {row.stage_title}")
        if row.reason:
            lines.append("    " + r.t("Reason: %(reason)s", lang, reason=row.reason))
        for paper in row.documents:
            named = document_title(r.t, paper.kind, paper.number, paper.date, lang)
            lines.append(f"    📄 {named}")
            data = CaseCb(action="doc", case_id=row.case_id, arg=str(paper.file_id)).pack()
            label = button_label(f"📥 {number_sign(lang)}{row.case_id}: {named}", 64)
            rows.append([InlineKeyboardButton(text=label, callback_data=data)])
    rows[:0] = _opening(page, lang)
    nav = []
    if page.number > 0:
        nav.append(InlineKeyboardButton(text="◀️", callback_data=OrdersCb(page=page.number - 1).pack()))
    if page.number + 1 < page.pages:
        nav.append(InlineKeyboardButton(text="▶️", callback_data=OrdersCb(page=page.number + 1).pack()))
    if nav:
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
