"""The benchmark suite's quick mode runs end to end and reports every row.

It asserts nothing about speed: the quick sizes are too small to mean anything,
and the machine may be busy. It checks that each row was measured on both sides.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
QUICK_ROWS = {
    "train_step_vae",
    "train_step_dcgan",
    "data_idx",
    "data_jpeg",
    "ingest_events",
    "submit_to_first_step",
    "tiny_jobs",
    "one_step_jobs",
    "worker_memory",
    "progress_lag",
    "table_500_first_paint",
    "table_500_scroll",
    "table_500_update",
    "chart_redraw",
}

pytestmark = pytest.mark.e2e


def _is_measured(value: object) -> bool:
    return isinstance(value, float | int) and math.isfinite(value) and value > 0


@pytest.mark.timeout(900)
def test_quick_mode_reports_every_row_with_both_numbers(tmp_path: Path) -> None:
    output = tmp_path / "quick.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "benchmarks", "--quick", "--json", str(output)]

    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=850
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    document = json.loads(output.read_text())
    rows = {row["key"]: row for row in document["rows"]}
    assert set(rows) == QUICK_ROWS
    unmeasured = [
        key
        for key, row in rows.items()
        if not (_is_measured(row["genqueue"]) and _is_measured(row["baseline"]))
    ]
    assert unmeasured == []
    assert all(row["met"] is None for row in rows.values())
    assert document["quick"] is True
    assert document["machine"]["torch"]
