"""Telegram's HTML (parse_mode HTML) as an admin's notification template may write it: which tags Telegram takes,
whether a text is one it will parse (`problem`), and a long text cut into messages without cutting a tag or an
entity and with every tag closed at the end of a piece and opened again at the start of the next (`split`).

Telegram refuses a message whose HTML it cannot parse (an unknown tag, an end tag that does not match, a `<` that
starts no tag), so a template is checked with it when saved and what it renders is checked again before it goes.
"""

from __future__ import annotations

import re

from flows.i18n import _
from flows.values import utf16_length

# The tags Telegram's HTML knows (https://core.telegram.org/bots/api#html-style); custom emoji are left out: only
# bots with a purchased username may send them.
TAGS = ("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span", "tg-spoiler",
        "blockquote")  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^>]*)?)>")
_HREF = re.compile(r"""\bhref\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_SPOILER = re.compile(r"""\bclass\s*=\s*("tg-spoiler"|'tg-spoiler'|tg-spoiler)(\s|$)""")


class Problem:
    """What is wrong, as an English msgid with its values (translated where it is shown)."""

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return self.message % self.params if self.params else self.message


def problem(text: str) -> Problem | None:
    """Why Telegram would refuse `text` as HTML, or None when it parses."""
    stack: list[str] = []
    at = 0
    while (start := text.find("<", at)) >= 0:
        match = _TAG.match(text, start)
        if match is None:
            snippet = text[start : start + 20].split("\n")[0]
            return Problem(_("“%(text)s” is not a tag Telegram knows; write &lt; for the sign “<”"), text=snippet)
        closing, name, attributes = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if name not in TAGS:
            return Problem(
                _("Telegram does not know the tag <%(tag)s>; it takes %(tags)s"),
                tag=name,
                tags=", ".join(f"<{tag}>" for tag in TAGS),
            )
        if closing:
            if not stack:
                return Problem(_("</%(tag)s> closes a tag that was never opened"), tag=name)
            if stack[-1] != name:
                return Problem(_("</%(tag)s> comes where </%(open)s> should"), tag=name, open=stack[-1])
            stack.pop()
        else:
            if name == "a" and not _HREF.search(attributes):
                return Problem(_('a link <a> needs its address: <a href="https://…">'))
            if name == "span" and not _SPOILER.search(attributes):
                return Problem(_('<span> is taken only as a spoiler: <span class="tg-spoiler">'))
            stack.append(name)
        at = match.end()
    if stack:
        return Problem(_("<%(tag)s> is never closed"), tag=stack[-1])
    return None


def _pieces(text: str, limit: int) -> list[str]:
    """The text as tags and runs of text, a run cut after each line and, when longer than `limit`, between words
    (never inside an entity such as &amp;)."""
    found: list[str] = []
    at = 0
    for match in _TAG.finditer(text):
        found += _runs(text[at : match.start()], limit)
        found.append(match.group(0))
        at = match.end()
    found += _runs(text[at:], limit)
    return found


def _runs(run: str, limit: int) -> list[str]:
    out: list[str] = []
    for line in run.splitlines(keepends=True):
        while utf16_length(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            begun = re.search(r"&#?\w*$", line[:cut])
            if begun is not None and begun.start() > 0:
                cut = begun.start()  # an entity is never cut in two
            out.append(line[:cut])
            line = line[cut:]
        if line:
            out.append(line)
    return out


def _visible(piece: str) -> str:
    return _TAG.sub("", piece)


def split(text: str, limit: int) -> list[str]:
    """`text` (HTML that `problem` passes) as messages of at most `limit` characters as Telegram counts them, cut
    between lines where it can; a tag open at a cut is closed before it and opened again after it."""
    if utf16_length(text) <= limit:
        return [text]
    budget = max(100, limit - 200)  # room to close and reopen the tags open at a cut
    chunks: list[str] = []
    opened: list[tuple[str, str]] = []  # (name, the opening tag as written)
    current = ""

    def close() -> str:
        return "".join(f"</{name}>" for name, _tag in reversed(opened))

    for piece in _pieces(text, budget // 2):
        if current and utf16_length(current) + utf16_length(piece) > budget:
            chunks.append(current + close())
            current = "".join(tag for _name, tag in opened)
        current += piece
        tag = _TAG.fullmatch(piece)
        if tag is not None:
            if tag.group(1) == "/":
                if opened:
                    opened.pop()
            else:
                opened.append((tag.group(2).lower(), piece))
    chunks.append(current + close())
    return [chunk for chunk in chunks if _visible(chunk).strip()] or [text[:limit]]
