"""A long plain text as the messages it takes, cut between lines (a line longer than a message between words),
so that nothing is lost to «…» — and never between a label and its value.

A summary or a case card is an outline: «Часы №2:» heads the indented lines of its entry, «Описание дефекта: …»
heads the further lines of its value (indented under it, `services.wording.summaries`). So a message never ends with a
heading whose content goes on in the next one (it moves there), and a message that begins inside an entry or a
value begins by repeating what it is part of («Часы №2: …», «   Описание дефекта: …»), as does each further piece
of a value too long for one message, which is cut inside the value, never between its label and its first words.
"""

from __future__ import annotations

import re

from flows.values import utf16_length

# What names the rest of a line: a short text ending in «:» followed by a space or the end of the line («Марка: …»,
# «Часы №2:»); «https://…» or «9:00» are not.
_LABEL = re.compile(r" *[^ \n][^\n]{0,79}?:(?= |$)")
MORE = "…"  # after a repeated label: what follows continues it


def split_text(text: str, limit: int) -> list[str]:
    """`text` as messages of at most `limit` characters as Telegram counts them (UTF-16 code units)."""
    if len(text) * 2 <= limit or utf16_length(text) <= limit:
        # One message (nearly every text): what `split_lines` makes of it, without measuring it line by line.
        text = text.lstrip("\n")
        return [text] if text.strip() else [""]
    return split_lines(text, limit)


def split_lines(text: str, limit: int) -> list[str]:
    """`split_text` line by line, whatever the text's length."""
    return _Cutter(text.split("\n"), limit).cut()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _label(line: str) -> str | None:
    found = _LABEL.match(line)
    return found.group(0) if found else None


def _heading(line: str) -> bool:
    """A line that announces the lines after it («Часы №2:», «Comments (3):»): it goes where they go."""
    return line.rstrip().endswith(":")


def _fitting(line: str, limit: int) -> int:
    """How many characters of `line` fit in `limit` as Telegram counts them (UTF-16 code units)."""
    size = 0
    for index, char in enumerate(line):
        size += 2 if ord(char) > 0xFFFF else 1
        if size > limit:
            return index
    return len(line)


class _Cutter:
    def __init__(self, lines: list[str], limit: int) -> None:
        self.lines = lines
        self.limit = limit
        self.chunks: list[str] = []
        self.current: list[str] = []
        self.size = 0  # of "\n".join(self.current), as Telegram counts
        self.repeated = 0  # how many of `current`'s first lines repeat the labels it continues

    def cut(self) -> list[str]:
        for index, line in enumerate(self.lines):
            if not self.fits(line):
                self.close_before(index)
                while not self.fits(line):
                    line = self.cut_line(index, line)
            self.add(line)
        self.chunks.append("\n".join(self.current))
        return [chunk for chunk in self.chunks if chunk.strip()] or [""]

    def fits(self, line: str) -> bool:
        return self.size + (1 if self.current else 0) + utf16_length(line) <= self.limit

    def add(self, line: str) -> None:
        if self.current and not any(self.current):
            self.current, self.size = [], 0  # a message never begins with blank lines
        self.size += (1 if self.current else 0) + utf16_length(line)
        self.current.append(line)

    def start(self, lines: list[str], repeated: int) -> None:
        self.current, self.size, self.repeated = [], 0, repeated
        for line in lines:
            self.add(line)

    def close_before(self, index: int) -> None:
        """Send what is gathered before line `index`, which does not fit: headings at its end (and blank lines
        after them) wait for the next message, which begins with the labels that line `index` continues."""
        own = self.current[self.repeated :]
        carried = 0
        for back in range(len(own) - 1, -1, -1):
            if own[back].strip() and not _heading(own[back]):
                break
            if _heading(own[back]):
                carried = len(own) - back
        kept = self.current[: len(self.current) - carried]
        if not any(line.strip() for line in kept[self.repeated :]):
            return  # nothing but headings yet: they stay, and the line's first part joins them (`cut_line`)
        self.chunks.append("\n".join(kept))
        moved = self.current[len(kept) :]
        heads = self.heads(index - len(moved))
        self.start(heads + moved, len(heads))

    def heads(self, index: int) -> list[str]:
        """The labels a message beginning at line `index` repeats: of the lines it is indented under, nearest
        last («Часы №2: …», «   Описание дефекта: …»); none when they would crowd the message."""
        found: list[str] = []
        need = _indent(self.lines[index]) if index < len(self.lines) else 0
        for back in range(index - 1, -1, -1):
            if need == 0:
                break
            line = self.lines[back]
            if not line:
                break  # a blank line closes every entry
            if not line.strip() or _indent(line) >= need:
                continue
            need = _indent(line)
            label = _label(line)
            if label is not None:
                found.append(f"{label} {MORE}")
        found.reverse()
        return found if utf16_length("\n".join(found)) <= self.limit // 4 else []

    def cut_line(self, index: int, line: str) -> str:
        """Line `index` (or what is left of it) is longer than the room left: as much as fits goes into the
        message, cut inside its value (between words where they are not too far back); the rest is returned to
        begin the next message, after the labels it continues and its own."""
        room = self.limit - self.size - (1 if self.current else 0)
        label = _label(line)
        start = len(label) + 1 if label is not None else _indent(line)  # where the value begins
        fits = _fitting(line, room)
        if fits <= start and self.current[self.repeated :]:
            self.chunks.append("\n".join(self.current))  # too little room for its label and a word: a new message
            heads = self.heads(index)
            self.start(heads, len(heads))
            return line
        space = line.rfind(" ", max(start, fits // 2), fits)
        cut = space if space > start else max(fits, 1)
        self.add(line[:cut])
        self.chunks.append("\n".join(self.current))
        heads = self.heads(index)
        self.start(heads, len(heads))
        rest = line[cut:].lstrip(" ")
        again = f"{label} {MORE}" if label is not None else " " * _indent(line)
        if utf16_length(again) * 4 > self.limit or len(again) >= cut:
            again = ""  # a label as long as a good part of a message is not worth repeating
        return again + rest
