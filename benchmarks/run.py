"""Run the benchmark suite: every row's genqueue figure beside its baseline's.

    .venv/bin/python -m benchmarks            # the full suite, a few minutes
    .venv/bin/python -m benchmarks --quick    # tiny sizes, a smoke test for CI
    .venv/bin/python -m benchmarks --device cuda --only train_step

The table goes to stdout as Markdown and the rows to a JSON file (default
benchmarks/results/latest.json). A quick run judges no target; a full one says for
each row whether it met its target, and exits 0 either way: missing a target is a
finding, not a failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from benchmarks import qt  # noqa: F401 - offscreen Qt before anything imports Qt
from benchmarks.report import Row, machine, print_table, write_json
from benchmarks.services import bench_settings, start_redis
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass(frozen=True)
class Sizes:
    """How much each row measures; the quick sizes only prove the rows run."""

    rounds: int
    gan_rounds: int
    vae_images: int | None
    gan_images: int | None
    ingest_events: int
    submits: int
    tiny_jobs: int
    raw_tasks: int
    lag_seconds: float
    table_sizes: tuple[int, ...]
    chart_points: int
    chart_frames: int
    memory_images: int | None
    warm_up_jobs: int
    # An untimed run of each training side first, so neither pays for the first.
    warm: bool
    # A second worker for the memory row, with the quality classifier cached.
    memory_cached_too: bool


FULL = Sizes(
    rounds=15,
    gan_rounds=5,
    vae_images=None,
    gan_images=None,
    ingest_events=10_000,
    submits=10,
    tiny_jobs=20,
    raw_tasks=300,
    lag_seconds=10.0,
    table_sizes=(10_000, 100_000),
    chart_points=100_000,
    chart_frames=40,
    memory_images=None,
    warm_up_jobs=2,
    warm=True,
    memory_cached_too=True,
)
QUICK = Sizes(
    rounds=1,
    gan_rounds=1,
    vae_images=512,
    gan_images=64,
    ingest_events=400,
    submits=1,
    tiny_jobs=2,
    raw_tasks=20,
    lag_seconds=2.0,
    table_sizes=(500,),
    chart_points=2_000,
    chart_frames=4,
    memory_images=512,
    warm_up_jobs=1,
    warm=False,
    memory_cached_too=False,
)


@dataclass
class Context:
    """What the groups share: sizes, device, a scratch folder and the Redis."""

    sizes: Sizes
    device: str
    folder: Path
    server: EmbeddedRedis
    rows: list[Row]

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.server.url)

    def settings(self, name: str) -> Settings:
        """Settings with a home of their own and a queue of their own."""
        return bench_settings(self.folder / f"home-{name}", self.server)


def _training(context: Context) -> None:
    import torch

    from benchmarks import inputs, training

    sizes, device = context.sizes, torch.device(context.device)
    vae = training.workload(
        "vae",
        "MLP VAE, batch 128",
        inputs.mnist(),
        {
            "model": "vae",
            "epochs": 1,
            "batch_size": 128,
            "max_images": sizes.vae_images,
        },
    )
    gan = training.workload(
        "dcgan",
        "DCGAN 32x32, batch 64",
        inputs.cifar_folder(context.folder),
        {
            "model": "dcgan",
            "epochs": 1,
            "batch_size": 64,
            "image_size": 32,
            "channels": 3,
            "max_images": sizes.gan_images,
        },
    )
    for work, limit, rounds in (
        (vae, 1.05, sizes.rounds),
        (gan, 1.02, sizes.gan_rounds),
    ):
        result = training.compare(
            work, context.client(), context.folder, device, rounds, sizes.warm
        )
        context.rows.append(training.row(work, result, limit, context.device))


def _pipeline(context: Context) -> None:
    from benchmarks import inputs, pipeline

    waits = {r.key: r.details.get("data_wait_share", 0.0) for r in context.rows}
    limit = context.sizes.vae_images
    rounds = max(3, context.sizes.rounds)
    context.rows.append(
        pipeline.idx_row(
            inputs.mnist(), limit, rounds, waits.get("train_step_vae", float("nan"))
        )
    )
    context.rows.append(
        pipeline.folder_row(
            inputs.cifar_folder(context.folder),
            context.sizes.gan_images,
            rounds,
            waits.get("train_step_dcgan", float("nan")),
        )
    )


def _ingest(context: Context) -> None:
    from benchmarks import history_ingest

    sizes = context.sizes
    row = history_ingest.row(
        context.client(), context.folder, sizes.ingest_events, max(3, sizes.rounds)
    )
    context.rows.append(row)


def _queue(context: Context) -> None:
    from benchmarks import queue_path, raw_celery, services
    from shared.client import Client

    server_settings = context.settings("queue")
    raw_settings = context.settings("raw")
    folder = context.folder
    worker = services.genqueue_worker(
        server_settings, folder / "worker.log", noop_jobs=True
    )
    raw = services.raw_celery_worker(raw_settings, folder / "raw-worker.log")
    try:
        worker.wait_ready(), raw.wait_ready()
        client = Client(server_settings)
        app = raw_celery.make_app(raw_settings)
        queue_path.warm_up(client, context.sizes.warm_up_jobs)
        sizes = context.sizes
        context.rows.append(queue_path.submit_row(client, app, sizes.submits))
        context.rows.extend(
            queue_path.jobs_rows(client, app, sizes.tiny_jobs, sizes.raw_tasks)
        )
    finally:
        worker.stop()
        raw.stop()


def _memory(context: Context) -> None:
    from benchmarks import inputs, memory

    settings = context.settings("memory")
    source = inputs.mnist_file(context.folder)
    row = memory.row(
        settings,
        context.folder / "memory-worker.log",
        source,
        1,
        context.sizes.memory_images,
        is_cached_too=context.sizes.memory_cached_too,
    )
    context.rows.append(row)


def _app(context: Context) -> None:
    from benchmarks import app_chart, app_lag, app_table

    sizes = context.sizes
    lag_settings = context.settings("lag")
    context.rows.append(app_lag.row(lag_settings, context.client(), sizes.lag_seconds))
    for count in sizes.table_sizes:
        context.rows += app_table.rows(context.settings(f"table-{count}"), count)
    context.rows.append(app_chart.row(sizes.chart_points, sizes.chart_frames))


GROUPS: dict[str, Callable[[Context], None]] = {
    "train_step": _training,
    "data": _pipeline,
    "ingest": _ingest,
    "queue": _queue,
    "memory": _memory,
    "app": _app,
}


def _profiled(
    name: str, group: Callable[[Context], None], context: Context, folder: Path
) -> None:
    """Run a group under pyinstrument; only this process is seen, not the workers."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        group(context)
    finally:
        profiler.stop()
        folder.mkdir(parents=True, exist_ok=True)
        text = profiler.output_text(unicode=True, color=False, show_all=False)
        (folder / f"profile-{name}.txt").write_text(text)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, no verdicts")
    parser.add_argument(
        "--device", default="cpu", help="torch device for the training rows"
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(GROUPS), help="run only these groups"
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch folder and print it"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile each group with pyinstrument (pip install -e '.[bench]') and "
        "write its text report beside the JSON",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    sizes = QUICK if args.quick else FULL
    info = machine()
    folder = Path(tempfile.mkdtemp(prefix="genqueue-bench-"))
    server = start_redis(folder)
    context = Context(sizes, args.device, folder, server, [])
    loads: dict[str, float] = {}
    started = time.monotonic()
    try:
        for name, group in GROUPS.items():
            if args.only and name not in args.only:
                continue
            group_started = time.monotonic()
            if args.profile:
                _profiled(name, group, context, args.json.parent)
            else:
                group(context)
            # The last minute's load as the group ends: others' work skews timings.
            loads[name] = round(os.getloadavg()[0], 2)
            seconds = time.monotonic() - group_started
            print(f"[{name}: {seconds:.0f} s, load {loads[name]}]", flush=True)
    finally:
        server.stop()
        if args.keep:
            print(f"scratch folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    info["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    info["load_after_each_group"] = loads
    info["seconds"] = round(time.monotonic() - started)
    info["device"] = args.device
    write_json(args.json, context.rows, info, judged=not args.quick)
    print_table(context.rows, judged=not args.quick)
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
