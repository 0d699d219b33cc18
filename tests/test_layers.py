"""The engine knows nothing of Telegram or HTTP: importing it must not pull in aiogram or aiohttp."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
