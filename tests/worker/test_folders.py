"""A job's folder is its id directly inside the artifact folder, or nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from shared.errors import JobFailed
from worker.folders import job_folder


def test_a_job_id_names_a_folder_right_inside_the_artifact_folder(
    tmp_path: Path,
) -> None:
    job_id = str(uuid.uuid4())

    assert job_folder(tmp_path / "artifacts", job_id) == tmp_path / "artifacts" / job_id


@pytest.mark.parametrize(
    "job_id", ["..", "../x", "/etc", "a/b", str(uuid.uuid4()).upper(), ""]
)
def test_anything_but_a_job_id_is_refused_by_name(tmp_path: Path, job_id: str) -> None:
    with pytest.raises(JobFailed, match=f"^{job_id!r} is not a job id"):
        job_folder(tmp_path, job_id)


def test_a_link_out_of_the_artifact_folder_is_refused(tmp_path: Path) -> None:
    job_id = str(uuid.uuid4())
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / job_id).symlink_to(tmp_path)

    with pytest.raises(JobFailed, match=f"leads to {tmp_path}, outside"):
        job_folder(tmp_path / "artifacts", job_id)
