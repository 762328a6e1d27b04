"""A job's own folder on the worker, which nothing in a message can move elsewhere.

Job ids arrive in queue messages, which anyone holding the broker's password can
write by hand, and they name the folder a job writes to and the folders that a
generation or a continued run reads from. Each id is held to the form genqueue gives
ids, and its folder must resolve directly inside the artifact folder, so neither
``../`` nor a link planted in the artifact folder sends a job's files elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from shared.errors import JobFailed
from shared.spec import JOB_ID_EXAMPLE, is_job_id


def job_folder(artifact_dir: Path, job_id: str) -> Path:
    """The resolved folder ``artifact_dir / job_id``; JobFailed if it lies elsewhere."""
    if not is_job_id(job_id):
        raise JobFailed(
            f"{job_id!r} is not a job id, a UUID such as {JOB_ID_EXAMPLE}; only "
            "genqueue's own ids name folders on a worker."
        )
    root = artifact_dir.expanduser().resolve()
    folder = (root / job_id).resolve()
    if folder.parent != root:
        raise JobFailed(
            f"The folder of job {job_id} leads to {folder}, outside the artifact "
            f"folder {root}; remove the link {root / job_id} and submit again."
        )
    return folder
