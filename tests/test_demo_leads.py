"""`konveyer demo` seeds the people of seed 5's deal (a person per role) and prints the site form's address; the
page there posts a lead that becomes a deal."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from pathlib import Path

import aiohttp
import pytest

from sandbox.demo import run_demo


def _free_ports(count: int) -> int:
    """A first port with the `count` ports after it free too (the demo takes port, port + 1, port + 2)."""
    for _attempt in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = int(probe.getsockname()[1])
        if first + count > 65535:
            continue
        with contextlib.ExitStack() as stack:
            try:
                for port in range(first, first + count):
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
        return first
    raise RuntimeError("no free ports")


async def test_the_demo_seeds_the_deals_people_and_prints_a_working_lead_form(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stop = asyncio.Event()
    port = _free_ports(3)
    demo = asyncio.create_task(run_demo(port=port, database_url=database_url, data_dir=tmp_path, stop=stop))
    printed = ""
    try:
        for _tick in range(600):
            printed += capsys.readouterr().out
            if "Stop with Ctrl+C." in printed or demo.done():
                break
            await asyncio.sleep(0.1)
        found = re.search(r"Lead form «site» .*: (http://\S+)", printed)
        assert found is not None, printed
        for name, role in (
            ("Антон, менеджер по продажам", "sales_manager"),
            ("Пётр, директор", "director"),
            ("Лиана, логист", "logistics"),
            ("Анна, бухгалтер", "accountant"),
        ):
            assert re.search(rf"{name}\s+{role}", printed), name
        async with aiohttp.ClientSession() as http:
            async with http.get(found.group(1)) as response:
                page = await response.text()
            assert response.status == 200 and "Клиент (организация)" in page
            token = re.search(r'name="token" value="([^"]+)"', page)
            assert token is not None, page
            lead = {"token": token.group(1), "organisation": "Клиника «Здоровье»", "name": "Анна",
                    "phone": "+7 900 123-45-67"}
            async with http.post(found.group(1), data=lead) as response:
                assert response.status == 201, await response.text()
    finally:
        stop.set()
        await asyncio.wait_for(demo, 60)
