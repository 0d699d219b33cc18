"""Marks engine texts for translation; the bot layer translates them with gettext at render time."""


class Name(str):
    """A company's or an organisation's own name as a message's value: said in quotes as the reader's language writes
    them («Альфа», “Alpha”), unless it carries its own — ООО "Ромашка" is said as written, not as «ООО "Ромашка"»
    (`services.i18n.Translator.quoted`). A service that refuses something names it so; each front end's words then
    quote it. Here, not in `services.i18n`: a service marks it without loading the translator's aiogram (the
    catalogue's import must not)."""

    __slots__ = ()


def _(message: str) -> str:
    return message
