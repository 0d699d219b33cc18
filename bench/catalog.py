"""The catalogue import at scale: 1C's import.xml and offers.xml for N products (two price types, two warehouses,
nested groups) written on the fly, then imported by a process of its own so its peak RSS is the import's alone.

`python -m bench.catalog DATABASE_URL import.xml offers.xml` prints one JSON line: seconds per file, the process's
CPU per file, on PostgreSQL the CPU of the server's processes serving the database per file (read from /proc, when
the server runs on this machine), peak RSS.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" '
    'ВерсияСхемы="2.08" ДатаФормирования="2026-12-21T10:00:00">\n'
)
GROUPS = 20  # top groups, each with 10 subgroups: 220 groups


def write_import(path: Path, products: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEAD + "<Классификатор><Ид>cls</Ид><Наименование>Каталог</Наименование><Группы>")
        for top in range(GROUPS):
            out.write(f"<Группа><Ид>g{top}</Ид><Наименование>Раздел {top}</Наименование><Группы>")
            out.write(
                "".join(
                    f"<Группа><Ид>g{top}-{sub}</Ид><Наименование>Подраздел {top}.{sub}</Наименование></Группа>"
                    for sub in range(10)
                )
            )
            out.write("</Группы></Группа>")
        out.write(
            "</Группы><Свойства><Свойство><Ид>brand</Ид><Наименование>Марка</Наименование>"
            "<ТипЗначений>Справочник</ТипЗначений><ВариантыЗначений>"
        )
        out.write(
            "".join(
                f"<Справочник><ИдЗначения>b{n}</ИдЗначения><Значение>Марка {n}</Значение></Справочник>"
                for n in range(50)
            )
        )
        out.write(
            "</ВариантыЗначений></Свойство></Свойства></Классификатор>\n"
            '<Каталог СодержитТолькоИзменения="false"><Ид>cat</Ид><ИдКлассификатора>cls</ИдКлассификатора>'
            "<Наименование>Каталог</Наименование><Товары>\n"
        )
        for n in range(products):
            name = escape(f"Товар номер {n} для проверки скорости")
            out.write(
                f"<Товар><Ид>00000000-0000-0000-0000-{n:012d}</Ид><Штрихкод>46{n:011d}</Штрихкод>"
                f"<Артикул>ART-{n}</Артикул><Наименование>{name}</Наименование>"
                f'<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>'
                f"<Группы><Ид>g{n % GROUPS}-{n % 10}</Ид></Группы><Описание>{name}</Описание>"
                f"<Картинка>import_files/{n % 100:02d}/{n}.jpg</Картинка><ЗначенияСвойств><ЗначенияСвойства>"
                f"<Ид>brand</Ид><Значение>b{n % 50}</Значение></ЗначенияСвойства></ЗначенияСвойств></Товар>\n"
            )
        out.write("</Товары></Каталог></КоммерческаяИнформация>\n")


def write_offers(path: Path, offers: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(
            HEAD + '<ПакетПредложений СодержитТолькоИзменения="false"><Ид>cat#</Ид>'
            "<Наименование>Пакет предложений</Наименование><ИдКаталога>cat</ИдКаталога>"
            "<ТипыЦен><ТипЦены><Ид>opt</Ид><Наименование>Оптовая</Наименование><Валюта>RUB</Валюта></ТипЦены>"
            "<ТипЦены><Ид>roz</Ид><Наименование>Розничная</Наименование><Валюта>RUB</Валюта></ТипЦены>"
            "</ТипыЦен><Склады><Склад><Ид>msk</Ид><Наименование>Москва</Наименование></Склад>"
            "<Склад><Ид>spb</Ид><Наименование>Санкт-Петербург</Наименование></Склад></Склады><Предложения>\n"
        )
        for n in range(offers):
            price = 100 + n % 9000
            out.write(
                f"<Предложение><Ид>00000000-0000-0000-0000-{n:012d}</Ид>"
                f"<Наименование>Товар номер {n} для проверки скорости</Наименование><Цены>"
                f"<Цена><ИдТипаЦены>opt</ИдТипаЦены><ЦенаЗаЕдиницу>{price}.00</ЦенаЗаЕдиницу><Валюта>RUB</Валюта>"
                f"</Цена><Цена><ИдТипаЦены>roz</ИдТипаЦены><ЦенаЗаЕдиницу>{price * 13 // 10}.50</ЦенаЗаЕдиницу>"
                f"<Валюта>RUB</Валюта></Цена></Цены><Количество>{n % 7 + n % 5}</Количество>"
                f'<Склад ИдСклада="msk" КоличествоНаСкладе="{n % 7}"/><Склад ИдСклада="spb" '
                f'КоличествоНаСкладе="{n % 5}"/></Предложение>\n'
            )
        out.write("</Предложения></ПакетПредложений></КоммерческаяИнформация>\n")


async def _import(url: str, files: list[Path]) -> dict[str, object]:
    from bench.servercpu import server_cpu
    from db.engine import make_engine, make_sessionmaker, migrate
    from flows.clock import SystemClock
    from integrations.onec.importer import import_files
    from services import catalogue

    engine = make_engine(url)
    await migrate(engine)
    sessionmaker = make_sessionmaker(engine)
    seconds, cpu, server = {}, {}, {}
    async with server_cpu(url) as reader:  # the backends of the bench's own scratch database: this import's
        for path in files:
            mark = await reader.read() if reader is not None else None
            began, began_cpu = time.perf_counter(), time.process_time()
            await import_files(sessionmaker, SystemClock(), [path])
            seconds[path.name] = time.perf_counter() - began
            cpu[path.name] = time.process_time() - began_cpu
            if reader is not None and mark is not None:
                server[path.name] = await reader.since(mark)
    async with sessionmaker() as session:
        stats = await catalogue.stats(session)
    await engine.dispose()
    result: dict[str, object] = {"seconds": seconds, "cpu_seconds": cpu, "stats": stats}
    if server:
        result["server_cpu_seconds"] = server
    return result


def _peak_rss() -> int:
    """This process's peak RSS in bytes. VmHWM belongs to the process's own memory since its exec; ru_maxrss would
    also count the parent's memory at the fork (Linux carries it across execve), 160 MB of the bench's own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main(argv: list[str]) -> int:
    url, *names = argv
    result = asyncio.run(_import(url, [Path(name) for name in names]))
    result["peak_rss"] = _peak_rss()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


async def measure(url: str, folder: Path, offers: int) -> dict[str, Any]:
    """Writes the files for `offers` products (not timed) and imports them in a child process."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    goods, prices = folder / "import.xml", folder / "offers.xml"
    await asyncio.to_thread(write_import, goods, offers)
    await asyncio.to_thread(write_offers, prices, offers)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.catalog",
        url,
        str(goods),
        str(prices),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the import failed: {err.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["sizes"] = {path.name: (await asyncio.to_thread(path.stat)).st_size for path in (goods, prices)}
    for path in (goods, prices):
        await asyncio.to_thread(path.unlink)
    return result
