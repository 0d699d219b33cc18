"""The dealer portal in chat (seed 4): inline search of the catalogue (`@bot query`, or «🔎 Каталог» that opens it
in the chat), a product's card (from the chosen result, or its link), the cart and its buttons, a reclamation from
a product's card, and `/reclamations` — the staff's list with colour marks."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import BaseFilter, Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, InlineQuery, Message

from db.models import User
from flows.i18n import _
from flows.values import number_sign
from handlers.common import ACommand, AfterCommit, Registered, answer, command_name, register_asked_text
from services import access, outbox
from services.access import Viewer
from services.cases.service import CaseService
from services.people import prompts
from services.portal import Portal
from services.portal_catalogue import EXPORT_KIND, export_xlsx
from services.portal_query import product_in_link
from services.reclamations import ORDERS, Reclamations
from tgbot import portal_view
from tgbot.callbacks import CartCb, CartEditCb, OrdersCb, ProductCb, ReclamationsCb
from tgbot.conversation import Conversation
from tgbot.render import Renderer
from tgbot.replies import Replies

EXCEL = ("catalog_excel", "каталог_excel")
CATALOGUE = ("catalog", "catalogue", "каталог")
CART = ("cart", "корзина")
RECLAMATIONS = ("reclamations", "рекламации")
ORDERS_COMMAND = ("orders", "заявки")
COMMANDS = (*EXCEL, *CATALOGUE, *CART, *RECLAMATIONS, *ORDERS_COMMAND)
BUTTONS: tuple[type[CallbackData], ...] = (ProductCb, CartCb, CartEditCb, ReclamationsCb, OrdersCb)
CART_CHANGED = _("The cart has changed since this message: it is shown anew below.")


class ViaBot(BaseFilter):
    """A message sent through an inline bot (a picked result). Plain async filters: aiogram runs magic filters
    (F.…) in a thread, a hop for every message that passes this router."""

    async def __call__(self, message: Message) -> bool:
        return message.via_bot is not None


class PortalMessage(BaseFilter):
    """The portal's root check for messages: one via an inline bot, one of `commands` read as aiogram's
    `Command` reads it (the first word of the text or caption: «/», then the name before «@»), or any while a
    cart's quantity is asked. Every message a handler here takes passes; any other leaves the router after this
    one check instead of one per handler."""

    def __init__(self, *commands: str) -> None:
        self.commands = frozenset(commands)

    async def __call__(self, message: Message, user: User | None = None) -> bool:
        return (
            message.via_bot is not None or command_name(message) in self.commands or Portal.quantity_pending(user)
        )


class TypingQuantity(BaseFilter):
    """«✏️» on a cart's line was pressed: the person's next text is its quantity."""

    async def __call__(self, _event: Any, user: User | None = None) -> bool:
        return Portal.quantity_pending(user)


class PortalButton(BaseFilter):
    """The portal's root check for buttons: the data's prefix is one of `kinds`' (what their `filter()` unpacks
    first), so other presses leave the router after one check."""

    def __init__(self, *kinds: type[CallbackData]) -> None:
        separators = {kind.__separator__ for kind in kinds}
        if len(separators) != 1:
            raise ValueError("the kinds must share their separator")
        self.separator = separators.pop()
        self.prefixes = frozenset(kind.__prefix__ for kind in kinds)

    async def __call__(self, query: CallbackQuery) -> bool:
        return (query.data or "").partition(self.separator)[0] in self.prefixes  # no data: "", no prefix


class ProductLink(BaseFilter):
    async def __call__(self, message: Message) -> bool:
        return product_in_link((message.text or "").partition(" ")[2]) is not None


class HowToSearchLink(BaseFilter):
    async def __call__(self, message: Message) -> bool:
        return (message.text or "").partition(" ")[2] == portal_view.HOW_TO_SEARCH


def links() -> Router:
    """A product's link (`/start product-17`, what a picked result's name links to): before /start's own router,
    which would read the payload as an invite."""
    link = Router(name=f"{__name__}.links")
    link.message.filter(ACommand())  # run as one with /start's router, under its root (`handlers.routers`)
    link.message.register(linked, Registered(), CommandStart(deep_link=True), ProductLink())
    link.message.register(catalogue_command, Registered(), CommandStart(deep_link=True), HowToSearchLink())
    return link


def router() -> Router:
    portal = Router(name=__name__)
    portal.inline_query.filter(Registered())
    # The cheap root check first: a message or a press that cannot be the portal's leaves after it.
    # (private chats only: the dispatcher's own root check)
    portal.message.filter(PortalMessage(*COMMANDS), Registered())
    portal.callback_query.filter(PortalButton(*BUTTONS), Registered())
    portal.inline_query.register(search)
    portal.message.register(chosen, ViaBot())
    register_asked_text(portal, TypingQuantity(), typed_quantity, keep_quantity, put_quantity_aside)
    portal.message.register(excel_command, Command(*EXCEL))
    portal.message.register(catalogue_command, Command(*CATALOGUE))
    portal.message.register(cart_command, Command(*CART))
    portal.message.register(reclamations_command, Command(*RECLAMATIONS))
    portal.message.register(orders_command, Command(*ORDERS_COMMAND))
    portal.callback_query.register(product_button, ProductCb.filter())
    portal.callback_query.register(cart_button, CartCb.filter())
    portal.callback_query.register(cart_edit_button, CartEditCb.filter())
    portal.callback_query.register(reclamations_page, ReclamationsCb.filter())
    portal.callback_query.register(orders_page, OrdersCb.filter())
    return portal


async def search(
    query: InlineQuery, portal: Portal, renderer: Renderer, viewer: Viewer, bot: Bot, after_commit: AfterCommit
) -> None:
    """Results with this dealer's prices only, so Telegram must not show them to anyone else (`is_personal`)."""
    offset = int(query.offset) if query.offset.isdigit() else 0
    offers, next_offset = await portal.search(query.query, offset) if portal.rights(viewer).browse else ([], None)
    me = await bot.me()
    lang = viewer.user.language
    results = portal_view.inline_results(renderer, offers, lang, me.username or "")
    next_page = str(next_offset) if next_offset is not None else ""
    # Telegram shows an empty answer as nothing at all: the person would not know whether the bot heard them. The
    # answer's button says nothing was found and opens the chat on how to search (`links`: /start how_to_search).
    none = not results and not offset and query.query.strip() and portal.rights(viewer).browse
    button = portal_view.nothing_found(renderer, lang, query.query) if none else None
    after_commit.append(
        lambda: query.answer(results, cache_time=0, is_personal=True, next_offset=next_page, button=button)
    )


async def chosen(message: Message, bot: Bot, portal: Portal, renderer: Renderer, viewer: Viewer) -> None:
    """A result picked from the inline search: the person's message via this bot carries the product's link."""
    if message.via_bot is None or message.via_bot.id != bot.id:
        return
    urls = [e.url for e in message.entities or [] if e.url]
    product_id = next((p for p in map(product_in_link, urls) if p is not None), None)
    if product_id is not None:
        await send_card(message.chat.id, portal, renderer, viewer, product_id)


async def linked(message: Message, command: CommandObject, portal: Portal, renderer: Renderer, viewer: Viewer) -> None:
    product_id = product_in_link(command.args)
    if product_id is not None:
        await send_card(message.chat.id, portal, renderer, viewer, product_id)


async def send_card(chat_id: int, portal: Portal, renderer: Renderer, viewer: Viewer, product_id: int) -> None:
    rights = portal.rights(viewer)
    access.require(rights.browse, _("The catalogue is for dealers and those who serve them."))
    card = await portal.card(product_id)
    # A quantity offered after «🛒 В заявку» on another card is over: «5» typed under this one is not that product's.
    prompts.drop_offered(viewer.user)
    text, keyboard = portal_view.product_card(renderer, card, viewer.user.language, rights)
    now, markup = portal.now, keyboard.model_dump(exclude_none=True)
    if card.image_file_id is not None:
        payload = {"file_id": card.image_file_id, "caption": text[:1000], "reply_markup": markup}
        outbox.enqueue(portal.session, chat_id=chat_id, method="sendPhoto", now=now, payload=payload)
    else:
        outbox.message(portal.session, chat_id, text, now, markup)


async def catalogue_command(
    message: Message, portal: Portal, replies: Replies, renderer: Renderer, viewer: Viewer
) -> None:
    rights, webapp = portal.rights(viewer), portal.core.config.webapp_url
    prompt = portal_view.catalogue_prompt(renderer, viewer.user.language, rights, webapp)
    replies.say(message.chat.id, *prompt)


async def excel_command(
    message: Message, command: CommandObject, portal: Portal, replies: Replies, renderer: Renderer, viewer: Viewer
) -> None:
    """`/catalog_excel query`: the inline search's words and filters, as a file."""
    await send_export(message.chat.id, command.args or "", portal, replies, renderer, viewer)


async def send_export(
    chat_id: int, text: str, portal: Portal, replies: Replies, renderer: Renderer, viewer: Viewer
) -> None:
    """Exactly what the search shows this person (their own prices only), stored and sent as an Excel file."""
    lang = viewer.user.language
    access.require(portal.rights(viewer).browse, _("The catalogue is for dealers and those who serve them."))
    export = await portal.export(text)
    if not export.offers:
        return replies.say(chat_id, renderer.t("Nothing in the catalogue matches.", lang))
    content = export_xlsx(export, portal_view.export_headers(renderer, lang), renderer.t("Catalogue", lang), lang)
    stored = await portal.core.files.add(
        portal.session,
        content=content,
        name="catalogue.xlsx",
        kind=EXPORT_KIND,
        now=portal.now,
        case_id=None,
        user_id=viewer.user.id,
        mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    replies.document(chat_id, stored.id, portal_view.export_caption(renderer, export, text, lang))


async def cart_command(message: Message, portal: Portal, replies: Replies, renderer: Renderer, viewer: Viewer) -> None:
    await show_cart(message.chat.id, portal, replies, renderer, viewer)


async def show_cart(
    chat_id: int, portal: Portal, replies: Replies, renderer: Renderer, viewer: Viewer, ref: int = 0
) -> None:
    """The cart: in the message `ref` (the cart pressed, edited in place), else as a new message."""
    view, lang, webapp = await portal.cart(), viewer.user.language, portal.core.config.webapp_url
    reclamations = [(t.id, f"{number_sign(lang)}{t.case_id}") for t in await portal.parts_tasks()]
    rights = portal.rights(viewer)

    def build(row: int) -> tuple[str, InlineKeyboardMarkup]:
        return portal_view.cart_message(renderer, view, lang, reclamations, rights, webapp, row)

    if not (ref and replies.edit(chat_id, ref, *build(ref))):
        replies.say_editable(chat_id, build)


async def product_button(
    query: CallbackQuery,
    callback_data: ProductCb,
    portal: Portal,
    cases: CaseService,
    conversation: Conversation,
    renderer: Renderer,
    viewer: Viewer,
    after_commit: AfterCommit,
) -> None:
    lang, pid = viewer.user.language, callback_data.product_id
    if callback_data.action == "add":
        # An old card's button, pressed after the person's roles changed: the card no longer offers it.
        access.require(portal.rights(viewer).cart, _("The cart is for those who order or file reclamations."))
        count, offered = await portal.add_from_card(pid)
        said = "In the cart: %(n)s. Need more? Type how many." if offered else "In the cart: %(n)s"
        answer(after_commit, query, renderer.t(said, lang, n=count))
    elif callback_data.action == "reclaim":
        await reclaim(pid, portal, cases, conversation, renderer, viewer)
        answer(after_commit, query)
    elif query.message is not None:
        await send_card(query.message.chat.id, portal, renderer, viewer, pid)
        answer(after_commit, query)


async def reclaim(
    product_id: int,
    portal: Portal,
    cases: CaseService,
    conversation: Conversation,
    renderer: Renderer,
    viewer: Viewer,
) -> None:
    """«🛠 Рекламация» on a product's card: its form opens, its first message naming the product (the serial number
    asked is this product's); pressed again, the reclamation begun on it goes on where it stopped, and says so."""
    lang = viewer.user.language
    begun = await portal.reclamation_begun(cases, product_id)
    if begun is not None:
        task_row, product = begun
        heading = portal_view.reclamation_heading(renderer, product, lang, begun=True)
        await conversation.begin(task_row, (task_row.draft or {}).get("outcome") or "submit", heading=heading)
        return
    loaded = await portal.start_reclamation(cases, product_id)
    task = next(t for t in loaded.state.tasks if t.status == "open" and t.assignee_id == viewer.user.id)
    heading = portal_view.reclamation_heading(renderer, str(loaded.state.data.get("product_name") or ""), lang)
    await conversation.begin(loaded.task_rows[task.id or 0], "submit", heading=heading)


async def cart_button(
    query: CallbackQuery,
    callback_data: CartCb,
    portal: Portal,
    cases: CaseService,
    conversation: Conversation,
    replies: Replies,
    renderer: Renderer,
    viewer: Viewer,
    after_commit: AfterCommit,
) -> None:
    action, chat_id = callback_data.action, viewer.user.tg_id
    if action in ("plus", "minus"):
        await portal.step(int(callback_data.arg), 1 if action == "plus" else -1)
    elif action == "clear":
        await portal.clear()
    elif action == "repeat":  # a rejected or cancelled request's card: its positions back, then the cart
        await portal.repeat_order(viewer, int(callback_data.arg))
    elif action == "excel":
        await send_export(chat_id, "", portal, replies, renderer, viewer)
        return answer(after_commit, query)
    elif action == "order":
        refused = await order_cart(query, callback_data, portal, cases, conversation, replies, renderer, viewer)
        return answer(after_commit, query, refused, show_alert=refused is not None)
    elif action == "parts":
        await parts_cart(query, callback_data, portal, cases, replies, renderer, viewer)
        return answer(after_commit, query)
    await show_cart(chat_id, portal, replies, renderer, viewer)
    return answer(after_commit, query)


async def parts_cart(
    query: CallbackQuery, pressed: CartCb, portal: Portal, cases: CaseService, replies: Replies, renderer: Renderer,
    viewer: Viewer,
) -> None:
    """«🛠 В рекламацию»: the cart becomes the reclamation's parts."""
    chat_id = viewer.user.tg_id
    loaded = await portal.parts_to_reclamation(cases, int(pressed.arg))
    await _cart_gone_on(query, pressed.ref, replies, chat_id)
    replies.say(chat_id, renderer.t("The parts are in reclamation #%(n)s.", viewer.user.language, n=loaded.row.id))


async def _cart_gone_on(query: CallbackQuery, ref: int, replies: Replies, chat_id: int) -> None:
    """The cart pressed has become a request or a reclamation's parts: its message keeps the lines it showed, and
    loses the buttons that would act on a cart that is no longer there."""
    pressed = query.message
    if pressed is not None and await replies.is_message(ref, chat_id, pressed.message_id):
        replies.drop_buttons(chat_id, ref)


async def order_cart(
    query: CallbackQuery, pressed: CartCb, portal: Portal, cases: CaseService, conversation: Conversation,
    replies: Replies, renderer: Renderer, viewer: Viewer,
) -> str | None:
    """«📝 Оформить заявку»: the cart becomes a request and its form opens — unless the message pressed shows
    another cart than there is now (the refusal's words)."""
    if await changed_since(pressed.version, 0, portal, replies, renderer, viewer):
        return renderer.t(CART_CHANGED, viewer.user.language)
    loaded = await portal.submit_order(cases)
    task = next(t for t in loaded.state.tasks if t.status == "open" and t.assignee_id == viewer.user.id)
    await _cart_gone_on(query, pressed.ref, replies, viewer.user.tg_id)
    await conversation.begin(loaded.task_rows[task.id or 0], "submit")
    return None


async def cart_edit_button(
    query: CallbackQuery,
    callback_data: CartEditCb,
    portal: Portal,
    replies: Replies,
    renderer: Renderer,
    viewer: Viewer,
    after_commit: AfterCommit,
) -> None:
    """«➖»/«➕»/«🗑» on the cart (a line's «🗑»: one gone from the catalogue): the cart changes and is shown in the
    same message, not in a new one; «✏️»: its quantity is asked."""
    action, chat_id, pressed = callback_data.action, viewer.user.tg_id, query.message
    mine = pressed is not None and await replies.is_message(callback_data.ref, chat_id, pressed.message_id)
    ref = callback_data.ref if mine else 0
    if await changed_since(callback_data.version, ref, portal, replies, renderer, viewer):
        return answer(after_commit, query, renderer.t(CART_CHANGED, viewer.user.language), show_alert=True)
    if action == "qty":
        entry = await portal.ask_quantity(callback_data.product_id, ref)
        replies.say(chat_id, portal_view.quantity_question(renderer, entry, viewer.user.language))
        return answer(after_commit, query)
    portal.drop_quantity()
    if action in ("plus", "minus"):
        await portal.step(callback_data.product_id, 1 if action == "plus" else -1)
    elif action == "clear":
        await portal.clear()
    elif action == "drop":  # a line whose product is gone from the catalogue: `product_id` names the line
        await portal.drop_line(callback_data.product_id)
    await show_cart(chat_id, portal, replies, renderer, viewer, ref)
    return answer(after_commit, query)


async def changed_since(
    version: str, ref: int, portal: Portal, replies: Replies, renderer: Renderer, viewer: Viewer
) -> bool:
    """Whether the cart message pressed shows other contents than the cart has now — an older message, pressed
    after a newer one showed the cart changed: it is not revived with another total; it loses its buttons
    (`ref`, when known) and the cart as it is comes anew. A message of before the versions carries none."""
    if not version or version == (await portal.cart()).version:
        return False
    if ref:
        replies.drop_buttons(viewer.user.tg_id, ref)
    await show_cart(viewer.user.tg_id, portal, replies, renderer, viewer)
    return True


async def typed_quantity(
    message: Message, portal: Portal, replies: Replies, renderer: Renderer, viewer: Viewer
) -> None:
    """The quantity «✏️» asked for: the cart is shown anew below, and the cart it was asked from loses its buttons
    (one cart to press at a time). A wrong number is refused (PortalError) and the question stays — unless the
    quantity was only offered after «🛒 В заявку»: then the text was meant otherwise and goes its usual way."""
    if Portal.quantity_offered(viewer.user) and not Portal.reads_as_quantity(message.text or ""):
        portal.drop_quantity()
        raise SkipHandler
    ref = await portal.type_quantity(message.text or "")
    if ref:
        replies.drop_buttons(message.chat.id, ref)
    await show_cart(message.chat.id, portal, replies, renderer, viewer)


async def keep_quantity(message: Message, portal: Portal, replies: Replies, renderer: Renderer, viewer: Viewer) -> None:
    offered = Portal.quantity_offered(viewer.user)
    portal.drop_quantity()
    if offered:  # nothing was asked: /cancel is meant for something else
        raise SkipHandler
    replies.say(message.chat.id, renderer.t("The quantity stays as it was.", viewer.user.language))


async def put_quantity_aside(message: Message, portal: Portal) -> None:
    """A menu button instead of the number: the question is dropped, and the menu does its work."""
    portal.drop_quantity()
    raise SkipHandler


async def reclamations_command(
    message: Message, reclamations: Reclamations, replies: Replies, renderer: Renderer, viewer: Viewer
) -> None:
    page = await reclamations.page(viewer, 0)
    replies.say(message.chat.id, *portal_view.reclamations_page(renderer, page, viewer.user.language))


async def reclamations_page(
    query: CallbackQuery,
    callback_data: ReclamationsCb,
    reclamations: Reclamations,
    replies: Replies,
    renderer: Renderer,
    viewer: Viewer,
    after_commit: AfterCommit,
) -> None:
    page = await reclamations.page(viewer, callback_data.page)
    replies.say(viewer.user.tg_id, *portal_view.reclamations_page(renderer, page, viewer.user.language))
    answer(after_commit, query)


async def orders_command(
    message: Message, reclamations: Reclamations, portal: Portal, replies: Replies, renderer: Renderer, viewer: Viewer
) -> None:
    await send_orders(message.chat.id, 0, reclamations, portal, replies, renderer, viewer)


async def send_orders(
    chat_id: int, number: int, reclamations: Reclamations, portal: Portal, replies: Replies, renderer: Renderer,
    viewer: Viewer,
) -> None:
    """A page of the dealer's requests with their papers from 1C, under the dealer's debt and limit."""
    access.require(portal.rights(viewer).orders, _("Your role does not see the organisation's order requests."))
    page, lang = await reclamations.page(viewer, number, ORDERS), viewer.user.language
    state, debt_on = await portal.credit()
    credit, unsent = portal_view.credit_line(renderer, state, debt_on, lang), state.pending_drafts if state else 0
    replies.say(chat_id, *portal_view.orders_page(renderer, page, lang, credit, unsent))


async def orders_page(
    query: CallbackQuery,
    callback_data: OrdersCb,
    reclamations: Reclamations,
    portal: Portal,
    replies: Replies,
    renderer: Renderer,
    viewer: Viewer,
    after_commit: AfterCommit,
) -> None:
    await send_orders(viewer.user.tg_id, callback_data.page, reclamations, portal, replies, renderer, viewer)
    answer(after_commit, query)
