"""Bot texts in Russian (default) and English from gettext catalogs.

The .po files are the source; they are compiled to .mo on start into the data directory, so the
repository holds no binaries and a fresh `pip install -e .` needs no build step.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from flows.i18n import Name
from flows.model import LocalText, local

log = logging.getLogger(__name__)

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("ru", "en")
# The quotation marks a company's own name may be written with.
QUOTES = '«»"“”„'


def compile_catalogs(target: Path, source: Path = LOCALES) -> Path:
    for po_path in source.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        locale = po_path.parent.parent.name
        mo_path = target / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=locale)
        tmp = mo_path.with_suffix(".tmp")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        tmp.replace(mo_path)
    return target


class Translator:
    def __init__(self, compiled_dir: Path, default: str = "ru") -> None:
        compile_catalogs(compiled_dir)
        self.default = default
        self.i18n = I18n(path=compiled_dir, default_locale=default, domain=DOMAIN)
        # Each message's translation per language: a step words a dozen of the same messages (a card's lines and
        # buttons) and the catalogs never change once loaded. Emptied when full, as `flows.spec_cache` is.
        self._texts: dict[tuple[str, str], str] = {}

    def lang(self, language: str | None) -> str:
        return language if language in LANGUAGES else self.default

    def t(self, message: str, lang: str | None, **params: Any) -> str:
        lang = self.lang(lang)
        text = self._texts.get((message, lang))
        if text is None:
            if len(self._texts) >= 4096:
                self._texts.clear()
            text = self._texts[message, lang] = self.i18n.gettext(message, locale=lang)
        if not params:
            return text
        # A definition's own words (a stage's title, a check's message) come as {"ru": …, "en": …}: the reader's; a
        # company's name in the reader's quotes unless it has its own.
        return text % {
            k: local(v, lang) if isinstance(v, dict) else self.quoted(v, lang) if isinstance(v, Name) else v
            for k, v in params.items()
        }

    def quoted(self, name: str, lang: str | None) -> str:
        """A name in quotes as the reader's language writes them («Альфа», “Alpha”), unless it carries its own: ООО
        «Ромашка» or ООО "Ромашка" is said as it is written, not as ««Ромашка»» or «ООО "Ромашка"»."""
        if any(mark in name for mark in QUOTES):
            return str(name)
        return self.t("“%(text)s”", lang, text=str(name))

    def tn(self, singular: str, plural: str, n: int, lang: str | None, **params: Any) -> str:
        """A text about `n` things in the form the language gives that number («1 photo», «2 photos»; Russian has
        three forms): the catalog's plural entry, `n` among the parameters."""
        text = self.i18n.gettext(singular, plural, n, locale=self.lang(lang))
        return text % {"n": n, **params}

    def local(self, text: LocalText | None, lang: str | None) -> str:
        return local(text, self.lang(lang))
