"""Rows of the benchmark table: two numbers, their ratio, a target, and the verdict.

Every row holds genqueue's figure and its baseline's, both measured in the same
process and the same run, so a busy machine slows both alike. A quick run keeps
the numbers but judges no target: its sizes are too small to mean anything.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Target:
    """What a row must show, in words, and the check that says whether it does."""

    text: str
    check: Callable[[Row], bool]


@dataclass
class Row:
    """One measured thing: genqueue against its baseline, in one unit."""

    key: str
    what: str
    unit: str
    genqueue: float
    baseline: float
    baseline_is: str
    target: Target
    note: str = ""
    details: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.genqueue / self.baseline if self.baseline else float("inf")

    def is_met(self) -> bool:
        return self.target.check(self)

    def to_json(self, judged: bool) -> dict[str, Any]:
        values = asdict(self)
        values["target"] = self.target.text
        values["ratio"] = self.ratio
        is_judged = judged and self.target.text != NO_TARGET
        values["met"] = self.is_met() if is_judged else None
        return values


def ratio_at_most(limit: float) -> Target:
    return Target(f"ratio <= {limit:g}", lambda row: row.ratio <= limit)


def ratio_at_least(limit: float) -> Target:
    return Target(f"ratio >= {limit:g}", lambda row: row.ratio >= limit)


def margin_at_most(limit: float, unit: str) -> Target:
    text = f"<= baseline + {limit:g} {unit}"
    return Target(text, lambda row: row.genqueue - row.baseline <= limit)


def under(limit: float, unit: str) -> Target:
    return Target(f"< {limit:g} {unit}", lambda row: row.genqueue < limit)


NO_TARGET = "none set"


def no_target() -> Target:
    return Target(NO_TARGET, lambda row: True)


def detail_under(name: str, limit: float, text: str) -> Target:
    """A target on one of the row's details rather than on its two main numbers."""
    return Target(text, lambda row: row.details.get(name, float("inf")) < limit)


def both(first: Target, second: Target) -> Target:
    text = f"{first.text}; {second.text}"
    return Target(text, lambda row: first.check(row) and second.check(row))


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_json(
    path: Path, rows: list[Row], info: dict[str, Any], *, judged: bool
) -> None:
    document = {
        "machine": info,
        "quick": not judged,
        "rows": [row.to_json(judged) for row in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def format_number(value: float) -> str:
    """Three significant figures, without exponents for the sizes seen here."""
    if value == 0 or not abs(value) < float("inf"):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(rows: list[Row], *, judged: bool) -> str:
    """The rows as a Markdown table, as BENCHMARKS.md holds it."""
    lines = [
        "| what | unit | genqueue | baseline | ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        verdict = ("yes" if row.is_met() else "**no**") if judged else "not judged"
        if row.target.text == NO_TARGET:
            verdict = "-"
        cells = (
            row.what,
            row.unit,
            format_number(row.genqueue),
            format_number(row.baseline),
            f"{row.ratio:.3f}",
            row.target.text,
            verdict,
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_table(rows: list[Row], *, judged: bool) -> None:
    print(table(rows, judged=judged))
    for row in rows:
        if row.note or row.details:
            extras = ", ".join(
                f"{k}={format_number(v)}" for k, v in row.details.items()
            )
            print(f"- {row.key}: {row.baseline_is}. {row.note} {extras}".rstrip())
    sys.stdout.flush()
