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

from shared.redis_server import EmbeddedRedis, free_port

pytestmark = pytest.mark.e2e


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GENQUEUE_HOME": str(home)}
    env.pop("GENQUEUE_BROKER_URL", None)
    command = [sys.executable, "-m", "shared.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def submit_digits_vae(home: Path, epochs: int) -> str:
    """Submit a small VAE on digits through the command line; return its id."""
    command = ["submit", "train", "--model", "vae", "--dataset", "digits"]
    result = run(home, *command, "--epochs", str(epochs))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


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

    job_id = submit_digits_vae(home, epochs=2)
    assert run(home, "wait", job_id).returncode == 0

    up.send_signal(signal.SIGINT)
    assert up.wait(60) == 0
    assert not [
        c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE
    ]
    listed = run(home, "jobs")
    assert "succeeded" in listed.stdout and "Broker unreachable" in listed.stdout


def test_up_leaves_a_redis_it_did_not_start_running(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = EmbeddedRedis(home / "redis", port=free_port())
    server.start()
    try:
        up = start_up(home, tmp_path / "up.log")
        up.send_signal(signal.SIGINT)
        assert up.wait(60) == 0
        assert server.is_running()
    finally:
        server.stop()


def test_a_second_up_on_the_same_home_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = start_up(home, tmp_path / "first.log")
    try:
        second = run(home, "up", "--no-gui")
        assert second.returncode == 2
        assert (
            f"already running for {home.resolve()} (pid {first.pid})" in second.stderr
        )
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(60)


def test_up_starts_its_worker_again_when_it_dies(tmp_path: Path) -> None:
    home = tmp_path / "home"
    up = start_up(home, tmp_path / "up.log")
    try:
        worker = next(
            c for c in psutil.Process(up.pid).children() if _kind(c) == "python"
        )
        worker.kill()
        deadline = time.monotonic() + 30
        while not [
            c
            for c in psutil.Process(up.pid).children()
            if _kind(c) == "python" and c.pid != worker.pid
        ]:
            assert time.monotonic() < deadline, "no new worker"
            time.sleep(0.2)
        assert up.poll() is None
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(60)


def test_up_without_a_display_says_to_use_no_gui(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "GENQUEUE_BROKER_URL"}
    }
    env["GENQUEUE_HOME"] = str(tmp_path / "home")
    command = [sys.executable, "-m", "shared.cli", "up"]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2
    assert "genqueue up --no-gui" in result.stderr
    assert not (tmp_path / "home" / "redis").exists()


def _kind(process: psutil.Process) -> str:
    name = process.name()
    return (
        "redis-server" if "redis" in name else name.split(".")[0].rstrip("0123456789")
    )


def test_up_starts_its_redis_again_when_it_dies(tmp_path: Path) -> None:
    home = tmp_path / "home"
    up = start_up(home, tmp_path / "up.log")
    try:
        server = next(
            c for c in psutil.Process(up.pid).children() if _kind(c) == "redis-server"
        )
        server.kill()
        revived = EmbeddedRedis(home / "redis")
        deadline = time.monotonic() + 30
        while not revived.is_running():
            assert time.monotonic() < deadline, "Redis was not started again"
            time.sleep(0.2)
        job_id = submit_digits_vae(home, epochs=1)
        assert run(home, "wait", job_id).returncode == 0
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(60)
