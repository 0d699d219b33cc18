"""Telegram-like parsing of formatted text (parse_mode HTML / MarkdownV2) into plain text + entities."""

from __future__ import annotations

import html
import re
from typing import Any

JsonDict = dict[str, Any]


class EntityParseError(ValueError):
    """Raised with a Telegram-like message (without the "Bad Request: can't parse entities: " prefix)."""


_HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9-]*)\s*(.*)$", re.S)
_ATTR_RE = re.compile(r"""([a-zA-Z-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY_RE = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_HTML_NAMED = {"lt", "gt", "amp", "quot"}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def parse_html(text: str) -> tuple[str, list[JsonDict]]:
    out: list[str] = []
    out_len = 0
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[JsonDict] = []
    attrs: dict[str, str]
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "<":
            end = text.find(">", i)
            if end == -1:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, i)}")
            inner = text[i + 1 : end]
            if inner.startswith("/"):
                name = inner[1:].strip().lower()
                if not stack:
                    raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, i)}")
                open_name, start, attrs = stack.pop()
                if open_name != name:
                    raise EntityParseError(
                        f"Unmatched end tag at byte offset {_byte_offset(text, i)}, "
                        f'expected "</{open_name}>", found "</{name}>"'
                    )
                length = out_len - start
                if length > 0:
                    entity = _html_entity(open_name, start, length, attrs, stack)
                    # <pre><code class="language-x">…</code></pre> is one `pre` entity with a language: the inner
                    # code already produced it (or nothing, without a class), so the outer pre adds nothing.
                    same = [e for e in entities if e["offset"] == start and e["length"] == length]
                    if entity is not None and not (open_name == "pre" and any(e["type"] == "pre" for e in same)):
                        entities.append(entity)
            else:
                match = _TAG_RE.match(inner)
                name = match.group(1).lower() if match else ""
                if not match or name not in _HTML_TAGS:
                    raise EntityParseError(
                        f'Unsupported start tag "{inner.split(" ")[0]}" at byte offset {_byte_offset(text, i)}'
                    )
                attrs = {}
                for am in _ATTR_RE.finditer(match.group(2).rstrip("/")):
                    value = am.group(2) or am.group(3) or am.group(4) or ""
                    attrs[am.group(1).lower()] = html.unescape(value)
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise EntityParseError(
                        f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, i)}'
                    )
                stack.append((name, out_len, attrs))
            i = end + 1
            continue
        if ch == "&":
            match = _ENTITY_RE.match(text, i)
            # Telegram decodes only &lt; &gt; &amp; &quot; and numeric references; "&nbsp;" stays as typed.
            if match and (match.group(1).startswith("#") or match.group(1) in _HTML_NAMED):
                decoded = html.unescape(match.group(0))
                if decoded != match.group(0):
                    out.append(decoded)
                    out_len += utf16_len(decoded)
                    i = match.end()
                    continue
        out.append(ch)
        out_len += utf16_len(ch)
        i += 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _html_entity(
    name: str, offset: int, length: int, attrs: dict[str, str], stack: list[tuple[str, int, dict[str, str]]]
) -> JsonDict | None:
    kind = _HTML_TAGS[name]
    entity: JsonDict = {"type": kind, "offset": offset, "length": length}
    if name == "a":
        url = attrs.get("href", "")
        if url.startswith("tg://user?id="):
            entity["type"] = "text_mention"
        entity["url"] = url
    elif name == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif name == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif name == "code" and stack and stack[-1][0] == "pre" and stack[-1][1] == offset:
        lang = attrs.get("class", "")
        if not lang.startswith("language-"):
            return None  # code directly inside pre is the pre itself
        entity = {"type": "pre", "offset": offset, "length": length, "language": lang[9:]}
    return entity


_MD2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD2_MARKERS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}


def parse_markdown_v2(text: str) -> tuple[str, list[JsonDict]]:
    """A compact MarkdownV2 parser enforcing Telegram's escaping rules."""
    out: list[str] = []
    out_len = 0
    stack: list[tuple[str, int]] = []
    entities: list[JsonDict] = []
    i = 0
    n = len(text)

    def emit(s: str) -> None:
        nonlocal out_len
        out.append(s)
        out_len += utf16_len(s)

    quote: tuple[str, int] | None = None  # (entity type, offset) of the blockquote being read

    def close_quote() -> None:
        nonlocal quote
        if quote is None:
            return
        kind, start = quote
        end = out_len - (1 if out and out[-1].endswith("\n") else 0)
        if end > start:
            entities.append({"type": kind, "offset": start, "length": end - start})
        quote = None

    while i < n:
        ch = text[i]
        if i == 0 or text[i - 1] == "\n":
            # Lines starting with ">" form a blockquote; "**>" starts an expandable one (Bot API, MarkdownV2 style).
            if text.startswith("**>", i):
                close_quote()
                quote = ("expandable_blockquote", out_len)
                i += 3
                continue
            if ch == ">":
                if quote is None:
                    quote = ("blockquote", out_len)
                i += 1
                continue
            if quote is not None and quote[0] == "blockquote":
                close_quote()
        if quote is not None and quote[0] == "expandable_blockquote" and text.startswith("||", i):
            if i + 2 == n or text[i + 2] == "\n":
                i += 2
                close_quote()
                continue
        if ch == "\\":
            if i + 1 < n and 1 <= ord(text[i + 1]) <= 126:
                emit(text[i + 1])
                i += 2
                continue
            emit(ch)
            i += 1
            continue
        if ch == "`":
            fence = text.startswith("```", i)
            delim = "```" if fence else "`"
            end = text.find(delim, i + len(delim))
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of {'Pre' if fence else 'Code'} entity at byte offset {_byte_offset(text, i)}"
                )
            body = text[i + len(delim) : end]
            language = ""
            if fence and "\n" in body:
                first, rest = body.split("\n", 1)
                if first and " " not in first:
                    language, body = first, rest
            body = re.sub(r"\\([`\\])", r"\1", body)
            start = out_len
            emit(body)
            if body:
                entity: JsonDict = {
                    "type": "pre" if fence else "code",
                    "offset": start,
                    "length": out_len - start,
                }
                if language:
                    entity["language"] = language
                entities.append(entity)
            i = end + len(delim)
            continue
        marker = text[i : i + 2] if text[i : i + 2] in ("__", "||") else ch
        if marker in _MD2_MARKERS:
            if stack and stack[-1][0] == marker:
                kind, start = stack.pop()
                if out_len > start:
                    entities.append({"type": _MD2_MARKERS[kind], "offset": start, "length": out_len - start})
            else:
                stack.append((marker, out_len))
            i += len(marker)
            continue
        if ch == "[":
            stack.append(("[", out_len))
            i += 1
            continue
        if ch == "]" and stack and stack[-1][0] == "[":
            if not text.startswith("(", i + 1):
                # "[text]" without a URL: Telegram keeps the text and makes no link (the URL is empty).
                stack.pop()
                i += 1
                continue
            close = text.find(")", i + 2)
            if close == -1:
                raise EntityParseError("Can't find end of a URL")
            _, start = stack.pop()
            url = text[i + 2 : close].replace("\\)", ")").replace("\\\\", "\\")
            if out_len > start:
                entities.append({"type": "text_link", "offset": start, "length": out_len - start, "url": url})
            i = close + 1
            continue
        if ch in _MD2_RESERVED:
            raise EntityParseError(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")
        emit(ch)
        i += 1
    close_quote()
    if stack:
        kind, _ = stack[-1]
        raise EntityParseError(f"Can't find end of {_md2_name(kind)} entity at byte offset {len(text.encode())}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _md2_name(marker: str) -> str:
    return {
        "*": "Bold",
        "_": "Italic",
        "__": "Underline",
        "~": "Strikethrough",
        "||": "Spoiler",
        "[": "TextUrl",
    }.get(marker, "entity")


def parse_markdown(text: str) -> tuple[str, list[JsonDict]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no escaping rules enforced."""
    out: list[str] = []
    out_len = 0
    entities: list[JsonDict] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "*_`":
            delim = "```" if text.startswith("```", i) else ch
            end = text.find(delim, i + len(delim))
            if end == -1:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}")
            body = text[i + len(delim) : end]
            kind = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[delim]
            start = out_len
            out.append(body)
            out_len += utf16_len(body)
            if body:
                entities.append({"type": kind, "offset": start, "length": out_len - start})
            i = end + len(delim)
            continue
        if ch == "[":
            match = re.match(r"\[([^\]]*)\]\(([^)]*)\)", text[i:])
            if match:
                start = out_len
                out.append(match.group(1))
                out_len += utf16_len(match.group(1))
                if match.group(1):
                    entities.append(
                        {
                            "type": "text_link",
                            "offset": start,
                            "length": out_len - start,
                            "url": match.group(2),
                        }
                    )
                i += match.end()
                continue
        out.append(ch)
        out_len += utf16_len(ch)
        i += 1
    return "".join(out), entities


class UnsupportedParseMode(ValueError):
    """Telegram: «Bad Request: unsupported parse_mode»."""


def parse_formatted(text: str, parse_mode: str | None) -> tuple[str, list[JsonDict]]:
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    if mode and mode != "none":  # the official server treats "" and "none" alike: no formatting
        raise UnsupportedParseMode(parse_mode)
    return text, []


_AUTO_RE = re.compile(
    r"(?<![\w/])(?P<bot_command>/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]+)?)"
    r"|(?P<url>https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'])"
    r"|(?<![\w@.])(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,})"
    r"|(?<![\w@])(?P<mention>@[a-zA-Z0-9_]{5,32})(?![\w@])"
    r"|(?<![\w#])(?P<hashtag>#\w*[^\W\d]\w*)"
)


def auto_entities(text: str) -> list[JsonDict]:
    """Entities Telegram detects by itself in any message text: bot commands, URLs, e-mails, mentions, hashtags."""
    entities: list[JsonDict] = []
    for match in _AUTO_RE.finditer(text):
        kind = match.lastgroup or "url"
        offset = utf16_len(text[: match.start()])
        entities.append({"type": kind, "offset": offset, "length": utf16_len(match.group(0))})
    return entities


# Entities inside which Telegram finds nothing more (code is verbatim; a link already is one).
_OPAQUE = {"code", "pre", "text_link", "text_mention", "url", "email", "mention", "bot_command", "custom_emoji"}


def with_auto_entities(text: str, entities: list[JsonDict]) -> list[JsonDict]:
    """`entities` plus the automatic ones that do not overlap an opaque entity, sorted as Telegram sorts them."""
    blocked = [(e["offset"], e["offset"] + e["length"]) for e in entities if e.get("type") in _OPAQUE]
    found = [
        a
        for a in auto_entities(text)
        if all(a["offset"] + a["length"] <= lo or a["offset"] >= hi for lo, hi in blocked)
    ]
    return sorted([*entities, *found], key=lambda e: (e["offset"], -e["length"]))


_TRIM = " \t\r\n\u00a0\u2028\u2029\u200b"


def trim(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Telegram strips leading and trailing whitespace from message texts and captions (entities move with it)."""
    stripped_left = text.lstrip(_TRIM)
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_TRIM)
    end = utf16_len(result)
    fixed: list[JsonDict] = []
    for entity in entities:
        lo = max(entity["offset"] - shift, 0)
        hi = min(entity["offset"] + entity["length"] - shift, end)
        if hi > lo:
            fixed.append({**entity, "offset": lo, "length": hi - lo})
    return result, fixed
