"""The process library as an admin works with it: which processes there are (and their versions), and a
definition file sent in — checked, and with /load made the version new cases start with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from flows.loader import DefinitionError, parse_definition
from services.core import Core


@dataclass
class Upload:
    key: str
    version: int | None  # the version it became, when loaded; None when only checked


class ProcessLibrary:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    async def processes(self, lang: str | None) -> list[tuple[str, int | None, str]]:
        """Every process: key, current version, title."""
        versions = await self.core.registry.versions(self.session)
        return [
            (key, versions.get(key), self.core.translator.local(loaded.spec.title, lang))
            for key, loaded in sorted(self.core.registry.library.items())
        ]

    def problems(self, error: DefinitionError, lang: str | None, limit: int = 30) -> str:
        """The checker's findings as `file:line: message`, in the admin's language."""
        locale = self.core.translator.lang(lang)
        gettext = lambda message: self.core.translator.i18n.gettext(message, locale=locale)  # noqa: E731
        return "\n".join(p.translated(gettext) for p in error.problems[:limit])

    async def upload(self, content: bytes, name: str, *, load: bool) -> Upload:
        """Check a definition (raises `flows.loader.DefinitionError` with every problem); `load` makes it current."""
        # Checked against the processes already loaded too: a hand-off to a process that does not exist is refused.
        loaded = parse_definition(content.decode("utf-8", errors="replace"), name, known=self.core.registry.known())
        if not load:
            return Upload(loaded.key, None)
        registry = self.core.registry
        await registry.add(self.session, loaded, self.core.clock.now())
        return Upload(loaded.key, (await registry.versions(self.session)).get(loaded.key))
