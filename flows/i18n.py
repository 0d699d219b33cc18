"""Marks engine texts for translation; the bot layer translates them with gettext at render time."""


def _(message: str) -> str:
    return message
