"""The layers keep their arrows pointing down (docs: ARCHITECTURE «Layers»):
- the engine knows nothing of Telegram, HTTP or the database: importing it must not pull in aiogram, aiohttp or
  SQLAlchemy;
- the application services and the engine never reach up into the composition root or a front end;
- handlers stay thin: parse, call one service, render — no function over 30 lines, no SQL."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_HANDLER_LINES = 30
FRONT_ENDS_AND_ROOT = ("app", "handlers", "admin", "scheduler", "tgbot")


def _modules(package: str) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _imported(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every module an import names (at any depth: a lazy import inside a function counts too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def _imports_of(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path, tree in _modules(package)
        for line, module in _imported(tree)
        if module.split(".")[0] in forbidden
    ]


def test_flows_imports_no_aiogram_aiohttp_or_database() -> None:
    modules = sorted(p.stem for p in (ROOT / "flows").glob("*.py") if p.stem != "__init__")
    code = (
        "import sys\n"
        + "".join(f"import flows.{m}\n" for m in modules)
        + "bad = [m for m in sys.modules if m.split('.')[0] in ('aiogram', 'aiohttp', 'sqlalchemy')]\n"
        + "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", result.stdout
    assert _imports_of("flows", ("aiogram", "aiohttp", "sqlalchemy")) == []


def test_services_and_flows_do_not_reach_up_into_the_root_or_a_front_end() -> None:
    assert _imports_of("services", FRONT_ENDS_AND_ROOT) == []
    assert _imports_of("flows", (*FRONT_ENDS_AND_ROOT, "services", "db")) == []


def test_handlers_hold_no_sql() -> None:
    """Handlers reach the database only through services: they do not even hold the session."""
    assert _imports_of("handlers", ("sqlalchemy",)) == []
    sessions = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.arg}"
        for path, tree in _modules("handlers")
        for node in ast.walk(tree)
        if isinstance(node, ast.arg) and node.arg == "session"
    ]
    assert sessions == []


def test_handlers_are_short() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.name} has {node.end_lineno - node.lineno + 1} lines"
        for path, tree in _modules("handlers")
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_HANDLER_LINES
    ]
    assert long == []


def test_handlers_get_their_services_and_do_not_build_them() -> None:
    built = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.func.id}(…)"
        for path, tree in _modules("handlers")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("CaseService", "Conversation", "CardButtons", "Menu", "Team", "Replies", "Renderer")
    ]
    assert built == []


def test_every_dispatcher_gets_routers_of_its_own() -> None:
    from aiogram import Dispatcher

    from handlers import routers

    first, second = routers(), routers()
    assert [r.name for r in first] == [r.name for r in second]
    assert not {id(r) for r in first} & {id(r) for r in second}
    for chain in (first, second):
        Dispatcher().include_routers(*chain)  # a router already in another dispatcher would be refused


def test_the_bot_loads_sheet_document_and_picture_libraries_only_when_it_makes_one() -> None:
    """A bot process answers chat all day and makes a sheet or a document now and then. openpyxl (with numpy),
    docxtpl, qrcode and matplotlib are ~60 MB together: loaded at the first use, they stay out of the peak RSS
    of a process that never needs them (issue 14's < 300 MB)."""
    heavy = ("openpyxl", "numpy", "docxtpl", "docx", "qrcode", "PIL", "matplotlib")
    code = (
        "import sys\n"
        "import app.application, app.cli, admin.panel, services.reports, services.portal, services.portal_catalogue\n"
        "import services.charts\n"
        "import services.onec_documents, services.files\n"
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", result.stdout


def test_the_inbox_processor_knows_nothing_of_how_updates_are_received() -> None:
    """`tgbot.receive` (long polling, the webhook) hands updates to `tgbot.inbox`; never the other way."""
    tree = ast.parse((ROOT / "tgbot" / "inbox.py").read_text(encoding="utf-8"))
    named = [module for _line, module in _imported(tree)] + [
        f"tgbot.{alias.name}" for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "tgbot" for alias in node.names
    ]
    assert [module for module in named if module == "tgbot.receive" or module.split(".")[0] == "aiohttp"] == []
