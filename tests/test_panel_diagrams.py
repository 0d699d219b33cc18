"""The panel draws every stored version of a process as SVG: the library's, and one an admin loaded in chat."""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from sqlalchemy import select

from db.models import Case
from flows.model import local
from services.diagrams import CURRENT, stage_node
from tests.test_admin_panel import Panel
from tests.test_admin_panel import panel as panel  # the fixture: the panel served over HTTP
from tests.test_defect_return_e2e import register_defect

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"
SVG = "{http://www.w3.org/2000/svg}"


def drawn_text(svg: bytes) -> str:
    root = etree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return " ".join(" ".join(t.text or "" for t in root.iter(f"{SVG}text")).split())


async def test_each_version_of_a_process_is_served_as_svg(panel: Panel) -> None:
    harness = panel.harness
    source = (LIBRARY / "defect_return.yaml").read_text(encoding="utf-8")
    renamed = source.replace("ru: Проверка брака на складе,", "ru: Осмотр на складе,")
    assert renamed != source
    await harness.admin.send_file("document", renamed.encode(), "defect_return.yaml", caption="/load")
    await harness.admin.expect("версия 2")

    async with panel.client() as http:
        async with http.get(f"{panel.base}/processes/defect_return/1.svg", allow_redirects=False) as response:
            assert response.status != 200 and "svg" not in response.headers.get("Content-Type", "")  # not logged in
        await panel.login(http)
        async with http.get(f"{panel.base}/processes") as response:
            assert 'href="processes/defect_return"' in await response.text()
        async with http.get(f"{panel.base}/processes/defect_return") as response:
            page = await response.text()
        assert 'src="processes/defect_return/2.svg"' in page  # the newest is shown
        assert 'href="processes/defect_return?version=1"' in page

        drawn = {}
        for version in (1, 2):
            async with http.get(f"{panel.base}/processes/defect_return/{version}.svg") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("image/svg+xml")
                assert "default-src 'none'" in response.headers["Content-Security-Policy"]
                drawn[version] = drawn_text(await response.read())
        assert "Проверка брака на складе" in drawn[1] and "Осмотр на складе" not in drawn[1]
        assert "Осмотр на складе" in drawn[2] and "Проверка брака на складе" not in drawn[2]
        spec = harness.core.registry.known()["defect_return"]
        for stage in spec.stages:
            assert local(stage.title) in drawn[2]
        assert "Заведующий складом" in drawn[2] and "warehouse_head" not in drawn[2]

        async with http.get(f"{panel.base}/processes/defect_return/9.svg") as response:
            assert response.status == 404
        async with http.get(f"{panel.base}/processes/no_such_process") as response:
            assert response.status == 404


def stroked_nodes(svg: bytes, width: str) -> list[str]:
    """The Graphviz node ids (`<title>`) drawn with this stroke width."""
    root = etree.fromstring(svg)
    found = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "node":
            continue
        if any(shape.get("stroke-width") == width for shape in group.iter(f"{SVG}path", f"{SVG}polygon")):
            found.append(group.findtext(f"{SVG}title") or "")
    return found


async def test_a_case_page_links_its_diagram_with_the_current_stage_highlighted(panel: Panel) -> None:
    harness = panel.harness
    manager = await harness.person("Марина", "shop_manager")
    await register_defect(manager)
    async with harness.core.sessionmaker() as session:
        case = (await session.execute(select(Case))).scalar_one()
    spec = harness.core.registry.known()["defect_return"]
    index = [s.key for s in spec.stages].index(case.stage)

    async with panel.client() as http:
        await panel.login(http)
        async with http.get(f"{panel.base}/cases/{case.id}") as response:
            assert f'href="cases/{case.id}/diagram.svg"' in await response.text()
        async with http.get(f"{panel.base}/cases/{case.id}/diagram.svg") as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("image/svg+xml")
            svg = await response.read()
    assert stroked_nodes(svg, CURRENT["penwidth"]) == [stage_node(index)]
    assert local(spec.stages[index].title) in drawn_text(svg)
