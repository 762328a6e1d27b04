"""`genqueue up --no-gui`: the main job on the embedded default, stopped by Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GENQUEUE_HOME": str(home)}
    env.pop("GENQUEUE_BROKER_URL", None)
    command = [sys.executable, "-m", "shared.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def start_up(home: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GENQUEUE_HOME": str(home)}
    env.pop("GENQUEUE_BROKER_URL", None)
    command = [sys.executable, "-m", "shared.cli", "up", "--no-gui"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text(errors="replace"):
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    return process


def test_up_trains_a_job_and_ctrl_c_stops_everything_it_started(tmp_path: Path) -> None:
    home = tmp_path / "home"
    up = start_up(home, tmp_path / "up.log")
    children = psutil.Process(up.pid).children(recursive=True)
    assert {"redis-server", "python"} <= {_kind(c) for c in children}

    job_id = run(
        home,
        "submit",
        "train",
        "--model",
        "vae",
        "--dataset",
        "digits",
        "--epochs",
        "2",
    ).stdout.strip()
    assert run(home, "wait", job_id).returncode == 0

    up.send_signal(signal.SIGINT)
    assert up.wait(60) == 0
    assert not [
        c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE
    ]
    listed = run(home, "jobs")
    assert "succeeded" in listed.stdout and "Broker unreachable" in listed.stdout


def test_up_reuses_a_running_embedded_redis_and_leaves_it_running(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    first = start_up(home, tmp_path / "first.log")
    redis_child = next(
        c for c in psutil.Process(first.pid).children() if _kind(c) == "redis-server"
    )
    second = start_up(home, tmp_path / "second.log")

    second.send_signal(signal.SIGINT)
    second.wait(60)
    assert redis_child.is_running()
    first.send_signal(signal.SIGINT)
    first.wait(60)
    assert not redis_child.is_running()


def _kind(process: psutil.Process) -> str:
    name = process.name()
    return (
        "redis-server" if "redis" in name else name.split(".")[0].rstrip("0123456789")
    )
