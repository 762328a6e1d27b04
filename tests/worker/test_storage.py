"""A shared location: what a worker publishes there, and what another takes up."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import torch

from shared.errors import JobFailed
from shared.spec import TrainSpec
from tests.worker.test_checkpoints import CPU, digits, spec_for
from tests.worker.test_training import Recorder
from worker.artifacts import (
    MODEL_CACHE,
    MODEL_FILE,
    SPEC_FILE,
    fetch_model,
    load_generator,
    publish_model,
    save_model,
)
from worker.checkpoints import (
    CHECKPOINTS,
    LATEST,
    STATE,
    Checkpoint,
    checkpoint_to_resume,
    fetch_checkpoint,
    load_checkpoint,
    publish_checkpoint,
    save_checkpoint,
)
from worker.models import build_model
from worker.storage import Location
from worker.training import train

JOB = "5b1f0c4e-8f57-4c1e-9d55-0d6f1f3a2b7c"
DIGIT_SHAPE = (1, 8, 8)


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    return tmp_path / "shared"


@pytest.fixture
def location(shared: Path) -> Location:
    return Location(shared.as_uri())


def tiny_checkpoint(epoch: int) -> Checkpoint:
    weights = {"w": torch.full((3,), float(epoch))}
    return Checkpoint(epoch, 2 * epoch, weights, {}, {}, torch.zeros(1, 2))


def saved_model(folder: Path) -> Path:
    spec = TrainSpec.from_json({"model": "vae", "dataset": "digits", "latent_dim": 8})
    torch.manual_seed(0)
    model = build_model("vae", DIGIT_SHAPE, 8, 0)
    return save_model(model, spec, DIGIT_SHAPE, folder)


def test_a_run_whose_folder_is_gone_resumes_from_the_location_at_the_next_epoch(
    tmp_path: Path, location: Location
) -> None:
    data = digits(None)
    first_dir, second_dir = tmp_path / "a" / JOB, tmp_path / "b" / JOB
    train(spec_for("vae", 1), data, CPU, Recorder(), first_dir)
    publish_model(location, JOB, first_dir)
    publish_checkpoint(location, JOB, first_dir)
    shutil.rmtree(tmp_path / "a")

    resume = checkpoint_to_resume(
        spec_for("vae", 3), second_dir, tmp_path / "b", location
    )
    assert resume is not None and (resume.epoch, resume.global_step) == (1, 2)
    after = Recorder()
    rest = train(spec_for("vae", 3), data, CPU, after, second_dir, resume)
    whole = train(spec_for("vae", 3), data, CPU, Recorder(), tmp_path / "whole")

    assert [epoch for epoch, _, _ in after.epochs] == [2, 3]
    assert after.steps[0][1] == 3
    assert (rest.epochs_completed, rest.steps) == (whole.epochs_completed, whole.steps)
    ours, theirs = load_checkpoint(second_dir), load_checkpoint(tmp_path / "whole")
    assert ours is not None and theirs is not None
    for name, tensor in theirs.model.items():
        assert torch.equal(tensor, ours.model[name]), name


def test_a_checkpoint_whose_upload_broke_off_is_not_taken_up(
    tmp_path: Path, location: Location, shared: Path
) -> None:
    folder = tmp_path / "a" / JOB
    save_checkpoint(folder, tiny_checkpoint(1))
    publish_checkpoint(location, JOB, folder)
    second = save_checkpoint(folder, tiny_checkpoint(2))
    (second / STATE).unlink()  # its weights go up, then the upload fails

    with pytest.raises(JobFailed, match="Cannot publish checkpoints/epoch-00002/s"):
        publish_checkpoint(location, JOB, folder)

    assert (shared / JOB / CHECKPOINTS / "epoch-00002" / "weights.safetensors").exists()
    assert (shared / JOB / CHECKPOINTS / LATEST).read_text() == "epoch-00001"
    fetched = tmp_path / "b" / JOB
    assert fetch_checkpoint(location, JOB, fetched)
    checkpoint = load_checkpoint(fetched)
    assert checkpoint is not None and checkpoint.epoch == 1


def test_a_temporary_left_by_a_killed_upload_is_never_read(
    tmp_path: Path, location: Location, shared: Path
) -> None:
    whole = saved_model(tmp_path / "a")
    half = whole.read_bytes()[: whole.stat().st_size // 2]
    (shared / JOB).mkdir(parents=True)
    (shared / JOB / f".{MODEL_FILE}.0f3a.tmp").write_bytes(half)

    with pytest.raises(JobFailed, match=f"No trained model for job {JOB} at file://"):
        fetch_model(location, JOB, tmp_path / "b")
    publish_model(location, JOB, tmp_path / "a")
    (shared / JOB / f".{MODEL_FILE}.9c1d.tmp").write_bytes(half)
    folder = fetch_model(location, JOB, tmp_path / "b")

    assert folder == tmp_path / "b" / MODEL_CACHE / JOB
    assert (folder / MODEL_FILE).read_bytes() == whole.read_bytes()
    generator, spec, shape = load_generator(folder)
    assert (spec.model, shape) == ("vae", DIGIT_SHAPE)
    assert sorted(p.name for p in folder.iterdir()) == [MODEL_FILE, SPEC_FILE]


def test_a_newer_checkpoint_at_the_location_replaces_an_older_local_one(
    tmp_path: Path, location: Location
) -> None:
    ahead, behind = tmp_path / "a" / JOB, tmp_path / "b" / JOB
    save_checkpoint(ahead, tiny_checkpoint(3))
    publish_checkpoint(location, JOB, ahead)
    save_checkpoint(behind, tiny_checkpoint(1))

    assert fetch_checkpoint(location, JOB, behind)

    checkpoint = load_checkpoint(behind)
    assert checkpoint is not None and checkpoint.epoch == 3
    assert torch.equal(checkpoint.model["w"], torch.full((3,), 3.0))


def test_an_older_checkpoint_at_the_location_leaves_the_local_one_be(
    tmp_path: Path, location: Location
) -> None:
    behind, ahead = tmp_path / "a" / JOB, tmp_path / "b" / JOB
    save_checkpoint(behind, tiny_checkpoint(1))
    publish_checkpoint(location, JOB, behind)
    save_checkpoint(ahead, tiny_checkpoint(2))

    assert not fetch_checkpoint(location, JOB, ahead)

    checkpoint = load_checkpoint(ahead)
    assert checkpoint is not None and checkpoint.epoch == 2


def test_only_the_newest_checkpoints_stay_at_the_location(
    tmp_path: Path, location: Location
) -> None:
    folder = tmp_path / "a" / JOB
    for epoch in range(1, 5):
        save_checkpoint(folder, tiny_checkpoint(epoch))
        publish_checkpoint(location, JOB, folder)

    names = location.names(JOB, CHECKPOINTS)

    assert names == ["epoch-00003", "epoch-00004", LATEST]


def test_a_marker_naming_another_folder_is_refused(
    tmp_path: Path, location: Location, shared: Path
) -> None:
    (shared / JOB / CHECKPOINTS).mkdir(parents=True)
    (shared / JOB / CHECKPOINTS / LATEST).write_text("../../elsewhere")

    with pytest.raises(JobFailed, match="'../../elsewhere', which is not a checkpoint"):
        fetch_checkpoint(location, JOB, tmp_path / "b" / JOB)
    assert not (tmp_path / "b").exists()


def test_a_location_that_cannot_be_written_fails_with_its_url(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    location = Location((blocker / "genqueue").as_uri())
    folder = tmp_path / "a" / JOB
    save_checkpoint(folder, tiny_checkpoint(1))

    with pytest.raises(JobFailed) as caught:
        publish_checkpoint(location, JOB, folder)

    message = str(caught.value)
    assert f"at {blocker.as_uri()}/genqueue/{JOB} (" in message
    assert "unset artifact_url" in message


def test_an_object_store_location_takes_and_gives_back_a_checkpoint(
    tmp_path: Path,
) -> None:
    location = Location(f"memory://genqueue-{uuid.uuid4().hex}")
    save_checkpoint(tmp_path / "a" / JOB, tiny_checkpoint(2))

    publish_checkpoint(location, JOB, tmp_path / "a" / JOB)
    fetched = fetch_checkpoint(location, JOB, tmp_path / "b" / JOB)

    checkpoint = load_checkpoint(tmp_path / "b" / JOB)
    assert fetched and checkpoint is not None and checkpoint.epoch == 2
    assert location.names(JOB, CHECKPOINTS) == ["epoch-00002", LATEST]
