"""The workers panel shows one row per worker and updates rows in place."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from dataclasses import replace  # noqa: E402

from PySide6.QtCore import Qt  # noqa: E402

from gui.workers_panel import WorkersPanel, ago  # noqa: E402
from shared.workers import WorkerInfo  # noqa: E402

NOW = 1_700_000_000.0
ALPHA = WorkerInfo("alpha@gpu-box", "gpu", "cuda:0", "", 101, NOW - 3)
BETA = WorkerInfo("beta@laptop", "gpu", "cpu", "0123456789abcdef", 202, NOW - 75)


def make(qtbot) -> WorkersPanel:
    panel = WorkersPanel(clock=lambda: NOW)
    qtbot.addWidget(panel)
    return panel


def row_texts(panel: WorkersPanel, row: int) -> list[str]:
    model = panel.model
    return [model.index(row, c).data() for c in range(model.columnCount())]


def test_panel_shows_a_row_per_worker(qtbot) -> None:
    panel = make(qtbot)

    panel.set_workers([ALPHA, BETA])

    assert row_texts(panel, 0) == ["alpha@gpu-box", "gpu", "cuda:0", "idle", "3 s ago"]
    assert row_texts(panel, 1) == ["beta@laptop", "gpu", "cpu", "01234567", "1 min ago"]
    assert panel._empty.isHidden() and not panel._table.isHidden()


def test_updating_one_worker_changes_only_its_row(qtbot) -> None:
    panel = make(qtbot)
    panel.set_workers([ALPHA, BETA])
    resets: list[bool] = []
    panel.model.modelReset.connect(lambda: resets.append(True))

    busy = replace(ALPHA, current_job="fedcba9876543210", heartbeat=NOW)
    with qtbot.waitSignal(panel.model.dataChanged) as blocker:
        panel.set_workers([busy, BETA])

    top_left, bottom_right = blocker.args[:2]
    assert (top_left.row(), bottom_right.row()) == (0, 0)
    assert resets == []
    assert row_texts(panel, 0)[3:] == ["fedcba98", "0 s ago"]


def test_a_new_set_of_workers_resets_the_table(qtbot) -> None:
    panel = make(qtbot)
    panel.set_workers([ALPHA])

    with qtbot.waitSignal(panel.model.modelReset):
        panel.set_workers([ALPHA, BETA])

    assert panel.model.rowCount() == 2


def test_empty_state_is_shown_when_no_worker_is_online(qtbot) -> None:
    panel = make(qtbot)
    panel.set_workers([ALPHA])

    panel.set_workers([])

    assert not panel._empty.isHidden() and panel._table.isHidden()
    assert "genqueue worker" in panel._empty.text()


def test_heartbeat_ages_without_a_fetch(qtbot) -> None:
    now = [NOW]
    panel = WorkersPanel(clock=lambda: now[0])
    qtbot.addWidget(panel)
    panel.set_workers([ALPHA])
    now[0] += 10

    with qtbot.waitSignal(panel.model.dataChanged, timeout=2000) as blocker:
        pass

    assert blocker.args[0].column() == 4
    assert row_texts(panel, 0)[4] == "13 s ago"


def test_data_is_none_for_roles_the_model_does_not_use(qtbot) -> None:
    panel = make(qtbot)
    panel.set_workers([ALPHA])

    index = panel.model.index(0, 0)

    assert index.data(Qt.ItemDataRole.DecorationRole) is None


def test_ages_read_as_seconds_minutes_and_hours() -> None:
    assert [ago(3.7), ago(125), ago(7300), ago(-2)] == [
        "3 s ago",
        "2 min ago",
        "2 h ago",
        "0 s ago",
    ]
