"""What the command line prints: job tables, one job's details, a live progress bar."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from shared.client import Client
from shared.generation import GENERATE_FIELDS, MODE_FIELDS
from shared.history import EventView, HistoryStore, JobView
from shared.spec import unused_options
from shared.workers import WorkerInfo

STATUS_STYLE = {
    "queued": "cyan",
    "running": "yellow",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "magenta",
    "interrupted": "red",
}


def _text(value: Any) -> str:
    """A value from the history or from Redis, shown as itself and never as markup.

    Names, errors and worker fields may come from a message written by hand, and a
    stray "[/red]" in one would otherwise stop the whole table from printing.
    """
    return escape(str(value))


def _console() -> Console:
    # Piped output has no width to fit; keep rows whole so scripts can grep them.
    return Console() if sys.stdout.isatty() else Console(width=200)


def progress_fraction(job: JobView) -> float:
    if job.status == "succeeded":
        return 1.0
    if not job.steps_per_epoch or not job.epochs:
        return 0.0
    return min(job.step / (job.steps_per_epoch * job.epochs), 1.0)


@lru_cache(maxsize=1024)
def dataset_label(dataset: str) -> str:
    """A path's last two parts ("mnist/t10k-images-idx3-ubyte.gz"); names as they are."""
    parts = PurePath(dataset).parts
    return "/".join(parts[-2:]) if len(parts) > 2 else dataset


def progress_words(job: JobView) -> str:
    """``epoch e/E step s`` for a training job; empty for a generation job.

    A generation job has no epochs or steps, only an end.
    """
    if job.kind != "train":
        return ""
    return f"epoch {job.epoch}/{job.epochs} step {job.step}"


def shown_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec's fields that mean something for its job, in their order.

    Left out: unset values, the kind, the options its model does not read
    (``kl_weight`` of a GAN) and the generation fields its mode does not read.
    """
    unused: set[str]
    if spec.get("kind") == "generate":
        unused = set(GENERATE_FIELDS) - set(MODE_FIELDS.get(str(spec.get("mode")), ()))
    else:
        unused = set(unused_options(str(spec.get("model"))))
    return {
        key: value
        for key, value in spec.items()
        if value is not None and key != "kind" and key not in unused
    }


def format_losses(values: dict[str, Any]) -> str:
    return " ".join(
        f"{k}={v:.4g}" for k, v in values.items() if isinstance(v, (int, float))
    )


def format_age(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    seconds = (datetime.now(UTC) - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def jobs_table(rows: list[JobView], offline: str | None) -> None:
    console = _console()
    columns = ["id", "name", "model", "dataset", "status", "progress", "latest losses"]
    has_errors = any(job.error for job in rows)
    table = Table(*columns, "age", *(["why"] if has_errors else []))
    for job in rows:
        style = STATUS_STYLE.get(job.status, "")
        why = [_first_line(job.error)] if has_errors else []
        table.add_row(
            job.id[:8],
            _text(job.name or "-"),
            _text(job.model),
            _text(_short_dataset(job.dataset)),
            f"[{style}]{_text(job.status)}[/]",
            progress_cell(job),
            _text(format_losses(job.latest)),
            format_age(job.submitted_at),
            *map(_text, why),
        )
    console.print(table)
    _offline_note(console, offline)


def progress_cell(job: JobView, share: float | None = None) -> str:
    """``62%  e4/5``: the share done and, for a training job, its epoch.

    ``share`` is the job's progress_fraction, for a caller that has it already.
    """
    done = f"{progress_fraction(job) if share is None else share:.0%}"
    # A generation job has no epochs to count.
    if job.kind != "train" or not job.epochs:
        return done
    return f"{done}  e{job.epoch}/{job.epochs}"


def outputs_place(outputs: str | None) -> str:
    """Where a job's outputs lie, in words: at a shared location or on its worker."""
    return "shared location" if outputs and "://" in outputs else "on the worker"


def log_lines(events: list[EventView]) -> list[str]:
    """One line per state change, log message or error, with its local time."""
    lines = []
    for event in events:
        when = datetime.fromtimestamp(event.time).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{when} {describe_event(event.type, event.payload)}")
    return lines


def describe_event(kind: str, payload: dict[str, Any]) -> str:
    """A log event in words, as the command line and the app show it."""
    if kind == "state":
        text = f"state → {payload.get('status')}"
        if payload.get("worker"):
            text += f" on {payload['worker']} ({payload.get('device', '?')})"
        if payload.get("error"):
            text += f": {payload['error']}"
        return text
    if kind == "error":
        return (
            f"error: {payload.get('message')}\n{payload.get('traceback', '')}".rstrip()
        )
    return f"{payload.get('level', 'info')}: {payload.get('message', '')}"


def workers_table(online: list[WorkerInfo]) -> None:
    console = _console()
    table = Table("worker", "queue", "device", "current job", "last heartbeat")
    for worker in online:
        seen = datetime.fromtimestamp(worker.heartbeat, UTC)
        job = worker.current_job[:8] or "-"
        fields = (worker.hostname, worker.queue, worker.device, job)
        table.add_row(*map(_text, fields), format_age(seen))
    console.print(table)
    if not online:
        console.print("No workers online; start one with `genqueue worker`.")


def _first_line(error: str | None, width: int = 70) -> str:
    line = (error or "").splitlines()[0] if error else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _short_dataset(dataset: str) -> str:
    return dataset if len(dataset) <= 32 else "…" + dataset[-31:]


def _offline_note(console: Console, offline: str | None) -> None:
    if offline:
        console.print(
            f"[yellow]Broker unreachable, showing stored history: {_text(offline)}[/]"
        )


def job_details(store: HistoryStore, ref: str) -> dict[str, Any]:
    """Everything `show` prints, as plain JSON-ready values."""
    job = store.get_job(ref)
    images = store.images(job.id)
    return {
        **job.to_json(),
        "progress": progress_fraction(job),
        "epoch_losses": [
            {"epoch": e, **means} for e, means in store.epoch_means(job.id)
        ],
        "images": [
            {"epoch": i.epoch, "name": i.name, "path": str(i.path)} for i in images
        ],
    }


def show_job(details: dict[str, Any], offline: str | None) -> None:
    console = _console()
    style = STATUS_STYLE.get(details["status"], "")
    console.print(
        f"[bold]{_text(details['id'])}[/] {_text(details['name'])}  "
        f"[{style}]{_text(details['status'])}[/]"
    )
    for label, key in (
        ("device", "device"),
        ("worker", "worker"),
        ("submitted", "submitted_at"),
        ("started", "started_at"),
        ("finished", "finished_at"),
    ):
        console.print(f"  {label:<10} {_text(details.get(key) or '-')}")
    is_training = details["kind"] == "train"
    where = f" (epoch {details['epoch']}/{details['epochs']}, step {details['step']})"
    progress = f"{details['progress']:.0%}" + (where if is_training else "")
    console.print(f"  {'progress':<10} {progress}")
    if details.get("error"):
        console.print(f"  [red]{'error':<10} {_text(details['error'])}[/]")
    spec_text = " ".join(f"{k}={v}" for k, v in shown_spec(details["spec"]).items())
    console.print(f"  spec       {_text(spec_text)}")
    _epoch_table(console, details["epoch_losses"])
    label, outputs = "model" if is_training else "outputs", details.get("outputs")
    console.print(f"  {label:<10} {_text(outputs or '-')} ({outputs_place(outputs)})")
    samples = _text(details.get("samples_dir") or "-")
    count = len(details["images"])
    images = f"{count} image" if count == 1 else f"{count} images"
    console.print(f"  {'samples':<10} {samples} ({images})")
    _offline_note(console, offline)


def _epoch_table(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    names = [k for k in rows[0] if k != "epoch"]
    table = Table("epoch", *map(_text, names), title="mean losses per epoch")
    for row in rows:
        table.add_row(str(row["epoch"]), *(f"{row[n]:.4f}" for n in names))
    console.print(table)


def follow(client: Client, ref: str, timeout: float | None) -> JobView:
    """Wait for the job, with a progress bar on a terminal and plain lines elsewhere."""
    if not sys.stdout.isatty():
        return client.wait(ref, _line_printer(), timeout)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=30),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
    )
    task = bar.add_task("queued", total=1.0)
    # Losses go on a line of their own, so a narrow terminal keeps the bar whole.
    losses = Text()

    def update(job: JobView) -> None:
        text = f"{job.status} {progress_words(job)}".rstrip()
        bar.update(task, completed=progress_fraction(job), description=text)
        losses.plain = "  " + format_losses(job.latest)

    with Live(Group(bar, losses), refresh_per_second=4):
        return client.wait(ref, update, timeout)


def _line_printer() -> Any:
    seen: dict[str, Any] = {"key": None, "at": 0.0}

    def update(job: JobView) -> None:
        key = (job.status, job.epoch)
        if key == seen["key"] and time.monotonic() - seen["at"] < 10:
            return
        seen.update(key=key, at=time.monotonic())
        words = " ".join(
            part
            for part in (job.status, progress_words(job), format_losses(job.latest))
            if part
        )
        print(f"{job.id[:8]} {words}", flush=True)

    return update
