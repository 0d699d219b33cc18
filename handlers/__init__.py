"""aiogram routers, assembled in order: someone who may not work here (access closed, waiting for approval, turned away)
is told so whatever they send but /start (`handlers.closed`); a product's link (`/start product-N`), start, admin,
admin_cases (an admin's /find, a case's admin card, /unreachable, the reason for a cancellation), organisations, the
dealer portal (inline search, product cards, the cart: before forms, so a product picked while a form is open is not
taken as its answer), figures (before forms too: its menu button while a form is open shows the figures), forms (while a
form is open), escalations (their buttons, and the reason for a new deadline), comments (the next message after a
comment button), menu, tasks, cases, items (an item's card), diagrams, digests, attention (an admin retries a failed
step), the fallback for whatever message or button no one took, and last the routers of other events alone (a person
blocking the bot; a message edited; errors): each router passed costs every update that reaches it, and these take no
message or button.
Each module builds fresh routers on every call, so every dispatcher (a restart inside one process: the tests, the demo)
gets its own.

Routers that share their root filters run as one (`merged`): aiogram's cost per router passed (its propagation, its
root filters, each a copy of the update's data) was most of an update's routing — a form's answer passed 20
routers. The order of the handlers, and so which one takes an update, is the same."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import BaseFilter, Command

from handlers import (
    admin,
    admin_cases,
    attention,
    cases,
    closed,
    comments,
    diagrams,
    digests,
    edits,
    errors,
    escalations,
    figures,
    forms,
    items,
    membership,
    menu,
    organisations,
    portal,
    start,
    tasks,
)
from handlers.common import ACommand, Admin, Registered


def routers() -> list[Router]:
    admins = merged("handlers.admins", Admin, [admin.router(), admin_cases.router(), organisations.router()])
    others = [merged("handlers.start", ACommand, [portal.links(), start.router()]), portal.router(), registered()]
    # A command only the admins' routers take, sent by someone else: the fallback says it is the admins' (not «I did
    # not understand»). Worked out from the routers, so a new admin command is covered without a list to keep.
    admins_only = commands(admins) - set().union(*(commands(r) for r in others))
    last = [start.fallback(admins_only), membership.router(), edits.router(), errors.router()]
    return [closed.router(), others[0], admins, *others[1:], *last]


def registered() -> Router:
    """The routers of a registered person's work, as one."""
    parts = [
        figures.router(),
        forms.router(),
        escalations.router(),
        comments.router(),
        menu.router(),
        tasks.router(),
        cases.router(),
        items.router(),
        diagrams.router(),
        digests.router(),
        attention.router(),
    ]
    return merged("handlers.registered", Registered, parts)


def commands(router: Router) -> set[str]:
    """The commands a router's message handlers take (`Command` filters)."""
    return {
        name
        for handler in router.message.handlers
        for checked in handler.filters or ()
        if isinstance(checked.callback, Command)
        for name in checked.callback.commands
        if isinstance(name, str)
    }


MERGED_EVENTS = ("message", "callback_query")


def merged(name: str, root: type[BaseFilter], parts: list[Router]) -> Router:
    """One router holding `parts`' handlers in their order, under the root filter each of them has (`root`) for
    messages and buttons. A part must have no other root filter, middleware or sub-router for an event it
    handles, and handle no other event: then an update reaches the same handler as through the parts one by one
    (a handler that skips passes it on to the next, in this router or the next part's, as before)."""
    one = Router(name=name)
    for part in parts:
        if part.sub_routers:
            raise ValueError(f"{part.name}: a merged router has no sub-routers")
        for event, observer in part.observers.items():
            if not observer.handlers:
                continue
            roots = [type(item.callback) for item in observer._handler.filters or []]
            if event not in MERGED_EVENTS or roots != [root] or observer.middleware or observer.outer_middleware:
                raise ValueError(f"{part.name}: its {event} handlers need a router of their own")
            if not one.observers[event].handlers:
                one.observers[event].filter(root())  # only on the events its parts handle (a command is a message)
            one.observers[event].handlers.extend(observer.handlers)
    return one
