"""The maker's 1C keeps the catalogue in step over the standard exchange: the test plays 1C over HTTP exactly as it
calls a site (checkauth, init, the package in chunks as a zip, import repeated until it is no longer «progress»)."""

from __future__ import annotations

import base64
import io
import random
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from db.models import CatalogImport
from services import catalogue
from tests import commerceml as cml
from tests.conftest import Harness
from tests.ports import free_port

LOGIN, PASSWORD = "site-exchange", "Пароль-1С-42"
CHUNK = 4096  # the file_limit the site announces: 1C cuts the archive into chunks of it


class OneC:
    """1C:Enterprise's side of the exchange: what it sends and how it reads the answers."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url
        self.cookie: str | None = None

    async def call(
        self, mode: str, *, kind: str = "catalog", body: bytes | None = None, **query: str
    ) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        params = {"type": kind, "mode": mode, **query}
        method = "POST" if body is not None else "GET"
        async with self.http.request(method, self.url, params=params, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def checkauth(self, login: str = LOGIN, password: str = PASSWORD) -> list[str]:
        basic = base64.b64encode(f"{login}:{password}".encode()).decode()
        async with self.http.get(
            self.url, params={"type": "catalog", "mode": "checkauth"}, headers={"Authorization": f"Basic {basic}"}
        ) as response:
            lines = (await response.text()).split("\n")
        if lines[0] == "success":
            self.cookie = f"{lines[1]}={lines[2]}"
        return lines

    async def send(self, filename: str, data: bytes, limit: int) -> None:
        for start in range(0, len(data), limit):
            status, answer = await self.call("file", filename=filename, body=data[start : start + limit])
            assert (status, answer.split("\n")[0]) == (200, "success"), answer

    async def load(self, filename: str) -> tuple[list[str], int]:
        """mode=import until the site stops saying «progress»: the last answer and how many calls it took."""
        calls = 0
        while True:
            calls += 1
            _, answer = await self.call("import", filename=filename)
            if answer.split("\n")[0] != "progress":
                return answer.split("\n"), calls
            assert calls < 500, "the import never ended"


def _package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as packed:
        packed.writestr("import.xml", cml.import_xml("2.08"))
        packed.writestr("offers.xml", cml.offers_xml("2.08", stock="attributes"))
        photo = b"\xff\xd8\xff\xe0" + random.Random(16).randbytes(12_000)  # a photo hardly compresses
        packed.writestr("import_files/10/prod-1.jpg", photo)
    return buffer.getvalue()


async def _exchange(harness_factory: Callable[..., Awaitable[Harness]], **settings: object) -> tuple[Harness, OneC]:
    harness = await harness_factory(
        leads_port=free_port(), onec_login=LOGIN, onec_password=PASSWORD, onec_import_step=0, **settings
    )
    return harness, OneC(harness.http, f"http://127.0.0.1:{harness.settings.leads_port}/1c/exchange")


async def test_1c_loads_its_catalogue_with_nested_groups_two_price_types_and_two_warehouses(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness, onec = await _exchange(harness_factory, onec_file_limit=CHUNK)

    # Nothing without logging in, and not with a wrong password.
    assert (await onec.call("init"))[0] == 401
    assert (await onec.checkauth(password="wrong"))[0] == "failure"
    lines = await onec.checkauth()
    assert lines[0] == "success" and lines[1] == "konveyer_1c" and len(lines[2]) >= 32
    status, answer = await onec.call("init")
    assert (status, answer) == (200, f"zip=yes\nfile_limit={CHUNK}")

    package = _package()
    assert len(package) > 2 * CHUNK  # so it really comes in chunks
    await onec.send("goods.zip", package, CHUNK)
    answer, calls = await onec.load("import.xml")
    assert answer[0] == "success" and calls > 1, answer
    answer, _ = await onec.load("offers.xml")
    assert answer[0] == "success", answer
    assert (await onec.call("complete"))[1] == "success"

    async with harness.core.sessionmaker() as session:
        assert await catalogue.stats(session) == {
            "groups": 5,
            "products": 6,
            "offers": 6,
            "price_types": 2,
            "prices": 12,
            "warehouses": 2,
            "stock": 12,
            "organisations": 0,
        }
        drill = await catalogue.get_product_by_external_id(session, "prod-1")
        assert drill is not None
        assert {line.warehouse: line.quantity for line in await catalogue.stock(session, drill.id)} == {
            "Склад Москва": 12,
            "Склад Санкт-Петербург": 3,
        }
        top = [g.name for g in await catalogue.groups(session)]
        drills = [g for g in await catalogue.groups(session, (await catalogue.groups(session))[0].id)]
    assert top == ["Электроинструмент", "Запчасти и оснастка"]
    assert [g.name for g in drills] == ["Дрели", "Пилы"]
    photo = catalogue.image_path(harness.settings.data_dir, drill.images[0])
    assert photo is not None and photo.read_bytes().startswith(b"\xff\xd8")

    # A cookie that names no live session is refused. (A real one stays good for its session's lifetime: a later
    # checkauth opens another session beside it, and the new exchange's `init` empties the folder instead.)
    onec.cookie = "konveyer_1c=forged"
    assert await onec.call("import", filename="import.xml") == (
        401,
        "failure\nno session: log in with mode=checkauth first",
    )


async def test_what_1c_may_not_send(harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path) -> None:
    harness, onec = await _exchange(harness_factory, onec_zip=False)
    await onec.checkauth()
    assert (await onec.call("init"))[1].startswith("zip=no\n")
    for name in (
        "../escape.xml",
        "/etc/passwd",
        "import_files/../../x.xml",
        "C:\\1c\\import.xml",
        "shell.php",
        "import_files/a/run.phtml",
        ".htaccess",
    ):
        status, answer = await onec.call("file", filename=name, body=b"<x/>")
        assert status == 400 and answer.startswith("failure\n"), (name, answer)
    assert not list(harness.settings.data_dir.rglob("*.php*"))
    # An import of a file never sent, an unknown mode, a file that is not CommerceML: each a failure with a reason.
    assert (await onec.call("import", filename="import.xml"))[1] == "failure\nimport.xml was not received"
    assert (await onec.call("nonsense"))[1] == "failure\ntype=catalog&mode=nonsense is not supported"
    await onec.send("offers.xml", b"<html>not from 1C</html>", 1024)
    answer, _ = await onec.load("offers.xml")
    assert answer[0] == "failure" and "КоммерческаяИнформация" in answer[1]


async def test_a_split_full_package_deactivates_what_it_left_out_only_when_1c_says_it_is_complete(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness, onec = await _exchange(harness_factory, onec_zip=False)
    await onec.checkauth()
    await onec.call("init")
    await onec.send("import.xml", cml.import_xml("2.10").encode(), 1 << 20)
    assert (await onec.load("import.xml"))[0][0] == "success"

    # The next exchange: newer 1C sends the full catalogue in parts, without prod-5.
    await onec.checkauth()
    await onec.call("init")
    parts = {
        "import___1.xml": cml.import_xml("2.10", catalogue=cml.Catalogue(products=("prod-1", "prod-2"))),
        "import___2.xml": cml.import_xml("2.10", catalogue=cml.Catalogue(products=("prod-3", "prod-4"), groups=False)),
    }
    for name, text in parts.items():
        await onec.send(name, text.encode(), 1 << 20)
        assert (await onec.load(name))[0][0] == "success"
    async with harness.core.sessionmaker() as session:
        assert (await catalogue.stats(session))["products"] == 5  # nothing swept between the parts
    assert (await onec.call("deactivate"))[1].startswith("success")
    async with harness.core.sessionmaker() as session:
        assert (await catalogue.stats(session))["products"] == 4
        gone = await catalogue.get_product_by_external_id(session, "prod-5")
    assert gone is not None and gone.active is False


async def test_a_refused_archive_is_dropped_and_the_next_package_imports(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """An archive with a member named to leave the folder, or one that is no zip at all: the import says why and
    the archive goes, so the next exchange (a new session, the same folder) is not refused because of it."""
    harness, onec = await _exchange(harness_factory)
    folder = harness.settings.data_dir / "1c-exchange" / "catalog"
    escaping = io.BytesIO()
    with zipfile.ZipFile(escaping, "w") as packed:
        packed.writestr("../escape.xml", cml.import_xml("2.08"))
    for archive, reason in (
        (escaping.getvalue(), "failure\nthe name may not leave the exchange folder: ../escape.xml"),
        (b"PK\x03\x04 not a zip archive", "failure\na zip archive could not be read"),
    ):
        assert (await onec.checkauth())[0] == "success"
        await onec.call("init")
        await onec.send("goods.zip", archive, 1 << 20)
        status, answer = await onec.call("import", filename="import.xml")
        assert status == 400 and answer.startswith(reason), answer
        assert not (folder / "goods.zip").exists()
    assert not (harness.settings.data_dir / "escape.xml").exists()

    assert (await onec.checkauth())[0] == "success"
    await onec.call("init")
    await onec.send("goods.zip", _package(), 1 << 20)
    assert (await onec.load("import.xml"))[0][0] == "success"
    assert (await onec.load("offers.xml"))[0][0] == "success"
    async with harness.core.sessionmaker() as session:
        assert (await catalogue.stats(session))["offers"] == 6


async def test_a_new_exchange_starts_from_an_empty_folder_and_a_sale_exchange_leaves_the_catalogues_files(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """1C's `mode=init` begins an exchange: a file an earlier exchange sent is not taken for one of this exchange
    (asked to import it, the site says it was not received), the images the products refer to stay, and the
    orders' exchange (`type=sale`) has a folder of its own: its `init` leaves the catalogue's pending files."""
    harness, onec = await _exchange(harness_factory)

    async def imports() -> int:
        async with harness.core.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(CatalogImport)) or 0)

    assert (await onec.checkauth())[0] == "success"
    await onec.call("init")
    await onec.send("goods.zip", _package(), 1 << 20)
    assert (await onec.load("import.xml"))[0][0] == "success"
    assert (await onec.load("offers.xml"))[0][0] == "success"
    assert (await onec.call("complete"))[1] == "success"
    assert await imports() == 2

    # The next exchange asks for import.xml without sending it: a failure with the reason, nothing imported again.
    assert (await onec.checkauth())[0] == "success"
    await onec.call("init")
    assert await onec.call("import", filename="import.xml") == (400, "failure\nimport.xml was not received")
    assert await imports() == 2
    async with harness.core.sessionmaker() as session:
        drill = await catalogue.get_product_by_external_id(session, "prod-1")
    assert drill is not None
    photo = catalogue.image_path(harness.settings.data_dir, drill.images[0])
    assert photo is not None and photo.read_bytes().startswith(b"\xff\xd8")  # the image outlives the exchange

    # The catalogue's file is sent; before 1C imports it, an exchange of orders logs in and begins (its own session).
    await onec.send("offers.xml", cml.offers_xml("2.08", stock="attributes").encode(), 1 << 20)
    orders = OneC(onec.http, onec.url)
    assert (await orders.checkauth())[0] == "success"
    assert (await orders.call("init", kind="sale"))[0] == 200
    assert (await onec.load("offers.xml"))[0][0] == "success"
    assert await imports() == 3
    folders = harness.settings.data_dir / "1c-exchange"
    assert sorted(p.name for p in folders.iterdir()) == ["catalog", "sale"]
    assert not list((folders / "sale").iterdir())
