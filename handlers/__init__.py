"""aiogram routers, assembled in order: errors, a product's link (`/start product-N`), start, admin,
organisations, the dealer portal (inline search, product cards, the cart: before forms, so a product picked while a
form is open is not taken as its answer), forms (while a form is open), escalations (their buttons, and the reason
for a new deadline), menu, tasks, cases, items (an item's card), diagrams, digests, attention (an admin retries a
failed step), and last the fallback for whatever no one took. Each module builds fresh routers on every call, so
every dispatcher (a restart inside one process: the tests, the demo) gets its own."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    admin,
    attention,
    cases,
    diagrams,
    digests,
    errors,
    escalations,
    forms,
    items,
    membership,
    menu,
    organisations,
    portal,
    start,
    tasks,
)


def routers() -> list[Router]:
    return [
        errors.router(),
        portal.links(),
        start.router(),
        admin.router(),
        organisations.router(),
        portal.router(),
        forms.router(),
        escalations.router(),
        menu.router(),
        tasks.router(),
        cases.router(),
        items.router(),
        diagrams.router(),
        digests.router(),
        attention.router(),
        membership.router(),
        start.fallback(),
    ]
