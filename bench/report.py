"""Results of a benchmark run: rows for the table, details for the JSON file, and the table printer."""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds."""
    return {
        "n": float(len(seconds)),
        "p50_ms": percentile(seconds, 50) * 1000,
        "p95_ms": percentile(seconds, 95) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "max_ms": max(seconds) * 1000 if seconds else math.nan,
    }


@dataclass
class Row:
    section: str
    metric: str
    konveyer: float | None
    unit: str = ""
    reference: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Report:
    quick: bool
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    machine: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def as_dict(self) -> dict[str, Any]:
        return {
            "quick": self.quick,
            "started_at": self.started_at,
            "machine": self.machine,
            "rows": [asdict(r) for r in self.rows],
            "details": self.details,
            "skipped": self.skipped,
        }

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(_finite(self.as_dict()), ensure_ascii=False, indent=2), encoding="utf-8")


def machine_info() -> dict[str, Any]:
    import os

    import psutil

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
    }


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if unit == "%":
        return f"{value:.1f}%"
    if abs(value) >= 100:
        text = f"{value:,.0f}".replace(",", " ")
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip() if unit else text


def table(report: Report) -> str:
    """The report as a plain-text table: metric | konveyer | reference | ratio | target | met?"""
    header = ("metric", "konveyer", "reference", "ratio", "target", "met?")
    lines: list[tuple[str, ...]] = []
    for row in report.rows:
        ratio = "—" if row.ratio is None or not math.isfinite(row.ratio) else (
            f"{row.ratio:.0f}×" if row.ratio >= 100 else f"{row.ratio:.2f}×" if row.ratio < 10 else f"{row.ratio:.1f}×")
        met = "" if row.met is None else ("yes" if row.met else "NO")
        lines.append((f"{row.section}: {row.metric}", fmt(row.konveyer, row.unit),
                      fmt(row.reference, row.unit) if row.reference is not None else "—", ratio, row.target, met))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]

    def render(cells: tuple[str, ...]) -> str:
        return " | ".join(c.ljust(w) if i == 0 else c.rjust(w) if i < 4 else c.ljust(w)
                          for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [render(header), "-+-".join("-" * w for w in widths)]
    out.extend(render(line) for line in lines)
    for section, reason in report.skipped.items():
        out.append(f"skipped {section}: {reason}")
    return "\n".join(out)
