"""What every group of the panel's pages (admin/cases.py, people.py, processes.py, notifications.py,
organisations.py) starts from: the panel that renders them and says refusals, the core, the panel's language and
its words for statuses and kinds."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from aiohttp import web

from admin.words import Words
from services.core import Core

if TYPE_CHECKING:
    from admin.panel import AdminPanel


class PanelPages(abc.ABC):
    """A group of the panel's pages; `routes` lists them for `AdminPanel.app`."""

    def __init__(self, panel: AdminPanel) -> None:
        self.panel = panel
        self.core: Core = panel.core
        self.lang: str = panel.lang
        self.words: Words = panel.words

    @abc.abstractmethod
    def routes(self) -> list[web.RouteDef]:
        """The group's routes, for `AdminPanel.app`."""
