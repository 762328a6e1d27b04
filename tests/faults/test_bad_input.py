"""Bad input that gets past the client, or goes bad after it, fails its job alone.

Each test submits through a `Client` to a real worker process on a real Redis,
spoils the dataset or the saved model that the job will read, and checks that the
job ends failed with a message naming the value and what to do, or runs on what is
left with the pre-flight report in its log; then the same worker runs the next job.
"""

from __future__ import annotations

import gzip
import io
import re
import shutil
import socket
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared.client import Client
from shared.generation import GenerateSpec
from shared.settings import Settings
from shared.spec import TrainSpec
from tests.faults import tiny_jobs

pytestmark = pytest.mark.e2e

IMAGES = 8  # in each image folder: one batch
WAY_OUT = "Copy both files from one run, train the job again, or use another job."


@pytest.fixture
def settings(fast_settings: Settings, shared_artifacts: Path) -> Settings:
    # The digits jobs' quality classifier is then trained once, not per test.
    return replace(fast_settings, artifact_dir=shared_artifacts)


@pytest.fixture
def client(settings: Settings) -> Client:
    return Client(settings)


def picture(seed: int, side: int, format: str) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=format)
    return buffer.getvalue()


def image_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    for index in range(IMAGES):
        (root / f"{index:02d}.png").write_bytes(picture(index, 12, "PNG"))
    return root


def folder_vae(root: Path) -> TrainSpec:
    fields = {"model": "vae", "dataset": str(root), "epochs": 1, "batch_size": IMAGES}
    return TrainSpec.from_json({**fields, "image_size": 8, "name": root.name})


def idx_pair(root: Path, count: int, *, compress: bool = False) -> tuple[Path, Path]:
    """MNIST-style image and label files of `count` random 28x28 images."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, count * 28 * 28, np.uint8).tobytes()
    labels = rng.integers(0, 10, count, np.uint8).tobytes()
    suffix = ".gz" if compress else ""
    pack = gzip.compress if compress else bytes
    images = root / f"train-images-idx3-ubyte{suffix}"
    images.write_bytes(pack(struct.pack(">IIII", 2051, count, 28, 28) + pixels))
    label_file = root / f"train-labels-idx1-ubyte{suffix}"
    label_file.write_bytes(pack(struct.pack(">II", 2049, count) + labels))
    return images, label_file


def cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def log_lines(client: Client, job_id: str) -> list[tuple[str, str]]:
    events = client.store.events(job_id, types=["log"])
    return [(e.payload["level"], e.payload["message"]) for e in events]


def assert_next_job_runs(client: Client) -> None:
    """The worker that failed a job goes on to the next one and finishes it."""
    job = client.wait(client.submit(tiny_jobs.vae(1, "next")), timeout=120)
    assert job.status == "succeeded", job.error


# the dataset, gone or changed between submit and start


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_dataset_gone_before_the_worker_starts_fails_naming_its_path(
    client: Client, settings: Settings, start_worker, tmp_path: Path, how: str
) -> None:
    folder = image_folder(tmp_path / "images")
    job_id = client.submit(folder_vae(folder))
    if how == "deleted":
        shutil.rmtree(folder)
    else:
        for path in folder.iterdir():
            path.rename(tmp_path / path.name)

    start_worker(settings)
    job = client.wait(job_id, timeout=60)

    assert (job.status, job.step) == ("failed", 0)
    if how == "deleted":
        host = socket.gethostname()
        assert job.error == (
            f"Dataset path '{folder}' does not exist on worker {host}: it "
            "was moved or deleted after the job was submitted, or lies on another "
            "machine. Put it back at that path and retry the job, or submit it "
            "again with a path this worker can read."
        )
    else:
        assert job.error.startswith(
            f"Dataset folder '{folder}' holds no PNG/JPEG images, no IDX files and "
            "no CIFAR-10 batches; give 'digits', "
        )
    assert_next_job_runs(client)


def test_a_folder_partly_spoiled_before_start_trains_on_the_rest_and_says_so(
    client: Client, settings: Settings, start_worker, tmp_path: Path
) -> None:
    folder = image_folder(tmp_path / "spoiled")
    job_id = client.submit(folder_vae(folder))
    (folder / "00.png").write_text("no longer a picture")
    (folder / "01.png").write_bytes(b"")
    cut_in_half(folder / "02.png")

    start_worker(settings)
    job = client.wait(job_id, timeout=60)

    assert job.status == "succeeded", job.error
    assert (job.epoch, job.step) == (1, 1)
    lines = log_lines(client, job_id)
    assert lines[0] == (
        "warning",
        "8 files: 5 images read;\n"
        "skipped 1 truncated (02.png), 1 unreadable (00.png), 1 empty (01.png)",
    )
    assert lines[1] == (
        "info",
        f"Training on image folder {folder} (5 images, 8x8, 3 files skipped): "
        "5 images of (3, 8, 8).",
    )
    # The quality meter is built when the first epoch ends, after training began.
    assert lines[2][1].startswith("Quality each epoch: ")
    assert_next_job_runs(client)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_an_idx_file_cut_short_before_start_fails_before_training(
    client: Client, settings: Settings, start_worker, tmp_path: Path, compress: bool
) -> None:
    images, _ = idx_pair(tmp_path, 64, compress=compress)
    spec = {"model": "vae", "dataset": str(images), "epochs": 1, "batch_size": 64}
    job_id = client.submit(TrainSpec.from_json(spec))
    cut_in_half(images)

    start_worker(settings)
    job = client.wait(job_id, timeout=60)

    assert (job.status, job.step) == ("failed", 0)
    if compress:
        assert job.error == (
            f"IDX file '{images}' is not valid gzip data (Compressed file ended "
            "before the end-of-stream marker was reached); download it again."
        )
    else:
        assert job.error == (
            f"IDX file '{images}' is truncated: its header promises 64 images of "
            "28x28 (50,192 bytes) but it holds 25,096 bytes; download it again."
        )
    assert_next_job_runs(client)


def test_a_label_file_cut_short_refuses_a_conditional_model_saying_why(
    client: Client, settings: Settings, start_worker, tmp_path: Path
) -> None:
    images, labels = idx_pair(tmp_path, 64)
    spec = {"model": "cvae", "dataset": str(images), "epochs": 1, "batch_size": 64}
    job_id = client.submit(TrainSpec.from_json(spec))
    cut_in_half(labels)

    start_worker(settings)
    job = client.wait(job_id, timeout=60)

    assert (job.status, job.step) == ("failed", 0)
    assert job.error.startswith(
        f"cvae is a conditional model and needs a labelled dataset, but MNIST IDX "
        f"{images} (64 images, 28x28; labels in train-labels-idx1-ubyte unused: bad "
        "header or fewer than 64) has no labels; use digits, "
    )
    assert_next_job_runs(client)


# an image folder of only bad files


def test_a_folder_of_only_bad_files_fails_counting_each_kind_skipped(
    client: Client, settings: Settings, start_worker, tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "notes.png").write_text("these are notes, not a picture")
    (folder / "readme.txt").write_text("a folder of pictures")
    (folder / "zero.png").write_bytes(b"")
    (folder / "empty.png").write_bytes(b"")
    (folder / "cut.jpg").write_bytes(picture(1, 32, "JPEG")[:300])
    start_worker(settings)

    job = client.wait(client.submit(folder_vae(folder)), timeout=60)

    assert (job.status, job.step) == ("failed", 0)
    assert job.error == (
        f"No file in '{folder}' could be used: 5 files: 0 images read;\n"
        "skipped 1 not PNG/JPEG (readme.txt), 1 truncated (cut.jpg), "
        "1 unreadable (notes.png), 2 empty (empty.png, zero.png). "
        "Give a folder of valid PNG or JPEG images."
    )
    assert_next_job_runs(client)


# a generation source whose files come from different runs


def train_sources(client: Client) -> dict[str, Path]:
    """Folders of three finished digits jobs: a vae, a gan, a vae of latent_dim 8."""
    specs = {
        "vae": tiny_jobs.vae(1, "vae"),
        "gan": tiny_jobs.vae(1, "gan", model="gan"),
        "narrow": tiny_jobs.vae(1, "narrow", latent_dim=8),
    }
    folders = {}
    for name, spec in specs.items():
        job = client.wait(client.submit(spec), timeout=120)
        assert job.status == "succeeded", job.error
        folders[name] = client.settings.artifact_dir.resolve() / job.id
    return folders


def generate_from(client: Client, folder: Path) -> tuple[str, str]:
    """Draw 4 samples from the job of `folder`; return how it ended and its error."""
    spec = GenerateSpec.from_json({"source": folder.name, "count": 4})
    job = client.wait(client.submit_generate(spec), timeout=60)
    if job.status != "succeeded":
        # A failed job delivers no outputs and no pictures to the history.
        assert job.outputs is None and not client.store.images(job.id)
    return job.status, job.error or ""


def test_a_source_whose_files_come_from_different_runs_fails_naming_the_file(
    client: Client, settings: Settings, start_worker
) -> None:
    start_worker(settings)
    folders = train_sources(client)
    vae, gan, narrow = folders["vae"], folders["gan"], folders["narrow"]
    model, spec = vae / "model.safetensors", vae / "spec.json"
    kept = {path: path.read_bytes() for path in (model, spec)}
    misfit = (
        f"The weights in '{model}' do not fit a vae for images (1, 8, 8) with "
        "latent_dim 20 (size mismatch for encoder.mu.weight: ",
        ", and 4 more); spec.json and model.safetensors come from different runs. "
        + WAY_OUT,
    )
    # Each swap: the file overwritten, what with, and the error's start and end.
    swaps = {
        "gan weights": (
            model,
            (gan / "model.safetensors").read_bytes(),
            (f"'{model}' holds a gan model but spec.json describes a vae; ", WAY_OUT),
        ),
        "gan spec": (
            spec,
            (gan / "spec.json").read_bytes(),
            (f"'{model}' holds a vae model but spec.json describes a gan; ", WAY_OUT),
        ),
        "narrower weights": (
            model,
            (narrow / "model.safetensors").read_bytes(),
            misfit,
        ),
        "checkpoint weights, no kind": (
            model,
            (narrow / "checkpoints/epoch-00001/weights.safetensors").read_bytes(),
            misfit,
        ),
        "weights cut short": (
            model,
            kept[model][:1000],
            (
                f"Cannot read model weights at '{model}' (",
                "); it is damaged or was not written by genqueue. " + WAY_OUT,
            ),
        ),
        "spec cut short": (
            spec,
            kept[spec][:50],
            (
                f"Cannot read the model spec at '{spec}' (",
                "); the output folder is incomplete or was not written by "
                "genqueue. " + WAY_OUT,
            ),
        ),
    }

    for name, (path, data, (start, end)) in swaps.items():
        path.write_bytes(data)
        before = set(settings.artifact_dir.iterdir())
        status, error = generate_from(client, vae)
        path.write_bytes(kept[path])

        assert status == "failed", name
        assert error.startswith(start) and error.endswith(end), (name, error)
        assert set(settings.artifact_dir.iterdir()) == before, name
    assert generate_from(client, vae) == ("succeeded", "")


# a learning rate that makes the run diverge


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def diverged_at(error: str | None) -> int:
    """The step a 'diverged' error names; fails the test on any other error."""
    found = re.fullmatch(
        r"Training diverged at step (\d+): loss is (nan|inf); "
        r"lower the learning rate \(now 1\)\.",
        error or "",
    )
    assert found, error
    return int(found[1])


def test_a_run_at_the_maximum_rate_diverges_and_keeps_the_last_good_checkpoint(
    client: Client, settings: Settings, start_worker
) -> None:
    start_worker(settings)
    good = client.wait(client.submit(tiny_jobs.vae(1, "good")), timeout=120)
    assert good.status == "succeeded", good.error
    checkpoints = settings.artifact_dir / good.id / "checkpoints"
    kept = files_of(checkpoints)
    fast = tiny_jobs.vae(2, "too fast", lr=1.0)
    continued = fast.model_copy(update={"resume_from": good.id})

    fresh = client.wait(client.submit(fast), timeout=120)
    resumed = client.wait(client.submit(continued), timeout=120)

    # A fresh run diverges in its first epoch and leaves nothing to resume from.
    assert fresh.status == "failed"
    assert 1 <= diverged_at(fresh.error) <= tiny_jobs.PER_EPOCH
    assert not (settings.artifact_dir / fresh.id / "checkpoints").exists()
    # A continued one diverges after the checkpoint it resumed, which stays whole.
    assert resumed.status == "failed"
    step = diverged_at(resumed.error)
    assert tiny_jobs.PER_EPOCH < step <= 2 * tiny_jobs.PER_EPOCH
    assert not (settings.artifact_dir / resumed.id / "checkpoints").exists()
    assert files_of(checkpoints) == kept
    more = client.wait(client.train_more(good.id, 1), timeout=120)
    assert (more.status, more.epoch) == ("succeeded", 2), more.error
