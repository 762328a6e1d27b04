"""A location workers share: finished models and checkpoints, one folder per job.

The location is an fsspec URL (``file:///mnt/genqueue``, ``s3://bucket/prefix``,
``memory://`` in tests) laid out like the local artifact folder. A worker writes
everything to its own folder first; a file goes to the location only once it is
whole there, under a hidden temporary name that is then moved onto its own, so a
reader never takes half an upload for a whole file. On an object store the move is
a server-side copy, which the store makes whole or not at all.

Readers open only the names they expect, so a temporary that a killed upload left
behind is never read. Such leftovers are not cleaned up yet, and a failed transfer
is retried only as far as the fsspec backend retries it itself.
"""

from __future__ import annotations

import logging
import os
import posixpath
import uuid
from collections.abc import Callable
from pathlib import Path

import fsspec

from shared.errors import JobFailed
from shared.files import write_with
from shared.settings import Settings, redact

logger = logging.getLogger(__name__)


class Location:
    """The shared place a worker publishes to and fetches other jobs' files from."""

    def __init__(self, url: str) -> None:
        if fsspec.utils.get_protocol(url) == "file" and "://" not in url:
            url = os.path.expanduser(url)
        self.fs, self.root = fsspec.core.url_to_fs(url)
        # A plain path is shown as a file:// URL, so people can tell it is shared.
        self.url = self.fs.unstrip_protocol(self.root) if "://" not in url else url
        self.url = self.url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> Location | None:
        """The settings' artifact_url, or None when outputs stay on each worker."""
        return None if settings.artifact_url is None else cls(settings.artifact_url)

    def shown(self, job_id: str, name: str = "") -> str:
        """A job's folder or file as a URL for people, with any password hidden."""
        return "/".join(part for part in (redact(self.url), job_id, name) if part)

    def upload(self, local: Path, job_id: str, name: str) -> None:
        """Copy a local file to ``<location>/<job_id>/<name>``, whole or not at all."""
        self._put(
            job_id, name, lambda temporary: self.fs.put_file(str(local), temporary)
        )

    def write_text(self, job_id: str, name: str, text: str) -> None:
        """Write a small file, such as a marker, whole or not at all."""
        data = text.encode()
        self._put(job_id, name, lambda temporary: self.fs.pipe_file(temporary, data))

    def read_text(self, job_id: str, name: str) -> str | None:
        """A small file's text, or None when the location has no such file."""
        try:
            return bytes(self.fs.cat_file(self._path(job_id, name))).decode()
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._failure("read", job_id, name, exc) from exc

    def download(self, job_id: str, name: str, local: Path) -> bool:
        """Copy a file to ``local``, whole or not at all; False when there is none."""
        source = self._path(job_id, name)
        try:
            if not self.fs.isfile(source):
                return False
            write_with(local, lambda temporary: self.fs.get_file(source, temporary))
        except Exception as exc:
            raise self._failure("fetch", job_id, name, exc) from exc
        logger.debug("fetched %s", self.shown(job_id, name))
        return True

    def names(self, job_id: str, folder: str) -> list[str]:
        """The names in one of a job's folders, hidden temporaries left out."""
        try:
            entries = self.fs.ls(self._path(job_id, folder), detail=False)
        except FileNotFoundError:
            return []
        names = (posixpath.basename(str(entry).rstrip("/")) for entry in entries)
        return sorted(name for name in names if not name.startswith("."))

    def discard(self, job_id: str, name: str) -> None:
        """Remove a file or folder; a failure only costs space, so it is logged."""
        try:
            self.fs.rm(self._path(job_id, name), recursive=True)
        except Exception as exc:
            logger.warning("could not remove %s: %s", self.shown(job_id, name), exc)

    def _put(self, job_id: str, name: str, write: Callable[[str], object]) -> None:
        target = self._path(job_id, name)
        folder, base = posixpath.split(target)
        temporary = f"{folder}/.{base}.{uuid.uuid4().hex}.tmp"
        try:
            self.fs.makedirs(folder, exist_ok=True)
            write(temporary)
            self.fs.mv(temporary, target)
        except Exception as exc:
            self._forget(temporary)
            raise self._failure("publish", job_id, name, exc) from exc
        logger.debug("published %s", self.shown(job_id, name))

    def _forget(self, temporary: str) -> None:
        try:
            if self.fs.exists(temporary):
                self.fs.rm(temporary)
        except Exception:
            # The upload's own error is the one worth telling; the leftover is
            # hidden and never read.
            logger.debug("left %s behind", temporary, exc_info=True)

    def _path(self, job_id: str, name: str) -> str:
        return posixpath.join(self.root, job_id, name)

    def _failure(self, verb: str, job_id: str, name: str, exc: Exception) -> JobFailed:
        return JobFailed(
            f"Cannot {verb} {name} of job {job_id} at {self.shown(job_id)} "
            f"({type(exc).__name__}: {exc}); check that this worker can reach and "
            "write the location, or unset artifact_url to keep outputs on the worker."
        )
