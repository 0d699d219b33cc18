"""What a dealer types and follows in the portal: an inline query's words and filters, and the product a card's
link names. Plain text in, plain values out: no database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from services import catalogue


@dataclass(frozen=True)
class Filters:
    """What an inline query asks besides words: `!` or «наличие» — in stock only; «от N», «до N» — the price
    range in the dealer's price type; `#группа` — a group (with its subgroups) whose name begins so."""

    words: str
    in_stock: bool = False
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    group: str | None = None


def parse_query(text: str) -> Filters:
    words: list[str] = []
    in_stock, low, high, group = False, None, None, None
    tokens = text.split()
    i = 0
    while i < len(tokens):
        token, folded = tokens[i], catalogue.fold(tokens[i])
        if folded in ("!", "наличие", "в_наличии", "instock"):
            in_stock = True
        elif folded in ("от", "до", "from", "to") and i + 1 < len(tokens) and _amount(tokens[i + 1]) is not None:
            if folded in ("от", "from"):
                low = _amount(tokens[i + 1])
            else:
                high = _amount(tokens[i + 1])
            i += 1
        elif token.startswith("#") and len(token) > 1:
            group = token[1:].replace("_", " ")
        else:
            words.append(token)
        i += 1
    return Filters(" ".join(words), in_stock, low, high, group)


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(" ", "").replace(",", ".").rstrip("₽"))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


PRODUCT_LINK = re.compile(r"product-(\d+)$")


def product_in_link(url: str | None) -> int | None:
    """The product a card's link names (`…?start=product-17`): the link an inline result's message carries."""
    found = PRODUCT_LINK.search(url or "")
    return int(found.group(1)) if found else None
