"""The history table stays quick and exact with many jobs."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QTableView  # noqa: E402

from gui.jobs_model import COLUMNS, JOB_ROLE, JobFilter, JobTableModel  # noqa: E402
from shared.history import JobView  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)


def make_job(number: int, **changes: object) -> JobView:
    job = JobView(
        id=f"{number:08x}-0000-4000-8000-000000000000",
        name=f"job {number}",
        kind="train",
        model="vae" if number % 2 else "gan",
        dataset="digits",
        spec={"model": "vae", "dataset": "digits"},
        status=("queued", "running", "succeeded", "failed")[number % 4],
        submitted_at=START + timedelta(seconds=number),
        started_at=None,
        finished_at=None,
        updated_at=START,
        epoch=0,
        epochs=5,
        step=number % 50,
        steps_per_epoch=10,
        images_per_second=None,
        latest={"loss": 1.0 / (number + 1)},
        device=None,
        worker=None,
        error=None,
        outputs=None,
        samples_dir=None,
    )
    return replace(job, **changes)


def shown_table(qtbot, jobs: list[JobView]) -> tuple[QTableView, JobTableModel]:
    model = JobTableModel()
    model.reset(jobs)
    view = QTableView()
    view.setModel(model)
    view.setSortingEnabled(True)
    view.resize(1200, 700)
    qtbot.addWidget(view)
    view.show()
    return view, model


def names(model: JobTableModel) -> list[str]:
    column = COLUMNS.index("name")
    return [model.index(row, column).data() for row in range(model.rowCount())]


def test_ten_thousand_jobs_open_and_scroll(qtbot) -> None:
    view, model = shown_table(qtbot, [make_job(n) for n in range(10_000)])

    bar = view.verticalScrollBar()
    for position in range(0, bar.maximum(), bar.maximum() // 50):
        bar.setValue(position)
        view.viewport().repaint()

    assert model.rowCount() == 10_000
    assert view.indexAt(view.viewport().rect().center()).isValid()


def test_painting_a_model_that_returns_none_thousands_of_times_keeps_none_alive(
    qtbot,
) -> None:
    # PySide6 6.12.0 on Python 3.11 drops a reference to None on every data() call
    # that returns it, and the interpreter aborts after a few thousand repaints.
    view, _ = shown_table(qtbot, [make_job(n) for n in range(200)])
    before = sys.getrefcount(None)

    for _ in range(3000):
        view.viewport().repaint()

    assert sys.getrefcount(None) > before - 1000


def test_updating_one_job_signals_exactly_its_row(qtbot) -> None:
    _, model = shown_table(qtbot, [make_job(n) for n in range(1000)])
    changed = make_job(500, status="succeeded", step=50)

    with qtbot.waitSignal(model.dataChanged) as signal:
        model.update([changed])

    top_left, bottom_right = signal.args[:2]
    assert top_left.row() == bottom_right.row() == model.row_of(changed.id)
    assert model.index(top_left.row(), COLUMNS.index("status")).data() == "succeeded"


def test_a_new_job_is_inserted_without_a_reset(qtbot) -> None:
    view, model = shown_table(qtbot, [make_job(n) for n in range(10)])
    view.sortByColumn(COLUMNS.index("submitted"), Qt.SortOrder.DescendingOrder)
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))

    model.update([make_job(99)])

    assert model.rowCount() == 11 and not resets
    assert model.row_of(make_job(99).id) == 0
    assert model.row_of(make_job(3).id) == 7


def test_sorting_keeps_the_selected_job_selected(qtbot) -> None:
    view, model = shown_table(qtbot, [make_job(n) for n in range(1000)])
    view.sortByColumn(COLUMNS.index("submitted"), Qt.SortOrder.DescendingOrder)
    view.selectRow(10)
    chosen = view.selectionModel().selectedRows()[0].data(JOB_ROLE)

    view.sortByColumn(COLUMNS.index("submitted"), Qt.SortOrder.AscendingOrder)

    selected = view.selectionModel().selectedRows()
    assert [index.data(JOB_ROLE).id for index in selected] == [chosen.id]
    assert selected[0].row() == 989
    assert model.index(0, COLUMNS.index("name")).data() == "job 0"


def test_a_changed_job_moves_to_where_the_sort_puts_it(qtbot) -> None:
    jobs = [make_job(n, step=10 * n, status="running") for n in range(5)]
    view, model = shown_table(qtbot, jobs)
    view.sortByColumn(COLUMNS.index("progress"), Qt.SortOrder.DescendingOrder)
    moves: list[bool] = []
    model.rowsMoved.connect(lambda *_: moves.append(True))

    model.update([make_job(1, step=49, status="running")])

    assert names(model) == ["job 1", "job 4", "job 3", "job 2", "job 0"]
    assert moves == [True]


def test_pages_that_arrive_in_order_are_not_sorted_again(qtbot) -> None:
    jobs = [make_job(n) for n in range(3000)][::-1]  # newest first, as the app loads
    view, model = shown_table(qtbot, jobs[:1000])
    view.sortByColumn(COLUMNS.index("submitted"), Qt.SortOrder.DescendingOrder)
    layouts: list[bool] = []
    model.layoutChanged.connect(lambda *_: layouts.append(True))

    model.append(jobs[1000:2000])
    model.append(jobs[2000:])
    model.append([make_job(5000)])  # newer than all: sorted into place

    assert layouts == [True]
    assert model.row_of(make_job(5000).id) == 0
    assert model.row_of(make_job(0).id) == 3000


def test_filters_by_status_model_and_text(qtbot) -> None:
    _, model = shown_table(qtbot, [make_job(n) for n in range(100)])

    model.set_filter(JobFilter(status="failed"))
    assert model.rowCount() == 25
    model.set_filter(JobFilter(status="failed", model_kind="vae"))
    assert model.rowCount() == 25  # every failed job (n % 4 == 3) has an odd n
    model.set_filter(JobFilter(text="JOB 42"))
    assert names(model) == ["job 42"]
    assert model.job_count() == 100


def test_clearing_the_filter_shows_every_job_in_the_sorted_order(qtbot) -> None:
    view, model = shown_table(qtbot, [make_job(n) for n in range(8)])
    view.sortByColumn(COLUMNS.index("submitted"), Qt.SortOrder.DescendingOrder)

    model.set_filter(JobFilter(status="running"))
    model.set_filter(JobFilter())

    assert names(model) == [f"job {n}" for n in range(7, -1, -1)]


def test_a_job_that_leaves_the_filter_is_hidden_and_one_that_enters_is_shown(
    qtbot,
) -> None:
    view, model = shown_table(qtbot, [make_job(n) for n in range(8)])
    view.sortByColumn(COLUMNS.index("submitted"), Qt.SortOrder.DescendingOrder)
    model.set_filter(JobFilter(status="running"))
    assert names(model) == ["job 5", "job 1"]

    model.update([make_job(5, status="succeeded"), make_job(2, status="running")])
    model.update([make_job(9, status="running"), make_job(10, status="queued")])

    assert names(model) == ["job 9", "job 2", "job 1"]
    assert model.row_of(make_job(5).id) is None
    assert model.job_count() == 10
    model.set_filter(JobFilter())
    assert names(model) == [f"job {n}" for n in range(10, -1, -1) if n != 8]


def test_a_removed_job_is_gone_whether_shown_or_hidden(qtbot) -> None:
    _, model = shown_table(qtbot, [make_job(n) for n in range(4)])
    model.set_filter(JobFilter(status="running"))

    model.remove(make_job(1).id)  # shown
    model.remove(make_job(2).id)  # hidden

    assert model.rowCount() == 0 and model.job_count() == 2
    model.set_filter(JobFilter())
    assert sorted(names(model)) == ["job 0", "job 3"]


def test_sorting_by_progress_is_numeric(qtbot) -> None:
    jobs = [make_job(n, step=s, status="running") for n, s in enumerate((5, 40, 10))]
    view, model = shown_table(qtbot, jobs)

    view.sortByColumn(COLUMNS.index("progress"), Qt.SortOrder.AscendingOrder)

    assert names(model) == ["job 0", "job 2", "job 1"]
