"""The orders half of 1C's exchange (`type=sale` at `/1c/exchange`), registered on the exchange of
`integrations.onec.exchange`, which logs 1C in and checks its session on every call:

- `mode=query`: the approved order requests not yet confirmed, as a CommerceML 2 document (UTF-8);
- `mode=success`: 1C took them; they are not sent again;
- `mode=file&filename=…`: 1C's documents (order status, payment, shipment), the body a file (a zip archive is
  unpacked); read as soon as it is whole, as the sites 1C talks to do, and the matching order cases are moved. 1C
  cuts a file longer than `mode=init`'s `file_limit` into pieces of exactly that size: a full-sized piece of a file
  not yet whole is kept and answered `success`, and the file is read when its last piece comes;
- `mode=import&filename=…`: the same file read again (1C versions that call it after `file`): moves are forward
  only, so reading twice changes nothing more.

The use case is `services/sales_exchange.py`; this module is only its HTTP side.
"""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

from lxml import etree

from integrations.onec.exchange import Call, Exchange, Refused, _unpack
from services.core import Core
from services.sales_exchange import PARSER, Applied, BadDocument, SalesExchange


class SaleExchange:
    def __init__(self, core: Core, exchange: Exchange) -> None:
        self.core = core
        self.exchange = exchange

    def register(self) -> None:
        self.exchange.register("sale", "query", self.query)
        self.exchange.register("sale", "success", self.success)
        self.exchange.register("sale", "file", self.file)
        self.exchange.register("sale", "import", self.import_)

    async def query(self, call: Call) -> str:
        async with self.core.sessionmaker() as session, session.begin():
            return (await SalesExchange(self.core, session).query()).decode("utf-8")

    async def success(self, call: Call) -> str:
        async with self.core.sessionmaker() as session, session.begin():
            confirmed = await SalesExchange(self.core, session).success()
        return f"success\n{confirmed} orders exported"

    async def file(self, call: Call) -> str:
        size = await self.exchange.receive(call)
        if size >= self.exchange.file_limit and not await asyncio.to_thread(_whole, call.folder / call.filename):
            return f"success\n{call.filename}: {size} bytes, waiting for the rest"
        return await self.import_(call)

    async def import_(self, call: Call) -> str:
        path = call.folder / call.filename
        if not path.is_file():
            raise Refused(f"no such file: {call.filename}")
        names = (
            await asyncio.to_thread(_unpack, path, call.folder) if path.suffix.lower() == ".zip" else [call.filename]
        )
        total = Applied()
        skipped: list[str] = []
        for name in names:
            if not name.lower().endswith(".xml"):
                continue
            content = await asyncio.to_thread(Path(call.folder / name).read_bytes)
            try:
                async with self.core.sessionmaker() as session, session.begin():
                    applied = await SalesExchange(self.core, session).apply(content)
            except BadDocument as bad:
                raise Refused(f"{name}: {bad}") from bad
            total.moved += applied.moved
            total.unchanged += applied.unchanged
            total.unknown += applied.unknown
            for name_ in ("created", "updated", "unchanged"):
                count = getattr(total.organisations, name_) + getattr(applied.organisations, name_)
                setattr(total.organisations, name_, count)
            skipped += applied.organisations.skipped
            total.documents.attached += applied.documents.attached
            total.documents.unchanged += applied.documents.unchanged
            total.documents.removed += applied.documents.removed
            total.documents.unknown += applied.documents.unknown
        orgs, docs = total.organisations, total.documents
        lines = [
            "success",
            f"moved {len(total.moved)}, unchanged {len(total.unchanged)}, unknown {len(total.unknown)}",
            f"organisations: created {orgs.created}, updated {orgs.updated}, unchanged {orgs.unchanged}, "
            f"skipped {len(skipped)}",
            f"documents: attached {len(docs.attached)}, removed {docs.removed}, unchanged {docs.unchanged}, "
            f"unknown {len(docs.unknown)}",
            *skipped,
        ]
        return "\n".join(lines)


def _whole(path: Path) -> bool:
    """Whether a file 1C sends in pieces has come whole: a zip archive with its directory (at its end), an XML
    document with its root closed. A file cut short fails both."""
    if path.suffix.lower() == ".zip":
        return zipfile.is_zipfile(path)
    try:
        etree.parse(str(path), PARSER)
    except etree.XMLSyntaxError:
        return False
    return True
