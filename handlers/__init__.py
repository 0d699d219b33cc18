"""aiogram routers, assembled in order: errors, start, admin, forms (while a form is open), menu, tasks, cases."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, attention, cases, errors, forms, menu, start, tasks


def routers() -> list[Router]:
    chain = [
        errors.router,
        start.router,
        admin.router,
        forms.router,
        menu.router,
        tasks.router,
        cases.router,
        start.fallback,
    ]
    # Built fresh for each dispatcher (no module singletons to detach); the rest follow this way.
    chain.insert(len(chain) - 1, attention.router())
    for router in chain:
        # Routers are module singletons (aiogram's own style); a restart inside one process (tests, the
        # demo) builds a new dispatcher, so let go of the old one first.
        router._parent_router = None
    return chain
