"""aiogram routers, assembled in order: errors, start, admin, forms (while a form is open), menu, tasks, cases."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, cases, errors, forms, menu, start, tasks


def routers() -> list[Router]:
    return [errors.router, start.router, admin.router, forms.router, menu.router, tasks.router, cases.router,
            start.fallback]
