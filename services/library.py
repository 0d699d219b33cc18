"""The process library as an admin works with it: which processes there are (and their versions), and a
definition file sent in — checked, and with /load made the version new cases start with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from flows.loader import parse_definition
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

    async def upload(self, content: bytes, name: str, *, load: bool) -> Upload:
        """Check a definition (raises `flows.loader.DefinitionError` with every problem); `load` makes it current."""
        loaded = parse_definition(content.decode("utf-8", errors="replace"), name)
        if not load:
            return Upload(loaded.key, None)
        registry = self.core.registry
        await registry.add(self.session, loaded, self.core.clock.now())
        return Upload(loaded.key, (await registry.versions(self.session)).get(loaded.key))
