"""A case's files on the panel's case page say their size as people read it, in the admin's language: a photo of a
few hundred bytes is «412 Б», not «0.0 KB»; a scan of 1.2 KB is «1,2 кБ», a video of 3.4 MB «3,4 МБ»."""

from __future__ import annotations

import re

from sqlalchemy import select

from admin.words import Words
from db.models import StoredFile
from tests.test_admin_panel import Panel
from tests.test_admin_panel import panel as panel  # the fixture: the panel served over HTTP
from tests.test_defect_return_e2e import register_defect


async def test_a_small_photo_reads_in_bytes_on_the_case_page(panel: Panel) -> None:
    harness = panel.harness
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Сергей", "service_manager")
    await register_defect(manager)  # with a photo of the defect: a tiny PNG
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        photo = (await session.execute(select(StoredFile).where(StoredFile.kind == "photo"))).scalars().first()
    assert photo is not None and photo.size < 1024

    async with panel.client() as http:
        await panel.login(http)
        async with http.get(f"{panel.base}/cases/1") as response:
            page = await response.text()
    files = page[page.index('id="files"') :].split("</ul>")[0]
    assert re.findall(r'class="muted file-size">([^<]*)<', files) == [f"{photo.size} Б"]
    assert "KB" not in files and "0.0" not in files


def test_sizes_read_in_the_readers_units() -> None:
    russian, english = Words(None, "ru"), Words(None, "en")  # type: ignore[arg-type]  # sizes need no catalogs
    assert [russian.file_size(n) for n in (512, 1229, 3_565_158)] == ["512 Б", "1,2 кБ", "3,4 МБ"]
    assert [english.file_size(n) for n in (1229, 3_565_158)] == ["1.2 kB", "3.4 MB"]
    assert russian.file_size(5 * 1024**3) == "5 ГБ" and russian.file_size(0) == "0 Б"
