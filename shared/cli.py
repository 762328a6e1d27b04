"""The `genqueue` command line: run the stack, submit jobs, follow and inspect them."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict
from typing import Any

import click

from shared import display
from shared.client import Client
from shared.errors import BrokerError, ConfigError, GenqueueError
from shared.events import LOG_TYPES, STATUSES, TERMINAL
from shared.generation import GenerateSpec
from shared.queue_check import is_not_in_queue
from shared.settings import Settings
from shared.spec import MODEL_KINDS, TrainSpec
from shared.workers import list_workers

logger = logging.getLogger(__name__)


@click.group()
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    help="genqueue home directory [env GENQUEUE_HOME].",
)
@click.option(
    "--broker",
    "broker_url",
    metavar="URL",
    help="redis://:PASSWORD@HOST:PORT/0 [env GENQUEUE_BROKER_URL].",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.pass_context
def cli(
    ctx: click.Context, home: str | None, broker_url: str | None, verbose: bool
) -> None:
    """Train and sample GANs and VAEs on GPU workers through a Redis queue."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = {"home": home, "broker_url": broker_url}


def connection_options(command: Any) -> Any:
    """--home and --broker after the subcommand too (`genqueue worker --broker URL`)."""
    command = click.option(
        "--broker",
        "broker_url",
        metavar="URL",
        help="Overrides the broker for this command.",
    )(command)
    return click.option(
        "--home", type=click.Path(file_okay=False), help="Overrides the home directory."
    )(command)


def require_display() -> None:
    """Refuse before starting anything when there is no screen for the app."""
    names = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    if sys.platform.startswith("linux") and not any(os.environ.get(n) for n in names):
        raise ConfigError(
            "No display for the app: DISPLAY is not set. Run `genqueue up --no-gui` "
            "to run without it, or start genqueue from a desktop session."
        )


def load_settings(
    group: dict[str, str | None], home: str | None, broker_url: str | None, **flags: Any
) -> Settings:
    return Settings.load(
        home=home or group["home"],
        broker_url=broker_url or group["broker_url"],
        **flags,
    )


@cli.command()
@click.option(
    "--no-gui", is_flag=True, help="Run Redis, a worker and ingestion without the app."
)
@connection_options
@click.pass_obj
def up(
    group: dict[str, Any], home: str | None, broker_url: str | None, no_gui: bool
) -> None:
    """Start the embedded Redis, one local worker and the desktop app; Ctrl-C stops them."""
    settings = load_settings(group, home, broker_url)
    from shared.stack import LocalStack

    if not no_gui:
        require_display()
    # With the app open, the app's own backend reads the job streams.
    with LocalStack(settings, ingest=no_gui) as stack:
        click.echo(stack.describe())
        if no_gui:
            stack.wait_for_interrupt()
        else:
            from gui.app import run_app

            run_app(settings)


@cli.command()
@click.option("--queue", help="Queue to serve [env GENQUEUE_QUEUE; default gpu].")
@click.option(
    "--name",
    default="genqueue@%h",
    show_default=True,
    help="Worker name; %h is the host name.",
)
@click.option(
    "--artifact-dir",
    type=click.Path(file_okay=False),
    help="Where trained models go [env GENQUEUE_ARTIFACT_DIR].",
)
@click.option(
    "--artifact-url",
    help="Share models and checkpoints with other workers at this fsspec URL, "
    "such as s3://BUCKET/PREFIX [env GENQUEUE_ARTIFACT_URL, which keeps any "
    "key out of `ps`].",
)
@click.option(
    "--loglevel",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
)
@connection_options
@click.pass_obj
def worker(
    group: dict[str, Any],
    home: str | None,
    broker_url: str | None,
    queue: str | None,
    name: str,
    artifact_dir: str | None,
    artifact_url: str | None,
    loglevel: str,
) -> None:
    """Serve training jobs from the broker, one at a time, on this machine's GPU or CPU."""
    from worker.main import run_worker

    settings = load_settings(
        group,
        home,
        broker_url,
        queue=queue,
        artifact_dir=artifact_dir,
        artifact_url=artifact_url,
    )
    run_worker(settings, name=name, loglevel=loglevel)


@cli.command()
@connection_options
@click.pass_obj
def gui(
    group: dict[str, Any],
    home: str | None,
    broker_url: str | None,
) -> None:
    """Open the desktop app against an existing broker."""
    settings = load_settings(group, home, broker_url)
    require_display()
    from gui.app import run_app

    sys.exit(run_app(settings))


@cli.group()
def submit() -> None:
    """Put a new job on the queue and print its id."""


@submit.command("train")
@click.option(
    "--model",
    type=click.Choice(list(MODEL_KINDS)),
    required=True,
    help="; ".join(f"{kind}: {text}" for kind, text in MODEL_KINDS.items()),
)
@click.option(
    "--dataset",
    required=True,
    help="'digits', 'mnist', 'fashion-mnist', 'cifar10', or a path: MNIST IDX, .npz, CIFAR-10 binary, or a folder of images.",
)
@click.option("--epochs", type=int)
@click.option("--batch-size", type=int)
@click.option("--lr", type=float, help="Adam learning rate.")
@click.option("--latent-dim", type=int)
@click.option(
    "--kl-weight", type=float, help="Weight of the KL term (β-VAE); VAEs only."
)
@click.option(
    "--critic-steps", type=int, help="Critic steps per generator step; WGAN-GP only."
)
@click.option("--seed", type=int)
@click.option("--name", help="A label for the job.")
@click.option(
    "--image-size", type=int, help="Pixels per side; default: the dataset's own."
)
@click.option(
    "--channels",
    type=click.Choice(["1", "3"]),
    help="1 grey or 3 RGB; default: the dataset's own.",
)
@click.option(
    "--max-images",
    type=int,
    help="Train on N images only: an image folder gives a seeded sample in which "
    "every class keeps its share; an array dataset its first N.",
)
@click.option(
    "--dataset-on-worker",
    is_flag=True,
    help="The path exists on the worker, not here: skip the local check.",
)
@connection_options
@click.pass_obj
def submit_train(
    group: dict[str, Any],
    home: str | None,
    broker_url: str | None,
    dataset_on_worker: bool,
    **values: Any,
) -> None:
    """Submit a training job."""
    settings = load_settings(group, home, broker_url)
    if values["channels"] is not None:
        values["channels"] = int(values["channels"])
    fields = {k: v for k, v in values.items() if v is not None}
    spec = TrainSpec.from_json(fields)
    job_id = Client(settings).submit(spec, check_dataset=not dataset_on_worker)
    click.echo(job_id)


@submit.command("generate")
@click.argument("source")
@click.option(
    "--mode",
    type=click.Choice(["samples", "interpolate", "reconstruct", "classes"]),
    default="samples",
    show_default=True,
)
@click.option("--count", type=int, help="Samples to draw (samples mode).")
@click.option(
    "--seed", type=int, help="Seed of the noise; image k is the same for a seed."
)
@click.option("--seed-b", type=int, help="Interpolation end seed (default seed + 1).")
@click.option("--steps", type=int, help="Images in an interpolation strip.")
@click.option(
    "--method", type=click.Choice(["linear", "slerp"]), help="Interpolation path."
)
@click.option("--indices", help="Dataset images to reconstruct, e.g. 0,1,2,3.")
@click.option("--name", help="A label for the job.")
@connection_options
@click.pass_obj
def submit_generate(
    group: dict[str, Any],
    home: str | None,
    broker_url: str | None,
    source: str,
    indices: str | None,
    **values: Any,
) -> None:
    """Draw images from a finished training job's model."""
    settings = load_settings(group, home, broker_url)
    client = Client(settings)
    fields = {k: v for k, v in values.items() if v is not None}
    if indices is not None:
        fields["indices"] = _parse_indices(indices)
    source_id = client.store.get_job(source).id
    spec = GenerateSpec.from_json({"source": source_id, **fields})
    click.echo(client.submit_generate(spec))


def _parse_indices(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a list of numbers; give them like 0,1,2,3.",
            param_hint="--indices",
        ) from None


@submit.command("more")
@click.argument("job")
@click.option("--epochs", type=int, required=True, help="How many more epochs.")
@connection_options
@click.pass_obj
def submit_more(
    group: dict[str, Any],
    home: str | None,
    broker_url: str | None,
    job: str,
    epochs: int,
) -> None:
    """Continue a training job from its last checkpoint for more epochs."""
    settings = load_settings(group, home, broker_url)
    click.echo(Client(settings).train_more(job, epochs))


@cli.command()
@click.option("--status", type=click.Choice(STATUSES), help="Only jobs in this status.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@connection_options
@click.pass_obj
def jobs(
    group: dict[str, Any],
    home: str | None,
    broker_url: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List jobs, newest first."""
    settings = load_settings(group, home, broker_url)
    client = Client(settings)
    offline = client.sync()
    rows = client.store.list_jobs(status=status, limit=limit)
    if as_json:
        click.echo(json.dumps([job.to_json() for job in rows], indent=2))
        return
    display.jobs_table(rows, offline)


@cli.command()
@click.argument("job")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@connection_options
@click.pass_obj
def show(
    group: dict[str, Any],
    home: str | None,
    broker_url: str | None,
    job: str,
    as_json: bool,
) -> None:
    """One job's spec, status, device, worker, losses per epoch and outputs."""
    settings = load_settings(group, home, broker_url)
    client = Client(settings)
    offline = client.sync()
    details = display.job_details(client.store, job)
    if as_json:
        click.echo(json.dumps(details, indent=2))
        return
    display.show_job(details, offline)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@connection_options
@click.pass_obj
def workers(
    group: dict[str, Any], home: str | None, broker_url: str | None, as_json: bool
) -> None:
    """List the workers online: queue, device, current job, last heartbeat."""
    settings = load_settings(group, home, broker_url)
    online = list_workers(Client(settings).redis)
    if as_json:
        click.echo(json.dumps([asdict(w) for w in online], indent=2))
        return
    display.workers_table(online)


@cli.command()
@click.argument("job")
@click.option("--timeout", type=float, help="Give up after this many seconds (exit 3).")
@connection_options
@click.pass_obj
def wait(
    group: dict[str, Any],
    home: str | None,
    broker_url: str | None,
    job: str,
    timeout: float | None,
) -> None:
    """Follow a job until it ends; exit 0 only if it succeeded."""
    settings = load_settings(group, home, broker_url)
    client = Client(settings)
    final = display.follow(client, job, timeout)
    if final.status == "succeeded":
        return
    if final.error:
        click.echo(f"job {final.id} {final.status}: {final.error}", err=True)
    sys.exit(3 if final.status not in {"failed", "cancelled"} else 1)


@cli.command()
@click.argument("job")
@connection_options
@click.pass_obj
def cancel(
    group: dict[str, Any], home: str | None, broker_url: str | None, job: str
) -> None:
    """Cancel a queued or running job."""
    settings = load_settings(group, home, broker_url)
    client = Client(settings)
    before = client.store.get_job(job)
    if before.status in TERMINAL:
        click.echo(f"Job {before.id} already {before.status}; nothing to cancel.")
        return
    view = client.cancel(job)
    if view.status == "cancelled":
        click.echo(f"Job {view.id} cancelled.")
    else:
        click.echo(
            f"Job {view.id}: cancel requested; its worker stops it within seconds."
        )


@cli.command()
@click.argument("job")
@connection_options
@click.pass_obj
def retry(
    group: dict[str, Any], home: str | None, broker_url: str | None, job: str
) -> None:
    """Submit a job that has ended again, as a new job with its spec; print its id."""
    settings = load_settings(group, home, broker_url)
    click.echo(Client(settings).retry(job))


@cli.command()
@connection_options
@click.pass_obj
def sync(group: dict[str, Any], home: str | None, broker_url: str | None) -> None:
    """Store what the broker holds and check that queued jobs are still queued."""
    settings = load_settings(group, home, broker_url)
    client = Client(settings)
    offline = client.sync()
    if offline is not None:
        raise BrokerError(offline)
    lost = [
        job
        for job in client.store.list_jobs(status="interrupted")
        if is_not_in_queue(job)
    ]
    for job in lost:
        click.echo(f"Job {job.id[:8]} ({job.name or job.model}): {job.error}")
    counts = {s: len(client.store.list_jobs(status=s)) for s in ("queued", "running")}
    click.echo(
        f"History up to date: {counts['queued']} queued, {counts['running']} "
        f"running, {len(lost)} not in the queue."
    )


@cli.command()
@click.argument("job")
@connection_options
@click.pass_obj
def logs(
    group: dict[str, Any], home: str | None, broker_url: str | None, job: str
) -> None:
    """A job's log: state changes, messages from the worker and errors."""
    settings = load_settings(group, home, broker_url)
    client = Client(settings)
    client.sync()
    view = client.store.get_job(job)
    for line in display.log_lines(client.store.events(view.id, types=LOG_TYPES)):
        click.echo(line)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="genqueue", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GenqueueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
